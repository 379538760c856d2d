"""TA-Lib-compatible indicator kernels on numpy arrays.

Each kernel takes float64 arrays of one instrument, ordered by time, and returns
float64 arrays of the same length with NaN where TA-Lib returns no value (its
"lookback"). Definitions, seeds and defaults follow TA-Lib's C code (compatibility
mode "default", no unstable period).

The functions here check parameters and convert inputs; the loops themselves are
TA-Lib's, transcribed in :mod:`findata.core._loops` and compiled by Numba, one pass
per indicator like TA-Lib's own (docs/decisions/0004-indicator-loops-compiled-with-numba.md).
"""

from __future__ import annotations

import operator
from types import ModuleType

import numpy as np
import numpy.typing as npt

from findata.core._errors import InvalidParameterError

F64 = npt.NDArray[np.float64]


def compiled_loops() -> ModuleType:
    """The compiled loops, imported on the first indicator or adjustment computed: Numba
    costs ~1 s to import, which commands that compute neither should not pay."""
    from findata.core import _loops as loops

    return loops


def load_indicator_loops() -> None:
    """Compile the indicator loops now, or load them from Numba's cache: a server calls
    this before accepting requests so that its first indicator request does not wait
    seconds for it (docs/decisions/0004-indicator-loops-compiled-with-numba.md). The
    adjustment's loops are in the same module and load with them."""
    compiled_loops()


def _period(name: str, value: int, minimum: int = 1) -> int:
    """``value`` as a Python int, or an error naming the parameter (the compiled loops
    take a machine integer, and a float window has no meaning)."""
    try:
        period = operator.index(value)
    except TypeError:
        period = None
    if period is None or period < minimum:
        raise InvalidParameterError(
            name, f"{name} must be an integer >= {minimum}, not {value!r}", value=value
        )
    return period


def _as_float(values: npt.ArrayLike) -> F64:
    array = np.ascontiguousarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidParameterError(
            "values",
            f"a kernel takes one series: a 1-dimensional array, not {array.ndim}-dimensional",
            value=list(array.shape),
        )
    return array


def _same_length(*arrays: F64) -> None:
    if len({len(array) for array in arrays}) > 1:
        raise InvalidParameterError(
            "values",
            "input arrays must have the same length, not "
            + ", ".join(str(len(array)) for array in arrays),
            value=[len(array) for array in arrays],
        )


def sma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Simple moving average over ``window`` bars (TA-Lib ``SMA``)."""
    window = _period("window", window, 2)
    result: F64 = compiled_loops().sma(_as_float(values), window)
    return result


def ema(values: npt.ArrayLike, window: int = 30) -> F64:
    """Exponential moving average, k = 2 / (window + 1), seeded with the SMA of the
    first ``window`` values (TA-Lib ``EMA``)."""
    window = _period("window", window, 2)
    result: F64 = compiled_loops().ema(_as_float(values), window, 2.0 / (window + 1), window - 1)
    return result


def wma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Linearly weighted moving average, newest bar weight ``window`` (TA-Lib ``WMA``).

    The weighted sum is updated like TA-Lib's: add ``window`` x the new value and drop the
    plain sum of the previous window, so the result never subtracts two huge totals.
    """
    window = _period("window", window, 2)
    result: F64 = compiled_loops().wma(_as_float(values), window)
    return result


def rsi(values: npt.ArrayLike, window: int = 14) -> F64:
    """Relative Strength Index with Wilder's smoothing (TA-Lib ``RSI``); 0 when the
    series did not move over the averaging window."""
    window = _period("window", window, 2)
    result: F64 = compiled_loops().rsi(_as_float(values), window)
    return result


