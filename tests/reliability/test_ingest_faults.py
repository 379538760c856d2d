"""Ingestion faults: a full disk or a permission error stops ``findata ingest`` with a
clear one-line message (no traceback), and the store keeps exactly what it held.

SIGKILL in the middle of a single-file ingest, on both stores, is findata-db's own
system test (packages/findata-db/tests/test_system.py); this suite adds a multi-file
ingest killed during its second file: the first stays whole, nothing of the second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from findata.db import open_store

pytestmark = pytest.mark.system

# Root ignores file modes; without these capabilities it obeys them like any user.
AS_UNPRIVILEGED_ROOT: Final = ("setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--")
Cli = Callable[..., subprocess.CompletedProcess[str]]
FINDATA: Final = (sys.executable, "-c", "from findata.api.cli import main; main()")


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
