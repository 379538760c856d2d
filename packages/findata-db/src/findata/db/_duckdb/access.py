"""``FileAccess``: how processes share one DuckDB file (ADR 0011), behind a few calls.

DuckDB lets one process hold a file read-write, and no process hold it read-only
meanwhile. A store asks its ``FileAccess`` for a connection to ``read()`` or to
``write()`` and for the data ``version()``, hands it its cache to ``watch()``, and may
``close()`` it; nothing else reaches inside:

- reads attach the file read-only to the process's in-memory host instance
  (``host``) and keep it attached between reads, for ``hold_idle`` seconds unused or
  until a writer announces itself (``intent``); then a read attaches for itself only;
- writes announce themselves, open the file read-write, and once it is closed
  publish the new data version (``version``);
- both retry a lock held by another process with jittered backoff up to
  ``lock_timeout``, then raise ``StoreUnavailableError``;
- a daemon thread per file lets the attachment go when a writer waits or the file
  is idle, and after another process's write refreshes the caches handed to
  ``watch()`` ahead of the next request;
- the version is the published side file's, except after a killed writer left its
  intent: then the database's own counter, read once and trusted until a writer
  publishes again.

The accesses to one file in a process (one per store) share its state: one lock
(held to attach, detach and write; reads on the held attachment run side by side
outside it, and a detach waits for them), one attachment, one thread; DuckDB
refuses two handles on a file with different settings in one process. A forked
child drops what it inherited; at exit the threads are stopped and the files
detached before the interpreter finalizes.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final, NamedTuple, Protocol, TypeVar

import duckdb

from findata.db._duckdb.host import Attachment, Host
from findata.db._duckdb.intent import announce_write, read_announcement, writer_waiting
from findata.db._duckdb.version import (
    NOT_MIGRATED,
    file_identity,
    publish_version,
    published_version,
    stored_version,
)
from findata.db._errors import StoreError, StoreUnavailableError
from findata.db._types import PoolUsage

HOLD_IDLE: Final = 2.0
"""Default seconds a process's unused read attachment of a file stays attached."""

WATCH_INTERVAL: Final = 0.02
"""How often a held file checks for a waiting writer, idleness and new versions (s)."""

_Opened = TypeVar("_Opened")

logger = logging.getLogger(__name__)


class CachedReads(Protocol):
    """What a store cached from a file, which the reader thread refreshes after a write."""

    def has_cached_reads(self) -> bool:
        """Whether anything is cached (else there is nothing to refresh)."""
        ...

    def is_stale(self, version: str) -> bool:
        """Whether something cached belongs to a version other than ``version``."""
        ...

    def refresh(
        self, conn: duckdb.DuckDBPyConnection, version: str, interrupted: Callable[[], bool]
    ) -> None:
        """Bring the cache to ``version`` through ``conn``; stop early once ``interrupted()``."""
        ...


