"""Checking and normalising tables of splits and dividends.

Every bad value raises :class:`InvalidBarsError` with ``.row`` (zero-based, in the input
table) and ``.column`` set, the error the ingest already turns into ``file:line``; the
message names the action (kind, symbol, ex-date) and the value rather than the row, so it
reads well after the ingest's ``file:line:`` prefix. When several rows are bad, the
earliest is named. Checks are NumPy reductions over the columns, with one Arrow call per
column at most, so that checking the few actions of a request costs microseconds; masks
locating a bad row are computed only once a reduction has failed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from findata.core._errors import InvalidBarsError
from findata.core._remember import PerTable
from findata.core.actions import (
    ACTION,
    CASH_AMOUNT,
    CURRENCY,
    DIVIDENDS_SCHEMA,
    EX_DATE,
    OPTIONAL_DIVIDEND_COLUMNS,
    PAY_DATE,
    RECORD_DATE,
    REFERENCE_CLOSE,
    SPLIT_FROM,
    SPLIT_TO,
    SPLITS_SCHEMA,
    ActionKind,
)
from findata.core.columns import SYMBOL

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Index = npt.NDArray[np.intp]
Mask = npt.NDArray[np.bool_]

_EPOCH: Final = date(1970, 1, 1)
_FIRST_DAY: Final = (date.min - _EPOCH).days
_LAST_DAY: Final = (date.max - _EPOCH).days
"""Dates a ``datetime.date`` can hold (years 1-9999), so every consumer can read them."""
_OUT_OF_RANGE: Final = "is outside the years 1-9999"
_CURRENCY: Final = re.compile("[A-Z]{3}")
_SPLIT_AMOUNTS: Final = (SPLIT_FROM, SPLIT_TO)
_DIVIDEND_FIELDS: Final = (CASH_AMOUNT, *OPTIONAL_DIVIDEND_COLUMNS)
_REFERENCE_FIELD: Final = pa.field(REFERENCE_CLOSE, pa.float64())


@dataclass(frozen=True, slots=True)
class CheckedActions:
    """Valid actions of one kind with NumPy views of them, sorted by symbol and ex-date."""

    columns: dict[str, pa.Array]
    """The typed columns, in input order."""
    order: Index | None
    """The rows of :attr:`columns` in sorted order (``None``: already sorted)."""
    symbols: list[str]
    """The distinct symbols, ascending."""
    codes: Index
    """Each (sorted) row's symbol, as an index into :attr:`symbols`."""
    days: I64
    """Each (sorted) row's ex-date, in days since 1970-01-01."""
    amounts: dict[str, F64]
    """The float columns of each (sorted) row (NaN where null)."""

    def table(self, schema: pa.Schema) -> pa.Table:
        """The actions as a table of ``schema`` (built on demand: ``adjust_bars`` needs
        only the NumPy views)."""
        table = pa.Table.from_arrays(list(self.columns.values()), schema=schema)
        return table if self.order is None else table.take(pa.array(self.order))


@dataclass(frozen=True, slots=True)
class _Problem:
    row: int
    column: str | None
    message: str


def _raise_earliest(problems: Sequence[_Problem | None]) -> None:
    found = [problem for problem in problems if problem is not None]
    if found:
        first = min(found, key=lambda problem: problem.row)  # ties: the first listed
        raise InvalidBarsError(first.message, row=first.row, column=first.column)


def validate_splits(splits: pa.Table) -> pa.Table:
    """Check ``splits`` and return them in :data:`~findata.core.actions.SPLITS_SCHEMA`,
    sorted by symbol and ex-date (other columns dropped).

    ``split_from`` and ``split_to`` may be integers or floats and must be positive finite
    numbers; ``ex_date`` a date (date32 or date64) in years 1-9999; (symbol, ex_date) unique.
    """
    return check_splits(splits).table(SPLITS_SCHEMA)


