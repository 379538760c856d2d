"""findata-db: bar storage on PostgreSQL or an embedded DuckDB file, migrations, ingestion.

``PostgresStore`` and ``PostgresKeyStore`` are imported on first use, so DuckDB-only
users never load asyncpg (or the PostgreSQL store's modules).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from findata.db._actions import ActionCounts, ActionStore
from findata.db._api_keys import (
    ApiKeyRecord,
    DuckDBKeyStore,
    DuplicateApiKeyError,
    KeyStore,
    KeyStoreUnavailableError,
    MemoryKeyStore,
    open_key_store,
)
from findata.db._coverage import read_coverage, symbol_coverage
from findata.db._dataset import ExportResult, export_parquet, ingest_parquet_dataset
from findata.db._demo import DEMO_SOURCE, demo_bars, ingest_demo
from findata.db._duckdb import DuckDBReadCounts, DuckDBStore
from findata.db._errors import IngestError, StoreError, StoreUnavailableError
from findata.db._ingest import IngestResult, ingest_csv, ingest_parquet
from findata.db._ingest_actions import ingest_actions
from findata.db._migrations import Migration, MigrationStatus
from findata.db._open import MigratableStore, migrate, migration_status, open_store
from findata.db._types import BarKind, PoolUsage, ReportsPoolUsage, Store, SymbolInfo
from findata.db._url import (
    check_database_url,
    database_password_from_env,
    default_database_url,
    redact_url,
    resolve_database_url,
    with_password,
)
from findata.db._validate import SYMBOL_PATTERN
from findata.db._yahoo import ingest_yahoo

if TYPE_CHECKING:
    from findata.db._pg_keys import PostgresKeyStore
    from findata.db._postgres import PostgresStore

_LAZY = {"PostgresKeyStore": "findata.db._pg_keys", "PostgresStore": "findata.db._postgres"}


def __getattr__(name: str) -> object:
    """The PostgreSQL classes, imported (with asyncpg) when first asked for."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "DEMO_SOURCE",
    "SYMBOL_PATTERN",
    "ActionCounts",
    "ActionStore",
    "ApiKeyRecord",
    "BarKind",
    "DuckDBKeyStore",
    "DuckDBReadCounts",
    "DuckDBStore",
    "DuplicateApiKeyError",
    "ExportResult",
    "IngestError",
    "IngestResult",
    "KeyStore",
    "KeyStoreUnavailableError",
    "MemoryKeyStore",
    "MigratableStore",
    "Migration",
    "MigrationStatus",
    "PoolUsage",
    "PostgresKeyStore",
    "PostgresStore",
    "ReportsPoolUsage",
    "Store",
    "StoreError",
    "StoreUnavailableError",
    "SymbolInfo",
    "__version__",
    "check_database_url",
    "database_password_from_env",
    "default_database_url",
    "demo_bars",
    "export_parquet",
    "ingest_actions",
    "ingest_csv",
    "ingest_demo",
    "ingest_parquet",
    "ingest_parquet_dataset",
    "ingest_yahoo",
    "migrate",
    "migration_status",
    "open_key_store",
    "open_store",
    "read_coverage",
    "redact_url",
    "resolve_database_url",
    "symbol_coverage",
    "with_password",
]
