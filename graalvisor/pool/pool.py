"""Keeps the configured number of workers alive and hands them to the scheduler.

Workers connect back to the gateway's Unix socket and say hello with the token they were
started with; a worker whose process exits or whose connection drops is replaced at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import struct
import sys
import uuid
from collections.abc import Callable
from typing import Any

from graalvisor import protocol
from graalvisor.config import Config
from graalvisor.pool.handle import NoWorker, WorkerHandle

log = logging.getLogger("graalvisor.pool")

# A worker that dies before saying hello this many times in a row stops the respawning:
# a broken install must halt loudly, not crash-loop.
MAX_BOOT_FAILURES = 3


class Pool:
    def __init__(self, config: Config, on_change: Callable[[], None] | None = None) -> None:
        self.config = config
        self.workers: dict[str, WorkerHandle] = {}
        self.socket_path = config.run_dir / f"gateway-{os.getpid()}.sock"
        self.boot_failures = 0
        self.halted_reason: str | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._changed = asyncio.Condition()
        self._on_change = on_change or (lambda: None)

    # -- lifecycle

    async def start(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._on_connect, path=str(self.socket_path))
        for _ in range(self.config.workers):
            await self.spawn()

    async def stop(self) -> None:
        self._stopping = True
        handles = list(self.workers.values())
        for handle in handles:
            handle.mark_dead("gateway stopping")
            if handle.process is not None and handle.process.returncode is None:
                handle.process.terminate()
        for handle in handles:
            if handle.process is None:
                continue
            try:
                await asyncio.wait_for(handle.process.wait(), 5)
            except TimeoutError:
                handle.kill()
                await handle.process.wait()
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        self.socket_path.unlink(missing_ok=True)

    async def spawn(self) -> WorkerHandle:
        token = uuid.uuid4().hex[:12]
        handle = WorkerHandle(token, start_kind="boot")
        self.workers[token] = handle
        cfg = self.config
        argv = [
            sys.executable, "-m", "graalvisor.worker",
            "--connect", str(self.socket_path), "--token", token,
            "--isolates-dir", str(cfg.isolates_dir), "--heap-mb", str(cfg.worker_heap_mb),
            "--threads", str(cfg.worker_threads), "--python-blanks", str(cfg.python_blanks),
        ]
        if cfg.java_home:
            argv += ["--java-home", cfg.java_home]
        handle.process = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        log.info("worker %s booting (pid %s)", token, handle.process.pid)
        self._track(self._watch(handle), f"worker-{token}-watch")
        self._track(self._forward_stderr(handle), f"worker-{token}-stderr")
        self._on_change()
        return handle

    # -- choosing a worker

    async def acquire(self, key: str, timeout: float) -> WorkerHandle:
        """The ready worker with the least work, preferring one that has ``key`` loaded."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.halted_reason:
                raise NoWorker(self.halted_reason)
            ready = [w for w in self.workers.values() if w.ready.is_set() and not w.dead]
            if ready:
                # A cold load costs far more than a queued warm call: count it as two in flight.
                return min(ready, key=lambda w: w.inflight + (0 if key in w.loaded else 2))
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NoWorker(f"no worker became ready within {timeout:.0f} s")
            async with self._changed:
                try:
                    await asyncio.wait_for(self._changed.wait(), remaining)
                except TimeoutError:
                    pass

    def ready_workers(self) -> list[WorkerHandle]:
        return [w for w in self.workers.values() if w.ready.is_set() and not w.dead]

    def kill(self, handle: WorkerHandle, reason: str) -> None:
        log.warning("killing worker %s (pid %s): %s", handle.token, handle.pid, reason)
        handle.mark_dead(reason)
        handle.kill()

    # -- internals

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(protocol.read_frame(reader), 10)
        except (TimeoutError, asyncio.IncompleteReadError, protocol.ProtocolError):
            writer.close()
            return
        handle = self.workers.get(str(hello.get("token")))
        if hello.get("op") != "hello" or handle is None or handle.dead:
            writer.close()
            return
        handle.attach(reader, writer, hello, _peer_pid(writer))
        self.boot_failures = 0
        log.info("worker %s ready in %.2f s (pid %s, %s)", handle.token, handle.ready_after_s or 0,
                 handle.pid, handle.runtime.get("truffle_runtime"))
        await self._notify()

    async def _watch(self, handle: WorkerHandle) -> None:
        assert handle.process is not None
        try:
            await asyncio.wait_for(handle.ready.wait(), self.config.boot_timeout_s)
        except TimeoutError:
            self.kill(handle, f"did not say hello within {self.config.boot_timeout_s:.0f} s")
        code = await handle.process.wait()
        was_ready = handle.ready_after_s is not None
        handle.mark_dead(f"exited with {code}")
        self.workers.pop(handle.token, None)
        self._on_change()
        if self._stopping:
            return
        hint = " (perhaps out of memory?)" if code == -signal.SIGKILL else ""
        log.warning("worker %s (pid %s) exited with %s%s; replacing it", handle.token, handle.pid, code, hint)
        if not was_ready:
            self.boot_failures += 1
            if self.boot_failures >= MAX_BOOT_FAILURES:
                self.halted_reason = (f"workers failed to boot {self.boot_failures} times in a row; "
                                      "see the gateway log for the worker's error")
                log.error(self.halted_reason)
                await self._notify()
                return
        await self.spawn()
        await self._notify()

    async def _forward_stderr(self, handle: WorkerHandle) -> None:
        assert handle.process is not None and handle.process.stderr is not None
        async for line in handle.process.stderr:
            log.info("[worker %s] %s", handle.token, line.decode(errors="replace").rstrip())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _track(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _peer_pid(writer: asyncio.StreamWriter) -> int | None:
    """The worker's pid as this process sees it (its own getpid() is 1 inside a PID namespace)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return pid
