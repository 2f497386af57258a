"""The open-loop replayer sends on schedule whatever the server does, and measures latency from
the intended send time."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import time
from pathlib import Path

from bench.replay.replayer import Row, parse_server_timing, replay
from bench.replay.sampler import Plan, PlannedFunction


class GatedServer:
    """An HTTP server that answers no request until ``expected`` have arrived: a closed-loop
    client, waiting for each answer before its next request, could never open the gate.

    It runs in the replayer's own event loop, so blocking that loop for ``stall_s`` on the first
    request makes the load generator fall behind its schedule, as a stalled machine would."""

    def __init__(self, expected: int, stall_s: float) -> None:
        self.expected, self.stall_s = expected, stall_s
        self.seeds: list[int] = []  # in arrival order; the replayer sends seed = seq + 1
        self.arrived_at_first_answer: int | None = None
        self.opened_at: float | None = None  # time.monotonic() when the answers were let out
        self._gate = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            self.seeds.append(json.loads(await reader.readexactly(length))["seed"])
            if len(self.seeds) == 1:
                time.sleep(self.stall_s)  # blocks the loop on purpose: see the class comment
            if len(self.seeds) >= self.expected and not self._gate.is_set():
                self.opened_at = time.monotonic()
                self._gate.set()
            # The bound only keeps a broken (closed-loop) client from hanging the test.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._gate.wait(), 60)
            if self.arrived_at_first_answer is None:
                self.arrived_at_first_answer = len(self.seeds)
            body = b'{"ok":true}'
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Start: warm\r\n"
                         b"Server-Timing: queue;dur=1.5, start;dur=0, run;dur=200\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
            await writer.drain()

    async def serve(self) -> asyncio.Server:
        async def safe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await self.handle(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        return await asyncio.start_server(safe, "127.0.0.1", 0)


def test_parse_server_timing() -> None:
    assert parse_server_timing("queue;dur=1.5, start;dur=0, run;dur=12.25") == \
        {"queue": 1.5, "start": 0.0, "run": 12.25}
    assert parse_server_timing(None) == {}
    assert parse_server_timing("bogus, x;dur=oops") == {}


def test_open_loop_does_not_wait_for_answers_and_counts_from_the_intended_time(tmp_path: Path) -> None:
    fn = PlannedFunction("f000-hello-js", "k", "http", "hello", "js", 1, 1.0, 1.0, 1.0)
    plan = Plan([fn], [(0.1 * i, 0) for i in range(6)], "test", 0, 1, 1.0, 0.0)
    server = GatedServer(expected=6, stall_s=0.3)

    async def go() -> tuple[float, list[Row]]:
        listener = await server.serve()
        port = listener.sockets[0].getsockname()[1]
        t0: list[float] = []
        rows = await replay(f"http://127.0.0.1:{port}", plan, tmp_path / "rows.csv", started=t0.append)
        listener.close()
        return t0[0], rows

    t0, rows = asyncio.run(go())
    # Open loop: every request left while none had been answered, in the order of the schedule.
    assert server.arrived_at_first_answer == 6
    assert server.seeds == [1, 2, 3, 4, 5, 6]
    assert all(r.status == 200 and r.start_kind == "warm" and r.run_ms == 200 for r in rows)
    # Latency runs from the intended send time, so it holds both the wait at the gate and any
    # lateness of the sender (sent_lag_ms). No answer left before the gate opened: a lower bound
    # that follows from the order of events, whatever the machine's speed.
    assert server.opened_at is not None
    for r in rows:
        assert r.latency_ms >= (server.opened_at - t0 - r.intended_s) * 1000 - 1, r
        assert r.latency_ms >= r.sent_lag_ms, r
    with (tmp_path / "rows.csv").open() as f:
        written = list(csv.DictReader(f))
    assert len(written) == 6 and written[0]["name"] == "f000-hello-js"
