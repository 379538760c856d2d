"""GET /stocks/calendar and /stocks/clock: exchange sessions from exchange_calendars."""

from __future__ import annotations

import datetime as dt

import exchange_calendars
import pytest
from quart.testing import QuartClient

CALENDAR = "/stocks/calendar"


async def test_the_calendar_lists_each_session_with_its_hours_in_the_exchanges_offset(
    calendar_client: QuartClient,
) -> None:
    # GIVEN New York's sessions around Thanksgiving 2023 and the 2024 DST change
    # WHEN asked for them
    thanksgiving = await calendar_client.get(
        "/stocks/calendar?exchange=XNYS&start=2023-11-22&end=2023-11-27"
    )
    spring = await calendar_client.get("/stocks/calendar?start=2024-03-08&end=2024-03-11")

    # THEN the holiday and the weekend have no row, the day after closes at 13:00, and the
    # offset follows daylight saving time
    assert thanksgiving.status_code == 200
    rows = await thanksgiving.get_json()
    assert [(row["date"], row["open"], row["close"], row["early_close"]) for row in rows] == [
        ("2023-11-22", "2023-11-22T09:30:00-05:00", "2023-11-22T16:00:00-05:00", False),
        ("2023-11-24", "2023-11-24T09:30:00-05:00", "2023-11-24T13:00:00-05:00", True),
        ("2023-11-27", "2023-11-27T09:30:00-05:00", "2023-11-27T16:00:00-05:00", False),
    ]
    assert {row["exchange"] for row in rows} == {"XNYS"}
    assert {row["break_start"] for row in rows} == {None}
    assert [(row["date"], row["open"]) for row in await spring.get_json()] == [
        ("2024-03-08", "2024-03-08T09:30:00-05:00"),
        ("2024-03-11", "2024-03-11T09:30:00-04:00"),
    ]


async def test_london_has_its_own_zone_holidays_and_early_closes(
    calendar_client: QuartClient,
) -> None:
    # GIVEN London's Christmas week 2023 and a summer day
    # WHEN asked for them (lower-case MIC)
    winter = await calendar_client.get(f"{CALENDAR}?exchange=xlon&start=2023-12-22&end=2023-12-29")
    summer = await calendar_client.get(f"{CALENDAR}?exchange=XLON&start=2024-07-01&end=2024-07-01")

    # THEN Christmas and Boxing Day are holidays, 12-22 and 12-29 close at 12:30 (GMT),
    # and summer hours carry BST's offset
    assert [(row["date"], row["close"], row["early_close"]) for row in await winter.get_json()] == [
        ("2023-12-22", "2023-12-22T12:30:00+00:00", True),
        ("2023-12-27", "2023-12-27T16:30:00+00:00", False),
        ("2023-12-28", "2023-12-28T16:30:00+00:00", False),
        ("2023-12-29", "2023-12-29T12:30:00+00:00", True),
    ]
    assert [(row["exchange"], row["open"], row["close"]) for row in await summer.get_json()] == [
        ("XLON", "2024-07-01T08:00:00+01:00", "2024-07-01T16:30:00+01:00")
    ]


async def test_hong_kong_sessions_carry_their_lunch_break(calendar_client: QuartClient) -> None:
    # GIVEN a Hong Kong trading day (lunch 12:00-13:00)
    # WHEN asked for it
    query = "exchange=XHKG&start=2024-07-02&end=2024-07-02"
    response = await calendar_client.get(f"{CALENDAR}?{query}")

    # THEN the break is given in Hong Kong time
    (row,) = await response.get_json()
    assert (row["break_start"], row["break_end"]) == (
        "2024-07-02T12:00:00+08:00",
        "2024-07-02T13:00:00+08:00",
    )


@pytest.mark.parametrize("exchange", ["XNYS", "XLON", "XTKS"])
async def test_the_calendar_agrees_with_exchange_calendars_over_a_year(
    calendar_client: QuartClient, exchange: str
) -> None:
    # GIVEN the library's own sessions for 2024
    library = exchange_calendars.get_calendar(exchange, start="2023-12-01", end="2025-01-31")
    expected = [
        (session.date().isoformat(), library.session_close(session).isoformat())
        for session in library.sessions_in_range("2024-01-01", "2024-12-31")
    ]

    # WHEN the endpoint is asked for the same year, as CSV
    response = await calendar_client.get(
        f"/stocks/calendar?exchange={exchange}&start=2024-01-01&end=2024-12-31&format=csv"
    )

    # THEN every session and its close (as an instant) agree
    lines = (await response.get_data()).decode().splitlines()
    header = lines[0].split(",")
    rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
    got = [
        (row["date"], dt.datetime.fromisoformat(row["close"]).astimezone(dt.UTC).isoformat())
        for row in rows
    ]
    assert got == expected


