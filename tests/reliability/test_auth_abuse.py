"""API-key abuse against a real ``findata serve --workers 2`` sharing a Redis of its own:
a flood of wrong keys is cut off per client address, and a revoked key stops working on
every worker as soon as ``findata keys revoke`` returns, not when the key caches expire."""

from __future__ import annotations

import dataclasses
import http.client
import math
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

SCRIPT: Final = Path(__file__).parent / "load" / "wrong_keys.lua"
FAILED_AUTH_LIMIT: Final = 20  # per minute: one attempt returns every 3 s
FLOOD_SECONDS: Final = 5
KEY_CACHE_TTL: Final = 60  # so that only an announcement can end a revoked key's use in time
# wrk and the test's checks come from 127.0.0.1; "other clients" from another loopback address.
OTHER_ADDRESS: Final = "127.0.0.2"
Cli = Callable[..., subprocess.CompletedProcess[str]]


def required(condition: bool, reason: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]


def get_from(
    server: Server, source: str, path: str, headers: Mapping[str, str] | None = None
) -> Answer:
    """One request on a fresh connection from the loopback address ``source``."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", server.port, timeout=30, source_address=(source, 0)
    )
    try:
        connection.request("GET", path, headers={"Connection": "close", **(headers or {})})
        answer = connection.getresponse()
        answer.read()
        return Answer(answer.status, {k.lower(): v for k, v in answer.getheaders()})
    finally:
        connection.close()


@pytest.fixture(scope="module")
def own_redis(module_dir: Path) -> Iterator[str]:
    """A redis-server of this module's own, so no limit or announcement leaks elsewhere."""
    binary = shutil.which("redis-server")
    required(binary is not None, "no redis-server binary")
    assert binary is not None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=module_dir,
        stdout=subprocess.DEVNULL,
    )
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


@pytest.fixture(scope="module")
def keyed_server(serve: ServerFactory, demo_postgres_url: str, own_redis: str) -> Server:
    """Two workers with keys required, the failed-key limit and revocations in Redis."""
    return serve(
        demo_postgres_url,
        FINDATA_API_KEYS_REQUIRED="true",
        FINDATA_REDIS_URL=own_redis,
        FINDATA_WORKERS="2",
        FINDATA_FAILED_AUTH_LIMIT=f"{FAILED_AUTH_LIMIT}/minute",
        FINDATA_API_KEY_CACHE_TTL=str(KEY_CACHE_TTL),
    )


def create_key(findata_cli: Cli, database_url: str, name: str) -> str:
    done = findata_cli("keys", "create", name, database_url=database_url)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_given_two_workers_when_one_address_floods_them_with_wrong_keys_then_it_is_cut_off(
    keyed_server: Server, demo_postgres_url: str, findata_cli: Cli
) -> None:
    # GIVEN
    required(shutil.which("wrk") is not None, "wrk is not installed (apt-get install wrk)")
    token = create_key(findata_cli, demo_postgres_url, "flood-bystander")
    # WHEN: 50 connections send made-up keys for 5 s from 127.0.0.1
    done = subprocess.run(
        ["wrk", "-t2", "-c50", f"-d{FLOOD_SECONDS}s", "-s", str(SCRIPT), keyed_server.base_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=FLOOD_SECONDS + 60,
    )
    blocked = get_from(keyed_server, "127.0.0.1", "/stocks/symbols", {"X-API-Key": token})
    bystander = get_from(keyed_server, OTHER_ADDRESS, "/stocks/symbols", {"X-API-Key": token})
    # THEN
    status_line = re.search(r"^STATUS(.*)$", done.stdout, re.M)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    assert status_line, done.stdout
    assert rate, done.stdout
    counts = {int(s): int(n) for s, n in re.findall(r"(\d+)=(\d+)", status_line[1])}
    print(
        f"\nFAILED-AUTH FIGURES: {sum(counts.values())} wrong keys in {FLOOD_SECONDS} s "
        f"({float(rate[1]):.0f} req/s, 2 workers, limit {FAILED_AUTH_LIMIT}/minute in Redis): "
        f"{counts.get(401, 0)} x 401, {counts.get(429, 0)} x 429"
    )
    assert set(counts) == {401, 429}
    # GCRA: the burst, plus one attempt per 3 s of the run, over both workers together
    assert counts[401] <= FAILED_AUTH_LIMIT + math.ceil(FLOOD_SECONDS / 3)
    assert blocked.status == 429
    assert blocked.headers["content-type"] == "application/problem+json"
    assert int(blocked.headers["retry-after"]) >= 1
    assert bystander.status == 200


def test_given_two_workers_with_a_cached_key_when_it_is_revoked_then_both_refuse_it_at_once(
    keyed_server: Server, demo_postgres_url: str, own_redis: str, findata_cli: Cli
) -> None:
    # GIVEN: a key both workers have accepted (and cache for a minute)
    token = create_key(findata_cli, demo_postgres_url, "soon-revoked")
    headers = {"X-API-Key": token}
    before = [get_from(keyed_server, OTHER_ADDRESS, "/stocks/symbols", headers) for _ in range(40)]
    key_id = token.split("_")[1]
    # WHEN
    revoked = findata_cli(
        "keys",
        "revoke",
        key_id,
        database_url=demo_postgres_url,
        env={"FINDATA_REDIS_URL": own_redis},
    )
    returned = time.monotonic()
    first_refusal = get_from(keyed_server, OTHER_ADDRESS, "/stocks/symbols", headers)
    while first_refusal.status == 200 and time.monotonic() - returned < 10:
        time.sleep(0.01)
        first_refusal = get_from(keyed_server, OTHER_ADDRESS, "/stocks/symbols", headers)
    converged = time.monotonic() - returned
    # Ten more: a revoked key is a wrong key, and past the limit it would get 429.
    after = [get_from(keyed_server, OTHER_ADDRESS, "/stocks/symbols", headers) for _ in range(10)]
    # THEN
    print(
        f"\nREVOCATION FIGURES: announced to 2 workers; refused {converged * 1000:.0f} ms after "
        f"`findata keys revoke` returned (key cache {KEY_CACHE_TTL} s); "
        f"{sum(r.status == 401 for r in after)} of 10 later requests refused"
    )
    assert {r.status for r in before} == {200}
    assert revoked.returncode == 0, revoked.stderr
    assert "announced to 2 listening server worker(s)" in revoked.stderr
    assert first_refusal.status == 401
    assert {r.status for r in after} == {401}
    assert converged < KEY_CACHE_TTL / 10
