"""``start``/``end``: their grammar, their instants in a symbol's time zone, whole periods.

Bounds are integers from the moment they are read (UTC microseconds for instants,
days since 1970-01-01 for local dates), never Python ``datetime`` objects: a date
at either end of the calendar, read in a zone with an offset, or widened to a
100,000-month period, lies outside the years 1-9999 that ``datetime`` can hold.
Periods are found with findata-core's ``period_starts``, so selection uses the very
rule that builds them (ADR 0021).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import zoneinfo
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from findata.api._problems import invalid_parameter
from findata.core import Frequency, period_starts

MICROS_PER_DAY: Final = 86_400_000_000
_EPOCH_ORDINAL: Final = dt.date(1970, 1, 1).toordinal()
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_FIRST_UTC: Final = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
_LAST_UTC: Final = (dt.datetime.max.replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)

# The accepted forms, as one regular expression that is both the parser and the OpenAPI
# `pattern` (ECMA 262 and Python agree on it): a date, optionally a time (seconds and up to
# six decimals optional), optionally an offset. Calendar-exact, leap years included, so
# every string it matches is a real date and time.
_YEAR: Final = r"(?:000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})"
_MONTH_DAY: Final = (
    r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])"
    r"|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8]))"
)
_LEAP_DAY: Final = (
    r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
)
_TIME: Final = r"(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\.[0-9]{1,6})?)?"
_OFFSET: Final = r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
DATE_PATTERN: Final = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})"
"""``YYYY-MM-DD``, calendar-exact (years 0001-9999)."""
TIME_PATTERN: Final = f"{DATE_PATTERN}(?:T{_TIME}{_OFFSET}?)?"
"""``YYYY-MM-DD``, or ``YYYY-MM-DDTHH:MM[:SS[.ffffff]]`` with an optional ``Z``/``±HH:MM``."""
_BOUND: Final = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<offset>Z|(?P<sign>[+-])(?P<offset_hours>[0-9]{2}):(?P<offset_minutes>[0-9]{2}))?)?"
)
_ALLOWED: Final = ["YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.ffffff]][Z|+HH:MM]"]


@dataclasses.dataclass(frozen=True, slots=True)
class TimeBound:
    """``start`` or ``end`` as written: a date, or a wall time with an optional offset."""

    day: dt.date
    time: dt.time | None
    offset: dt.timedelta | None


def parse_bound(raw: str, name: str) -> TimeBound:
    """``raw`` read by :data:`TIME_PATTERN`, or a 400 naming the parameter."""
    if not re.fullmatch(TIME_PATTERN, raw):
        raise invalid_parameter(
            name,
            f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 timestamp, years 0001-9999",
            value=raw,
            allowed=_ALLOWED,
        )
    parts = _BOUND.fullmatch(raw)
    assert parts is not None  # TIME_PATTERN's strings are a subset of _BOUND's
    day = dt.date(int(parts["year"]), int(parts["month"]), int(parts["day"]))
    if parts["hour"] is None:
        return TimeBound(day, None, None)
    wall = dt.time(
        int(parts["hour"]),
        int(parts["minute"]),
        int(parts["second"] or 0),
        int((parts["fraction"] or "").ljust(6, "0")),
    )
    if parts["offset"] is None:
        return TimeBound(day, wall, None)
    sign = -1 if parts["sign"] == "-" else 1
    offset = dt.timedelta(
        hours=int(parts["offset_hours"] or 0), minutes=int(parts["offset_minutes"] or 0)
    )
    return TimeBound(day, wall, sign * offset)


@dataclasses.dataclass(frozen=True, slots=True)
class Bounds:
    """Inclusive bounds of a request: UTC microseconds for instants (intraday rows) and
    local days since the epoch for dates (daily rows); ``None`` is open-ended."""

    start: int | None = None
    end: int | None = None
    start_day: int | None = None
    end_day: int | None = None

    @property
    def empty(self) -> bool:
        """``start`` is after ``end``: no row or period lies between them."""
        return self.start is not None and self.end is not None and self.start > self.end


@functools.lru_cache(maxsize=4096)  # the same for every symbol of a zone in a many-symbol request
def resolve(start: TimeBound | None, end: TimeBound | None, timezone: str) -> Bounds:
    """The bounds in ``timezone``: a date ``start`` is 00:00, a date ``end`` covers its
    whole day, a wall time without an offset is read on the exchange's clock."""
    zone = zoneinfo.ZoneInfo(timezone)
    first = None if start is None else _instant(start, zone, end_of_day=False)
    last = None if end is None else _instant(end, zone, end_of_day=True)
    return Bounds(
        start=first,
        end=last,
        start_day=None if first is None else _local_day(first, zone),
        end_day=None if last is None else _local_day(last, zone),
    )


