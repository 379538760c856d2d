"""Every method of ``Client`` against a real server on each store: rows, pages, frames."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from findata.api.testing import ServedProcess
from findata.client import Client

if TYPE_CHECKING:
    from conftest import Recorder

pytestmark = pytest.mark.system

WALK_DAYS = 250
FIRST_DAY = dt.date(2020, 1, 1)
MINUTES = 2 * 390

Reference = Callable[..., list[dict[str, object]]]
AsJson = Callable[[pa.Table], list[dict[str, object]]]


def test_given_the_store_when_listing_symbols_then_each_has_its_bar_count(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        symbols = client.symbols()
    # THEN
    counts = dict(zip(symbols["symbol"].to_pylist(), symbols["bar_count"].to_pylist(), strict=True))
    assert counts == {"MINUTE": MINUTES, "WALK": WALK_DAYS}
    assert set(symbols["bar_kind"].to_pylist()) == {"daily", "intraday"}


def test_given_daily_bars_when_fetching_them_then_every_stored_bar_comes_back_in_order(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        bars = client.bars("WALK")
    # THEN: the bars written by the fixture, keyed by their local date
    assert bars.column_names == ["symbol", "date", "open", "high", "low", "close", "volume"]
    assert bars["date"].to_pylist() == [FIRST_DAY + dt.timedelta(days=d) for d in range(WALK_DAYS)]
    assert bars["close"].to_pylist() == [100.5 + day for day in range(WALK_DAYS)]
    assert bars["volume"].to_pylist() == [1_000 + day for day in range(WALK_DAYS)]


def test_given_a_page_size_when_fetching_then_every_link_page_is_followed(
    server: ServedProcess, recorder: Recorder
) -> None:
    # GIVEN: 40 rows per request over 250 bars
    http = httpx.Client(event_hooks={"response": [recorder]})
    # WHEN
    with Client(server.base_url, page_size=40, http_client=http) as client:
        bars = client.bars("WALK")
    http.close()
    # THEN: ceil(250 / 40) requests, each after the previous page's cursor, no row twice
    assert recorder.statuses == [200] * math.ceil(WALK_DAYS / 40)
    assert all("cursor=" in url for _, url, _ in recorder.seen[1:])
    assert bars.num_rows == WALK_DAYS
    assert bars["date"].to_pylist() == sorted(set(bars["date"].to_pylist()))


def test_given_descending_order_when_paging_then_the_pages_join_newest_first(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url, page_size=60) as client:
        newest_first = client.bars("WALK", sort="desc")
        oldest_first = client.bars("WALK")
    # THEN
    assert newest_first["date"].to_pylist() == oldest_first["date"].to_pylist()[::-1]


def test_given_intraday_bars_when_fetching_then_instants_are_in_the_exchange_zone(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        bars = client.bars("MINUTE", start="2024-03-08")
    # THEN: only the second session, from 09:30 New York time
    assert bars.schema.field("timestamp").type == pa.timestamp("us", tz="America/New_York")
    assert bars.num_rows == 390
    first = bars["timestamp"][0].as_py()
    assert (first.date(), first.hour, first.minute) == (dt.date(2024, 3, 8), 9, 30)


@pytest.mark.parametrize(
    ("symbol", "params"),
    [
        ("WALK", {"frequency": "Monthly"}),
        (
            "WALK",
            {"interval": "2", "frequency": "Weekly", "start": "2020-03-01", "end": "2020-06-30"},
        ),
        ("MINUTE", {"interval": "15", "frequency": "Minute"}),
    ],
)
def test_given_a_frequency_when_fetching_bars_then_the_rows_are_the_servers_periods(
    server: ServedProcess,
    reference: Reference,
    as_json: AsJson,
    symbol: str,
    params: dict[str, str],
) -> None:
    # GIVEN: the server's own JSON answer to the same query
    expected = reference(server.base_url, f"/stocks/time-series/{symbol}", params)
    arguments: dict[str, object] = {**params}
    if "interval" in arguments:
        arguments["interval"] = int(params["interval"])
    # WHEN
    with Client(server.base_url) as client:
        periods = client.bars(symbol, **arguments)  # type: ignore[arg-type]
    # THEN
    assert as_json(periods) == expected
    assert periods.column_names[:2] == ["symbol", "period_start"]


def test_given_dates_as_objects_when_fetching_then_they_mean_what_their_text_means(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        from_objects = client.bars("WALK", start=dt.date(2020, 2, 1), end=dt.date(2020, 2, 29))
        from_text = client.bars("WALK", start="2020-02-01", end="2020-02-29")
    # THEN: February 2020, 29 days
    assert from_objects.equals(from_text)
    assert from_objects.num_rows == 29


def test_given_several_symbols_when_fetching_then_their_rows_follow_each_other_in_order(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        both = client.bars(["MINUTE", "WALK"], frequency="Daily")
        walk = client.bars("WALK", frequency="Daily")
    # THEN: two sessions of MINUTE, then every WALK day
    assert both["symbol"].to_pylist() == ["MINUTE"] * 2 + ["WALK"] * WALK_DAYS
    assert both.slice(2).to_pylist() == walk.to_pylist()


def test_given_an_indicator_when_fetching_then_values_are_the_rolling_mean_of_the_closes(
    server: ServedProcess,
) -> None:
    # GIVEN: closes 100.5 + day, so a 5-day simple moving average ends at 100.5 + day - 2
    window = 5
    # WHEN
    with Client(server.base_url, page_size=100) as client:
        sma = client.indicators("WALK", "sma", window=window)
    # THEN: defined from the fifth bar on, every page joined
    assert sma.num_rows == WALK_DAYS - window + 1
    assert sma["period_start"][0].as_py() == FIRST_DAY + dt.timedelta(days=window - 1)
    expected = [100.5 + day - 2 for day in range(window - 1, WALK_DAYS)]
    assert sma["sma"].to_pylist() == pytest.approx(expected)


def test_given_a_multi_output_indicator_when_fetching_then_it_matches_the_servers_json(
    server: ServedProcess, reference: Reference, as_json: AsJson
) -> None:
    # GIVEN
    params = {"name": "macd", "fast": "3", "slow": "6", "signal": "2", "frequency": "Weekly"}
    expected = reference(server.base_url, "/stocks/indicators/WALK", params)
    # WHEN
    with Client(server.base_url) as client:
        macd = client.indicators("WALK", "macd", fast=3, slow=6, signal=2, frequency="Weekly")
    # THEN
    assert as_json(macd) == expected
    assert {"macd", "macd_signal", "macd_hist"} <= set(macd.column_names)


def test_given_as_pandas_or_polars_when_fetching_then_the_frame_holds_the_same_rows(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client:
        table = client.bars("WALK", frequency="Monthly")
        frame = client.bars("WALK", frequency="Monthly", as_="pandas")
        polars_frame = client.bars("WALK", frequency="Monthly", as_="polars")
    # THEN: the same values; pandas gets datetime64 dates, polars Arrow's own types
    assert isinstance(frame, pd.DataFrame)
    assert isinstance(polars_frame, pl.DataFrame)
    assert frame["close"].tolist() == table["close"].to_pylist()
    assert pd.api.types.is_datetime64_any_dtype(frame["period_start"])
    assert polars_frame.to_arrow().to_pylist() == table.to_pylist()


def test_given_one_client_when_calling_repeatedly_then_one_connection_serves_them_all(
    server: ServedProcess, recorder: Recorder
) -> None:
    # GIVEN
    http = httpx.Client(event_hooks={"response": [recorder]})
    # WHEN
    with Client(server.base_url, page_size=100, http_client=http) as client:
        client.symbols()
        client.bars("WALK")
        client.indicators("WALK", "rsi")
    http.close()
    # THEN: several requests, one kept-alive connection
    assert len(recorder.seen) > 3
    assert len(recorder.ports) == 1


@pytest.mark.parametrize("symbols", [["WALK", "MINUTE", "WALK"], "*"])
def test_given_several_symbols_when_fetching_in_pages_then_one_endpoint_serves_them_all(
    server: ServedProcess, recorder: Recorder, symbols: list[str] | str
) -> None:
    # GIVEN each symbol's periods, fetched alone
    with Client(server.base_url) as client:
        alone = [client.bars(symbol, frequency="Daily") for symbol in ("MINUTE", "WALK")]
    http = httpx.Client(event_hooks={"response": [recorder]})
    # WHEN the list (duplicates and all) or "*" is fetched in pages of 40 rows
    with Client(server.base_url, page_size=40, http_client=http) as client:
        together = client.bars(symbols, frequency="Daily")
    http.close()
    # THEN one multi-symbol request chain followed every page across the symbol boundary
    assert together.to_pylist() == pa.concat_tables(alone).to_pylist()
    assert recorder.statuses == [200] * math.ceil((2 + WALK_DAYS) / 40)
    assert all("/stocks/bars?" in url for _, url, _ in recorder.seen)


def test_given_several_symbols_when_fetching_an_indicator_then_each_symbols_values_follow(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url, page_size=100) as client:
        together = client.indicators(["WALK", "MINUTE"], "sma", window=3, frequency="Daily")
        walk = client.indicators("WALK", "sma", window=3, frequency="Daily")
        minute = client.indicators("MINUTE", "sma", window=3, frequency="Daily")
    # THEN sorted by symbol (MINUTE before WALK), each exactly as alone
    assert together.to_pylist() == minute.to_pylist() + walk.to_pylist()
