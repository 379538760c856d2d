"""A stored symbol's coverage report: its bars against its exchange's calendar.

The computation is ``findata.core.calendars.coverage``; this module adds what the store
knows (the symbol's exchange, time zone, bar kind, first and last bar) so that the API
and ``findata coverage`` give the same answer. Ranges reaching past the dates the
calendar knows are cut to them, and a reversed range expects no session (ADR 0077).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import zoneinfo
from typing import Final

import numpy as np
import pyarrow as pa

from findata.core.calendars import (
    DAILY,
    Coverage,
    calendar_dates,
    coverage,
    exchange_timezone,
)
from findata.core.columns import TIMESTAMP
from findata.db._types import BarKind, Store, SymbolInfo

_ONE_MINUTE: Final = dt.timedelta(minutes=1)


def symbol_coverage(
    info: SymbolInfo, bars: pa.Table, start: dt.date | None = None, end: dt.date | None = None
) -> Coverage:
    """The coverage of ``info``'s ``bars`` (its whole stored series) from ``start`` to
    ``end`` (default: the dates of its first and last bar), within the dates its
    exchange's calendar knows. Reads the calendar on first use: call it in a thread from
    async code."""
    first_known, last_known = calendar_dates(info.exchange)
    daily = info.bar_kind is BarKind.DAILY
    interval = DAILY if daily else _bar_interval(bars)
    zone = zoneinfo.ZoneInfo(info.timezone if daily else exchange_timezone(info.exchange))
    low = start or info.first_bar.astimezone(zone).date()
    high = end or info.last_bar.astimezone(zone).date()
    low, high = max(low, first_known), min(high, last_known)
    if low > high:  # reversed, or wholly outside the known dates: no session expected
        return Coverage(
            symbol=info.symbol,
            exchange=info.exchange,
            bar_kind="daily" if daily else "intraday",
            bar_interval=interval,
            start=start or low,
            end=end or high,
            expected_sessions=0,
            sessions_with_bars=0,
            missing_sessions=(),
            bars_outside_sessions=0,
            partial_sessions=(),
        )
    return coverage(
        bars, info.exchange, low, high, bar_interval=interval, timezone=info.timezone,
        symbol=info.symbol,
    )  # fmt: skip


def _bar_interval(bars: pa.Table) -> dt.timedelta:
    """The smallest step between two intraday bars of one symbol: their length, as the
    store does not record it (one minute for a single bar). The store knows the bars are
    intraday, so this is one pass over the sorted instants (``infer_bar_interval`` also
    checks for daily bars, at ten times the cost)."""
    if bars.num_rows < 2:
        return _ONE_MINUTE
    stamps = bars.column(TIMESTAMP).combine_chunks().view(pa.int64()).to_numpy()
    steps = np.diff(stamps)
    positive = steps[steps > 0]
    return _ONE_MINUTE if positive.size == 0 else dt.timedelta(microseconds=int(positive.min()))


async def read_coverage(
    store: Store, symbol: str, start: dt.date | None = None, end: dt.date | None = None
) -> Coverage | None:
    """The coverage of ``symbol`` in ``store`` (``None``: no such symbol)."""
    info = await store.get_symbol(symbol.strip().upper())
    if info is None:
        return None
    bars = await store.read_bars([info.symbol])
    return await asyncio.to_thread(symbol_coverage, info, bars, start, end)
