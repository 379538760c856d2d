"""Hostile input against a live server on both stores: every request gets a 4xx or a
correct 200, the process stays up, and the stored bars are byte-for-byte unchanged."""

from __future__ import annotations

import contextlib
import socket
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

SERIES: Final = "/stocks/time-series/"
INJECTIONS: Final = (
    "DEMO-ALPHA' OR '1'='1",
    "DEMO-ALPHA'; DROP TABLE bars; --",
    'x"; DELETE FROM bars WHERE "1"="1',
    "1 UNION SELECT * FROM api_keys --",
    "'); TRUNCATE symbols; --",
)
TRAVERSALS: Final = (
    "/stocks/time-series/..%2F..%2F..%2Fetc%2Fpasswd",
    "/stocks/time-series/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/stocks/../../../../etc/passwd",
    "/stocks/time-series/....//....//etc/passwd",
    "/stocks/time-series/DEMO-ALPHA%00.json",
    "/openapi.json/../../../../proc/self/environ",
)
HUGE_NUMBERS: Final = (
    "interval=99999999999999999999999999999999&frequency=Daily",
    "interval=-9223372036854775809&frequency=Daily",
    "interval=1e400&frequency=Daily",
    "interval=NaN&frequency=Daily",
    "limit=18446744073709551617",
    "limit=-1",
    "start=99999999999-01-01",
)
ODD_TEXT: Final = (
    "ДЕМО",
    "DEMO‮ALPHA",  # right-to-left override
    "🙂" * 50,
    "A" * 10_000,
)


def quoted(symbol: str) -> str:
    return SERIES + urllib.parse.quote(symbol, safe="")


def raw_get(server: Server, target: bytes) -> int | None:
    """Send a request line with arbitrary bytes; the status, or None if closed unanswered.

    A server may answer an oversized request before reading all of it and close, so a
    failed send is not a failure: the answer is read afterwards.
    """
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as connection:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.sendall(
                b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
            )
        reply = b""
        try:
            while chunk := connection.recv(65536):
                reply += chunk
                if b"\r\n" in reply:
                    break
        except ConnectionResetError:
            pass
    if not reply:
        return None
    return int(reply.split(b" ", 2)[1])


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def target(request: pytest.FixtureRequest, serve: ServerFactory) -> Iterator[tuple[Server, str]]:
    database_url: str = request.getfixturevalue(f"demo_{request.param}_url")
    server = serve(database_url)
    yield server, database_url
    assert server.stop() == 0, server.output()


def test_given_hostile_requests_then_each_gets_4xx_or_a_correct_200_and_no_bar_changes(
    target: tuple[Server, str], checksum: Callable[[str], str]
) -> None:
    # GIVEN
    server, database_url = target
    before = checksum(database_url)
    unbounded = server.get(SERIES + "DEMO-ALPHA", timeout=60)
    assert unbounded.status == 200
    paths = [quoted(text) for text in INJECTIONS + ODD_TEXT]
    paths += [f"{SERIES}DEMO-ALPHA?start={urllib.parse.quote(t)}" for t in INJECTIONS]
    paths += [f"/stocks/indicators/DEMO-ALPHA?name={urllib.parse.quote(t)}" for t in INJECTIONS]
    paths += list(TRAVERSALS)
    paths += [f"{SERIES}DEMO-ALPHA?{query}" for query in HUGE_NUMBERS]
    paths += [f"{SERIES}DEMO-ALPHA?frequency=%C3%28", f"{SERIES}%FF%FE%FD"]
    ten_thousand = f"{SERIES}DEMO-ALPHA?" + "&".join(f"p{i}={i}" for i in range(10_000))
    paths.append(ten_thousand)
    centuries = f"{SERIES}DEMO-ALPHA?start=1500-01-01&end=2499-12-31"
    # WHEN
    answers: dict[str, int | None] = {}
    for path in paths:
        try:
            answers[path[:120]] = server.get(path, timeout=60).status
        except (ConnectionResetError, BrokenPipeError):
            answers[path[:120]] = None  # the server hung up on an oversized request
    raw = {
        repr(t[:60]): raw_get(server, t)
        for t in (
            b"/stocks/time-series/\xff\xfe",
            b"/stocks/time-series/DEMO-ALPHA?x=\xc3\x28",
            b"/stocks/time-series/DEMO-ALPHA?q=" + b"x" * 10_000_000,  # a 10 MB query string
        )
    }
    wide_range = server.get(centuries, timeout=60)
    many_parameters = server.get(ten_thousand, timeout=60)
    after = checksum(database_url)
    # THEN
    refused = {
        path: status
        for path, status in (answers | raw).items()
        if status is None or not 400 <= status < 500
    }
    assert refused == {}
    assert wide_range.status == 200
    # 10,000 parameters reach the app (not a bare 431 from the server) and are named.
    assert many_parameters.status == 400
    assert many_parameters.headers["content-type"] == "application/problem+json"
    assert b"'p0'" in many_parameters.body
    assert wide_range.body == unbounded.body
    assert server.process.poll() is None, server.output()
    assert after == before
