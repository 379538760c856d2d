"""Backward adjustment of bars for splits and cash dividends, as CRSP and Yahoo do it.

A bar's factor is the product over the actions whose ex-date is after the bar's trading
date, so it is constant between two consecutive ex-dates. For each symbol, the rows
before an ex-date are found by one binary search of the instant that date begins in the
exchange's time zone; the factor of each run of rows between two ex-dates is a
cumulative product taken from the last action back; both are one compiled call for all
symbols (:func:`findata.core._loops.adjustment_runs`); and each column is multiplied run
by run by a scalar, in one compiled pass into memory of Arrow's pool. No work is done per row but
the multiplications themselves
(docs/decisions/0070-adjustment-factors-per-run-of-rows.md).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._action_tables import CheckedActions, checked_dividends, checked_splits
from findata.core._adjust_report import AdjustmentReport, SkippedDividend, SkipReason
from findata.core._bar_blocks import Series, values_of
from findata.core._errors import InvalidBarsError
from findata.core._kernels import compiled_loops
from findata.core._remember import PerTable
from findata.core._timezones import MICROS_PER_DAY, OffsetTable, offset_table, zone_info
from findata.core._types import DEFAULT_TIMEZONE
from findata.core.actions import CASH_AMOUNT, REFERENCE_CLOSE, SPLIT_FROM, SPLIT_TO, Adjustment
from findata.core.columns import (
    CLOSE,
    PRICE_COLUMNS,
    VOLUME,
    VWAP,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

_EPOCH: Final = date(1970, 1, 1)


def adjust_bars(
    bars: pa.Table,
    splits: pa.Table | None,
    dividends: pa.Table | None,
    adjustment: Adjustment | str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[pa.Table, AdjustmentReport]:
    """Backward-adjust ``bars`` for ``splits`` and/or cash ``dividends``; many symbols at once.

    ``bars``: raw bars as :func:`~findata.core.validate_bars` and the stores return them
    (the types of :data:`~findata.core.BAR_SCHEMA`, each symbol's rows together and in
    increasing time); only the types, nulls and that order are checked here. ``splits``
    and ``dividends`` as :data:`~findata.core.actions.SPLITS_SCHEMA` and
    :data:`~findata.core.actions.DIVIDENDS_SCHEMA` (checked as :func:`validate_splits`
    and :func:`validate_dividends` do, when the adjustment uses them; ``None`` for none).
    Actions of symbols without bars are ignored. Pass every action of a symbol, not only
    those in the bars' range: bars of 2023 adjusted for splits are adjusted for the
    splits of 2024 too.

    A bar's trading date is its timestamp's date in ``timezone``. Its split factor is the
    product of ``split_from / split_to`` over the splits with an ex-date after that date;
    its dividend factor the product of ``1 - cash_amount / C`` over such dividends, where
    ``C`` is the raw close of the symbol's last bar before the ex-date (intraday: the last
    bar of the previous trading date), or the dividend's ``reference_close`` when given,
    for bars that end before the ex-date. Products run from the latest ex-date back
    (``all``: over splits and dividends together).
    ``split`` multiplies open, high, low, close and vwap by the split factor and volume by
    ``split_to / split_from`` (the inverse, exactly whole for whole-number splits), rounded
    to the nearest integer, halves to even (``numpy.rint``); ``dividend`` multiplies prices
    by the dividend factor; ``all`` by split factor x dividend factor. trade_count and
    other columns are unchanged, and so are bars on or after the last ex-date, so appending
    bars never changes earlier answers. With nothing to apply (``raw``, or no action of the
    kinds asked for) ``bars`` come back as given, unchecked.

    A dividend with no bar before its ex-date, or whose cash amount is not below ``C``, is
    skipped and listed in the report (for the first reason it would adjust no bar anyway).

    Returns the adjusted table, in the schema and order of ``bars``, and the report.
    """
    plan, report = plan_adjustment(bars, splits, dividends, adjustment, timezone=timezone)
    return (bars if plan is None else plan.apply()), report


def plan_adjustment(
    bars: pa.Table,
    splits: pa.Table | None,
    dividends: pa.Table | None,
    adjustment: Adjustment | str,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> tuple[AdjustmentPlan | None, AdjustmentReport]:
    """What :func:`adjust_bars` multiplies each run of rows by, without multiplying yet
    (``None``: nothing to apply). Checks and runs are remembered per table objects."""
    adjustment = Adjustment.parse(adjustment)
    zone_info(timezone)
    split_actions = checked_splits(splits) if adjustment.splits and splits is not None else None
    dividend_actions = (
        checked_dividends(dividends) if adjustment.dividends and dividends is not None else None
    )
    if _none(split_actions) and _none(dividend_actions):  # nothing to apply, in any order
        if not isinstance(bars, pa.Table):
            raise InvalidBarsError(f"bars must be a pyarrow.Table, not {type(bars).__name__}")
        return None, AdjustmentReport(adjustment)
    series = Series.of(bars)
    if series.rows == 0:
        return None, AdjustmentReport(adjustment)
    used = (splits if split_actions else None, dividends if dividend_actions else None)
    remembered = _runs_of(bars)
    key = (_identity(used[0]), _identity(used[1]), timezone)
    found = remembered.get(key)
    if found is not None and all(
        (ref() if ref is not None else None) is table
        for ref, table in zip(found[0], used, strict=True)
    ):
        runs = found[1]
    else:
        runs = _find_runs(series, split_actions, dividend_actions, timezone)
        if len(remembered) >= _REMEMBERED_RUNS:
            remembered.clear()
        refs = tuple(None if table is None else weakref.ref(table) for table in used)
        remembered[key] = (refs, runs)
    return AdjustmentPlan(series, runs), AdjustmentReport(adjustment, runs.skipped)


def _identity(table: pa.Table | None) -> int | None:
    return None if table is None else id(table)


@dataclass(frozen=True, slots=True)
class _RunFactors:
    """Each run's first row, price factor and volume multiplier, and what was skipped."""

    starts: I64
    prices: F64
    volumes: F64
    skipped: tuple[SkippedDividend, ...]
    dates_are_monotonic: bool


