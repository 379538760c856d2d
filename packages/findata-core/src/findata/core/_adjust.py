"""Backward adjustment of bars for splits and cash dividends, as CRSP and Yahoo do it.

A bar's factor is the product over the actions whose ex-date is after the bar's trading
date, so it is constant between two consecutive ex-dates. For each symbol, the rows
before an ex-date are found by one binary search of the instant that date begins in the
exchange's time zone; the factor of each run of rows between two ex-dates is a
cumulative product taken from the last action back (``numpy.multiply.accumulate``); and
each column is multiplied run by run by a scalar, into memory of Arrow's pool. No work
is done per row but the multiplications themselves
(docs/decisions/0070-adjustment-factors-per-run-of-rows.md).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._action_tables import CheckedActions, check_dividends, check_splits
from findata.core._errors import InvalidBarsError
from findata.core._timezones import MICROS_PER_DAY, OffsetTable, offset_table, zone_info
from findata.core._types import DEFAULT_TIMEZONE
from findata.core.actions import (
    CASH_AMOUNT,
    REFERENCE_CLOSE,
    SPLIT_FROM,
    SPLIT_TO,
    Adjustment,
)
from findata.core.columns import (
    CLOSE,
    PERIOD_START,
    PRICE_COLUMNS,
    REQUIRED_BAR_COLUMNS,
    SYMBOL,
    TIMESTAMP,
    TRADE_COUNT,
    UTC_TIMESTAMP,
    VOLUME,
    VWAP,
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]

_EPOCH: Final = date(1970, 1, 1)
_INT64_LIMIT: Final = 2.0**63
_BAR_TYPES: Final = {
    SYMBOL: pa.string(),
    TIMESTAMP: UTC_TIMESTAMP,
    **dict.fromkeys(PRICE_COLUMNS, pa.float64()),
    VOLUME: pa.int64(),
    VWAP: pa.float64(),
    TRADE_COUNT: pa.int64(),
}


class SkipReason(enum.StrEnum):
    """Why a dividend could not adjust the bars before its ex-date."""

    NO_EARLIER_BAR = "no_earlier_bar"
    """No bar before the ex-date (and no ``reference_close``): no close to divide by."""
    CASH_NOT_BELOW_CLOSE = "cash_not_below_close"
    """The cash amount is not below the close before the ex-date: the factor would be <= 0."""


@dataclass(frozen=True, slots=True)
class SkippedDividend:
    """A dividend left out of the adjustment; prices before its ex-date miss its factor."""

    symbol: str
    ex_date: date
    cash_amount: float
    reason: SkipReason
    close: float | None = None
    """The close the cash amount was compared with (``CASH_NOT_BELOW_CLOSE``)."""

    def describe(self) -> str:
        """One line for a warning header or a log."""
        if self.reason is SkipReason.NO_EARLIER_BAR:
            why = "no bar before its ex-date gives the close to divide by"
        else:
            why = f"it is not below the close of {self.close:g} before its ex-date"
        return (
            f"dividend of {self.cash_amount:g} of {self.symbol} on {self.ex_date} "
            f"not applied: {why}"
        )


@dataclass(frozen=True, slots=True)
class AdjustmentReport:
    """What :func:`adjust_bars` could not do, so that a caller can say so (never silently)."""

    adjustment: Adjustment
    skipped_dividends: tuple[SkippedDividend, ...] = field(default=())

    @property
    def warnings(self) -> tuple[str, ...]:
        """One sentence per skipped dividend."""
        return tuple(skipped.describe() for skipped in self.skipped_dividends)


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
    :data:`~findata.core.actions.DIVIDENDS_SCHEMA` (checked by :func:`validate_splits`
    and :func:`validate_dividends`; ``None`` for none). Actions of symbols without bars
    are ignored. Pass every action of a symbol, not only those in the bars' range: bars
    of 2023 adjusted for splits are adjusted for the splits of 2024 too.

    A bar's trading date is its timestamp's date in ``timezone``. Its split factor is the
    product of ``split_from / split_to`` over the splits with an ex-date after that date;
    its dividend factor the product of ``1 - cash_amount / C`` over such dividends, where
    ``C`` is the raw close of the symbol's last bar before the ex-date (intraday: the last
    bar of the previous trading date), or the dividend's ``reference_close`` when given,
    for bars that end before the ex-date. Products run from the latest ex-date back.
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
    adjustment = Adjustment.parse(adjustment)
    zone_info(timezone)
    split_table = None if splits is None else check_splits(splits)
    dividend_table = None if dividends is None else check_dividends(dividends)
    if not adjustment.splits or (split_table is not None and len(split_table.days) == 0):
        split_table = None
    if not adjustment.dividends or (dividend_table is not None and len(dividend_table.days) == 0):
        dividend_table = None
    if split_table is None and dividend_table is None:  # nothing to apply, in any order
        if not isinstance(bars, pa.Table):
            raise InvalidBarsError(f"bars must be a pyarrow.Table, not {type(bars).__name__}")
        return bars, AdjustmentReport(adjustment)
    series = _Series.of(bars)
    if series.rows == 0:
        return bars, AdjustmentReport(adjustment)
    zone = offset_table(
        timezone, int(series.times[series.starts].min()), int(series.times[series.ends - 1].max())
    )
    split_actions = None if split_table is None else _Splits.of(split_table, series, zone)
    dividend_actions = (
        None if dividend_table is None else _Dividends.of(dividend_table, series, zone)
    )
    closes: F64 = _values(bars.column(CLOSE)) if dividend_actions else np.empty(0)
    runs = _Runs()
    for block in range(len(series.starts)):
        runs.add_block(series, zone, block, split_actions, dividend_actions, closes)
    skipped = sorted(runs.skipped, key=lambda entry: (entry.symbol, entry.ex_date))
    return runs.apply(series), AdjustmentReport(adjustment, tuple(skipped))


def _values(column: pa.ChunkedArray) -> npt.NDArray[Any]:
    """A null-free column as numpy, without a copy when it is one chunk."""
    chunk = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    values: npt.NDArray[Any] = chunk.to_numpy()
    return values


@dataclass(frozen=True, slots=True)
class _Series:
    """Checked bars: each symbol's block of rows and the UTC microseconds of every row."""

    table: pa.Table
    times: I64
    starts: Index
    ends: Index
    names: list[str]

    @property
    def rows(self) -> int:
        return len(self.times)

    @classmethod
    def of(cls, bars: pa.Table) -> _Series:
        if not isinstance(bars, pa.Table):
            raise InvalidBarsError(f"bars must be a pyarrow.Table, not {type(bars).__name__}")
        present = set(bars.column_names)
        if TIMESTAMP not in present and PERIOD_START in present:
            raise InvalidBarsError(
                "adjust raw bars (timestamp), then resample them: a bucket spanning an "
                "ex-date cannot be adjusted as a whole",
                column=PERIOD_START,
            )
        for name, kind in _BAR_TYPES.items():
            if name not in present:
                if name in REQUIRED_BAR_COLUMNS:
                    raise InvalidBarsError(f"missing column {name!r}", column=name)
                continue
            column = bars.column(name)
            if column.type != kind:
                raise InvalidBarsError(
                    f"column {name!r} has type {column.type}, not {kind}: "
                    "pass the bars through validate_bars first",
                    column=name,
                )
            if column.null_count and name != VWAP:
                row = int(np.argmax(_values(pc.is_null(column))))
                raise InvalidBarsError(
                    f"column {name!r} is null at row {row}", row=row, column=name
                )
        if bars.num_rows == 0:
            empty = np.empty(0, dtype=np.intp)
            return cls(bars, np.empty(0, dtype=np.int64), empty, empty, [])
        symbols = bars.column(SYMBOL)
        symbols = symbols.chunk(0) if symbols.num_chunks == 1 else symbols.combine_chunks()
        starts = _symbol_starts(symbols)
        names = symbols.take(pa.array(starts)).to_pylist()
        _check_contiguous(names, starts)
        times = _values(bars.column(TIMESTAMP)).view(np.int64)
        _check_increasing(times, starts, names)
        ends = np.append(starts[1:], len(times)).astype(np.intp)
        return cls(bars, times, starts, ends, names)


