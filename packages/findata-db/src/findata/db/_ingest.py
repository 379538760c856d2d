"""Validated, atomic ingestion of bar files into a store.

Each file is read, typed and checked as a whole before its single ``write_bars``
transaction: a bad row rejects the file with ``IngestError(path, line, reason)``
and nothing from it is written; a killed process leaves the store as it was
before that file. Files are independent: those before a bad one stay ingested.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow.compute as pc

from findata.core import DEFAULT_TIMEZONE, InvalidBarsError
from findata.db._convert import convert, symbols_of, time_column
from findata.db._exchanges import check_exchange, exchange_timezone_of, file_exchanges
from findata.db._progress import row_progress
from findata.db._readers import RawBars, read_csv, read_parquet
from findata.db._types import Store
from findata.db._validate import check_timezone

logger = logging.getLogger(__name__)

Reader = Callable[..., RawBars]


@dataclasses.dataclass(frozen=True, slots=True)
class IngestResult:
    """What one file contributed."""

    path: str
    rows: int
    symbols: tuple[str, ...]
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else float("inf")


async def ingest_csv(
    store: Store,
    paths: Iterable[str | Path],
    *,
    symbol: str | None = None,
    timezone: str | None = None,
    source: str | None = None,
    on_file: Callable[[IngestResult], None] | None = None,
    exchange: str | None = None,
) -> list[IngestResult]:
    """Ingest CSV files (``symbol, date|timestamp, open, high, low, close, volume[, vwap,
    trade_count, exchange]``), one transaction each; raise ``IngestError`` at the first bad
    file. ``exchange`` (an ISO MIC) is every symbol's exchange, for files without that
    column."""
    return await _ingest_files(
        store,
        paths,
        read_csv,
        "csv",
        symbol=symbol,
        timezone=timezone,
        source=source,
        on_file=on_file,
        exchange=exchange,
    )


async def ingest_parquet(
    store: Store,
    paths: Iterable[str | Path],
    *,
    symbol: str | None = None,
    timezone: str | None = None,
    source: str | None = None,
    on_file: Callable[[IngestResult], None] | None = None,
    exchange: str | None = None,
) -> list[IngestResult]:
    """Ingest Parquet files with the same columns as ``ingest_csv``; line = 1-based row."""
    return await _ingest_files(
        store,
        paths,
        read_parquet,
        "parquet",
        symbol=symbol,
        timezone=timezone,
        source=source,
        on_file=on_file,
        exchange=exchange,
    )


async def _ingest_files(
    store: Store,
    paths: Iterable[str | Path],
    reader: Reader,
    kind: str,
    *,
    symbol: str | None,
    timezone: str | None,
    source: str | None,
    on_file: Callable[[IngestResult], None] | None,
    exchange: str | None,
) -> list[IngestResult]:
    if timezone is not None:
        check_timezone(timezone)
    if exchange is not None:
        exchange = check_exchange(exchange)
    results = []
    for path in map(Path, paths):
        started = time.perf_counter()
        # Reading and typing are CPU work on whole files: keep them off the event loop.
        with row_progress(f"reading {path.name}") as advance:
            raw = await asyncio.to_thread(reader, path, progress=advance)
        rows, symbols = await write_raw(
            store,
            raw,
            symbol=symbol,
            timezone=timezone,
            source=source or f"{kind}:{path.name}",
            exchange=exchange,
        )
        result = IngestResult(str(path), rows, symbols, time.perf_counter() - started)
        logger.info("ingested %s: %d rows of %s", path, rows, ", ".join(symbols))
        if on_file is not None:
            on_file(result)
        results.append(result)
    return results


async def write_raw(
    store: Store,
    raw: RawBars,
    *,
    symbol: str | None,
    timezone: str | None,
    source: str,
    exchange: str | None = None,
) -> tuple[int, tuple[str, ...]]:
    """Type, check and write one file's rows in a single transaction.

    ``exchange`` (a checked MIC) is every symbol's; without it an ``exchange`` column
    names each symbol's. Without ``timezone``, a file of new symbols whose exchanges
    share one time zone is read and stored in that zone (``XLON`` -> ``Europe/London``).
    """
    time_column(raw)
    symbol_column = symbols_of(raw, symbol) if raw.table.num_rows else None
    symbols = [] if symbol_column is None else sorted(pc.unique(symbol_column).to_pylist())
    exchanges = {} if symbol_column is None else file_exchanges(raw, symbol_column, exchange)
    stored_zones: dict[str, str] = {}
    for name in symbols:
        info = await store.get_symbol(name)
        if info is not None:
            stored_zones[name] = info.timezone
    if timezone is None and symbols and not stored_zones and len(exchanges) == len(symbols):
        implied = {
            await asyncio.to_thread(exchange_timezone_of, mic) for mic in set(exchanges.values())
        }
        timezone = implied.pop() if len(implied) == 1 else None
    zones = {name: timezone or stored_zones.get(name, "") for name in symbols}
    converted = await asyncio.to_thread(
        convert,
        raw,
        symbol=symbol,
        timezones={name: zone for name, zone in zones.items() if zone},
        default_timezone=timezone or DEFAULT_TIMEZONE,
    )
    if converted.table.num_rows == 0:
        return 0, ()
    try:
        rows = await store.write_bars(
            converted.table,
            source=source,
            timezone=timezone,
            bar_kind=converted.bar_kind,
            exchanges=exchanges or None,
        )
    except InvalidBarsError as error:
        raise raw.error(error.row, error.message) from error
    return rows, tuple(symbols)
