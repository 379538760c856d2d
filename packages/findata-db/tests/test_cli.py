"""The ``db`` and ``ingest`` click groups, driven through click's CliRunner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from click.testing import CliRunner

from findata.db import open_store
from findata.db.cli import main


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli_url(store_url: str, tmp_path: Path, backend: str) -> str:
    """A DuckDB *file* (the CLI's real use) or the session's PostgreSQL schema."""
    return f"duckdb://{tmp_path / 'cli.duckdb'}" if backend == "duckdb" else store_url


def _symbols(url: str) -> list[str]:
    async def names() -> list[str]:
        store = open_store(url)
        await store.connect()
        try:
            return [info.symbol for info in await store.list_symbols()]
        finally:
            await store.disconnect()

    return asyncio.run(names())


def test_db_migrate_then_status_reports_every_migration_applied(
    runner: CliRunner, tmp_path: Path
) -> None:
    # GIVEN a DuckDB file that does not exist yet
    url = f"duckdb://{tmp_path / 'new' / 'findata.duckdb'}"

    # WHEN migrated twice and its status shown
    first = runner.invoke(main, ["db", "migrate", "--database-url", url])
    second = runner.invoke(main, ["db", "migrate", "--database-url", url])
    status = runner.invoke(main, ["db", "status", "--database-url", url])

    # THEN the first run applies 0001, the second none, status shows no pending one
    assert first.exit_code == 0, first.output
    assert "applied 0001_bars" in first.output
    assert "(0 applied now)" in second.output
    assert "0001_bars" in status.output
    assert "pending" not in status.output


def test_the_database_url_comes_from_the_environment(runner: CliRunner, tmp_path: Path) -> None:
    # GIVEN FINDATA_DATABASE_URL naming a file
    url = f"duckdb://{tmp_path / 'env.duckdb'}"

    # WHEN migrate runs without --database-url
    result = runner.invoke(main, ["db", "migrate"], env={"FINDATA_DATABASE_URL": url})

    # THEN that file was migrated
    assert result.exit_code == 0, result.output
    assert (tmp_path / "env.duckdb").exists()


@pytest.mark.usefixtures("store")
def test_ingest_csv_reports_rows_and_a_bad_file_exits_1_naming_file_and_line(
    runner: CliRunner, cli_url: str, tmp_path: Path
) -> None:
    # GIVEN a migrated store, a good file and a bad one
    assert runner.invoke(main, ["db", "migrate", "--database-url", cli_url]).exit_code == 0
    good = tmp_path / "good.csv"
    good.write_text("symbol,date,open,high,low,close,volume\nAAA,2024-01-02,1,2,0.5,1.5,7\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("symbol,date,open,high,low,close,volume\nBBB,2024-01-02,1,2,0.5,1.5,-7\n")

    # WHEN each is ingested
    ok = runner.invoke(main, ["ingest", "csv", str(good), "--database-url", cli_url])
    failed = runner.invoke(main, ["ingest", "csv", str(bad), "--database-url", cli_url])

    # THEN the good one reports its rows, the bad one exits 1 with file:line: reason
    assert ok.exit_code == 0, ok.output
    assert "1 rows (AAA)" in ok.output
    assert failed.exit_code == 1
    assert f"Error: {bad}:2: volume is negative" in failed.output
    assert _symbols(cli_url) == ["AAA"]


@pytest.mark.usefixtures("store")
def test_ingest_demo_if_empty_loads_once(runner: CliRunner, cli_url: str) -> None:
    # GIVEN a migrated, empty store
    assert runner.invoke(main, ["db", "migrate", "--database-url", cli_url]).exit_code == 0

    # WHEN `ingest demo --if-empty` runs twice
    first = runner.invoke(main, ["ingest", "demo", "--if-empty", "--database-url", cli_url])
    second = runner.invoke(main, ["ingest", "demo", "--if-empty", "--database-url", cli_url])

    # THEN the demo is loaded by the first run and skipped by the second
    assert first.exit_code == 0, first.output
    assert "rows written" in first.output
    assert "skipped" in second.output
    assert "DEMO-ALPHA" in _symbols(cli_url)


def test_an_unsupported_url_is_a_clear_error_without_its_password(runner: CliRunner) -> None:
    # GIVEN a URL of an unknown scheme holding a password
    url = "mysql://user:s3cret@host/db"

    # WHEN used / THEN the command fails naming the URL, never the password
    result = runner.invoke(main, ["db", "status", "--database-url", url])
    assert result.exit_code == 1
    assert "unsupported database URL" in result.output
    assert "s3cret" not in result.output


def test_unreachable_postgres_is_reported_without_the_password(runner: CliRunner) -> None:
    # GIVEN a PostgreSQL URL on a port where nothing listens, with a password
    url = "postgresql://user:p%40ss@127.0.0.1:9/db"

    # WHEN migrate runs / THEN it fails promptly, saying so, without the password
    result = runner.invoke(main, ["db", "migrate", "--database-url", url])
    assert result.exit_code == 1
    assert "cannot connect to postgresql://user:***@127.0.0.1:9/db" in result.output
    assert "p%40ss" not in result.output
    assert "p@ss" not in result.output


@pytest.mark.postgres
def test_db_migrate_takes_the_password_secret_like_the_service_does(
    runner: CliRunner, postgres_url: str, tmp_path: Path
) -> None:
    # GIVEN the deployment's split configuration: a URL without password, the password in a
    # mounted secret file (the test server trusts local connections, so any password works)
    secret = tmp_path / "db-password"
    secret.write_text("correct horse@battery\n", encoding="utf-8")
    env = {"FINDATA_DATABASE_URL": postgres_url, "FINDATA_DATABASE_PASSWORD_FILE": str(secret)}

    # WHEN migrate runs with no --database-url
    result = runner.invoke(main, ["db", "migrate"], env=env)

    # THEN it connected with the password filled in, and printed it only redacted
    assert result.exit_code == 0, result.output
    assert ":***@" in result.output
    assert "horse" not in result.output
