"""Is an exchange open at an instant, and when does it next open and close.

Answered by two binary searches in the exchange's cached open and close edges (session
opens and break ends; break starts and session closes), so a clock request costs
microseconds once the calendar is loaded.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import NoReturn
from zoneinfo import ZoneInfo

import numpy as np

from findata.core._calendar import DEFAULT_EXCHANGE, Schedule, schedule, validate_exchange
from findata.core._errors import InvalidParameterError
from findata.core._timezones import MICROS_PER_SECOND, zone_info


@dataclasses.dataclass(frozen=True, slots=True)
class MarketClock:
    """The state of an exchange at ``timestamp``; instants are in the exchange's time zone.

    ``next_open`` and ``next_close`` are the next instants, after ``timestamp``, at which
    trading starts and stops; a lunch break counts as a close and its end as an open, so
    during a session's morning ``next_close`` is the break's start.
    """

    exchange: str
    timestamp: datetime
    is_open: bool
    next_open: datetime
    next_close: datetime


def clock(exchange: str = DEFAULT_EXCHANGE, timestamp: datetime | None = None) -> MarketClock:
    """The clock of ``exchange`` at ``timestamp`` (an aware datetime; default: now).

    Open means inside ``[open, close)`` of a session and outside ``[break_start,
    break_end)``. Raises :class:`InvalidParameterError` on ``exchange`` (unknown) or
    ``timestamp`` (naive, or outside the dates the calendar covers).
    """
    name = validate_exchange(exchange)
    found = schedule(name)
    zone = zone_info(found.timezone)
    instant = datetime.now(UTC) if timestamp is None else timestamp
    if not isinstance(instant, datetime) or instant.utcoffset() is None:
        raise InvalidParameterError(
            "timestamp",
            f"timestamp must be a datetime with a time zone, not {timestamp!r}",
            value=timestamp,
        )
    local = instant.astimezone(zone)
    micros = _micros(instant)
    opened = int(np.searchsorted(found.open_edges, micros, side="right"))
    closed = int(np.searchsorted(found.close_edges, micros, side="right"))
    if local.date() < found.first_date or max(opened, closed) >= len(found.close_edges):
        _out_of_range(found, local)
    return MarketClock(
        exchange=name,
        timestamp=local,
        is_open=opened > closed,
        next_open=_instant(int(found.open_edges[opened]), zone),
        next_close=_instant(int(found.close_edges[closed]), zone),
    )


def _micros(instant: datetime) -> int:
    """UTC microseconds since the epoch, exactly (no float rounding)."""
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def _instant(micros: int, zone: ZoneInfo) -> datetime:
    seconds, rest = divmod(micros, MICROS_PER_SECOND)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=rest).astimezone(zone)


def _out_of_range(found: Schedule, local: datetime) -> NoReturn:
    raise InvalidParameterError(
        "timestamp",
        f"timestamp {local.isoformat()} is outside the dates the {found.calendar} calendar "
        f"covers ({found.first_date} to {found.last_date}, with a next open and close)",
        value=local.isoformat(),
        allowed=f"{found.first_date.isoformat()} to {found.last_date.isoformat()}",
    )