_REMEMBERED_RUNS: Final = 16
"""Per bars table, the runs of this many (actions, time zone) pairs at most."""
_RememberedRuns = dict[
    tuple[int | None, int | None, str],
    tuple[tuple["weakref.ref[pa.Table] | None", ...], _RunFactors],
]
_runs_of: Final[PerTable[_RememberedRuns]] = PerTable(lambda _: {})
"""Per bars table, its runs per (splits, dividends, time zone): the API adjusts the same
cached series for the same cached actions until the data changes."""


def _find_runs(
    series: Series,
    split_actions: CheckedActions | None,
    dividend_actions: CheckedActions | None,
    timezone: str,
) -> _RunFactors:
    zone = offset_table(
        timezone, int(series.times[series.starts].min()), int(series.times[series.ends - 1].max())
    )
    splits_of = _Matched.of(split_actions, series)
    dividends_of = _Matched.of(dividend_actions, series)
    closes = values_of(series.table.column(CLOSE)) if dividends_of else _NO_CLOSES
    if zone.dates_are_monotonic:
        _Matched.locate(zone, [matched for matched in (splits_of, dividends_of) if matched])
        return _compiled_runs(series, splits_of, dividends_of, closes)
    runs = _Runs(series, zone, closes)
    for block in range(len(series.starts)):
        runs.add_block(block, splits_of, dividends_of)
    skipped = sorted(runs.skipped, key=lambda entry: (entry.symbol, entry.ex_date))
    return _RunFactors(*runs.factors(), skipped=tuple(skipped), dates_are_monotonic=False)


