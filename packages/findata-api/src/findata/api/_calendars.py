"""``/stocks/calendar``, ``/stocks/clock``, ``/stocks/coverage``: exchange calendars and
how completely a symbol's bars cover them.

The calendars are ``exchange_calendars``'s, through ``findata.core.calendars``; reading
one takes seconds the first time, so every call into it runs in a thread, and the
default exchange's is read in a thread when the server starts (:func:`init_app`).

Ranges are dates (``YYYY-MM-DD``). A range reaching past the dates an exchange's
calendar is known for (from 1970, or its own first date, to the end of next year) is
answered for the part it knows, the answer saying which (coverage's ``start``/``end``);
``start`` after ``end`` is an empty answer, as on every bar endpoint (ADR 0077).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from importlib import metadata
from typing import Any, Final

import orjson
import pyarrow as pa
from quart import Blueprint, Quart, Response, request
from quart.typing import ResponseReturnValue

from findata.api._formats import (
    ALL_MEDIA_TYPES,
    FORMAT_PARAMETER,
    MEDIA_TYPE_NAMES,
    OutputFormat,
    format_parameter,
    negotiate,
)
from findata.api._http import cached_response, cached_rows_response
from findata.api._params import Parameter, accepts
from findata.api._problems import invalid_parameter, problem
from findata.api._query import SYMBOL_PARAMETER, parse_symbol
from findata.api._series import not_found
from findata.api._state import app_state
from findata.core.calendars import (
    DEFAULT_EXCHANGE,
    CalendarUnavailableError,
    Coverage,
    calendar_dates,
    clock,
    exchange_names,
    exchange_timezone,
    sessions,
    validate_exchange,
)
from findata.db import symbol_coverage

blueprint = Blueprint("calendars", __name__, url_prefix="/stocks")

DATE_PATTERN: Final = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DATE: Final = re.compile(DATE_PATTERN)
COVERAGE_FORMATS: Final = (OutputFormat.JSON, OutputFormat.CSV)
UNAVAILABLE: Final = (
    "The exchange's calendar cannot be built by this installation of exchange_calendars "
    "(a few fail with some pandas releases); the body names the exchange."
)


class LazySchema(Mapping[str, Any]):
    """A JSON Schema computed when first read: the exchange names come from
    ``exchange_calendars``, which the service imports only when it needs a calendar."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._schema: dict[str, Any] | None = None

    def _get(self) -> dict[str, Any]:
        if self._schema is None:
            self._schema = self._build()
        return self._schema

    def __getitem__(self, key: str) -> Any:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


EXCHANGE_PARAMETER: Final = Parameter(
    "exchange",
    f"ISO MIC of the exchange (case-insensitive; default {DEFAULT_EXCHANGE}), or an alias "
    "`exchange_calendars` knows (`XNAS`); `findata exchanges` lists them.",
    LazySchema(
        lambda: {"type": "string", "enum": list(exchange_names()), "default": DEFAULT_EXCHANGE}
    ),
)


def _date_parameter(name: str, description: str) -> Parameter:
    return Parameter(
        name,
        description,
        {"type": "string", "format": "date", "pattern": f"^{DATE_PATTERN}$"},
    )


