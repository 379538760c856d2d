"""PostgreSQL binary COPY of fixed-width columns, encoded and decoded with NumPy.

Every field here has a fixed size (no text, NULLs replaced by a value plus a
validity flag), so a COPY stream is a plain array of identical records: NumPy
reads or writes millions of them without a Python loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
HEADER: Final = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER: Final = b"\xff\xff"
PG_EPOCH_OFFSET_US: Final = 946_684_800_000_000
"""Microseconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch)."""

# PostgreSQL binary layouts: big-endian, timestamps as int8 microseconds since 2000.
PG_TYPES: Final = {
    "int4": ">i4",
    "int8": ">i8",
    "float8": ">f8",
    "bool": "?",
    "timestamptz": ">i8",
}

Columns = Sequence[tuple[str, str]]
"""``(name, pg_type)`` of each field, in table order."""


def record_dtype(columns: Columns) -> np.dtype[np.void]:
    """The on-the-wire record of ``columns``: field count, then (length, value) per field."""
    fields: list[tuple[str, str]] = [("_count", ">i2")]
    for name, pg_type in columns:
        fields += [(f"_{name}_length", ">i4"), (name, PG_TYPES[pg_type])]
    return np.dtype(fields)


def encode_records(columns: Columns, values: dict[str, np.ndarray], start: int, stop: int) -> bytes:
    """Rows ``start:stop`` of ``values`` as binary COPY records (no header, no trailer)."""
    dtype = record_dtype(columns)
    records = np.empty(stop - start, dtype=dtype)
    records["_count"] = len(columns)
    for name, _ in columns:
        records[f"_{name}_length"] = dtype[name].itemsize
        records[name] = values[name][start:stop]
    return records.tobytes()


def decode(columns: Columns, payload: bytes) -> dict[str, np.ndarray]:
    """Columns (native byte order) of a binary COPY ``payload`` of ``columns``."""
    if not payload.startswith(SIGNATURE):
        raise ValueError("not a PostgreSQL binary COPY stream")
    extension = int.from_bytes(payload[15:19], "big")
    offset = 19 + extension
    dtype = record_dtype(columns)
    body = len(payload) - offset - len(TRAILER)
    if body % dtype.itemsize or not payload.endswith(TRAILER):
        raise ValueError("COPY stream is not made of fixed-width records of the expected shape")
    records = np.frombuffer(payload, dtype=dtype, count=body // dtype.itemsize, offset=offset)
    if len(records) and (records["_count"] != len(columns)).any():
        raise ValueError("COPY stream holds records with an unexpected number of fields")
    return {
        name: records[name].astype(records.dtype[name].newbyteorder("=")) for name, _ in columns
    }
