"""Large answers, streamed: Arrow IPC and Parquet batch by batch, CSV and JSON in chunks.

A page of many symbols can hold up to ``max_limit`` rows; rendered whole, its body (tens
of megabytes of JSON) would sit in memory next to the rows, and rendering it would hold
the event loop. Past :data:`STREAM_ROWS` rows the body is written one batch at a time,
each batch rendered in a worker thread, so the server keeps answering other requests
and only one batch's bytes exist at a time. Smaller answers take the cached path of
``_http`` unchanged. Every format carries exactly the bytes (JSON, CSV) or the table
(Arrow, Parquet) that :func:`findata.api._formats.render` writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Final

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from quart import Response, request

from findata.api._cache import CachedResponse
from findata.api._formats import OutputFormat, render
from findata.api._http import RowsProducer, _cache_control, _client_has, entity_tag
from findata.api._state import AppState

STREAM_ROWS: Final = 8_192
"""Rows per streamed batch, and the size from which an answer is streamed."""


async def streamed_rows_response(
    state: AppState, version: str, output: OutputFormat, produce: RowsProducer
) -> Response:
    """Like ``cached_rows_response`` (ETag, 304, Link, cache), streaming large bodies."""
    etag = entity_tag(version, output)
    headers = {"ETag": etag, "Cache-Control": _cache_control(state), "Vary": "Accept"}
    if _client_has(etag):
        return Response(b"", status=304, headers=headers)
    cached = state.caches.response(etag)
    if cached is None:
        rows, next_query = await produce()
        link = f'<{request.path}?{next_query}>; rel="next"' if next_query else None
        if link:
            headers["Link"] = link
        if rows.num_rows > STREAM_ROWS:
            return Response(
                stream_rows(rows, output), content_type=output.media_type, headers=headers
            )
        body = await asyncio.to_thread(render, rows, output)
        cached = CachedResponse(body, output.media_type, link)
        state.caches.keep_response(etag, cached)
    if cached.link:
        headers["Link"] = cached.link
    return Response(cached.body, content_type=cached.content_type, headers=headers)


async def stream_rows(rows: pa.Table, output: OutputFormat) -> AsyncIterator[bytes]:
    """The body of ``rows`` in ``output``, one chunk per batch, each rendered off the loop."""
    chunks = _chunks(rows, output)
    done = object()
    while True:
        chunk = await asyncio.to_thread(next, chunks, done)
        if chunk is done:
            return
        assert isinstance(chunk, bytes)
        yield chunk


def _chunks(rows: pa.Table, output: OutputFormat) -> Iterator[bytes]:
    batches = rows.to_batches(max_chunksize=STREAM_ROWS)
    if output is OutputFormat.JSON:
        yield b"["
        separator = b""
        for batch in batches:
            body = orjson.dumps(batch.to_pylist(), option=orjson.OPT_NAIVE_UTC)[1:-1]
            if body:
                yield separator + body
                separator = b","
        yield b"]"
        return
    if output is OutputFormat.CSV:
        yield render(rows.slice(0, 0), output)  # the header line
        for batch in batches:
            yield render(pa.Table.from_batches([batch]), output).split(b"\r\n", 1)[1]
        return
    sink = _Drain()
    if output is OutputFormat.ARROW:
        with pa.ipc.new_stream(sink, rows.schema) as arrow:
            for batch in batches:
                arrow.write_batch(batch)
                yield sink.take()
    else:
        with pq.ParquetWriter(sink, rows.schema) as parquet:
            for batch in batches:
                parquet.write_batch(batch, row_group_size=STREAM_ROWS)
                yield sink.take()
    yield sink.take()


class _Drain:
    """A write-only file whose bytes are taken away after each batch."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._position = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        chunk = bytes(data)
        self._parts.append(chunk)
        self._position += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        taken = b"".join(self._parts)
        self._parts.clear()
        return taken
