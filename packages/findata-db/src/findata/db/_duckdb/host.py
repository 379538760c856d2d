"""The process's in-memory DuckDB instance (the *host*) that files are attached to for reading.

Starting a DuckDB instance builds its whole function catalog (~10 ms); attaching a file
to a running one costs ~0.6 ms and detaching it ~0.4 ms (ADR 0011). ``FileAccess``
owns the one host of the process and is the only user of this module.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from typing import Final

import duckdb

from findata.db._url import MEMORY

HOST_MEMORY_LIMIT: Final = "128MB"
"""The host's buffer pool. It holds the blocks of files read; the stores cache whole
series as Arrow, so a larger pool would keep the same bars twice, per worker (by
default DuckDB lets it grow to 80% of RAM). Arrow results do not count against it."""


class Host:
    """One in-memory DuckDB instance, started at its first use."""

    def __init__(self) -> None:
        self._conn: duckdb.DuckDBPyConnection | None = None
        self._guard = threading.Lock()
        self._aliases = itertools.count(1)
        self._left_by_parent: list[object] = []
        """Connections a forked child inherited: kept referenced so that no destructor
        of a DuckDB instance whose threads stayed in the parent ever runs in the child."""

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the instance (started now if needed)."""
        with self._guard:
            if self._conn is None:
                self._conn = duckdb.connect(MEMORY, config={"memory_limit": HOST_MEMORY_LIMIT})
            return self._conn.cursor()

    def run(self, statement: str) -> None:
        """Run one statement on a connection that is closed right after."""
        conn = self.cursor()
        try:
            conn.execute(statement)
        finally:
            conn.close()

    def attach(self, path: str) -> Attachment:
        """Attach ``path`` read-only under a new alias; raises DuckDB's error when locked."""
        alias = f"findata_read_{next(self._aliases)}"
        quoted = path.replace("'", "''")
        self.run(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
        return Attachment(self, alias)

    def forget_after_fork(self, inherited: Iterable[object]) -> None:
        """In a forked child: never use (nor close) the parent's instance and ``inherited``
        connections. The guard is made anew: another thread may have held it at the fork."""
        kept = [self._conn, *inherited]
        self._left_by_parent.extend(held for held in kept if held is not None)
        self._conn = None
        self._guard = threading.Lock()

    def close(self) -> None:
        with self._guard:
            conn, self._conn = self._conn, None
            if conn is not None:
                conn.close()


class Attachment:
    """One file attached read-only to the host, under its own alias."""

    def __init__(self, host: Host, alias: str) -> None:
        self._host = host
        self.alias = alias

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection for one operation, whose unqualified names are the file's."""
        conn = self._host.cursor()
        try:
            conn.execute(f"USE {self.alias}")
        except BaseException:
            conn.close()
            raise
        return conn

    def detach(self) -> None:
        """Release the file (and its lock); cursors still open on it fail from now on."""
        self._host.run(f"DETACH DATABASE IF EXISTS {self.alias}")
