"""Parquet, demo and Yahoo ingestion: same validation and atomicity as CSV."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from findata.core import adjust_bars
from findata.db import (
    DEMO_SOURCE,
    ActionStore,
    BarKind,
    IngestError,
    MigratableStore,
    demo_bars,
    ingest_demo,
    ingest_parquet,
    ingest_yahoo,
)

DATA = Path(__file__).parent / "data"
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def _parquet_bars() -> pa.Table:
    return pa.table(
        {
            "Symbol": ["AAA", "AAA", "BBB"],
            "Timestamp": pa.array(
                [
                    dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC),
                    dt.datetime(2024, 7, 1, 13, 31, tzinfo=dt.UTC),
                    dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC),
                ],
                pa.timestamp("ns", tz="America/New_York"),
            ),
            "Open": [1.0, 1.5, 2.0],
            "High": [2.0, 2.0, 3.0],
            "Low": [0.5, 1.0, 1.5],
            "Close": [1.5, 1.8, 2.5],
            "Volume": pa.array([10.0, 20.0, 30.0]),
            "VWAP": [1.2, 1.6, 2.2],
        }
    )


async def test_parquet_with_typed_columns_and_mixed_case_names_is_ingested(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN a Parquet file: ns timestamps in a local zone, float volumes, VWAP column
    path = tmp_path / "bars.parquet"
    pq.write_table(_parquet_bars(), path)

    # WHEN ingested
    results = await ingest_parquet(store, [path])
    back = await store.read_bars(["AAA", "BBB"])

    # THEN every row is stored as intraday bars at the exact instants
    assert [result.rows for result in results] == [3]
    assert back.column("timestamp")[0].as_py() == dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC)
    assert back.column("volume").to_pylist() == [10, 20, 30]
    assert back.column("vwap").to_pylist() == [1.2, 1.6, 2.2]


async def test_a_parquet_file_with_a_bad_row_names_the_row_and_writes_nothing(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN a Parquet file whose 3rd row has low above close
    table = _parquet_bars()
    table = table.set_column(5, "Close", pa.array([1.5, 1.8, 1.0]))
    path = tmp_path / "bad.parquet"
    pq.write_table(table, path)

    # WHEN ingested / THEN row 3 is named and nothing is stored
    with pytest.raises(IngestError) as raised:
        await ingest_parquet(store, [path])
    assert raised.value.line == 3
    assert "low 1.5 is above min" in raised.value.reason
    assert await store.list_symbols() == []


def _many_bars(symbols: list[str], per_symbol: int) -> pa.Table:
    """Valid minute bars, ``per_symbol`` rows of each symbol in turn (written in row groups)."""
    rows = len(symbols) * per_symbol
    start = dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC)
    minutes = [start + dt.timedelta(minutes=index % per_symbol) for index in range(rows)]
    opens = [100.0 + index % 7 for index in range(rows)]
    return pa.table(
        {
            "symbol": [name for name in symbols for _ in range(per_symbol)],
            "timestamp": pa.array(minutes, pa.timestamp("us", tz="UTC")),
            "open": opens,
            "high": [value + 1 for value in opens],
            "low": [value - 1 for value in opens],
            "close": [value + 0.5 for value in opens],
            "volume": [10] * rows,
            "vwap": [None if index % 3 else value for index, value in enumerate(opens)],
        }
    )


@pytest.mark.parametrize(
    ("row", "column", "value", "reason"),
    [
        pytest.param(2_345, "symbol", "bad symbol!", "invalid symbol 'bad symbol!'", id="symbol"),
        pytest.param(2_345, "high", 99.0, "high 99.0 is below max(open, close)", id="high"),
        pytest.param(2_345, "vwap", float("inf"), "vwap is not a finite number", id="vwap"),
    ],
)
async def test_one_bad_row_among_thousands_over_row_groups_is_named(
    store: MigratableStore, tmp_path: Path, row: int, column: str, value: object, reason: str
) -> None:
    # GIVEN 3,000 valid bars in row groups of 500, one value made bad in the 5th group
    table = _many_bars(["AAA", "BBB", "CCC"], 1_000)
    index = table.schema.get_field_index(column)
    values = table.column(column).to_pylist()
    values[row] = value
    path = tmp_path / "bars.parquet"
    pq.write_table(
        table.set_column(index, column, pa.array(values, table.schema.field(column).type)),
        path,
        row_group_size=500,
    )

    # WHEN ingested
    with pytest.raises(IngestError) as raised:
        await ingest_parquet(store, [path])

    # THEN that row (1-based) and its problem are named, and nothing is stored
    assert raised.value.line == row + 1
    assert reason in raised.value.reason
    assert await store.list_symbols() == []


async def test_a_symbol_repeating_a_bar_in_a_later_run_is_a_duplicate(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN runs AAA, BBB, AAA where the second AAA run repeats the first one's bars
    table = pa.concat_tables([_many_bars(["AAA", "BBB"], 600), _many_bars(["AAA"], 600).slice(599)])
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path, row_group_size=500)

    # WHEN ingested
    with pytest.raises(IngestError) as raised:
        await ingest_parquet(store, [path])

    # THEN the repeated bar's row is named, and nothing is stored
    assert raised.value.line == 1_201
    assert "duplicate bar: AAA" in raised.value.reason
    assert await store.list_symbols() == []


async def test_many_valid_bars_over_row_groups_are_all_stored_in_time_order(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN 3,000 valid bars of three symbols in row groups of 500, a third of vwap missing
    table = _many_bars(["AAA", "BBB", "CCC"], 1_000)
    path = tmp_path / "bars.parquet"
    pq.write_table(table, path, row_group_size=500)

    # WHEN ingested
    await ingest_parquet(store, [path])
    back = await store.read_bars(["AAA", "BBB", "CCC"])

    # THEN every bar is stored as written, vwap nulls included
    assert back.num_rows == 3_000
    assert back.column("symbol").to_pylist() == table.column("symbol").to_pylist()
    assert back.column("close").to_pylist() == table.column("close").to_pylist()
    assert back.column("vwap").to_pylist() == table.column("vwap").to_pylist()


async def test_a_file_that_is_not_parquet_is_a_clear_error(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN a text file named .parquet / WHEN ingested / THEN the error says so
    path = tmp_path / "fake.parquet"
    path.write_text("symbol,date\n")
    with pytest.raises(IngestError, match="not a readable Parquet file"):
        await ingest_parquet(store, [path])


def test_demo_bars_are_deterministic_valid_and_marked_synthetic() -> None:
    # GIVEN / WHEN the demo bars are generated twice
    daily, again = demo_bars(BarKind.DAILY), demo_bars(BarKind.DAILY)
    minute = demo_bars(BarKind.INTRADAY)

    # THEN they are identical, consistent OHLC, and every symbol is a DEMO- one
    assert daily.equals(again)
    assert minute.equals(demo_bars(BarKind.INTRADAY))
    for table in (daily, minute):
        rows = table.to_pylist()
        assert all(r["low"] <= min(r["open"], r["close"]) for r in rows)
        assert all(r["high"] >= max(r["open"], r["close"]) for r in rows)
        assert all(r["symbol"].startswith("DEMO-") for r in rows)
    assert "synthetic" in DEMO_SOURCE


async def test_ingest_demo_fills_an_empty_store_and_if_empty_skips_a_filled_one(
    store: MigratableStore,
) -> None:
    # GIVEN an empty store
    # WHEN the demo is ingested with if_empty, then again
    first = await ingest_demo(store, if_empty=True)
    second = await ingest_demo(store, if_empty=True)
    infos = await store.list_symbols()

    # THEN the first call wrote every demo bar, the second nothing
    expected = demo_bars(BarKind.DAILY).num_rows + demo_bars(BarKind.INTRADAY).num_rows
    assert (first, second) == (expected, 0)
    assert all(info.source == DEMO_SOURCE for info in infos)
    kinds = {info.symbol: info.bar_kind for info in infos}
    assert kinds["DEMO-ALPHA"] is BarKind.DAILY
    assert kinds["DEMO-ALPHA-1M"] is BarKind.INTRADAY


async def test_the_demo_has_a_split_and_quarterly_dividends_on_demo_alpha(
    store: MigratableStore,
) -> None:
    # GIVEN the demo ingested
    await ingest_demo(store)
    assert isinstance(store, ActionStore)

    # WHEN DEMO-ALPHA's actions and bars around its split are read
    splits = await store.read_splits(["DEMO-ALPHA"])
    dividends = await store.read_dividends(["DEMO-ALPHA"])
    bars = await store.read_bars(["DEMO-ALPHA"])
    adjusted, report = adjust_bars(bars, splits, dividends, "split")

    # THEN one 2-for-1 split and four dividends a year; the raw close halves across the
    # split (as traded) while the split-adjusted one moves like any other day
    assert splits.to_pylist() == [
        {"symbol": "DEMO-ALPHA", "ex_date": dt.date(2023, 6, 1), "split_from": 1.0, "split_to": 2.0}
    ]
    assert dividends.num_rows == 12
    assert {day.month for day in dividends.column("ex_date").to_pylist()} == {2, 5, 8, 11}
    day = [s.astimezone(NEW_YORK).date() for s in bars.column("timestamp").to_pylist()].index(
        dt.date(2023, 6, 1)
    )
    raw_close = bars.column("close").to_pylist()
    adjusted_close = adjusted.column("close").to_pylist()
    assert raw_close[day] / raw_close[day - 1] < 0.6
    assert 0.9 < adjusted_close[day] / adjusted_close[day - 1] < 1.1
    assert report.skipped_dividends == ()


@pytest.fixture
def recorded_yahoo(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace ``yfinance.download`` by recorded responses; return the calls made."""
    yfinance = pytest.importorskip("yfinance", reason="the findata-db[yahoo] extra is absent")
    pandas = pytest.importorskip("pandas")
    calls: list[dict[str, Any]] = []

    def download(symbol: str, **options: Any) -> Any:
        calls.append({"symbol": symbol, **options})
        name = "yahoo_aapl_1d.csv" if options["interval"] == "1d" else "yahoo_aapl_1m.csv"
        if options["start"].startswith("2020"):
            name = "yahoo_aapl_split_1d.csv"
        frame = pandas.read_csv(DATA / name, index_col=0)
        if options["interval"] == "1d":
            frame.index = pandas.to_datetime(frame.index)
        else:
            frame.index = pandas.to_datetime(frame.index, utc=True).tz_convert("America/New_York")
        return frame

    monkeypatch.setattr(yfinance, "download", download)
    return calls


