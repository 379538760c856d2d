"""``adjustment=raw|split|dividend|all``: split- and dividend-adjusted bars for any bar endpoint.

The adjustment is a :class:`~findata.api._series.BarTransform`: it rewrites a symbol's
stored bars before anything is resampled or computed from them, and its key joins every
cache key of the series service (ADR 0072). Adjustment is backward (findata-core's
``adjust_bars``), so a factor depends on the closes before each ex-date and on every
later action: a ranged read is adjusted as part of the whole history. A dividend that
cannot be applied is announced in a ``Warning`` header (``299``), never silently.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Hashable
from typing import Any, Final

import numpy as np
import pyarrow as pa
from quart import Response, request

from findata.api._formats import negotiate
from findata.api._params import Parameter
from findata.api._series_request import SeriesRequest, open_series_request
from findata.api._state import AppState
from findata.core import Adjustment, Frequency, adjust_bars, resample_adjusted
from findata.core.columns import TIMESTAMP
from findata.db import SymbolInfo

WARNING_HEADER: Final = "Warning"
ADJUSTMENT_PARAMETER: Final = Parameter(
    "adjustment",
    "Corporate-action adjustment of past prices (case-insensitive), backward as CRSP and "
    "Yahoo do it: `raw` (as traded), `split` (prices x split factor, volumes / it), "
    "`dividend` (prices x cash-dividend factor) or `all` (both). Applied to the stored bars "
    "before resampling and indicators; bars on or after the last ex-date are unchanged.",
    {"type": "string", "enum": [member.value for member in Adjustment], "default": "raw"},
)
ADJUSTMENT_HEADERS: Final = {
    WARNING_HEADER: {
        "description": 'With `adjustment=dividend|all`: `299 findata "<sentence>"` per cash '
        "dividend left out of the adjustment (no bar before its ex-date, or an amount not "
        "below the close before it), comma-separated; absent when every dividend applied.",
        "schema": {"type": "string"},
    }
}
_MESSAGES: Final = "message"
_NONE: Final = pa.table({})


def parse_adjustment() -> Adjustment:
    """The request's adjustment (default ``raw``), or a 400 naming the allowed values."""
    return Adjustment.parse(request.args.get("adjustment", Adjustment.RAW.value))


class AdjustmentTransform:
    """Adjusts a symbol's stored bars for its splits and/or dividends at one data version."""

    def __init__(self, state: AppState, version: str, adjustment: Adjustment) -> None:
        self.adjustment = adjustment
        self._state = state
        self._version = version
        self._warnings: dict[str, tuple[str, ...]] = {}

    @property
    def key(self) -> Hashable:
        return ("adjustment", self.adjustment.value)

    async def __call__(self, bars: pa.Table, info: SymbolInfo) -> pa.Table:
        """``bars`` (the whole history or a range of it) adjusted as part of the whole."""
        splits, dividends = await self._actions(info.symbol)
        if splits.num_rows == 0 and dividends.num_rows == 0:
            self._warnings[info.symbol] = ()
            return bars
        whole = bars.num_rows == info.bar_count
        history = bars if whole else await self._state.store.read_bars(info.symbol, None, None)
        adjusted, report = adjust_bars(
            history, splits, dividends, self.adjustment, timezone=info.timezone
        )
        self._remember(info.symbol, report.warnings)
        if whole:
            return adjusted
        # The rows of ``bars`` (a time range, or what an earlier transform kept).
        positions = np.searchsorted(_micros(history), _micros(bars))
        return adjusted.take(pa.array(positions, pa.int64()))

    async def resample(
        self, bars: pa.Table, info: SymbolInfo, interval: int, frequency: Frequency
    ) -> pa.Table:
        """The periods of the symbol's whole stored history (``bars``) adjusted, aggregated
        from its raw bars: equal to resampling the adjusted bars, at about the raw cost."""
        splits, dividends = await self._actions(info.symbol)
        periods, report = await asyncio.to_thread(
            resample_adjusted,
            bars,
            splits,
            dividends,
            self.adjustment,
            interval,
            frequency,
            timezone=info.timezone,
        )
        self._remember(info.symbol, report.warnings)
        return periods

    async def warnings(self, info: SymbolInfo) -> tuple[str, ...]:
        """One sentence per dividend this adjustment of the symbol leaves out; known
        without adjusting again when the bars were adjusted here or recently."""
        if not self.adjustment.dividends:
            return ()
        known = self._warnings.get(info.symbol)
        if known is not None:
            return known

        async def compute() -> pa.Table:
            _, dividends = await self._actions(info.symbol)
            if dividends.num_rows == 0:
                return _messages(())
            history = await self._state.store.read_bars(info.symbol, None, None)
            _, report = adjust_bars(
                history, None, dividends, Adjustment.DIVIDEND, timezone=info.timezone
            )
            return _messages(report.warnings)

        table = await self._state.caches.table_or_compute(self._warnings_key(info.symbol), compute)
        return tuple(table.column(_MESSAGES).to_pylist())

    def _remember(self, symbol: str, warnings: tuple[str, ...]) -> None:
        self._warnings[symbol] = warnings
        if self.adjustment.dividends:
            self._state.caches.keep_table(self._warnings_key(symbol), _messages(warnings))

    def _warnings_key(self, symbol: str) -> Hashable:
        return (("adjustment-warnings", symbol), (self._version,))

    async def _actions(self, symbol: str) -> tuple[pa.Table, pa.Table]:
        """The symbol's splits and dividends that this adjustment uses."""
        splits, dividends = await self._state.store.actions_of(symbol, self._version)
        return (
            splits if self.adjustment.splits else _NONE,
            dividends if self.adjustment.dividends else _NONE,
        )


def _micros(bars: pa.Table) -> Any:
    return bars.column(TIMESTAMP).cast(pa.int64()).to_numpy()


def _messages(warnings: tuple[str, ...]) -> pa.Table:
    if not warnings:
        return _NO_MESSAGES
    return pa.table({_MESSAGES: pa.array(list(warnings), pa.string())})


_NO_MESSAGES: Final = pa.table({_MESSAGES: pa.array([], pa.string())})


async def open_adjusted_series_request(
    symbol: str,
) -> tuple[SeriesRequest, AdjustmentTransform | None]:
    """:func:`open_series_request` with the request's adjustment as a bar transform
    (``None`` for ``raw``: the plain series service and cache keys)."""
    negotiate()  # 406 before any 400, as every series endpoint answers
    adjustment = parse_adjustment()
    series = await open_series_request(symbol)
    if adjustment is Adjustment.RAW:
        return series, None
    transform = AdjustmentTransform(series.state, series.version, adjustment)
    service = series.service.transformed_first_by(transform)
    return dataclasses.replace(series, service=service), transform


async def announce_skipped(
    response: Response, transform: AdjustmentTransform | None, info: SymbolInfo
) -> Response:
    """``response`` with a ``Warning`` header per dividend the adjustment left out."""
    if transform is None or response.status_code != 200:
        return response
    warnings = await transform.warnings(info)
    if warnings:
        response.headers[WARNING_HEADER] = ", ".join(
            f'299 findata "{warning}"' for warning in warnings
        )
    return response
