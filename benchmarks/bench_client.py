"""findata-client benchmark: what ``Client.bars`` costs over a bare request of the same body.

One symbol of two years of 1-minute bars (196,560 rows, ``benchmarks/_data.py``) in a DuckDB
file, served by ``findata serve`` (one worker, the response cache warm). Measured, in
alternation so that machine load hits every variant alike:

1. One page (the server's limits raised to 200,000 rows): ``Client.bars("MIN1")`` against a
   bare ``httpx`` GET of the same URL with the Arrow ``Accept`` header plus
   ``pyarrow.ipc.open_stream(...).read_all()`` on a kept-alive connection (stricter than
   ``httpx.get``, which opens a connection per call). ``httpx.get`` itself is timed apart:
   interleaved, the call after it pays for the closing of its connection.
2. Four pages of 50,000 rows (the default ``max_limit``): ``Client(page_size=50_000).bars``
   against the same four bare GETs (following ``Link``) decoded and concatenated.
3. ``AsyncClient.bars`` of the one page against a bare ``httpx.AsyncClient`` GET + decoding,
   both kept alive in one event loop.

Target (issue 16): ``Client.bars`` <= 1.2x the bare request plus decoding.
Usage: ``python benchmarks/bench_client.py [--repeat 30]``. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _data import minute_bars
from findata.api.testing import serve_process
from findata.client import AsyncClient, Client
from findata.db import BarKind, open_store

ROWS = 196_560
ARROW = {"Accept": "application/vnd.apache.arrow.stream"}


async def load(url: str) -> None:
    bars = minute_bars(symbols=1, trading_days=504)
    bars = bars.set_column(0, "symbol", pa.array(["MIN1"] * bars.num_rows))
    store = open_store(url)
    await store.connect()
    try:
        await store.migrate()
        await store.write_bars(bars, source="bench", bar_kind=BarKind.INTRADAY)
    finally:
        await store.disconnect()


def decode(content: bytes) -> pa.Table:
    with pa.ipc.open_stream(pa.py_buffer(content)) as reader:
        return reader.read_all()


def bare_pages(http: httpx.Client, base_url: str, params: dict[str, str]) -> pa.Table:
    """The bare way of paging: GET, decode, follow Link, concatenate."""
    pages = []
    response = http.get(f"{base_url}/stocks/time-series/MIN1", params=params, headers=ARROW)
    while True:
        pages.append(decode(response.content))
        target = response.links.get("next", {}).get("url")
        if target is None:
            return pa.concat_tables(pages) if len(pages) > 1 else pages[0]
        response = http.get(f"{base_url}{target}", headers=ARROW)


def measure(variants: dict[str, Callable[[], pa.Table]], repeat: int) -> dict[str, list[float]]:
    """Milliseconds per call of each variant, run in turn ``repeat`` times after a warm-up."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for variant in variants.values():
        assert variant().num_rows == ROWS
    for _ in range(repeat):
        for name, variant in variants.items():
            started = time.perf_counter()
            table = variant()
            times[name].append((time.perf_counter() - started) * 1000)
            assert table.num_rows == ROWS
    return times


