"""TA-Lib-compatible indicator kernels on numpy arrays.

Each kernel takes float64 arrays of one instrument, ordered by time, and returns
float64 arrays of the same length with NaN where TA-Lib returns no value (its
"lookback"). Definitions, seeds and defaults follow TA-Lib's C code (compatibility
mode "default", no unstable period) so results agree to ~1e-12 relative.

Recursive averages (EMA, Wilder's smoothing) run through ``scipy.signal.lfilter``,
a first-order IIR filter in C that performs TA-Lib's recurrence exactly; rolling
sums use ``scipy.ndimage`` running filters, which, like TA-Lib, add the newest value
and drop the oldest instead of summing from the start of the series (a long
``cumsum`` would lose ~1e-9 to cancellation on long series).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d
from scipy.signal import lfilter

from findata.core._errors import InvalidParameterError

F64 = npt.NDArray[np.float64]

_TA_EPSILON = 1e-8
"""TA-Lib's TA_IS_ZERO threshold: a denominator below it counts as zero."""


def _nan(length: int) -> F64:
    return np.full(length, np.nan)


def _check_period(name: str, value: int, minimum: int = 1) -> None:
    if value < minimum:
        raise InvalidParameterError(
            name, f"{name} must be an integer >= {minimum}, not {value}", value=value
        )


def _as_float(values: npt.ArrayLike) -> F64:
    return np.ascontiguousarray(values, dtype=np.float64)


def _rolling_mean(values: F64, window: int) -> F64:
    """Mean of each trailing ``window`` (defined from index window - 1 on)."""
    result = _nan(len(values))
    if len(values) >= window:
        means = uniform_filter1d(values, window, origin=(window - 1) // 2, mode="nearest")
        result[window - 1 :] = means[window - 1 :]
    return result


def _smooth(values: F64, alpha: float, seed: float) -> F64:
    """``y[i] = y[i-1] + alpha * (values[i] - y[i-1])`` starting from ``y[-1] = seed``."""
    if len(values) == 0:
        return np.empty(0)
    result: F64 = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[(1.0 - alpha) * seed])[0]
    return result


def sma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Simple moving average over ``window`` bars (TA-Lib ``SMA``)."""
    _check_period("window", window)
    return _rolling_mean(_as_float(values), window)


def _ema_from(values: F64, window: int, alpha: float, start: int) -> F64:
    """EMA seeded at ``start`` with the mean of the ``window`` values ending there."""
    result = _nan(len(values))
    if start < len(values):
        seed = float(np.mean(values[start - window + 1 : start + 1]))
        result[start] = seed
        result[start + 1 :] = _smooth(values[start + 1 :], alpha, seed)
    return result


def ema(values: npt.ArrayLike, window: int = 30) -> F64:
    """Exponential moving average, k = 2 / (window + 1), seeded with the SMA of the
    first ``window`` values (TA-Lib ``EMA``)."""
    _check_period("window", window)
    return _ema_from(_as_float(values), window, 2.0 / (window + 1), window - 1)


def wma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Linearly weighted moving average, newest bar weight ``window`` (TA-Lib ``WMA``).

    The weighted sum is updated like TA-Lib's: add ``window`` x the new value and drop the
    plain sum of the previous window, so the result never subtracts two huge totals.
    """
    _check_period("window", window)
    x = _as_float(values)
    result = _nan(len(x))
    if len(x) < window:
        return result
    weights = np.arange(1, window + 1, dtype=np.float64)
    first = float(np.dot(x[:window], weights))
    window_sums = _rolling_mean(x, window)[window - 1 : -1] * window
    steps = window * x[window:] - window_sums
    weighted = np.concatenate(([first], first + np.cumsum(steps)))
    result[window - 1 :] = weighted / (window * (window + 1) / 2)
    return result


def _wilder(values: F64, period: int, first: int) -> F64:
    """Wilder's smoothing of ``values[first:]``: seeded with the mean of the first
    ``period`` of them, then ``(previous * (period - 1) + value) / period``."""
    result = _nan(len(values))
    seed_at = first + period - 1
    if seed_at < len(values):
        seed = float(np.mean(values[first : seed_at + 1]))
        result[seed_at] = seed
        result[seed_at + 1 :] = _smooth(values[seed_at + 1 :], 1.0 / period, seed)
    return result


def rsi(values: npt.ArrayLike, window: int = 14) -> F64:
    """Relative Strength Index with Wilder's smoothing (TA-Lib ``RSI``); 0 when the
    series did not move over the averaging window."""
    _check_period("window", window, 2)
    x = _as_float(values)
    change = np.diff(x, prepend=np.nan)
    gains = _wilder(np.where(change > 0, change, 0.0), window, 1)
    losses = _wilder(np.where(change < 0, -change, 0.0), window, 1)
    total = gains + losses
    with np.errstate(invalid="ignore", divide="ignore"):
        result = np.where(np.abs(total) < _TA_EPSILON, 0.0, 100.0 * (gains / total))
    result[np.isnan(total)] = np.nan
    return result