async def test_the_calendar_defaults_to_the_current_year(calendar_client: QuartClient) -> None:
    # WHEN asked without a range
    rows = await (await calendar_client.get("/stocks/calendar")).get_json()

    # THEN every session is of this year, from its first weeks to its last
    year = dt.datetime.now(dt.UTC).year
    assert {row["date"][:4] for row in rows} == {str(year)}
    assert rows[0]["date"] < f"{year}-01-08"
    assert rows[-1]["date"] > f"{year}-12-20"


async def test_ranges_past_the_known_dates_are_answered_for_the_part_known(
    calendar_client: QuartClient,
) -> None:
    # GIVEN calendars known from 1970 to the end of next year
    last_known = dt.date(dt.datetime.now(dt.UTC).year + 1, 12, 31)

    # WHEN asked for a reversed range, and for one reaching past the last known date
    reversed_range = await calendar_client.get(f"{CALENDAR}?start=2024-02-01&end=2024-01-01")
    ahead = await calendar_client.get(f"{CALENDAR}?start={last_known.year}-12-20&end=2999-01-01")

    # THEN the first has no rows, the second ends at the last known session
    assert reversed_range.status_code == 200
    assert await reversed_range.get_json() == []
    rows = await ahead.get_json()
    assert rows
    assert rows[-1]["date"] <= last_known.isoformat()


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("exchange=NOPE", "exchange"),
        ("start=2024-13-01", "start"),
        ("end=2024-02-30", "end"),
        ("start=20240101", "start"),
        ("format=xml", "format"),
    ],
)
async def test_bad_calendar_parameters_are_a_400_naming_them(
    calendar_client: QuartClient, query: str, parameter: str
) -> None:
    # WHEN a parameter is malformed or unknown
    response = await calendar_client.get(f"/stocks/calendar?{query}")

    # THEN 400 problem+json names it
    assert response.status_code == 400
    assert response.content_type.startswith("application/problem+json")
    assert (await response.get_json())["parameter"] == parameter


async def test_an_unknown_exchange_problem_lists_the_valid_ones(
    calendar_client: QuartClient,
) -> None:
    # WHEN an unknown MIC is asked for
    body = await (await calendar_client.get("/stocks/clock?exchange=ZZZZ")).get_json()

    # THEN the problem names the parameter and lists the valid MICs
    assert body["parameter"] == "exchange"
    assert {"XNYS", "XLON"} <= set(body["allowed"])


async def test_the_clock_says_whether_the_exchange_is_open_and_when_it_next_changes(
    calendar_client: QuartClient,
) -> None:
    # GIVEN the library's own view of now
    library = exchange_calendars.get_calendar("XLON")

    # WHEN the clock of London is asked for
    before = dt.datetime.now(dt.UTC)
    response = await calendar_client.get("/stocks/clock?exchange=XLON")
    body = await response.get_json()

    # THEN it is London's wall time now, and the next open and close follow it
    assert response.status_code == 200
    stamp = dt.datetime.fromisoformat(body["timestamp"])
    assert body["exchange"] == "XLON"
    assert stamp.utcoffset() in (dt.timedelta(0), dt.timedelta(hours=1))
    assert before - dt.timedelta(seconds=1) <= stamp <= dt.datetime.now(dt.UTC)
    next_open = dt.datetime.fromisoformat(body["next_open"])
    next_close = dt.datetime.fromisoformat(body["next_close"])
    assert next_open > stamp
    assert next_close > stamp
    assert body["is_open"] == (next_close < next_open)
    assert next_open == library.next_open(stamp).to_pydatetime()


async def test_an_exchange_whose_calendar_the_library_cannot_build_is_a_409(
    calendar_client: QuartClient,
) -> None:
    # GIVEN an exchange the installed exchange_calendars fails to build from 1970
    try:
        exchange_calendars.get_calendar("XBEL", start="1970-01-01")
    except Exception:
        pass
    else:
        pytest.skip("this exchange_calendars builds XBEL: nothing to refuse")

    # WHEN its clock and calendar are asked for
    clock = await calendar_client.get("/stocks/clock?exchange=XBEL")
    calendar = await calendar_client.get("/stocks/calendar?exchange=XBEL")

    # THEN both are 409 problems naming the exchange
    for response in (clock, calendar):
        assert response.status_code == 409
        body = await response.get_json()
        assert (body["parameter"], body["value"]) == ("exchange", "XBEL")
