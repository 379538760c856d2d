"""``Client``: the endpoints over one ``httpx.Client`` (a pool of kept-alive connections)."""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx

from findata.client._endpoints import Endpoints
from findata.client._errors import TransportError
from findata.client._frames import As, Frame, to_frame
from findata.client._protocol import Query, Step, Wait, combine, fetch_document, fetch_table

T = TypeVar("T")


class Client(Endpoints[Frame, dict[str, Any]]):
    """A blocking client of a findata server; use it as a context manager or ``close()`` it.

    ``base_url`` defaults to ``$FINDATA_URL`` (else http://127.0.0.1:5000), ``api_key`` to
    ``$FINDATA_API_KEY``. Every method returns a ``pyarrow.Table`` (or, with ``as_``, a
    pandas/polars frame) holding every page of the answer. 429 and 503 answers are retried
    after their ``Retry-After`` up to ``retries`` times per request; ``page_size`` rows per
    request (default: the server's). ``http_client`` replaces the ``httpx.Client`` made
    here (proxies, certificates, event hooks); it is not closed by ``close()``.
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
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            base_url,
            api_key,
            retries=retries,
            max_retry_wait=max_retry_wait,
            page_size=page_size,
        )
        self._owns_http = http_client is None
        self._http = http_client if http_client is not None else httpx.Client(timeout=timeout)

    def _fetch(self, queries: Sequence[Query], as_: As) -> Frame:
        tables = [self._run(fetch_table(self.base_url, query, self._policy)) for query in queries]
        return to_frame(combine(tables), as_)

    def _fetch_document(self, query: Query) -> dict[str, Any]:
        return self._run(fetch_document(self.base_url, query, self._policy))

    def _run(self, call: Generator[Step, httpx.Response | None, T]) -> T:
        """Drive one call: make its requests, sleep its waits, return its result."""
        response: httpx.Response | None = None
        while True:
            try:
                step = call.send(response)
            except StopIteration as done:
                result: T = done.value
                return result
            if isinstance(step, Wait):
                time.sleep(step.seconds)
                response = None
                continue
            try:
                response = self._http.get(step.url, headers=self._headers)
            except httpx.TransportError as error:
                raise TransportError(f"GET {step.url}: {error!r}") from error

    def close(self) -> None:
        """Close the connections (unless the ``httpx.Client`` was passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
