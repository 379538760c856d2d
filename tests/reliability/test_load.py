"""Load: 60 s of mixed requests at 64 connections against one Hypercorn worker.

Zero errors, the latency percentiles recorded (printed; see docs/reliability.md),
and no leak: the worker's RSS at the end is within 10% of its RSS after warm-up.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

SCRIPT: Final = Path(__file__).parent / "load" / "mixed.lua"
CONNECTIONS: Final = 64
WARM_UP_SECONDS: Final = 15
LOAD_SECONDS: Final = 60
RSS_TOLERANCE: Final = 0.10
_UNIT_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclasses.dataclass(frozen=True)
class WrkSummary:
    requests: int
    requests_per_second: float
    non_2xx_3xx: int
    socket_errors: int
    latency_ms: dict[str, float]

    @classmethod
    def parse(cls, output: str) -> WrkSummary:
        requests = re.search(r"(\d+) requests in", output)
        rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
        assert requests, output
        assert rate, output
        non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        socket = re.search(
            r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
        )
        latency = {
            percentile: float(value) * _UNIT_MS[unit]
            for percentile, value, unit in re.findall(
                r"^\s+(\d+%)\s+([\d.]+)(us|ms|s)\s*$", output, re.M
            )
        }
        return cls(
            requests=int(requests[1]),
            requests_per_second=float(rate[1]),
            non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
            socket_errors=sum(map(int, socket.groups())) if socket else 0,
            latency_ms=latency,
        )


def run_wrk(server: Server, seconds: int) -> WrkSummary:
    done = subprocess.run(
        [
            "wrk",
            "--threads",
            "2",
            "--connections",
            str(CONNECTIONS),
            "--duration",
            f"{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "--script",
            str(SCRIPT),
            server.base_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return WrkSummary.parse(done.stdout)


@pytest.fixture(scope="module")
def wrk_available() -> None:
    if shutil.which("wrk") is None:
        import os

        if os.environ.get("CI") == "true":
            pytest.fail("wrk is required in CI (apt-get install wrk; .ci/run installs it)")
        pytest.skip("SKIPPED LOUDLY: wrk is not installed (apt-get install wrk)")


def test_given_one_worker_when_64_connections_load_it_for_60_s_then_no_error_and_no_leak(
    wrk_available: None, serve: ServerFactory, demo_duckdb_url: str
) -> None:
    # GIVEN: one worker, every path of the mix answering, warmed up
    server = serve(demo_duckdb_url)
    for line in SCRIPT.read_text().splitlines():
        if match := re.match(r'\s+"(/stocks/[^"%]+)",', line):
            assert server.get(match[1], timeout=60).status == 200, match[1]
    warm_up = run_wrk(server, WARM_UP_SECONDS)
    rss_after_warm_up = server.rss_kib()
    # WHEN
    load = run_wrk(server, LOAD_SECONDS)
    rss_at_end = server.rss_kib()
    # THEN
    print(
        f"\nLOAD FIGURES: {load.requests} requests in {LOAD_SECONDS} s, {CONNECTIONS} connections, "
        f"{load.requests_per_second:.0f} req/s, latency {load.latency_ms}, "
        f"RSS after warm-up {rss_after_warm_up / 1024:.1f} MiB, at end {rss_at_end / 1024:.1f} MiB "
        f"({(rss_at_end / rss_after_warm_up - 1) * 100:+.1f}%); warm-up {warm_up.requests} requests"
    )
    assert warm_up.non_2xx_3xx == warm_up.socket_errors == 0
    assert load.requests > 0
    assert load.non_2xx_3xx == 0
    assert load.socket_errors == 0
    assert "99%" in load.latency_ms
    assert rss_at_end <= rss_after_warm_up * (1 + RSS_TOLERANCE)
    # TEARDOWN
    assert server.stop() == 0, server.output()
