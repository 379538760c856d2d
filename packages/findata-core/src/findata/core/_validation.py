"""Checking and normalising bar tables before any computation touches them.

Every public entry point funnels through :func:`prepare_bars`, so a bad table fails
the same way everywhere: an :class:`InvalidBarsError` naming the column and the
zero-based input row, never a NaN or a silently dropped row downstream.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._errors import InvalidBarsError
from findata.core._types import (
    HIGH,
    LOW,
    PERIOD_START,
    PRICE_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    UTC_TIMESTAMP,
    VOLUME,
    VWAP,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class PreparedBars:
    """A validated bar table plus the numpy views the kernels work on (no copies)."""

    table: pa.Table
    time_column: str
    times: I64
    """``timestamp`` as UTC microseconds, or ``period_start`` as days/microseconds since epoch."""
    symbol_starts: npt.NDArray[np.intp]
    """Row where each symbol's block starts; blocks are contiguous and sorted by symbol."""
    _arrays: dict[str, npt.NDArray[Any]] = field(default_factory=dict)

    @property
    def num_rows(self) -> int:
        return len(self.times)

    @property
    def symbol_ends(self) -> npt.NDArray[np.intp]:
        if len(self.symbol_starts) == 0:
            return self.symbol_starts
        return np.append(self.symbol_starts[1:], self.num_rows).astype(np.intp)

    def floats(self, column: str) -> F64:
        values: F64 = self._array(column)
        return values

    def ints(self, column: str) -> I64:
        values: I64 = self._array(column)
        return values

    def has(self, column: str) -> bool:
        return column in self.table.column_names

    def _array(self, column: str) -> npt.NDArray[Any]:
        values = self._arrays.get(column)
        if values is None:
            values = self._arrays[column] = _to_numpy(self.table.column(column))
        return values


def _to_numpy(column: pa.ChunkedArray | pa.Array) -> npt.NDArray[Any]:
    """The column as numpy; zero-copy for a single null-free chunk of a primitive type."""
    chunk = column
    if isinstance(column, pa.ChunkedArray):
        chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values: npt.NDArray[Any] = chunk.to_numpy(zero_copy_only=False)
    return values


def validate_bars(bars: pa.Table) -> pa.Table:
    """Check ``bars`` against the bar contract and return it normalised.

    Accepts raw bars (``timestamp``: a timezone-aware instant) or resampled bars
    (``period_start``: a date or a timezone-aware instant). Columns are cast to the
    canonical types of :data:`~findata.core.BAR_SCHEMA` (losslessly, or not at all),
    unknown columns are dropped and rows are ordered by symbol with each symbol's rows
    kept in input order. Raises :class:`InvalidBarsError` naming the first offending
    row and column: missing or null values, non-finite prices, ``high < low``, negative
    volume, and timestamps that are not strictly increasing within a symbol.
    """
    return prepare_bars(bars).table


def prepare_bars(bars: pa.Table) -> PreparedBars:
    """:func:`validate_bars`, keeping the numpy views computed on the way."""
    if not isinstance(bars, pa.Table):
        raise InvalidBarsError(f"bars must be a pyarrow.Table, not {type(bars).__name__}")
    time_column = _time_column(bars)
    columns: dict[str, pa.ChunkedArray] = {
        SYMBOL: _cast(bars, SYMBOL, pa.string()),
        time_column: _cast_time(bars, time_column),
    }
    for name in PRICE_COLUMNS:
        columns[name] = _cast(bars, name, pa.float64())
    columns[VOLUME] = _cast(bars, VOLUME, pa.int64())
    if VWAP in bars.column_names:
        columns[VWAP] = _cast(bars, VWAP, pa.float64(), nullable=True)
    if TRADE_COUNT in bars.column_names:
        columns[TRADE_COUNT] = _cast(bars, TRADE_COUNT, pa.int64())
    schema = pa.schema(
        pa.field(name, column.type, nullable=name == VWAP) for name, column in columns.items()
    )
    table = pa.Table.from_arrays(list(columns.values()), schema=schema)
    if table.num_rows == 0:
        return PreparedBars(table, time_column, np.empty(0, np.int64), np.empty(0, np.intp))

    arrays = _check_values(table)
    table, symbol_starts, order = _group_by_symbol(table)
    times = _to_numpy(table.column(time_column)).view(np.int64)
    _check_increasing(table, time_column, times, symbol_starts, order)
    prepared = PreparedBars(table, time_column, times, symbol_starts)
    if order is None:
        prepared._arrays.update(arrays)
    return prepared


def _time_column(bars: pa.Table) -> str:
    if TIMESTAMP in bars.column_names:
        return TIMESTAMP
    if PERIOD_START in bars.column_names:
        return PERIOD_START
    raise InvalidBarsError(
        f"missing column {TIMESTAMP!r} (or {PERIOD_START!r} for resampled bars)",
        column=TIMESTAMP,
    )


def _column(bars: pa.Table, name: str) -> pa.ChunkedArray:
    if name not in bars.column_names:
        raise InvalidBarsError(f"missing column {name!r}", column=name)
    return bars.column(name)


def _first_null(column: pa.ChunkedArray) -> int:
    return int(np.flatnonzero(_to_numpy(pc.is_null(column)))[0])


