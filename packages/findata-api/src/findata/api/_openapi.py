"""``GET /openapi.json`` (OpenAPI 3.1), generated from the routes, and ``GET /docs`` over it.

Every view declares its parameters with ``accepts``; the document is built from the
URL map and those declarations, so it cannot drift from what the code accepts.
"""

from __future__ import annotations

import re
from importlib import metadata, resources
from typing import Any, Final

import orjson
from quart import Blueprint, Quart, Response, current_app, render_template_string
from quart.typing import ResponseReturnValue

from findata.api._params import ENDPOINT_ATTRIBUTE, Endpoint, accepts
from findata.api._problems import PROBLEM_JSON

blueprint = Blueprint("docs", __name__)

_PATH_ARGUMENT: Final = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")
_PROBLEM_SCHEMA: Final = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "parameter": {"type": "string", "description": "The offending parameter."},
        "allowed": {"description": "What the parameter accepts."},
        "request_id": {"type": "string"},
    },
}
_ERRORS: Final = {
    400: "Invalid or unknown parameter; the body names it and what is allowed.",
    406: "None of the available media types is acceptable.",
    503: "The store is unavailable; retry after `Retry-After` seconds.",
}
_HEADERS: Final = {
    "ETag": {"description": "Changes when the stored data changes.", "schema": {"type": "string"}},
    "Cache-Control": {"schema": {"type": "string"}},
    "X-Request-ID": {"description": "The request's id (echoed).", "schema": {"type": "string"}},
}
_LINK: Final = {
    "description": 'RFC 8288 `<...>; rel="next"` when more rows exist.',
    "schema": {"type": "string"},
}


def build_openapi(app: Quart) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s documented routes."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        endpoint: Endpoint | None = getattr(
            app.view_functions.get(rule.endpoint), ENDPOINT_ATTRIBUTE, None
        )
        if endpoint is None or "GET" not in (rule.methods or ()):
            continue
        path = _PATH_ARGUMENT.sub(r"{\1}", rule.rule)
        declared = {p.name: p for p in endpoint.parameters if p.location == "path"}
        path_parameters = [
            declared[name].openapi()
            if name in declared
            else {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in sorted(rule.arguments)
        ]
        query_parameters = [p.openapi() for p in endpoint.parameters if p.location == "query"]
        paths[path] = {
            "get": {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": endpoint.summary,
                "description": endpoint.description,
                "tags": [endpoint.tag],
                "parameters": path_parameters + query_parameters,
                "responses": _responses(endpoint),
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "findata",
            "version": metadata.version("findata-server"),
            "description": "Market data: OHLCV bars, resampling and indicators.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "paths": paths,
        "components": {"schemas": {"Problem": _PROBLEM_SCHEMA}},
    }


def _responses(endpoint: Endpoint) -> dict[str, Any]:
    content: dict[str, Any] = {}
    for media_type in endpoint.media_types:
        if media_type == "application/json":
            schema: dict[str, Any] = (
                {"type": "array", "items": dict(endpoint.row_schema)}
                if endpoint.row_schema
                else {"type": "object"}
            )
        elif media_type.startswith("text/"):
            schema = {"type": "string"}
        else:
            schema = {"type": "string", "contentMediaType": media_type}
        content[media_type] = {"schema": schema}
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "content": content,
            "headers": {
                **_HEADERS,
                **({"Link": _LINK} if endpoint.row_schema else {}),
                **endpoint.headers,
            },
        }
    }
    if endpoint.row_schema:
        responses["304"] = {"description": "Not modified (`If-None-Match` matched the ETag)."}
    errors = {**_ERRORS, **endpoint.responses}
    for status, description in sorted(errors.items()):
        responses[str(status)] = {"description": description, "content": problem}
    return responses


@blueprint.get("/openapi.json")
@accepts(tag="meta")
async def openapi_document() -> ResponseReturnValue:
    """This API's OpenAPI 3.1 description."""
    document = current_app.extensions.setdefault("findata.openapi", None)
    if document is None:
        document = orjson.dumps(build_openapi(current_app))
        current_app.extensions["findata.openapi"] = document
    return Response(document, content_type="application/json")


@blueprint.get("/docs")
@accepts(media_types=("text/html",), tag="meta")
async def docs_page() -> ResponseReturnValue:
    """Interactive API docs (Swagger UI) over /openapi.json.

    "Try it out" sends its requests to this server.
    """
    return await render_template_string(_DOCS_TEMPLATE)


_DOCS_TEMPLATE: Final = (
    resources.files("findata.api").joinpath("templates", "docs.html").read_text("utf-8")
)
