"""The open-loop replayer sends on schedule even when the server stalls, and measures from the
intended send time."""

from __future__ import annotations

import asyncio
import csv
import time
from pathlib import Path

from bench.replay.replayer import parse_server_timing, replay
from bench.replay.sampler import Plan, PlannedFunction


async def stalling_server(delay: float) -> tuple[asyncio.Server, list[float]]:
    """A one-at-a-time HTTP server: each request holds a lock for `delay` seconds."""
    lock = asyncio.Lock()
    arrivals: list[float] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            arrivals.append(time.monotonic())
            async with lock:
                await asyncio.sleep(delay)
            body = b'{"ok":true}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Start: warm\r\n"
                         b"Server-Timing: queue;dur=1.5, start;dur=0, run;dur=200\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()

    async def safe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(safe, "127.0.0.1", 0)
    return server, arrivals


def test_parse_server_timing() -> None:
    assert parse_server_timing("queue;dur=1.5, start;dur=0, run;dur=12.25") == \
        {"queue": 1.5, "start": 0.0, "run": 12.25}
    assert parse_server_timing(None) == {}
    assert parse_server_timing("bogus, x;dur=oops") == {}


def test_open_loop_does_not_wait_for_slow_responses(tmp_path: Path) -> None:
    fn = PlannedFunction("f000-hello-js", "k", "http", "hello", "js", 1, 1.0, 1.0, 1.0)
    plan = Plan([fn], [(0.1 * i, 0) for i in range(6)], "test", 0, 1, 1.0, 0.0)

    async def go() -> tuple[list[float], float, list[object]]:
        server, arrivals = await stalling_server(0.2)
        port = server.sockets[0].getsockname()[1]
        t0: list[float] = []
        rows = await replay(f"http://127.0.0.1:{port}", plan, tmp_path / "rows.csv", started=t0.append)
        server.close()
        return arrivals, t0[0], list(rows)

    arrivals, t0, rows = asyncio.run(go())
    # requests left on schedule (every 0.1 s) although each takes 0.2 s, one at a time
    assert [round(a - t0, 1) for a in sorted(arrivals)] == [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]
    lat = [r.latency_ms for r in rows]  # type: ignore[attr-defined]
    # request k completes at 0.2 (k + 1) s but was due at 0.1 k s: the queue shows in the latency
    for k, ms in enumerate(lat):
        assert 200 * (k + 1) - 100 * k - 10 < ms < 200 * (k + 1) - 100 * k + 150, lat  # slack: a busy machine
    assert all(r.status == 200 and r.start_kind == "warm" and r.run_ms == 200 for r in rows)  # type: ignore[attr-defined]
    with (tmp_path / "rows.csv").open() as f:
        written = list(csv.DictReader(f))
    assert len(written) == 6 and written[0]["name"] == "f000-hello-js"
