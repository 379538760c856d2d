"""Backend-neutral decisions of a write: each symbol's time zone, bar kind and exchange.

A symbol keeps the time zone and bar kind it was first ingested with; a batch
that contradicts them is rejected, naming its first row of that symbol. Its exchange is
the one a write names, else the stored one, else ``DEFAULT_EXCHANGE`` (ADR 0076).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from findata.core import DEFAULT_TIMEZONE, InvalidBarsError
from findata.core.calendars import DEFAULT_EXCHANGE
from findata.core.columns import SYMBOL, TIMESTAMP
from findata.db._types import BarKind
from findata.db._validate import check_timezone, first_non_midnight


@dataclasses.dataclass(frozen=True, slots=True)
class StoredSymbol:
    """What a write must respect about a symbol already in the store."""

    symbol: str
    timezone: str
    bar_kind: BarKind


@dataclasses.dataclass(frozen=True, slots=True)
class SymbolPlan:
    """How one symbol of a batch is written."""

    symbol: str
    timezone: str
    bar_kind: BarKind
    is_new: bool
    exchange: str | None = None
    """The exchange to record; ``None`` keeps the stored one (only for a stored symbol)."""


def plan_write(
    bars: pa.Table,
    stored: Iterable[StoredSymbol],
    *,
    timezone: str | None,
    bar_kind: BarKind | None,
    exchanges: Mapping[str, str] | None = None,
) -> dict[str, SymbolPlan]:
    """Resolve and check each symbol of normalized ``bars`` against what is stored.

    ``timezone``/``bar_kind`` default to the stored values, then to
    ``DEFAULT_TIMEZONE`` and to "daily when every bar starts at local midnight".
    ``exchanges`` (symbol -> validated MIC) replace stored exchanges.
    """
    named = exchanges or {}
    if timezone is not None:
        check_timezone(timezone)
    known = {item.symbol: item for item in stored}
    symbols = pc.unique(bars.column(SYMBOL)).to_pylist()
    plans: dict[str, SymbolPlan] = {}
    for symbol in sorted(symbols):
        item = known.get(symbol)
        if item is None:
            plans[symbol] = SymbolPlan(
                symbol,
                timezone or DEFAULT_TIMEZONE,
                bar_kind or BarKind.DAILY,
                is_new=True,
                exchange=named.get(symbol, DEFAULT_EXCHANGE),
            )
            continue
        if timezone is not None and timezone != item.timezone:
            raise InvalidBarsError(
                f"{symbol} is stored with time zone {item.timezone}; cannot write it as {timezone}",
                row=_first_row(bars, symbol),
            )
        if bar_kind is not None and bar_kind != item.bar_kind:
            raise InvalidBarsError(
                f"{symbol} holds {item.bar_kind} bars; cannot add {bar_kind} bars",
                row=_first_row(bars, symbol),
            )
        plans[symbol] = SymbolPlan(
            symbol, item.timezone, item.bar_kind, is_new=False, exchange=named.get(symbol)
        )
    _check_daily(bars, plans, infer=bar_kind is None)
    return plans


def _check_daily(bars: pa.Table, plans: dict[str, SymbolPlan], *, infer: bool) -> None:
    """Daily bars must start at local midnight; new symbols without a kind are inferred."""
    groups: dict[tuple[str, bool], list[str]] = {}
    for plan in plans.values():
        if plan.bar_kind is BarKind.DAILY:
            groups.setdefault((plan.timezone, plan.is_new and infer), []).append(plan.symbol)
    for (zone, inferred), symbols in groups.items():
        rows = _rows_of(bars, symbols)
        stamps = bars.column(TIMESTAMP) if rows is None else bars.column(TIMESTAMP).take(rows)
        bad = first_non_midnight(stamps, zone)
        if bad is None:
            continue
        if inferred:
            for symbol in symbols:
                plans[symbol] = dataclasses.replace(plans[symbol], bar_kind=BarKind.INTRADAY)
            continue
        row = bad if rows is None else int(rows[bad])
        raise InvalidBarsError(
            f"daily bar of {bars.column(SYMBOL)[row].as_py()} at "
            f"{bars.column(TIMESTAMP)[row].as_py().isoformat()} is not at 00:00 in {zone}",
            row=row,
        )


def _rows_of(bars: pa.Table, symbols: list[str]) -> np.ndarray | None:
    """Row indices holding ``symbols``; ``None`` means every row (the common single group)."""
    mask = pc.is_in(bars.column(SYMBOL), value_set=pa.array(symbols, pa.string()))
    if pc.all(mask).as_py():
        return None
    return np.flatnonzero(mask.to_numpy(zero_copy_only=False))


def _first_row(bars: pa.Table, symbol: str) -> int:
    return int(pc.index(bars.column(SYMBOL), symbol).as_py())
