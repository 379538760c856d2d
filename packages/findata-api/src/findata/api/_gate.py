"""What the request gates (API keys, failed-key limits, rate limits) agree on.

Which requests no gate may refuse, and whom a request comes from, are decided here
once, so the gates cannot drift apart (a probe that one gate lets through and
another throttles would restart healthy containers).
"""

from __future__ import annotations

from typing import Final

from quart import request

__all__ = ["PAGE_PATHS", "PROBE_PATHS", "client_address", "is_page", "ungated"]

# The liveness and readiness probes (``_health.py``): orchestrators send them without
# credentials and must get an answer even while a client, or they themselves, are throttled.
PROBE_PATHS: Final = frozenset({"/_healthcheck", "/_readiness"})
# The pages for people (``/docs``, ``/chart``) and their static files hold no data, and a
# browser loads them without headers; their scripts send the key with every data request.
PAGE_PATHS: Final = ("/docs", "/chart", "/static")


def ungated() -> bool:
    """True for requests every gate lets through: the probes and CORS preflights (which
    by the CORS rules carry no credentials)."""
    return request.path in PROBE_PATHS or request.method == "OPTIONS"


def is_page() -> bool:
    """True for a page for people or one of its static files (not for the data they show)."""
    path = request.path
    return any(path == page or path.startswith(f"{page}/") for page in PAGE_PATHS)


def client_address() -> str:
    """The peer address of the current request, as limits count it.

    Behind a reverse proxy this is the proxy's address unless Hypercorn is told to trust
    the proxy's forwarding headers (its ``ProxyFixMiddleware``); limits per address then
    lump every client together.
    """
    return request.remote_addr or "unknown"
