"""Web actions: ``/api/v1/web/{namespace}/default/{action}[.json|.http|.text|.html|.svg]`` serves
an action annotated ``web-export`` as an HTTP endpoint, OpenWhisk's way. The request arrives as
params (``__ow_method``, ``__ow_headers``, ``__ow_path``; the query and a JSON or form body merged
in, or ``__ow_query`` and ``__ow_body`` raw where the action is annotated ``raw-http``), and with
``.http`` a result ``{statusCode, headers, body}`` is the response. Web actions are public, as on
OpenWhisk, unless annotated ``require-whisk-auth`` (true: a key of the action's namespace; a
string: that value in the ``X-Require-Whisk-Auth`` header)."""

from __future__ import annotations

import base64
import binascii
import hmac
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from graalvisor.api.auth import Authenticator, call_context
from graalvisor.api.errors import error_response
from graalvisor.daemon import Daemon
from graalvisor.domain import ANONYMOUS, Forbidden, Invalid, NotFound, Subject, Unauthorized, qualify
from graalvisor.registry import FunctionVersion

EXTENSIONS = ("json", "http", "text", "html", "svg")
TEXT_TYPES = ("text/", "application/json", "application/javascript", "application/xml", "image/svg+xml")
MISSING = "The requested resource does not exist."


def router(daemon: Daemon, auth: Authenticator, read_body: Any) -> APIRouter:
    api = APIRouter(prefix="/api/v1/web", tags=["openwhisk"])

    @api.api_route("/{namespace}/{package}/{target:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH",
                                                                    "HEAD", "OPTIONS"])
    async def web_action(namespace: str, package: str, target: str, request: Request) -> Response:
        first, _, rest = target.partition("/")
        name, _, extension = first.partition(".")
        extension = extension or "http"
        if package != "default" or extension not in EXTENSIONS:
            raise NotFound(MISSING if package == "default" else "graalvisor has no packages: use /default/")
        try:
            version = daemon.latest(qualify(namespace, name))
        except NotFound:
            raise NotFound(MISSING) from None
        if version.annotations.get("web-export") is not True:
            raise NotFound(MISSING)  # as OpenWhisk: an action not exported is not there at all
        subject = _authorize(auth, request, version, namespace)
        params = await _params(request, read_body, version, "/" + rest if rest else "")
        if subject.key_uuid is not None:  # an action that asked for authentication learns who called
            params["__ow_user"] = subject.namespace
        record, _ = await daemon.invoke(version.name, orjson.dumps(params), None, call_context(request, subject))
        if record.status != "success":
            message = (record.error or {}).get("error", record.status)
            return error_response(request, 502, f"the action failed: {message}",
                                  {"activationId": record.id})
        result = orjson.loads(record.result) if record.result else {}
        return _respond(request, extension, result, record.id)

    return api


def _authorize(auth: Authenticator, request: Request, version: FunctionVersion, namespace: str) -> Subject:
    required = version.annotations.get("require-whisk-auth")
    if required is None or required is False:
        return ANONYMOUS
    if isinstance(required, str | int) and not isinstance(required, bool):
        given = request.headers.get("x-require-whisk-auth", "")
        if not hmac.compare_digest(given.encode(), str(required).encode()):
            raise Unauthorized("this web action needs its secret in the X-Require-Whisk-Auth header")
        return ANONYMOUS
    subject = auth.subject(request.headers.get("authorization"))
    if subject.key_uuid is not None and subject.namespace != namespace:
        raise Forbidden(f"the key given belongs to namespace '{subject.namespace}', not '{namespace}'")
    return subject


async def _params(request: Request, read_body: Any, version: FunctionVersion, path: str) -> dict[str, Any]:
    body: bytes = await read_body(request)
    headers = {k.lower(): v for k, v in request.headers.items() if k.lower() != "authorization"}
    params: dict[str, Any] = {"__ow_method": request.method.lower(), "__ow_headers": headers, "__ow_path": path}
    content_type = request.headers.get("content-type", "")
    if version.annotations.get("raw-http") is True:
        params["__ow_query"] = request.url.query
        if body:
            params["__ow_body"] = (body.decode(errors="replace") if content_type.startswith(TEXT_TYPES)
                                   else base64.b64encode(body).decode())
        return params
    merged: dict[str, Any] = dict(parse_qsl(request.url.query, keep_blank_values=True))
    if body:
        if content_type.startswith("application/json"):
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError as e:
                raise Invalid(f"the request body is not JSON: {e}") from None
            if isinstance(value, dict):
                merged.update(value)
            else:
                params["__ow_body"] = value
        elif content_type.startswith("application/x-www-form-urlencoded"):
            merged.update(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
        elif content_type.startswith(TEXT_TYPES):
            params["__ow_body"] = body.decode(errors="replace")
        else:
            params["__ow_body"] = base64.b64encode(body).decode()
    # As on OpenWhisk, a request may not set the __ow_ fields itself (the version's default
    # parameters go under all of it, in Daemon.accept).
    taken = sorted(k for k in merged if k.startswith("__ow_"))
    if taken:
        raise Invalid(f"a web request may not set {', '.join(taken)}: the __ow_ parameters are the platform's")
    return {**merged, **params}


def _respond(request: Request, extension: str, result: Any, activation_id: str) -> Response:
    headers = {"X-Invocation-Id": activation_id}
    if extension == "json":
        return Response(orjson.dumps(result), media_type="application/json", headers=headers)
    if extension in ("text", "html", "svg"):
        media = {"text": "text/plain", "html": "text/html", "svg": "image/svg+xml"}[extension]
        value = result.get(extension) if isinstance(result, dict) else None  # .text reads "text", ...
        if not isinstance(value, str):
            return error_response(request, 400, f"the action's result has no string field '{extension}'")
        return Response(value, media_type=media, headers=headers)
    if not isinstance(result, dict):
        return error_response(request, 502, "a .http web action must return an object {statusCode, headers, body}")
    status = result.get("statusCode", result.get("code"))
    out_headers = result.get("headers") or {}
    if not isinstance(out_headers, dict) or (status is not None and not isinstance(status, int)):
        return error_response(request, 502, "the action's statusCode must be a number and headers an object")
    headers.update({str(k): str(v) for k, v in out_headers.items()})
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
    if "body" not in result:
        return Response(b"", status_code=status or 204, headers=headers)
    body = result["body"]
    if isinstance(body, dict | list):
        media = content_type or "application/json"
        return Response(orjson.dumps(body), status_code=status or 200, media_type=media, headers=headers)
    text = body if isinstance(body, str) else orjson.dumps(body).decode()
    if content_type and not content_type.startswith(TEXT_TYPES):
        try:  # a binary type: OpenWhisk's actions send such bodies base64-encoded
            return Response(base64.b64decode(text, validate=True), status_code=status or 200, headers=headers)
        except (binascii.Error, ValueError):
            return error_response(request, 502, f"a {content_type} body must be base64-encoded")
    return Response(text, status_code=status or 200, media_type=content_type or "text/html", headers=headers)
