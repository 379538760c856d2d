"""findata-db benchmark: bulk ingestion and one-symbol reads on DuckDB and PostgreSQL.

Ingests ~10M generated 1-minute bars (51 symbols x 196,560 bars, benchmarks/_data.py)
from Parquet files through ``ingest_parquet`` -- end to end: read, type, validate,
write, commit -- and prints rows/s; then reads one symbol's two years of minute bars
(196,560 rows) into Arrow and prints the median time. DuckDB reads are shown
- "open": a fresh store's first read (attaches the file, scans, builds Arrow);
- "not cached, file attached": a store that has read before reading symbols it has
  not cached: the store's own read path without its cache, as PostgreSQL's figure is;
- "after a change": the first read on a connected store (one that has read before,
  as a serving worker) after another process appended one bar to that symbol; timed
  right when the new data version appears, and again 100 ms later (the store re-opens
  its read attachment in the background once the writer is done, ADR 0011);
- "hot": served from the in-process cache.

PostgreSQL also times writes that meet stored chunks (ADR 0014): re-ingesting the
first file unchanged, and appending one more day of minute bars to every symbol.

Run with ``make bench-db`` (PostgreSQL from FINDATA_BENCH_DATABASE_URL, default the
local test server; the run uses its own schema and drops it). Not run in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from _data import minute_bars
from findata.db import DuckDBStore, MigratableStore, PostgresStore, ingest_parquet

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
SYMBOLS_PER_FILE = 5


FIGURES: list[float] = []


def figure(value: float) -> float:
    """A printed measurement, kept for ``--quick``'s check that each one was produced."""
    FIGURES.append(value)
    return value


async def median_ms(action: Callable[[], Awaitable[object]], repeat: int) -> float:
    await action()  # warm: plans, imports, OS page cache
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e3


def write_files(bars: pa.Table, folder: Path) -> list[Path]:
    """One Parquet file per SYMBOLS_PER_FILE symbols (~1M rows), as a user would ingest."""
    names = pc.unique(bars.column("symbol")).to_pylist()
    paths = []
    for index in range(0, len(names), SYMBOLS_PER_FILE):
        group = pa.array(names[index : index + SYMBOLS_PER_FILE])
        path = folder / f"minute_{index // SYMBOLS_PER_FILE:02d}.parquet"
        pq.write_table(bars.filter(pc.is_in(bars.column("symbol"), value_set=group)), path)
        paths.append(path)
    return paths


async def bench_store(
    label: str, store: MigratableStore, files: list[Path], rows: int, symbol: str, repeat: int
) -> None:
    await store.connect()
    await store.migrate()
    started = time.perf_counter()
    await ingest_parquet(store, files)
    seconds = time.perf_counter() - started
    print(
        f"  {label:<10} ingest {rows:>12,} rows  {seconds:8.1f} s  "
        f"{figure(rows / seconds):>12,.0f} rows/s"
    )

    expected = (await store.get_symbol(symbol)).bar_count  # type: ignore[union-attr]

    async def read() -> None:
        assert (await store.read_bars([symbol])).num_rows == expected

    kind = "hot (cache)" if isinstance(store, DuckDBStore) else "monthly chunks"
    read_ms = await median_ms(read, repeat)
    print(f"  {label:<10} read 1 symbol ({expected:,} rows), {kind}: {figure(read_ms):8.2f} ms")
    if isinstance(store, DuckDBStore):
        await bench_duckdb_cold(label, store, symbol, expected, repeat)
    await store.disconnect()


async def bench_postgres_updates(
    store: PostgresStore, files: list[Path], symbols: int, folder: Path
) -> None:
    """Writes into stored chunks: an unchanged re-ingest (merges, rewrites nothing) and one
    more day for every symbol (each symbol's last month is merged and rewritten)."""
    await store.connect()
    started = time.perf_counter()
    await ingest_parquet(store, files[:1])
    seconds = time.perf_counter() - started
    rows = pq.read_metadata(files[0]).num_rows
    print(
        f"  postgres   re-ingest the first file unchanged ({rows:,} rows): {figure(seconds):8.2f} s"
    )
    info = await store.get_symbol("SYM000")
    assert info is not None
    day = info.last_bar.date() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    path = folder / "next_day.parquet"
    pq.write_table(minute_bars(symbols=symbols, trading_days=1, first_day=day, seed=7), path)
    started = time.perf_counter()
    appended = await ingest_parquet(store, [path])
    seconds = time.perf_counter() - started
    print(
        f"  postgres   append one day to each of {symbols} symbols "
        f"({appended[0].rows:,} rows): {figure(seconds):8.2f} s"
    )
    await store.disconnect()


