"""Bar tables for the findata-core tests, built from plain Python values."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

import numpy as np
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


def random_walk_bars(rows: int, *, seed: int = 7, symbol: str = "TEST") -> dict[str, np.ndarray]:
    """Plausible OHLCV arrays: a geometric random walk with highs above and lows below."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    open_ = np.concatenate(([100.0], close[:-1])) * (1 + rng.normal(0.0, 0.002, rows))
    high = np.maximum(open_, close) * (1 + rng.random(rows) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(rows) * 0.01)
    volume = rng.integers(0, 1_000_000, rows)
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


@pytest.fixture
def walk() -> Callable[..., dict[str, np.ndarray]]:
    return random_walk_bars
