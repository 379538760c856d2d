"""GET /openapi.json is a valid OpenAPI 3.1 document describing every route (/docs, which
renders it with Swagger UI, is tested with the other pages in test_pages.py)."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from openapi_spec_validator import validate
from quart.testing import QuartClient

from findata.core import INDICATORS


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
        "symbol",
        "period",
        "start",
        "end",
        "limit",
        "cursor",
        "sort",
        "adjustment",
        "format",
    }
    period = next(p for p in operation["parameters"] if p["name"] == "period")
    assert (period["style"], period["explode"]) == ("form", True)  # interval=..&frequency=..
    assert set(period["schema"]["properties"]) == {"interval", "frequency"}
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
    indicator = next(p for p in operation["parameters"] if p["name"] == "indicator")
    assert indicator["required"] is True
    # THEN one schema per indicator, with exactly that indicator's parameters
    branches = {b["properties"]["name"]["const"]: b for b in indicator["schema"]["oneOf"]}
    assert set(branches) == set(INDICATORS)
    for name, spec in INDICATORS.items():
        assert set(branches[name]["properties"]) == {"name", *spec.defaults}
        assert branches[name]["additionalProperties"] is False


def _query_schema(operation: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
    return schema


@pytest.mark.parametrize(
    ("query", "indicator", "cursor", "status"),
    [
        ("name=atr&window=5", {"name": "atr", "window": 5}, None, 200),
        ("name=atr&series=open", {"name": "atr", "series": "open"}, None, 400),
        ("name=sma&window=1", {"name": "sma", "window": 1}, None, 400),
        ("name=vwap&cursor=", {"name": "vwap"}, "", 400),
        ("name=vwap&cursor=18627", {"name": "vwap"}, "18627", 200),
    ],
)
async def test_given_a_request_when_the_document_describes_it_then_the_server_agrees(
    client: QuartClient,
    query: str,
    indicator: dict[str, Any],
    cursor: str | None,
    status: int,
) -> None:
    # GIVEN what /openapi.json says of the indicator parameters and of cursors
    operation = (await openapi(client))["paths"]["/stocks/indicators/{symbol}"]["get"]
    validator = jsonschema.Draft202012Validator
    documented_valid = validator(_query_schema(operation, "indicator")).is_valid(indicator) and (
        cursor is None or validator(_query_schema(operation, "cursor")).is_valid(cursor)
    )
    # WHEN the server is asked
    response = await client.get(f"/stocks/indicators/ACME?{query}")
    # THEN it refuses exactly what the document refuses
    assert response.status_code == status
    assert documented_valid is (status == 200)