CALENDAR_RANGE: Final = (
    _date_parameter(
        "start",
        "First date (`YYYY-MM-DD`), inclusive; default January 1 of `end`'s year, or of "
        "the current year. Dates before the calendar's first are left out.",
    ),
    _date_parameter(
        "end",
        "Last date, inclusive; default December 31 of `start`'s year. Dates after the "
        "calendar's last (the end of next year) are left out; before `start`, no rows.",
    ),
)
COVERAGE_RANGE: Final = (
    _date_parameter(
        "start",
        "First date (`YYYY-MM-DD`), inclusive; default the date of the symbol's first bar.",
    ),
    _date_parameter("end", "Last date, inclusive; default the date of the symbol's last bar."),
)
_INSTANT: Final = {"type": "string", "format": "date-time"}
CALENDAR_ROW: Final = {
    "type": "object",
    "required": ["exchange", "date", "open", "close", "early_close"],
    "properties": {
        "exchange": {"type": "string"},
        "date": {"type": "string", "format": "date"},
        "open": {**_INSTANT, "description": "In the exchange's time zone, with its offset."},
        "close": _INSTANT,
        "break_start": {
            "type": ["string", "null"],
            "format": "date-time",
            "description": "Start of the lunch break, where the exchange has one.",
        },
        "break_end": {"type": ["string", "null"], "format": "date-time"},
        "early_close": {"type": "boolean"},
    },
}
CLOCK_OBJECT: Final = {
    "type": "object",
    "required": ["exchange", "timestamp", "is_open", "next_open", "next_close"],
    "properties": {
        "exchange": {"type": "string"},
        "timestamp": _INSTANT,
        "is_open": {"type": "boolean"},
        "next_open": _INSTANT,
        "next_close": _INSTANT,
    },
}
COVERAGE_OBJECT: Final = {
    "type": "object",
    "required": [
        "symbol",
        "exchange",
        "bar_kind",
        "start",
        "end",
        "expected_sessions",
        "sessions_with_bars",
        "missing_sessions",
        "bars_outside_sessions",
        "partial_sessions",
    ],
    "properties": {
        "symbol": {"type": "string"},
        "exchange": {"type": "string"},
        "bar_kind": {"type": "string", "enum": ["daily", "intraday"]},
        "bar_interval_seconds": {"type": "integer"},
        "start": {"type": "string", "format": "date"},
        "end": {"type": "string", "format": "date"},
        "expected_sessions": {"type": "integer"},
        "sessions_with_bars": {"type": "integer"},
        "missing_sessions": {"type": "array", "items": {"type": "string", "format": "date"}},
        "bars_outside_sessions": {"type": "integer"},
        "partial_sessions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["date", "expected_bars", "bars"],
                "properties": {
                    "date": {"type": "string", "format": "date"},
                    "expected_bars": {"type": "integer"},
                    "bars": {"type": "integer"},
                },
            },
        },
    },
}


def init_app(app: Quart, *, after_warm_up: Callable[[], None] | None = None) -> None:
    """Read the default exchange's calendar in a thread when serving starts, so the first
    request that needs it does not wait for it (and the event loop never does), then call
    ``after_warm_up`` in that thread; answer 409 for an exchange whose calendar the
    library cannot build."""

    def load() -> None:
        _warm_up()
        if after_warm_up is not None:
            after_warm_up()

    async def warm_up() -> None:
        threading.Thread(target=load, name="findata-calendar-warm-up", daemon=True).start()

    async def unavailable(error: CalendarUnavailableError) -> Response:
        return problem(
            409,
            "Calendar unavailable",
            str(error),
            parameter="exchange",
            value=error.exchange,
        )

    app.before_serving(warm_up)
    app.register_error_handler(CalendarUnavailableError, unavailable)


def _warm_up() -> None:
    sessions(DEFAULT_EXCHANGE)


@blueprint.get("/calendar")
@accepts(
    EXCHANGE_PARAMETER,
    *CALENDAR_RANGE,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="calendars",
    row_schema=CALENDAR_ROW,
    responses={409: UNAVAILABLE},
)
async def calendar() -> ResponseReturnValue:
    """The trading sessions of an exchange, one row per session.

    Each session's date, its open and close as ISO 8601 timestamps with the exchange's
    offset, its lunch break where the exchange has one (null otherwise) and whether it
    closes early (the day after Thanksgiving in New York). Default range: the current year.
    """
    output = negotiate()
    exchange = await _exchange(request.args.get("exchange", DEFAULT_EXCHANGE))
    first, last = _calendar_range()
    state = app_state()

    async def produce() -> tuple[pa.Table, str | None]:
        return await asyncio.to_thread(_sessions_rows, exchange, first, last), None

    return await cached_rows_response(state, _calendar_version(), output, produce)


