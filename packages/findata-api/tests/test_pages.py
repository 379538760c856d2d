"""The pages for people: /chart and /docs, served with the vendored files they load.

What the pages do in a browser is tested in tests/test_browser.py (chromium, system);
here: what the server sends, and that the gate lets a browser load the pages.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import AsyncIterator

import pytest
from quart.typing import TestClientProtocol as Client

from findata.api import create_app
from findata.api._auth import EXTENSION_KEY, ApiKeyVerifier
from findata.api.testing import MemoryStore
from findata.core import INDICATORS, Frequency
from findata.db import MemoryKeyStore

ASSET = re.compile(r'(?:src|href)="(/static/[^"]+)"')
CONFIG = re.compile(r'<script type="application/json" id="chart-config">(.*?)</script>', re.S)


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    """The pages do not read the store: one in-memory store is enough."""
    async with create_app({"env": "test"}, store=MemoryStore()).test_app() as serving:
        yield serving.test_client()


@pytest.fixture
async def keyed_client() -> AsyncIterator[Client]:
    app = create_app({"env": "test", "api_keys_required": True}, store=MemoryStore())
    app.extensions[EXTENSION_KEY] = ApiKeyVerifier(MemoryKeyStore([]))
    async with app.test_app() as serving:
        yield serving.test_client()


async def page_text(client: Client, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, path
    assert response.content_type.startswith("text/html")
    return (await response.get_data()).decode()


async def test_given_a_symbol_when_opening_its_chart_then_the_page_names_it_and_its_overlays(
    client: Client,
) -> None:
    # WHEN
    page = await page_text(client, "/chart/ACME")
    # THEN: the script's configuration names the symbol and each overlay's output columns
    config = json.loads(html.unescape(CONFIG.search(page).group(1)))  # type: ignore[union-attr]
    assert config["symbol"] == "ACME"
    assert {overlay["name"] for overlay in config["overlays"]} == {
        "sma", "ema", "bbands", "rsi", "macd"
    }  # fmt: skip
    for overlay in config["overlays"]:
        assert overlay["outputs"] == list(INDICATORS[overlay["name"]].outputs)
    # and every frequency of the API can be chosen
    for member in Frequency:
        assert f'<option value="{member.value}">' in page


async def test_given_the_pages_when_loading_their_assets_then_every_one_is_served(
    client: Client,
) -> None:
    for path in ("/chart", "/chart/ACME", "/docs"):
        # GIVEN
        page = await page_text(client, path)
        assets = ASSET.findall(page)
        # WHEN
        responses = [await client.get(asset) for asset in assets]
        # THEN
        assert assets, path
        assert [response.status_code for response in responses] == [200] * len(assets), assets


async def test_given_the_docs_page_when_fetching_then_it_loads_swagger_ui_over_openapi_json(
    client: Client,
) -> None:
    # WHEN
    page = await page_text(client, "/docs")
    # THEN
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in page
    assert "/static/vendor/swagger-ui/swagger-ui.css" in page
    assert 'data-spec="/openapi.json"' in page


@pytest.mark.parametrize("symbol", ['<img src=x onerror="alert(1)">', "A&B'\"<script>x("])
async def test_given_markup_in_the_symbol_when_opening_its_chart_then_it_is_escaped(
    client: Client, symbol: str
) -> None:
    # WHEN
    page = await page_text(client, "/chart/" + symbol)
    # THEN: the symbol appears only escaped, and the configuration still reads back
    assert symbol not in page
    assert "<img" not in page
    assert page.count("<script") == 3  # the library, the page's script, its configuration
    config = json.loads(html.unescape(CONFIG.search(page).group(1)))  # type: ignore[union-attr]
    assert config["symbol"] == symbol


async def test_given_keys_required_when_a_browser_loads_the_pages_then_no_key_is_needed(
    keyed_client: Client,
) -> None:
    # GIVEN: what a browser fetches before any script could send a key
    paths = ["/chart", "/chart/ACME", "/docs"]
    for page in paths[:]:
        paths += ASSET.findall(await page_text(keyed_client, page))
    # WHEN
    statuses = {path: (await keyed_client.get(path)).status_code for path in paths}
    # THEN: pages and files are served, while data still needs the key
    assert set(statuses.values()) == {200}, statuses
    assert (await keyed_client.get("/stocks/symbols")).status_code == 401
    assert (await keyed_client.get("/openapi.json")).status_code == 401
