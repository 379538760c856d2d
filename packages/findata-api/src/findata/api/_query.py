"""The series query: declared once for OpenAPI, read from the query string.

Every bar endpoint (time series, indicators, and the endpoints to come) takes the
same ``symbol`` path segment and ``interval``, ``frequency``, ``start``, ``end``,
``limit``, ``cursor`` and ``sort`` parameters. Their schemas are exact (ADR 0023):
a request the schemas allow is never refused for its form, one they refuse always
gets a 400 naming the parameter, and both use the same patterns below.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Final

from findata.api._paging import CURSOR_PATTERN, Sort, parse_cursor
from findata.api._params import Parameter
from findata.api._problems import invalid_parameter
from findata.api._ranges import TIME_PATTERN, TimeBound, parse_bound
from findata.api._settings import Settings
from findata.core import Frequency

MAX_INTERVAL: Final = 100_000
SYMBOL_PATTERN: Final = r"[^\x00-\x1f\x7f]{1,64}"
_INTEGER: Final = re.compile(r"\s*\+?[0-9]{1,12}\s*")

SYMBOL_PARAMETER: Final = Parameter(
    "symbol",
    "The symbol, as listed by `/stocks/symbols`.",
    {"type": "string", "pattern": f"^{SYMBOL_PATTERN}$"},
    required=True,
    location="path",
)


def series_parameters(default_limit: int, max_limit: int) -> tuple[Parameter, ...]:
    """The query parameters shared by every series endpoint, for ``accepts``."""
    frequencies = [member.value for member in Frequency]
    return (
        Parameter(
            "period",
            "`interval` x `frequency`: the calendar unit of a period (case-insensitive) and "
            "how many of them make one (default 1; `interval` needs `frequency`). Without "
            "them the stored bars are returned as they are.",
            {
                "type": "object",
                "properties": {
                    "interval": {"type": "integer", "minimum": 1, "maximum": MAX_INTERVAL},
                    "frequency": {"type": "string", "enum": frequencies},
                },
                "dependentRequired": {"interval": ["frequency"]},
                "additionalProperties": False,
            },
            members=("interval", "frequency"),
            example={"interval": 1, "frequency": Frequency.WEEKLY.value},
        ),
        Parameter(
            "start",
            "First period (or bar) to return: a date `YYYY-MM-DD` or an ISO 8601 timestamp "
            "`YYYY-MM-DDTHH:MM[:SS[.ffffff]]`, with `Z` or `+HH:MM` or, without, read in the "
            "symbol's exchange time zone. Inclusive; the period holding it is returned whole.",
            {
                "type": "string",
                "pattern": f"^{TIME_PATTERN}$",
                "examples": ["2021-01-01", "2021-01-04T09:30:00-05:00"],
            },
        ),
        Parameter(
            "end",
            "Last period (or bar) to return, inclusive (a date covers its whole day); same "
            "forms as `start`. After `start`, the answer is empty.",
            {"type": "string", "pattern": f"^{TIME_PATTERN}$", "examples": ["2021-12-31"]},
        ),
        Parameter(
            "limit",
            f"Rows per page (default {default_limit}). When more rows exist the response "
            'carries a `Link: <...>; rel="next"` header.',
            {"type": "integer", "minimum": 1, "maximum": max_limit, "default": default_limit},
        ),
        Parameter(
            "cursor",
            "Position after which the page starts, from a previous page's `next` link.",
            {"type": "string", "pattern": f"^{CURSOR_PATTERN}$"},
        ),
        Parameter(
            "sort",
            "Time order of the rows.",
            {"type": "string", "enum": ["asc", "desc"], "default": "asc"},
        ),
    )


# Documented with the default limits; the running app checks its own settings.
_DEFAULTS: Final = Settings()
SERIES_PARAMETERS: Final = (
    SYMBOL_PARAMETER,
    *series_parameters(_DEFAULTS.default_limit, _DEFAULTS.max_limit),
)
"""What a series endpoint declares: ``@accepts(*SERIES_PARAMETERS, ...)``."""
SERIES_RESPONSES: Final = {
    404: "Unknown symbol.",
    409: "The symbol's bars cannot answer these parameters (intraday periods of daily bars, "
    "or periods beginning outside the years 1-9999); the body names the parameter.",
}


@dataclasses.dataclass(frozen=True, slots=True)
class SeriesQuery:
    """A checked series request; ``start``/``end`` are read in a zone once the symbol is known."""

    interval: int | None
    frequency: Frequency | None
    start: TimeBound | None
    end: TimeBound | None
    limit: int
    cursor: int | None
    sort: Sort


def parse_symbol(symbol: str) -> str:
    if not re.fullmatch(SYMBOL_PATTERN, symbol):
        raise invalid_parameter(
            "symbol",
            "a symbol is 1 to 64 printable characters",
            value=symbol,
        )
    return symbol


def parse_series_query(
    args: Mapping[str, str], *, default_limit: int, max_limit: int
) -> SeriesQuery:
    """Check every shared parameter; none of them needs the symbol or the store."""
    frequency = Frequency.parse(args["frequency"]) if "frequency" in args else None
    interval: int | None = None
    if "interval" in args:
        interval = _integer(args, "interval", 1, MAX_INTERVAL)
        if frequency is None:
            raise invalid_parameter(
                "interval",
                "interval needs a frequency (e.g. interval=1&frequency=Monthly)",
                value=args["interval"],
                allowed=[member.value for member in Frequency],
            )
    elif frequency is not None:
        interval = 1
    limit = _integer(args, "limit", 1, max_limit) if "limit" in args else default_limit
    sort = args.get("sort", "asc").strip().lower()
    if sort not in ("asc", "desc"):
        raise invalid_parameter(
            "sort", "sort must be asc or desc", value=sort, allowed=["asc", "desc"]
        )
    return SeriesQuery(
        interval=interval,
        frequency=frequency,
        start=parse_bound(args["start"], "start") if "start" in args else None,
        end=parse_bound(args["end"], "end") if "end" in args else None,
        limit=limit,
        cursor=parse_cursor(args["cursor"]) if "cursor" in args else None,
        sort="desc" if sort == "desc" else "asc",
    )


def _integer(args: Mapping[str, str], name: str, low: int, high: int) -> int:
    raw = args[name]
    if not _INTEGER.fullmatch(raw):
        raise invalid_parameter(
            name, f"{name} must be an integer", value=raw, allowed=f"{low}..{high}"
        )
    value = int(raw)
    if not low <= value <= high:
        raise invalid_parameter(
            name, f"{name} must be between {low} and {high}", value=value, allowed=f"{low}..{high}"
        )
    return value
