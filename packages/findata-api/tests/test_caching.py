"""HTTP caching: ETag per data version, 304 on If-None-Match, Cache-Control, fresh after writes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api.testing import MemoryStore
from findata.db import BarKind

URL = "/stocks/time-series/ACME?frequency=Annual"


async def test_given_a_response_when_revalidating_with_its_etag_then_304_without_a_body(
    client: QuartClient,
) -> None:
    # GIVEN
    first = await client.get(URL)
    etag = first.headers["ETag"]
    # WHEN
    again = await client.get(URL, headers={"If-None-Match": etag})
    # THEN
    assert again.status_code == 304
    assert await again.get_data() == b""
    assert again.headers["ETag"] == etag


async def test_given_a_response_when_reading_headers_then_it_is_cacheable_and_varies_by_accept(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(URL)
    # THEN
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["Vary"] == "Accept"


async def test_given_different_queries_or_formats_when_requesting_then_etags_differ(
    client: QuartClient,
) -> None:
    # WHEN
    tags = {
        (await client.get(url)).headers["ETag"]
        for url in (URL, URL + "&sort=desc", URL + "&format=csv", "/stocks/time-series/WALK")
    }
    # THEN
    assert len(tags) == 4


async def test_given_an_unrelated_etag_when_revalidating_then_the_full_response_comes(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get(URL, headers={"If-None-Match": 'W/"something-else"'})
    # THEN
    assert response.status_code == 200


@pytest.fixture
async def writable_client(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> AsyncIterator[QuartClient]:
    async with make_app(memory_store).test_app() as serving:
        yield serving.test_client()


async def test_given_new_bars_are_written_when_revalidating_then_new_data_and_a_new_etag(
    writable_client: QuartClient, memory_store: MemoryStore
) -> None:
    # GIVEN a cached answer
    import pyarrow as pa

    first = await writable_client.get(URL)
    etag = first.headers["ETag"]
    new_bar = (await memory_store.read_bars(["ACME"])).slice(5, 1)
    new_bar = new_bar.set_column(
        new_bar.schema.get_field_index("volume"), "volume", pa.array([10_000], pa.int64())
    )
    # WHEN the stored 2022-01-03 bar is replaced
    await memory_store.write_bars(new_bar, source="test", bar_kind=BarKind.DAILY)
    after = await writable_client.get(URL, headers={"If-None-Match": etag})
    # THEN
    assert after.status_code == 200
    assert after.headers["ETag"] != etag
    assert (await after.get_json())[-1]["volume"] == 10_000


async def test_given_concurrent_identical_cold_requests_when_served_then_bars_are_read_once(
    memory_store: MemoryStore, make_app: Callable[..., Quart]
) -> None:
    # GIVEN a store that counts reads
    import asyncio

    reads = 0
    read_bars = memory_store.read_bars

    async def counting_read(*args: object, **kwargs: object) -> object:
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)  # let the other requests arrive while this one reads
        return await read_bars(*args, **kwargs)  # type: ignore[arg-type]

    memory_store.read_bars = counting_read  # type: ignore[method-assign]
    async with make_app(memory_store).test_app() as serving:
        client = serving.test_client()
        # WHEN 24 identical requests arrive together, plus 4 others needing the same periods
        responses = await asyncio.gather(
            *[client.get(URL) for _ in range(24)],
            *[client.get(f"{URL}&limit={limit}") for limit in (1, 2, 3, 4)],
        )
    # THEN every request was answered from one read of the symbol's bars
    assert {response.status_code for response in responses} == {200}
    assert reads == 1