def _cast(
    bars: pa.Table, name: str, target: pa.DataType, *, nullable: bool = False
) -> pa.ChunkedArray:
    column = _column(bars, name)
    if not nullable and column.null_count:
        row = _first_null(column)
        raise InvalidBarsError(f"column {name!r} is null at row {row}", row=row, column=name)
    if column.type == target:
        return column
    try:
        return column.cast(target)  # safe cast: refuses truncation and overflow
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InvalidBarsError(
            f"column {name!r} of type {column.type} cannot be read as {target}: {error}",
            column=name,
        ) from error


def _cast_time(bars: pa.Table, name: str) -> pa.ChunkedArray:
    column = _column(bars, name)
    kind = column.type
    if column.null_count:
        row = _first_null(column)
        raise InvalidBarsError(f"column {name!r} is null at row {row}", row=row, column=name)
    if pa.types.is_timestamp(kind) and kind.tz is not None:
        target = UTC_TIMESTAMP if name == TIMESTAMP else pa.timestamp("us", tz=kind.tz)
    elif name == PERIOD_START and pa.types.is_date(kind):
        target = pa.date32()
    elif pa.types.is_timestamp(kind):
        raise InvalidBarsError(
            f"column {name!r} holds naive timestamps; give them a time zone (UTC instants)",
            column=name,
        )
    else:
        expected = "a timezone-aware timestamp" + (" or a date" if name == PERIOD_START else "")
        raise InvalidBarsError(f"column {name!r} has type {kind}; expected {expected}", column=name)
    if kind == target:
        return column
    try:
        return column.cast(target)
    except pa.ArrowInvalid as error:
        raise InvalidBarsError(
            f"column {name!r} cannot be read as {target} without losing precision: {error}",
            column=name,
        ) from error


def _fail_at(mask: npt.NDArray[np.bool_], column: str, message: str) -> None:
    if mask.any():
        row = int(np.argmax(mask))
        raise InvalidBarsError(f"{message} at row {row}", row=row, column=column)


def _check_values(table: pa.Table) -> dict[str, npt.NDArray[Any]]:
    """Check the numbers of every row; return the numpy views made on the way."""
    arrays = {name: _to_numpy(table.column(name)) for name in (*PRICE_COLUMNS, VOLUME)}
    for name in PRICE_COLUMNS:
        # A finite sum proves every term finite; only a failure pays for the row search.
        if not math.isfinite(arrays[name].sum()):
            _fail_at(~np.isfinite(arrays[name]), name, f"column {name!r} is not a finite number")
    _fail_at(arrays[HIGH] < arrays[LOW], HIGH, "high is below low")
    if arrays[VOLUME].min() < 0:
        _fail_at(arrays[VOLUME] < 0, VOLUME, "volume is negative")
    if TRADE_COUNT in table.column_names:
        arrays[TRADE_COUNT] = _to_numpy(table.column(TRADE_COUNT))
        _fail_at(arrays[TRADE_COUNT] < 0, TRADE_COUNT, "trade_count is negative")
    if VWAP in table.column_names:
        arrays[VWAP] = _to_numpy(table.column(VWAP))
        known = (
            arrays[VWAP][~np.isnan(arrays[VWAP])] if table.column(VWAP).null_count else arrays[VWAP]
        )
        if not math.isfinite(known.sum()):
            _fail_at(np.isinf(arrays[VWAP]), VWAP, "column 'vwap' is not a finite number")
    return arrays


def _group_by_symbol(
    table: pa.Table,
) -> tuple[pa.Table, npt.NDArray[np.intp], npt.NDArray[np.intp] | None]:
    """Order rows by symbol (stable) unless already so; return the table, where each
    symbol's block starts, and the permutation applied (``None`` when none was)."""
    starts = _run_starts(table.column(SYMBOL))
    if len(starts) == 1:
        return table, starts, None
    run_symbols = table.column(SYMBOL).take(pa.array(starts))
    if pc.all(pc.less(run_symbols[:-1], run_symbols[1:])).as_py():
        return table, starts, None
    order = _to_numpy(pc.sort_indices(table.column(SYMBOL))).astype(np.intp)
    table = table.take(order)
    return table, _run_starts(table.column(SYMBOL)), order


def _run_starts(symbols: pa.ChunkedArray) -> npt.NDArray[np.intp]:
    """Rows where the symbol differs from the row before (row 0 always starts a run)."""
    if len(symbols) < 2:
        return np.zeros(1, dtype=np.intp)
    changed = _to_numpy(pc.not_equal(symbols[1:], symbols[:-1]))
    return np.concatenate(([0], np.flatnonzero(changed) + 1)).astype(np.intp)


def _check_increasing(
    table: pa.Table,
    time_column: str,
    times: I64,
    symbol_starts: npt.NDArray[np.intp],
    order: npt.NDArray[np.intp] | None,
) -> None:
    bad = times[1:] <= times[:-1]
    bad[symbol_starts[1:] - 1] = False  # a new symbol may start earlier
    if not bad.any():
        return
    position = int(np.argmax(bad)) + 1
    row = position if order is None else int(order[position])
    symbol = table.column(SYMBOL)[position].as_py()
    problem = "duplicate" if times[position] == times[position - 1] else "out of order"
    raise InvalidBarsError(
        f"{time_column} {problem} for symbol {symbol!r} at row {row}: "
        f"rows of a symbol must have strictly increasing {time_column}",
        row=row,
        column=time_column,
    )
