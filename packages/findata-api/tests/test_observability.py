"""Metrics in Prometheus text format, request ids, and one JSON access log line per request."""

from __future__ import annotations

import json
import logging

import pytest
from prometheus_client.parser import text_string_to_metric_families
from quart.testing import QuartClient

from findata.api._logging import JsonFormatter


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
    assert "findata_store_pool_connections" in families


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


async def test_given_a_request_when_it_is_answered_then_one_access_line_carries_its_id(
    client: QuartClient, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN
    caplog.set_level(logging.INFO, logger="findata.access")
    # WHEN
    response = await client.get("/stocks/time-series/ACME?frequency=Annual")
    # THEN
    records = [record for record in caplog.records if record.name == "findata.access"]
    assert len(records) == 1
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["status"] == 200
    assert line["path"] == "/stocks/time-series/ACME"
    assert line["event"] == "access"
    assert line["duration_ms"] >= 0


async def test_given_a_problem_response_when_reading_it_then_it_names_the_request_id(
    client: QuartClient,
) -> None:
    # WHEN
    response = await client.get("/stocks/time-series/NOPE")
    # THEN
    assert (await response.get_json())["request_id"] == response.headers["X-Request-ID"]
