"""Conditional, cached responses: ETag from the data version, 304, Cache-Control, Link.

The ETag hashes the data version with everything that shapes the body (path, sorted
query, format), so it is known before any work is done: a revalidation costs no
query, and the same ETag is the key of the rendered-response cache.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Final

import pyarrow as pa
from quart import Response, request

from findata.api._cache import CachedResponse
from findata.api._formats import OutputFormat, render
from findata.api._state import AppState

# Computes the rows of a response and, when there are more, the query of the next page.
RowsProducer = Callable[[], Awaitable[tuple[pa.Table, str | None]]]
# Renders a response body and, when there is more, the query of the next page.
BodyProducer = Callable[[], Awaitable[tuple[bytes, str | None]]]

_VARY: Final = "Accept"


def entity_tag(version: str, output: OutputFormat) -> str:
    """A weak ETag for this request's representation at ``version``."""
    query = "&".join(sorted(f"{name}={value}" for name, value in request.args.items(multi=True)))
    digest = hashlib.blake2b(
        f"{version}\x00{request.path}\x00{query}\x00{output.value}".encode(
            "utf-8", "surrogatepass"
        ),
        digest_size=12,
    ).hexdigest()
    return f'W/"{digest}"'


async def cached_rows_response(
    state: AppState, version: str, output: OutputFormat, produce: RowsProducer
) -> Response:
    """Answer 304 if the client's copy is current, else the (cached) rendered rows."""

    async def build() -> tuple[bytes, str | None]:
        rows, next_query = await produce()
        return render(rows, output), next_query

    return await cached_response(state, version, output, build)


async def cached_response(
    state: AppState, version: str, output: OutputFormat, produce: BodyProducer
) -> Response:
    """Answer 304 if the client's copy is current, else the (cached) body ``produce``
    renders in ``output`` (an endpoint that answers with something other than rows)."""
    etag = entity_tag(version, output)
    headers = {"ETag": etag, "Cache-Control": _cache_control(state), "Vary": _VARY}
    if _client_has(etag):
        return Response(b"", status=304, headers=headers)
    cached = state.caches.response(etag)
    if cached is None:
        path = request.path

        async def build() -> CachedResponse:
            body, next_query = await produce()
            link = f'<{path}?{next_query}>; rel="next"' if next_query else None
            built = CachedResponse(body, output.media_type, link)
            state.caches.keep_response(etag, built)
            return built

        # Identical concurrent requests (same ETag) are computed once.
        cached = await state.caches.response_flights.run(etag, build)
    if cached.link:
        headers["Link"] = cached.link
    return Response(cached.body, content_type=cached.content_type, headers=headers)


def _client_has(etag: str) -> bool:
    wanted = request.headers.get("If-None-Match")
    if not wanted:
        return False
    if wanted.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): W/ prefixes do not matter.
    ours = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == ours for tag in wanted.split(","))


def _cache_control(state: AppState) -> str:
    # With API keys, responses are per client: shared caches must not keep them.
    scope = "private" if state.settings.api_keys_required else "public"
    return f"{scope}, max-age={state.settings.cache_max_age}"
