"""The series service: loads (cached), ranges and pages the rows of any bar endpoint.

Endpoints describe what they want (symbols, a :class:`SeriesQuery`) and compute what is
theirs (an indicator over the periods); loading stored bars, resampling them over the
whole history, selecting whole periods and paging happen here, once. Two seams are
designed in for the features that build on it:

- **several symbols**: :meth:`SeriesService.rows` takes a list; each symbol is read,
  resampled and ranged in its own time zone, and the rows follow in the order given
  (a multi-symbol endpoint adds the symbol to its cursor; :meth:`SeriesService.page`
  pages one symbol's rows today);
- **bar transforms**: a :class:`BarTransform` (corporate-action adjustment, a trading
  session filter) rewrites a symbol's stored bars before anything is computed from
  them; its ``key`` joins every cache key, so transformed and plain results never mix.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Final, Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from findata.api._paging import Page, paginate
from findata.api._problems import ProblemError
from findata.api._query import SeriesQuery
from findata.api._ranges import Bounds, as_datetime, resolve, select, time_keys, whole_periods
from findata.api._state import AppState
from findata.core import Frequency, resample
from findata.core.columns import PERIOD_START, PRICE_COLUMNS, SYMBOL, TIMESTAMP, VOLUME
from findata.db import BarKind, SymbolInfo

ROW_COLUMNS: Final = (*PRICE_COLUMNS, VOLUME)
DATE: Final = "date"
"""Time column of stored daily bars (their local trading date)."""
_FIRST_DAY: Final = -719_162  # 0001-01-01, in days since 1970-01-01
_LAST_DAY: Final = 2_932_896  # 9999-12-31
_FIRST_MICROS: Final = (_FIRST_DAY + 1) * 86_400_000_000  # a day of margin for any zone
_LAST_MICROS: Final = _LAST_DAY * 86_400_000_000


class BarTransform(Protocol):
    """Rewrites a symbol's stored bars (UTC instants, ``BAR_SCHEMA``) before anything is
    computed from them; ``key`` identifies it and its settings in cache keys."""

    @property
    def key(self) -> Hashable: ...

    async def __call__(self, bars: pa.Table, info: SymbolInfo) -> pa.Table: ...


@runtime_checkable
class ResamplingTransform(BarTransform, Protocol):
    """A bar transform that can also resample stored bars as if transformed first, in
    fewer steps than transforming every bar (the adjustment: ADR 0081)."""

    async def resample(
        self, bars: pa.Table, info: SymbolInfo, interval: int, frequency: Frequency
    ) -> pa.Table: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Series:
    """Rows of one or more symbols, each symbol's in ascending ``time_column`` order."""

    rows: pa.Table
    time_column: str


