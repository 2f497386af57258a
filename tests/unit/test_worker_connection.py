"""The gateway's end of a worker's connections, over real Unix sockets and under both event loops
(the daemon runs uvloop): a hello names the handle, replies resolve their callers however the
bytes arrive, a broken stream fails every caller, a request past its deadline fails on its
own, and invocations take the invoke lane once it is open."""
from __future__ import annotations

import asyncio
import socket
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import uvloop

from graalvisor import protocol
from graalvisor.pool import handle as handle_module
from graalvisor.pool.handle import WorkerConnection, WorkerHandle, WorkerLost
from graalvisor.protocol import Hello, Op, Reply, Request

Scenario = Callable[[WorkerHandle, socket.socket], Awaitable[None]]
LaneScenario = Callable[[WorkerHandle, socket.socket, socket.socket], Awaitable[None]]
Runner = Callable[[Any], Any]

loops = pytest.mark.parametrize("runner", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])


def run(runner: Runner, scenario: Scenario, hello_timeout_s: float = 5.0) -> None:
    """Starts a server whose connections expect worker "t1", connects a fake worker that says
    hello as "t1", and runs ``scenario`` with the handle and the worker's socket."""
    _serve(runner, lambda handle, worker, path: scenario(handle, worker), hello_timeout_s)


def _serve(runner: Runner, scenario: Callable[[WorkerHandle, socket.socket, str], Awaitable[None]],
           hello_timeout_s: float = 5.0) -> None:
    async def go() -> None:
        handle = WorkerHandle("t1", "boot")

        def on_hello(transport: asyncio.Transport, hello: Hello) -> WorkerHandle | None:
            if hello.token != handle.token:
                return None
            if hello.lane:  # as the supervisor does
                handle.attach_lane(transport)
                return handle
            handle.attach(transport, hello, None)
            return handle

        with tempfile.TemporaryDirectory() as d:
            path = str(Path(d) / "gateway.sock")
            loop = asyncio.get_running_loop()
            server = await loop.create_unix_server(lambda: WorkerConnection(on_hello, hello_timeout_s), path)
            worker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            worker.setblocking(False)
            try:
                await loop.sock_connect(worker, path)
                await loop.sock_sendall(worker, Hello("t1", 7, {"java_version": "25"}).frame())
                await asyncio.wait_for(handle.ready.wait(), 5)
                await scenario(handle, worker, path)
            finally:
                worker.close()
                server.close()

    runner(go())


def run_with_lane(runner: Runner, scenario: LaneScenario) -> None:
    """As :func:`run`, with a second connection that said hello as the worker's invoke lane."""

    async def with_lane(handle: WorkerHandle, worker: socket.socket, path: str) -> None:
        loop = asyncio.get_running_loop()
        lane = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lane.setblocking(False)
        with lane:
            await loop.sock_connect(lane, path)
            await loop.sock_sendall(lane, Hello("t1", lane=True).frame())
            await until(lambda: handle.lane_open)
            assert handle.lane_open
            await scenario(handle, worker, lane)

    _serve(runner, with_lane)


