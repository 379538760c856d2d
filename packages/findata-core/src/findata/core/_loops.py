"""The inner loops of the indicator kernels and of the adjustment, compiled by Numba.

Each loop is TA-Lib's C definition transcribed: the same running totals, the same
recurrences and the same order of floating-point operations, so results agree with
TA-Lib to the last bit or nearly, in one pass over the data like TA-Lib's own code
(docs/decisions/0004-indicator-loops-compiled-with-numba.md). NumPy formulations need
several passes and a scalar scan (``cumsum``, ``lfilter``) per recursion, 3-13x TA-Lib.

Inputs are contiguous float64 arrays already checked by :mod:`findata.core._kernels`;
outputs are float64 with NaN over TA-Lib's lookback. This module imports Numba, which
costs ~1 s, so :mod:`findata.core._kernels` imports it on the first indicator only.
Compiled code is cached on disk (``cache=True``: next to this file when writable, else
in ``NUMBA_CACHE_DIR`` or the user's cache directory), so only the first process pays
the compilation.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
Loop = TypeVar("Loop", bound=Callable[..., Any])

TA_EPSILON = 1e-8
"""TA-Lib's TA_IS_ZERO threshold: a denominator below it counts as zero."""


def _compiled(*signatures: Any) -> Callable[[Loop], Loop]:
    """Compile a loop to machine code, cached on disk when a writable place exists.

    With ``signatures`` the loop is compiled (or loaded from the cache) when this module
    is imported, once for read-only and writable arrays alike (Arrow's zero-copy arrays
    are read-only, and a second variant would be compiled for them); without, on its
    first call from another loop. ``error_model="numpy"`` makes a division by zero give
    inf/NaN as NumPy does and skips the checks. No ``fastmath``: it would reorder the
    arithmetic that keeps results equal to TA-Lib's.
    """

    def compile_loop(loop: Loop) -> Loop:
        options: dict[str, Any] = {"nogil": True, "error_model": "numpy"}
        jit = functools.partial(numba.njit, list(signatures)) if signatures else numba.njit
        try:
            compiled = cast(Loop, jit(cache=True, **options)(loop))
        except RuntimeError as error:  # no writable cache directory at all
            warnings.warn(
                f"findata-core: Numba cannot cache {loop.__name__} ({error}); it is "
                "compiled in every process. Set NUMBA_CACHE_DIR to a writable directory.",
                RuntimeWarning,
                stacklevel=2,
            )
            compiled = cast(Loop, jit(cache=False, **options)(loop))
        return compiled

    return compile_loop


_ARRAY = numba.types.Array(numba.float64, 1, "C", readonly=True)
_OUT = numba.float64[::1]
_INT = numba.int64
_FLOAT = numba.float64
_STARTS = numba.types.Array(numba.int64, 1, "C", readonly=True)
_THREE = numba.types.UniTuple(_OUT, 3)  # type: ignore[no-untyped-call]
_TWO = numba.types.UniTuple(_OUT, 2)  # type: ignore[no-untyped-call]


@_compiled()
def _lookback(length: int, lookback: int) -> F64:
    """An output array whose first ``lookback`` values are NaN."""
    out = np.empty(length)
    out[: min(lookback, length)] = np.nan
    return out


@_compiled(_OUT(_ARRAY, _INT))
def sma(values: F64, window: int) -> F64:
    """TA-Lib ``TA_INT_SMA``: a running total, add the newest value, drop the oldest."""
    out = _lookback(len(values), window - 1)
    if len(values) < window:
        return out
    total = 0.0
    for today in range(window - 1):
        total += values[today]
    for today in range(window - 1, len(values)):
        total += values[today]
        out[today] = total / window
        total -= values[today - window + 1]
    return out


@_compiled(_OUT(_ARRAY, _INT, _FLOAT, _INT))
def ema(values: F64, window: int, k: float, start: int) -> F64:
    """TA-Lib ``TA_INT_EMA`` from bar ``start``: seeded with the mean of the ``window``
    values ending there, then ``previous + k * (value - previous)``."""
    out = _lookback(len(values), start)
    if start >= len(values):
        return out
    total = 0.0
    for today in range(start - window + 1, start + 1):
        total += values[today]
    previous = total / window
    out[start] = previous
    for today in range(start + 1, len(values)):
        previous = ((values[today] - previous) * k) + previous
        out[today] = previous
    return out


