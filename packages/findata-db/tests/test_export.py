"""``findata export parquet`` / ``ingest parquet DIR``: a Hive-partitioned dataset and back.

The expectations are the store's own answers (``list_symbols``, ``read_bars``): an export
read back by pandas, polars or DuckDB holds them, and a re-import restores them exactly.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from findata.core import Adjustment, Frequency, adjust_bars, resample
from findata.core.actions import SPLITS_SCHEMA
from findata.db import (
    ActionStore,
    BarKind,
    DuckDBStore,
    MigratableStore,
    export_parquet,
    ingest_parquet_dataset,
)
from findata.db.cli import main

BarsFactory = Callable[..., pa.Table]
COLUMNS = ["symbol", "timestamp", "open", "high", "low", "close", "volume"]


@pytest.fixture
async def filled(store: MigratableStore, make_bars: BarsFactory) -> MigratableStore:
    """DAILY (London, 400 days from 2023-06-01) and MINUTE (New York, 600 minutes from
    17:00 on 2023-12-31, with vwap and trade count): both span two local years."""
    london = zoneinfo.ZoneInfo("Europe/London")
    days = [dt.datetime(2023, 6, 1, tzinfo=london) + dt.timedelta(days=day) for day in range(400)]
    daily = make_bars("DAILY", 400)
    daily = daily.set_column(1, "timestamp", pa.array(days, pa.timestamp("us", tz="UTC")))
    await store.write_bars(
        daily,
        source="test:daily",
        timezone="Europe/London",
        bar_kind=BarKind.DAILY,
    )
    await store.write_bars(
        make_bars(
            "MINUTE", 600, start=dt.datetime(2023, 12, 31, 22, tzinfo=dt.UTC),
            step=dt.timedelta(minutes=1), vwap=True, trade_count=True,
        ),
        source="test:minute",
        timezone="America/New_York",
        bar_kind=BarKind.INTRADAY,
    )  # fmt: skip
    return store


@pytest.fixture
async def fresh() -> AsyncIterator[DuckDBStore]:
    target = DuckDBStore.from_url("duckdb:///:memory:")
    await target.connect()
    await target.migrate()
    yield target
    await target.disconnect()


def described(infos: list[object]) -> list[tuple[object, ...]]:
    return sorted(
        (i.symbol, i.timezone, i.source, i.bar_kind, i.bar_count, i.first_bar, i.last_bar)  # type: ignore[attr-defined]
        for i in infos
    )


async def test_given_a_store_when_exporting_and_reimporting_then_nothing_is_lost(
    filled: MigratableStore, fresh: DuckDBStore, tmp_path: Path
) -> None:
    # GIVEN an export of every symbol
    result = await export_parquet(filled, tmp_path / "bars")
    # WHEN it is ingested into an empty store
    await ingest_parquet_dataset(fresh, tmp_path / "bars")
    # THEN the symbols and every bar are the same
    assert result.rows == 1_000
    assert result.symbols == 2
    assert described(await fresh.list_symbols()) == described(await filled.list_symbols())
    for symbol in ("DAILY", "MINUTE"):
        restored, original = await fresh.read_bars([symbol]), await filled.read_bars([symbol])
        assert restored.column_names == original.column_names
        assert restored.to_pylist() == original.to_pylist()
    # and the folders are Hive partitions by symbol and local year
    root = tmp_path / "bars"
    folders = sorted(p.parent.relative_to(root).as_posix() for p in root.rglob("*.parquet"))
    assert folders == [
        "symbol=DAILY/year=2023", "symbol=DAILY/year=2024",
        "symbol=MINUTE/year=2023", "symbol=MINUTE/year=2024",
    ]  # fmt: skip
    # and the minutes are cut at New York's midnight (05:00 UTC), not UTC's: 17:00-23:59
    minute_files = sorted((root / "symbol=MINUTE").rglob("*.parquet"))
    assert [pq.read_metadata(path).num_rows for path in minute_files] == [420, 180]


async def test_given_an_export_when_read_by_pandas_polars_and_duckdb_then_each_sees_the_bars(
    filled: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN MINUTE's bars exported alone
    await export_parquet(filled, tmp_path, symbols=["MINUTE"])
    stored = (await filled.read_bars(["MINUTE"])).select(COLUMNS)
    expected = sorted(stored.to_pylist(), key=lambda row: row["timestamp"])
    # WHEN each library reads the directory as one dataset
    by_pandas = pd.read_parquet(tmp_path)
    by_polars = pl.read_parquet(tmp_path / "**/*.parquet", hive_partitioning=True)
    by_duckdb = duckdb.sql(
        f"SELECT * FROM read_parquet('{tmp_path}/**/*.parquet', hive_partitioning = true)"
    ).to_arrow_table()
    # THEN each has every bar, the symbol coming from the folder names
    for table in (pa.Table.from_pandas(by_pandas), by_polars.to_arrow(), by_duckdb):
        rows = [
            {name: row[name] for name in COLUMNS}
            for row in table.select(COLUMNS).cast(_schema_of(table)).to_pylist()
        ]
        rows = [{**row, "symbol": str(row["symbol"])} for row in rows]
        assert sorted(rows, key=lambda row: row["timestamp"]) == expected


def _schema_of(table: pa.Table) -> pa.Schema:
    """The columns as the store types them (partition columns arrive as categories)."""
    return pa.schema(
        [
            ("symbol", pa.string()),
            ("timestamp", pa.timestamp("us", tz="UTC")),
            *((name, pa.float64()) for name in ("open", "high", "low", "close")),
            ("volume", pa.int64()),
        ]
    )


async def test_given_a_frequency_when_exporting_then_the_files_hold_cores_periods(
    filled: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN core's weekly periods of DAILY
    bars = await filled.read_bars(["DAILY"])
    periods = resample(bars, 1, Frequency.WEEKLY, timezone="Europe/London")
    # WHEN
    result = await export_parquet(filled, tmp_path, symbols=["DAILY"], frequency=Frequency.WEEKLY)
    # THEN
    read = pd.read_parquet(tmp_path).sort_values("period_start")
    assert result.rows == periods.num_rows
    assert read["close"].tolist() == periods["close"].to_pylist()


async def test_given_regular_session_when_exporting_then_only_session_minutes_are_written(
    store: MigratableStore, make_bars: BarsFactory, tmp_path: Path
) -> None:
    # GIVEN 90 minutes of New York bars from 09:00 on Tuesday 2024-01-02 (XNYS opens 09:30)
    opening = dt.datetime(2024, 1, 2, 9, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    bars = make_bars("OPEN", 90, start=opening, step=dt.timedelta(minutes=1))
    await store.write_bars(
        bars, source="test", timezone="America/New_York", bar_kind=BarKind.INTRADAY
    )
    # WHEN exported with the regular session only
    result = await export_parquet(store, tmp_path / "bars", regular_session=True)
    # THEN the 60 minutes from 09:30 are written, the first at 09:30
    written = pq.read_table(next((tmp_path / "bars").rglob("*.parquet")))
    assert result.rows == written.num_rows == 60
    first = written.column("timestamp")[0].as_py().astimezone(opening.tzinfo)
    assert (first.hour, first.minute) == (9, 30)


async def test_given_an_unknown_symbol_when_exporting_then_nothing_is_written(
    filled: MigratableStore, tmp_path: Path
) -> None:
    # WHEN / THEN
    with pytest.raises(ValueError, match="NOPE"):
        await export_parquet(filled, tmp_path / "out", symbols=["DAILY", "NOPE"])
    assert not (tmp_path / "out").exists()


def test_given_the_commands_when_exporting_and_ingesting_then_the_second_store_has_the_bars(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a DuckDB file with one symbol
    source = f"duckdb://{tmp_path / 'source.duckdb'}"
    target = f"duckdb://{tmp_path / 'target.duckdb'}"
    runner = CliRunner()
    for url in (source, target):
        assert runner.invoke(main, ["db", "migrate", "--database-url", url]).exit_code == 0
    bars = tmp_path / "bars.parquet"
    pq.write_table(make_bars("CLI", 30), bars)
    loaded = runner.invoke(main, ["ingest", "parquet", str(bars), "--database-url", source])
    assert loaded.exit_code == 0, loaded.output
    # WHEN
    dataset = str(tmp_path / "ds")
    exported = runner.invoke(
        main, ["export", "parquet", dataset, "--symbols", "cli", "--database-url", source]
    )
    ingested = runner.invoke(main, ["ingest", "parquet", dataset, "--database-url", target])
    # THEN
    assert exported.exit_code == 0, exported.output
    assert "30 rows of 1 symbol(s)" in exported.output
    assert ingested.exit_code == 0, ingested.output
    assert "CLI" in ingested.output


async def test_given_a_split_when_exporting_split_adjusted_then_the_files_hold_cores_adjustment(
    store: MigratableStore, make_bars: BarsFactory, tmp_path: Path
) -> None:
    # GIVEN 10 daily bars of SPL (New York midnights) and a 2-for-1 split on the 6th day
    start = dt.datetime(2024, 1, 2, 5, tzinfo=dt.UTC)  # 00:00 in New York
    await store.write_bars(
        make_bars("SPL", 10, start=start), source="test", timezone="America/New_York",
        bar_kind=BarKind.DAILY,
    )  # fmt: skip
    splits = pa.Table.from_pylist(
        [{"symbol": "SPL", "ex_date": dt.date(2024, 1, 7), "split_from": 1.0, "split_to": 2.0}],
        schema=SPLITS_SCHEMA,
    )
    assert isinstance(store, ActionStore)
    await store.write_actions(splits, None)
    expected, _ = adjust_bars(
        await store.read_bars(["SPL"]), splits, None, Adjustment.SPLIT, timezone="America/New_York"
    )
    # WHEN
    await export_parquet(store, tmp_path, adjustment=Adjustment.SPLIT)
    # THEN the exported closes and volumes are core's adjusted ones, the earlier ones halved
    read = pd.read_parquet(tmp_path).sort_values("date")
    assert read["close"].tolist() == expected["close"].to_pylist()
    assert read["volume"].tolist() == expected["volume"].to_pylist()
    assert read["close"].tolist() != (await store.read_bars(["SPL"]))["close"].to_pylist()
