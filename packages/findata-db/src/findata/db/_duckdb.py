"""The embedded DuckDB store: one file, shared by short-lived connections.

DuckDB lets one process hold a file read-write, and no process may hold it
read-only meanwhile. Writes open the file, commit and close it, retrying with
jittered backoff while another process holds a conflicting lock. Reads attach the
file read-only to one in-memory DuckDB instance per process (attaching costs far
less than starting an instance) and keep it attached between reads, but detach it
as soon as a writer announces itself in a side file, and after ``hold_idle``
seconds unused. Reads are cached in-process per data version, and the data
version is a small side file that readers check without opening the database.
See docs/decisions/0011-duckdb-multi-process-access.md.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import itertools
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Final, NamedTuple, TypeVar

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core.columns import OPTIONAL_BAR_COLUMNS, SYMBOL, TIMESTAMP
from findata.db._arrow import (
    concat_bars,
    empty_bar_table,
    repeat_string,
    slice_time,
    to_bar_table,
    with_all_columns,
)
from findata.db._cache import VersionedCache
from findata.db._errors import StoreError, StoreUnavailableError
from findata.db._migrations import (
    SCHEMA_MIGRATIONS_TABLE,
    Migration,
    MigrationStatus,
    load_migrations,
    merge_status,
)
from findata.db._planning import StoredSymbol, plan_write
from findata.db._types import BarKind, PoolUsage, SymbolInfo
from findata.db._url import MEMORY, duckdb_options, duckdb_path
from findata.db._validate import normalize_bars

logger = logging.getLogger(__name__)

BACKEND: Final = "duckdb"
_SERIES_COLUMNS: Final = 'ts AS "timestamp", open, high, low, close, volume'
_SELECT_STAMPS: Final = (
    "SELECT symbol, symbol_id, updated_at, has_vwap, has_trade_count FROM symbols"
)
_SELECT_SYMBOLS: Final = (
    "SELECT symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind FROM symbols"
)
_NOT_MIGRATED: Final = "the database is not migrated: run `findata db migrate`"

# DuckDB refuses two connections to one file with different settings inside one
# process, so every store of a file in this process shares one lock.
_PATH_LOCKS: dict[str, threading.Lock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: str) -> threading.Lock:
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(path, threading.Lock())


HOLD_IDLE: Final = 2.0
"""Default seconds a process's unused read attachment of a file stays attached."""

_WATCH_INTERVAL: Final = 0.02
"""How often a held read attachment checks for a waiting writer and idleness (s)."""


def _intent_path(path: str) -> Path:
    return Path(f"{path}.writing")


def _writer_waiting(path: str) -> bool:
    """Whether a live process announced that it wants to write ``path``.

    A missing side file costs one failed ``open``; a stale one (its writer was
    killed) is ignored, so it cannot pin readers to per-read opening forever.
    """
    try:
        text = _intent_path(path).read_text(encoding="ascii")
    except OSError:  # missing (no writer) or unreadable
        return False
    try:
        pid = int(text.strip() or "0")
    except ValueError:
        return True  # being written right now
    if pid <= 0 or os.name != "posix":
        return True  # (os.kill would terminate the process on Windows, not probe it)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, another user's
    return True


@contextlib.contextmanager
def _write_intent(path: str) -> Iterator[Callable[[], None]]:
    """Announce a write in ``<file>.writing`` (our pid) until the file is closed.

    Yields ``renew()``, called on every retry: if another writer removed the file
    when it finished, or a killed writer left its dead pid in it, ours is there
    within one backoff step, so readers that keep reading cannot starve a writer.
    """
    intent = _intent_path(path)
    token = str(os.getpid())

    def renew() -> None:
        try:
            # Ours unless another live writer's: a killed writer's pid would be ignored.
            current = intent.read_text(encoding="ascii") if intent.exists() else ""
            if current != token and not (current and _writer_waiting(path)):
                intent.write_text(token, encoding="ascii")
        except OSError as error:  # read-only folder: writers still get in at idle
            logger.debug("cannot announce a write of %s: %s", path, error)

    renew()
    try:
        yield renew
    finally:
        try:
            if intent.read_text(encoding="ascii") == token:
                intent.unlink()
        except OSError:
            pass


_HOST: duckdb.DuckDBPyConnection | None = None
_HOST_GUARD = threading.Lock()
_ALIAS_NUMBERS = itertools.count(1)
_LEFT_BY_PARENT: list[object] = []
"""Connections a forked child inherited: kept referenced so that no destructor of a
DuckDB instance whose threads stayed in the parent ever runs in the child."""


