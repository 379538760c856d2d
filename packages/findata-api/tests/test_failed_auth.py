"""The limit on wrong API keys per client address, on a real app (memory and Redis)."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest
import redis.asyncio
import redis.exceptions
from quart import Quart
from quart.typing import TestClientProtocol as Client

from findata.api import PROBLEM_JSON, create_app
from findata.api._auth import EXTENSION_KEY, ApiKeyVerifier, IssuedKey, issue_key
from findata.api.testing import MemoryStore
from findata.core import InvalidParameterError
from findata.db import ApiKeyRecord, MemoryKeyStore

PROTECTED = "/metrics"


class CountingKeyStore(MemoryKeyStore):
    """A memory store that counts lookups, to see which requests reach the store."""

    def __init__(self, records: list[ApiKeyRecord]) -> None:
        super().__init__(records)
        self.lookups = 0

    async def get_key(self, key_id: str) -> ApiKeyRecord | None:
        self.lookups += 1
        return await super().get_key(key_id)


def random_address() -> str:
    """A client address of this test's own (limits shared through Redis are per address)."""
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


async def from_address(
    client: Client, address: str, token: str | None = None, path: str = PROTECTED
) -> Any:
    headers = {"X-API-Key": token} if token is not None else {}
    return await client.get(path, headers=headers, scope_base={"client": (address, 40000)})


async def serve(overrides: Mapping[str, Any], store: MemoryKeyStore) -> AsyncIterator[Client]:
    settings = {"env": "test", "api_keys_required": True, **overrides}
    app: Quart = create_app(settings, store=MemoryStore())
    app.extensions[EXTENSION_KEY] = ApiKeyVerifier(store)
    async with app.test_app() as serving:
        yield serving.test_client()


@pytest.fixture
def alice() -> IssuedKey:
    return issue_key("alice")


@pytest.fixture
def key_store(alice: IssuedKey) -> CountingKeyStore:
    return CountingKeyStore([alice.record])


@pytest.fixture
async def client(key_store: CountingKeyStore) -> AsyncIterator[Client]:
    async for serving in serve({"failed_auth_limit": "3/minute"}, key_store):
        yield serving


async def test_given_a_limit_when_an_address_sends_wrong_keys_then_429_once_they_are_used_up(
    client: Client,
) -> None:
    # GIVEN
    address = random_address()
    # WHEN
    answers = [await from_address(client, address, issue_key("guess").token) for _ in range(5)]
    # THEN
    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429]
    refused = answers[-1]
    assert refused.content_type == PROBLEM_JSON
    assert int(refused.headers["Retry-After"]) == 20  # one failure's worth of 3/minute
    body = await refused.get_json()
    assert body["status"] == 429
    assert "invalid API keys" in body["detail"]


async def test_given_an_address_out_of_attempts_when_it_sends_more_keys_then_none_is_looked_up(
    client: Client, key_store: CountingKeyStore, alice: IssuedKey
) -> None:
    # GIVEN
    address = random_address()
    for _ in range(3):
        await from_address(client, address, issue_key("guess").token)
    lookups = key_store.lookups
    # WHEN: more made-up keys, and even a valid one
    guesses = [await from_address(client, address, issue_key("guess").token) for _ in range(20)]
    valid = await from_address(client, address, alice.token)
    # THEN
    assert lookups == 3
    assert key_store.lookups == lookups
    assert {r.status_code for r in guesses} == {429}
    assert valid.status_code == 429


async def test_given_an_address_out_of_attempts_when_another_address_asks_then_it_is_served(
    client: Client, alice: IssuedKey
) -> None:
    # GIVEN
    blocked, other = random_address(), random_address()
    for _ in range(4):
        await from_address(client, blocked, issue_key("guess").token)
    # WHEN
    valid = await from_address(client, other, alice.token)
    wrong = await from_address(client, other, issue_key("guess").token)
    # THEN
    assert valid.status_code == 200
    assert wrong.status_code == 401


async def test_given_a_valid_key_when_it_is_sent_often_then_it_never_counts_as_a_failure(
    client: Client, alice: IssuedKey
) -> None:
    # GIVEN
    address = random_address()
    # WHEN: ten good requests, then three wrong keys
    good = [await from_address(client, address, alice.token) for _ in range(10)]
    wrong = [await from_address(client, address, issue_key("typo").token) for _ in range(3)]
    # THEN
    assert {r.status_code for r in good} == {200}
    assert [r.status_code for r in wrong] == [401, 401, 401]


async def test_given_an_address_out_of_attempts_when_it_probes_or_sends_no_key_then_as_usual(
    client: Client,
) -> None:
    # GIVEN
    address = random_address()
    for _ in range(4):
        await from_address(client, address, issue_key("guess").token)
    # WHEN
    probe = await from_address(client, address, path="/_healthcheck")
    keyless = await from_address(client, address)
    # THEN
    assert probe.status_code == 200
    assert keyless.status_code == 401


async def test_given_no_limit_when_an_address_sends_many_wrong_keys_then_each_gets_401(
    key_store: CountingKeyStore,
) -> None:
    # GIVEN
    address = random_address()
    async for client in serve({"failed_auth_limit": ""}, key_store):
        # WHEN
        answers = [await from_address(client, address, issue_key("g").token) for _ in range(30)]
        # THEN
        assert {r.status_code for r in answers} == {401}


def test_given_an_unreadable_limit_when_building_the_app_then_the_error_names_the_setting() -> None:
    # WHEN
    with pytest.raises(InvalidParameterError) as caught:
        create_app(
            {"env": "test", "api_keys_required": True, "failed_auth_limit": "lots"},
            store=MemoryStore(),
        )
    # THEN
    assert caught.value.parameter == "failed_auth_limit"


async def test_given_two_workers_on_one_redis_when_an_address_alternates_then_one_limit_holds(
    redis_url: str, key_store: CountingKeyStore
) -> None:
    # GIVEN: two apps standing for two workers, sharing the test Redis
    address = random_address()
    settings = {"failed_auth_limit": "3/minute", "redis_url": redis_url}
    workers = [serve(settings, key_store), serve(settings, key_store)]
    clients = [await anext(worker) for worker in workers]
    # WHEN
    answers = [
        await from_address(clients[i % 2], address, issue_key("guess").token) for i in range(6)
    ]
    # THEN
    assert [r.status_code for r in answers] == [401, 401, 401, 429, 429, 429]
    assert key_store.lookups == 3
    # TEARDOWN
    for worker in workers:
        await worker.aclose()
    cleanup = redis.asyncio.Redis.from_url(redis_url)
    await cleanup.delete(f"findata:authfail:{address}")
    await cleanup.aclose()


async def test_given_an_unreachable_redis_when_wrong_keys_come_then_they_get_401_not_an_error(
    key_store: CountingKeyStore, alice: IssuedKey
) -> None:
    # GIVEN: the limit's Redis does not listen (port 9 is the discard port)
    settings = {"failed_auth_limit": "1/minute", "redis_url": "redis://127.0.0.1:9/0"}
    async for client in serve(settings, key_store):
        # WHEN
        wrong = [await client.get(PROTECTED, headers={"X-API-Key": "fd_x"}) for _ in range(3)]
        valid = await client.get(PROTECTED, headers={"X-API-Key": alice.token})
        # THEN: the limit fails open, as the request rate limit does
        assert [r.status_code for r in wrong] == [401, 401, 401]
        assert valid.status_code == 200
