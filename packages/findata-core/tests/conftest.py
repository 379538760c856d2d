"""Bar tables for the findata-core tests, built from plain Python values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import pyarrow as pa
import pytest

from findata.core import BAR_SCHEMA

BarRow = tuple[str, datetime, float, float, float, float, int]
MakeBars = Callable[..., pa.Table]


def bars_table(rows: Sequence[BarRow], **extra: Sequence[object]) -> pa.Table:
    """A BAR_SCHEMA table from ``(symbol, aware datetime, o, h, l, c, volume)`` rows."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in BAR_SCHEMA.names]
    table = pa.Table.from_arrays(
        [
            pa.array(values, type=field.type)
            for values, field in zip(columns, BAR_SCHEMA, strict=True)
        ],
        schema=BAR_SCHEMA,
    )
    for name, values in extra.items():
        table = table.append_column(name, pa.array(values))
    return table


@pytest.fixture
def make_bars() -> MakeBars:
    return bars_table
