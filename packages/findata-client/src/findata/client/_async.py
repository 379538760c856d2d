"""``AsyncClient``: the endpoints over one ``httpx.AsyncClient``; several symbols at once."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from findata.client._endpoints import Endpoints
from findata.client._errors import TransportError
from findata.client._frames import As, Frame, to_frame
from findata.client._protocol import Query, Step, Wait, combine, fetch_document, fetch_table

T = TypeVar("T")


class AsyncClient(Endpoints[Coroutine[Any, Any, Frame], Coroutine[Any, Any, dict[str, Any]]]):
    """The non-blocking twin of ``Client``: the same methods and arguments, awaited.

    A call for several symbols requests them concurrently; so do calls made concurrently
    (``asyncio.gather``), over at most ``max_connections`` kept-alive connections.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 3,
        max_retry_wait: float = 60.0,
        page_size: int | None = None,
        max_connections: int = 10,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            retries=retries,
            max_retry_wait=max_retry_wait,
            page_size=page_size,
        )
        self._owns_http = http_client is None
        self._http = (
            http_client
            if http_client is not None
            else httpx.AsyncClient(
                timeout=timeout,
                limits=httpx.Limits(
                    max_connections=max_connections, max_keepalive_connections=max_connections
                ),
            )
        )

    def _fetch(self, queries: Sequence[Query], as_: As) -> Coroutine[Any, Any, Frame]:
        return self._gather(queries, as_)

    async def _gather(self, queries: Sequence[Query], as_: As) -> Frame:
        calls = [fetch_table(self.base_url, query, self._policy) for query in queries]
        if len(calls) == 1:
            return to_frame(await self._run(calls[0]), as_)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._run(call)) for call in calls]
        except ExceptionGroup as failed:
            # The first failure, as the sync client would raise it; the rest were cancelled.
            raise failed.exceptions[0] from None
        return to_frame(combine([task.result() for task in tasks]), as_)

    def _fetch_document(self, query: Query) -> Coroutine[Any, Any, dict[str, Any]]:
        return self._run(fetch_document(self.base_url, query, self._policy))

    async def _run(self, call: Generator[Step, httpx.Response | None, T]) -> T:
        """Drive one call: make its requests, sleep its waits, return its result."""
        response: httpx.Response | None = None
        while True:
            try:
                step = call.send(response)
            except StopIteration as done:
                result: T = done.value
                return result
            if isinstance(step, Wait):
                await asyncio.sleep(step.seconds)
                response = None
                continue
            try:
                response = await self._http.get(step.url, headers=self._headers)
            except httpx.TransportError as error:
                raise TransportError(f"GET {step.url}: {error!r}") from error

    async def aclose(self) -> None:
        """Close the connections (unless the ``httpx.AsyncClient`` was passed in)."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()