@functools.lru_cache(maxsize=4096)  # the same for every symbol of a zone in a many-symbol request
def whole_periods(bounds: Bounds, timezone: str, frequency: Frequency, interval: int) -> Bounds:
    """``bounds`` with ``start`` moved back to the start of its period (``period_starts``),
    so the periods that overlap the range are selected whole."""
    if bounds.start is None or bounds.empty:
        return bounds
    instant = pa.array([bounds.start], pa.int64()).cast(pa.timestamp("us", tz="UTC"))
    first = period_starts(instant, interval, frequency, timezone=timezone)
    if frequency.is_intraday:
        return dataclasses.replace(bounds, start=first.cast(pa.int64())[0].as_py())
    return dataclasses.replace(bounds, start_day=first.cast(pa.int32())[0].as_py())


def select(rows: pa.Table, column: str, bounds: Bounds) -> pa.Table:
    """The rows (ascending in ``column``) whose time lies within ``bounds``."""
    if bounds.empty:
        return rows.slice(0, 0)
    if bounds.start is None and bounds.end is None:
        return rows
    times = rows.column(column)
    dates = pa.types.is_date32(times.type)
    low, high = (bounds.start_day, bounds.end_day) if dates else (bounds.start, bounds.end)
    keys = time_keys(times)
    first = int(np.searchsorted(keys, low, "left")) if low is not None else 0
    last = int(np.searchsorted(keys, high, "right")) if high is not None else len(keys)
    return rows.slice(first, max(last - first, 0))


def time_keys(column: pa.ChunkedArray) -> npt.NDArray[np.int64]:
    """A sortable integer per row: days for dates, UTC microseconds for instants (of a
    null-free column). A view of the column's buffer where it can be: a many-symbol
    request asks this of hundreds of cached tables, and two casts cost ~30 us each."""
    if column.num_chunks == 0:
        return np.empty(0, dtype=np.int64)
    chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    if pa.types.is_date32(chunk.type):
        days: npt.NDArray[np.int32] = chunk.view(pa.int32()).to_numpy()
        return days.astype(np.int64)
    if pa.types.is_timestamp(chunk.type) and chunk.type.unit != "us":
        chunk = chunk.cast(pa.timestamp("us", tz=chunk.type.tz))
    keys: npt.NDArray[np.int64] = chunk.view(pa.int64()).to_numpy()
    return keys


def as_datetime(micros: int | None) -> dt.datetime | None:
    """A UTC ``datetime`` for a store query, clamped to the years ``datetime`` holds."""
    if micros is None:
        return None
    return _EPOCH + dt.timedelta(microseconds=min(max(micros, _FIRST_UTC), _LAST_UTC))


def _instant(bound: TimeBound, zone: zoneinfo.ZoneInfo, *, end_of_day: bool) -> int:
    """UTC microseconds of ``bound`` (the last microsecond of its day for a date ``end``)."""
    days = bound.day.toordinal() - _EPOCH_ORDINAL
    wall = bound.time or (dt.time.max if end_of_day else dt.time())
    local = days * MICROS_PER_DAY + _micros_of_day(wall)
    offset = bound.offset
    if offset is None:
        offset = dt.datetime.combine(bound.day, wall, zone).utcoffset() or dt.timedelta(0)
    return local - offset // dt.timedelta(microseconds=1)


def _micros_of_day(wall: dt.time) -> int:
    return ((wall.hour * 60 + wall.minute) * 60 + wall.second) * 1_000_000 + wall.microsecond


def _local_day(instant: int, zone: zoneinfo.ZoneInfo) -> int:
    """The local date (days since the epoch) of a UTC instant; beyond the years Python
    can hold, the zone's offset at the nearest one (local mean time, its last rule)."""
    moment = as_datetime(instant)
    assert moment is not None
    try:
        offset = moment.astimezone(zone).utcoffset()
    except OverflowError:  # the local time is past 9999-12-31 or before 0001-01-01
        offset = zone.utcoffset(moment.replace(tzinfo=None))
    shift = (offset or dt.timedelta(0)) // dt.timedelta(microseconds=1)
    return (instant + shift) // MICROS_PER_DAY
