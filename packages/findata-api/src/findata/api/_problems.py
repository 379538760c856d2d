"""RFC 9457 problem details: every error the service returns is ``application/problem+json``.

Views raise :class:`ProblemError` (or a findata/werkzeug error that the handlers
registered by :func:`init_app` translate); extensions build responses directly
with :func:`problem`.
"""

from __future__ import annotations

import http
import logging
from collections.abc import Sequence
from typing import Any, Final

import orjson
from quart import Quart, Response, g
from werkzeug.exceptions import HTTPException

from findata.core import FindataError, InvalidParameterError

PROBLEM_JSON: Final = "application/problem+json"

_log = logging.getLogger("findata.api")


def problem(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A problem+json response; ``extra`` members (``parameter``, ``allowed``...) are added as-is.

    ``title`` defaults to the HTTP reason phrase; the current request id is included
    so a client report can be matched with the access log.
    """
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or http.HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body.update({key: value for key, value in extra.items() if value is not None})
    request_id = g.get("request_id") if g else None
    if request_id:
        body.setdefault("request_id", request_id)
    response = Response(orjson.dumps(body, default=str), status=status, content_type=PROBLEM_JSON)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ProblemError(Exception):
    """Raise from a view to answer with a problem; carries what :func:`problem` needs."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title
        self.headers = headers
        self.extra = extra

    def to_response(self) -> Response:
        return problem(self.status, self.title, self.detail, headers=self.headers, **self.extra)


def invalid_parameter(
    parameter: str,
    detail: str,
    *,
    value: object = None,
    allowed: Sequence[str] | str | None = None,
) -> ProblemError:
    """The 400 every bad query parameter gets: names the parameter and what is allowed."""
    return ProblemError(
        400,
        detail,
        title="Invalid parameter",
        parameter=parameter,
        value=_printable(value),
        allowed=list(allowed) if isinstance(allowed, list | tuple) else allowed,
    )


def _printable(value: object) -> object:
    """Echo a rejected value back, but never a huge one."""
    if value is None or isinstance(value, bool | int | float):
        return value
    text = str(value)
    return text if len(text) <= 200 else text[:200] + "…"


def init_app(app: Quart) -> None:
    """Turn every error into problem+json, so no client ever sees an HTML page."""

    @app.errorhandler(ProblemError)
    async def _on_problem(error: ProblemError) -> Response:
        return error.to_response()

    @app.errorhandler(InvalidParameterError)
    async def _on_invalid_parameter(error: InvalidParameterError) -> Response:
        return invalid_parameter(
            error.parameter, error.message, value=error.value, allowed=error.allowed
        ).to_response()

    @app.errorhandler(HTTPException)
    async def _on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {}
        allowed = getattr(error, "valid_methods", None)
        if status == 405 and allowed:
            headers["Allow"] = ", ".join(sorted(allowed))
        detail = {
            404: "no resource at this path",
            405: "this method is not supported here",
        }.get(status, error.description)
        return problem(status, None, detail, headers=headers)

    @app.errorhandler(FindataError)
    async def _on_findata_error(error: FindataError) -> Response:
        # A typed findata error that no view translated is still the caller's input.
        return problem(400, "Invalid request", str(error))

    @app.errorhandler(Exception)
    async def _on_unexpected(error: Exception) -> Response:
        _log.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return problem(500, None, "an unexpected error occurred; it has been logged")
