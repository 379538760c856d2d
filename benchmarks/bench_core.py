"""findata-core benchmark: resampling and indicators against pandas, polars, DuckDB and TA-Lib;
coverage and the regular-session filter against exchange calendars; split and dividend
adjustment.

Prints, for each library on the same synthetic data (benchmarks/_data.py: two years of
1-minute bars for 50 symbols, ~9.8M rows), ``wall/cpu``: the median wall-clock and the
median CPU milliseconds of the whole process (all threads). On a busy machine wall times
grow with the load; CPU times show what the work itself costs.
Run with ``make bench``; figures are recorded in docs/benchmarks.md. Not run in CI.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from datetime import time as wall_time
from importlib.metadata import version
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import talib

sys.path.insert(0, str(Path(__file__).parent))
from _data import corporate_actions, daily_bars, minute_bars
from findata import core
from findata.core import calendars

ZONE = "America/New_York"


class Timing(tuple[float, float]):
    """Median wall-clock and CPU milliseconds (CPU: every thread of the process)."""

    @property
    def wall(self) -> float:
        return self[0]

    @property
    def cpu(self) -> float:
        return self[1]


def fresh(table: pa.Table) -> pa.Table:
    """A new table object over the same columns (~10 us). findata-core remembers the checks
    of a table per object (the API passes a store's cached series again and again); every
    findata figure here is for a table it has not seen, as the other libraries' are."""
    return table.select(table.column_names)


def median_ms(action: Callable[[], object], repeat: int) -> Timing:
    action()  # warm caches (time zone transitions, DuckDB plans, imports)
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return Timing((statistics.median(walls) * 1e3, statistics.median(cpus) * 1e3))


def paired_ms(
    first: Callable[[], object], second: Callable[[], object], repeat: int
) -> tuple[Timing, Timing]:
    """:func:`median_ms` of two actions timed in turns, so that a change of load during
    the run weighs on both alike (for a ratio of the two)."""
    first()
    second()
    samples: list[list[tuple[float, float]]] = [[], []]
    for _ in range(repeat):
        for action, taken in zip((first, second), samples, strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            action()
            taken.append((time.perf_counter() - wall, time.process_time() - cpu))
    first_timing, second_timing = (
        Timing(
            (
                statistics.median(wall for wall, _ in taken) * 1e3,
                statistics.median(cpu for _, cpu in taken) * 1e3,
            )
        )
        for taken in samples
    )
    return first_timing, second_timing


ROWS: list[tuple[str, dict[str, Timing | float | None]]] = []


def row(label: str, figures: dict[str, Timing | float | None]) -> None:
    ROWS.append((label, figures))
    cells = []
    for name, value in figures.items():
        if value is None:
            cells.append(f"{name}={'n/a':>15}")
        elif isinstance(value, Timing):
            cells.append(f"{name}={value.wall:7.2f}/{value.cpu:<7.2f}")
        else:
            cells.append(f"{name}={value:5.1f}")
    print(f"  {label:<34}" + "  ".join(cells))


# --- competitors -----------------------------------------------------------------------

PANDAS_RULES = {
    ("Daily", 1): "D",
    ("Minute", 15): "15min",
    ("Hourly", 1): "h",
    ("Weekly", 1): "W-SUN",
    ("Monthly", 1): "MS",
}
POLARS_EVERY = {
    ("Daily", 1): "1d",
    ("Minute", 15): "15m",
    ("Hourly", 1): "1h",
    ("Weekly", 1): "1w",
    ("Monthly", 1): "1mo",
    ("Minute", 1): "1m",
    ("Minute", 5): "5m",
    ("Minute", 30): "30m",
    ("Hourly", 2): "2h",
}
INTRADAY_EXTRA = [("Minute", 1), ("Minute", 5), ("Minute", 30), ("Hourly", 2)]
"""Further intervals, against polars only (pandas and the SQL add minutes, no insight)."""
DUCKDB_BUCKETS = {
    ("Daily", 1): "date_trunc('day', local)",
    ("Minute", 15): "time_bucket(INTERVAL 15 MINUTE, local)",
    ("Hourly", 1): "date_trunc('hour', local)",
    ("Weekly", 1): "date_trunc('week', local)",
    ("Monthly", 1): "date_trunc('month', local)",
}
PANDAS_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
POLARS_AGG = [
    pl.col("open").first(),
    pl.col("high").max(),
    pl.col("low").min(),
    pl.col("close").last(),
    pl.col("volume").sum(),
]


def pandas_frame(bars: pa.Table) -> pd.DataFrame:
    frame = bars.to_pandas()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert(ZONE)
    return frame.set_index("timestamp")


def pandas_resample(frame: pd.DataFrame, rule: str, by_symbol: bool) -> pd.DataFrame:
    if by_symbol:
        grouped = frame.groupby("symbol").resample(rule, label="left", closed="left")
        return grouped.agg(PANDAS_AGG).dropna(subset=["open"])
    bucketed = frame.resample(rule, label="left", closed="left")
    return bucketed.agg(PANDAS_AGG).dropna(subset=["open"])


def polars_frame(bars: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(bars)
    assert isinstance(frame, pl.DataFrame)
    return frame.with_columns(pl.col("timestamp").dt.convert_time_zone(ZONE)).set_sorted(
        "timestamp"
    )


def polars_resample(frame: pl.DataFrame, every: str, by_symbol: bool) -> pl.DataFrame:
    return frame.group_by_dynamic(
        "timestamp", every=every, group_by="symbol" if by_symbol else None
    ).agg(POLARS_AGG)


def duckdb_resample(connection: duckdb.DuckDBPyConnection, bucket: str) -> pa.Table:
    return connection.sql(
        f"""
        WITH local AS (SELECT *, timezone('{ZONE}', timestamp) AS local FROM bars)
        SELECT symbol, {bucket} AS period_start, arg_min(open, timestamp) AS open,
               max(high) AS high, min(low) AS low, arg_max(close, timestamp) AS close,
               sum(volume) AS volume
        FROM local GROUP BY ALL ORDER BY ALL
        """
    ).to_arrow_table()


# --- sections ---------------------------------------------------------------------------


def bench_resampling(every_symbol: pa.Table, symbols: int, repeat: int) -> None:
    one = every_symbol.slice(0, every_symbol.num_rows // symbols)
    connection = duckdb.connect()
    connection.execute("SET threads = 2")
    print(f"\nResample one symbol ({one.num_rows:,} minute bars), median ms:")
    pandas_one, polars_one = pandas_frame(one), polars_frame(one)
    for frequency, interval in PANDAS_RULES:
        key = (frequency, interval)
        connection.register("bars", one)
        row(
            f"-> {interval} {frequency}",
            {
                "findata": median_ms(
                    lambda f=frequency, i=interval: core.resample(fresh(one), i, f), repeat
                ),
                "polars": median_ms(
                    lambda k=key: polars_resample(polars_one, POLARS_EVERY[k], False), repeat
                ),
                "pandas": median_ms(
                    lambda k=key: pandas_resample(pandas_one, PANDAS_RULES[k], False),
                    max(3, repeat // 4),
                ),
                "duckdb-sql": median_ms(
                    lambda k=key: duckdb_resample(connection, DUCKDB_BUCKETS[k]),
                    max(3, repeat // 4),
                ),
            },
        )

    for frequency, interval in INTRADAY_EXTRA:
        key = (frequency, interval)
        row(
            f"-> {interval} {frequency}",
            {
                "findata": median_ms(
                    lambda f=frequency, i=interval: core.resample(fresh(one), i, f), repeat
                ),
                "polars": median_ms(
                    lambda k=key: polars_resample(polars_one, POLARS_EVERY[k], False), repeat
                ),
            },
        )

    print(
        f"\nResample all symbols ({every_symbol.num_rows:,} minute bars, {symbols} symbols),"
        " median ms:"
    )
    polars_all = polars_frame(every_symbol).sort("symbol", "timestamp").set_sorted("timestamp")
    connection.register("bars", every_symbol)
    row(
        "-> 1 Weekly",
        {
            "findata": median_ms(lambda: core.resample(fresh(every_symbol), 1, "Weekly"), 5),
            "polars": median_ms(lambda: polars_resample(polars_all, "1w", True), 5),
            "pandas": median_ms(
                lambda: pandas_resample(pandas_frame(every_symbol), "W-SUN", True), 1
            )
            if "--with-pandas-all" in sys.argv
            else None,
            "duckdb-sql": median_ms(
                lambda: duckdb_resample(connection, DUCKDB_BUCKETS[("Weekly", 1)]), 3
            ),
        },
    )


def bench_adjustment(one: pa.Table, repeat: int) -> None:
    splits, dividends = corporate_actions(one.column("symbol")[0].as_py())
    print(
        f"\nAdjust one symbol ({one.num_rows:,} minute bars, {splits.num_rows} splits, "
        f"{dividends.num_rows} dividends), median ms; the same tables every call, as the "
        "API passes a store's cached series and actions:"
    )
    for adjustment in ("split", "dividend", "all"):
        row(
            f"adjust_bars {adjustment}",
            {
                "findata": median_ms(
                    lambda a=adjustment: core.adjust_bars(one, splits, dividends, a), repeat
                )
            },
        )

    def fresh_tables() -> object:
        """New table objects over the same columns: nothing remembered applies."""
        return core.adjust_bars(
            one.select(one.column_names),
            splits.select(splits.column_names),
            dividends.select(dividends.column_names),
            "all",
        )

    row("adjust_bars all, new tables", {"findata": median_ms(fresh_tables, repeat)})
    # A universe at once: 500 symbols x 504 daily bars with 2 splits and 8 dividends each,
    # new tables (the runs of every symbol are found in one compiled call).
    universe = pa.concat_tables(
        [daily_bars(504, symbol=f"D{index:03d}", seed=index) for index in range(500)]
    )
    actions = [corporate_actions(f"D{index:03d}", splits=2, dividends=8) for index in range(500)]
    universe_splits = pa.concat_tables([pair[0] for pair in actions])
    universe_dividends = pa.concat_tables([pair[1] for pair in actions])
    row(
        "adjust_bars all, 500 symbols",
        {
            "findata": median_ms(
                lambda: core.adjust_bars(
                    fresh(universe), fresh(universe_splits), fresh(universe_dividends), "all"
                ),
                max(repeat // 10, 5),
            )
        },
    )
    row(
        "validate_splits + _dividends",
        {
            "findata": median_ms(
                lambda: (core.validate_splits(splits), core.validate_dividends(dividends)), repeat
            )
        },
    )
    raw, adjusted, shortcut = (
        lambda: core.resample(one, 1, "Weekly"),
        lambda: core.resample(core.adjust_bars(one, splits, dividends, "all")[0], 1, "Weekly"),
        lambda: core.resample_adjusted(one, splits, dividends, "all", 1, "Weekly"),
    )
    row(
        "-> 1 Weekly: raw / adjusted then resampled / resample_adjusted (all)",
        {
            "raw": median_ms(raw, repeat),
            "all": median_ms(adjusted, repeat),
            "resample_adjusted": median_ms(shortcut, repeat),
        },
    )


def bench_requests(repeat: int) -> None:
    daily = daily_bars(500)
    monthly = core.resample(fresh(daily), 1, "Monthly")
    print("\nPer-request work on 500 daily bars (one HTTP request), median ms:")
    row(
        "resample -> 1 Monthly",
        {"findata": median_ms(lambda: core.resample(fresh(daily), 1, "Monthly"), repeat)},
    )
    row(
        "resample -> 1 Weekly",
        {"findata": median_ms(lambda: core.resample(fresh(daily), 1, "Weekly"), repeat)},
    )
    row("validate_bars", {"findata": median_ms(lambda: core.validate_bars(fresh(daily)), repeat)})
    first = daily.slice(0, 1)
    row(
        "period of one instant (start=)",
        {
            "period_starts": median_ms(
                lambda: core.period_starts(first["timestamp"], 3, "Monthly"), repeat
            ),
            "1-bar resample": median_ms(lambda: core.resample(fresh(first), 3, "Monthly"), repeat),
        },
    )
    row(
        "compute_indicator rsi (daily)",
        {"findata": median_ms(lambda: core.compute_indicator(fresh(daily), "rsi"), repeat)},
    )
    row(
        "compute_indicator sma(3) (monthly)",
        {
            "findata": median_ms(
                lambda: core.compute_indicator(fresh(monthly), "sma", {"window": 3}), repeat
            )
        },
    )


def bench_indicators(bars: pa.Table, repeat: int) -> None:
    high, low, close = (bars.column(name).to_numpy() for name in ("high", "low", "close"))
    volume = bars.column("volume").to_numpy().astype(np.float64)
    print(f"\nIndicators on one symbol ({len(close):,} bars), median ms (kernel = numpy arrays in,")
    print("  table = compute_indicator on the Arrow table incl. validation and null masks):")
    cases: list[tuple[str, Callable[[], object], Callable[[], object], dict[str, object]]] = [
        ("SMA(30)", lambda: core.sma(close, 30), lambda: talib.SMA(close, 30), {"window": 30}),
        ("EMA(30)", lambda: core.ema(close, 30), lambda: talib.EMA(close, 30), {"window": 30}),
        ("WMA(30)", lambda: core.wma(close, 30), lambda: talib.WMA(close, 30), {"window": 30}),
        ("RSI(14)", lambda: core.rsi(close, 14), lambda: talib.RSI(close, 14), {"window": 14}),
        ("MACD(12,26,9)", lambda: core.macd(close), lambda: talib.MACD(close), {}),
        (
            "BBANDS(5,2)",
            lambda: core.bbands(close),
            lambda: talib.BBANDS(close, 5, 2.0, 2.0, 0),
            {},
        ),
        ("ATR(14)", lambda: core.atr(high, low, close), lambda: talib.ATR(high, low, close), {}),
        (
            "STOCH(5,3,3)",
            lambda: core.stoch(high, low, close),
            lambda: talib.STOCH(high, low, close, 5, 3, 0, 3, 0),
            {},
        ),
        ("OBV", lambda: core.obv(close, volume), lambda: talib.OBV(close, volume), {}),
    ]
    for label, ours, theirs, params in cases:
        name = label.split("(")[0].lower()
        kernel, reference = median_ms(ours, repeat), median_ms(theirs, repeat)
        table = median_ms(
            lambda n=name, p=params: core.compute_indicator(fresh(bars), n, p), repeat
        )
        row(
            label,
            {
                "kernel": kernel,
                "table": table,
                "talib": reference,
                "cpu kernel/talib": kernel.cpu / reference.cpu,
            },
        )
    row(
        "VWAP (sessions)",
        {"table": median_ms(lambda: core.compute_indicator(fresh(bars), "vwap"), repeat)},
    )


FIRST_INDICATOR = """
import time
started = time.perf_counter()
import numpy as np
from findata import core
imported = time.perf_counter()
core.rsi(np.linspace(1.0, 2.0, 100))
print(f"{(imported - started) * 1e3:.0f} {(time.perf_counter() - imported) * 1e3:.0f}")
"""


def bench_first_indicator() -> list[int]:
    """A fresh process's first indicator: Numba's import and the loops' compilation (an
    empty cache) or loading (the cache the first run wrote)."""
    print("\nFirst indicator in a fresh process (ms: import findata.core, then first rsi):")
    figures = []
    with tempfile.TemporaryDirectory() as cache:
        environment = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("empty Numba cache (compiles)", "warm Numba cache (loads)"):
            output = subprocess.run(
                [sys.executable, "-c", FIRST_INDICATOR],
                env=environment,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            print(f"  {label:<34}import {output[0]:>5}  first rsi {output[1]:>5}")
            figures += [int(value) for value in output]
    return figures


def check_figures(first_indicator: list[int]) -> None:
    """``--quick``: every section printed its rows, each timing a positive, finite figure
    (whatever it is: a quick run checks that the benchmark works, not how fast)."""
    timings = [
        value.wall for _, figures in ROWS for value in figures.values() if isinstance(value, Timing)
    ]
    # rows per section: resampling (pandas rules, intraday extras, one more), per-request
    # work (6), adjustment (7), indicators (10), calendars (3 + 2 filtered weekly pairs)
    expected_rows = len(PANDAS_RULES) + len(INTRADAY_EXTRA) + 1 + 6 + 7 + 10 + 7
    bad = [value for value in timings if not 0 < value < float("inf")]
    if len(ROWS) != expected_rows or bad or len(first_indicator) != 4:
        sys.exit(
            f"bench_core --quick: {len(ROWS)} of {expected_rows} rows, timings out of range "
            f"{bad}, first-indicator figures {first_indicator}"
        )
    print(f"bench_core --quick: {len(ROWS)} rows, {len(timings)} timings, each a figure")


MINUTE = timedelta(minutes=1)
DAILY_20_YEARS = 5_218
"""Weekdays from 4 December 2006 to the end of November 2026: 20 years of daily bars."""
EXTENDED_DAYS = 205
"""Weekdays of 960 minutes (04:00-19:59) that hold 196,560 minute bars."""


def bench_calendars(one: pa.Table, repeat: int) -> None:
    """Issue 14: coverage of one symbol against its exchange's sessions and the
    regular-session filter before resampling, with XNYS's sessions already read (a
    process's first calendar: :func:`bench_first_calendar`)."""
    daily = daily_bars(DAILY_20_YEARS, first_day=date(2006, 12, 4))
    calendars.sessions("XNYS")  # read the calendar once, as a serving process has
    print("\nExchange calendars (issue 14), one symbol, XNYS sessions cached, median ms:")
    row(
        f"coverage, {one.num_rows:,} minute bars",
        {
            "findata": median_ms(
                lambda: calendars.coverage(one, "XNYS", bar_interval=MINUTE), repeat
            )
        },
    )
    row(
        f"coverage, {daily.num_rows:,} daily bars",
        {
            "findata": median_ms(
                lambda: calendars.coverage(daily, "XNYS", bar_interval=calendars.DAILY), repeat
            )
        },
    )
    row(
        "regular filter, 09:30-16:00 bars",
        {
            "findata": median_ms(
                lambda: calendars.filter_regular_session(one, "XNYS", bar_interval=MINUTE), repeat
            )
        },
    )
    extended = minute_bars(1, EXTENDED_DAYS, first_minute=wall_time(4), minutes_per_day=960).slice(
        0, one.num_rows
    )
    for label, bars in (
        ("09:30-16:00", one),
        ("04:00-20:00", extended),
    ):
        alone, filtered = paired_ms(
            lambda b=bars: core.resample(fresh(b), 1, "Weekly"),
            lambda b=bars: core.resample(
                calendars.filter_regular_session(b, "XNYS", bar_interval=MINUTE), 1, "Weekly"
            ),
            repeat,
        )
        row(f"-> Weekly, all, {label} bars", {"findata": alone})
        row(
            f"-> Weekly, regular, {label}",
            {
                "findata": filtered,
                "wall x": filtered.wall / alone.wall,
                "cpu x": filtered.cpu / alone.cpu,
            },
        )


FIRST_CALENDAR = """
import os, sys, time
sys.path.insert(0, sys.argv[1])
from datetime import timedelta

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

marks = [(time.perf_counter(), rss())]
def mark():
    marks.append((time.perf_counter(), rss()))

from findata import core
mark()
loaded = "exchange_calendars" in sys.modules or "pandas" in sys.modules
import numpy as np, pyarrow as pa
pa.array(np.arange(3))  # pyarrow imports pandas here when it is installed
mark()
from _data import minute_bars
bars = minute_bars(1)
mark()
core.calendars.coverage(bars, "XNYS", bar_interval=timedelta(minutes=1))
mark()
core.calendars.coverage(bars, "XNYS", bar_interval=timedelta(minutes=1))
mark()
core.calendars.sessions("XLON")
mark()
steps = [
    (f"{(t1 - t0) * 1e3:.1f}", f"{r1 - r0:+.1f}")
    for (t0, r0), (t1, r1) in zip(marks, marks[1:])
]
print(loaded, "pandas" in sys.modules, *(value for step in steps for value in step))
"""


def bench_first_calendar() -> None:
    """A fresh process's first calendar: ``import findata.core`` leaves exchange_calendars
    and pandas out; pyarrow's first array imports pandas (where installed); the first
    coverage imports exchange_calendars and reads XNYS; a second exchange costs its read."""
    print("\nFirst calendar in a fresh process (wall ms, RSS MB added):")
    output = subprocess.run(
        [sys.executable, "-c", FIRST_CALENDAR, str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    loaded, pandas_loaded, figures = output[0], output[1], output[2:]
    labels = [
        f"import findata.core (exchange_calendars/pandas loaded: {loaded})",
        f"first pa.array (pandas loaded: {pandas_loaded})",
        "generate 196,560 minute bars",
        "first coverage (exchange_calendars, XNYS)",
        "second coverage (cached)",
        "first sessions of XLON",
    ]
    for index, label in enumerate(labels):
        print(f"  {label:<62}{figures[2 * index]:>8} ms {figures[2 * index + 1]:>7} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per figure")
    parser.add_argument("--symbols", type=int, default=50)
    parser.add_argument(
        "--with-pandas-all", action="store_true", help="pandas on all symbols (slow)"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="2 symbols, 3 runs per figure; fail unless every figure was produced",
    )
    options = parser.parse_args()
    if options.quick:
        options.symbols, options.repeat = 2, 3

    print(
        f"findata-core benchmark  python {platform.python_version()}  {platform.machine()}  "
        f"{os.cpu_count()} CPUs"
    )
    print(
        "  "
        + "  ".join(
            f"{package} {version(package)}"
            for package in (
                "findata-core",
                "numpy",
                "pyarrow",
                "duckdb",
                "polars",
                "pandas",
                "ta-lib",
                "numba",
                "exchange-calendars",
            )
        )
    )
    print("  load average at start: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))
    started = time.perf_counter()
    every_symbol = minute_bars(options.symbols)
    print(f"  generated {every_symbol.num_rows:,} bars in {time.perf_counter() - started:.1f} s")
    bench_requests(options.repeat * 10)
    bench_resampling(every_symbol, options.symbols, options.repeat)
    one_symbol = every_symbol.slice(0, every_symbol.num_rows // options.symbols)
    bench_adjustment(one_symbol, options.repeat)
    bench_indicators(one_symbol, options.repeat)
    first_indicator = bench_first_indicator()
    bench_calendars(one_symbol, options.repeat)
    bench_first_calendar()
    if options.quick:
        check_figures(first_indicator)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")
    print("  load average at end: {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
