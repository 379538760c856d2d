"""Revocations reach every worker: announced through Redis, or bounded by the key cache."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
from quart import Quart
from quart.typing import TestClientProtocol as Client

from findata.api import create_app
from findata.api._auth import EXTENSION_KEY, REVOCATIONS_KEY, ApiKeyVerifier, issue_key
from findata.api._revocation import RevocationListener, announce_revocation
from findata.api.testing import MemoryStore
from findata.db import MemoryKeyStore, migrate, open_key_store

PROTECTED = "/metrics"
NOW = dt.datetime(2026, 12, 3, tzinfo=dt.UTC)


def required(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


@contextlib.asynccontextmanager
async def worker(settings: Mapping[str, Any], store: MemoryKeyStore) -> AsyncIterator[Quart]:
    """An app standing for one worker process: its own verifier (and cache) over ``store``."""
    app = create_app({"env": "test", "api_keys_required": True, **settings}, store=MemoryStore())
    app.extensions[EXTENSION_KEY] = ApiKeyVerifier(store, cache_ttl=60.0)
    async with app.test_app():
        yield app


async def status(client: Client, token: str) -> int:
    response = await client.get(PROTECTED, headers={"X-API-Key": token})
    return response.status_code


async def test_given_two_workers_on_one_redis_when_a_key_is_revoked_then_both_refuse_it_at_once(
    redis_url: str,
) -> None:
    # GIVEN: two workers that cache lookups for a minute and have both just accepted alice
    alice = issue_key("alice")
    store = MemoryKeyStore([alice.record])
    async with (
        worker({"redis_url": redis_url}, store) as first,
        worker({"redis_url": redis_url}, store) as second,
    ):
        for app in (first, second):
            await asyncio.wait_for(app.extensions[REVOCATIONS_KEY].listening.wait(), 5)
        clients = [first.test_client(), second.test_client()]
        before = [await status(client, alice.token) for client in clients]
        await store.revoke_key(alice.record.key_id, NOW)
        cached = [await status(client, alice.token) for client in clients]
        # WHEN
        started = time.monotonic()
        reached = await announce_revocation(redis_url, alice.record.key_id)
        answers = [await status(client, alice.token) for client in clients]
        while answers != [401, 401] and time.monotonic() - started < 2:
            await asyncio.sleep(0.01)
            answers = [await status(client, alice.token) for client in clients]
    # THEN: without the announcement both kept accepting the revoked key from their cache
    assert before == [200, 200]
    assert cached == [200, 200]
    assert reached >= 2
    assert answers == [401, 401]


async def test_given_no_redis_when_a_key_is_revoked_then_the_cache_lifetime_bounds_its_use(
    tmp_path: Path,
) -> None:
    # GIVEN: the production wiring with a 0.2 s key cache and no Redis
    url = f"duckdb://{tmp_path}/findata.duckdb"
    await migrate(url)
    issued = issue_key("short-lived")
    keys = open_key_store(url)
    await keys.add_key(issued.record)
    settings = {"env": "test", "api_keys_required": True, "database_url": url}
    app = create_app({**settings, "api_key_cache_ttl": 0.2})
    async with app.test_app() as serving:
        client = serving.test_client()
        before = await status(client, issued.token)
        # WHEN
        await keys.revoke_key(issued.record.key_id, NOW)
        await asyncio.sleep(0.3)
        after = await status(client, issued.token)
    await keys.aclose()
    # THEN
    assert before == 200
    assert after == 401


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A redis-server of a test's own on a free port, which the test may stop and restart."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._command = [binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        self._command += ["--save", "", "--appendonly", "no", "--dir", str(directory)]
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(self._command, stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
            self._process = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        required("no redis-server binary")
    assert binary is not None
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    server.stop()


async def wait_for_redis(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                await client.ping()
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"redis-server at {url} did not start")
    finally:
        await client.aclose()


async def test_given_a_listener_when_redis_restarts_then_it_forgets_everything_and_listens_again(
    own_redis: RedisServer,
) -> None:
    # GIVEN: a listener subscribed to a Redis that then goes away
    await wait_for_redis(own_redis.url)
    forgotten: asyncio.Queue[str | None] = asyncio.Queue()
    channel = f"findata-test:{uuid.uuid4().hex}"
    listener = RevocationListener(
        own_redis.url, forgotten.put_nowait, channel=channel, retry_delay=0.05
    )
    listener.start()
    calls = [await asyncio.wait_for(forgotten.get(), 10)]
    await announce_revocation(own_redis.url, "0123456789abcdef", channel=channel)
    calls.append(await asyncio.wait_for(forgotten.get(), 10))
    own_redis.stop()
    # WHEN: Redis comes back, and a revocation is announced once the listener is back
    own_redis.start()
    calls.append(await asyncio.wait_for(forgotten.get(), 10))
    reached = await announce_revocation(own_redis.url, "fedcba9876543210", channel=channel)
    calls.append(await asyncio.wait_for(forgotten.get(), 10))
    await listener.aclose()
    # THEN: everything was forgotten on each subscription (nothing announced while it was
    # away can linger), and announcements arrive again
    assert calls == [None, "0123456789abcdef", None, "fedcba9876543210"]
    assert reached == 1
