"""Many symbols at once: the multi-symbol endpoint, its memory, the event loop, bulk export.

What it measures (figures recorded in docs/benchmarks.md; not run in CI), in one run:

1. The all-symbol resample path in-process: 50 symbols x 196,560 minute bars -> Weekly with
   findata-core (NumPy), DuckDB SQL over the Arrow table, and polars (ADR 0080).
2. ``GET /stocks/bars?symbols=*&frequency=Weekly&format=arrow`` over the same bars in a
   DuckDB file, one Hypercorn worker, result cache off, the store's series cache sized to
   hold them (``cache_rows``): once cold (every series read from the file), then three
   times warm (a long-running server). Wall time of each request against core's
   ``resample`` of the same bars (a new table object, the whole work; and the same
   table, its checks remembered as the server's are), and the server's peak RSS growth
   during it (``/proc/PID/clear_refs`` resets the peak) against the size of the bars.
3. ``/_healthcheck`` latency, polled every 10 ms while each of those requests runs.
4. ``symbols=*&frequency=Daily&start=D&end=D`` over 500 symbols of daily bars, JSON:
   median of warm requests (result cache on, 256 MB as by default; a different weekday each
   time, so no rendered response is reused and every answer has 500 rows).
5. ``findata export parquet`` of the 9.8M minute bars: rows/s.

Usage: ``python benchmarks/bench_multi.py [--symbols 50] [--days 504]``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import http.client
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _data import daily_bars, minute_bars
from findata.api.testing import ServedProcess, serve_process
from findata.core import Frequency, resample
from findata.db import BarKind, export_parquet, open_store

ZONE = "America/New_York"
PRODUCTION_GC = {"FINDATA_GC_FREEZE": "true"}
"""``serve_process`` runs the test configuration, which does not freeze the start-up heap
(tests build many apps in one process); a server does, and full collections then skip it."""


def fresh(table: pa.Table) -> pa.Table:
    """A new table object over the same columns: findata-core remembers its checks of a
    table per object, so this is a table it has not seen."""
    return table.select(table.column_names)


def best_of(runs: int, work: object) -> float:
    """Fastest wall time of ``runs`` calls, in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def duckdb_weekly(bars: pa.Table) -> pa.Table:
    connection = duckdb.connect()
    connection.register("bars", bars)
    return connection.sql(
        f"""
        SELECT symbol,
               date_trunc('week', timezone('{ZONE}', timestamp))::DATE AS period_start,
               arg_min(open, timestamp) AS open, max(high) AS high, min(low) AS low,
               arg_max(close, timestamp) AS close, sum(volume) AS volume
        FROM bars GROUP BY ALL ORDER BY symbol, period_start
        """
    ).to_arrow_table()


