"""Who is calling. HTTP Basic ``uuid:key`` as OpenWhisk's clients send it, or ``Bearer uuid:key``.
A daemon with no keys at all serves everyone as the default namespace, and only on loopback; once
any key exists every call needs one. Answers are cached for a second, so a key created or revoked
with ``graalvisor keys`` counts within a second, and a warm call pays a dict look-up."""

from __future__ import annotations

import base64
import binascii
import time
from typing import Annotated

from fastapi import Depends, Request

from graalvisor.domain import ANONYMOUS, Forbidden, Subject, Unauthorized
from graalvisor.registry import KeyStore

CACHE_S = 1.0
HINT = "create one with `graalvisor keys create NAMESPACE` and send it as HTTP Basic uuid:key"


class Authenticator:
    def __init__(self, keys: KeyStore, loopback: bool) -> None:
        self.keys = keys
        self.loopback = loopback
        self._any_keys = (False, 0.0)  # (answer, when it expires)
        self._verified: dict[str, tuple[Subject | None, float]] = {}

    def any_keys(self) -> bool:
        answer, expires = self._any_keys
        now = time.monotonic()
        if now >= expires:
            answer = self.keys.count() > 0
            self._any_keys = (answer, now + CACHE_S)
        return answer

    def subject(self, authorization: str | None) -> Subject:
        if not self.any_keys():
            if self.loopback:
                return ANONYMOUS
            raise Unauthorized(f"this daemon has no API keys and listens beyond loopback, so it serves no one: {HINT}")
        if not authorization:
            raise Unauthorized(f"an API key is needed: {HINT}")
        now = time.monotonic()
        cached = self._verified.get(authorization)
        if cached is None or now >= cached[1]:
            cached = (self._check(authorization), now + CACHE_S)
            if len(self._verified) > 10_000:
                self._verified.clear()
            self._verified[authorization] = cached
        if cached[0] is None:
            raise Unauthorized("the API key is not valid (unknown, revoked or malformed): send HTTP Basic uuid:key")
        return cached[0]

    def _check(self, authorization: str) -> Subject | None:
        scheme, _, value = authorization.strip().partition(" ")
        credential = value.strip()
        if scheme.lower() == "basic":
            try:
                credential = base64.b64decode(credential, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
        elif scheme.lower() != "bearer":
            return None
        key_uuid, sep, secret = credential.partition(":")
        if not sep:
            return None
        namespace = self.keys.verify(key_uuid, secret)
        return None if namespace is None else Subject(namespace, key_uuid, credential)


def caller(request: Request) -> Subject:
    """The FastAPI dependency: the authenticated subject of this request."""
    auth: Authenticator = request.app.state.auth
    return auth.subject(request.headers.get("authorization"))


Caller = Annotated[Subject, Depends(caller)]  # a route's parameter: who is calling


def namespace_of(subject: Subject, namespace: str) -> str:
    """The namespace a path names, as OpenWhisk reads it: ``_`` is the caller's own; another one is
    refused unless the daemon has no keys (then it has one tenant, who may use any)."""
    if namespace == "_" or namespace == subject.namespace:
        return subject.namespace
    if subject.key_uuid is None:
        return namespace
    raise Forbidden(f"the key given belongs to namespace '{subject.namespace}', not '{namespace}'")


def call_context(request: Request, subject: Subject) -> dict[str, str]:
    """What a call learns of where it came from (``__OW_API_HOST``, and ``__OW_API_KEY`` where its
    version has the annotation provide-api-key: the daemon decides)."""
    return context_of(request.scope.get("scheme", "http"), request.headers.get("host"), subject)


def context_of(scheme: str, host: str | None, subject: Subject) -> dict[str, str]:
    """:func:`call_context` from the request's scheme and Host header."""
    context = {"API_HOST": f"{scheme}://{host or ''}"}
    if subject.credential is not None:
        context["API_KEY"] = subject.credential
    return context