_HOST_MEMORY_LIMIT: Final = "128MB"
"""The host's buffer pool. It holds the blocks of files read; the stores cache whole
series as Arrow, so a larger pool would keep the same bars twice, per worker (by
default DuckDB lets it grow to 80% of RAM). Arrow results do not count against it."""


def _host_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory DuckDB instance, which files are
    attached to for reading: starting an instance builds DuckDB's whole function
    catalog (~10 ms), attaching a file to a running one ~0.6 ms (ADR 0011)."""
    global _HOST
    with _HOST_GUARD:
        if _HOST is None:
            _HOST = duckdb.connect(MEMORY, config={"memory_limit": _HOST_MEMORY_LIMIT})
        return _HOST.cursor()


def _on_host(statement: str) -> None:
    """Run one statement on a connection of the host that is closed right after."""
    conn = _host_cursor()
    try:
        conn.execute(statement)
    finally:
        conn.close()


class _Attachment:
    """One store file attached read-only to the host instance, under its own alias."""

    def __init__(self, path: str) -> None:
        self.alias = f"findata_read_{next(_ALIAS_NUMBERS)}"
        quoted = path.replace("'", "''")
        _on_host(f"ATTACH '{quoted}' AS {self.alias} (READ_ONLY)")

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one operation, whose unqualified names are the file's."""
        conn = _host_cursor()
        try:
            conn.execute(f"USE {self.alias}")
        except BaseException:
            conn.close()
            raise
        return conn

    def detach(self) -> None:
        """Release the file (and its lock); cursors still open on it fail from now on."""
        _on_host(f"DETACH DATABASE IF EXISTS {self.alias}")


class _SharedReader:
    """The read-only attachment of one file in this process, held between reads.

    Every access happens under the file's path lock. A daemon thread detaches the
    file when a writer announces itself or after ``idle`` seconds without a read;
    while the process has cached series, it also notices a new data version once the
    writer is done, attaches again and refreshes them ahead of the next request.
    """

    def __init__(self, path: str, lock: threading.Lock) -> None:
        self.path = path
        self.lock = lock
        # Each store's hold_idle: the file is held as long as the longest asks.
        self.holders: weakref.WeakKeyDictionary[DuckDBStore, float] = weakref.WeakKeyDictionary()
        self.conn: _Attachment | None = None
        self.last_used = 0.0
        self._watcher: threading.Thread | None = None
        self.stores: weakref.WeakSet[DuckDBStore] = weakref.WeakSet()

    @property
    def idle(self) -> float:
        return max(self.holders.values(), default=0.0)

    def connection(self, connect: Callable[[], _Attachment]) -> _Attachment | None:
        """The held attachment (made with ``connect`` if needed); ``None`` while a
        writer waits or holding is off: then the caller attaches for one read only."""
        if self.idle <= 0 or _writer_waiting(self.path):
            self.close()
            return None
        if self.conn is None:
            self.conn = connect()
        self.last_used = time.monotonic()
        self._watch()
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            try:
                conn.detach()
            except duckdb.Error:  # the file stays locked until the process ends
                logger.warning("cannot detach %s", self.path, exc_info=True)

    def _watch(self) -> None:
        if self._watcher is None or not self._watcher.is_alive():
            self._watcher = threading.Thread(
                target=self._run, name=f"duckdb-reader:{Path(self.path).name}", daemon=True
            )
            self._watcher.start()

    def _run(self) -> None:
        while True:
            time.sleep(_WATCH_INTERVAL)
            with self.lock:
                if threading.current_thread() is not self._watcher:
                    return
                if not self._tick():
                    self._watcher = None
                    return

    def _tick(self) -> bool:
        """One look at the side files; ``False`` when there is nothing left to watch."""
        now = time.monotonic()
        waiting = _writer_waiting(self.path)
        if self.conn is not None:
            if waiting or now - self.last_used > self.idle:
                self.close()
            return True
        stores = list(self.stores)
        if not any(store._has_cached_series() for store in stores):
            return False
        stale = [store for store in stores if store._cache_is_stale()]
        if waiting or not stale:
            return True
        # Another process wrote and is done: open again now and re-read what changed,
        # so the first request for new data pays neither the open nor the scan.
        try:
            self.conn = _Attachment(self.path)
        except duckdb.Error:
            return True  # an unannounced writer holds the file: try again next time
        self.last_used = now
        for store in stale:
            store._refresh_ahead(self.conn)
        if self.idle <= 0:
            self.close()
        return True


_READERS: dict[str, _SharedReader] = {}


