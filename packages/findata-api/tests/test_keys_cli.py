"""``findata keys``: the key is shown once, stored as a digest, listed and revoked by id."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import duckdb
import pytest
import redis
import redis.exceptions
from click.testing import CliRunner

from findata.api._auth import parse_key_id
from findata.api._keys_cli import keys
from findata.api._revocation import CHANNEL
from findata.db._migrations import load_migrations

REDIS_URL = os.environ.get("FINDATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A DuckDB file holding the api_keys table of migration 0002."""
    path = tmp_path / "findata.duckdb"
    (migration,) = [m for m in load_migrations("duckdb") if m.name == "api_keys"]
    with duckdb.connect(str(path)) as connection:
        connection.execute(migration.sql)
    return path


@pytest.fixture
def runner(database: Path) -> CliRunner:
    return CliRunner(env={"FINDATA_DATABASE_URL": f"duckdb://{database}", "FINDATA_ENV": "test"})


def stored_rows(database: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as connection:
        return connection.execute("SELECT * FROM api_keys").fetchall()


def test_given_a_name_when_creating_then_the_key_is_printed_once_and_only_its_digest_stored(
    runner: CliRunner, database: Path
) -> None:
    # WHEN
    result = runner.invoke(keys, ["create", "nightly backtest"])
    # THEN
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    key_id = parse_key_id(token)
    assert key_id is not None
    assert "cannot be shown again" in result.stderr
    (row,) = stored_rows(database)
    assert row[:3] == (key_id, "nightly backtest", hashlib.sha256(token.encode()).hexdigest())
    secret = token.split("_", 2)[2]  # fd_<hex id>_<secret>; the secret may hold "_" itself
    assert not any(secret in str(value) for value in row)


def test_given_keys_when_listing_then_ids_and_names_show_but_no_secret_or_digest(
    runner: CliRunner, database: Path
) -> None:
    # GIVEN
    token = runner.invoke(keys, ["create", "dashboard"]).stdout.strip()
    # WHEN
    result = runner.invoke(keys, ["list"])
    # THEN
    assert result.exit_code == 0, result.output
    key_id = parse_key_id(token)
    assert key_id is not None
    (line,) = [line for line in result.stdout.splitlines() if key_id in line]
    assert "active" in line
    assert line.endswith("dashboard")
    assert token.split("_", 2)[2] not in result.output
    assert hashlib.sha256(token.encode()).hexdigest() not in result.output


def test_given_a_key_when_revoking_by_id_then_the_list_shows_it_revoked(
    runner: CliRunner,
) -> None:
    # GIVEN
    key_id = parse_key_id(runner.invoke(keys, ["create", "leaked"]).stdout.strip())
    assert key_id is not None
    # WHEN
    result = runner.invoke(keys, ["revoke", key_id])
    # THEN
    assert result.exit_code == 0, result.output
    assert f"revoked key {key_id} (leaked)" in result.stdout
    listing = runner.invoke(keys, ["list"]).stdout
    (line,) = [line for line in listing.splitlines() if key_id in line]
    assert " revoked " in line


def test_given_no_redis_when_revoking_then_the_output_states_the_cache_bound(
    runner: CliRunner,
) -> None:
    # GIVEN
    key_id = parse_key_id(runner.invoke(keys, ["create", "leaked"]).stdout.strip())
    assert key_id is not None
    # WHEN
    result = runner.invoke(keys, ["revoke", key_id], env={"FINDATA_API_KEY_CACHE_TTL": "2.5"})
    # THEN
    assert result.exit_code == 0, result.output
    assert "stop accepting it within 2.5 s" in result.stderr


def test_given_redis_when_revoking_then_listening_servers_are_told_the_key_id(
    runner: CliRunner,
) -> None:
    # GIVEN: a subscriber standing for a serving worker
    subscriber = redis.Redis.from_url(REDIS_URL)
    try:
        subscriber.ping()
    except (redis.exceptions.ConnectionError, OSError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"SKIPPED LOUDLY: no Redis at {REDIS_URL} ({error})")
    pubsub = subscriber.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(CHANNEL)
    key_id = parse_key_id(runner.invoke(keys, ["create", "leaked"]).stdout.strip())
    assert key_id is not None
    # WHEN
    result = runner.invoke(keys, ["revoke", key_id], env={"FINDATA_REDIS_URL": REDIS_URL})
    announced: list[bytes] = []
    deadline = time.monotonic() + 5
    while key_id.encode() not in announced and time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.1)
        if message is not None:
            announced.append(message["data"])
    # THEN
    assert result.exit_code == 0, result.output
    assert key_id.encode() in announced
    assert "they stop accepting it at once" in result.stderr
    # TEARDOWN
    pubsub.close()
    subscriber.close()


def test_given_an_unreachable_redis_when_revoking_then_the_key_is_revoked_with_a_warning(
    runner: CliRunner,
) -> None:
    # GIVEN: nothing listens on port 9 (discard)
    key_id = parse_key_id(runner.invoke(keys, ["create", "leaked"]).stdout.strip())
    assert key_id is not None
    # WHEN
    result = runner.invoke(
        keys, ["revoke", key_id], env={"FINDATA_REDIS_URL": "redis://127.0.0.1:9/0"}
    )
    # THEN
    assert result.exit_code == 0, result.output
    assert f"revoked key {key_id}" in result.stdout
    assert "warning: could not announce it" in result.stderr
    assert "within 5 s" in result.stderr


def test_given_an_unknown_id_when_revoking_then_the_command_fails_naming_it(
    runner: CliRunner,
) -> None:
    # WHEN
    result = runner.invoke(keys, ["revoke", "0123456789abcdef"])
    # THEN
    assert result.exit_code == 1
    assert "no API key with id '0123456789abcdef'" in result.stderr


def test_given_an_empty_name_when_creating_then_the_command_refuses_and_stores_nothing(
    runner: CliRunner, database: Path
) -> None:
    # WHEN
    result = runner.invoke(keys, ["create", "  "])
    # THEN
    assert result.exit_code == 2
    assert "NAME" in result.stderr
    assert stored_rows(database) == []


def test_given_an_unmigrated_database_when_listing_then_the_error_says_to_migrate(
    tmp_path: Path,
) -> None:
    # GIVEN
    runner = CliRunner(env={"FINDATA_DATABASE_URL": f"duckdb://{tmp_path}/new.duckdb"})
    # WHEN
    result = runner.invoke(keys, ["list"])
    # THEN
    assert result.exit_code == 1
    assert "findata db migrate" in result.stderr
