"""Typed errors raised by findata.

Every error names what is wrong so that callers (the HTTP API, the CLI) can turn
it into a precise message without parsing strings.
"""

from __future__ import annotations

from collections.abc import Sequence


class FindataError(Exception):
    """Base class of every error findata raises on purpose."""


class InvalidParameterError(FindataError, ValueError):
    """A caller-supplied parameter (interval, frequency, indicator, window...) is invalid.

    ``parameter`` is the parameter's public name, ``allowed`` describes the values
    that would have been accepted, so an API can echo both back to the client.
    """

    def __init__(
        self,
        parameter: str,
        message: str,
        *,
        value: object = None,
        allowed: Sequence[str] | str | None = None,
    ) -> None:
        super().__init__(message)
        self.parameter = parameter
        self.value = value
        self.allowed = allowed
        self.message = message


class InvalidBarsError(FindataError, ValueError):
    """Input bars break the bar contract (missing columns, unsorted, high below open...).

    ``message`` says what is wrong; ``row`` is the zero-based index of the first offending
    row when one can be named (``str(error)`` starts with it), so a caller that knows
    better coordinates (a file and line) can use ``message`` with its own.
    """

    def __init__(self, message: str, *, row: int | None = None, column: str | None = None) -> None:
        super().__init__(message if row is None else f"row {row}: {message}")
        self.message = message
        self.row = row
        self.column = column
