"""Large tables run their column passes on a thread pool; results must not change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from findata.core import InvalidBarsError, _parallel, resample, validate_bars

MakeBars = Callable[..., pa.Table]
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


@pytest.fixture
def every_table_is_large() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_parallel, "PARALLEL_MIN_ROWS", 0)
        yield


def _rows(symbols: list[str], count: int) -> list[tuple[object, ...]]:
    return [
        (symbol, T0 + timedelta(minutes=i), 10.0 + i, 11.0 + i, 9.0 + i, 10.5 + i, 100 + i)
        for symbol in symbols
        for i in range(count)
    ]


def test_given_the_pool_when_resampling_then_the_result_equals_the_sequential_one(
    make_bars: MakeBars, every_table_is_large: None
) -> None:
    # GIVEN
    bars = make_bars(_rows(["AAA", "BBB", "CCC"], 200))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_parallel, "PARALLEL_MIN_ROWS", 10**12)
        sequential = resample(bars, 15, "Minute")
    # WHEN
    concurrent = resample(bars, 15, "Minute")
    # THEN
    assert concurrent.equals(sequential)
    assert concurrent.column("symbol").unique().to_pylist() == ["AAA", "BBB", "CCC"]


def test_given_the_pool_and_two_bad_rows_when_validating_then_the_earlier_row_wins(
    make_bars: MakeBars, every_table_is_large: None
) -> None:
    # GIVEN high below low at row 5 and a negative volume at row 2
    rows = _rows(["AAA", "BBB"], 10)
    rows[5] = (*rows[5][:3], 1.0, 2.0, *rows[5][5:])
    rows[2] = (*rows[2][:6], -1)
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_bars(make_bars(rows))
    # THEN the passes run concurrently, yet the earliest bad row is named
    assert (caught.value.row, caught.value.column) == (2, "volume")


def test_given_the_pool_and_a_symbol_change_at_the_split_when_validating_then_blocks_are_found(
    make_bars: MakeBars, every_table_is_large: None
) -> None:
    # GIVEN two symbols, the second starting exactly halfway
    bars = make_bars(_rows(["AAA", "BBB"], 50))
    # WHEN
    validated = validate_bars(bars)
    # THEN
    assert validated.equals(bars)