def _forget_readers_after_fork() -> None:
    """A forked child must not use (or close) its parent's connections: drop them.
    The host's guard is made anew: another thread may have held it at the fork."""
    global _HOST, _HOST_GUARD
    inherited = [_HOST, *(reader.conn for reader in _READERS.values())]
    _LEFT_BY_PARENT.extend(held for held in inherited if held is not None)
    _HOST = None
    _HOST_GUARD = threading.Lock()
    for reader in _READERS.values():
        reader.conn = None
        reader._watcher = None


def _stop_readers_at_exit() -> None:
    """Detach held files, stop their threads and close the host before the interpreter
    finalizes: a daemon thread still inside DuckDB then would abort the process."""
    for reader in list(_READERS.values()):
        with reader.lock:
            watcher, reader._watcher = reader._watcher, None
            reader.close()
        if watcher is not None and watcher is not threading.current_thread():
            watcher.join(timeout=5)
    global _HOST
    with _HOST_GUARD:
        host, _HOST = _HOST, None
        if host is not None:
            host.close()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_readers_after_fork)
atexit.register(_stop_readers_at_exit)


def _shared_reader(path: str, lock: threading.Lock) -> _SharedReader:
    with _PATH_LOCKS_GUARD:
        return _READERS.setdefault(path, _SharedReader(path, lock))


_Opened = TypeVar("_Opened")


def _is_lock_conflict(error: duckdb.Error) -> bool:
    message = str(error)
    return "lock" in message.lower() or "different configuration" in message


