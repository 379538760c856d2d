"""Shared vocabulary of findata: frequencies, column names and the canonical bar schema."""

from __future__ import annotations

import enum
from typing import Final

import pyarrow as pa

from findata.core._errors import InvalidParameterError

DEFAULT_TIMEZONE: Final = "America/New_York"
"""Exchange time zone assumed for a symbol when none is recorded."""

# Canonical column names of a bar table.
SYMBOL: Final = "symbol"
TIMESTAMP: Final = "timestamp"
PERIOD_START: Final = "period_start"
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

Optional columns ``vwap`` (float64) and ``trade_count`` (int64) may follow.
"""


class Frequency(enum.StrEnum):
    """Calendar unit of a resampling bucket; ``interval`` multiplies it."""

    MINUTE = "Minute"
    HOURLY = "Hourly"
    DAILY = "Daily"
    WEEKLY = "Weekly"
    MONTHLY = "Monthly"
    QUARTERLY = "Quarterly"
    ANNUAL = "Annual"

    @classmethod
    def parse(cls, value: str | Frequency) -> Frequency:
        """Accept a frequency by name, case-insensitively (``daily``, ``Daily``, ``DAILY``)."""
        if isinstance(value, Frequency):
            return value
        wanted = str(value).strip().casefold()
        for member in cls:
            if member.value.casefold() == wanted:
                return member
        raise InvalidParameterError(
            "frequency",
            f"unknown frequency {value!r}",
            value=value,
            allowed=[member.value for member in cls],
        )

    @property
    def is_intraday(self) -> bool:
        """Minute and Hourly buckets are instants; Daily and longer are calendar dates."""
        return self in (Frequency.MINUTE, Frequency.HOURLY)