WRITER = """
import asyncio, datetime as dt, sys
import pyarrow as pa
from findata.db import DuckDBStore

async def main(path, symbol):
    store = DuckDBStore(path)
    start = dt.datetime(2030, 1, 2, 15, tzinfo=dt.UTC)
    for count, _ in enumerate(sys.stdin):
        bar = pa.table({"symbol": [symbol], "timestamp": pa.array(
            [start + dt.timedelta(minutes=count)], pa.timestamp("us", tz="UTC")),
            "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1]})
        await store.write_bars(bar, source="bench")
        print("ok", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def bench_duckdb_cold(
    label: str, store: DuckDBStore, symbol: str, expected: int, repeat: int
) -> None:
    """Reads that miss the cache: a fresh store, and a serving store after a change."""

    async def fresh_store() -> None:
        fresh = DuckDBStore(store.path)
        await fresh.connect()
        assert (await fresh.read_bars([symbol])).num_rows == expected
        await fresh.disconnect()

    open_ms = await median_ms(fresh_store, repeat)
    print(f"  {label:<10} read 1 symbol ({expected:,} rows), open: {figure(open_ms):8.2f} ms")

    # A connected store (the file attached) reading symbols it has not cached:
    # the store's own read path without the cache, as PostgreSQL's figure is.
    serving = DuckDBStore(store.path)
    await serving.connect()
    others = [info.symbol for info in await serving.list_symbols() if info.symbol != symbol]
    await serving.read_bars([symbol])
    samples = []
    for other in others[:repeat]:
        started = time.perf_counter()
        await serving.read_bars([other])
        samples.append(time.perf_counter() - started)
    await serving.disconnect()
    if samples:  # none with --symbols 1: no other symbol to read
        print(
            f"  {label:<10} read 1 symbol, not cached, file attached "
            f"(median of {len(samples)} symbols): "
            f"{figure(statistics.median(samples) * 1e3):8.2f} ms"
        )

    await store.disconnect()  # from here on, a serving store: connected, has read before
    await store.connect()
    writer = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        WRITER,
        store.path,
        symbol,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert writer.stdin is not None
    assert writer.stdout is not None
    try:
        for pause, name in ((0.0, "at once"), (0.1, "+100 ms")):
            samples = []
            for _ in range(repeat + 1):
                await store.read_bars([symbol])  # warm: the cache holds it
                before = await store.data_version()
                writer.stdin.write(b"write\n")
                await writer.stdin.drain()
                assert (await writer.stdout.readline()).strip() == b"ok"
                assert await store.data_version() != before
                await asyncio.sleep(pause)
                started = time.perf_counter()
                bars = await store.read_bars([symbol])
                samples.append(time.perf_counter() - started)
                expected += 1  # the writer appended one bar to this very symbol
                assert bars.num_rows == expected
            ms = statistics.median(samples[1:]) * 1e3
            print(
                f"  {label:<10} read 1 symbol ({expected:,} rows), first after a change "
                f"in another process, {name}: {figure(ms):8.2f} ms"
            )
    finally:
        writer.stdin.close()
        await writer.wait()


def price_decimals(text: str) -> int | None:
    """``--price-decimals``: a whole number >= 0, or ``full`` (no rounding)."""
    if text == "full":
        return None
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0 or 'full'")
    return int(text)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=51, help="x 196,560 bars each")
    parser.add_argument("--backends", default="duckdb,postgres")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument(
        "--price-decimals",
        type=price_decimals,
        default=4,
        help="decimals of generated prices (default 4, as minute-bar feeds); 'full' for "
        "random full-precision doubles, the storage worst case",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 symbols, 3 reads per figure; fail unless every figure was produced",
    )
    args = parser.parse_args()
    if args.quick:
        args.symbols, args.repeat = 2, 3

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    load = ", load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    print(f"findata-db benchmark on {machine}{load}")
    bars = minute_bars(symbols=args.symbols, price_decimals=args.price_decimals)
    symbol = bars.column("symbol")[0].as_py()
    with tempfile.TemporaryDirectory() as folder:
        files = write_files(bars, Path(folder))
        rows = bars.num_rows
        del bars
        precision = (
            "full-precision" if args.price_decimals is None else f"{args.price_decimals}-decimal"
        )
        print(
            f"  {len(files)} Parquet files, {rows:,} 1-minute bars of {args.symbols} symbols, "
            f"{precision} prices"
        )
        if "duckdb" in args.backends:
            await bench_store(
                "duckdb",
                DuckDBStore(Path(folder) / "bench.duckdb"),
                files,
                rows,
                symbol,
                args.repeat,
            )
        if "postgres" in args.backends:
            base = os.environ.get("FINDATA_BENCH_DATABASE_URL", DEFAULT_PG_URL)
            schema = f"findata_bench_{uuid.uuid4().hex[:8]}"
            admin = await asyncpg.connect(base)
            try:
                await admin.execute(f'CREATE SCHEMA "{schema}"')
                store = PostgresStore(f"{base}{'&' if '?' in base else '?'}schema={schema}")
                await bench_store("postgres", store, files, rows, symbol, args.repeat)
                await bench_postgres_updates(store, files, args.symbols, Path(folder))
            finally:
                await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
                await admin.close()
    if args.quick:
        # DuckDB: ingest, hot, open, not cached, 2 after a change; PostgreSQL: ingest, read,
        # re-ingest, append.
        expected = 6 * ("duckdb" in args.backends) + 4 * ("postgres" in args.backends)
        bad = [value for value in FIGURES if not 0 < value < float("inf")]
        if len(FIGURES) != expected or bad:
            sys.exit(f"bench_db --quick: {len(FIGURES)} of {expected} figures, out of range {bad}")
        print(f"bench_db --quick: {len(FIGURES)} figures, each produced")


if __name__ == "__main__":
    asyncio.run(main())
