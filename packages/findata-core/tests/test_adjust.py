"""adjust_bars: backward adjustment for splits and cash dividends, as CRSP and Yahoo do it.

The expected figures of the hand-worked examples are worked out in the comments; the
property test and the TA-Lib parity test compare with ``reference_adjust``, a per-row
plain-Python reading of the definition (``zoneinfo`` dates, one loop per bar and action),
sharing no code with findata's vectorised implementation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from findata.core import (
    BAR_SCHEMA,
    Adjustment,
    InvalidBarsError,
    InvalidParameterError,
    SkipReason,
    adjust_bars,
    compute_indicator,
    resample,
    resample_adjusted,
)

MakeBars = Callable[..., pa.Table]
NEW_YORK = ZoneInfo("America/New_York")
PRICES = ("open", "high", "low", "close")


def _daily(symbol: str, day: date, o: float, h: float, lo: float, c: float, v: int) -> tuple:
    """A daily bar: 00:00 of its trading date in New York, as the bar contract says."""
    return (symbol, datetime(day.year, day.month, day.day, tzinfo=NEW_YORK), o, h, lo, c, v)


def _splits(*rows: tuple[str, date, float, float]) -> pa.Table:
    symbols, days, froms, tos = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "symbol": pa.array(symbols, pa.string()),
            "ex_date": pa.array(days, pa.date32()),
            "split_from": pa.array(froms, pa.float64()),
            "split_to": pa.array(tos, pa.float64()),
        }
    )


def _dividends(*rows: tuple[str, date, float], reference: Sequence[float | None] = ()) -> pa.Table:
    symbols, days, cash = zip(*rows, strict=True) if rows else ((), (), ())
    table = pa.table(
        {
            "symbol": pa.array(symbols, pa.string()),
            "ex_date": pa.array(days, pa.date32()),
            "cash_amount": pa.array(cash, pa.float64()),
        }
    )
    if reference:
        table = table.append_column("reference_close", pa.array(reference, pa.float64()))
    return table


def _column(table: pa.Table, name: str) -> list[Any]:
    return table.column(name).to_pylist()


# --- a hand-worked week -----------------------------------------------------------------

WEEK = [date(2024, 6, 3) + timedelta(days=i) for i in range(5)]  # Monday..Friday
# A 2-for-1 split goes ex on Wednesday; a 0.51 dividend on Thursday.
WEEK_ROWS = [
    _daily("ABC", WEEK[0], 98.0, 101.0, 97.0, 100.0, 1000),
    _daily("ABC", WEEK[1], 100.0, 103.0, 99.0, 102.0, 1200),
    _daily("ABC", WEEK[2], 51.0, 52.0, 50.0, 51.0, 2500),
    _daily("ABC", WEEK[3], 50.5, 51.0, 50.0, 50.5, 2000),
    _daily("ABC", WEEK[4], 51.0, 52.5, 50.8, 52.0, 1800),
]
WEEK_SPLITS = _splits(("ABC", WEEK[2], 1.0, 2.0))
WEEK_DIVIDENDS = _dividends(("ABC", WEEK[3], 0.51))


def test_given_a_split_and_a_dividend_when_adjusting_for_splits_then_earlier_bars_halve(
    make_bars: MakeBars,
) -> None:
    # GIVEN the week above
    bars = make_bars(WEEK_ROWS)
    # WHEN
    adjusted, report = adjust_bars(bars, WEEK_SPLITS, WEEK_DIVIDENDS, "split")
    # THEN Monday and Tuesday (before Wednesday's ex-date) x 1/2, their volume x 2;
    # Wednesday on is as traded
    assert _column(adjusted, "open") == [49.0, 50.0, 51.0, 50.5, 51.0]
    assert _column(adjusted, "high") == [50.5, 51.5, 52.0, 51.0, 52.5]
    assert _column(adjusted, "low") == [48.5, 49.5, 50.0, 50.0, 50.8]
    assert _column(adjusted, "close") == [50.0, 51.0, 51.0, 50.5, 52.0]
    assert _column(adjusted, "volume") == [2000, 2400, 2500, 2000, 1800]
    assert report.adjustment is Adjustment.SPLIT
    assert report.skipped_dividends == ()


def test_given_a_split_and_a_dividend_when_adjusting_for_dividends_then_prices_scale(
    make_bars: MakeBars,
) -> None:
    # GIVEN the week above: the close before Thursday's ex-date is Wednesday's 51, so the
    # factor is 1 - 0.51 / 51 = 0.99 for Monday..Wednesday
    bars = make_bars(WEEK_ROWS)
    # WHEN
    adjusted, report = adjust_bars(bars, WEEK_SPLITS, WEEK_DIVIDENDS, "dividend")
    # THEN closes 100, 102, 51 x 0.99 = 99, 100.98, 50.49; volumes unchanged
    assert _column(adjusted, "close") == pytest.approx([99.0, 100.98, 50.49, 50.5, 52.0], rel=1e-12)
    assert _column(adjusted, "open") == pytest.approx([97.02, 99.0, 50.49, 50.5, 51.0], rel=1e-12)
    assert _column(adjusted, "volume") == [1000, 1200, 2500, 2000, 1800]
    assert report.skipped_dividends == ()


def test_given_a_split_and_a_dividend_when_adjusting_for_all_then_both_factors_apply(
    make_bars: MakeBars,
) -> None:
    # GIVEN the week above
    bars = make_bars(WEEK_ROWS)
    # WHEN
    adjusted, _ = adjust_bars(bars, WEEK_SPLITS, WEEK_DIVIDENDS, Adjustment.ALL)
    # THEN Monday and Tuesday x 0.5 x 0.99 = 0.495, Wednesday x 0.99:
    #   Monday    98, 101, 97, 100  -> 48.51, 49.995, 48.015, 49.5
    #   Tuesday  100, 103, 99, 102  -> 49.5, 50.985, 49.005, 50.49
    #   Wednesday 51,  52, 50,  51  -> 50.49, 51.48, 49.5, 50.49
    expected = {
        "open": [48.51, 49.5, 50.49, 50.5, 51.0],
        "high": [49.995, 50.985, 51.48, 51.0, 52.5],
        "low": [48.015, 49.005, 49.5, 50.0, 50.8],
        "close": [49.5, 50.49, 50.49, 50.5, 52.0],
    }
    for name, values in expected.items():
        assert _column(adjusted, name) == pytest.approx(values, rel=1e-12), name
    assert _column(adjusted, "volume") == [2000, 2400, 2500, 2000, 1800]
    assert adjusted.schema == bars.schema


def test_given_raw_when_adjusting_then_the_bars_come_back_as_given(make_bars: MakeBars) -> None:
    # GIVEN
    bars = make_bars(WEEK_ROWS)
    # WHEN
    adjusted, report = adjust_bars(bars, WEEK_SPLITS, WEEK_DIVIDENDS, "RAW")
    # THEN
    assert adjusted.equals(bars)
    assert report.adjustment is Adjustment.RAW
    assert report.skipped_dividends == ()


def test_given_a_reverse_split_when_adjusting_then_prices_multiply_and_volumes_round_half_even(
    make_bars: MakeBars,
) -> None:
    # GIVEN a 1-for-10 reverse split (split_from 10, split_to 1) ex on Thursday
    rows = [
        _daily("REV", WEEK[0], 1.2, 1.25, 1.15, 1.23, 1005),
        _daily("REV", WEEK[1], 1.23, 1.3, 1.2, 1.21, 1015),
        _daily("REV", WEEK[2], 1.21, 1.22, 1.18, 1.19, 7),
        _daily("REV", WEEK[3], 11.9, 12.4, 11.8, 12.3, 300),
    ]
    # WHEN
    adjusted, _ = adjust_bars(make_bars(rows), _splits(("REV", WEEK[3], 10.0, 1.0)), None, "all")
    # THEN prices before Thursday x 10; volumes / 10, to the nearest integer, halves to even:
    # 1005 -> 100.5 -> 100, 1015 -> 101.5 -> 102, 7 -> 0.7 -> 1
    assert _column(adjusted, "close") == pytest.approx([12.3, 12.1, 11.9, 12.3], rel=1e-12)
    assert _column(adjusted, "high") == pytest.approx([12.5, 13.0, 12.2, 12.4], rel=1e-12)
    assert _column(adjusted, "volume") == [100, 102, 1, 300]


# --- edges: first bar, before and after the bars ---------------------------------------


def test_given_a_dividend_on_the_first_bar_when_adjusting_then_it_is_skipped_and_reported(
    make_bars: MakeBars,
) -> None:
    # GIVEN a dividend going ex on Monday, the first bar: no earlier close to divide by
    bars = make_bars(WEEK_ROWS)
    dividends = _dividends(("ABC", WEEK[0], 0.5))
    # WHEN
    adjusted, report = adjust_bars(bars, None, dividends, "dividend")
    # THEN nothing changes, and the report says why
    assert adjusted.equals(bars)
    (skipped,) = report.skipped_dividends
    assert (skipped.symbol, skipped.ex_date, skipped.cash_amount) == ("ABC", WEEK[0], 0.5)
    assert skipped.reason is SkipReason.NO_EARLIER_BAR
    assert skipped.close is None
    assert report.warnings == (
        "dividend of 0.5 of ABC on 2024-06-03 not applied: "
        "no bar before its ex-date gives the close to divide by",
    )


def test_given_a_dividend_not_below_the_close_when_adjusting_then_it_is_skipped_and_reported(
    make_bars: MakeBars,
) -> None:
    # GIVEN 51 paid on Thursday, the day after a close of 51 (1 - 51/51 would be 0), and a
    # regular 0.5 paid on Friday (after Thursday's close of 50.5: factor 1 - 0.5/50.5)
    bars = make_bars(WEEK_ROWS)
    dividends = _dividends(("ABC", WEEK[3], 51.0), ("ABC", WEEK[4], 0.5))
    # WHEN
    adjusted, report = adjust_bars(bars, None, dividends, "dividend")
    # THEN only Friday's applies, and Thursday's is reported with the close it met
    factor = 1 - 0.5 / 50.5
    assert _column(adjusted, "close") == pytest.approx(
        [100 * factor, 102 * factor, 51 * factor, 50.5 * factor, 52.0], rel=1e-12
    )
    (skipped,) = report.skipped_dividends
    assert skipped.reason is SkipReason.CASH_NOT_BELOW_CLOSE
    assert (skipped.ex_date, skipped.close) == (WEEK[3], 51.0)
    assert "not below the close of 51" in report.warnings[0]


def test_given_actions_before_any_bar_when_adjusting_then_no_bar_changes(
    make_bars: MakeBars,
) -> None:
    # GIVEN a split and a dividend a month before the first bar
    bars = make_bars(WEEK_ROWS)
    early = date(2024, 5, 1)
    # WHEN
    adjusted, report = adjust_bars(
        bars, _splits(("ABC", early, 1.0, 4.0)), _dividends(("ABC", early, 0.2)), "all"
    )
    # THEN every bar is on or after both ex-dates; the dividend had no close to work with
    assert adjusted.equals(bars)
    assert [entry.reason for entry in report.skipped_dividends] == [SkipReason.NO_EARLIER_BAR]


def test_given_actions_after_the_last_bar_when_adjusting_then_every_bar_is_adjusted(
    make_bars: MakeBars,
) -> None:
    # GIVEN a 3-for-1 split and a dividend of 1.04 ex on Monday 2024-06-10, after the last
    # bar (Friday, close 52): every bar is before both ex-dates
    bars = make_bars(WEEK_ROWS)
    monday = date(2024, 6, 10)
    splits = _splits(("ABC", monday, 1.0, 3.0))
    # WHEN
    adjusted, report = adjust_bars(bars, splits, _dividends(("ABC", monday, 1.04)), "all")
    # THEN the factor is 1/3 x (1 - 1.04 / 52) = 1/3 x 0.98 for all; volumes x 3
    factor = 0.98 / 3
    assert _column(adjusted, "close") == pytest.approx(
        [100 * factor, 102 * factor, 51 * factor, 50.5 * factor, 52 * factor], rel=1e-12
    )
    assert _column(adjusted, "volume") == [3000, 3600, 7500, 6000, 5400]
    assert report.skipped_dividends == ()


def test_given_a_reference_close_when_bars_end_before_the_ex_date_then_it_replaces_the_last_close(
    make_bars: MakeBars,
) -> None:
    # GIVEN bars up to Friday 2024-06-07 (close 52) and a dividend of 2 ex on 2024-07-01,
    # whose true close before the ex-date (40, on 2024-06-28) is beyond these bars
    bars = make_bars(WEEK_ROWS)
    dividends = _dividends(("ABC", date(2024, 7, 1), 2.0), reference=[40.0])
    # WHEN
    adjusted, _ = adjust_bars(bars, None, dividends, "dividend")
    # THEN the factor is 1 - 2 / 40 = 0.95, not 1 - 2 / 52
    assert _column(adjusted, "close") == pytest.approx([95.0, 96.9, 48.45, 47.975, 49.4], rel=1e-12)


def test_given_several_symbols_when_adjusting_then_each_symbol_gets_only_its_own_actions(
    make_bars: MakeBars,
) -> None:
    # GIVEN AAA and BB with the same bars (BB's first), a split of AAA, a dividend of BB
    # on the same day, and actions of a symbol without bars
    rows = [("BB", *row[1:]) for row in WEEK_ROWS] + [("AAA", *row[1:]) for row in WEEK_ROWS]
    bars = make_bars(rows)
    splits = _splits(("AAA", WEEK[2], 1.0, 2.0), ("ZZZ", WEEK[1], 1.0, 7.0))
    dividends = _dividends(("BB", WEEK[2], 1.02), ("ZZZ", WEEK[0], 9.0))
    # WHEN
    adjusted, report = adjust_bars(bars, splits, dividends, "all")
    # THEN BB's rows (first) carry only its dividend: 1 - 1.02 / 102 = 0.99 before
    # Wednesday; AAA's rows only the split: 0.5 before Wednesday, volume x 2
    assert _column(adjusted, "symbol") == ["BB"] * 5 + ["AAA"] * 5
    assert _column(adjusted, "close") == pytest.approx(
        [99.0, 100.98, 51.0, 50.5, 52.0, 50.0, 51.0, 51.0, 50.5, 52.0], rel=1e-12
    )
    bb_volumes, aaa_volumes = [1000, 1200, 2500, 2000, 1800], [2000, 2400, 2500, 2000, 1800]
    assert _column(adjusted, "volume") == [*bb_volumes, *aaa_volumes]
    assert report.skipped_dividends == ()  # ZZZ has no bars: its actions are not ours


# --- the exchange's trading date ------------------------------------------------------


def test_given_intraday_bars_when_adjusting_then_the_ex_date_begins_at_new_york_midnight(
    make_bars: MakeBars,
) -> None:
    # GIVEN minute bars around a 2-for-1 split and a dividend of 1.01, both ex on
    # Wednesday 2024-06-05. New York is UTC-4 in June:
    #   2024-06-04 19:59 UTC = 15:59 Tuesday           close 100
    #   2024-06-04 23:30 UTC = 19:30 Tuesday           close 100.5
    #   2024-06-05 03:30 UTC = 23:30 Tuesday (UTC date Wednesday)   close 101
    #   2024-06-05 04:30 UTC = 00:30 Wednesday         close 50
    #   2024-06-05 13:30 UTC = 09:30 Wednesday         close 50.5
    stamps = [
        datetime(2024, 6, 4, 19, 59, tzinfo=UTC),
        datetime(2024, 6, 4, 23, 30, tzinfo=UTC),
        datetime(2024, 6, 5, 3, 30, tzinfo=UTC),
        datetime(2024, 6, 5, 4, 30, tzinfo=UTC),
        datetime(2024, 6, 5, 13, 30, tzinfo=UTC),
    ]
    closes = [100.0, 100.5, 101.0, 50.0, 50.5]
    bars = make_bars([("MIN", t, c, c, c, c, 10) for t, c in zip(stamps, closes, strict=True)])
    ex_date = date(2024, 6, 5)
    # WHEN
    adjusted, _ = adjust_bars(
        bars, _splits(("MIN", ex_date, 1.0, 2.0)), _dividends(("MIN", ex_date, 1.01)), "all"
    )
    # THEN the three bars of Tuesday (New York) are adjusted; C is the close of the last
    # one (101), so the factor is 0.5 x (1 - 1.01 / 101) = 0.5 x 0.99 = 0.495
    assert _column(adjusted, "close") == pytest.approx(
        [49.5, 49.7475, 49.995, 50.0, 50.5], rel=1e-12
    )
    assert _column(adjusted, "volume") == [20, 20, 20, 10, 10]


def test_given_tokyo_bars_when_adjusting_then_tokyo_dates_decide(make_bars: MakeBars) -> None:
    # GIVEN a 1-for-2 reverse split ex on 2024-06-05 and bars at
    #   2024-06-04 14:00 UTC = 23:00 on 06-04 in Tokyo (UTC+9)   -> before the ex-date
    #   2024-06-04 23:30 UTC = 08:30 on 06-05 in Tokyo           -> on it
    stamps = [datetime(2024, 6, 4, 14, tzinfo=UTC), datetime(2024, 6, 4, 23, 30, tzinfo=UTC)]
    bars = make_bars([("JP", t, 100.0, 100.0, 100.0, 100.0, 9) for t in stamps])
    # WHEN
    adjusted, _ = adjust_bars(
        bars, _splits(("JP", date(2024, 6, 5), 2.0, 1.0)), None, "split", timezone="Asia/Tokyo"
    )
    # THEN only the first is adjusted: x 2, volume 9 / 2 = 4.5 -> 4 (half to even)
    assert _column(adjusted, "close") == [200.0, 100.0]
    assert _column(adjusted, "volume") == [4, 9]


def test_given_a_clock_set_back_across_midnight_when_adjusting_then_each_bars_own_date_counts(
    make_bars: MakeBars,
) -> None:
    # GIVEN St. John's, where on 2010-11-07 clocks went from 00:01 NDT (UTC-2:30) back to
    # 23:01 NST (UTC-3:30) on the 6th, so a bar of the 7th precedes bars of the 6th
    zone = ZoneInfo("America/St_Johns")
    stamps = [
        datetime(2010, 11, 7, 2, 0, tzinfo=UTC),  # 23:30 on the 6th
        datetime(2010, 11, 7, 2, 30, 30, tzinfo=UTC),  # 00:00:30 on the 7th
        datetime(2010, 11, 7, 2, 40, tzinfo=UTC),  # 23:10 on the 6th again
        datetime(2010, 11, 7, 3, 40, tzinfo=UTC),  # 00:10 on the 7th
    ]
    assert [t.astimezone(zone).day for t in stamps] == [6, 7, 6, 7]
    closes = [10.0, 20.0, 40.0, 30.0]
    bars = make_bars([("NF", t, c, c, c, c, 5) for t, c in zip(stamps, closes, strict=True)])
    ex_date = date(2010, 11, 7)
    # WHEN
    adjusted, _ = adjust_bars(
        bars,
        _splits(("NF", ex_date, 1.0, 2.0)),
        _dividends(("NF", ex_date, 4.0)),
        "all",
        timezone="America/St_Johns",
    )
    # THEN the bars dated the 6th are adjusted, and C is the last of them (40):
    # factor 0.5 x (1 - 4 / 40) = 0.45
    assert _column(adjusted, "close") == pytest.approx([4.5, 20.0, 18.0, 30.0], rel=1e-12)
    assert _column(adjusted, "volume") == [10, 5, 10, 5]


# --- columns, schema and adjustment before resampling and indicators --------------------


def test_given_vwap_and_trade_count_when_adjusting_then_vwap_is_a_price_and_counts_stay(
    make_bars: MakeBars,
) -> None:
    # GIVEN the week with vwap (one unknown) and trade counts
    bars = make_bars(
        WEEK_ROWS, vwap=[99.5, None, 51.2, 50.4, 51.7], trade_count=[10, 11, 12, 13, 14]
    )
    # WHEN
    adjusted, _ = adjust_bars(bars, WEEK_SPLITS, None, "split")
    # THEN
    assert _column(adjusted, "vwap") == [49.75, None, 51.2, 50.4, 51.7]
    assert _column(adjusted, "trade_count") == [10, 11, 12, 13, 14]
    assert adjusted.schema == bars.schema


def test_given_a_split_midweek_when_adjusting_then_resampling_then_the_week_is_consistent(
    make_bars: MakeBars,
) -> None:
    # GIVEN two weeks of daily bars with a 2-for-1 split ex on Wednesday 2024-06-05
    first_week = [
        _daily("WK", WEEK[0], 100.0, 104.0, 99.0, 102.0, 1000),
        _daily("WK", WEEK[1], 102.0, 106.0, 101.0, 104.0, 1100),
        _daily("WK", WEEK[2], 52.0, 53.0, 51.0, 52.5, 2400),
        _daily("WK", WEEK[3], 52.5, 54.0, 52.0, 53.0, 2200),
        _daily("WK", WEEK[4], 53.0, 53.5, 51.5, 52.0, 2000),
    ]
    second_week = [
        _daily("WK", day + timedelta(days=7), 52.0, 53.0, 51.0, 52.0, 2000) for day in WEEK
    ]
    bars = make_bars(first_week + second_week)
    splits = _splits(("WK", WEEK[2], 1.0, 2.0))
    # WHEN
    adjusted, _ = adjust_bars(bars, splits, None, "split")
    weekly = resample(adjusted, 1, "Weekly")
    # THEN week 1: Monday 50, 52, 49.5, 51 (2000) and Tuesday 51, 53, 50.5, 52 (2200) join
    # Wednesday..Friday as traded: open 50, high max(52, 53, 53, 54, 53.5) = 54,
    # low min(49.5, 50.5, 51, 52, 51.5) = 49.5, close 52, volume 2000 + 2200 + 6600 = 10800
    # (raw, the week would have opened at 100 with a low of 51: a fake 50% drop)
    assert weekly.to_pylist() == [
        {
            "symbol": "WK",
            "period_start": WEEK[0],
            "open": 50.0,
            "high": 54.0,
            "low": 49.5,
            "close": 52.0,
            "volume": 10800,
        },
        {
            "symbol": "WK",
            "period_start": WEEK[0] + timedelta(days=7),
            "open": 52.0,
            "high": 53.0,
            "low": 51.0,
            "close": 52.0,
            "volume": 10000,
        },
    ]


# --- bad input --------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["all", "ALL", " Split ", "dividend", Adjustment.RAW])
def test_given_an_adjustment_in_any_case_when_parsing_then_it_is_read(value: str) -> None:
    # WHEN
    parsed = Adjustment.parse(value)
    # THEN
    assert parsed.value == str(value).strip().lower()


def test_given_an_unknown_adjustment_when_adjusting_then_the_parameter_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars(WEEK_ROWS)
    # WHEN / THEN
    with pytest.raises(InvalidParameterError) as caught:
        adjust_bars(bars, None, None, "splits")
    assert caught.value.parameter == "adjustment"
    assert caught.value.value == "splits"
    assert caught.value.allowed == ["raw", "split", "dividend", "all"]


def test_given_an_unknown_time_zone_when_adjusting_then_the_parameter_is_named(
    make_bars: MakeBars,
) -> None:
    # WHEN / THEN
    with pytest.raises(InvalidParameterError) as caught:
        adjust_bars(make_bars(WEEK_ROWS), None, None, "all", timezone="Mars/Olympus")
    assert caught.value.parameter == "timezone"


def test_given_unordered_bars_when_adjusting_then_the_row_is_named(make_bars: MakeBars) -> None:
    # GIVEN Tuesday before Monday
    bars = make_bars([WEEK_ROWS[1], WEEK_ROWS[0], *WEEK_ROWS[2:]])
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        adjust_bars(bars, WEEK_SPLITS, None, "split")
    assert (caught.value.row, caught.value.column) == (1, "timestamp")


def test_given_a_second_symbol_out_of_order_when_adjusting_then_its_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN ABC's week in order, then XYZ starting earlier (allowed) but stepping back
    xyz = [("XYZ", *row[1:]) for row in (WEEK_ROWS[0], WEEK_ROWS[2], WEEK_ROWS[1])]
    bars = make_bars([*WEEK_ROWS, *xyz])
    # WHEN / THEN the step back inside XYZ is named, not XYZ's first row
    with pytest.raises(InvalidBarsError, match="'XYZ' at row 7") as caught:
        adjust_bars(bars, WEEK_SPLITS, None, "split")
    assert (caught.value.row, caught.value.column) == (7, "timestamp")


def test_given_symbols_of_one_width_when_adjusting_then_each_gets_only_its_own_actions(
    make_bars: MakeBars,
) -> None:
    # GIVEN ABC and ABD, of the same width, and a split of ABC only
    abd = [("ABD", *row[1:]) for row in WEEK_ROWS]
    # WHEN
    adjusted, _ = adjust_bars(make_bars([*WEEK_ROWS, *abd]), WEEK_SPLITS, None, "split")
    # THEN ABC's Monday halves, ABD's stays
    assert _column(adjusted, "close")[0] == 50.0
    assert _column(adjusted, "close")[5] == 100.0


def test_given_a_symbol_split_in_two_runs_when_adjusting_then_the_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN AAA, BB, AAA
    rows = [WEEK_ROWS[0], ("BB", *WEEK_ROWS[1][1:]), WEEK_ROWS[2]]
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        adjust_bars(make_bars(rows), WEEK_SPLITS, None, "split")
    assert (caught.value.row, caught.value.column) == (2, "symbol")


def test_given_resampled_bars_when_adjusting_then_it_says_to_adjust_first(
    make_bars: MakeBars,
) -> None:
    # GIVEN weekly bars
    weekly = resample(make_bars(WEEK_ROWS), 1, "Weekly")
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="then resample"):
        adjust_bars(weekly, WEEK_SPLITS, None, "split")


def test_given_uncast_bars_when_adjusting_then_it_points_to_validate_bars(
    make_bars: MakeBars,
) -> None:
    # GIVEN volumes as floats
    bars = make_bars(WEEK_ROWS)
    bars = bars.set_column(6, "volume", bars.column("volume").cast(pa.float64()))
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="validate_bars") as caught:
        adjust_bars(bars, WEEK_SPLITS, None, "split")
    assert caught.value.column == "volume"


def test_given_a_volume_too_large_once_adjusted_when_adjusting_then_the_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN a 10**12-for-1 split after a bar of 10**7 shares: 10**19 > int64
    rows = [WEEK_ROWS[0], (*WEEK_ROWS[1][:6], 10**7), *WEEK_ROWS[2:]]
    splits = _splits(("ABC", WEEK[2], 1.0, 1e12))
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="exceeds int64") as caught:
        adjust_bars(make_bars(rows), splits, None, "split")
    assert (caught.value.row, caught.value.column) == (1, "volume")


def test_given_a_fractional_split_too_large_once_adjusted_when_adjusting_then_the_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN a 2-for-3e12 split (a fractional volume multiplier) after a bar of 10**7 shares
    rows = [WEEK_ROWS[0], (*WEEK_ROWS[1][:6], 10**7), *WEEK_ROWS[2:]]
    splits = _splits(("ABC", WEEK[2], 2.0, 3e12))
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match=r"row 1 adjusted for splits \(1.5e\+19\)"):
        adjust_bars(make_bars(rows), splits, None, "split")


@pytest.mark.parametrize(("split_from", "split_to"), [(1.0, 1e12), (2.0, 3e12)])
def test_given_a_volume_too_large_once_adjusted_when_resampling_adjusted_then_the_row_is_named(
    make_bars: MakeBars, split_from: float, split_to: float
) -> None:
    # GIVEN a whole and a fractional split multiplier that take a bar of 10**7 shares
    # beyond int64
    rows = [WEEK_ROWS[0], (*WEEK_ROWS[1][:6], 10**7), *WEEK_ROWS[2:]]
    splits = _splits(("ABC", WEEK[2], split_from, split_to))
    # WHEN / THEN weekly periods of the adjusted bars fail as adjusting them does
    with pytest.raises(InvalidBarsError, match="exceeds int64") as caught:
        resample_adjusted(make_bars(rows), splits, None, "split", 1, "Weekly")
    assert (caught.value.row, caught.value.column) == (1, "volume")


def test_given_a_checked_split_table_then_a_bad_one_when_adjusting_then_the_bad_one_fails(
    make_bars: MakeBars,
) -> None:
    # GIVEN a split table used twice (checked once, remembered), then freed
    bars = make_bars(WEEK_ROWS)
    good = _splits(("ABC", WEEK[2], 1.0, 2.0))
    first, _ = adjust_bars(bars, good, None, "split")
    again, _ = adjust_bars(bars, good, None, "split")
    del good
    # WHEN a new table with a bad ratio comes (it may even get the freed table's id)
    bad = _splits(("ABC", WEEK[2], 1.0, -2.0))
    # THEN the remembered check does not stand in for it
    assert again.equals(first)
    with pytest.raises(InvalidBarsError, match="split_to must be a positive"):
        adjust_bars(bars, bad, None, "split")


def test_given_a_bad_split_when_adjusting_then_the_split_is_named(make_bars: MakeBars) -> None:
    # GIVEN a split to zero shares
    splits = _splits(("ABC", WEEK[2], 1.0, 0.0))
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="split_to must be a positive") as caught:
        adjust_bars(make_bars(WEEK_ROWS), splits, None, "split")
    assert (caught.value.row, caught.value.column) == (0, "split_to")


def test_given_no_bars_when_adjusting_then_the_empty_table_comes_back() -> None:
    # GIVEN
    bars = BAR_SCHEMA.empty_table()
    # WHEN
    adjusted, report = adjust_bars(bars, WEEK_SPLITS, WEEK_DIVIDENDS, "all")
    # THEN
    assert adjusted.equals(bars)
    assert report.skipped_dividends == ()


# --- against a per-row reference: TA-Lib parity and a property ---------------------------

Action = dict[str, Any]


def reference_adjust(
    bars: pa.Table,
    splits: list[Action],
    dividends: list[Action],
    adjustment: str,
    zone: str,
) -> tuple[dict[str, list[Any]], set[tuple[str, date, str]]]:
    """The definition read literally: for every bar, loop over every action of its symbol.

    Products are taken from the latest ex-date back; prices x (split x dividend factor),
    volume x product of split_to / split_from rounded by ``round`` (halves to even).
    """
    rows = bars.to_pylist()
    tz = ZoneInfo(zone)
    dates = [row["timestamp"].astimezone(tz).date() for row in rows]
    with_splits = adjustment in ("split", "all")
    with_dividends = adjustment in ("dividend", "all")
    applied: dict[str, list[tuple[date, float]]] = {}
    skipped: set[tuple[str, date, str]] = set()
    symbols = {row["symbol"] for row in rows}
    for dividend in sorted(dividends, key=lambda action: action["ex_date"]):
        symbol = dividend["symbol"]
        if not with_dividends or symbol not in symbols:
            continue
        before = [
            i
            for i, row in enumerate(rows)
            if row["symbol"] == symbol and dates[i] < dividend["ex_date"]
        ]
        close = dividend.get("reference_close")
        if close is None:
            if not before:
                skipped.add((symbol, dividend["ex_date"], "no_earlier_bar"))
                continue
            close = rows[before[-1]]["close"]
        if dividend["cash_amount"] >= close:
            skipped.add((symbol, dividend["ex_date"], "cash_not_below_close"))
            continue
        applied.setdefault(symbol, []).append(
            (dividend["ex_date"], 1.0 - dividend["cash_amount"] / close)
        )
    result: dict[str, list[Any]] = {name: [] for name in (*PRICES, "vwap", "volume")}
    latest_first = sorted(splits, key=lambda action: action["ex_date"], reverse=True)
    for i, row in enumerate(rows):
        split, multiplier, paid = 1.0, 1.0, 1.0
        if with_splits:
            for action in latest_first:
                if action["symbol"] == row["symbol"] and action["ex_date"] > dates[i]:
                    split *= action["split_from"] / action["split_to"]
                    multiplier *= action["split_to"] / action["split_from"]
        for ex_date, factor in reversed(applied.get(row["symbol"], [])):
            if ex_date > dates[i]:
                paid *= factor
        factor = split * paid
        for name in PRICES:
            result[name].append(row[name] * factor)
        result["vwap"].append(None if row.get("vwap") is None else row["vwap"] * factor)
        result["volume"].append(round(row["volume"] * multiplier))
    return result, skipped


def _as_actions(table: pa.Table) -> list[Action]:
    return table.to_pylist()


def _random_walk(rows: int, seed: int) -> pa.Table:
    """``rows`` daily bars of one symbol from 2020-01-02, every weekday."""
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.02, rows)))
    open_ = np.concatenate(([50.0], close[:-1]))
    high = np.maximum(open_, close) * (1 + rng.random(rows) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(rows) * 0.01)
    days = [
        d
        for d in (date(2020, 1, 2) + timedelta(days=i) for i in range(rows * 2))
        if d.weekday() < 5
    ]
    stamps = [datetime(d.year, d.month, d.day, tzinfo=NEW_YORK) for d in days[:rows]]
    return pa.Table.from_arrays(
        [
            pa.array(["TAL"] * rows),
            pa.array(stamps, BAR_SCHEMA.field("timestamp").type),
            pa.array(open_),
            pa.array(high),
            pa.array(low),
            pa.array(close),
            pa.array(rng.integers(1_000, 1_000_000, rows)),
        ],
        schema=BAR_SCHEMA,
    )


def test_given_adjusted_bars_when_computing_indicators_then_they_match_talib_on_the_reference() -> (
    None
):
    talib = pytest.importorskip("talib")
    # GIVEN 600 daily bars, two forward splits, a reverse split and eight dividends
    bars = _random_walk(600, seed=13)
    days = [row.date() for row in bars.column("timestamp").to_pylist()]
    splits = _splits(
        ("TAL", days[120], 1.0, 2.0), ("TAL", days[300], 3.0, 1.0), ("TAL", days[450], 2.0, 3.0)
    )
    dividends = _dividends(*(("TAL", days[40 + 70 * i], 0.2 + 0.01 * i) for i in range(8)))
    expected, skipped = reference_adjust(
        bars, _as_actions(splits), _as_actions(dividends), "all", "America/New_York"
    )
    assert skipped == set()
    high, low, close = (np.array(expected[name]) for name in ("high", "low", "close"))
    volume = np.array(expected["volume"], dtype=np.float64)
    # WHEN
    adjusted, _ = adjust_bars(bars, splits, dividends, "all")
    # THEN each indicator of the adjusted bars is TA-Lib's on the reference's series
    cases = [
        ("sma", {"window": 20}, "sma", talib.SMA(close, 20)),
        ("ema", {"window": 10}, "ema", talib.EMA(close, 10)),
        ("rsi", {"window": 14}, "rsi", talib.RSI(close, 14)),
        ("atr", {"window": 14}, "atr", talib.ATR(high, low, close, 14)),
        ("obv", {}, "obv", talib.OBV(close, volume)),
    ]
    for name, params, field, reference in cases:
        values = (
            compute_indicator(adjusted, name, params).column(field).to_numpy(zero_copy_only=False)
        )
        np.testing.assert_allclose(values, reference, rtol=1e-10, equal_nan=True, err_msg=name)


def test_given_hundreds_of_symbols_with_actions_when_adjusting_then_each_matches_the_reference(
    make_bars: MakeBars,
) -> None:
    # GIVEN 300 symbols of the week above, each with its own split and dividend (over a
    # thousand runs of rows with one factor: more than are multiplied run by run)
    names = [f"S{i:03d}" for i in range(300)]
    bars = make_bars([(name, *row[1:]) for name in names for row in WEEK_ROWS])
    splits = _splits(*((name, WEEK[1 + i % 4], 1.0, 2.0 + i % 3) for i, name in enumerate(names)))
    dividends = _dividends(
        *((name, WEEK[4 - i % 3], 0.1 + i / 1000) for i, name in enumerate(names))
    )
    # WHEN
    adjusted, report = adjust_bars(bars, splits, dividends, "all")
    # THEN
    expected, skipped = reference_adjust(
        bars, _as_actions(splits), _as_actions(dividends), "all", "America/New_York"
    )
    for name in PRICES:
        np.testing.assert_allclose(adjusted.column(name).to_numpy(), expected[name], rtol=1e-13)
    assert _column(adjusted, "volume") == expected["volume"]
    assert skipped == set()
    assert report.skipped_dividends == ()


ZONES = ["America/New_York", "Asia/Tokyo", "America/St_Johns"]
SPLIT_ROWS = pa.schema(
    [
        ("symbol", pa.string()),
        ("ex_date", pa.date32()),
        ("split_from", pa.float64()),
        ("split_to", pa.float64()),
    ]
)
DIVIDEND_ROWS = pa.schema(
    [
        ("symbol", pa.string()),
        ("ex_date", pa.date32()),
        ("cash_amount", pa.float64()),
        ("reference_close", pa.float64()),
    ]
)
SYMBOLS = ["AAA", "BB", "CCCC"]


@st.composite
def adjustment_cases(draw: st.DrawFn) -> tuple[pa.Table, list[Action], list[Action], str]:
    """Bars of up to three symbols at any hour, with splits and dividends around them."""
    zone = draw(st.sampled_from(ZONES))
    # St. John's set clocks back across midnight until 2011; other zones at any time.
    start = (
        datetime(2010, 11, 4, tzinfo=UTC)
        if zone == "America/St_Johns"
        else datetime(2023, 3, 1, tzinfo=UTC)
    )
    rows: list[dict[str, Any]] = []
    splits: list[Action] = []
    dividends: list[Action] = []
    symbols = sorted(draw(st.sets(st.sampled_from(SYMBOLS), min_size=1, max_size=3)))
    with_vwap = draw(st.booleans())
    for symbol in [*symbols, "ZZZ"]:
        instant = start + timedelta(minutes=draw(st.integers(0, 3000)))
        count = 0 if symbol == "ZZZ" else draw(st.integers(1, 25))
        for _ in range(count):
            close = draw(st.floats(1.0, 500.0))
            spread = draw(st.floats(0.0, 5.0))
            rows.append(
                {
                    "symbol": symbol,
                    "timestamp": instant,
                    "open": close,
                    "high": close + spread,
                    "low": max(close - spread, 0.5),
                    "close": close,
                    "volume": draw(st.integers(0, 10**7)),
                    "vwap": draw(st.none() | st.floats(1.0, 500.0)) if with_vwap else None,
                }
            )
            instant += timedelta(minutes=draw(st.integers(1, 2 * 24 * 60)))
        first = start.date() - timedelta(days=2)
        span = (instant.date() - first).days + 3
        for day in sorted(draw(st.sets(st.integers(0, span), max_size=3))):
            ratio = draw(
                st.sampled_from([(1.0, 2.0), (1.0, 4.0), (2.0, 3.0), (10.0, 1.0), (3.0, 2.0)])
            )
            splits.append(
                {
                    "symbol": symbol,
                    "ex_date": first + timedelta(days=day),
                    "split_from": ratio[0],
                    "split_to": ratio[1],
                }
            )
        dividends += [
            {
                "symbol": symbol,
                "ex_date": first + timedelta(days=day),
                "cash_amount": draw(st.floats(0.01, 3.0) | st.floats(0.01, 600.0)),
                "reference_close": draw(st.none() | st.none() | st.floats(1.0, 500.0)),
            }
            for day in sorted(draw(st.sets(st.integers(0, span), max_size=4)))
        ]
    table = pa.Table.from_pylist(rows, schema=BAR_SCHEMA.append(pa.field("vwap", pa.float64())))
    if not with_vwap:
        table = table.drop_columns(["vwap"])
    return table, splits, dividends, zone


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=adjustment_cases(), adjustment=st.sampled_from([a.value for a in Adjustment]))
def test_adjust_bars_matches_the_per_row_reference(
    case: tuple[pa.Table, list[Action], list[Action], str], adjustment: str
) -> None:
    # GIVEN
    bars, splits, dividends, zone = case
    split_table = pa.Table.from_pylist(splits, schema=SPLIT_ROWS) if splits else None
    dividend_table = pa.Table.from_pylist(dividends, schema=DIVIDEND_ROWS) if dividends else None
    # WHEN
    adjusted, report = adjust_bars(bars, split_table, dividend_table, adjustment, timezone=zone)
    # THEN
    expected, skipped = reference_adjust(bars, splits, dividends, adjustment, zone)
    for name in PRICES:
        np.testing.assert_allclose(adjusted.column(name).to_numpy(), expected[name], rtol=1e-13)
    assert _column(adjusted, "volume") == expected["volume"]
    if "vwap" in bars.column_names:
        got = _column(adjusted, "vwap")
        assert [value is None for value in got] == [value is None for value in expected["vwap"]]
        np.testing.assert_allclose(
            [value for value in got if value is not None],
            [value for value in expected["vwap"] if value is not None],
            rtol=1e-13,
        )
    assert {
        (entry.symbol, entry.ex_date, entry.reason.value) for entry in report.skipped_dividends
    } == skipped
    assert len(report.skipped_dividends) == len(skipped)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=adjustment_cases(),
    adjustment=st.sampled_from([a.value for a in Adjustment]),
    frequency=st.sampled_from(["Hourly", "Daily", "Weekly", "Monthly", "Quarterly", "Annual"]),
    interval=st.integers(1, 3),
)
def test_resample_adjusted_equals_resampling_the_adjusted_bars(
    case: tuple[pa.Table, list[Action], list[Action], str],
    adjustment: str,
    frequency: str,
    interval: int,
) -> None:
    # GIVEN
    bars, splits, dividends, zone = case
    split_table = pa.Table.from_pylist(splits, schema=SPLIT_ROWS) if splits else None
    dividend_table = pa.Table.from_pylist(dividends, schema=DIVIDEND_ROWS) if dividends else None
    adjusted, expected_report = adjust_bars(
        bars, split_table, dividend_table, adjustment, timezone=zone
    )
    # WHEN
    periods, report = resample_adjusted(
        bars, split_table, dividend_table, adjustment, interval, frequency, timezone=zone
    )
    # THEN value for value, not merely close
    expected = resample(adjusted, interval, frequency, timezone=zone)
    assert periods.schema == expected.schema
    assert periods.to_pylist() == expected.to_pylist()
    assert report == expected_report
