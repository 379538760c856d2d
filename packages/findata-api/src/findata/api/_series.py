"""Time-series queries: parse and check the parameters, load (cached) rows, page through them.

Shared by the time-series and indicator endpoints so both read ``interval``,
``frequency``, ``start``, ``end``, ``limit``, ``cursor`` and ``sort`` the same way.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from findata.api._params import Parameter
from findata.api._problems import ProblemError, invalid_parameter
from findata.api._state import AppState
from findata.core import Frequency, resample
from findata.db import BarKind, SymbolInfo

MAX_INTERVAL: Final = 100_000
_INTEGER: Final = re.compile(r"\s*\+?[0-9]{1,12}\s*")
_SYMBOL: Final = re.compile(r"[^\x00-\x1f\x7f]{1,64}")
ROW_COLUMNS: Final = ("open", "high", "low", "close", "volume")

Sort = Literal["asc", "desc"]


def series_parameters(default_limit: int, max_limit: int) -> tuple[Parameter, ...]:
    """The parameters shared by time-series and indicator endpoints, for ``accepts``."""
    frequencies = [member.value for member in Frequency]
    return (
        Parameter(
            "interval",
            "Number of `frequency` units per period (needs `frequency`; default 1).",
            {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL},
        ),
        Parameter(
            "frequency",
            "Calendar unit of a period, case-insensitive. Without it the stored bars are "
            "returned as they are.",
            {"type": "string", "enum": frequencies},
        ),
        Parameter(
            "start",
            "First period (or bar) to return: a date `YYYY-MM-DD` or an ISO 8601 timestamp; "
            "without an offset it is read in the symbol's exchange time zone. Inclusive.",
            {"type": "string", "examples": ["2021-01-01", "2021-01-04T09:30:00-05:00"]},
        ),
        Parameter(
            "end",
            "Last period (or bar) to return, inclusive; same forms as `start`.",
            {"type": "string", "examples": ["2021-12-31"]},
        ),
        Parameter(
            "limit",
            f"Rows per page (default {default_limit}). When more rows exist the response "
            'carries a `Link: <...>; rel="next"` header.',
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
        ),
        Parameter(
            "cursor",
            "Opaque position from a previous page's `next` link.",
            {"type": "string"},
        ),
        Parameter(
            "sort",
            "Time order of the rows.",
            {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
        ),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A checked time-series request; ``start``/``end`` still raw until the symbol is known."""

    interval: int | None
    frequency: Frequency | None
    start: str | None
    end: str | None
    limit: int
    cursor: int | None
    sort: Sort


def parse_symbol(symbol: str) -> str:
    if not _SYMBOL.fullmatch(symbol):
        raise invalid_parameter(
            "symbol",
            "a symbol is 1 to 64 printable characters",
            value=symbol,
        )
    return symbol


def parse_series_query(
    args: Mapping[str, str], *, default_limit: int, max_limit: int
) -> SeriesQuery:
    """Check every shared parameter that does not need the symbol's metadata."""
    frequency = Frequency.parse(args["frequency"]) if "frequency" in args else None
    interval: int | None = None
    if "interval" in args:
        interval = _integer(args, "interval", 1, MAX_INTERVAL)
        if frequency is None:
            raise invalid_parameter(
                "interval",
                "interval needs a frequency (e.g. interval=1&frequency=Monthly)",
                value=args["interval"],
                allowed=[member.value for member in Frequency],
            )
    elif frequency is not None:
        interval = 1
    limit = _integer(args, "limit", 1, max_limit) if "limit" in args else default_limit
    sort = args.get("sort", "asc").strip().lower()
    if sort not in ("asc", "desc"):
        raise invalid_parameter(
            "sort", "sort must be asc or desc", value=sort, allowed=["asc", "desc"]
        )
    cursor = _decode_cursor(args["cursor"], sort) if "cursor" in args else None
    return SeriesQuery(
        interval=interval,
        frequency=frequency,
        start=args.get("start"),
        end=args.get("end"),
        limit=limit,
        cursor=cursor,
        sort="desc" if sort == "desc" else "asc",
    )


