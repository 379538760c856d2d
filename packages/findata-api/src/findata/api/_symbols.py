"""The ``symbols`` list of the multi-symbol endpoints and their cursor (symbol + time key).

``symbols`` is ``*`` (every symbol in the store) or up to :data:`MAX_SYMBOLS` symbols
separated by commas; duplicates are ignored. The cursor names the last row's symbol
and its time key, so a page may end (and the next resume) inside a symbol. Both
patterns are the parser and the OpenAPI ``pattern`` at once (ADR 0023).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Final

from findata.api._params import Parameter
from findata.api._problems import invalid_parameter

MAX_SYMBOLS: Final = 1_000
ALL_SYMBOLS: Final = "*"
_ITEM: Final = r"[^\x00-\x1f\x7f,]{1,64}"
SYMBOLS_PATTERN: Final = rf"\*|{_ITEM}(?:,{_ITEM}){{0,{MAX_SYMBOLS - 1}}}"
MULTI_CURSOR_PATTERN: Final = rf"-?[0-9]{{1,18}}:{_ITEM}"

SYMBOLS_PARAMETER: Final = Parameter(
    "symbols",
    f"`*` for every symbol in the store, or up to {MAX_SYMBOLS} symbols separated by commas "
    "(duplicates are ignored). Rows come sorted by symbol, then by time.",
    {
        "type": "string",
        "pattern": f"^(?:{SYMBOLS_PATTERN})$",
        "examples": ["AAPL,MSFT", "*"],
    },
    required=True,
)
MULTI_CURSOR_PARAMETER: Final = Parameter(
    "cursor",
    "Position after which the page starts (`KEY:SYMBOL`), from a previous page's `next` link.",
    {"type": "string", "pattern": f"^{MULTI_CURSOR_PATTERN}$"},
)


@dataclasses.dataclass(frozen=True, slots=True)
class SymbolCursor:
    """The last row of a page: its symbol and its time key (see ``_paging``)."""

    symbol: str
    key: int

    def __str__(self) -> str:
        return f"{self.key}:{self.symbol}"


def parse_symbols(raw: str | None) -> tuple[str, ...] | None:
    """The named symbols, first occurrence first, or None for ``*``; 400 naming ``symbols``."""
    if raw is None:
        raise invalid_parameter(
            "symbols", "symbols is required: a comma-separated list, or *", allowed="A,B,... or *"
        )
    if raw == ALL_SYMBOLS:
        return None
    if not re.fullmatch(SYMBOLS_PATTERN, raw):
        names = raw.split(",")
        detail = (
            f"at most {MAX_SYMBOLS} symbols per request"
            if len(names) > MAX_SYMBOLS
            else "symbols must be * or symbols (1 to 64 printable characters, no commas) "
            "separated by commas, with no empty item"
        )
        raise invalid_parameter("symbols", detail, value=raw, allowed=f"^(?:{SYMBOLS_PATTERN})$")
    return tuple(dict.fromkeys(raw.split(",")))


def parse_symbol_cursor(raw: str) -> SymbolCursor:
    if not re.fullmatch(MULTI_CURSOR_PATTERN, raw):
        raise invalid_parameter(
            "cursor",
            "invalid cursor; use the next link of a previous page",
            value=raw,
            allowed=f"KEY:SYMBOL matching {MULTI_CURSOR_PATTERN}",
        )
    key, _, symbol = raw.partition(":")
    return SymbolCursor(symbol, int(key))