class SeriesService:
    """Every read and computation of series rows for one request at one data version."""

    def __init__(
        self, state: AppState, version: str, transforms: Sequence[BarTransform] = ()
    ) -> None:
        self._state = state
        self._version = version
        self._transforms = tuple(transforms)
        self._key = (version, tuple(transform.key for transform in self._transforms))

    def transformed_first_by(self, transform: BarTransform) -> SeriesService:
        """This service with ``transform`` applied before its own transforms (adjustment
        needs every stored bar, so it goes before a session filter)."""
        return SeriesService(self._state, self._version, (transform, *self._transforms))

    async def rows(self, symbols: Sequence[SymbolInfo], query: SeriesQuery) -> Series:
        """The query's rows: stored bars, or periods of ``interval`` x ``frequency`` over the
        whole history; ``start``/``end`` select whole periods (ADR 0021)."""
        column = PERIOD_START if query.frequency is not None else _stored_time_column(symbols)
        tables = []
        for info in symbols:
            bounds = resolve(query.start, query.end, info.timezone)
            if query.frequency is None:
                tables.append(await self._stored_rows(info, bounds))
            else:
                interval = query.interval or 1
                periods = await self.periods(info, query.frequency, interval)
                widened = whole_periods(bounds, info.timezone, query.frequency, interval)
                tables.append(select(periods, column, widened))
        return Series(pa.concat_tables(tables) if len(tables) > 1 else tables[0], column)

    def select(self, rows: pa.Table, column: str, info: SymbolInfo, query: SeriesQuery) -> Series:
        """Of rows computed per period (an indicator's), those the query's range selects."""
        bounds = resolve(query.start, query.end, info.timezone)
        if query.frequency is not None:
            bounds = whole_periods(bounds, info.timezone, query.frequency, query.interval or 1)
        return Series(select(rows, column, bounds), column)

    def page(self, series: Series, query: SeriesQuery) -> Page:
        """One page of one symbol's rows in the requested order, after the cursor."""
        symbols = series.rows[SYMBOL]
        if len(symbols) and symbols[0] != symbols[-1]:  # rows are grouped by symbol
            raise ValueError("paging several symbols needs the symbol in the cursor")
        return paginate(
            series.rows, series.time_column, after=query.cursor, limit=query.limit, sort=query.sort
        )

    async def cached(self, key: Hashable, compute: Callable[[], Awaitable[pa.Table]]) -> pa.Table:
        """A table computed from this service's rows (an endpoint's own, such as an
        indicator's values), cached per data version and transforms."""
        return await self._state.caches.table_or_compute((key, self._key), compute)

    async def bars(self, info: SymbolInfo, bounds: Bounds | None = None) -> pa.Table:
        """The symbol's stored bars (UTC instants, whole history without ``bounds``),
        transformed. Plain bars are not cached here (the stores keep whole series in
        memory); a transformed whole history is, so every frequency of a transformed
        request starts from it at the cost of a plain one."""
        if bounds is None and self._transforms:
            return await self.cached(("transformed", info.symbol), lambda: self._bars(info, None))
        return await self._bars(info, bounds)

    async def _bars(self, info: SymbolInfo, bounds: Bounds | None) -> pa.Table:
        start, end = (None, None) if bounds is None else (bounds.start, bounds.end)
        bars = await self._state.store.read_bars(info.symbol, as_datetime(start), as_datetime(end))
        for transform in self._transforms:
            bars = await transform(bars, info)
        return bars

    async def periods(self, info: SymbolInfo, frequency: Frequency, interval: int) -> pa.Table:
        """Every period of the symbol's history, cached per data version.

        409 when the symbol's bars cannot answer: periods finer than its daily bars, or
        periods so long that one would begin before year 1 or after 9999.
        """
        if frequency.is_intraday and info.bar_kind is BarKind.DAILY:
            raise conflict(
                "frequency",
                f"{info.symbol} has daily bars; use Daily or a longer frequency",
                value=frequency.value,
                allowed=[member.value for member in Frequency if not member.is_intraday],
            )

        async def compute() -> pa.Table:
            if len(self._transforms) == 1 and isinstance(self._transforms[0], ResamplingTransform):
                stored = await self._state.store.read_bars(info.symbol, None, None)
                periods = await self._transforms[0].resample(stored, info, interval, frequency)
            else:
                bars = await self.bars(info)
                # CPU work on a whole history: off the event loop, which keeps serving.
                periods = await asyncio.to_thread(
                    resample, bars, interval, frequency, timezone=info.timezone
                )
            _check_calendar(periods, interval)
            return periods.select([SYMBOL, PERIOD_START, *ROW_COLUMNS])

        return await self.cached(("periods", info.symbol, frequency.value, interval), compute)

    async def _stored_rows(self, info: SymbolInfo, bounds: Bounds) -> pa.Table:
        """Stored bars in ``bounds`` with their time in the exchange's zone (cached)."""
        if bounds.empty:
            return _empty_stored(info)

        async def compute() -> pa.Table:
            bars = await self.bars(info, bounds)
            rows = pa.table(
                {
                    SYMBOL: bars[SYMBOL],
                    _time_column(info): local_time(bars[TIMESTAMP], info),
                    **{name: bars[name] for name in ROW_COLUMNS},
                }
            )
            # Exact where the store's datetime bounds were clamped to years 1-9999.
            return select(rows, _time_column(info), bounds)

        return await self.cached(("bars", info.symbol, bounds.start, bounds.end), compute)


def local_time(instants: pa.ChunkedArray, info: SymbolInfo) -> pa.ChunkedArray:
    """UTC bar starts as local dates (daily bars) or instants in the exchange's zone."""
    local = instants.cast(pa.timestamp("us", tz=info.timezone))
    if info.bar_kind is BarKind.DAILY:
        return pc.cast(pc.local_timestamp(local), pa.date32())
    return local


def conflict(
    parameter: str, detail: str, *, value: object, allowed: list[str] | str
) -> ProblemError:
    """409: a well-formed request that this symbol's stored bars cannot answer (ADR 0023)."""
    return ProblemError(
        409,
        detail,
        title="Not answerable from this symbol's bars",
        parameter=parameter,
        value=value,
        allowed=allowed,
    )


def not_found(symbol: str) -> ProblemError:
    return ProblemError(
        404, f"no symbol {symbol!r} in the store", title="Unknown symbol", symbol=symbol
    )


def _time_column(info: SymbolInfo) -> str:
    """Stored daily bars are keyed by their local ``date``, intraday bars by ``timestamp``."""
    return DATE if info.bar_kind is BarKind.DAILY else TIMESTAMP


def _stored_time_column(symbols: Sequence[SymbolInfo]) -> str:
    columns = {_time_column(info) for info in symbols}
    if len(columns) != 1:
        raise ValueError("stored bars of daily and intraday symbols have different time columns")
    return columns.pop()


def _empty_stored(info: SymbolInfo) -> pa.Table:
    time = pa.date32() if info.bar_kind is BarKind.DAILY else pa.timestamp("us", tz=info.timezone)
    fields = [(SYMBOL, pa.string()), (_time_column(info), time)]
    fields += [(name, pa.int64() if name == VOLUME else pa.float64()) for name in ROW_COLUMNS]
    return pa.schema(fields).empty_table()


def _check_calendar(periods: pa.Table, interval: int) -> None:
    """409 naming ``interval`` when a period begins outside the years 1-9999, which no
    response format can write as a date (the symbol's history reaches far from 1970, the
    epoch long periods count from)."""
    if periods.num_rows == 0:
        return
    keys = time_keys(periods[PERIOD_START])
    dates = pa.types.is_date32(periods.schema.field(PERIOD_START).type)
    low, high = (_FIRST_DAY, _LAST_DAY) if dates else (_FIRST_MICROS, _LAST_MICROS)
    if keys.min() < low or keys.max() > high:
        raise conflict(
            "interval",
            f"periods of {interval} would begin outside the years 1-9999 for this symbol's "
            "history; use a smaller interval",
            value=interval,
            allowed="a smaller interval",
        )
