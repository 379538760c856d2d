"""``/stocks/bars`` and ``/stocks/indicators``: the series endpoints for many symbols at once.

``?symbols=A,B,...`` (or ``*``) with every parameter of the single-symbol endpoints: the
query is parsed by the same code (:func:`open_series_query`), each symbol's rows are the
series service's (so they are exactly the single-symbol endpoint's rows), and the rows
follow sorted by symbol, then time. ``limit`` counts rows across symbols and the cursor
(``KEY:SYMBOL``) resumes inside a symbol, so only the symbols a page touches are computed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final

import pyarrow as pa
from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from findata.api._adjustment import (
    ADJUSTMENT_HEADERS,
    ADJUSTMENT_PARAMETER,
    WARNING_HEADER,
    AdjustmentTransform,
    parse_adjustment,
)
from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER
from findata.api._indicators import (
    INDICATOR_PARAMETER,
    INDICATOR_ROW,
    indicator_values,
    parse_indicator_query,
)
from findata.api._paging import paginate
from findata.api._params import Parameter, accepts
from findata.api._problems import ProblemError
from findata.api._query import SERIES_PARAMETERS, SeriesQuery
from findata.api._ranges import time_keys
from findata.api._series import Series, conflict
from findata.api._series_request import SeriesQueryRequest, next_page_query, open_series_query
from findata.api._state import AppState
from findata.api._stocks import SERIES_ROW
from findata.api._streaming import streamed_rows_response
from findata.api._symbols import (
    MULTI_CURSOR_PARAMETER,
    SYMBOLS_PARAMETER,
    SymbolCursor,
    parse_symbol_cursor,
    parse_symbols,
)
from findata.core import Adjustment, Frequency
from findata.core.columns import PERIOD_START, SYMBOL
from findata.db import BarKind, SymbolInfo

blueprint = Blueprint("multi", __name__, url_prefix="/stocks")

RowsOf = Callable[[SymbolInfo], Awaitable[Series]]
"""One symbol's rows, exactly as its single-symbol endpoint selects them."""

MULTI_PARAMETERS: Final[tuple[Parameter, ...]] = (
    SYMBOLS_PARAMETER,
    *(
        MULTI_CURSOR_PARAMETER if parameter.name == "cursor" else parameter
        for parameter in SERIES_PARAMETERS
        if parameter.location == "query"
    ),
    ADJUSTMENT_PARAMETER,
)
"""Every query parameter of the single-symbol series endpoints, ``symbols`` for the path's
symbol and a cursor that names its symbol."""
MULTI_RESPONSES: Final = {
    404: "Unknown symbol(s); the body's `symbols` lists every unknown one.",
    409: "A symbol's bars cannot answer these parameters (intraday periods of daily bars, "
    "periods beginning outside the years 1-9999, or stored bars of daily and intraday "
    "symbols together); the body names the parameter.",
}


@blueprint.get("/bars")
@accepts(
    *MULTI_PARAMETERS,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=MULTI_RESPONSES,
    row_schema=SERIES_ROW,
    headers=ADJUSTMENT_HEADERS,
)
async def bars() -> ResponseReturnValue:
    """OHLCV bars of many symbols, stored or resampled into calendar periods.

    Each symbol's rows are exactly those of `/stocks/time-series/{symbol}` with the same
    parameters; they follow sorted by symbol, then by time (`sort` orders the time).
    `limit` counts rows across symbols. `symbols=*` is every symbol in the store (with an
    intraday `frequency`, every symbol with intraday bars). Timestamps of symbols in
    different time zones are given in UTC.
    """
    opened, cursor, names = await _open_multi_request()

    async def rows_of(info: SymbolInfo) -> Series:
        return await opened.service.rows([info], opened.query)

    return await _respond(opened, names, cursor, rows_of)


@blueprint.get("/indicators")
@accepts(
    INDICATOR_PARAMETER,
    *MULTI_PARAMETERS,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=MULTI_RESPONSES,
    row_schema=INDICATOR_ROW,
    headers=ADJUSTMENT_HEADERS,
)
async def indicators() -> ResponseReturnValue:
    """One indicator of many symbols, computed per symbol, per period.

    Each symbol's rows are exactly those of `/stocks/indicators/{symbol}` with the same
    parameters, sorted by symbol, then by time; `limit` counts rows across symbols.
    """
    spec, params = parse_indicator_query(request.args)
    opened, cursor, names = await _open_multi_request()
    service, query = opened.service, opened.query

    async def rows_of(info: SymbolInfo) -> Series:
        values = await indicator_values(service, info, query, spec, params)
        return service.select(values, PERIOD_START, info, query)

    return await _respond(opened, names, cursor, rows_of)


