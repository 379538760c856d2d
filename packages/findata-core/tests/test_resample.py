"""resample: calendar buckets in the exchange's time zone, one row per traded bucket."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from findata.core import InvalidBarsError, InvalidParameterError, _resample, resample

MakeBars = Callable[..., pa.Table]
NEW_YORK = ZoneInfo("America/New_York")


def _daily(symbol: str, day: date, close: float, volume: int = 100) -> tuple[object, ...]:
    """A daily bar: 00:00 of its trading date in New York, as the contract says."""
    midnight = datetime(day.year, day.month, day.day, tzinfo=NEW_YORK)
    return (symbol, midnight, close - 0.5, close + 1.0, close - 1.0, close, volume)


def _minute(symbol: str, local: datetime, close: float, volume: int = 10) -> tuple[object, ...]:
    return (symbol, local, close, close + 0.25, close - 0.25, close, volume)


def _column(table: pa.Table, name: str) -> list[object]:
    return table.column(name).to_pylist()


def test_given_a_week_of_daily_bars_when_resampling_weekly_then_ohlcv_follow_the_definitions(
    make_bars: MakeBars,
) -> None:
    # GIVEN Monday..Friday 2024-03-04..08 with closes 10..14
    days = [date(2024, 3, 4) + timedelta(days=i) for i in range(5)]
    bars = make_bars([_daily("AAA", day, 10.0 + i, 100 + i) for i, day in enumerate(days)])
    # WHEN
    weekly = resample(bars, 1, "Weekly")
    # THEN
    assert weekly.num_rows == 1
    row = weekly.to_pylist()[0]
    assert row == {
        "symbol": "AAA",
        "period_start": date(2024, 3, 4),
        "open": 9.5,  # first open
        "high": 15.0,  # max high (Friday's close + 1)
        "low": 9.0,  # min low (Monday's close - 1)
        "close": 14.0,  # last close
        "volume": 510,
    }
    assert weekly.schema.field("period_start").type == pa.date32()


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ("daily", [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]),
        ("monthly", [date(2024, 2, 1), date(2024, 3, 1)]),
        ("quarterly", [date(2024, 1, 1)]),
        ("annual", [date(2024, 1, 1)]),
    ],
)
def test_given_a_leap_day_when_resampling_then_it_gets_its_own_day_and_stays_in_february(
    make_bars: MakeBars, frequency: str, expected: list[date]
) -> None:
    # GIVEN
    days = [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]
    bars = make_bars([_daily("AAA", day, 10.0) for day in days])
    # WHEN
    result = resample(bars, 1, frequency)
    # THEN
    assert _column(result, "period_start") == expected


def test_given_a_week_crossing_new_year_when_resampling_weekly_then_it_starts_on_the_monday_before(
    make_bars: MakeBars,
) -> None:
    # GIVEN Thursday 2020-12-31 and Friday 2021-01-01 (week of Monday 2020-12-28), Monday 2021-01-04
    days = [date(2020, 12, 31), date(2021, 1, 1), date(2021, 1, 4)]
    bars = make_bars([_daily("AAA", day, 10.0 + i) for i, day in enumerate(days)])
    # WHEN
    weekly = resample(bars, 1, "Weekly")
    # THEN
    assert _column(weekly, "period_start") == [date(2020, 12, 28), date(2021, 1, 4)]
    assert _column(weekly, "close") == [11.0, 12.0]


def test_given_n_week_buckets_when_resampling_a_later_range_then_buckets_do_not_move(
    make_bars: MakeBars,
) -> None:
    # GIVEN ten weeks of Mondays, and the same series without its first three weeks
    days = [date(2024, 1, 1) + timedelta(weeks=i) for i in range(10)]
    full = make_bars([_daily("AAA", day, 10.0 + i) for i, day in enumerate(days)])
    # WHEN
    everything = resample(full, 4, "Weekly")
    later = resample(full.slice(3), 4, "Weekly")
    # THEN buckets are anchored at Monday 1970-01-05, not at the first bar
    anchor = date(1970, 1, 5)
    starts = _column(everything, "period_start")
    assert all((start - anchor).days % 28 == 0 for start in starts)  # type: ignore[operator]
    assert _column(later, "period_start") == starts[-len(_column(later, "period_start")) :]


def test_given_two_month_buckets_when_resampling_then_they_are_anchored_at_january_1970(
    make_bars: MakeBars,
) -> None:
    # GIVEN one bar in each month of 2023
    bars = make_bars([_daily("AAA", date(2023, month, 2), 10.0) for month in range(1, 13)])
    # WHEN
    result = resample(bars, 2, "Monthly")
    # THEN
    assert _column(result, "period_start") == [date(2023, month, 1) for month in range(1, 13, 2)]


def test_given_gaps_when_resampling_then_empty_buckets_are_omitted(make_bars: MakeBars) -> None:
    # GIVEN bars in January and April only
    bars = make_bars([_daily("AAA", date(2024, 1, 2), 10.0), _daily("AAA", date(2024, 4, 2), 11.0)])
    # WHEN
    result = resample(bars, 1, "Monthly")
    # THEN
    assert _column(result, "period_start") == [date(2024, 1, 1), date(2024, 4, 1)]


def test_given_several_symbols_when_resampling_then_rows_are_sorted_by_symbol_then_period(
    make_bars: MakeBars,
) -> None:
    # GIVEN rows of two symbols interleaved by date
    rows = [_daily(s, date(2024, m, 2), 10.0) for m in (1, 2) for s in ("MSFT", "AAPL")]
    # WHEN
    result = resample(make_bars(rows), 1, "Monthly")
    # THEN
    assert list(zip(_column(result, "symbol"), _column(result, "period_start"), strict=True)) == [
        ("AAPL", date(2024, 1, 1)),
        ("AAPL", date(2024, 2, 1)),
        ("MSFT", date(2024, 1, 1)),
        ("MSFT", date(2024, 2, 1)),
    ]


def test_given_a_single_bar_when_resampling_then_it_is_its_own_bucket(make_bars: MakeBars) -> None:
    # GIVEN
    bars = make_bars([_daily("AAA", date(2024, 5, 15), 10.0, 7)])
    # WHEN
    result = resample(bars, 1, "Annual")
    # THEN
    assert result.to_pylist() == [
        {
            "symbol": "AAA",
            "period_start": date(2024, 1, 1),
            "open": 9.5,
            "high": 11.0,
            "low": 9.0,
            "close": 10.0,
            "volume": 7,
        }
    ]


@pytest.mark.parametrize("frequency", ["Minute", "Daily"])
def test_given_no_bars_when_resampling_then_the_result_is_empty_with_the_full_schema(
    make_bars: MakeBars, frequency: str
) -> None:
    # WHEN
    result = resample(make_bars([]), 1, frequency)
    # THEN
    assert result.num_rows == 0
    assert result.column_names == [
        "symbol",
        "period_start",
        "open",
        "high",
        "low",
        "close",
        "volume",
    ]


def test_given_minute_bars_when_resampling_to_15_minutes_then_buckets_start_on_local_quarters(
    make_bars: MakeBars,
) -> None:
    # GIVEN 09:30..10:04 New York
    start = datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK)
    bars = make_bars([_minute("AAA", start + timedelta(minutes=i), 10.0 + i) for i in range(35)])
    # WHEN
    result = resample(bars, 15, "minute")
    # THEN
    local = [datetime(2024, 7, 1, h, m, tzinfo=NEW_YORK) for h, m in ((9, 30), (9, 45), (10, 0))]
    assert _column(result, "period_start") == local
    assert _column(result, "volume") == [150, 150, 50]
    assert result.schema.field("period_start").type == pa.timestamp("us", tz="America/New_York")


def test_given_the_fall_back_night_when_resampling_hourly_then_each_1am_is_its_own_bucket(
    make_bars: MakeBars,
) -> None:
    # GIVEN a bar every 30 minutes, 04:00-07:30 UTC on 2024-11-03 (clocks go back at 06:00 UTC)
    instants = [datetime(2024, 11, 3, 4, tzinfo=UTC) + timedelta(minutes=30 * i) for i in range(8)]
    bars = make_bars([_minute("AAA", instant, 10.0) for instant in instants])
    # WHEN
    result = resample(bars, 1, "Hourly")
    # THEN four one-hour buckets: 00:00 EDT, 01:00 EDT, 01:00 EST, 02:00 EST
    starts = _column(result, "period_start")
    assert [s.astimezone(UTC).hour for s in starts] == [4, 5, 6, 7]  # type: ignore[attr-defined]
    assert [s.strftime("%H:%M %Z") for s in starts] == [
        "00:00 EDT",
        "01:00 EDT",
        "01:00 EST",
        "02:00 EST",
    ]  # type: ignore[attr-defined]
    assert _column(result, "volume") == [20, 20, 20, 20]


def test_given_the_fall_back_night_when_resampling_to_4_hours_then_buckets_follow_the_wall_clock(
    make_bars: MakeBars,
) -> None:
    # GIVEN hourly bars from 00:00 EDT (04:00 UTC) to 05:00 EST (10:00 UTC)
    instants = [datetime(2024, 11, 3, 4, tzinfo=UTC) + timedelta(hours=i) for i in range(7)]
    bars = make_bars([_minute("AAA", instant, 10.0) for instant in instants])
    # WHEN
    result = resample(bars, 4, "Hourly")
    # THEN 00:00-04:00 local holds five real hours, 04:00-08:00 the remaining two
    local_starts = [
        s.astimezone(NEW_YORK).strftime("%H:%M") for s in _column(result, "period_start")
    ]  # type: ignore[attr-defined]
    assert local_starts == ["00:00", "04:00"]
    assert _column(result, "volume") == [50, 20]


def test_given_spring_forward_when_resampling_to_2_hours_then_the_skipped_start_is_the_jump(
    make_bars: MakeBars,
) -> None:
    # GIVEN bars at 01:30 EST and 03:30 EDT on 2024-03-10 (02:00 local does not exist)
    instants = [datetime(2024, 3, 10, 6, 30, tzinfo=UTC), datetime(2024, 3, 10, 7, 30, tzinfo=UTC)]
    bars = make_bars([_minute("AAA", instant, 10.0) for instant in instants])
    # WHEN
    result = resample(bars, 2, "Hourly")
    # THEN the 02:00-04:00 bucket begins when the clock jumps, 03:00 EDT = 07:00 UTC
    starts = [s.astimezone(UTC) for s in _column(result, "period_start")]  # type: ignore[attr-defined]
    assert starts == [datetime(2024, 3, 10, 5, tzinfo=UTC), datetime(2024, 3, 10, 7, tzinfo=UTC)]


def test_given_an_evening_bar_in_utc_when_resampling_daily_then_the_new_york_date_is_used(
    make_bars: MakeBars,
) -> None:
    # GIVEN 2024-01-03 02:00 UTC, which is still 2024-01-02 in New York
    bars = make_bars([_minute("AAA", datetime(2024, 1, 3, 2, tzinfo=UTC), 10.0)])
    # WHEN
    in_new_york = resample(bars, 1, "Daily")
    in_utc = resample(bars, 1, "Daily", timezone="UTC")
    # THEN
    assert _column(in_new_york, "period_start") == [date(2024, 1, 2)]
    assert _column(in_utc, "period_start") == [date(2024, 1, 3)]


def test_given_vwap_and_trade_count_when_resampling_then_they_are_weighted_and_summed(
    make_bars: MakeBars,
) -> None:
    # GIVEN two bars, vwap 10 on 100 shares and 13 on 200 shares
    start = datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK)
    rows = [
        _minute("AAA", start, 10.0, 100),
        _minute("AAA", start + timedelta(minutes=1), 13.0, 200),
    ]
    bars = make_bars(rows, vwap=[10.0, 13.0], trade_count=[4, 6])
    # WHEN
    result = resample(bars, 5, "Minute")
    # THEN
    assert _column(result, "vwap") == [pytest.approx((10.0 * 100 + 13.0 * 200) / 300)]
    assert _column(result, "trade_count") == [10]


@pytest.mark.parametrize("interval", [1, 2])  # 2: every bucket two bars (strided sums)
def test_given_an_unknown_trade_count_when_resampling_then_only_its_bucket_is_unknown(
    make_bars: MakeBars, interval: int
) -> None:
    # GIVEN four minute bars whose third trade count is unknown (a store keeps such bars)
    start = datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK)
    rows = [_minute("AAA", start + timedelta(minutes=i), 10.0, 100) for i in range(4)]
    bars = make_bars(rows, trade_count=pa.array([4, 6, None, 1], pa.int64()))
    # WHEN
    result = resample(bars, interval, "Minute")
    # THEN
    expected = [4, 6, None, 1] if interval == 1 else [10, None]
    assert _column(result, "trade_count") == expected


def test_given_a_bucket_without_volume_when_resampling_vwap_then_it_is_null(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    start = datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK)
    bars = make_bars([_minute("AAA", start, 10.0, 0)], vwap=[10.0])
    # WHEN
    result = resample(bars, 1, "Hourly")
    # THEN
    assert _column(result, "vwap") == [None]


@pytest.mark.parametrize("interval", [0, -3, 1_000_001, 1.5, True, "2"])
def test_given_an_invalid_interval_when_resampling_then_the_parameter_is_named(
    make_bars: MakeBars, interval: object
) -> None:
    # GIVEN
    bars = make_bars([_daily("AAA", date(2024, 1, 2), 10.0)])
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        resample(bars, interval, "Daily")  # type: ignore[arg-type]
    # THEN
    assert caught.value.parameter == "interval"


def test_given_an_unknown_frequency_when_resampling_then_the_choices_are_listed(
    make_bars: MakeBars,
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        resample(make_bars([]), 1, "Fortnightly")
    # THEN
    assert caught.value.parameter == "frequency"
    assert "Quarterly" in (caught.value.allowed or [])


def test_given_an_unknown_time_zone_when_resampling_then_the_parameter_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars([_daily("AAA", date(2024, 1, 2), 10.0)])
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        resample(bars, 1, "Daily", timezone="Mars/Olympus_Mons")
    # THEN
    assert caught.value.parameter == "timezone"


def test_given_bad_bars_when_resampling_then_the_bars_error_surfaces(make_bars: MakeBars) -> None:
    # GIVEN two bars with the same timestamp
    row = _daily("AAA", date(2024, 1, 2), 10.0)
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="duplicate"):
        resample(make_bars([row, row]), 1, "Daily")


def test_given_resampled_bars_when_resampling_again_then_raw_bars_are_asked_for(
    make_bars: MakeBars,
) -> None:
    # GIVEN monthly bars
    monthly = resample(make_bars([_daily("AAA", date(2024, 1, 2), 10.0)]), 1, "Monthly")
    # WHEN
    with pytest.raises(InvalidBarsError, match="raw bars") as caught:
        resample(monthly, 1, "Annual")
    # THEN
    assert caught.value.column == "timestamp"


@pytest.mark.parametrize("interval", [1, 2, 5])
def test_given_regular_minute_bars_when_resampling_then_the_fast_paths_match_reduceat(
    make_bars: MakeBars, monkeypatch: pytest.MonkeyPatch, interval: int
) -> None:
    # GIVEN two symbols of 20 consecutive minute bars, so every bucket has `interval` bars
    # (one bar: the bars themselves; a few: strided passes), with a vwap missing on a
    # traded bar and a bar without volume
    start = datetime(2024, 7, 1, 9, 30, tzinfo=NEW_YORK)
    rows = [
        _minute(symbol, start + timedelta(minutes=i), 10.0 + (i * 7 % 5), (i * 37) % 11)
        for symbol in ("AAA", "BBB")
        for i in range(20)
    ]
    vwaps: list[float | None] = [10.0 + (i % 3) for i in range(40)]
    vwaps[7] = None
    bars = make_bars(rows, vwap=vwaps, trade_count=[i % 4 for i in range(40)])
    fast = resample(bars, interval, "Minute")
    # WHEN every bucket is aggregated by reduceat instead
    monkeypatch.setattr(_resample, "_equal_size", lambda *_: 0)
    general = resample(bars, interval, "Minute")
    # THEN
    assert fast.num_rows == 40 // interval
    assert fast.equals(general)
