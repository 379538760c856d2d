"""findata-api benchmark: HTTP throughput and latency, and the plain Flask baseline.

What it measures (figures recorded in docs/benchmarks.md; not run in CI):

1. ``GET /stocks/time-series/{symbol}?interval=1&frequency=Monthly`` with a random
   symbol per request (wrk + Lua, 32 connections, one Hypercorn worker) over 2 years
   of daily bars for 50 symbols in the embedded DuckDB store: with the result cache
   (the default) and without it (every request resamples).
2. The same endpoint served by findata over PostgreSQL, and by the plain Flask +
   SQLAlchemy + pandas + gunicorn (1 sync worker) app of benchmarks/baseline_flask/
   over the same bars in PostgreSQL, in the same run.
3. ``GET /_healthcheck`` (a constant JSON body through all of findata's hooks): the
   ceiling one worker reaches on this machine.
4. Weekly bars from 2 years of 1-minute bars of one symbol (196,560 rows), end to
   end over HTTP with the result cache off: median and p90 of sequential requests,
   on DuckDB and on PostgreSQL.
5. The same weekly request with ``adjustment=all`` (MIN1 has 10 splits and 40 cash
   dividends), cache off, right after the raw one on the same server: the cost of
   adjusting (target: at most 1.2x the raw request). ``--only-adjustment`` runs just this.

Usage: ``python benchmarks/bench_api.py [--duration 20] [--skip-baseline] [--quick]
[--only-adjustment]``.
Needs ``wrk`` and a PostgreSQL server (``--postgres-url``, default
FINDATA_TEST_DATABASE_URL). ``--quick`` runs each measurement briefly (3 s, 8
connections) and fails unless each produced figures with no failed request (for
``make smoke-commands``): a check that the benchmark works, not of how fast.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).parent))
from _data import daily_bars, minute_bars
from findata.db import ActionStore, BarKind, open_store

HERE = Path(__file__).parent
SYMBOLS = 50
DAILY_ROWS = 504  # two years of weekdays
MONTHLY = "/stocks/time-series/SYM{:03d}?interval=1&frequency=Monthly"
WEEKLY_MINUTES = "/stocks/time-series/MIN1?interval=1&frequency=Weekly"
WEEKLY_ADJUSTED = f"{WEEKLY_MINUTES}&adjustment=all"
LUA = """
math.randomseed(os.time())
request = function()
  local path = string.format("/stocks/time-series/SYM%03d?interval=1&frequency=Monthly",
                             math.random(0, 49))
  return wrk.format("GET", path)
end
"""


def daily_data() -> pa.Table:
    """50 symbols x 504 daily bars (2 years), each symbol its own random walk."""
    tables = [
        daily_bars(DAILY_ROWS, symbol=f"SYM{index:03d}", seed=index) for index in range(SYMBOLS)
    ]
    return pa.concat_tables(tables)


def minute_data() -> pa.Table:
    """2 years of regular-session 1-minute bars of one symbol, MIN1 (196,560 rows)."""
    bars = minute_bars(symbols=1, trading_days=DAILY_ROWS)
    return bars.set_column(0, "symbol", pa.array(["MIN1"] * bars.num_rows))


def minute_actions(minutes: pa.Table) -> tuple[pa.Table, pa.Table]:
    """10 splits (2-for-1 and 1-for-2 in turn) and 40 small cash dividends of MIN1, on
    trading dates spread over its two years."""
    import pyarrow.compute as pc

    local = minutes["timestamp"].cast(pa.timestamp("us", tz="America/New_York"))
    days = pc.unique(pc.cast(pc.local_timestamp(local), pa.date32())).to_pylist()
    split_days = [days[(index + 1) * len(days) // 11] for index in range(10)]
    dividend_days = [days[(index + 1) * len(days) // 41 + 1] for index in range(40)]
    splits = pa.table(
        {
            "symbol": ["MIN1"] * 10,
            "ex_date": pa.array(split_days, pa.date32()),
            "split_from": [1.0 if index % 2 == 0 else 2.0 for index in range(10)],
            "split_to": [2.0 if index % 2 == 0 else 1.0 for index in range(10)],
        }
    )
    dividends = pa.table(
        {
            "symbol": ["MIN1"] * 40,
            "ex_date": pa.array(dividend_days, pa.date32()),
            "cash_amount": [0.05] * 40,
        }
    )
    return splits, dividends


async def load_findata(url: str, daily: pa.Table, minutes: pa.Table) -> None:
    store = open_store(url)
    await store.connect()
    try:
        await store.migrate()
        await store.write_bars(daily, source="bench", bar_kind=BarKind.DAILY)
        await store.write_bars(minutes, source="bench", bar_kind=BarKind.INTRADAY)
        assert isinstance(store, ActionStore)
        await store.write_actions(*minute_actions(minutes))
    finally:
        await store.disconnect()


def adjustment_cost(port: int, store: str) -> None:
    """Raw and ``adjustment=all`` weekly from the minute bars on one server (cache off),
    sequential requests in turns; the ratio of the medians is the adjustment's cost."""
    raw, adjusted = sequential_latencies(port, [WEEKLY_MINUTES, WEEKLY_ADJUSTED], 60)
    report(f"findata  weekly from minute bars, raw, {store}, cache off", raw)
    report(f"findata  weekly from minute bars, adjustment=all, {store}, cache off", adjusted)
    print(f"{'':<58} adjustment=all / raw = {adjusted['median'] / raw['median']:.2f}x", flush=True)


