"""Reading bar files into Arrow string/typed columns, remembering where each row came from.

Real exports carry a UTF-8 BOM, CRLF line ends, quoted fields and column names
in any case; all are accepted. Rows map back to physical lines so that every
error can name ``file:line``.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import dataclasses
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from findata.db._errors import IngestError

_BLANK_LINE: Final = re.compile(rb"\n(?=\r?\n)")
_BLOCK_SIZE: Final = 16 << 20

ProgressCallback = Callable[[int], None]
"""Called with the number of rows just read, for a progress display."""


@dataclasses.dataclass(frozen=True, slots=True)
class RawBars:
    """A file's rows as read, with lower-cased column names, and how to name a row."""

    path: Path
    table: pa.Table
    first_line: int
    """Line (CSV) or row (Parquet) number of the first data row."""
    skipped_lines: tuple[int, ...] = ()
    """Sorted physical lines the reader skipped (blank lines) before or between rows."""

    def line_of(self, row: int) -> int:
        """The physical line (CSV) or 1-based row (Parquet) of zero-based ``row``."""
        line = self.first_line + row
        for skipped in self.skipped_lines:
            if skipped <= line:
                line += 1
            else:
                break
        return line

    def error(self, row: int | None, reason: str) -> IngestError:
        return IngestError(self.path, 0 if row is None else self.line_of(row), reason)


def normalize_name(name: str) -> str:
    """``' Close '``, ``'CLOSE'`` and ``'close'`` all name the ``close`` column."""
    return name.strip().lower().replace(" ", "_")


def read_csv(path: Path, *, progress: ProgressCallback | None = None) -> RawBars:
    """Every column of a CSV file as strings; typing happens later, row by row traceably."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise IngestError(path, 0, f"cannot read file: {error.strerror or error}") from error
    names = _header(path, data)
    blank_lines = _blank_lines(data)
    options = {
        "read_options": pcsv.ReadOptions(column_names=names, skip_rows=1, block_size=_BLOCK_SIZE),
        "convert_options": pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    }
    invalid: list[pcsv.InvalidRow] = []

    def remember(row: pcsv.InvalidRow) -> str:
        invalid.append(row)
        return "skip"

    parse = pcsv.ParseOptions(invalid_row_handler=remember, newlines_in_values=False)
    try:
        reader = pcsv.open_csv(io.BytesIO(data), parse_options=parse, **options)
        batches = []
        for batch in reader:
            batches.append(batch)
            if progress is not None:
                progress(batch.num_rows)
    except (pa.ArrowInvalid, UnicodeDecodeError) as error:
        raise IngestError(path, 0, f"not a readable CSV file: {error}") from error
    table = pa.Table.from_batches(batches, schema=reader.schema)
    if invalid:
        raise _invalid_row_error(path, data, names, options, invalid[0])
    trailing = len(table) + 1 + len(blank_lines)
    return RawBars(path, table, first_line=2, skipped_lines=_inner(blank_lines, trailing))


def _header(path: Path, data: bytes) -> list[str]:
    first_line = data.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise IngestError(path, 1, f"the header is not UTF-8 text: {error}") from error
    rows = list(csv.reader([text.rstrip("\r")]))
    names = [normalize_name(name) for name in rows[0]] if rows else []
    if not any(names):
        raise IngestError(path, 1, "empty header: expected symbol,date|timestamp,open,...")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise IngestError(path, 1, f"duplicate column(s): {', '.join(duplicates)}")
    return names


def _blank_lines(data: bytes) -> list[int]:
    """Physical line numbers of empty lines, which the CSV reader skips."""
    lines: list[int] = []
    line, position = 1, 0
    for match in _BLANK_LINE.finditer(data):
        line += data.count(b"\n", position, match.start() + 1)
        position = match.start() + 1
        lines.append(line)
    return lines


def _inner(blank_lines: list[int], last_line: int) -> tuple[int, ...]:
    return tuple(blank_lines[: bisect.bisect_right(blank_lines, last_line)])


def _invalid_row_error(
    path: Path,
    data: bytes,
    names: list[str],
    options: dict[str, object],
    row: pcsv.InvalidRow,
) -> IngestError:
    """Name the line of a malformed row; only a single-threaded read knows it."""
    number = row.number
    if number is None:
        found: list[int | None] = []

        def first_number(invalid: pcsv.InvalidRow) -> str:
            found.append(invalid.number)
            return "error"

        read_options = pcsv.ReadOptions(column_names=names, skip_rows=1, use_threads=False)
        parse = pcsv.ParseOptions(invalid_row_handler=first_number, newlines_in_values=False)
        convert = options["convert_options"]
        assert isinstance(convert, pcsv.ConvertOptions)
        with contextlib.suppress(pa.ArrowInvalid):
            pcsv.read_csv(io.BytesIO(data), read_options, parse, convert)
        number = found[0] if found else None
    line = 0 if number is None else number
    return IngestError(
        path,
        line,
        f"expected {row.expected_columns} fields, found {row.actual_columns}: {row.text!r}",
    )


def read_parquet(path: Path, *, progress: ProgressCallback | None = None) -> RawBars:
    """A Parquet file's columns (typed as stored) with lower-cased names."""
    try:
        # ParquetFile reads one file directly; read_table would go through pyarrow.dataset.
        schema = pq.read_schema(path)
        # A file holds a handful of symbols over millions of rows: decoding the
        # column as a dictionary skips building a string per row (half the read).
        symbols = [
            field.name
            for field in schema
            if normalize_name(field.name) == "symbol"
            and (pa.types.is_string(field.type) or pa.types.is_large_string(field.type))
        ]
        with pq.ParquetFile(path, read_dictionary=symbols or None) as parquet:
            table = parquet.read()
    except (OSError, pa.ArrowInvalid) as error:
        raise IngestError(path, 0, f"not a readable Parquet file: {error}") from error
    names = [normalize_name(name) for name in table.column_names]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise IngestError(path, 0, f"duplicate column(s): {', '.join(duplicates)}")
    if progress is not None:
        progress(table.num_rows)
    return RawBars(path, table.rename_columns(names), first_line=1)
