"""The embedded DuckDB store, one module per job (see packages/findata-db/README.md):

- ``store``: ``DuckDBStore``, the async ``Store`` API and the order of its steps;
- ``queries``: the store's SQL and the shaping of rows in and out;
- ``cache``: the store's read cache per data version, and its carry-over;
- ``access``: ``FileAccess``, how processes share one file (ADR 0011);
- ``host``: the per-process DuckDB instance files are attached to;
- ``intent``: the write-intent side file (``<file>.writing``);
- ``version``: the data version, in the database and its side file (``<file>.version``);
- ``memory``: ``MemoryAccess``, ``:memory:`` behind the same calls as a file.
"""

from findata.db._duckdb.access import HOLD_IDLE, FileAccess
from findata.db._duckdb.store import DuckDBReadCounts, DuckDBStore

__all__ = ["HOLD_IDLE", "DuckDBReadCounts", "DuckDBStore", "FileAccess"]
