"""``session=all|regular`` on every bar endpoint: a bar transform keeping regular hours.

``regular`` keeps only the intraday bars that start inside a regular session of the
symbol's exchange (``[open, close)``, early closes honoured, lunch breaks excluded)
before anything is resampled or computed; daily-bar symbols are unchanged. ``all`` (the
default) is today's behaviour and adds no transform, so its cache keys stay as they
were. The filter is ``findata.core.calendars.filter_regular_session``; it runs in a
thread because the first use of a calendar reads it (seconds), and the series service
caches its whole-history result per data version (ADR 0077).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Hashable, Mapping
from datetime import timedelta
from typing import Final

import pyarrow as pa

from findata.api._problems import ProblemError, invalid_parameter
from findata.api._query import SESSIONS
from findata.api._series import BarTransform, conflict
from findata.core import InvalidParameterError
from findata.core.calendars import filter_regular_session
from findata.db import BarKind, SymbolInfo

_INTRADAY: Final = timedelta(minutes=1)
"""Any interval under a day says "intraday" to the filter, which judges bars by their start."""


@dataclasses.dataclass(frozen=True, slots=True)
class RegularSession:
    """Keeps the intraday bars inside the regular sessions of the symbol's exchange."""

    @property
    def key(self) -> Hashable:
        return ("session", "regular")

    async def __call__(self, bars: pa.Table, info: SymbolInfo) -> pa.Table:
        if info.bar_kind is BarKind.DAILY:
            return bars
        try:
            return await asyncio.to_thread(
                filter_regular_session, bars, info.exchange, bar_interval=_INTRADAY
            )
        except InvalidParameterError as error:  # the bars, not the request, are out of range
            raise calendar_conflict(info, error) from error


def session_transforms(args: Mapping[str, str]) -> tuple[BarTransform, ...]:
    """The transforms ``session`` asks for (none for ``all``); 400 on another value."""
    raw = args.get("session", "all")
    session = raw.strip().lower()
    if session not in SESSIONS:
        raise invalid_parameter(
            "session", "session must be all or regular", value=raw, allowed=list(SESSIONS)
        )
    return (RegularSession(),) if session == "regular" else ()


def calendar_conflict(info: SymbolInfo, error: InvalidParameterError) -> ProblemError:
    """409: the symbol's bars reach past the dates its exchange's calendar is known for."""
    return conflict(
        "session",
        f"{info.symbol}'s bars reach past the dates the {info.exchange} calendar covers: "
        f"{error.message}",
        value="regular",
        allowed=["all"],
    )
