"""Corporate actions in a store: the contract both stores meet, and what a write checks.

Actions are kept apart from ``Store`` (a protocol the API and tests implement) so that a
store without them still is one; both findata stores implement :class:`ActionStore`.
Splits and dividends come back in findata-core's ``SPLITS_SCHEMA`` / ``DIVIDENDS_SCHEMA``,
sorted by symbol and ex-date, ready for ``findata.core.adjust_bars`` (ADR 0071).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import pyarrow as pa
import pyarrow.compute as pc

from findata.core import InvalidBarsError, validate_dividends, validate_splits
from findata.core.actions import DIVIDENDS_SCHEMA, EX_DATE, SPLITS_SCHEMA
from findata.core.columns import SYMBOL
from findata.db._validate import SYMBOL_PATTERN


@dataclasses.dataclass(frozen=True, slots=True)
class ActionCounts:
    """How many splits and dividends a store holds for one symbol."""

    symbol: str
    splits: int
    dividends: int


@runtime_checkable
class ActionStore(Protocol):
    """A store of corporate actions, unique per (symbol, ex_date) and kind.

    Reads take inclusive ``start``/``end`` ex-dates (``None``: unbounded) and return
    every asked-for symbol's actions, symbols without any contributing no row.
    """

    async def read_splits(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        """Splits in ``SPLITS_SCHEMA``, sorted by symbol and ex-date."""
        ...

    async def read_dividends(
        self,
        symbols: Sequence[str],
        start: dt.date | None = None,
        end: dt.date | None = None,
    ) -> pa.Table:
        """Dividends in ``DIVIDENDS_SCHEMA``, sorted by symbol and ex-date."""
        ...

    async def write_actions(self, splits: pa.Table | None, dividends: pa.Table | None) -> int:
        """Upsert both tables in one transaction (all or nothing): an action of a
        (symbol, ex_date) already stored replaces it. Returns the rows written; any
        write changes the data version."""
        ...

    async def action_counts(self) -> dict[str, ActionCounts]:
        """Per symbol with any action, how many of each kind it has."""
        ...


@dataclasses.dataclass(frozen=True, slots=True)
class CheckedActions:
    """Splits and dividends as a store writes them (checked, typed, sorted)."""

    splits: pa.Table
    dividends: pa.Table

    @property
    def rows(self) -> int:
        return int(self.splits.num_rows + self.dividends.num_rows)


def check_actions(splits: pa.Table | None, dividends: pa.Table | None) -> CheckedActions:
    """Core's checks plus the store's symbol rule; ``InvalidBarsError`` names the row."""
    checked_splits = SPLITS_SCHEMA.empty_table() if splits is None else validate_splits(splits)
    checked_dividends = (
        DIVIDENDS_SCHEMA.empty_table() if dividends is None else validate_dividends(dividends)
    )
    for given, checked in ((splits, checked_splits), (dividends, checked_dividends)):
        if given is not None:
            _check_symbols(given, checked)
    return CheckedActions(checked_splits, checked_dividends.select(DIVIDENDS_SCHEMA.names))


def _check_symbols(given: pa.Table, checked: pa.Table) -> None:
    """Symbols follow the bars' pattern; the error names the row of ``given``."""
    names = checked.column(SYMBOL).unique()
    bad = [name for name, ok in zip(names.to_pylist(), _matches(names), strict=True) if not ok]
    if not bad:
        return
    symbols = given.column(SYMBOL).cast(pa.string())
    row = int(pc.index(symbols, bad[0]).as_py())
    raise InvalidBarsError(
        f"invalid symbol {bad[0]!r} (expected {SYMBOL_PATTERN})", row=row, column=SYMBOL
    )


def _matches(names: pa.Array) -> list[bool]:
    return [bool(value) for value in pc.match_substring_regex(names, SYMBOL_PATTERN).to_pylist()]


def select_actions(
    table: pa.Table, symbols: Sequence[str], start: dt.date | None, end: dt.date | None
) -> pa.Table:
    """The rows of ``symbols`` with an ex-date in [start, end], kept in order."""
    wanted = sorted({symbol.upper() for symbol in symbols})
    mask = pc.is_in(table.column(SYMBOL), value_set=pa.array(wanted, pa.string()))
    if start is not None:
        mask = pc.and_(mask, pc.greater_equal(table.column(EX_DATE), pa.scalar(start)))
    if end is not None:
        mask = pc.and_(mask, pc.less_equal(table.column(EX_DATE), pa.scalar(end)))
    return table.filter(mask)


def count_actions(splits: pa.Table, dividends: pa.Table) -> dict[str, ActionCounts]:
    """Per symbol, its number of splits and dividends (both tables are small)."""
    split_counts = _counts(splits)
    dividend_counts = _counts(dividends)
    return {
        symbol: ActionCounts(symbol, split_counts.get(symbol, 0), dividend_counts.get(symbol, 0))
        for symbol in sorted(split_counts.keys() | dividend_counts.keys())
    }


def _counts(table: pa.Table) -> dict[str, int]:
    counted = pc.value_counts(table.column(SYMBOL)).to_pylist() if table.num_rows else []
    return {entry["values"]: int(entry["counts"]) for entry in counted}
