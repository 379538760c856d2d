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

from findata.core._errors import InvalidParameterError

F64 = npt.NDArray[np.float64]

_TA_EPSILON = 1e-8
"""TA-Lib's TA_IS_ZERO threshold: a denominator below it counts as zero."""
_DIRECT_SUM_MAX_WINDOW = 32
"""Up to this window, Bollinger variances sum each window directly (exact, O(n * window))."""


def _nan(length: int) -> F64:
    return np.full(length, np.nan)


def _check_period(name: str, value: int, minimum: int = 1) -> None:
    if value < minimum:
        raise InvalidParameterError(
            name, f"{name} must be an integer >= {minimum}, not {value}", value=value
        )


def _as_float(values: npt.ArrayLike) -> F64:
    return np.ascontiguousarray(values, dtype=np.float64)


def _padded(values: F64, length: int) -> F64:
    """``values`` right-aligned in an array of ``length``, NaN in front (TA-Lib's lookback)."""
    result = np.empty(length)
    result[: length - len(values)] = np.nan
    result[length - len(values) :] = values
    return result


def _window_sums(values: F64, window: int, out: F64 | None = None) -> F64:
    """Sum of each trailing ``window`` of values: ``len(values) - window + 1`` sums,
    written to ``out`` when given.

    A running total, like TA-Lib's, as the difference of two prefix sums; its rounding
    error stays ~1e-16 x the total so far, far below 1e-9 of any window's mean.
    """
    totals = np.cumsum(values)
    sums = np.empty(len(values) - window + 1) if out is None else out
    sums[0] = totals[window - 1]
    np.subtract(totals[window:], totals[:-window], out=sums[1:])
    return sums


def _exact_window_sums(values: F64, window: int) -> F64:
    """Window sums for differences of large numbers (variance = E[x^2] - E[x]^2), where
    the prefix-sum error would be amplified: a direct sum per window while that is
    cheap, else prefix sums of values centred on their mean."""
    if window <= _DIRECT_SUM_MAX_WINDOW:
        count = len(values) - window + 1
        sums = values[window - 1 :].copy()
        for lag in range(1, window):  # one vectorised pass per lag, never per row
            sums += values[window - 1 - lag : window - 1 - lag + count]
        return sums
    mean = float(values.mean())
    return _window_sums(values - mean, window) + window * mean


def _rolling_mean(values: F64, window: int) -> F64:
    """Mean of each trailing ``window`` (NaN before index window - 1)."""
    result = _nan(len(values)) if len(values) < window else np.empty(len(values))
    if len(values) >= window:
        result[: window - 1] = np.nan
        _window_sums(values, window, out=result[window - 1 :])
        result[window - 1 :] /= window
    return result


def _smooth(values: F64, alpha: float, first: float) -> F64:
    """``y[0] = first``, then ``y[i] = y[i-1] + alpha * (values[i] - y[i-1])``.

    A first-order IIR filter run by ``scipy.signal.lfilter`` in C; its initial state is
    chosen so that the first output is exactly ``first``.
    """
    if len(values) == 0:
        return np.empty(0)
    # Imported here, not at module level: scipy.signal costs over a second to import,
    # which every `findata` command would pay even when it computes no indicator.
    from scipy.signal import lfilter

    result: F64 = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[first - alpha * values[0]])[0]
    result[0] = first
    return result


