"""Ingestion faults: a full disk or a permission error stops ``findata ingest`` with a
clear one-line message (no traceback), and the store keeps exactly what it held.

SIGKILL in the middle of a single-file ingest, on both stores, is findata-db's own
system test (packages/findata-db/tests/test_system.py); this suite adds a multi-file
ingest killed during its second file: the first stays whole, nothing of the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from findata.db import open_store

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

# Root ignores file modes; without these capabilities it obeys them like any user.
AS_UNPRIVILEGED_ROOT: Final = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")
Cli = Callable[..., subprocess.CompletedProcess[str]]
FINDATA: Final = (sys.executable, "-c", "from findata.api.cli import main; main()")
VERSION_TTL: Final = 1.0
CONVERGENCE_DEADLINE: Final = 30.0


def minute_bars_csv(path: Path, symbol: str, rows: int) -> Path:
    """``rows`` consistent 1-minute bars with noisy prices (they do not compress away)."""
    rng = np.random.default_rng(7)
    minutes = np.arange(rows, dtype=np.int64)
    opens = 100 + rng.standard_normal(rows).cumsum() * 0.01
    spread = rng.random(rows)
    table = pa.table(
        {
            "symbol": pa.array([symbol] * rows),
            "timestamp": pa.array(1_704_205_800_000_000 + minutes * 60_000_000).cast(
                pa.timestamp("us", tz="UTC")
            ),
            "open": opens,
            "high": opens + spread,
            "low": opens - spread,
            "close": opens + spread / 2,
            "volume": rng.integers(1, 1_000_000, rows),
        }
    )
    pcsv.write_csv(table, path)
    return path


def assert_clear_failure(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit status 1 (an error) or 2 (click's usage error), a message, no traceback."""
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    message = done.stderr.lower()
    assert any(word in message for word in words), done.stderr


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs: a real file system that fills up."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        if os.environ.get("CI") == "true":
            pytest.fail(f"mounting a tmpfs is required in CI: {mounted.stderr}")
        pytest.skip(f"SKIPPED LOUDLY: cannot mount a tmpfs here ({mounted.stderr.strip()})")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=False)


@pytest.fixture
def seeded_store(demo_duckdb_url: str) -> Callable[[Path], str]:
    """Put a copy of the migrated demo store (and its version side file) in a directory.

    Copying saves a migrate and an ingest per test (each a CLI start, slow on a busy
    machine); the demo file has no writer, so a plain copy is consistent.
    """
    demo = Path(demo_duckdb_url.removeprefix("duckdb://"))

    def make(directory: Path) -> str:
        for source in demo.parent.glob(demo.name + "*"):
            shutil.copyfile(source, directory / source.name.replace(demo.stem, "findata", 1))
        return f"duckdb://{directory}/findata.duckdb"

    return make


def test_given_a_disk_that_fills_up_when_ingesting_then_a_clear_error_and_the_store_is_intact(
    tiny_disk: Path,
    tmp_path: Path,
    seeded_store: Callable[[Path], str],
    findata_cli: Cli,
    checksum: Callable[[str], str],
) -> None:
    # GIVEN: a store on a nearly full disk, and a file far larger than the free space
    url = seeded_store(tiny_disk)
    before = checksum(url)
    big = minute_bars_csv(tmp_path / "big.csv", "TOOBIG", 600_000)
    # WHEN
    done = findata_cli("ingest", "csv", str(big), database_url=url)
    # THEN
    print(f"\nDISK FULL MESSAGE: {done.stderr.strip()[-300:]}")
    assert_clear_failure(done, "no space left", "disk is full", "disk full")
    assert checksum(url) == before


def test_given_a_read_only_store_when_ingesting_then_a_clear_error_and_the_store_is_intact(
    tmp_path: Path,
    seeded_store: Callable[[Path], str],
    findata_cli: Cli,
    checksum: Callable[[str], str],
) -> None:
    # GIVEN: the store's file and directory are read-only for the ingesting process
    require_setpriv()
    directory = tmp_path / "store"
    directory.mkdir()
    url = seeded_store(directory)
    before = checksum(url)
    new = minute_bars_csv(tmp_path / "new.csv", "NEW", 100)
    (directory / "findata.duckdb").chmod(0o444)
    directory.chmod(0o555)
    # WHEN
    try:
        done = findata_cli("ingest", "csv", str(new), database_url=url, prefix=AS_UNPRIVILEGED_ROOT)
    finally:
        directory.chmod(0o755)
        (directory / "findata.duckdb").chmod(0o644)
    # THEN
    print(f"\nREAD-ONLY STORE MESSAGE: {done.stderr.strip()[-300:]}")
    assert_clear_failure(done, "permission denied", "read-only", "not writable")
    assert checksum(url) == before


