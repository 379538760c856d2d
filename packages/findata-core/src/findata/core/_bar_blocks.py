"""Bars checked for adjusting: their types, nulls and order, and each symbol's block of rows.

What :func:`~findata.core.adjust_bars` needs of its input, checked once per table object
(the API adjusts a store's cached series, the same table until the data changes): the
UTC microseconds of every row, where each symbol's rows begin and end, and the symbols.
The passes over every row (string widths, order) are compiled loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._errors import InvalidBarsError
from findata.core._kernels import compiled_loops
from findata.core._remember import PerTable
from findata.core.columns import (
    BAR_SCHEMA,
    OPTIONAL_BAR_FIELDS,
    PERIOD_START,
    REQUIRED_BAR_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    VWAP,
)

I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

_BAR_TYPES: Final = {field.name: field.type for field in (*BAR_SCHEMA, *OPTIONAL_BAR_FIELDS)}


def values_of(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    """A null-free column as numpy, without a copy when it is one chunk."""
    chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values: npt.NDArray[Any] = chunk.to_numpy()
    return values


_FEW_BLOCKS: Final = 64
"""Up to this many symbols, their names are read one by one rather than by a take."""


@dataclass(frozen=True, slots=True)
class Series:
    """Checked bars: each symbol's block of rows and the UTC microseconds of every row."""

    table: pa.Table
    times: I64
    starts: Index
    ends: Index
    names: list[str]

    @property
    def rows(self) -> int:
        return len(self.times)

    @classmethod
    def of(cls, bars: pa.Table) -> Series:
        if not isinstance(bars, pa.Table):
            raise InvalidBarsError(f"bars must be a pyarrow.Table, not {type(bars).__name__}")
        return cls(bars, *_checked_shape(bars))


_Shape = tuple[I64, Index, Index, list[str]]


def _check_shape(bars: pa.Table) -> _Shape:
    """The UTC microseconds of every row, the first and end row of each symbol's block and
    the blocks' symbols, once the types, nulls and order are checked."""
    schema = bars.schema
    if schema.get_field_index(TIMESTAMP) < 0 and schema.get_field_index(PERIOD_START) >= 0:
        raise InvalidBarsError(
            "adjust raw bars (timestamp), then resample them: a bucket spanning an "
            "ex-date cannot be adjusted as a whole",
            column=PERIOD_START,
        )
    types = dict(zip(schema.names, schema.types, strict=True))
    for name, kind in _BAR_TYPES.items():
        if name not in types:
            if name in REQUIRED_BAR_COLUMNS:
                raise InvalidBarsError(f"missing column {name!r}", column=name)
            continue
        if types[name] != kind:
            raise InvalidBarsError(
                f"column {name!r} has type {types[name]}, not {kind}: "
                "pass the bars through validate_bars first",
                column=name,
            )
        column = bars.column(name)
        if column.null_count and name != VWAP:
            row = int(np.argmax(values_of(pc.is_null(column))))
            raise InvalidBarsError(f"column {name!r} is null at row {row}", row=row, column=name)
    if bars.num_rows == 0:
        empty = np.empty(0, dtype=np.intp)
        return np.empty(0, dtype=np.int64), empty, empty, []
    symbols = bars.column(SYMBOL)
    symbols = symbols.chunk(0) if symbols.num_chunks == 1 else symbols.combine_chunks()
    starts = _symbol_starts(symbols)
    if len(starts) <= _FEW_BLOCKS:
        names = [symbols[start].as_py() for start in starts.tolist()]
    else:
        names = symbols.take(pa.array(starts)).to_pylist()
    _check_contiguous(names, starts)
    times = values_of(bars.column(TIMESTAMP)).view(np.int64)
    _check_increasing(times, starts, names)
    ends = np.append(starts[1:], len(times)).astype(np.intp)
    return times, starts, ends, names


_checked_shape: Final = PerTable(_check_shape)
"""Checked once per bars table: the API adjusts a store's cached series, the same table
until the data changes, request after request."""


def _symbol_starts(symbols: pa.StringArray) -> Index:
    """First row of each run of equal symbols. When every row holds the first row's
    symbol (one symbol, as the API reads them) the string offsets (one compiled pass)
    and a comparison of the string bytes with themselves shifted by one symbol prove it;
    else Arrow compares the rows."""
    rows = len(symbols)
    offsets = np.frombuffer(
        symbols.buffers()[1], np.int32, count=rows + 1, offset=symbols.offset * 4
    )
    width = compiled_loops().uniform_width(offsets)
    if width == 0:
        return np.zeros(1, dtype=np.intp)
    if width > 0:
        base = int(offsets[0])
        data = symbols.buffers()[2]
        if data.slice(base + width, width * (rows - 1)).equals(
            data.slice(base, width * (rows - 1))
        ):
            return np.zeros(1, dtype=np.intp)
    changed = pc.indices_nonzero(pc.not_equal(symbols[1:], symbols[:-1]))
    return np.concatenate(([0], changed.to_numpy() + 1)).astype(np.intp)


def _check_contiguous(names: list[str], starts: Index) -> None:
    if len(set(names)) == len(names):
        return
    seen: set[str] = set()
    for name, start in zip(names, starts.tolist(), strict=True):
        if name in seen:
            raise InvalidBarsError(
                f"rows of symbol {name!r} resume at row {start}: each symbol's rows must be "
                "together (validate_bars orders them)",
                row=start,
                column=SYMBOL,
            )
        seen.add(name)


def _check_increasing(times: I64, starts: Index, names: list[str]) -> None:
    row = compiled_loops().first_step_back(times, starts)  # a new symbol may start earlier
    if row < 0:
        return
    name = names[int(np.searchsorted(starts, row, side="right")) - 1]
    raise InvalidBarsError(
        f"timestamp not after the previous row's for symbol {name!r} at row {row}: "
        "rows of a symbol must have strictly increasing timestamps",
        row=row,
        column=TIMESTAMP,
    )
