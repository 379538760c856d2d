"""GET /stocks/symbols: what the store holds, per symbol."""

from __future__ import annotations

from quart.testing import QuartClient


async def test_given_three_symbols_when_listing_then_each_comes_with_its_range_and_metadata(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/symbols")
    # THEN
    assert response.status_code == 200
    body = {row["symbol"]: row for row in await response.get_json()}
    assert sorted(body) == ["ACME", "INTRA", "WALK"]
    acme = body["ACME"]
    # 2020-12-30 and 2022-01-03 at midnight in New York (EST, UTC-5)
    assert acme["first_bar"] == "2020-12-30T05:00:00+00:00"
    assert acme["last_bar"] == "2022-01-03T05:00:00+00:00"
    assert acme["bar_count"] == 6
    assert acme["timezone"] == "America/New_York"
    assert acme["source"] == "test"
    assert acme["bar_kind"] == "daily"
    assert body["INTRA"]["bar_kind"] == "intraday"
    assert body["WALK"]["bar_count"] == 250


async def test_given_symbols_when_listing_as_csv_then_the_same_symbols_come(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/symbols?format=csv")
    # THEN
    lines = (await response.get_data()).decode().splitlines()
    assert lines[0] == (
        "symbol,first_bar,last_bar,bar_count,timezone,source,bar_kind,has_splits,has_dividends"
    )
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["ACME", "INTRA", "WALK"]


async def test_given_a_parameter_when_listing_symbols_then_unknown_ones_are_refused(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/symbols?limit=1")
    # THEN
    assert response.status_code == 400
    assert (await response.get_json())["parameter"] == "limit"
