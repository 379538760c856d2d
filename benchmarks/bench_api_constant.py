"""The ceiling reference of bench_api.py: a bare Quart app answering a constant JSON body.

No findata code, no hooks: what one Hypercorn worker can serve on this machine at all.
Run by bench_api.py as ``hypercorn bench_api_constant:app``.
"""

from __future__ import annotations

from quart import Quart, Response

app = Quart(__name__)
BODY = b'[{"symbol":"SYM000","period_start":"2022-01-01","open":1.0,"high":2.0,"low":0.5,"close":1.5,"volume":100}]'  # noqa: E501


@app.get("/constant")
async def constant() -> Response:
    return Response(BODY, content_type="application/json")
