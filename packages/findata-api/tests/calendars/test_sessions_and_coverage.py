"""session=regular on bar endpoints, and GET /stocks/coverage/{symbol}.

Every expected value is worked out by hand from the fixture bars (conftest.py) and
New York's and London's published trading hours.
"""

from __future__ import annotations

import datetime as dt

import pytest
from quart.testing import QuartClient

ALL_MINUTES = "/stocks/time-series/MIN?limit=10000"


def _by_day(rows: list[dict[str, object]]) -> dict[str, list[str]]:
    days: dict[str, list[str]] = {}
    for row in rows:
        stamp = str(row["timestamp"])
        days.setdefault(stamp[:10], []).append(stamp)
    return days


async def test_regular_keeps_exactly_the_regular_minutes_of_each_session(
    calendar_client: QuartClient,
) -> None:
    # GIVEN minute bars from 04:00 to 19:59 on sessions, a holiday and a Saturday
    # WHEN the stored bars are asked for with session=regular, and without
    regular = await (await calendar_client.get(f"{ALL_MINUTES}&session=regular")).get_json()
    everything = await (await calendar_client.get(ALL_MINUTES)).get_json()

    # THEN 09:30-15:59 remain (to 12:59 the day after Thanksgiving, 10:00-10:09 of
    # 11-27 being missing), nothing of the holiday or the weekend, offsets across DST
    days = _by_day(regular)
    assert sorted(days) == ["2023-11-22", "2023-11-24", "2023-11-27", "2024-03-08", "2024-03-11"]
    counts = {day: len(stamps) for day, stamps in days.items()}
    assert counts == {
        "2023-11-22": 390,
        "2023-11-24": 210,
        "2023-11-27": 380,
        "2024-03-08": 390,
        "2024-03-11": 390,
    }
    assert (days["2023-11-24"][0], days["2023-11-24"][-1]) == (
        "2023-11-24T09:30:00-05:00",
        "2023-11-24T12:59:00-05:00",
    )
    assert (days["2024-03-08"][0], days["2024-03-08"][-1]) == (
        "2024-03-08T09:30:00-05:00",
        "2024-03-08T15:59:00-05:00",
    )
    assert (days["2024-03-11"][0], days["2024-03-11"][-1]) == (
        "2024-03-11T09:30:00-04:00",
        "2024-03-11T15:59:00-04:00",
    )
    assert len(everything) == 7 * 960 - 10


async def test_regular_filters_before_resampling(calendar_client: QuartClient) -> None:
    # GIVEN volume 1 per minute bar and every price the bar's wall time (15:59 -> 1559)
    # WHEN weekly and daily bars are asked for with and without session=regular
    base = "/stocks/time-series/MIN?interval=1"
    weekly_all = await (await calendar_client.get(f"{base}&frequency=Weekly")).get_json()
    weekly_regular = await (
        await calendar_client.get(f"{base}&frequency=Weekly&session=REGULAR")
    ).get_json()
    daily_regular = await (
        await calendar_client.get(f"{base}&frequency=Daily&session=regular&end=2023-11-27")
    ).get_json()

    # THEN regular weeks count only regular minutes, and each day opens at 09:30 and
    # closes with its last regular minute
    assert [row["volume"] for row in weekly_all] == [4 * 960, 950, 960, 960]
    assert [row["volume"] for row in weekly_regular] == [390 + 210, 380, 390, 390]
    assert [(row["period_start"], row["open"], row["close"]) for row in daily_regular] == [
        ("2023-11-22", 930.0, 1559.0),
        ("2023-11-24", 930.0, 1259.0),
        ("2023-11-27", 930.0, 1559.0),
    ]


async def test_indicators_take_session_too(calendar_client: QuartClient) -> None:
    # GIVEN daily closes of the regular session (15:59, or 12:59 on the early close)
    # WHEN a two-period SMA of daily closes is asked for, regular and all
    query = "/stocks/indicators/MIN?name=SMA&window=2&frequency=Daily&end=2023-11-24"
    regular = await (await calendar_client.get(f"{query}&session=regular")).get_json()
    everything = await (await calendar_client.get(query)).get_json()

    # THEN regular averages 11-22's and 11-24's regular closes (no 11-23 session bars),
    # all averages the 19:59 closes of 11-22, 11-23 and 11-24
    assert [row["sma"] for row in regular] == [(1559.0 + 1259.0) / 2]
    assert [row["sma"] for row in everything] == [1959.0, 1959.0]


async def test_daily_symbols_are_unchanged_by_regular(calendar_client: QuartClient) -> None:
    # WHEN a daily symbol is asked for with session=regular, and without
    regular_response = await calendar_client.get("/stocks/time-series/GAPS?session=regular")
    regular = await regular_response.get_json()
    everything = await (await calendar_client.get("/stocks/time-series/GAPS")).get_json()

    # THEN the answers are the same
    assert regular == everything
    assert len(regular) == 19


async def test_an_unknown_session_is_a_400_naming_it(calendar_client: QuartClient) -> None:
    # WHEN session is neither all nor regular
    response = await calendar_client.get("/stocks/time-series/MIN?session=extended")

    # THEN 400 names it
    assert response.status_code == 400
    assert (await response.get_json())["parameter"] == "session"


async def test_coverage_of_a_daily_series_lists_exactly_the_removed_sessions(
    calendar_client: QuartClient,
) -> None:
    # GIVEN GAPS: every January 2024 session but two
    # WHEN its coverage is asked for (default range: first to last bar)
    response = await calendar_client.get("/stocks/coverage/GAPS")
    body = await response.get_json()

    # THEN the 21 sessions from 01-02 to 01-31 are expected, the two removed are missing
    assert response.status_code == 200
    assert body == {
        "symbol": "GAPS",
        "exchange": "XNAS",
        "bar_kind": "daily",
        "bar_interval_seconds": 86400,
        "start": "2024-01-02",
        "end": "2024-01-31",
        "expected_sessions": 21,
        "sessions_with_bars": 19,
        "missing_sessions": ["2024-01-10", "2024-01-19"],
        "bars_outside_sessions": 0,
        "partial_sessions": [],
    }


