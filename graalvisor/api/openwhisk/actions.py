"""OpenWhisk's action and activation API, under ``/api/v1/namespaces/{namespace}/``: what its
clients (the npm ``openwhisk`` package, the ``wsk`` CLI) call. Actions are graalvisor functions;
activations are invocation records."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from graalvisor.api.auth import Caller, call_context, namespace_of
from graalvisor.api.errors import json_response
from graalvisor.api.openwhisk import shapes
from graalvisor.daemon import Daemon
from graalvisor.domain import Conflict, Invalid, NotFound, Subject, check_name, qualify
from graalvisor.domain.payloads import parse_params
from graalvisor.registry import FunctionVersion, InvocationRecord

MISSING = "The requested resource does not exist."


def router(daemon: Daemon, read_body: Any, blocking_wait_s: float) -> APIRouter:
    api = APIRouter(prefix="/api/v1", tags=["openwhisk"])

    def action_name(subject: Subject, namespace: str, name: str) -> str:
        if "/" in name:
            raise Invalid(f"'{name}' names an action in a package: graalvisor has no packages, use a plain name")
        check_name(name)
        return qualify(namespace_of(subject, namespace), name)

    @api.get("")
    async def info() -> Response:
        """What OpenWhisk answers at /api/v1: the API's paths, and the runtimes it runs."""
        runtimes = {family: [{"kind": shapes.DEFAULT_KINDS[language], "default": True}]
                    for family, language in shapes.KIND_LANGUAGES.items()}
        return json_response(200, {"description": "graalvisor: OpenWhisk's API over GraalVM isolates",
                                   "api_paths": ["/api/v1"], "runtimes": runtimes,
                                   "limits": {"actions_per_minute": None, "concurrent_actions": None}})

    @api.get("/namespaces")
    async def namespaces(subject: Caller) -> Response:
        return Response(orjson.dumps([subject.namespace]), media_type="application/json")

    @api.get("/namespaces/{namespace}/actions")
    async def list_actions(namespace: str, subject: Caller, limit: Annotated[int, Query(ge=0, le=200)] = 30,
                           skip: Annotated[int, Query(ge=0)] = 0, count: bool = False) -> Response:
        versions = sorted(daemon.versions(namespace_of(subject, namespace)), key=lambda v: v.created_at, reverse=True)
        if count:
            return json_response(200, {"actions": len(versions)})
        page = versions[skip:skip + limit] if limit else versions[skip:]
        return Response(orjson.dumps([shapes.action(v) for v in page]), media_type="application/json")

    @api.get("/namespaces/{namespace}/actions/{name:path}")
    async def get_action(namespace: str, name: str, subject: Caller, code: bool = True) -> Response:
        version = daemon.latest(action_name(subject, namespace, name))
        artifact = await daemon.artifact(version) if code else None
        return json_response(200, shapes.action(version, artifact))

    @api.put("/namespaces/{namespace}/actions/{name:path}")
    async def put_action(namespace: str, name: str, request: Request, subject: Caller,
                         overwrite: bool = False) -> Response:
        qualified = action_name(subject, namespace, name)
        try:
            body = orjson.loads(await read_body(request) or b"{}")
        except orjson.JSONDecodeError as e:
            raise Invalid(f"the request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise Invalid("the action must be a JSON object: {exec, parameters, annotations, limits}")
        current = None
        try:
            current = daemon.latest(qualified)
        except NotFound:
            pass
        if current is not None and not overwrite:
            raise Conflict("resource already exists: update it with ?overwrite=true")
        upload = shapes.upload_of(body, current)
        if upload.code is None or upload.language is None:
            assert current is not None  # upload_of refuses a new action without exec
            language, code = current.language, await daemon.artifact(current)
        else:
            language, code = upload.language, upload.code
        version, _ = await daemon.deploy(qualified, language, upload.config, code)
        return json_response(200, shapes.action(version))

    @api.delete("/namespaces/{namespace}/actions/{name:path}")
    async def delete_action(namespace: str, name: str, subject: Caller) -> Response:
        qualified = action_name(subject, namespace, name)
        version = daemon.latest(qualified)
        await daemon.delete(qualified)
        return json_response(200, shapes.action(version))

    @api.post("/namespaces/{namespace}/actions/{name:path}")
    async def invoke_action(namespace: str, name: str, request: Request, subject: Caller,
                            blocking: bool = False, result: bool = False) -> Response:
        qualified = action_name(subject, namespace, name)
        params = parse_params(await read_body(request))
        call = daemon.accept(qualified, params, call_context(request, subject))
        task = daemon.submit(call)
        if not blocking:
            return json_response(202, {"activationId": call.record.id})
        try:
            record, _ = await asyncio.wait_for(asyncio.shield(task), blocking_wait_s)
        except TimeoutError:  # OpenWhisk's answer to a blocking call that outlasts its wait
            return json_response(202, {"activationId": call.record.id})
        doc = shapes.activation(record, call.entry.version)
        status = 200 if doc["statusCode"] == shapes.SUCCESS else 502
        if doc["statusCode"] == shapes.INTERNAL_ERROR:
            status = 503
        headers = {"X-Invocation-Id": record.id}
        return json_response(status, doc["response"]["result"] if result else doc, headers)

    @api.get("/namespaces/{namespace}/activations")
    async def list_activations(namespace: str, subject: Caller, name: str | None = None,
                               limit: Annotated[int, Query(ge=0, le=200)] = 30, skip: Annotated[int, Query(ge=0)] = 0,
                               since: int | None = None, upto: int | None = None, docs: bool = False,
                               count: bool = False) -> Response:
        ns = namespace_of(subject, namespace)
        if name is not None:
            name = name.rsplit("/", 1)[-1]
        records = await daemon.invocations_in(ns, name, since / 1000 if since is not None else None,
                                              upto / 1000 if upto is not None else None,
                                              limit or 200, skip)
        done = [r for r in records if r.status != "running"]
        if count:
            return json_response(200, {"activations": len(done)})
        versions: dict[tuple[str, int], FunctionVersion | None] = {}
        for r in done:  # one look-up per version, however many of its records are listed
            if (r.function, r.version) not in versions:
                versions[r.function, r.version] = await daemon.version(r.function, r.version)
        out = [shapes.activation(r, versions[r.function, r.version], docs) for r in done]
        return Response(orjson.dumps(out), media_type="application/json")

    async def finished(subject: Subject, namespace: str, activation_id: str) -> InvocationRecord:
        """OpenWhisk knows an activation once it has ended: a running one is not found yet."""
        try:
            record = await daemon.invocation(namespace_of(subject, namespace), activation_id)
        except NotFound:
            raise NotFound(MISSING) from None
        if record.status == "running":
            raise NotFound(MISSING)
        return record

    @api.get("/namespaces/{namespace}/activations/{activation_id}")
    async def get_activation(namespace: str, activation_id: str, subject: Caller) -> Response:
        record = await finished(subject, namespace, activation_id)
        return json_response(200, shapes.activation(record, await daemon.version(record.function, record.version)))

    @api.get("/namespaces/{namespace}/activations/{activation_id}/logs")
    async def activation_logs(namespace: str, activation_id: str, subject: Caller) -> Response:
        record = await finished(subject, namespace, activation_id)
        return json_response(200, {"logs": record.logs})

    @api.get("/namespaces/{namespace}/activations/{activation_id}/result")
    async def activation_result(namespace: str, activation_id: str, subject: Caller) -> Response:
        record = await finished(subject, namespace, activation_id)
        version = await daemon.version(record.function, record.version)
        return json_response(200, shapes.response(*shapes.outcome(record, version.timeout_ms if version else None)))

    return api