def test_given_an_unreadable_input_file_when_ingesting_then_the_error_names_it(
    tmp_path: Path,
    seeded_store: Callable[[Path], str],
    findata_cli: Cli,
    checksum: Callable[[str], str],
) -> None:
    # GIVEN
    require_setpriv()
    directory = tmp_path / "store"
    directory.mkdir()
    url = seeded_store(directory)
    before = checksum(url)
    secret = minute_bars_csv(tmp_path / "secret.csv", "HIDDEN", 10)
    secret.chmod(0o000)
    # WHEN
    try:
        done = findata_cli(
            "ingest", "csv", str(secret), database_url=url, prefix=AS_UNPRIVILEGED_ROOT
        )
    finally:
        secret.chmod(0o644)
    # THEN
    print(f"\nUNREADABLE INPUT MESSAGE: {done.stderr.strip()[-300:]}")
    assert_clear_failure(done, "permission denied", "not readable")
    assert "secret.csv" in done.stderr
    assert checksum(url) == before


def require_setpriv() -> None:
    usable = os.geteuid() == 0 and shutil.which("setpriv") is not None
    with contextlib.suppress(OSError):
        usable = (
            usable
            and subprocess.run(
                [*AS_UNPRIVILEGED_ROOT, "true"], check=False, capture_output=True
            ).returncode
            == 0
        )
    if not usable:
        if os.environ.get("CI") == "true":
            pytest.fail("setpriv as root is required in CI to test permission errors")
        pytest.skip("SKIPPED LOUDLY: permission errors need root and setpriv (util-linux)")


def duckdb_write_lock_held(path: str) -> bool:
    """True while another process holds the file read-write (a reader cannot open it)."""
    try:
        duckdb.connect(path, read_only=True).close()
    except duckdb.IOException:
        return True
    return False


async def stored_counts(url: str) -> dict[str, int]:
    store = open_store(url)
    await store.connect()
    try:
        return {info.symbol: info.bar_count for info in await store.list_symbols()}
    finally:
        await store.disconnect()


def test_given_two_files_when_ingest_is_killed_during_the_second_then_the_first_is_whole(
    tmp_path: Path, seeded_store: Callable[[Path], str]
) -> None:
    # GIVEN: one command ingesting a small file, then a large one (findata-db's own
    # system test kills a single-file ingest; this extends it to "file by file")
    directory = tmp_path / "store"
    directory.mkdir()
    url = seeded_store(directory)
    before = asyncio.run(stored_counts(url))
    first = minute_bars_csv(tmp_path / "first.csv", "FIRST", 2_000)
    second = minute_bars_csv(tmp_path / "second.csv", "SECOND", 1_500_000)
    path = str(directory / "findata.duckdb")
    process = subprocess.Popen(
        [*FINDATA, "ingest", "csv", str(first), str(second), "--database-url", url],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},  # each file's report line as it happens
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # WHEN: the first file is reported done and the second holds the write lock
    assert process.stdout is not None
    report = process.stdout.readline()
    assert "first.csv" in report, (report, process.stderr)
    deadline = time.monotonic() + 240
    while not duckdb_write_lock_held(path):
        assert process.poll() is None, "the ingest ended before the second file was written"
        assert time.monotonic() < deadline, "the second file never took the write lock"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait(60)
    # THEN: the first file is there whole, nothing of the second
    counts = asyncio.run(stored_counts(url))
    assert process.returncode == -signal.SIGKILL
    assert counts == before | {"FIRST": 2_000}