def _symbol_starts(symbols: pa.StringArray) -> Index:
    """First row of each run of equal symbols. When every row holds the first row's
    symbol (one symbol, as the API reads them) two comparisons of the string bytes with
    themselves shifted by one symbol prove it; else Arrow compares the rows."""
    rows = len(symbols)
    first = symbols[0].as_py().encode()
    width = len(first)
    lengths = pc.min_max(pc.binary_length(symbols))
    if lengths["min"].as_py() == lengths["max"].as_py() == width:
        base = int(
            np.frombuffer(symbols.buffers()[1], np.int32, count=1, offset=symbols.offset * 4)[0]
        )
        data = symbols.buffers()[2]
        if width == 0 or (
            data.slice(base, width).equals(pa.py_buffer(first))
            and data.slice(base + width, width * (rows - 1)).equals(
                data.slice(base, width * (rows - 1))
            )
        ):
            return np.zeros(1, dtype=np.intp)
    changed = pc.indices_nonzero(pc.not_equal(symbols[1:], symbols[:-1]))
    return np.concatenate(([0], changed.to_numpy() + 1)).astype(np.intp)


def _check_contiguous(names: list[str], starts: Index) -> None:
    seen: set[str] = set()
    for name, start in zip(names, starts.tolist(), strict=True):
        if name in seen:
            raise InvalidBarsError(
                f"rows of symbol {name!r} resume at row {start}: each symbol's rows must be "
                "together (validate_bars orders them)",
                row=start,
                column=SYMBOL,
            )
        seen.add(name)


