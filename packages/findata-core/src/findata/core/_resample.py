"""Resampling OHLCV bars into calendar buckets of the exchange's time zone.

Validated bars arrive ordered by symbol and, within a symbol, by time. Bucketing a
time is monotonic, so every bucket is a contiguous run of rows and the aggregation
is one pass of ``numpy.ufunc.reduceat`` over run boundaries: no hashing and no
sort (see docs/decisions/0001-resampling-engine.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from findata.core._errors import InvalidParameterError
from findata.core._timezones import MICROS_PER_DAY, OffsetTable
from findata.core._types import (
    CLOSE,
    DEFAULT_TIMEZONE,
    HIGH,
    LOW,
    OPEN,
    PERIOD_START,
    SYMBOL,
    TRADE_COUNT,
    VOLUME,
    VWAP,
    Frequency,
)
from findata.core._validation import PreparedBars, prepare_bars

I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

_MICROS_PER_MINUTE = 60_000_000
_MICROS_PER_HOUR = 60 * _MICROS_PER_MINUTE
_FIRST_MONDAY = 4
"""1970-01-05, the Monday that anchors N-week buckets, in days since the epoch."""
_MONTHS_PER_QUARTER = 3


def resampled_schema(
    frequency: Frequency, timezone: str, *, vwap: bool, trade_count: bool
) -> pa.Schema:
    """Schema of :func:`resample`'s result for these options."""
    period = pa.timestamp("us", tz=timezone) if frequency.is_intraday else pa.date32()
    fields = [
        pa.field(SYMBOL, pa.string(), nullable=False),
        pa.field(PERIOD_START, period, nullable=False),
        pa.field(OPEN, pa.float64(), nullable=False),
        pa.field(HIGH, pa.float64(), nullable=False),
        pa.field(LOW, pa.float64(), nullable=False),
        pa.field(CLOSE, pa.float64(), nullable=False),
        pa.field(VOLUME, pa.int64(), nullable=False),
    ]
    if vwap:
        fields.append(pa.field(VWAP, pa.float64()))
    if trade_count:
        fields.append(pa.field(TRADE_COUNT, pa.int64(), nullable=False))
    return pa.schema(fields)


