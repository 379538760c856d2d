"""What an adjustment could not do: the report :func:`adjust_bars` returns with its table.

Kept apart from the computation so that callers (the API's warning header, the CLI) read
one small module of plain values.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from findata.core.actions import Adjustment

__all__ = ["AdjustmentReport", "SkipReason", "SkippedDividend"]


class SkipReason(enum.StrEnum):
    """Why a dividend could not adjust the bars before its ex-date."""

    NO_EARLIER_BAR = "no_earlier_bar"
    """No bar before the ex-date (and no ``reference_close``): no close to divide by."""
    CASH_NOT_BELOW_CLOSE = "cash_not_below_close"
    """The cash amount is not below the close before the ex-date: the factor would be <= 0."""


@dataclass(frozen=True, slots=True)
class SkippedDividend:
    """A dividend left out of the adjustment; prices before its ex-date miss its factor."""

    symbol: str
    ex_date: date
    cash_amount: float
    reason: SkipReason
    close: float | None = None
    """The close the cash amount was compared with (``CASH_NOT_BELOW_CLOSE``)."""

    def describe(self) -> str:
        """One line for a warning header or a log."""
        if self.reason is SkipReason.NO_EARLIER_BAR:
            why = "no bar before its ex-date gives the close to divide by"
        else:
            why = f"it is not below the close of {self.close:g} before its ex-date"
        return (
            f"dividend of {self.cash_amount:g} of {self.symbol} on {self.ex_date} "
            f"not applied: {why}"
        )


@dataclass(frozen=True, slots=True)
class AdjustmentReport:
    """What :func:`adjust_bars` could not do, so that a caller can say so (never silently)."""

    adjustment: Adjustment
    skipped_dividends: tuple[SkippedDividend, ...] = field(default=())

    @property
    def warnings(self) -> tuple[str, ...]:
        """One sentence per skipped dividend."""
        return tuple(skipped.describe() for skipped in self.skipped_dividends)
