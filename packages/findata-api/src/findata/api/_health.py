"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

import orjson
from quart import Blueprint, Response
from quart.typing import ResponseReturnValue

from findata.api._params import accepts
from findata.api._state import app_state

blueprint = Blueprint("health", __name__)

_NO_STORE = {"Cache-Control": "no-store"}


@blueprint.get("/_healthcheck")
@accepts(tag="health", responses={})
async def healthcheck() -> ResponseReturnValue:
    """Liveness: the process answers. Never touches the store, so an outage cannot restart it."""
    return Response(b'{"status":"ok"}', content_type="application/json", headers=_NO_STORE)


@blueprint.get("/_readiness")
@accepts(tag="health", responses={503: "The store does not answer."})
async def readiness() -> ResponseReturnValue:
    """Readiness: 200 when the store answers; store errors become 503 via the outage handler."""
    gateway = app_state().store
    await gateway.health()
    body = {"status": "ready", "store": gateway.store.url_scheme}
    return Response(orjson.dumps(body), content_type="application/json", headers=_NO_STORE)
