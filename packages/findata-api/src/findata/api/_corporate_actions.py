"""``/stocks/splits/{symbol}`` and ``/stocks/dividends/{symbol}``: a symbol's corporate actions.

Rows in the four formats, ranged by ``start``/``end`` on the ex-date and paged by it as
the bar endpoints page by time (ADR 0021's keyset cursors, here days since 1970-01-01).
A symbol is known when it has bars or actions: one with bars and no actions answers
``[]``, one with neither 404.
"""

from __future__ import annotations

import re
from typing import Final, Literal

import pyarrow as pa
from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER, negotiate
from findata.api._http import cached_rows_response
from findata.api._paging import paginate
from findata.api._params import Parameter, accepts
from findata.api._problems import invalid_parameter
from findata.api._query import SERIES_PARAMETERS, SYMBOL_PARAMETER, parse_series_query, parse_symbol
from findata.api._ranges import DATE_PATTERN
from findata.api._series import not_found
from findata.api._series_request import next_page_query
from findata.api._state import app_state
from findata.core.actions import (
    CASH_AMOUNT,
    CURRENCY,
    EX_DATE,
    PAY_DATE,
    RECORD_DATE,
    SPLIT_FROM,
    SPLIT_TO,
)
from findata.core.columns import SYMBOL

blueprint = Blueprint("corporate_actions", __name__, url_prefix="/stocks")

_PAGING: Final = tuple(p for p in SERIES_PARAMETERS if p.name in ("limit", "cursor", "sort"))
ACTION_PARAMETERS: Final = (
    SYMBOL_PARAMETER,
    Parameter(
        "start",
        "First ex-date to return, `YYYY-MM-DD`, inclusive.",
        {"type": "string", "pattern": f"^{DATE_PATTERN}$", "examples": ["2020-01-01"]},
    ),
    Parameter(
        "end",
        "Last ex-date to return, `YYYY-MM-DD`, inclusive. After `start`, the answer is empty.",
        {"type": "string", "pattern": f"^{DATE_PATTERN}$", "examples": ["2024-12-31"]},
    ),
    *_PAGING,
    FORMAT_PARAMETER,
)
ACTION_RESPONSES: Final = {404: "Unknown symbol (no bars and no corporate actions)."}
_DATE: Final = {"type": "string", "format": "date"}
_OPTIONAL_DATE: Final = {"type": ["string", "null"], "format": "date"}
SPLIT_ROW: Final = {
    "type": "object",
    "required": [SYMBOL, EX_DATE, SPLIT_FROM, SPLIT_TO],
    "properties": {
        SYMBOL: {"type": "string"},
        EX_DATE: {**_DATE, "description": "First trading date without the split."},
        SPLIT_FROM: {"type": "number", "description": "Old shares (1 in a 4-for-1 split)."},
        SPLIT_TO: {"type": "number", "description": "New shares (4 in a 4-for-1 split)."},
    },
}
DIVIDEND_ROW: Final = {
    "type": "object",
    "required": [SYMBOL, EX_DATE, CASH_AMOUNT, CURRENCY, PAY_DATE, RECORD_DATE],
    "properties": {
        SYMBOL: {"type": "string"},
        EX_DATE: {**_DATE, "description": "First trading date without the dividend."},
        CASH_AMOUNT: {"type": "number", "description": "Cash per share."},
        CURRENCY: {"type": ["string", "null"], "description": "ISO 4217 code, if known."},
        PAY_DATE: _OPTIONAL_DATE,
        RECORD_DATE: _OPTIONAL_DATE,
    },
}


@blueprint.get("/splits/<symbol>")
@accepts(
    *ACTION_PARAMETERS,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=ACTION_RESPONSES,
    row_schema=SPLIT_ROW,
)
async def splits(symbol: str) -> ResponseReturnValue:
    """Stock splits of one symbol, by ex-date.

    A 4-for-1 split is `split_from=1, split_to=4`; a 1-for-10 reverse split `10, 1`.
    `adjustment=split` on the bar endpoints divides earlier prices by `split_to/split_from`.
    """
    return await _actions(symbol, "splits")


@blueprint.get("/dividends/<symbol>")
@accepts(
    *ACTION_PARAMETERS,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=ACTION_RESPONSES,
    row_schema=DIVIDEND_ROW,
)
async def dividends(symbol: str) -> ResponseReturnValue:
    """Cash dividends of one symbol, by ex-date.

    `cash_amount` is per share, in the currency of the prices; `currency`, `pay_date` and
    `record_date` are null when the source did not give them.
    """
    return await _actions(symbol, "dividends")


async def _actions(symbol: str, kind: Literal["splits", "dividends"]) -> ResponseReturnValue:
    output = negotiate()
    state = app_state()
    settings = state.settings
    for bound in ("start", "end"):
        if bound in request.args and not re.fullmatch(DATE_PATTERN, request.args[bound]):
            raise invalid_parameter(
                bound,
                f"{bound} must be a date YYYY-MM-DD (years 0001-9999)",
                value=request.args[bound],
                allowed="YYYY-MM-DD",
            )
    query = parse_series_query(
        request.args, default_limit=settings.default_limit, max_limit=settings.max_limit
    )
    name = parse_symbol(symbol).upper()
    version = await state.store.data_version()
    if await state.store.get_symbol(name) is None and name not in (
        await state.store.action_counts()
    ):
        raise not_found(symbol)
    start = None if query.start is None else query.start.day
    end = None if query.end is None else query.end.day

    async def produce() -> tuple[pa.Table, str | None]:
        if kind == "splits":
            rows = await state.store.read_splits(name, start, end)
        else:
            rows = await state.store.read_dividends(name, start, end)
        page = paginate(rows, EX_DATE, after=query.cursor, limit=query.limit, sort=query.sort)
        return page.rows, next_page_query(page.next_cursor)

    return await cached_rows_response(state, version, output, produce)
