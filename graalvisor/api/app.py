"""Routes. Each one reads the request, calls the daemon, and shapes the answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.responses import Response
from starlette.routing import Route

from graalvisor import __version__
from graalvisor.api import errors, openwhisk
from graalvisor.api.auth import Authenticator, Caller
from graalvisor.api.errors import json_response
from graalvisor.api.front import INVOKE_PATH
from graalvisor.api.invoke import FRESH_WORKERS, InvokeEndpoint, receive_body
from graalvisor.api.models import MAX_WARMUP_SAMPLES, FunctionUpload, Warmup
from graalvisor.config import Config
from graalvisor.daemon import Daemon
from graalvisor.domain import FunctionConfig, Invalid, check_name, qualify
from graalvisor.domain.payloads import decode_code
from graalvisor.pool import DEFAULT_WARMUP, MAX_WARMUP


def create_app(config: Config, loopback: bool = True) -> FastAPI:
    """``loopback``: the daemon listens on loopback only, so without any API key it may serve
    without authentication (see auth.py)."""
    daemon = Daemon(config)
    auth = Authenticator(daemon.keys, loopback)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await daemon.start()
        try:
            yield
        finally:
            await daemon.stop()

    telemetry: TelemetryConfig | None = None if config.telemetry else _NO_TELEMETRY
    app = FastAPI(title="graalvisor", version=__version__, lifespan=lifespan, telemetry=telemetry,
                  description="Polyglot serverless functions in GraalVM isolates.")
    app.state.daemon = daemon
    app.state.auth = auth
    errors.install(app)
    limit = config.max_request_bytes

    @app.put("/functions/{name}", status_code=201, openapi_extra=_UPLOAD_DOC)
    async def put_function(
        name: str, request: Request, subject: Caller,
        language: Annotated[Literal["js", "python", "java"] | None, Query()] = None,
        entrypoint: str | None = None, timeout_ms: int | None = None, memory_mb: int | None = None,
        concurrency: int | None = None, isolation: Literal["instance", "invocation"] | None = None,
    ) -> Response:
        """Create or update a function; every update is a new immutable version. A raw body
        takes its settings from the query; a setting left out has the function model's default."""
        check_name(name)
        body = await _read_body(request, limit)
        if request.headers.get("content-type", "").startswith("application/json"):
            try:
                upload = FunctionUpload.model_validate_json(body)
            except ValidationError as e:
                raise Invalid("invalid upload: " + _problems(e)) from None
            config = FunctionConfig.model_validate(upload.model_dump(exclude={"language", "code", "binary", "warmup"}))
            warmup = upload.warmup.samples() if upload.warmup is not None else ()
            version, created = await daemon.deploy(qualify(subject.namespace, name), upload.language, config,
                                                   decode_code(upload.code, upload.binary), warmup)
        else:
            if language is None:
                raise Invalid("a raw upload needs ?language=js|python|java (or send JSON with a language field)")
            if not body:
                raise Invalid("the upload is empty")
            given = {"entrypoint": entrypoint, "timeout_ms": timeout_ms, "memory_mb": memory_mb,
                     "concurrency": concurrency, "isolation": isolation}
            try:
                config = FunctionConfig.model_validate({k: v for k, v in given.items() if v is not None})
            except ValidationError as e:
                raise Invalid("invalid upload: " + _problems(e)) from None
            version, created = await daemon.deploy(qualify(subject.namespace, name), language, config, body)
        return json_response(201 if created else 200, {"name": name, **version.to_dict()})

    @app.get("/functions")
    async def list_functions(subject: Caller) -> Response:
        return json_response(200, {"functions": daemon.list_functions(subject.namespace)})

    @app.get("/functions/{name}")
    async def get_function(name: str, subject: Caller) -> Response:
        return json_response(200, await daemon.describe(qualify(subject.namespace, name)))

    @app.delete("/functions/{name}")
    async def delete_function(name: str, subject: Caller) -> Response:
        await daemon.delete(qualify(subject.namespace, name))
        return json_response(200, {"deleted": name})

    @app.post("/functions/{name}/snapshot", status_code=201)
    async def snapshot_function(name: str, request: Request, subject: Caller) -> Response:
        """Dump a warmed worker with this function loaded; new workers for it restore from the image.
        Optional JSON body: {"params": {...} or [{...}, ...] (warm-up params, or up to 16 samples
        taken in turn), "warmup": N (invocations, default 500, at most 10000; the warm-up stops
        early once it has run 10 s)}."""
        body = await _read_body(request, limit)
        try:
            options = orjson.loads(body) if body.strip() else {}
        except orjson.JSONDecodeError as e:
            raise Invalid(f"the request body is not JSON: {e}") from None
        if not isinstance(options, dict):
            raise Invalid('body must be {"params": {...}, "warmup": N}')
        try:
            samples = Warmup.model_validate({"params": options.get("params", {})}).samples()
        except ValidationError:
            raise Invalid(f"params must be an object or a list of 1 to {MAX_WARMUP_SAMPLES} objects") from None
        warmup = options.get("warmup", DEFAULT_WARMUP)
        if not isinstance(warmup, int) or isinstance(warmup, bool) or not 0 <= warmup <= MAX_WARMUP:
            raise Invalid(f"warmup must be an integer from 0 to {MAX_WARMUP}")
        return json_response(201, await daemon.snapshot_function(qualify(subject.namespace, name),
                                                                 samples, warmup))

    @app.get("/snapshots")
    async def list_snapshots(subject: Caller) -> Response:
        return json_response(200, {"snapshots": daemon.list_snapshots(subject)})

    @app.delete("/snapshots/{snap_id}")
    async def delete_snapshot(snap_id: str, subject: Caller) -> Response:
        daemon.delete_snapshot(subject, snap_id)
        return json_response(200, {"deleted": snap_id})

    # The warm path (invoke.py). First in the router, where front.py's InvokeFront checks it is; the
    # front calls the endpoint straight from the ASGI server, and what it does not take (another
    # method, a name with a slash) comes to this route.
    app.state.invoke = endpoint = InvokeEndpoint(daemon, auth, limit)
    app.router.routes.insert(0, Route(INVOKE_PATH, endpoint.route, methods=["POST"]))

    async def read_body(request: Request) -> bytes:
        return await _read_body(request, limit)

    app.include_router(openwhisk.actions_router(daemon, read_body, config.blocking_wait_s))
    app.include_router(openwhisk.web_router(daemon, auth, read_body))

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema["paths"][INVOKE_PATH] = {"post": _INVOKE_OPERATION}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/invocations/{invocation_id}")
    async def get_invocation(invocation_id: str, subject: Caller) -> Response:
        record = await daemon.invocation(subject.namespace, invocation_id)
        return json_response(200, record.to_dict())

    @app.get("/functions/{name}/invocations")
    async def recent_invocations(name: str, subject: Caller, limit: int = 20) -> Response:
        records = await daemon.recent_invocations(qualify(subject.namespace, name), max(1, min(limit, 1000)))
        return json_response(200, {"invocations": [r.to_dict() for r in records]})

    @app.get("/healthz")
    async def healthz() -> Response:
        health = daemon.health()
        return json_response(200 if health["status"] == "ok" else 503, health)

    @app.get("/metrics")
    async def metrics(_: Caller) -> Response:
        daemon.update_metrics()
        return Response(generate_latest(daemon.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    return await receive_body(request.receive, request.headers.get("content-length"), limit)


def _problems(e: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in e.errors())


_UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {"content": {
        "application/json": {"schema": FunctionUpload.model_json_schema()},
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
    }}
}
_NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}
_INVOKE_OPERATION: dict[str, Any] = {
    "summary": "Invoke",
    "description": "Run the function's latest version on the JSON params in the body; the answer is its JSON "
                   "result. Server-Timing says where the time went (queue, load, start, run, jvm, worker, ipc, "
                   "gateway), X-Invocation-Id names the record, X-Start the kind of start (warm, isolate, snapshot, "
                   "boot).",
    "parameters": [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
        {"name": "worker", "in": "query", "required": False,
         "description": "start a new worker for this call (boot or restore): for measuring cold starts",
         "schema": {"type": "string", "enum": list(FRESH_WORKERS)}},
    ],
    "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
    "responses": {"200": {"description": "the function's result"},
                  "400": {"description": "the params are not a JSON object"},
                  "404": {"description": "no such function"},
                  "502": {"description": "the function failed (error, exit, load error)"},
                  "503": {"description": "no worker or slot within the queue timeout"},
                  "504": {"description": "the function ran past its timeout"}},
}

__all__ = ["create_app"]
