"""``findata ingest actions``: corporate-action files (CSV or Parquet), checked whole, written
atomically.

A file holds ``symbol, ex_date, action`` (``split`` or ``dividend``), ``split_from`` and
``split_to`` (splits), ``cash_amount`` (dividends) and optionally ``currency``,
``pay_date``, ``record_date``; columns in any case, CSV with a BOM or CRLF line ends, as
bar files are read (``_readers``). Values are typed row by row so an error names
``file:line``; then findata-core's ``validate_actions`` checks the whole file, and one
store transaction writes it: a bad file writes nothing, and files before it stay written.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from findata.core import InvalidBarsError, validate_actions
from findata.core.actions import (
    ACTION,
    CASH_AMOUNT,
    CURRENCY,
    EX_DATE,
    PAY_DATE,
    RECORD_DATE,
    SPLIT_FROM,
    SPLIT_TO,
)
from findata.core.columns import SYMBOL
from findata.db._actions import ActionStore
from findata.db._errors import IngestError, StoreError
from findata.db._ingest import IngestResult
from findata.db._readers import RawBars, read_csv, read_parquet
from findata.db._types import Store

logger = logging.getLogger(__name__)

_DATES: Final = (EX_DATE, PAY_DATE, RECORD_DATE)
_NUMBERS: Final = (SPLIT_FROM, SPLIT_TO, CASH_AMOUNT)
_TEXT: Final = (SYMBOL, ACTION, CURRENCY)
_REQUIRED: Final = (SYMBOL, EX_DATE, ACTION)
_KNOWN: Final = (*_TEXT, *_DATES, *_NUMBERS)


async def ingest_actions(
    store: Store,
    paths: Iterable[str | Path],
    *,
    on_file: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest action files (``.parquet`` as Parquet, anything else as CSV), one
    transaction each; raise ``IngestError`` naming ``file:line`` at the first bad file.
    Re-ingesting a file changes nothing; an action of a stored (symbol, ex_date, kind)
    replaces it."""
    if not isinstance(store, ActionStore):
        raise StoreError(f"{store!r} cannot store corporate actions")
    results = []
    for path in map(Path, paths):
        started = time.perf_counter()
        reader = read_parquet if path.suffix.lower() == ".parquet" else read_csv
        raw = await asyncio.to_thread(reader, path)
        splits, dividends = await asyncio.to_thread(checked_actions, raw)
        try:
            rows = await store.write_actions(splits, dividends)
        except InvalidBarsError as error:  # the store's own checks (the symbol rule)
            raise raw.error(error.row, error.message) from error
        named = [*splits.column(SYMBOL).to_pylist(), *dividends.column(SYMBOL).to_pylist()]
        symbols = tuple(sorted(set(named)))
        result = IngestResult(str(path), rows, symbols, time.perf_counter() - started)
        logger.info("ingested %s: %d actions of %s", path, rows, ", ".join(symbols))
        if on_file is not None:
            on_file(result)
        results.append(result)
    return results


def checked_actions(raw: RawBars) -> tuple[pa.Table, pa.Table]:
    """The file's splits and dividends, typed and checked, or ``IngestError`` at file:line."""
    names = raw.table.column_names
    missing = [name for name in _REQUIRED if name not in names]
    if missing:
        raise IngestError(raw.path, raw.first_line - 1, f"missing column(s): {', '.join(missing)}")
    unknown = [name for name in names if name not in _KNOWN]
    if unknown:
        raise IngestError(
            raw.path,
            raw.first_line - 1,
            f"unknown column(s): {', '.join(unknown)} (expected {', '.join(_KNOWN)})",
        )
    columns: dict[str, pa.Array] = {}
    for name in names:
        column = raw.table.column(name).combine_chunks()
        if name in _TEXT:
            columns[name] = _text(raw, name, column)
        elif name in _DATES:
            columns[name] = _typed(raw, name, column, pa.date32(), _parse_date, "a date YYYY-MM-DD")
        else:
            columns[name] = _typed(raw, name, column, pa.float64(), float, "a number")
    try:
        return validate_actions(pa.table(columns))
    except InvalidBarsError as error:
        raise raw.error(error.row, error.message) from error


def _text(raw: RawBars, name: str, column: pa.Array) -> pa.Array:
    """Trimmed text (symbols upper-cased); empty cells are missing values."""
    if pa.types.is_dictionary(column.type):
        column = column.cast(column.type.value_type)
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        if pa.types.is_null(column.type):
            return pa.nulls(len(column), pa.string())
        raise raw.error(None, f"column {name!r} has type {column.type}; expected text")
    trimmed = pc.utf8_trim_whitespace(column.cast(pa.string()))
    if name == SYMBOL:
        trimmed = pc.utf8_upper(trimmed)
    empty = pc.equal(trimmed, "")
    return pc.if_else(empty, pa.scalar(None, pa.string()), trimmed)


def _typed(
    raw: RawBars,
    name: str,
    column: pa.Array,
    target: pa.DataType,
    parse: Callable[[str], object],
    expected: str,
) -> pa.Array:
    """A column as ``target``: text is parsed cell by cell (errors name the line), other
    types are left to the checks of ``validate_actions``."""
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return column
    values: list[object] = []
    for row, cell in enumerate(column.to_pylist()):
        text = (cell or "").strip()
        if not text:
            values.append(None)
            continue
        try:
            values.append(parse(text))
        except ValueError:
            raise raw.error(row, f"{name} must be {expected}, not {cell!r}") from None
    return pa.array(values, target)


def _parse_date(text: str) -> dt.date:
    if len(text) != 10:  # fromisoformat also reads 20240102 and week dates
        raise ValueError(text)
    return dt.date.fromisoformat(text)
