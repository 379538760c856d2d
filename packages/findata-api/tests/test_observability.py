"""Metrics in Prometheus text format, request ids, and one JSON access log line per request."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart import Quart
from quart.testing import QuartClient

from findata.db import Store, open_store


async def test_given_some_requests_when_scraping_metrics_then_they_are_counted_by_route_and_status(
    client: QuartClient,
) -> None:
    # GIVEN
    await client.get("/stocks/time-series/ACME?frequency=Annual")
    await client.get("/stocks/time-series/NOPE")
    # WHEN
    response = await client.get("/metrics")
    # THEN
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    families = {
        family.name: family
        for family in text_string_to_metric_families((await response.get_data()).decode())
    }
    counted = {
        (sample.labels["route"], sample.labels["status"]): sample.value
        for sample in families["findata_http_requests"].samples
        if sample.name == "findata_http_requests_total"
    }
    assert counted[("/stocks/time-series/<symbol>", "200")] == 1
    assert counted[("/stocks/time-series/<symbol>", "404")] == 1
    assert "findata_http_request_duration_seconds" in families
    store_operations = {
        sample.labels["operation"]
        for sample in families["findata_store_query_duration_seconds"].samples
    }
    assert {"data_version", "get_symbol", "read_bars"} <= store_operations
    in_flight = families["findata_store_calls_in_flight"].samples
    assert [sample.value for sample in in_flight] == [0.0]  # every call has returned


async def _pool_samples(client: QuartClient) -> dict[str, float]:
    response = await client.get("/metrics")
    families = {
        family.name: family
        for family in text_string_to_metric_families((await response.get_data()).decode())
    }
    return {
        sample.labels["state"]: sample.value
        for sample in families["findata_store_pool_connections"].samples
    }


@pytest.mark.postgres
async def test_given_postgresql_when_scraping_metrics_then_the_pool_usage_is_reported(
    postgres_url: str, make_app: Callable[..., Quart]
) -> None:
    # GIVEN an app serving the PostgreSQL store, with a pool of at most 10 connections
    app = make_app(open_store(postgres_url))
    async with app.test_app() as serving:
        client = serving.test_client()
        await client.get("/stocks/time-series/ACME?frequency=Annual")
        # WHEN
        pool = await _pool_samples(client)
    # THEN every connection is back in the pool between requests
    assert pool["max"] == 10
    assert pool["in_use"] == 0
    assert pool["idle"] >= 1


async def test_given_a_duckdb_file_when_scraping_metrics_then_its_held_connection_is_reported(
    duckdb_url: str, make_app: Callable[..., Quart]
) -> None:
    # GIVEN an app serving a DuckDB file, which holds the file attached between reads
    async with make_app(open_store(duckdb_url)).test_app() as serving:
        client = serving.test_client()
        await client.get("/stocks/time-series/ACME?frequency=Annual")
        # WHEN
        pool = await _pool_samples(client)
    # THEN the connection is open and idle between requests
    assert pool == {"in_use": 0.0, "idle": 1.0, "max": 1.0}


async def test_given_a_store_without_a_pool_when_scraping_metrics_then_no_pool_gauge_is_made_up(
    memory_store: Store, make_app: Callable[..., Quart]
) -> None:
    # GIVEN the in-memory store, which has no connections
    async with make_app(memory_store).test_app() as serving:
        # WHEN
        pool = await _pool_samples(serving.test_client())
    # THEN
    assert pool == {}


async def test_given_a_sane_request_id_when_requesting_then_it_is_echoed(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/_healthcheck", headers={"X-Request-ID": "lb-1234.abc"})
    # THEN
    assert response.headers["X-Request-ID"] == "lb-1234.abc"


@pytest.mark.parametrize("incoming", [None, "", "bad id with spaces", "x" * 200, "<script>"])
async def test_given_no_or_an_insane_request_id_when_requesting_then_a_new_one_is_made(
    client: QuartClient, incoming: str | None
) -> None:
    # WHEN
    headers = {"X-Request-ID": incoming} if incoming is not None else {}
    response = await client.get("/_healthcheck", headers=headers)
    # THEN
    generated = response.headers["X-Request-ID"]
    assert generated != incoming
    assert len(generated) == 32
    assert generated.isalnum()


async def test_given_a_request_when_it_is_answered_then_one_json_access_line_carries_its_id(
    store: object,
    make_app: Callable[..., Quart],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN an app writing JSON access lines
    caplog.set_level(logging.INFO, logger="findata.access")
    app = make_app(store, log_format="json")
    async with app.test_app() as serving:
        capsys.readouterr()
        # WHEN
        response = await serving.test_client().get("/stocks/time-series/ACME?frequency=Annual")
        written = capsys.readouterr().err
    # THEN
    lines = [json.loads(line) for line in written.splitlines() if '"event":"access"' in line]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["status"] == 200
    assert line["path"] == "/stocks/time-series/ACME"
    assert line["query"] == "frequency=Annual"
    assert line["duration_ms"] >= 0
    assert line["message"] == "GET /stocks/time-series/ACME 200"  # as every JSON line has one


async def test_given_a_handler_on_the_access_logger_when_answering_then_it_gets_the_line(
    store: object,
    make_app: Callable[..., Quart],
) -> None:
    # GIVEN an operator's handler on findata.access (say, to a file of its own)
    received: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = received.append  # type: ignore[method-assign]
    access = logging.getLogger("findata.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    try:
        app = make_app(store, log_format="json")
        async with app.test_app() as serving:
            # WHEN
            response = await serving.test_client().get("/_healthcheck")
        # THEN the handler got the line as a record with the entry's fields
        (record,) = [r for r in received if getattr(r, "event", None) == "access"]
        assert record.getMessage() == "GET /_healthcheck 200"
        assert record.__dict__["request_id"] == response.headers["X-Request-ID"]
        assert record.__dict__["status"] == 200
    finally:
        # TEARDOWN
        access.removeHandler(handler)
        access.setLevel(logging.NOTSET)


async def test_given_access_logs_are_off_when_answering_then_no_line_is_written(
    store: object,
    make_app: Callable[..., Quart],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN
    caplog.set_level(logging.INFO, logger="findata.access")
    app = make_app(store, access_log=False)
    async with app.test_app() as serving:
        capsys.readouterr()
        # WHEN
        await serving.test_client().get("/_healthcheck")
        written = capsys.readouterr().err
    # THEN
    assert "access" not in written


async def test_given_a_problem_response_when_reading_it_then_it_names_the_request_id(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/NOPE")
    # THEN
    assert (await response.get_json())["request_id"] == response.headers["X-Request-ID"]