def _compiled_runs(
    series: Series, splits: _Matched | None, dividends: _Matched | None, closes: F64
) -> _RunFactors:
    """The runs where dates never step back (every zone but a few), all blocks in one
    compiled call (``_loops.adjustment_runs``): what :class:`_Runs` computes block by
    block with a dozen NumPy calls each, which cost more than the multiplications
    themselves for a table nobody adjusted before."""
    blocks = len(series.starts)
    no_bounds = np.zeros(blocks + 1, dtype=np.int64)
    split_bounds, split_begins, split_factors, split_multipliers = (
        no_bounds,
        _NO_DAYS,
        _NO_CLOSES,
        _NO_CLOSES,
    )
    if splits:
        ratio_from, ratio_to = splits.amounts(SPLIT_FROM, _ALL), splits.amounts(SPLIT_TO, _ALL)
        split_bounds = np.asarray(splits.bounds, dtype=np.int64)
        split_begins = splits.begins
        split_factors, split_multipliers = ratio_from / ratio_to, ratio_to / ratio_from
    dividend_bounds, dividend_begins, cash, reference = no_bounds, _NO_DAYS, _NO_CLOSES, _NO_CLOSES
    if dividends:
        dividend_bounds = np.asarray(dividends.bounds, dtype=np.int64)
        dividend_begins = dividends.begins
        cash = dividends.amounts(CASH_AMOUNT, _ALL)
        if REFERENCE_CLOSE in dividends.actions.amounts:
            reference = dividends.amounts(REFERENCE_CLOSE, _ALL)
        else:
            reference = np.full(len(cash), np.nan)
    capacity = blocks + len(split_begins) + len(dividend_begins)
    starts = np.empty(capacity, dtype=np.int64)
    prices, volumes = np.empty(capacity), np.empty(capacity)
    skips = np.zeros(len(dividend_begins), dtype=np.int8)
    used_closes = np.empty(len(dividend_begins))
    runs = compiled_loops().adjustment_runs(
        series.times,
        series.starts.astype(np.int64, copy=False),
        series.ends.astype(np.int64, copy=False),
        split_bounds,
        split_begins,
        split_factors,
        split_multipliers,
        dividend_bounds,
        dividend_begins,
        cash,
        reference,
        closes,
        starts,
        prices,
        volumes,
        skips,
        used_closes,
    )
    skipped: list[SkippedDividend] = []
    if dividends and skips.any():
        skipped = [
            _skipped(dividends, index, no_bar=skips[index] == 1, close=float(used_closes[index]))
            for index in np.flatnonzero(skips).tolist()
        ]
        skipped.sort(key=lambda entry: (entry.symbol, entry.ex_date))
    return _RunFactors(
        starts[:runs], prices[:runs], volumes[:runs], tuple(skipped), dates_are_monotonic=True
    )


def _none(actions: CheckedActions | None) -> bool:
    return actions is None or len(actions.days) == 0


@dataclass(slots=True)
class _Matched:
    """Checked actions of one kind whose symbol has bars, ordered by block, then ex-date."""

    actions: CheckedActions
    rows: Index
    """Their rows in ``actions``."""
    days: I64
    """Ex-dates, days since 1970-01-01."""
    bounds: list[int]
    """``bounds[k]:bounds[k + 1]`` are the actions of block ``k``."""
    begins: I64 = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    """The instant each ex-date begins in the exchange time zone (UTC microseconds), set
    by :meth:`locate` where dates never step back."""

    @classmethod
    def of(cls, actions: CheckedActions | None, series: Series) -> _Matched | None:
        if actions is None or len(actions.days) == 0:
            return None
        blocks = {name: block for block, name in enumerate(series.names)}
        block_of = np.array([blocks.get(name, -1) for name in actions.symbols])[actions.codes]
        # Stable: within a block, actions stay in ex-date order.
        rows = np.argsort(block_of, kind="stable")[np.count_nonzero(block_of < 0) :]
        bounds = np.searchsorted(block_of[rows], np.arange(len(series.names) + 1)).tolist()
        return cls(actions, rows, actions.days[rows], bounds)

    @staticmethod
    def locate(zone: OffsetTable, kinds: list[_Matched]) -> None:
        """Set the ``begins`` of every kind with one look-up in the zone's transitions."""
        days = np.concatenate([matched.days for matched in kinds])
        begins = zone.first_instants_showing(days * MICROS_PER_DAY)
        for matched, piece in zip(
            kinds, np.split(begins, np.cumsum([len(m.days) for m in kinds])[:-1]), strict=True
        ):
            matched.begins = piece

    def block(self, block: int) -> slice:
        return slice(self.bounds[block], self.bounds[block + 1])

    def amounts(self, name: str, picked: slice) -> F64:
        values: F64 = self.actions.amounts[name][self.rows[picked]]
        return values


def _suffix_products(factors: F64) -> F64:
    """``out[i]`` = product of ``factors[i:]``, multiplied from the last back; 1 at the end."""
    products = np.ones(len(factors) + 1)
    np.multiply.accumulate(factors[::-1], out=products[-2::-1])
    return products


def _skipped(dividends: _Matched, index: int, *, no_bar: bool, close: float) -> SkippedDividend:
    """The report's entry for the ``index``-th matched dividend, left out because it has no
    earlier bar (``no_bar``) or its cash amount is not below ``close``."""
    actions = dividends.actions
    row = int(dividends.rows[index])
    return SkippedDividend(
        symbol=actions.symbols[int(actions.codes[row])],
        ex_date=_EPOCH + timedelta(days=int(actions.days[row])),
        cash_amount=float(actions.amounts[CASH_AMOUNT][row]),
        reason=SkipReason.NO_EARLIER_BAR if no_bar else SkipReason.CASH_NOT_BELOW_CLOSE,
        close=None if no_bar else close,
    )


