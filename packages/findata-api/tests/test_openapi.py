"""GET /openapi.json is a valid OpenAPI 3.1 document describing every route (/docs, which
renders it with Swagger UI, is tested with the other pages in test_pages.py)."""

from __future__ import annotations

from typing import Any

from openapi_spec_validator import validate
from quart.testing import QuartClient


async def openapi(client: QuartClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = await response.get_json()
    return document


async def test_given_the_app_when_fetching_openapi_then_it_validates_as_openapi_3_1(
    client: QuartClient,
) -> None:
    # WHEN
    document = await openapi(client)
    # THEN
    assert document["openapi"] == "3.1.0"
    validate(document)


async def test_given_the_app_when_fetching_openapi_then_every_get_route_is_described(
    client: QuartClient,
) -> None:
    # GIVEN
    app = client.app
    routes = {
        rule.rule.replace("<symbol>", "{symbol}")
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint != "static"
    }
    # WHEN
    document = await openapi(client)
    # THEN
    assert set(document["paths"]) == routes


async def test_given_the_time_series_route_when_reading_its_spec_then_all_parameters_are_there(
    client: QuartClient,
) -> None:
    # WHEN
    operation = (await openapi(client))["paths"]["/stocks/time-series/{symbol}"]["get"]
    # THEN
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert names == {
        "symbol", "interval", "frequency", "start", "end", "limit", "cursor", "sort", "format"
    }  # fmt: skip
    assert {"200", "304", "400", "404", "406", "503"} <= set(operation["responses"])
    assert set(operation["responses"]["200"]["content"]) == {
        "application/json",
        "text/csv",
        "application/vnd.apache.arrow.stream",
        "application/vnd.apache.parquet",
    }


async def test_given_the_indicator_route_when_reading_its_spec_then_indicator_parameters_are_there(
    client: QuartClient,
) -> None:
    # WHEN
    operation = (await openapi(client))["paths"]["/stocks/indicators/{symbol}"]["get"]
    # THEN
    required = {parameter["name"]: parameter["required"] for parameter in operation["parameters"]}
    names = set(required)
    assert {"name", "window", "fast", "slow", "signal", "stddev", "series"} <= names
    assert required["name"] is True
    assert required["window"] is False
    assert {"k_window", "k_smooth", "d_window"} <= names
