"""Exchange calendars end to end over HTTP (issue 14): coverage, and session=regular.

What it measures (figures recorded in docs/benchmarks.md; not run in CI), with one
Hypercorn worker over the embedded DuckDB store, sequential keep-alive requests, median
and p90 after three warm-up requests:

1. ``GET /stocks/coverage/MIN1``: 196,560 one-minute bars (two years) against the XNYS
   calendar, and ``GET /stocks/coverage/D20Y``: 20 years of daily bars. Result cache
   off, so every request reads the series, infers its bar interval and computes the
   report (the calendar's sessions are cached per process, as a serving process has).
2. Weekly bars from MIN1 with ``session=regular`` against ``session=all``, in the same
   run: with the result cache off (every request reads, filters and resamples) and with
   it on, each request a different page size (so the rendered response is never reused,
   but the filtered series and its periods are: the steady state of a busy server).

Usage: ``python benchmarks/bench_calendars_api.py [--requests 40] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _data import daily_bars
from bench_api import findata_server, free_port, minute_data, report
from findata.db import BarKind, open_store

DAILY_20Y_ROWS = 5_218  # the weekdays of 2004-2023
COVERAGE_MINUTES = "/stocks/coverage/MIN1"
COVERAGE_DAILY = "/stocks/coverage/D20Y"
WEEKLY = "/stocks/time-series/MIN1?interval=1&frequency=Weekly&session={session}"


async def load(url: str, minutes: pa.Table, daily: pa.Table) -> None:
    store = open_store(url)
    await store.connect()
    try:
        await store.migrate()
        await store.write_bars(minutes, source="bench", bar_kind=BarKind.INTRADAY)
        await store.write_bars(daily, source="bench", bar_kind=BarKind.DAILY)
    finally:
        await store.disconnect()


def latency(port: int, paths: list[str], requests: int) -> dict[str, float]:
    """Median and p90 wall time (ms) of sequential keep-alive requests cycling ``paths``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times = []
    for index in range(requests + 3):
        started = time.perf_counter()
        connection.request("GET", paths[index % len(paths)])
        response = connection.getresponse()
        response.read()
        assert response.status == 200, (response.status, paths[index % len(paths)])
        times.append((time.perf_counter() - started) * 1000)
    connection.close()
    times = sorted(times[3:])
    return {"median": statistics.median(times), "p90": times[int(len(times) * 0.9) - 1]}


def paged(path: str, requests: int) -> list[str]:
    """``path`` with a different ``limit`` per request: distinct responses, same periods."""
    return [f"{path}&limit={1_000 + index}" for index in range(requests + 3)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--quick", action="store_true", help="10 requests per measurement")
    args = parser.parse_args()
    requests = 10 if args.quick else args.requests
    print(
        f"findata calendars benchmark: {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {requests} sequential "
        "requests per figure, one server worker",
        flush=True,
    )
    minutes = minute_data()
    daily = daily_bars(DAILY_20Y_ROWS, symbol="D20Y", first_day=date(2004, 1, 1))
    print(f"data: {minutes.num_rows:,} minute bars (MIN1), {daily.num_rows:,} daily bars (D20Y)")
    with tempfile.TemporaryDirectory() as scratch:
        url = f"duckdb://{Path(scratch) / 'calendars.duckdb'}"
        asyncio.run(load(url, minutes, daily))
        port = free_port()
        with findata_server(port, url, cache=False):
            minute_coverage = latency(port, [COVERAGE_MINUTES], requests)
            report("coverage, 196,560 minute bars, cache off", minute_coverage)
            daily_coverage = latency(port, [COVERAGE_DAILY], requests)
            report("coverage, 20 years of daily bars, cache off", daily_coverage)
            every = latency(port, [WEEKLY.format(session="all")], requests)
            regular = latency(port, [WEEKLY.format(session="regular")], requests)
            report("weekly from 196,560 minute bars, session=all, cache off", every)
            report("weekly from 196,560 minute bars, session=regular, cache off", regular)
            print(f"  regular / all (median): {regular['median'] / every['median']:.2f}x")
        with findata_server(port, url, cache=True):
            every = latency(port, paged(WEEKLY.format(session="all"), requests), requests)
            regular = latency(port, paged(WEEKLY.format(session="regular"), requests), requests)
            report("weekly, session=all, cache on, new page size each", every)
            report("weekly, session=regular, cache on, new page size each", regular)
            ratio = regular["median"] / every["median"]
            print(f"  regular / all (median): {ratio:.2f}x")


if __name__ == "__main__":
    main()
