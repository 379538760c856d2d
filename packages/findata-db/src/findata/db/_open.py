"""Backend selection by URL scheme, and the migration entry points built on it."""

from __future__ import annotations

from typing import Protocol

from findata.db._duckdb import DuckDBStore
from findata.db._migrations import Migration, MigrationStatus
from findata.db._types import Store
from findata.db._url import resolve_database_url, url_scheme


class MigratableStore(Store, Protocol):
    """A store that also applies its own schema migrations (both backends are)."""

    async def migrate(self) -> list[Migration]: ...

    async def migration_status(self) -> list[MigrationStatus]: ...


def open_store(url: str | None = None) -> MigratableStore:
    """The store named by ``url`` (default: ``default_database_url()``), not yet connected.

    The password secret (``FINDATA_DATABASE_PASSWORD[_FILE]``) is filled in when the URL
    carries none, so ``findata db migrate`` works with the same settings as the service.

    ``postgresql://`` / ``postgres://`` select PostgreSQL, ``duckdb:///abs/file.duckdb``
    (or ``duckdb:///:memory:``) the embedded store. Call ``connect()`` before use.
    """
    resolved = resolve_database_url(url)
    if url_scheme(resolved) == "postgresql":
        # Imported here so DuckDB-only users never load asyncpg.
        from findata.db._postgres import PostgresStore

        return PostgresStore(resolved)
    return DuckDBStore.from_url(resolved)


async def migrate(url: str | None = None) -> list[Migration]:
    """Apply the pending migrations of the database at ``url``; return those applied now."""
    store = open_store(url)
    await store.connect()
    try:
        return await store.migrate()
    finally:
        await store.disconnect()


async def migration_status(url: str | None = None) -> list[MigrationStatus]:
    """Every migration of the database at ``url`` with its applied time (``None``: pending)."""
    store = open_store(url)
    await store.connect()
    try:
        return await store.migration_status()
    finally:
        await store.disconnect()
