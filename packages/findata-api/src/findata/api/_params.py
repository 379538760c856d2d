"""Query parameters: declared once, used to parse requests, reject unknown ones and write OpenAPI.

A view decorated with :func:`accepts` gets its parameters checked before it runs:
unknown or repeated names are a 400 that names them, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, Literal, ParamSpec, TypeVar

from quart import request

from findata.api._problems import ProblemError

P = ParamSpec("P")
R = TypeVar("R")

ENDPOINT_ATTRIBUTE: Final = "__findata_endpoint__"
_MAX_NAMED: Final = 20  # unknown names echoed back at most


@dataclasses.dataclass(frozen=True, slots=True)
class Parameter:
    """One parameter: its name, JSON Schema and a description for OpenAPI.

    ``members`` makes it an object whose properties are query parameters of their own
    (OpenAPI's exploded ``form`` style): one schema can then say what a set of
    parameters accepts together (``interval`` needs ``frequency``; each indicator's own
    parameters), which separate parameters cannot.
    """

    name: str
    description: str
    schema: Mapping[str, Any]
    required: bool = False
    members: tuple[str, ...] = ()
    location: Literal["query", "path"] = "query"
    example: Any = None
    """A value that works for any symbol: Swagger UI's "Try it out" starts from it (its own
    sample of an object takes each property's first allowed value, e.g. ``Minute``)."""

    @property
    def query_names(self) -> tuple[str, ...]:
        """The names this parameter takes in a query string."""
        if self.location != "query":
            return ()
        return self.members or (self.name,)

    def openapi(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "name": self.name,
            "in": self.location,
            "required": self.required or self.location == "path",
            "description": self.description,
            "schema": dict(self.schema),
        }
        if self.members:
            described.update(style="form", explode=True)
        if self.example is not None:
            described["example"] = self.example
        return described


@dataclasses.dataclass(frozen=True, slots=True)
class Endpoint:
    """What OpenAPI says about a view: accepted parameters and response media types."""

    parameters: tuple[Parameter, ...]
    media_types: tuple[str, ...]
    summary: str
    description: str
    tag: str
    responses: Mapping[int, str]
    row_schema: Mapping[str, Any] | None
    headers: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    """Response headers of a 200 beyond the ones every endpoint sends (OpenAPI objects)."""


def accepts(
    *parameters: Parameter,
    media_types: tuple[str, ...] = ("application/json",),
    tag: str,
    responses: Mapping[int, str] | None = None,
    row_schema: Mapping[str, Any] | None = None,
    headers: Mapping[str, Mapping[str, Any]] | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Awaitable[R]]]:
    """Declare a view's parameters (and its docs); reject any other query parameter with 400."""
    known = frozenset(name for parameter in parameters for name in parameter.query_names)

    def decorate(view: Callable[P, Awaitable[R]]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(view)
        async def checked(*args: P.args, **kwargs: P.kwargs) -> R:
            check_query(known)
            return await view(*args, **kwargs)

        summary, _, description = (view.__doc__ or "").strip().partition("\n")
        setattr(
            checked,
            ENDPOINT_ATTRIBUTE,
            Endpoint(
                parameters=parameters,
                media_types=media_types,
                summary=summary.strip(),
                description=description.strip(),
                tag=tag,
                responses=dict(responses or {}),
                row_schema=row_schema,
                headers=dict(headers or {}),
            ),
        )
        return checked

    return decorate


def check_query(known: frozenset[str]) -> None:
    """400 for unknown or repeated query parameters."""
    args = request.args
    unknown = [name for name in args if name not in known]
    if unknown:
        shown = ", ".join(repr(name[:50]) for name in unknown[:_MAX_NAMED])
        more = f" and {len(unknown) - _MAX_NAMED} more" if len(unknown) > _MAX_NAMED else ""
        raise ProblemError(
            400,
            f"unknown query parameter(s): {shown}{more}",
            title="Unknown parameter",
            parameter=unknown[0][:50],
            unknown=[name[:50] for name in unknown[:_MAX_NAMED]],
            allowed=sorted(known),
        )
    repeated = [name for name in args if len(args.getlist(name)) > 1]
    if repeated:
        raise ProblemError(
            400,
            f"query parameter {repeated[0]!r} given more than once",
            title="Invalid parameter",
            parameter=repeated[0],
        )
