"""Each error the server can answer becomes its typed exception, with the problem's fields;
429 and 503 are retried after ``Retry-After`` (rate limits shared through Redis)."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from findata.api.testing import ServedProcess, free_port
from findata.client import (
    APIError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    FindataClientError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    TransportError,
    UnexpectedResponseError,
)

if TYPE_CHECKING:
    from conftest import Recorder, ServerFactory

pytestmark = pytest.mark.system

REDIS_URL = os.environ.get("FINDATA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RATE_PERIOD_SECONDS = 5  # one request per 5 s: a retry waits a few seconds, never flakes


def test_given_an_unknown_symbol_when_fetching_then_not_found_carries_the_problem(
    server: ServedProcess,
) -> None:
    # WHEN
    with Client(server.base_url) as client, pytest.raises(NotFoundError) as caught:
        client.bars("NOPE")
    # THEN
    error = caught.value
    assert error.status == 404
    assert error.title == "Unknown symbol"
    assert "NOPE" in str(error.detail)
    assert error.problem["symbol"] == "NOPE"
    assert error.request_id
    assert isinstance(error, APIError)
    assert isinstance(error, FindataClientError)


@pytest.mark.parametrize(
    ("call", "parameter"),
    [
        (lambda client: client.bars("WALK", frequency="Fortnight"), "frequency"),
        (lambda client: client.bars("WALK", interval=2), "interval"),
        (lambda client: client.bars("WALK", start="yesterday"), "start"),
        (lambda client: client.indicators("WALK", "sma", windw=3), "windw"),
        (lambda client: client.indicators("WALK", "nope"), "name"),
    ],
)
def test_given_a_bad_parameter_when_fetching_then_bad_request_names_it_and_what_is_allowed(
    server: ServedProcess, call: object, parameter: str
) -> None:
    # WHEN
    with Client(server.base_url) as client, pytest.raises(BadRequestError) as caught:
        call(client)  # type: ignore[operator]
    # THEN: the fields of the problem, and a message a person can act on
    error = caught.value
    assert error.status == 400
    assert error.parameter == parameter
    assert error.allowed
    assert str(error).startswith(f"400 {error.title}: {error.detail}")


def test_given_no_server_when_fetching_then_a_transport_error_says_so() -> None:
    # GIVEN: a port nobody listens on
    base_url = f"http://127.0.0.1:{free_port()}"
    # WHEN
    with Client(base_url) as client, pytest.raises(TransportError) as caught:
        client.symbols()
    # THEN
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    assert base_url in str(caught.value)


@pytest.fixture
def not_findata(tmp_path: Path) -> Iterator[str]:
    """A plain web server whose /stocks/symbols is a text file."""
    (tmp_path / "stocks").mkdir()
    (tmp_path / "stocks" / "symbols").write_text("hello")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as plain:
        thread = threading.Thread(target=plain.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{plain.server_address[1]}"
        plain.shutdown()


def test_given_a_server_that_is_not_findata_when_fetching_then_the_answer_is_refused(
    not_findata: str,
) -> None:
    # WHEN
    with Client(not_findata) as client, pytest.raises(UnexpectedResponseError) as caught:
        client.symbols()
    # THEN
    assert "not an Arrow stream" in str(caught.value)


@pytest.fixture(scope="module")
def down(serve: ServerFactory) -> ServedProcess:
    """A server whose PostgreSQL does not listen, advertising ``Retry-After: 1``."""
    return serve(
        f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", FINDATA_STORE_RETRY_AFTER="1"
    )


def test_given_the_store_is_down_when_fetching_then_503_is_retried_then_raised(
    down: ServedProcess, recorder: Recorder
) -> None:
    # GIVEN
    http = httpx.Client(event_hooks={"response": [recorder]})
    # WHEN
    client = Client(down.base_url, retries=2, http_client=http)
    with client, pytest.raises(ServiceUnavailableError) as caught:
        client.bars("WALK")
    http.close()
    # THEN: the first answer and two retries, then the typed error with the wait asked for
    assert recorder.statuses == [503, 503, 503]
    assert caught.value.status == 503
    assert caught.value.retry_after == 1.0


async def test_given_the_store_is_down_when_the_async_client_fetches_then_it_retries_too(
    down: ServedProcess, recorder: Recorder
) -> None:
    # GIVEN
    http = httpx.AsyncClient(event_hooks={"response": [recorder.on_response]})
    # WHEN
    async with AsyncClient(down.base_url, retries=1, http_client=http) as client:
        with pytest.raises(ServiceUnavailableError) as caught:
            await client.bars(["WALK", "MINUTE"])
    await http.aclose()
    # THEN: the typed error (not an exception group), after each symbol's one retry
    assert caught.value.retry_after == 1.0
    assert recorder.statuses.count(503) >= 2


@pytest.fixture(scope="module")
def keyed(
    new_duckdb_url: Callable[[], str], serve: ServerFactory
) -> tuple[ServedProcess, list[str]]:
    """A server requiring API keys, limited per key in Redis; three keys made by the CLI."""
    url = new_duckdb_url()
    keys = []
    for name in ("retry", "exhaust", "spare"):
        made = subprocess.run(
            [sys.executable, "-m", "findata.api", "keys", "create", name],
            env={**os.environ, "FINDATA_DATABASE_URL": url},
            capture_output=True,
            text=True,
            check=True,
        )
        keys.append(made.stdout.strip())
    served = serve(
        url,
        FINDATA_API_KEYS_REQUIRED="true",
        FINDATA_RATE_LIMIT=f"1/{RATE_PERIOD_SECONDS}seconds",
        FINDATA_REDIS_URL=REDIS_URL,
    )
    return served, keys


def test_given_keys_required_when_the_key_is_wrong_then_authentication_error(
    keyed: tuple[ServedProcess, list[str]],
) -> None:
    # GIVEN
    served, keys = keyed
    wrong = keys[2][:-4] + "abcd"
    # WHEN
    client = Client(served.base_url, api_key=wrong)
    with client, pytest.raises(AuthenticationError) as caught:
        client.symbols()
    # THEN
    assert caught.value.status == 401
    assert caught.value.title == "Invalid API key"


def test_given_a_rate_limit_when_calls_come_too_fast_then_429_is_waited_out(
    keyed: tuple[ServedProcess, list[str]], recorder: Recorder
) -> None:
    # GIVEN: the key's one request per period, spent at once
    served, keys = keyed
    http = httpx.Client(event_hooks={"response": [recorder]})
    with Client(served.base_url, api_key=keys[0], http_client=http) as client:
        first = client.bars("WALK")
        # WHEN
        second = client.bars("WALK")
    http.close()
    # THEN: the second call was refused, waited for Retry-After, and succeeded
    assert recorder.statuses[0] == 200
    assert 429 in recorder.statuses[1:]
    assert recorder.statuses[-1] == 200
    assert second.equals(first)


def test_given_no_retries_left_when_rate_limited_then_the_error_says_how_long_to_wait(
    keyed: tuple[ServedProcess, list[str]],
) -> None:
    # GIVEN
    served, keys = keyed
    with Client(served.base_url, api_key=keys[1], retries=0) as client:
        client.symbols()
        # WHEN
        with pytest.raises(RateLimitError) as caught:
            client.symbols()
    # THEN
    assert caught.value.status == 429
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= RATE_PERIOD_SECONDS


def test_given_a_wait_longer_than_allowed_when_rate_limited_then_it_is_raised_at_once(
    keyed: tuple[ServedProcess, list[str]], recorder: Recorder
) -> None:
    # GIVEN: a client that will not sleep more than 0.5 s
    served, keys = keyed
    http = httpx.Client(event_hooks={"response": [recorder]})
    with Client(served.base_url, api_key=keys[2], max_retry_wait=0.5, http_client=http) as client:
        client.symbols()
        # WHEN
        with pytest.raises(RateLimitError):
            client.symbols()
    http.close()
    # THEN: no retry was made
    assert recorder.statuses == [200, 429]
