"""findata.core.calendars: sessions, clock, regular-session filter and coverage.

Checked against exchange_calendars itself and against hand-worked cases (New York's
Thanksgiving week, a DST change, London, Hong Kong's lunch break).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import exchange_calendars as xc
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from findata.core import InvalidBarsError, InvalidParameterError, calendars

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
HONG_KONG = ZoneInfo("Asia/Hong_Kong")
MINUTE = timedelta(minutes=1)

# exchange_calendars still calls pandas APIs that pandas 3.1 deprecates.
pytestmark = pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")


def _bars(stamps: Iterable[datetime] | np.ndarray, symbol: str = "AAA") -> pa.Table:
    """Flat bars of one symbol at ``stamps``: aware datetimes or UTC microseconds."""
    times = stamps if isinstance(stamps, np.ndarray) else list(stamps)
    count = len(times)
    return pa.table(
        {
            "symbol": pa.array([symbol] * count, type=pa.string()),
            "timestamp": pa.array(times, type=pa.timestamp("us", tz="UTC")),
            "open": [10.0] * count,
            "high": [11.0] * count,
            "low": [9.0] * count,
            "close": [10.5] * count,
            "volume": [100] * count,
        }
    )


def _micros(stamps: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(stamps.asi8) // 1_000


def _minutes(day: date, zone: ZoneInfo, first: time, last: time) -> list[datetime]:
    """Every minute from ``first`` to ``last`` (inclusive) of ``day``, local to ``zone``."""
    start = datetime.combine(day, first, tzinfo=zone)
    end = datetime.combine(day, last, tzinfo=zone)
    count = int((end - start) / MINUTE) + 1
    return [start + i * MINUTE for i in range(count)]


def _daily(days: Iterable[date], zone: ZoneInfo = NEW_YORK) -> pa.Table:
    return _bars(datetime.combine(day, time(0), tzinfo=zone) for day in days)


def _local(table: pa.Table, zone: ZoneInfo) -> list[datetime]:
    return [moment.astimezone(zone) for moment in table.column("timestamp").to_pylist()]


def _reference(name: str, start: str, end: str) -> pd.DataFrame:
    """exchange_calendars' own schedule for the sessions ``start`` to ``end``."""
    return xc.get_calendar(name, start="2000-01-01").schedule.loc[start:end]


# --- sessions -------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["XNYS", "XLON", "XHKG", "XTKS", "CMES"])
def test_given_an_exchange_when_listing_sessions_then_they_match_exchange_calendars(
    exchange: str,
) -> None:
    # GIVEN the library's schedule over two and a half years
    reference = _reference(exchange, "2024-01-01", "2026-06-30")
    library = xc.get_calendar(exchange, start="2000-01-01")
    # WHEN
    table = calendars.sessions(exchange, "2024-01-01", "2026-06-30")
    # THEN one row per session, same instants, breaks and early closes
    assert table.schema == calendars.SESSIONS_SCHEMA
    assert table.column("date").to_pylist() == [day.date() for day in reference.index]
    for column in ("open", "close", "break_start", "break_end"):
        expected = [
            None if pd.isna(value) else value.to_pydatetime() for value in reference[column]
        ]
        assert table.column(column).to_pylist() == expected, column
    early = set(library.early_closes)
    assert table.column("early_close").to_pylist() == [day in early for day in reference.index]


def test_given_thanksgiving_week_when_listing_sessions_then_holiday_weekend_early_close_show() -> (
    None
):
    # GIVEN the week of Thanksgiving 2026 (Thursday 26 November) in New York
    # WHEN
    table = calendars.sessions("XNYS", date(2026, 11, 23), date(2026, 11, 30))
    # THEN no session on Thanksgiving or the weekend; Friday closes at 13:00 New York
    rows = table.to_pylist()
    assert [row["date"] for row in rows] == [
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 27),
        date(2026, 11, 30),
    ]
    friday = rows[3]
    assert friday["open"] == datetime(2026, 11, 27, 9, 30, tzinfo=NEW_YORK)
    assert friday["close"] == datetime(2026, 11, 27, 13, 0, tzinfo=NEW_YORK)
    assert friday["early_close"] is True
    assert [row["early_close"] for row in rows].count(True) == 1
    assert all(row["break_start"] is None and row["break_end"] is None for row in rows)


