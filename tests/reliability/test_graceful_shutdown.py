"""Graceful shutdown: SIGTERM under load lets in-flight requests finish, refuses new
connections, and the server exits 0 within its configured grace period."""

from __future__ import annotations

import dataclasses
import http.client
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from tests.reliability.conftest import Server, ServerFactory

pytestmark = pytest.mark.system

GRACE_SECONDS: Final = 10.0
CLIENTS: Final = 16
# Heavier requests, so that some are in flight when the signal arrives.
PATHS: Final = (
    "/stocks/indicators/DEMO-ALPHA-1M?name=bbands&interval=5&frequency=Minute",
    "/stocks/time-series/DEMO-BETA-1M",
    "/stocks/indicators/DEMO-GAMMA?name=macd",
    "/stocks/time-series/DEMO-ALPHA",
)


@dataclasses.dataclass(frozen=True)
class Outcome:
    started: float
    ended: float
    kind: str  # "ok", "refused" (connect refused), "reset" (closed unanswered), or "error"
    detail: str = ""


def client_loop(server: Server, index: int, stop: threading.Event, log: list[Outcome]) -> None:
    """Send requests on fresh connections until told to stop; record every outcome."""
    n = index
    while not stop.is_set():
        path = PATHS[n % len(PATHS)]
        n += 1
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        try:
            connection.connect()
        except ConnectionRefusedError:
            log.append(Outcome(started, time.monotonic(), "refused"))
            time.sleep(0.05)
            continue
        try:
            connection.request("GET", path, headers={"Connection": "close"})
            response = connection.getresponse()
            body = response.read()
            expected = int(response.headers.get("Content-Length", len(body)))
            ok = response.status == 200 and len(body) == expected
            log.append(
                Outcome(started, time.monotonic(), "ok" if ok else "error", f"{response.status}")
            )
        except (ConnectionResetError, http.client.RemoteDisconnected) as error:
            # Closed with no byte of response: turned away, not cut off mid-answer.
            log.append(Outcome(started, time.monotonic(), "reset", f"{path}: {error!r}"))
        except (OSError, http.client.HTTPException) as error:
            log.append(Outcome(started, time.monotonic(), "error", f"{path}: {error!r}"))
        finally:
            connection.close()


def test_given_load_when_sigterm_arrives_then_in_flight_finish_new_are_refused_and_exit_is_0(
    serve: ServerFactory, demo_duckdb_url: str
) -> None:
    # GIVEN: clients keep a warmed-up server busy (a generous store timeout: this test is
    # about shutdown, not about how slow a shared CI machine may be)
    server = serve(
        demo_duckdb_url,
        FINDATA_GRACEFUL_TIMEOUT=str(GRACE_SECONDS),
        FINDATA_STORE_TIMEOUT="30",
    )
    for path in PATHS:
        assert server.get(path, timeout=60).status == 200, path
    stop = threading.Event()
    outcomes: list[Outcome] = []
    clients = [
        threading.Thread(target=client_loop, args=(server, i, stop, outcomes), daemon=True)
        for i in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    time.sleep(3)
    # WHEN
    signalled = time.monotonic()
    os.kill(server.process.pid, signal.SIGTERM)
    exit_code = server.process.wait(timeout=GRACE_SECONDS + 30)
    exited = time.monotonic()
    time.sleep(0.5)
    stop.set()
    for client in clients:
        client.join(timeout=30)
    # THEN
    in_flight = [o for o in outcomes if o.started < signalled < o.ended and o.kind != "refused"]
    refused = [o for o in outcomes if o.kind == "refused"]
    errors = [o for o in outcomes if o.kind == "error"]
    # Connections the kernel queued between the signal and the listener closing are
    # closed unanswered; before the signal, no connection may be.
    turned_away = [o for o in outcomes if o.kind == "reset"]
    print(
        f"\nSHUTDOWN FIGURES: {len(in_flight)} requests in flight at SIGTERM, all completed; "
        f"exit {exit_code} after {exited - signalled:.2f} s (grace {GRACE_SECONDS:g} s); "
        f"{len(refused)} later connections refused, {len(turned_away)} reset unanswered; "
        f"{sum(o.kind == 'ok' for o in outcomes)} requests served in total"
    )
    assert errors == [], [(round(o.started - signalled, 3), o.detail) for o in errors]
    assert in_flight, "no request was in flight at SIGTERM: the test proves nothing"
    assert all(o.kind == "ok" for o in in_flight)
    assert refused, "no connection was refused after SIGTERM"
    assert all(o.started >= signalled for o in refused + turned_away)
    assert exit_code == 0, server.output()
    assert exited - signalled <= GRACE_SECONDS
