"""From a file's raw columns to canonical bars, failing on the first unusable row.

Dates become 00:00 of that date in the symbol's exchange time zone (as UTC);
timestamps with an offset are exact instants, naive ones are read as exchange
local time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import DEFAULT_TIMEZONE
from findata.core.columns import (
    OPTIONAL_BAR_COLUMNS,
    PRICE_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    UTC_TIMESTAMP,
    VOLUME,
    VWAP,
)
from findata.db._errors import IngestError
from findata.db._readers import RawBars
from findata.db._types import BarKind
from findata.db._validate import SYMBOL_PATTERN, local_midnight, per_distinct_value

DATE = "date"


@dataclasses.dataclass(frozen=True, slots=True)
class ConvertedBars:
    """Bars in canonical types, row-aligned with the raw file, and their kind."""

    table: pa.Table
    bar_kind: BarKind


def time_column(raw: RawBars) -> str:
    """``date`` (daily bars) or ``timestamp`` (intraday bars): exactly one must be present."""
    names = raw.table.column_names
    present = [name for name in (DATE, TIMESTAMP) if name in names]
    if len(present) != 1:
        found = "both" if present else "neither"
        raise IngestError(
            raw.path, raw.first_line - 1, f"need a 'date' or a 'timestamp' column, found {found}"
        )
    return present[0]


def symbols_of(raw: RawBars, symbol: str | None) -> pa.ChunkedArray | pa.Array:
    """Upper-cased, validated symbols: the ``symbol`` column or the ``--symbol`` option."""
    header_line = raw.first_line - 1
    if symbol is not None:
        if SYMBOL in raw.table.column_names:
            raise IngestError(
                raw.path, header_line, "--symbol was given but the file has a 'symbol' column"
            )
        wanted = symbol.strip().upper()
        if not pc.match_substring_regex(pa.scalar(wanted), SYMBOL_PATTERN).as_py():
            raise IngestError(
                raw.path, 0, f"invalid --symbol {symbol!r} (expected {SYMBOL_PATTERN})"
            )
        return pa.chunked_array([pa.array([wanted] * raw.table.num_rows, pa.string())])
    if SYMBOL not in raw.table.column_names:
        raise IngestError(raw.path, header_line, "no 'symbol' column: pass --symbol")
    column = raw.table.column(SYMBOL)
    if not _is_string_dictionary(column.type):
        column = _strings(column)
    symbols = per_distinct_value(
        column, lambda names: pc.utf8_upper(pc.utf8_trim_whitespace(names))
    )
    _fail_first(
        raw,
        per_distinct_value(
            symbols, lambda names: pc.invert(pc.match_substring_regex(names, SYMBOL_PATTERN))
        ),
        lambda row: f"invalid symbol {column[row].as_py()!r} (expected {SYMBOL_PATTERN})",
    )
    return symbols


def convert(
    raw: RawBars,
    *,
    symbol: str | None,
    timezones: Mapping[str, str],
    default_timezone: str = DEFAULT_TIMEZONE,
) -> ConvertedBars:
    """Canonical bars of ``raw``; ``timezones`` holds the stored zone of known symbols."""
    kind_column = time_column(raw)
    missing = [name for name in (*PRICE_COLUMNS, VOLUME) if name not in raw.table.column_names]
    if missing:
        raise IngestError(raw.path, raw.first_line - 1, f"missing column(s): {', '.join(missing)}")
    symbols = symbols_of(raw, symbol)
    columns: dict[str, pa.ChunkedArray | pa.Array] = {SYMBOL: symbols}
    zones = _zones(symbols, timezones, default_timezone)
    if kind_column == DATE:
        columns[TIMESTAMP] = _dates_to_instants(raw, zones)
        bar_kind = BarKind.DAILY
    else:
        columns[TIMESTAMP] = _instants(raw, zones)
        bar_kind = BarKind.INTRADAY
    for name in PRICE_COLUMNS:
        columns[name] = _numbers(raw, name, pa.float64())
    columns[VOLUME] = _numbers(raw, VOLUME, pa.int64())
    for name in OPTIONAL_BAR_COLUMNS:
        if name in raw.table.column_names:
            columns[name] = _numbers(
                raw, name, pa.float64() if name == VWAP else pa.int64(), optional=True
            )
    return ConvertedBars(pa.table(columns), bar_kind)


def _zones(
    symbols: pa.ChunkedArray, timezones: Mapping[str, str], default: str
) -> dict[str, np.ndarray | None]:
    """Rows per exchange time zone (``None``: every row)."""
    unique = pc.unique(symbols).to_pylist()
    by_zone: dict[str, list[str]] = {}
    for name in unique:
        by_zone.setdefault(timezones.get(name, default), []).append(name)
    if len(by_zone) <= 1:
        return dict.fromkeys(by_zone or [default])
    return {
        zone: np.flatnonzero(
            pc.is_in(symbols, value_set=pa.array(names)).to_numpy(zero_copy_only=False)
        )
        for zone, names in by_zone.items()
    }


def _apply_by_zone(
    length: int, zones: dict[str, np.ndarray | None], compute: dict[str, pa.Array]
) -> pa.Array:
    if len(zones) == 1:
        return next(iter(compute.values()))
    result = np.zeros(length, dtype=np.int64)
    for zone, rows in zones.items():
        assert rows is not None
        result[rows] = compute[zone].cast(pa.int64()).to_numpy()
    return pa.array(result).cast(UTC_TIMESTAMP)


def _dates_to_instants(raw: RawBars, zones: dict[str, np.ndarray | None]) -> pa.Array:
    column = raw.table.column(DATE)
    if pa.types.is_timestamp(column.type):
        dates = pc.cast(
            column if column.type.tz is None else pc.local_timestamp(column), pa.date32()
        )
    elif pa.types.is_date(column.type):
        dates = pc.cast(column, pa.date32())
    else:
        dates = _parse(raw, DATE, _strings(column), pa.date32(), "a date (YYYY-MM-DD)")
    dates = dates.combine_chunks() if isinstance(dates, pa.ChunkedArray) else dates
    compute = {
        zone: local_midnight(dates if rows is None else dates.take(rows), zone)
        for zone, rows in zones.items()
    }
    return _apply_by_zone(len(dates), zones, compute)


def _instants(raw: RawBars, zones: dict[str, np.ndarray | None]) -> pa.Array:
    column = raw.table.column(TIMESTAMP)
    if pa.types.is_timestamp(column.type):
        if column.type.tz is not None:
            return pc.cast(column, UTC_TIMESTAMP).combine_chunks()
        naive = pc.cast(column, pa.timestamp("us")).combine_chunks()
    else:
        strings = pc.utf8_trim_whitespace(_strings(column))
        try:
            return pc.cast(strings, UTC_TIMESTAMP).combine_chunks()
        except pa.ArrowInvalid:
            pass  # Not every value has an offset: read them as exchange local time.
        naive = _parse(
            raw, TIMESTAMP, strings, pa.timestamp("us"), "a timestamp (YYYY-MM-DD HH:MM[:SS])"
        ).combine_chunks()
    compute = {
        zone: pc.cast(
            pc.assume_timezone(
                naive if rows is None else naive.take(rows),
                zone,
                ambiguous="earliest",
                nonexistent="latest",
            ),
            UTC_TIMESTAMP,
        )
        for zone, rows in zones.items()
    }
    return _apply_by_zone(len(naive), zones, compute)


def _numbers(
    raw: RawBars, name: str, arrow_type: pa.DataType, *, optional: bool = False
) -> pa.ChunkedArray:
    column = raw.table.column(name)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        if pa.types.is_floating(column.type) and pa.types.is_integer(arrow_type):
            return _integral(raw, name, column)
        try:
            return pc.cast(column, arrow_type)
        except pa.ArrowInvalid as error:
            raise raw.error(None, f"column {name!r} of type {column.type}: {error}") from error
    strings = pc.utf8_trim_whitespace(column)
    if optional:
        # An empty optional field means "not known", not an error.
        strings = pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
    if pa.types.is_integer(arrow_type):
        try:
            return pc.cast(strings, arrow_type)
        except pa.ArrowInvalid:
            # Some exports write volumes as "1234.0".
            floats = _parse(raw, name, strings, pa.float64(), "a number")
            return _integral(raw, name, floats)
    return _parse(raw, name, strings, arrow_type, "a number")


def _integral(raw: RawBars, name: str, floats: pa.ChunkedArray) -> pa.ChunkedArray:
    whole = pc.equal(floats, pc.floor(floats))
    in_range = pc.less_equal(pc.abs(floats), 2.0**53)
    _fail_first(
        raw,
        pc.invert(pc.and_(whole, in_range)),
        lambda row: f"{name} is not a whole number: {floats[row].as_py()!r}",
    )
    return pc.cast(floats, pa.int64())


def _parse(
    raw: RawBars,
    name: str,
    strings: pa.ChunkedArray,
    arrow_type: pa.DataType,
    expected: str,
) -> pa.ChunkedArray:
    """Cast ``strings``; on failure, bisect to the first bad value to name its line."""
    try:
        return pc.cast(strings, arrow_type)
    except pa.ArrowInvalid:
        pass
    flat = strings.combine_chunks()
    low, high = 0, len(flat)
    while high - low > 1:
        middle = (low + high) // 2
        try:
            pc.cast(flat.slice(low, middle - low), arrow_type)
            low = middle
        except pa.ArrowInvalid:
            high = middle
    value = flat[low].as_py()
    shown = "an empty value" if value == "" else repr(value)
    raise raw.error(low, f"{name} is not {expected}: {shown}")


def _is_string_dictionary(arrow_type: pa.DataType) -> bool:
    return bool(
        pa.types.is_dictionary(arrow_type)
        and (
            pa.types.is_string(arrow_type.value_type)
            or pa.types.is_large_string(arrow_type.value_type)
        )
    )


def _strings(column: pa.ChunkedArray) -> pa.ChunkedArray:
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return column
    return pc.cast(column, pa.string())


def _fail_first(
    raw: RawBars, mask: pa.ChunkedArray | pa.Array, describe: Callable[[int], str]
) -> None:
    bad = np.flatnonzero(pc.fill_null(mask, True).to_numpy(zero_copy_only=False))
    if bad.size:
        row = int(bad[0])
        raise raw.error(row, describe(row))