def test_given_a_dst_change_when_listing_sessions_then_the_open_stays_at_0930_local() -> None:
    # GIVEN New York moves to daylight time on Sunday 8 March 2026
    # WHEN
    rows = calendars.sessions("XNYS", "2026-03-05", "2026-03-10").to_pylist()
    # THEN 09:30 local is 14:30 UTC before and 13:30 UTC after
    opens = {row["date"]: row["open"].astimezone(UTC).time() for row in rows}
    assert opens == {
        date(2026, 3, 5): time(14, 30),
        date(2026, 3, 6): time(14, 30),
        date(2026, 3, 9): time(13, 30),
        date(2026, 3, 10): time(13, 30),
    }
    assert {row["close"].astimezone(NEW_YORK).time() for row in rows} == {time(16, 0)}


def test_given_london_when_listing_sessions_then_hours_follow_london_time() -> None:
    # GIVEN London's Christmas 2026: Christmas Eve closes at 12:30, 25 and 28 December
    # (Boxing Day's substitute) are holidays
    # WHEN
    rows = calendars.sessions("XLON", "2026-12-23", "2026-12-29").to_pylist()
    # THEN
    assert [row["date"] for row in rows] == [
        date(2026, 12, 23),
        date(2026, 12, 24),
        date(2026, 12, 29),
    ]
    assert rows[0]["open"] == datetime(2026, 12, 23, 8, 0, tzinfo=LONDON)
    assert rows[0]["close"] == datetime(2026, 12, 23, 16, 30, tzinfo=LONDON)
    assert rows[1]["close"] == datetime(2026, 12, 24, 12, 30, tzinfo=LONDON)
    assert [row["early_close"] for row in rows] == [False, True, False]
    assert calendars.exchange_timezone("XLON") == "Europe/London"


def test_given_hong_kong_when_listing_sessions_then_the_lunch_break_is_listed() -> None:
    # GIVEN Hong Kong trades 09:30-12:00 and 13:00-16:00, and Christmas Eve a morning only
    # WHEN
    rows = calendars.sessions("XHKG", "2026-12-23", "2026-12-24").to_pylist()
    # THEN
    assert rows[0]["break_start"] == datetime(2026, 12, 23, 12, 0, tzinfo=HONG_KONG)
    assert rows[0]["break_end"] == datetime(2026, 12, 23, 13, 0, tzinfo=HONG_KONG)
    assert rows[0]["close"] == datetime(2026, 12, 23, 16, 0, tzinfo=HONG_KONG)
    assert rows[1]["close"] == datetime(2026, 12, 24, 12, 0, tzinfo=HONG_KONG)
    assert rows[1]["break_start"] is None
    assert rows[1]["early_close"] is True


def test_given_no_range_when_listing_sessions_then_the_current_year_is_listed() -> None:
    # GIVEN the current year
    year = datetime.now(UTC).year
    reference = _reference("XNYS", f"{year}-01-01", f"{year}-12-31")
    # WHEN
    table = calendars.sessions("XNYS")
    # THEN
    assert table.column("date").to_pylist() == [day.date() for day in reference.index]


def test_given_an_alias_in_lower_case_when_validating_then_the_library_spelling_is_kept() -> None:
    # GIVEN Nasdaq, an alias of the New York calendar in exchange_calendars
    # WHEN
    name = calendars.validate_exchange(" xnas ")
    # THEN the venue stays Nasdaq, and trades on New York's sessions
    assert name == "XNAS"
    assert "XNAS" in calendars.exchange_names()
    assert calendars.sessions("xnas", "2026-01-01", "2026-03-31").equals(
        calendars.sessions("XNYS", "2026-01-01", "2026-03-31")
    )
    assert calendars.clock("xnas", datetime(2026, 3, 2, 10, tzinfo=NEW_YORK)).exchange == "XNAS"
    report = calendars.coverage(_daily([date(2026, 3, 2)]), "xnas", bar_interval=calendars.DAILY)
    assert report.exchange == "XNAS"


