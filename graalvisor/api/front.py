"""The front door's warm path: ``POST /invoke/{name}`` goes from the ASGI server straight to its
endpoint, around FastAPI's middleware stack and router: at c=16 the event loop spent 211 µs of
CPU a call this way against 243 through FastAPI (DESIGN.md, the warm path). The endpoint and its
errors are the app's own: the same function, answered through the same error responses. Every
other request, and an invoke path the front does not take (a method other than POST, a name with
a slash), goes to the FastAPI app, which keeps the route for those answers (405, redirects, 404)
and for OpenAPI. Under ``serve --telemetry`` there is no front: FastAPI's middleware makes the
spans."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from graalvisor.api import errors
from graalvisor.api.invoke import InvokeEndpoint
from graalvisor.domain import DomainError

INVOKE_PATH = "/invoke/{name}"
_PREFIX = INVOKE_PATH.removesuffix("{name}")  # "/invoke/"


class InvokeFront:
    def __init__(self, app: FastAPI, endpoint: InvokeEndpoint) -> None:
        self.app = app
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            path: str = scope["path"]
            name = path[len(_PREFIX):]
            if path.startswith(_PREFIX) and name and "/" not in name:
                await self._invoke(scope, receive, send, name)
                return
        await self.app(scope, receive, send)

    async def _invoke(self, scope: Scope, receive: Receive, send: Send, name: str) -> None:
        scope["app"] = self.app
        scope["path_params"] = {"name": name}
        response: Response
        try:
            response = await self.endpoint.answer(scope, receive, name)
        except DomainError as exc:
            response = errors.domain_error_response(Request(scope, receive), exc)
        except Exception as exc:  # as the app's handler of last resort answers: a 500 with the cause, logged
            response = errors.crash_response(Request(scope, receive), exc)
        await response(scope, receive, send)


def front_door(app: FastAPI) -> InvokeFront:
    """The app behind its invoke front. The endpoint is the app's own, whose route create_app puts
    first in its router."""
    route = app.router.routes[0]
    endpoint = getattr(app.state, "invoke", None)
    if not (isinstance(route, Route) and route.path == INVOKE_PATH and isinstance(endpoint, InvokeEndpoint)):
        raise RuntimeError(f"the app's first route is not {INVOKE_PATH}")
    return InvokeFront(app, endpoint)


__all__ = ["INVOKE_PATH", "InvokeFront", "front_door"]
