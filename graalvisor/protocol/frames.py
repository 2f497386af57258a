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

import collections
import enum
import socket
import struct
from collections.abc import Mapping
from typing import Any

import orjson

HEADER = struct.Struct(">I")
META = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024
READ_SIZE = 64 * 1024  # what the worker reads at most at a time, into one reused buffer
_KIND_SHIFT = 30
_LENGTH_MASK = (1 << _KIND_SHIFT) - 1


class Kind(enum.IntEnum):
    REQUEST = 1
    REPLY = 2  # 0 is no kind: a frame whose top bits are clear was written by something else


class ProtocolError(Exception):
    pass


_REQUEST_BITS = int(Kind.REQUEST) << _KIND_SHIFT
_HEADER_AND_META = struct.Struct(">II")  # a frame's header word and its meta's length, packed at once


def _checked(length: int) -> int:
    if length > MAX_FRAME:
        raise ProtocolError(f"frame of {length} bytes is over the {MAX_FRAME} limit")
    return length


def header(kind: Kind, length: int) -> bytes:
    return HEADER.pack(kind << _KIND_SHIFT | _checked(length))


def encode_request(message: Mapping[str, Any], payload: bytes | None = None) -> bytes:
    meta = orjson.dumps(message)
    payload = payload or b""
    length = _checked(META.size + len(meta) + len(payload))
    return b"".join((_HEADER_AND_META.pack(_REQUEST_BITS | length, len(meta)), meta, payload))


def encode_reply(meta: bytes, result: bytes | None = None) -> bytes:
    """``meta`` is one JSON object, already encoded; ``result`` goes as it is."""
    result = result or b""
    return b"".join((*reply_parts(meta, len(result)), result))


def reply_parts(meta: bytes, result_length: int) -> tuple[bytes, bytes, bytes]:
    """What goes before a result of ``result_length`` bytes: a worker writes these, then a big
    result from its own buffer, never copied into one buffer with them."""
    return header(Kind.REPLY, META.size + len(meta) + result_length), META.pack(len(meta)), meta


def _length(word: int, expected: Kind) -> int:
    """The length a frame's header word gives, checked against the kind expected and the limit."""
    kind, length = word >> _KIND_SHIFT, word & _LENGTH_MASK
    if kind != expected:
        raise ProtocolError(f"expected a {expected.name.lower()} frame, got one of kind {kind}")
    return _checked(length)


def json_object(body: bytes | memoryview) -> dict[str, Any]:
    """One JSON object, or a ProtocolError saying why not."""
    try:
        message = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ProtocolError(f"a frame holds no valid JSON: {e}") from None
    if not isinstance(message, dict):
        raise ProtocolError("a frame must hold a JSON object")
    return message


def _meta_length(frame_length: int, meta_word: bytes | memoryview) -> int:
    if frame_length < META.size:
        raise ProtocolError("a frame is shorter than its meta length")
    (meta_length,) = META.unpack(meta_word)
    if META.size + meta_length > frame_length:
        raise ProtocolError(f"a frame's meta of {meta_length} bytes runs past its frame")
    return int(meta_length)


def split_body(body: bytes) -> tuple[dict[str, Any], bytes | None]:
    """Splits a frame's body into its meta (parsed) and its payload (left as bytes)."""
    return _split(memoryview(body), 0, len(body))


def _split(view: memoryview, start: int, end: int) -> tuple[dict[str, Any], bytes | None]:
    """The body in ``view[start:end]``: its meta and a copy of its payload."""
    meta_end = start + META.size + _meta_length(end - start, view[start:start + META.size])
    return json_object(view[start + META.size:meta_end]), (bytes(view[meta_end:end]) or None)


class FrameSplitter:
    """Cuts a stream into frames of one kind as its bytes arrive: an asyncio Protocol hands each
    chunk to :meth:`feed` and gets the frames it completed, with no task and no await between
    the bytes and their reader. A chunk of whole frames (the usual case: a reply is one write)
    is never copied into the buffer; a frame in many chunks is copied into it once, and its
    payload out of it once, as a StreamReader's ``readexactly`` did."""

    def __init__(self, kind: Kind) -> None:
        self._kind = kind
        self._buffer = bytearray()
        self._need = 0  # bytes the buffered frame needs in all, once its header is in

    @property
    def buffered(self) -> int:
        """Bytes of a frame begun and not yet complete (at end of stream: a frame cut short)."""
        return len(self._buffer)

    def feed(self, data: bytes | memoryview) -> list[tuple[dict[str, Any], bytes | None]]:
        """The frames ``data`` completes, in order, each as its meta (parsed) and its payload.
        Nothing keeps ``data`` after the call: a reader may pass a view of a buffer it reuses."""
        chunk: bytes | bytearray | memoryview = data
        if self._buffer:
            self._buffer += data
            if len(self._buffer) < self._need:
                return []
            chunk, self._buffer = self._buffer, bytearray()
        view = memoryview(chunk)
        frames = []
        start, end = 0, len(chunk)
        while end - start >= HEADER.size:
            (word,) = HEADER.unpack_from(view, start)
            length = _length(word, self._kind)
            if end - start - HEADER.size < length:
                break
            frames.append(_split(view, start + HEADER.size, start + HEADER.size + length))
            start += HEADER.size + length
        if start < end:
            self._buffer += view[start:]
            self._need = HEADER.size + length if end - start >= HEADER.size else HEADER.size
        return frames


class RequestReader:
    """The worker's blocking read of its connection: each read takes whatever has arrived (up to
    READ_SIZE, into a buffer kept for the next), so a request costs one system call, not one for
    its header and one for its body, and requests that arrived together are read with one. Not
    thread-safe: the worker's threads take turns holding it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._frames = FrameSplitter(Kind.REQUEST)
        self._ready: collections.deque[tuple[dict[str, Any], bytes | None]] = collections.deque()
        self._buffer = memoryview(bytearray(READ_SIZE))  # recv would allocate its whole size each time

    def next(self) -> tuple[dict[str, Any], bytes | None] | None:
        """The next request's meta and payload; None at end of stream."""
        while not self._ready:
            got = self._sock.recv_into(self._buffer)
            if not got:
                if self._frames.buffered:
                    raise ProtocolError("connection closed inside a frame")
                return None
            self._ready.extend(self._frames.feed(self._buffer[:got]))
        return self._ready.popleft()
