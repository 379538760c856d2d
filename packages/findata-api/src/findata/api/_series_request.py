"""What every series endpoint resolves from its HTTP request before computing anything.

In a fixed order, so all of them fail alike: the response format (406), the query
parameters (400), the symbol's form (400), the data version, the symbol (404).
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Callable, Mapping

from quart import request

from findata.api._formats import OutputFormat, negotiate
from findata.api._query import SeriesQuery, parse_series_query, parse_symbol
from findata.api._series import BarTransform, SeriesService, not_found
from findata.api._sessions import session_transforms
from findata.api._state import AppState, app_state
from findata.db import SymbolInfo


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesRequest:
    """A resolved request: its format, query, symbol, data version and series service."""

    output: OutputFormat
    state: AppState
    query: SeriesQuery
    info: SymbolInfo
    version: str
    service: SeriesService


async def open_series_request(
    symbol: str, transforms: tuple[BarTransform, ...] = ()
) -> SeriesRequest:
    """Negotiate, parse, look the symbol up (404 if unknown) and open the series service."""
    opened = await open_series_query(request.args, transforms, check=lambda: parse_symbol(symbol))
    info = await opened.state.store.get_symbol(symbol)
    if info is None:
        raise not_found(symbol)
    return SeriesRequest(
        opened.output, opened.state, opened.query, info, opened.version, opened.service
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesQueryRequest:
    """A resolved request before its symbols are looked up (shared by every series endpoint)."""

    output: OutputFormat
    state: AppState
    query: SeriesQuery
    version: str
    service: SeriesService
    transform: object = None
    """The endpoint's own bar transform, when it needs to ask it something afterwards."""


async def open_series_query(
    args: Mapping[str, str],
    transforms: tuple[BarTransform, ...] = (),
    *,
    check: Callable[[], object] = lambda: None,
) -> SeriesQueryRequest:
    """Negotiate (406), parse the shared parameters (400), run ``check`` (the symbols'
    form, 400), read the data version and open the series service."""
    output = negotiate()
    state = app_state()
    settings = state.settings
    query = parse_series_query(
        args, default_limit=settings.default_limit, max_limit=settings.max_limit
    )
    transforms = (*transforms, *session_transforms(args))
    check()
    version = await state.store.data_version()
    return SeriesQueryRequest(
        output, state, query, version, SeriesService(state, version, transforms)
    )


def next_page_query(cursor: str | None) -> str | None:
    """This request's query string with ``cursor`` replaced, or None on the last page."""
    if cursor is None:
        return None
    args = {name: value for name, value in request.args.items() if name != "cursor"}
    args["cursor"] = cursor
    return urllib.parse.urlencode(args)
