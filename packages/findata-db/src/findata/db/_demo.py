"""A deterministic synthetic data set, so a fresh install shows a working API offline.

The symbols start with ``DEMO-`` and their source says "synthetic": nobody should
mistake them for market prices. DEMO-ALPHA has corporate actions, as traded: a 2-for-1
split on 2023-06-01 (its bars before it trade at twice the price, half the volume) and
a quarterly cash dividend, so ``adjustment=`` shows its effect on a fresh install.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import DEFAULT_TIMEZONE
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    UTC_TIMESTAMP,
    VOLUME,
    VWAP,
)
from findata.db._actions import ActionStore
from findata.db._types import BarKind, Store
from findata.db._validate import local_midnight

DEMO_SOURCE: Final = "demo: synthetic random-walk data, not market prices"
DEMO_DAILY_SYMBOLS: Final = ("DEMO-ALPHA", "DEMO-BETA", "DEMO-GAMMA")
DEMO_MINUTE_SYMBOLS: Final = ("DEMO-ALPHA-1M", "DEMO-BETA-1M")
_SEED: Final = 20240102
_FIRST_DAY: Final = dt.date(2022, 1, 3)
_LAST_DAY: Final = dt.date(2024, 12, 31)
_MINUTE_DAYS: Final = 10
_SESSION_MINUTES: Final = 390  # 09:30 to 16:00 New York time
DEMO_ACTIONS_SYMBOL: Final = "DEMO-ALPHA"
_SPLIT_DAY: Final = dt.date(2023, 6, 1)  # a Thursday
_SPLIT_RATIO: Final = 2.0  # 2-for-1
_DIVIDEND_MONTHS: Final = (2, 5, 8, 11)
_DIVIDEND_AFTER_SPLIT: Final = 0.25


def _weekdays(first: dt.date, last: dt.date) -> np.ndarray:
    end = np.datetime64(last, "D") + np.timedelta64(1, "D")
    days = np.arange(np.datetime64(first, "D"), end, dtype="datetime64[D]")
    return days[np.is_busday(days)]


def _walk(
    rng: np.random.Generator, count: int, start: float, volatility: float
) -> dict[str, np.ndarray]:
    """OHLCV rows of a geometric random walk; high/low always bracket open and close."""
    closes = start * np.exp(np.cumsum(rng.normal(0.0002, volatility, count)))
    opens = np.concatenate(([start], closes[:-1])) * np.exp(rng.normal(0, volatility / 4, count))
    spread = np.abs(rng.normal(0, volatility / 2, count))
    highs = np.maximum(opens, closes) * (1 + spread)
    lows = np.minimum(opens, closes) * (1 - spread)
    volumes = rng.integers(50_000, 5_000_000, count, dtype=np.int64)
    return {
        OPEN: np.round(opens, 4),
        HIGH: np.round(highs, 4),
        LOW: np.round(lows, 4),
        CLOSE: np.round(closes, 4),
        VOLUME: volumes,
    }


def _fix_rounding(columns: dict[str, np.ndarray]) -> None:
    """Rounding to 4 decimals must not break high >= max(open, close) >= min >= low."""
    columns[HIGH] = np.maximum(columns[HIGH], np.maximum(columns[OPEN], columns[CLOSE]))
    columns[LOW] = np.minimum(columns[LOW], np.minimum(columns[OPEN], columns[CLOSE]))


def demo_bars(kind: BarKind = BarKind.DAILY) -> pa.Table:
    """The demo bars of ``kind``: the same table on every call and every machine.

    Daily: three symbols, weekdays 2022-01-03..2024-12-31. Intraday: two symbols,
    ten sessions of 1-minute bars with ``vwap`` and ``trade_count``.
    """
    rng = np.random.default_rng(_SEED if kind is BarKind.DAILY else _SEED + 1)
    parts: list[pa.Table] = []
    if kind is BarKind.DAILY:
        days = _weekdays(_FIRST_DAY, _LAST_DAY)
        stamps = local_midnight(
            pa.array(days.astype("datetime64[D]"), pa.date32()), DEFAULT_TIMEZONE
        )
        for index, symbol in enumerate(DEMO_DAILY_SYMBOLS):
            columns = _walk(rng, len(days), 50.0 * (index + 1), 0.015)
            if symbol == DEMO_ACTIONS_SYMBOL:
                _as_traded_before_split(columns, days)
            _fix_rounding(columns)
            parts.append(_table(symbol, stamps, columns))
        return pa.concat_tables(parts)
    days = _weekdays(dt.date(2024, 12, 2), dt.date(2024, 12, 31))[:_MINUTE_DAYS]
    session_open = pc.add(
        local_midnight(pa.array(days, pa.date32()), DEFAULT_TIMEZONE),
        pa.scalar(dt.timedelta(hours=9, minutes=30), pa.duration("us")),
    )
    offsets = np.arange(_SESSION_MINUTES, dtype=np.int64) * 60_000_000
    micros = (session_open.cast(pa.int64()).to_numpy()[:, None] + offsets[None, :]).ravel()
    stamps = pa.array(micros).cast(UTC_TIMESTAMP)
    for index, symbol in enumerate(DEMO_MINUTE_SYMBOLS):
        columns = _walk(rng, len(micros), 100.0 * (index + 1), 0.0008)
        _fix_rounding(columns)
        columns[VOLUME] = columns[VOLUME] // 1000
        columns[VWAP] = np.round((columns[HIGH] + columns[LOW] + columns[CLOSE]) / 3, 4)
        columns[TRADE_COUNT] = np.maximum(columns[VOLUME] // 50, 1)
        parts.append(_table(symbol, stamps, columns))
    return pa.concat_tables(parts)


def _as_traded_before_split(columns: dict[str, np.ndarray], days: np.ndarray) -> None:
    """The walk is the split-adjusted series: before the split, shares traded at
    ``_SPLIT_RATIO`` times the price and 1 / ``_SPLIT_RATIO`` the volume."""
    before = days < np.datetime64(_SPLIT_DAY, "D")
    for name in (OPEN, HIGH, LOW, CLOSE):
        columns[name] = np.where(before, np.round(columns[name] * _SPLIT_RATIO, 4), columns[name])
    columns[VOLUME] = np.where(before, columns[VOLUME] // int(_SPLIT_RATIO), columns[VOLUME])


def demo_actions() -> tuple[pa.Table, pa.Table]:
    """DEMO-ALPHA's split and quarterly dividends (ex on the first weekday on or after the
    10th of February, May, August and November), amounts as paid: twice as much per
    share before the split."""
    splits = pa.table(
        {
            "symbol": [DEMO_ACTIONS_SYMBOL],
            "ex_date": [_SPLIT_DAY],
            "split_from": [1.0],
            "split_to": [_SPLIT_RATIO],
        },
        schema=SPLITS_SCHEMA,
    )
    ex_dates = [
        _weekdays(dt.date(year, month, 10), dt.date(year, month, 16))[0].item()
        for year in range(_FIRST_DAY.year, _LAST_DAY.year + 1)
        for month in _DIVIDEND_MONTHS
    ]
    amounts = [
        _DIVIDEND_AFTER_SPLIT * (_SPLIT_RATIO if day < _SPLIT_DAY else 1.0) for day in ex_dates
    ]
    dividends = pa.table(
        {
            "symbol": [DEMO_ACTIONS_SYMBOL] * len(ex_dates),
            "ex_date": pa.array(ex_dates, pa.date32()),
            "cash_amount": amounts,
            "currency": ["USD"] * len(ex_dates),
            "pay_date": pa.array([day + dt.timedelta(days=14) for day in ex_dates], pa.date32()),
            "record_date": pa.array([day + dt.timedelta(days=1) for day in ex_dates], pa.date32()),
        },
        schema=DIVIDENDS_SCHEMA,
    )
    return splits, dividends


def _table(symbol: str, stamps: pa.Array, columns: dict[str, np.ndarray]) -> pa.Table:
    return pa.table(
        {SYMBOL: pa.array([symbol] * len(stamps), pa.string()), TIMESTAMP: stamps, **columns}
    )


async def ingest_demo(store: Store, *, if_empty: bool = False) -> int:
    """Write the demo bars (idempotent); with ``if_empty``, only into a store without symbols.

    Returns the number of rows written (0 when skipped).
    """
    if if_empty and await store.list_symbols():
        return 0
    written = 0
    for kind in BarKind:
        written += await store.write_bars(
            demo_bars(kind), source=DEMO_SOURCE, timezone=DEFAULT_TIMEZONE, bar_kind=kind
        )
    if isinstance(store, ActionStore):
        await store.write_actions(*demo_actions())
    return written