class _Runs:
    """Runs of rows in a zone whose dates step back (a clock set back across midnight),
    built block by block: each row is its own run, keyed by its local date. Elsewhere
    :func:`_compiled_runs` finds the runs by position."""

    def __init__(self, series: Series, zone: OffsetTable, closes: F64) -> None:
        self.series = series
        self.zone = zone
        self.closes = closes
        self.starts: list[Index] = []
        self.prices: list[F64] = []
        self.volumes: list[F64] = []
        self.skipped: list[SkippedDividend] = []

    def add_block(self, block: int, splits: _Matched | None, dividends: _Matched | None) -> None:
        """The runs of one symbol's rows and their factors: an action applies to a row
        when the row's local date is before the action's ex-date."""
        begin, end = int(self.series.starts[block]), int(self.series.ends[block])
        split_slice = splits.block(block) if splits else _NONE
        dividend_slice = dividends.block(block) if dividends else _NONE
        if split_slice.start == split_slice.stop and dividend_slice.start == dividend_slice.stop:
            self.starts.append(np.array([begin], dtype=np.intp))
            self.prices.append(np.ones(1))
            self.volumes.append(np.ones(1))
            return
        local_days = self.zone.local(self.series.times[begin:end]) // MICROS_PER_DAY
        keys: list[I64] = []
        factors: list[F64] = []
        multipliers: list[F64] = []
        if splits and split_slice.start < split_slice.stop:
            keys.append(splits.days[split_slice])
            ratio_from = splits.amounts(SPLIT_FROM, split_slice)
            ratio_to = splits.amounts(SPLIT_TO, split_slice)
            factors.append(ratio_from / ratio_to)
            multipliers.append(ratio_to / ratio_from)
        if dividends and dividend_slice.start < dividend_slice.stop:
            # The last row dated before an ex-date: where the suffix minimum is below it.
            earliest_after = np.minimum.accumulate(local_days[::-1])[::-1]
            positions = np.searchsorted(earliest_after, dividends.days[dividend_slice])
            kept, paid = self._dividend_factors(dividends, dividend_slice, positions, begin)
            keys.append(dividends.days[dividend_slice][kept])
            factors.append(paid)
            multipliers.append(np.ones(len(paid)))
        if len(keys) == 1:
            key, factor, multiplier = keys[0], factors[0], multipliers[0]
        else:  # splits and dividends together, in ex-date (so key) order
            order = np.argsort(np.concatenate(keys), kind="stable")
            key = np.concatenate(keys)[order]
            factor, multiplier = np.concatenate(factors)[order], np.concatenate(multipliers)[order]
        applies_from = np.searchsorted(key, local_days, side="right")
        self.starts.append(np.arange(begin, end, dtype=np.intp))
        self.prices.append(_suffix_products(factor)[applies_from])
        self.volumes.append(_suffix_products(multiplier)[applies_from])

    def _dividend_factors(
        self, dividends: _Matched, picked: slice, positions: Index, begin: int
    ) -> tuple[npt.NDArray[np.bool_], F64]:
        """Which dividends of a block apply and their factors ``1 - cash / C``; the others
        go to the report. ``positions``: rows of the block before each ex-date."""
        cash = dividends.amounts(CASH_AMOUNT, picked)
        if REFERENCE_CLOSE in dividends.actions.amounts:
            close = dividends.amounts(REFERENCE_CLOSE, picked)
        else:
            close = np.full(len(cash), np.nan)
        from_bars = np.isnan(close) & (positions > 0)
        close[from_bars] = self.closes[begin + positions[from_bars] - 1]
        no_bar = np.isnan(close)
        with np.errstate(invalid="ignore"):
            too_large = ~no_bar & (cash >= close)
        kept = ~(no_bar | too_large)
        if not kept.all():
            self._skip(dividends, picked, no_bar, too_large, close)
        return kept, 1.0 - cash[kept] / close[kept]

    def _skip(
        self,
        dividends: _Matched,
        picked: slice,
        no_bar: npt.NDArray[np.bool_],
        too_large: npt.NDArray[np.bool_],
        closes: F64,
    ) -> None:
        first = picked.start or 0
        for index in np.flatnonzero(no_bar | too_large).tolist():
            self.skipped.append(
                _skipped(
                    dividends, first + index, no_bar=bool(no_bar[index]), close=float(closes[index])
                )
            )

    def factors(self) -> tuple[I64, F64, F64]:
        """Each run's first row, price factor and volume multiplier, every block's."""
        starts = self.starts[0] if len(self.starts) == 1 else np.concatenate(self.starts)
        prices = self.prices[0] if len(self.prices) == 1 else np.concatenate(self.prices)
        volumes = self.volumes[0] if len(self.volumes) == 1 else np.concatenate(self.volumes)
        return starts.astype(np.int64, copy=False), prices, volumes


