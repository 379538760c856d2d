"""The sans-I/O core both clients share: what to send, and what each answer means.

A call is a generator. It yields ``Send`` (a GET to make) or ``Wait`` (seconds to sleep
before a retry), receives the ``httpx.Response`` to each ``Send``, and returns the
decoded ``pyarrow.Table``. It follows ``Link: rel="next"`` pages, retries 429 and 503
after ``Retry-After`` a bounded number of times, and raises typed errors. ``Client``
drives it with ``httpx.Client`` and ``time.sleep``, ``AsyncClient`` with
``httpx.AsyncClient`` and ``asyncio.sleep``: the protocol is written once.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Generator, Sequence
from importlib import metadata
from typing import Any, Final

import httpx
import pyarrow as pa

from findata.client._errors import (
    RetryableError,
    UnexpectedResponseError,
    error_from_response,
)

ARROW_STREAM: Final = "application/vnd.apache.arrow.stream"
API_KEY_HEADER: Final = "X-API-Key"


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """One endpoint call: a path below the base URL and its query parameters."""

    path: str
    params: tuple[tuple[str, str], ...] = ()

    def url(self, base_url: str) -> str:
        query = urllib.parse.urlencode(self.params)
        return f"{base_url.rstrip('/')}{self.path}" + (f"?{query}" if query else "")


@dataclasses.dataclass(frozen=True, slots=True)
class Send:
    """Make a GET request to ``url`` and send the response back into the call."""

    url: str


@dataclasses.dataclass(frozen=True, slots=True)
class Wait:
    """Sleep ``seconds``, then resume the call (it retries)."""

    seconds: float


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long a call waits out 429/503 before raising.

    ``retries`` bounds the retries of one request (each page has its own); a
    ``Retry-After`` longer than ``max_wait`` is raised at once rather than slept
    through, and an answer without one waits ``backoff`` x 2^attempt seconds.
    """

    retries: int = 3
    max_wait: float = 60.0
    backoff: float = 0.5

    def __post_init__(self) -> None:
        if self.retries < 0 or self.max_wait < 0 or self.backoff < 0:
            raise ValueError("retries, max_wait and backoff must not be negative")

    def delay(self, error: Exception, attempt: int) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to raise ``error``."""
        if not isinstance(error, RetryableError) or attempt >= self.retries:
            return None
        wait = error.retry_after if error.retry_after is not None else self.backoff * 2**attempt
        return wait if wait <= self.max_wait else None


Step = Send | Wait
Call = Generator[Step, httpx.Response | None, pa.Table]
DocumentCall = Generator[Step, httpx.Response | None, dict[str, Any]]
JSON: Final = "application/json"


def request_headers(api_key: str | None) -> dict[str, str]:
    """The headers of every request: Arrow wanted, the key where the server looks for it."""
    headers = {
        "Accept": ARROW_STREAM,
        "User-Agent": f"findata-client/{metadata.version('findata-client')} "
        f"httpx/{httpx.__version__}",
    }
    if api_key:
        headers[API_KEY_HEADER] = api_key
    return headers


def fetch_table(base_url: str, query: Query, policy: RetryPolicy) -> Call:
    """Every page of ``query`` as one table, in the server's order."""
    url: str | None = query.url(base_url)
    pages: list[pa.Table] = []
    while url is not None:
        response = yield from _answer(url, policy)
        pages.append(_decode(response))
        url = _next_page(response)
    return pages[0] if len(pages) == 1 else pa.concat_tables(pages)


def fetch_document(base_url: str, query: Query, policy: RetryPolicy) -> DocumentCall:
    """The JSON object ``query`` answers with (an endpoint that answers with one object,
    not rows: ``/stocks/clock``, ``/stocks/coverage``)."""
    response = yield from _answer(query.url(base_url), policy)
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    document = response.json() if media_type == JSON and response.status_code == 200 else None
    if not isinstance(document, dict):
        raise UnexpectedResponseError(
            f"{response.url} answered {response.status_code} with {media_type or 'no type'}, "
            "not a JSON object: is the base URL a findata server?"
        )
    return document


Answer = Generator[Step, httpx.Response | None, httpx.Response]


def _answer(url: str, policy: RetryPolicy) -> Answer:
    """The first non-error answer to ``url``, waiting out 429/503 as ``policy`` allows."""
    attempt = 0
    while True:
        response = yield Send(url)
        assert response is not None, "a Send must be answered with its response"
        if response.status_code < 400:
            return response
        error = error_from_response(
            response.status_code, response.headers, response.content, str(response.url)
        )
        delay = policy.delay(error, attempt)
        if delay is None:
            raise error
        yield Wait(delay)
        attempt += 1


def _decode(response: httpx.Response) -> pa.Table:
    media_type = response.headers.get("content-type", "").partition(";")[0].strip().lower()
    if response.status_code != 200 or media_type != ARROW_STREAM:
        raise UnexpectedResponseError(
            f"{response.url} answered {response.status_code} with {media_type or 'no type'}, "
            f"not an Arrow stream: is the base URL a findata server?"
        )
    with pa.ipc.open_stream(pa.py_buffer(response.content)) as reader:
        return reader.read_all()


def _next_page(response: httpx.Response) -> str | None:
    """The ``rel="next"`` target (RFC 8288), resolved against this page's URL."""
    target = response.links.get("next", {}).get("url")
    return str(response.url.join(target)) if target else None


def combine(tables: Sequence[pa.Table]) -> pa.Table:
    """The results of several calls (one per symbol) as one table, in call order."""
    if len(tables) == 1:
        return tables[0]
    return pa.concat_tables(tables, promote_options="permissive")
