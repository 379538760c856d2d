"""Pages of rows in time order, and the cursors between them (keyset paging, ADR 0021).

A cursor is the time key of the last row of the previous page, written as a plain
integer (days since 1970-01-01 for dates, UTC microseconds for instants): every
string of :data:`CURSOR_PATTERN` is a position, so OpenAPI can say exactly which
cursors are accepted (ADR 0023), and a position stays valid when rows are added.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final, Literal

import numpy as np
import pyarrow as pa

from findata.api._problems import invalid_parameter
from findata.api._ranges import time_keys

Sort = Literal["asc", "desc"]

CURSOR_PATTERN: Final = r"-?[0-9]{1,18}"
"""An integer of at most 18 digits: far from int64's limits, wider than any time key."""


def parse_cursor(raw: str) -> int:
    """The position a cursor names, or a 400 naming ``cursor``."""
    if not re.fullmatch(CURSOR_PATTERN, raw):
        raise invalid_parameter(
            "cursor",
            "invalid cursor; use the next link of a previous page",
            value=raw,
            allowed=f"an integer matching {CURSOR_PATTERN}",
        )
    return int(raw)


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """The rows of one page and the cursor of the next (``None`` on the last page)."""

    rows: pa.Table
    next_cursor: str | None


def paginate(rows: pa.Table, column: str, *, after: int | None, limit: int, sort: Sort) -> Page:
    """Up to ``limit`` rows of ``rows`` (ascending in ``column``, one symbol) in ``sort``
    order, starting after the position ``after``."""
    count = rows.num_rows
    # Only a cursor needs the time keys (a many-symbol page asks this of hundreds of tables).
    if sort == "asc":
        first = 0 if after is None else _position(rows, column, after, "right")
        page = rows.slice(first, limit)
        more = first + limit < count
    else:
        stop = count if after is None else _position(rows, column, after, "left")
        first = max(stop - limit, 0)
        page = rows.slice(first, stop - first)
        page = page.take(pa.array(np.arange(page.num_rows - 1, -1, -1)))
        more = first > 0
    if not more or page.num_rows == 0:
        return Page(page, None)
    return Page(page, str(int(time_keys(page[column].slice(page.num_rows - 1))[0])))


def _position(rows: pa.Table, column: str, key: int, side: Literal["left", "right"]) -> int:
    return int(np.searchsorted(time_keys(rows[column]), key, side))
