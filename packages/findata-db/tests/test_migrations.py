"""Schema migrations: applied in order, recorded, and a no-op the second time."""

from __future__ import annotations

import pytest

from findata.db import StoreError, migrate, migration_status, open_store
from findata.db._migrations import load_migrations


@pytest.mark.parametrize("backend_name", ["duckdb", "postgres"])
def test_migration_files_are_numbered_and_start_with_the_bars_schema(backend_name: str) -> None:
    # GIVEN the migrations shipped for a backend / WHEN they are loaded
    migrations = load_migrations(backend_name)

    # THEN versions are unique, ascending, and 0001 creates the bars schema
    versions = [migration.version for migration in migrations]
    assert versions == sorted(set(versions))
    assert migrations[0].version == 1
    assert "CREATE TABLE bars" in migrations[0].sql


async def test_status_lists_every_migration_as_pending_before_migrating(
    empty_database_url: str,
) -> None:
    # GIVEN a database never migrated
    # WHEN its status is read
    states = await migration_status(empty_database_url)

    # THEN every shipped migration is listed, none applied
    assert [state.version for state in states] == [
        migration.version for migration in load_migrations(_backend_dir(empty_database_url))
    ]
    assert not any(state.applied for state in states)


async def test_migrate_applies_everything_once_and_twice_is_a_no_op(
    empty_database_url: str,
) -> None:
    # GIVEN a database never migrated
    expected = [m.version for m in load_migrations(_backend_dir(empty_database_url))]

    # WHEN it is migrated twice
    first = await migrate(empty_database_url)
    second = await migrate(empty_database_url)
    states = await migration_status(empty_database_url)

    # THEN the first run applied every migration in order, the second nothing
    assert [migration.version for migration in first] == expected
    assert second == []
    assert all(state.applied for state in states)


async def test_an_unmigrated_database_says_how_to_fix_it(empty_database_url: str) -> None:
    # GIVEN a store on a database that exists but was never migrated
    store = open_store(empty_database_url)
    await store.connect()
    if empty_database_url.startswith("duckdb"):
        # (a DuckDB file only exists once something created it)
        await migration_status(empty_database_url)
        import duckdb

        duckdb.connect(empty_database_url.removeprefix("duckdb://")).close()
    try:
        # WHEN symbols are listed / THEN the error names `findata db migrate`
        with pytest.raises(StoreError, match="findata db migrate"):
            await store.list_symbols()
    finally:
        await store.disconnect()


def _backend_dir(url: str) -> str:
    return "duckdb" if url.startswith("duckdb") else "postgres"
