"""The gateway's side of one worker: its process, its connections and the requests in flight.

A worker has two connections: its Python's, for every op, and its invoke lane, which Java in
the worker reads and answers by itself and which takes the invocations once it is open (no
Python, GIL or JPype on a warm call's way through the worker). Each is an asyncio Protocol
(:class:`WorkerConnection`): a reply's bytes resolve its caller's future in the callback they
arrive in, where a reader task reading a StreamReader took a turn of the loop more and four
awaits a reply (DESIGN.md, the warm path)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time
from collections.abc import Callable
from typing import Any, cast

import psutil

from graalvisor import protocol
from graalvisor.corked import CorkedWrites
from graalvisor.protocol import FrameSplitter, Hello, Kind, Op, Reply

log = logging.getLogger("graalvisor.pool")

# How often requests with a deadline are looked at: a wedged worker is found up to this late.
SWEEP_S = 1.0


class WorkerLost(Exception):
    """The worker died or was killed while a request was in flight."""


class NoWorker(Exception):
    """No worker could take the request in time."""


class WorkerHandle:
    def __init__(self, token: str, start_kind: str, role: str = "member") -> None:
        self.token = token
        self.start_kind = start_kind  # boot | snapshot
        # member: counts toward the configured size; extra: started for load, reaped when idle;
        # template: warmed up only to be parked and dumped.
        self.role = role
        self.background = False  # a template making an image for later: lowest CPU priority
        self.renewing = False  # a member whose replacement is being started: it serves until that is ready
        self.image_id: str | None = None
        self.process: asyncio.subprocess.Process | None = None  # booted workers: `unshare`
        self.pid: int | None = None
        self.wake_fd: int | None = None  # write end of the park pipe, held while the worker lives
        self.stderr_inode = 0
        self.kill_reason: str | None = None  # set when the gateway itself stopped the worker
        self.restore_s: float | None = None  # time inside `criu restore`, for restored workers
        self.last_used = time.monotonic()
        self.runtime: dict[str, Any] = {}
        # compiled code it holds and the code cache's size, as of its hello or last describe
        self.code_cache_bytes = 0
        self.code_cache_max_bytes = 0
        # Blank contexts ready, per language, at the hello and the last idle heartbeat: a clone's
        # are its image's until its first new isolate.
        self.blanks_ready: dict[str, int] = {}
        self.isolates_made = 0  # in the JVM since it started, as its last describe said
        self.ready = asyncio.Event()
        self.gone = asyncio.Event()  # the connection is closed (or never opened) for good
        self.dead = False
        self.inflight = 0  # written by placement only
        self.version_inflight: dict[str, int] = {}  # per version key, written by placement only
        self.version_used: dict[str, float] = {}  # version key -> its last call here (loop time)
        self.version_done: dict[str, int] = {}  # version key -> calls it answered here, by placement only
        self.deployed_at_hello: list[str] = []
        self.loaded: dict[str, asyncio.Future[Reply]] = {}
        self.unloading: dict[str, asyncio.Future[Reply]] = {}  # undeploys sent, not yet answered
        self.spawned_at = time.monotonic()
        self.ready_after_s: float | None = None
        self._control: Outbox | None = None  # the worker's Python connection
        self._lane: Outbox | None = None  # Java's invoke lane, once it said hello
        self.parking = False  # a PARK was sent: the worker closes its lane before it answers
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        # Requests that must be answered by a time (loop time), looked at every SWEEP_S: one
        # timer for all of them, where a timer a call cost the event loop one each.
        self._deadlines: dict[int, float] = {}
        self._sweep: asyncio.TimerHandle | None = None
        self._ids = itertools.count(1)

    def attach(self, transport: asyncio.Transport, hello: Hello, peer_pid: int | None) -> None:
        self._control = Outbox(transport)
        self.pid = peer_pid or hello.pid
        # What the runtime is, not what it holds: counts in the hello go stale at once.
        runtime = hello.runtime
        self.runtime = {k: v for k, v in runtime.items()
                        if not k.endswith(("_ready", "_made", "deployments", "deployed"))
                        and not k.startswith(("code_cache", "watchdog"))}
        self.note_described(runtime)
        # A worker restored from a function image already holds that function (placement takes it from here).
        self.deployed_at_hello = [str(key) for key in runtime.get("deployed", [])]
        self.ready_after_s = time.monotonic() - self.spawned_at
        self.last_used = time.monotonic()  # keep-alive counts from when it could first be used
        self.ready.set()

    def attach_lane(self, transport: asyncio.Transport) -> None:
        """The worker's invoke lane said hello (before or after its Python connection did). A
        lane that replaces an open one: the old one is closed, and its close is not this one's."""
        old, self._lane = self._lane, Outbox(transport)
        if old is not None:
            old.close()

    def lane_lost(self, transport: asyncio.Transport, reason: str) -> None:
        """An invoke lane closed: expected when the worker parks; else the worker is broken,
        and the calls in flight on the lane would never be answered. A lane already replaced
        (``transport`` not the current lane's) is nobody's loss."""
        if self._lane is None or not self._lane.carries(transport):
            return
        self._lane = None
        if not self.parking:
            self.mark_dead(f"its invoke lane closed: {reason}")

    @property
    def lane_open(self) -> bool:
        return self._lane is not None

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    async def request(self, op: Op, *, within_s: float | None = None, **fields: Any) -> Reply:
        """Sends ``op`` with its fields (checked: a wrong one is a TypeError here) and waits for
        the worker's reply; a TimeoutError once ``within_s`` has passed without one (found up
        to SWEEP_S late)."""
        outbox = self._lane if op is Op.INVOKE and self._lane is not None else self._control
        if self.dead or outbox is None:
            raise WorkerLost(f"worker {self.token} is gone")
        if op is Op.PARK:
            self.parking = True
        request_id = next(self._ids)
        frame = protocol.request_frame(op, request_id, **fields)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._pending[request_id] = future
        if within_s is not None:
            self._deadlines[request_id] = loop.time() + within_s
            if self._sweep is None:
                self._sweep = loop.call_later(SWEEP_S, self._overdue)
        try:
            outbox.write(frame)
            return await future
        finally:
            self._pending.pop(request_id, None)
            if within_s is not None:
                self._deadlines.pop(request_id, None)

    def _overdue(self) -> None:
        """Fails the requests past their deadline; looks again in SWEEP_S while any are left."""
        self._sweep = None
        now = asyncio.get_running_loop().time()
        for request_id in [r for r, deadline in self._deadlines.items() if deadline <= now]:
            del self._deadlines[request_id]
            future = self._pending.get(request_id)
            if future is not None and not future.done():
                future.set_exception(TimeoutError(f"no reply from worker {self.pid or self.token} in time"))
        if self._deadlines and not self.dead:
            self._sweep = asyncio.get_running_loop().call_later(SWEEP_S, self._overdue)

    def send(self, op: Op, **fields: Any) -> None:
        """Fire and forget: the request has no id, so the worker does not answer."""
        frame = protocol.request_frame(op, None, **fields)
        if not self.dead and self._control is not None:
            self._control.write(frame)

    def received(self, meta: dict[str, Any], result: bytes | None) -> None:
        """A reply frame from the worker: its caller's future is resolved here."""
        request_id = meta.get("id")
        future = self._pending.get(request_id) if isinstance(request_id, int) else None
        if future is None or future.done():
            return  # its caller gave up (a timeout), or no id: nothing waits for it
        try:
            reply = Reply.parse(meta, result)
        except protocol.ProtocolError as e:  # this reply is bad, not the stream: only it fails
            reply = Reply.failure("internal", f"the worker's reply did not parse: {e}")
        future.set_result(reply)

    def mark_dead(self, reason: str) -> None:
        if self.dead:
            return
        self.dead = True
        self.ready.clear()
        self.gone.set()
        for future in self._pending.values():
            if not future.done():
                future.set_exception(WorkerLost(f"worker {self.pid or self.token} died: {reason}"))
        for future in self.loaded.values():
            if not future.done():
                future.cancel()
        if self._sweep is not None:
            self._sweep.cancel()
            self._sweep = None
        for outbox in (self._control, self._lane):
            if outbox is not None:
                outbox.close()

    def kill(self, reason: str | None = None) -> None:
        """SIGKILL to the worker itself, never its `unshare`: an orphaned worker would keep
        running, and once reparented to the gateway it would be nobody's to reap."""
        self.kill_reason = self.kill_reason or reason
        pid = self.pid or self._namespace_init()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def _namespace_init(self) -> int | None:
        """The worker under `unshare` before it said hello (so before its pid is known)."""
        if self.process is None or self.process.returncode is not None:
            return None
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                children = f.read().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def terminate(self) -> None:
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    async def wait_up(self, timeout: float) -> bool:
        """Waits until the worker is ready or gone for good (or ``timeout``); True when ready."""
        waits = {asyncio.ensure_future(self.ready.wait()), asyncio.ensure_future(self.gone.wait())}
        _, pending = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for w in pending:
            w.cancel()
        return self.ready.is_set()

    def note_described(self, runtime: dict[str, Any]) -> None:
        self.code_cache_bytes = int(runtime.get("code_cache_used", 0))
        self.code_cache_max_bytes = int(runtime.get("code_cache_max", 0))
        self.blanks_ready = {lang: int(runtime.get(f"{lang}_blanks_ready", 0)) for lang in ("python", "js")}
        self.isolates_made = int(runtime.get("isolates_made", 0))

    def close_fds(self) -> None:
        if self.wake_fd is not None:
            os.close(self.wake_fd)
            self.wake_fd = None

    def rss_bytes(self) -> int:
        """RSS of the worker and its children (the namespace init runs under unshare)."""
        if self.pid is None:
            return 0
        try:
            proc = psutil.Process(self.pid)
            return int(proc.memory_info().rss)
        except psutil.Error:
            return 0

    def cpu_seconds(self) -> float:
        """CPU time the worker process has used, all its threads (JIT compilers, GC) together."""
        if self.pid is None:
            return 0.0
        try:
            times = psutil.Process(self.pid).cpu_times()
            return float(times.user + times.system)
        except psutil.Error:
            return 0.0

    def describe(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "pid": self.pid,
            "start": self.start_kind,
            "role": self.role,
            "image": self.image_id,
            "ready": self.ready.is_set(),
            "ready_after_s": round(self.ready_after_s, 4) if self.ready_after_s is not None else None,
            "restore_s": round(self.restore_s, 4) if self.restore_s is not None else None,
            "inflight": self.inflight,
            "invoke_lane": self.lane_open,
            "functions_loaded": len(self.loaded),
            "rss_bytes": self.rss_bytes(),
            "code_cache_bytes": self.code_cache_bytes,
            "blanks_ready": self.blanks_ready,
            "isolates_made": self.isolates_made,
        }


