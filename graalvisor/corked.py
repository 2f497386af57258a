"""Writes made in one turn of the event loop, sent as one: the gateway's frames to a worker
(pool/handle.py) and its HTTP responses (api/http.py). Under load many calls write in the same
turn, and a send each was the largest of the loop thread's own costs; a response's headers and
body written apart were two sends and a client woken twice (DESIGN.md, the warm path)."""

from __future__ import annotations

import asyncio

# A write this big is not worth copying into a joined buffer: what is held goes first, then it.
BIG_WRITE = 64 * 1024


class CorkedWrites:
    """A transport's writes held until the end of the loop's turn (or :meth:`flush`), then sent
    together; one over BIG_WRITE goes at once, after those before it."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) > BIG_WRITE:
            self.flush()
            self._transport.write(data)
            return
        if not self._held:
            asyncio.get_running_loop().call_soon(self.flush)
        self._held.append(bytes(data))  # bytes as they are: no copy

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self._transport.write(b"".join(held))  # one write: joined is that write, not a copy


__all__ = ["BIG_WRITE", "CorkedWrites"]