def _integer(args: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = args[name]
    if not _INTEGER.fullmatch(raw):
        raise invalid_parameter(
            name, f"{name} must be an integer", value=raw, allowed=f"{low}..{high}"
        )
    value = int(raw)
    if not low <= value <= high:
        raise invalid_parameter(
            name, f"{name} must be between {low} and {high}", value=value, allowed=f"{low}..{high}"
        )
    return value


# --- cursors -------------------------------------------------------------------------------


def encode_cursor(key: int, sort: Sort) -> str:
    """An opaque cursor: the last row's time key and the order it was read in."""
    return base64.urlsafe_b64encode(orjson.dumps({"k": key, "s": sort})).decode().rstrip("=")


def _decode_cursor(raw: str, sort: str) -> int:
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        key, cursor_sort = decoded["k"], decoded["s"]
        if not isinstance(key, int) or isinstance(key, bool) or abs(key) > 2**62:
            raise TypeError
    except (binascii.Error, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        raise invalid_parameter(
            "cursor", "invalid cursor; use the next link of a previous page", value=raw
        ) from None
    if cursor_sort != sort:
        raise invalid_parameter(
            "cursor", "this cursor belongs to a listing in the other sort order", value=raw
        )
    return key


# --- time ranges -------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class TimeRange:
    """Inclusive bounds as UTC instants (for bars and intraday periods) and local dates."""

    start: dt.datetime | None
    end: dt.datetime | None
    start_date: dt.date | None
    end_date: dt.date | None


def resolve_range(query: SeriesQuery, timezone: str) -> TimeRange:
    """Read ``start``/``end`` in the symbol's time zone; a date ``end`` covers its whole day."""
    zone = zoneinfo.ZoneInfo(timezone)
    start = _instant(query.start, "start", zone, end_of_day=False) if query.start else None
    end = _instant(query.end, "end", zone, end_of_day=True) if query.end else None
    if start is not None and end is not None and start > end:
        raise invalid_parameter(
            "start", "start is after end", value=query.start, allowed=f"<= {query.end}"
        )
    return TimeRange(
        start=start,
        end=end,
        start_date=start.astimezone(zone).date() if start else None,
        end_date=end.astimezone(zone).date() if end else None,
    )


def _instant(raw: str, name: str, zone: zoneinfo.ZoneInfo, *, end_of_day: bool) -> dt.datetime:
    text = raw.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            if end_of_day:
                return (
                    dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), zone)
                    - dt.timedelta(microseconds=1)
                ).astimezone(dt.UTC)
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
        moment = dt.datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise invalid_parameter(
            name,
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 timestamp",
            value=raw,
            allowed=["YYYY-MM-DD", "YYYY-MM-DDTHH:MM:SS[+HH:MM]"],
        ) from None


# --- loading rows ------------------------------------------------------------------------


async def load_rows(
    state: AppState, info: SymbolInfo, query: SeriesQuery, version: str
) -> tuple[pa.Table, str]:
    """All rows of the query in ascending time order, and the name of their time column.

    Resampled periods are computed over the whole stored history (cached per data
    version); ``start``/``end`` select the whole periods that overlap them, so the range
    never changes a period's values.
    """
    if query.frequency is None:
        return await _stored_bars(state, info, query, version)
    interval = query.interval or 1
    periods = await resample_for(state, info, query.frequency, interval, version)
    bounds = period_range(query, info.timezone, query.frequency, interval)
    return select_range(periods, "period_start", bounds), "period_start"


def period_range(
    query: SeriesQuery, timezone: str, frequency: Frequency, interval: int
) -> TimeRange:
    """The range of whole periods overlapping ``start``..``end``.

    ``start`` moves back to the start of its period, found by resampling a single bar at
    ``start`` with the same rules, so periods are selected exactly as they are built.
    """
    bounds = resolve_range(query, timezone)
    if bounds.start is None:
        return bounds
    probe = pa.table(
        {
            "symbol": ["-"],
            "timestamp": pa.array([bounds.start], pa.timestamp("us", tz="UTC")),
            "open": [0.0],
            "high": [0.0],
            "low": [0.0],
            "close": [0.0],
            "volume": pa.array([0], pa.int64()),
        }
    )
    first = resample(probe, interval, frequency, timezone=timezone)["period_start"][0].as_py()
    if isinstance(first, dt.datetime):
        return dataclasses.replace(bounds, start=first, start_date=first.date())
    moment = dt.datetime.combine(first, dt.time(), zoneinfo.ZoneInfo(timezone))
    return dataclasses.replace(bounds, start=moment.astimezone(dt.UTC), start_date=first)