class DuckDBStore:
    """Bars in a DuckDB file (or ``:memory:``), safe to share between processes.

    ``lock_timeout`` bounds how long an operation waits for another process's
    conflicting lock before raising ``StoreUnavailableError``; ``cache_rows``
    bounds the in-process read cache; ``hold_idle`` is how long the process's
    read attachment of the file stays unused (0: attach per read; with several stores
    of one file in a process, the longest).
    """

    url_scheme: str = "duckdb"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = 30.0,
        cache_rows: int = 4_000_000,
        hold_idle: float = HOLD_IDLE,
    ) -> None:
        raw = os.fspath(path)
        self._memory = raw == MEMORY
        self.path = raw if self._memory else str(Path(raw).expanduser().absolute())
        self.lock_timeout = lock_timeout
        self.hold_idle = hold_idle
        self.cache_rows = cache_rows
        self._version_file = Path(f"{self.path}.version")
        self._lock = threading.Lock() if self._memory else _path_lock(self.path)
        self._memory_conn: duckdb.DuckDBPyConnection | None = None
        self._publish_after_close: str | None = None
        self._reader: _SharedReader | None = None
        if not self._memory:
            self._reader = _shared_reader(self.path, self._lock)
            self._reader.holders[self] = hold_idle
        self._bars_cache: VersionedCache[pa.Table] = VersionedCache(cache_rows)
        # Each cached series' (symbol_id, updated_at) when it was read: every write
        # of a symbol changes its updated_at, so an unchanged stamp lets the series
        # carry over to a new data version without reading it again.
        self._stamps: dict[str, _Stamp] = {}
        # The stamps of every symbol as of one data version: reads of several symbols
        # in a version query the symbols table once.
        self._version_stamps: tuple[str, dict[str, _Stamp]] | None = None
        self._symbols_cache: VersionedCache[list[SymbolInfo]] = VersionedCache(cache_rows)

    @classmethod
    def from_url(
        cls, url: str, *, lock_timeout: float = 30.0, cache_rows: int = 4_000_000
    ) -> DuckDBStore:
        """The store of a ``duckdb:///abs/path.duckdb`` (or ``duckdb:///:memory:``) URL.

        The URL's query may set ``lock_timeout``, ``hold_idle`` and ``cache_rows``
        (``duckdb:////data/findata.duckdb?hold_idle=5``); they win over the arguments.
        """
        options = duckdb_options(url)
        return cls(
            duckdb_path(url),
            lock_timeout=options.get("lock_timeout", lock_timeout),
            cache_rows=int(options.get("cache_rows", cache_rows)),
            hold_idle=options.get("hold_idle", HOLD_IDLE),
        )

    def __repr__(self) -> str:
        return f"DuckDBStore({self.path!r})"

    # -- lifecycle -----------------------------------------------------------

    async def connect(self) -> None:
        """Open the in-memory database; a file is attached for reading at the first read."""
        if self._memory and self._memory_conn is None:
            self._memory_conn = duckdb.connect(MEMORY)

    async def disconnect(self) -> None:
        if self._memory_conn is not None:
            self._memory_conn.close()
            self._memory_conn = None
        if self._reader is not None:
            await asyncio.to_thread(self._release_reader)
        self._bars_cache.clear()
        self._symbols_cache.clear()

    def pool_usage(self) -> PoolUsage | None:
        """The one read attachment this process holds on the file (a file store has no
        pool; ``max_size`` 1); ``None`` for ``:memory:``."""
        if self._reader is None:
            return None
        held = 1 if self._reader.conn is not None else 0
        busy = 1 if held and self._lock.locked() else 0
        return PoolUsage(open=held, idle=held - busy, max_size=1)

    async def health(self) -> None:
        await asyncio.to_thread(self._health_sync)

    def _health_sync(self) -> None:
        if self._memory:
            with self._open(write=False) as conn:
                conn.execute("SELECT 1").fetchall()
        elif not os.access(self.path, os.R_OK):
            raise StoreUnavailableError(f"no readable DuckDB database at {self.path}")

    # -- versions ----------------------------------------------------------------

    async def data_version(self) -> str:
        """The version side file's token: a few bytes read without opening DuckDB."""
        if self._memory:
            return await asyncio.to_thread(self._memory_version)
        return self._file_version()

    def _memory_version(self) -> str:
        with self._open(write=False) as conn:
            return self._stored_version(conn)

    def _file_version(self) -> str:
        try:
            return self._version_file.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            # A database written by another tool: fall back to the files' identity.
            try:
                stat = os.stat(self.path)
            except FileNotFoundError:
                return "empty"
            wal = Path(f"{self.path}.wal")
            wal_part = wal.stat().st_mtime_ns if wal.exists() else 0
            return f"stat-{stat.st_ino}-{stat.st_mtime_ns}-{stat.st_size}-{wal_part}"

    @staticmethod
    def _stored_version(conn: duckdb.DuckDBPyConnection) -> str:
        row = conn.execute("SELECT database_id, version FROM data_version").fetchone()
        if row is None:
            raise StoreError(_NOT_MIGRATED)
        return f"{row[0]}-{row[1]}"

    def _publish_version(self, version: str) -> None:
        """Write the side file atomically, so readers never see a partial token."""
        if self._memory:
            return
        scratch = self._version_file.with_name(f"{self._version_file.name}.{os.getpid()}.tmp")
        try:
            scratch.write_text(version, encoding="ascii")
            os.replace(scratch, self._version_file)
        except OSError as error:
            # The commit stands; without a side file, readers fall back to the files'
            # identity (which the commit changed), so no stale token is left behind.
            logger.warning("cannot publish the data version of %s: %s", self.path, error)
            for stale in (scratch, self._version_file):
                stale.unlink(missing_ok=True)

    # -- connections -------------------------------------------------------------

    @contextlib.contextmanager
    def _open(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation; the file is closed (and unlocked) afterwards."""
        with self._lock:
            if self._memory:
                if self._memory_conn is None:
                    raise StoreError("the store is not connected: call connect() first")
                # A cursor per operation: no half-read result leaks into the next one.
                cursor = self._memory_conn.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
                return
            if not write and not os.path.exists(self.path):
                raise StoreError(f"no database at {self.path}: run `findata db migrate`")
            assert self._reader is not None
            if write:
                # DuckDB refuses a read-write open beside our own read-only attachment.
                self._reader.close()
            else:
                held = self._reader.connection(self._attach_with_retry)
                if held is not None:
                    yield from self._use_held(held)
                    return
            with contextlib.ExitStack() as stack:
                if write:
                    renew = stack.enter_context(_write_intent(self.path))
                    # Runs after the close, before the announcement goes: readers that
                    # see the new token find the file free, and readers waiting for the
                    # writer to finish find the new token when they re-open.
                    self._publish_after_close = None
                    stack.callback(self._publish_pending)
                    conn = self._with_retry(
                        lambda: duckdb.connect(self.path), mode="write", on_retry=renew
                    )
                    stack.callback(self._close_operation, conn)
                else:  # a writer waits, or holding is off: attached for this read only
                    attachment = self._attach_with_retry()
                    stack.callback(attachment.detach)
                    conn = stack.enter_context(contextlib.closing(attachment.cursor()))
                try:
                    yield conn
                except duckdb.CatalogException as error:
                    raise StoreError(f"{self.path}: {_NOT_MIGRATED} ({error})") from error
                except duckdb.IOException as error:
                    # Disk full, I/O error...: the transaction was rolled back, the file is intact.
                    raise StoreError(f"cannot write {self.path}: {error}") from error

    def _use_held(self, held: _Attachment) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor on the held attachment, for one operation (under the path lock)."""
        assert self._reader is not None
        try:
            cursor = held.cursor()
        except duckdb.Error:
            # The attachment went away behind our back: attach the file anew, once.
            self._reader.close()
            again = self._reader.connection(self._attach_with_retry)
            if again is None:  # a writer waits now
                raise
            cursor = again.cursor()
        try:
            yield cursor
        except duckdb.CatalogException as error:
            raise StoreError(f"{self.path}: {_NOT_MIGRATED} ({error})") from error
        except duckdb.Error:
            self._reader.close()  # do not keep an attachment that failed
            raise
        finally:
            cursor.close()

    def _publish_pending(self) -> None:
        version, self._publish_after_close = self._publish_after_close, None
        if version is not None:
            self._publish_version(version)

    def _release_reader(self) -> None:
        assert self._reader is not None
        with self._lock:
            self._reader.close()

    def _close_operation(self, conn: duckdb.DuckDBPyConnection) -> None:
        try:
            conn.close()
        except duckdb.IOException as error:  # the checkpoint at close failed
            raise StoreError(f"cannot write {self.path}: {error}") from error

    def _attach_with_retry(self) -> _Attachment:
        return self._with_retry(lambda: _Attachment(self.path), mode="read")

    def _with_retry(
        self,
        open_file: Callable[[], _Opened],
        *,
        mode: str,
        on_retry: Callable[[], None] | None = None,
    ) -> _Opened:
        """``open_file()``, retried with backoff while another process holds the file."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.005
        attempts = 0
        while True:
            attempts += 1
            try:
                return open_file()
            except (duckdb.IOException, duckdb.ConnectionException) as error:
                if not _is_lock_conflict(error):
                    raise StoreUnavailableError(f"cannot open {self.path}: {error}") from error
                if time.monotonic() + delay > deadline:
                    raise StoreUnavailableError(
                        f"{self.path} is locked by another process; gave up waiting to {mode} "
                        f"after {self.lock_timeout:g} s ({attempts} attempts): {error}"
                    ) from error
            # Jitter keeps several workers from retrying in lockstep.
            time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - not cryptographic
            delay = min(delay * 2, 0.25)
            if on_retry is not None:
                on_retry()

    # -- migrations --------------------------------------------------------------

    async def migrate(self) -> list[Migration]:
        """Apply pending migrations (creating the file and its folder); return them."""
        return await asyncio.to_thread(self._migrate_sync)

    def _migrate_sync(self) -> list[Migration]:
        if not self._memory:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        applied_now: list[Migration] = []
        with self._open(write=True) as conn:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA_MIGRATIONS_TABLE} ("
                "version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
            )
            applied = set(self._applied(conn))
            for migration in load_migrations(BACKEND):
                if migration.version in applied:
                    continue
                conn.begin()
                try:
                    conn.execute(migration.sql)
                    conn.execute(
                        f"INSERT INTO {SCHEMA_MIGRATIONS_TABLE} VALUES (?, ?, ?)",
                        [migration.version, migration.name, _utc_now()],
                    )
                    conn.commit()
                except duckdb.Error as error:
                    conn.rollback()
                    raise StoreError(
                        f"migration {migration.version:04d}_{migration.name} failed: {error}"
                    ) from error
                applied_now.append(migration)
                logger.info("applied migration %04d_%s", migration.version, migration.name)
            self._publish_version(self._stored_version(conn))
        return applied_now

    async def migration_status(self) -> list[MigrationStatus]:
        return await asyncio.to_thread(self._migration_status_sync)

    def _migration_status_sync(self) -> list[MigrationStatus]:
        migrations = load_migrations(BACKEND)
        if not self._memory and not os.path.exists(self.path):
            return merge_status(migrations, {})
        with self._open(write=False) as conn:
            exists = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                [SCHEMA_MIGRATIONS_TABLE],
            ).fetchone()
            applied = self._applied(conn) if exists and exists[0] else {}
        return merge_status(migrations, applied)

    @staticmethod
    def _applied(conn: duckdb.DuckDBPyConnection) -> dict[int, dt.datetime]:
        rows = conn.execute(f"SELECT version, applied_at FROM {SCHEMA_MIGRATIONS_TABLE}").fetchall()
        return {int(version): applied_at.replace(tzinfo=dt.UTC) for version, applied_at in rows}

    # -- symbols -------------------------------------------------------------------

    async def list_symbols(self) -> list[SymbolInfo]:
        return await asyncio.to_thread(self._list_symbols_sync)

    async def get_symbol(self, symbol: str) -> SymbolInfo | None:
        wanted = symbol.upper()
        for info in await self.list_symbols():
            if info.symbol == wanted:
                return info
        return None

    def _list_symbols_sync(self) -> list[SymbolInfo]:
        version = self._current_version()
        cached = self._symbols_cache.get(version, "symbols")
        if cached is not None:
            return cached
        if self._reader is not None:
            self._reader.stores.add(self)
        with self._open(write=False) as conn:
            return self._load_symbols(conn, version)

    def _load_symbols(self, conn: duckdb.DuckDBPyConnection, version: str) -> list[SymbolInfo]:
        infos = _list_symbols(conn)
        self._symbols_cache.put(version, "symbols", infos, len(infos))
        return infos

    def _current_version(self) -> str:
        return self._memory_version() if self._memory else self._file_version()

    # -- bars ----------------------------------------------------------------------

    async def read_bars(
        self,
        symbols: Sequence[str],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> pa.Table:
        return await asyncio.to_thread(self._read_sync, symbols, start, end)

    def _read_sync(
        self, symbols: Sequence[str], start: dt.datetime | None, end: dt.datetime | None
    ) -> pa.Table:
        wanted = sorted({symbol.upper() for symbol in symbols})
        if not wanted:
            return empty_bar_table()
        version = self._current_version()
        series = {symbol: self._bars_cache.get(version, symbol) for symbol in wanted}
        missing = [symbol for symbol, table in series.items() if table is None]
        if missing:
            series.update(self._load_series(version, missing))
        return concat_bars(
            [slice_time(table, start, end) for table in series.values() if table is not None]
        )

    def _load_series(self, version: str, symbols: list[str]) -> dict[str, pa.Table]:
        """Whole series of ``symbols`` in time order, cached for ``version``."""
        if self._reader is not None:
            self._reader.stores.add(self)
        with self._open(write=False) as conn:
            stamps = self._carry_over(conn, version)
            loaded: dict[str, pa.Table] = {}
            for symbol in symbols:
                carried = self._bars_cache.get(version, symbol)
                if carried is None:
                    carried = self._load_one(conn, version, symbol, stamps)
                loaded[symbol] = carried
            return loaded

    def _load_one(
        self,
        conn: duckdb.DuckDBPyConnection,
        version: str,
        symbol: str,
        stamps: dict[str, _Stamp],
    ) -> pa.Table:
        stamp = stamps.get(symbol)
        # An unknown symbol reads no rows (id -1), with the right columns. Optional
        # columns no bar of the symbol holds are not read (a quarter of a read's time).
        columns = _SERIES_COLUMNS
        if stamp is not None and stamp.has_vwap:
            columns += ", vwap"
        if stamp is not None and stamp.has_trade_count:
            columns += ", trade_count"
        raw = conn.sql(
            f"SELECT {columns} FROM bars WHERE symbol_id = ?",
            params=[-1 if stamp is None else stamp.symbol_id],
        ).to_arrow_table()
        series = _in_time_order(raw).add_column(0, SYMBOL, repeat_string(symbol, raw.num_rows))
        table = to_bar_table(series)
        if stamp is not None:
            self._stamps[symbol] = stamp
        self._bars_cache.put(version, symbol, table, table.num_rows)
        return table

    def _carry_over(self, conn: duckdb.DuckDBPyConnection, version: str) -> dict[str, _Stamp]:
        """The symbols' current stamps; cached series of an older version whose symbol
        is unchanged move to ``version`` (an ingest of one symbol keeps the others hot)."""
        if self._version_stamps is not None and self._version_stamps[0] == version:
            return self._version_stamps[1]
        stamps = {
            str(row[0]): _Stamp(int(row[1]), row[2], bool(row[3]), bool(row[4]))
            for row in conn.execute(_SELECT_STAMPS).fetchall()
        }
        self._version_stamps = (version, stamps)
        cached_version, entries = self._bars_cache.entries()
        if cached_version is not None and cached_version != version:
            for symbol, table, rows in reversed(entries):  # least recent first: LRU kept
                if isinstance(symbol, str) and stamps.get(symbol) == self._stamps.get(symbol):
                    self._bars_cache.put(version, symbol, table, rows)
        return stamps

    def _has_cached_series(self) -> bool:
        return self._bars_cache.version is not None or self._symbols_cache.version is not None

    def _cache_is_stale(self) -> bool:
        version = self._current_version()
        return any(
            cached is not None and cached != version
            for cached in (self._bars_cache.version, self._symbols_cache.version)
        )

    def _refresh_ahead(self, attachment: _Attachment) -> None:
        """After another process's write: list the symbols again, carry unchanged series
        over, read changed ones (most recent first) until a writer announces itself.
        Under the path lock."""
        version = self._current_version()
        cached_version, entries = self._bars_cache.entries()
        cursor = attachment.cursor()
        try:
            symbols_version, listed = self._symbols_cache.entries()
            if listed and symbols_version != version:
                self._load_symbols(cursor, version)  # the API looks a symbol up first
            if cached_version is None or cached_version == version:
                return
            stamps = self._carry_over(cursor, version)
            for symbol, _table, _rows in entries:
                if _writer_waiting(self.path):
                    return
                if isinstance(symbol, str) and self._bars_cache.get(version, symbol) is None:
                    self._load_one(cursor, version, symbol, stamps)
        except Exception:  # a background nicety: the next read loads what is missing
            logger.warning("refreshing the read cache of %s failed", self.path, exc_info=True)
        finally:
            cursor.close()

    @staticmethod
    def _flag_optional_columns(conn: duckdb.DuckDBPyConnection, bars: pa.Table) -> None:
        """Set ``has_vwap``/``has_trade_count`` of the symbols whose new bars carry values
        (reads select only flagged columns); a file without them costs nothing here."""
        carried = [
            name
            for name in OPTIONAL_BAR_COLUMNS
            if name in bars.column_names and bars.column(name).null_count < bars.num_rows
        ]
        if not carried:
            return
        flags = ", ".join(f"has_{name} = symbols.has_{name} OR s.has_{name}" for name in carried)
        values = ", ".join(f"bool_or({name} IS NOT NULL) AS has_{name}" for name in carried)
        conn.execute(
            f"UPDATE symbols SET {flags} FROM (SELECT symbol_id, {values} FROM staging_bars "
            "GROUP BY symbol_id) AS s WHERE symbols.symbol_id = s.symbol_id"
        )

    def _bump_version(self, conn: duckdb.DuckDBPyConnection) -> str:
        """The last statement of every write transaction: readers' caches key on it."""
        conn.execute("UPDATE data_version SET version = version + 1")
        return self._stored_version(conn)

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
    ) -> int:
        return await asyncio.to_thread(self._write_sync, bars, source, timezone, bar_kind)

    def _write_sync(
        self, bars: pa.Table, source: str, timezone: str | None, bar_kind: BarKind | None
    ) -> int:
        normalized = normalize_bars(bars)
        if normalized.num_rows == 0:
            return 0
        # One chunk per column: DuckDB appends an Arrow scan of many small chunks
        # (Parquet batches) as partial row groups that the checkpoint at close then
        # rewrites, 0.3-1.5 s per 1M rows and growing with the table; the copy costs ~7 ms.
        staging = _utc_wall_time(with_all_columns(normalized)).combine_chunks()
        symbols = sorted(pc.unique(staging.column(SYMBOL)).to_pylist())
        with self._open(write=True) as conn:
            conn.begin()
            try:
                stored = [
                    StoredSymbol(symbol, zone, BarKind(kind))
                    for symbol, zone, kind in conn.execute(
                        "SELECT symbol, timezone, bar_kind FROM symbols "
                        "WHERE symbol IN (SELECT unnest(?))",
                        [symbols],
                    ).fetchall()
                ]
                plans = plan_write(normalized, stored, timezone=timezone, bar_kind=bar_kind)
                now = _utc_now()
                new_symbols = [
                    [plan.symbol, plan.timezone, source, str(plan.bar_kind), now]
                    for plan in plans.values()
                    if plan.is_new
                ]
                if new_symbols:
                    conn.executemany(
                        "INSERT INTO symbols (symbol, timezone, source, bar_kind, updated_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        new_symbols,
                    )
                ids: dict[str, int] = dict(
                    conn.execute(
                        "SELECT symbol, symbol_id FROM symbols WHERE symbol IN (SELECT unnest(?))",
                        [symbols],
                    ).fetchall()
                )
                conn.register("staging_bars", _with_symbol_ids(staging, ids))
                existing = [ids[plan.symbol] for plan in plans.values() if not plan.is_new]
                if existing:
                    # Upsert = delete the rows being replaced, then insert; the
                    # time bounds let DuckDB skip row groups by their zone maps.
                    conn.execute(
                        "DELETE FROM bars USING staging_bars AS s "
                        "WHERE bars.symbol_id = s.symbol_id AND bars.ts = s.timestamp "
                        "AND bars.symbol_id IN (SELECT unnest(?)) "
                        "AND bars.ts BETWEEN (SELECT min(timestamp) FROM staging_bars) "
                        "AND (SELECT max(timestamp) FROM staging_bars)",
                        [existing],
                    )
                conn.execute(
                    "INSERT INTO bars SELECT symbol_id, timestamp, open, high, low, close, "
                    "volume, vwap, trade_count FROM staging_bars"
                )
                conn.execute(
                    "UPDATE symbols SET first_bar = agg.first_bar, last_bar = agg.last_bar, "
                    "bar_count = agg.bar_count, source = ?, updated_at = ? "
                    "FROM (SELECT symbol_id, min(ts) AS first_bar, max(ts) AS last_bar, "
                    "count(*) AS bar_count FROM bars WHERE symbol_id IN (SELECT unnest(?)) "
                    "GROUP BY symbol_id) AS agg WHERE symbols.symbol_id = agg.symbol_id",
                    [source, now, list(ids.values())],
                )
                self._flag_optional_columns(conn, normalized)
                version = self._bump_version(conn)
                self._publish_after_close = version
                # The symbol list as of this commit: the next file of an ingest asks
                # for it, and opening the file again would cost more than this query.
                infos = _list_symbols(conn)
                conn.commit()
            except BaseException:
                self._publish_after_close = None
                conn.rollback()
                raise
            finally:
                conn.unregister("staging_bars")
        self._symbols_cache.put(version, "symbols", infos, len(infos))
        return int(normalized.num_rows)