def _check_increasing(times: I64, starts: Index, names: list[str]) -> None:
    steps_back = np.flatnonzero(times[1:] <= times[:-1]) + 1
    if len(steps_back) == 0:
        return
    bad = steps_back[~np.isin(steps_back, starts)]  # a new symbol may start earlier
    if len(bad):
        row = int(bad[0])
        name = names[int(np.searchsorted(starts, row, side="right")) - 1]
        raise InvalidBarsError(
            f"timestamp not after the previous row's for symbol {name!r} at row {row}: "
            "rows of a symbol must have strictly increasing timestamps",
            row=row,
            column=TIMESTAMP,
        )


@dataclass(frozen=True, slots=True)
class _Kind:
    """The actions of one kind whose symbol has bars, ordered by block, then ex-date."""

    rows: Index
    """Their rows in the checked actions (sorted by symbol and ex-date)."""
    days: I64
    """Ex-dates, days since 1970-01-01."""
    begins: I64
    """The instant each ex-date begins in the exchange time zone (UTC microseconds)."""
    bounds: Index
    """``bounds[k]:bounds[k + 1]`` are the actions of block ``k``."""

    @classmethod
    def of(cls, actions: CheckedActions, series: _Series, zone: OffsetTable) -> _Kind:
        blocks = {name: block for block, name in enumerate(series.names)}
        block_of_symbol = np.array([blocks.get(name, -1) for name in actions.symbols])
        block_of = block_of_symbol[actions.codes]
        # Stable: within a block, actions stay in ex-date order.
        rows = np.argsort(block_of, kind="stable")[np.count_nonzero(block_of < 0) :]
        days = actions.days[rows]
        bounds = np.searchsorted(block_of[rows], np.arange(len(series.names) + 1))
        begins = zone.first_instants_showing(days * MICROS_PER_DAY)
        return cls(rows.astype(np.intp), days, begins, bounds.astype(np.intp))

    def block(self, block: int) -> slice:
        return slice(int(self.bounds[block]), int(self.bounds[block + 1]))


