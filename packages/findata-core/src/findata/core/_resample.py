"""Resampling OHLCV bars into calendar buckets of the exchange's time zone.

Validated bars arrive ordered by symbol and, within a symbol, by time. Bucketing a
time is monotonic, so every bucket is a contiguous run of rows and the aggregation
is one pass of ``numpy.ufunc.reduceat`` over run boundaries: no hashing and no sort.
Runs are found by binary search of each bucket's first instant when buckets are few,
else from every row's bucket (docs/decisions/0001-resampling-with-numpy-runs-not-duckdb.md).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._errors import InvalidBarsError
from findata.core._parallel import run_all
from findata.core._periods import (
    calendar_bucket_of,
    calendar_bucket_starts,
    check_interval,
    floor,
    intraday_step,
)
from findata.core._timezones import MICROS_PER_DAY, OffsetTable, offset_table, zone_info
from findata.core._types import DEFAULT_TIMEZONE, Frequency
from findata.core._validation import PreparedBars, prepare_bars
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    PERIOD_START,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    VOLUME,
    VWAP,
)

I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

_SEARCH_COST = 8
"""Binary search of bucket edges beats bucketing every row while edges < rows / this."""


@functools.lru_cache(maxsize=256)
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
        fields.append(pa.field(TRADE_COUNT, pa.int64()))
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
    last close, volume and trade_count sums (trade_count null when a bar's count is
    unknown), vwap the volume-weighted mean of the bars' vwap (null when the bucket traded
    nothing, or a bar that traded has no vwap). Buckets
    without bars are omitted. Intraday buckets around clock changes: see
    docs/decisions/0002-wall-clock-buckets-across-dst.md.

    Returns ``symbol, period_start, open, high, low, close, volume[, vwap, trade_count]``
    sorted by symbol and period_start; ``period_start`` is a ``date32`` for Daily and
    longer, a ``timestamp[us, tz=timezone]`` for Minute and Hourly.
    """
    frequency = Frequency.parse(frequency)
    interval = check_interval(interval)
    prepared = prepare_bars(bars)
    if prepared.time_column != TIMESTAMP:
        raise InvalidBarsError(
            f"resample needs raw bars with a {TIMESTAMP!r} column, not resampled bars "
            f"({PERIOD_START!r}); resample the raw bars to the coarser frequency instead",
            column=TIMESTAMP,
        )
    schema = resampled_schema(
        frequency, timezone, vwap=prepared.has(VWAP), trade_count=prepared.has(TRADE_COUNT)
    )
    if prepared.num_rows == 0:
        zone_info(timezone)  # still reject an unknown time zone
        return schema.empty_table()

    times = prepared.times
    zone = offset_table(timezone, *_time_span(prepared))
    groups = _groups(prepared, zone, interval, frequency)
    if groups is not None:
        return _aggregate(prepared, *groups, None, schema)

    # Only a clock set back across midnight (a few zones, historically) can make bucket
    # keys step back in time within a symbol: bucket every row and sort, stably.
    runs, run_keys = _bucket_runs(prepared, zone, interval, frequency)
    keys = np.repeat(run_keys, np.diff(runs, append=len(times)))
    block = np.repeat(
        np.arange(len(prepared.symbol_starts)), np.diff(prepared.symbol_ends, prepend=0)
    )
    order = np.lexsort((keys, block))
    keys = keys[order]
    starts = _bucket_starts(keys, prepared.symbol_starts)
    return _aggregate(prepared, starts, keys[starts], order, schema)


def _groups(
    prepared: PreparedBars, zone: OffsetTable, interval: int, frequency: Frequency
) -> tuple[Index, I64] | None:
    """Each group's first row and its period start, groups in row order; ``None`` when
    bucket starts step back within a symbol (rows must then be sorted)."""
    if frequency.is_intraday:
        groups = _intraday_groups(prepared, zone, intraday_step(interval, frequency))
    else:
        groups = _calendar_groups(prepared, zone, interval, frequency)
    return groups if groups is not None else _per_row_groups(prepared, zone, interval, frequency)