def test_given_bounded_calendars_when_asking_their_dates_then_they_are_clipped() -> None:
    # GIVEN New York (no bounds in exchange_calendars), Tokyo (from 1997) and Shanghai
    # (precomputed up to a fixed last date)
    year = datetime.now(UTC).year
    shanghai_end = xc.get_calendar("XSHG").bound_max().date()
    # WHEN / THEN
    assert calendars.calendar_dates("XNYS") == (date(1970, 1, 1), date(year + 1, 12, 31))
    assert calendars.calendar_dates("XTKS")[0] == xc.get_calendar("XTKS").bound_min().date()
    assert calendars.calendar_dates("XSHG")[1] == min(shanghai_end, date(year + 1, 12, 31))


def test_given_importing_findata_core_then_exchange_calendars_and_pandas_are_not_loaded() -> None:
    # GIVEN a fresh interpreter
    script = (
        "import sys, findata.core\n"
        "print('exchange_calendars' in sys.modules, 'pandas' in sys.modules)\n"
        "findata.core.calendars.sessions('XNYS', '2026-01-02', '2026-01-02')\n"
        "print('exchange_calendars' in sys.modules)\n"
    )
    # WHEN
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    # THEN only a calendar's first use imports the library
    assert output == ["False", "False", "True"]


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", ["NOPE", "", "XNYS2", 42])
def test_given_an_unknown_exchange_when_asking_for_sessions_then_the_error_says_how_to_list_them(
    exchange: object,
) -> None:
    # GIVEN / WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.sessions(exchange, "2026-01-01", "2026-01-31")  # type: ignore[arg-type]
    # THEN
    assert raised.value.parameter == "exchange"
    assert "exchange_names()" in raised.value.message
    assert "get_calendar_names()" in raised.value.message
    assert raised.value.allowed is not None
    assert "XNYS" in raised.value.allowed


@pytest.mark.parametrize(
    ("start", "end", "parameter"),
    [
        ("2026-02-01", "2026-01-01", "start"),
        ("1969-12-31", "1970-01-31", "start"),
        ("2026-01-01", f"{datetime.now(UTC).year + 2}-01-01", "end"),
        ("2026-13-01", "2026-12-31", "start"),
        ("2026-01-01", "yesterday", "end"),
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-31", "start"),
    ],
)
def test_given_a_bad_range_when_asking_for_sessions_then_the_error_names_the_parameter(
    start: object, end: object, parameter: str
) -> None:
    # GIVEN / WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.sessions("XNYS", start, end)  # type: ignore[arg-type]
    # THEN
    assert raised.value.parameter == parameter


def test_given_the_calendar_dates_when_asking_for_sessions_then_first_and_last_pass() -> None:
    # GIVEN the dates New York's calendar covers
    first, last = calendars.calendar_dates("XNYS")
    # WHEN
    table = calendars.sessions("XNYS", first, last)
    # THEN 1970-01-01 (a holiday) is accepted; the first session is 2 January 1970
    assert table.column("date")[0].as_py() == date(1970, 1, 2)
    assert table.column("date")[-1].as_py() <= last


# --- clock ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "local",
    [
        datetime(2026, 11, 25, 9, 29),
        datetime(2026, 11, 25, 9, 30),
        datetime(2026, 11, 25, 15, 59, 59),
        datetime(2026, 11, 25, 16, 0),
        datetime(2026, 11, 26, 12, 0),  # Thanksgiving
        datetime(2026, 11, 27, 12, 59),  # early close at 13:00
        datetime(2026, 11, 27, 13, 0),
        datetime(2026, 11, 28, 11, 0),  # Saturday
        datetime(2026, 3, 8, 3, 0),  # the morning clocks go forward
    ],
)
def test_given_an_instant_when_asking_the_clock_then_it_agrees_with_exchange_calendars(
    local: datetime,
) -> None:
    # GIVEN an instant in New York and the library's calendar
    instant = local.replace(tzinfo=NEW_YORK)
    library = xc.get_calendar("XNYS", start="2000-01-01")
    minute = pd.Timestamp(instant)
    # WHEN
    state = calendars.clock("XNYS", instant)
    # THEN
    assert state.exchange == "XNYS"
    assert state.timestamp == instant
    assert state.timestamp.tzinfo == NEW_YORK
    assert state.is_open == library.is_open_at_time(minute, side="left")
    assert state.next_open == library.next_open(minute).to_pydatetime()
    assert state.next_close == library.next_close(minute).to_pydatetime()


