"""The API's endpoints, one method each, written once for both clients.

``Endpoints[R]`` turns a method's arguments into ``Query`` objects and hands them to
``_fetch``, which each client implements: ``Client._fetch`` returns the result,
``AsyncClient._fetch`` a coroutine of it. Adding an endpoint (or a parameter such as
``adjustment``) is one method (or one argument) here.
"""

from __future__ import annotations

import abc
import datetime as dt
import os
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Final, Generic, Literal, TypeVar

from findata.client._frames import As, check_as
from findata.client._protocol import Query, RetryPolicy, request_headers

R = TypeVar("R")
D = TypeVar("D")
Moment = str | dt.date  # a dt.datetime is a dt.date too
Sort = Literal["asc", "desc"]
Adjustment = Literal["raw", "split", "dividend", "all"]
Session = Literal["all", "regular"]

DEFAULT_BASE_URL: Final = "http://127.0.0.1:5000"
BASE_URL_VARIABLE: Final = "FINDATA_URL"
API_KEY_VARIABLE: Final = "FINDATA_API_KEY"
ALL_SYMBOLS: Final = "*"
MAX_SYMBOLS_PER_REQUEST: Final = 1_000


class Endpoints(abc.ABC, Generic[R, D]):
    """Connection settings and the endpoint methods shared by ``Client`` and ``AsyncClient``:
    ``R`` is what a rows endpoint gives (a frame, or a coroutine of one), ``D`` what an
    endpoint answering with one JSON object gives (a dict, or a coroutine of one)."""

    def __init__(
        self,
        base_url: str | None,
        api_key: str | None,
        *,
        retries: int,
        max_retry_wait: float,
        page_size: int | None,
    ) -> None:
        if page_size is not None and page_size < 1:
            raise ValueError(f"page_size must be at least 1, not {page_size}")
        self.base_url: str = (
            base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
        ).rstrip("/")
        self.page_size = page_size
        self._policy = RetryPolicy(retries=retries, max_wait=max_retry_wait)
        self._headers = request_headers(api_key or os.environ.get(API_KEY_VARIABLE))

    def __repr__(self) -> str:  # never shows the key
        return f"{type(self).__name__}({self.base_url!r})"

    @abc.abstractmethod
    def _fetch(self, queries: Sequence[Query], as_: As) -> R:
        """Fetch every page of every query and return them as one result."""

    @abc.abstractmethod
    def _fetch_document(self, query: Query) -> D:
        """Fetch the JSON object ``query`` answers with."""

    # --- the endpoints --------------------------------------------------------------------

    def symbols(self, *, as_: As = "arrow") -> R:
        """The symbols in the store: first/last bar, bar count, time zone, source, bar kind
        (``GET /stocks/symbols``)."""
        check_as(as_)
        return self._fetch([Query("/stocks/symbols")], as_)

    def bars(
        self,
        symbol_or_symbols: str | Sequence[str],
        *,
        interval: int | None = None,
        frequency: str | None = None,
        start: Moment | None = None,
        end: Moment | None = None,
        sort: Sort | None = None,
        adjustment: Adjustment | None = None,
        session: Session | None = None,
        as_: As = "arrow",
    ) -> R:
        """OHLCV bars of one symbol (``GET /stocks/time-series/{symbol}``), or of several or
        ``"*"`` (every symbol in the store) at once (``GET /stocks/bars?symbols=...``).

        Without ``frequency`` the stored bars (``date`` or ``timestamp`` column); with it,
        periods of ``interval`` x ``frequency`` (``Minute`` ... ``Annual``) keyed by
        ``period_start``. ``start``/``end`` are inclusive dates or timestamps (naive ones
        are read in the symbol's exchange time zone). Several symbols (or ``"*"``) come
        sorted by symbol, then time, each once, following every page. ``adjustment`` (``raw``
        by default, ``split``, ``dividend`` or ``all``) adjusts past prices for corporate
        actions before any resampling. ``session="regular"`` keeps only intraday bars inside
        the regular sessions of each symbol's exchange, before any resampling (daily bars
        are unchanged).
        """
        check_as(as_)
        series = self._series_params(interval, frequency, start, end, sort, adjustment, session)
        queries = _series_queries("/stocks/time-series", "/stocks/bars", symbol_or_symbols, series)
        return self._fetch(queries, as_)

    def indicators(
        self,
        symbol_or_symbols: str | Sequence[str],
        name: str,
        *,
        interval: int | None = None,
        frequency: str | None = None,
        start: Moment | None = None,
        end: Moment | None = None,
        sort: Sort | None = None,
        adjustment: Adjustment | None = None,
        session: Session | None = None,
        as_: As = "arrow",
        **parameters: int | float | str,
    ) -> R:
        """One indicator per bar or period (``GET /stocks/indicators/{symbol}?name=...``; for
        several symbols or ``"*"``, ``GET /stocks/indicators?symbols=...&name=...``).

        ``name`` is sma, ema, wma, rsi, macd, bbands, atr, stoch, obv or vwap; its own
        parameters go as keywords (``window=20``, ``fast=12``, ``stddev=2.0``,
        ``series="close"``...). Values are computed over the whole history, so they do
        not depend on ``start``; periods where the indicator is undefined are left out.
        With ``adjustment``, they are computed on the adjusted bars (as ``bars``);
        ``session="regular"`` computes them over regular-hours bars only.
        """
        check_as(as_)
        own = tuple((key, _text(value)) for key, value in parameters.items())
        given = self._series_params(interval, frequency, start, end, sort, adjustment, session)
        series = (("name", name), *own, *given)
        queries = _series_queries(
            "/stocks/indicators", "/stocks/indicators", symbol_or_symbols, series
        )
        return self._fetch(queries, as_)

    def splits(
        self,
        symbol_or_symbols: str | Sequence[str],
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        sort: Sort | None = None,
        as_: As = "arrow",
    ) -> R:
        """Stock splits by ex-date (``GET /stocks/splits/{symbol}``): ``symbol, ex_date,
        split_from, split_to`` (a 4-for-1 split is 1, 4). ``start``/``end`` are inclusive
        ex-dates."""
        check_as(as_)
        params = self._action_params(start, end, sort)
        return self._fetch(_per_symbol("/stocks/splits", symbol_or_symbols, params), as_)

    def dividends(
        self,
        symbol_or_symbols: str | Sequence[str],
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        sort: Sort | None = None,
        as_: As = "arrow",
    ) -> R:
        """Cash dividends by ex-date (``GET /stocks/dividends/{symbol}``): ``symbol,
        ex_date, cash_amount, currency, pay_date, record_date``. ``start``/``end`` are
        inclusive ex-dates."""
        check_as(as_)
        params = self._action_params(start, end, sort)
        return self._fetch(_per_symbol("/stocks/dividends", symbol_or_symbols, params), as_)

    def calendar(
        self,
        exchange: str | None = None,
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
        as_: As = "arrow",
    ) -> R:
        """An exchange's trading sessions (``GET /stocks/calendar``): one row per session
        with ``date``, ``open``/``close`` (and ``break_start``/``break_end``) in the
        exchange's zone, ``early_close``. ``exchange`` is an ISO MIC (default XNYS); the
        range defaults to the current year."""
        check_as(as_)
        given = {"exchange": exchange, "start": start, "end": end}
        params = tuple((key, _text(value)) for key, value in given.items() if value is not None)
        return self._fetch([Query("/stocks/calendar", params)], as_)

    def clock(self, exchange: str | None = None) -> D:
        """Whether an exchange is open now (``GET /stocks/clock``): a dict with
        ``exchange``, ``timestamp``, ``is_open``, ``next_open``, ``next_close`` (ISO 8601
        strings in the exchange's zone)."""
        params = () if exchange is None else (("exchange", exchange),)
        return self._fetch_document(Query("/stocks/clock", params))

    def coverage(
        self,
        symbol: str,
        *,
        start: dt.date | str | None = None,
        end: dt.date | str | None = None,
    ) -> D:
        """How completely a symbol's bars cover its exchange's sessions
        (``GET /stocks/coverage/{symbol}``): a dict with ``expected_sessions``,
        ``sessions_with_bars``, ``missing_sessions`` (dates as ``YYYY-MM-DD``),
        ``bars_outside_sessions``, ``partial_sessions`` ({date, expected_bars, bars}) and
        the range; it defaults to the symbol's first to last bar."""
        given = {"start": start, "end": end, "format": "json"}
        params = tuple((key, _text(value)) for key, value in given.items() if value is not None)
        (query,) = _per_symbol("/stocks/coverage", symbol, params)
        return self._fetch_document(query)

    # --- parameters ---------------------------------------------------------------------

    def _series_params(
        self,
        interval: int | None,
        frequency: str | None,
        start: Moment | None,
        end: Moment | None,
        sort: Sort | None,
        adjustment: Adjustment | None = None,
        session: Session | None = None,
    ) -> tuple[tuple[str, str], ...]:
        given: Mapping[str, int | str | dt.date | None] = {
            "interval": interval,
            "frequency": frequency,
            "start": start,
            "end": end,
            "sort": sort,
            "adjustment": adjustment,
            "session": session,
            "limit": self.page_size,
        }
        return tuple((key, _text(value)) for key, value in given.items() if value is not None)

    def _action_params(
        self, start: dt.date | str | None, end: dt.date | str | None, sort: Sort | None
    ) -> tuple[tuple[str, str], ...]:
        given: Mapping[str, int | str | dt.date | None] = {
            "start": _day(start),
            "end": _day(end),
            "sort": sort,
            "limit": self.page_size,
        }
        return tuple((key, _text(value)) for key, value in given.items() if value is not None)


