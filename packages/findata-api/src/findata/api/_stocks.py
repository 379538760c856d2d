"""``/stocks``: the symbols in the store and their time series (stored or resampled bars)."""

from __future__ import annotations

from typing import Final

import pyarrow as pa
from quart import Blueprint
from quart.typing import ResponseReturnValue

from findata.api._adjustment import (
    ADJUSTMENT_HEADERS,
    ADJUSTMENT_PARAMETER,
    announce_skipped,
    open_adjusted_series_request,
)
from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER, negotiate
from findata.api._http import cached_rows_response
from findata.api._params import accepts
from findata.api._query import SERIES_PARAMETERS, SERIES_RESPONSES
from findata.api._series import DATE
from findata.api._series_request import next_page_query
from findata.api._state import app_state
from findata.core.columns import CLOSE, HIGH, LOW, OPEN, PERIOD_START, SYMBOL, TIMESTAMP, VOLUME
from findata.db import ActionCounts

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
        "has_splits": {"type": "boolean", "description": "Whether splits are stored."},
        "has_dividends": {"type": "boolean", "description": "Whether dividends are stored."},
    },
}


@blueprint.get("/symbols")
@accepts(FORMAT_PARAMETER, media_types=ALL_MEDIA_TYPES, tag="stocks", row_schema=SYMBOL_ROW)
async def symbols() -> ResponseReturnValue:
    """The symbols in the store.

    One row per symbol with its first and last bar (UTC instants), bar count, exchange
    time zone, data source, kind of bars (daily or intraday) and whether splits and cash
    dividends are stored for it (see `/stocks/splits`, `/stocks/dividends`).
    """
    output = negotiate()
    state = app_state()
    version = await state.store.data_version()

    async def produce() -> tuple[pa.Table, str | None]:
        infos = await state.store.list_symbols()
        actions = await state.store.action_counts()
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
                **_action_flags([info.symbol for info in infos], actions),
            }
        )
        return rows, None

    return await cached_rows_response(state, version, output, produce)


def _action_flags(symbols: list[str], actions: dict[str, ActionCounts]) -> dict[str, pa.Array]:
    """``has_splits`` / ``has_dividends`` of each symbol."""
    none = ActionCounts("", 0, 0)
    counts = [actions.get(symbol, none) for symbol in symbols]
    return {
        "has_splits": pa.array([count.splits > 0 for count in counts], pa.bool_()),
        "has_dividends": pa.array([count.dividends > 0 for count in counts], pa.bool_()),
    }


@blueprint.get("/time-series/<symbol>")
@accepts(
    *SERIES_PARAMETERS,
    ADJUSTMENT_PARAMETER,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=SERIES_RESPONSES,
    row_schema=SERIES_ROW,
    headers=ADJUSTMENT_HEADERS,
)
async def time_series(symbol: str) -> ResponseReturnValue:
    """OHLCV bars of one symbol, stored or resampled into calendar periods.

    With `frequency` (and optionally `interval`) the bars are aggregated into periods of
    `interval` x `frequency` in the symbol's exchange time zone, one row per period with
    `period_start`, in time order: `interval=1&frequency=Annual` gives yearly bars. Without
    them the stored bars are returned, keyed by `date` (daily bars) or `timestamp` (intraday).
    `start`/`end` select whole periods, so a period's values never depend on the range.
    `adjustment` adjusts the bars for splits and/or cash dividends before any resampling.
    """
    series, adjustment = await open_adjusted_series_request(symbol)
    service, query = series.service, series.query

    async def produce() -> tuple[pa.Table, str | None]:
        page = service.page(await service.rows([series.info], query), query)
        return page.rows, next_page_query(page.next_cursor)

    response = await cached_rows_response(series.state, series.version, series.output, produce)
    return await announce_skipped(response, adjustment, series.info)
