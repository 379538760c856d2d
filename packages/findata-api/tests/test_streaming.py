"""Large multi-symbol answers are streamed: the first batch can be read before the last is sent.

The app is driven through its ASGI interface with a client that reads one body message at
a time (as a slow network would), so what the server has sent when is observable.
"""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from quart import Quart

from findata.api import create_app
from findata.api.testing import MemoryStore
from findata.core import BAR_SCHEMA
from findata.db import BarKind

SYMBOLS = ("AAA", "BBB", "CCC")
BARS_PER_SYMBOL = 12_000  # 36,000 rows: several batches in every format


def minute_bars(symbol: str, count: int) -> pa.Table:
    minutes = np.arange(count, dtype=np.int64) * 60_000_000 + 1_600_000_000_000_000
    prices = 100.0 + np.arange(count) % 50
    return pa.table(
        {
            "symbol": [symbol] * count,
            "timestamp": pa.array(minutes, pa.timestamp("us", tz="UTC")),
            "open": prices,
            "high": prices + 1,
            "low": prices - 1,
            "close": prices + 0.5,
            "volume": pa.array(np.arange(count), pa.int64()),
        },
        schema=BAR_SCHEMA,
    )


@pytest.fixture
async def app() -> Quart:
    store = MemoryStore()
    for symbol in SYMBOLS:
        await store.write_bars(
            minute_bars(symbol, BARS_PER_SYMBOL),
            source="test",
            timezone="America/New_York",
            bar_kind=BarKind.INTRADAY,
        )
    return create_app({"env": "test"}, store=store)


class SlowClient:
    """An ASGI client that takes body messages one at a time, when the test asks."""

    def __init__(self, app: Quart, path: str, query: str) -> None:
        self.start: dict[str, Any] = {}
        self._requested = False
        self._complete = asyncio.Event()
        self._messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1)
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": [(b"host", b"test")],
            "client": ("127.0.0.1", 1), "server": ("test", 80), "extensions": {},
        }  # fmt: skip
        self.task = asyncio.ensure_future(app(scope, self._receive, self._send))  # type: ignore[arg-type]

    async def _receive(self) -> dict[str, Any]:
        if self._requested:  # connected until the whole answer came, then gone (as a
            await self._complete.wait()  # browser closes a finished response's stream)
            return {"type": "http.disconnect"}
        self._requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.start = message
        else:
            await self._messages.put(message)  # waits until the test has taken the last one

    async def next_body(self) -> tuple[bytes, bool]:
        message = await self._messages.get()
        return message.get("body", b""), message.get("more_body", False)

    async def rest(self) -> bytes:
        parts = []
        more = True
        while more:
            body, more = await self.next_body()
            parts.append(body)
        self._complete.set()
        await asyncio.wait_for(self.task, timeout=30)  # a hang fails, not blocks, the suite
        return b"".join(parts)


async def test_given_a_large_arrow_answer_when_reading_slowly_then_the_first_batch_comes_first(
    app: Quart,
) -> None:
    async with app.test_app() as serving:
        # GIVEN the whole answer, read at once
        whole = await serving.test_client().get("/stocks/bars?limit=50000&symbols=*&format=arrow")
        expected = pa.ipc.open_stream(await whole.get_data()).read_all()
        # WHEN a slow client has taken only the first body message
        slow = SlowClient(app, "/stocks/bars", "limit=50000&symbols=*&format=arrow")
        first, more = await slow.next_body()
        # THEN that message alone holds the schema and a first, complete batch of the answer
        reader = pa.ipc.open_stream(first)
        batch = reader.read_next_batch()
        assert more
        assert 0 < batch.num_rows < expected.num_rows
        assert pa.Table.from_batches([batch]).equals(expected.slice(0, batch.num_rows))
        # and while the rest waits for the client, the service answers other requests
        health = await serving.test_client().get("/_healthcheck")
        assert health.status_code == 200
        # and the rest of the stream completes the answer
        table = pa.ipc.open_stream(first + await slow.rest()).read_all()
        assert table.equals(expected)
        assert slow.start["status"] == 200


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
async def test_given_a_large_answer_when_streamed_then_it_arrives_in_several_chunks_and_whole(
    app: Quart, fmt: str
) -> None:
    async with app.test_app() as serving:
        # GIVEN the single-symbol answers
        client = serving.test_client()
        singles = []
        for symbol in SYMBOLS:
            single = await client.get(f"/stocks/time-series/{symbol}?limit=50000&format={fmt}")
            singles.append(await single.get_data())
        # WHEN a slow client reads the multi-symbol answer
        slow = SlowClient(app, "/stocks/bars", f"limit=50000&symbols=*&format={fmt}")
        first, more = await slow.next_body()
        body = first + await slow.rest()
    # THEN it came in more than one message, and it is the single answers concatenated
    assert more
    assert len(first) < len(body)
    if fmt == "json":
        assert json.loads(body) == [row for single in singles for row in json.loads(single)]
    elif fmt == "csv":
        lines = [single.split(b"\r\n", 1) for single in singles]
        assert body == lines[0][0] + b"\r\n" + b"".join(rest for _, rest in lines)
    else:
        tables = [pq.read_table(io.BytesIO(single)) for single in singles]
        assert pq.read_table(io.BytesIO(body)).equals(pa.concat_tables(tables))
