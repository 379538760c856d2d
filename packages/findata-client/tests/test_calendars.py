"""calendar(), clock(), coverage() and session= against a real server on each store.

WALK has a bar on each of 250 consecutive calendar days from 2020-01-01 (weekends and
holidays included); MINUTE the regular minutes (09:30-15:59) of 2024-03-07 and 03-08.
"""

from __future__ import annotations

import datetime as dt

import exchange_calendars
import pytest

from findata.api.testing import ServedProcess
from findata.client import AsyncClient, BadRequestError, Client, NotFoundError

pytestmark = pytest.mark.system

WALK_LAST = dt.date(2020, 1, 1) + dt.timedelta(days=249)


def test_the_calendar_comes_as_rows_with_the_exchanges_hours(server: ServedProcess) -> None:
    # WHEN New York's sessions around Thanksgiving 2023 are fetched
    with Client(server.base_url) as client:
        sessions = client.calendar("XNYS", start=dt.date(2023, 11, 22), end="2023-11-27")

    # THEN no row for the holiday or the weekend; the day after closes early at 13:00
    assert sessions["date"].to_pylist() == [
        dt.date(2023, 11, 22),
        dt.date(2023, 11, 24),
        dt.date(2023, 11, 27),
    ]
    assert sessions["early_close"].to_pylist() == [False, True, False]
    close = sessions["close"][1].as_py()
    assert (close.hour, close.minute, close.utcoffset()) == (13, 0, dt.timedelta(hours=-5))


def test_the_clock_says_whether_the_exchange_is_open(server: ServedProcess) -> None:
    # WHEN London's clock is asked for
    with Client(server.base_url) as client:
        clock = client.clock("XLON")

    # THEN a document naming the exchange, with the next open and close after now
    assert clock["exchange"] == "XLON"
    now = dt.datetime.fromisoformat(clock["timestamp"])
    assert dt.datetime.fromisoformat(clock["next_open"]) > now
    assert dt.datetime.fromisoformat(clock["next_close"]) > now
    assert isinstance(clock["is_open"], bool)


def test_coverage_counts_sessions_and_bars_outside_them(server: ServedProcess) -> None:
    # GIVEN the library's own XNYS sessions over WALK's days
    library = exchange_calendars.get_calendar("XNYS", start="2019-06-01", end="2021-06-01")
    sessions = len(library.sessions_in_range("2020-01-01", WALK_LAST.isoformat()))

    # WHEN WALK's and MINUTE's coverage are fetched
    with Client(server.base_url) as client:
        walk = client.coverage("WALK")
        minute = client.coverage("MINUTE", start="2024-03-07", end=dt.date(2024, 3, 8))

    # THEN every session of WALK's range has its bar and the rest are outside sessions;
    # MINUTE's two sessions are whole
    assert (walk["start"], walk["end"]) == ("2020-01-01", WALK_LAST.isoformat())
    assert walk["expected_sessions"] == walk["sessions_with_bars"] == sessions
    assert walk["missing_sessions"] == []
    assert walk["bars_outside_sessions"] == 250 - sessions
    assert (minute["expected_sessions"], minute["partial_sessions"]) == (2, [])


def test_session_reaches_the_server_for_bars_and_indicators(server: ServedProcess) -> None:
    # WHEN MINUTE's bars (all inside regular hours) are fetched with session=regular
    with Client(server.base_url) as client:
        regular = client.bars("MINUTE", session="regular")
        everything = client.bars("MINUTE")
        sma = client.indicators("MINUTE", "sma", window=2, frequency="Daily", session="regular")
        with pytest.raises(BadRequestError) as bad:
            client.bars("MINUTE", session="extended")  # type: ignore[arg-type]

    # THEN nothing is left out; a bad value is the server's 400 naming the parameter
    assert regular.equals(everything)
    assert sma.num_rows == 1
    assert bad.value.parameter == "session"


async def test_the_async_client_has_the_same_methods(server: ServedProcess) -> None:
    # WHEN the calendar, a clock and a coverage are awaited
    async with AsyncClient(server.base_url) as client:
        sessions = await client.calendar(start="2024-07-01", end="2024-07-05")
        clock = await client.clock()
        with pytest.raises(NotFoundError):
            await client.coverage("NOPE")

    # THEN July 4th is a holiday in New York, and the clock is New York's
    assert [day.day for day in sessions["date"].to_pylist()] == [1, 2, 3, 5]
    assert clock["exchange"] == "XNYS"
