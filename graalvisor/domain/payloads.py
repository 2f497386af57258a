"""What arrives in a request body, checked before anything runs: uploaded code and call params."""

from __future__ import annotations

import base64
import binascii

import orjson

from graalvisor.domain.errors import Invalid


def decode_code(code: str, binary: bool) -> bytes:
    """Source text as UTF-8 bytes, or the artifact a ``binary`` upload carries as base64."""
    if not binary:
        return code.encode("utf-8")
    try:
        return base64.b64decode(code, validate=True)
    except (binascii.Error, ValueError) as e:
        raise Invalid(f"code is not valid base64 (binary: true): {e}") from None


def parse_params(body: bytes) -> bytes:
    """The params of a call as JSON text (UTF-8): an object, or ``{}`` for an empty body."""
    if not body.strip():
        return b"{}"
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise Invalid(f"the request body is not JSON: {e}") from None
    if not isinstance(params, dict):
        raise Invalid(f"params must be a JSON object, not {type(params).__name__}")
    return body
