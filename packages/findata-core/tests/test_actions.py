"""validate_splits, validate_dividends, validate_actions: the corporate-action contract.

Errors carry ``.row`` (zero-based, in the input) and ``.column`` so that the ingest can
name ``file:line``; messages name the action and the value.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pyarrow as pa
import pytest

from findata.core import (
    DIVIDENDS_SCHEMA,
    SPLITS_SCHEMA,
    InvalidBarsError,
    actions,
    validate_actions,
    validate_dividends,
    validate_splits,
)

JUNE = [date(2024, 6, day) for day in range(1, 31)]


def _table(columns: dict[str, Any], types: dict[str, pa.DataType] | None = None) -> pa.Table:
    types = types or {}
    return pa.table({name: pa.array(values, types.get(name)) for name, values in columns.items()})


def _far_date(days: int) -> pa.Array:
    """A date32 beyond what ``datetime.date`` holds (``days`` since 1970-01-01)."""
    return pa.array([days], pa.int32()).view(pa.date32())


def test_given_splits_in_any_order_when_validating_then_they_are_typed_and_sorted() -> None:
    # GIVEN integer ratios, an extra column, rows out of order
    splits = _table(
        {
            "symbol": ["BBB", "AAA", "AAA"],
            "ex_date": [JUNE[3], JUNE[9], JUNE[1]],
            "split_from": [1, 10, 1],
            "split_to": [4, 1, 2],
            "note": ["x", "y", "z"],
        }
    )
    # WHEN
    valid = validate_splits(splits)
    # THEN
    assert valid.schema == SPLITS_SCHEMA
    assert valid.to_pylist() == [
        {"symbol": "AAA", "ex_date": JUNE[1], "split_from": 1.0, "split_to": 2.0},
        {"symbol": "AAA", "ex_date": JUNE[9], "split_from": 10.0, "split_to": 1.0},
        {"symbol": "BBB", "ex_date": JUNE[3], "split_from": 1.0, "split_to": 4.0},
    ]


@pytest.mark.parametrize(
    ("column", "value", "shown"),
    [
        ("split_from", 0.0, "0.0"),
        ("split_from", -2.0, "-2.0"),
        ("split_to", float("nan"), "nan"),
        ("split_to", float("inf"), "inf"),
    ],
)
def test_given_a_ratio_that_is_not_positive_and_finite_when_validating_then_its_row_is_named(
    column: str, value: float, shown: str
) -> None:
    # GIVEN the bad value on the third row
    columns: dict[str, Any] = {
        "symbol": ["AAA", "AAA", "BBB"],
        "ex_date": JUNE[:3],
        "split_from": [1.0, 1.0, 1.0],
        "split_to": [2.0, 2.0, 2.0],
    }
    columns[column][2] = value
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_splits(_table(columns))
    assert (caught.value.row, caught.value.column) == (2, column)
    assert caught.value.message == (
        f"split of 'BBB' on 2024-06-03: {column} must be a positive finite number, not {shown}"
    )


def test_given_a_missing_value_when_validating_then_its_row_is_named() -> None:
    # GIVEN no split_to on the second row
    splits = _table(
        {"symbol": ["A", "B"], "ex_date": JUNE[:2], "split_from": [1, 1], "split_to": [2, None]}
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="a split has no split_to") as caught:
        validate_splits(splits)
    assert (caught.value.row, caught.value.column) == (1, "split_to")


def test_given_several_bad_rows_when_validating_then_the_earliest_is_named() -> None:
    # GIVEN a null ex_date on row 3 and a negative ratio on row 1
    splits = _table(
        {
            "symbol": ["A", "B", "C", "D"],
            "ex_date": [JUNE[0], JUNE[1], JUNE[2], None],
            "split_from": [1, -1, 1, 1],
            "split_to": [2, 2, 2, 2],
        }
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_splits(splits)
    assert (caught.value.row, caught.value.column) == (1, "split_from")


def test_given_a_repeated_symbol_and_ex_date_when_validating_then_the_repeat_is_named() -> None:
    # GIVEN AAA on June 2 twice (rows 1 and 3)
    splits = _table(
        {
            "symbol": ["AAA", "AAA", "BBB", "AAA"],
            "ex_date": [JUNE[0], JUNE[1], JUNE[1], JUNE[1]],
            "split_from": [1, 1, 1, 1],
            "split_to": [2, 2, 2, 3],
        }
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_splits(splits)
    assert (caught.value.row, caught.value.column) == (3, "ex_date")
    assert "second split of that symbol on that date" in caught.value.message


def test_given_an_empty_symbol_when_validating_then_its_row_is_named() -> None:
    # GIVEN
    splits = _table(
        {"symbol": ["AAA", " "], "ex_date": JUNE[:2], "split_from": [1, 1], "split_to": [2, 2]}
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="has no symbol") as caught:
        validate_splits(splits)
    assert (caught.value.row, caught.value.column) == (1, "symbol")


def test_given_a_date_beyond_year_9999_when_validating_then_its_row_is_named() -> None:
    # GIVEN day 3,000,000 after 1970 (year 10183)
    splits = pa.table(
        {
            "symbol": ["AAA", "AAA"],
            "ex_date": pa.concat_arrays([pa.array([JUNE[0]], pa.date32()), _far_date(3_000_000)]),
            "split_from": [1.0, 1.0],
            "split_to": [2.0, 2.0],
        }
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="outside the years 1-9999") as caught:
        validate_splits(splits)
    assert (caught.value.row, caught.value.column) == (1, "ex_date")


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("ex_date", ["2024-06-01"], "has type string; expected a date"),
        ("split_to", ["2"], "has type string; expected a number"),
        ("symbol", [1], "has type int64; expected text"),
    ],
)
def test_given_a_column_of_the_wrong_type_when_validating_then_the_column_is_named(
    column: str, values: list[object], expected: str
) -> None:
    # GIVEN
    columns: dict[str, Any] = {
        "symbol": ["AAA"],
        "ex_date": [JUNE[0]],
        "split_from": [1.0],
        "split_to": [2.0],
    }
    columns[column] = values
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match=expected) as caught:
        validate_splits(_table(columns))
    assert caught.value.column == column


def test_given_a_missing_column_when_validating_then_it_is_named() -> None:
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="missing column") as caught:
        validate_splits(_table({"symbol": ["A"], "ex_date": [JUNE[0]], "split_from": [1]}))
    assert caught.value.column == "split_to"


def test_given_dividends_without_optional_columns_when_validating_then_they_are_nulls() -> None:
    # GIVEN
    dividends = _table({"symbol": ["AAA"], "ex_date": [JUNE[4]], "cash_amount": [0.24]})
    # WHEN
    valid = validate_dividends(dividends)
    # THEN
    assert valid.schema == DIVIDENDS_SCHEMA
    assert valid.to_pylist() == [
        {
            "symbol": "AAA",
            "ex_date": JUNE[4],
            "cash_amount": 0.24,
            "currency": None,
            "pay_date": None,
            "record_date": None,
        }
    ]


def test_given_a_reference_close_when_validating_dividends_then_it_is_kept_and_checked() -> None:
    # GIVEN
    dividends = _table(
        {
            "symbol": ["AAA", "AAA"],
            "ex_date": JUNE[:2],
            "cash_amount": [0.2, 0.2],
            "reference_close": [None, 50.0],
        }
    )
    # WHEN
    valid = validate_dividends(dividends)
    # THEN
    assert valid.schema.names == [*DIVIDENDS_SCHEMA.names, actions.REFERENCE_CLOSE]
    assert valid.column("reference_close").to_pylist() == [None, 50.0]
    # AND a reference close of zero is refused
    bad = dividends.set_column(3, "reference_close", pa.array([0.0, None]))
    with pytest.raises(InvalidBarsError, match="reference_close must be a positive") as caught:
        validate_dividends(bad)
    assert (caught.value.row, caught.value.column) == (0, "reference_close")


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("cash_amount", 0.0, "cash_amount must be a positive finite number, not 0.0"),
        ("cash_amount", float("-inf"), "cash_amount must be a positive finite number, not -inf"),
        ("currency", "usd", "currency is not a code like 'USD', not 'usd'"),
        ("currency", "US Dollar", "currency is not a code like 'USD', not 'US Dollar'"),
    ],
)
def test_given_a_bad_dividend_value_when_validating_then_its_row_is_named(
    column: str, value: object, expected: str
) -> None:
    # GIVEN the bad value on the second row
    columns: dict[str, Any] = {
        "symbol": ["AAA", "AAA"],
        "ex_date": JUNE[:2],
        "cash_amount": [0.2, 0.3],
        "currency": ["USD", None],
    }
    columns[column][1] = value
    # WHEN / THEN
    with pytest.raises(InvalidBarsError) as caught:
        validate_dividends(_table(columns))
    assert (caught.value.row, caught.value.column) == (1, column)
    assert caught.value.message == f"dividend of 'AAA' on 2024-06-02: {expected}"


def test_given_a_pay_date_beyond_year_9999_when_validating_then_its_row_is_named() -> None:
    # GIVEN
    dividends = pa.table(
        {
            "symbol": ["AAA"],
            "ex_date": pa.array([JUNE[0]], pa.date32()),
            "cash_amount": [0.2],
            "pay_date": _far_date(4_000_000),
        }
    )
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match="pay_date is outside") as caught:
        validate_dividends(dividends)
    assert (caught.value.row, caught.value.column) == (0, "pay_date")


MIXED = {
    "symbol": ["AAA", "AAA", "BBB", "AAA"],
    "ex_date": [JUNE[9], JUNE[9], JUNE[2], JUNE[1]],
    "action": ["split", "Dividend", "DIVIDEND", " split "],
    "split_from": [1, None, None, 1],
    "split_to": [4, None, None, 2],
    "cash_amount": [None, 0.25, 0.5, None],
    "currency": [None, "USD", None, None],
}


def test_given_mixed_actions_when_validating_then_they_split_by_kind() -> None:
    # GIVEN a split and a dividend of AAA on the same day (allowed: different kinds)
    table = _table(MIXED)
    # WHEN
    splits, dividends = validate_actions(table)
    # THEN
    assert splits.to_pylist() == [
        {"symbol": "AAA", "ex_date": JUNE[1], "split_from": 1.0, "split_to": 2.0},
        {"symbol": "AAA", "ex_date": JUNE[9], "split_from": 1.0, "split_to": 4.0},
    ]
    assert [
        (row["symbol"], row["cash_amount"], row["currency"]) for row in dividends.to_pylist()
    ] == [
        ("AAA", 0.25, "USD"),
        ("BBB", 0.5, None),
    ]


@pytest.mark.parametrize(
    ("column", "row", "value", "message"),
    [
        ("action", 2, "spinoff", "action must be 'split' or 'dividend'"),
        ("cash_amount", 0, 1.5, "a split has no cash_amount"),
        ("split_to", 1, 2, "a dividend has no split_to"),
        ("cash_amount", 2, -0.5, "dividend of 'BBB' on 2024-06-03: cash_amount must be"),
        ("split_from", 3, 0, "split of 'AAA' on 2024-06-02: split_from must be"),
    ],
)
def test_given_a_bad_mixed_row_when_validating_then_the_row_of_the_file_is_named(
    column: str, row: int, value: object, message: str
) -> None:
    # GIVEN
    columns = {name: list(values) for name, values in MIXED.items()}
    columns[column][row] = value
    # WHEN / THEN
    with pytest.raises(InvalidBarsError, match=message) as caught:
        validate_actions(_table(columns))
    assert (caught.value.row, caught.value.column) == (row, column)


def test_given_dividends_only_when_validating_mixed_actions_then_no_split_columns_are_needed() -> (
    None
):
    # GIVEN
    table = _table(
        {"symbol": ["AAA"], "ex_date": [JUNE[0]], "action": ["dividend"], "cash_amount": [0.1]}
    )
    # WHEN
    splits, dividends = validate_actions(table)
    # THEN
    assert splits.num_rows == 0
    assert splits.schema == SPLITS_SCHEMA
    assert dividends.column("cash_amount").to_pylist() == [0.1]
