"""Synthetic OHLCV bars for benchmarks: regular-session minute bars, no I/O.

Shared by the benchmark scripts so every figure in docs/benchmarks.md is measured
on the same shape of data: 390 one-minute bars (09:30-15:59 New York) per weekday
(960 from 04:00 for the extended-hours case of the calendar benchmark).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

SESSION_MINUTES = 390
NEW_YORK = ZoneInfo("America/New_York")


def session_opens(
    first_day: date, trading_days: int, first_minute: time = time(9, 30)
) -> np.ndarray:
    """UTC microseconds of ``first_minute`` New York on the first ``trading_days`` weekdays."""
    opens: list[int] = []
    day = first_day
    while len(opens) < trading_days:
        if day.weekday() < 5:
            local = datetime.combine(day, first_minute, tzinfo=NEW_YORK)
            opens.append(int(local.timestamp()) * 1_000_000)
        day += timedelta(days=1)
    return np.array(opens, dtype=np.int64)


def minute_bars(
    symbols: int = 50,
    trading_days: int = 504,
    *,
    first_day: date = date(2022, 1, 3),
    seed: int = 42,
    price_decimals: int | None = 4,
    first_minute: time = time(9, 30),
    minutes_per_day: int = SESSION_MINUTES,
) -> pa.Table:
    """``symbols`` x ``trading_days`` x ``minutes_per_day`` minute bars from ``first_minute``
    (390 from 09:30) in BAR_SCHEMA, sorted by symbol, time.

    504 weekdays is two years: one symbol is 196,560 rows, 50 symbols 9.8 million.
    Prices have ``price_decimals`` decimals, 4 by default as minute-bar feeds give
    sub-penny trade prices; ``None`` keeps random full-precision doubles, a worst
    case for storage (DuckDB and Parquet then cannot store them as scaled integers).
    """
    rng = np.random.default_rng(seed)
    minutes = np.arange(minutes_per_day, dtype=np.int64) * 60_000_000
    one_symbol = (session_opens(first_day, trading_days, first_minute)[:, None] + minutes).ravel()
    per_symbol = len(one_symbol)
    rows = per_symbol * symbols
    timestamps = np.tile(one_symbol, symbols)
    returns = rng.normal(0.0, 0.0008, rows).reshape(symbols, per_symbol)
    levels = rng.uniform(20.0, 500.0, (symbols, 1))
    close = (levels * np.exp(np.cumsum(returns, axis=1))).ravel()
    open_ = close * (1 + rng.normal(0.0, 0.0003, rows))
    spread = np.abs(rng.normal(0.0, 0.0005, rows)) * close
    if price_decimals is not None:  # rounding is monotonic: high and low stay outside
        close, open_, spread = (np.round(a, price_decimals) for a in (close, open_, spread))
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    if price_decimals is not None:  # sums of rounded values carry binary noise
        high, low = np.round(high, price_decimals), np.round(low, price_decimals)
    volume = rng.integers(100, 50_000, rows)
    names = pa.array([f"SYM{i:03d}" for i in range(symbols)])
    codes = pa.array(np.repeat(np.arange(symbols, dtype=np.int32), per_symbol))
    return pa.table(
        {
            "symbol": pa.DictionaryArray.from_arrays(codes, names).cast(pa.string()),
            "timestamp": pa.array(timestamps, type=pa.timestamp("us", tz="UTC")),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
    )


def daily_bars(
    rows: int = 500, *, symbol: str = "DAILY", seed: int = 7, first_day: date = date(2022, 1, 3)
) -> pa.Table:
    """``rows`` daily bars of one symbol (00:00 New York of each weekday from
    ``first_day``); 500 is the typical size of one HTTP request."""
    rng = np.random.default_rng(seed)
    days: list[int] = []
    day = first_day
    while len(days) < rows:
        if day.weekday() < 5:
            days.append(int(datetime(day.year, day.month, day.day, tzinfo=NEW_YORK).timestamp()))
        day += timedelta(days=1)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, rows)))
    open_ = close * (1 + rng.normal(0.0, 0.003, rows))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    return pa.table(
        {
            "symbol": pa.array([symbol] * rows),
            "timestamp": pa.array(np.array(days) * 1_000_000, type=pa.timestamp("us", tz="UTC")),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": rng.integers(1_000_000, 9_000_000, rows),
        }
    )


def corporate_actions(
    symbol: str = "SYM000",
    *,
    first_day: date = date(2022, 1, 3),
    trading_days: int = 504,
    splits: int = 10,
    dividends: int = 40,
) -> tuple[pa.Table, pa.Table]:
    """``splits`` splits and ``dividends`` cash dividends of ``symbol``, ex on trading days
    spread evenly over those of :func:`minute_bars` (10 and 40 over two years by default).

    Splits cycle through 2-for-1, 3-for-2, 3-for-1, 1-for-10 and 4-for-1, so adjusted
    volumes take the float path (a 3-for-2 split makes earlier multipliers non-whole).
    """
    opens = session_opens(first_day, trading_days) // 1_000_000
    days = [datetime.fromtimestamp(int(second), NEW_YORK).date() for second in opens]
    count = splits + dividends
    step = trading_days // count
    ex_dates = days[step // 2 :: step][:count]
    every = count // splits
    split_dates = ex_dates[::every][:splits]
    dividend_dates = [day for day in ex_dates if day not in set(split_dates)][:dividends]
    ratios = [(1.0, 2.0), (2.0, 3.0), (1.0, 3.0), (10.0, 1.0), (1.0, 4.0)]
    chosen = [ratios[i % len(ratios)] for i in range(len(split_dates))]
    return (
        pa.table(
            {
                "symbol": [symbol] * len(split_dates),
                "ex_date": pa.array(split_dates, pa.date32()),
                "split_from": [ratio[0] for ratio in chosen],
                "split_to": [ratio[1] for ratio in chosen],
            }
        ),
        pa.table(
            {
                "symbol": [symbol] * len(dividend_dates),
                "ex_date": pa.array(dividend_dates, pa.date32()),
                "cash_amount": [0.05 + 0.001 * i for i in range(len(dividend_dates))],
                "currency": ["USD"] * len(dividend_dates),
            }
        ),
    )
