"""``/stocks/indicators``: one TA-Lib-compatible indicator over stored or resampled bars.

The indicator and its parameters are one OpenAPI object parameter with a schema per
indicator (``oneOf``, told apart by ``name``), so the document says exactly which
parameters each indicator takes and within which bounds (ADR 0023). Loading, ranging
and paging are the series service's; this module computes and caches the values.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from findata.api._adjustment import (
    ADJUSTMENT_HEADERS,
    ADJUSTMENT_PARAMETER,
    announce_skipped,
    open_adjusted_series_request,
)
from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER
from findata.api._http import cached_rows_response
from findata.api._params import Parameter, accepts
from findata.api._problems import invalid_parameter
from findata.api._query import SERIES_PARAMETERS, SERIES_RESPONSES, SeriesQuery
from findata.api._series import SeriesService, local_time
from findata.api._series_request import next_page_query
from findata.core import INDICATORS, IndicatorSpec, ParameterSpec, compute_indicator
from findata.core.columns import PERIOD_START, SYMBOL, TIMESTAMP
from findata.db import SymbolInfo

blueprint = Blueprint("indicators", __name__, url_prefix="/stocks")


def _parameter_schema(parameter: ParameterSpec) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": parameter.kind,
        "description": parameter.description,
        "default": parameter.default,
    }
    if parameter.choices:
        schema["enum"] = list(parameter.choices)
    if parameter.minimum is not None:
        schema["minimum"] = parameter.minimum
    if parameter.maximum is not None:
        schema["maximum"] = parameter.maximum
    return schema


def _indicator_schema(spec: IndicatorSpec) -> dict[str, Any]:
    """The query parameters one indicator takes: ``name`` and its own, nothing else."""
    return {
        "title": spec.name,
        "description": spec.description,
        "type": "object",
        "properties": {
            "name": {"const": spec.name},
            **{parameter.name: _parameter_schema(parameter) for parameter in spec.parameters},
        },
        "required": ["name"],
        "additionalProperties": False,
    }


INDICATOR_PARAMETER: Final = Parameter(
    "indicator",
    "`name` (the indicator, case-insensitive) and the parameters that indicator takes, "
    "each with TA-Lib's default when left out.",
    {"type": "object", "oneOf": [_indicator_schema(spec) for spec in INDICATORS.values()]},
    required=True,
    members=(
        "name",
        *dict.fromkeys(p.name for spec in INDICATORS.values() for p in spec.parameters),
    ),
    example={"name": "rsi", **INDICATORS["rsi"].defaults},
)
_OUTPUTS: Final = sorted({output for spec in INDICATORS.values() for output in spec.outputs})
INDICATOR_ROW: Final = {
    "type": "object",
    "required": [SYMBOL, PERIOD_START],
    "properties": {
        SYMBOL: {"type": "string"},
        PERIOD_START: {"type": "string"},
        **{output: {"type": "number"} for output in _OUTPUTS},
    },
}


@blueprint.get("/indicators/<symbol>")
@accepts(
    INDICATOR_PARAMETER,
    *SERIES_PARAMETERS,
    ADJUSTMENT_PARAMETER,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses=SERIES_RESPONSES,
    row_schema=INDICATOR_ROW,
    headers=ADJUSTMENT_HEADERS,
)
async def indicator(symbol: str) -> ResponseReturnValue:
    """One indicator of a symbol, per period.

    Computed on the same bars as the time series of the same `interval`/`frequency`, over
    the whole stored history (warm-up before `start`), so a value never depends on the range
    asked for. Periods where the indicator is not yet defined are left out. Fields: sma, ema,
    wma, rsi, macd/macd_signal/macd_hist, bb_upper/bb_middle/bb_lower, atr, stoch_k/stoch_d,
    obv, vwap. With `adjustment`, the indicator is computed on the adjusted bars, warm-up
    included.
    """
    spec, params = parse_indicator_query(request.args)
    series, adjustment = await open_adjusted_series_request(symbol)
    service, info, query = series.service, series.info, series.query

    async def produce() -> tuple[pa.Table, str | None]:
        values = await indicator_values(service, info, query, spec, params)
        page = service.page(service.select(values, PERIOD_START, info, query), query)
        return page.rows, next_page_query(page.next_cursor)

    response = await cached_rows_response(series.state, series.version, series.output, produce)
    return await announce_skipped(response, adjustment, info)


def parse_indicator_query(args: Mapping[str, str]) -> tuple[IndicatorSpec, dict[str, Any]]:
    """The indicator named by ``name`` and its parameters, or a 400 naming the bad one
    (shared with the many-symbol endpoint)."""
    raw = args.get("name")
    if raw is None:
        raise invalid_parameter(
            "name", "name (the indicator) is required", allowed=sorted(INDICATORS)
        )
    spec = INDICATORS.get(raw.strip().casefold())
    if spec is None:
        raise invalid_parameter(
            "name", f"unknown indicator {raw!r}", value=raw, allowed=sorted(INDICATORS)
        )
    given = {name: args[name] for name in INDICATOR_PARAMETER.members[1:] if name in args}
    return spec, spec.resolve(given)


async def indicator_values(
    service: SeriesService,
    info: SymbolInfo,
    query: SeriesQuery,
    spec: IndicatorSpec,
    params: dict[str, Any],
) -> pa.Table:
    """The indicator over the whole history, defined rows only, keyed by ``period_start``."""

    async def compute() -> pa.Table:
        if query.frequency is None:
            bars = await service.bars(info)
            computed = compute_indicator(bars, spec.name, params, timezone=info.timezone)
            time = local_time(computed[TIMESTAMP], info)
        else:
            periods = await service.periods(info, query.frequency, query.interval or 1)
            computed = compute_indicator(periods, spec.name, params, timezone=info.timezone)
            time = computed[PERIOD_START]
        values = pa.table(
            {
                SYMBOL: computed[SYMBOL],
                PERIOD_START: time,
                **{output: computed[output] for output in spec.outputs},
            }
        )
        defined = None
        for output in spec.outputs:
            valid = pc.is_valid(values[output])
            defined = valid if defined is None else pc.and_(defined, valid)
        return values if defined is None else values.filter(defined)

    params_key = tuple(sorted(params.items()))
    key = ("indicator", info.symbol, query.frequency, query.interval, spec.name, params_key)
    return await service.cached(key, compute)