@dataclass(frozen=True, slots=True)
class Periods:
    """How :func:`resample` groups checked bars: each period's first row (groups in row
    order, each running to the next one's first row) and its start, and its output schema."""

    prepared: PreparedBars
    starts: Index
    keys: I64
    schema: pa.Schema

    def trade_counts(self) -> pa.Array:
        """Each period's trade count, as :func:`resample` sums it."""
        starts = self.starts
        return _trade_counts(
            self.prepared, None, lambda ufunc, values: ufunc.reduceat(values, starts)
        )

    def table(self, values: dict[str, pa.Array]) -> pa.Table:
        """The periods with ``values`` for the columns other than symbol and period_start."""
        return pa.Table.from_pydict(
            {
                SYMBOL: _symbols(self.prepared, self.starts),
                PERIOD_START: _periods(self.keys, self.schema.field(PERIOD_START).type),
                **values,
            },
            schema=self.schema,
        )


def periods_of(
    bars: pa.Table, interval: int, frequency: Frequency, timezone: str
) -> Periods | None:
    """The periods :func:`resample` would aggregate ``bars`` into (non-empty, with a
    timestamp column), without aggregating; ``None`` where it would reorder rows (bars
    not sorted by symbol, bucket starts stepping back)."""
    prepared = prepare_bars(bars)
    if prepared.time_column != TIMESTAMP or prepared.num_rows == 0 or prepared.reordered:
        return None
    zone = offset_table(timezone, *_time_span(prepared))
    groups = _groups(prepared, zone, interval, frequency)
    if groups is None:
        return None
    schema = resampled_schema(
        frequency, timezone, vwap=prepared.has(VWAP), trade_count=prepared.has(TRADE_COUNT)
    )
    return Periods(prepared, *groups, schema)


def _within_symbol(flags: npt.NDArray[np.bool_], block_starts: Index) -> npt.NDArray[np.bool_]:
    """Clear the flags (item i + 1 versus item i) that compare the last item of one
    symbol's block with the first of the next; ``block_starts`` index those items."""
    if len(block_starts) > 1:
        flags = flags.copy()
        flags[block_starts[1:] - 1] = False
    return flags


def _run_starts(changed: npt.NDArray[np.bool_], symbol_starts: Index) -> Index:
    """Rows that start a run: row 0, each new symbol, and each row flagged in ``changed``
    (which compares row i + 1 with row i, and is updated in place with the symbols)."""
    changed[symbol_starts[1:] - 1] = True
    if changed.all():
        return np.arange(len(changed) + 1, dtype=np.intp)
    starts = np.empty(np.count_nonzero(changed) + 1, dtype=np.intp)
    starts[0] = 0
    starts[1:] = np.flatnonzero(changed)
    starts[1:] += 1
    return starts


def _bucket_starts(keys: I64, symbol_starts: Index) -> Index:
    """Rows that start a group, given every row's (sorted) bucket key."""
    return _run_starts(keys[1:] != keys[:-1], symbol_starts)


def _time_span(prepared: PreparedBars) -> tuple[int, int]:
    """Earliest and latest instant, read off the ends of each time-sorted symbol block."""
    times = prepared.times
    return int(times[prepared.symbol_starts].min()), int(times[prepared.symbol_ends - 1].max())


