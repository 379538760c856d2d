"""Prometheus metrics: requests by route and status, latencies, store queries and connections.

Each app owns its registry, so several apps in one process (tests) do not clash. With
several Hypercorn workers every worker exposes its own counters; scrape each worker or
run one worker per container (the deployment default).
"""

from __future__ import annotations

import time
from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from quart import Blueprint, Quart, Response, current_app, g, request
from quart.typing import ResponseReturnValue

from findata.api._params import accepts
from findata.db import PoolUsage

_LATENCY_BUCKETS: Final = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

blueprint = Blueprint("metrics", __name__)


class Metrics:
    """The service's instruments, registered in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "findata_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.request_latency = Histogram(
            "findata_http_request_duration_seconds",
            "Time from receiving a request to returning its response, by route template.",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "findata_http_requests_in_flight",
            "Requests being processed right now.",
            registry=self.registry,
        )
        self.store_latency = Histogram(
            "findata_store_query_duration_seconds",
            "Time spent in store calls, by operation and outcome.",
            ["operation", "outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.store_up = Gauge(
            "findata_store_up",
            "1 when the last store call succeeded, 0 after a failure.",
            registry=self.registry,
        )
        self.store_in_flight = Gauge(
            "findata_store_calls_in_flight",
            "Store calls running now (each holds a pooled connection on PostgreSQL).",
            registry=self.registry,
        )
        self.store_pool = Gauge(
            "findata_store_pool_connections",
            "The store's connections at scrape time, by state (in_use, idle, max); "
            "absent for stores without a pool.",
            ["state"],
            registry=self.registry,
        )
        self.cache_lookups = Counter(
            "findata_result_cache_lookups",
            "In-process cache lookups, by cache (table, response) and outcome (hit, miss).",
            ["cache", "outcome"],
            registry=self.registry,
        )

    def observe_pool(self, usage: PoolUsage | None) -> None:
        """Record the pool as it is now (read at scrape time: a gauge, not an event)."""
        if usage is None:
            self.store_pool.clear()
            return
        self.store_pool.labels("in_use").set(usage.in_use)
        self.store_pool.labels("idle").set(usage.idle)
        self.store_pool.labels("max").set(usage.max_size)

    def render(self) -> bytes:
        return generate_latest(self.registry)


def init_app(app: Quart, metrics: Metrics) -> None:
    """Time and count every request, and serve ``GET /metrics``."""

    @app.before_request
    async def _start_timer() -> None:
        g.metrics_started = time.perf_counter()
        metrics.in_flight.inc()

    @app.after_request
    async def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            metrics.in_flight.dec()
            # The route template, not the path, keeps label cardinality bounded.
            rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
            metrics.requests.labels(rule, request.method, str(response.status_code)).inc()
            metrics.request_latency.labels(rule, request.method).observe(
                time.perf_counter() - started
            )
        return response

    app.register_blueprint(blueprint)


@blueprint.get("/metrics")
@accepts(media_types=(CONTENT_TYPE_LATEST,), tag="meta")
async def metrics_text() -> ResponseReturnValue:
    """Prometheus text exposition of this worker's metrics."""
    state = current_app.extensions["findata"]
    metrics: Metrics = state.metrics
    metrics.observe_pool(state.store.pool_usage())
    return Response(metrics.render(), content_type=CONTENT_TYPE_LATEST)