# A fork server of `findata ingest csv`, so that each ingest starts warm (imports done)
# and is one real process. Each stdin line `CSV K` forks a child that ingests CSV and
# SIGKILLs itself right after the K-th change on disk it made (K < 0: never). A change is
# any difference in the store file, its WAL, its `.writing` and `.version` side files
# or the scratch files beside them, looked at before every line the child runs in
# findata.db's DuckDB package: between two changes the disk holds the same state, so
# K = 0..N covers every state an ingest passes through. The line `truth` forks a child
# that opens the file read-only (as a process started after the crash would) and
# reports the committed data version and bar count of KILL.
KILLABLE_INGEST = """
import json, os, signal, sys, threading
import duckdb, pyarrow.compute, pyarrow.csv, pyarrow.parquet  # warm before forking
import findata.db._duckdb as package
from findata.db import cli

url, path = sys.argv[1], sys.argv[2]
folder, name = os.path.split(path)
PACKAGE = os.path.dirname(package.__file__)


def disk():
    state = []
    for side in ("", ".wal", ".writing", ".version"):
        try:
            stat = os.stat(path + side)
            state.append([side, stat.st_ino, stat.st_size, stat.st_mtime_ns])
        except FileNotFoundError:
            state.append([side, None, None, None])
    scratch = sorted(entry for entry in os.listdir(folder) if entry.endswith(".tmp"))
    return [state, scratch]


def ingest(csv, kill_after):
    changes, last = [], disk()

    def trace(frame, event, arg):
        if not frame.f_code.co_filename.startswith(PACKAGE):
            return None
        if threading.current_thread().name.startswith("duckdb-reader"):
            return None
        if event == "line":
            now = disk()
            if now != last:
                changed = [side or name for (side, *old), (_, *new) in zip(last[0], now[0])
                           if old != new] + sorted(set(last[1]) ^ set(now[1]))
                where = f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
                changes.append(f"{'+'.join(changed)} before {where}")
                last[:] = now
            if len(changes) == kill_after:
                report(killed=f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}",
                       changes=changes)
                os.kill(os.getpid(), signal.SIGKILL)
        return trace

    threading.settrace(trace)
    sys.settrace(trace)
    cli.main(["ingest", "csv", csv, "--database-url", url], standalone_mode=False)
    sys.settrace(None)
    report(killed=None, changes=changes)


def truth():
    with duckdb.connect(path, read_only=True) as conn:
        row = conn.execute("SELECT database_id, version FROM data_version").fetchone()
        (bars,) = conn.execute(
            "SELECT count(*) FROM bars JOIN symbols USING (symbol_id) WHERE symbol = 'KILL'"
        ).fetchone()
    report(version=f"{row[0]}-{row[1]}", bars=bars)


def report(**fields):
    os.write(3, json.dumps(fields).encode())


for command in sys.stdin:
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_end)
        os.dup2(write_end, 3)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # the CLI's report line
        words = command.split()
        try:
            truth() if words == ["truth"] else ingest(words[0], int(words[1]))
        except BaseException as error:
            report(error=repr(error))
        os._exit(0)
    os.close(write_end)
    _, status = os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as answer:
        fields = json.loads(answer.read() or b"{}")
    fields["signal"] = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
    print(json.dumps(fields), flush=True)
"""


class KillableIngest:
    """The fork server above, over a pipe."""

    def __init__(self, url: str, path: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", KILLABLE_INGEST, url, path],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        assert "error" not in answer, answer
        return answer

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(60)


def one_day_csv(path: Path, day: int) -> Path:
    """One daily bar of KILL, ``day`` days after 2030-01-01 (each file adds a new bar)."""
    date = dt.date(2030, 1, 1) + dt.timedelta(days=day)
    path.write_text(f"symbol,date,open,high,low,close,volume\nKILL,{date},1,2,0.5,1.5,{day + 1}\n")
    return path


def kill_bars(server: Server) -> tuple[int, str]:
    """How many bars of KILL the server answers with, and the answer's ETag."""
    answer = server.get("/stocks/time-series/KILL?limit=10000")
    if answer.status == 404:
        return 0, answer.headers.get("etag", "")
    assert answer.status == 200, answer.body
    return len(json.loads(answer.body)), answer.headers["etag"]


def test_given_a_running_server_when_ingests_are_killed_at_every_step_then_it_serves_the_commit(
    tmp_path: Path, seeded_store: Callable[[Path], str], serve: ServerFactory
) -> None:
    # GIVEN: a server on the demo store trusting its data version for 1 s (the production
    # default, the documented staleness bound), and an ingest that ran once untouched:
    # the changes it made on disk, in order, are the kill points
    directory = tmp_path / "store"
    directory.mkdir()
    url = seeded_store(directory)
    server = serve(url, FINDATA_DATA_VERSION_TTL=str(VERSION_TTL))
    writer = KillableIngest(url, str(directory / "findata.duckdb"))
    try:
        whole = writer.ask(f"{one_day_csv(tmp_path / 'day0.csv', 0)} -1")
        assert whole["signal"] == 0
        points = len(whole["changes"])
        print(f"\nKILL POINTS: {points} changes on disk per ingest: {whole['changes']}")
        figures = []
        for kill_after in range(points):
            bars_before, etag_before = kill_bars(server)
            csv = one_day_csv(tmp_path / f"day{kill_after + 1}.csv", kill_after + 1)
            # WHEN: the ingest of one more bar is killed right after its k-th change on disk
            killed = writer.ask(f"{csv} {kill_after}")
            died = time.monotonic()
            committed = writer.ask("truth")
            # THEN: the commit is all or nothing, the server converges to it, and its ETag
            # changed exactly when the data did
            assert killed["signal"] == signal.SIGKILL, killed
            assert committed["bars"] in (bars_before, bars_before + 1), committed
            bars, etag = kill_bars(server)
            while bars != committed["bars"] and time.monotonic() < died + CONVERGENCE_DEADLINE:
                time.sleep(0.02)
                bars, etag = kill_bars(server)
            converged = time.monotonic() - died
            assert bars == committed["bars"], (killed, committed, bars)
            if bars == bars_before:
                time.sleep(VERSION_TTL * 2)  # long enough for a wrong version to show
                assert kill_bars(server) == (bars_before, etag_before), killed
            else:
                assert etag != etag_before, killed
            figures.append((killed["killed"], bars != bars_before, round(converged, 3)))
        print(f"KILL FIGURES (where, committed, seconds to converge): {figures}")
    finally:
        writer.close()