@dataclass(frozen=True, slots=True)
class _Splits:
    kind: _Kind
    factors: F64
    """``split_from / split_to`` of each action of ``kind``: the price factor."""
    multipliers: F64
    """``split_to / split_from``: the volume multiplier."""

    @classmethod
    def of(cls, actions: CheckedActions, series: _Series, zone: OffsetTable) -> _Splits:
        kind = _Kind.of(actions, series, zone)
        ratio_from = actions.amounts[SPLIT_FROM][kind.rows]
        ratio_to = actions.amounts[SPLIT_TO][kind.rows]
        return cls(kind, ratio_from / ratio_to, ratio_to / ratio_from)


@dataclass(frozen=True, slots=True)
class _Dividends:
    kind: _Kind
    symbols: list[str]
    """The symbol of each action of ``kind``."""
    cash: F64
    reference: F64
    """``reference_close`` of each action, NaN where not given."""

    @classmethod
    def of(cls, actions: CheckedActions, series: _Series, zone: OffsetTable) -> _Dividends:
        kind = _Kind.of(actions, series, zone)
        symbols = [actions.symbols[code] for code in actions.codes[kind.rows].tolist()]
        cash = actions.amounts[CASH_AMOUNT][kind.rows]
        given = actions.amounts.get(REFERENCE_CLOSE)
        reference = np.full(len(cash), np.nan) if given is None else given[kind.rows]
        return cls(kind, symbols, cash, reference)

    def skipped(self, picked: Index, reason: SkipReason, closes: F64) -> list[SkippedDividend]:
        """Report entries for the actions ``picked`` (indices into ``kind``), compared
        with ``closes`` (one per picked action)."""
        return [
            SkippedDividend(
                symbol=self.symbols[index],
                ex_date=_EPOCH + timedelta(days=int(self.kind.days[index])),
                cash_amount=float(self.cash[index]),
                reason=reason,
                close=None if reason is SkipReason.NO_EARLIER_BAR else close,
            )
            for index, close in zip(picked.tolist(), closes.tolist(), strict=True)
        ]


def _suffix_products(row_keys: npt.NDArray[Any], keys: npt.NDArray[Any], factors: F64) -> F64:
    """For each row key, the product of the ``factors`` whose (ascending) ``keys`` are
    greater, multiplied from the last key back."""
    if len(keys) == 0:
        return np.ones(len(row_keys))
    suffix = np.append(np.multiply.accumulate(factors[::-1])[::-1], 1.0)
    products: F64 = suffix[np.searchsorted(keys, row_keys, side="right")]
    return products


_NONE: Final = slice(0, 0)
_NO_ROWS: Final = np.empty(0, dtype=np.intp)


@dataclass(frozen=True, slots=True)
class _Cuts:
    """Where one symbol's actions fall among its rows (``runs``, relative to its block).

    An action applies to a row when the row's key is below the action's key. Keys are row
    positions when the zone's dates never step back (a row is before an ex-date when it is
    before the instant that date begins: one binary search per action, and one key per
    run of rows), else local dates (one key per row).
    """

    runs: Index
    """First row of each run of rows with the same factors."""
    row_keys: npt.NDArray[Any]
    split_keys: npt.NDArray[Any]
    dividend_keys: npt.NDArray[Any]
    positions: Index
    """Rows before each dividend's ex-date, up to the last one: ``C`` is at that row - 1."""

    @classmethod
    def of(
        cls,
        times: I64,
        zone: OffsetTable,
        splits: tuple[_Kind, slice] | None,
        dividends: tuple[_Kind, slice] | None,
    ) -> _Cuts:
        if zone.dates_are_monotonic:
            split_keys = np.searchsorted(times, splits[0].begins[splits[1]]) if splits else _NO_ROWS
            positions = (
                np.searchsorted(times, dividends[0].begins[dividends[1]]) if dividends else _NO_ROWS
            )
            cuts = np.concatenate((split_keys, positions))
            runs = np.unique(np.concatenate(([0], cuts[(cuts > 0) & (cuts < len(times))])))
            return cls(runs, runs, split_keys, positions, positions)
        # A clock set back across midnight makes dates step back. The last row dated before
        # an ex-date is the last where the suffix minimum of the dates is before it.
        local_days = zone.local(times) // MICROS_PER_DAY
        split_keys = splits[0].days[splits[1]] if splits else _NO_ROWS
        dividend_keys = dividends[0].days[dividends[1]] if dividends else _NO_ROWS
        earliest_after = np.minimum.accumulate(local_days[::-1])[::-1]
        positions = np.searchsorted(earliest_after, dividend_keys)
        runs = np.arange(len(times), dtype=np.intp)
        return cls(runs, local_days, split_keys, dividend_keys, positions)


