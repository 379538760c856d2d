"""Exchange calendars: the days an exchange trades and its hours, from ``exchange_calendars``.

``exchange_calendars`` is imported when a calendar is first asked for, never by ``import
findata.core``; the API answers most requests without one
(docs/decisions/0075-exchange-calendars-a-lazy-dependency-of-core.md). Each calendar's
sessions are read once per process into NumPy arrays and an Arrow table covering 1970 to
the end of next year, so every later range is a binary search and a zero-copy slice. The
cache is keyed on the current year too: a server running into a new year reads the
calendar anew and its look-ahead keeps up.
"""

from __future__ import annotations

import dataclasses
import functools
import threading
from datetime import UTC, date, datetime
from types import ModuleType
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from findata.core._errors import FindataError, InvalidParameterError
from findata.core.columns import UTC_TIMESTAMP

I64 = npt.NDArray[np.int64]

DEFAULT_EXCHANGE: Final = "XNYS"
"""Exchange (ISO MIC) assumed for a symbol when none is recorded."""

EARLIEST_DATE: Final = date(1970, 1, 1)
"""First date findata reads any calendar from (later where the calendar itself starts later)."""

LOOKAHEAD_YEARS: Final = 1
"""Years past the current one that calendars cover (earlier where the calendar ends sooner):
sessions further ahead are projections of today's rules, without the holidays an exchange
announces later."""

_EPOCH: Final = date(1970, 1, 1)
_NANOS_PER_MICRO: Final = 1_000
_NANOS_PER_DAY: Final = 86_400 * 1_000_000_000
_NAT: Final = np.iinfo(np.int64).min
_LIST_HINT: Final = (
    "findata.core.calendars.exchange_names() (exchange_calendars.get_calendar_names())"
)

SESSIONS_SCHEMA: Final = pa.schema(
    [
        pa.field("date", pa.date32(), nullable=False),
        pa.field("open", UTC_TIMESTAMP, nullable=False),
        pa.field("close", UTC_TIMESTAMP, nullable=False),
        pa.field("break_start", UTC_TIMESTAMP),
        pa.field("break_end", UTC_TIMESTAMP),
        pa.field("early_close", pa.bool_(), nullable=False),
    ]
)
"""One row per session: its date, open and close instants, the lunch break where the
exchange has one (null otherwise) and whether it closes earlier than usual."""


class CalendarUnavailableError(FindataError):
    """``exchange_calendars`` knows the exchange but cannot build its calendar in this
    installation (a few calendars fail with some pandas releases); ``exchange`` names it."""

    def __init__(self, exchange: str, cause: BaseException) -> None:
        super().__init__(
            f"the {exchange} calendar cannot be read in this installation of "
            f"exchange_calendars ({type(cause).__name__}: {str(cause)[:200]})"
        )
        self.exchange = exchange


def _library() -> ModuleType:
    """``exchange_calendars``, imported on first use (it imports pandas)."""
    import exchange_calendars  # deliberately lazy: see the module docstring

    library: ModuleType = exchange_calendars
    return library


@functools.cache
def _names() -> dict[str, str]:
    """Every name ``exchange_calendars`` knows (MICs and aliases), by case-folded name."""
    return {name.casefold(): name for name in _library().get_calendar_names(include_aliases=True)}


def exchange_names() -> tuple[str, ...]:
    """Every exchange name accepted: ISO MICs (``XNYS``, ``XLON``...) and the aliases
    ``exchange_calendars`` resolves (``XNAS`` trades on ``XNYS``'s calendar)."""
    return tuple(sorted(_names().values()))


