"""The indicator registry and :func:`compute_indicator`.

:data:`INDICATORS` is plain data (names, parameters with TA-Lib's defaults and
bounds, output fields) so the HTTP API can validate requests and describe them in
OpenAPI without importing any numerical code path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from findata.core import _kernels as kernels
from findata.core._errors import InvalidParameterError
from findata.core._timezones import MICROS_PER_DAY, offset_table, zone_info
from findata.core._types import DEFAULT_TIMEZONE
from findata.core._validation import PreparedBars, prepare_bars
from findata.core.columns import (
    CLOSE,
    HIGH,
    LOW,
    OPEN,
    SYMBOL,
    TIMESTAMP,
    VOLUME,
    VWAP,
)

F64 = npt.NDArray[np.float64]
ParameterValue = int | float | str
_TA_MAX_PERIOD = 100_000
"""TA-Lib's upper bound for every period parameter."""


@dataclass(frozen=True, slots=True)
class ParameterSpec:
    """One indicator parameter: its JSON-schema-like type, default and bounds."""

    name: str
    kind: Literal["integer", "number", "string"]
    default: ParameterValue
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def parse(self, value: object) -> ParameterValue:
        """Coerce ``value`` (native or a query-string text) or raise naming the parameter."""
        if self.kind == "string":
            text = str(value).strip().casefold()
            if text not in self.choices:
                raise InvalidParameterError(
                    self.name,
                    f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}",
                    value=value,
                    allowed=self.choices,
                )
            return text
        number = self._number(value)
        if (self.minimum is not None and number < self.minimum) or (
            self.maximum is not None and number > self.maximum
        ):
            raise InvalidParameterError(
                self.name,
                f"{self.name} must be between {self.minimum} and {self.maximum}, not {value!r}",
                value=value,
                allowed=self.bounds,
            )
        return number

    @property
    def bounds(self) -> str:
        """The accepted range, for messages and documentation."""
        low = "-inf" if self.minimum is None else f"{self.minimum:g}"
        high = "inf" if self.maximum is None else f"{self.maximum:g}"
        return f"{self.kind} in [{low}, {high}]"

    def _number(self, value: object) -> int | float:
        parsed: float | int | None = None
        if isinstance(value, bool):
            parsed = None
        elif isinstance(value, int | float | np.integer | np.floating):
            parsed = value.item() if isinstance(value, np.generic) else value
        elif isinstance(value, str):
            try:
                parsed = int(value) if self.kind == "integer" else float(value)
            except ValueError:
                try:
                    parsed = float(value)
                except ValueError:
                    parsed = None
        if parsed is not None and math.isfinite(parsed):
            if self.kind == "number":
                return float(parsed)
            if float(parsed).is_integer():
                return int(parsed)
        raise InvalidParameterError(
            self.name,
            f"{self.name} must be {'an integer' if self.kind == 'integer' else 'a number'}, "
            f"not {value!r}",
            value=value,
            allowed=self.bounds,
        )


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """What an indicator is called, what it takes and which fields it returns."""

    name: str
    description: str
    parameters: tuple[ParameterSpec, ...]
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    """Bar columns read (``series`` picks one of open/high/low/close where offered)."""
    defaults: Mapping[str, ParameterValue] = field(init=False)

    def __post_init__(self) -> None:
        defaults = {parameter.name: parameter.default for parameter in self.parameters}
        object.__setattr__(self, "defaults", MappingProxyType(defaults))

    def resolve(self, params: Mapping[str, object] | None = None) -> dict[str, ParameterValue]:
        """Defaults overlaid with ``params``, each checked; unknown names are errors."""
        resolved = dict(self.defaults)
        by_name = {parameter.name: parameter for parameter in self.parameters}
        for name, value in (params or {}).items():
            parameter = by_name.get(name)
            if parameter is None:
                raise InvalidParameterError(
                    name,
                    f"{self.name} takes no parameter {name!r}",
                    value=value,
                    allowed=tuple(by_name),
                )
            resolved[name] = parameter.parse(value)
        return resolved


def _period(name: str, default: int, description: str, minimum: int = 2) -> ParameterSpec:
    return ParameterSpec(name, "integer", default, description, minimum, _TA_MAX_PERIOD)