async def test_coverage_of_minute_bars_counts_partial_sessions_and_bars_outside(
    calendar_client: QuartClient,
) -> None:
    # GIVEN MIN over Monday 11-20 to Tuesday 11-28: bars on 11-22 .. 11-27 only
    # WHEN its coverage is asked for
    body = await (
        await calendar_client.get("/stocks/coverage/MIN?start=2023-11-20&end=2023-11-28")
    ).get_json()

    # THEN 6 sessions (not Thanksgiving, not the weekend), 3 missing, 11-27 partial; of
    # the 4 * 960 + 950 bars of those days, 390 + 210 + 380 are inside sessions
    assert body["bar_kind"] == "intraday"
    assert body["bar_interval_seconds"] == 60
    assert (body["expected_sessions"], body["sessions_with_bars"]) == (6, 3)
    assert body["missing_sessions"] == ["2023-11-20", "2023-11-21", "2023-11-28"]
    assert body["partial_sessions"] == [{"date": "2023-11-27", "expected_bars": 390, "bars": 380}]
    assert body["bars_outside_sessions"] == 4 * 960 + 950 - (390 + 210 + 380)


async def test_coverage_expects_bars_of_the_symbols_own_length(
    calendar_client: QuartClient,
) -> None:
    # GIVEN HALF's 30-minute bars: 12 on 11-22 (no 15:30 bar), 7 on the early close
    # WHEN its coverage is asked for
    body = await (await calendar_client.get("/stocks/coverage/HALF")).get_json()

    # THEN a session of 6.5 hours expects 13 bars, the early close's 3.5 hours 7
    assert body["bar_interval_seconds"] == 30 * 60
    assert (body["start"], body["end"]) == ("2023-11-22", "2023-11-24")
    assert (body["expected_sessions"], body["sessions_with_bars"]) == (2, 2)
    assert body["partial_sessions"] == [{"date": "2023-11-22", "expected_bars": 13, "bars": 12}]
    assert body["bars_outside_sessions"] == 0


async def test_coverage_follows_the_symbols_own_exchange(calendar_client: QuartClient) -> None:
    # GIVEN VOD on XLON with bars on 12-22, the two Christmas holidays and 12-27
    # WHEN its coverage over the week is asked for
    body = await (
        await calendar_client.get("/stocks/coverage/VOD?start=2023-12-22&end=2023-12-29")
    ).get_json()

    # THEN London's four sessions are expected, two missing, the holiday bars outside
    assert (body["exchange"], body["expected_sessions"], body["sessions_with_bars"]) == (
        "XLON",
        4,
        2,
    )
    assert body["missing_sessions"] == ["2023-12-28", "2023-12-29"]
    assert body["bars_outside_sessions"] == 2


async def test_coverage_as_csv_has_a_row_per_missing_or_partial_session(
    calendar_client: QuartClient,
) -> None:
    # WHEN the minute coverage is asked for as CSV
    response = await calendar_client.get(
        "/stocks/coverage/MIN?start=2023-11-20&end=2023-11-28&format=csv"
    )

    # THEN one row per problem session, in date order
    assert response.content_type.startswith("text/csv")
    assert (await response.get_data()).decode().splitlines() == [
        "symbol,exchange,date,status,expected_bars,bars",
        "MIN,XNYS,2023-11-20,missing,,0",
        "MIN,XNYS,2023-11-21,missing,,0",
        "MIN,XNYS,2023-11-27,partial,390,380",
        "MIN,XNYS,2023-11-28,missing,,0",
    ]


async def test_a_reversed_coverage_range_expects_no_session(calendar_client: QuartClient) -> None:
    # WHEN start is after end
    body = await (
        await calendar_client.get("/stocks/coverage/GAPS?start=2024-02-01&end=2024-01-01")
    ).get_json()

    # THEN nothing is expected and nothing is missing
    assert (body["expected_sessions"], body["missing_sessions"]) == (0, [])


@pytest.mark.parametrize(
    ("path", "status", "parameter"),
    [
        ("/stocks/coverage/GAPS?start=2024-1-1", 400, "start"),
        ("/stocks/coverage/GAPS?end=yesterday", 400, "end"),
        ("/stocks/coverage/GAPS?format=arrow", 400, "format"),
        ("/stocks/coverage/GAPS?session=regular", 400, "session"),
        ("/stocks/coverage/NOPE", 404, None),
    ],
)
async def test_bad_coverage_requests_are_problems(
    calendar_client: QuartClient, path: str, status: int, parameter: str | None
) -> None:
    # WHEN the request is malformed or names an unknown symbol
    response = await calendar_client.get(path)

    # THEN a problem with the right status, naming the parameter
    assert response.status_code == status
    assert response.content_type.startswith("application/problem+json")
    assert (await response.get_json()).get("parameter") == parameter


async def test_the_symbol_list_shows_each_exchange(calendar_client: QuartClient) -> None:
    # WHEN the symbols are listed
    rows = await (await calendar_client.get("/stocks/symbols")).get_json()

    # THEN each carries the exchange it was stored with
    assert {row["symbol"]: row["exchange"] for row in rows} == {
        "GAPS": "XNAS",
        "HALF": "XNYS",
        "MIN": "XNYS",
        "VOD": "XLON",
    }
    assert dt.date.fromisoformat(rows[0]["first_bar"][:10])
