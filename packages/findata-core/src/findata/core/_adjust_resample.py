"""Adjusted bars resampled, from the raw bars resampled: ``resample(adjust_bars(...))``
without multiplying every bar.

A factor is constant over each run of rows between two ex-dates, and multiplying by a
positive number keeps the order of prices, so a period whose bars lie in one run is the
raw period times that run's factor: its open and close are the same products, its high
and low the products of the raw extremes (rounding is monotonic). Only the few periods
that hold an ex-date are computed from their bars. Volumes are adjusted bar by bar
(each rounded, as ``adjust_bars`` rounds them) and summed per period in one compiled
pass, so the sums agree. The result equals ``resample(adjust_bars(...)[0], ...)`` value
for value (the property test says so); it costs the raw resample, one pass over the
volumes and a few multiplications per period
(docs/decisions/0081-adjusted-periods-from-raw-periods.md).
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._adjust import AdjustmentPlan, plan_adjustment, volume_overflow
from findata.core._adjust_report import AdjustmentReport
from findata.core._bar_blocks import values_of
from findata.core._kernels import compiled_loops
from findata.core._periods import check_interval
from findata.core._resample import resample
from findata.core._timezones import MICROS_PER_DAY, offset_table
from findata.core._types import DEFAULT_TIMEZONE, Frequency
from findata.core.actions import Adjustment
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    PERIOD_START,
    SYMBOL,
    VOLUME,
    VWAP,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

_PRICES: Final = (OPEN, HIGH, LOW, CLOSE)


def resample_adjusted(
    bars: pa.Table,
    splits: pa.Table | None,
    dividends: pa.Table | None,
    adjustment: Adjustment | str,
    interval: int,
    frequency: Frequency | str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[pa.Table, AdjustmentReport]:
    """:func:`~findata.core.resample` of the bars :func:`~findata.core.adjust_bars`
    returns, and its report: the same values, computed from the raw periods.

    Arguments as those two functions take them. Daily and longer periods of bars without
    vwap take the short way (the periods holding no ex-date are the raw periods scaled);
    other periods, and zones whose clock steps back across midnight, adjust every bar
    first.
    """
    frequency = Frequency.parse(frequency)
    interval = check_interval(interval)
    plan, report = plan_adjustment(bars, splits, dividends, adjustment, timezone=timezone)
    if plan is None:
        return resample(bars, interval, frequency, timezone=timezone), report
    table = plan.series.table
    if frequency.is_intraday or VWAP in table.column_names or not plan.runs.dates_are_monotonic:
        return resample(plan.apply(), interval, frequency, timezone=timezone), report
    periods = resample(table, interval, frequency, timezone=timezone)
    runs = plan.runs
    if (runs.prices == 1.0).all() and (runs.volumes == 1.0).all():
        return periods, report
    return _scaled_periods(periods, plan, timezone), report


def _scaled_periods(periods: pa.Table, plan: AdjustmentPlan, timezone: str) -> pa.Table:
    """``periods`` (of the raw bars) with each period's prices and volume adjusted."""
    first_rows, end_rows = _period_rows(periods, plan, timezone)
    columns: dict[str, npt.NDArray[Any]] = {}
    if (plan.runs.prices != 1.0).any():
        columns.update(_scaled_prices(periods, plan, first_rows, end_rows))
    if (plan.runs.volumes != 1.0).any():
        columns[VOLUME] = _scaled_volumes(plan, first_rows, end_rows)
    arrays = [
        pa.array(columns[name]) if name in columns else periods.column(name)
        for name in periods.column_names
    ]
    return pa.Table.from_arrays(arrays, schema=periods.schema)


def _period_rows(periods: pa.Table, plan: AdjustmentPlan, timezone: str) -> tuple[I64, I64]:
    """The first row of each period and the row after its last: where the bars reach the
    instant its first day begins, and where the next period (or the symbol) begins."""
    series = plan.series
    days = periods.column(PERIOD_START).combine_chunks().view(pa.int32()).to_numpy()
    # The first row of each period: where the bars reach the instant its first day begins.
    zone = offset_table(
        timezone, int(series.times[series.starts].min()), int(series.times[series.ends - 1].max())
    )
    begins = zone.first_instants_showing(days.astype(np.int64) * MICROS_PER_DAY)
    if len(series.names) == 1:  # one symbol (as the API asks): every period is its own
        rows = np.searchsorted(series.times, begins).astype(np.int64)
        return rows, np.append(rows[1:], series.rows)
    first_rows = np.empty(len(days), dtype=np.int64)
    end_rows = np.empty(len(days), dtype=np.int64)
    block_of = {name: block for block, name in enumerate(series.names)}
    symbols = periods.column(SYMBOL).combine_chunks()
    bounds = _runs_of_equal(symbols)
    for begin, end in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
        block = block_of[symbols[begin].as_py()]
        low, high = int(series.starts[block]), int(series.ends[block])
        rows = low + np.searchsorted(series.times[low:high], begins[begin:end])
        first_rows[begin:end] = rows
        end_rows[begin:end] = np.append(rows[1:], high)
    return first_rows, end_rows


def _scaled_prices(
    periods: pa.Table, plan: AdjustmentPlan, first_rows: I64, end_rows: I64
) -> dict[str, F64]:
    """Each period's prices times its run's factor; those of periods holding an ex-date
    from their bars."""
    series = plan.series
    starts = plan.runs.starts
    first_run = np.searchsorted(starts, first_rows, side="right") - 1
    last_run = np.searchsorted(starts, end_rows - 1, side="right") - 1
    factors = plan.runs.prices[first_run]
    columns = {name: periods.column(name).combine_chunks().to_numpy() * factors for name in _PRICES}
    straddling = np.flatnonzero(first_run != last_run)
    if len(straddling):
        bars = series.table
        computed = [np.empty(len(straddling)) for _ in _PRICES]
        compiled_loops().scaled_period_prices(
            *(values_of(bars.column(name)) for name in _PRICES),
            first_rows[straddling],
            end_rows[straddling],
            starts,
            plan.runs.prices,
            *computed,
        )
        for name, values in zip(_PRICES, computed, strict=True):
            columns[name][straddling] = values
    return columns


def _scaled_volumes(plan: AdjustmentPlan, first_rows: I64, end_rows: I64) -> I64:
    """Each period's volume: the sum of its bars' volumes each adjusted and rounded as
    ``adjust_bars`` does it, in one compiled pass over the raw volumes."""
    volume = values_of(plan.series.table.column(VOLUME))
    runs = plan.runs
    sums = np.empty(len(first_rows), dtype=np.int64)
    row = compiled_loops().period_volumes(
        volume, first_rows, end_rows, runs.starts, runs.volumes, sums
    )
    if row >= 0:
        raise volume_overflow(volume, runs.volumes, runs.starts, row)
    return sums


def _runs_of_equal(symbols: pa.Array) -> I64:
    """The first row of each run of equal symbols, then the number of rows."""
    if len(symbols) == 0:
        return np.zeros(1, dtype=np.int64)
    changed = pc.indices_nonzero(pc.not_equal(symbols[1:], symbols[:-1])).to_numpy()
    return np.concatenate(([0], changed + 1, [len(symbols)])).astype(np.int64)
