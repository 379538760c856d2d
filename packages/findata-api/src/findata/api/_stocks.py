"""``/stocks``: the symbols in the store and their time series (stored or resampled bars)."""

from __future__ import annotations

from typing import Final

import pyarrow as pa
from quart import Blueprint
from quart.typing import ResponseReturnValue

from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER, negotiate
from findata.api._http import cached_rows_response
from findata.api._params import accepts
from findata.api._query import SERIES_PARAMETERS, SERIES_RESPONSES
from findata.api._series import DATE
from findata.api._series_request import next_page_query, open_series_request
from findata.api._state import app_state
from findata.core.columns import CLOSE, HIGH, LOW, OPEN, PERIOD_START, SYMBOL, TIMESTAMP, VOLUME

blueprint = Blueprint("stocks", __name__, url_prefix="/stocks")

_NUMBER: Final = {"type": "number"}
_INTEGER: Final = {"type": "integer"}
SERIES_ROW: Final = {
    "type": "object",
    "required": [SYMBOL, OPEN, HIGH, LOW, CLOSE, VOLUME],
    "properties": {
        SYMBOL: {"type": "string"},
        PERIOD_START: {
            "type": "string",
            "description": "With `frequency`: `YYYY-MM-DD` for Daily and longer, an ISO 8601 "
            "timestamp with offset for Minute and Hourly.",
        },
        DATE: {"type": "string", "format": "date", "description": "Stored daily bars."},
        TIMESTAMP: {
            "type": "string",
            "format": "date-time",
            "description": "Stored intraday bars, in the exchange time zone.",
        },
        OPEN: _NUMBER,
        HIGH: _NUMBER,
        LOW: _NUMBER,
        CLOSE: _NUMBER,
        VOLUME: _INTEGER,
    },
}
SYMBOL_ROW: Final = {
    "type": "object",
    "properties": {
        SYMBOL: {"type": "string"},
        "first_bar": {"type": "string", "format": "date-time"},
        "last_bar": {"type": "string", "format": "date-time"},
        "bar_count": _INTEGER,
        "timezone": {"type": "string"},
        "source": {"type": "string"},
        "bar_kind": {"type": "string", "enum": ["daily", "intraday"]},
        "exchange": {
            "type": "string",
            "description": "ISO MIC of the exchange whose calendar the symbol follows.",
        },
    },
}


@blueprint.get("/symbols")
@accepts(FORMAT_PARAMETER, media_types=ALL_MEDIA_TYPES, tag="stocks", row_schema=SYMBOL_ROW)
async def symbols() -> ResponseReturnValue:
    """The symbols in the store.

    One row per symbol with its first and last bar (UTC instants), bar count, exchange
    time zone, data source, kind of bars (daily or intraday) and exchange (ISO MIC).
    """
    output = negotiate()
    state = app_state()
    version = await state.store.data_version()

    async def produce() -> tuple[pa.Table, str | None]:
        infos = await state.store.list_symbols()
        rows = pa.table(
            {
                SYMBOL: pa.array([info.symbol for info in infos], pa.string()),
                "first_bar": pa.array(
                    [info.first_bar for info in infos], pa.timestamp("us", "UTC")
                ),
                "last_bar": pa.array([info.last_bar for info in infos], pa.timestamp("us", "UTC")),
                "bar_count": pa.array([info.bar_count for info in infos], pa.int64()),
                "timezone": pa.array([info.timezone for info in infos], pa.string()),
                "source": pa.array([info.source for info in infos], pa.string()),
                "bar_kind": pa.array([info.bar_kind.value for info in infos], pa.string()),
                "exchange": pa.array([info.exchange for info in infos], pa.string()),
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
    responses=SERIES_RESPONSES,
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
    service, query = series.service, series.query

    async def produce() -> tuple[pa.Table, str | None]:
        page = service.page(await service.rows([series.info], query), query)
        return page.rows, next_page_query(page.next_cursor)

    return await cached_rows_response(series.state, series.version, series.output, produce)