async def _open_multi_request() -> tuple[
    SeriesQueryRequest, SymbolCursor | None, tuple[str, ...] | None
]:
    """The shared parsing of every series endpoint, with ``symbols``, the multi cursor and
    ``adjustment`` (a bar transform of the series service, as for one symbol)."""
    args = {name: value for name, value in request.args.items() if name != "cursor"}
    parsed: dict[str, Any] = {}

    def check() -> None:
        parsed["adjustment"] = parse_adjustment()
        parsed["names"] = parse_symbols(request.args.get("symbols"))
        raw = request.args.get("cursor")
        parsed["cursor"] = parse_symbol_cursor(raw) if raw is not None else None

    opened = await open_series_query(args, check=check)
    adjustment: Adjustment = parsed["adjustment"]
    if adjustment is not Adjustment.RAW:
        transform = AdjustmentTransform(opened.state, opened.version, adjustment)
        service = opened.service.transformed_first_by(transform)
        opened = dataclasses.replace(opened, service=service, transform=transform)
    return opened, parsed["cursor"], parsed["names"]


async def _respond(
    opened: SeriesQueryRequest,
    names: tuple[str, ...] | None,
    cursor: SymbolCursor | None,
    rows_of: RowsOf,
) -> ResponseReturnValue:
    infos = await symbol_infos(opened.state, names, opened.query)

    async def produce() -> tuple[pa.Table, str | None]:
        rows, next_cursor = await page_symbols(infos, rows_of, opened.query, cursor)
        return rows, next_page_query(None if next_cursor is None else str(next_cursor))

    response = await streamed_rows_response(opened.state, opened.version, opened.output, produce)
    if isinstance(opened.transform, AdjustmentTransform) and response.status_code == 200:
        warnings = [
            f'299 findata "{warning}"'
            for info in infos
            for warning in await opened.transform.warnings(info)
        ]
        if warnings:
            response.headers[WARNING_HEADER] = ", ".join(warnings)
    return response


async def symbol_infos(
    state: AppState, names: tuple[str, ...] | None, query: SeriesQuery
) -> list[SymbolInfo]:
    """The symbols asked for, sorted; 404 naming every unknown one. ``None`` (``*``) is every
    symbol that can answer the query's frequency."""
    listed = {info.symbol: info for info in await state.store.list_symbols()}
    if names is None:
        infos = [listed[symbol] for symbol in sorted(listed)]
        if query.frequency is not None and query.frequency.is_intraday:
            infos = [info for info in infos if info.bar_kind is not BarKind.DAILY]
    else:
        unknown = [name for name in names if name not in listed]
        if unknown:
            shown = ", ".join(repr(name) for name in unknown[:20])
            more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
            raise ProblemError(
                404,
                f"no symbol {shown}{more} in the store",
                title="Unknown symbol",
                symbol=unknown[0],
                symbols=unknown,
            )
        infos = [listed[symbol] for symbol in sorted(names)]
    if query.frequency is None and len({info.bar_kind for info in infos}) > 1:
        raise conflict(
            "frequency",
            "stored bars of daily and intraday symbols have different time columns; "
            "ask for a frequency (e.g. frequency=Daily) or symbols of one kind",
            value=None,
            allowed=[member.value for member in Frequency],
        )
    return infos


