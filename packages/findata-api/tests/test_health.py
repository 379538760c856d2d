"""Liveness never depends on the store; readiness follows it, down and back up."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import AsyncIterator, Callable

import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api.testing import MemoryStore


@pytest.fixture
async def outage_client(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> AsyncIterator[QuartClient]:
    """A client of an app whose (switchable) store is retried without delay."""
    async with make_app(memory_store, store_retry_after=0).test_app() as serving:
        yield serving.test_client()


async def test_given_a_running_app_when_probing_liveness_then_it_answers_200(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/_healthcheck")
    # THEN
    assert response.status_code == 200
    assert await response.get_json() == {"status": "ok"}


async def test_given_the_store_is_down_when_probing_liveness_then_it_still_answers_200(
    outage_client: QuartClient, memory_store: MemoryStore
) -> None:
    # GIVEN
    memory_store.available = False
    # WHEN
    response = await outage_client.get("/_healthcheck")
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
    outage_client: QuartClient, memory_store: MemoryStore
) -> None:
    # GIVEN
    memory_store.available = False
    # WHEN
    down = await outage_client.get("/_readiness")
    memory_store.available = True
    back = await outage_client.get("/_readiness")
    # THEN
    assert down.status_code == 503
    assert down.content_type == "application/problem+json"
    assert down.headers["Retry-After"] == "0"
    assert (await down.get_json())["status"] == 503
    assert back.status_code == 200


async def test_given_the_store_is_down_at_start_up_when_it_comes_back_then_the_app_recovers(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> None:
    # GIVEN a store that is down while serving starts
    memory_store.available = False
    app = make_app(memory_store, store_retry_after=0)
    async with app.test_app() as serving:
        client = serving.test_client()
        down = await client.get("/_readiness")
        # WHEN the store comes back
        memory_store.available = True
        back = await client.get("/_readiness")
        connected_while_serving = memory_store.connected
    # THEN the first probe failed, the next one reconnected on its own
    assert down.status_code == 503
    assert back.status_code == 200
    assert connected_while_serving is True
    assert memory_store.connected is False  # disconnected when serving stopped


async def test_given_gc_freeze_when_the_calendar_warm_up_ends_then_what_it_built_is_frozen(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> None:
    # GIVEN a server configured to freeze its start-up heap, nothing frozen yet
    gc.unfreeze()
    app = make_app(memory_store, gc_freeze=True)
    try:
        async with app.test_app():
            # WHEN the exchange calendar's warm-up thread (it imports pandas and
            # exchange_calendars once serving started, and builds the calendar) has ended
            for thread in threading.enumerate():
                if thread.name == "findata-calendar-warm-up":
                    await asyncio.to_thread(thread.join, 60)

            # THEN the heap was frozen, and no object of exchange_calendars is left for
            # the cyclic GC to walk during requests (frozen objects are not tracked)
            assert gc.get_freeze_count() > 0
            left = [
                obj
                for obj in gc.get_objects()
                if type(obj).__module__.startswith("exchange_calendars")
            ]
            assert left == []
    finally:
        # teardown: later tests build apps in this process, whose garbage must be collected
        gc.unfreeze()