async def create_database(admin_url: str, name: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def load_baseline(url: str, daily: pa.Table) -> None:
    """The baseline's own plain table: one row per daily bar, indexed by (symbol, date)."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "CREATE TABLE baseline_bars (symbol text NOT NULL, date timestamp NOT NULL, "
            "open float8, high float8, low float8, close float8, volume bigint, "
            "PRIMARY KEY (symbol, date))"
        )
        local = daily["timestamp"].cast(pa.timestamp("us", tz="America/New_York"))
        import pyarrow.compute as pc

        dates = pc.local_timestamp(local).to_pylist()
        records = zip(
            daily["symbol"].to_pylist(),
            dates,
            *(daily[name].to_pylist() for name in ("open", "high", "low", "close", "volume")),
            strict=True,
        )
        await connection.copy_records_to_table("baseline_bars", records=list(records))
        await connection.execute("ANALYZE baseline_bars")
    finally:
        await connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def server(command: list[str], env: dict[str, str], port: int, probe: str) -> Iterator[None]:
    """Start a server, wait until ``probe`` answers 200, request every benchmark symbol once
    (so each run starts warm, as a long-running server is), and stop it with SIGTERM."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError):
                    if get(port, probe)[0] == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(
                        f"{command[0]} did not start:\n{log.read().decode()[-3000:]}"
                    )
                time.sleep(0.25)
            if probe != "/constant":
                for index in range(SYMBOLS):
                    get(port, MONTHLY.format(index))
            yield
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def findata_server(
    port: int, database_url: str, *, cache: bool
) -> contextlib.AbstractContextManager[None]:
    env = {
        **os.environ,
        "FINDATA_ENV": "development",  # JSON access logs, as deployed
        "FINDATA_DATABASE_URL": database_url,
        "FINDATA_CACHE_MEGABYTES": "256" if cache else "0",
    }
    command = [sys.executable, "-m", "findata.api", "serve", "--port", str(port), "--workers", "1"]
    return server(command, env, port, "/_readiness")


def wrk(
    port: int, path: str, duration: int, connections: int, script: Path | None
) -> dict[str, float]:
    """Run wrk (after a short warm-up) and return req/s and latency percentiles in ms."""
    # A 10 s timeout (wrk's default is 2 s) keeps slow servers' latencies in the figures.
    base = ["wrk", "-t2", f"-c{connections}", "--timeout", "10s", "--latency"]
    target = f"http://127.0.0.1:{port}{path}"
    extra = ["-s", str(script)] if script else []
    warm_up = min(3, duration)
    subprocess.run([*base, f"-d{warm_up}s", *extra, target], capture_output=True, check=True)
    output = subprocess.run(
        [*base, f"-d{duration}s", *extra, target], capture_output=True, text=True, check=True
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}  # type: ignore[union-attr]
    for percentile in ("50", "90", "99"):
        match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        if match:
            scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
            figures[f"p{percentile}"] = float(match.group(1)) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["non_2xx"] = float(errors.group(1)) if errors else 0.0
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    figures["socket_errors"] = (
        float(sum(map(int, socket_errors.groups()))) if socket_errors else 0.0
    )
    return figures


def sequential_latency(port: int, path: str, requests: int = 40) -> dict[str, float]:
    """Median and p90 wall time (ms) of sequential keep-alive requests."""
    return sequential_latencies(port, [path], requests)[0]


def sequential_latencies(port: int, paths: list[str], requests: int = 40) -> list[dict[str, float]]:
    """:func:`sequential_latency` of each path, their requests taken in turns on one
    connection, so that a change of load during the run weighs on each alike."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times: list[list[float]] = [[] for _ in paths]
    for _ in range(requests + 3):
        for path, taken in zip(paths, times, strict=True):
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            taken.append((time.perf_counter() - started) * 1000)
    connection.close()
    results = []
    for taken in times:
        kept = sorted(taken[3:])  # the first requests warm the store's own caches
        results.append({"median": statistics.median(kept), "p90": kept[int(len(kept) * 0.9) - 1]})
    return results


BASELINE_LOCK = HERE / "baseline_flask" / "requirements.txt"
# The workspace's environment pins *its* dependencies (hatch.toml sets UV_CONSTRAINT and
# PIP_CONSTRAINT to requirements/constraints.txt): the baseline is another application with
# its own lock, so none of these may reach its installer.
WORKSPACE_INSTALLER_SETTINGS = frozenset(
    {"UV_CONSTRAINT", "PIP_CONSTRAINT", "UV_OVERRIDE", "UV_BUILD_CONSTRAINT", "VIRTUAL_ENV"}
)


def baseline_python() -> Path:
    """A throwaway virtualenv with the baseline's locked dependencies, reused while the
    lock and the interpreter are the same (a changed lock gets a new one)."""
    key = hashlib.sha256(BASELINE_LOCK.read_bytes() + sys.version.encode()).hexdigest()[:12]
    venv = Path(tempfile.gettempdir()) / f"findata-bench-flask-{key}"
    python = venv / "bin" / "python"
    if not (venv / "installed").exists():
        uv = shutil.which("uv") or str(HERE.parent / ".tools" / "bin" / "uv")
        env = {k: v for k, v in os.environ.items() if k not in WORKSPACE_INSTALLER_SETTINGS}
        subprocess.run(
            [uv, "venv", "--quiet", "--clear", "--python", sys.executable, str(venv)],
            check=True, env=env,
        )  # fmt: skip
        subprocess.run(
            [uv, "pip", "install", "--quiet", "--no-config", "--require-hashes",
             "--python", str(python), "-r", str(BASELINE_LOCK)],
            check=True, env=env,
        )  # fmt: skip
        (venv / "installed").touch()
    return python


REPORTED: list[tuple[str, dict[str, float]]] = []


def report(name: str, figures: dict[str, float]) -> None:
    REPORTED.append((name, figures))
    shown = "  ".join(
        f"{key}={value:,.1f}" if key == "rps" else f"{key}={value:.2f}ms"
        for key, value in figures.items()
        if key not in ("non_2xx", "socket_errors")
    )
    failures = "".join(
        f"  {key}={int(figures[key])}" for key in ("non_2xx", "socket_errors") if figures.get(key)
    )
    print(f"{name:<58} {shown}{failures}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--only-adjustment", action="store_true", help="only measurement 5 (both stores)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="3 s per measurement; fail unless figures came"
    )
    args = parser.parse_args()
    if args.quick:  # long enough for requests to complete on a busy machine, no longer
        args.duration, args.connections = 3, 8

    print(
        f"findata-api benchmark: {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; wrk -c{args.connections} "
        f"-d{args.duration}s, one server worker",
        flush=True,
    )
    daily, minutes = daily_data(), minute_data()
    print(f"data: {daily.num_rows:,} daily bars ({SYMBOLS} symbols), "
          f"{minutes.num_rows:,} minute bars (MIN1)", flush=True)  # fmt: skip
    database = "findata_bench"
    with tempfile.TemporaryDirectory() as scratch:
        duckdb_url = f"duckdb://{Path(scratch) / 'bench.duckdb'}"
        asyncio.run(load_findata(duckdb_url, daily, minutes))
        postgres_url = asyncio.run(create_database(args.postgres_url, database))
        try:
            asyncio.run(load_findata(postgres_url, daily, minutes))
            asyncio.run(load_baseline(postgres_url, daily))
            if args.only_adjustment:
                port = free_port()
                for url, name in ((duckdb_url, "DuckDB"), (postgres_url, "PostgreSQL")):
                    with findata_server(port, url, cache=False):
                        adjustment_cost(port, name)
                return
            script = Path(scratch) / "random_symbol.lua"
            script.write_text(LUA)
            run = lambda port, path, lua=script: wrk(  # noqa: E731
                port, path, args.duration, args.connections, lua
            )

            port = free_port()
            constant = [sys.executable, "-m", "hypercorn", "--workers", "1", "--bind",
                        f"127.0.0.1:{port}", "bench_api_constant:app"]  # fmt: skip
            with server(constant, {**os.environ, "PYTHONPATH": str(HERE)}, port, "/constant"):
                report(
                    "bare Quart constant JSON (ceiling of one worker)", run(port, "/constant", None)
                )
            with findata_server(port, duckdb_url, cache=True):
                report(
                    "findata  /_healthcheck (constant body through all hooks)",
                    run(port, "/_healthcheck", None),
                )
                report(
                    "findata  monthly, random symbol, DuckDB, cache on",
                    run(port, MONTHLY.format(0)),
                )
                report(
                    "findata  weekly from 196,560 minute bars, DuckDB, cache on",
                    sequential_latency(port, WEEKLY_MINUTES),
                )
            with findata_server(port, duckdb_url, cache=False):
                report(
                    "findata  monthly, random symbol, DuckDB, cache off",
                    run(port, MONTHLY.format(0)),
                )
                report("findata  weekly from 196,560 minute bars, DuckDB, cache off",
                       sequential_latency(port, WEEKLY_MINUTES))  # fmt: skip
                adjustment_cost(port, "DuckDB")
            with findata_server(port, postgres_url, cache=True):
                report(
                    "findata  monthly, random symbol, PostgreSQL, cache on",
                    run(port, MONTHLY.format(0)),
                )
                report(
                    "findata  weekly from 196,560 minute bars, PostgreSQL, cache on",
                    sequential_latency(port, WEEKLY_MINUTES),
                )
            with findata_server(port, postgres_url, cache=False):
                report(
                    "findata  monthly, random symbol, PostgreSQL, cache off",
                    run(port, MONTHLY.format(0)),
                )
                report("findata  weekly from 196,560 minute bars, PostgreSQL, cache off",
                       sequential_latency(port, WEEKLY_MINUTES))  # fmt: skip
                adjustment_cost(port, "PostgreSQL")
            if not args.skip_baseline:
                python = baseline_python()
                env = {**os.environ, "BASELINE_DATABASE_URL": postgres_url.replace(
                    "postgresql://", "postgresql+psycopg://", 1)}  # fmt: skip
                command = [
                    str(python), "-m", "gunicorn", "--workers", "1", "--bind",
                    f"127.0.0.1:{port}", "--chdir", str(HERE / "baseline_flask"), "app:app",
                ]  # fmt: skip
                with server(command, env, port, MONTHLY.format(0)):
                    report(
                        "baseline Flask+SQLAlchemy+pandas+gunicorn, PostgreSQL",
                        run(port, MONTHLY.format(0)),
                    )
        finally:
            asyncio.run(drop_database(args.postgres_url, database))
    if args.quick:
        check_figures(expected=14 if args.skip_baseline else 15)


def check_figures(expected: int) -> None:
    """``--quick``: every measurement reported a rate or latencies, and no request failed."""
    problems = [
        f"{name}: {figures}"
        for name, figures in REPORTED
        if not (figures.get("rps", 0) > 0 or figures.get("median", 0) > 0)
        or figures.get("non_2xx")
        or figures.get("socket_errors")
    ]
    if len(REPORTED) != expected or problems:
        sys.exit(
            f"bench_api --quick: {len(REPORTED)} of {expected} measurements; failed:\n"
            + "\n".join(problems)
        )
    print(f"bench_api --quick: {len(REPORTED)} measurements, each with figures")


if __name__ == "__main__":
    main()