async def until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Lets the loop run until ``check`` holds or ``timeout_s`` has passed (the caller asserts)."""
    for _ in range(int(timeout_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)


async def next_request(worker: socket.socket) -> Request:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, _blocking_request, worker)


_readers: dict[socket.socket, protocol.RequestReader] = {}  # one per socket: a read may take two requests


def _blocking_request(worker: socket.socket) -> Request:
    worker.setblocking(True)
    try:
        message = _readers.setdefault(worker, protocol.RequestReader(worker)).next()
        assert message is not None
        return Request.parse(*message)
    finally:
        worker.setblocking(False)


@loops
def test_replies_resolve_their_callers_in_any_order_and_in_pieces(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket) -> None:
        assert handle.pid == 7 and handle.runtime == {"java_version": "25"}
        first = asyncio.create_task(handle.request(Op.DESCRIBE))
        second = asyncio.create_task(handle.request(Op.SETTLE, limit_s=1.0))
        ids = [(await next_request(worker)).id, (await next_request(worker)).id]
        replies = Reply.success(settled_s=0.5).frame(ids[1]) + Reply.success(b'{"n":1}', n=1).frame(ids[0])
        loop = asyncio.get_running_loop()
        for cut in (3, 11, len(replies) - 2):  # a header, a meta and a result cut across writes
            await loop.sock_sendall(worker, replies[:cut])
            await asyncio.sleep(0.01)
            replies = replies[cut:]
        await loop.sock_sendall(worker, replies)
        assert (await second).data == {"settled_s": 0.5}
        assert (await first).result == b'{"n":1}'
        assert handle.pending == 0 and not handle.dead

    run(runner, scenario)


@loops
def test_a_reply_that_does_not_parse_fails_only_its_call(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket) -> None:
        call = asyncio.create_task(handle.request(Op.DESCRIBE))
        request_id = (await next_request(worker)).id
        bad = protocol.encode_reply(b'{"id":%d,"line":"x"}' % request_id)  # no ok, a line that is no int
        await asyncio.get_running_loop().sock_sendall(worker, bad)
        reply = await call
        assert not reply.ok and reply.kind == "internal" and "did not parse" in reply.message
        assert not handle.dead

    run(runner, scenario)


@loops
def test_a_broken_stream_fails_every_caller_and_closes_the_connection(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket) -> None:
        calls = [asyncio.create_task(handle.request(Op.DESCRIBE)) for _ in range(2)]
        await next_request(worker)
        await asyncio.get_running_loop().sock_sendall(worker, protocol.request_frame(Op.DESCRIBE, 1))  # wrong kind
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(o, WorkerLost) for o in outcomes) and handle.dead
        await asyncio.wait_for(handle.gone.wait(), 5)

    run(runner, scenario)


@loops
def test_a_worker_that_goes_mid_frame_is_dead(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket) -> None:
        call = asyncio.create_task(handle.request(Op.DESCRIBE))
        request_id = (await next_request(worker)).id
        await asyncio.get_running_loop().sock_sendall(worker, Reply.success().frame(request_id)[:6])
        worker.shutdown(socket.SHUT_WR)
        with pytest.raises(WorkerLost, match="bytes into a frame"):
            await call

    run(runner, scenario)


@loops
def test_a_request_past_its_deadline_fails_alone(runner: Runner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(handle_module, "SWEEP_S", 0.02)

    async def scenario(handle: WorkerHandle, worker: socket.socket) -> None:
        patient = asyncio.create_task(handle.request(Op.DESCRIBE))
        await asyncio.sleep(0)  # its request goes first: id 1
        with pytest.raises(TimeoutError):
            await handle.request(Op.DESCRIBE, within_s=0.05)
        assert not patient.done() and not handle.dead  # the caller decides what a late worker means
        first = (await next_request(worker)).id
        await next_request(worker)
        await asyncio.get_running_loop().sock_sendall(worker, Reply.success().frame(first))
        assert (await patient).ok
        assert handle._deadlines == {}  # nothing left to look at
        await asyncio.sleep(0.05)
        assert handle._sweep is None  # and the sweep has stopped

    run(runner, scenario)


@loops
def test_connections_without_a_hello_or_of_nobody_are_closed(runner: Runner) -> None:
    async def go() -> None:
        with tempfile.TemporaryDirectory() as d:
            path = str(Path(d) / "gateway.sock")
            loop = asyncio.get_running_loop()
            server = await loop.create_unix_server(lambda: WorkerConnection(lambda t, h: None, 0.1), path)
            try:
                for says in (b"", Hello("stranger", 1, {}).frame(), Reply.success().frame(1)):
                    worker = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    worker.setblocking(False)
                    with worker:
                        await loop.sock_connect(worker, path)
                        if says:
                            await loop.sock_sendall(worker, says)
                        assert await asyncio.wait_for(loop.sock_recv(worker, 1), 5) == b""  # closed by the gateway
            finally:
                server.close()

    runner(go())


@loops
def test_invocations_take_the_lane_and_every_other_op_the_python_connection(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket, lane: socket.socket) -> None:
        call = asyncio.create_task(handle.request(Op.INVOKE, key="k", params=b"{}", timeout_ms=100))
        described = asyncio.create_task(handle.request(Op.DESCRIBE))
        invoke, describe = await next_request(lane), await next_request(worker)
        assert invoke.op is Op.INVOKE and invoke.args.key == "k" and describe.op is Op.DESCRIBE
        loop = asyncio.get_running_loop()
        await loop.sock_sendall(lane, Reply.success(b'{"on":"lane"}').frame(invoke.id))
        await loop.sock_sendall(worker, Reply.success(n=1).frame(describe.id))
        assert (await call).result == b'{"on":"lane"}' and (await described).data == {"n": 1}
        assert handle.describe()["invoke_lane"] is True

    run_with_lane(runner, scenario)


@loops
def test_a_lane_that_closes_is_a_broken_worker(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket, lane: socket.socket) -> None:
        call = asyncio.create_task(handle.request(Op.INVOKE, key="k", params=b"{}", timeout_ms=100))
        await next_request(lane)
        lane.shutdown(socket.SHUT_WR)
        with pytest.raises(WorkerLost, match="invoke lane closed"):
            await call  # never answered otherwise: the lane held it
        assert handle.dead

    run_with_lane(runner, scenario)


@loops
def test_a_parking_worker_closes_its_lane_first_and_parks(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket, lane: socket.socket) -> None:
        park = asyncio.create_task(handle.request(Op.PARK))
        request = await next_request(worker)
        lane.shutdown(socket.SHUT_WR)  # as the worker does: its lane, then the answer
        await until(lambda: not handle.lane_open)
        assert not handle.lane_open and not handle.dead
        await asyncio.get_running_loop().sock_sendall(worker, Reply.success().frame(request.id))
        assert (await park).ok
        # Without a lane an invocation goes on the Python connection, which answers those too.
        call = asyncio.create_task(handle.request(Op.INVOKE, key="k", params=b"{}", timeout_ms=100))
        assert (await next_request(worker)).op is Op.INVOKE
        call.cancel()

    run_with_lane(runner, scenario)


@loops
def test_a_second_lane_replaces_the_first_and_the_worker_lives(runner: Runner) -> None:
    async def scenario(handle: WorkerHandle, worker: socket.socket, lane: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        second.setblocking(False)
        with second:
            await loop.sock_connect(second, worker.getpeername())
            await loop.sock_sendall(second, Hello("t1", lane=True).frame())
            assert await asyncio.wait_for(loop.sock_recv(lane, 1), 5) == b""  # the gateway closed the first
            await asyncio.sleep(0.05)  # the first's close has reached the handle
            assert handle.lane_open and not handle.dead
            call = asyncio.create_task(handle.request(Op.INVOKE, key="k", params=b"{}", timeout_ms=100))
            invoke = await next_request(second)
            await loop.sock_sendall(second, Reply.success(b'{"on":"second"}').frame(invoke.id))
            assert (await call).result == b'{"on":"second"}'

    run_with_lane(runner, scenario)