class Outbox(CorkedWrites):
    """One worker connection's writes, corked per turn of the loop; nothing is sent once it is
    closed (the worker is gone)."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__(transport)
        self._closed = False

    def flush(self) -> None:
        if self._closed:
            self._held = []
        super().flush()

    def carries(self, transport: asyncio.BaseTransport) -> bool:
        return self._transport is transport

    def close(self) -> None:
        self._closed = True
        self._transport.close()


class WorkerConnection(asyncio.Protocol):
    """A worker's Unix socket, read as its bytes arrive. Its first frame is the hello, which
    ``on_hello`` answers with the handle it belongs to (None: nobody's, closed); every frame after
    it is a reply for that handle. Closed when no hello comes within ``hello_timeout_s``."""

    def __init__(self, on_hello: Callable[[asyncio.Transport, Hello], WorkerHandle | None],
                 hello_timeout_s: float) -> None:
        self._on_hello = on_hello
        self._hello_timeout_s = hello_timeout_s
        self._frames = FrameSplitter(Kind.REPLY)
        self._transport: asyncio.Transport | None = None
        self._handle: WorkerHandle | None = None
        self._lane = False  # the worker's invoke lane, not its Python connection
        self._hello_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's subclasses none of asyncio's
        # As long as a start may take: a clone at nice 19 on a busy machine has been seen to
        # take 11 s from connecting to its hello; closed at 10 s, it never came up.
        self._hello_timer = asyncio.get_running_loop().call_later(self._hello_timeout_s, self._transport.close)

    def data_received(self, data: bytes) -> None:
        try:
            frames = self._frames.feed(data)
        except protocol.ProtocolError as e:
            self._close(f"the stream broke: {e}")
            return
        for meta, result in frames:
            if self._handle is not None:
                self._handle.received(meta, result)
            elif not self._hello(meta):
                return

    def _hello(self, meta: dict[str, Any]) -> bool:
        assert self._transport is not None
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        try:
            hello = Hello.parse(meta)
        except protocol.ProtocolError as e:
            self._close(str(e))
            return False
        self._lane = hello.lane
        self._handle = self._on_hello(self._transport, hello)
        if self._handle is None:
            self._close(f"no worker {hello.token} is expected")
            return False
        return True

    def _close(self, reason: str) -> None:
        log.warning("closing a worker connection: %s", reason)
        if self._handle is not None:
            self._handle.mark_dead(reason)
        elif self._transport is not None:
            self._transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._hello_timer is not None:
            self._hello_timer.cancel()
        if self._handle is not None:
            cut = f", {self._frames.buffered} bytes into a frame" if self._frames.buffered else ""
            reason = f"connection closed ({type(exc).__name__ if exc else 'end of stream'}{cut})"
            if self._lane:
                assert self._transport is not None
                self._handle.lane_lost(self._transport, reason)
            else:
                self._handle.mark_dead(reason)
