"""What only the DuckDB *file* store does: per-operation opening, the version file, the cache."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from findata.db import DuckDBStore, StoreError
from findata.db._duckdb import FileAccess
from findata.db._duckdb.queries import in_time_order
from findata.db._migrations import load_migrations

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
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN bars read once, which fills the cache
    await file_store.write_bars(make_bars("AAA", 10), source="test")
    first = await file_store.read_bars(["AAA"])
    before = file_store.read_counts()

    # WHEN the same symbol is read again, whole and over a sub-range
    again = await file_store.read_bars(["AAA"])
    part = await file_store.read_bars(
        ["AAA"],
        start=first.column("timestamp")[2].as_py(),
        end=first.column("timestamp")[4].as_py(),
    )

    # THEN the file was neither attached nor read, and the results are right
    assert file_store.read_counts() == before
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


WRITE_PAST_A_FILE_SIZE_LIMIT = """
import asyncio, datetime as dt, os, resource, signal, sys
import numpy as np, pyarrow as pa
from findata.db import DuckDBStore, StoreError

path = sys.argv[1]
# Past the limit, write() fails with EFBIG ("File too large") instead of killing us.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = os.path.getsize(path) + 65536
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
rows = 300_000
stamps = 1_704_171_600_000_000 + np.arange(rows, dtype=np.int64) * 60_000_000
prices = 900 + np.random.default_rng(1).random(rows)
bars = pa.table({
    "symbol": ["BIG"] * rows,
    "timestamp": pa.array(stamps).cast(pa.timestamp("us", tz="UTC")),
    "open": prices, "high": prices + 1, "low": prices - 1, "close": prices,
    "volume": np.arange(rows),
})
try:
    asyncio.run(DuckDBStore(path).write_bars(bars, source="second"))
except StoreError as error:
    print(error)
    sys.exit(3)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
async def test_a_disk_error_during_a_write_is_a_store_error_and_writes_nothing(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN stored bars, and a writer process that may not grow any file by more than 64 KiB
    store = DuckDBStore(tmp_path / "bars.duckdb")
    await store.migrate()
    await store.write_bars(make_bars("AAA", 2), source="first")
    before = await store.read_bars(["AAA"])
    await store.disconnect()

    # WHEN it writes 300,000 minute bars of a new symbol
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", WRITE_PAST_A_FILE_SIZE_LIMIT, store.path],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )

    # THEN a one-line StoreError names the file and the cause, and nothing was written
    assert done.returncode == 3, done.stderr
    assert re.fullmatch(r"cannot write .*bars\.duckdb: .*File too large.*\n", done.stdout)
    after = DuckDBStore(store.path)
    assert [info.symbol for info in await after.list_symbols()] == ["AAA"]
    assert (await after.read_bars(["AAA", "BIG"])).equals(before)


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


async def test_reads_of_different_symbols_share_one_open_connection(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN two stored symbols, one of them read once (which attached the file)
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    await file_store.read_bars(["AAA"])
    before = file_store.read_counts()
    assert before.attaches == 1

    # WHEN the other symbol (not cached) is read
    bars = await file_store.read_bars(["BBB"])

    # THEN it was read from the file through the attachment already open
    assert bars.num_rows == 4
    assert file_store.read_counts() == dataclasses.replace(
        before, series_reads=before.series_reads + 1
    )


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
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN stored bars and a `.writing` file naming a process that no longer exists
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    await asyncio.to_thread(_announce_a_dead_writer, file_store.path)
    await file_store.read_bars(["AAA"])
    before = file_store.read_counts()

    # WHEN another symbol is read
    bars = await file_store.read_bars(["BBB"])

    # THEN reads still keep their attachment
    assert bars.num_rows == 4
    assert file_store.read_counts().attaches == before.attaches


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


def _migrate_up_to(path: str, last: int) -> None:
    """Apply the migrations up to ``last`` as ``findata db migrate`` did when they were
    the newest: each with its row in ``schema_migrations``."""
    with duckdb.connect(path) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
            "name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        for migration in load_migrations("duckdb"):
            if migration.version <= last:
                conn.execute(migration.sql)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)",
                    [migration.version, migration.name],
                )


