"""Helpers for tests and demos: an in-memory store, and a real ``findata serve`` process.

``MemoryStore`` follows the ``findata.db.Store`` contract (upserts, data version, symbol
metadata) and can simulate an outage (``available = False``) to exercise the 503 path:
inject it with ``create_app(store=MemoryStore())``. ``serve_process`` starts the service
as its users run it, for tests of real clients (findata-client, a browser); ``run_sync`` and
``seed_database`` prepare stores from sync fixtures.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from findata.core import BAR_SCHEMA, DEFAULT_TIMEZONE
from findata.core.calendars import DEFAULT_EXCHANGE
from findata.core.columns import SYMBOL, TIMESTAMP
from findata.db import BarKind, Store, StoreUnavailableError, SymbolInfo, open_store

__all__ = [
    "MemoryStore",
    "ServedProcess",
    "free_port",
    "run_sync",
    "seed_database",
    "serve_process",
]


class MemoryStore:
    """Bars kept in Arrow tables per symbol; every write bumps the data version."""

    url_scheme = "memory"

    def __init__(self) -> None:
        self.available = True
        self.connected = False
        self._bars: dict[str, pa.Table] = {}
        self._meta: dict[str, tuple[str, str, BarKind]] = {}
        self._exchanges: dict[str, str] = {}
        self._version = 0

    async def connect(self) -> None:
        self._check()
        self.connected = True

    async def disconnect(self) -> None:
        self.connected = False

    async def health(self) -> None:
        self._check()

    async def list_symbols(self) -> list[SymbolInfo]:
        self._check()
        return [self._info(symbol) for symbol in sorted(self._bars)]

    async def get_symbol(self, symbol: str) -> SymbolInfo | None:
        self._check()
        return self._info(symbol) if symbol in self._bars else None

    async def read_bars(
        self,
        symbols: Sequence[str],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> pa.Table:
        self._check()
        tables = [self._bars[symbol] for symbol in sorted(set(symbols)) if symbol in self._bars]
        if not tables:
            return BAR_SCHEMA.empty_table()
        bars = pa.concat_tables(tables)
        stamps = bars[TIMESTAMP]
        if start is not None:
            bars = bars.filter(pc.greater_equal(stamps, pa.scalar(start, stamps.type)))
            stamps = bars[TIMESTAMP]
        if end is not None:
            bars = bars.filter(pc.less_equal(stamps, pa.scalar(end, stamps.type)))
        return bars

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
        exchanges: Mapping[str, str] | None = None,
    ) -> int:
        self._check()
        bars = bars.select(BAR_SCHEMA.names).cast(BAR_SCHEMA)
        for symbol in pc.unique(bars[SYMBOL]).to_pylist():
            named = (exchanges or {}).get(symbol)
            if named is not None or symbol not in self._exchanges:
                self._exchanges[symbol] = named or DEFAULT_EXCHANGE
        for symbol in pc.unique(bars[SYMBOL]).to_pylist():
            new = bars.filter(pc.equal(bars[SYMBOL], symbol))
            if symbol in self._bars:
                old = self._bars[symbol]
                kept = old.filter(pc.invert(pc.is_in(old[TIMESTAMP], new[TIMESTAMP])))
                new = pa.concat_tables([kept, new])
            else:
                kind = bar_kind or _guess_kind(new, timezone or DEFAULT_TIMEZONE)
                self._meta[symbol] = (timezone or DEFAULT_TIMEZONE, source, kind)
            self._bars[symbol] = new.sort_by(TIMESTAMP)
        self._version += 1
        return int(bars.num_rows)

    async def data_version(self) -> str:
        self._check()
        return str(self._version)

    def _info(self, symbol: str) -> SymbolInfo:
        bars = self._bars[symbol]
        timezone, source, kind = self._meta[symbol]
        return SymbolInfo(
            symbol=symbol,
            first_bar=bars[TIMESTAMP][0].as_py(),
            last_bar=bars[TIMESTAMP][-1].as_py(),
            bar_count=bars.num_rows,
            timezone=timezone,
            source=source,
            bar_kind=kind,
            exchange=self._exchanges[symbol],
        )

    def _check(self) -> None:
        if not self.available:
            raise StoreUnavailableError("memory store switched off")


def _guess_kind(bars: pa.Table, timezone: str) -> BarKind:
    """Daily when every bar starts at local midnight, as the bar contract puts daily bars."""
    times = pc.cast(bars[TIMESTAMP], pa.timestamp("us", tz=timezone))
    midnight = pc.all(pc.and_(pc.equal(pc.hour(times), 0), pc.equal(pc.minute(times), 0))).as_py()
    return BarKind.DAILY if midnight else BarKind.INTRADAY


@dataclasses.dataclass
class ServedProcess:
    """A ``findata serve`` child process on 127.0.0.1; its output goes to ``log``."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        """The end of what the process printed (for assertion messages)."""
        return self.log.read_text(errors="replace")[-5000:]

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, wait (after ``timeout`` s, SIGKILL to the whole process group: a killed
        Hypercorn parent would leave its worker processes running); the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            return self.process.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def serve_process(
    database_url: str,
    log_dir: Path,
    *,
    settings: Mapping[str, str] | None = None,
    ready_timeout: float = 120,
) -> ServedProcess:
    """Start ``findata serve`` on a free port with ``FINDATA_ENV=test``, ``database_url`` and
    ``settings`` (``FINDATA_*`` variables), and return once it answers its health check.

    The store timeout is 15 s rather than the test configuration's 2 s: a busy CI machine
    must not turn a slow first query into a 503.
    """
    port = free_port()
    log = log_dir / f"findata-serve-{port}.log"
    env = {
        **os.environ,
        "FINDATA_ENV": "test",
        "FINDATA_DATABASE_URL": database_url,
        "FINDATA_ACCESS_LOG": "false",
        "FINDATA_STORE_TIMEOUT": "15",
        **(settings or {}),
    }
    with log.open("wb") as sink:
        command = [sys.executable, "-m", "findata.api", "serve", "--host", "127.0.0.1"]
        process = subprocess.Popen(  # noqa: S603 (this interpreter, fixed arguments)
            [*command, "--port", str(port)],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() can end the workers too
        )
    served = ServedProcess(process, port, log)
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"findata serve exited with {process.returncode}:\n{served.output()}"
            )
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(f"{served.base_url}/_healthcheck", timeout=1) as answer,  # noqa: S310
        ):
            if answer.status == 200:
                return served
        time.sleep(0.1)
    served.stop()
    raise RuntimeError(f"findata serve did not answer within {ready_timeout} s:\n{served.output()}")


_T = TypeVar("_T")


def run_sync(work: Coroutine[Any, Any, _T]) -> _T:
    """Run a coroutine to completion from sync code (fixtures), even inside a running
    event loop: it gets a loop of its own in a worker thread."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, work).result()


async def seed_database(url: str, seed: Callable[[Store], Awaitable[object]]) -> None:
    """Open the store at ``url``, migrate it, run ``seed`` on it, and close it."""
    store = open_store(url)
    await store.connect()
    try:
        await store.migrate()
        await seed(store)
    finally:
        await store.disconnect()
