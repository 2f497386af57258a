"""The front door's HTTP protocol (a real uvicorn on loopback, a real client): a response's status
line, headers and body leave in one write; a big body goes on its own after the headers; a
streamed response's chunks still leave as they are sent; keep-alive and closing work as in
stock uvicorn."""
from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from graalvisor.api.http import OneWriteHttp
from graalvisor.corked import BIG_WRITE

BIG = b"x" * (BIG_WRITE + 1)


class Recorder:
    """The real transport under HeldWrites, recording the size of each write it is given."""

    writes: ClassVar[list[int]] = []

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        Recorder.writes.append(len(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedHttp(OneWriteHttp):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(Recorder(transport))  # type: ignore[arg-type]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for chunk in (b"one", b"two", b"three"):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.sleep(0.01)  # another turn of the loop: the chunk must be out by then
        await send({"type": "http.response.body", "body": b""})
        return
    body = BIG if path == "/big" else b'{"ok":true}'
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, http=RecordedHttp, log_level="warning", lifespan="off")
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    for _ in range(500):
        if served.started:
            break
        threading.Event().wait(0.01)
    assert served.started
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(10)


def test_a_response_leaves_in_one_write_and_keep_alive_holds(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        for _ in range(3):
            Recorder.writes.clear()
            r = client.get("/hello")
            assert r.status_code == 200 and r.json() == {"ok": True}
            assert len(Recorder.writes) == 1, Recorder.writes  # headers and body together
            assert Recorder.writes[0] > len(b'{"ok":true}')


def test_a_big_body_goes_alone_after_the_headers(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        Recorder.writes.clear()
        r = client.get("/big")
        assert r.content == BIG
        assert len(Recorder.writes) == 2 and Recorder.writes[1] == len(BIG) and Recorder.writes[0] < 1024


def test_a_streamed_response_sends_each_chunk_in_its_turn(server: str) -> None:
    with httpx.Client(base_url=server) as client:
        Recorder.writes.clear()
        with client.stream("GET", "/stream") as r:
            chunks = list(r.iter_raw())
        assert b"".join(chunks) == b"onetwothree"
        # The headers with the first chunk, then the second, the third, and the last chunk's end.
        assert len(Recorder.writes) == 4, Recorder.writes


def test_a_closing_connection_still_gets_its_response(server: str) -> None:
    with httpx.Client(base_url=server, headers={"connection": "close"}) as client:
        Recorder.writes.clear()
        r = client.get("/hello")
        assert r.json() == {"ok": True} and r.headers.get("connection") == "close"
        assert len(Recorder.writes) == 1
