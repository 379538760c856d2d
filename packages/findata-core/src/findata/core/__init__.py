"""findata-core: OHLCV resampling and TA-Lib-compatible indicators on Arrow tables."""

from findata.core._errors import FindataError, InvalidBarsError, InvalidParameterError
from findata.core._types import BAR_SCHEMA, DEFAULT_TIMEZONE, Frequency

__version__ = "0.1.0"

__all__ = [
    "BAR_SCHEMA",
    "DEFAULT_TIMEZONE",
    "FindataError",
    "Frequency",
    "InvalidBarsError",
    "InvalidParameterError",
    "__version__",
]
