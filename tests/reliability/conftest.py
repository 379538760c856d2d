"""Real processes for the reliability suites: `findata serve`, PostgreSQL clusters, data sets.

Everything here starts or stops operating-system processes; every test using it is
marked ``system`` and runs once, in ``make test-system``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import http.client
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final

import pyarrow as pa
import pytest

from findata.api.testing import ServedProcess, free_port, serve_process
from findata.db import open_store

PG_URL: Final = os.environ.get(
    "FINDATA_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
FINDATA: Final = (sys.executable, "-c", "from findata.api.cli import main; main()")


def require(condition: bool, reason: str) -> None:
    """Fail under CI, skip loudly elsewhere, when something a system test needs is missing."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def run_findata(
    *args: str,
    database_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 180,
    prefix: tuple[str, ...] = (),
) -> subprocess.CompletedProcess[str]:
    """Run a ``findata`` command to completion (captured output, no check); ``prefix``
    wraps it (e.g. ``setpriv ...``)."""
    return subprocess.run(
        [*prefix, *FINDATA, *args],
        env={**os.environ, "FINDATA_DATABASE_URL": database_url, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def load_demo(database_url: str) -> None:
    """Migrate the database and load findata's deterministic demo data set."""
    for command in (("db", "migrate"), ("ingest", "demo")):
        done = run_findata(*command, database_url=database_url)
        assert done.returncode == 0, f"findata {' '.join(command)} failed:\n{done.stderr}"


def bars_checksum(database_url: str) -> str:
    """SHA-256 over every stored bar and symbol record, read through the store."""

    async def read() -> str:
        store = open_store(database_url)
        await store.connect()
        try:
            symbols = await store.list_symbols()
            digest = hashlib.sha256(repr(symbols).encode())
            bars = await store.read_bars([info.symbol for info in symbols])
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, bars.schema) as writer:
                writer.write_table(bars)
            digest.update(sink.getvalue().to_pybytes())
            return digest.hexdigest()
        finally:
            await store.disconnect()

    return asyncio.run(read())


@dataclasses.dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclasses.dataclass
class Server(ServedProcess):
    """A ``findata serve`` process on 127.0.0.1:``port``, its output in ``log``."""

    def get(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 10
    ) -> Response:
        """One request on a fresh connection (``Connection: close``)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path, headers={"Connection": "close", **(headers or {})})
            answer = connection.getresponse()
            body = answer.read()
            return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, body)
        finally:
            connection.close()

    def rss_kib(self) -> int:
        """Resident memory of the serving process, from /proc."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS line: is the server still running?")


def start_server(
    database_url: str,
    log_dir: Path,
    *,
    settings: Mapping[str, str] | None = None,
    ready_timeout: float = 60,
) -> Server:
    """Start ``findata serve`` with the test configuration and wait until it answers."""
    try:
        served = serve_process(
            database_url,
            log_dir,
            settings={"FINDATA_LOG_LEVEL": "WARNING", **(settings or {})},
            ready_timeout=ready_timeout,
        )
    except RuntimeError as error:
        raise AssertionError(str(error)) from None
    return Server(served.process, served.port, served.log)


@pytest.fixture(scope="module")
def module_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reliability")


@pytest.fixture(scope="session")
def demo_duckdb_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A DuckDB file holding the migrated demo data set, shared by every suite that only
    reads it (the hostile-input suite proves that nothing changes it)."""
    url = f"duckdb://{tmp_path_factory.mktemp('demo-duckdb')}/demo.duckdb"
    load_demo(url)
    return url


def _pg_reachable(url: str) -> str | None:
    import asyncpg

    async def probe() -> None:
        connection = await asyncpg.connect(url, timeout=3)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError) as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def demo_postgres_url() -> Iterator[str]:
    """A database of its own on the test PostgreSQL server, holding the demo data set."""
    import asyncpg

    problem = _pg_reachable(PG_URL)
    require(problem is None, f"PostgreSQL at FINDATA_TEST_DATABASE_URL: {problem}")
    name = f"findata_rel_{uuid.uuid4().hex[:10]}"
    parts = urllib.parse.urlsplit(PG_URL)
    url = urllib.parse.urlunsplit(parts._replace(path=f"/{name}"))

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(PG_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    load_demo(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE "{name}" WITH (FORCE)'))


@dataclasses.dataclass
class PostgresCluster:
    """A PostgreSQL cluster of the test's own, run as the ``postgres`` OS user."""

    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _pg_ctl(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), *args],
            user="postgres",
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 0, f"pg_ctl {args[0]} failed: {done.stdout}{done.stderr}"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        self._pg_ctl("start", "-w", "-l", str(self.data_dir / "server.log"), "-o", options)

    def stop(self) -> None:
        self._pg_ctl("stop", "-w", "-m", "fast")


def postgres_bin_dir() -> Path | None:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), reverse=True)
    return candidates[0].parent if candidates else None


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """initdb + pg_ctl on a free port, as the postgres user; removed afterwards."""
    bin_dir = postgres_bin_dir()
    require(bin_dir is not None, "no PostgreSQL server binaries under /usr/lib/postgresql")
    assert bin_dir is not None
    require(os.geteuid() == 0, "starting a cluster as the postgres user needs root")
    try:
        account = pwd.getpwnam("postgres")
    except KeyError:
        require(False, "no postgres OS user")
        raise
    root = Path(tempfile.mkdtemp(prefix="findata-pg-"))
    os.chown(root, account.pw_uid, account.pw_gid)
    data_dir = root / "data"
    done = subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        user="postgres",
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, f"initdb failed: {done.stderr}"
    cluster = PostgresCluster(bin_dir, data_dir, free_port())
    cluster.start()
    yield cluster
    with contextlib.suppress(AssertionError):
        cluster.stop()
    shutil.rmtree(root, ignore_errors=True)


# Test modules reach the helpers through fixtures: with --import-mode=importlib a
# conftest is not importable by name.
ServerFactory = Callable[..., Server]


@pytest.fixture(scope="module")
def serve(module_dir: Path) -> Iterator[ServerFactory]:
    """Start ``findata serve`` processes on demand; any still running are stopped at teardown."""
    started: list[Server] = []

    def factory(database_url: str, **settings: str) -> Server:
        server = start_server(database_url, module_dir, settings=settings)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()  # SIGTERM first: a SIGKILLed parent leaves its workers running


@pytest.fixture(scope="session")
def checksum() -> Callable[[str], str]:
    return bars_checksum


@pytest.fixture(scope="session")
def findata_cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    return run_findata


@pytest.fixture(scope="module")
def demo_cluster(postgres_cluster: PostgresCluster) -> PostgresCluster:
    """The test's own PostgreSQL cluster, holding the demo data set."""
    load_demo(postgres_cluster.url)
    return postgres_cluster
