"""Typed errors: every error answer of the API becomes an exception carrying its problem fields.

The server answers errors as RFC 9457 ``application/problem+json``; the fields a
caller acts on (``status``, ``title``, ``detail``, ``parameter``, ``allowed``) are
attributes, the whole body is ``problem``. One class per status a caller handles
differently, all under ``APIError``, all under ``FindataClientError``.
"""

from __future__ import annotations

import email.utils
import json
import math
import time
from collections.abc import Mapping
from typing import Any, Final

PROBLEM_JSON: Final = "application/problem+json"
_SHOWN_BODY: Final = 300  # characters of a non-problem body kept in the message


class FindataClientError(Exception):
    """Anything this package raises: catch this to handle every failure of a call."""


class TransportError(FindataClientError):
    """The request got no HTTP answer (refused, reset, timed out); the cause is httpx's error."""


class UnexpectedResponseError(FindataClientError):
    """A success status with a body that is not what was asked for (a proxy's page, say)."""


class APIError(FindataClientError):
    """An HTTP error answer, with the fields of its problem+json body."""

    def __init__(self, status: int, problem: Mapping[str, Any], url: str) -> None:
        self.status = status
        self.problem = dict(problem)
        self.url = url
        self.title: str = str(problem.get("title") or f"HTTP {status}")
        self.detail: str | None = _text(problem.get("detail"))
        self.type: str = str(problem.get("type") or "about:blank")
        self.parameter: str | None = _text(problem.get("parameter"))
        self.allowed: Any = problem.get("allowed")
        self.request_id: str | None = _text(problem.get("request_id"))
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [f"{self.status} {self.title}"]
        if self.detail:
            parts.append(f": {self.detail}")
        if self.allowed is not None:
            parts.append(f" (allowed: {self.allowed})")
        if self.request_id:
            parts.append(f" [request {self.request_id}]")
        return "".join(parts)


class BadRequestError(APIError):
    """400: a parameter is invalid or unknown; ``parameter`` names it, ``allowed`` what fits."""


class AuthenticationError(APIError):
    """401: the API key is missing, unknown or revoked."""


class NotFoundError(APIError):
    """404: no such symbol (or path)."""


class RetryableError(APIError):
    """An answer that says "later": ``retry_after`` is the wait it asked for, in seconds."""

    def __init__(
        self, status: int, problem: Mapping[str, Any], url: str, retry_after: float | None
    ) -> None:
        self.retry_after = retry_after
        super().__init__(status, problem, url)


class RateLimitError(RetryableError):
    """429: this client's quota is used up (raised once the retries are spent)."""


class ServiceUnavailableError(RetryableError):
    """503: the server's store is down (raised once the retries are spent)."""


class ServerError(APIError):
    """Any other 5xx: a fault on the server's side."""


_BY_STATUS: Final[dict[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    404: NotFoundError,
}


def error_from_response(
    status: int, headers: Mapping[str, str], content: bytes, url: str
) -> APIError:
    """The typed error of an error answer; a body that is not problem+json still gives one."""
    problem = _problem(status, headers, content)
    if status in (429, 503):
        kind = RateLimitError if status == 429 else ServiceUnavailableError
        return kind(status, problem, url, retry_after_seconds(headers))
    if status in _BY_STATUS:
        return _BY_STATUS[status](status, problem, url)
    if status >= 500:
        return ServerError(status, problem, url)
    return APIError(status, problem, url)


def _problem(status: int, headers: Mapping[str, str], content: bytes) -> dict[str, Any]:
    media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type in (PROBLEM_JSON, "application/json"):
        try:
            loaded = json.loads(content)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            return loaded
    text = content[:_SHOWN_BODY].decode("utf-8", "replace").strip()
    return {"status": status, "detail": text or None}


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds from now: delay-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    raw = headers.get("retry-after", "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        moment = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    seconds = moment.timestamp() - (time.time() if now is None else now)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