class FileAccess:
    """One store's access to a DuckDB file: connections to read and write, and the version."""

    def __init__(self, path: str, *, lock_timeout: float, hold_idle: float = HOLD_IDLE) -> None:
        self.path = path
        self.lock_timeout = lock_timeout
        self._file = _PROCESS.file(path)
        # Each access's hold_idle: the file is held as long as the longest asks.
        self._file.holders[self] = hold_idle

    def __repr__(self) -> str:
        return f"FileAccess({self.path!r})"

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection reading the file, for one operation. Reads on the held attachment
        run side by side (each on its own cursor, outside the file's lock); attaching,
        detaching and writing wait until none is running."""
        file = self._file
        with file.lock:
            file.wait_for_exclusive()
            if not os.path.exists(self.path):
                raise StoreError(f"no database at {self.path}: run `findata db migrate`")
            held = file.held_attachment(self.lock_timeout)
            if held is None:
                # A writer waits, or holding is off: attached for this read only.
                attachment = _retry_open(file.attach, self.path, self.lock_timeout, mode="read")
                try:
                    with (
                        contextlib.closing(attachment.cursor()) as conn,
                        _store_errors(self.path),
                    ):
                        yield conn
                finally:
                    attachment.detach()
                return
            cursor = file.held_cursor(held, self.lock_timeout)
            file.readers += 1
        yield from file.read_on(cursor)

    @contextlib.contextmanager
    def write(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection for one operation; the file is closed (and unlocked)
        afterwards, then the version the operation committed is published."""
        file = self._file
        with file.lock:
            file.release()  # DuckDB refuses a read-write open beside our own attachment
            with announce_write(self.path) as renew:
                conn = _retry_open(
                    lambda: duckdb.connect(self.path),
                    self.path,
                    self.lock_timeout,
                    mode="write",
                    on_retry=renew,
                )
                committed: str | None = None
                try:
                    with _store_errors(self.path):
                        yield conn
                    committed = _committed_version(conn)
                finally:
                    try:
                        _close(conn, self.path)
                    finally:
                        # After the close, before the announcement goes: readers that
                        # see the new token find the file free, and readers waiting for
                        # the writer to finish find the new token when they re-open.
                        if committed is not None:
                            publish_version(self.path, committed)

    def known_version(self) -> str | None:
        """The data version if it is known without opening the file: ``None`` when only
        the database can tell (a writer died leaving its intent; ``version()`` reads it)."""
        return self._file.known_version()

    def version(self) -> str:
        """The data version: an opaque token that changes with every committed write.

        May attach the file (once per killed writer), so call it off the event loop
        when ``known_version()`` is ``None``.
        """
        known = self.known_version()
        if known is not None:
            return known
        with self._file.lock:
            return self._file.recover_version()

    def watch(self, reads: CachedReads) -> None:
        """Keep ``reads`` fresh after other processes' writes (held weakly)."""
        self._file.caches.add(reads)

    def open(self) -> None:
        """Nothing to do: the file is attached at the first read."""

    def close(self) -> None:
        """Let go of the process's read attachment of the file now (the next read
        attaches it again)."""
        with self._file.lock:
            self._file.release()

    def usage(self) -> PoolUsage:
        """The one read attachment this process holds on the file, and whether it is
        in use now (a file has no pool: ``max_size`` 1)."""
        held = 1 if self._file.held is not None else 0
        busy = 1 if held and (self._file.readers or self._file.lock.locked()) else 0
        return PoolUsage(open=held, idle=held - busy, max_size=1)

    @property
    def attach_count(self) -> int:
        """How many times this process attached the file so far (all its stores)."""
        return self._file.attaches


class _Recovered(NamedTuple):
    """The version read from the database after a killed writer, and what it was read under."""

    identity: tuple[int, int, str]
    """The killed writer's announcement (``intent.Announcement.identity``)."""
    published: str
    """The published token then: a new one means another writer finished since."""
    version: str


class _SharedFile:
    """The state of one file in this process; every method runs under ``lock`` but
    :meth:`read_on`, which runs a read on the held attachment beside other reads."""

    def __init__(self, path: str, host: Host) -> None:
        self.path = path
        self.host = host
        self.lock = threading.Lock()
        self.drained = threading.Condition(self.lock)
        """Notified when the last running read ends, and when a detach is done."""
        self.readers = 0
        """Reads running on the held attachment, outside the lock."""
        self.exclusive_waiting = 0
        """Detaches waiting for running reads to end; new reads wait for them."""
        self.failed = False
        """A read on the held attachment failed: the last read running lets it go."""
        self.holders: weakref.WeakKeyDictionary[FileAccess, float] = weakref.WeakKeyDictionary()
        self.caches: weakref.WeakSet[CachedReads] = weakref.WeakSet()
        self.held: Attachment | None = None
        self.last_used = 0.0
        self.watcher: threading.Thread | None = None
        self.recovered: _Recovered | None = None
        self.attaches = 0

    @property
    def idle(self) -> float:
        return max(self.holders.values(), default=0.0)

    def attach(self) -> Attachment:
        attachment = self.host.attach(self.path)
        self.attaches += 1
        return attachment

    def held_attachment(self, lock_timeout: float) -> Attachment | None:
        """The held attachment (attached now if needed); ``None`` while a writer waits
        or holding is off: then the caller attaches for one read only."""
        if self.idle <= 0 or writer_waiting(self.path):
            self.release()
            return None
        if self.held is None:
            self.held = _retry_open(self.attach, self.path, lock_timeout, mode="read")
        self.last_used = time.monotonic()
        self.watch()
        return self.held

    def wait_for_exclusive(self) -> None:
        """Wait while a detach waits for running reads: new reads would starve it."""
        while self.exclusive_waiting:
            self.drained.wait()

    def held_cursor(self, held: Attachment, lock_timeout: float) -> duckdb.DuckDBPyConnection:
        """A cursor on the held attachment, for one operation."""
        try:
            return held.cursor()
        except duckdb.Error:
            # The attachment went away behind our back: attach the file anew, once.
            self.release()
            again = self.held_attachment(lock_timeout)
            if again is None:  # a writer waits now
                raise
            return again.cursor()

    def read_on(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """Run one read on ``cursor`` (counted in :attr:`readers`) without the lock."""
        try:
            yield cursor
        except duckdb.CatalogException as error:
            raise StoreError(f"{self.path}: {NOT_MIGRATED} ({error})") from error
        except duckdb.Error:
            self.failed = True  # do not keep an attachment that failed
            raise
        finally:
            cursor.close()
            with self.lock:
                self.readers -= 1
                if not self.readers:
                    if self.failed:
                        self.release()
                    self.drained.notify_all()

    def release(self) -> None:
        """Detach the held attachment, once the reads running on it have ended."""
        self.exclusive_waiting += 1
        try:
            while self.readers:
                self.drained.wait()
        finally:
            self.exclusive_waiting -= 1
            self.drained.notify_all()
        self.failed = False
        if self.held is not None:
            held, self.held = self.held, None
            try:
                held.detach()
            except duckdb.Error:  # the file stays locked until the process ends
                logger.warning("cannot detach %s", self.path, exc_info=True)

    def known_version(self) -> str | None:
        """The published version; after a killed writer, the one read from the database
        while nothing was published since (``None``: not read yet). Needs no lock."""
        announcement = read_announcement(self.path)
        published = published_version(self.path)
        recovered = self.recovered
        if announcement is not None and not announcement.alive:
            if (
                recovered is not None
                and recovered.identity == announcement.identity
                and recovered.published == published
            ):
                return recovered.version
            return None
        # No writer, or a live one (which publishes when done): what was read from the
        # database after a killed writer stays true until someone publishes.
        if recovered is not None and recovered.published == published:
            return recovered.version
        return published

    def recover_version(self) -> str:
        """``known_version()``, or else the database's counter: a writer died announced,
        so its commit may never have been published. One attempt: a writer that holds
        the file unannounced (as far as we can see) will publish when done."""
        known = self.known_version()
        if known is not None:
            return known
        announcement = read_announcement(self.path)
        published = published_version(self.path)
        if announcement is None or announcement.alive:  # changed meanwhile
            return published
        if not os.path.exists(self.path):
            return published
        try:
            if self.held is None:
                self.held = self.attach()
            cursor = self.held.cursor()
        except duckdb.Error:  # held by a writer we cannot see: try again next time
            self.release()
            return published
        try:
            version = stored_version(cursor)
        except (duckdb.CatalogException, StoreError):  # not migrated
            version = file_identity(self.path)
        finally:
            cursor.close()
        self.recovered = _Recovered(announcement.identity, published, version)
        self.last_used = time.monotonic()
        if self.idle <= 0:
            self.release()
        else:
            self.watch()
        return version

    def watch(self) -> None:
        if self.watcher is None or not self.watcher.is_alive():
            self.watcher = threading.Thread(
                target=self._run, name=f"duckdb-reader:{Path(self.path).name}", daemon=True
            )
            self.watcher.start()

    def _run(self) -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            with self.lock:
                if threading.current_thread() is not self.watcher:
                    return
                if not self._tick():
                    self.watcher = None
                    return

    def _tick(self) -> bool:
        """One look at the side files; ``False`` when there is nothing left to watch."""
        now = time.monotonic()
        waiting = writer_waiting(self.path)
        if self.held is not None:
            if (waiting or now - self.last_used > self.idle) and not self.readers:
                self.release()
            return True
        caches = list(self.caches)
        if not any(cache.has_cached_reads() for cache in caches):
            return False
        if waiting:
            return True
        # The published version, or the database's after a killed writer (that attaches).
        version = self.recover_version()
        stale = [cache for cache in caches if cache.is_stale(version)]
        if not stale:
            return True
        # Another process wrote and is done: attach again now and re-read what changed,
        # so the first request for new data pays neither the attach nor the scan.
        try:
            if self.held is None:
                self.held = self.attach()
            cursor = self.held.cursor()
        except duckdb.Error:
            self.release()
            return True  # an unannounced writer holds the file: try again next time
        self.last_used = now
        try:
            for cache in stale:
                try:
                    cache.refresh(cursor, version, lambda: writer_waiting(self.path))
                except Exception:  # a background nicety: the next read loads what is missing
                    logger.warning("refreshing a read cache of %s failed", self.path, exc_info=True)
        finally:
            cursor.close()
        if self.idle <= 0:
            self.release()
        return True


class _Process:
    """What this process holds: the host instance, and the shared state of each file."""

    def __init__(self) -> None:
        self.host = Host()
        self.files: dict[str, _SharedFile] = {}
        self.guard = threading.Lock()

    def file(self, path: str) -> _SharedFile:
        with self.guard:
            found = self.files.get(path)
            if found is None:
                found = self.files[path] = _SharedFile(path, self.host)
            return found

    def forget_after_fork(self) -> None:
        """A forked child must not use (or close) its parent's connections: drop them.
        Locks are made anew: another thread may have held one at the fork."""
        self.guard = threading.Lock()
        self.host.forget_after_fork(file.held for file in self.files.values())
        for file in self.files.values():
            file.held = None
            file.watcher = None
            file.lock = threading.Lock()
            file.drained = threading.Condition(file.lock)
            file.readers = file.exclusive_waiting = 0
            file.failed = False

    def stop_at_exit(self) -> None:
        """Detach held files, stop their threads and close the host before the interpreter
        finalizes: a daemon thread still inside DuckDB then would abort the process."""
        for file in list(self.files.values()):
            with file.lock:
                watcher, file.watcher = file.watcher, None
                file.release()
            if watcher is not None and watcher is not threading.current_thread():
                watcher.join(timeout=5)
        self.host.close()


_PROCESS: Final = _Process()
if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_PROCESS.forget_after_fork)
atexit.register(_PROCESS.stop_at_exit)


def is_lock_conflict(error: duckdb.Error) -> bool:
    """Whether opening the file failed only because another handle holds it.

    Inside this process DuckDB says so by type: ``ConnectionException`` (a handle with
    other settings). Another process's lock is an ``IOException`` like every I/O
    failure (permission denied, missing folder, full disk), with no subtype and no
    error code on the Python exception (duckdb 2.0), so DuckDB's message is the last
    resort: ``Could not set lock on file "…": Conflicting lock is held in …``.
    """
    if isinstance(error, duckdb.ConnectionException):
        return True
    return isinstance(error, duckdb.IOException) and "could not set lock" in str(error).lower()


def _retry_open(
    open_file: Callable[[], _Opened],
    path: str,
    lock_timeout: float,
    *,
    mode: str,
    on_retry: Callable[[], None] | None = None,
) -> _Opened:
    """``open_file()``, retried with backoff while another process holds the file."""
    deadline = time.monotonic() + lock_timeout
    delay = 0.005
    attempts = 0
    while True:
        attempts += 1
        try:
            return open_file()
        except (duckdb.IOException, duckdb.ConnectionException) as error:
            if not is_lock_conflict(error):
                raise StoreUnavailableError(f"cannot open {path}: {error}") from error
            if time.monotonic() + delay > deadline:
                raise StoreUnavailableError(
                    f"{path} is locked by another process; gave up waiting to {mode} "
                    f"after {lock_timeout:g} s ({attempts} attempts): {error}"
                ) from error
        # Jitter keeps several workers from retrying in lockstep.
        time.sleep(delay * random.uniform(0.5, 1.5))  # noqa: S311 - not cryptographic
        delay = min(delay * 2, 0.25)
        if on_retry is not None:
            on_retry()


@contextlib.contextmanager
def _store_errors(path: str) -> Iterator[None]:
    """DuckDB's errors that mean something to a user, as ``StoreError``s naming the file."""
    try:
        yield
    except duckdb.CatalogException as error:
        raise StoreError(f"{path}: {NOT_MIGRATED} ({error})") from error
    except duckdb.IOException as error:
        # Disk full, I/O error...: the transaction was rolled back, the file is intact.
        raise StoreError(f"cannot write {path}: {error}") from error


def _committed_version(conn: duckdb.DuckDBPyConnection) -> str | None:
    """The version a write left in the file; ``None`` before migration 0001."""
    try:
        return stored_version(conn)
    except (duckdb.Error, StoreError):
        return None


def _close(conn: duckdb.DuckDBPyConnection, path: str) -> None:
    try:
        conn.close()
    except duckdb.IOException as error:  # the checkpoint at close failed
        raise StoreError(f"cannot write {path}: {error}") from error
