"""A minimal HTTP/1.1 keep-alive client on asyncio streams: POST a body, read a Content-Length answer.

httpx.AsyncClient costs several ms per request on this machine and its pool throttles at 16
concurrent requests (about 150 req/s against a bare FastAPI route that serves 1,200), so
its figures are mostly the client's. This client costs tens of µs, leaving the servers' share.
It only speaks what the two servers here answer: no chunked bodies, no redirects, no TLS.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class RawConnection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        """One request on the kept-alive connection; returns (status, body)."""
        status, _, payload = await self.exchange(path, body)
        return status, payload

    async def exchange(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One request on the kept-alive connection; returns (status, headers, body)."""
        if self._writer is None or self._reader is None:
            await self.open()
        assert self._reader is not None and self._writer is not None
        self._writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if "content-length" not in headers:
            raise RuntimeError(f"answer without Content-Length from {self.host}:{self.port}: {lines[0]}")
        payload = await self._reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, headers, payload

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except ConnectionError:
                pass
        self._reader = self._writer = None
