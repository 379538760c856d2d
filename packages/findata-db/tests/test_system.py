"""Real processes on real stores: a killed ingest, and readers beside a writer on one file.

Marked ``system``: run once by ``make test-system``, not in the Python matrix.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from findata.db import MigratableStore, open_store

pytestmark = pytest.mark.system

KILL_ROWS = 1_000_000
PROCESS_TIMEOUT = 240


def _minute_file(path: Path, symbol: str, rows: int, *, first_minute: int = 0) -> Path:
    """A CSV of ``rows`` consistent 1-minute bars of ``symbol``."""
    minutes = np.arange(first_minute, first_minute + rows, dtype=np.int64)
    stamps = pa.array(1_704_205_800_000_000 + minutes * 60_000_000).cast(
        pa.timestamp("us", tz="UTC")
    )
    opens = 100 + np.sin(minutes / 500.0)
    table = pa.table(
        {
            "symbol": pa.array([symbol] * rows),
            "timestamp": stamps,
            "open": opens,
            "high": opens + 1,
            "low": opens - 1,
            "close": opens + 0.5,
            "volume": minutes + 1,
        }
    )
    pcsv.write_csv(table, path)
    return path


def _ingest(url: str, *paths: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "findata.db",
            "ingest",
            "csv",
            *map(str, paths),
            "--database-url",
            url,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


async def _snapshot(url: str) -> tuple[list[tuple[str, int]], pa.Table]:
    store = open_store(url)
    await store.connect()
    try:
        infos = [(info.symbol, info.bar_count) for info in await store.list_symbols()]
        return infos, await store.read_bars([symbol for symbol, _ in infos])
    finally:
        await store.disconnect()


async def _wait_until(
    condition: Callable[[], Awaitable[bool]], process: subprocess.Popen[bytes], what: str
) -> None:
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while time.monotonic() < deadline:
        if await condition():
            return
        if process.poll() is not None:
            pytest.fail(f"the ingest ended before {what}: {process.stderr.read()!r}")  # type: ignore[union-attr]
        await asyncio.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


async def _duckdb_write_lock_held(path: str) -> bool:
    return _write_lock_held(path)


def _write_lock_held(path: str) -> bool:
    try:
        duckdb.connect(path, read_only=True).close()
    except duckdb.IOException:
        return True
    return False


async def _postgres_write_in_progress(url: str) -> bool:
    import asyncpg

    connection = await asyncpg.connect(url.partition("?")[0])
    try:
        # The store takes this advisory lock first thing in every write transaction.
        held = await connection.fetchval(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND a.application_name = 'findata' "
            "AND a.query LIKE 'COPY%'"
        )
        return bool(held)
    finally:
        await connection.close()


@pytest.fixture
async def kill_store(backend: str, tmp_path: Path, store: MigratableStore, store_url: str) -> str:
    """A store URL seen by other processes: a DuckDB file, or the PostgreSQL schema."""
    if backend == "postgres":
        return store_url
    url = f"duckdb://{tmp_path / 'killed.duckdb'}"
    migrator = open_store(url)
    await migrator.connect()
    await migrator.migrate()
    await migrator.disconnect()
    return url


async def test_sigkill_during_an_ingest_leaves_the_store_as_it_was(
    backend: str, kill_store: str, tmp_path: Path
) -> None:
    # GIVEN a store holding one small file, and a large file being ingested
    small = _minute_file(tmp_path / "small.csv", "KEEP", 50)
    first = _ingest(kill_store, small)
    assert first.wait(PROCESS_TIMEOUT) == 0, first.stderr.read()  # type: ignore[union-attr]
    before = await _snapshot(kill_store)
    big = _minute_file(tmp_path / "big.csv", "KILLED", KILL_ROWS)
    process = _ingest(kill_store, big)

    # WHEN the ingest is killed with SIGKILL while it writes
    if backend == "duckdb":
        path = kill_store.removeprefix("duckdb://")
        await _wait_until(lambda: _duckdb_write_lock_held(path), process, "the write lock")
    else:
        await _wait_until(lambda: _postgres_write_in_progress(kill_store), process, "the COPY")
    process.send_signal(signal.SIGKILL)
    process.wait(PROCESS_TIMEOUT)
    if backend == "postgres":
        await asyncio.sleep(0.5)  # the server notices the dead client and rolls back

    # THEN the store holds exactly what it held before
    after = await _snapshot(kill_store)
    assert process.returncode == -signal.SIGKILL
    assert after[0] == before[0]
    assert after[1].equals(before[1])


READER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from findata.db import DuckDBStore

    async def main(path, seconds, wanted):
        store = DuckDBStore(path)
        await store.connect()
        seen, errors, deadline = [], [], time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                await store.data_version()
                bars = await store.read_bars(["LIVE"])
                seen.append(bars.num_rows)
                if bars.num_rows == wanted:
                    break
            except Exception as error:  # report every failure to the test
                errors.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.01)
        print(json.dumps({"seen": seen, "errors": errors}))

    asyncio.run(main(sys.argv[1], float(sys.argv[2]), int(sys.argv[3])))
    """
)


def test_readers_in_other_processes_keep_working_and_see_an_ingest_without_restart(
    tmp_path: Path,
) -> None:
    # GIVEN a DuckDB file with some bars, and two reader processes polling it like workers
    url = f"duckdb://{tmp_path / 'shared.duckdb'}"
    path = url.removeprefix("duckdb://")
    migrate = subprocess.run(
        [sys.executable, "-m", "findata.db", "db", "migrate", "--database-url", url],
        capture_output=True,
        check=True,
    )
    assert migrate.returncode == 0
    setup = _ingest(url, _minute_file(tmp_path / "start.csv", "LIVE", 1_000))
    assert setup.wait(PROCESS_TIMEOUT) == 0, setup.stderr.read()  # type: ignore[union-attr]
    files = [
        _minute_file(tmp_path / f"part{index}.csv", "LIVE", 100_000, first_minute=index * 100_000)
        for index in range(4)
    ]
    final_rows = 4 * 100_000
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, path, "120", str(final_rows)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]

    # WHEN four files are ingested, one by one, while the readers poll
    ingest = _ingest(url, *files)
    ingest_code = ingest.wait(PROCESS_TIMEOUT)
    reports = []
    for reader in readers:
        output, errors = reader.communicate(timeout=PROCESS_TIMEOUT)
        assert reader.returncode == 0, errors
        reports.append(json.loads(output))

    # THEN the ingest succeeded, no read failed, and each reader saw the final data
    assert ingest_code == 0, ingest.stderr.read()  # type: ignore[union-attr]
    for report in reports:
        assert report["errors"] == []
        assert report["seen"][-1] == final_rows
        assert report["seen"][0] <= report["seen"][-1]
    assert not _write_lock_held(path)
    assert os.path.exists(f"{path}.version")