def test_given_hong_kongs_lunch_when_asking_the_clock_then_the_break_closes_the_market() -> None:
    # GIVEN 12:30 and 10:00 in Hong Kong on a normal day
    lunch = datetime(2026, 12, 22, 12, 30, tzinfo=HONG_KONG)
    morning = datetime(2026, 12, 22, 10, 0, tzinfo=HONG_KONG)
    # WHEN
    at_lunch, in_morning = calendars.clock("XHKG", lunch), calendars.clock("XHKG", morning)
    # THEN it reopens at 13:00; in the morning it next closes for lunch at 12:00
    assert not at_lunch.is_open
    assert at_lunch.next_open == datetime(2026, 12, 22, 13, 0, tzinfo=HONG_KONG)
    assert at_lunch.next_close == datetime(2026, 12, 22, 16, 0, tzinfo=HONG_KONG)
    assert in_morning.is_open
    assert in_morning.next_close == datetime(2026, 12, 22, 12, 0, tzinfo=HONG_KONG)
    assert in_morning.next_open == datetime(2026, 12, 22, 13, 0, tzinfo=HONG_KONG)


def test_given_no_instant_when_asking_the_clock_then_it_is_now() -> None:
    # GIVEN / WHEN
    before = datetime.now(UTC)
    state = calendars.clock()
    after = datetime.now(UTC)
    # THEN
    assert before <= state.timestamp <= after
    assert state.next_open > state.timestamp
    assert state.next_close > state.timestamp


@pytest.mark.parametrize(
    "instant",
    [datetime(2026, 1, 5, 10, 0), datetime(1969, 6, 2, 10, 0, tzinfo=UTC), "2026-01-05"],
)
def test_given_a_bad_instant_when_asking_the_clock_then_the_error_names_timestamp(
    instant: object,
) -> None:
    # GIVEN a naive datetime, a day before the calendar, a string
    # WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.clock("XNYS", instant)  # type: ignore[arg-type]
    # THEN
    assert raised.value.parameter == "timestamp"


# --- regular-session filter -------------------------------------------------------------


def test_given_extended_hours_minutes_when_filtering_then_exactly_regular_minutes_stay() -> None:
    # GIVEN minute bars 04:00-20:00 New York from Wednesday 25 to Friday 27 November 2026
    # (Thanksgiving on Thursday, an early close on Friday)
    days = [date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
    bars = _bars(m for day in days for m in _minutes(day, NEW_YORK, time(4), time(19, 59)))
    # WHEN
    kept = calendars.filter_regular_session(bars, "XNYS", bar_interval=MINUTE)
    # THEN 09:30-15:59 on Wednesday, nothing on Thursday, 09:30-12:59 on Friday
    expected = _minutes(days[0], NEW_YORK, time(9, 30), time(15, 59)) + _minutes(
        days[2], NEW_YORK, time(9, 30), time(12, 59)
    )
    assert _local(kept, NEW_YORK) == expected
    assert kept.num_rows == 390 + 210
    assert kept.schema == bars.schema


def test_given_a_dst_week_of_minutes_when_filtering_then_each_day_keeps_0930_to_1559() -> None:
    # GIVEN 04:00-20:00 minutes around New York's change to daylight time (8 March 2026)
    days = [date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9)]
    bars = _bars(m for day in days for m in _minutes(day, NEW_YORK, time(4), time(19, 59)))
    # WHEN
    kept = calendars.filter_regular_session(bars, "XNYS", bar_interval=MINUTE)
    # THEN the weekend goes; both weekdays keep 390 minutes from 09:30 local
    expected = _minutes(days[0], NEW_YORK, time(9, 30), time(15, 59)) + _minutes(
        days[3], NEW_YORK, time(9, 30), time(15, 59)
    )
    assert _local(kept, NEW_YORK) == expected


def test_given_london_minutes_when_filtering_then_london_hours_stay() -> None:
    # GIVEN minutes 06:00-18:00 London on a summer day and on Christmas Eve (close 12:30)
    summer, eve = date(2026, 7, 15), date(2026, 12, 24)
    bars = _bars(m for day in (summer, eve) for m in _minutes(day, LONDON, time(6), time(17, 59)))
    # WHEN
    kept = calendars.filter_regular_session(bars, "XLON", bar_interval=MINUTE)
    # THEN 08:00-16:29 (07:00-15:29 UTC in summer) and 08:00-12:29
    assert _local(kept, LONDON) == _minutes(summer, LONDON, time(8), time(16, 29)) + _minutes(
        eve, LONDON, time(8), time(12, 29)
    )