async def test_yahoo_daily_bars_are_ingested_from_a_recorded_response(
    store: MigratableStore, recorded_yahoo: list[dict[str, Any]]
) -> None:
    # GIVEN the recorded daily response for AAPL
    # WHEN ingested
    results = await ingest_yahoo(
        store, ["aapl"], start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 6)
    )
    back = await store.read_bars(["AAPL"])

    # THEN unadjusted daily bars land on their New York dates, source "yahoo"
    assert recorded_yahoo[0]["symbol"] == "AAPL"
    assert recorded_yahoo[0]["auto_adjust"] is False
    assert [result.rows for result in results] == [4]
    dates = [stamp.astimezone(NEW_YORK).date() for stamp in back.column("timestamp").to_pylist()]
    assert dates == [dt.date(2024, 1, day) for day in (2, 3, 4, 5)]
    assert back.column("close").to_pylist()[0] == 185.64
    info = await store.get_symbol("AAPL")
    assert info is not None
    assert (info.source, info.bar_kind) == ("yahoo", BarKind.DAILY)


async def test_yahoo_bars_are_stored_as_traded_with_their_split_and_dividend(
    store: MigratableStore, recorded_yahoo: list[dict[str, Any]]
) -> None:
    # GIVEN the recorded response around AAPL's 4-for-1 split of 2020-08-31 (Yahoo's
    # closes, volumes and dividends split-adjusted to today)
    # WHEN ingested
    await ingest_yahoo(store, ["AAPL"], start=dt.date(2020, 8, 6))
    back = await store.read_bars(["AAPL"])
    assert isinstance(store, ActionStore)
    splits = await store.read_splits(["AAPL"])
    dividends = await store.read_dividends(["AAPL"])

    # THEN actions were asked for; bars before the split are as traded (x 4, volume / 4),
    # later ones as given; the split is 1 -> 4 and the dividend its paid 0.205 x 4
    assert recorded_yahoo[0]["actions"] is True
    assert back.column("close").to_pylist() == pytest.approx(
        [113.90 * 4, 111.11 * 4, 124.81 * 4, 129.04, 134.18]
    )
    assert back.column("volume").to_pylist() == [
        202428800 // 4,
        198045600 // 4,
        187630000 // 4,
        225702700,
        151948100,
    ]
    assert splits.to_pylist() == [
        {"symbol": "AAPL", "ex_date": dt.date(2020, 8, 31), "split_from": 1.0, "split_to": 4.0}
    ]
    assert dividends.column("ex_date").to_pylist() == [dt.date(2020, 8, 7)]
    assert dividends.column("cash_amount").to_pylist() == pytest.approx([0.82])


