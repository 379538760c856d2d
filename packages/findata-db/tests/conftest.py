"""Fixtures shared by the findata-db suite: the same tests run on DuckDB and PostgreSQL.

PostgreSQL comes from ``FINDATA_TEST_DATABASE_URL`` (default: the local server).
Each test session creates its own schema (dropped at the end), so parallel runs
never collide; each test starts from empty tables. When the server cannot be
reached, PostgreSQL tests fail under ``CI=true`` and are skipped loudly otherwise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import numpy as np
import pyarrow as pa
import pytest

from findata.db import DuckDBStore, MigratableStore, PostgresStore

DEFAULT_TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
BACKENDS = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
UTC_US = pa.timestamp("us", tz="UTC")

BarsFactory = Callable[..., pa.Table]


def database_url_for_tests() -> str:
    return os.environ.get("FINDATA_TEST_DATABASE_URL", DEFAULT_TEST_DATABASE_URL)


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=5)


def _unreachable(reason: str) -> None:
    message = f"PostgreSQL at FINDATA_TEST_DATABASE_URL is unreachable: {reason}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(f"!!! SKIPPED: {message}")


@pytest.fixture(scope="session")
def postgres_schema_url() -> Iterator[Callable[[], str]]:
    """A factory of URLs naming fresh schemas; every schema is dropped at session end."""
    base = database_url_for_tests()
    created: list[str] = []

    def new_schema_url() -> str:
        name = f"findata_test_{uuid.uuid4().hex[:12]}"

        async def create() -> None:
            connection = await _admin(base)
            try:
                await connection.execute(f'CREATE SCHEMA "{name}"')
            finally:
                await connection.close()

        try:
            asyncio.run(create())
        except (OSError, asyncpg.PostgresError) as error:
            _unreachable(str(error))
        created.append(name)
        separator = "&" if "?" in base else "?"
        return f"{base}{separator}schema={name}"

    yield new_schema_url

    async def drop() -> None:
        connection = await _admin(base)
        try:
            for name in created:
                await connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        finally:
            await connection.close()

    if created:
        asyncio.run(drop())


@pytest.fixture(scope="session")
def postgres_url(postgres_schema_url: Callable[[], str]) -> str:
    """One migrated schema for this session's PostgreSQL store tests."""
    url = postgres_schema_url()

    async def migrate() -> None:
        store = PostgresStore(url)
        await store.connect()
        try:
            await store.migrate()
        finally:
            await store.disconnect()

    asyncio.run(migrate())
    return url


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database that exists but was never migrated."""
    if backend == "duckdb":
        return f"duckdb://{tmp_path / 'unmigrated.duckdb'}"
    factory: Callable[[], str] = request.getfixturevalue("postgres_schema_url")
    return factory()


@pytest.fixture
def store_url(backend: str, request: pytest.FixtureRequest) -> str:
    """The URL of the store of ``backend`` (migrated and emptied by ``store``).

    DuckDB runs in memory here, which keeps the suite fast; the file-specific
    behaviour (per-operation opening, locks, version file) has its own tests.
    """
    if backend == "duckdb":
        return "duckdb:///:memory:"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def store(backend: str, store_url: str) -> AsyncIterator[MigratableStore]:
    """A connected, migrated and empty store of each backend."""
    opened: MigratableStore
    if backend == "duckdb":
        opened = DuckDBStore.from_url(store_url)
        await opened.connect()
        await opened.migrate()
    else:
        opened = PostgresStore(store_url)
        await opened.connect()
        connection = await _admin(database_url_for_tests())
        try:
            schema = store_url.rpartition("schema=")[2]
            await connection.execute(
                f'TRUNCATE "{schema}".bar_chunks, "{schema}".symbols, "{schema}".splits, '
                f'"{schema}".dividends RESTART IDENTITY'
            )
        finally:
            await connection.close()
    yield opened
    await opened.disconnect()


def _bars(
    symbol: str = "AAA",
    days: int = 5,
    *,
    start: dt.datetime = dt.datetime(2024, 1, 2, 5, tzinfo=dt.UTC),
    step: dt.timedelta = dt.timedelta(days=1),
    base: float = 100.0,
    volume: int = 1_000,
    vwap: bool = False,
    trade_count: bool = False,
) -> pa.Table:
    """``days`` consistent bars of ``symbol`` from ``start`` every ``step``."""
    index = np.arange(days, dtype=np.float64)
    opens = base + index
    closes = opens + 0.5
    columns: dict[str, object] = {
        "symbol": pa.array([symbol] * days, pa.string()),
        "timestamp": pa.array([start + step * i for i in range(days)], UTC_US),
        "open": opens,
        "high": closes + 1.0,
        "low": opens - 1.0,
        "close": closes,
        "volume": pa.array([volume + i for i in range(days)], pa.int64()),
    }
    if vwap:
        columns["vwap"] = opens + 0.25
    if trade_count:
        columns["trade_count"] = pa.array([10 + i for i in range(days)], pa.int64())
    return pa.table(columns)


@pytest.fixture
def make_bars() -> BarsFactory:
    """Build consistent bar tables: ``make_bars("AAA", 5, start=..., step=...)``."""
    return _bars


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """Write a file under the test's temporary folder and return its path."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path

    return write
