"""Bars, splits and dividends from Yahoo Finance through the optional ``yfinance`` extra
(``findata-db[yahoo]``).

Yahoo's ``Close`` (``auto_adjust=False``), volumes and dividends are split-adjusted to
today. findata stores bars as traded, so the ingest undoes that adjustment: a bar's
prices are multiplied, and its volume divided, by the product of the ratios of the
splits after its date, and a dividend's amount likewise (ADR 0073). The splits come
from a daily download of Yahoo's actions from ``start`` to today, so splits after
``end`` are undone too. Downloads go through the same typing and validation as files: a
bad row from Yahoo rejects that symbol with its row number, and nothing of it is written.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa

from findata.core import InvalidParameterError
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.core.columns import TIMESTAMP
from findata.db._actions import ActionStore
from findata.db._convert import DATE
from findata.db._errors import IngestError
from findata.db._ingest import IngestResult, write_raw
from findata.db._readers import RawBars, normalize_name
from findata.db._types import Store

YAHOO_SOURCE: Final = "yahoo"
DAILY_INTERVALS: Final = frozenset({"1d", "5d", "1wk", "1mo", "3mo"})
_PRICE_COLUMNS: Final = ("open", "high", "low", "close", "volume")
_SPLITS: Final = "stock_splits"
_DIVIDENDS: Final = "dividends"


def _download(
    symbol: str, start: dt.date, end: dt.date | None, interval: str, *, actions: bool = False
) -> Any:
    try:
        import yfinance  # optional extra, imported on use
    except ImportError as error:
        raise InvalidParameterError(
            "source",
            "Yahoo ingestion needs the optional extra: pip install 'findata-db[yahoo]'",
        ) from error
    return yfinance.download(
        symbol,
        start=start.isoformat(),
        end=None if end is None else end.isoformat(),
        interval=interval,
        auto_adjust=False,
        actions=actions,
        progress=False,
        threads=False,
        multi_level_index=False,
    )


def yahoo_actions(frame: Any, symbol: str) -> tuple[pa.Table, pa.Table]:
    """The splits and dividends of a daily yfinance frame (``actions=True``), dividends
    as paid (Yahoo's amounts are split-adjusted to today)."""
    if frame is None or len(frame) == 0:
        return SPLITS_SCHEMA.empty_table(), DIVIDENDS_SCHEMA.empty_table()
    renamed = frame.rename(columns=lambda name: normalize_name(str(name)))
    days = np.array(list(renamed.index.date), dtype="datetime64[D]")
    ratios = _column(renamed, _SPLITS)
    split_rows = np.flatnonzero(np.isfinite(ratios) & (ratios > 0) & (ratios != 1))
    split_days, split_ratios = days[split_rows], ratios[split_rows]
    # Yahoo's 4.0 is a 4-for-1 split (1 -> 4); its 0.1 a 1-for-10 reverse split (10 -> 1).
    splits = pa.table(
        {
            "symbol": [symbol] * len(split_rows),
            "ex_date": pa.array(split_days, pa.date32()),
            "split_from": np.where(split_ratios >= 1, 1.0, 1.0 / split_ratios),
            "split_to": np.where(split_ratios >= 1, split_ratios, 1.0),
        },
        schema=SPLITS_SCHEMA,
    )
    cash = _column(renamed, _DIVIDENDS)
    paid = np.flatnonzero(np.isfinite(cash) & (cash > 0))
    dividends = pa.table(
        {
            "symbol": [symbol] * len(paid),
            "ex_date": pa.array(days[paid], pa.date32()),
            "cash_amount": cash[paid] * _later_split_products(days[paid], split_days, split_ratios),
            "currency": pa.nulls(len(paid), pa.string()),
            "pay_date": pa.nulls(len(paid), pa.date32()),
            "record_date": pa.nulls(len(paid), pa.date32()),
        },
        schema=DIVIDENDS_SCHEMA,
    )
    return splits, dividends


def _column(frame: Any, name: str) -> Any:
    if name not in frame.columns:
        return np.zeros(len(frame))
    return frame[name].to_numpy(dtype=np.float64, na_value=np.nan)


def _later_split_products(days: Any, split_days: Any, ratios: Any) -> Any:
    """Per day, the product of the split ratios with an ex-date after it."""
    order = np.argsort(split_days)
    split_days, ratios = split_days[order], ratios[order]
    suffix = np.append(np.cumprod(ratios[::-1])[::-1], 1.0)
    return suffix[np.searchsorted(split_days, days, side="right")]


def yahoo_raw_bars(
    frame: Any, symbol: str, interval: str, splits: pa.Table | None = None
) -> RawBars:
    """A yfinance DataFrame as raw rows (``date`` for daily intervals, else ``timestamp``),
    Yahoo's split adjustment undone with ``splits`` (``SPLITS_SCHEMA``)."""
    origin = Path(f"yahoo:{symbol}")
    if frame is None or len(frame) == 0:
        raise IngestError(origin, 0, "Yahoo returned no bars (unknown symbol or empty range?)")
    renamed = frame.rename(columns=lambda name: normalize_name(str(name)))
    missing = [name for name in _PRICE_COLUMNS if name not in renamed.columns]
    if missing:
        raise IngestError(origin, 0, f"Yahoo response lacks column(s): {', '.join(missing)}")
    columns: dict[str, pa.Array] = {}
    index = renamed.index
    if interval in DAILY_INTERVALS:
        columns[DATE] = pa.array(list(index.date), pa.date32())
    else:
        columns[TIMESTAMP] = pa.array(index)
    ratio = np.ones(len(renamed))
    adjusted = splits is not None and splits.num_rows > 0
    if splits is not None and adjusted:
        split_days = splits.column("ex_date").to_numpy().astype("datetime64[D]")
        ratios = splits.column("split_to").to_numpy() / splits.column("split_from").to_numpy()
        local_days = np.array(list(index.date), dtype="datetime64[D]")
        ratio = _later_split_products(local_days, split_days, ratios)
    for name in _PRICE_COLUMNS:
        values = renamed[name].to_numpy()
        if adjusted and name == "volume":
            values = np.rint(values.astype(np.float64) / ratio).astype(np.int64)
        elif adjusted:
            values = values.astype(np.float64) * ratio
        columns[name] = pa.array(values)
    return RawBars(origin, pa.table(columns), first_line=1)


async def ingest_yahoo(
    store: Store,
    symbols: Iterable[str],
    *,
    start: dt.date,
    end: dt.date | None = None,
    interval: str = "1d",
    timezone: str | None = None,
) -> list[IngestResult]:
    """Download and ingest each symbol's raw bars, then its splits and dividends from
    ``start`` to today (each a transaction); raise at the first bad symbol."""
    results = []
    for symbol in symbols:
        started = time.perf_counter()
        name = symbol.upper()
        daily_to_today = interval == "1d" and end is None
        frame = _download(name, start, end, interval, actions=daily_to_today)
        actions = frame if daily_to_today else _download(name, start, None, "1d", actions=True)
        splits, dividends = yahoo_actions(actions, name)
        raw = yahoo_raw_bars(frame, name, interval, splits)
        rows, written = await write_raw(
            store, raw, symbol=symbol, timezone=timezone, source=YAHOO_SOURCE
        )
        if isinstance(store, ActionStore) and (splits.num_rows or dividends.num_rows):
            await store.write_actions(splits, dividends)
        results.append(IngestResult(str(raw.path), rows, written, time.perf_counter() - started))
    return results
