"""PostgreSQL binary COPY records of ``bar_chunks`` rows, built without a per-value loop.

A chunk row is five fixed-width fields (ids, instants, count) and ten ``bytea``
fields that are already packed big-endian columns (``_pgchunks``): a record is a
small struct header followed by the packed buffers themselves, never copied
value by value.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
HEADER: Final = SIGNATURE + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER: Final = b"\xff\xff"
PG_EPOCH_OFFSET_US: Final = 946_684_800_000_000
"""Microseconds from 1970-01-01 (Unix) to 2000-01-01 (PostgreSQL's epoch)."""

_NULL: Final = b"\xff\xff\xff\xff"
_LENGTH: Final = struct.Struct(">i")
# Field count, then (length, value) of symbol_id int4, chunk_start, first_ts, last_ts
# (timestamptz: int8 microseconds since 2000) and bar_count int4.
_CHUNK_HEAD: Final = struct.Struct(">hiiiqiqiqii")

Buffer = bytes | memoryview


def chunk_record(
    symbol_id: int,
    chunk_start: int,
    first_ts: int,
    last_ts: int,
    bar_count: int,
    packed: Sequence[Buffer | None],
) -> list[Buffer]:
    """The pieces of one binary COPY record; instants are PostgreSQL-epoch microseconds."""
    pieces: list[Buffer] = [
        _CHUNK_HEAD.pack(
            5 + len(packed),
            4,
            symbol_id,
            8,
            chunk_start,
            8,
            first_ts,
            8,
            last_ts,
            4,
            bar_count,
        )
    ]
    for value in packed:
        if value is None:
            pieces.append(_NULL)
        else:
            pieces += [_LENGTH.pack(_size(value)), value]
    return pieces


def stream(
    records: Iterable[list[Buffer]], *, piece_bytes: int = 4 << 20
) -> Iterator[list[Buffer]]:
    """Header, records and trailer regrouped into lists of about ``piece_bytes`` to join."""
    group: list[Buffer] = [HEADER]
    size = len(HEADER)
    for record in records:
        for piece in record:
            group.append(piece)
            size += _size(piece)
        if size >= piece_bytes:
            yield group
            group, size = [], 0
    group.append(TRAILER)
    yield group


def _size(piece: Buffer) -> int:
    return piece.nbytes if isinstance(piece, memoryview) else len(piece)
