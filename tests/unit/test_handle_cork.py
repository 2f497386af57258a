"""Frames a worker handle writes in one turn of the event loop leave in one send, in order; a
large one goes alone, after those before it."""
from __future__ import annotations

import asyncio
from typing import Any

from graalvisor.corked import BIG_WRITE
from graalvisor.pool.handle import WorkerHandle, WorkerLost
from graalvisor.protocol import Hello, Op
from graalvisor.protocol import request_frame as protocol_request_frame


class Writer:
    """Stands in for the connection's transport: records each write."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True


def invoke(params: bytes) -> dict[str, Any]:
    return {"key": "guest/f@1", "params": params, "timeout_ms": 1000}


async def attached() -> tuple[WorkerHandle, Writer]:
    handle, writer = WorkerHandle("t0", "boot"), Writer()
    handle.attach(writer, Hello(token="t0", pid=1), None)  # type: ignore[arg-type]
    return handle, writer  # no replies unless a test gives them: the callers stay waiting


def test_frames_of_one_turn_leave_in_one_send_in_order() -> None:
    async def go() -> None:
        handle, writer = await attached()
        calls = [asyncio.create_task(handle.request(Op.INVOKE, **invoke(b'{"n":%d}' % n))) for n in range(3)]
        await asyncio.sleep(0)  # the three callers write their frames
        assert writer.writes == []  # nothing sent before the turn ends
        await asyncio.sleep(0)
        assert writer.writes == [b"".join(protocol_request_frame(Op.INVOKE, n + 1, **invoke(b'{"n":%d}' % n))
                                          for n in range(3))]
        handle.send(Op.UNDEPLOY, key="guest/f@1")  # fire and forget: the same path, a send of its own
        await asyncio.sleep(0)
        assert writer.writes[1:] == [protocol_request_frame(Op.UNDEPLOY, None, key="guest/f@1")]
        for task in calls:
            task.cancel()
        await asyncio.gather(*calls, return_exceptions=True)

    asyncio.run(go())


def test_a_large_frame_goes_alone_after_the_frames_before_it() -> None:
    async def go() -> None:
        handle, writer = await attached()
        big = b'{"s":"' + b"x" * BIG_WRITE + b'"}'
        small = asyncio.create_task(handle.request(Op.INVOKE, **invoke(b"{}")))
        large = asyncio.create_task(handle.request(Op.INVOKE, **invoke(big)))
        await asyncio.sleep(0)
        assert writer.writes == [protocol_request_frame(Op.INVOKE, 1, **invoke(b"{}")),
                                 protocol_request_frame(Op.INVOKE, 2, **invoke(big))]
        await asyncio.sleep(0)
        assert len(writer.writes) == 2  # the turn's flush found nothing left
        for task in (small, large):
            task.cancel()
        await asyncio.gather(small, large, return_exceptions=True)

    asyncio.run(go())


def test_a_dead_worker_is_sent_nothing_more() -> None:
    async def go() -> None:
        handle, writer = await attached()
        call = asyncio.create_task(handle.request(Op.INVOKE, **invoke(b"{}")))
        await asyncio.sleep(0)
        handle.mark_dead("test")  # before the turn's flush
        await asyncio.sleep(0)
        assert writer.writes == []
        (outcome,) = await asyncio.gather(call, return_exceptions=True)
        assert isinstance(outcome, WorkerLost)  # its caller is told, not left waiting
        assert writer.closed

    asyncio.run(go())
