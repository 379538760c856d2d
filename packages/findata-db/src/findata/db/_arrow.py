"""Arrow shapes shared by both stores: storage layout in, ``BAR_SCHEMA`` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from findata.core import BAR_SCHEMA
from findata.core.columns import OPTIONAL_BAR_FIELDS, TIMESTAMP


def with_all_columns(bars: pa.Table) -> pa.Table:
    """Normalized bars with both optional columns present (nulls where absent)."""
    columns = {name: bars.column(name) for name in BAR_SCHEMA.names}
    for field in OPTIONAL_BAR_FIELDS:
        columns[field.name] = (
            bars.column(field.name)
            if field.name in bars.column_names
            else pa.nulls(bars.num_rows, field.type)
        )
    return pa.table(columns)


def to_bar_table(table: pa.Table) -> pa.Table:
    """A ``BAR_SCHEMA`` table, plus each optional column that holds a value."""
    fields = list(BAR_SCHEMA)
    arrays: list[pa.ChunkedArray] = []
    for field in BAR_SCHEMA:
        column = table.column(field.name)
        # Timestamps are stored as UTC wall time without a zone: Arrow's cast to the
        # UTC type re-labels those values as they are (zero-copy for microseconds)
        # and converts any other unit.
        arrays.append(column.cast(field.type) if column.type != field.type else column)
    for field in OPTIONAL_BAR_FIELDS:
        if field.name in table.column_names and table.column(field.name).null_count < len(table):
            fields.append(field)
            arrays.append(table.column(field.name).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def repeat_string(value: str, rows: int) -> pa.Array:
    """``value`` ``rows`` times, assembled from its offsets and bytes (half ``pa.repeat``'s
    time): both stores label every bar of a read with its symbol."""
    encoded = value.encode()
    if rows * len(encoded) >= 2**31:  # beyond a string array's int32 offsets
        return pa.repeat(pa.scalar(value, pa.string()), rows)
    offsets = np.arange(rows + 1, dtype=np.int32) * np.int32(len(encoded))
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(encoded * rows)]
    return pa.Array.from_buffers(pa.string(), rows, buffers)


def empty_bar_table() -> pa.Table:
    return BAR_SCHEMA.empty_table()


def slice_time(table: pa.Table, start: dt.datetime | None, end: dt.datetime | None) -> pa.Table:
    """Rows of a time-sorted table with ``start <= timestamp <= end`` (binary search)."""
    if start is None and end is None:
        return table
    stamps = table.column(TIMESTAMP).combine_chunks().cast(pa.int64()).to_numpy()
    low = 0 if start is None else int(np.searchsorted(stamps, micros(start), side="left"))
    high = len(stamps) if end is None else int(np.searchsorted(stamps, micros(end), side="right"))
    return table.slice(low, max(high - low, 0))


def micros(instant: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (naive means UTC)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=dt.UTC)
    delta = instant - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def concat_bars(parts: Sequence[pa.Table]) -> pa.Table:
    """Concatenate per-symbol bar tables whose optional columns may differ."""
    parts = [part for part in parts if part.num_rows]
    if not parts:
        return empty_bar_table()
    if len(parts) == 1:
        return parts[0]
    names = {name for part in parts for name in part.column_names}
    fields = list(BAR_SCHEMA) + [field for field in OPTIONAL_BAR_FIELDS if field.name in names]
    schema = pa.schema(fields)
    aligned = []
    for part in parts:
        columns = [
            part.column(field.name)
            if field.name in part.column_names
            else pa.nulls(part.num_rows, field.type)
            for field in schema
        ]
        aligned.append(pa.Table.from_arrays(columns, schema=schema))
    return pa.concat_tables(aligned)
