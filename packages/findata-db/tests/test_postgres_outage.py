"""PostgreSQL outages: health fails promptly while the server is gone, the pool recovers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pyarrow as pa
import pytest

from findata.db import PostgresStore, StoreUnavailableError

pytestmark = pytest.mark.postgres


class TcpProxy:
    """A TCP relay to the real server that a test can cut and restore, like an outage."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        await self._server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(ConnectionError, OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


@pytest.fixture
async def proxied_store(postgres_url: str) -> AsyncIterator[tuple[PostgresStore, TcpProxy]]:
    parts = urlsplit(postgres_url)
    proxy = TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    url = postgres_url.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{proxy.port}")
    store = PostgresStore(url, health_timeout=1.0, connect_timeout=1.0)
    await store.connect()
    yield store, proxy
    with contextlib.suppress(Exception):
        await store.disconnect()
    with contextlib.suppress(Exception):
        await proxy.cut()


async def test_health_fails_promptly_during_an_outage_and_recovers_after_it(
    proxied_store: tuple[PostgresStore, TcpProxy],
) -> None:
    # GIVEN a healthy store reached through a relay
    store, proxy = proxied_store
    await store.health()

    # WHEN the relay is cut (the server "goes away")
    await proxy.cut()
    async with asyncio.timeout(10):  # "promptly": never hang on a dead server
        with pytest.raises(StoreUnavailableError):
            await store.health()

    # AND it comes back on the same port
    await proxy.start()
    recovered = False
    for _ in range(20):
        try:
            await store.health()
        except StoreUnavailableError:
            await asyncio.sleep(0.1)
        else:
            recovered = True
            break

    # THEN health failed instead of hanging, and the same pool answers again
    assert recovered
    assert isinstance(await store.data_version(), str)


async def test_asyncpg_client_state_errors_of_a_dying_server_are_outages(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a store whose connection breaks the way a shutting-down server makes it
    import asyncpg

    store = PostgresStore(postgres_url)
    await store.connect()

    async def broken(_raw: object) -> None:
        raise asyncpg.InternalClientError(
            "cannot switch to state 15; another operation is in progress"
        )

    monkeypatch.setattr(store, "_bump_version", broken)

    # WHEN a write hits it / THEN the API-facing error is StoreUnavailableError (503)
    try:
        with pytest.raises(StoreUnavailableError, match="cannot switch to state"):
            await store.write_bars(_one_bar(), source="test")
    finally:
        await store.disconnect()


def _one_bar() -> pa.Table:
    return pa.table(
        {
            "symbol": ["OUTAGE"],
            "timestamp": pa.array(
                [dt.datetime(2024, 1, 2, 14, 30, tzinfo=dt.UTC)], pa.timestamp("us", tz="UTC")
            ),
            "open": [1.0],
            "high": [2.0],
            "low": [0.5],
            "close": [1.5],
            "volume": [1],
        }
    )
