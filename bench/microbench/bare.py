"""The baseline: a bare FastAPI route answering what hello answers, with no function behind it.

Run by uvicorn in its own process (``uvicorn bench.microbench.bare:app``), like the daemon's gateway.
"""

from __future__ import annotations

import orjson
from fastapi import FastAPI, Request
from starlette.responses import Response

app = FastAPI()


@app.post("/invoke/hello")
async def hello(request: Request) -> Response:
    # Parse the params and build the answer as hello does, so the baseline does the same HTTP+JSON work.
    params = orjson.loads(await request.body() or b"{}")
    name = params.get("name", "world") if isinstance(params, dict) else "world"
    return Response(orjson.dumps({"greeting": f"hello {name}"}), media_type="application/json")


@app.get("/healthz")
async def healthz() -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")
