"""The front door's HTTP connections: uvicorn's httptools protocol with each response sent in one
write. Stock uvicorn writes a response's status line and headers, then its body: two sends,
two TCP segments on loopback, and a client woken by the first only to wait for the second. At
c=1 the write of the headers was 8.8 % of the gateway's samples and the body's 2.8 % (py-spy,
2026-12-05). Here a response's writes are held until it is complete, or the loop's turn ends,
or they pass BIG_WRITE bytes (`corked.py`), and go out together."""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from graalvisor.corked import CorkedWrites


class HeldWrites(CorkedWrites):
    """A transport whose writes within one turn of the event loop are joined into one (a streamed
    response's chunks still go out every turn); every other attribute is the transport's own."""

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


__all__ = ["HeldWrites", "OneWriteHttp"]