def validate_dividends(dividends: pa.Table) -> pa.Table:
    """Check ``dividends`` and return them in :data:`~findata.core.actions.DIVIDENDS_SCHEMA`
    (absent optional columns as nulls), sorted by symbol and ex-date.

    ``cash_amount`` must be a positive finite number, ``currency`` (optional) an ISO 4217
    code such as ``USD``, the dates valid (years 1-9999), (symbol, ex_date) unique. An
    optional ``reference_close`` (see ``adjust_bars``), positive and finite where given,
    is kept as the last column.
    """
    checked = check_dividends(dividends)
    extra = [_REFERENCE_FIELD] if REFERENCE_CLOSE in checked.columns else []
    return checked.table(pa.schema([*DIVIDENDS_SCHEMA, *extra]))


def check_splits(splits: pa.Table) -> CheckedActions:
    """:func:`validate_splits`, keeping the NumPy views computed on the way."""
    return _check(splits, list(SPLITS_SCHEMA), ActionKind.SPLIT, _SPLIT_AMOUNTS)


def check_dividends(dividends: pa.Table) -> CheckedActions:
    """:func:`validate_dividends`, keeping the NumPy views computed on the way."""
    _require_table(dividends, "dividends")
    fields = list(DIVIDENDS_SCHEMA)
    amounts: tuple[str, ...] = (CASH_AMOUNT,)
    if REFERENCE_CLOSE in dividends.column_names:
        fields.append(_REFERENCE_FIELD)
        amounts = (CASH_AMOUNT, REFERENCE_CLOSE)
    return _check(dividends, fields, ActionKind.DIVIDEND, amounts)


checked_splits: Final = PerTable(check_splits)
""":func:`check_splits`, remembered per table object (a symbol's actions come from the
API's cache as the same tables until the data changes)."""
checked_dividends: Final = PerTable(check_dividends)
""":func:`check_dividends`, remembered per table object."""


