"""GET /stocks/time-series/{symbol}: the existing clients' call, stored bars, ranges, order, paging.

Every expected row below is worked out by hand from ACME_DAILY / INTRA_15MIN in conftest.py.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from quart.testing import QuartClient

ROW_KEYS = ["symbol", "period_start", "open", "high", "low", "close", "volume"]


def period(
    symbol: str, start: str, o: float, h: float, lo: float, c: float, v: int
) -> dict[str, Any]:
    return dict(zip(ROW_KEYS, [symbol, start, o, h, lo, c, v], strict=True))


async def test_given_daily_bars_when_an_existing_client_asks_for_years_then_it_gets_its_shape(
    client: QuartClient,
) -> None:
    # GIVEN ACME's six daily bars over 2020-12-30 .. 2022-01-03 (conftest.ACME_DAILY)
    # WHEN the call existing clients make
    response = await client.get(
        "/stocks/time-series/ACME", query_string={"interval": "1", "frequency": "Annual"}
    )
    # THEN a plain JSON array, one object per year, exactly these keys, in time order
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body = await response.get_json()
    assert body == [
        period("ACME", "2020-01-01", 10.0, 13.0, 9.0, 12.0, 300),
        period("ACME", "2021-01-01", 12.0, 15.0, 7.0, 10.0, 1200),
        period("ACME", "2022-01-01", 10.0, 11.0, 9.5, 10.5, 600),
    ]
    assert all(list(row) == ROW_KEYS for row in body)


async def test_given_daily_bars_when_asking_for_6_month_periods_then_they_count_from_january(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/ACME?interval=6&frequency=monthly")
    # THEN half-years start in January and July; the empty half-year is omitted
    assert await response.get_json() == [
        period("ACME", "2020-07-01", 10.0, 13.0, 9.0, 12.0, 300),
        period("ACME", "2021-01-01", 12.0, 15.0, 8.0, 9.0, 700),
        period("ACME", "2021-07-01", 9.0, 10.0, 7.0, 10.0, 500),
        period("ACME", "2022-01-01", 10.0, 11.0, 9.5, 10.5, 600),
    ]


async def test_given_frequency_alone_when_asking_then_interval_defaults_to_1(
    client: QuartClient,
) -> None:
    # WHEN
    alone = await client.get("/stocks/time-series/ACME?frequency=ANNUAL")
    explicit = await client.get("/stocks/time-series/ACME?frequency=Annual&interval=1")
    # THEN
    assert alone.status_code == 200
    assert await alone.get_json() == await explicit.get_json()


async def test_given_daily_bars_when_asking_without_frequency_then_stored_bars_come_keyed_by_date(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/ACME?limit=2")
    # THEN
    assert await response.get_json() == [
        {"symbol": "ACME", "date": "2020-12-30", "open": 10.0, "high": 12.0, "low": 9.0,
         "close": 11.0, "volume": 100},
        {"symbol": "ACME", "date": "2020-12-31", "open": 11.0, "high": 13.0, "low": 10.0,
         "close": 12.0, "volume": 200},
    ]  # fmt: skip


async def test_given_intraday_bars_when_asking_without_frequency_then_timestamps_carry_the_offset(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/INTRA")
    # THEN bars are in New York time: EST before the 2021-03-14 change, EDT after
    body = await response.get_json()
    assert [row["timestamp"] for row in body] == [
        "2021-03-12T09:30:00-05:00",
        "2021-03-12T09:45:00-05:00",
        "2021-03-12T10:00:00-05:00",
        "2021-03-15T09:30:00-04:00",
        "2021-03-15T10:15:00-04:00",
    ]
    assert body[0] == {"symbol": "INTRA", "timestamp": "2021-03-12T09:30:00-05:00", "open": 50.0,
                       "high": 51.0, "low": 49.5, "close": 50.5, "volume": 10}  # fmt: skip


async def test_given_intraday_bars_when_asking_for_hourly_bars_then_periods_follow_the_wall_clock(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/INTRA?frequency=Hourly")
    # THEN
    assert await response.get_json() == [
        period("INTRA", "2021-03-12T09:00:00-05:00", 50.0, 52.0, 49.5, 51.5, 30),
        period("INTRA", "2021-03-12T10:00:00-05:00", 51.5, 51.75, 50.25, 50.75, 30),
        period("INTRA", "2021-03-15T09:00:00-04:00", 60.0, 61.0, 59.0, 60.5, 40),
        period("INTRA", "2021-03-15T10:00:00-04:00", 60.5, 63.0, 60.0, 62.0, 50),
    ]


async def test_given_intraday_bars_when_asking_for_daily_bars_then_days_are_local_dates(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/INTRA?frequency=Daily")
    # THEN
    assert await response.get_json() == [
        period("INTRA", "2021-03-12", 50.0, 52.0, 49.5, 50.75, 60),
        period("INTRA", "2021-03-15", 60.0, 63.0, 59.0, 62.0, 90),
    ]


@pytest.mark.parametrize(
    ("query", "expected_starts"),
    [
        ("start=2021-03-01", ["2021-01-01", "2022-01-01"]),  # the period holding start counts
        ("end=2021-01-01", ["2020-01-01", "2021-01-01"]),
        ("start=2021-03-01&end=2021-12-31", ["2021-01-01"]),
        ("start=2021-06-15T12:00:00-04:00&end=2021-06-15", ["2021-01-01"]),
        ("start=2023-01-01", []),
    ],
)
async def test_given_a_range_when_resampling_then_whole_periods_overlapping_it_are_returned(
    client: QuartClient, query: str, expected_starts: list[str]
) -> None:
    # WHEN
    response = await client.get(f"/stocks/time-series/ACME?frequency=Annual&{query}")
    # THEN
    body = await response.get_json()
    assert [row["period_start"] for row in body] == expected_starts
    if "2021-01-01" in expected_starts:  # a range never changes a period's values
        assert body[expected_starts.index("2021-01-01")]["volume"] == 1200


async def test_given_a_range_of_dates_when_reading_stored_bars_then_both_ends_are_inclusive(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/ACME?start=2020-12-31&end=2021-06-15")
    # THEN
    assert [row["date"] for row in await response.get_json()] == [
        "2020-12-31",
        "2021-01-04",
        "2021-06-15",
    ]


async def test_given_sort_desc_when_asking_then_the_newest_period_comes_first(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/ACME?frequency=Annual&sort=desc")
    # THEN
    assert [row["period_start"] for row in await response.get_json()] == [
        "2022-01-01",
        "2021-01-01",
        "2020-01-01",
    ]


_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


async def walk(client: QuartClient, url: str) -> tuple[list[dict[str, Any]], int]:
    """Follow the ``Link: rel="next"`` headers from ``url`` to the end; rows and page count."""
    rows: list[dict[str, Any]] = []
    pages = 0
    next_url: str | None = url
    while next_url is not None:
        response = await client.get(next_url)
        assert response.status_code == 200
        rows.extend(await response.get_json())
        pages += 1
        link = response.headers.get("Link")
        match = _NEXT.search(link) if link else None
        next_url = match.group(1) if match else None
    return rows, pages


@pytest.mark.parametrize("sort", ["asc", "desc"])
async def test_given_250_bars_when_walking_pages_of_37_then_every_bar_comes_once_in_order(
    client: QuartClient, sort: str
) -> None:
    # GIVEN WALK: 250 consecutive days from 2020-01-01 (conftest.walk_rows)
    import datetime as dt

    expected = [(dt.date(2020, 1, 1) + dt.timedelta(days=day)).isoformat() for day in range(250)]
    if sort == "desc":
        expected.reverse()
    # WHEN
    rows, pages = await walk(client, f"/stocks/time-series/WALK?limit=37&sort={sort}")
    # THEN 7 pages (6 x 37 + 28), no bar twice, none missing, in order
    assert pages == 7
    assert [row["date"] for row in rows] == expected


async def test_given_an_exact_multiple_when_paging_then_the_last_full_page_has_no_next_link(
    client: QuartClient,
) -> None:
    # WHEN 250 bars in pages of 125
    rows, pages = await walk(client, "/stocks/time-series/WALK?limit=125")
    # THEN
    assert (len(rows), pages) == (250, 2)


async def test_given_a_resampled_series_when_paging_then_the_cursor_walks_periods(
    client: QuartClient,
) -> None:
    # WHEN WALK's months (2020-01 .. 2020-09) in pages of 2
    rows, pages = await walk(client, "/stocks/time-series/WALK?frequency=Monthly&limit=2")
    # THEN
    assert [row["period_start"] for row in rows] == [f"2020-{m:02d}-01" for m in range(1, 10)]
    assert pages == 5


@pytest.mark.parametrize(
    "query",
    [
        "start=2022-01-01&end=2021-01-01",
        "frequency=Annual&start=2021-06-15&end=2021-06-01",  # both in 2021: still empty
        "start=9999-12-31",
        "end=0001-01-01",
    ],
)
async def test_given_a_range_holding_no_bar_when_asking_then_the_answer_is_an_empty_array(
    client: QuartClient, query: str
) -> None:
    # WHEN start is after end, or the range lies beyond ACME's bars
    response = await client.get(f"/stocks/time-series/ACME?{query}")
    # THEN nothing lies in it: 200 and [] (a well-formed request is never refused, ADR 0023)
    assert response.status_code == 200
    assert await response.get_json() == []


@pytest.mark.parametrize(
    "query",
    [
        "end=9999-12-31",
        "start=0001-01-01&end=9999-12-31",
        "start=0001-01-01T00:00:00%2B23:59&end=9999-12-31T23:59:59.999999-23:59",
        "interval=100000&frequency=Monthly&start=1969-12-31",
        "interval=100000&frequency=Annual&start=0001-01-01",
        "interval=100000&frequency=Daily&end=9999-12-31",
        "interval=100000&frequency=Weekly&start=0001-01-01&end=9999-12-31",
    ],
)
async def test_given_the_ends_of_the_calendar_when_asking_then_every_acme_bar_comes_back(
    client: QuartClient, query: str
) -> None:
    # GIVEN ACME's bars (2020-12-30 .. 2022-01-03) and ranges reaching years 1 and 9999
    # WHEN
    response = await client.get(f"/stocks/time-series/ACME?{query}")
    # THEN 200; and since 1970-01-01 starts a period of any of these lengths, one period
    # holds them all, or all six stored bars come back
    assert response.status_code == 200
    body = await response.get_json()
    assert sum(row["volume"] for row in body) == 100 + 200 + 300 + 400 + 500 + 600


async def test_given_daily_bars_when_asking_for_hours_then_409_names_the_frequency(
    client: QuartClient,
) -> None:
    # WHEN a well-formed request that ACME's daily bars cannot answer
    response = await client.get("/stocks/time-series/ACME?frequency=Hourly")
    # THEN a conflict with the symbol's data, naming the parameter and what would do
    assert response.status_code == 409
    assert response.content_type == "application/problem+json"
    body = await response.get_json()
    assert body["parameter"] == "frequency"
    assert body["allowed"] == ["Daily", "Weekly", "Monthly", "Quarterly", "Annual"]


async def test_given_a_cursor_when_asking_then_it_is_the_last_rows_position(
    client: QuartClient,
) -> None:
    # GIVEN the first page of two of ACME's stored bars
    first = await client.get("/stocks/time-series/ACME?limit=2")
    link = first.headers["Link"]
    # WHEN the next link's cursor is read
    cursor = re.search(r"cursor=(-?[0-9]+)", link)
    # THEN it is the second bar's date (2020-12-31) in days since 1970-01-01
    assert cursor is not None
    assert int(cursor.group(1)) == 18627
