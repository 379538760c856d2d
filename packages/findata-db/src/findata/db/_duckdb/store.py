"""``DuckDBStore``: bars in one DuckDB file (or ``:memory:``), safe to share between processes.

The store's async API and the order of its steps live here; the SQL in ``queries``, the
read cache in ``cache``, and how processes share the file (connections, locks, retries,
the data version) in ``access``, which the store only asks for a connection to read or
to write and for the version (ADR 0011).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

import pyarrow as pa

from findata.db._actions import ActionCounts, check_actions, count_actions, select_actions
from findata.db._arrow import concat_bars, empty_bar_table, slice_time
from findata.db._cache import VersionedCache
from findata.db._duckdb import actions as action_queries
from findata.db._duckdb.access import HOLD_IDLE, FileAccess
from findata.db._duckdb.cache import SeriesCache
from findata.db._duckdb.memory import MemoryAccess
from findata.db._duckdb.queries import (
    applied_migrations,
    apply_migrations,
    prepare_staging,
    write_bars,
)
from findata.db._errors import StoreUnavailableError
from findata.db._migrations import Migration, MigrationStatus, load_migrations, merge_status
from findata.db._types import BarKind, PoolUsage, SymbolInfo
from findata.db._url import MEMORY, duckdb_options, duckdb_path
from findata.db._validate import normalize_bars

BACKEND: Final = "duckdb"


@dataclasses.dataclass(frozen=True, slots=True)
class DuckDBReadCounts:
    """What a store's reads cost so far: whether a read was served from memory shows here."""

    attaches: int
    """Times this process attached the store's file for reading (all its stores of it)."""
    series_reads: int
    """Series this store read from the database (not from its cache)."""


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
        memory = raw == MEMORY
        self.path = raw if memory else str(Path(raw).expanduser().absolute())
        self.lock_timeout = lock_timeout
        self.hold_idle = hold_idle
        self.cache_rows = cache_rows
        self._access: FileAccess | MemoryAccess = (
            MemoryAccess()
            if memory
            else FileAccess(self.path, lock_timeout=lock_timeout, hold_idle=hold_idle)
        )
        self._cache = SeriesCache(cache_rows)
        self._access.watch(self._cache)
        # Every split and dividend of one data version (small tables: read whole).
        self._actions: VersionedCache[tuple[pa.Table, pa.Table]] = VersionedCache(1)

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

    # -- lifecycle -----------------------------------------------------------------

    async def connect(self) -> None:
        """Open the in-memory database; a file is attached for reading at the first read."""
        self._access.open()

    async def disconnect(self) -> None:
        await asyncio.to_thread(self._access.close)
        self._cache.clear()
        self._actions.clear()

    def pool_usage(self) -> PoolUsage | None:
        """The one read attachment this process holds on the file (a file store has no
        pool; ``max_size`` 1); ``None`` for ``:memory:``."""
        return self._access.usage()

    def read_counts(self) -> DuckDBReadCounts:
        """How often reads went to the file so far (``attaches`` is 0 for ``:memory:``)."""
        return DuckDBReadCounts(self._access.attach_count, self._cache.series_reads)

    async def health(self) -> None:
        await asyncio.to_thread(self._health_sync)

    def _health_sync(self) -> None:
        if isinstance(self._access, MemoryAccess):
            with self._access.read() as conn:
                conn.execute("SELECT 1").fetchall()
        elif not os.access(self.path, os.R_OK):
            raise StoreUnavailableError(f"no readable DuckDB database at {self.path}")

    async def data_version(self) -> str:
        """The committed data version: a few bytes of a side file, read without opening
        DuckDB, unless a killed writer left it behind (then read from the database)."""
        known = self._access.known_version()
        if known is not None:
            return known
        return await asyncio.to_thread(self._access.version)

    # -- migrations ----------------------------------------------------------------

    async def migrate(self) -> list[Migration]:
        """Apply pending migrations (creating the file and its folder); return them."""
        return await asyncio.to_thread(self._migrate_sync)

    def _migrate_sync(self) -> list[Migration]:
        if isinstance(self._access, FileAccess):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self._access.write() as conn:
            return apply_migrations(conn, load_migrations(BACKEND))

    async def migration_status(self) -> list[MigrationStatus]:
        return await asyncio.to_thread(self._migration_status_sync)

    def _migration_status_sync(self) -> list[MigrationStatus]:
        migrations = load_migrations(BACKEND)
        if isinstance(self._access, FileAccess) and not os.path.exists(self.path):
            return merge_status(migrations, {})
        with self._access.read() as conn:
            return merge_status(migrations, applied_migrations(conn))

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
        version = self._access.version()
        cached = self._cache.symbols(version)
        if cached is not None:
            return cached
        with self._access.read() as conn:
            return self._cache.load_symbols(conn, version)

    # -- bars ----------------------------------------------------------------------

    async def read_bars(
        self,
        symbols: Sequence[str],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> pa.Table:
        hot = self._read_cached(symbols, start, end)
        if hot is not None:
            return hot
        return await asyncio.to_thread(self._read_sync, symbols, start, end)

    def _read_cached(
        self, symbols: Sequence[str], start: dt.datetime | None, end: dt.datetime | None
    ) -> pa.Table | None:
        """The bars without leaving the event loop when every series is cached at the known
        version (a side file read, as ``data_version``); ``None`` when one must be read. A
        thread hop per read cost a many-symbol request ~0.3 ms per symbol."""
        wanted = sorted({symbol.upper() for symbol in symbols})
        known = self._access.known_version() if wanted else None
        if known is None:
            return None
        series = self._cache.series(known, wanted)
        if any(table is None for table in series.values()):
            return None
        return concat_bars(
            [slice_time(table, start, end) for table in series.values() if table is not None]
        )

    def _read_sync(
        self, symbols: Sequence[str], start: dt.datetime | None, end: dt.datetime | None
    ) -> pa.Table:
        wanted = sorted({symbol.upper() for symbol in symbols})
        if not wanted:
            return empty_bar_table()
        version = self._access.version()
        series = self._cache.series(version, wanted)
        missing = [symbol for symbol, table in series.items() if table is None]
        if missing:
            with self._access.read() as conn:
                series.update(self._cache.load_series(conn, version, missing))
        return concat_bars(
            [slice_time(table, start, end) for table in series.values() if table is not None]
        )

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
        exchanges: Mapping[str, str] | None = None,
    ) -> int:
        return await asyncio.to_thread(
            self._write_sync, bars, source, timezone, bar_kind, exchanges
        )

    def _write_sync(
        self,
        bars: pa.Table,
        source: str,
        timezone: str | None,
        bar_kind: BarKind | None,
        exchanges: Mapping[str, str] | None,
    ) -> int:
        normalized = normalize_bars(bars)
        if normalized.num_rows == 0:
            return 0
        staged = prepare_staging(normalized)
        with self._access.write() as conn:
            version, infos = write_bars(
                conn,
                normalized,
                staged,
                source=source,
                timezone=timezone,
                bar_kind=bar_kind,
                exchanges=exchanges,
            )
        self._cache.put_symbols(version, infos)
        return int(normalized.num_rows)

    # -- corporate actions ---------------------------------------------------------

    async def read_splits(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        splits, _ = await self._actions_now()
        return select_actions(splits, symbols, start, end)

    async def read_dividends(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        _, dividends = await self._actions_now()
        return select_actions(dividends, symbols, start, end)

    async def action_counts(self) -> dict[str, ActionCounts]:
        splits, dividends = await self._actions_now()
        return count_actions(splits, dividends)

    async def _actions_now(self) -> tuple[pa.Table, pa.Table]:
        """The cached actions without leaving the event loop when the version is known
        (a side file read, as ``data_version``); else read in a thread."""
        known = self._access.known_version()
        cached = None if known is None else self._actions.get(known, "actions")
        return cached if cached is not None else await asyncio.to_thread(self._all_actions)

    def _all_actions(self) -> tuple[pa.Table, pa.Table]:
        version = self._access.version()
        cached = self._actions.get(version, "actions")
        if cached is None:
            with self._access.read() as conn:
                cached = action_queries.read_actions(conn)
            self._actions.put(version, "actions", cached, 1)
        return cached

    async def write_actions(self, splits: pa.Table | None, dividends: pa.Table | None) -> int:
        return await asyncio.to_thread(self._write_actions_sync, splits, dividends)

    def _write_actions_sync(self, splits: pa.Table | None, dividends: pa.Table | None) -> int:
        checked = check_actions(splits, dividends)
        with self._access.write() as conn:
            action_queries.write_actions(conn, checked)
        return checked.rows
