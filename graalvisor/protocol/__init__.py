"""Frames between the gateway and a worker: a 4-byte big-endian length, then one orjson object.

Requests carry an ``id``; the answer with the same ``id`` may come back in any order, so
many invocations are in flight on one connection.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from typing import Any

import orjson

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024


class ProtocolError(Exception):
    pass


def encode(message: dict[str, Any]) -> bytes:
    body = orjson.dumps(message)
    return HEADER.pack(len(body)) + body


def _decode(body: bytes) -> dict[str, Any]:
    message = orjson.loads(body)
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return message


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any]:
    """Reads one frame; raises asyncio.IncompleteReadError at end of stream."""
    (length,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over the {MAX_FRAME} limit")
    return _decode(await reader.readexactly(length))


def recv_frame(sock: socket.socket) -> dict[str, Any] | None:
    """Blocking read for the worker; None at end of stream."""
    header = _recv_exactly(sock, HEADER.size)
    if header is None:
        return None
    (length,) = HEADER.unpack(header)
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over the {MAX_FRAME} limit")
    body = _recv_exactly(sock, length)
    if body is None:
        raise ProtocolError("connection closed inside a frame")
    return _decode(body)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < n:
        chunk = sock.recv(n - len(chunks))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)
