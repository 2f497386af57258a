"""Frames between the gateway and a worker.

Every frame starts with a 4-byte big-endian word: its kind in the top two bits, the length of
what follows in the other 30. The kind makes a reply read as a request (or the reverse) a
:class:`ProtocolError` instead of garbage.

Both kinds have one layout: a 4-byte length of the meta, the meta (one JSON object: the op and
its fields, or a reply with the request id), then a payload of raw bytes: a call's params on a
request, the function's result on a reply, as the caller or the guest wrote them. A payload is
never escaped into the meta nor parsed on the way, so it crosses once. No payload and an empty
payload read the same: a JSON value is never empty.

Requests carry an ``id``; the reply with the same ``id`` may come back in any order, so many
invocations are in flight on one connection.
"""

from __future__ import annotations

import asyncio
import enum
import socket
import struct
from collections.abc import Mapping
from typing import Any

import orjson

HEADER = struct.Struct(">I")
META = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
FIRST_READ = 256 * 1024
_KIND_SHIFT = 30
_LENGTH_MASK = (1 << _KIND_SHIFT) - 1


class Kind(enum.IntEnum):
    REQUEST = 1
    REPLY = 2  # 0 is no kind: a frame whose top bits are clear was written by something else


class ProtocolError(Exception):
    pass


def header(kind: Kind, length: int) -> bytes:
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over the {MAX_FRAME} limit")
    return HEADER.pack(kind << _KIND_SHIFT | length)


def encode_request(message: Mapping[str, Any], payload: bytes | None = None) -> bytes:
    meta = orjson.dumps(message)
    payload = payload or b""
    return b"".join((header(Kind.REQUEST, META.size + len(meta) + len(payload)), META.pack(len(meta)), meta, payload))


def encode_reply(meta: bytes, result: bytes | None = None) -> bytes:
    """``meta`` is one JSON object, already encoded; ``result`` goes as it is."""
    result = result or b""
    return b"".join((*reply_parts(meta, len(result)), result))


def reply_parts(meta: bytes, result_length: int) -> tuple[bytes, bytes, bytes]:
    """What goes before a result of ``result_length`` bytes: a worker writes these, then a big
    result from its own buffer, never copied into one buffer with them."""
    return header(Kind.REPLY, META.size + len(meta) + result_length), META.pack(len(meta)), meta


def _length(word: bytes, expected: Kind) -> int:
    (value,) = HEADER.unpack(word)
    kind, length = int(value) >> _KIND_SHIFT, int(value) & _LENGTH_MASK
    if kind != expected:
        raise ProtocolError(f"expected a {expected.name.lower()} frame, got one of kind {kind}")
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over the {MAX_FRAME} limit")
    return length


def json_object(body: bytes | memoryview) -> dict[str, Any]:
    """One JSON object, or a ProtocolError saying why not."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ProtocolError(f"a frame holds no valid JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return message


def _meta_length(frame_length: int, meta_word: bytes) -> int:
    if frame_length < META.size:
        raise ProtocolError("a frame is shorter than its meta length")
    (meta_length,) = META.unpack(meta_word)
    if META.size + meta_length > frame_length:
        raise ProtocolError(f"a frame's meta of {meta_length} bytes runs past its frame")
    return int(meta_length)


def split_body(body: bytes) -> tuple[dict[str, Any], bytes | None]:
    """Splits a frame's body into its meta (parsed) and its payload (left as bytes)."""
    end = META.size + _meta_length(len(body), body[:META.size])
    return json_object(memoryview(body)[META.size:end]), (body[end:] or None)


async def read_reply(reader: asyncio.StreamReader) -> tuple[dict[str, Any], bytes | None]:
    """The gateway's read; raises asyncio.IncompleteReadError at end of stream. The parts are
    read one by one so the result is never copied out of a bigger buffer."""
    length = _length(await reader.readexactly(HEADER.size), Kind.REPLY)
    if length < META.size:
        raise ProtocolError("a reply frame is shorter than its meta length")
    meta_length = _meta_length(length, await reader.readexactly(META.size))
    meta = json_object(await reader.readexactly(meta_length))
    rest = length - META.size - meta_length
    return meta, (await reader.readexactly(rest) if rest else None)


def recv_request(sock: socket.socket) -> tuple[dict[str, Any], bytes | None] | None:
    """The worker's blocking read: the meta and the payload; None at end of stream."""
    word = _recv_exactly(sock, HEADER.size)
    if word is None:
        return None
    body = _recv_exactly(sock, _length(word, Kind.REQUEST))
    if body is None:
        raise ProtocolError("connection closed inside a frame")
    return split_body(body)


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    # Nearly always the whole of it: one call, no buffer to copy out of (a big frame's first
    # read is capped: recv allocates all it is asked for).
    first = sock.recv(min(n, FIRST_READ))
    if len(first) == n or not first:
        return first or None
    buffer = bytearray(n)
    buffer[:len(first)] = first
    view, got = memoryview(buffer), len(first)
    while got < n:
        received = sock.recv_into(view[got:])
        if not received:
            return None
        got += received
    return bytes(buffer)