def _day(value: dt.date | str | None) -> dt.date | str | None:
    """An ex-date bound: a ``datetime`` counts as its date (the server takes dates only)."""
    return value.date() if isinstance(value, dt.datetime) else value


def _series_queries(
    single: str,
    multi: str,
    symbol_or_symbols: str | Sequence[str],
    params: tuple[tuple[str, str], ...],
) -> list[Query]:
    """One symbol: ``single``/{symbol} (quoted as one path segment). Several, or ``"*"``:
    ``multi?symbols=...``, in sorted groups of at most ``MAX_SYMBOLS_PER_REQUEST``, so
    the joined pages stay sorted by symbol."""
    if isinstance(symbol_or_symbols, str) and symbol_or_symbols != ALL_SYMBOLS:
        return [Query(f"{single}/{urllib.parse.quote(symbol_or_symbols, safe='')}", params)]
    if symbol_or_symbols == ALL_SYMBOLS:
        return [Query(multi, (("symbols", ALL_SYMBOLS), *params))]
    symbols = sorted(set(symbol_or_symbols))
    if not symbols:
        raise ValueError("give at least one symbol")
    return [
        Query(multi, (("symbols", ",".join(symbols[at : at + MAX_SYMBOLS_PER_REQUEST])), *params))
        for at in range(0, len(symbols), MAX_SYMBOLS_PER_REQUEST)
    ]


def _per_symbol(
    endpoint: str, symbol_or_symbols: str | Sequence[str], params: tuple[tuple[str, str], ...]
) -> list[Query]:
    """One query of ``endpoint``/{symbol} per symbol (the symbol quoted as one path segment)."""
    symbols = [symbol_or_symbols] if isinstance(symbol_or_symbols, str) else list(symbol_or_symbols)
    if not symbols:
        raise ValueError("give at least one symbol")
    paths = (f"{endpoint}/{urllib.parse.quote(symbol, safe='')}" for symbol in symbols)
    return [Query(path, params) for path in paths]


def _text(value: int | float | str | dt.date) -> str:
    """A query value as the server reads it: ISO 8601 for dates and timestamps."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
