"""Adjusted bars resampled without adjusting them: ``resample(adjust_bars(...))`` in one
pass over the raw bars.

A factor is constant over each run of rows between two ex-dates, so each period is
aggregated from the raw rows with each row's run factor applied on the way: the first
open and the last close times their runs' factors, the largest high and the smallest low
of the products, the sum of the volumes each multiplied and rounded as ``adjust_bars``
rounds them. The periods are those ``resample`` finds (``_resample.periods_of``), and the
products are those ``adjust_bars`` computes, so the result equals
``resample(adjust_bars(...)[0], ...)`` value for value (the property test says so). It
costs one compiled pass over the highs, lows and volumes, less than the raw ``resample``
(docs/decisions/0081-adjusted-periods-aggregated-from-raw-rows.md).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from findata.core._adjust import AdjustmentPlan, plan_adjustment, volume_overflow
from findata.core._adjust_report import AdjustmentReport
from findata.core._kernels import compiled_loops
from findata.core._periods import check_interval
from findata.core._resample import Periods, periods_of, resample
from findata.core._types import DEFAULT_TIMEZONE, Frequency
from findata.core.actions import Adjustment
from findata.core.columns import CLOSE, HIGH, LOW, OPEN, TRADE_COUNT, VOLUME, VWAP


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
    returns, and its report: the same values, without adjusting every bar.

    Arguments as those two functions take them. Daily and longer periods of bars without
    vwap take the short way; other periods, bars not sorted by symbol and zones whose
    clock steps back across midnight adjust every bar first.
    """
    frequency = Frequency.parse(frequency)
    interval = check_interval(interval)
    plan, report = plan_adjustment(bars, splits, dividends, adjustment, timezone=timezone)
    if plan is None:
        return resample(bars, interval, frequency, timezone=timezone), report
    table = plan.series.table
    if not (frequency.is_intraday or VWAP in table.column_names) and plan.runs.dates_are_monotonic:
        periods = periods_of(table, interval, frequency, timezone)
        if periods is not None:
            return _adjusted(periods, plan), report
    return resample(plan.apply(), interval, frequency, timezone=timezone), report


def _adjusted(periods: Periods, plan: AdjustmentPlan) -> pa.Table:
    """The periods of the adjusted bars, from the raw bars in one compiled pass."""
    prepared, runs = periods.prepared, plan.runs
    group_starts = periods.starts.astype(np.int64, copy=False)
    # Every period and run start cuts the rows: within a segment one factor applies.
    segments = np.union1d(group_starts, runs.starts)
    groups = len(group_starts)
    prices = {name: np.empty(groups) for name in (OPEN, HIGH, LOW, CLOSE)}
    volumes = np.empty(groups, dtype=np.int64)
    volume = prepared.ints(VOLUME)
    row = compiled_loops().adjusted_periods(
        prepared.floats(OPEN),
        prepared.floats(CLOSE),
        volume,
        segments,
        np.maximum.reduceat(prepared.floats(HIGH), segments),
        np.minimum.reduceat(prepared.floats(LOW), segments),
        group_starts,
        runs.starts,
        runs.prices,
        runs.volumes,
        *prices.values(),
        volumes,
    )
    if row >= 0:
        raise volume_overflow(volume, runs.volumes, runs.starts, row)
    values = {name: pa.array(column) for name, column in prices.items()}
    values[VOLUME] = pa.array(volumes)
    if TRADE_COUNT in periods.schema.names:
        values[TRADE_COUNT] = periods.trade_counts()
    return periods.table(values)
