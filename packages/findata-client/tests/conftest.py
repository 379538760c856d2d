"""A real ``findata serve`` over each store, holding hand-made bars the tests know by heart.

``WALK``: 250 consecutive daily bars from 2020-01-01 (open 100 + day, close 100.5 + day,
volume 1000 + day), enough for several pages. ``MINUTE``: two sessions of 1-minute bars
(390 a day, 09:30-15:59 New York), close 50 + minute / 100. The DuckDB store is a file;
the PostgreSQL store is a schema of its own on the test server, dropped at the end.
Every test here starts processes: the modules are marked ``system``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import uuid
import zoneinfo
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import asyncpg
import httpx
import pyarrow as pa
import pytest

from findata.api.testing import ServedProcess, serve_process
from findata.core import BAR_SCHEMA
from findata.db import ActionStore, BarKind, open_store

NEW_YORK: Final = zoneinfo.ZoneInfo("America/New_York")
POSTGRES_URL: Final = os.environ.get(
    "FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
WALK_DAYS: Final = 250
FIRST_DAY: Final = dt.date(2020, 1, 1)
SESSION_MINUTES: Final = 390
MINUTE_DAYS: Final = (dt.date(2024, 3, 7), dt.date(2024, 3, 8))
# WALK's corporate actions: a 1-for-2 split ex day 121 (2020-05-01), a 1.0 dividend ex
# day 60 (2020-03-01; the close before it, day 59's, is 159.5).
WALK_SPLIT: Final = (dt.date(2020, 5, 1), 1.0, 2.0)
WALK_DIVIDEND: Final = (dt.date(2020, 3, 1), 1.0)


def walk_bars() -> pa.Table:
    days = [FIRST_DAY + dt.timedelta(days=day) for day in range(WALK_DAYS)]
    opens = [100.0 + day for day in range(WALK_DAYS)]
    return pa.table(
        {
            "symbol": ["WALK"] * WALK_DAYS,
            "timestamp": [dt.datetime.combine(day, dt.time(), NEW_YORK) for day in days],
            "open": opens,
            "high": [price + 1.0 for price in opens],
            "low": [price - 1.0 for price in opens],
            "close": [price + 0.5 for price in opens],
            "volume": [1_000 + day for day in range(WALK_DAYS)],
        },
        schema=BAR_SCHEMA,
    )


def minute_bars() -> pa.Table:
    stamps = [
        dt.datetime.combine(day, dt.time(9, 30), NEW_YORK) + dt.timedelta(minutes=minute)
        for day in MINUTE_DAYS
        for minute in range(SESSION_MINUTES)
    ]
    closes = [50.0 + index / 100 for index in range(len(stamps))]
    return pa.table(
        {
            "symbol": ["MINUTE"] * len(stamps),
            "timestamp": stamps,
            "open": closes,
            "high": [price + 0.05 for price in closes],
            "low": [price - 0.05 for price in closes],
            "close": closes,
            "volume": [10] * len(stamps),
        },
        schema=BAR_SCHEMA,
    )


async def seed(url: str) -> None:
    store = open_store(url)
    await store.connect()
    try:
        await store.migrate()
        await store.write_bars(
            walk_bars(), source="test", timezone="America/New_York", bar_kind=BarKind.DAILY
        )
        await store.write_bars(
            minute_bars(), source="test", timezone="America/New_York", bar_kind=BarKind.INTRADAY
        )
        assert isinstance(store, ActionStore)
        await store.write_actions(
            pa.table(
                {
                    "symbol": ["WALK"],
                    "ex_date": [WALK_SPLIT[0]],
                    "split_from": [WALK_SPLIT[1]],
                    "split_to": [WALK_SPLIT[2]],
                }
            ),
            pa.table(
                {
                    "symbol": ["WALK"],
                    "ex_date": [WALK_DIVIDEND[0]],
                    "cash_amount": [WALK_DIVIDEND[1]],
                }
            ),
        )
    finally:
        await store.disconnect()


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def require_postgres() -> None:
    """Fail under CI, skip loudly elsewhere, when the test PostgreSQL cannot be reached."""
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError) as error:
        message = f"PostgreSQL at FINDATA_TEST_DATABASE_URL is unreachable: {error}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(f"!!! SKIPPED: {message}")


@pytest.fixture(scope="session")
def logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("serve-logs")


@pytest.fixture(scope="session")
def new_duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> Callable[[], str]:
    """Make a DuckDB file holding the fixture bars; its URL."""

    def make() -> str:
        url = f"duckdb://{tmp_path_factory.mktemp('client-duckdb') / 'bars.duckdb'}"
        asyncio.run(seed(url))
        return url

    return make


@pytest.fixture(scope="session")
def duckdb_url(new_duckdb_url: Callable[[], str]) -> str:
    return new_duckdb_url()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    require_postgres()
    schema = f"findata_client_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{separator}schema={schema}"
    try:
        asyncio.run(seed(url))
        yield url
    finally:
        asyncio.run(_admin(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


ServerFactory = Callable[..., ServedProcess]


@pytest.fixture(scope="session")
def serve(logs: Path) -> Iterator[ServerFactory]:
    """Start servers on demand (``serve(url, FINDATA_X="...")``); all stopped at the end."""
    started: list[ServedProcess] = []

    def start(database_url: str, **settings: str) -> ServedProcess:
        served = serve_process(database_url, logs, settings=settings)
        started.append(served)
        return served

    yield start
    for served in started:
        served.stop()


@pytest.fixture(
    scope="session", params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(request: pytest.FixtureRequest, serve: ServerFactory) -> ServedProcess:
    """One server per store, shared by every test that only reads."""
    return serve(request.getfixturevalue(f"{request.param}_url"))


class Recorder:
    """An httpx response hook keeping (status, URL, local port) of every answer, so tests
    can see the requests a client made: pages, retries, connections."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, str, int]] = []

    def __call__(self, response: httpx.Response) -> None:
        stream = response.extensions["network_stream"]
        port: int = stream.get_extra_info("client_addr")[1]
        self.seen.append((response.status_code, str(response.url), port))

    async def on_response(self, response: httpx.Response) -> None:
        self(response)

    @property
    def statuses(self) -> list[int]:
        return [status for status, _, _ in self.seen]

    @property
    def ports(self) -> set[int]:
        return {port for _, _, port in self.seen}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def json_rows(base_url: str, path: str, params: dict[str, str]) -> list[dict[str, object]]:
    """What the server answers in JSON, every page: the reference the Arrow results must match."""
    rows: list[dict[str, object]] = []
    url: str | None = f"{base_url}{path}"
    with httpx.Client() as plain:
        response = plain.get(url, params=params)
        while True:
            assert response.status_code == 200, response.text
            rows.extend(response.json())
            url = response.links.get("next", {}).get("url")
            if url is None:
                return rows
            response = plain.get(f"{base_url}{url}")


def jsonable(table: pa.Table) -> list[dict[str, object]]:
    """Arrow rows as the JSON format writes them: dates and instants in ISO 8601."""
    return [
        {key: value.isoformat() if isinstance(value, dt.date) else value for key, value in pairs}
        for pairs in (row.items() for row in table.to_pylist())
    ]


@pytest.fixture(scope="session")
def reference() -> Callable[..., list[dict[str, object]]]:
    return json_rows


@pytest.fixture(scope="session")
def as_json() -> Callable[[pa.Table], list[dict[str, object]]]:
    return jsonable
