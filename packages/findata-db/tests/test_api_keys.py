"""Key stores keep digests, never keys, and behave the same on every backend."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import duckdb
import pytest

from findata.db import (
    ApiKeyRecord,
    DuckDBKeyStore,
    DuckDBStore,
    DuplicateApiKeyError,
    KeyStore,
    KeyStoreUnavailableError,
    MemoryKeyStore,
    PostgresKeyStore,
    open_key_store,
)
from findata.db._migrations import load_migrations

PG_URL = os.environ.get("FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
T0 = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def make_record(n: int, *, created: dt.datetime = T0) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=f"{n:016x}",
        name=f"client {n}",
        digest=f"{n:064x}",
        created_at=created,
    )


def api_keys_migration(backend: str) -> str:
    (migration,) = [m for m in load_migrations(backend) if m.name == "api_keys"]
    return migration.sql


async def pg_or_skip() -> None:
    """Fail under CI when PostgreSQL is unreachable, skip loudly elsewhere."""
    try:
        connection = await asyncpg.connect(PG_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL at FINDATA_TEST_DATABASE_URL is required in CI: {error}")
        pytest.skip(f"SKIPPED LOUDLY: no PostgreSQL at FINDATA_TEST_DATABASE_URL ({error})")
    await connection.close()


@pytest.fixture
async def duckdb_store(tmp_path: Path) -> AsyncIterator[DuckDBKeyStore]:
    path = tmp_path / "keys.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(api_keys_migration("duckdb"))
    store = DuckDBKeyStore(path)
    yield store
    await store.aclose()


@pytest.fixture
async def postgres_store() -> AsyncIterator[PostgresKeyStore]:
    """A store on a schema of its own in the test database, dropped afterwards."""
    await pg_or_skip()
    schema = f"keys_test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f"CREATE SCHEMA {schema}")
    await admin.execute(f"SET search_path TO {schema}; {api_keys_migration('postgres')}")
    separator = "&" if "?" in PG_URL else "?"
    store = PostgresKeyStore(f"{PG_URL}{separator}search_path={schema}")
    yield store
    await store.aclose()
    await admin.execute(f"DROP SCHEMA {schema} CASCADE")
    await admin.close()


@pytest.fixture(params=["memory", "duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def key_store(request: pytest.FixtureRequest) -> KeyStore:
    if request.param == "memory":
        return MemoryKeyStore()
    store: KeyStore = request.getfixturevalue(f"{request.param}_store")
    return store


async def test_given_an_added_key_when_reading_it_back_then_every_field_survives(
    key_store: KeyStore,
) -> None:
    # GIVEN
    record = make_record(1)
    # WHEN
    await key_store.add_key(record)
    found = await key_store.get_key(record.key_id)
    # THEN
    assert found == record
    assert found is not None
    assert found.created_at.tzinfo is not None


async def test_given_a_taken_id_when_adding_again_then_a_typed_error_is_raised(
    key_store: KeyStore,
) -> None:
    # GIVEN
    await key_store.add_key(make_record(1))
    # WHEN / THEN
    with pytest.raises(DuplicateApiKeyError, match="0000000000000001"):
        await key_store.add_key(dataclasses.replace(make_record(1), name="other"))
    # THEN: the first key is untouched
    assert (await key_store.get_key(make_record(1).key_id)) == make_record(1)


async def test_given_several_keys_when_listing_then_oldest_come_first(
    key_store: KeyStore,
) -> None:
    # GIVEN
    newer = make_record(2, created=T0 + dt.timedelta(hours=1))
    older = make_record(3, created=T0)
    await key_store.add_key(newer)
    await key_store.add_key(older)
    # WHEN
    listed = await key_store.list_keys()
    # THEN
    assert listed == [older, newer]


async def test_given_a_key_when_revoking_twice_then_the_first_revocation_time_is_kept(
    key_store: KeyStore,
) -> None:
    # GIVEN
    record = make_record(4)
    await key_store.add_key(record)
    # WHEN
    first = await key_store.revoke_key(record.key_id, T0 + dt.timedelta(days=1))
    second = await key_store.revoke_key(record.key_id, T0 + dt.timedelta(days=2))
    # THEN
    assert first == dataclasses.replace(record, revoked_at=T0 + dt.timedelta(days=1))
    assert second == first
    assert first is not None
    assert not first.active


async def test_given_an_unknown_id_when_reading_or_revoking_then_none(key_store: KeyStore) -> None:
    # WHEN
    found = await key_store.get_key("ffffffffffffffff")
    revoked = await key_store.revoke_key("ffffffffffffffff", T0)
    # THEN
    assert found is None
    assert revoked is None


async def test_given_an_unmigrated_duckdb_file_when_used_then_the_error_says_to_migrate(
    tmp_path: Path,
) -> None:
    # GIVEN
    store = DuckDBKeyStore(tmp_path / "empty.duckdb")
    # WHEN
    with pytest.raises(KeyStoreUnavailableError, match="findata db migrate"):
        await store.list_keys()
    # TEARDOWN
    await store.aclose()


@pytest.fixture
def locked_duckdb(duckdb_store: DuckDBKeyStore) -> Iterator[Path]:
    """The key store's file, held read-write by another process for the test's duration."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
            "sys.stdin.read()",
            str(duckdb_store.path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    yield duckdb_store.path
    holder.communicate("")


async def test_given_a_duckdb_file_locked_by_a_writer_when_reading_then_it_waits_then_says_so(
    locked_duckdb: Path,
) -> None:
    # GIVEN
    store = DuckDBKeyStore(locked_duckdb, lock_timeout=0.3)
    # WHEN
    with pytest.raises(KeyStoreUnavailableError, match="locked by another process") as caught:
        await store.list_keys()
    # THEN
    assert str(locked_duckdb) in str(caught.value)


async def test_given_an_unreachable_postgres_when_used_then_the_store_is_unavailable() -> None:
    # GIVEN: a port nothing listens on (the discard port)
    store = PostgresKeyStore("postgresql://nobody:pw@127.0.0.1:9/none", timeout=2)
    # WHEN
    with pytest.raises(KeyStoreUnavailableError) as caught:
        await store.get_key("0000000000000001")
    # THEN: the message does not leak the URL's password
    assert "pw" not in str(caught.value)
    # TEARDOWN
    await store.aclose()


def test_given_database_urls_when_opening_key_stores_then_the_backend_follows_the_scheme(
    tmp_path: Path,
) -> None:
    # WHEN
    on_postgres = open_key_store("postgresql://u@h:5432/d")
    on_duckdb = open_key_store(f"duckdb://{tmp_path}/bars.duckdb")
    # THEN
    assert isinstance(on_postgres, PostgresKeyStore)
    assert isinstance(on_duckdb, DuckDBKeyStore)
    assert on_duckdb.path == tmp_path / "bars.duckdb"


async def _served_file(path: Path) -> DuckDBStore:
    """A migrated bar store that has read, holding its file attached for a minute."""
    bars = DuckDBStore(path, hold_idle=60.0)
    await bars.connect()
    await bars.migrate()
    await bars.list_symbols()
    return bars


async def test_given_a_server_holding_its_read_connection_when_adding_a_key_then_the_reader_lets_go(
    tmp_path: Path,
) -> None:
    # GIVEN a bar store that read once and holds the file attached read-only for a minute
    path = tmp_path / "served.duckdb"
    bars = await _served_file(path)
    keys = DuckDBKeyStore(path, lock_timeout=10.0)
    try:
        # WHEN a key is written (DuckDB refuses a writer while the file is attached)
        await keys.add_key(make_record(7))
        # THEN the key store's write let go of the attachment instead of waiting out its
        # idle time, and the key reads back
        assert await keys.get_key(make_record(7).key_id) == make_record(7)
    finally:
        # TEARDOWN
        await keys.aclose()
        await bars.disconnect()


async def test_given_a_server_holding_the_file_when_reading_keys_then_no_second_attachment(
    tmp_path: Path,
) -> None:
    # GIVEN a bar store that read once and holds the file attached, and its key store
    path = tmp_path / "served.duckdb"
    bars = await _served_file(path)
    keys = DuckDBKeyStore(path)
    await keys.add_key(make_record(1))
    await bars.read_bars(["ANY"])  # the key write let go of the file: attach it again
    usage = bars.pool_usage()
    assert usage is not None
    assert usage.open == 1
    attached = bars.read_counts().attaches
    try:
        # WHEN a key is looked up, as every authenticated request does
        found = await keys.get_key(make_record(1).key_id)
        # THEN it was read through the attachment the bar store holds
        assert found == make_record(1)
        assert bars.read_counts().attaches == attached
    finally:
        # TEARDOWN
        await keys.aclose()
        await bars.disconnect()


async def test_given_a_url_lock_timeout_when_the_file_is_locked_then_the_key_store_waits_that_long(
    locked_duckdb: Path,
) -> None:
    # GIVEN the key store of a URL asking to wait 0.2 s for a lock
    store = open_key_store(f"duckdb:///{locked_duckdb}?lock_timeout=0.2")
    # WHEN the file stays locked by a writer
    with pytest.raises(KeyStoreUnavailableError) as caught:
        await store.list_keys()
    # THEN it gave up after the URL's timeout, naming the file
    assert "after 0.2 s" in str(caught.value)
    assert str(locked_duckdb) in str(caught.value)
    # TEARDOWN
    await store.aclose()