async def test_migration_0003_moves_stored_bars_to_integer_symbol_ids(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a file migrated up to 0002 holding bars in that layout
    path = str(tmp_path / "old.duckdb")
    await asyncio.to_thread(_migrate_up_to, path, 2)
    await asyncio.to_thread(_write_0002_layout, path)

    # WHEN it is migrated to the current schema
    store = DuckDBStore(path)
    applied = await store.migrate()

    # THEN 0003 and every later one ran (0004 flagged BBB's optional columns, 0006 put
    # both symbols on XNYS), every bar reads back in time order, and writes go on
    later = [m.version for m in load_migrations("duckdb") if m.version >= 3]
    assert [migration.version for migration in applied] == later
    assert [
        (info.symbol, info.bar_count, info.exchange) for info in await store.list_symbols()
    ] == [("AAA", 3, "XNYS"), ("BBB", 2, "XNYS")]
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


async def test_a_write_of_one_symbol_keeps_the_other_cached_series(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN a reader that cached two symbols
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    reader = DuckDBStore(file_store.path)
    before = await reader.read_bars(["BBB"])
    await reader.read_bars(["AAA"])
    read_before = reader.read_counts().series_reads

    # WHEN AAA gets more bars and both are read again
    await file_store.write_bars(make_bars("AAA", 6), source="test")
    aaa = await reader.read_bars(["AAA"])
    bbb = await reader.read_bars(["BBB"])

    # THEN only AAA was read from the file (once, by the read or by the reader's thread
    # ahead of it); BBB came from the cache, unchanged
    assert aaa.num_rows == 6
    assert bbb.equals(before)
    assert reader.read_counts().series_reads == read_before + 1


async def test_after_another_process_writes_a_reader_refreshes_its_cache_ahead(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a reader that cached a symbol (its attachment let go after 50 ms unused), and
    # another process that then adds a bar to that symbol
    reader = DuckDBStore(tmp_path / "bars.duckdb", hold_idle=0.05)
    await reader.migrate()
    start = dt.datetime(2024, 1, 3, 5, tzinfo=dt.UTC)  # 00:00 in New York
    await reader.write_bars(make_bars("NEW", 3, start=start, base=50.0), source="test")
    await reader.read_bars(["NEW"])
    await reader.list_symbols()
    read_before = reader.read_counts().series_reads
    await _write_in_another_process(reader.path, 5)

    # WHEN the reader's background refresh has read the series again
    await asyncio.to_thread(
        _wait_until, lambda: reader.read_counts().series_reads == read_before + 1
    )
    counts = reader.read_counts()
    infos = await reader.list_symbols()
    bars = await reader.read_bars(["NEW"])

    # THEN the first requests after the write are served without reading the file
    assert counts.series_reads == read_before + 1
    assert reader.read_counts() == counts
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
    ordered = in_time_order(scanned)

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
    # (through a connection the file's access handed out)
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.write_bars(make_bars("BBB", 4), source="test")
    await file_store.read_bars(["AAA"])
    before = file_store.read_counts()
    with FileAccess(file_store.path, lock_timeout=5).read() as conn:
        row = conn.execute("SELECT current_database()").fetchone()
        assert row is not None
        conn.execute("USE memory")
        conn.execute(f"DETACH DATABASE {row[0]}")

    # WHEN another symbol (not cached) is read
    bars = await file_store.read_bars(["BBB"])

    # THEN it was read through a new attachment
    assert bars.num_rows == 4
    assert file_store.read_counts().attaches == before.attaches + 1


KILLED_WRITER = """
import asyncio, datetime as dt, os, signal, sys, threading
import pyarrow as pa
from findata.db import DuckDBStore
from findata.db._duckdb import queries

path, hour, moment = sys.argv[1], int(sys.argv[2]), sys.argv[3]


def kill_when(frame, event, arg):
    # The store's write transaction: killed as it starts, or the moment it committed
    # (before the file is closed and the new version published).
    if frame.f_code is queries.write_bars.__code__:
        if event == moment:
            os.kill(os.getpid(), signal.SIGKILL)
        return kill_when
    return None


threading.settrace(kill_when)  # writes run in a worker thread
bars = pa.table({
    "symbol": ["AAA"],
    "timestamp": pa.array(
        [dt.datetime(2024, 2, 1, hour, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
    ),
    "open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5], "volume": [1],
})
asyncio.run(DuckDBStore(path, lock_timeout=20).write_bars(bars, source="killed"))
"""


async def _killed_writer(path: str, moment: str) -> None:
    """A process writing one more bar of AAA, SIGKILLed at ``moment`` of its transaction:
    ``call`` (before it began) or ``return`` (right after the commit)."""
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-c", KILLED_WRITER, path, "5", moment],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr


async def test_readers_see_a_commit_whose_writer_was_killed_before_publishing_it(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a serving store that cached three bars of AAA under their version
    reader = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    before = await reader.data_version()
    assert (await reader.read_bars(["AAA"])).num_rows == 3

    # WHEN a writer process is killed right after its commit, before it closed the file
    # and published the new version
    await _killed_writer(reader.path, "return")

    # THEN the very next answers are the committed ones, under a new version, the one a
    # store opened now gives too (so ETags differ exactly when the data do)
    after = await reader.data_version()
    bars = await reader.read_bars(["AAA"])
    assert after != before
    assert bars.num_rows == 4
    fresh = DuckDBStore(reader.path)
    assert await fresh.data_version() == after
    assert (await fresh.read_bars(["AAA"])).equals(bars)
    await reader.disconnect()


async def test_a_writer_killed_before_its_commit_leaves_data_and_version_as_they_were(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a serving store that cached three bars of AAA under their version
    reader = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    before = await reader.data_version()
    cached = await reader.read_bars(["AAA"])

    # WHEN a writer process is killed as its transaction begins
    await _killed_writer(reader.path, "call")

    # THEN the version is unchanged (caches and ETags stay valid) and so are the bars
    assert await reader.data_version() == before
    assert (await reader.read_bars(["AAA"])).equals(cached)
    await reader.disconnect()


async def test_after_a_killed_writer_the_next_writer_announcing_itself_keeps_the_committed_version(
    tmp_path: Path, make_bars: BarsFactory
) -> None:
    # GIVEN a reader that saw the commit of a writer killed before publishing it
    reader = await _store_with_aaa(tmp_path, make_bars, hold_idle=3600)
    published = await reader.data_version()
    await _killed_writer(reader.path, "return")
    committed = await reader.data_version()
    assert committed != published
    waiting = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(120)"
    )

    # WHEN another (live) process announces a write and has not published yet
    try:
        await asyncio.to_thread(
            Path(f"{reader.path}.writing").write_text, str(waiting.pid), encoding="ascii"
        )
        during = await reader.data_version()
    finally:
        # TEARDOWN
        waiting.kill()
        await waiting.wait()

    # THEN the reader keeps the committed version, not the stale published one
    assert during == committed
    await reader.disconnect()


async def test_a_series_spanning_several_row_groups_is_read_as_one_chunk_per_column(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> None:
    # GIVEN a series longer than DuckDB's row groups (122,880 rows), and a second symbol
    rows = 300_000
    await file_store.write_bars(make_bars("AAA", rows, step=dt.timedelta(minutes=1)), source="t")
    await file_store.write_bars(make_bars("BBB", 10, step=dt.timedelta(minutes=1)), source="t")

    # WHEN it is read from the file (nothing cached)
    reader = DuckDBStore(file_store.path)
    series = await reader.read_bars(["AAA"])

    # THEN every column is one chunk (cached and handed to NumPy without a concatenation)
    # holding every row in time order
    assert series.num_rows == rows
    assert {series.column(name).num_chunks for name in series.column_names} == {1}
    stamps = series.column("timestamp").chunk(0).cast(pa.int64()).to_numpy()
    assert bool((stamps[1:] > stamps[:-1]).all())
    await reader.disconnect()


@dataclasses.dataclass
class ReadInProgress:
    """One read running on a held file: its access, its connection, and how to end it."""

    access: FileAccess
    conn: duckdb.DuckDBPyConnection
    end: contextlib.ExitStack


@pytest.fixture
async def read_in_progress(
    file_store: DuckDBStore, make_bars: BarsFactory
) -> AsyncIterator[ReadInProgress]:
    """A held file holding AAA's 3 bars, and one read in progress on it (its connection
    still in use) until ``end.close()`` or the teardown."""
    await file_store.write_bars(make_bars("AAA", 3), source="test")
    await file_store.read_bars(["AAA"])
    access = FileAccess(file_store.path, lock_timeout=5)
    with contextlib.ExitStack() as end:
        yield ReadInProgress(access, end.enter_context(access.read()), end)


async def test_reads_of_a_held_file_run_side_by_side(read_in_progress: ReadInProgress) -> None:
    # GIVEN a held file and one read in progress on it
    first = read_in_progress

    # WHEN a second read runs meanwhile, in another thread
    def count() -> int:
        with first.access.read() as second:
            row = second.execute("SELECT count(*) FROM bars").fetchone()
            return -1 if row is None else int(row[0])

    counted = await asyncio.wait_for(asyncio.to_thread(count), timeout=10)

    # THEN it was answered while the first was still open, which can still read
    assert counted == 3
    assert first.conn.execute("SELECT count(*) FROM symbols").fetchone() == (1,)


async def test_a_write_waits_for_the_reads_running_and_reads_after_it_see_it(
    file_store: DuckDBStore, make_bars: BarsFactory, read_in_progress: ReadInProgress
) -> None:
    # GIVEN a held file and one read in progress on it
    running = read_in_progress

    # WHEN the same process writes meanwhile, and the read ends 0.3 s later
    write = asyncio.create_task(file_store.write_bars(make_bars("BBB", 2), source="test"))
    await asyncio.sleep(0.3)
    waited = not write.done()
    running.end.close()
    written = await asyncio.wait_for(write, timeout=10)

    # THEN the write waited for the read (the file cannot be opened to write while it is
    # attached), then went in, and the next read sees it
    assert waited
    assert written == 2
    assert (await file_store.read_bars(["BBB"])).num_rows == 2


async def test_a_read_that_fails_on_the_held_file_lets_it_go_once_no_read_runs(
    file_store: DuckDBStore, read_in_progress: ReadInProgress
) -> None:
    # GIVEN a held file, one read in progress on it, and the process's attachments so far
    attaches = file_store.read_counts().attaches

    # WHEN another read fails inside DuckDB while the first still runs
    def fail() -> None:
        with read_in_progress.access.read() as conn:
            conn.execute("SELECT CAST('not a number' AS INTEGER)")

    with pytest.raises(duckdb.Error):
        await asyncio.wait_for(asyncio.to_thread(fail), timeout=10)

    # THEN the running read goes on on the same attachment; once it ended, the failed
    # attachment is let go, and the next read attaches the file anew
    assert read_in_progress.conn.execute("SELECT count(*) FROM bars").fetchone() == (3,)
    assert file_store.read_counts().attaches == attaches
    read_in_progress.end.close()

    def count() -> object:
        with read_in_progress.access.read() as conn:
            row = conn.execute("SELECT count(*) FROM bars").fetchone()
            return None if row is None else row[0]

    assert await asyncio.to_thread(count) == 3
    assert file_store.read_counts().attaches == attaches + 1