def sma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Simple moving average over ``window`` bars (TA-Lib ``SMA``)."""
    _check_period("window", window, 2)
    return _rolling_mean(_as_float(values), window)


def _ema_from(values: F64, window: int, alpha: float, start: int) -> F64:
    """EMA seeded at ``start`` with the mean of the ``window`` values ending there."""
    if start >= len(values):
        return _nan(len(values))
    seed = float(np.mean(values[start - window + 1 : start + 1]))
    return _padded(_smooth(values[start:], alpha, seed), len(values))


def ema(values: npt.ArrayLike, window: int = 30) -> F64:
    """Exponential moving average, k = 2 / (window + 1), seeded with the SMA of the
    first ``window`` values (TA-Lib ``EMA``)."""
    _check_period("window", window, 2)
    return _ema_from(_as_float(values), window, 2.0 / (window + 1), window - 1)


def wma(values: npt.ArrayLike, window: int = 30) -> F64:
    """Linearly weighted moving average, newest bar weight ``window`` (TA-Lib ``WMA``).

    The weighted sum is updated like TA-Lib's: add ``window`` x the new value and drop the
    plain sum of the previous window, so the result never subtracts two huge totals.
    """
    _check_period("window", window, 2)
    x = _as_float(values)
    if len(x) < window:
        return _nan(len(x))
    first = float(np.dot(x[:window], np.arange(1, window + 1, dtype=np.float64)))
    steps = x[window:] * window
    steps -= _window_sums(x[:-1], window)
    weighted = np.empty(len(x) - window + 1)
    weighted[0] = first
    np.cumsum(steps, out=weighted[1:])
    weighted[1:] += first
    weighted /= window * (window + 1) / 2
    return _padded(weighted, len(x))


def _wilder(values: F64, period: int) -> F64:
    """Wilder's smoothing: the mean of the first ``period`` values, then
    ``(previous * (period - 1) + value) / period``; ``len(values) - period + 1`` values."""
    seed = float(np.mean(values[:period]))
    return _smooth(values[period - 1 :], 1.0 / period, seed)


def rsi(values: npt.ArrayLike, window: int = 14) -> F64:
    """Relative Strength Index with Wilder's smoothing (TA-Lib ``RSI``); 0 when the
    series did not move over the averaging window."""
    _check_period("window", window, 2)
    x = _as_float(values)
    if len(x) <= window:
        return _nan(len(x))
    change = np.diff(x)
    rises = np.maximum(change, 0.0)
    gains = _wilder(rises, window)
    losses = _wilder(np.subtract(rises, change, out=change), window)  # max(-change, 0)
    total = losses
    total += gains
    with np.errstate(invalid="ignore", divide="ignore"):
        strength = np.divide(gains, total, out=gains)
    strength *= 100.0
    strength[total < _TA_EPSILON] = 0.0
    return _padded(strength, len(x))


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
    lookback = slow + signal - 2
    if lookback >= len(x):
        return _nan(len(x)), _nan(len(x)), _nan(len(x))
    # Both EMAs from bar slow - 1 on, each seeded with the mean of its window ending there.
    start = slow - 1
    line = _smooth(x[start:], 2.0 / (fast + 1), float(np.mean(x[slow - fast : slow])))
    line -= _smooth(x[start:], 2.0 / (slow + 1), float(np.mean(x[:slow])))
    signal_line = _smooth(line[signal - 1 :], 2.0 / (signal + 1), float(np.mean(line[:signal])))
    line = line[signal - 1 :]
    length = len(x)
    return (
        _padded(line, length),
        _padded(signal_line, length),
        _padded(line - signal_line, length),
    )


def bbands(values: npt.ArrayLike, window: int = 5, stddev: float = 2.0) -> tuple[F64, F64, F64]:
    """Bollinger Bands: SMA +/- ``stddev`` population standard deviations (TA-Lib
    ``BBANDS`` with MA type SMA); returns (upper, middle, lower).

    Like TA-Lib, the variance is E[x^2] - E[x]^2 and counts as zero below 1e-8.
    """
    _check_period("window", window, 2)
    x = _as_float(values)
    if len(x) < window:
        return _nan(len(x)), _nan(len(x)), _nan(len(x))
    middle = _exact_window_sums(x, window) / window
    variance = _exact_window_sums(x * x, window) / window - middle * middle
    deviation = np.sqrt(np.maximum(variance, 0.0))
    deviation[variance < _TA_EPSILON] = 0.0
    deviation *= stddev
    length = len(x)
    return (
        _padded(middle + deviation, length),
        _padded(middle, length),
        _padded(middle - deviation, length),
    )


def true_range(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike) -> F64:
    """max(high - low, |high - previous close|, |low - previous close|); NaN on bar 0.

    Computed as max(high, previous close) - min(low, previous close), which is the same
    subtraction TA-Lib picks, in three passes instead of seven.
    """
    h, lo, c = _as_float(high), _as_float(low), _as_float(close)
    ranges = np.empty(len(c))
    if len(c):
        ranges[0] = np.nan
        np.subtract(np.maximum(h[1:], c[:-1]), np.minimum(lo[1:], c[:-1]), out=ranges[1:])
    return ranges


def atr(high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, window: int = 14) -> F64:
    """Average True Range with Wilder's smoothing, seeded with the mean of the first
    ``window`` true ranges (TA-Lib ``ATR``)."""
    _check_period("window", window)
    ranges = true_range(high, low, close)
    if window == 1:
        return ranges
    if len(ranges) <= window:
        return _nan(len(ranges))
    return _padded(_wilder(ranges[1:], window), len(ranges))


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
    from scipy.ndimage import maximum_filter1d, minimum_filter1d  # lazy, see _smooth

    highest = maximum_filter1d(h, k_window, origin=origin, mode="nearest")
    lowest = minimum_filter1d(lo, k_window, origin=origin, mode="nearest")
    spread = (highest - lowest) / 100.0
    with np.errstate(invalid="ignore", divide="ignore"):
        fast_k = np.divide(c - lowest, spread)
    fast_k[spread < _TA_EPSILON] = 0.0
    slow_k = _window_sums(fast_k[k_window - 1 :], k_smooth) / k_smooth
    slow_d = _window_sums(slow_k, d_window) / d_window
    return _padded(slow_k[d_window - 1 :], length), _padded(slow_d, length)


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