def macd(
    values: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[F64, F64, F64]:
    """MACD line, signal line and histogram (TA-Lib ``MACD``).

    As in TA-Lib, both EMAs are seeded at bar ``slow - 1`` (the fast one with the mean of
    its last ``fast`` values), the signal EMA with the mean of the first ``signal`` MACD
    values, and all three outputs start together at bar ``slow + signal - 2``.
    """
    _check_period("fast", fast, 2)
    _check_period("slow", slow, 2)
    _check_period("signal", signal)
    if slow <= fast:
        raise InvalidParameterError(
            "slow", f"slow ({slow}) must be greater than fast ({fast})", value=slow
        )
    x = _as_float(values)
    line = _ema_from(x, fast, 2.0 / (fast + 1), slow - 1) - _ema_from(
        x, slow, 2.0 / (slow + 1), slow - 1
    )
    signal_line = _nan(len(x))
    start = slow - 1
    if start < len(x):
        signal_line[start:] = _ema_from(line[start:], signal, 2.0 / (signal + 1), signal - 1)
    lookback = slow + signal - 2
    line[:lookback] = np.nan
    return line, signal_line, line - signal_line


def bbands(values: npt.ArrayLike, window: int = 5, stddev: float = 2.0) -> tuple[F64, F64, F64]:
    """Bollinger Bands: SMA +/- ``stddev`` population standard deviations (TA-Lib
    ``BBANDS`` with MA type SMA); returns (upper, middle, lower).

    Like TA-Lib, the variance is E[x^2] - E[x]^2 and counts as zero below 1e-8.
    """
    _check_period("window", window, 2)
    x = _as_float(values)
    middle = _rolling_mean(x, window)
    variance = _rolling_mean(x * x, window) - middle * middle
    deviation = np.where(variance < _TA_EPSILON, 0.0, np.sqrt(np.maximum(variance, 0.0)))
    width = deviation * stddev
    return middle + width, middle, middle - width


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> F64:
    """max(high - low, |high - previous close|, |low - previous close|); NaN on bar 0."""
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    previous = np.concatenate(([np.nan], c[:-1]))
    return np.maximum(h - lo, np.maximum(np.abs(h - previous), np.abs(lo - previous)))


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, window: int = 14) -> F64:
    """Average True Range with Wilder's smoothing, seeded with the mean of the first
    ``window`` true ranges (TA-Lib ``ATR``)."""
    _check_period("window", window)
    ranges = true_range(high, low, close)
    if window == 1:
        return ranges
    return _wilder(ranges, window, 1)


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
    bars (0 when the range is below 1e-8); slow %K is its ``k_smooth`` SMA, %D the
    ``d_window`` SMA of slow %K. Both start at bar ``k_window + k_smooth + d_window - 3``.
    """
    _check_period("k_window", k_window)
    _check_period("k_smooth", k_smooth)
    _check_period("d_window", d_window)
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    length = len(c)
    lookback = k_window + k_smooth + d_window - 3
    if length <= lookback:
        return _nan(length), _nan(length)
    origin = (k_window - 1) // 2
    highest = maximum_filter1d(h, k_window, origin=origin, mode="nearest")
    lowest = minimum_filter1d(lo, k_window, origin=origin, mode="nearest")
    spread = (highest - lowest) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.where(spread < _TA_EPSILON, 0.0, (c - lowest) / spread)
    fast_k[: k_window - 1] = np.nan
    slow_k = _nan(length)
    slow_k[k_window - 1 :] = _rolling_mean(fast_k[k_window - 1 :], k_smooth)
    slow_d = _nan(length)
    start = k_window + k_smooth - 2
    slow_d[start:] = _rolling_mean(slow_k[start:], d_window)
    slow_k[:lookback] = np.nan
    return slow_k, slow_d


def obv(values: npt.ArrayLike, volume: npt.ArrayLike) -> F64:
    """On-Balance Volume starting from the first bar's volume (TA-Lib ``OBV``)."""
    x = _as_float(values)
    v = _as_float(volume)
    if len(x) == 0:
        return np.empty(0)
    direction = np.sign(np.diff(x))
    return np.cumsum(np.concatenate(([v[0]], direction * v[1:])))


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
    session has traded any volume. Not a TA-Lib function.
    """
    v = _as_float(volume)
    price = (
        (_as_float(high) + _as_float(low) + _as_float(close)) / 3.0
        if bar_vwap is None
        else _as_float(bar_vwap)
    )
    if len(v) == 0:
        return np.empty(0)
    traded = np.cumsum(price * v)
    volumes = np.cumsum(v)
    if sessions is not None:
        labels = np.asarray(sessions)
        starts = np.concatenate(([0], np.flatnonzero(labels[1:] != labels[:-1]) + 1))
        lengths = np.diff(np.append(starts, len(v)))
        traded -= np.repeat(np.concatenate(([0.0], traded[starts[1:] - 1])), lengths)
        volumes -= np.repeat(np.concatenate(([0.0], volumes[starts[1:] - 1])), lengths)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(volumes > 0, traded / volumes, np.nan)
