"""What a write checks before anything is stored, on whole Arrow columns.

The value rules every bar obeys are findata-core's (``check_bar_values``, ADR 0005);
this module adds what only a write needs: the columns a store requires, the symbol
pattern, time-zone-aware timestamps and no repeated (symbol, timestamp). The error
names the earliest bad row across all checks, so a user fixing a file top to bottom
sees problems in order (the ingest commands turn the row into ``file:line``).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import InvalidBarsError, InvalidParameterError, check_bar_values
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    REQUIRED_BAR_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    UTC_TIMESTAMP,
    VOLUME,
    VWAP,
)

SYMBOL_PATTERN: Final = r"^[A-Z0-9][A-Z0-9.\-^=]{0,31}$"
"""An upper-case ticker: letters, digits and ``. - ^ =`` (``BRK.B``, ``^GSPC``, ``EURUSD=X``)."""


_COLUMN_TYPES: Final = {
    OPEN: pa.float64(),
    HIGH: pa.float64(),
    LOW: pa.float64(),
    CLOSE: pa.float64(),
    VOLUME: pa.int64(),
    VWAP: pa.float64(),
    TRADE_COUNT: pa.int64(),
}


def check_timezone(timezone: str) -> str:
    """``timezone`` if it is an IANA zone name, else an ``InvalidParameterError``."""
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidParameterError(
            "timezone", f"unknown time zone {timezone!r}", value=timezone
        ) from error
    return timezone


def local_midnight(dates: pa.Array | pa.ChunkedArray, timezone: str) -> pa.Array | pa.ChunkedArray:
    """UTC instants of 00:00 of each date in ``timezone``: the timestamp of a daily bar.

    Where a DST jump skips midnight, the day starts at the end of the gap, which
    is still the same date.
    """
    naive = pc.cast(pc.cast(dates, pa.date32()), pa.timestamp("us"))
    local = pc.assume_timezone(naive, timezone, ambiguous="earliest", nonexistent="latest")
    return pc.cast(local, UTC_TIMESTAMP)


def normalize_bars(bars: pa.Table) -> pa.Table:
    """``bars`` with canonical column types, in its original row order, or ``InvalidBarsError``.

    Checks: required columns, time-zone-aware timestamps, core's value rules (no nulls,
    finite prices, ``low <= open, close <= high``, counts >= 0, ``vwap`` finite where
    known), valid symbols, no duplicate (symbol, timestamp).
    """
    missing = [name for name in REQUIRED_BAR_COLUMNS if name not in bars.column_names]
    if missing:
        raise InvalidBarsError(f"missing column(s): {', '.join(missing)}", column=missing[0])
    columns: dict[str, pa.ChunkedArray] = {SYMBOL: _cast(bars, SYMBOL, pa.string())}
    columns[TIMESTAMP] = _timestamps(bars)
    for name, arrow_type in _COLUMN_TYPES.items():
        if name in bars.column_names:
            columns[name] = _cast(bars, name, arrow_type)
    table = pa.table(columns)
    if table.num_rows == 0:
        return table
    bad_symbol = _first_bad_symbol(table.column(SYMBOL))
    try:
        check_bar_values(table)
    except InvalidBarsError as error:
        if bad_symbol is None or (error.row is not None and error.row <= bad_symbol):
            raise
    if bad_symbol is not None:
        raise InvalidBarsError(
            f"invalid symbol {table.column(SYMBOL)[bad_symbol].as_py()!r} "
            f"(expected {SYMBOL_PATTERN})",
            row=bad_symbol,
            column=SYMBOL,
        )
    _raise_duplicate(table)
    return table


def _first_bad_symbol(symbols: pa.ChunkedArray) -> int | None:
    """Row of the first symbol not matching :data:`SYMBOL_PATTERN` (nulls are the value
    rules' to report); the pattern runs once per distinct symbol."""
    matches = per_distinct_value(
        symbols, lambda names: pc.match_substring_regex(names, SYMBOL_PATTERN)
    )
    matched = pc.fill_null(matches, True)
    if pc.all(matched).as_py():
        return None
    return int(np.flatnonzero(pc.invert(matched).to_numpy(zero_copy_only=False))[0])


def _cast(bars: pa.Table, name: str, arrow_type: pa.DataType) -> pa.ChunkedArray:
    column = bars.column(name)
    if column.type == arrow_type:
        return column
    try:
        return pc.cast(column, arrow_type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
        raise InvalidBarsError(
            f"column {name!r} of type {column.type} cannot hold {arrow_type}: {error}",
            column=name,
        ) from error


def _timestamps(bars: pa.Table) -> pa.ChunkedArray:
    column = bars.column(TIMESTAMP)
    if not pa.types.is_timestamp(column.type) or column.type.tz is None:
        raise InvalidBarsError(
            f"column 'timestamp' must be a time-zone-aware timestamp, got {column.type}",
            column=TIMESTAMP,
        )
    return _cast(bars, TIMESTAMP, UTC_TIMESTAMP)


def per_distinct_value(
    column: pa.ChunkedArray | pa.Array, compute: Callable[[pa.Array], pa.Array]
) -> pa.Array:
    """``compute`` applied to each distinct value once, spread back to every row.

    A file holds millions of rows but a handful of symbols: regex and case work on
    the dictionary is thousands of times cheaper than on the rows.
    """
    if pa.types.is_dictionary(column.type):
        # Already encoded (a Parquet dictionary column): only unify the chunks' dictionaries.
        encoded = (
            column.unify_dictionaries().combine_chunks()
            if isinstance(column, pa.ChunkedArray)
            else column
        )
    else:
        encoded = pc.dictionary_encode(column)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
    return pc.take(compute(encoded.dictionary), encoded.indices)


def _raise_duplicate(table: pa.Table) -> None:
    """Reject a repeated (symbol, timestamp); O(n) for files sorted per symbol, else a sort."""
    stamps = table.column(TIMESTAMP).combine_chunks().cast(pa.int64()).to_numpy()
    if _sorted_per_symbol(table.column(SYMBOL).combine_chunks(), stamps):
        return
    codes = (pc.dictionary_encode(table.column(SYMBOL)).combine_chunks().indices.to_numpy()).astype(
        np.int64
    )
    order = np.lexsort((stamps, codes))
    repeated = (codes[order][1:] == codes[order][:-1]) & (stamps[order][1:] == stamps[order][:-1])
    if not repeated.any():
        return
    later = np.maximum(order[1:][repeated], order[:-1][repeated])
    row = int(later.min())
    raise InvalidBarsError(
        f"duplicate bar: {table.column(SYMBOL)[row].as_py()} at "
        f"{table.column(TIMESTAMP)[row].as_py().isoformat()} already appears earlier",
        row=row,
    )


def _sorted_per_symbol(symbols: pa.Array, stamps: np.ndarray) -> bool:
    """Whether each symbol's rows are one run with strictly increasing timestamps:
    adjacent string compares, no hashing (a file sorted by symbol, time passes in O(n))."""
    if len(symbols) < 2:
        return True
    changed = pc.not_equal(symbols.slice(1), symbols.slice(0, len(symbols) - 1))
    boundaries = np.flatnonzero(changed.to_numpy(zero_copy_only=False))
    run_symbols = symbols.take(np.concatenate(([0], boundaries + 1))).to_pylist()
    if len(set(run_symbols)) != len(run_symbols):
        return False
    rising = stamps[1:] > stamps[:-1]
    rising[boundaries] = True
    return bool(rising.all())


def first_non_midnight(timestamps: pa.ChunkedArray | pa.Array, timezone: str) -> int | None:
    """Row of the first timestamp that is not 00:00 (start of day) in ``timezone``."""
    local_dates = pc.cast(
        pc.local_timestamp(pc.cast(timestamps, pa.timestamp("us", timezone))), pa.date32()
    )
    expected = local_midnight(local_dates, timezone)
    bad = np.flatnonzero(pc.not_equal(timestamps, expected).to_numpy(zero_copy_only=False))
    return int(bad[0]) if bad.size else None