_SERIES = ParameterSpec(
    "series",
    "string",
    CLOSE,
    "Price the indicator is computed on.",
    choices=(OPEN, HIGH, LOW, CLOSE),
)
_PRICE_INPUTS = (OPEN, HIGH, LOW, CLOSE)
_HLC = (HIGH, LOW, CLOSE)

_SPECS = (
    IndicatorSpec(
        "sma",
        "Simple moving average (TA-Lib SMA).",
        (_period("window", 30, "Bars averaged."), _SERIES),
        ("sma",),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "ema",
        "Exponential moving average, k = 2 / (window + 1), seeded with an SMA (TA-Lib EMA).",
        (_period("window", 30, "Bars in the smoothing period."), _SERIES),
        ("ema",),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "wma",
        "Linearly weighted moving average (TA-Lib WMA).",
        (_period("window", 30, "Bars averaged, newest weighted most."), _SERIES),
        ("wma",),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "rsi",
        "Relative Strength Index with Wilder's smoothing (TA-Lib RSI).",
        (_period("window", 14, "Bars in Wilder's smoothing period."), _SERIES),
        ("rsi",),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "macd",
        "Moving Average Convergence/Divergence with TA-Lib's seeding (TA-Lib MACD).",
        (
            _period("fast", 12, "Period of the fast EMA."),
            _period("slow", 26, "Period of the slow EMA (swapped with a longer fast, as TA-Lib)."),
            _period("signal", 9, "Period of the signal EMA of the MACD line.", minimum=1),
            _SERIES,
        ),
        ("macd", "macd_signal", "macd_hist"),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "bbands",
        "Bollinger Bands: SMA +/- stddev population standard deviations (TA-Lib BBANDS).",
        (
            _period("window", 5, "Bars in the moving average and deviation."),
            ParameterSpec(
                "stddev", "number", 2.0, "Width of each band in standard deviations.", 0.0, 1e6
            ),
            _SERIES,
        ),
        ("bb_upper", "bb_middle", "bb_lower"),
        _PRICE_INPUTS,
    ),
    IndicatorSpec(
        "atr",
        "Average True Range with Wilder's smoothing (TA-Lib ATR).",
        (_period("window", 14, "Bars in Wilder's smoothing period.", minimum=1),),
        ("atr",),
        _HLC,
    ),
    IndicatorSpec(
        "stoch",
        "Slow stochastic oscillator %K and %D, SMA smoothing (TA-Lib STOCH).",
        (
            _period("k_window", 5, "Bars in the high-low range (fastk_period).", minimum=1),
            _period("k_smooth", 3, "SMA smoothing fast %K into slow %K (slowk_period).", 1),
            _period("d_window", 3, "SMA of slow %K giving %D (slowd_period).", minimum=1),
        ),
        ("stoch_k", "stoch_d"),
        _HLC,
    ),
    IndicatorSpec(
        "obv",
        "On-Balance Volume (TA-Lib OBV).",
        (_SERIES,),
        ("obv",),
        (*_PRICE_INPUTS, VOLUME),
    ),
    IndicatorSpec(
        "vwap",
        "Volume-weighted average price, cumulative per session (trading date in the "
        "exchange time zone; each bar of Daily or longer bars is its own session). Uses "
        "the bars' vwap column when present, else the typical price (high + low + close) / 3.",
        (),
        ("vwap",),
        (*_HLC, VOLUME),
    ),
)

