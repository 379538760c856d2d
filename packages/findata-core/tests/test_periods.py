"""period_starts: the period holding an instant, worked out by hand, at the calendar's edges too."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from findata.core import Frequency, InvalidParameterError, period_starts, resample

NEW_YORK = ZoneInfo("America/New_York")
INSTANTS = pa.timestamp("us", tz="UTC")


def _instants(*moments: datetime | None) -> pa.Array:
    return pa.array(list(moments), INSTANTS)


@pytest.mark.parametrize(
    ("interval", "frequency", "expected"),
    [
        (1, "Daily", date(2021, 3, 17)),
        (1, "Weekly", date(2021, 3, 15)),  # the Monday before
        (2, "Weekly", date(2021, 3, 8)),  # 2-week buckets count from Monday 1970-01-05
        (1, "Monthly", date(2021, 3, 1)),
        (5, "Monthly", date(2020, 11, 1)),  # 5-month buckets count from January 1970
        (1, "Quarterly", date(2021, 1, 1)),
        (1, "annual", date(2021, 1, 1)),
    ],
)
def test_given_a_wednesday_afternoon_when_asking_its_calendar_period_then_it_starts_on_a_date(
    interval: int, frequency: str, expected: date
) -> None:
    # GIVEN Wednesday 2021-03-17 15:47 in New York
    moment = datetime(2021, 3, 17, 15, 47, tzinfo=NEW_YORK)
    # WHEN
    starts = period_starts(_instants(moment), interval, frequency, timezone="America/New_York")
    # THEN
    assert starts.type == pa.date32()
    assert starts.to_pylist() == [expected]


def test_given_the_night_clocks_go_back_when_asking_hours_then_each_01_00_is_its_own() -> None:
    # GIVEN 01:30 EDT and, an hour later, 01:30 EST on 2021-11-07 in New York
    first = datetime(2021, 11, 7, 5, 30, tzinfo=UTC)
    second = datetime(2021, 11, 7, 6, 30, tzinfo=UTC)
    # WHEN
    starts = period_starts(
        _instants(first, second), 1, Frequency.HOURLY, timezone="America/New_York"
    )
    # THEN 01:00 EDT (05:00 UTC) and 01:00 EST (06:00 UTC), in the exchange's zone
    assert starts.type == pa.timestamp("us", tz="America/New_York")
    assert [start.astimezone(UTC) for start in starts.to_pylist()] == [
        datetime(2021, 11, 7, 5, tzinfo=UTC),
        datetime(2021, 11, 7, 6, tzinfo=UTC),
    ]


def test_given_a_bar_when_resampling_then_its_period_start_is_the_one_named_for_its_time() -> None:
    # GIVEN one bar at 2021-03-17 15:47 New York
    moment = datetime(2021, 3, 17, 15, 47, tzinfo=NEW_YORK)
    bars = pa.table(
        {
            "symbol": ["AAA"],
            "timestamp": _instants(moment),
            "open": [1.0],
            "high": [1.0],
            "low": [1.0],
            "close": [1.0],
            "volume": [1],
        }
    )
    # WHEN
    resampled = resample(bars, 20, "Minute", timezone="America/New_York")
    named = period_starts(bars["timestamp"], 20, "Minute", timezone="America/New_York")
    # THEN 15:40, the same value and type
    assert resampled["period_start"].combine_chunks().equals(named)
    assert named[0].as_py() == datetime(2021, 3, 17, 15, 40, tzinfo=NEW_YORK)


def test_given_a_large_interval_before_1970_when_asking_then_the_period_is_before_year_1() -> None:
    # GIVEN 1969-12-31 and 100,000-month periods, which count from January 1970
    moment = datetime(1969, 12, 31, 12, tzinfo=UTC)
    # WHEN
    starts = period_starts(_instants(moment), 100_000, "Monthly", timezone="UTC")
    # THEN the period began 100,000 months before 1970-01-01: a valid date32 value that
    # no Python date can hold, read as days since the epoch
    expected = (np.datetime64("1970-01", "M") - np.timedelta64(100_000, "M")).astype(
        "datetime64[D]"
    )
    assert starts.cast(pa.int32()).to_pylist() == [int(expected.astype(np.int64))]


@pytest.mark.parametrize("frequency", list(Frequency))
@pytest.mark.parametrize("interval", [1, 100_000, 1_000_000])
@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/Los_Angeles"])
def test_given_the_first_and_last_instants_of_the_calendar_when_asking_then_periods_hold_them(
    frequency: Frequency, interval: int, zone: str
) -> None:
    # GIVEN the first and last microseconds Python's datetime can hold
    first = datetime(1, 1, 1, tzinfo=UTC)
    last = datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    # WHEN
    starts = period_starts(_instants(first, last), interval, frequency, timezone=zone)
    # THEN each period starts at or before its instant (dates: at or before the local date)
    if frequency.is_intraday:
        keys = starts.cast(pa.int64()).to_pylist()
        assert keys[0] <= _micros(first)
        assert keys[1] <= _micros(last)
    else:
        days = starts.cast(pa.int32()).to_pylist()
        assert days[0] <= (date(1, 1, 2) - date(1970, 1, 1)).days
        assert days[1] <= (date(9999, 12, 31) - date(1970, 1, 1)).days + 1


def _micros(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // (datetime.resolution)


def test_given_nulls_and_an_empty_array_when_asking_then_nulls_stay_and_nothing_fails() -> None:
    # GIVEN
    moments = _instants(None, datetime(2021, 3, 17, tzinfo=UTC))
    # WHEN
    starts = period_starts(moments, 1, "Annual", timezone="UTC")
    empty = period_starts(_instants(), 1, "Hourly", timezone="Europe/Paris")
    # THEN
    assert starts.to_pylist() == [None, date(2021, 1, 1)]
    assert len(empty) == 0
    assert empty.type == pa.timestamp("us", tz="Europe/Paris")


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda: period_starts(pa.array([datetime(2021, 1, 1)]), 1, "Daily"), "timestamps"),
        (lambda: period_starts(_instants(), 0, "Daily"), "interval"),
        (lambda: period_starts(_instants(), 1, "Fortnightly"), "frequency"),
        (lambda: period_starts(_instants(), 1, "Daily", timezone="Mars/Olympus"), "timezone"),
    ],
)
def test_given_bad_arguments_when_asking_then_the_parameter_is_named(
    call: object, parameter: str
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        call()  # type: ignore[operator]
    # THEN
    assert caught.value.parameter == parameter


def test_given_a_bar_in_year_1_when_resampling_then_it_lands_in_its_hour() -> None:
    # GIVEN a bar at 0001-01-01 12:00 UTC, shown in Tokyo (local mean time, +09:18:59)
    bars = pa.table(
        {
            "symbol": ["OLD"],
            "timestamp": _instants(datetime(1, 1, 1, 12, tzinfo=UTC)),
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [7],
        }
    )
    # WHEN
    hourly = resample(bars, 1, "Hourly", timezone="Asia/Tokyo")
    # THEN the hour began at 21:00 local, 11:41:01 UTC
    assert hourly["period_start"][0].as_py() == datetime(1, 1, 1, 11, 41, 1, tzinfo=UTC)
    assert hourly["volume"].to_pylist() == [7]
