"""Database faults: the PostgreSQL under a loaded service stops, then comes back.

While it is down requests get 503 + Retry-After (never a wrong answer), readiness
says 503 and the process stays up; once it is back the service recovers by itself
within 5 s, and it holds no more connections than its pool allows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import time
from typing import TYPE_CHECKING, Final

import asyncpg
import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import PostgresCluster, Response, Server, ServerFactory

pytestmark = pytest.mark.system

RECOVERY_BUDGET: Final = 5.0
POOL_MAX: Final = 10  # PostgresStore's default pool size
LOAD_THREADS: Final = 4
PATHS: Final = (
    "/stocks/symbols",
    "/stocks/time-series/DEMO-ALPHA?interval=1&frequency=Monthly",
    "/stocks/time-series/DEMO-BETA-1M?interval=1&frequency=Hourly",
    "/stocks/indicators/DEMO-GAMMA?name=rsi",
    "/stocks/time-series/DEMO-GAMMA?start=2023-01-01&end=2023-03-31",
)


@dataclasses.dataclass(frozen=True)
class Observation:
    at: float
    path: str
    response: Response | None
    error: str = ""


def steady_load(server: Server, stop: threading.Event, seen: list[Observation]) -> None:
    n = 0
    while not stop.is_set():
        path = PATHS[n % len(PATHS)]
        n += 1
        try:
            seen.append(Observation(time.monotonic(), path, server.get(path, timeout=15)))
        except OSError as error:
            seen.append(Observation(time.monotonic(), path, None, repr(error)))
        time.sleep(0.02)


def wait_for(server: Server, path: str, status: int, timeout: float) -> float:
    """Poll ``path`` until it answers ``status``; the time it took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if server.get(path, timeout=5).status == status:
                return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} did not answer {status} within {timeout} s")


def app_connections(cluster: PostgresCluster) -> int:
    """Connections to the cluster other than this one (the service's pool, nothing else runs)."""

    async def count() -> int:
        connection = await asyncpg.connect(cluster.url)
        try:
            value: int = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            )
            return value
        finally:
            await connection.close()

    return asyncio.run(count())


def test_given_load_when_postgres_stops_and_starts_then_503_then_recovery_without_restart(
    demo_cluster: PostgresCluster, serve: ServerFactory
) -> None:
    # GIVEN: the service on the test's own cluster, the right answers, steady load
    server = serve(demo_cluster.url)
    reference = {path: server.get(path) for path in PATHS}
    assert all(r.status == 200 for r in reference.values())
    stop = threading.Event()
    seen: list[Observation] = []
    threads = [
        threading.Thread(target=steady_load, args=(server, stop, seen), daemon=True)
        for _ in range(LOAD_THREADS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(2)
    connections_before = app_connections(demo_cluster)
    # WHEN: the database stops for a while
    stopped_at = time.monotonic()
    demo_cluster.stop()
    readiness_down_after = wait_for(server, "/_readiness", 503, timeout=15)
    readiness_during = server.get("/_readiness")
    time.sleep(3)
    alive_during_outage = server.process.poll() is None
    # ... and comes back
    demo_cluster.start()
    started_at = time.monotonic()
    ready_after = wait_for(server, "/_readiness", 200, timeout=30)
    wait_for(server, PATHS[1], 200, timeout=30)
    data_after = time.monotonic() - started_at
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    connections_after = app_connections(demo_cluster)
    # THEN: no request ever got wrong data or an undocumented error
    wrong = [
        o
        for o in seen
        if o.response and o.response.status == 200 and o.response.body != reference[o.path].body
    ]
    unexpected = [o for o in seen if o.response is None or o.response.status not in (200, 503)]
    outage = [o for o in seen if o.response and o.response.status == 503]
    during = [o for o in seen if stopped_at + 2 < o.at < started_at]
    print(
        f"\nPOSTGRES FAULT FIGURES: {len(seen)} requests; {len(outage)} answered 503 during the "
        f"outage; readiness 503 {readiness_down_after:.2f} s after the stop; ready again "
        f"{ready_after:.2f} s and serving data {data_after:.2f} s after the "
        f"restart; connections {connections_before} before, {connections_after} after"
    )
    assert wrong == []
    assert unexpected == [], unexpected[:3]
    assert outage, "no request saw the outage"
    for observation in outage:
        assert observation.response is not None
        assert int(observation.response.headers["retry-after"]) >= 1
        assert observation.response.headers["content-type"] == "application/problem+json"
    assert during, "no request was made during the outage"
    assert readiness_during.status == 503
    assert json.loads(readiness_during.body)["status"] == 503
    assert alive_during_outage
    assert ready_after <= RECOVERY_BUDGET
    assert data_after <= RECOVERY_BUDGET
    assert connections_after <= POOL_MAX
    # TEARDOWN: stopping the service leaves no connection behind
    assert server.stop() == 0, server.output()
    assert app_connections(demo_cluster) == 0