INDICATORS: Mapping[str, IndicatorSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every indicator :func:`compute_indicator` knows, by name."""


def _series(bars: PreparedBars, rows: slice, params: Mapping[str, ParameterValue]) -> F64:
    return bars.floats(str(params["series"]))[rows]


def _hlc(bars: PreparedBars, rows: slice) -> tuple[F64, F64, F64]:
    return bars.floats(HIGH)[rows], bars.floats(LOW)[rows], bars.floats(CLOSE)[rows]


def _int(params: Mapping[str, ParameterValue], name: str) -> int:
    return int(params[name])


def _compute_one(
    name: str,
    bars: PreparedBars,
    rows: slice,
    params: Mapping[str, ParameterValue],
    sessions: npt.NDArray[np.int64] | None,
) -> tuple[F64, ...]:
    if name == "sma":
        return (kernels.sma(_series(bars, rows, params), _int(params, "window")),)
    if name == "ema":
        return (kernels.ema(_series(bars, rows, params), _int(params, "window")),)
    if name == "wma":
        return (kernels.wma(_series(bars, rows, params), _int(params, "window")),)
    if name == "rsi":
        return (kernels.rsi(_series(bars, rows, params), _int(params, "window")),)
    if name == "macd":
        return kernels.macd(
            _series(bars, rows, params),
            _int(params, "fast"),
            _int(params, "slow"),
            _int(params, "signal"),
        )
    if name == "bbands":
        return kernels.bbands(
            _series(bars, rows, params), _int(params, "window"), float(params["stddev"])
        )
    if name == "atr":
        return (kernels.atr(*_hlc(bars, rows), _int(params, "window")),)
    if name == "stoch":
        return kernels.stoch(
            *_hlc(bars, rows),
            _int(params, "k_window"),
            _int(params, "k_smooth"),
            _int(params, "d_window"),
        )
    if name == "obv":
        return (kernels.obv(_series(bars, rows, params), bars.ints(VOLUME)[rows]),)
    bar_vwap = bars.floats(VWAP)[rows] if bars.has(VWAP) else None
    return (
        kernels.vwap(
            *_hlc(bars, rows),
            bars.ints(VOLUME)[rows],
            sessions=None if sessions is None else sessions[rows],
            bar_vwap=bar_vwap,
        ),
    )


def _sessions(bars: PreparedBars, timezone: str) -> npt.NDArray[np.int64]:
    """Session label of every bar: its trading date in the exchange time zone."""
    column_type = bars.table.schema.field(bars.time_column).type
    if pa.types.is_date(column_type):
        return np.arange(bars.num_rows, dtype=np.int64)  # daily or longer: one bar, one session
    zone_name = timezone if bars.time_column == TIMESTAMP else str(column_type.tz)
    zone = offset_table(zone_name, int(bars.times.min()), int(bars.times.max()))
    return zone.local(bars.times, bars.symbol_starts) // MICROS_PER_DAY


def compute_indicator(
    bars: pa.Table,
    name: str,
    params: Mapping[str, object] | None = None,
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> pa.Table:
    """Compute indicator ``name`` of :data:`INDICATORS` per symbol of ``bars``.

    ``bars`` are raw bars (``timestamp``) or :func:`~findata.core.resample` output
    (``period_start``). ``params`` override the indicator's TA-Lib defaults and may be
    query-string texts. ``timezone`` places VWAP sessions for raw bars (resampled
    intraday bars carry their own zone). Returns ``symbol``, the time column, then the
    indicator's fields, null on the rows before the indicator is defined.
    """
    spec = INDICATORS.get(str(name).strip().casefold())
    if spec is None:
        raise InvalidParameterError(
            "indicator", f"unknown indicator {name!r}", value=name, allowed=tuple(INDICATORS)
        )
    resolved = spec.resolve(params)
    prepared = prepare_bars(bars)
    length = prepared.num_rows
    sessions = None
    if spec.name == "vwap" and length:
        sessions = _sessions(prepared, timezone)
    elif spec.name == "vwap":
        zone_info(timezone)
    if len(prepared.symbol_starts) == 1:  # one symbol: the kernels' arrays, not copies
        outputs = list(_compute_one(spec.name, prepared, slice(0, length), resolved, sessions))
    else:  # the symbols' blocks cover every row
        outputs = [np.empty(length) for _ in spec.outputs]
        for start, end in zip(prepared.symbol_starts, prepared.symbol_ends, strict=True):
            rows = slice(int(start), int(end))
            for output, values in zip(
                outputs, _compute_one(spec.name, prepared, rows, resolved, sessions), strict=True
            ):
                output[rows] = values
    table = prepared.table
    columns: dict[str, pa.ChunkedArray | pa.Array] = {
        SYMBOL: table.column(SYMBOL),
        prepared.time_column: table.column(prepared.time_column),
    }
    for field_name, values in zip(spec.outputs, outputs, strict=True):
        columns[field_name] = pa.array(values, mask=np.isnan(values))
    return pa.table(columns)
