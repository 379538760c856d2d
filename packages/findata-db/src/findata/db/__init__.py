"""findata-db: bar storage on PostgreSQL or an embedded DuckDB file, migrations, ingestion."""

from findata.db._api_keys import (
    ApiKeyRecord,
    DuckDBKeyStore,
    DuplicateApiKeyError,
    KeyStore,
    KeyStoreUnavailableError,
    MemoryKeyStore,
    PostgresKeyStore,
    open_key_store,
)
from findata.db._demo import DEMO_SOURCE, demo_bars, ingest_demo
from findata.db._duckdb import DuckDBStore
from findata.db._errors import IngestError, StoreError, StoreUnavailableError
from findata.db._ingest import IngestResult, ingest_csv, ingest_parquet
from findata.db._migrations import Migration, MigrationStatus
from findata.db._open import MigratableStore, migrate, migration_status, open_store
from findata.db._postgres import PostgresStore
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

__version__ = "0.1.0"

__all__ = [
    "DEMO_SOURCE",
    "SYMBOL_PATTERN",
    "ApiKeyRecord",
    "BarKind",
    "DuckDBKeyStore",
    "DuckDBStore",
    "DuplicateApiKeyError",
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
    "ingest_csv",
    "ingest_demo",
    "ingest_parquet",
    "ingest_yahoo",
    "migrate",
    "migration_status",
    "open_key_store",
    "open_store",
    "redact_url",
    "resolve_database_url",
    "with_password",
]
