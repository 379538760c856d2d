"""Corporate actions in both stores: upsert, ranges, versions, atomicity and migration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import asyncpg
import duckdb
import pyarrow as pa
import pytest

from findata.core import InvalidBarsError
from findata.core.actions import DIVIDENDS_SCHEMA, SPLITS_SCHEMA
from findata.db import ActionCounts, ActionStore, DuckDBStore, MigratableStore, migrate, open_store

BarsFactory = Callable[..., pa.Table]


def splits(*rows: tuple[str, dt.date, float, float]) -> pa.Table:
    return pa.Table.from_pylist(
        [dict(zip(SPLITS_SCHEMA.names, row, strict=True)) for row in rows], schema=SPLITS_SCHEMA
    )


def dividends(*rows: tuple[str, dt.date, float, str | None]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"symbol": symbol, "ex_date": day, "cash_amount": cash, "currency": currency}
            for symbol, day, cash, currency in rows
        ],
        schema=DIVIDENDS_SCHEMA,
    )


D = dt.date


async def test_both_stores_are_action_stores(store: MigratableStore) -> None:
    # GIVEN a store of either backend / WHEN checked / THEN it stores corporate actions
    assert isinstance(store, ActionStore)


async def test_actions_are_stored_and_read_back_by_symbol_and_ex_date_range(
    store: MigratableStore,
) -> None:
    # GIVEN splits and dividends of two symbols, one of which has no bars at all
    assert isinstance(store, ActionStore)
    await store.write_actions(
        splits(("AAA", D(2024, 6, 10), 1, 4), ("BBB", D(2020, 1, 2), 10, 1)),
        dividends(("AAA", D(2024, 3, 1), 0.25, "USD"), ("AAA", D(2024, 9, 2), 0.1, None)),
    )

    # WHEN AAA's actions are read, whole and within an ex-date range
    all_splits = await store.read_splits(["aaa"])
    ranged = await store.read_dividends(["AAA"], D(2024, 3, 2), D(2024, 12, 31))
    counts = await store.action_counts()

    # THEN each kind comes back in core's schema, only AAA's, range inclusive
    assert all_splits.schema == SPLITS_SCHEMA
    assert all_splits.to_pylist() == [
        {"symbol": "AAA", "ex_date": D(2024, 6, 10), "split_from": 1.0, "split_to": 4.0}
    ]
    assert ranged.schema == DIVIDENDS_SCHEMA
    assert ranged.column("ex_date").to_pylist() == [D(2024, 9, 2)]
    assert counts == {"AAA": ActionCounts("AAA", 1, 2), "BBB": ActionCounts("BBB", 1, 0)}


async def test_reingesting_is_idempotent_and_a_changed_action_replaces_the_old(
    store: MigratableStore,
) -> None:
    # GIVEN a stored dividend
    assert isinstance(store, ActionStore)
    await store.write_actions(None, dividends(("AAA", D(2024, 3, 1), 0.25, "USD")))
    version = await store.data_version()

    # WHEN the same dividend is written again, then a corrected amount for that ex-date
    await store.write_actions(None, dividends(("AAA", D(2024, 3, 1), 0.25, "USD")))
    again = await store.read_dividends(["AAA"])
    await store.write_actions(None, dividends(("AAA", D(2024, 3, 1), 0.3, None)))
    corrected = await store.read_dividends(["AAA"])

    # THEN there is still one dividend, now the corrected one, and the version changed
    assert again.num_rows == 1
    assert corrected.to_pylist() == [
        {
            "symbol": "AAA",
            "ex_date": D(2024, 3, 1),
            "cash_amount": 0.3,
            "currency": None,
            "pay_date": None,
            "record_date": None,
        }
    ]
    assert await store.data_version() != version


async def test_a_bad_action_writes_nothing(store: MigratableStore) -> None:
    # GIVEN a good split and a dividend that is not positive
    assert isinstance(store, ActionStore)
    version = await store.data_version()

    # WHEN they are written together / THEN the write fails naming the row, nothing is stored
    with pytest.raises(InvalidBarsError) as error:
        await store.write_actions(
            splits(("AAA", D(2024, 6, 10), 1, 4)), dividends(("AAA", D(2024, 3, 1), -1.0, None))
        )
    assert error.value.row == 0
    assert error.value.column == "cash_amount"
    assert (await store.read_splits(["AAA"])).num_rows == 0
    assert await store.data_version() == version


async def test_an_invalid_symbol_is_refused_with_its_row(store: MigratableStore) -> None:
    # GIVEN a split whose symbol breaks the bars' symbol rule (lower case)
    assert isinstance(store, ActionStore)
    # WHEN written / THEN refused, naming the row
    with pytest.raises(InvalidBarsError, match="invalid symbol") as error:
        await store.write_actions(
            splits(("AAA", D(2024, 1, 2), 1, 2), ("bad one", D(2024, 6, 10), 1, 4)), None
        )
    assert error.value.row == 1


async def test_actions_leave_the_bars_of_a_symbol_as_they_are(
    store: MigratableStore, make_bars: BarsFactory
) -> None:
    # GIVEN a symbol with bars
    await store.write_bars(make_bars("AAA", 3), source="test")
    before = await store.read_bars(["AAA"])

    # WHEN a split is stored for it
    assert isinstance(store, ActionStore)
    await store.write_actions(splits(("AAA", D(2024, 1, 3), 1, 2)), None)

    # THEN its bars are still as stored (adjustment happens on read, not on write)
    assert (await store.read_bars(["AAA"])).equals(before)


async def test_migrate_upgrades_a_database_made_before_actions(
    empty_database_url: str, make_bars: BarsFactory, tmp_path: Path
) -> None:
    # GIVEN a database with bars, whose schema predates corporate actions
    await migrate(empty_database_url)
    store = open_store(empty_database_url)
    await store.connect()
    await store.write_bars(make_bars("AAA", 3), source="test")
    await store.disconnect()
    await _forget_actions_migration(empty_database_url)

    # WHEN `findata db migrate` runs on it
    applied = await migrate(empty_database_url)

    # THEN the actions migration is applied, the bars kept, and actions can be stored
    assert [migration.name for migration in applied] == ["corporate_actions"]
    store = open_store(empty_database_url)
    await store.connect()
    try:
        assert (await store.read_bars(["AAA"])).num_rows == 3
        assert isinstance(store, ActionStore)
        await store.write_actions(splits(("AAA", D(2024, 1, 3), 1, 2)), None)
        assert (await store.read_splits(["AAA"])).num_rows == 1
    finally:
        await store.disconnect()


async def _forget_actions_migration(url: str) -> None:
    """Take the schema back to before the actions migration (as an older findata made it)."""
    if url.startswith("duckdb"):
        _forget_in_duckdb(url.removeprefix("duckdb://"))
        return
    base, _, schema = url.rpartition("?schema=")
    connection = await asyncpg.connect(base)
    try:
        await connection.execute(
            f'DROP TABLE "{schema}".splits, "{schema}".dividends; '
            f"DELETE FROM \"{schema}\".schema_migrations WHERE name = 'corporate_actions'"
        )
    finally:
        await connection.close()


def _forget_in_duckdb(path: str) -> None:
    with duckdb.connect(path) as conn:
        conn.execute("DROP TABLE splits; DROP TABLE dividends")
        conn.execute("DELETE FROM schema_migrations WHERE name = 'corporate_actions'")
    Path(f"{path}.version").unlink(missing_ok=True)


async def test_a_duckdb_file_store_sees_another_process_actions(tmp_path: Path) -> None:
    # GIVEN two stores of one DuckDB file (as the API and an ingest process are)
    url = f"duckdb://{tmp_path / 'actions.duckdb'}"
    await migrate(url)
    reader, writer = DuckDBStore.from_url(url), DuckDBStore.from_url(url)
    await reader.connect()
    await writer.connect()
    try:
        assert (await reader.read_splits(["AAA"])).num_rows == 0

        # WHEN the writer stores a split
        await writer.write_actions(splits(("AAA", D(2024, 1, 3), 1, 2)), None)

        # THEN the reader's next read has it (its per-version cache moved on)
        assert (await reader.read_splits(["AAA"])).num_rows == 1
    finally:
        await reader.disconnect()
        await writer.disconnect()