async def resample_for(
    state: AppState, info: SymbolInfo, frequency: Frequency, interval: int, version: str
) -> pa.Table:
    """Every period of the symbol's history, from the cache when this version was seen."""
    if frequency.is_intraday and info.bar_kind is BarKind.DAILY:
        raise invalid_parameter(
            "frequency",
            f"{info.symbol} has daily bars; use Daily or a longer frequency",
            value=frequency.value,
            allowed=[member.value for member in Frequency if not member.is_intraday],
        )

    async def compute() -> pa.Table:
        bars = await state.store.read_bars(info.symbol, None, None)
        periods = resample(bars, interval, frequency, timezone=info.timezone)
        return periods.select(["symbol", "period_start", *ROW_COLUMNS])

    key = ("periods", info.symbol, frequency.value, interval, version)
    return await state.caches.table_or_compute(key, compute)


async def _stored_bars(
    state: AppState, info: SymbolInfo, query: SeriesQuery, version: str
) -> tuple[pa.Table, str]:
    bounds = resolve_range(query, info.timezone)
    rows = await stored_rows(state, info, version, bounds.start, bounds.end)
    return rows, stored_time_column(info)


def stored_time_column(info: SymbolInfo) -> str:
    """Stored daily bars are keyed by ``date``, intraday bars by ``timestamp``."""
    return "date" if info.bar_kind is BarKind.DAILY else "timestamp"


async def stored_rows(
    state: AppState,
    info: SymbolInfo,
    version: str,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
) -> pa.Table:
    """Stored bars between two instants with their time in the exchange's zone (cached)."""

    async def compute() -> pa.Table:
        bars = await state.store.read_bars(info.symbol, start, end)
        return pa.table(
            {
                "symbol": bars["symbol"],
                stored_time_column(info): local_time(bars["timestamp"], info),
                **{name: bars[name] for name in ROW_COLUMNS},
            }
        )

    return await state.caches.table_or_compute(("bars", info.symbol, start, end, version), compute)


def local_time(instants: pa.ChunkedArray, info: SymbolInfo) -> pa.ChunkedArray:
    """UTC bar starts as local dates (daily bars) or instants in the exchange's zone."""
    local = instants.cast(pa.timestamp("us", tz=info.timezone))
    if info.bar_kind is BarKind.DAILY:
        return pc.cast(pc.local_timestamp(local), pa.date32())
    return local


def time_keys(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """A sortable integer per row: days for dates, microseconds for instants."""
    if pa.types.is_date32(column.type):
        integers = column.cast(pa.int32()).cast(pa.int64())
    else:
        integers = column.cast(pa.timestamp("us")).cast(pa.int64())
    keys: npt.NDArray[np.int64] = integers.to_numpy()
    return keys


def select_range(rows: pa.Table, column: str, bounds: TimeRange) -> pa.Table:
    """The rows whose time lies within ``bounds`` (rows are in ascending time order)."""
    if bounds.start is None and bounds.end is None:
        return rows
    keys = time_keys(rows[column])
    low, high = (
        _key(rows[column].type, bounds.start, bounds.start_date),
        _key(rows[column].type, bounds.end, bounds.end_date),
    )
    first = int(np.searchsorted(keys, low, "left")) if low is not None else 0
    last = int(np.searchsorted(keys, high, "right")) if high is not None else len(keys)
    return rows.slice(first, max(last - first, 0))


def _key(kind: pa.DataType, moment: dt.datetime | None, day: dt.date | None) -> int | None:
    if moment is None or day is None:
        return None
    if pa.types.is_date32(kind):
        return (day - dt.date(1970, 1, 1)).days
    return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)


# --- paging ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    rows: pa.Table
    next_cursor: str | None


def paginate(rows: pa.Table, column: str, query: SeriesQuery) -> Page:
    """One page of ``rows`` (ascending) in the requested order, after the cursor if any."""
    keys = time_keys(rows[column])
    if query.sort == "asc":
        first = int(np.searchsorted(keys, query.cursor, "right")) if query.cursor is not None else 0
        page = rows.slice(first, query.limit)
        more = first + query.limit < len(keys)
    else:
        stop = (
            int(np.searchsorted(keys, query.cursor, "left"))
            if query.cursor is not None
            else len(keys)
        )
        first = max(stop - query.limit, 0)
        page = rows.slice(first, stop - first)
        page = page.take(pa.array(np.arange(page.num_rows - 1, -1, -1)))
        more = first > 0
    if not more or page.num_rows == 0:
        return Page(page, None)
    last_key = int(time_keys(page[column].slice(page.num_rows - 1))[0])
    return Page(page, encode_cursor(last_key, query.sort))


def not_found(symbol: str) -> ProblemError:
    return ProblemError(
        404, f"no symbol {symbol!r} in the store", title="Unknown symbol", symbol=symbol
    )
