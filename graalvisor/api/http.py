"""The front door's HTTP connections: uvicorn's httptools protocol with each response sent in one
write. Stock uvicorn writes a response's status line and headers, then its body: two sends,
two TCP segments on loopback, and a client woken by the first only to wait for the second. At
c=1 the write of the headers was 8.8 % of the gateway's samples and the body's 2.8 % (py-spy,
2026-12-05). Here a response's writes are held until it is complete, or the loop's turn ends,
or they pass BIG_WRITE bytes, and go out together."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# A write this big is not worth copying into a joined buffer: what is held goes first, then it.
BIG_WRITE = 64 * 1024


class HeldWrites:
    """A transport whose writes within one turn of the event loop are joined into one; every
    other attribute is the transport's own."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if len(data) > BIG_WRITE:
            self.flush()
            self._transport.write(data)
            return
        if not self._held:  # a streamed response's chunks still go out every turn
            asyncio.get_running_loop().call_soon(self.flush)
        self._held.append(bytes(data))

    def flush(self) -> None:
        if self._held:
            held, self._held = self._held, []
            self._transport.write(b"".join(held))  # one write: joined is that write, not a copy

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteHttp(HttpToolsProtocol):
    """uvicorn's httptools protocol writing each response, headers and body, in one send."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(HeldWrites(transport))  # type: ignore[arg-type]

    def on_response_complete(self) -> None:
        self.transport.flush()  # type: ignore[attr-defined]
        super().on_response_complete()


__all__ = ["BIG_WRITE", "HeldWrites", "OneWriteHttp"]
