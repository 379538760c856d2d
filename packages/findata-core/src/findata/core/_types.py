"""Shared vocabulary of findata-core: frequencies and the default exchange time zone.

The bar columns and schema are public, in :mod:`findata.core.columns`.
"""

from __future__ import annotations

import enum
from typing import Final

from findata.core._errors import InvalidParameterError

DEFAULT_TIMEZONE: Final = "America/New_York"
"""Exchange time zone assumed for a symbol when none is recorded."""


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
