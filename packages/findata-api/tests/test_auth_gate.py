"""The request gate: API keys, per-client rate limits and CORS on a real app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol as Client

from findata.api import PROBLEM_JSON, create_app
from findata.api._auth import EXTENSION_KEY, ApiKeyVerifier, IssuedKey, issue_key
from findata.api._gate import PROBE_PATHS
from findata.api.testing import MemoryStore
from findata.db import MemoryKeyStore, migrate, open_key_store

# /metrics stands for any data route: it is neither a probe nor a preflight.
PROTECTED = "/metrics"


@pytest.fixture
def alice() -> IssuedKey:
    return issue_key("alice")


@pytest.fixture
def bob() -> IssuedKey:
    return issue_key("bob")


async def serve(
    overrides: Mapping[str, Any], keys: list[IssuedKey] | None = None
) -> AsyncIterator[Client]:
    app: Quart = create_app({"env": "test", **overrides}, store=MemoryStore())
    if keys is not None:
        app.extensions[EXTENSION_KEY] = ApiKeyVerifier(MemoryKeyStore([key.record for key in keys]))
    async with app.test_app() as serving:
        yield serving.test_client()


@pytest.fixture
async def keyed_client(alice: IssuedKey, bob: IssuedKey) -> AsyncIterator[Client]:
    async for client in serve({"api_keys_required": True}, [alice, bob]):
        yield client


@pytest.fixture
async def limited_client(alice: IssuedKey, bob: IssuedKey) -> AsyncIterator[Client]:
    async for client in serve({"api_keys_required": True, "rate_limit": "3/minute"}, [alice, bob]):
        yield client


async def test_given_keys_required_when_no_key_is_sent_then_401_problem_json(
    keyed_client: Client,
) -> None:
    # WHEN
    response = await keyed_client.get(PROTECTED)
    # THEN
    assert response.status_code == 401
    assert response.content_type == PROBLEM_JSON
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.get_json()
    assert body["status"] == 401
    assert "X-API-Key" in body["detail"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer fd_0123456789abcdef_" + "x" * 43},
        {"X-API-Key": "not-a-key"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
async def test_given_keys_required_when_a_wrong_key_is_sent_then_401(
    keyed_client: Client, headers: dict[str, str]
) -> None:
    # WHEN
    response = await keyed_client.get(PROTECTED, headers=headers)
    # THEN
    assert response.status_code == 401
    assert response.content_type == PROBLEM_JSON


@pytest.mark.parametrize("header", ["Authorization", "X-API-Key"])
async def test_given_keys_required_when_a_valid_key_is_sent_either_way_then_it_passes(
    keyed_client: Client, alice: IssuedKey, header: str
) -> None:
    # GIVEN
    value = f"Bearer {alice.token}" if header == "Authorization" else alice.token
    # WHEN
    response = await keyed_client.get(PROTECTED, headers={header: value})
    # THEN
    assert response.status_code == 200


async def test_given_keys_required_when_a_revoked_key_is_sent_then_401(
    alice: IssuedKey,
) -> None:
    # GIVEN: alice's key was revoked before the server started
    store = MemoryKeyStore([alice.record])
    await store.revoke_key(alice.record.key_id, alice.record.created_at)
    app = create_app({"env": "test", "api_keys_required": True}, store=MemoryStore())
    app.extensions[EXTENSION_KEY] = ApiKeyVerifier(store)
    async with app.test_app() as serving:
        # WHEN
        response = await serving.test_client().get(PROTECTED, headers={"X-API-Key": alice.token})
    # THEN
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_given_the_app_then_the_gates_exempt_exactly_the_health_probe_routes() -> None:
    # GIVEN
    app = create_app({"env": "test"}, store=MemoryStore())
    # WHEN
    probes = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("health.")}
    # THEN
    assert probes == PROBE_PATHS


@pytest.mark.parametrize("probe", sorted(PROBE_PATHS))
async def test_given_keys_required_when_probes_come_without_a_key_then_they_answer(
    keyed_client: Client, probe: str
) -> None:
    # WHEN
    response = await keyed_client.get(probe)
    # THEN
    assert response.status_code == 200


async def test_given_keys_off_when_no_key_is_sent_then_requests_pass() -> None:
    # GIVEN: the test configuration, like the local quick start, has keys off
    async for client in serve({}):
        # WHEN
        response = await client.get(PROTECTED)
        # THEN
        assert response.status_code == 200


async def test_given_a_rate_limit_when_a_client_exceeds_it_then_429_with_retry_after(
    limited_client: Client, alice: IssuedKey
) -> None:
    # GIVEN
    headers = {"X-API-Key": alice.token}
    # WHEN
    answers = [await limited_client.get(PROTECTED, headers=headers) for _ in range(4)]
    # THEN
    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.content_type == PROBLEM_JSON
    assert refused.headers["RateLimit-Limit"] == "3"
    assert int(refused.headers["Retry-After"]) == 20  # one request's worth of 3/minute
    assert int(refused.headers["RateLimit-Reset"]) > 0


async def test_given_one_client_is_throttled_when_another_asks_then_it_is_served(
    limited_client: Client, alice: IssuedKey, bob: IssuedKey
) -> None:
    # GIVEN: alice has used her quota
    for _ in range(4):
        await limited_client.get(PROTECTED, headers={"X-API-Key": alice.token})
    # WHEN
    response = await limited_client.get(PROTECTED, headers={"X-API-Key": bob.token})
    # THEN
    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"


async def test_given_a_throttled_client_when_it_probes_health_then_probes_still_answer(
    limited_client: Client, alice: IssuedKey
) -> None:
    # GIVEN
    for _ in range(4):
        await limited_client.get(PROTECTED, headers={"X-API-Key": alice.token})
    # WHEN
    response = await limited_client.get("/_healthcheck", headers={"X-API-Key": alice.token})
    # THEN
    assert response.status_code == 200


async def test_given_a_limit_and_an_unreachable_redis_when_requests_come_then_they_pass() -> None:
    # GIVEN: the limiter's Redis does not listen (port 9 is the discard port)
    async for client in serve({"rate_limit": "1/minute", "redis_url": "redis://127.0.0.1:9/0"}):
        # WHEN
        answers = [await client.get(PROTECTED) for _ in range(3)]
        # THEN: the limiter fails open instead of taking the service down
        assert [r.status_code for r in answers] == [200, 200, 200]


async def test_given_no_cors_origins_when_a_browser_asks_then_no_cors_header_is_sent() -> None:
    async for client in serve({}):
        # WHEN
        response = await client.get(PROTECTED, headers={"Origin": "https://evil.example"})
        # THEN
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_given_an_allowed_origin_when_a_browser_preflights_then_it_may_send_a_key(
    alice: IssuedKey,
) -> None:
    async for client in serve(
        {"api_keys_required": True, "cors_origins": ["https://app.example"]}, [alice]
    ):
        # WHEN: a preflight carries no key, by the CORS rules
        preflight = await client.options(
            PROTECTED,
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "x-api-key",
            },
        )
        other = await client.get(
            PROTECTED, headers={"Origin": "https://evil.example", "X-API-Key": alice.token}
        )
        # THEN
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example"
        assert "x-api-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
        assert "Access-Control-Allow-Origin" not in other.headers


async def test_given_a_migrated_duckdb_and_a_stored_key_when_serving_then_the_key_is_honoured(
    tmp_path: Path,
) -> None:
    # GIVEN: the production wiring: keys read from the bars database itself
    url = f"duckdb://{tmp_path}/findata.duckdb"
    await migrate(url)
    issued = issue_key("integration")
    await open_key_store(url).add_key(issued.record)
    app = create_app({"env": "test", "api_keys_required": True, "database_url": url})
    async with app.test_app() as serving:
        client = serving.test_client()
        # WHEN
        with_key = await client.get(PROTECTED, headers={"X-API-Key": issued.token})
        without = await client.get(PROTECTED)
    # THEN
    assert with_key.status_code == 200
    assert without.status_code == 401


async def test_given_two_workers_on_one_redis_when_a_client_alternates_then_one_limit_holds(
    alice: IssuedKey, redis_url: str
) -> None:
    # GIVEN: two apps standing for two workers, sharing the test Redis (alice's key id is
    # fresh, so her Redis key is this test's own)
    settings = {"api_keys_required": True, "rate_limit": "3/minute", "redis_url": redis_url}
    workers = [serve(settings, [alice]), serve(settings, [alice])]
    clients = [await anext(worker) for worker in workers]
    # WHEN
    answers = [
        await clients[i % 2].get(PROTECTED, headers={"X-API-Key": alice.token}) for i in range(5)
    ]
    # THEN
    assert [r.status_code for r in answers] == [200, 200, 200, 429, 429]
    # TEARDOWN
    for worker in workers:
        await worker.aclose()
