"""Bars packed into monthly chunks for the PostgreSQL store (ADR 0014), in NumPy.

A chunk holds one symbol's bars of one UTC calendar month. Each of its columns is
packed as big-endian fixed-width values in time order -- exactly what PostgreSQL's
``int8send``/``float8send``/``timestamptz_send`` produce -- so a read is a memcpy on
the server and ``numpy.frombuffer`` here, and SQL can build or unpack the same bytes.
Optional columns (``vwap``, ``trade_count``) are absent from a chunk where no bar has
them, and carry a one-byte-per-bar validity mask only where some bars lack them.
Everything in this module works on whole columns; the store only moves bytes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import InvalidBarsError
from findata.core.columns import OPTIONAL_BAR_COLUMNS, SYMBOL, TIMESTAMP, TRADE_COUNT, VWAP
from findata.db._pgcopy import PG_EPOCH_OFFSET_US, Buffer

REQUIRED: Final = ("ts", "open", "high", "low", "close", "volume")
PACKED: Final = (*REQUIRED, VWAP, f"{VWAP}_valid", TRADE_COUNT, f"{TRADE_COUNT}_valid")
"""The packed ``bytea`` columns of ``bar_chunks``, in table order."""

_BIG_ENDIAN: Final = {
    "ts": np.dtype(">i8"),
    "open": np.dtype(">f8"),
    "high": np.dtype(">f8"),
    "low": np.dtype(">f8"),
    "close": np.dtype(">f8"),
    "volume": np.dtype(">i8"),
    VWAP: np.dtype(">f8"),
    TRADE_COUNT: np.dtype(">i8"),
}
_ARROW_TYPES: Final = {VWAP: pa.float64(), TRADE_COUNT: pa.int64()}

Columns = dict[str, np.ndarray]
"""Native time-ordered columns: ``ts`` (int64 microseconds since 2000-01-01 UTC),
``open``..``volume``, and per present optional column its values (0 where missing)
plus ``<name>_valid`` (bool)."""
Packed = dict[str, Buffer | None]
"""The ``PACKED`` fields of a chunk as stored (``None`` = SQL NULL)."""


def pack(columns: Columns) -> Packed:
    """The canonical stored form of ``columns``: one copy each, no per-value work."""
    packed: Packed = {name: _big_endian(columns[name], name) for name in REQUIRED}
    for name in OPTIONAL_BAR_COLUMNS:
        valid = columns.get(f"{name}_valid")
        if valid is None or not valid.any():
            packed[name] = packed[f"{name}_valid"] = None
            continue
        values = columns[name] if valid.all() else np.where(valid, columns[name], 0)
        packed[name] = _big_endian(values, name)
        packed[f"{name}_valid"] = None if valid.all() else valid.astype(np.uint8).tobytes()
    return packed


def unpack(chunks: Sequence[Mapping[str, bytes | None]]) -> Columns:
    """Native columns of consecutive chunks (rows with the ``PACKED`` fields).

    Each chunk is byte-swapped straight into its slice of the result: no joined copy.
    """
    counts = [len(_bytes(chunk["ts"])) // 8 for chunk in chunks]
    columns = {name: _native(name, [chunk[name] for chunk in chunks], counts) for name in REQUIRED}
    for name in OPTIONAL_BAR_COLUMNS:
        if all(chunk[name] is None for chunk in chunks):
            continue
        columns[name] = _native(name, [chunk[name] for chunk in chunks], counts)
        valid = []
        for chunk, count in zip(chunks, counts, strict=True):
            mask = chunk[f"{name}_valid"]
            if mask is None:
                mask = (b"\x00" if chunk[name] is None else b"\x01") * count
            valid.append(mask)
        columns[f"{name}_valid"] = np.frombuffer(b"".join(valid), dtype=np.bool_)
    return columns


def merge(old: Columns, new: Columns) -> Columns:
    """``old`` bars with those at ``new``'s instants replaced and the others added.

    Both are time-ordered without duplicates; so is the result.
    """
    keep = ~np.isin(old["ts"], new["ts"], assume_unique=True)
    merged = {name: np.concatenate([old[name][keep], new[name]]) for name in REQUIRED}
    for name in OPTIONAL_BAR_COLUMNS:
        if name in old or name in new:
            older, newer = _optional(old, name, keep), _optional(new, name, None)
            merged[name] = np.concatenate([older[0], newer[0]])
            merged[f"{name}_valid"] = np.concatenate([older[1], newer[1]])
    stamps = merged["ts"]
    if len(stamps) > 1 and not bool(np.all(stamps[1:] > stamps[:-1])):
        order = np.argsort(stamps, kind="stable")
        merged = {name: values[order] for name, values in merged.items()}
    return merged


def _optional(
    columns: Columns, name: str, select: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(values, valid) of an optional column, zeros and ``False`` where it is absent."""
    rows = len(columns["ts"]) if select is None else int(np.count_nonzero(select))
    if name not in columns:
        dtype = _BIG_ENDIAN[name].newbyteorder("=")
        return np.zeros(rows, dtype=dtype), np.zeros(rows, dtype=np.bool_)
    values, valid = columns[name], columns[f"{name}_valid"]
    return (values, valid) if select is None else (values[select], valid[select])