def test_given_hong_kong_minutes_when_filtering_then_the_lunch_break_goes() -> None:
    # GIVEN minutes 09:00-16:30 Hong Kong on a normal day
    day = date(2026, 12, 22)
    bars = _bars(_minutes(day, HONG_KONG, time(9), time(16, 30)))
    # WHEN
    kept = calendars.filter_regular_session(bars, "XHKG", bar_interval=MINUTE)
    # THEN 09:30-11:59 and 13:00-15:59
    assert _local(kept, HONG_KONG) == _minutes(day, HONG_KONG, time(9, 30), time(11, 59)) + (
        _minutes(day, HONG_KONG, time(13), time(15, 59))
    )


def test_given_daily_bars_when_filtering_then_they_are_returned_unchanged() -> None:
    # GIVEN daily bars, including one dated on a holiday (Thanksgiving)
    bars = _daily([date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)])
    # WHEN
    kept = calendars.filter_regular_session(bars, "XNYS", bar_interval=calendars.DAILY)
    # THEN
    assert kept is bars


def test_given_regular_minutes_only_when_filtering_then_the_same_table_comes_back() -> None:
    # GIVEN bars already inside the session
    bars = _bars(_minutes(date(2026, 11, 25), NEW_YORK, time(9, 30), time(15, 59)))
    # WHEN
    kept = calendars.filter_regular_session(bars, "XNYS", bar_interval=MINUTE)
    # THEN nothing is copied
    assert kept is bars


def test_given_bars_of_two_symbols_when_masking_then_each_bar_is_judged_on_its_own() -> None:
    # GIVEN two symbols' 04:00-20:00 minutes (times step back at the second symbol), and
    # the same rows shuffled
    day = date(2026, 11, 27)
    stamps = _minutes(day, NEW_YORK, time(4), time(19, 59))
    bars = pa.concat_tables([_bars(stamps, "AAA"), _bars(stamps, "BBB")])
    order = np.random.default_rng(3).permutation(bars.num_rows)
    shuffled = bars.take(pa.array(order))
    sessions = calendars.sessions("XNYS", day, day)
    # WHEN
    mask = calendars.regular_session_mask(bars, sessions)
    shuffled_mask = calendars.regular_session_mask(shuffled, sessions)
    # THEN the early close (09:30-12:59) is kept for both, in any order
    regular = [time(9, 30) <= stamp.time() < time(13, 0) for stamp in stamps]
    assert mask.tolist() == regular + regular
    assert np.array_equal(shuffled_mask, mask[order])


def test_given_sessions_in_the_exchange_zone_when_masking_then_the_instants_count() -> None:
    # GIVEN the sessions table with its instants labelled in New York time, as an API shows it
    day = date(2026, 11, 25)
    sessions = calendars.sessions("XNYS", day, day)
    labelled = sessions.set_column(
        1, "open", sessions.column("open").cast(pa.timestamp("us", tz="America/New_York"))
    )
    bars = _bars(_minutes(day, NEW_YORK, time(9, 29), time(9, 31)))
    # WHEN
    mask = calendars.regular_session_mask(bars, labelled)
    # THEN
    assert mask.tolist() == [False, True, True]


@pytest.mark.parametrize(
    ("bars", "error"),
    [
        (pa.table({"close": [1.0]}), InvalidBarsError),
        (pa.table({"timestamp": pa.array([datetime(2026, 1, 5)])}), InvalidBarsError),
        (pa.table({"timestamp": pa.array([None], pa.timestamp("us", tz="UTC"))}), InvalidBarsError),
    ],
)
def test_given_bad_timestamps_when_filtering_then_the_bars_error_names_the_column(
    bars: pa.Table, error: type[Exception]
) -> None:
    # GIVEN no timestamp column, naive timestamps, a null
    # WHEN
    with pytest.raises(error) as raised:
        calendars.filter_regular_session(bars, "XNYS", bar_interval=MINUTE)
    # THEN
    assert isinstance(raised.value, InvalidBarsError)
    assert raised.value.column == "timestamp"


