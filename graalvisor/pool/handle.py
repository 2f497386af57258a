"""The gateway's side of one worker: its process, its connection and the requests in flight."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time
from typing import Any

import psutil

from graalvisor import protocol
from graalvisor.protocol import Hello, Op, Reply

log = logging.getLogger("graalvisor.pool")

CORK_MAX_BYTES = 64 * 1024


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
        self._writer: asyncio.StreamWriter | None = None
        self._pending: dict[int, asyncio.Future[Reply]] = {}
        self._ids = itertools.count(1)
        self._corked: list[bytes] = []  # frames written this loop iteration, sent together at its end

    def attach(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, hello: Hello,
               peer_pid: int | None) -> asyncio.Task[None]:
        self._writer = writer
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
        return asyncio.create_task(self._read_loop(reader), name=f"worker-{self.token}-reader")

    @property
    def pending(self) -> int:
        """Requests sent and not yet answered."""
        return len(self._pending)

    async def request(self, op: Op, **fields: Any) -> Reply:
        """Sends ``op`` with its fields (checked: a wrong one is a TypeError here) and waits for
        the worker's reply."""
        if self.dead or self._writer is None:
            raise WorkerLost(f"worker {self.token} is gone")
        request_id = next(self._ids)
        frame = protocol.request_frame(op, request_id, **fields)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            self._write(frame)
            return await future
        finally:
            self._pending.pop(request_id, None)

    def send(self, op: Op, **fields: Any) -> None:
        """Fire and forget: the request has no id, so the worker does not answer."""
        frame = protocol.request_frame(op, None, **fields)
        if not self.dead and self._writer is not None:
            self._write(frame)

    def _write(self, frame: bytes) -> None:
        """Frames written in one turn of the event loop go out in one send at its end: under load
        many calls start in the same turn, and a send each was the largest of the loop thread's
        own costs (DESIGN.md, the warm path)."""
        if len(frame) > CORK_MAX_BYTES:  # not copied into a joined buffer; the frames before it go first
            self._flush()
            if self._writer is not None:
                self._writer.write(frame)
            return
        if not self._corked:
            asyncio.get_running_loop().call_soon(self._flush)
        self._corked.append(frame)

    def _flush(self) -> None:
        frames, self._corked = self._corked, []
        if frames and not self.dead and self._writer is not None:
            self._writer.write(b"".join(frames))  # one frame: joined is that frame, not a copy

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                meta, result = await protocol.read_reply(reader)
                request_id = meta.get("id")
                future = self._pending.get(request_id) if isinstance(request_id, int) else None
                if future is None or future.done():
                    continue  # its caller gave up (a timeout), or no id: nothing waits for it
                try:
                    reply = Reply.parse(meta, result)
                except protocol.ProtocolError as e:  # this reply is bad, not the stream: only it fails
                    reply = Reply.failure("internal", f"the worker's reply did not parse: {e}")
                future.set_result(reply)
        except (asyncio.IncompleteReadError, ConnectionError, protocol.ProtocolError) as e:
            self.mark_dead(f"connection closed ({type(e).__name__})")

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
        if self._writer is not None:
            self._writer.close()

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
            "functions_loaded": len(self.loaded),
            "rss_bytes": self.rss_bytes(),
            "code_cache_bytes": self.code_cache_bytes,
            "blanks_ready": self.blanks_ready,
            "isolates_made": self.isolates_made,
        }
