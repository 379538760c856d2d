"""Fixtures of the calendar tests: hand-made bars on exchange calendars, in every store.

- ``MIN`` (XNYS): one-minute bars from 04:00 to 19:59 New York, volume 1 each and every
  price the bar's wall time as a number (15:59 -> 1559), on Wednesday 2023-11-22,
  Thanksgiving (a holiday), the day after (early close 13:00), Saturday 2023-11-25,
  Monday 2023-11-27 (missing 10:00-10:09), and around the 2024-03-10 DST change
  (Friday 03-08, Monday 03-11).
- ``GAPS`` (XNAS): daily bars on every XNYS session of January 2024 (weekdays but
  New Year's Day and Martin Luther King Jr. Day) except 01-10 and 01-19.
- ``HALF`` (XNYS): 30-minute bars 09:30-15:00 on 2023-11-22 (the 15:30 bar missing) and
  09:30-12:30 on the early close 2023-11-24.
- ``VOD`` (XLON, Europe/London): daily bars on 2023-12-22, 12-25, 12-26 (both London
  holidays) and 12-27.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
import zoneinfo
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

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
LONDON = zoneinfo.ZoneInfo("Europe/London")
MINUTE_DAYS = ("2023-11-22", "2023-11-23", "2023-11-24", "2023-11-25", "2023-11-27",
               "2024-03-08", "2024-03-11")  # fmt: skip
MISSING_MINUTES = {dt.datetime(2023, 11, 27, 10, minute) for minute in range(10)}
JANUARY_2024_SESSIONS = [
    dt.date(2024, 1, day)
    for day in range(1, 32)
    if dt.date(2024, 1, day).weekday() < 5 and day not in (1, 15)
]
REMOVED_SESSIONS = [dt.date(2024, 1, 10), dt.date(2024, 1, 19)]
VOD_DATES = [dt.date(2023, 12, 22), dt.date(2023, 12, 25), dt.date(2023, 12, 26),
             dt.date(2023, 12, 27)]  # fmt: skip
POSTGRES_URL = os.environ.get(
    "FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _table(symbol: str, stamps: list[dt.datetime], prices: list[float]) -> pa.Table:
    return pa.table(
        {
            "symbol": [symbol] * len(stamps),
            "timestamp": pa.array(
                [stamp.astimezone(dt.UTC) for stamp in stamps], pa.timestamp("us", tz="UTC")
            ),
            "open": prices,
            "high": prices,
            "low": prices,
            "close": prices,
            "volume": pa.array([1] * len(stamps), pa.int64()),
        },
        schema=BAR_SCHEMA,
    )


def minute_bars() -> pa.Table:
    walls = [
        dt.datetime.fromisoformat(day) + dt.timedelta(hours=4, minutes=minute)
        for day in MINUTE_DAYS
        for minute in range(16 * 60)
    ]
    walls = [wall for wall in walls if wall not in MISSING_MINUTES]
    return _table(
        "MIN",
        [wall.replace(tzinfo=NEW_YORK) for wall in walls],
        [float(wall.hour * 100 + wall.minute) for wall in walls],
    )


def gap_bars() -> pa.Table:
    days = [day for day in JANUARY_2024_SESSIONS if day not in REMOVED_SESSIONS]
    stamps = [dt.datetime.combine(day, dt.time(), NEW_YORK) for day in days]
    return _table("GAPS", stamps, [float(day.day) for day in days])


def half_hour_bars() -> pa.Table:
    walls = [
        dt.datetime(2023, 11, 22, 9, 30) + dt.timedelta(minutes=30 * step) for step in range(12)
    ] + [dt.datetime(2023, 11, 24, 9, 30) + dt.timedelta(minutes=30 * step) for step in range(7)]
    return _table("HALF", [wall.replace(tzinfo=NEW_YORK) for wall in walls], [1.0] * len(walls))


def vod_bars() -> pa.Table:
    stamps = [dt.datetime.combine(day, dt.time(), LONDON) for day in VOD_DATES]
    return _table("VOD", stamps, [float(day.day) for day in VOD_DATES])


async def seed(store: Store) -> None:
    await store.write_bars(
        minute_bars(), source="test", timezone="America/New_York", bar_kind=BarKind.INTRADAY
    )
    await store.write_bars(
        half_hour_bars(), source="test", timezone="America/New_York", bar_kind=BarKind.INTRADAY
    )
    await store.write_bars(
        gap_bars(),
        source="test",
        timezone="America/New_York",
        bar_kind=BarKind.DAILY,
        exchanges={"GAPS": "XNAS"},
    )
    await store.write_bars(
        vod_bars(),
        source="test",
        timezone="Europe/London",
        bar_kind=BarKind.DAILY,
        exchanges={"VOD": "XLON"},
    )


@pytest.fixture(scope="session")
def calendar_duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"duckdb://{tmp_path_factory.mktemp('calendars') / 'calendars.duckdb'}"
    run_sync(seed_database(url, seed))
    return url


@pytest.fixture(scope="session")
def calendar_postgres_url() -> Iterator[str]:
    """A fresh database of its own (dropped afterwards): parallel runs never collide."""
    import asyncpg

    name = f"findata_calendars_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    try:
        run_sync(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL at {redact_url(POSTGRES_URL)} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"SKIPPING POSTGRES CALENDAR TESTS -- {message}")
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        run_sync(seed_database(url, seed))
        yield url
    finally:
        run_sync(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["memory", "duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def calendar_store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        memory = MemoryStore()
        run_sync(seed(memory))
        return memory
    return open_store(request.getfixturevalue(f"calendar_{request.param}_url"))


@pytest.fixture
def calendar_app(calendar_store: Store) -> Quart:
    return create_app({"env": "test"}, store=calendar_store)


@pytest.fixture
async def calendar_client(calendar_app: Quart) -> AsyncIterator[QuartClient]:
    async with calendar_app.test_app() as serving:
        yield serving.test_client()