async def page_symbols(
    infos: Sequence[SymbolInfo], rows_of: RowsOf, query: SeriesQuery, cursor: SymbolCursor | None
) -> tuple[pa.Table, SymbolCursor | None]:
    """Up to ``query.limit`` rows after ``cursor``, symbol by symbol, and the next cursor.

    Only the symbols the page reaches are computed, plus (when the page ends at the end
    of a symbol) those up to the next with a row, so a next link never leads to an empty
    page, plus at most :data:`SYMBOLS_AHEAD` computed ahead while one is paged.
    """
    remaining = query.limit
    tables: list[pa.Table] = []
    empty: pa.Table | None = None
    last: tuple[str, pa.Table, str] | None = None  # the last symbol's page, for its cursor
    reached = [info for info in infos if cursor is None or info.symbol >= cursor.symbol]
    ahead = _Ahead(reached, rows_of)
    try:
        for index, info in enumerate(reached):
            series = await ahead.rows(index)
            if empty is None:
                empty = series.rows.slice(0, 0)
            if remaining == 0:
                if series.rows.num_rows and last is not None:
                    symbol, rows, column = last
                    return _concat(tables, empty), SymbolCursor(symbol, _last_key(rows, column))
                continue
            after = cursor.key if cursor is not None and info.symbol == cursor.symbol else None
            page = paginate(
                series.rows, series.time_column, after=after, limit=remaining, sort=query.sort
            )
            if page.rows.num_rows:
                tables.append(page.rows)
                remaining -= page.rows.num_rows
                last = (info.symbol, page.rows, series.time_column)
            if page.next_cursor is not None:
                return _concat(tables, empty), SymbolCursor(info.symbol, int(page.next_cursor))
        return _concat(tables, empty), None
    finally:
        ahead.discard()


SYMBOLS_AHEAD: Final = max(os.cpu_count() or 1, 2)
"""Symbols whose rows are computed while an earlier one is paged, once a symbol took longer
than :data:`SLOW_SYMBOL`: each symbol's resampling runs in a thread, so a page of many
symbols keeps every core busy."""
SLOW_SYMBOL: Final = 0.002
"""Seconds of one symbol's rows above which computing ahead pays (a series read from the
file, an indicator, an adjustment: tens of ms). Below, they came from a cache (~0.05 ms) or
were resampled from the store's cached series (0.4-1.5 ms, where computing ahead measured
no gain), and a task per symbol would cost more than it saves (500 cached symbols: +15 ms)."""


class _Ahead:
    """Each symbol's rows; started up to :data:`SYMBOLS_AHEAD` symbols early as tasks once
    one symbol was slow to compute."""

    def __init__(self, infos: Sequence[SymbolInfo], rows_of: RowsOf) -> None:
        self._infos = infos
        self._rows_of = rows_of
        self._tasks: dict[int, asyncio.Future[Series]] = {}
        self._next = 0  # the first symbol not started yet
        self._eager = False

    async def rows(self, index: int) -> Series:
        task = self._tasks.pop(index, None)
        if task is not None:
            series = await task
        else:
            began = time.perf_counter()
            series = await self._rows_of(self._infos[index])
            self._eager = self._eager or time.perf_counter() - began > SLOW_SYMBOL
        self._next = max(self._next, index + 1)
        while self._eager and self._next < min(index + 1 + SYMBOLS_AHEAD, len(self._infos)):
            self._tasks[self._next] = asyncio.ensure_future(self._rows_of(self._infos[self._next]))
            self._next += 1
        return series

    def discard(self) -> None:
        """Cancel what the page did not need (its errors are not the request's)."""
        for task in self._tasks.values():
            if task.done() and not task.cancelled():
                task.exception()  # retrieved, so asyncio does not log it
            else:
                task.cancel()
        self._tasks.clear()


def _last_key(rows: pa.Table, column: str) -> int:
    """The time key of a page's last row, as ``paginate`` writes it when there are more."""
    return int(time_keys(rows[column].slice(rows.num_rows - 1))[0])


def _concat(tables: list[pa.Table], empty: pa.Table | None) -> pa.Table:
    """The pages of several symbols as one table; instants of different zones in UTC."""
    if not tables:
        return empty if empty is not None else _NO_ROWS
    if len(tables) == 1:
        return tables[0]
    first = tables[0].schema
    if any(not table.schema.equals(first) for table in tables[1:]):  # hashing 500 schemas: 6 ms
        tables = [_in_utc(table) for table in tables]
    return pa.concat_tables(tables)


def _in_utc(table: pa.Table) -> pa.Table:
    for index, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            utc = pa.timestamp(field.type.unit, tz="UTC")
            table = table.set_column(index, field.name, table[field.name].cast(utc))
    return table


_NO_ROWS: Final = pa.schema([(SYMBOL, pa.string()), (PERIOD_START, pa.date32())]).empty_table()
