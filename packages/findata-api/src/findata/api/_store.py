"""The app's handle on its store: lifecycle, outages, timing and a short-lived version cache.

The store is injected (``create_app(store=...)``) or opened from the settings' URL.
It is connected when serving starts; if the store is down then, or goes down later,
the service keeps running, answers 503 with ``Retry-After``, and reconnects on its
own at most once per ``store_retry_after`` seconds.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pyarrow as pa
from quart import Quart, Response

from findata.api._metrics import Metrics
from findata.api._problems import problem
from findata.api._settings import Settings
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.db import (
    ActionCounts,
    ActionStore,
    PoolUsage,
    ReportsPoolUsage,
    Store,
    StoreUnavailableError,
    SymbolInfo,
    default_database_url,
    open_store,
)

_log = logging.getLogger("findata.api")
T = TypeVar("T")

# Failures that mean "the store cannot answer now", as opposed to a bug.
_OUTAGES = (StoreUnavailableError, OSError, TimeoutError)


class StoreGateway:
    """Every store call of the service goes through here."""

    def __init__(self, store: Store, settings: Settings, metrics: Metrics) -> None:
        self.store = store
        self._settings = settings
        self._metrics = metrics
        self._connected = False
        self._last_attempt = -float("inf")
        self._connect_lock = asyncio.Lock()
        self._version: str | None = None
        self._version_read_at = -float("inf")
        self._symbols: dict[str, SymbolInfo | None] = {}
        self._symbols_version: str | None = None
        self._actions: dict[str, tuple[pa.Table, pa.Table]] = {}
        self._actions_version: str | None = None

    @property
    def connected(self) -> bool:
        return self._connected

    async def start(self) -> None:
        """Connect when serving starts, then list the symbols once, so that the first request
        does not pay a fresh process's first query (DuckDB: ~50 ms CPU to attach the file
        and run its first statement; measured in docs/delivery.md). A store that is down now
        is retried later, not fatal."""
        try:
            await self._connect()
            await self.store.list_symbols()
        except _OUTAGES as exc:
            _log.warning("store unavailable at start-up, will retry: %s", _describe(exc))

    async def stop(self) -> None:
        if self._connected:
            self._connected = False
            await self.store.disconnect()

    async def health(self) -> None:
        """Return when the store answers; raise ``StoreUnavailableError`` otherwise."""
        await self._call("health", self.store.health)

    async def data_version(self) -> str:
        """The store's data version, trusted for ``data_version_ttl`` seconds.

        The TTL turns one store round trip per request into one per second under
        load; a change made by another process shows up at most that much later.
        """
        now = time.monotonic()
        if self._version is None or now - self._version_read_at >= self._settings.data_version_ttl:
            self._version = await self._call("data_version", self.store.data_version)
            self._version_read_at = now
        return self._version

    async def get_symbol(self, symbol: str) -> SymbolInfo | None:
        """Symbol metadata, cached until the data version changes."""
        version = await self.data_version()
        if version != self._symbols_version:
            self._symbols, self._symbols_version = {}, version
        if symbol not in self._symbols:
            if len(self._symbols) >= 10_000:  # unknown names must not grow memory forever
                self._symbols.clear()
            self._symbols[symbol] = await self._call("get_symbol", self.store.get_symbol, symbol)
        return self._symbols[symbol]

    def pool_usage(self) -> PoolUsage | None:
        """The store's connection pool now, if the backend reports one."""
        if isinstance(self.store, ReportsPoolUsage):
            return self.store.pool_usage()
        return None

    async def list_symbols(self) -> list[SymbolInfo]:
        return await self._call("list_symbols", self.store.list_symbols)

    async def read_bars(
        self, symbol: str, start: dt.datetime | None, end: dt.datetime | None
    ) -> pa.Table:
        return await self._call("read_bars", self.store.read_bars, [symbol], start, end)

    async def read_splits(
        self, symbol: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pa.Table:
        """The symbol's splits (none from a store that keeps no corporate actions)."""
        if not isinstance(self.store, ActionStore):
            return SPLITS_SCHEMA.empty_table()
        return await self._call("read_splits", self.store.read_splits, [symbol], start, end)

    async def read_dividends(
        self, symbol: str, start: dt.date | None = None, end: dt.date | None = None
    ) -> pa.Table:
        """The symbol's cash dividends (none from a store that keeps no corporate actions)."""
        if not isinstance(self.store, ActionStore):
            return DIVIDENDS_SCHEMA.empty_table()
        return await self._call("read_dividends", self.store.read_dividends, [symbol], start, end)

    async def actions_of(
        self, symbol: str, version: str | None = None
    ) -> tuple[pa.Table, pa.Table]:
        """Every split and dividend of ``symbol``, cached until the data version changes
        (as symbol metadata: what adjusting a series needs, whatever the result cache).
        ``version``: the one the request read its bars under, if it has one."""
        if version is None:
            version = await self.data_version()
        if version != self._actions_version:
            self._actions, self._actions_version = {}, version
        found = self._actions.get(symbol)
        if found is None:
            if len(self._actions) >= 10_000:
                self._actions.clear()
            found = (await self.read_splits(symbol), await self.read_dividends(symbol))
            self._actions[symbol] = found
        return found

    async def action_counts(self) -> dict[str, ActionCounts]:
        """Per symbol with corporate actions, how many of each kind."""
        if not isinstance(self.store, ActionStore):
            return {}
        return await self._call("action_counts", self.store.action_counts)

    async def _connect(self) -> None:
        async with self._connect_lock:
            if self._connected:
                return
            self._last_attempt = time.monotonic()
            await self._timed("connect", self.store.connect)
            self._connected = True
            _log.info("store connected (%s)", self.store.url_scheme)

    async def _call(
        self, operation: str, function: Callable[..., Awaitable[T]], *args: object
    ) -> T:
        if not self._connected:
            if time.monotonic() - self._last_attempt < self._settings.store_retry_after:
                raise StoreUnavailableError("the store is unavailable; retrying shortly")
            await self._connect()
        try:
            return await self._timed(operation, function, *args)
        except _OUTAGES:
            self._version = None
            raise

    async def _timed(
        self, operation: str, function: Callable[..., Awaitable[T]], *args: object
    ) -> T:
        started = time.perf_counter()
        outcome = "error"
        self._metrics.store_in_flight.inc()
        try:
            async with asyncio.timeout(self._settings.store_timeout):
                result = await function(*args)
            outcome = "ok"
            self._metrics.store_up.set(1)
            return result
        except _OUTAGES:
            self._metrics.store_up.set(0)
            raise
        finally:
            self._metrics.store_in_flight.dec()
            self._metrics.store_latency.labels(operation, outcome).observe(
                time.perf_counter() - started
            )


def _describe(exc: BaseException) -> str:
    # Driver messages can embed the connection URL; the type and message of our own
    # error are safe, anything else is reduced to its type.
    if isinstance(exc, StoreUnavailableError):
        return str(exc)
    return type(exc).__name__


def open_configured_store(settings: Settings) -> Store:
    """The store named by the settings (findata-db's default embedded file when unset)."""
    return open_store(settings.connection_url() or default_database_url())


def init_app(app: Quart, gateway: StoreGateway, settings: Settings) -> None:
    """Tie the store to the serving lifecycle and answer outages with 503 + Retry-After."""

    @app.before_serving
    async def _connect_store() -> None:
        await gateway.start()

    @app.after_serving
    async def _disconnect_store() -> None:
        await gateway.stop()

    async def _unavailable(error: Exception) -> Response:
        _log.warning("store unavailable: %s", _describe(error))
        return problem(
            503,
            "Store unavailable",
            "the data store is not answering; try again shortly",
            headers={"Retry-After": str(settings.store_retry_after)},
        )

    for outage in _OUTAGES:
        app.register_error_handler(outage, _unavailable)
