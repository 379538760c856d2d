"""Every error is RFC 9457 problem+json naming what is wrong; no input produces a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api.testing import MemoryStore

PROBLEM = "application/problem+json"
SERIES = "/stocks/time-series/ACME"
INDICATOR = "/stocks/indicators/ACME"


async def problem_of(response: Any) -> dict[str, Any]:
    assert response.content_type == PROBLEM
    body: dict[str, Any] = await response.get_json()
    assert body["status"] == response.status_code
    assert body["title"]
    return body


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        (f"{SERIES}?frequency=Fortnightly", "frequency"),
        (f"{SERIES}?interval=0&frequency=Daily", "interval"),
        (f"{SERIES}?interval=-3&frequency=Daily", "interval"),
        (f"{SERIES}?interval=1.5&frequency=Daily", "interval"),
        (f"{SERIES}?interval=abc&frequency=Daily", "interval"),
        (f"{SERIES}?interval=99999999999999999999999999&frequency=Daily", "interval"),
        (f"{SERIES}?interval=1", "interval"),  # interval without frequency
        (f"{SERIES}?start=2021-02-30", "start"),
        (f"{SERIES}?start=2021-02-29", "start"),  # not a leap year
        (f"{SERIES}?end=yesterday", "end"),
        (f"{SERIES}?start=99999-01-01", "start"),
        (f"{SERIES}?start=0000-12-31", "start"),
        (f"{SERIES}?start=2021-01-04%2009:30", "start"),  # a space instead of T
        (f"{SERIES}?end=2021-01-04T09:30%2B05", "end"),  # an offset without minutes
        (f"{SERIES}?limit=0", "limit"),
        (f"{SERIES}?limit=50001", "limit"),
        (f"{SERIES}?limit=ten", "limit"),
        (f"{SERIES}?sort=sideways", "sort"),
        (f"{SERIES}?cursor=not-a-cursor", "cursor"),
        (f"{SERIES}?cursor=", "cursor"),
        (f"{SERIES}?format=xml", "format"),
        (f"{SERIES}?frequency=Daily&frequency=Weekly", "frequency"),
        (f"{SERIES}?colour=blue", "colour"),
        (f"{INDICATOR}", "name"),
        (f"{INDICATOR}?name=ichimoku", "name"),
        (f"{INDICATOR}?name=sma&window=1", "window"),
        (f"{INDICATOR}?name=sma&window=x", "window"),
        (f"{INDICATOR}?name=sma&series=volume", "series"),
        (f"{INDICATOR}?name=macd&window=5", "window"),
        (f"{INDICATOR}?name=atr&series=open", "series"),  # atr takes no series
        (f"{INDICATOR}?name=bbands&stddev=-1", "stddev"),
        (f"{INDICATOR}?name=rsi&frequency=Yearly", "frequency"),
    ],
)
async def test_given_an_invalid_parameter_when_requesting_then_400_names_it(
    client: QuartClient, url: str, parameter: str
) -> None:
    # WHEN
    response = await client.get(url)
    # THEN
    assert response.status_code == 400
    body = await problem_of(response)
    assert body["parameter"] == parameter
    assert body["detail"]


async def test_given_an_unknown_frequency_when_requesting_then_the_allowed_values_are_listed(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(f"{SERIES}?frequency=Fortnightly")
    # THEN
    body = await problem_of(response)
    assert body["allowed"] == [
        "Minute", "Hourly", "Daily", "Weekly", "Monthly", "Quarterly", "Annual"
    ]  # fmt: skip


async def test_given_unknown_parameters_when_requesting_then_all_are_named(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(f"{SERIES}?colour=blue&frequncy=Daily")
    # THEN
    body = await problem_of(response)
    assert body["unknown"] == ["colour", "frequncy"]
    assert "frequency" in body["allowed"]


@pytest.mark.parametrize(
    "url", [SERIES.replace("ACME", "NOPE"), INDICATOR.replace("ACME", "NOPE") + "?name=sma"]
)
async def test_given_an_unknown_symbol_when_requesting_then_404(
    client: QuartClient, url: str
) -> None:
    # WHEN
    response = await client.get(url)
    # THEN
    assert response.status_code == 404
    assert (await problem_of(response))["symbol"] == "NOPE"


async def test_given_an_unknown_path_when_requesting_then_404_problem_not_html(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/nothing-here")
    # THEN
    assert response.status_code == 404
    await problem_of(response)


async def test_given_a_post_when_the_route_only_reads_then_405_lists_allowed_methods(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.post(SERIES, json={"open": 1})
    # THEN
    assert response.status_code == 405
    await problem_of(response)
    assert "GET" in response.headers["Allow"]


async def test_given_an_unacceptable_accept_header_when_requesting_then_406(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(SERIES, headers={"Accept": "image/png"})
    # THEN
    assert response.status_code == 406
    assert "application/json" in (await problem_of(response))["available"]


@pytest.fixture
async def outage_client(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> AsyncIterator[QuartClient]:
    async with make_app(memory_store, store_retry_after=0).test_app() as serving:
        yield serving.test_client()


@pytest.mark.parametrize("url", [SERIES, f"{INDICATOR}?name=sma", "/stocks/symbols", "/_readiness"])
async def test_given_the_store_goes_down_when_requesting_then_503_with_retry_after_then_recovery(
    outage_client: QuartClient, memory_store: MemoryStore, url: str
) -> None:
    # GIVEN the store answered once, then goes down
    assert (await outage_client.get(url)).status_code == 200
    memory_store.available = False
    # WHEN
    down = await outage_client.get(url)
    memory_store.available = True
    back = await outage_client.get(url)
    # THEN
    assert down.status_code == 503
    assert down.headers["Retry-After"] == "0"
    assert "memory store" not in (await problem_of(down))["detail"]
    assert back.status_code == 200


HOSTILE_SYMBOLS = [
    "ACME'; DROP TABLE bars; --",
    'ACME" OR 1=1 --',
    "%27%20OR%20%271%27%3D%271",
    "ÅCME\u202e",
    "A" * 64,
    "🚀",
    "..%2F..%2Fetc%2Fpasswd",
]


@pytest.mark.parametrize("symbol", HOSTILE_SYMBOLS)
async def test_given_a_hostile_symbol_when_requesting_then_404_and_stored_data_is_unchanged(
    client: QuartClient, symbol: str
) -> None:
    # GIVEN
    before = await (await client.get("/stocks/symbols")).get_json()
    # WHEN
    response = await client.get(f"/stocks/time-series/{symbol}?frequency=Daily")
    # THEN
    assert response.status_code == 404
    await problem_of(response)
    assert await (await client.get("/stocks/symbols")).get_json() == before


@pytest.mark.parametrize("symbol", ["A" * 65, "AC%00ME", "AC%07ME"])
async def test_given_a_malformed_symbol_when_requesting_then_400_names_the_symbol(
    client: QuartClient, symbol: str
) -> None:
    # WHEN
    response = await client.get(f"/stocks/time-series/{symbol}")
    # THEN
    assert response.status_code == 400
    assert (await problem_of(response))["parameter"] == "symbol"


async def test_given_ten_thousand_parameters_when_requesting_then_400_without_echoing_them_all(
    client: QuartClient,
) -> None:
    # GIVEN
    query = "&".join(f"p{index}={index}" for index in range(10_000))
    # WHEN
    response = await client.get(f"{SERIES}?{query}")
    # THEN
    assert response.status_code == 400
    body = await problem_of(response)
    assert len(body["unknown"]) == 20
    assert "9980 more" in body["detail"]


@pytest.mark.parametrize(
    "query",
    [
        "interval=1e308&frequency=Daily",
        "limit=1e400",
        "start=0001-01-01&end=9999-12-31",
        "start=%D9%A1%D9%A9%D9%A7%D9%A0-01-01",  # Arabic-Indic digits
        "cursor=" + "A" * 5000,
        "frequency=%00",
        "sort=%F0%9F%9A%80",
    ],
)
async def test_given_hostile_values_when_requesting_then_never_a_500(
    client: QuartClient, query: str
) -> None:
    # WHEN
    response = await client.get(f"{SERIES}?{query}")
    # THEN a client error or a valid answer, always in a documented media type
    assert response.status_code in (200, 400)
    assert response.content_type in ("application/json", PROBLEM)
