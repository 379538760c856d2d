"""What only the DuckDB *file* store does: per-operation opening, the version file, the cache."""

from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
import sys
import time
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
    # GIVEN bars read once (which fills the cache), then the file let go: reading
    # it again would have to attach it
    await file_store.write_bars(make_bars("AAA", 10), source="test")
    first = await file_store.read_bars(["AAA"])
    await asyncio.to_thread(file_store._release_reader)
    opened = _count_connects(monkeypatch)

    # WHEN the same symbol is read again, whole and over a sub-range
    again = await file_store.read_bars(["AAA"])
    part = await file_store.read_bars(
        ["AAA"],
        start=first.column("timestamp")[2].as_py(),
        end=first.column("timestamp")[4].as_py(),
    )

    # THEN the file was not opened, and the results are right
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


WRITE_IN_ANOTHER_PROCESS = """
import asyncio, datetime as dt, sys
import pyarrow as pa
from findata.db import DuckDBStore

bars = pa.table({
    "symbol": ["NEW"],
    "timestamp": pa.array(
        [dt.datetime(2024, 1, 2, int(sys.argv[2]), tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
    ),
    "open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0], "volume": [1],
})
asyncio.run(DuckDBStore(sys.argv[1], lock_timeout=20).write_bars(bars, source="other"))
"""


async def _write_in_another_process(path: str, hour: int) -> None:
    """One bar of NEW at ``hour`` UTC on 2024-01-02, written by a separate process."""
    write = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", WRITE_IN_ANOTHER_PROCESS, path, str(hour)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert write.returncode == 0, write.stderr


async def _store_with_aaa(tmp_path: Path, make_bars: BarsFactory, hold_idle: float) -> DuckDBStore:
    """A migrated file store holding three bars of AAA, keeping its read attachment
    ``hold_idle`` seconds (the setup of the read-connection tests)."""
    store = DuckDBStore(tmp_path / "bars.duckdb", hold_idle=hold_idle)
    await store.migrate()
    await store.write_bars(make_bars("AAA", 3), source="test")
    return store


def _announce_a_dead_writer(path: str) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    Path(f"{path}.writing").write_text(str(gone.pid), encoding="ascii")


