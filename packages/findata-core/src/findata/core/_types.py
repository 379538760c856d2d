"""Shared vocabulary of findata-core: frequencies and the default exchange time zone.

The bar columns and schema are public, in :mod:`findata.core.columns`.
"""

from __future__ import annotations

import enum
from typing import Final, TypeVar

from findata.core._errors import InvalidParameterError

DEFAULT_TIMEZONE: Final = "America/New_York"
"""Exchange time zone assumed for a symbol when none is recorded."""


Choice = TypeVar("Choice", bound=enum.StrEnum)


def parse_choice(choices: type[Choice], value: str | Choice, parameter: str) -> Choice:
    """The member of ``choices`` named ``value`` (any case, spaces around ignored), or an
    :class:`InvalidParameterError` naming ``parameter`` and the allowed values."""
    if isinstance(value, choices):
        return value
    wanted = str(value).strip().casefold()
    for member in choices:
        if member.value.casefold() == wanted:
            return member
    raise InvalidParameterError(
        parameter,
        f"unknown {parameter} {value!r}",
        value=value,
        allowed=[member.value for member in choices],
    )


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
        return parse_choice(cls, value, "frequency")

    @property
    def is_intraday(self) -> bool:
        """Minute and Hourly buckets are instants; Daily and longer are calendar dates."""
        return self in (Frequency.MINUTE, Frequency.HOURLY)
