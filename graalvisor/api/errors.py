"""The one place errors become HTTP: every error leaves as JSON ``{"error": "...", ...}`` with a
status a client can act on."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from graalvisor.domain import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge, Unauthorized, Unavailable

log = logging.getLogger("graalvisor.api")

DOMAIN_STATUS: dict[type[DomainError], int] = {Invalid: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404,
                                               Conflict: 409, TooLarge: 413, Unavailable: 503}
# How an invocation that did not succeed is answered: the function failed (502), ran out of
# time (504), or could not be placed at all (503: retry later).
INVOCATION_STATUS = {"success": 200, "error": 502, "load_error": 502, "worker_lost": 502, "timeout": 504,
                     "unavailable": 503}


def domain_status(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return 500


def invocation_status(status: str) -> int:
    return INVOCATION_STATUS.get(status, 502)


def request_code(request: Request) -> str:
    """OpenWhisk answers every error with a code naming the request (its transaction id)."""
    code: str | None = getattr(request.state, "code", None)
    if code is None:
        code = request.state.code = uuid.uuid4().hex
    return code


def error_response(request: Request, status: int, message: str, extra: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    """``{"error": ...}``; under OpenWhisk's API (/api/v1) also its ``code``, naming the request."""
    body: dict[str, Any] = {"error": message, **(extra or {})}
    if request.url.path.startswith("/api/v1/"):
        body["code"] = request_code(request)
    return json_response(status, body, headers)


def json_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def domain_error_response(request: Request, exc: DomainError) -> Response:
    status = domain_status(exc)
    headers = {"WWW-Authenticate": 'Basic realm="graalvisor"'} if status == 401 else None
    return error_response(request, status, exc.message, exc.extra, headers)


def crash_response(request: Request, exc: Exception) -> Response:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(request, 500, f"internal error: {type(exc).__name__}: {exc}")


def install(app: FastAPI) -> None:
    """The app's handlers; the invoke front (front.py) answers with the same two functions."""
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return domain_error_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such route; see /docs for the API"
        return error_response(request, exc.status_code, message, headers=dict(exc.headers or {}))  # a 405: Allow

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        return error_response(request, 400, "invalid request: " + "; ".join(problems))

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        return crash_response(request, exc)