def validate_exchange(exchange: object) -> str:
    """``exchange`` as ``exchange_calendars`` spells it (``xnys`` -> ``XNYS``), or an
    :class:`InvalidParameterError` on ``exchange`` saying how to list the valid names.

    An alias stays itself (``XNAS`` is not turned into ``XNYS``), so a stored exchange
    keeps the venue the user named.
    """
    name = _names().get(exchange.strip().casefold()) if isinstance(exchange, str) else None
    if name is None:
        raise InvalidParameterError(
            "exchange",
            f"unknown exchange {exchange!r}: expected an ISO MIC such as 'XNYS' or 'XLON'; "
            f"{_LIST_HINT} lists the {len(_names())} known",
            value=exchange,
            allowed=exchange_names(),
        )
    return name


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Schedule:
    """An exchange's sessions as arrays (instants in UTC microseconds, dates in days since
    1970-01-01), ascending. A session without a break has ``break_starts`` and
    ``break_ends`` equal to its close, so every session is two trading segments
    ``[open, break_start)`` and ``[break_end, close)``, the second possibly empty."""

    calendar: str
    """The calendar's own name (``XNYS`` for the alias ``XNAS``)."""
    timezone: str
    first_date: date
    """First date the calendar was read for (ranges may start on it, session or not)."""
    last_date: date
    """Last date the calendar was read for."""
    days: I64
    opens: I64
    closes: I64
    break_starts: I64
    break_ends: I64
    table: pa.Table
    open_edges: I64 = dataclasses.field(init=False)
    """Every instant the market opens: session opens and break ends, ascending."""
    close_edges: I64 = dataclasses.field(init=False)
    """Every instant the market closes: break starts and session closes, ascending."""

    def __post_init__(self) -> None:
        has_break = self.break_starts < self.closes
        edges = (
            np.sort(np.concatenate((self.opens, self.break_ends[has_break]))),
            np.sort(np.concatenate((self.break_starts[has_break], self.closes))),
        )
        object.__setattr__(self, "open_edges", edges[0])
        object.__setattr__(self, "close_edges", edges[1])

    def rows(self, start: date, end: date) -> slice:
        """The sessions dated ``start`` to ``end`` (inclusive), as a slice of the arrays."""
        low = int(np.searchsorted(self.days, day_number(start), side="left"))
        high = int(np.searchsorted(self.days, day_number(end), side="right"))
        return slice(low, high)

    def segments(self, rows: slice) -> tuple[I64, I64]:
        """Starts and ends of the trading segments of ``rows``, interleaved and ascending."""
        return (
            np.column_stack((self.opens[rows], self.break_ends[rows])).ravel(),
            np.column_stack((self.break_starts[rows], self.closes[rows])).ravel(),
        )


def day_number(day: date) -> int:
    """Days since 1970-01-01."""
    return (day - _EPOCH).days


def day_dates(days: I64) -> list[date]:
    """Days since 1970-01-01 as :class:`datetime.date` objects."""
    dates: list[date] = days.astype("datetime64[D]").tolist()
    return dates


_load_lock = threading.Lock()
_failed: dict[str, CalendarUnavailableError] = {}
"""Calendars the library failed to build, so a request for one fails fast next time."""


def schedule(exchange: str) -> Schedule:
    """The sessions of ``exchange`` (validated; an alias gives its calendar's), read once
    per process and year."""
    calendar = _library().resolve_alias(validate_exchange(exchange))
    with _load_lock:  # one reader per calendar, however many threads ask at once
        failed = _failed.get(calendar)
        if failed is not None:
            raise failed
        try:
            return _load(calendar, datetime.now(UTC).year)
        except Exception as error:  # the library's own failure, whatever its type
            _failed[calendar] = CalendarUnavailableError(calendar, error)
            raise _failed[calendar] from error


@functools.lru_cache(maxsize=64)
def _load(calendar: str, this_year: int) -> Schedule:
    library = _library()
    first, last = EARLIEST_DATE, date(this_year + LOOKAHEAD_YEARS, 12, 31)
    try:
        source = library.get_calendar(calendar, start=first, end=last)
    except ValueError:  # the calendar starts later or ends sooner than that
        bounded = type(library.get_calendar(calendar))
        low, high = bounded.bound_min(), bounded.bound_max()
        first = first if low is None else max(first, low.date())
        last = last if high is None else min(last, high.date())
        source = library.get_calendar(calendar, start=first, end=last)
    return _from_calendar(source, first, last)


