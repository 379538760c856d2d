"""The application factory."""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any, Final

from quart import Quart

from findata.api import (
    _auth,
    _calendars,
    _chart,
    _corporate_actions,
    _cors,
    _health,
    _indicators,
    _logging,
    _metrics,
    _multi,
    _openapi,
    _problems,
    _ratelimit,
    _stocks,
    _store,
)
from findata.api._cache import ResultCaches
from findata.api._metrics import Metrics
from findata.api._settings import load_settings
from findata.api._state import EXTENSION_KEY, AppState
from findata.api._store import StoreGateway
from findata.core import load_indicator_loops
from findata.db import Store

# Extensions, each a module with ``init_app(app)``, installed in this order after the core
# hooks (request id, metrics), so they see a request id and are measured.
_EXTENSION_MODULES: Final = (_cors, _auth, _ratelimit)
EXTENSIONS: Final = tuple(module.__name__ for module in _EXTENSION_MODULES)


def create_app(overrides: Mapping[str, Any] | None = None, *, store: Store | None = None) -> Quart:
    """Build the service.

    ``overrides`` take precedence over YAML and ``FINDATA_*`` settings (see ``Settings``);
    ``store`` replaces the store named by the settings (tests, embedding). The store is
    connected when serving starts and disconnected when it stops.
    """
    settings = load_settings(overrides)
    _logging.configure_logging(settings)

    app = Quart("findata.api")
    # Keep Quart from sorting keys or pretty-printing: responses are built with orjson anyway.
    app.config.update(JSON_SORT_KEYS=False, PROVIDE_AUTOMATIC_OPTIONS=True)
    metrics = Metrics()
    gateway = StoreGateway(
        store if store is not None else _store.open_configured_store(settings), settings, metrics
    )
    app.extensions[EXTENSION_KEY] = AppState(
        settings=settings,
        store=gateway,
        metrics=metrics,
        caches=ResultCaches(settings.cache_megabytes, metrics),
    )

    _logging.init_app(app, settings)
    _metrics.init_app(app, metrics)
    _problems.init_app(app)
    _store.init_app(app, gateway, settings)
    for extension in _EXTENSION_MODULES:
        extension.init_app(app)

    app.before_serving(_load_indicator_loops)
    if settings.gc_freeze:
        app.before_serving(_freeze_startup_heap)
    # The calendar loads in a thread once serving starts, importing pandas and
    # exchange_calendars (~3 s): freeze the heap again once they are in it.
    _calendars.init_app(app, after_warm_up=_freeze_heap if settings.gc_freeze else None)

    app.register_blueprint(_health.blueprint)
    app.register_blueprint(_stocks.blueprint)
    app.register_blueprint(_indicators.blueprint)
    app.register_blueprint(_corporate_actions.blueprint)
    app.register_blueprint(_calendars.blueprint)
    app.register_blueprint(_multi.blueprint)
    if settings.docs_enabled:
        app.register_blueprint(_openapi.blueprint)
        app.register_blueprint(_chart.blueprint)
    return app


async def _load_indicator_loops() -> None:
    """findata-core compiles its indicator loops (Numba) on first use so that CLI commands
    start fast; a server pays those seconds once, before it accepts requests (and before
    the heap is frozen), instead of on its first indicator request."""
    load_indicator_loops()


async def _freeze_startup_heap() -> None:
    _freeze_heap()


def _freeze_heap() -> None:
    """Exclude everything alive at start-up (modules, numpy/numba/pyarrow/pandas objects)
    from the cyclic GC: full collections then only walk what requests allocate. Measured:
    without it, gen-2 collections over the imported heap showed as p99 latency spikes
    under load, and as a 66 ms stall of every request (health checks included) during a
    many-symbol read once pandas was imported (ADR 0082)."""
    gc.collect()
    gc.freeze()
