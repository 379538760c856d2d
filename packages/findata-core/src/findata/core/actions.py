"""The corporate-action contract: splits, cash dividends and the adjustment to apply.

Public so that the stores, the ingest and the API speak one vocabulary for actions
(``from findata.core import actions``), as :mod:`findata.core.columns` does for bars.
A 4-for-1 split is ``split_from=1, split_to=4``; a 1-for-10 reverse split ``10, 1``.
"""

from __future__ import annotations

import enum
from typing import Final

import pyarrow as pa

from findata.core._types import parse_choice
from findata.core.columns import SYMBOL

__all__ = [
    "ACTION",
    "CASH_AMOUNT",
    "CURRENCY",
    "DIVIDENDS_SCHEMA",
    "EX_DATE",
    "OPTIONAL_DIVIDEND_COLUMNS",
    "PAY_DATE",
    "RECORD_DATE",
    "REFERENCE_CLOSE",
    "SPLITS_SCHEMA",
    "SPLIT_FROM",
    "SPLIT_TO",
    "SYMBOL",
    "ActionKind",
    "Adjustment",
]

EX_DATE: Final = "ex_date"
"""First trading date (exchange time zone) on which the stock trades without the action."""
SPLIT_FROM: Final = "split_from"
SPLIT_TO: Final = "split_to"
CASH_AMOUNT: Final = "cash_amount"
"""Cash paid per share, in the currency of the prices."""
CURRENCY: Final = "currency"
"""ISO 4217 code (``USD``), informative: amounts are never converted."""
PAY_DATE: Final = "pay_date"
RECORD_DATE: Final = "record_date"
OPTIONAL_DIVIDEND_COLUMNS: Final = (CURRENCY, PAY_DATE, RECORD_DATE)
REFERENCE_CLOSE: Final = "reference_close"
"""Optional input column of the dividends given to ``adjust_bars``: the raw close of
the symbol's last bar before the ex-date, for a caller whose bars end before it."""
ACTION: Final = "action"
"""Column naming each row's kind in a table of mixed actions (an ingest file)."""

SPLITS_SCHEMA: Final = pa.schema(
    [
        pa.field(SYMBOL, pa.string(), nullable=False),
        pa.field(EX_DATE, pa.date32(), nullable=False),
        pa.field(SPLIT_FROM, pa.float64(), nullable=False),
        pa.field(SPLIT_TO, pa.float64(), nullable=False),
    ]
)
"""Schema of splits, unique per (symbol, ex_date)."""

DIVIDENDS_SCHEMA: Final = pa.schema(
    [
        pa.field(SYMBOL, pa.string(), nullable=False),
        pa.field(EX_DATE, pa.date32(), nullable=False),
        pa.field(CASH_AMOUNT, pa.float64(), nullable=False),
        pa.field(CURRENCY, pa.string()),
        pa.field(PAY_DATE, pa.date32()),
        pa.field(RECORD_DATE, pa.date32()),
    ]
)
"""Schema of cash dividends, unique per (symbol, ex_date)."""


class ActionKind(enum.StrEnum):
    """The value of the ``action`` column of a mixed table."""

    SPLIT = "split"
    DIVIDEND = "dividend"


class Adjustment(enum.StrEnum):
    """Which corporate actions adjust past prices (backward, as CRSP and Yahoo do)."""

    RAW = "raw"
    SPLIT = "split"
    DIVIDEND = "dividend"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | Adjustment) -> Adjustment:
        """Accept an adjustment by name, case-insensitively (``all``, ``All``, ``ALL``)."""
        return parse_choice(cls, value, "adjustment")

    @property
    def splits(self) -> bool:
        """Whether splits adjust prices and volumes."""
        return self in (Adjustment.SPLIT, Adjustment.ALL)

    @property
    def dividends(self) -> bool:
        """Whether cash dividends adjust prices."""
        return self in (Adjustment.DIVIDEND, Adjustment.ALL)