@dataclass(frozen=True, slots=True)
class AdjustmentPlan:
    """Checked bars and the factor of each run of their rows: what adjusting multiplies."""

    series: Series
    runs: _RunFactors

    def apply(self) -> pa.Table:
        """The bars with every price multiplied by its run's factor and volumes by its
        run's multiplier, one compiled pass per column; columns whose factors are all 1
        are kept as they are."""
        series, runs = self.series, self.runs
        loops = compiled_loops()
        table = series.table
        columns = table.columns
        names = table.schema.names
        if (runs.prices != 1.0).any():
            for index, name in enumerate(names):
                if name not in _PRICES:
                    continue
                if not columns[index].null_count:
                    result, values = _output(pa.float64(), series.rows)
                    loops.scale_runs(values_of(columns[index]), values, runs.starts, runs.prices)
                    columns[index] = result
                else:  # vwap with nulls: keep them
                    columns[index] = pc.multiply(columns[index], pa.array(self.row_factors()))
        volume = self.adjusted_volume()
        if volume is not None:
            columns[names.index(VOLUME)] = volume
        return pa.Table.from_arrays(columns, schema=table.schema)

    def row_factors(self, begin: int = 0, end: int | None = None) -> F64:
        """The price factor of each row from ``begin`` to ``end``."""
        end = self.series.rows if end is None else end
        starts = self.runs.starts
        first = int(np.searchsorted(starts, begin, side="right")) - 1
        last = int(np.searchsorted(starts, end, side="left"))
        bounds = np.clip(np.append(starts[first:last], end), begin, end)
        factors: F64 = np.repeat(self.runs.prices[first:last], np.diff(bounds))
        return factors

    def adjusted_volume(self) -> pa.Array | None:
        """The volume column adjusted (``None`` when every multiplier is 1)."""
        if not (self.runs.volumes != 1.0).any():
            return None
        column = self.series.table.column(VOLUME)
        return _adjusted_volume(values_of(column), self.runs.volumes, self.runs.starts)


_NONE: Final = slice(0, 0)
_ALL: Final = slice(None)
_NO_DAYS: Final = np.empty(0, dtype=np.int64)
_NO_CLOSES: Final = np.empty(0)
_PRICES: Final = frozenset((*PRICE_COLUMNS, VWAP))


def _adjusted_volume(volume: I64, multipliers: F64, starts: Index) -> pa.Array:
    """``volume`` x each run's multiplier, rounded half to even: in integers where the
    multiplier is whole (forward splits), else in floats; an error if it overflows."""
    result, values = _output(pa.int64(), len(volume))
    row = compiled_loops().scale_volume_runs(volume, values, starts, multipliers)
    if row >= 0:
        raise volume_overflow(volume, multipliers, starts, row)
    return result


def volume_overflow(volume: I64, multipliers: F64, starts: Index, row: int) -> InvalidBarsError:
    """The error for the volume of ``row`` grown beyond int64 by its run's multiplier."""
    run = int(np.searchsorted(starts, row, side="right")) - 1
    return InvalidBarsError(
        f"volume at row {row} adjusted for splits "
        f"({float(volume[row]) * float(multipliers[run]):.3g}) exceeds int64",
        row=row,
        column=VOLUME,
    )


def _output(kind: pa.DataType, rows: int) -> tuple[pa.Array, npt.NDArray[Any]]:
    """A null-free Arrow array of ``rows`` values and a writable NumPy view to fill it.

    Allocated by Arrow's memory pool (mimalloc or jemalloc), which keeps freed pages for
    the next call: NumPy's ``malloc`` hands megabyte arrays back to the system when they
    are freed, and faulting fresh pages in again costs more than the multiplications.
    """
    buffer = pa.allocate_buffer(rows * kind.byte_width)
    return pa.Array.from_buffers(kind, rows, [None, buffer]), np.frombuffer(
        buffer, dtype=kind.to_pandas_dtype()
    )
