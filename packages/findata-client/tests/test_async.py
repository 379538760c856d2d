"""``AsyncClient``: the same answers as ``Client``, under concurrency, over a bounded pool."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from findata.api.testing import ServedProcess
from findata.client import AsyncClient, Client, NotFoundError

if TYPE_CHECKING:
    from conftest import Recorder

pytestmark = pytest.mark.system

# (method, positional arguments, keyword arguments): a mix of endpoints and shapes
CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("symbols", (), {}),
    ("bars", ("WALK",), {}),
    ("bars", ("WALK",), {"frequency": "Weekly"}),
    ("bars", ("MINUTE",), {"interval": 5, "frequency": "Minute"}),
    ("bars", (["WALK", "MINUTE"],), {"frequency": "Daily", "sort": "desc"}),
    ("indicators", ("WALK", "bbands"), {"window": 10, "stddev": 1.5}),
    ("indicators", ("MINUTE", "rsi"), {"frequency": "Minute", "interval": 15}),
    ("indicators", (["WALK", "MINUTE"], "ema"), {"window": 3, "frequency": "Daily"}),
]


async def test_given_many_concurrent_calls_when_awaited_then_each_equals_the_sync_answer(
    server: ServedProcess,
) -> None:
    # GIVEN: every call three times over, all in flight at once
    calls = CALLS * 3
    with Client(server.base_url, page_size=50) as client:
        expected = [getattr(client, name)(*args, **kwargs) for name, args, kwargs in calls]
    # WHEN
    async with AsyncClient(server.base_url, page_size=50, max_connections=4) as client:
        results = await asyncio.gather(
            *(getattr(client, name)(*args, **kwargs) for name, args, kwargs in calls)
        )
    # THEN
    assert [result.to_pylist() for result in results] == [table.to_pylist() for table in expected]


async def test_given_a_pool_of_four_when_twenty_calls_run_at_once_then_four_connections_serve(
    server: ServedProcess, recorder: Recorder
) -> None:
    # GIVEN
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=4), event_hooks={"response": [recorder.on_response]}
    )
    # WHEN
    async with AsyncClient(server.base_url, http_client=http) as client:
        tables = await asyncio.gather(*(client.bars("WALK") for _ in range(20)))
    await http.aclose()
    # THEN: answered in parallel over several connections, never more than the pool's
    assert len(recorder.seen) == 20
    assert 1 < len(recorder.ports) <= 4
    assert all(table.equals(tables[0]) for table in tables)


async def test_given_one_bad_symbol_among_several_when_awaited_then_its_error_is_raised(
    server: ServedProcess,
) -> None:
    # WHEN
    async with AsyncClient(server.base_url) as client:
        with pytest.raises(NotFoundError) as caught:
            await client.bars(["WALK", "NOPE", "MINUTE"])
    # THEN: the typed error itself, as the sync client raises it
    assert caught.value.problem["symbol"] == "NOPE"
    assert caught.value.problem["symbols"] == ["NOPE"]
