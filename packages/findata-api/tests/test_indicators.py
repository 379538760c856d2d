"""GET /stocks/indicators/{symbol}: values worked out by hand, warm-up, every indicator's fields."""

from __future__ import annotations

import pytest
from quart.testing import QuartClient

from findata.core import INDICATORS

# ACME closes (conftest.ACME_DAILY): 11, 12, 14, 9, 10, 10.5; volumes 100 .. 600.


async def test_given_daily_bars_when_asking_for_a_3_bar_sma_then_undefined_bars_are_left_out(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/ACME?name=sma&window=3")
    # THEN
    body = await response.get_json()
    assert [row["period_start"] for row in body] == [
        "2021-01-04",
        "2021-06-15",
        "2021-12-31",
        "2022-01-03",
    ]
    assert [row["sma"] for row in body] == pytest.approx(
        [(11 + 12 + 14) / 3, (12 + 14 + 9) / 3, (14 + 9 + 10) / 3, (9 + 10 + 10.5) / 3]
    )
    assert list(body[0]) == ["symbol", "period_start", "sma"]


async def test_given_annual_periods_when_asking_for_a_2_period_sma_then_it_uses_period_closes(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/ACME?name=SMA&window=2&frequency=Annual")
    # THEN annual closes are 12 (2020), 10 (2021), 10.5 (2022)
    assert await response.get_json() == [
        {"symbol": "ACME", "period_start": "2021-01-01", "sma": 11.0},
        {"symbol": "ACME", "period_start": "2022-01-01", "sma": 10.25},
    ]


async def test_given_a_start_when_computing_then_values_use_the_history_before_it(
    client: QuartClient,
) -> None:
    # WHEN
    ranged = await client.get("/stocks/indicators/ACME?name=sma&window=3&start=2021-12-31")
    # THEN the first value in range still averages the two bars before it
    assert await ranged.get_json() == [
        {"symbol": "ACME", "period_start": "2021-12-31", "sma": pytest.approx(11.0)},
        {"symbol": "ACME", "period_start": "2022-01-03", "sma": pytest.approx(29.5 / 3)},
    ]


async def test_given_obv_when_computing_then_volume_adds_on_up_closes_and_subtracts_on_down(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/ACME?name=obv")
    # THEN (TA-Lib starts from the first bar's volume)
    assert [row["obv"] for row in await response.get_json()] == [
        100, 300, 600, 200, 700, 1300
    ]  # fmt: skip


async def test_given_the_series_parameter_when_computing_then_that_price_is_used(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/ACME?name=sma&window=6&series=high")
    # THEN ACME highs: 12, 13, 15, 14.5, 10, 11
    assert [row["sma"] for row in await response.get_json()] == pytest.approx([75.5 / 6])


@pytest.mark.parametrize("name", sorted(INDICATORS))
async def test_given_any_indicator_when_computing_with_defaults_then_its_fields_come_back(
    client: QuartClient, name: str
) -> None:
    # WHEN 250 daily WALK bars, TA-Lib's default parameters
    response = await client.get(f"/stocks/indicators/WALK?name={name}")
    # THEN
    assert response.status_code == 200
    body = await response.get_json()
    assert body
    assert list(body[0]) == ["symbol", "period_start", *INDICATORS[name].outputs]
    assert all(value is not None for row in body for value in row.values())


async def test_given_intraday_bars_when_computing_vwap_then_it_restarts_each_session(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/INTRA?name=vwap")
    # THEN the first bar of each day is its own typical price (h + l + c) / 3
    body = await response.get_json()
    assert body[0]["period_start"] == "2021-03-12T09:30:00-05:00"
    assert body[0]["vwap"] == pytest.approx((51.0 + 49.5 + 50.5) / 3)
    assert body[3]["period_start"] == "2021-03-15T09:30:00-04:00"
    assert body[3]["vwap"] == pytest.approx((61.0 + 59.0 + 60.5) / 3)


async def test_given_pages_when_walking_indicator_values_then_the_link_continues_them(
    client: QuartClient,
) -> None:
    # WHEN
    first = await client.get("/stocks/indicators/WALK?name=ema&window=10&limit=100")
    # THEN 250 bars - 9 undefined = 241 values: a next link after the first 100
    assert len(await first.get_json()) == 100
    assert 'rel="next"' in first.headers["Link"]


async def test_given_macd_with_slow_shorter_than_fast_when_computing_then_they_swap_as_in_talib(
    client: QuartClient,
) -> None:
    # WHEN the same periods are given both ways round (TA-Lib swaps them)
    swapped = await client.get("/stocks/indicators/WALK?name=macd&fast=20&slow=5&signal=3")
    ordered = await client.get("/stocks/indicators/WALK?name=macd&fast=5&slow=20&signal=3")
    # THEN
    assert swapped.status_code == 200
    assert await swapped.get_json() == await ordered.get_json()


async def test_given_daily_bars_when_asking_an_indicator_of_minutes_then_409_names_frequency(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/indicators/ACME?name=sma&frequency=Minute")
    # THEN
    assert response.status_code == 409
    assert (await response.get_json())["parameter"] == "frequency"


@pytest.mark.parametrize(
    "query",
    [
        "interval=100000&frequency=Monthly&start=1969-12-31",
        "interval=100000&frequency=Annual&start=0001-01-01&end=9999-12-31",
        "start=0001-01-01T00:00:00%2B23:59",
    ],
)
async def test_given_the_ends_of_the_calendar_when_asking_an_indicator_then_200(
    client: QuartClient, query: str
) -> None:
    # WHEN (these crashed the range code with a 500)
    response = await client.get(f"/stocks/indicators/ACME?name=obv&{query}")
    # THEN
    assert response.status_code == 200
    assert await response.get_json() != []
