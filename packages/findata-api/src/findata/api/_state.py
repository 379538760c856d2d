"""What the app factory attaches to the app, and typed accessors for views and extensions."""

from __future__ import annotations

import dataclasses
from typing import Final

from quart import Quart, current_app

from findata.api._cache import ResultCaches
from findata.api._metrics import Metrics
from findata.api._settings import Settings
from findata.api._store import StoreGateway

EXTENSION_KEY: Final = "findata"


@dataclasses.dataclass(slots=True)
class AppState:
    """The per-app services, kept in ``app.extensions["findata"]``."""

    settings: Settings
    store: StoreGateway
    metrics: Metrics
    caches: ResultCaches


def app_state(app: Quart | None = None) -> AppState:
    """The state of ``app``, or of the app handling the current request."""
    state: AppState = (app or current_app).extensions[EXTENSION_KEY]
    return state


def current_settings() -> Settings:
    """The settings of the app handling the current request (for extensions and views)."""
    return app_state().settings