@pytest.mark.parametrize("interval", [timedelta(0), timedelta(minutes=-1), 60, "1min", None])
def test_given_a_bad_bar_interval_when_filtering_then_the_error_names_it(interval: object) -> None:
    # GIVEN / WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.filter_regular_session(_daily([date(2026, 1, 5)]), "XNYS", bar_interval=interval)  # type: ignore[arg-type]
    # THEN
    assert raised.value.parameter == "bar_interval"


def test_given_minutes_before_the_calendar_when_filtering_then_start_is_named() -> None:
    # GIVEN minute bars of 1969, before any calendar findata reads
    bars = _bars(_minutes(date(1969, 12, 30), NEW_YORK, time(9, 30), time(9, 40)))
    # WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.filter_regular_session(bars, "XNYS", bar_interval=MINUTE)
    # THEN
    assert raised.value.parameter == "start"


@pytest.mark.parametrize("exchange", ["XNYS", "XLON", "XHKG", "CMES"])
def test_given_every_minute_of_a_quarter_when_filtering_then_exchange_calendars_minutes_stay(
    exchange: str,
) -> None:
    # GIVEN a bar on every UTC minute from the first open to the last close of Q1 2026
    library = xc.get_calendar(exchange, start="2000-01-01")
    first, last = pd.Timestamp("2026-01-01"), pd.Timestamp("2026-03-31")
    every = pd.date_range(
        library.session_open(library.date_to_session(first, "next")),
        library.session_close(library.date_to_session(last, "previous")),
        freq="1min",
        inclusive="left",
    )
    bars = _bars(_micros(every))
    # WHEN
    kept = calendars.filter_regular_session(bars, exchange, bar_interval=MINUTE)
    # THEN exactly the library's trading minutes (side "left": opens in, closes out)
    expected = _micros(library.minutes_in_range(every[0], every[-1]))
    assert np.array_equal(kept.column("timestamp").to_numpy().view(np.int64), expected)


# --- coverage ---------------------------------------------------------------------------


def test_given_daily_bars_with_sessions_removed_when_covering_then_those_are_missing() -> None:
    # GIVEN a bar on every 2025 session of New York (from exchange_calendars) but three
    # removed, and one extra bar on a holiday (4 July)
    everyday = [day.date() for day in _reference("XNYS", "2025-01-01", "2025-12-31").index]
    removed = [date(2025, 3, 14), date(2025, 7, 3), date(2025, 12, 31)]
    days = sorted({*everyday, date(2025, 7, 4)} - set(removed))
    bars = _daily(days)
    # WHEN
    report = calendars.coverage(
        bars, "XNYS", "2025-01-01", "2025-12-31", bar_interval=calendars.DAILY
    )
    # THEN
    assert report.symbol == "AAA"
    assert report.exchange == "XNYS"
    assert report.bar_kind == "daily"
    assert (report.start, report.end) == (date(2025, 1, 1), date(2025, 12, 31))
    assert report.expected_sessions == len(everyday)
    assert report.sessions_with_bars == len(everyday) - 3
    assert report.missing_sessions == tuple(removed)
    assert report.bars_outside_sessions == 1
    assert report.partial_sessions == ()


@pytest.mark.parametrize("exchange", ["XNYS", "XLON", "XHKG"])
def test_given_each_session_short_of_one_minute_when_covering_then_all_are_partial_by_one(
    exchange: str,
) -> None:
    # GIVEN the library's trading minutes of Q1 2026 less each session's last minute
    library = xc.get_calendar(exchange, start="2000-01-01")
    session_days = library.sessions_in_range("2026-01-01", "2026-03-31")
    trading = {day.date(): _micros(library.session_minutes(day)) for day in session_days}
    minutes = np.concatenate([stamps[:-1] for stamps in trading.values()])
    # WHEN
    report = calendars.coverage(
        _bars(minutes), exchange, "2026-01-01", "2026-03-31", bar_interval=MINUTE
    )
    # THEN each session expects as many bars as it has trading minutes in the library
    assert report.expected_sessions == len(session_days)
    assert report.missing_sessions == ()
    assert report.bars_outside_sessions == 0
    assert report.partial_sessions == tuple(
        calendars.PartialSession(day, len(stamps), len(stamps) - 1)
        for day, stamps in trading.items()
    )


