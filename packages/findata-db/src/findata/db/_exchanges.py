"""Which exchange each symbol of a file trades on: the ``--exchange`` option or a column.

Exchanges are ISO MICs checked against ``exchange_calendars`` (through
``findata.core.calendars``); an unknown one is an error that says how to list the valid
ones. A file names one exchange per symbol: a symbol with two is rejected at the first
line that contradicts the first.
"""

from __future__ import annotations

from typing import Final

import pyarrow as pa
import pyarrow.compute as pc

from findata.core import InvalidParameterError, calendars
from findata.db._errors import IngestError
from findata.db._readers import RawBars

EXCHANGE: Final = "exchange"
"""Optional column of a bar file: the ISO MIC of the row's symbol."""
LIST_HINT: Final = "`findata exchanges` lists the valid ones"


def check_exchange(exchange: str) -> str:
    """``exchange`` as the calendar library spells it, or an ``InvalidParameterError``
    whose message says how to list the valid names."""
    try:
        return calendars.validate_exchange(exchange)
    except InvalidParameterError as error:
        raise InvalidParameterError(
            "exchange",
            f"unknown exchange {exchange!r}: expected an ISO MIC such as XNYS, XNAS or XLON; "
            f"{LIST_HINT}",
            value=exchange,
            allowed=error.allowed,
        ) from error


def exchange_timezone_of(exchange: str) -> str:
    """The IANA zone of ``exchange``'s calendar (reads the calendar once per process)."""
    return calendars.exchange_timezone(exchange)


def file_exchanges(
    raw: RawBars, symbols: pa.ChunkedArray | pa.Array, exchange: str | None
) -> dict[str, str]:
    """Symbol -> MIC for the rows of ``raw`` (``symbols``: each row's checked symbol).

    ``exchange`` (already checked) names every symbol's; a file with an ``exchange``
    column then is an error, as ``--symbol`` with a ``symbol`` column is. Without either,
    no symbol's exchange is named (stored ones are kept, new ones get the default).
    """
    names = raw.table.column_names
    distinct = sorted(pc.unique(symbols).to_pylist())
    if exchange is not None:
        if EXCHANGE in names:
            raise IngestError(
                raw.path,
                raw.first_line - 1,
                "--exchange was given but the file has an 'exchange' column",
            )
        return dict.fromkeys(distinct, exchange)
    if EXCHANGE not in names:
        return {}
    column = raw.table.column(EXCHANGE)
    if not pa.types.is_string(column.type) and not pa.types.is_large_string(column.type):
        column = column.cast(pa.string())
    column = pc.utf8_trim_whitespace(column)
    pairs = (
        pa.table({"symbol": symbols, EXCHANGE: column})
        .group_by(["symbol", EXCHANGE], use_threads=False)
        .aggregate([])
    )
    checked: dict[str, str] = {}
    for mic in sorted(set(pairs.column(EXCHANGE).to_pylist()), key=str):
        try:
            checked[mic] = check_exchange(mic if mic is not None else "")
        except InvalidParameterError as error:
            raise raw.error(_first_row(column, mic), error.message) from error
    found: dict[str, str] = {}
    for symbol, mic in zip(
        pairs.column("symbol").to_pylist(), pairs.column(EXCHANGE).to_pylist(), strict=True
    ):
        if found.setdefault(symbol, checked[mic]) != checked[mic]:
            raise _conflict(raw, symbols, column, symbol)
    return found


def _conflict(
    raw: RawBars, symbols: pa.ChunkedArray | pa.Array, column: pa.ChunkedArray, symbol: str
) -> IngestError:
    """The error at the first row of ``symbol`` naming another exchange than its first."""
    rows = pc.equal(symbols, symbol)
    first = int(pc.index(rows, True).as_py())
    mic = column[first].as_py()
    other = pc.and_kleene(rows, pc.invert(pc.fill_null(pc.equal(column, mic), False)))
    row = int(pc.index(other, True).as_py())
    return raw.error(
        row,
        f"{symbol} is on exchange {mic} in an earlier row and {column[row].as_py()} here: "
        "a file names one exchange per symbol",
    )


def _first_row(column: pa.ChunkedArray | pa.Array, mic: str | None) -> int:
    if mic is None:
        return int(pc.index(pc.is_null(column), True).as_py())
    return int(pc.index(column, mic).as_py())