def report(title: str, times: dict[str, list[float]], baseline: str) -> None:
    """Median and p90 per variant, and the median of its per-round ratios to the baseline
    (each round runs every variant back to back, so a ratio compares like with like)."""
    print(f"\n{title}")
    for name, values in times.items():
        median = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        ratio = statistics.median(
            mine / base for mine, base in zip(values, times[baseline], strict=True)
        )
        print(f"  {name:<56} median {median:7.2f} ms  p90 {p90:7.2f} ms  ratio {ratio:4.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="3 runs per figure; fail unless every figure was produced (not how fast)",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3
    load_average = os.getloadavg()[0]
    print(
        f"findata-client benchmark: Python {platform.python_version()}, httpx {httpx.__version__}, "
        f"pyarrow {pa.__version__}, load average {load_average:.1f}"
    )
    with tempfile.TemporaryDirectory(prefix="bench-client-") as folder:
        url = f"duckdb://{folder}/bench.duckdb"
        asyncio.run(load(url))
        # The local configuration (256 MB response cache), one page of up to 200,000 rows.
        settings = {"FINDATA_ENV": "local", "FINDATA_LOG_LEVEL": "WARNING"}
        settings |= {"FINDATA_MAX_LIMIT": "200000", "FINDATA_DEFAULT_LIMIT": "200000"}
        served = serve_process(url, Path(folder), settings=settings)
        try:
            base = served.base_url
            with (
                httpx.Client() as http,
                Client(base) as client,
                Client(base, page_size=50_000) as paged,
            ):
                one_page = measure(
                    {
                        "bare: httpx.Client.get (kept alive) + pyarrow.ipc": lambda: decode(
                            http.get(f"{base}/stocks/time-series/MIN1", headers=ARROW).content
                        ),
                        "Client.bars": lambda: client.bars("MIN1"),
                    },
                    args.repeat,
                )
                # Apart: a request right after a connection's close pays for it (measured).
                fresh = measure(
                    {
                        "bare: httpx.get (new connection) + pyarrow.ipc": lambda: decode(
                            httpx.get(f"{base}/stocks/time-series/MIN1", headers=ARROW).content
                        ),
                    },
                    args.repeat,
                )
                four_pages = measure(
                    {
                        "bare: 4 x httpx.Client.get + pyarrow.ipc + concat": lambda: bare_pages(
                            http, base, {"limit": "50000"}
                        ),
                        "Client(page_size=50_000).bars": lambda: paged.bars("MIN1"),
                    },
                    args.repeat,
                )
            one_loop = asyncio.run(measure_async(base, args.repeat))
        finally:
            served.stop()
    report(
        f"{ROWS:,} minute bars, one Arrow page ({args.repeat} runs each)",
        one_page,
        "bare: httpx.Client.get (kept alive) + pyarrow.ipc",
    )
    report(
        f"{ROWS:,} minute bars, one Arrow page, a new connection per call ({args.repeat} runs)",
        fresh,
        "bare: httpx.get (new connection) + pyarrow.ipc",
    )
    report(
        f"{ROWS:,} minute bars, four Arrow pages of 50,000 ({args.repeat} runs each)",
        four_pages,
        "bare: 4 x httpx.Client.get + pyarrow.ipc + concat",
    )
    report(
        f"{ROWS:,} minute bars, one Arrow page, in one event loop ({args.repeat} runs each)",
        one_loop,
        "bare: httpx.AsyncClient.get (kept alive) + pyarrow.ipc",
    )
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
    if args.quick:
        sections = (one_page, fresh, four_pages, one_loop)
        runs = [values for times in sections for values in times.values()]
        figures = [value for values in runs for value in values]
        if any(len(values) != args.repeat for values in runs) or not all(
            0 < value < float("inf") for value in figures
        ):
            sys.exit(f"bench_client --quick: a variant lacks figures: {runs}")
        print(f"bench_client --quick: {len(figures)} timings, each a figure")


async def measure_async(base_url: str, repeat: int) -> dict[str, list[float]]:
    """``AsyncClient.bars`` against a bare ``httpx.AsyncClient`` GET, alternating, one loop."""
    async with httpx.AsyncClient() as http, AsyncClient(base_url) as client:

        async def bare() -> pa.Table:
            response = await http.get(f"{base_url}/stocks/time-series/MIN1", headers=ARROW)
            return decode(response.content)

        async def ours() -> pa.Table:
            table: pa.Table = await client.bars("MIN1")
            return table

        variants = {
            "bare: httpx.AsyncClient.get (kept alive) + pyarrow.ipc": bare,
            "AsyncClient.bars": ours,
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for variant in variants.values():
            assert (await variant()).num_rows == ROWS
        for _ in range(repeat):
            for name, variant in variants.items():
                started = time.perf_counter()
                table = await variant()
                times[name].append((time.perf_counter() - started) * 1000)
                assert table.num_rows == ROWS
        return times


if __name__ == "__main__":
    main()