def _from_calendar(source: Any, first: date, last: date) -> Schedule:
    """The arrays and table of an ``exchange_calendars.ExchangeCalendar`` read for the
    dates ``first`` to ``last``."""
    sessions = np.asarray(source.sessions.asi8, dtype=np.int64)
    days = sessions // _NANOS_PER_DAY
    opens = np.asarray(source.opens_nanos, dtype=np.int64) // _NANOS_PER_MICRO
    closes = np.asarray(source.closes_nanos, dtype=np.int64) // _NANOS_PER_MICRO
    raw_starts = np.asarray(source.break_starts_nanos, dtype=np.int64)
    raw_ends = np.asarray(source.break_ends_nanos, dtype=np.int64)
    has_break = (raw_starts != _NAT) & (raw_ends != _NAT)
    break_starts = np.where(has_break, raw_starts // _NANOS_PER_MICRO, closes)
    break_ends = np.where(has_break, raw_ends // _NANOS_PER_MICRO, closes)
    early = np.isin(sessions, np.asarray(source.early_closes.asi8, dtype=np.int64))
    no_break = ~has_break
    table = pa.Table.from_arrays(
        [
            pa.array(days.astype(np.int32), type=pa.date32()),
            pa.array(opens, type=UTC_TIMESTAMP),
            pa.array(closes, type=UTC_TIMESTAMP),
            pa.array(break_starts, type=UTC_TIMESTAMP, mask=no_break),
            pa.array(break_ends, type=UTC_TIMESTAMP, mask=no_break),
            pa.array(early, type=pa.bool_()),
        ],
        schema=SESSIONS_SCHEMA,
    )
    return Schedule(
        calendar=str(source.name),
        timezone=str(source.tz),
        first_date=first,
        last_date=last,
        days=days,
        opens=opens,
        closes=closes,
        break_starts=break_starts,
        break_ends=break_ends,
        table=table,
    )


def parse_date(value: object, parameter: str) -> date:
    """A :class:`datetime.date` or an ISO 8601 date string, else an error naming ``parameter``."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InvalidParameterError(
        parameter,
        f"{parameter} must be a date (YYYY-MM-DD), not {value!r}",
        value=value,
        allowed="YYYY-MM-DD",
    )


def check_range(found: Schedule, start: date, end: date) -> None:
    """``start`` <= ``end``, both within the dates ``found``'s calendar was read for."""
    covered = f"{found.first_date.isoformat()} to {found.last_date.isoformat()}"
    if start > end:
        raise InvalidParameterError(
            "start", f"start {start} is after end {end}", value=start.isoformat()
        )
    if start < found.first_date:
        raise InvalidParameterError(
            "start",
            f"start {start} is before the {found.calendar} calendar's first date "
            f"({found.first_date}); it covers {covered}",
            value=start.isoformat(),
            allowed=covered,
        )
    if end > found.last_date:
        raise InvalidParameterError(
            "end",
            f"end {end} is after the {found.calendar} calendar's last date "
            f"({found.last_date}): sessions further ahead are not known yet; it covers {covered}",
            value=end.isoformat(),
            allowed=covered,
        )


def default_range(start: object, end: object) -> tuple[date, date]:
    """``start`` and ``end`` parsed; a missing one is the first or last day of the other's
    year, of the current year when neither is given."""
    first = None if start is None else parse_date(start, "start")
    last = None if end is None else parse_date(end, "end")
    this_year = datetime.now(UTC).year
    if first is None:
        first = date(this_year if last is None else last.year, 1, 1)
    if last is None:
        last = date(first.year, 12, 31)
    return first, last


def sessions(
    exchange: str = DEFAULT_EXCHANGE, start: date | str | None = None, end: date | str | None = None
) -> pa.Table:
    """The sessions of ``exchange`` dated ``start`` to ``end`` (inclusive), as a table of
    :data:`SESSIONS_SCHEMA`; a missing bound is the first or last day of the other's year
    (of the current year when neither is given).

    Raises :class:`InvalidParameterError` on ``exchange`` (unknown), ``start`` (not a date,
    after ``end``, before :func:`calendar_dates`) or ``end`` (not a date, after them).
    The first call for an exchange reads its calendar (~0.5-1 s, plus ~2.5 s to import
    ``exchange_calendars`` once); later calls slice it.
    """
    found = schedule(exchange)
    first, last = default_range(start, end)
    check_range(found, first, last)
    rows = found.rows(first, last)
    return found.table.slice(rows.start, rows.stop - rows.start)


def exchange_timezone(exchange: str) -> str:
    """The IANA time zone of ``exchange``'s calendar (``XLON`` -> ``Europe/London``)."""
    return schedule(exchange).timezone


def calendar_dates(exchange: str) -> tuple[date, date]:
    """The first and last dates findata knows the sessions of ``exchange`` for: from
    1970-01-01 (or the calendar's own first date) to the end of next year (or the
    calendar's own last date)."""
    found = schedule(exchange)
    return found.first_date, found.last_date
