"""compute_indicator and the INDICATORS registry: shapes, nulls, sessions and errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from findata.core import (
    INDICATORS,
    InvalidBarsError,
    InvalidParameterError,
    atr,
    bbands,
    compute_indicator,
    ema,
    macd,
    obv,
    resample,
    rsi,
    sma,
    stoch,
    vwap,
    wma,
)

MakeBars = Callable[..., pa.Table]
NEW_YORK = ZoneInfo("America/New_York")
T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)


def _closes(make_bars: MakeBars, closes: list[float], symbol: str = "AAA") -> pa.Table:
    rows = [(symbol, T0 + timedelta(days=i), c, c + 1, c - 1, c, 100) for i, c in enumerate(closes)]
    return make_bars(rows)


def test_given_four_closes_when_computing_a_2_bar_sma_then_the_first_row_is_null(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _closes(make_bars, [1.0, 2.0, 3.0, 5.0])
    # WHEN
    result = compute_indicator(bars, "sma", {"window": 2})
    # THEN
    assert result.column_names == ["symbol", "timestamp", "sma"]
    assert result.column("sma").to_pylist() == [None, 1.5, 2.5, 4.0]


def test_given_fewer_bars_than_the_window_when_computing_then_every_value_is_null(
    make_bars: MakeBars,
) -> None:
    # GIVEN a single bar
    bars = _closes(make_bars, [10.0])
    # WHEN
    results = {name: compute_indicator(bars, name) for name in INDICATORS}
    # THEN only OBV and VWAP are defined from the first bar on
    for name, result in results.items():
        nulls = [result.column(field).null_count for field in INDICATORS[name].outputs]
        assert nulls == [0 if name in ("obv", "vwap") else 1] * len(nulls), name


def test_given_two_symbols_when_computing_then_each_is_computed_on_its_own(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    first = _closes(make_bars, [1.0, 2.0, 3.0], symbol="AAA")
    second = _closes(make_bars, [10.0, 20.0, 30.0], symbol="BBB")
    both = pa.concat_tables([second, first])
    # WHEN
    result = compute_indicator(both, "ema", {"window": 2})
    # THEN no value of one symbol leaks into the other's warm-up
    assert result.column("symbol").to_pylist() == ["AAA"] * 3 + ["BBB"] * 3
    assert result.column("ema").to_pylist() == [None, 1.5, 2.5, None, 15.0, 25.0]


def test_given_resampled_bars_when_computing_then_period_start_is_the_key(
    make_bars: MakeBars,
) -> None:
    # GIVEN monthly bars
    days = [date(2024, m, 2) for m in range(1, 7)]
    rows = [
        ("AAA", datetime(d.year, d.month, d.day, tzinfo=NEW_YORK), 1.0, 10.0, 0.0, float(i), 10)
        for i, d in enumerate(days)
    ]
    monthly = resample(make_bars(rows), 1, "Monthly")
    # WHEN
    result = compute_indicator(monthly, "sma", {"window": 3})
    # THEN
    assert result.column_names == ["symbol", "period_start", "sma"]
    assert result.column("period_start").to_pylist() == [date(2024, m, 1) for m in range(1, 7)]
    assert result.column("sma").to_pylist() == [None, None, 1.0, 2.0, 3.0, 4.0]


def test_given_no_bars_when_computing_then_the_result_is_empty_with_the_fields(
    make_bars: MakeBars,
) -> None:
    # WHEN
    result = compute_indicator(make_bars([]), "macd")
    # THEN
    assert result.num_rows == 0
    assert result.column_names == ["symbol", "timestamp", "macd", "macd_signal", "macd_hist"]


def test_given_the_registry_when_computing_each_indicator_then_it_returns_exactly_its_outputs(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _closes(make_bars, [float(x) for x in range(1, 60)])
    for name, spec in INDICATORS.items():
        # WHEN
        result = compute_indicator(bars, name)
        # THEN
        assert result.column_names[2:] == list(spec.outputs), name
        assert all(result.schema.field(f).type == pa.float64() for f in spec.outputs), name


def test_given_query_string_values_when_computing_then_they_are_parsed(make_bars: MakeBars) -> None:
    # GIVEN
    bars = _closes(make_bars, [1.0, 2.0, 3.0, 5.0])
    # WHEN
    result = compute_indicator(bars, "SMA", {"window": "2", "series": "Close"})
    # THEN
    assert result.column("sma").to_pylist() == [None, 1.5, 2.5, 4.0]


def test_the_registry_describes_talib_defaults() -> None:
    assert INDICATORS["rsi"].defaults == {"window": 14, "series": "close"}
    assert INDICATORS["macd"].defaults == {"fast": 12, "slow": 26, "signal": 9, "series": "close"}
    assert INDICATORS["bbands"].defaults == {"window": 5, "stddev": 2.0, "series": "close"}
    assert INDICATORS["stoch"].defaults == {"k_window": 5, "k_smooth": 3, "d_window": 3}


def test_given_intraday_bars_when_computing_vwap_then_it_restarts_each_new_york_trading_day(
    make_bars: MakeBars,
) -> None:
    # GIVEN two bars on each of two New York days (typical prices 10, 20 then 30, 40)
    stamps = [
        datetime(2024, 3, 4, 15, 59, tzinfo=NEW_YORK),
        datetime(2024, 3, 4, 19, 30, tzinfo=NEW_YORK),  # 00:30 UTC on the 5th
        datetime(2024, 3, 5, 9, 30, tzinfo=NEW_YORK),
        datetime(2024, 3, 5, 9, 31, tzinfo=NEW_YORK),
    ]
    rows = [
        ("AAA", s, p, p + 1, p - 1, p, v)
        for s, p, v in zip(stamps, [10.0, 20.0, 30.0, 40.0], [100, 300, 0, 50], strict=True)
    ]
    # WHEN
    result = compute_indicator(make_bars(rows), "vwap")
    # THEN day 1: (10*100 + 20*300) / 400; day 2 starts with no volume (null), then 40
    assert result.column("vwap").to_pylist() == [10.0, 17.5, None, 40.0]


def test_given_bars_with_their_own_vwap_when_computing_vwap_then_those_prices_are_used(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    stamps = [
        datetime(2024, 3, 4, 9, 30, tzinfo=NEW_YORK),
        datetime(2024, 3, 4, 9, 31, tzinfo=NEW_YORK),
    ]
    rows = [("AAA", s, 10.0, 11.0, 9.0, 10.0, 100) for s in stamps]
    # WHEN
    result = compute_indicator(make_bars(rows, vwap=[9.5, 10.5]), "vwap")
    # THEN
    assert result.column("vwap").to_pylist() == [9.5, 10.0]


def test_given_daily_resampled_bars_when_computing_vwap_then_each_bar_is_its_own_session(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    monthly = resample(_closes(make_bars, [10.0, 40.0]), 1, "Daily")
    # WHEN
    result = compute_indicator(monthly, "vwap")
    # THEN
    assert result.column("vwap").to_pylist() == [10.0, 40.0]


def test_the_public_kernels_return_nan_not_values_during_warm_up() -> None:
    # WHEN
    values = sma(np.array([1.0, 2.0, 3.0]), 2)
    # THEN
    assert np.isnan(values[0])
    assert values[1:].tolist() == [1.5, 2.5]


def test_given_an_unknown_indicator_when_computing_then_the_known_ones_are_listed(
    make_bars: MakeBars,
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        compute_indicator(make_bars([]), "ichimoku")
    # THEN
    assert caught.value.parameter == "indicator"
    assert caught.value.allowed is not None
    assert "macd" in caught.value.allowed


@pytest.mark.parametrize(
    ("name", "params", "parameter"),
    [
        ("sma", {"window": 1}, "window"),
        ("sma", {"window": 100_001}, "window"),
        ("sma", {"window": 2.5}, "window"),
        ("sma", {"window": "ten"}, "window"),
        ("sma", {"window": True}, "window"),
        ("rsi", {"length": 14}, "length"),
        ("ema", {"series": "median"}, "series"),
        ("bbands", {"stddev": -1}, "stddev"),
        ("bbands", {"stddev": "nan"}, "stddev"),
        ("stoch", {"k_window": 0}, "k_window"),
        ("atr", {"window": 0}, "window"),
        ("vwap", {"window": 3}, "window"),
    ],
)
def test_given_a_bad_parameter_when_computing_then_the_error_names_it(
    make_bars: MakeBars, name: str, params: dict[str, object], parameter: str
) -> None:
    # GIVEN
    bars = _closes(make_bars, [1.0, 2.0])
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        compute_indicator(bars, name, params)
    # THEN
    assert caught.value.parameter == parameter
    assert parameter in str(caught.value)


def test_given_bars_without_prices_when_computing_then_the_missing_column_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _closes(make_bars, [1.0, 2.0]).drop_columns(["close"])
    # WHEN
    with pytest.raises(InvalidBarsError) as caught:
        compute_indicator(bars, "sma")
    # THEN
    assert caught.value.column == "close"


def test_given_an_unknown_time_zone_when_computing_vwap_then_the_parameter_is_named(
    make_bars: MakeBars,
) -> None:
    # GIVEN
    bars = _closes(make_bars, [1.0, 2.0])
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        compute_indicator(bars, "vwap", timezone="Atlantis/Capital")
    # THEN
    assert caught.value.parameter == "timezone"


@pytest.mark.parametrize(
    ("kernel", "parameter"),
    [
        (lambda: sma(np.ones(5), 1), "window"),
        (lambda: stoch(np.ones(5), np.ones(5), np.ones(5), 0), "k_window"),
        (lambda: ema(np.ones(50), 10.5), "window"),  # type: ignore[arg-type]
        (lambda: atr(np.ones(50), np.ones(50), np.ones(49)), "values"),
        (lambda: obv(np.ones(50), np.ones(51)), "values"),
        (lambda: rsi(np.ones((50, 2))), "values"),
        (lambda: bbands(np.ones(50), 5, "2"), "stddev"),  # type: ignore[arg-type]
        (lambda: bbands(np.ones(50), 5, float("nan")), "stddev"),
        (lambda: bbands(np.ones(50), 5, -1.0), "stddev"),
        (lambda: vwap(np.ones(3), np.ones(3), np.ones(3), np.ones(3), sessions=[1, 1]), "sessions"),
    ],
)
def test_given_a_bad_period_when_calling_a_kernel_then_the_parameter_is_named(
    kernel: Callable[[], object], parameter: str
) -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        kernel()
    # THEN
    assert caught.value.parameter == parameter


def test_given_a_short_series_when_calling_kernels_then_they_return_only_nan() -> None:
    # GIVEN fewer values than any lookback
    values = np.array([1.0, 2.0, 3.0])
    # WHEN
    outputs = [*macd(values), rsi(values), ema(values, 5), wma(values, 5), *bbands(values, 5)]
    # THEN
    assert all(len(output) == 3 and np.isnan(output).all() for output in outputs)


def test_given_sessions_when_calling_the_vwap_kernel_then_each_session_starts_afresh() -> None:
    # GIVEN two sessions, the second opening with a bar that traded nothing
    price = np.array([10.0, 20.0, 30.0, 40.0, 50.0])
    volume = np.array([1.0, 3.0, 0.0, 2.0, 2.0])
    # WHEN
    result = vwap(price, price, price, volume, sessions=["a", "a", "b", "b", "b"])
    # THEN
    np.testing.assert_array_equal(result, [10.0, 17.5, np.nan, 40.0, 45.0])
