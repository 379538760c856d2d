"""findata-db: bar storage on PostgreSQL or an embedded DuckDB file, with migrations and ingestion."""

from findata.db._api_keys import ApiKeyRecord, DuplicateApiKeyError, KeyStore, MemoryKeyStore
from findata.db._types import BarKind, Store, SymbolInfo

__version__ = "0.1.0"

__all__ = [
    "ApiKeyRecord",
    "BarKind",
    "DuplicateApiKeyError",
    "KeyStore",
    "MemoryKeyStore",
    "Store",
    "SymbolInfo",
    "__version__",
]