def macd(
    values: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[F64, F64, F64]:
    """MACD line, signal line and histogram (TA-Lib ``MACD``).

    As in TA-Lib, both EMAs are seeded at bar ``slow - 1`` (the fast one with the mean of
    its last ``fast`` values), the signal EMA with the mean of the first ``signal`` MACD
    values, and all three outputs start together at bar ``slow + signal - 2``; a ``slow``
    shorter than ``fast`` is swapped with it, and equal periods give a zero line.
    """
    fast = _period("fast", fast, 2)
    slow = _period("slow", slow, 2)
    signal = _period("signal", signal)
    fast, slow = min(fast, slow), max(fast, slow)
    result: tuple[F64, F64, F64] = compiled_loops().macd(_as_float(values), fast, slow, signal)
    return result


def bbands(values: npt.ArrayLike, window: int = 5, stddev: float = 2.0) -> tuple[F64, F64, F64]:
    """Bollinger Bands: SMA +/- ``stddev`` population standard deviations (TA-Lib
    ``BBANDS`` with MA type SMA); returns (upper, middle, lower).

    Like TA-Lib, the variance is E[x^2] - E[x]^2 from running totals and counts as zero
    below 1e-8.
    """
    window = _period("window", window, 2)
    if isinstance(stddev, bool) or not isinstance(stddev, int | float | np.integer | np.floating):
        width = None
    else:
        width = float(stddev)
    if width is None or not 0.0 <= width < float("inf"):
        raise InvalidParameterError(
            "stddev", f"stddev must be a finite number >= 0, not {stddev!r}", value=stddev
        )
    result: tuple[F64, F64, F64] = compiled_loops().bbands(_as_float(values), window, width)
    return result


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> F64:
    """max(high - low, |high - previous close|, |low - previous close|); NaN on bar 0."""
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    _same_length(h, lo, c)
    result: F64 = compiled_loops().true_range(h, lo, c)
    return result


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, window: int = 14) -> F64:
    """Average True Range with Wilder's smoothing, seeded with the mean of the first
    ``window`` true ranges (TA-Lib ``ATR``)."""
    window = _period("window", window)
    if window == 1:
        return true_range(high, low, close)
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    _same_length(h, lo, c)
    result: F64 = compiled_loops().atr(h, lo, c, window)
    return result


def stoch(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    k_window: int = 5,
    k_smooth: int = 3,
    d_window: int = 3,
) -> tuple[F64, F64]:
    """Slow stochastic %K and %D with SMA smoothing (TA-Lib ``STOCH`` defaults).

    Fast %K = 100 (close - lowest low) / (highest high - lowest low) over ``k_window``
    bars (0 when the range is below 1e-6); slow %K is its ``k_smooth`` SMA, %D the
    ``d_window`` SMA of slow %K. Both start at bar ``k_window + k_smooth + d_window - 3``.
    """
    k_window = _period("k_window", k_window)
    k_smooth = _period("k_smooth", k_smooth)
    d_window = _period("d_window", d_window)
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    _same_length(h, lo, c)
    result: tuple[F64, F64] = compiled_loops().stoch(h, lo, c, k_window, k_smooth, d_window)
    return result


def obv(values: npt.ArrayLike, volume: npt.ArrayLike) -> F64:
    """On-Balance Volume starting from the first bar's volume (TA-Lib ``OBV``)."""
    x, v = _as_float(values), _as_float(volume)
    _same_length(x, v)
    result: F64 = compiled_loops().obv(x, v)
    return result


def vwap(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    *,
    sessions: npt.ArrayLike | None = None,
    bar_vwap: npt.ArrayLike | None = None,
) -> F64:
    """Volume-weighted average price, cumulative within each session.

    The price of a bar is its own ``bar_vwap`` when given (exact, from trades), else the
    typical price (high + low + close) / 3. ``sessions`` labels each bar's session
    (equal labels, contiguous); ``None`` makes the whole series one session. NaN until a
    session has traded any volume. Not a TA-Lib function; the running totals restart with
    each session (:func:`findata.core._loops.vwap`).
    """
    h, lo, c, v = (_as_float(values) for values in (high, low, close, volume))
    _same_length(h, lo, c, v)
    price = (h + lo + c) / 3.0 if bar_vwap is None else _as_float(bar_vwap)
    _same_length(price, v)
    if sessions is None:
        starts = np.zeros(1, dtype=np.int64)
    else:
        labels = np.asarray(sessions)
        if labels.shape != v.shape:
            raise InvalidParameterError(
                "sessions", "sessions must label every bar", value=list(labels.shape)
            )
        changed = labels[1:] != labels[:-1]
        starts = np.empty(np.count_nonzero(changed) + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:] = np.flatnonzero(changed) + 1
    result: F64 = compiled_loops().vwap(price, v, starts)
    return result
