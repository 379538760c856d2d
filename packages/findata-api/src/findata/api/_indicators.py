"""``/stocks/indicators``: one TA-Lib-compatible indicator over stored or resampled bars."""

from __future__ import annotations

from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
from quart import Blueprint, request
from quart.typing import ResponseReturnValue

from findata.api._formats import ALL_MEDIA_TYPES, FORMAT_PARAMETER
from findata.api._http import cached_rows_response
from findata.api._params import Parameter, accepts
from findata.api._problems import invalid_parameter
from findata.api._series import (
    SeriesQuery,
    local_time,
    paginate,
    period_range,
    resample_for,
    resolve_range,
    select_range,
)
from findata.api._state import AppState
from findata.api._stocks import SERIES_PARAMETERS, next_page_query, open_series_request
from findata.core import INDICATORS, IndicatorSpec, ParameterSpec, compute_indicator
from findata.db import SymbolInfo

blueprint = Blueprint("indicators", __name__, url_prefix="/stocks")


def _indicator_parameters() -> tuple[Parameter, ...]:
    """One query parameter per indicator parameter name, documented from the registry."""
    by_name: dict[str, list[tuple[IndicatorSpec, ParameterSpec]]] = {}
    for spec in INDICATORS.values():
        for parameter in spec.parameters:
            by_name.setdefault(parameter.name, []).append((spec, parameter))
    documented = []
    for name, uses in by_name.items():
        first = uses[0][1]
        schema: dict[str, Any] = {"type": first.kind}
        if first.choices:
            schema["enum"] = list(first.choices)
        defaults = "; ".join(f"{spec.name}: {parameter.default}" for spec, parameter in uses)
        documented.append(
            Parameter(name, f"{first.description} Defaults (TA-Lib's): {defaults}.", schema)
        )
    return tuple(documented)


INDICATOR_PARAMETERS: Final = _indicator_parameters()
NAME_PARAMETER: Final = Parameter(
    "name",
    "The indicator.",
    {"type": "string", "enum": sorted(INDICATORS)},
    required=True,
)
_OUTPUTS: Final = sorted({output for spec in INDICATORS.values() for output in spec.outputs})
INDICATOR_ROW: Final = {
    "type": "object",
    "required": ["symbol", "period_start"],
    "properties": {
        "symbol": {"type": "string"},
        "period_start": {"type": "string"},
        **{output: {"type": "number"} for output in _OUTPUTS},
    },
}


@blueprint.get("/indicators/<symbol>")
@accepts(
    NAME_PARAMETER,
    *INDICATOR_PARAMETERS,
    *SERIES_PARAMETERS,
    FORMAT_PARAMETER,
    media_types=ALL_MEDIA_TYPES,
    tag="stocks",
    responses={404: "Unknown symbol."},
    row_schema=INDICATOR_ROW,
)
async def indicator(symbol: str) -> ResponseReturnValue:
    """One indicator of a symbol, per period.

    Computed on the same bars as the time series of the same `interval`/`frequency`, over
    the whole stored history (warm-up before `start`), so a value never depends on the range
    asked for. Periods where the indicator is not yet defined are left out. Fields: sma, ema,
    wma, rsi, macd/macd_signal/macd_hist, bb_upper/bb_middle/bb_lower, atr, stoch_k/stoch_d,
    obv, vwap.
    """
    spec, params = _parse_indicator(request.args)
    series = await open_series_request(symbol)
    state, info, query, version = series.state, series.info, series.query, series.version

    async def produce() -> tuple[pa.Table, str | None]:
        values = await _indicator_values(state, info, query, spec, params, version)
        bounds = (
            resolve_range(query, info.timezone)
            if query.frequency is None
            else period_range(query, info.timezone, query.frequency, query.interval or 1)
        )
        selected = select_range(values, "period_start", bounds)
        page = paginate(selected, "period_start", query)
        return page.rows, next_page_query(page.next_cursor)

    return await cached_rows_response(state, version, series.output, produce)


def _parse_indicator(args: Any) -> tuple[IndicatorSpec, dict[str, Any]]:
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
    given = {
        parameter.name: args[parameter.name]
        for parameter in INDICATOR_PARAMETERS
        if parameter.name in args
    }
    return spec, spec.resolve(given)


async def _indicator_values(
    state: AppState,
    info: SymbolInfo,
    query: SeriesQuery,
    spec: IndicatorSpec,
    params: dict[str, Any],
    version: str,
) -> pa.Table:
    """The indicator over the whole history, defined rows only, keyed by ``period_start``."""
    key = (
        "indicator",
        info.symbol,
        query.frequency,
        query.interval,
        spec.name,
        tuple(sorted(params.items())),
        version,
    )

    async def compute() -> pa.Table:
        if query.frequency is None:
            bars = await state.store.read_bars(info.symbol, None, None)
            computed = compute_indicator(bars, spec.name, params, timezone=info.timezone)
            time = local_time(computed["timestamp"], info)
        else:
            periods = await resample_for(state, info, query.frequency, query.interval or 1, version)
            computed = compute_indicator(periods, spec.name, params, timezone=info.timezone)
            time = computed["period_start"]
        values = pa.table(
            {
                "symbol": computed["symbol"],
                "period_start": time,
                **{output: computed[output] for output in spec.outputs},
            }
        )
        defined = None
        for output in spec.outputs:
            valid = pc.is_valid(values[output])
            defined = valid if defined is None else pc.and_(defined, valid)
        if defined is not None:
            values = values.filter(defined)
        return values

    return await state.caches.table_or_compute(key, compute)
