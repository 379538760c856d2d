"""Fixtures: an app over an injected store, served through Quart's test client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from quart import Quart
from quart.testing import QuartClient

from findata.api import create_app
from findata.api.testing import MemoryStore


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def app(memory_store: MemoryStore) -> Quart:
    return create_app({"env": "test"}, store=memory_store)


@pytest.fixture
async def client(app: Quart) -> AsyncIterator[QuartClient]:
    # test_app() runs the serving lifecycle (before_serving/after_serving), so the
    # store is connected exactly as under Hypercorn.
    async with app.test_app() as serving:
        yield serving.test_client()
