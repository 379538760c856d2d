"""Which period holds an instant: the bucket arithmetic of :func:`~findata.core.resample`.

Kept apart from resampling so that callers who only need a period's start (an API
widening ``start`` to whole periods, a range check) get exactly the labels
``resample`` gives, without building a table. Everything is integer arithmetic on
microseconds and days since the epoch, so periods that begin before year 1 or after
year 9999 (large intervals) are computed, not overflowed: only turning them into
Python ``date``/``datetime`` objects would fail.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._errors import InvalidParameterError
from findata.core._timezones import MICROS_PER_DAY, offset_table, zone_info
from findata.core._types import DEFAULT_TIMEZONE, Frequency
from findata.core.columns import UTC_TIMESTAMP

I64 = npt.NDArray[np.int64]

MAX_INTERVAL: Final = 1_000_000
"""Largest ``interval`` accepted (a million minutes is ~2 years; keeps bucket arithmetic
far from int64 overflow, and a million years of days within ``date32``)."""
_MICROS_PER_MINUTE: Final = 60_000_000
_MICROS_PER_HOUR: Final = 60 * _MICROS_PER_MINUTE
FIRST_MONDAY: Final = 4
"""1970-01-05, the Monday that anchors N-week buckets, in days since the epoch."""
_MONTH_SPANS: Final = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: 3, Frequency.ANNUAL: 12}
"""Months per calendar bucket of interval 1."""


def period_starts(
    timestamps: pa.Array | pa.ChunkedArray,
    interval: int,
    frequency: Frequency | str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> pa.Array:
    """The start of the ``interval`` x ``frequency`` period holding each instant.

    Labelled exactly as :func:`~findata.core.resample` labels the bucket a bar at that
    instant falls in: a ``date32`` for Daily and longer, a ``timestamp[us, tz=timezone]``
    for Minute and Hourly (clock changes included). ``timestamps`` are time-zone-aware
    instants in any order; nulls stay null. Periods before year 1 or after 9999 are
    valid Arrow values (read them as integers: ``.cast(pa.int32())`` for days,
    ``.cast(pa.int64())`` for microseconds).
    """
    frequency = Frequency.parse(frequency)
    interval = check_interval(interval)
    kind = pa.timestamp("us", tz=timezone) if frequency.is_intraday else pa.date32()
    instants = _utc_instants(timestamps)
    zone_info(timezone)
    if len(instants) == 0:
        return pa.array([], kind)
    micros = pc.fill_null(instants, 0).cast(pa.int64()).to_numpy()
    zone = offset_table(timezone, int(micros.min()), int(micros.max()))
    local = zone.local(micros)
    if frequency.is_intraday:
        step = intraday_step(interval, frequency)
        values: npt.NDArray[np.int64] | npt.NDArray[np.int32] = zone.bucket_starts(
            floor(local, step), micros, step
        )
        storage = pa.int64()
    else:
        values = calendar_bucket_of(local // MICROS_PER_DAY, interval, frequency).astype(np.int32)
        storage = pa.int32()
    nulls = instants.is_null().to_numpy(zero_copy_only=False) if instants.null_count else None
    return pa.array(values, storage, mask=nulls).view(kind)


def _utc_instants(timestamps: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(timestamps, pa.ChunkedArray):
        timestamps = timestamps.combine_chunks()
    if not isinstance(timestamps, pa.Array):
        raise InvalidParameterError(
            "timestamps",
            f"timestamps must be a pyarrow array, not {type(timestamps).__name__}",
        )
    kind = timestamps.type
    if not pa.types.is_timestamp(kind) or kind.tz is None:
        raise InvalidParameterError(
            "timestamps",
            f"timestamps must be time-zone-aware instants, not {kind}",
            value=str(kind),
        )
    return timestamps.cast(UTC_TIMESTAMP)


def check_interval(interval: object) -> int:
    """``interval`` as an int, or an :class:`InvalidParameterError` naming it."""
    if isinstance(interval, bool) or not isinstance(interval, int | np.integer):
        raise InvalidParameterError(
            "interval", f"interval must be a positive integer, not {interval!r}", value=interval
        )
    if not 1 <= interval <= MAX_INTERVAL:
        raise InvalidParameterError(
            "interval",
            f"interval must be an integer from 1 to {MAX_INTERVAL}, not {interval}",
            value=interval,
            allowed=f"integer in [1, {MAX_INTERVAL}]",
        )
    return int(interval)


def floor(values: I64, step: int) -> I64:
    """Round down to a multiple of ``step`` (``//`` is several times faster than ``%``)."""
    floored: I64 = values // step * step
    return floored


def intraday_step(interval: int, frequency: Frequency) -> int:
    """Length of an intraday bucket on the wall clock, in microseconds."""
    return interval * (_MICROS_PER_MINUTE if frequency is Frequency.MINUTE else _MICROS_PER_HOUR)


def calendar_bucket_of(days: I64, interval: int, frequency: Frequency) -> I64:
    """The start (days since epoch) of the calendar bucket holding each local date."""
    if frequency is Frequency.DAILY:
        return days if interval == 1 else floor(days, interval)
    if frequency is Frequency.WEEKLY:
        return floor(days - FIRST_MONDAY, 7 * interval) + FIRST_MONDAY
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    months = floor(months, _MONTH_SPANS[frequency] * interval)
    starts: I64 = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return starts


def calendar_bucket_starts(
    first_day: int, last_day: int, interval: int, frequency: Frequency
) -> I64:
    """Start (days since epoch) of every calendar bucket from the one holding
    ``first_day`` to the one holding ``last_day``."""
    if frequency is Frequency.DAILY:
        return np.arange(first_day // interval * interval, last_day + 1, interval, dtype=np.int64)
    if frequency is Frequency.WEEKLY:
        step = 7 * interval
        first = (first_day - FIRST_MONDAY) // step * step + FIRST_MONDAY
        return np.arange(first, last_day + 1, step, dtype=np.int64)
    span = _MONTH_SPANS[frequency] * interval
    first_month, last_month = (
        np.array([first_day, last_day])
        .astype("datetime64[D]")
        .astype("datetime64[M]")
        .astype(np.int64)
    )
    months = np.arange(first_month // span * span, last_month + 1, span)
    days: I64 = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return days