def _list_symbols(conn: duckdb.DuckDBPyConnection) -> list[SymbolInfo]:
    """The symbols that hold bars, by name: what ``list_symbols`` answers."""
    rows = conn.execute(f"{_SELECT_SYMBOLS} WHERE bar_count > 0 ORDER BY symbol").fetchall()
    return [_symbol_info(row) for row in rows]


def _with_symbol_ids(staging: pa.Table, ids: dict[str, int]) -> pa.Table:
    """``staging`` with its ``symbol`` column replaced by the symbols' integer ids."""
    encoded = pc.dictionary_encode(staging.column(SYMBOL)).combine_chunks()
    lookup = np.array([ids[name] for name in encoded.dictionary.to_pylist()], dtype=np.int32)
    symbol_ids = pa.array(lookup[encoded.indices.to_numpy()])
    return staging.set_column(staging.schema.get_field_index(SYMBOL), "symbol_id", symbol_ids)


def _in_time_order(table: pa.Table) -> pa.Table:
    """Scans return insertion order, which is time order unless an upsert appended
    replaced bars; checking is O(n), an ORDER BY cost most of a read."""
    previous: int | None = None
    for chunk in table.column(TIMESTAMP).chunks:  # chunk by chunk: no concatenated copy
        stamps = chunk.view(pa.int64()).to_numpy()
        if stamps.size == 0:
            continue
        if (previous is not None and stamps[0] <= previous) or not bool(
            np.all(stamps[1:] > stamps[:-1])
        ):
            return table.sort_by(TIMESTAMP)
        previous = int(stamps[-1])
    return table


