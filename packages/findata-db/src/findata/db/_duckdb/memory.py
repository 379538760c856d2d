"""``MemoryAccess``: ``duckdb:///:memory:``, the same calls as ``FileAccess`` without a file.

One in-memory database per store, alive between ``open()`` and ``close()``: nothing to
share with other processes, so no attachment, side file or thread.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import duckdb

from findata.db._duckdb.access import CachedReads
from findata.db._duckdb.version import stored_version
from findata.db._errors import StoreError
from findata.db._types import PoolUsage
from findata.db._url import MEMORY


class MemoryAccess:
    """Connections to one in-memory database: a cursor per operation, one at a time."""

    path = MEMORY
    attach_count = 0

    def __init__(self) -> None:
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()

    def open(self) -> None:
        if self._conn is None:
            self._conn = duckdb.connect(MEMORY)

    def close(self) -> None:
        """Drop the database (its data is gone)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextlib.contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor for one operation: no half-read result leaks into the next one."""
        with self._lock:
            if self._conn is None:
                raise StoreError("the store is not connected: call connect() first")
            cursor = self._conn.cursor()
            try:
                yield cursor
            finally:
                cursor.close()

    write = read

    def known_version(self) -> str | None:
        """Never known without a query."""
        return None

    def version(self) -> str:
        with self.read() as conn:
            return stored_version(conn)

    def watch(self, reads: CachedReads) -> None:
        """No other process writes: nothing to refresh."""

    def usage(self) -> PoolUsage | None:
        return None
