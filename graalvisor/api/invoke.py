"""``POST /invoke/{name}``, the warm path: the call read straight from the ASGI scope and answered
with headers already in ASGI's form. Starlette's ``Request`` (its ``Headers``, ``QueryParams`` and
body stream) and ``Response`` (encoding each header) cost 11.8 µs of the event loop a call here,
these 0.9 (``timeit`` of a hello's request and answer, 2026-12-05). The front (front.py) calls
:meth:`InvokeEndpoint.answer`; the app's route calls the same through :meth:`InvokeEndpoint.route`."""

from __future__ import annotations

import time
from typing import Any

import orjson
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from graalvisor.api.auth import Authenticator, context_of
from graalvisor.api.errors import invocation_status
from graalvisor.daemon import Daemon, Invocation
from graalvisor.domain import Invalid, TooLarge, qualify
from graalvisor.domain.payloads import parse_params

FRESH_WORKERS = ("boot", "snapshot")  # ?worker=: a new worker for this call, for measuring cold starts
_JSON = (b"content-type", b"application/json")


class JsonAnswer(Response):
    """A JSON body already encoded (the function's result as the worker sent it) and its headers
    as ASGI has them: nothing is encoded again, no background task is looked for."""

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status_code = status
        self.body = body
        self.background = None
        self.raw_headers = [_JSON, (b"content-length", b"%d" % len(body)), *headers]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


class InvokeEndpoint:
    def __init__(self, daemon: Daemon, auth: Authenticator, limit: int) -> None:
        self.daemon = daemon
        self.auth = auth
        self.limit = limit  # the request body's most bytes

    async def route(self, request: Request) -> Response:
        """The app's Starlette route (documented in OpenAPI by app.py's _INVOKE_OPERATION)."""
        return await self.answer(request.scope, request.receive, request.path_params["name"])

    async def answer(self, scope: Scope, receive: Receive, name: str) -> Response:
        """Runs the function's latest version on the JSON params in the body. A bad request raises
        the DomainError its answer is made from (errors.domain_error_response)."""
        t0 = time.perf_counter()
        authorization = host = declared = None
        for key, value in scope["headers"]:  # ASGI: names in lower case, values latin-1 bytes
            if key == b"authorization":
                authorization = value.decode("latin-1")
            elif key == b"host":
                host = value.decode("latin-1")
            elif key == b"content-length":
                declared = value.decode("latin-1")
        subject = self.auth.subject(authorization)
        query: bytes = scope.get("query_string") or b""
        worker = QueryParams(query).get("worker") if query else None
        if worker is not None and worker not in FRESH_WORKERS:
            raise Invalid(f"worker must be one of {', '.join(FRESH_WORKERS)} (or left out), not {worker!r}")
        body = await receive_body(receive, declared, self.limit)
        context = context_of(scope.get("scheme", "http"), host, subject)
        record, inv = await self.daemon.invoke(qualify(subject.namespace, name), parse_params(body), worker, context)
        headers = [(b"x-invocation-id", record.id.encode()), (b"server-timing", server_timing(inv, t0))]
        if inv.start:
            headers.append((b"x-start", inv.start.encode()))
        if inv.status == "success":
            assert inv.result is not None
            return JsonAnswer(200, inv.result, headers)
        out: dict[str, Any] = {**(inv.error or {}), "invocation_id": record.id}
        if inv.logs:
            out["logs"] = inv.logs
        return JsonAnswer(invocation_status(inv.status), orjson.dumps(out), headers)


async def receive_body(receive: Receive, declared: str | None, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes: at once where Content-Length
    (``declared``) says so."""
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body of {declared} bytes is over the {limit} byte limit")
    chunks: list[bytes] = []  # joined once: one chunk, the usual case, is not copied
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is over the {limit} byte limit")
        if not message.get("more_body", False):
            return b"".join(chunks)


_SERVER_TIMING = (b"queue;dur=%.3f, load;dur=%.3f, start;dur=%.3f, run;dur=%.3f, jvm;dur=%.3f, "
                  b"worker;dur=%.3f, ipc;dur=%.3f, gateway;dur=%.3f")


def server_timing(inv: Invocation, t0: float) -> bytes:
    """Where the call's time went, in ms: each hop, and ``gateway``, all of it from the route's
    start to the response built (so what is left of the client's time is HTTP and the client).
    The header's bytes at once: one %-format, 1.6 µs, where an f-string and its encoding took 3.5."""
    gateway = (time.perf_counter() - t0) * 1000
    return _SERVER_TIMING % (inv.wait_ms, inv.load_ms, inv.init_ms, inv.run_ms, inv.jvm_ms, inv.worker_ms,
                             inv.ipc_ms, gateway)


__all__ = ["FRESH_WORKERS", "InvokeEndpoint", "JsonAnswer", "receive_body", "server_timing"]
