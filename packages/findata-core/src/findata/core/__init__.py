"""findata-core: OHLCV resampling and TA-Lib-compatible indicators on Arrow tables.

Pure functions over :class:`pyarrow.Table` (no I/O): :func:`validate_bars` checks and
normalises bars (:func:`check_bar_values` is its value rules alone, shared with the
stores), :func:`adjust_bars` adjusts them for splits and dividends (checked by
:func:`validate_splits` and :func:`validate_dividends`), :func:`resample` aggregates them
into calendar buckets of the exchange's time zone and :func:`period_starts` names the
bucket of any instant, :func:`compute_indicator` computes any indicator of
:data:`INDICATORS` per symbol. The numpy kernels behind the indicators are public too.
:mod:`findata.core.calendars` knows exchanges' sessions (from ``exchange_calendars``,
imported on first use): the market clock, regular-hours bars and coverage reports.
"""

from findata.core import actions, calendars, columns
from findata.core._action_tables import validate_actions, validate_dividends, validate_splits
from findata.core._adjust import adjust_bars
from findata.core._adjust_report import AdjustmentReport, SkippedDividend, SkipReason
from findata.core._adjust_resample import resample_adjusted
from findata.core._bar_checks import check_bar_values
from findata.core._errors import FindataError, InvalidBarsError, InvalidParameterError
from findata.core._indicators import INDICATORS, IndicatorSpec, ParameterSpec, compute_indicator
from findata.core._kernels import (
    atr,
    bbands,
    ema,
    load_indicator_loops,
    macd,
    obv,
    rsi,
    sma,
    stoch,
    true_range,
    vwap,
    wma,
)
from findata.core._periods import period_starts
from findata.core._resample import resample, resampled_schema
from findata.core._types import DEFAULT_TIMEZONE, Frequency
from findata.core._validation import validate_bars
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA, Adjustment
from findata.core.calendars import (
    DEFAULT_EXCHANGE,
    Coverage,
    MarketClock,
    PartialSession,
    coverage,
    filter_regular_session,
    regular_session_mask,
)
from findata.core.columns import BAR_SCHEMA

__version__ = "0.1.0"

__all__ = [
    "BAR_SCHEMA",
    "DEFAULT_EXCHANGE",
    "DEFAULT_TIMEZONE",
    "DIVIDENDS_SCHEMA",
    "INDICATORS",
    "SPLITS_SCHEMA",
    "Adjustment",
    "AdjustmentReport",
    "Coverage",
    "FindataError",
    "Frequency",
    "IndicatorSpec",
    "InvalidBarsError",
    "InvalidParameterError",
    "MarketClock",
    "ParameterSpec",
    "PartialSession",
    "SkipReason",
    "SkippedDividend",
    "__version__",
    "actions",
    "adjust_bars",
    "atr",
    "bbands",
    "calendars",
    "check_bar_values",
    "columns",
    "compute_indicator",
    "coverage",
    "ema",
    "filter_regular_session",
    "load_indicator_loops",
    "macd",
    "obv",
    "period_starts",
    "regular_session_mask",
    "resample",
    "resample_adjusted",
    "resampled_schema",
    "rsi",
    "sma",
    "stoch",
    "true_range",
    "validate_actions",
    "validate_bars",
    "validate_dividends",
    "validate_splits",
    "vwap",
    "wma",
]
