"""Fixtures: hand-made bars in each store, served through Quart's test client.

``ACME`` (daily) and ``INTRA`` (15-minute bars around a DST change) are small enough
that every expected answer in the tests is worked out by hand from the tables below.
The ``store`` fixture runs each API test against the in-memory test double, the
embedded DuckDB store and PostgreSQL (``FINDATA_TEST_DATABASE_URL``).
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any, TypeVar

import pyarrow as pa
import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api import create_app
from findata.api.testing import MemoryStore, run_sync, seed_database
from findata.core import BAR_SCHEMA
from findata.db import BarKind, Store, open_store, redact_url

T = TypeVar("T")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")

# symbol, local date, open, high, low, close, volume
ACME_DAILY: list[tuple[str, str, float, float, float, float, int]] = [
    ("ACME", "2020-12-30", 10.0, 12.0, 9.0, 11.0, 100),
    ("ACME", "2020-12-31", 11.0, 13.0, 10.0, 12.0, 200),
    ("ACME", "2021-01-04", 12.0, 15.0, 11.0, 14.0, 300),
    ("ACME", "2021-06-15", 14.0, 14.5, 8.0, 9.0, 400),
    ("ACME", "2021-12-31", 9.0, 10.0, 7.0, 10.0, 500),
    ("ACME", "2022-01-03", 10.0, 11.0, 9.5, 10.5, 600),
]
# symbol, local wall time (New York), open, high, low, close, volume; 2021-03-14 is the DST change.
INTRA_15MIN: list[tuple[str, str, float, float, float, float, int]] = [
    ("INTRA", "2021-03-12T09:30", 50.0, 51.0, 49.5, 50.5, 10),
    ("INTRA", "2021-03-12T09:45", 50.5, 52.0, 50.0, 51.5, 20),
    ("INTRA", "2021-03-12T10:00", 51.5, 51.75, 50.25, 50.75, 30),
    ("INTRA", "2021-03-15T09:30", 60.0, 61.0, 59.0, 60.5, 40),
    ("INTRA", "2021-03-15T10:15", 60.5, 63.0, 60.0, 62.0, 50),
]


def bars_table(rows: Iterable[tuple[str, str, float, float, float, float, int]]) -> pa.Table:
    """Bars in BAR_SCHEMA from (symbol, local date or wall time, o, h, l, c, v) rows."""
    rows = list(rows)
    stamps = [
        dt.datetime.fromisoformat(row[1]).replace(tzinfo=NEW_YORK).astimezone(dt.UTC)
        for row in rows
    ]
    return pa.table(
        {
            "symbol": [row[0] for row in rows],
            "timestamp": pa.array(stamps, pa.timestamp("us", tz="UTC")),
            "open": [row[2] for row in rows],
            "high": [row[3] for row in rows],
            "low": [row[4] for row in rows],
            "close": [row[5] for row in rows],
            "volume": pa.array([row[6] for row in rows], pa.int64()),
        },
        schema=BAR_SCHEMA,
    )


def walk_rows(count: int = 250) -> list[tuple[str, str, float, float, float, float, int]]:
    """``count`` consecutive daily bars of WALK with distinct closes (for paging tests)."""
    first = dt.date(2020, 1, 1)
    return [
        (
            "WALK",
            (first + dt.timedelta(days=day)).isoformat(),
            100.0 + day,
            101.0 + day,
            99.0 + day,
            100.5 + day,
            1_000 + day,
        )
        for day in range(count)
    ]


async def seed(store: Store) -> None:
    """Write the fixture symbols into ``store`` (connected)."""
    await store.write_bars(
        bars_table(ACME_DAILY), source="test", timezone="America/New_York", bar_kind=BarKind.DAILY
    )
    await store.write_bars(
        bars_table(walk_rows()), source="test", timezone="America/New_York", bar_kind=BarKind.DAILY
    )
    await store.write_bars(
        bars_table(INTRA_15MIN),
        source="test",
        timezone="America/New_York",
        bar_kind=BarKind.INTRADAY,
    )


POSTGRES_URL = os.environ.get(
    "FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("FINDATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> str:
    """The test Redis (``FINDATA_TEST_REDIS_URL``): fails under CI when it does not answer,
    skips loudly elsewhere. Tests keep to keys (prefixes, client addresses) of their own."""
    import redis.asyncio
    import redis.exceptions

    probe = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (redis.exceptions.ConnectionError, OSError) as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis at {REDIS_URL} is required in CI: {error}")
        pytest.skip(f"SKIPPED LOUDLY: no Redis at {REDIS_URL} ({error})")
    finally:
        await probe.aclose()
    return REDIS_URL


@pytest.fixture(scope="session")
def duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB file seeded once per session; the API tests only read it."""
    url = f"duckdb://{tmp_path_factory.mktemp('duckdb') / 'api.duckdb'}"
    run_sync(seed_database(url, seed))
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database seeded once per session, dropped afterwards."""
    import asyncpg

    name = f"findata_api_test_{uuid.uuid4().hex[:12]}"
    admin_url = POSTGRES_URL

    async def create() -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin_url, timeout=5)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    try:
        run_sync(create())
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {redact_url(admin_url)} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"SKIPPING POSTGRES API TESTS -- {message}")
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        run_sync(seed_database(url, seed))
        yield url
    finally:
        run_sync(drop())


@pytest.fixture(
    params=[
        "memory",
        "duckdb",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def store(request: pytest.FixtureRequest) -> Store:
    """A store holding the fixture symbols; the app connects it when serving starts."""
    if request.param == "memory":
        memory = MemoryStore()
        run_sync(seed(memory))
        return memory
    url = request.getfixturevalue(f"{request.param}_url")
    return open_store(url)


@pytest.fixture
def memory_store() -> MemoryStore:
    """An in-memory store with the fixture symbols, for tests that write or switch it off."""
    memory = MemoryStore()
    run_sync(seed(memory))
    return memory


@pytest.fixture
def make_app() -> Callable[..., Quart]:
    def build(store: Store, **overrides: Any) -> Quart:
        return create_app({"env": "test", **overrides}, store=store)

    return build


@pytest.fixture
def app(store: Store, make_app: Callable[..., Quart]) -> Quart:
    return make_app(store)


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[QuartClient]:
    # test_app() runs the serving lifecycle (before_serving/after_serving), so the
    # store is connected exactly as under Hypercorn.
    async with app.test_app() as serving:
        yield serving.test_client()