def same_packed(left: Packed, right: Mapping[str, bytes | None]) -> bool:
    """Whether two stored forms hold the same bytes (re-ingesting rewrites nothing)."""
    for name in PACKED:
        a, b = left[name], right[name]
        if (a is None) != (b is None):
            return False
        if a is not None and b is not None and a != b:
            return False
    return True


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    """Rows ``start:stop`` of a batch: one symbol's bars in the month starting ``month_start``."""

    code: int
    month_start: int
    start: int
    stop: int


class Batch:
    """Normalized bars sorted by symbol and time, cut at UTC month boundaries."""

    def __init__(self, bars: pa.Table) -> None:
        encoded = pc.dictionary_encode(bars.column(SYMBOL)).combine_chunks()
        self.symbols: list[str] = encoded.dictionary.to_pylist()
        codes = encoded.indices.to_numpy().astype(np.int64)
        unix = bars.column(TIMESTAMP).combine_chunks().cast(pa.int64()).to_numpy()
        order = _sort_order(codes, unix)
        columns: Columns = {"ts": unix - PG_EPOCH_OFFSET_US}
        for name in REQUIRED[1:]:
            columns[name] = _column(bars, name, pa.int64() if name == "volume" else pa.float64())
        self.has: dict[str, bool] = {}
        for name in OPTIONAL_BAR_COLUMNS:
            present = name in bars.column_names and bars.column(name).null_count < bars.num_rows
            self.has[name] = present
            if present:
                column = bars.column(name).combine_chunks()
                columns[f"{name}_valid"] = pc.is_valid(column).to_numpy(zero_copy_only=False)
                filled = pc.fill_null(column.cast(_ARROW_TYPES[name]), 0)
                columns[name] = filled.to_numpy(zero_copy_only=False)
        if order is not None:
            codes = codes[order]
            columns = {name: values[order] for name, values in columns.items()}
        self.columns = columns
        self.chunks = list(_cut(codes, unix if order is None else unix[order], len(self.symbols)))

    def rows(self, chunk: Chunk) -> Columns:
        return {name: values[chunk.start : chunk.stop] for name, values in self.columns.items()}


def month_start(unix_micros: int) -> int:
    """Unix microseconds of 00:00 UTC on the first day of the month of ``unix_micros``."""
    month = np.datetime64(unix_micros, "us").astype("datetime64[M]")
    return int(month.astype("datetime64[us]").astype(np.int64))


def _sort_order(codes: np.ndarray, unix: np.ndarray) -> np.ndarray | None:
    """The permutation sorting by (symbol, time), ``None`` when already sorted (files
    usually are); duplicates are refused, so chunks keep one bar per instant."""
    if len(codes) < 2:
        return None
    step_code, step_time = np.diff(codes), np.diff(unix)
    if bool(np.all((step_code > 0) | ((step_code == 0) & (step_time > 0)))):
        return None
    order = np.lexsort((unix, codes))
    same = (np.diff(codes[order]) == 0) & (np.diff(unix[order]) == 0)
    if same.any():
        row = int(order[int(np.argmax(same)) + 1])
        raise InvalidBarsError("duplicate bar: same symbol and timestamp as another row", row=row)
    return order


def _cut(codes: np.ndarray, unix: np.ndarray, symbols: int) -> Iterable[Chunk]:
    """Chunks of sorted rows: per symbol, a binary search for each month start."""
    bounds = np.searchsorted(codes, np.arange(symbols + 1))
    for code in range(symbols):
        low, high = int(bounds[code]), int(bounds[code + 1])
        if low == high:
            continue
        first = np.datetime64(int(unix[low]), "us").astype("datetime64[M]")
        last = np.datetime64(int(unix[high - 1]), "us").astype("datetime64[M]")
        one_month = np.timedelta64(1, "M")
        month_starts = np.arange(first, last + 2 * one_month, one_month)
        months = month_starts.astype("datetime64[us]").astype(np.int64)
        edges = low + np.searchsorted(unix[low:high], months)
        for index in range(len(months) - 1):
            start, stop = int(edges[index]), int(edges[index + 1])
            if start < stop:
                yield Chunk(code, int(months[index]), start, stop)


def _column(bars: pa.Table, name: str, arrow_type: pa.DataType) -> np.ndarray:
    values: np.ndarray = bars.column(name).combine_chunks().cast(arrow_type).to_numpy()
    return values


def _big_endian(values: np.ndarray, name: str) -> memoryview:
    return np.ascontiguousarray(values, dtype=_BIG_ENDIAN[name]).data.cast("B")


def _native(name: str, packed: Sequence[bytes | None], counts: Sequence[int]) -> np.ndarray:
    """One column of consecutive chunks in native byte order; zeros where a chunk lacks it."""
    dtype = _BIG_ENDIAN[name]
    result = np.empty(sum(counts), dtype=dtype.newbyteorder("="))
    offset = 0
    for values, count in zip(packed, counts, strict=True):
        if values is None:
            result[offset : offset + count] = 0
        else:
            result[offset : offset + count] = np.frombuffer(values, dtype=dtype)
        offset += count
    return result


def _bytes(value: bytes | None) -> bytes:
    if value is None:
        raise ValueError("a required packed column is NULL")
    return value