def resample(
    bars: pa.Table,
    interval: int,
    frequency: Frequency | str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> pa.Table:
    """Aggregate ``bars`` into buckets of ``interval`` x ``frequency`` in ``timezone``.

    Buckets follow the exchange's wall clock: days start at local midnight, weeks on
    Monday, months, quarters and years on their first day; N-period buckets count from
    a fixed epoch (1970-01-01, weeks from Monday 1970-01-05) so a bucket never depends
    on the range asked for. open is the first open, high the max, low the min, close the
    last close, volume and trade_count sums, vwap the volume-weighted mean of the bars'
    vwap (null when the bucket traded nothing). Buckets without bars are omitted.

    Returns ``symbol, period_start, open, high, low, close, volume[, vwap, trade_count]``
    sorted by symbol and period_start; ``period_start`` is a ``date32`` for Daily and
    longer, a ``timestamp[us, tz=timezone]`` for Minute and Hourly.
    """
    frequency = Frequency.parse(frequency)
    interval = _check_interval(interval)
    prepared = prepare_bars(bars)
    if prepared.time_column != "timestamp":
        raise InvalidParameterError(
            "bars", "resample needs raw bars with a 'timestamp' column", value=PERIOD_START
        )
    schema = resampled_schema(
        frequency, timezone, vwap=prepared.has(VWAP), trade_count=prepared.has(TRADE_COUNT)
    )
    if prepared.num_rows == 0:
        OffsetTable(timezone, 0, 0)  # still reject an unknown time zone
        return schema.empty_table()

    times = prepared.times
    zone = OffsetTable(timezone, int(times.min()), int(times.max()))
    if frequency.is_intraday:
        keys = _intraday_keys(times, zone, interval, frequency, prepared.symbol_starts)
    else:
        keys = _calendar_keys(times, zone, interval, frequency)

    order: Index | None = None
    if np.any(_within_symbol(np.diff(keys) < 0, prepared.symbol_starts)):
        # Only a clock set back across midnight (a few zones, historically) can
        # make bucket keys step back in time; fall back to a stable sort.
        block = np.repeat(
            np.arange(len(prepared.symbol_starts)), np.diff(prepared.symbol_ends, prepend=0)
        )
        order = np.lexsort((keys, block))
        keys = keys[order]
    starts = _bucket_starts(keys, prepared.symbol_starts)
    return _aggregate(prepared, keys, starts, order, schema)


def _check_interval(interval: object) -> int:
    if isinstance(interval, bool) or not isinstance(interval, int | np.integer):
        raise InvalidParameterError(
            "interval", f"interval must be a positive integer, not {interval!r}", value=interval
        )
    if interval < 1:
        raise InvalidParameterError(
            "interval", f"interval must be a positive integer, not {interval}", value=interval
        )
    return int(interval)


def _within_symbol(flags: npt.NDArray[np.bool_], symbol_starts: Index) -> npt.NDArray[np.bool_]:
    """Clear the flags that compare the last row of a symbol with the first of the next."""
    if len(symbol_starts) > 1:
        flags = flags.copy()
        flags[symbol_starts[1:] - 1] = False
    return flags


def _run_starts(changed: npt.NDArray[np.bool_], symbol_starts: Index) -> Index:
    """Rows that start a run: row 0, each new symbol, and each row flagged in ``changed``
    (which compares row i + 1 with row i)."""
    starts = np.flatnonzero(changed) + 1
    if len(symbol_starts) > 1:
        starts = np.union1d(starts, symbol_starts[1:])
    return np.concatenate(([0], starts)).astype(np.intp)


def _bucket_starts(keys: I64, symbol_starts: Index) -> Index:
    return _run_starts(keys[1:] != keys[:-1], symbol_starts)


def _intraday_keys(
    times: I64, zone: OffsetTable, interval: int, frequency: Frequency, symbol_starts: Index
) -> I64:
    """Each bar's bucket start as a UTC instant (microseconds)."""
    step = interval * (_MICROS_PER_MINUTE if frequency is Frequency.MINUTE else _MICROS_PER_HOUR)
    offsets = zone.offsets_at(times)
    local = times + offsets
    floored = local - local % step
    # Resolve wall-clock starts to instants once per run of equal (start, offset),
    # not once per row: a clock change inside a bucket only splits the run.
    changed = (floored[1:] != floored[:-1]) | (offsets[1:] != offsets[:-1])
    runs = _run_starts(changed, symbol_starts)
    run_starts_utc = zone.wall_clock_start(floored[runs], times[runs])
    return np.repeat(run_starts_utc, np.diff(runs, append=len(times)))


def _calendar_keys(times: I64, zone: OffsetTable, interval: int, frequency: Frequency) -> I64:
    """Each bar's bucket start as a local date (days since 1970-01-01)."""
    days = zone.local(times) // MICROS_PER_DAY
    if frequency is Frequency.DAILY:
        return days - days % interval
    if frequency is Frequency.WEEKLY:
        since_monday = days - _FIRST_MONDAY
        return days - since_monday % (7 * interval)
    # Month arithmetic only on the distinct days, which are far fewer than the bars.
    unique_days, inverse = np.unique(days, return_inverse=True)
    months = unique_days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    span = {Frequency.MONTHLY: 1, Frequency.QUARTERLY: _MONTHS_PER_QUARTER, Frequency.ANNUAL: 12}
    months -= months % (span[frequency] * interval)
    starts = months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return starts[inverse.reshape(-1)]


def _aggregate(
    prepared: PreparedBars, keys: I64, starts: Index, order: Index | None, schema: pa.Schema
) -> pa.Table:
    def column(name: str) -> npt.NDArray[Any]:
        values = (
            prepared.floats(name) if name != VOLUME and name != TRADE_COUNT else prepared.ints(name)
        )
        return values if order is None else values[order]

    ends = np.append(starts[1:], len(keys)) - 1
    volume = np.add.reduceat(column(VOLUME), starts)
    first_rows = starts if order is None else order[starts]
    arrays: dict[str, pa.Array] = {
        SYMBOL: prepared.table.column(SYMBOL).take(pa.array(first_rows)),
        PERIOD_START: pa.array(
            keys[starts].astype(_period_numpy_type(schema)), type=schema.field(PERIOD_START).type
        ),
        OPEN: pa.array(column(OPEN)[starts]),
        HIGH: pa.array(np.maximum.reduceat(column(HIGH), starts)),
        LOW: pa.array(np.minimum.reduceat(column(LOW), starts)),
        CLOSE: pa.array(column(CLOSE)[ends]),
        VOLUME: pa.array(volume),
    }
    if VWAP in schema.names:
        prices = column(VWAP)
        volumes = column(VOLUME)
        # A bar that traded without a known vwap leaves its bucket's vwap unknown.
        unknown = np.add.reduceat(np.isnan(prices) & (volumes > 0), starts) > 0
        weights = np.where(np.isnan(prices), 0, volumes).astype(np.float64)
        traded = np.add.reduceat(weights, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.add.reduceat(np.nan_to_num(prices) * weights, starts) / traded
        arrays[VWAP] = pa.array(mean, mask=unknown | (traded == 0))
    if TRADE_COUNT in schema.names:
        arrays[TRADE_COUNT] = pa.array(np.add.reduceat(column(TRADE_COUNT), starts))
    return pa.Table.from_pydict(arrays, schema=schema)


def _period_numpy_type(schema: pa.Schema) -> str:
    return (
        "datetime64[D]" if pa.types.is_date(schema.field(PERIOD_START).type) else "datetime64[us]"
    )
