"""``/stocks``: the symbols in the store and their time series (stored or resampled bars)."""

from __future__ import annotations

import dataclasses
import urllib.parse
from typing import Final

import pyarrow as pa
from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER, OutputFormat, negotiate
from findata.api._http import cached_rows_response
from findata.api._params import accepts
from findata.api._series import (
    SeriesQuery,
    load_rows,
    not_found,
    paginate,
    parse_series_query,
    parse_symbol,
    series_parameters,
)
from findata.api._settings import Settings
from findata.api._state import AppState, app_state
from findata.db import SymbolInfo

blueprint = Blueprint("stocks", __name__, url_prefix="/stocks")

# Documented with the default limits; the running app checks its own settings.
_DEFAULTS: Final = Settings()
SERIES_PARAMETERS: Final = series_parameters(_DEFAULTS.default_limit, _DEFAULTS.max_limit)

_NUMBER: Final = {"type": "number"}
_INTEGER: Final = {"type": "integer"}
SERIES_ROW: Final = {
    "type": "object",
    "required": ["symbol", "open", "high", "low", "close", "volume"],
    "properties": {
        "symbol": {"type": "string"},
        "period_start": {
            "type": "string",
            "description": "With `frequency`: `YYYY-MM-DD` for Daily and longer, an ISO 8601 "
            "timestamp with offset for Minute and Hourly.",
        },
        "date": {"type": "string", "format": "date", "description": "Stored daily bars."},
        "timestamp": {
            "type": "string",
            "format": "date-time",
            "description": "Stored intraday bars, in the exchange time zone.",
        },
        "open": _NUMBER,
        "high": _NUMBER,
        "low": _NUMBER,
        "close": _NUMBER,
        "volume": _INTEGER,
    },
}
SYMBOL_ROW: Final = {
    "type": "object",
    "properties": {
        "symbol": {"type": "string"},
        "first_bar": {"type": "string", "format": "date-time"},
        "last_bar": {"type": "string", "format": "date-time"},
        "bar_count": _INTEGER,
        "timezone": {"type": "string"},
        "source": {"type": "string"},
        "bar_kind": {"type": "string", "enum": ["daily", "intraday"]},
    },
}


@blueprint.get("/symbols")
@accepts(FORMAT_PARAMETER, media_types=ALL_MEDIA_TYPES, tag="stocks", row_schema=SYMBOL_ROW)
async def symbols() -> ResponseReturnValue:
    """The symbols in the store.

    One row per symbol with its first and last bar (UTC instants), bar count, exchange
    time zone, data source and kind of bars (daily or intraday).
    """
    output = negotiate()
    state = app_state()
    version = await state.store.data_version()

    async def produce() -> tuple[pa.Table, str | None]:
        infos = await state.store.list_symbols()
        rows = pa.table(
            {
                "symbol": pa.array([info.symbol for info in infos], pa.string()),
                "first_bar": pa.array(
                    [info.first_bar for info in infos], pa.timestamp("us", "UTC")
                ),
                "last_bar": pa.array([info.last_bar for info in infos], pa.timestamp("us", "UTC")),
                "bar_count": pa.array([info.bar_count for info in infos], pa.int64()),
                "timezone": pa.array([info.timezone for info in infos], pa.string()),
                "source": pa.array([info.source for info in infos], pa.string()),
                "bar_kind": pa.array([info.bar_kind.value for info in infos], pa.string()),
            }
        )
        return rows, None

    return await cached_rows_response(state, version, output, produce)


@blueprint.get("/time-series/<symbol>")
@accepts(
    *SERIES_PARAMETERS,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses={404: "Unknown symbol."},
    row_schema=SERIES_ROW,
)
async def time_series(symbol: str) -> ResponseReturnValue:
    """OHLCV bars of one symbol, stored or resampled into calendar periods.

    With `frequency` (and optionally `interval`) the bars are aggregated into periods of
    `interval` x `frequency` in the symbol's exchange time zone, one row per period with
    `period_start`, in time order: `interval=1&frequency=Annual` gives yearly bars. Without
    them the stored bars are returned, keyed by `date` (daily bars) or `timestamp` (intraday).
    `start`/`end` select whole periods, so a period's values never depend on the range.
    """
    series = await open_series_request(symbol)
    state, info, query, version = series.state, series.info, series.query, series.version

    async def produce() -> tuple[pa.Table, str | None]:
        rows, column = await load_rows(state, info, query, version)
        page = paginate(rows, column, query)
        return page.rows, next_page_query(page.next_cursor)

    return await cached_rows_response(state, version, series.output, produce)


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesRequest:
    """What every per-symbol series endpoint resolves before computing anything."""

    output: OutputFormat
    state: AppState
    query: SeriesQuery
    info: SymbolInfo
    version: str


async def open_series_request(symbol: str) -> SeriesRequest:
    """Negotiate the format, parse the series parameters and the symbol, read the data
    version, and answer 404 for an unknown symbol — in that order, for every endpoint."""
    output = negotiate()
    state = app_state()
    settings = state.settings
    query = parse_series_query(
        request.args, default_limit=settings.default_limit, max_limit=settings.max_limit
    )
    symbol = parse_symbol(symbol)
    version = await state.store.data_version()
    info = await state.store.get_symbol(symbol)
    if info is None:
        raise not_found(symbol)
    return SeriesRequest(output, state, query, info, version)


def next_page_query(cursor: str | None) -> str | None:
    """This request's query string with ``cursor`` replaced, or None on the last page."""
    if cursor is None:
        return None
    args = {name: value for name, value in request.args.items() if name != "cursor"}
    args["cursor"] = cursor
    return urllib.parse.urlencode(args)
