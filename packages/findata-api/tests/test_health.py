"""Liveness never depends on the store; readiness follows it, down and back up."""

from __future__ import annotations

from quart.testing import QuartClient

from findata.api.testing import MemoryStore


async def test_given_a_running_app_when_probing_liveness_then_it_answers_200(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/_healthcheck")
    # THEN
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_given_the_store_is_down_when_probing_liveness_then_it_still_answers_200(
    client: QuartClient, memory_store: MemoryStore
) -> None:
    # GIVEN
    memory_store.available = False
    # WHEN
    response = await client.get("/_healthcheck")
    # THEN
    assert response.status_code == 200


async def test_given_the_store_answers_when_probing_readiness_then_it_is_ready(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/_readiness")
    # THEN
    assert response.status_code == 200
    assert (await response.get_json())["status"] == "ready"


async def test_given_the_store_goes_down_and_back_when_probing_readiness_then_503_then_200(
    client: QuartClient, memory_store: MemoryStore
) -> None:
    # GIVEN
    memory_store.available = False
    # WHEN
    down = await client.get("/_readiness")
    memory_store.available = True
    back = await client.get("/_readiness")
    # THEN
    assert down.status_code == 503
    assert down.content_type == "application/problem+json"
    assert down.headers["Retry-After"] == "1"
    assert (await down.get_json())["status"] == 503
    assert back.status_code == 200


async def test_given_the_store_is_down_at_start_up_when_it_comes_back_then_the_app_recovers(
    memory_store: MemoryStore,
) -> None:
    # GIVEN a store that is down while serving starts
    from findata.api import create_app

    memory_store.available = False
    app = create_app({"env": "test", "store_retry_after": 0}, store=memory_store)
    async with app.test_app() as serving:
        client = serving.test_client()
        down = await client.get("/_readiness")
        # WHEN the store comes back
        memory_store.available = True
        back = await client.get("/_readiness")
    # THEN the first probe failed, the next one reconnected on its own
    assert down.status_code == 503
    assert back.status_code == 200
    assert memory_store.connected is False  # disconnected when serving stopped
