"""validate_bars: every broken contract is a typed error naming row and column."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from findata.core import BAR_SCHEMA, InvalidBarsError, validate_bars

MakeBars = Callable[..., pa.Table]
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2024, 3, 1, 14, 30, tzinfo=UTC)


def _rows(
    count: int, symbol: str = "AAA"
) -> list[tuple[str, datetime, float, float, float, float, int]]:
    return [(symbol, T0 + timedelta(minutes=i), 10.0, 11.0, 9.0, 10.5, 100) for i in range(count)]


def _replace(
    table: pa.Table, name: str, values: list[object], type_: pa.DataType | None = None
) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, name, pa.array(values, type=type_))


def test_given_canonical_bars_when_validating_then_they_come_back_unchanged(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars(_rows(3))
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.equals(bars)


def test_given_castable_types_when_validating_then_columns_take_the_canonical_types(
    make_bars: MakeBars,
) -> None:
    # GIVEN volume as int32, prices as float32, nanosecond timestamps in New York time
    bars = make_bars(_rows(2))
    bars = _replace(bars, "volume", [1, 2], pa.int32())
    bars = _replace(bars, "open", [10.0, 10.0], pa.float32())
    stamps = [
        datetime(2024, 3, 1, 9, 30, tzinfo=NEW_YORK),
        datetime(2024, 3, 1, 9, 31, tzinfo=NEW_YORK),
    ]
    bars = _replace(bars, "timestamp", stamps, pa.timestamp("ns", tz="America/New_York"))
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.schema.equals(BAR_SCHEMA, check_metadata=False)
    assert validated.column("timestamp").to_pylist() == [s.astimezone(UTC) for s in stamps]


def test_given_extra_columns_when_validating_then_only_bar_columns_remain(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars(_rows(2), note=["a", "b"], vwap=[10.2, 10.4], trade_count=[5, 6])
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.column_names == [*BAR_SCHEMA.names, "vwap", "trade_count"]


def test_given_interleaved_symbols_when_validating_then_rows_are_grouped_by_symbol_in_time_order(
    make_bars: MakeBars,
) -> None:
    # GIVEN rows ordered by time across two symbols
    rows = [
        (s, T0 + timedelta(minutes=i), 1.0, 1.0, 1.0, 1.0, i)
        for i in range(3)
        for s in ("ZZZ", "AAA")
    ]
    bars = make_bars(rows)
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.column("symbol").to_pylist() == ["AAA"] * 3 + ["ZZZ"] * 3
    assert validated.column("volume").to_pylist() == [0, 1, 2, 0, 1, 2]


def test_given_no_rows_when_validating_then_an_empty_table_is_returned(make_bars: MakeBars) -> None:
    # WHEN
    validated = validate_bars(make_bars([]))
    # THEN
    assert validated.num_rows == 0


def test_given_resampled_bars_when_validating_then_a_date_period_start_is_accepted(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars(_rows(2)).rename_columns(
        [*BAR_SCHEMA.names[:1], "period_start", *BAR_SCHEMA.names[2:]]
    )
    bars = _replace(bars, "period_start", [date(2024, 3, 1), date(2024, 4, 1)], pa.date32())
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.schema.field("period_start").type == pa.date32()


def test_given_something_else_than_a_table_when_validating_then_the_error_says_so() -> None:
    with pytest.raises(InvalidBarsError, match=r"pyarrow\.Table"):
        validate_bars({"symbol": ["A"]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "missing", ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
)
def test_given_a_missing_column_when_validating_then_the_error_names_it(
    make_bars: MakeBars, missing: str
) -> None:
    # GIVEN
    bars = make_bars(_rows(2)).drop_columns([missing])
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    # THEN
    assert caught.value.column == missing
    assert missing in str(caught.value)


def test_given_a_null_price_when_validating_then_the_error_names_row_and_column(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(3)), "close", [10.0, None, 10.0], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (1, "close")


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_given_a_non_finite_price_when_validating_then_it_is_rejected(
    make_bars: MakeBars, bad: float
) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(3)), "open", [10.0, 10.0, bad], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (2, "open")


def test_given_high_below_low_when_validating_then_the_row_is_named(make_bars: MakeBars) -> None:
    # GIVEN open 10, low 9, close 10.5 and a high of 8 on row 1
    bars = _replace(make_bars(_rows(3)), "high", [11.0, 8.0, 11.0], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError, match=r"high 8.0 is below max\(open, close\)") as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (1, "high")
    assert str(caught.value).startswith("row 1: ")


def test_given_a_high_below_the_close_when_validating_then_the_bar_is_inconsistent(
    make_bars: MakeBars,
) -> None:
    # GIVEN open 10, low 9, close 10.5: a high of 10.25 is above the low but below the close
    bars = _replace(make_bars(_rows(3)), "high", [11.0, 11.0, 10.25], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError, match=r"below max\(open, close\) = 10.5") as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (2, "high")


def test_given_a_low_above_the_open_when_validating_then_the_bar_is_inconsistent(
    make_bars: MakeBars,
) -> None:
    # GIVEN open 10, high 11, close 10.5: a low of 10.2 is below the high but above the open
    bars = _replace(make_bars(_rows(3)), "low", [9.0, 10.2, 9.0], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError, match=r"low 10.2 is above min\(open, close\)") as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (1, "low")


def test_given_two_broken_rules_when_validating_then_the_earlier_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN a negative volume on row 1 and a non-finite open on row 2
    bars = _replace(make_bars(_rows(3)), "volume", [1, -1, 1], pa.int64())
    bars = _replace(bars, "open", [10.0, 10.0, float("nan")], pa.float64())
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    # THEN rows come first, the rules' order only breaks ties
    assert (caught.value.row, caught.value.column) == (1, "volume")


def test_given_unknown_trade_counts_when_validating_then_nulls_are_kept(
    make_bars: MakeBars,
) -> None:
    # GIVEN a trade count known for the first bar only (stores keep such tables)
    bars = make_bars(_rows(2), trade_count=pa.array([3, None], pa.int64()))
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.column("trade_count").to_pylist() == [3, None]


def test_given_a_nan_vwap_beside_unknown_ones_when_validating_then_it_is_rejected(
    make_bars: MakeBars,
) -> None:
    # GIVEN a null (unknown) vwap on row 0 and a NaN (a broken number) on row 2
    bars = make_bars(_rows(3), vwap=pa.array([None, 10.2, float("nan")], pa.float64()))
    # WHEN
    with pytest.raises(InvalidBarsError, match="vwap is not a finite number") as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (2, "vwap")


def test_given_negative_volume_when_validating_then_the_row_is_named(make_bars: MakeBars) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(3)), "volume", [1, 1, -5], pa.int64())
    # WHEN
    with pytest.raises(InvalidBarsError, match="negative") as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (2, "volume")


def test_given_negative_trade_count_when_validating_then_the_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = make_bars(_rows(2), trade_count=[3, -1])
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    # THEN
    assert (caught.value.row, caught.value.column) == (1, "trade_count")


def test_given_a_duplicate_timestamp_when_validating_then_the_error_names_symbol_and_row(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    rows = _rows(3)
    rows[2] = (rows[2][0], rows[1][1], *rows[2][2:])
    # WHEN
    with pytest.raises(InvalidBarsError, match=r"duplicate.*'AAA'") as caught:
        validate_bars(make_bars(rows))
    # THEN
    assert (caught.value.row, caught.value.column) == (2, "timestamp")


def test_given_unsorted_rows_of_an_interleaved_symbol_when_validating_then_the_input_row_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN a BBB row at input row 3 that goes back in time
    rows = [
        ("BBB", T0 + timedelta(minutes=5), 1.0, 1.0, 1.0, 1.0, 1),
        ("AAA", T0, 1.0, 1.0, 1.0, 1.0, 1),
        ("AAA", T0 + timedelta(minutes=1), 1.0, 1.0, 1.0, 1.0, 1),
        ("BBB", T0 + timedelta(minutes=4), 1.0, 1.0, 1.0, 1.0, 1),
    ]
    # WHEN
    with pytest.raises(InvalidBarsError, match="out of order for symbol 'BBB'") as caught:
        validate_bars(make_bars(rows))
    # THEN
    assert caught.value.row == 3


def test_given_naive_timestamps_when_validating_then_a_time_zone_is_asked_for(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _replace(
        make_bars(_rows(1)), "timestamp", [datetime(2024, 1, 2, 9, 30)], pa.timestamp("us")
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="naive"):
        validate_bars(bars)


def test_given_text_timestamps_when_validating_then_the_type_is_rejected(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(1)), "timestamp", ["2024-01-02"], pa.string())
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="expected a timezone-aware timestamp") as caught:
        validate_bars(bars)
    assert caught.value.column == "timestamp"


def test_given_fractional_volume_when_validating_then_the_lossy_cast_is_refused(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(1)), "volume", [1.5], pa.float64())
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="cannot be read as int64") as caught:
        validate_bars(bars)
    assert caught.value.column == "volume"


def test_given_text_prices_when_validating_then_the_column_is_named(make_bars: MakeBars) -> None:
    # GIVEN
    bars = _replace(make_bars(_rows(1)), "high", ["eleven"], pa.string())
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(bars)
    assert caught.value.column == "high"