def validate_actions(actions: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Split a table of mixed actions (an ingest file) into checked splits and dividends.

    Columns: ``symbol``, ``ex_date``, ``action`` (``split`` or ``dividend``, any case),
    ``split_from`` and ``split_to`` (splits), ``cash_amount`` (dividends) and the optional
    dividend columns. A row may not carry the other kind's fields. Errors name the row of
    ``actions``; returns ``(splits, dividends)`` as :func:`validate_splits` and
    :func:`validate_dividends` do.
    """
    _require_table(actions, "actions")
    present = set(actions.column_names)
    _require_columns(present, (SYMBOL, EX_DATE, ACTION), "actions")
    action = _cast(actions, actions.schema.get_field_index(ACTION), pa.string())
    kinds = pc.utf8_lower(pc.utf8_trim_whitespace(action))
    is_split = _mask(pc.equal(kinds, ActionKind.SPLIT.value))
    is_dividend = _mask(pc.equal(kinds, ActionKind.DIVIDEND.value))
    problems: list[_Problem | None] = [
        _first_of(~(is_split | is_dividend), ACTION, "action must be 'split' or 'dividend'")
    ]
    for rows, kind, foreign in (
        (is_split, ActionKind.SPLIT, _DIVIDEND_FIELDS),
        (is_dividend, ActionKind.DIVIDEND, _SPLIT_AMOUNTS),
    ):
        for name in foreign:
            if name in present:
                given = rows & ~_mask(pc.is_null(actions.column(name)))
                problems.append(_first_of(given, name, f"a {kind} has no {name}"))
    _raise_earliest(problems)
    return (
        _on_rows(actions, np.flatnonzero(is_split), SPLITS_SCHEMA, validate_splits),
        _on_rows(actions, np.flatnonzero(is_dividend), DIVIDENDS_SCHEMA, validate_dividends),
    )


def _on_rows(
    actions: pa.Table,
    rows: Index,
    schema: pa.Schema,
    validate: Callable[[pa.Table], pa.Table],
) -> pa.Table:
    """``validate`` on the ``rows`` of ``actions``, its errors naming rows of ``actions``."""
    if len(rows) == 0:  # a file of dividends only need not have the split columns
        return schema.empty_table()
    try:
        return validate(actions.take(pa.array(rows, type=pa.int64())))
    except InvalidBarsError as error:
        row = None if error.row is None else int(rows[error.row])
        raise InvalidBarsError(error.message, row=row, column=error.column) from None


def _require_table(value: object, what: str) -> None:
    if not isinstance(value, pa.Table):
        raise InvalidBarsError(f"{what} must be a pyarrow.Table, not {type(value).__name__}")


def _require_columns(present: set[str], names: Sequence[str], what: str) -> None:
    missing = [name for name in names if name not in present]
    if missing:
        raise InvalidBarsError(
            f"{what}: missing column(s) {', '.join(map(repr, missing))}", column=missing[0]
        )


_READABLE_AS: Final[dict[pa.DataType, tuple[str, Callable[[pa.DataType], bool]]]] = {
    pa.string(): (
        "text",
        lambda kind: (
            pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))
        ),
    ),
    pa.date32(): ("a date", pa.types.is_date),
    pa.float64(): (
        "a number",
        lambda kind: (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        ),
    ),
}


def _cast(table: pa.Table, index: int, target: pa.DataType) -> pa.Array:
    """Column ``index`` as one array of type ``target``, or an error naming the column."""
    column = table.column(index)
    if column.type != target:
        name = table.schema.names[index]
        expected, readable = _READABLE_AS[target]
        if not (pa.types.is_null(column.type) or readable(column.type)):
            raise InvalidBarsError(
                f"column {name!r} has type {column.type}; expected {expected}", column=name
            )
        try:
            column = column.cast(target)  # safe: refuses integers a float cannot hold exactly
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as error:
            raise InvalidBarsError(
                f"column {name!r} of type {column.type} cannot be read as {target}: {error}",
                column=name,
            ) from error
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks() if column.num_chunks else pa.array([], target)


def _check(
    table: pa.Table, fields: list[pa.Field], kind: ActionKind, amounts: tuple[str, ...]
) -> CheckedActions:
    what = "splits" if kind is ActionKind.SPLIT else "dividends"
    _require_table(table, what)
    schema = table.schema
    positions = {field.name: schema.get_field_index(field.name) for field in fields}
    required = [field.name for field in fields if not field.nullable]
    _require_columns({name for name, index in positions.items() if index >= 0}, required, what)
    columns = {
        field.name: _cast(table, positions[field.name], field.type)
        if positions[field.name] >= 0
        else pa.nulls(table.num_rows, field.type)
        for field in fields
    }
    # Symbols as Python strings: an action table is small, and a dictionary of its few
    # distinct symbols is cheaper than Arrow's hashing kernel and a sort of its result.
    symbols = columns[SYMBOL].to_pylist()
    names = sorted({symbol for symbol in symbols if symbol is not None})
    code_of = {name: code for code, name in enumerate(names)}
    codes = np.fromiter((code_of.get(symbol, 0) for symbol in symbols), np.intp, len(symbols))
    days = _days(columns[EX_DATE])
    values = {name: columns[name].to_numpy(zero_copy_only=False) for name in amounts}
    actions = _Actions(columns, kind, days)
    problems: list[_Problem | None] = [
        _first_of(_nulls(columns[name]), name, f"a {kind} has no {name}") for name in required
    ]
    if not all(name.strip() for name in names):
        blank = np.array([not (symbol or "").strip() for symbol in symbols])
        problems.append(_first_of(blank, SYMBOL, f"a {kind} has no symbol"))
    problems.append(actions.first(EX_DATE, _out_of_range(days, columns[EX_DATE]), _OUT_OF_RANGE))
    problems += [
        actions.first(
            name, _not_positive(columns[name], values[name]), "must be a positive finite number"
        )
        for name in amounts
    ]
    if kind is ActionKind.DIVIDEND:
        for name in (PAY_DATE, RECORD_DATE):
            dates = columns[name]
            if dates.null_count < len(dates):
                bad = _out_of_range(_days(dates), dates)
                problems.append(actions.first(name, bad, _OUT_OF_RANGE))
        currencies = _bad_currencies(columns[CURRENCY])
        problems.append(actions.first(CURRENCY, currencies, "is not a code like 'USD'"))
    order = np.lexsort((days, codes))
    problems.append(actions.repeated(order, codes[order], days[order]))
    _raise_earliest(problems)
    if not np.any(order[1:] < order[:-1]):
        return CheckedActions(columns, None, names, codes, days, values)
    sorted_values = {name: column[order] for name, column in values.items()}
    return CheckedActions(columns, order, names, codes[order], days[order], sorted_values)


@dataclass(frozen=True, slots=True)
class _Actions:
    """Typed columns of actions, for describing their bad rows."""

    columns: dict[str, pa.Array]
    kind: ActionKind
    days: I64

    def describe(self, row: int) -> str:
        """``split of 'AAPL' on 2020-08-31``: the action of ``row``, as a user names it."""
        day = int(self.days[row])
        on = _EPOCH + timedelta(days=day) if _FIRST_DAY <= day <= _LAST_DAY else f"day {day}"
        return f"{self.kind} of {self.columns[SYMBOL][row].as_py()!r} on {on}"

    def repeated(self, order: Index, codes: Index, days: I64) -> _Problem | None:
        """The first row repeating an earlier row's symbol and ex-date (rows in ``order``
        sort by both: ``codes`` and ``days`` are in that order)."""
        repeated = (codes[1:] == codes[:-1]) & (days[1:] == days[:-1])
        if not repeated.any():
            return None
        row = int(np.maximum(order[1:], order[:-1])[repeated].min())
        message = f"{self.describe(row)}: a second {self.kind} of that symbol on that date"
        return _Problem(row, EX_DATE, message)

    def first(self, name: str, bad: Mask | None, problem: str) -> _Problem | None:
        """The first row flagged in ``bad`` (``None``: no row is), with its value."""
        if bad is None or not bad.any():
            return None
        row = int(np.argmax(bad))
        column = self.columns[name]
        if pa.types.is_date(column.type):  # out of range: beyond what datetime.date holds
            shown = f"{column.cast(pa.int32())[row].as_py()} days from 1970-01-01"
        else:
            shown = repr(column[row].as_py())
        return _Problem(row, name, f"{self.describe(row)}: {name} {problem}, not {shown}")


def _days(dates: pa.Array) -> I64:
    """Days since 1970-01-01 of a date32 array, 0 where null."""
    days = dates.view(pa.int32())
    if days.null_count:
        days = days.fill_null(0)
    values: I64 = days.to_numpy().astype(np.int64)
    return values


def _nulls(column: pa.Array) -> Mask | None:
    return _mask(column.is_null()) if column.null_count else None


def _out_of_range(days: I64, dates: pa.Array) -> Mask | None:
    """Rows of ``dates`` (as ``days``, nulls as 0) a ``datetime.date`` cannot hold."""
    if len(days) == 0 or (days.min() >= _FIRST_DAY and days.max() <= _LAST_DAY):
        return None
    bad: Mask = (days < _FIRST_DAY) | (days > _LAST_DAY)
    return bad & ~_mask(dates.is_null()) if dates.null_count else bad


def _not_positive(numbers: pa.Array, values: F64) -> Mask | None:
    """Rows of ``numbers`` (as ``values``, nulls as NaN) that are not positive finite
    numbers; null rows are the null check's (NaN from the data is not null)."""
    if np.isfinite(values.sum()) and values.min(initial=np.inf) > 0:
        return None
    with np.errstate(invalid="ignore"):
        bad: Mask = ~(np.isfinite(values) & (values > 0))
    return bad & _mask(numbers.is_valid()) if numbers.null_count else bad


def _bad_currencies(currencies: pa.Array) -> Mask | None:
    """Rows whose currency is not three capital letters, checked once per distinct value."""
    if currencies.null_count == len(currencies):
        return None
    distinct = [value for value in currencies.unique().to_pylist() if value is not None]
    bad = [value for value in distinct if not _CURRENCY.fullmatch(value)]
    return _mask(pc.is_in(currencies, value_set=pa.array(bad, pa.string()))) if bad else None


def _mask(values: pa.Array | pa.ChunkedArray) -> Mask:
    """A boolean Arrow result as NumPy, nulls as False."""
    if values.null_count:
        values = pc.fill_null(values, False)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    mask: Mask = values.to_numpy(zero_copy_only=False)
    return mask


def _first_of(mask: Mask | None, column: str, message: str) -> _Problem | None:
    if mask is None or not mask.any():
        return None
    return _Problem(int(np.argmax(mask)), column, message)