class _Runs:
    """Runs of rows sharing one price factor and one volume multiplier (a run begins at
    each symbol's first row and at the first row on or after each ex-date)."""

    def __init__(self) -> None:
        self.starts: list[npt.NDArray[np.intp]] = []
        self.prices: list[F64] = []
        self.volumes: list[F64] = []
        self.skipped: list[SkippedDividend] = []

    def add_block(
        self,
        series: _Series,
        zone: OffsetTable,
        block: int,
        splits: _Splits | None,
        dividends: _Dividends | None,
        closes: F64,
    ) -> None:
        begin, end = int(series.starts[block]), int(series.ends[block])
        split_slice = splits.kind.block(block) if splits else _NONE
        dividend_slice = dividends.kind.block(block) if dividends else _NONE
        if split_slice.start == split_slice.stop and dividend_slice.start == dividend_slice.stop:
            self.starts.append(np.array([begin], dtype=np.intp))
            self.prices.append(np.ones(1))
            self.volumes.append(np.ones(1))
            return
        cuts = _Cuts.of(
            series.times[begin:end],
            zone,
            (splits.kind, split_slice) if splits else None,
            (dividends.kind, dividend_slice) if dividends else None,
        )
        price = volume = np.ones(len(cuts.runs))
        if splits:
            price = _suffix_products(cuts.row_keys, cuts.split_keys, splits.factors[split_slice])
            volume = _suffix_products(
                cuts.row_keys, cuts.split_keys, splits.multipliers[split_slice]
            )
        if dividends:
            kept, factors = self._dividend_factors(
                dividends, dividend_slice, cuts.positions, closes[begin:end]
            )
            price = price * _suffix_products(cuts.row_keys, cuts.dividend_keys[kept], factors)
        self.starts.append(cuts.runs + begin)
        self.prices.append(price)
        self.volumes.append(volume)

    def _dividend_factors(
        self, dividends: _Dividends, picked: slice, positions: Index, closes: F64
    ) -> tuple[npt.NDArray[np.bool_], F64]:
        """Which dividends of a block apply and their factors ``1 - cash / C``; the others
        go to the report."""
        cash = dividends.cash[picked]
        close = dividends.reference[picked].copy()
        from_bars = np.isnan(close) & (positions > 0)
        close[from_bars] = closes[positions[from_bars] - 1]
        no_bar = np.isnan(close)
        with np.errstate(invalid="ignore"):
            too_large = ~no_bar & (cash >= close)
        indices = np.arange(picked.start, picked.stop)
        self.skipped += dividends.skipped(indices[no_bar], SkipReason.NO_EARLIER_BAR, close[no_bar])
        self.skipped += dividends.skipped(
            indices[too_large], SkipReason.CASH_NOT_BELOW_CLOSE, close[too_large]
        )
        kept = ~(no_bar | too_large)
        return kept, 1.0 - cash[kept] / close[kept]

    def apply(self, series: _Series) -> pa.Table:
        """``series``' table with every price multiplied by its run's factor and volumes
        by its run's multiplier; columns whose factors are all 1 are kept as they are."""
        starts = np.concatenate(self.starts)
        prices, volumes = np.concatenate(self.prices), np.concatenate(self.volumes)
        runs = _RowRuns(starts, np.diff(starts, append=series.rows))
        table = series.table
        columns: dict[str, pa.ChunkedArray | pa.Array] = {
            name: table.column(name) for name in table.column_names
        }
        if (prices != 1.0).any():
            for name in (*PRICE_COLUMNS, VWAP):
                if name in columns and not columns[name].null_count:
                    columns[name] = runs.scale(_values(table.column(name)), prices)
                elif name in columns:  # vwap with nulls: keep them
                    factors = runs.spread(prices, _output(pa.float64(), series.rows)[1])
                    columns[name] = pc.multiply(table.column(name), pa.array(factors))
        if (volumes != 1.0).any():
            columns[VOLUME] = runs.scale_volume(_values(table.column(VOLUME)), volumes)
        return pa.Table.from_arrays(list(columns.values()), schema=table.schema)


