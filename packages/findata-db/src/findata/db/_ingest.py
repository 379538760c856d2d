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
) -> list[IngestResult]:
    """Ingest CSV files (``symbol, date|timestamp, open, high, low, close, volume[, vwap,
    trade_count]``), one transaction each; raise ``IngestError`` at the first bad file."""
    return await _ingest_files(
        store,
        paths,
        read_csv,
        "csv",
        symbol=symbol,
        timezone=timezone,
        source=source,
        on_file=on_file,
    )


async def ingest_parquet(
    store: Store,
    paths: Iterable[str | Path],
    *,
    symbol: str | None = None,
    timezone: str | None = None,
    source: str | None = None,
    on_file: Callable[[IngestResult], None] | None = None,
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
) -> list[IngestResult]:
    if timezone is not None:
        check_timezone(timezone)
    results = []
    for path in map(Path, paths):
        started = time.perf_counter()
        # Reading and typing are CPU work on whole files: keep them off the event loop.
        with row_progress(f"reading {path.name}") as advance:
            raw = await asyncio.to_thread(reader, path, progress=advance)
        rows, symbols = await write_raw(
            store, raw, symbol=symbol, timezone=timezone, source=source or f"{kind}:{path.name}"
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
) -> tuple[int, tuple[str, ...]]:
    """Type, check and write one file's rows in a single transaction."""
    time_column(raw)
    symbols = sorted(pc.unique(symbols_of(raw, symbol)).to_pylist()) if raw.table.num_rows else []
    stored_zones: dict[str, str] = {}
    for name in symbols:
        info = await store.get_symbol(name)
        if info is not None:
            stored_zones[name] = info.timezone
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
            converted.table, source=source, timezone=timezone, bar_kind=converted.bar_kind
        )
    except InvalidBarsError as error:
        raise raw.error(error.row, error.message) from error
    return rows, tuple(symbols)
