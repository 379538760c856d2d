"""Bars from Yahoo Finance through the optional ``yfinance`` extra (``findata-db[yahoo]``).

Downloads go through the same typing and validation as files: a bad row from
Yahoo rejects that symbol with its row number, and nothing of it is written.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from findata.core import InvalidParameterError
from findata.core.columns import TIMESTAMP
from findata.db._convert import DATE
from findata.db._errors import IngestError
from findata.db._exchanges import check_exchange
from findata.db._ingest import IngestResult, write_raw
from findata.db._readers import RawBars, normalize_name
from findata.db._types import Store

YAHOO_SOURCE: Final = "yahoo"
DAILY_INTERVALS: Final = frozenset({"1d", "5d", "1wk", "1mo", "3mo"})
_PRICE_COLUMNS: Final = ("open", "high", "low", "close", "volume")


def _download(symbol: str, start: dt.date, end: dt.date | None, interval: str) -> Any:
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
        actions=False,
        progress=False,
        threads=False,
        multi_level_index=False,
    )


def yahoo_raw_bars(frame: Any, symbol: str, interval: str) -> RawBars:
    """A yfinance DataFrame as raw rows: ``date`` for daily intervals, else ``timestamp``."""
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
    for name in _PRICE_COLUMNS:
        columns[name] = pa.array(renamed[name].to_numpy())
    return RawBars(origin, pa.table(columns), first_line=1)


async def ingest_yahoo(
    store: Store,
    symbols: Iterable[str],
    *,
    start: dt.date,
    end: dt.date | None = None,
    interval: str = "1d",
    timezone: str | None = None,
    exchange: str | None = None,
) -> list[IngestResult]:
    """Download and ingest each symbol (one transaction each); raise at the first bad one.
    ``exchange`` (an ISO MIC) is recorded as every symbol's exchange."""
    if exchange is not None:
        exchange = check_exchange(exchange)
    results = []
    for symbol in symbols:
        started = time.perf_counter()
        frame = _download(symbol.upper(), start, end, interval)
        raw = yahoo_raw_bars(frame, symbol.upper(), interval)
        rows, written = await write_raw(
            store, raw, symbol=symbol, timezone=timezone, source=YAHOO_SOURCE, exchange=exchange
        )
        results.append(IngestResult(str(raw.path), rows, written, time.perf_counter() - started))
    return results