async def test_yahoo_minute_bars_keep_their_exact_instants(
    store: MigratableStore, recorded_yahoo: list[dict[str, Any]]
) -> None:
    # GIVEN the recorded 1-minute response / WHEN ingested
    await ingest_yahoo(store, ["AAPL"], start=dt.date(2024, 7, 1), interval="1m")
    back = await store.read_bars(["AAPL"])

    # THEN the first bar is 09:30 New York = 13:30 UTC, as intraday bars
    assert recorded_yahoo[0]["interval"] == "1m"
    assert back.column("timestamp")[0].as_py() == dt.datetime(2024, 7, 1, 13, 30, tzinfo=dt.UTC)
    info = await store.get_symbol("AAPL")
    assert info is not None
    assert info.bar_kind is BarKind.INTRADAY


async def test_an_empty_yahoo_response_is_a_clear_error(
    store: MigratableStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN Yahoo answering nothing (unknown symbol)
    yfinance = pytest.importorskip("yfinance")
    pandas = pytest.importorskip("pandas")
    monkeypatch.setattr(yfinance, "download", lambda *_a, **_k: pandas.DataFrame())

    # WHEN ingested / THEN the error names the symbol and nothing is stored
    with pytest.raises(IngestError, match="yahoo:NOPE:0: Yahoo returned no bars"):
        await ingest_yahoo(store, ["NOPE"], start=dt.date(2024, 1, 2))
    assert await store.list_symbols() == []