def _search_groups(prepared: PreparedBars, boundaries: I64, keys: I64) -> tuple[Index, I64]:
    """Group start rows and period starts by binary search of bucket edges.

    ``boundaries`` are the instants (ascending, all after the earliest bar) where a new
    bucket begins; ``keys[0]`` is the period of the bucket holding the earliest bar and
    ``keys[i + 1]`` that of the bucket beginning at ``boundaries[i]``. Each symbol's times
    are sorted, so a search per boundary replaces any arithmetic per row.
    """
    times = prepared.times
    starts: list[Index] = []
    periods: list[I64] = []
    for begin, end in zip(
        prepared.symbol_starts.tolist(), prepared.symbol_ends.tolist(), strict=True
    ):
        edges = np.concatenate(([0], np.searchsorted(times[begin:end], boundaries), [end - begin]))
        occupied = edges[:-1] < edges[1:]
        starts.append(edges[:-1][occupied] + begin)
        periods.append(keys[occupied])
    return np.concatenate(starts).astype(np.intp), np.concatenate(periods)


def _intraday_groups(
    prepared: PreparedBars, zone: OffsetTable, step: int
) -> tuple[Index, I64] | None:
    """:func:`_search_groups` for Minute and Hourly buckets; ``None`` when there are too
    many bucket edges for their search to beat bucketing every row."""
    first, last = _time_span(prepared)
    edges = len(prepared.symbol_starts) * ((last - first) // step + 1)
    if edges * _SEARCH_COST > prepared.num_rows:
        return None
    pieces: list[I64] = []
    period_ends = [*zone.starts[1:].tolist(), last + 1]
    for period, (start, end) in enumerate(zip(zone.starts.tolist(), period_ends, strict=True)):
        low, high = max(start, first + 1), min(end, last + 1)
        if low >= high:
            continue
        offset = int(zone.offsets[period])
        if start == low and period > 0:
            before = (start - 1 + int(zone.offsets[period - 1])) // step
            if before != (start + offset) // step:  # the clock jumped past a bucket edge
                pieces.append(np.array([start], dtype=np.int64))
        first_multiple = -(-(low + offset) // step)
        last_multiple = (high - 1 + offset) // step
        pieces.append(np.arange(first_multiple, last_multiple + 1, dtype=np.int64) * step - offset)
    boundaries = np.concatenate(pieces) if pieces else np.empty(0, dtype=np.int64)
    if len(boundaries) > 1:  # a jump can coincide with a wall-clock multiple
        boundaries = boundaries[np.concatenate(([True], boundaries[1:] != boundaries[:-1]))]
    first_array = np.array([first], dtype=np.int64)
    first_key = zone.bucket_starts(floor(zone.local(first_array), step), first_array, step)
    return _search_groups(prepared, boundaries, np.concatenate((first_key, boundaries)))


def _bucket_runs(
    prepared: PreparedBars, zone: OffsetTable, interval: int, frequency: Frequency
) -> tuple[Index, I64]:
    """Runs of rows in one bucket (start rows) and each run's bucket start, from a few
    vectorised passes over every row; the period is resolved once per run."""
    times, symbol_starts = prepared.times, prepared.symbol_starts
    buckets = zone.local(times, symbol_starts)
    if frequency.is_intraday:
        step = intraday_step(interval, frequency)
        buckets //= step
        changed = buckets[1:] != buckets[:-1]
        # A clock change inside a bucket splits the run.
        changed[zone.change_rows(times, symbol_starts) - 1] = True
        runs = _run_starts(changed, symbol_starts)
        run_blocks = np.searchsorted(runs, symbol_starts)
        if len(runs) == len(times):  # every row its own run: no gathers needed
            run_times, keys = times, buckets
        else:
            run_times, keys = times[runs], buckets[runs]
        keys *= step
        zone.shift(keys, run_times, run_blocks, keys, sign=-1)
        # Only runs just after a clock change can have a bucket begun in another period.
        near = zone.near_changes(run_times, run_blocks, step)
        if len(near):
            keys[near] = zone.bucket_starts(
                keys[near] + zone.offsets_at(run_times[near]), run_times[near], step
            )
        return runs, keys
    buckets //= MICROS_PER_DAY
    runs = _run_starts(buckets[1:] != buckets[:-1], symbol_starts)
    return runs, calendar_bucket_of(buckets[runs], interval, frequency)


def _per_row_groups(
    prepared: PreparedBars, zone: OffsetTable, interval: int, frequency: Frequency
) -> tuple[Index, I64] | None:
    """Group start rows and period starts from :func:`_bucket_runs`; ``None`` if bucket
    starts step back in time within a symbol (see :func:`resample`)."""
    runs, keys = _bucket_runs(prepared, zone, interval, frequency)
    first_runs = np.searchsorted(runs, prepared.symbol_starts)
    increasing = keys[1:] > keys[:-1]
    increasing[first_runs[1:] - 1] = True
    if increasing.all():  # every run its own bucket, in order (intraday, as a rule)
        return runs, keys
    if np.any(_within_symbol(keys[1:] < keys[:-1], first_runs)):
        return None
    # Neighbouring runs in one bucket (days of a week, a clock change) form one group.
    first_of_group = np.ones(len(runs), dtype=bool)
    first_of_group[1:] = keys[1:] != keys[:-1]
    first_of_group[first_runs] = True
    return runs[first_of_group], keys[first_of_group]


def _calendar_groups(
    prepared: PreparedBars, zone: OffsetTable, interval: int, frequency: Frequency
) -> tuple[Index, I64] | None:
    """Group start rows and their period starts, found by binary search of each bucket's
    first instant in each symbol's sorted times: no per-row arithmetic at all.

    ``None`` when per-row bucketing is cheaper (many buckets for few rows) or unsafe (a
    zone whose dates can step back).
    """
    first_utc, last_utc = _time_span(prepared)
    local_ends = zone.local(np.array([first_utc, last_utc], dtype=np.int64))
    first_day, last_day = (int(day) for day in local_ends // MICROS_PER_DAY)
    bucket_days = calendar_bucket_starts(first_day, last_day, interval, frequency)
    if len(prepared.symbol_starts) * len(bucket_days) * _SEARCH_COST > prepared.num_rows:
        return None
    if not zone.dates_are_monotonic:
        return None
    # The first bucket holds the earliest bar, so only later buckets need locating.
    boundaries = zone.first_instants_showing(bucket_days[1:] * MICROS_PER_DAY)
    return _search_groups(prepared, boundaries, bucket_days)


def _aggregate(
    prepared: PreparedBars, starts: Index, periods: I64, order: Index | None, schema: pa.Schema
) -> pa.Table:
    """One output row per group of rows beginning at ``starts`` (in ``order`` if given),
    whose bucket begins at ``periods`` (days or UTC microseconds)."""

    def column(name: str) -> npt.NDArray[Any]:
        values = (
            prepared.floats(name) if name != VOLUME and name != TRADE_COUNT else prepared.ints(name)
        )
        return values if order is None else values[order]

    first_rows = starts if order is None else order[starts]
    size = _equal_size(starts, prepared.num_rows)

    def reduce(ufunc: np.ufunc, values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        if size == 1:  # every bucket one bar: the aggregates are the bars' own values
            return values
        # Every bucket `size` bars: `size` strided passes beat reduceat's call per bucket.
        # Not for float sums, whose rounding would then differ from reduceat's.
        if size and (ufunc is not np.add or values.dtype.kind in "biu"):
            reduced = values[::size].copy()
            for lag in range(1, size):
                ufunc(reduced, values[lag::size], out=reduced)
            return reduced
        reduced = ufunc.reduceat(values, starts)
        return reduced

    ends = None if size else np.append(starts[1:], prepared.num_rows) - 1

    def first_and_last(values: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
        """The value of each group's first row and of its last row."""
        if size == 1:
            return values, values
        if ends is None:
            return values[::size], values[size - 1 :: size]
        return values[starts], values[ends]

    highs, lows, volumes = run_all(
        [
            lambda: reduce(np.maximum, column(HIGH)),
            lambda: reduce(np.minimum, column(LOW)),
            lambda: reduce(np.add, column(VOLUME)),
        ],
        prepared.num_rows,
    )
    arrays: dict[str, pa.Array | pa.ChunkedArray] = {
        SYMBOL: prepared.table.column(SYMBOL)
        if size == 1 and order is None
        else _symbols(prepared, first_rows),
        PERIOD_START: _periods(periods, schema.field(PERIOD_START).type),
        OPEN: pa.array(first_and_last(column(OPEN))[0]),
        HIGH: pa.array(highs),
        LOW: pa.array(lows),
        CLOSE: pa.array(first_and_last(column(CLOSE))[1]),
        VOLUME: pa.array(volumes),
    }
    if VWAP in schema.names:
        prices = column(VWAP)
        volumes = column(VOLUME)
        # A bar that traded without a known vwap leaves its bucket's vwap unknown.
        unknown = reduce(np.add, np.isnan(prices) & (volumes > 0)) > 0
        weights = np.where(np.isnan(prices), 0, volumes).astype(np.float64)
        traded = reduce(np.add, weights)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = reduce(np.add, np.nan_to_num(prices) * weights) / traded
        arrays[VWAP] = pa.array(mean, mask=unknown | (traded == 0))
    if TRADE_COUNT in schema.names:
        arrays[TRADE_COUNT] = _trade_counts(prepared, order, reduce)
    return pa.Table.from_pydict(arrays, schema=schema)


def _trade_counts(
    prepared: PreparedBars,
    order: Index | None,
    reduce: Callable[[np.ufunc, npt.NDArray[Any]], npt.NDArray[Any]],
) -> pa.Array:
    """Each bucket's trade count: the sum, unknown (null) when a bar's count is."""
    counts = prepared.table.column(TRADE_COUNT)
    if counts.null_count == 0:
        values = prepared.ints(TRADE_COUNT)
        return pa.array(reduce(np.add, values if order is None else values[order]))
    known = counts.is_valid().to_numpy(zero_copy_only=False)
    filled = pc.fill_null(counts, 0).to_numpy()
    if order is not None:
        known, filled = known[order], filled[order]
    unknown = reduce(np.add, (~known).astype(np.int64)) > 0
    return pa.array(reduce(np.add, filled), mask=unknown)


_STRIDED_MAX_SIZE = 8
"""Largest bucket (in bars) aggregated by strided passes when every bucket has as many
bars; beyond it one pass per lag costs more than ``reduceat``'s call per bucket."""


def _equal_size(starts: Index, rows: int) -> int:
    """The number of rows in every group when all groups have the same, small number
    (regular minute bars in 1- to 8-minute buckets), else 0."""
    if len(starts) == 0 or rows % len(starts):
        return 0
    size = rows // len(starts)
    if size > _STRIDED_MAX_SIZE or not (starts[1:] - starts[:-1] == size).all():
        return 0
    return size


def _periods(periods: I64, kind: pa.DataType) -> pa.Array:
    """Bucket starts as the period column: dates from days since the epoch, instants
    from UTC microseconds (handed to Arrow without a copy)."""
    if pa.types.is_date(kind):
        return pa.array(periods.astype(np.int32), type=pa.int32()).view(kind)
    values = np.ascontiguousarray(periods, dtype=np.int64)
    return pa.Array.from_buffers(kind, len(values), [None, pa.py_buffer(values)])


def _symbols(prepared: PreparedBars, rows: Index) -> pa.Array:
    """The symbol of each row in ``rows`` (ascending), taken from the few symbol names
    rather than from the whole (possibly chunked) column."""
    if len(prepared.symbol_starts) == 1:
        return pa.repeat(prepared.table.column(SYMBOL)[0], len(rows))
    names = prepared.table.column(SYMBOL).take(pa.array(prepared.symbol_starts))
    block = np.searchsorted(prepared.symbol_starts, rows, side="right") - 1
    return names.combine_chunks().take(pa.array(block))