_RUN_BY_RUN: Final = 256
"""Up to this many runs, columns are multiplied run by run, by a scalar: each run's rows
are read and written once while they are in the CPU cache. Beyond, one vectorised pass
per column against a per-row array of factors beats a Python loop over the runs."""


@dataclass(frozen=True, slots=True)
class _RowRuns:
    """Runs of rows sharing a factor: where each begins and how many rows it has."""

    starts: Index
    lengths: Index

    def bounds(self, values: npt.NDArray[Any]) -> list[tuple[int, int, Any]]:
        """``(begin, end, value)`` of every run."""
        begins = self.starts.tolist()
        ends = (self.starts + self.lengths).tolist()
        return list(zip(begins, ends, values.tolist(), strict=True))

    def spread(self, values: npt.NDArray[Any], out: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """``out`` with each run's rows set to the run's value."""
        if len(values) > _RUN_BY_RUN:
            np.copyto(out, np.repeat(values, self.lengths))
        else:
            for begin, end, value in self.bounds(values):
                out[begin:end] = value
        return out

    def scale(self, column: F64, factors: F64) -> pa.Array:
        """``column`` x each run's factor, as a new Arrow array."""
        result, out = _output(pa.float64(), len(column))
        if len(factors) > _RUN_BY_RUN:
            np.multiply(column, np.repeat(factors, self.lengths), out=out)
        else:
            for begin, end, factor in self.bounds(factors):
                np.multiply(column[begin:end], factor, out=out[begin:end])
        return result

    def scale_volume(self, volume: I64, multipliers: F64) -> pa.Array:
        """``volume`` x each run's multiplier, rounded half to even (exact in integers for
        a whole multiplier); an error naming the first row that overflows int64."""
        largest = float(multipliers.max())
        if largest > 1.0 and float(volume.max()) * largest >= _INT64_LIMIT:
            adjusted = volume * np.repeat(multipliers, self.lengths)
            row = int(np.argmax(adjusted >= _INT64_LIMIT))
            raise InvalidBarsError(
                f"volume at row {row} adjusted for splits ({adjusted[row]:.3g}) exceeds int64",
                row=row,
                column=VOLUME,
            )
        result, out = _output(pa.int64(), len(volume))
        if len(multipliers) > _RUN_BY_RUN:
            product = volume * np.repeat(multipliers, self.lengths)
            np.rint(product, out=out, casting="unsafe")
            return result
        scratch = _output(pa.float64(), int(self.lengths.max()))[1]
        for begin, end, multiplier in self.bounds(multipliers):
            if multiplier.is_integer():
                np.multiply(volume[begin:end], int(multiplier), out=out[begin:end])
            else:
                product = np.multiply(volume[begin:end], multiplier, out=scratch[: end - begin])
                np.rint(product, out=out[begin:end], casting="unsafe")
        return result


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