def _count_connects(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Files the store opens from now on: attached for reading, or connected to."""
    opened: list[str] = []
    real_connect = duckdb.connect

    def counting_connect(*args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(f"connect {args[0] if args else kwargs.get('database')}")
        return real_connect(*args, **kwargs)  # type: ignore[arg-type]

    class CountingAttachment(duckdb_module._Attachment):
        def __init__(self, path: str) -> None:
            opened.append(f"attach {path}")
            super().__init__(path)

    monkeypatch.setattr(duckdb_module.duckdb, "connect", counting_connect)
    monkeypatch.setattr(duckdb_module, "_Attachment", CountingAttachment)
    return opened


async def test_reads_of_different_symbols_share_one_open_connection(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN two stored symbols, one of them read once
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    opened = _count_connects(monkeypatch)
    await file_store.read_bars(["AAA"])
    assert opened == [f"attach {file_store.path}"]  # the first read attached the file

    # WHEN the other symbol (not cached) is read
    bars = await file_store.read_bars(["BBB"])

    # THEN it came from the attachment already open
    assert bars.num_rows == 4
    assert opened == [f"attach {file_store.path}"]


async def test_a_writer_in_another_process_gets_in_while_readers_hold_the_file(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a reader holding its connection (never idle long enough to let go)
    reader = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    assert (await reader.read_bars(["AAA"])).num_rows == 3

    # WHEN another process writes (it announces itself; the reader lets go)
    await _write_in_another_process(reader.path, 0)

    # THEN the write succeeded, and the reader sees it and reads on
    assert [info.symbol for info in await reader.list_symbols()] == ["AAA", "NEW"]
    assert (await reader.read_bars(["NEW"])).num_rows == 1
    assert not await asyncio.to_thread(Path(f"{reader.path}.writing").exists)
    await reader.disconnect()


async def test_an_idle_read_connection_is_let_go_for_writers_that_do_not_announce(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a store that read a moment ago and lets go after 50 ms unused
    store = await _store_with_aaa(tmp_path, make_bars, hold_idle=0.05)
    await store.read_bars(["AAA"])

    # WHEN a plain read-write DuckDB connection is attempted until it succeeds
    deadline = time.monotonic() + 30
    while True:
        try:
            duckdb.connect(store.path).close()
            opened = True
            break
        except duckdb.Error:
            if time.monotonic() > deadline:
                opened = False
                break
            await asyncio.sleep(0.02)

    # THEN the foreign writer got in once the store was idle
    assert opened


async def test_a_write_announcement_left_by_a_killed_writer_is_ignored(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN stored bars and a `.writing` file naming a process that no longer exists
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    await asyncio.to_thread(_announce_a_dead_writer, file_store.path)
    await file_store.read_bars(["AAA"])
    opened = _count_connects(monkeypatch)

    # WHEN another symbol is read
    bars = await file_store.read_bars(["BBB"])

    # THEN reads still keep their connection open
    assert bars.num_rows == 4
    assert opened == []


def _write_0002_layout(path: str) -> None:
    """Two symbols' bars as the 0002 schema stored them: a VARCHAR symbol per bar."""
    with duckdb.connect(path) as conn:
        conn.execute(
            "INSERT INTO symbols VALUES "
            "('BBB', 'UTC', 'old', 'daily', '2024-01-02', '2024-01-03', 2, '2024-02-01'), "
            "('AAA', 'America/New_York', 'old', 'intraday', "
            "'2024-01-02 14:30', '2024-01-02 14:32', 3, '2024-02-01')"
        )
        conn.execute(
            "INSERT INTO bars VALUES "
            "('AAA', '2024-01-02 14:31', 2, 3, 1, 2.5, 20, NULL, NULL), "
            "('BBB', '2024-01-02', 5, 6, 4, 5.5, 50, 5.2, 7), "
            "('AAA', '2024-01-02 14:30', 1, 2, 0.5, 1.5, 10, NULL, NULL), "
            "('BBB', '2024-01-03', 6, 7, 5, 6.5, 60, 6.1, 8), "
            "('AAA', '2024-01-02 14:32', 3, 4, 2, 3.5, 30, NULL, NULL)"
        )


async def test_migration_0003_moves_stored_bars_to_integer_symbol_ids(
    tmp_path: Path, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a file migrated up to 0002 holding bars in that layout
    path = str(tmp_path / "old.duckdb")
    older = [m for m in duckdb_module.load_migrations("duckdb") if m.version < 3]
    monkeypatch.setattr(duckdb_module, "load_migrations", lambda _backend: older)
    await DuckDBStore(path).migrate()
    await asyncio.to_thread(_write_0002_layout, path)
    monkeypatch.undo()

    # WHEN it is migrated to the current schema
    store = DuckDBStore(path)
    applied = await store.migrate()

    # THEN 0003 ran (and 0004 flagged BBB's optional columns), every bar reads back in
    # time order, and writes go on
    assert [migration.version for migration in applied] == [3, 4]
    assert [(info.symbol, info.bar_count) for info in await store.list_symbols()] == [
        ("AAA", 3),
        ("BBB", 2),
    ]
    aaa = await store.read_bars(["AAA"])
    assert aaa.column("close").to_pylist() == [1.5, 2.5, 3.5]
    bbb = await store.read_bars(["BBB"])
    assert bbb.column("trade_count").to_pylist() == [7, 8]
    assert bbb.column("vwap").to_pylist() == [5.2, 6.1]
    assert "vwap" not in aaa.column_names
    await store.write_bars(make_bars("CCC", 2), source="new")
    assert (await store.read_bars(["CCC"])).num_rows == 2
    await store.disconnect()


def _wait_until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def _count_series_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    read: list[str] = []
    real_load = DuckDBStore._load_one

    def counting_load(self: DuckDBStore, conn: object, version: str, symbol: str, *rest: object):  # type: ignore[no-untyped-def]
        read.append(symbol)
        return real_load(self, conn, version, symbol, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(DuckDBStore, "_load_one", counting_load)
    return read


async def test_a_write_of_one_symbol_keeps_the_other_cached_series(
    file_store: DuckDBStore, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a reader that cached two symbols
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    reader = DuckDBStore(file_store.path)
    before = await reader.read_bars(["BBB"])
    await reader.read_bars(["AAA"])

    # WHEN AAA gets more bars and both are read again
    read = _count_series_reads(monkeypatch)  # before the write: the reader's thread may
    await file_store.write_bars(make_bars("AAA", 6), source="test")  # refresh AAA ahead
    aaa = await reader.read_bars(["AAA"])
    bbb = await reader.read_bars(["BBB"])

    # THEN only AAA was read from the file (once, by the read or ahead of it); BBB came
    # from the cache, unchanged
    assert aaa.num_rows == 6
    assert bbb.equals(before)
    assert read == ["AAA"]


async def test_after_another_process_writes_a_reader_refreshes_its_cache_ahead(
    tmp_path: Path, make_bars: BarsFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a reader that cached a symbol (its connection idle-closed after 50 ms), and
    # another process that then adds a bar to that symbol
    reader = DuckDBStore(tmp_path / "bars.duckdb", hold_idle=0.05)
    await reader.migrate()
    start = dt.datetime(2024, 1, 3, 5, tzinfo=dt.UTC)  # 00:00 in New York
    await reader.write_bars(make_bars("NEW", 3, start=start, base=50.0), source="test")
    await reader.read_bars(["NEW"])
    await reader.list_symbols()
    await _write_in_another_process(reader.path, 5)

    # WHEN the reader's background refresh has caught up with the new version
    version = await reader.data_version()
    await asyncio.to_thread(_wait_until, lambda: reader._bars_cache.entries()[0] == version)
    read = _count_series_reads(monkeypatch)
    opened = _count_connects(monkeypatch)
    infos = await reader.list_symbols()
    bars = await reader.read_bars(["NEW"])

    # THEN the first requests after the write are served without opening the file
    assert read == []
    assert opened == []
    assert [info.bar_count for info in infos] == [4]
    assert bars.column("close").to_pylist() == [1.0, 50.5, 51.5, 52.5]
    await reader.disconnect()


async def test_a_writer_gets_in_past_an_announcement_left_by_a_killed_writer(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a reader that never idles, and a `.writing` file naming a dead process
    reader = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    await asyncio.to_thread(_announce_a_dead_writer, reader.path)
    assert (await reader.read_bars(["AAA"])).num_rows == 3

    # WHEN another process writes
    await _write_in_another_process(reader.path, 0)

    # THEN it announced itself over the stale file, got in, and cleaned up
    assert [info.symbol for info in await reader.list_symbols()] == ["AAA", "NEW"]
    assert not await asyncio.to_thread(Path(f"{reader.path}.writing").exists)
    await reader.disconnect()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        pytest.param([[1, 2, 3], [4, 5]], [1, 2, 3, 4, 5], id="in order over chunks"),
        pytest.param([[1, 2, 5], [3, 4]], [1, 2, 3, 4, 5], id="out of order at a chunk boundary"),
        pytest.param([[1, 3, 2], [4, 5]], [1, 2, 3, 4, 5], id="out of order inside a chunk"),
        pytest.param([[1, 2], [], [2, 3]], [1, 2, 2, 3], id="a repeated time after an empty chunk"),
    ],
)
def test_scanned_rows_come_back_in_time_order_whatever_their_chunks(
    chunks: list[list[int]], expected: list[int]
) -> None:
    # GIVEN a scan result in several Arrow chunks (an upsert appends replaced bars last)
    stamps = pa.chunked_array([pa.array(chunk, pa.int64()) for chunk in chunks])
    scanned = pa.table({"timestamp": stamps.cast(pa.timestamp("us")), "close": stamps})

    # WHEN it is put in time order
    ordered = duckdb_module._in_time_order(scanned)

    # THEN times ascend and each row kept its values
    assert ordered.column("close").to_pylist() == expected
    assert ordered.column("timestamp").cast(pa.int64()).to_pylist() == expected


async def test_stores_of_one_file_hold_it_as_long_as_the_longest_hold_idle_asks(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a store holding the file for an hour, then a second one asking for 10 ms
    holding = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    brief = DuckDBStore(holding.path, hold_idle=0.01)
    await brief.connect()

    # WHEN the first reads, and both stay unused well past 10 ms
    await holding.read_bars(["AAA"])
    await asyncio.sleep(0.3)

    # THEN the file is still attached (the later store did not shorten the hold)
    usage = holding.pool_usage()
    assert usage is not None
    assert usage.open == 1

    # TEARDOWN
    await brief.disconnect()
    await holding.disconnect()


async def test_a_file_whose_path_has_a_quote_and_a_space_is_written_and_read(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a store in a folder named with a quote and a space (the path goes into ATTACH)
    folder = tmp_path / "o'brien data"
    folder.mkdir()
    store = DuckDBStore(folder / "bars.duckdb")
    await store.connect()
    await store.migrate()

    # WHEN bars are written and read back
    await store.write_bars(make_bars("AAA", 5), source="test")
    bars = await store.read_bars(["AAA"])

    # THEN they are all there
    assert bars.num_rows == 5
    assert [info.symbol for info in await store.list_symbols()] == ["AAA"]

    # TEARDOWN
    await store.disconnect()


async def test_a_read_attaches_the_file_anew_when_its_attachment_went_away(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN a store holding its file attached, then detached behind the store's back
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    await file_store.read_bars(["AAA"])
    held = file_store._reader.conn if file_store._reader is not None else None
    assert held is not None
    held.detach()

    # WHEN another symbol (not cached) is read
    bars = await file_store.read_bars(["BBB"])

    # THEN it was read through a new attachment
    assert bars.num_rows == 4
    assert file_store._reader is not None
    assert file_store._reader.conn is not None
    assert file_store._reader.conn is not held
