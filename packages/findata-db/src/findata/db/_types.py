"""The store contract the API depends on, and the records it returns."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import pyarrow as pa

from findata.core.calendars import DEFAULT_EXCHANGE


class BarKind(enum.StrEnum):
    """Resolution of a symbol's stored bars; fixed when the symbol is first ingested."""

    DAILY = "daily"
    INTRADAY = "intraday"


@dataclasses.dataclass(frozen=True, slots=True)
class SymbolInfo:
    """What the store knows about one symbol."""

    symbol: str
    first_bar: dt.datetime
    last_bar: dt.datetime
    bar_count: int
    timezone: str
    source: str
    bar_kind: BarKind
    exchange: str = DEFAULT_EXCHANGE
    """ISO MIC of the exchange whose calendar the symbol's sessions follow (ADR 0076)."""


@dataclasses.dataclass(frozen=True, slots=True)
class PoolUsage:
    """Connections a store holds right now: what an operator sizes the pool by."""

    open: int
    idle: int
    max_size: int

    @property
    def in_use(self) -> int:
        return self.open - self.idle


@runtime_checkable
class ReportsPoolUsage(Protocol):
    """A store that can tell how many of its connections are open and busy."""

    def pool_usage(self) -> PoolUsage | None:
        """``None`` while the store is not connected."""
        ...


@runtime_checkable
class Store(Protocol):
    """Async bar storage used by the API; backends are chosen by URL (see ``open_store``).

    ``read_bars`` returns a table of ``findata.core.BAR_SCHEMA`` (plus optional
    ``vwap``/``trade_count``) sorted by symbol, timestamp. ``start``/``end`` are
    inclusive UTC-aware instants; ``None`` means unbounded.
    """

    url_scheme: str

    async def connect(self) -> None: ...

    async def disconnect(self) -> None: ...

    async def health(self) -> None:
        """Return when the store answers; raise ``StoreUnavailableError`` otherwise."""
        ...

    async def list_symbols(self) -> list[SymbolInfo]: ...

    async def get_symbol(self, symbol: str) -> SymbolInfo | None: ...

    async def read_bars(
        self,
        symbols: Sequence[str],
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
    ) -> pa.Table: ...

    async def write_bars(
        self,
        bars: pa.Table,
        *,
        source: str,
        timezone: str | None = None,
        bar_kind: BarKind | None = None,
        exchanges: Mapping[str, str] | None = None,
    ) -> int:
        """Upsert bars atomically (all or nothing); return the number of rows written.

        ``exchanges`` names the exchange (a MIC the caller validated) of some or all of
        the batch's symbols; it is recorded, replacing a stored one. A symbol not named
        keeps its stored exchange, a new one gets ``DEFAULT_EXCHANGE``."""
        ...

    async def data_version(self) -> str:
        """An opaque token that changes whenever stored bars change (used for ETags)."""
        ...
