"""The value rules every bar obeys, checked once for the library and the stores (ADR 0005).

A bar is a summary of trades: its high is the highest of them, so it is at least the
open and the close; its low is the lowest, so at most both. Volume and trade count are
counts. ``vwap`` and ``trade_count`` are optional: a null means "not known". The error
names the earliest offending row (ties go to the first rule below), so someone fixing a
file top to bottom meets the problems in order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import _parallel
from findata.core._errors import InvalidBarsError
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    PERIOD_START,
    PRICE_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    VOLUME,
    VWAP,
)

_NOT_NULL = (SYMBOL, TIMESTAMP, PERIOD_START, *PRICE_COLUMNS, VOLUME)
"""Columns that may hold no null (the time column is one of timestamp, period_start)."""

Arrays = dict[str, npt.NDArray[Any]]
F64 = npt.NDArray[np.float64]


def check_bar_values(bars: pa.Table) -> None:
    """Raise :class:`InvalidBarsError` at the earliest row of ``bars`` that breaks a rule.

    The rules: no null symbol, time, price or volume; finite prices;
    ``high >= max(open, close)`` and ``low <= min(open, close)``; ``volume >= 0``;
    ``trade_count >= 0`` and a finite ``vwap`` where known (null means unknown). The
    error carries ``.row`` (zero-based, in ``bars``' order) and ``.column``. Columns must
    already have the types of :data:`~findata.core.BAR_SCHEMA` (float64 prices, int64
    counts); row order and the time column's values are not checked here.
    """
    arrays: Arrays = {name: _numpy(bars.column(name)) for name in (*PRICE_COLUMNS, VOLUME)}
    for name in (VWAP, TRADE_COUNT):
        if name in bars.column_names:
            arrays[name] = _numpy(bars.column(name))
    check_values(bars, arrays)


def check_values(bars: pa.Table, arrays: Arrays) -> None:
    """:func:`check_bar_values` on numpy views of the value columns already made by the
    caller (validation keeps them for the kernels). Cheap whole-column passes decide
    whether anything is wrong; only then are the per-rule masks built to name the row."""
    if any(bars.column(name).null_count for name in _NOT_NULL if name in bars.column_names):
        _raise_earliest(bars)
    rows = bars.num_rows
    # A finite high and low with low <= open, close <= high bound the open and close too,
    # and a NaN anywhere fails a comparison: two sums and the range pass prove all four.
    passes: list[Callable[[], bool]] = [
        _finite(arrays[HIGH]),
        _finite(arrays[LOW]),
        lambda: _within_range(arrays[OPEN], arrays[HIGH], arrays[LOW], arrays[CLOSE]),
        lambda: rows == 0 or int(arrays[VOLUME].min()) >= 0,
    ]
    if TRADE_COUNT in arrays:
        counts = bars.column(TRADE_COUNT)
        passes.append(lambda: rows == 0 or (pc.min(counts).as_py() or 0) >= 0)
    if VWAP in arrays:
        vwap = bars.column(VWAP)
        passes.append(
            _finite(arrays[VWAP])
            if vwap.null_count == 0
            else lambda: bool(pc.all(pc.is_finite(pc.fill_null(vwap, 0.0))).as_py())
        )
    if not all(_parallel.run_all(passes, rows)):
        _raise_earliest(bars)


def _within_range(opens: F64, highs: F64, lows: F64, closes: F64) -> bool:
    """``low <= min(open, close)`` and ``max(open, close) <= high`` on every row, in one
    scratch array (a fresh array per step costs its page faults again)."""
    scratch = np.maximum(opens, closes)
    if not bool(np.less_equal(scratch, highs).all()):
        return False
    np.minimum(opens, closes, out=scratch)
    return bool(np.greater_equal(scratch, lows).all())


def _finite(values: npt.NDArray[Any]) -> Callable[[], bool]:
    # A finite sum proves every term finite; only a failure pays for the row search.
    return lambda: len(values) == 0 or math.isfinite(values.sum())


def _numpy(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values: npt.NDArray[Any] = chunk.to_numpy(zero_copy_only=False)
    return values


_Rule = tuple[str, pa.ChunkedArray, Callable[[int], str]]


def _rules(bars: pa.Table) -> list[_Rule]:
    """Every rule as (column, "bad row" mask, message of a bad row), in precedence order."""
    opens, highs, lows, closes = (bars.column(name) for name in PRICE_COLUMNS)
    rules: list[_Rule] = [
        (name, pc.is_null(bars.column(name)), _constant(f"missing value in {name!r}"))
        for name in _NOT_NULL
        if name in bars.column_names and bars.column(name).null_count
    ]
    rules += [
        (name, pc.invert(pc.is_finite(bars.column(name))), _not_finite(name, bars.column(name)))
        for name in PRICE_COLUMNS
    ]
    rules.append(
        (
            HIGH,
            pc.less(highs, pc.max_element_wise(opens, closes)),
            lambda row: (
                f"high {highs[row].as_py()!r} is below max(open, close) = "
                f"{max(opens[row].as_py(), closes[row].as_py())!r}"
            ),
        )
    )
    rules.append(
        (
            LOW,
            pc.greater(lows, pc.min_element_wise(opens, closes)),
            lambda row: (
                f"low {lows[row].as_py()!r} is above min(open, close) = "
                f"{min(opens[row].as_py(), closes[row].as_py())!r}"
            ),
        )
    )
    volume = bars.column(VOLUME)
    rules.append(
        (VOLUME, pc.less(volume, 0), lambda row: f"volume is negative: {volume[row].as_py()!r}")
    )
    if TRADE_COUNT in bars.column_names:
        trades = bars.column(TRADE_COUNT)
        rules.append(
            (
                TRADE_COUNT,
                pc.less(trades, 0),
                lambda row: f"trade_count is negative: {trades[row].as_py()!r}",
            )
        )
    if VWAP in bars.column_names:
        vwap = bars.column(VWAP)
        rules.append((VWAP, pc.invert(pc.is_finite(vwap)), _not_finite(VWAP, vwap)))
    return rules


def _raise_earliest(bars: pa.Table) -> None:
    first: tuple[int, str, Callable[[int], str]] | None = None
    for column, mask, describe in _rules(bars):
        # Nulls in a mask come from null inputs: reported by the null rules, or allowed.
        bad = np.flatnonzero(_numpy(pc.fill_null(mask, False)))
        if bad.size and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), column, describe)
    if first is not None:
        row, column, describe = first
        raise InvalidBarsError(describe(row), row=row, column=column)


def _constant(message: str) -> Callable[[int], str]:
    return lambda _row: message


def _not_finite(name: str, column: pa.ChunkedArray) -> Callable[[int], str]:
    return lambda row: f"{name} is not a finite number: {column[row].as_py()!r}"
