"""Cross-origin access for browser clients: closed unless ``cors_origins`` lists origins.

With no origins configured no CORS header is ever sent, so browsers keep other
sites' scripts from reading responses. ``["*"]`` opens read access to any site
(credentials are never allowed: keys travel in headers the site must set itself).
"""

from __future__ import annotations

from typing import Final

import quart_cors
from quart import Quart

from findata.api._state import app_state

__all__ = ["init_app"]

ALLOWED_HEADERS: Final = ("Authorization", "X-API-Key", "If-None-Match", "X-Request-ID")
EXPOSED_HEADERS: Final = (
    "ETag",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "X-Request-ID",
)


def init_app(app: Quart) -> None:
    """Answer CORS preflights and tag responses for the configured origins only."""
    origins = app_state(app).settings.cors_origins
    if not origins:
        return
    quart_cors.cors(
        app,
        allow_origin="*" if "*" in origins else origins,
        allow_methods=["GET", "HEAD", "OPTIONS"],
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        allow_credentials=False,
        max_age=600,
    )
