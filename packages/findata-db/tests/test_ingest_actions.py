"""``findata ingest actions``: input rules, whole-file checks, atomic and idempotent writes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from findata.db import ActionStore, IngestError, MigratableStore, ingest_actions, open_store
from findata.db.cli import main

WriteFile = Callable[[str, str | bytes], Path]
D = dt.date

GOOD = (
    "symbol,ex_date,action,split_from,split_to,cash_amount,currency,pay_date\n"
    "abc,2024-06-10,split,1,4,,,\n"
    "ABC,2024-03-01,dividend,,,0.25,USD,2024-03-15\n"
    "XYZ,2023-01-03,Split,10,1,,,\n"
)


async def _actions(store: MigratableStore, symbol: str) -> tuple[list[dict[str, object]], ...]:
    assert isinstance(store, ActionStore)
    splits = await store.read_splits([symbol])
    dividends = await store.read_dividends([symbol])
    return splits.to_pylist(), dividends.to_pylist()


async def test_a_csv_with_bom_crlf_and_any_header_case_is_ingested(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN an exported file: UTF-8 BOM, CRLF line ends, upper-case header, lower-case symbol
    text = GOOD.replace("symbol,ex_date,action", "SYMBOL,Ex_Date,ACTION").replace("\n", "\r\n")
    path = write_file("actions.csv", "\ufeff" + text)

    # WHEN it is ingested
    results = await ingest_actions(store, [path])

    # THEN every action is stored, symbols upper-cased, kinds told apart by `action`
    assert results[0].rows == 3
    assert results[0].symbols == ("ABC", "XYZ")
    splits, dividends = await _actions(store, "ABC")
    assert splits == [{"symbol": "ABC", "ex_date": D(2024, 6, 10), "split_from": 1, "split_to": 4}]
    assert dividends == [
        {
            "symbol": "ABC",
            "ex_date": D(2024, 3, 1),
            "cash_amount": 0.25,
            "currency": "USD",
            "pay_date": D(2024, 3, 15),
            "record_date": None,
        }
    ]


async def test_ingesting_a_file_twice_changes_nothing(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN an ingested file
    path = write_file("actions.csv", GOOD)
    await ingest_actions(store, [path])
    first = await _actions(store, "ABC")

    # WHEN it is ingested again / THEN the stored actions are the same
    await ingest_actions(store, [path])
    assert await _actions(store, "ABC") == first


async def test_a_parquet_file_is_read_by_its_extension(
    store: MigratableStore, tmp_path: Path
) -> None:
    # GIVEN a Parquet file of typed columns (dates as dates, ratios as integers)
    path = tmp_path / "actions.parquet"
    pq.write_table(
        pa.table(
            {
                "Symbol": ["ABC"],
                "ex_date": pa.array([D(2024, 6, 10)], pa.date32()),
                "action": ["split"],
                "split_from": pa.array([1], pa.int64()),
                "split_to": pa.array([4], pa.int64()),
            }
        ),
        path,
    )

    # WHEN it is ingested / THEN its split is stored
    await ingest_actions(store, [path])
    splits, _ = await _actions(store, "ABC")
    assert [row["split_to"] for row in splits] == [4.0]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("ABC,2024-06-10,split,0,4,", r"bad.csv:3: .*split_from must be a positive finite"),
        ("ABC,2024-06-10,split,1,inf,", r"bad.csv:3: .*split_to must be a positive finite"),
        ("ABC,2024-03-01,dividend,,,-0.5", r"bad.csv:3: .*cash_amount must be a positive"),
        ("ABC,2024-03-01,dividend,,,nan", r"bad.csv:3: .*cash_amount must be a positive"),
        ("ABC,2024-02-30,dividend,,,0.5", r"bad.csv:3: ex_date must be a date"),
        ("ABC,2024-03-01,dividend,,,lots", r"bad.csv:3: cash_amount must be a number"),
        ("ABC,2024-03-01,merger,,,", r"bad.csv:3: action must be 'split' or 'dividend'"),
        ("ABC,2024-06-10,split,2,1,", r"bad.csv:3: .*a second split of that symbol on that date"),
        ("ABC,2024-06-10,dividend,1,2,0.5", r"bad.csv:3: a dividend has no split_from"),
    ],
)
async def test_a_bad_row_rejects_the_whole_file_naming_file_and_line(
    store: MigratableStore, write_file: WriteFile, line: str, expected: str
) -> None:
    # GIVEN a file whose first row is good and whose second is bad
    header = "symbol,ex_date,action,split_from,split_to,cash_amount\n"
    path = write_file("bad.csv", header + "ABC,2024-06-10,split,1,4,\n" + line + "\n")
    version = await store.data_version()

    # WHEN it is ingested / THEN the error names file and line, and nothing was written
    with pytest.raises(IngestError, match=expected):
        await ingest_actions(store, [path])
    assert await _actions(store, "ABC") == ([], [])
    assert await store.data_version() == version


async def test_a_file_without_the_required_columns_names_the_header(
    store: MigratableStore, write_file: WriteFile
) -> None:
    # GIVEN a bar file given as actions / WHEN ingested / THEN the header line is named
    path = write_file("bars.csv", "symbol,date,open\nABC,2024-01-02,1\n")
    with pytest.raises(IngestError, match=r"bars.csv:1: missing column\(s\): ex_date, action"):
        await ingest_actions(store, [path])


def test_the_cli_ingests_actions_and_exits_1_on_a_bad_file(
    tmp_path: Path, write_file: WriteFile
) -> None:
    # GIVEN a migrated DuckDB file, a good and a bad action file
    url = f"duckdb://{tmp_path / 'cli.duckdb'}"
    runner = CliRunner()
    assert runner.invoke(main, ["db", "migrate", "--database-url", url]).exit_code == 0
    good = write_file("good.csv", GOOD)
    bad = write_file("bad.csv", "symbol,ex_date,action\nABC,someday,split\n")

    # WHEN both are ingested through the CLI
    ok = runner.invoke(main, ["ingest", "actions", str(good), "--database-url", url])
    failed = runner.invoke(main, ["ingest", "actions", str(bad), "--database-url", url])

    # THEN the good file is reported and stored, the bad one named with its line
    assert ok.exit_code == 0, ok.output
    assert "3 actions (ABC, XYZ)" in ok.output
    assert failed.exit_code == 1
    assert "bad.csv:2: ex_date must be a date" in failed.output

    async def stored() -> int:
        opened = open_store(url)
        await opened.connect()
        try:
            assert isinstance(opened, ActionStore)
            return (await opened.read_splits(["ABC", "XYZ"])).num_rows
        finally:
            await opened.disconnect()

    assert asyncio.run(stored()) == 2