def test_given_a_range_wider_than_the_bars_when_covering_then_sessions_beyond_are_missing() -> None:
    # GIVEN daily bars for 2 to 6 February 2026, a report asked for the whole month
    bars = _daily(date(2026, 2, day) for day in range(2, 7))
    # WHEN
    report = calendars.coverage(
        bars, "XNYS", "2026-02-01", "2026-02-10", bar_interval=timedelta(days=1)
    )
    # THEN Monday 9 and Tuesday 10 February are missing; weekends are no sessions
    assert report.expected_sessions == 7
    assert report.missing_sessions == (date(2026, 2, 9), date(2026, 2, 10))
    assert report.bars_outside_sessions == 0


def test_given_daily_bars_of_another_zone_when_covering_then_their_zone_dates_them() -> None:
    # GIVEN London daily bars stored at 00:00 Tokyo time (the previous evening in London)
    days = [date(2026, 12, 23), date(2026, 12, 24), date(2026, 12, 29)]
    bars = _daily(days, ZoneInfo("Asia/Tokyo"))
    # WHEN
    report = calendars.coverage(bars, "XLON", bar_interval=calendars.DAILY, timezone="Asia/Tokyo")
    # THEN each bar counts for its own date
    assert report.missing_sessions == ()
    assert report.sessions_with_bars == 3
    assert report.bars_outside_sessions == 0


def test_given_minutes_with_gaps_when_covering_then_partial_and_outside_are_counted() -> None:
    # GIVEN 04:00-20:00 minutes for the week of Thanksgiving 2026 except Tuesday, with
    # 10:00-10:09 missing on Monday and the last minute missing on the early-close Friday
    days = [date(2026, 11, 23), date(2026, 11, 25), date(2026, 11, 26), date(2026, 11, 27)]
    gone = {
        *_minutes(days[0], NEW_YORK, time(10), time(10, 9)),
        datetime(2026, 11, 27, 12, 59, tzinfo=NEW_YORK),
    }
    stamps = [
        m for day in days for m in _minutes(day, NEW_YORK, time(4), time(19, 59)) if m not in gone
    ]
    # WHEN
    report = calendars.coverage(_bars(stamps), "XNYS", bar_interval=MINUTE)
    # THEN
    assert report.bar_kind == "intraday"
    assert (report.start, report.end) == (date(2026, 11, 23), date(2026, 11, 27))
    assert report.expected_sessions == 4
    assert report.missing_sessions == (date(2026, 11, 24),)
    assert report.partial_sessions == (
        calendars.PartialSession(date(2026, 11, 23), 390, 380),
        calendars.PartialSession(date(2026, 11, 27), 210, 209),
    )
    # 960 minutes a day less those inside the session; Thanksgiving is all outside
    assert report.bars_outside_sessions == (960 - 390) * 2 + 960 + (960 - 210)
    assert report.sessions_with_bars == 3


def test_given_hong_kong_five_minute_bars_when_covering_then_the_break_is_not_expected() -> None:
    # GIVEN 5-minute bars 09:30-15:55 Hong Kong including lunch, on a normal day and
    # Christmas Eve (morning only)
    normal, eve = date(2026, 12, 22), date(2026, 12, 24)
    stamps = [
        datetime.combine(day, time(9, 30), tzinfo=HONG_KONG) + k * timedelta(minutes=5)
        for day in (normal, eve)
        for k in range(78)
    ]
    # WHEN
    report = calendars.coverage(
        _bars(stamps), "XHKG", "2026-12-22", "2026-12-24", bar_interval=timedelta(minutes=5)
    )
    # THEN a normal day expects (150 + 180) / 5 = 66 bars, Christmas Eve 150 / 5 = 30;
    # lunch bars and the eve's afternoon are outside
    assert report.partial_sessions == ()
    assert report.missing_sessions == (date(2026, 12, 23),)
    assert report.bars_outside_sessions == 12 + (78 - 30)


