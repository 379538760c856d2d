"""The bar contract: column names and the Arrow schema every findata package speaks.

Public so that the stores, the API and users' own code name columns through one
vocabulary instead of string literals (``from findata.core import columns``).
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa

__all__ = [
    "BAR_SCHEMA",
    "CLOSE",
    "HIGH",
    "LOW",
    "OPEN",
    "OPTIONAL_BAR_COLUMNS",
    "OPTIONAL_BAR_FIELDS",
    "PERIOD_START",
    "PRICE_COLUMNS",
    "REQUIRED_BAR_COLUMNS",
    "SYMBOL",
    "TIMESTAMP",
    "TRADE_COUNT",
    "UTC_TIMESTAMP",
    "VOLUME",
    "VWAP",
]

SYMBOL: Final = "symbol"
TIMESTAMP: Final = "timestamp"
PERIOD_START: Final = "period_start"
"""Start of a resampled bucket (replaces ``timestamp`` in resampled tables)."""
OPEN: Final = "open"
HIGH: Final = "high"
LOW: Final = "low"
CLOSE: Final = "close"
VOLUME: Final = "volume"
VWAP: Final = "vwap"
TRADE_COUNT: Final = "trade_count"

PRICE_COLUMNS: Final = (OPEN, HIGH, LOW, CLOSE)
REQUIRED_BAR_COLUMNS: Final = (SYMBOL, TIMESTAMP, OPEN, HIGH, LOW, CLOSE, VOLUME)
OPTIONAL_BAR_COLUMNS: Final = (VWAP, TRADE_COUNT)

UTC_TIMESTAMP: Final = pa.timestamp("us", tz="UTC")

BAR_SCHEMA: Final = pa.schema(
    [
        pa.field(SYMBOL, pa.string(), nullable=False),
        # A bar's start as a UTC instant. A daily bar starts at 00:00 of its trading
        # date in the exchange time zone, so converting back yields the same date.
        pa.field(TIMESTAMP, UTC_TIMESTAMP, nullable=False),
        pa.field(OPEN, pa.float64(), nullable=False),
        pa.field(HIGH, pa.float64(), nullable=False),
        pa.field(LOW, pa.float64(), nullable=False),
        pa.field(CLOSE, pa.float64(), nullable=False),
        pa.field(VOLUME, pa.int64(), nullable=False),
    ]
)
"""Schema of raw bars exchanged between the store, the core and the API.

The optional columns of :data:`OPTIONAL_BAR_FIELDS` may follow.
"""

OPTIONAL_BAR_FIELDS: Final = (pa.field(VWAP, pa.float64()), pa.field(TRADE_COUNT, pa.int64()))
"""Types of the optional columns, in the order they follow the required ones."""