def polars_weekly(bars: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(bars)
    assert isinstance(frame, pl.DataFrame)
    return (
        frame.with_columns(pl.col("timestamp").dt.convert_time_zone(ZONE))
        .sort("symbol", "timestamp")
        .group_by_dynamic("timestamp", every="1w", group_by="symbol")
        .agg(
            pl.col("open").first(),
            pl.col("high").max(),
            pl.col("low").min(),
            pl.col("close").last(),
            pl.col("volume").sum(),
        )
    )


def rss_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def get(port: int, path: str, timeout: float = 300) -> tuple[int, bytes, float]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, body, elapsed


def while_polling(port: int, path: str) -> tuple[int, bytes, float, list[float]]:
    """``get(port, path)`` while another thread polls ``/_healthcheck`` every 10 ms; the
    request's status, body and seconds, and each poll's seconds."""
    health: list[float] = []
    running = threading.Event()
    running.set()

    def poll() -> None:
        while running.is_set():
            health.append(get(port, "/_healthcheck")[2])
            time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        status, body, elapsed = get(port, path)
    finally:
        running.clear()
        poller.join()
    return status, body, elapsed, health


async def fill(url: str, tables: list[tuple[pa.Table, BarKind]]) -> None:
    store = open_store(url)
    await store.connect()
    await store.migrate()  # type: ignore[attr-defined]
    for table, kind in tables:
        await store.write_bars(table, source="bench", timezone=ZONE, bar_kind=kind)
    await store.disconnect()


async def export(url: str, directory: Path) -> tuple[int, float]:
    store = open_store(url)
    await store.connect()
    try:
        result = await export_parquet(store, directory)
    finally:
        await store.disconnect()
    return result.rows, result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument("--days", type=int, default=504)
    parser.add_argument("--daily-symbols", type=int, default=500)
    args = parser.parse_args()
    # ~0.5 GB of DuckDB files and Parquet: removed when the run ends, whatever happens.
    with tempfile.TemporaryDirectory(prefix="bench-multi-") as folder:
        measure(args, Path(folder))


def measure(args: argparse.Namespace, work: Path) -> None:
    """The five measurements, with their files in ``work``."""
    bars = minute_bars(args.symbols, args.days)
    size = bars.nbytes / 2**20
    print(f"bars: {bars.num_rows:,} minute bars of {args.symbols} symbols, {size:.0f} MiB")

    # 1. The all-symbol resample path, in-process.
    numpy_s = best_of(3, lambda: resample(fresh(bars), 1, Frequency.WEEKLY, timezone=ZONE))
    duckdb_s = best_of(3, lambda: duckdb_weekly(bars))
    polars_s = best_of(3, lambda: polars_weekly(bars))
    weeks = resample(bars, 1, Frequency.WEEKLY, timezone=ZONE)
    assert weeks.num_rows == duckdb_weekly(bars).num_rows, "engines disagree on the periods"
    print(f"resample -> Weekly: core (NumPy) {numpy_s * 1e3:.1f} ms, DuckDB SQL over Arrow "
          f"{duckdb_s * 1e3:.1f} ms, polars {polars_s * 1e3:.1f} ms")  # fmt: skip

    # 2.-3. One request for every symbol's weeks, with a healthcheck poller beside it: first
    # with the store's series cache cold, then warm (a long-running server's state). The
    # store's cache is sized to hold the universe (``cache_rows``, a DuckDB URL option);
    # the API's result cache is off.
    url = f"duckdb://{work / 'minutes.duckdb'}"
    asyncio.run(fill(url, [(bars, BarKind.INTRADAY)]))
    served_url = f"{url}?cache_rows={bars.num_rows + 1_000_000}"
    served: ServedProcess = serve_process(
        served_url, work, settings={"FINDATA_CACHE_MEGABYTES": "0", **PRODUCTION_GC}
    )
    path = "/stocks/bars?symbols=*&frequency=Weekly&format=arrow&limit=50000"
    try:
        pid, port = served.process.pid, served.port
        get(port, "/stocks/bars?symbols=SYM000&frequency=Weekly&format=arrow")  # imports
        # The server reads the exchange calendar in a thread when it starts (~3 s, most of
        # it importing exchange_calendars); this waits for it, so the figures are those of
        # a running server, not of one starting.
        get(port, "/stocks/calendar")
        for state in ("cold", "warm", "warm", "warm"):
            Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak RSS
            before = rss_kib(pid, "VmRSS")
            status, body, request_s, health = while_polling(port, path)
            peak = rss_kib(pid, "VmHWM")
            rows = pa.ipc.open_stream(body).read_all().num_rows
            assert status == 200
            assert rows == weeks.num_rows, (rows, weeks.num_rows)
            # core's resample of the same bars, as a new table (the work from scratch) and
            # as the same table again (its checks remembered, as the server's are)
            fresh_s = best_of(3, lambda: resample(fresh(bars), 1, Frequency.WEEKLY, timezone=ZONE))
            same_s = best_of(3, lambda: resample(bars, 1, Frequency.WEEKLY, timezone=ZONE))
            growth = (peak - before) * 1024
            print(f"GET {path} ({state} store cache): {request_s * 1e3:.0f} ms for {rows:,} "
                  f"rows; core resample {fresh_s * 1e3:.0f} ms (new table) / "
                  f"{same_s * 1e3:.0f} ms (same table): {request_s / fresh_s:.2f}x / "
                  f"{request_s / same_s:.2f}x (target <= 1.5x); peak RSS growth "
                  f"{growth / 2**20:.0f} MiB = {growth / bars.nbytes:.2f}x the bars "
                  f"({size:.0f} MiB; target < 2x); /_healthcheck: {len(health)} polls, max "
                  f"{max(health) * 1e3:.1f} ms, median {statistics.median(health) * 1e3:.1f} ms "
                  "(target < 50 ms)")  # fmt: skip
    finally:
        served.stop()

    # 4. The whole market on one day, JSON.
    daily_url = f"duckdb://{work / 'daily.duckdb'}"
    tables = [
        daily_bars(504, symbol=f"D{index:03d}", seed=index) for index in range(args.daily_symbols)
    ]
    asyncio.run(fill(daily_url, [(pa.concat_tables(tables), BarKind.DAILY)]))
    # The default result cache (256 MB) rather than the test configuration's 16 MB: 500
    # symbols' daily periods (~14 MB) must stay cached between requests.
    served = serve_process(
        daily_url, work, settings={"FINDATA_CACHE_MEGABYTES": "256", **PRODUCTION_GC}
    )
    try:
        day = dt.date(2022, 3, 1)
        # Every symbol's periods computed and cached once (a page without a limit reaches
        # every symbol; a limit would compute only the symbols its page reaches).
        get(served.port, f"/stocks/bars?symbols=*&frequency=Daily&start={day}&end={day}")
        timings = []
        weekdays = [day + dt.timedelta(days=offset) for offset in range(1, 43)]
        for moment in [moment for moment in weekdays if moment.weekday() < 5][:30]:
            status, body, elapsed = get(
                served.port, f"/stocks/bars?symbols=*&frequency=Daily&start={moment}&end={moment}"
            )
            assert status == 200
            timings.append(elapsed)
        print(f"symbols=*&frequency=Daily, one day, {args.daily_symbols} symbols, JSON: median "
              f"{statistics.median(timings) * 1e3:.1f} ms, max {max(timings) * 1e3:.1f} ms "
              "(target <= 50 ms)")  # fmt: skip
    finally:
        served.stop()

    # 5. Bulk export.
    rows, seconds = asyncio.run(export(url, work / "export"))
    print(f"export parquet: {rows:,} rows in {seconds:.2f} s = {rows / seconds:,.0f} rows/s "
          "(target >= 2M rows/s)")  # fmt: skip


if __name__ == "__main__":
    main()