@blueprint.get("/clock")
@accepts(EXCHANGE_PARAMETER, tag="calendars", responses={409: UNAVAILABLE})
async def market_clock() -> ResponseReturnValue:
    """Whether an exchange is open now, and when it next opens and closes.

    Instants are ISO 8601 in the exchange's time zone. A lunch break counts as a close and
    its end as an open.
    """
    exchange = await _exchange(request.args.get("exchange", DEFAULT_EXCHANGE))
    now = await asyncio.to_thread(clock, exchange)
    body = {
        "exchange": now.exchange,
        "timestamp": now.timestamp,
        "is_open": now.is_open,
        "next_open": now.next_open,
        "next_close": now.next_close,
    }
    return Response(
        orjson.dumps(body),
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


@blueprint.get("/coverage/<symbol>")
@accepts(
    SYMBOL_PARAMETER,
    *COVERAGE_RANGE,
    format_parameter(COVERAGE_FORMATS),
    media_types=tuple(MEDIA_TYPE_NAMES[member] for member in COVERAGE_FORMATS),
    tag="calendars",
    responses={404: "Unknown symbol.", 409: UNAVAILABLE},
)
async def coverage_report(symbol: str) -> ResponseReturnValue:
    """How completely a symbol's bars cover its exchange's sessions.

    Against the calendar of the symbol's exchange: the sessions expected in the range, those
    with bars, the dates of those without (`missing_sessions`), the bars in no session
    (pre- and post-market, holidays), and the sessions with fewer bars than their hours
    hold (`partial_sessions`: intraday bars, expected bars from the symbol's bar interval).
    Default range: the symbol's first to last bar. CSV: one row per missing or partial
    session.
    """
    output = negotiate(COVERAGE_FORMATS)
    start = _date_argument("start")
    end = _date_argument("end")
    symbol = parse_symbol(symbol)
    state = app_state()
    version = await state.store.data_version()
    info = await state.store.get_symbol(symbol)
    if info is None:
        raise not_found(symbol)

    async def produce() -> tuple[bytes, str | None]:
        bars = await state.store.read_bars(info.symbol, None, None)
        report = await asyncio.to_thread(symbol_coverage, info, bars, start, end)
        return render_coverage(report, output), None

    return await cached_response(state, version, output, produce)


def coverage_document(report: Coverage) -> dict[str, Any]:
    """The report as the JSON body carries it."""
    return {
        "symbol": report.symbol,
        "exchange": report.exchange,
        "bar_kind": report.bar_kind,
        "bar_interval_seconds": int(report.bar_interval.total_seconds()),
        "start": report.start,
        "end": report.end,
        "expected_sessions": report.expected_sessions,
        "sessions_with_bars": report.sessions_with_bars,
        "missing_sessions": list(report.missing_sessions),
        "bars_outside_sessions": report.bars_outside_sessions,
        "partial_sessions": [
            {"date": partial.date, "expected_bars": partial.expected_bars, "bars": partial.bars}
            for partial in report.partial_sessions
        ],
    }


def render_coverage(report: Coverage, output: OutputFormat) -> bytes:
    """JSON: the whole report. CSV: one row per missing or partial session, by date."""
    if output is OutputFormat.JSON:
        return orjson.dumps(coverage_document(report))
    rows = [
        *((day, "missing", "", 0) for day in report.missing_sessions),
        *((p.date, "partial", p.expected_bars, p.bars) for p in report.partial_sessions),
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["symbol", "exchange", "date", "status", "expected_bars", "bars"])
    for day, status, expected, bars in sorted(rows, key=lambda row: row[0]):
        writer.writerow([report.symbol, report.exchange, day.isoformat(), status, expected, bars])
    return buffer.getvalue().encode("utf-8")


async def _exchange(raw: str) -> str:
    """The exchange as the calendar library spells it (400 naming ``exchange`` if unknown)."""
    return await asyncio.to_thread(validate_exchange, raw)


def _date_argument(name: str) -> date | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if _DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise invalid_parameter(
        name, f"{name} must be a date (YYYY-MM-DD), not {raw!r}", value=raw, allowed="YYYY-MM-DD"
    )


def _calendar_range() -> tuple[date, date]:
    """``start``/``end``; a missing one is the first or last day of the other's year (of
    the current year when neither is given)."""
    first, last = _date_argument("start"), _date_argument("end")
    this_year = datetime.now(UTC).year
    if first is None:
        first = date(this_year if last is None else last.year, 1, 1)
    if last is None:
        last = date(first.year, 12, 31)
    return first, last


def _sessions_rows(exchange: str, first: date, last: date) -> pa.Table:
    """The sessions of ``exchange`` from ``first`` to ``last`` (clamped to the calendar's
    dates), instants in its zone."""
    known_first, known_last = calendar_dates(exchange)
    first, last = max(first, known_first), min(last, known_last)
    zone = exchange_timezone(exchange)
    if first > last:
        found = sessions(exchange, known_first, known_first).slice(0, 0)
    else:
        found = sessions(exchange, first, last)
    local = pa.timestamp("us", tz=zone)
    return pa.table(
        {
            "exchange": pa.array([exchange] * found.num_rows, pa.string()),
            "date": found["date"],
            "open": found["open"].cast(local),
            "close": found["close"].cast(local),
            "break_start": found["break_start"].cast(local),
            "break_end": found["break_end"].cast(local),
            "early_close": found["early_close"],
        }
    )


def _calendar_version() -> str:
    """What calendar answers depend on: the year (calendars look one year ahead of it)
    and the library's release (a new one may know new holidays)."""
    return f"calendar:{datetime.now(UTC).year}:{metadata.version('exchange-calendars')}"