def test_given_hourly_bars_on_the_hour_when_covering_then_whole_hours_are_expected() -> None:
    # GIVEN hourly bars stamped 09:00-15:00 New York on a normal day
    day = date(2026, 11, 25)
    stamps = [datetime.combine(day, time(hour), tzinfo=NEW_YORK) for hour in range(9, 16)]
    # WHEN
    report = calendars.coverage(_bars(stamps), "XNYS", bar_interval=timedelta(hours=1))
    # THEN 6 whole hours fit in 09:30-16:00: 10:00-15:00 are inside, 09:00 outside
    assert report.partial_sessions == ()
    assert report.sessions_with_bars == 1
    assert report.bars_outside_sessions == 1


def test_given_no_bars_and_a_range_when_covering_then_every_session_is_missing() -> None:
    # GIVEN an empty table
    bars = _bars([])
    # WHEN
    report = calendars.coverage(
        bars, "XNYS", "2026-11-25", "2026-11-30", bar_interval=MINUTE, symbol="AAA"
    )
    # THEN
    assert report.symbol == "AAA"
    assert report.missing_sessions == (date(2026, 11, 25), date(2026, 11, 27), date(2026, 11, 30))


@pytest.mark.parametrize(
    ("arguments", "parameter"),
    [
        ({"exchange": "XXXX"}, "exchange"),
        ({"start": "2026-12-01", "end": "2026-11-01"}, "start"),
        ({"end": f"{datetime.now(UTC).year + 3}-01-01"}, "end"),
        ({"bar_interval": timedelta(0)}, "bar_interval"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"symbol": "BBB"}, "symbol"),
    ],
)
def test_given_bad_parameters_when_covering_then_the_error_names_the_parameter(
    arguments: dict[str, object], parameter: str
) -> None:
    # GIVEN good daily bars and one bad argument
    bars = _daily([date(2026, 11, 25)])
    call: dict[str, object] = {"exchange": "XNYS", "bar_interval": calendars.DAILY, **arguments}
    # WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.coverage(bars, **call)  # type: ignore[arg-type]
    # THEN
    assert raised.value.parameter == parameter


def test_given_bars_of_two_symbols_when_covering_then_the_symbol_column_is_named() -> None:
    # GIVEN
    day = [date(2026, 11, 25)]
    bars = pa.concat_tables([_daily(day).set_column(0, "symbol", pa.array(["A"])), _daily(day)])
    # WHEN
    with pytest.raises(InvalidBarsError) as raised:
        calendars.coverage(bars, "XNYS", bar_interval=calendars.DAILY)
    # THEN
    assert raised.value.column == "symbol"


def test_given_no_bars_and_no_range_when_covering_then_start_is_named() -> None:
    # GIVEN / WHEN
    with pytest.raises(InvalidParameterError) as raised:
        calendars.coverage(_bars([]), "XNYS", bar_interval=MINUTE, symbol="AAA")
    # THEN
    assert raised.value.parameter == "start"


# --- bar interval -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bars", "interval"),
    [
        (_daily([date(2026, 11, 25), date(2026, 11, 27)]), calendars.DAILY),
        (_bars(_minutes(date(2026, 11, 25), NEW_YORK, time(9, 30), time(9, 40))), MINUTE),
        (
            _bars(
                datetime(2026, 11, 25, 9, 30, tzinfo=NEW_YORK) + k * timedelta(minutes=5)
                for k in (0, 1, 3)
            ),
            timedelta(minutes=5),
        ),
        (_bars([datetime(2026, 11, 25, 9, 30, tzinfo=NEW_YORK)]), MINUTE),
    ],
)
def test_given_a_series_when_inferring_its_interval_then_midnights_are_daily_else_the_smallest_step(
    bars: pa.Table, interval: timedelta
) -> None:
    # GIVEN / WHEN / THEN
    assert calendars.infer_bar_interval(bars, "America/New_York") == interval


def test_given_two_symbols_when_inferring_then_the_step_between_symbols_does_not_count() -> None:
    # GIVEN AAA's hourly bars end at 10:00, BBB's begin at 10:01
    aaa = _bars([datetime(2026, 11, 25, hour, tzinfo=NEW_YORK) for hour in (9, 10)], "AAA")
    bbb = _bars([datetime(2026, 11, 25, 10, minute, tzinfo=NEW_YORK) for minute in (1, 31)], "BBB")
    # WHEN
    interval = calendars.infer_bar_interval(pa.concat_tables([aaa, bbb]))
    # THEN
    assert interval == timedelta(minutes=30)
