"""What only the DuckDB *file* store does: per-operation opening, the version file, the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from findata.db import DuckDBStore, StoreError
from findata.db import _duckdb as duckdb_module

BarsFactory = Callable[..., pa.Table]


@pytest.fixture
async def file_store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "bars.duckdb")
    await store.connect()
    await store.migrate()
    return store


async def test_a_second_store_on_the_same_file_sees_each_write(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN two stores on one file (as two API workers would be), the reader's cache warm
    reader = DuckDBStore(file_store.path)
    await file_store.write_bars(make_bars("AAA", 2), source="first")
    assert (await reader.read_bars(["AAA"])).num_rows == 2

    # WHEN the writer adds bars
    await file_store.write_bars(make_bars("AAA", 5), source="second")

    # THEN the reader sees them without being restarted
    assert (await reader.read_bars(["AAA"])).num_rows == 5
    assert [info.bar_count for info in await reader.list_symbols()] == [5]


async def test_the_data_version_is_a_side_file_written_after_each_commit(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN a migrated file and its version
    version_file = f"{file_store.path}.version"
    before = await file_store.data_version()

    # WHEN bars are written
    await file_store.write_bars(make_bars("AAA", 1), source="test")

    # THEN the side file holds the new token, the one data_version returns
    after = await file_store.data_version()
    assert after != before
    with open(version_file, encoding="ascii") as side_file:  # noqa: ASYNC230
        assert side_file.read() == after


async def test_hot_reads_are_served_from_the_cache_without_opening_the_file(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN bars read once (which fills the cache)
    await file_store.write_bars(make_bars("AAA", 10), source="test")
    first = await file_store.read_bars(["AAA"])
    opened: list[str] = []
    real_connect = duckdb.connect

    def counting_connect(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(str(args[0]))
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(duckdb_module.duckdb, "connect", counting_connect)

    # WHEN the same symbol is read again, whole and over a sub-range
    again = await file_store.read_bars(["AAA"])
    part = await file_store.read_bars(
        ["AAA"],
        start=first.column("timestamp")[2].as_py(),
        end=first.column("timestamp")[4].as_py(),
    )

    # THEN no connection was opened, and the results are right
    assert opened == []
    assert again.equals(first)
    assert part.equals(first.slice(2, 3))


async def test_reading_a_missing_file_says_to_migrate(tmp_path: Path) -> None:
    # GIVEN a store on a file that does not exist
    store = DuckDBStore(tmp_path / "missing.duckdb")
    await store.connect()

    # WHEN read / THEN the error says how to create it, and no file was created
    with pytest.raises(StoreError, match="findata db migrate"):
        await store.read_bars(["AAA"])
    assert not (tmp_path / "missing.duckdb").exists()


async def test_a_disk_error_during_a_write_is_a_store_error_and_writes_nothing(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN stored bars, and a disk that fills up during the next write
    await file_store.write_bars(make_bars("AAA", 2), source="first")
    before = await file_store.read_bars(["AAA"])

    def disk_full(_conn: object) -> str:
        raise duckdb.IOException('Could not write file "bars.duckdb": No space left on device')

    monkeypatch.setattr(file_store, "_bump_version", disk_full)

    # WHEN bars are written / THEN a one-line StoreError names the file and the cause
    with pytest.raises(StoreError, match=r"cannot write .*bars\.duckdb.*No space left on device"):
        await file_store.write_bars(make_bars("AAA", 5, base=900.0), source="second")
    monkeypatch.undo()
    assert (await DuckDBStore(file_store.path).read_bars(["AAA"])).equals(before)


async def test_a_version_file_that_cannot_be_written_falls_back_to_the_file_identity(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a published version, and a side file that can no longer be written
    before = await file_store.data_version()

    def no_space(*_args: object, **_kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", no_space)

    # WHEN bars are written
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    monkeypatch.undo()

    # THEN the write stands, and the version still changed (no stale token is left)
    assert (await file_store.read_bars(["AAA"])).num_rows == 3
    assert await file_store.data_version() != before
