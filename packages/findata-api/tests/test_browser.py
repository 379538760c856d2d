"""The chart page and /docs in a real browser: Debian's chromium driven by Playwright.

A ``findata serve`` process over the demo data set answers 500 rows per page, so the page
has to follow ``Link`` headers. Checked: the candles drawn are the API's rows, an
indicator toggle adds its series, a bad symbol shows the API's problem text, the chart's
pixels are not blank, the console stays free of errors, and Swagger UI's "Try it out"
gets a 200 from the server. ``FINDATA_SCREENSHOTS=<folder>`` keeps the chart's screenshot
there (the README's docs/images/chart.png is made so).
"""

from __future__ import annotations

import dataclasses
import io
import os
import shutil
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from findata.api.testing import ServedProcess, serve_process

pytestmark = pytest.mark.system

CHROMIUM: Final = os.environ.get("FINDATA_TEST_CHROMIUM", "/usr/bin/chromium")
PAGE_ROWS: Final = 500
UP: Final = (0x26, 0xA6, 0x9A)  # chart.js's colours of rising and falling candles
DOWN: Final = (0xEF, 0x53, 0x50)
SETTLED: Final = "['ready', 'error'].includes(document.body.dataset.state)"


def require(condition: bool, reason: str) -> None:
    """Fail under CI, skip loudly elsewhere, when the browser is missing."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(f"SKIPPED LOUDLY: {reason}")


def findata(*args: str, database_url: str) -> str:
    """Run a ``findata`` command on ``database_url``; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "findata.api", *args],
        env={**os.environ, "FINDATA_DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def demo_database(folder: Path) -> str:
    url = f"duckdb://{folder / 'demo.duckdb'}"
    findata("db", "migrate", database_url=url)
    findata("ingest", "demo", database_url=url)
    return url


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedProcess]:
    folder = tmp_path_factory.mktemp("browser")
    served = serve_process(
        demo_database(folder), folder, settings={"FINDATA_DEFAULT_LIMIT": str(PAGE_ROWS)}
    )
    yield served
    served.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    require(Path(CHROMIUM).is_file(), f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@dataclasses.dataclass
class Tab:
    """A browser page and the errors its console reported."""

    page: Page
    errors: list[str]

    def open(self, url: str) -> None:
        self.page.goto(url)
        self.page.wait_for_function(SETTLED)

    def evaluate(self, script: str) -> Any:
        return self.page.evaluate(script)

    def series(self) -> dict[str, int]:
        """Each drawn series' name and number of points, as the chart holds them."""
        return dict(
            self.evaluate(
                "[...window.findataChart.series].map(([name, s]) => [name, s.data().length])"
            )
        )


@pytest.fixture
def tab(browser: Browser) -> Iterator[Tab]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield Tab(page, errors)
    context.close()


def api_rows(
    server: ServedProcess, path: str, key: str | None = None, **params: str
) -> list[dict[str, Any]]:
    """The API's JSON rows, every page (with the API key ``key``, if given)."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    headers = {"X-API-Key": key} if key else {}
    with httpx.Client(base_url=server.base_url, headers=headers) as http:
        response = http.get(url, params=params)
        while True:
            assert response.status_code == 200, response.text
            rows += response.json()
            url = response.links.get("next", {}).get("url")
            if url is None:
                return rows
            response = http.get(url)


@pytest.mark.parametrize(
    ("symbol", "fragment", "params"),
    [
        ("DEMO-ALPHA", "", {}),
        ("DEMO-BETA-1M", "", {}),
        ("DEMO-BETA-1M", "#frequency=Minute&interval=5", {"frequency": "Minute", "interval": "5"}),
        (
            "DEMO-GAMMA",
            "#frequency=Weekly&start=2024-01-01",
            {"frequency": "Weekly", "start": "2024-01-01"},
        ),
        ("DEMO-ALPHA", "#adjustment=all", {"adjustment": "all"}),
        (
            "DEMO-BETA-1M",
            "#session=regular&frequency=Hourly",
            {"session": "regular", "frequency": "Hourly"},
        ),
    ],
)
def test_given_a_symbol_when_its_chart_opens_then_one_candle_per_api_row_is_drawn(
    server: ServedProcess, tab: Tab, symbol: str, fragment: str, params: dict[str, str]
) -> None:
    # GIVEN: the API's rows (more than one page of them for the stored bars)
    rows = api_rows(server, f"/stocks/time-series/{symbol}", **params)
    # WHEN
    tab.open(f"{server.base_url}/chart/{symbol}{fragment}")
    # THEN
    assert tab.evaluate("document.body.dataset.state") == "ready", tab.page.text_content("#error")
    assert tab.series() == {"candles": len(rows), "volume": len(rows)}
    assert tab.errors == []


def test_given_a_chart_when_indicators_are_toggled_then_their_series_and_panes_appear(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN
    tab.open(f"{server.base_url}/chart/DEMO-ALPHA")
    panes_before = tab.evaluate("window.findataChart.chart.panes().length")
    rsi_rows = api_rows(server, "/stocks/indicators/DEMO-ALPHA", name="rsi", window="14")
    bands_rows = api_rows(server, "/stocks/indicators/DEMO-ALPHA", name="bbands", window="20")
    # WHEN: RSI (a pane of its own), then Bollinger bands (on the price pane)
    tab.page.check("input[name=show][value=rsi]")
    tab.page.wait_for_function(f"window.findataChart.series.has('rsi') && {SETTLED}")
    panes_with_rsi = tab.evaluate("window.findataChart.chart.panes().length")
    tab.page.check("input[name=show][value=bbands]")
    tab.page.wait_for_function(f"window.findataChart.series.has('bb_upper') && {SETTLED}")
    # THEN
    drawn = tab.series()
    assert drawn["rsi"] == len(rsi_rows)
    assert drawn["bb_upper"] == drawn["bb_middle"] == drawn["bb_lower"] == len(bands_rows)
    assert panes_with_rsi == panes_before + 1
    assert tab.evaluate("window.findataChart.chart.panes().length") == panes_with_rsi
    fragment = urllib.parse.parse_qs(urllib.parse.urlsplit(tab.page.url).fragment)
    assert sorted(fragment["show"]) == ["bbands", "rsi"]  # the state is in the link
    assert tab.errors == []


def test_given_an_unknown_symbol_when_its_chart_opens_then_the_apis_problem_is_shown(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN: what the API answers
    with httpx.Client(base_url=server.base_url) as http:
        problem = http.get("/stocks/time-series/NOPE").json()
    # WHEN
    tab.open(f"{server.base_url}/chart/NOPE")
    # THEN
    assert tab.evaluate("document.body.dataset.state") == "error"
    assert tab.page.text_content("#error") == f"{problem['title']}: {problem['detail']}"
    assert tab.series() == {}


def test_given_a_bad_parameter_in_the_link_when_opening_then_the_apis_problem_is_shown(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN
    with httpx.Client(base_url=server.base_url) as http:
        problem = http.get("/stocks/time-series/DEMO-ALPHA", params={"interval": "3"}).json()
    # WHEN
    tab.open(f"{server.base_url}/chart/DEMO-ALPHA#interval=3")
    # THEN
    assert tab.page.text_content("#error") == f"{problem['title']}: {problem['detail']}"


def test_given_a_chart_with_overlays_when_screenshotted_then_candles_are_on_the_canvas(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN
    tab.open(f"{server.base_url}/chart/DEMO-ALPHA#show=sma&show=bbands&show=rsi&show=macd")
    tab.page.wait_for_timeout(300)  # the chart paints on the next animation frame
    # WHEN
    png = tab.page.screenshot()
    # THEN: many pixels of each candle colour, and far more than a few colours in all
    image = Image.open(io.BytesIO(png)).convert("RGB")
    counts = {colour: count for count, colour in image.getcolors(image.width * image.height)}
    assert counts.get(UP, 0) > 1_000
    assert counts.get(DOWN, 0) > 1_000
    assert len(counts) > 50
    assert tab.errors == []
    if folder := os.environ.get("FINDATA_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        shutil.copyfileobj(io.BytesIO(png), (Path(folder) / "chart.png").open("wb"))


def test_given_the_chart_picker_when_a_symbol_is_chosen_then_its_chart_is_drawn(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN
    tab.open(f"{server.base_url}/chart")
    symbols = [row["symbol"] for row in api_rows(server, "/stocks/symbols")]
    options = tab.page.eval_on_selector_all("[name=symbol] option", "os => os.map(o => o.value)")
    # WHEN
    tab.page.select_option("select[name=symbol]", "DEMO-GAMMA")
    tab.page.wait_for_function(f"window.findataChart.series.has('candles') && {SETTLED}")
    # THEN
    assert options[1:] == symbols
    assert tab.page.url.split("#")[0] == f"{server.base_url}/chart/DEMO-GAMMA"
    assert tab.series()["candles"] == len(api_rows(server, "/stocks/time-series/DEMO-GAMMA"))
    assert tab.errors == []


def test_given_the_docs_when_trying_an_operation_then_swagger_ui_gets_the_servers_answer(
    server: ServedProcess, tab: Tab
) -> None:
    # GIVEN: Swagger UI over /openapi.json
    tab.page.goto(f"{server.base_url}/docs")
    operation = tab.page.locator("#operations-stocks-stocks_time_series")
    operation.locator(".opblock-summary").click()
    # WHEN: "Try it out" with a symbol, then "Execute"
    operation.get_by_role("button", name="Try it out").click()
    operation.locator("input[placeholder='symbol']").fill("DEMO-ALPHA")
    operation.get_by_role("button", name="Execute").click()
    answer = operation.locator(".live-responses-table tr.response")
    status = answer.locator(".response-col_status")
    status.wait_for()
    # THEN
    assert status.text_content() == "200"
    assert "DEMO-ALPHA" in (answer.locator(".microlight").first.text_content() or "")
    assert tab.page.locator(".opblock").count() >= 4
    assert tab.errors == []


def test_given_keys_required_when_the_key_is_entered_then_the_chart_and_the_docs_use_it(
    tmp_path: Path, tab: Tab
) -> None:
    # GIVEN: a server requiring keys, one key, and the API's answer without it
    url = demo_database(tmp_path)
    key = findata("keys", "create", "browser", database_url=url).strip()
    keyed = serve_process(url, tmp_path, settings={"FINDATA_API_KEYS_REQUIRED": "true"})
    try:
        with httpx.Client(base_url=keyed.base_url) as http:
            problem = http.get("/stocks/time-series/DEMO-ALPHA").json()
        tab.open(f"{keyed.base_url}/chart/DEMO-ALPHA")
        refused = tab.page.text_content("#error")
        # WHEN: the key goes into the field the 401 revealed
        tab.page.fill("input[name=api_key]", key)
        tab.page.dispatch_event("input[name=api_key]", "change")
        tab.page.wait_for_function(f"window.findataChart.series.has('candles') && {SETTLED}")
        drawn = tab.series()
        # and /docs, in the same tab, tries an operation
        tab.page.goto(f"{keyed.base_url}/docs")
        operation = tab.page.locator("#operations-stocks-stocks_symbols")
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.get_by_role("button", name="Execute").click()
        status = operation.locator(".live-responses-table tr.response .response-col_status")
        status.wait_for()
        # THEN
        assert refused == f"{problem['title']}: {problem['detail']}"
        assert drawn["candles"] == len(api_rows(keyed, "/stocks/time-series/DEMO-ALPHA", key=key))
        assert status.text_content() == "200"
    finally:
        keyed.stop()
