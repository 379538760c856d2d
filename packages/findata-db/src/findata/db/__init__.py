"""findata-db: bar storage on PostgreSQL or an embedded DuckDB file, with migrations and ingestion."""

from findata.db._types import BarKind, Store, SymbolInfo

__version__ = "0.1.0"

__all__ = ["BarKind", "Store", "SymbolInfo", "__version__"]
