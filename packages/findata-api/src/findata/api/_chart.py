"""``GET /chart`` and ``GET /chart/{symbol}``: a candlestick page for people, over the JSON API.

The page is static HTML plus a small script (``static/chart.js``) that reads the API's
own JSON endpoints and draws them with TradingView's Lightweight Charts, vendored under
``static/vendor`` (no CDN: it works offline). The controls and the indicator overlays
are declared here, once: the page renders one control per ``Control`` and sends its value
to every data request under the control's name, so a new API parameter (``adjustment``,
``session``) is one more ``Control``. The page's state lives in the URL fragment, which
the server never sees: a chart can be shared as a link, and the route takes no query.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from importlib import resources
from typing import Final, Literal

from quart import Blueprint, Response, render_template_string
from quart.typing import ResponseReturnValue

from findata.api._params import accepts
from findata.core import INDICATORS, Adjustment, Frequency

blueprint = Blueprint("chart", __name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Control:
    """A select (``options``) or input (``kind``) whose value is sent as API parameter ``name``."""

    name: str
    label: str
    options: tuple[tuple[str, str], ...] = ()  # (value, label)
    kind: Literal["select", "number", "date"] = "select"


@dataclasses.dataclass(frozen=True, slots=True)
class Overlay:
    """An indicator the page can draw: on the price pane or in a pane of its own.

    ``params`` are the inputs shown next to its toggle (chart-conventional defaults);
    ``levels`` are horizontal guide lines (RSI's 30/70).
    """

    name: str
    label: str
    pane: Literal["price", "own"]
    params: Mapping[str, float] = dataclasses.field(default_factory=dict)
    levels: tuple[float, ...] = ()

    @property
    def outputs(self) -> tuple[str, ...]:
        """The indicator's value columns, from findata-core's registry."""
        return INDICATORS[self.name].outputs


CONTROLS: Final = (
    Control(
        "frequency",
        "Bars",
        (("", "stored"), *((member.value, member.value) for member in Frequency)),
    ),
    Control("interval", "Interval", kind="number"),
    Control(
        "adjustment",
        "Adjusted for",
        (
            ("", "nothing (as traded)"),
            (Adjustment.SPLIT.value, "splits"),
            (Adjustment.DIVIDEND.value, "dividends"),
            (Adjustment.ALL.value, "splits and dividends"),
        ),
    ),
    Control("session", "Hours", (("", "all"), ("regular", "regular session"))),
    Control("start", "From", kind="date"),
    Control("end", "To", kind="date"),
)
OVERLAYS: Final = (
    Overlay("sma", "SMA", "price", {"window": 20}),
    Overlay("ema", "EMA", "price", {"window": 50}),
    Overlay("bbands", "Bollinger", "price", {"window": 20, "stddev": 2.0}),
    Overlay("rsi", "RSI", "own", {"window": 14}, levels=(30.0, 70.0)),
    Overlay("macd", "MACD", "own", {"fast": 12, "slow": 26, "signal": 9}),
)
_TEMPLATE: Final = (
    resources.files("findata.api").joinpath("templates", "chart.html").read_text("utf-8")
)


@blueprint.get("/chart")
@accepts(media_types=("text/html",), tag="pages")
async def chart_picker() -> ResponseReturnValue:
    """A candlestick chart page; pick a symbol from the store's list."""
    return await _page(None)


@blueprint.get("/chart/<symbol>")
@accepts(
    media_types=("text/html",),
    tag="pages",
    responses={404: "No such page: a symbol holding '/' cannot be a path segment."},
)
async def chart(symbol: str) -> ResponseReturnValue:
    """A candlestick chart of one symbol with volume, frequency and indicator overlays.

    The page fetches `/stocks/time-series/{symbol}` and `/stocks/indicators/{symbol}`
    (JSON, every page) and shows their problem details when they fail.
    """
    return await _page(symbol)


async def _page(symbol: str | None) -> Response:
    overlays = [{**dataclasses.asdict(overlay), "outputs": overlay.outputs} for overlay in OVERLAYS]
    html = await render_template_string(
        _TEMPLATE,
        symbol=symbol,
        controls=CONTROLS,
        overlays=OVERLAYS,
        config={"symbol": symbol, "overlays": overlays},
    )
    return Response(html, content_type="text/html; charset=utf-8")