@_compiled(_OUT(_ARRAY, _INT))
def wma(values: F64, window: int) -> F64:
    """TA-Lib ``WMA``: the weighted sum gains ``window`` x the new value and loses the
    plain sum of the previous window, never a difference of two huge totals. Like TA-Lib
    0.8, both totals are rebuilt from the window every ``8 * window`` bars, so rounding
    cannot build up over a long series."""
    out = _lookback(len(values), window - 1)
    if len(values) < window:
        return out
    divider = float(window * (window + 1) // 2)
    plain = 0.0
    weighted = 0.0
    for today in range(window - 1):
        plain += values[today]
        weighted += values[today] * (today + 1)
    until_rebuild = 8 * window
    trailing = 0.0
    for today in range(window - 1, len(values)):
        value = values[today]
        plain += value
        plain -= trailing
        weighted += value * window
        until_rebuild -= 1
        if until_rebuild <= 0:
            until_rebuild = 8 * window
            plain = 0.0
            weighted = 0.0
            for weight in range(1, window + 1):
                oldest_first = values[today - window + weight]
                plain += oldest_first
                weighted += oldest_first * weight
        trailing = values[today - window + 1]
        out[today] = weighted / divider
        weighted -= plain
    return out


@_compiled(_OUT(_ARRAY, _INT))
def rsi(values: F64, window: int) -> F64:
    """TA-Lib ``RSI``: Wilder's average gain and loss, seeded with the mean of the first
    ``window`` changes; 0 when both averages are (nearly) zero.

    Each step is ``average * (window - 1) / window + change / window``, TA-Lib's
    smoothing arranged so the division is not on the loop's dependency chain (2x
    faster; agrees with TA-Lib 0.8 to ~2e-15 relative, as TA-Lib's own order does).
    """
    out = _lookback(len(values), window)
    if len(values) <= window:
        return out
    gain = 0.0
    loss = 0.0
    for today in range(1, window + 1):
        change = values[today] - values[today - 1]
        if change < 0:
            loss -= change
        else:
            gain += change
    loss /= window
    gain /= window
    total = gain + loss
    out[window] = 100.0 * (gain / total) if not -TA_EPSILON < total < TA_EPSILON else 0.0
    keep = (window - 1) / window
    for today in range(window + 1, len(values)):
        change = values[today] - values[today - 1]
        gain = gain * keep + max(change, 0.0) / window
        loss = loss * keep + max(-change, 0.0) / window
        total = gain + loss
        out[today] = 100.0 * (gain / total) if not -TA_EPSILON < total < TA_EPSILON else 0.0
    return out


@_compiled(_THREE(_ARRAY, _INT, _INT, _INT))
def macd(values: F64, fast: int, slow: int, signal: int) -> tuple[F64, F64, F64]:
    """TA-Lib ``MACD``: both EMAs seeded at bar ``slow - 1`` (each with the mean of its
    window ending there), the signal EMA with the mean of the first ``signal`` MACD
    values; every output starts at bar ``slow + signal - 2``."""
    length = len(values)
    lookback = slow + signal - 2
    line = _lookback(length, lookback)
    signal_line = _lookback(length, lookback)
    histogram = _lookback(length, lookback)
    if lookback >= length:
        return line, signal_line, histogram
    k_fast = 2.0 / (fast + 1)
    k_slow = 2.0 / (slow + 1)
    k_signal = 2.0 / (signal + 1)
    start = slow - 1
    fast_total = 0.0
    for today in range(start - fast + 1, start + 1):
        fast_total += values[today]
    slow_total = 0.0
    for today in range(slow):
        slow_total += values[today]
    fast_ema = fast_total / fast
    slow_ema = slow_total / slow
    signal_total = fast_ema - slow_ema
    for today in range(start + 1, lookback + 1):
        fast_ema = ((values[today] - fast_ema) * k_fast) + fast_ema
        slow_ema = ((values[today] - slow_ema) * k_slow) + slow_ema
        signal_total += fast_ema - slow_ema
    signal_ema = signal_total / signal
    line[lookback] = fast_ema - slow_ema
    signal_line[lookback] = signal_ema
    histogram[lookback] = line[lookback] - signal_ema
    for today in range(lookback + 1, length):
        fast_ema = ((values[today] - fast_ema) * k_fast) + fast_ema
        slow_ema = ((values[today] - slow_ema) * k_slow) + slow_ema
        value = fast_ema - slow_ema
        # A 1-bar EMA is the value itself (TA-Lib copies; the formula would round).
        signal_ema = value if signal == 1 else ((value - signal_ema) * k_signal) + signal_ema
        line[today] = value
        signal_line[today] = signal_ema
        histogram[today] = value - signal_ema
    return line, signal_line, histogram


@_compiled(_THREE(_ARRAY, _INT, _FLOAT))
def bbands(values: F64, window: int, stddev: float) -> tuple[F64, F64, F64]:
    """TA-Lib ``BBANDS`` with an SMA: the middle band is TA-Lib's running-total SMA, the
    variance TA-Lib 0.8's ``var``: running sums of deviations from a shift near the
    window, so E[d^2] - E[d]^2 never subtracts two ~mean^2 quantities, rebuilt from the
    window (shift = its mean) when cancellation looms, when a large value leaves, and
    every ``32 * window`` bars. A variance below 1e-8 counts as zero, as in TA-Lib
    before 0.8 (``TA_IS_ZERO_OR_NEG``; docs/decisions/0003-talib-compatibility-details.md).
    """
    length = len(values)
    upper = _lookback(length, window - 1)
    middle = _lookback(length, window - 1)
    lower = _lookback(length, window - 1)
    if length < window:
        return upper, middle, lower
    inverse = 1.0 / window
    shift = values[0]
    total = 0.0
    shifted = 0.0
    squares = 0.0
    for today in range(window - 1):
        total += values[today]
        deviation = values[today] - shift
        shifted += deviation
        squares += deviation * deviation
    until_rebuild = 32 * window
    for today in range(window - 1, length):
        value = values[today]
        oldest = values[today - window + 1]
        total += value
        mean = total / window
        total -= oldest
        deviation = value - shift
        shifted += deviation
        squares += deviation * deviation
        shifted_mean = shifted * inverse
        variance = squares * inverse - shifted_mean * shifted_mean
        deviation = oldest - shift
        shifted -= deviation
        deviation *= deviation
        squares -= deviation
        until_rebuild -= 1
        if variance < 1e-6 * (squares * inverse) or deviation > 1e6 * squares or until_rebuild <= 0:
            until_rebuild = 32 * window
            window_total = 0.0
            for i in range(today - window + 1, today + 1):
                window_total += values[i]
            shift = window_total * inverse
            shifted = 0.0
            squares = 0.0
            for i in range(today - window + 1, today + 1):
                deviation = values[i] - shift
                shifted += deviation
                squares += deviation * deviation
            shifted_mean = shifted * inverse
            variance = squares * inverse - shifted_mean * shifted_mean
            if variance < 1e-12 * (squares * inverse):
                variance = 0.0
            deviation = oldest - shift
            shifted -= deviation
            squares -= deviation * deviation
        width = 0.0 if variance < TA_EPSILON else math.sqrt(variance) * stddev
        upper[today] = mean + width
        middle[today] = mean
        lower[today] = mean - width
    return upper, middle, lower


@_compiled()
def _true_range_at(high: F64, low: F64, close: F64, today: int) -> float:
    """TA-Lib ``TRANGE`` of one bar: the largest of high - low and the distances of
    the previous close from the high and from the low."""
    previous = close[today - 1]
    greatest: float = high[today] - low[today]
    from_high = abs(previous - high[today])
    if from_high > greatest:
        greatest = from_high
    from_low = abs(previous - low[today])
    if from_low > greatest:
        greatest = from_low
    return greatest


@_compiled(_OUT(_ARRAY, _ARRAY, _ARRAY))
def true_range(high: F64, low: F64, close: F64) -> F64:
    """TA-Lib ``TRANGE``; NaN on bar 0, which has no previous close."""
    out = _lookback(len(close), 1)
    for today in range(1, len(close)):
        out[today] = _true_range_at(high, low, close, today)
    return out


@_compiled(_OUT(_ARRAY, _ARRAY, _ARRAY, _INT))
def atr(high: F64, low: F64, close: F64, window: int) -> F64:
    """TA-Lib ``ATR`` (window >= 2): Wilder's smoothing of the true range, seeded with
    the mean of the first ``window`` true ranges."""
    out = _lookback(len(close), window)
    if len(close) <= window:
        return out
    total = 0.0
    for today in range(1, window + 1):
        total += _true_range_at(high, low, close, today)
    average = total / window
    out[window] = average
    keep = (window - 1) / window  # Wilder's smoothing arranged as in rsi
    for today in range(window + 1, len(close)):
        average = average * keep + _true_range_at(high, low, close, today) / window
        out[today] = average
    return out


@_compiled(_TWO(_ARRAY, _ARRAY, _ARRAY, _INT, _INT, _INT))
def stoch(
    high: F64, low: F64, close: F64, k_window: int, k_smooth: int, d_window: int
) -> tuple[F64, F64]:
    """TA-Lib ``STOCH`` with SMA smoothing: fast %K from the lowest low and highest high
    of ``k_window`` bars (tracked like TA-Lib: rescan only when the extreme leaves the
    window), 0 when the range / 100 is below 1e-8 (TA-Lib 0.8 divides by the range and
    then scales by 100); slow %K its ``k_smooth`` SMA and %D
    the ``d_window`` SMA of slow %K, both from bar ``k_window + k_smooth + d_window - 3``."""
    length = len(close)
    lookback = k_window + k_smooth + d_window - 3
    slow_k = _lookback(length, lookback)
    slow_d = _lookback(length, lookback)
    if length <= lookback:
        return slow_k, slow_d
    fast_k = np.empty(length)
    lowest_at = -1
    highest_at = -1
    lowest = 0.0
    highest = 0.0
    for today in range(k_window - 1, length):
        trailing = today - k_window + 1
        if lowest_at < trailing:
            lowest_at = trailing
            lowest = low[trailing]
            for i in range(trailing + 1, today + 1):
                if low[i] < lowest:
                    lowest_at = i
                    lowest = low[i]
        elif low[today] <= lowest:
            lowest_at = today
            lowest = low[today]
        if highest_at < trailing:
            highest_at = trailing
            highest = high[trailing]
            for i in range(trailing + 1, today + 1):
                if high[i] > highest:
                    highest_at = i
                    highest = high[i]
        elif high[today] >= highest:
            highest_at = today
            highest = high[today]
        spread = highest - lowest
        fast_k[today] = (
            0.0 if spread / 100.0 < TA_EPSILON else (close[today] - lowest) / spread * 100.0
        )
    first_k = k_window + k_smooth - 2
    total = 0.0
    for today in range(k_window - 1, first_k):
        total += fast_k[today]
    for today in range(first_k, length):
        total += fast_k[today]
        slow_k[today] = total / k_smooth
        total -= fast_k[today - k_smooth + 1]
    total = 0.0
    for today in range(first_k, lookback):
        total += slow_k[today]
    for today in range(lookback, length):
        total += slow_k[today]
        slow_d[today] = total / d_window
        total -= slow_k[today - d_window + 1]
    slow_k[:lookback] = np.nan
    return slow_k, slow_d


@_compiled(_OUT(_ARRAY, _ARRAY))
def obv(values: F64, volume: F64) -> F64:
    """TA-Lib ``OBV``: from the first bar's volume, add the volume of a bar that closed
    higher than the previous one, subtract that of one that closed lower."""
    out = np.empty(len(values))
    if len(values) == 0:
        return out
    total = volume[0]
    previous = values[0]
    for today in range(len(values)):
        value = values[today]
        if value > previous:
            total += volume[today]
        elif value < previous:
            total -= volume[today]
        out[today] = total
        previous = value
    return out


@_compiled(_OUT(_ARRAY, _ARRAY, _STARTS))
def vwap(price: F64, volume: F64, session_starts: npt.NDArray[np.int64]) -> F64:
    """Volume-weighted average price, cumulative from each of ``session_starts`` (sorted
    rows, the first 0): running totals reset per session, so no session inherits the
    rounding of the ones before; NaN until the session has traded."""
    out = np.empty(len(price))
    session = 0
    traded = 0.0
    shares = 0.0
    for today in range(len(price)):
        if session < len(session_starts) and session_starts[session] == today:
            session += 1
            traded = 0.0
            shares = 0.0
        traded += price[today] * volume[today]
        shares += volume[today]
        out[today] = traded / shares if shares > 0 else np.nan
    return out


# Adjustment (findata.core._adjust): each column multiplied run by run by one scalar.
_INTS_OUT = numba.int64[::1]


@_compiled(numba.void(_ARRAY, _OUT, _STARTS, _ARRAY))
def scale_runs(values: F64, out: F64, run_starts: npt.NDArray[np.int64], factors: F64) -> None:
    """``out[row] = values[row] * factors[run]`` for the rows of each run (run ``k`` from
    ``run_starts[k]`` to the next start or the end). Each run is its own plain loop over
    two slices, which LLVM vectorises: one pass, 0.07 ms per 196,560 rows here, where
    NumPy needs a per-row factor array and a second pass."""
    runs = len(run_starts)
    for run in range(runs):
        begin = run_starts[run]
        end = run_starts[run + 1] if run + 1 < runs else len(values)
        factor = factors[run]
        source = values[begin:end]
        target = out[begin:end]
        for row in range(end - begin):
            target[row] = source[row] * factor


_INT64_MAX = np.iinfo(np.int64).max
_INT64_LIMIT = 2.0**63


@_compiled(_INT(_STARTS, _INTS_OUT, _STARTS, _ARRAY))
def scale_volume_runs(
    volume: npt.NDArray[np.int64],
    out: npt.NDArray[np.int64],
    run_starts: npt.NDArray[np.int64],
    multipliers: F64,
) -> int:
    """``out[row] = volume[row] * multipliers[run]``: in integers where the run's
    multiplier is whole (exact), else rounded to the nearest integer, halves to even
    (``numpy.rint``). Returns the first row whose product exceeds int64 (``out`` is then
    unfinished), else -1; volumes are not negative. Overflows are counted branch-free in
    the same pass, so the loops still vectorise."""
    runs = len(run_starts)
    for run in range(runs):
        begin = run_starts[run]
        end = run_starts[run + 1] if run + 1 < runs else len(volume)
        multiplier = multipliers[run]
        source = volume[begin:end]
        target = out[begin:end]
        overflows = 0
        if multiplier == math.floor(multiplier) and multiplier < _INT64_LIMIT:
            whole = np.int64(multiplier)
            largest = _INT64_MAX // whole
            for row in range(end - begin):
                overflows += source[row] > largest
                target[row] = source[row] * whole
        else:
            for row in range(end - begin):
                product = source[row] * multiplier
                overflows += product >= _INT64_LIMIT
                target[row] = np.int64(np.rint(product))
        if overflows:
            for row in range(end - begin):
                if source[row] * multiplier >= _INT64_LIMIT:
                    return int(begin + row)
    return -1


@_compiled(_INT(_STARTS, _STARTS))
def first_step_back(times: npt.NDArray[np.int64], block_starts: npt.NDArray[np.int64]) -> int:
    """The first row whose time is not after the previous row's, other than the first row
    of a block (``block_starts``, sorted, the first 0); -1 when every block increases.
    Each block is first checked by a branch-free count, which vectorises."""
    blocks = len(block_starts)
    for block in range(blocks):
        begin = block_starts[block]
        end = block_starts[block + 1] if block + 1 < blocks else len(times)
        earlier = times[begin : end - 1] if end > begin else times[begin:begin]
        later = times[begin + 1 : end] if end > begin else times[begin:begin]
        steps_back = 0
        for row in range(len(later)):
            steps_back += later[row] <= earlier[row]
        if steps_back:
            for row in range(len(later)):
                if later[row] <= earlier[row]:
                    return int(begin + 1 + row)
    return -1


_OFFSETS = numba.types.Array(numba.int32, 1, "C", readonly=True)


@_compiled(_INT(_OFFSETS))
def uniform_width(offsets: npt.NDArray[np.int32]) -> int:
    """The width of every string of an Arrow string array (its ``offsets`` buffer) when
    all have the same, else -1. A branch-free count, which vectorises: 0.04 ms per
    196,560 rows, where NumPy's difference and comparison allocate twice."""
    rows = len(offsets) - 1
    if rows < 1:
        return 0
    width = offsets[1] - offsets[0]
    other_widths = 0
    for row in range(1, rows):
        other_widths += (offsets[row + 1] - offsets[row]) != width
    return -1 if other_widths else width


_FLAGS_OUT = numba.int8[::1]


@_compiled(
    _INT(
        _STARTS,
        _STARTS,
        _STARTS,
        _STARTS,
        _STARTS,
        _ARRAY,
        _ARRAY,
        _STARTS,
        _STARTS,
        _ARRAY,
        _ARRAY,
        _ARRAY,
        _INTS_OUT,
        _OUT,
        _OUT,
        _FLAGS_OUT,
        _OUT,
    )
)
def adjustment_runs(
    times: npt.NDArray[np.int64],
    block_starts: npt.NDArray[np.int64],
    block_ends: npt.NDArray[np.int64],
    split_bounds: npt.NDArray[np.int64],
    split_begins: npt.NDArray[np.int64],
    split_factors: F64,
    split_multipliers: F64,
    dividend_bounds: npt.NDArray[np.int64],
    dividend_begins: npt.NDArray[np.int64],
    cash: F64,
    reference_closes: F64,
    closes: F64,
    run_starts: npt.NDArray[np.int64],
    run_prices: F64,
    run_volumes: F64,
    dividend_skips: npt.NDArray[np.int8],
    dividend_closes: F64,
) -> int:
    """The runs of rows sharing one price factor and one volume multiplier, every
    symbol's block at once (findata.core._adjust, where dates never step back).

    Block ``b`` holds rows ``block_starts[b]:block_ends[b]`` (times increasing) and the
    splits ``split_bounds[b]:split_bounds[b + 1]`` and dividends likewise, in ex-date
    order, with the instant each ex-date begins. An action applies to the rows before
    that instant (one binary search). A dividend's close is its reference close, else
    the close of the last row before it; with none (skip 1) or a cash amount not below
    it (skip 2) it is skipped, its close kept for the report. Actions are taken in row
    order, splits before dividends at the same row, and each run's factor is the
    product of the factors after it, multiplied from the last back: the order and the
    arithmetic of NumPy's ``multiply.accumulate`` in the general path. Fills the
    ``run_*`` outputs and returns how many runs there are.
    """
    runs = 0
    for block in range(len(block_starts)):
        begin = block_starts[block]
        rows = block_ends[block] - begin
        first_split, end_split = split_bounds[block], split_bounds[block + 1]
        first_dividend, end_dividend = dividend_bounds[block], dividend_bounds[block + 1]
        if first_split == end_split and first_dividend == end_dividend:
            run_starts[runs] = begin
            run_prices[runs] = 1.0
            run_volumes[runs] = 1.0
            runs += 1
            continue
        block_times = times[begin : begin + rows]
        splits = end_split - first_split
        dividends = end_dividend - first_dividend
        dividend_keys = np.empty(dividends, np.int64)
        dividend_factors = np.empty(dividends)
        kept = 0
        for index in range(first_dividend, end_dividend):
            position = np.searchsorted(block_times, dividend_begins[index])
            close = reference_closes[index]
            if np.isnan(close) and position > 0:
                close = closes[begin + position - 1]
            dividend_closes[index] = close
            if np.isnan(close):
                dividend_skips[index] = 1
            elif cash[index] >= close:
                dividend_skips[index] = 2
            else:
                dividend_skips[index] = 0
                dividend_keys[kept] = position
                dividend_factors[kept] = 1.0 - cash[index] / close
                kept += 1
        events = splits + kept
        keys = np.empty(events, np.int64)
        factors = np.empty(events)
        multipliers = np.empty(events)
        split, dividend = first_split, 0
        for event in range(events):
            split_key = np.int64(-1)
            if split < end_split:
                split_key = np.searchsorted(block_times, split_begins[split])
            if split < end_split and (dividend == kept or split_key <= dividend_keys[dividend]):
                keys[event] = split_key
                factors[event] = split_factors[split]
                multipliers[event] = split_multipliers[split]
                split += 1
            else:
                keys[event] = dividend_keys[dividend]
                factors[event] = dividend_factors[dividend]
                multipliers[event] = 1.0
                dividend += 1
        prices = np.ones(events + 1)
        volumes = np.ones(events + 1)
        price, volume = 1.0, 1.0
        for event in range(events - 1, -1, -1):
            price = price * factors[event]
            volume = volume * multipliers[event]
            prices[event] = price
            volumes[event] = volume
        event = 0
        while event < events and keys[event] <= 0:
            event += 1
        run_starts[runs] = begin
        run_prices[runs] = prices[event]
        run_volumes[runs] = volumes[event]
        runs += 1
        while event < events and keys[event] < rows:
            key = keys[event]
            while event < events and keys[event] == key:
                event += 1
            run_starts[runs] = begin + key
            run_prices[runs] = prices[event]
            run_volumes[runs] = volumes[event]
            runs += 1
    return runs


@_compiled(
    _INT(
        _ARRAY,
        _ARRAY,
        _STARTS,
        _STARTS,
        _ARRAY,
        _ARRAY,
        _STARTS,
        _STARTS,
        _ARRAY,
        _ARRAY,
        _OUT,
        _OUT,
        _OUT,
        _OUT,
        _INTS_OUT,
    )
)
def adjusted_periods(
    opens: F64,
    closes: F64,
    volume: npt.NDArray[np.int64],
    segment_starts: npt.NDArray[np.int64],
    segment_highs: F64,
    segment_lows: F64,
    group_starts: npt.NDArray[np.int64],
    run_starts: npt.NDArray[np.int64],
    factors: F64,
    multipliers: F64,
    out_open: F64,
    out_high: F64,
    out_low: F64,
    out_close: F64,
    out_volume: npt.NDArray[np.int64],
) -> int:
    """Resampling of the adjusted bars without adjusting them: the periods whose rows begin
    at ``group_starts`` (in row order, each up to the next), each row's prices multiplied by
    its run's factor and its volume by its run's multiplier, rounded as
    :func:`scale_volume_runs` rounds it: the first open, the largest high, the smallest
    low and the last close of the products, and the sum of the volumes.

    ``segment_starts`` cut the rows at every period and run start, with the raw high and
    low of each segment (NumPy's ``reduceat``, vectorised): a factor is positive and
    rounding is monotonic, so a segment's largest product is its largest value times its
    factor, exactly. Volumes are summed row by row in one pass (overflows counted
    branch-free, so it vectorises). Returns the first row whose volume exceeds int64
    once adjusted (the outputs are then unfinished), else -1."""
    groups = len(group_starts)
    segments = len(segment_starts)
    runs = len(run_starts)
    rows = len(opens)
    run = 0
    segment = 0
    for group in range(groups):
        first = group_starts[group]
        end = group_starts[group + 1] if group + 1 < groups else rows
        while run + 1 < runs and run_starts[run + 1] <= first:
            run += 1
        out_open[group] = opens[first] * factors[run]
        highest = -np.inf
        lowest = np.inf
        total = np.int64(0)
        while segment < segments and segment_starts[segment] < end:
            row = segment_starts[segment]
            stop = segment_starts[segment + 1] if segment + 1 < segments else rows
            while run + 1 < runs and run_starts[run + 1] <= row:
                run += 1
            factor = factors[run]
            highest = max(highest, segment_highs[segment] * factor)
            lowest = min(lowest, segment_lows[segment] * factor)
            multiplier = multipliers[run]
            source = volume[row:stop]
            overflows = 0
            if multiplier == 1.0:
                for at in range(stop - row):
                    total += source[at]
            elif multiplier == math.floor(multiplier) and multiplier < _INT64_LIMIT:
                whole = np.int64(multiplier)
                largest = _INT64_MAX // whole
                for at in range(stop - row):
                    overflows += source[at] > largest
                    total += source[at] * whole
            else:
                for at in range(stop - row):
                    product = source[at] * multiplier
                    overflows += product >= _INT64_LIMIT
                    total += np.int64(np.rint(product))
            if overflows:
                for at in range(stop - row):
                    if source[at] * multiplier >= _INT64_LIMIT:
                        return int(row + at)
            segment += 1
        out_high[group] = highest
        out_low[group] = lowest
        out_close[group] = closes[end - 1] * factors[run]
        out_volume[group] = total
    return -1