class _Stamp(NamedTuple):
    """What a cached series was read under: a write of the symbol changes updated_at."""

    symbol_id: int
    updated_at: dt.datetime
    has_vwap: bool
    has_trade_count: bool


def _utc_wall_time(bars: pa.Table) -> pa.Table:
    """Drop the UTC label (not the value): DuckDB would shift TIMESTAMPTZ by the session zone."""
    index = bars.column_names.index(TIMESTAMP)
    naive = pc.cast(pc.cast(bars.column(TIMESTAMP), pa.int64()), pa.timestamp("us"))
    return bars.set_column(index, TIMESTAMP, naive)


def _utc_now() -> dt.datetime:
    """Naive UTC: DuckDB ``TIMESTAMP`` columns hold UTC wall time."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _symbol_info(row: tuple[object, ...]) -> SymbolInfo:
    symbol, first_bar, last_bar, bar_count, timezone, source, bar_kind = row
    assert isinstance(first_bar, dt.datetime)
    assert isinstance(last_bar, dt.datetime)
    return SymbolInfo(
        symbol=str(symbol),
        first_bar=first_bar.replace(tzinfo=dt.UTC),
        last_bar=last_bar.replace(tzinfo=dt.UTC),
        bar_count=int(str(bar_count)),
        timezone=str(timezone),
        source=str(source),
        bar_kind=BarKind(str(bar_kind)),
    )
