"""Worker processes: start them (restore an image, or boot), accept their hello, watch them
with a heartbeat, reap them, replace members that die, and stop them all under one deadline.

A worker connects back to the gateway's Unix socket and says hello with the token it was
given; a worker whose process exits or whose connection drops is replaced at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any

import orjson

from graalvisor import protocol
from graalvisor.config import Config
from graalvisor.pool import criu, processes
from graalvisor.pool.handle import WorkerConnection, WorkerHandle, WorkerLost
from graalvisor.pool.snapshots import Snapshot
from graalvisor.protocol.messages import Op

log = logging.getLogger("graalvisor.pool")

# A worker that dies before saying hello this many times in a row stops the respawning:
# a broken install must halt loudly, not crash-loop.
MAX_BOOT_FAILURES = 3
PR_SET_CHILD_SUBREAPER = 36
# An idle worker is asked to describe itself this often; one that does not answer in time is
# hung (a deadlock in the JVM, a stuck reader) and is replaced before a call finds it.
HEARTBEAT_S = 5.0
HEARTBEAT_TIMEOUT_S = 15.0
STOP_GRACE_S = 5.0
# Templates of function and rolling images run at the lowest CPU priority: their warm-up calls,
# JIT compilation and dump are work for later, and on a few cores they would otherwise slow the
# calls being served. The base template is the platform's start-up and runs at normal priority.
BACKGROUND_NICE = 19


class Supervisor:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.workers: dict[str, WorkerHandle] = {}
        self.templates: dict[str, WorkerHandle] = {}
        self.socket_path = config.run_dir / f"gateway-{os.getpid()}.sock"
        self.criu = criu.CriuStatus(False, None, None, "not checked yet")
        self.boot_failures = 0
        self.halted_reason: str | None = None
        self.restore_fallback: str | None = None  # why the pool boots instead of restoring, said once
        self.starts: dict[str, int] = {"boot": 0, "snapshot": 0}
        self.on_ready: Callable[[WorkerHandle], None] = lambda _: None
        self.on_change: Callable[[], None] = lambda: None  # a worker came or went, or the pool halted
        self.newest_image: Callable[[], Snapshot | None] = lambda: None
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._changed = asyncio.Event()  # replaced by a fresh one at every notify

    async def start(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._server = await asyncio.get_running_loop().create_unix_server(
            lambda: WorkerConnection(self._on_hello, self.config.boot_timeout_s), path=str(self.socket_path))
        # Restored workers are orphaned when criu exits: become their parent so they can be reaped.
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.criu = await criu.check(self.config.criu_path, disabled=not self.config.snapshots)
        if not self.criu.available:
            self.fallback(self.criu.message)
        self.track(self._heartbeat(), "heartbeat")

    async def stop(self) -> None:
        """Every worker is told at once (its connection closes, so it exits); those still there
        after the grace are killed: one deadline for all, not one per worker."""
        self._stopping = True
        handles = [*self.workers.values(), *self.templates.values()]
        for handle in handles:
            handle.mark_dead("gateway stopping")
        exited = await asyncio.gather(*(_exited(h, STOP_GRACE_S) for h in handles))
        stuck = [h for h, done in zip(handles, exited, strict=True) if not done]
        for handle in stuck:
            handle.kill("still running after the gateway stopped")
        await asyncio.gather(*(_exited(h, STOP_GRACE_S) for h in stuck))
        for handle in handles:
            handle.close_fds()
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        self.socket_path.unlink(missing_ok=True)

    # -- starting workers

    async def start_worker(self, role: str = "member", how: str = "auto",
                           image: Snapshot | None = None, background: bool = False) -> WorkerHandle:
        """Restores ``image`` (or the base image) where CRIU works; boots otherwise. A
        ``background`` worker runs at the lowest CPU priority."""
        if how != "boot" and self.criu.available:
            image = image or self.newest_image()
            if image is not None:
                try:
                    return await self._restore(image, role, background)
                except criu.CriuError as e:
                    self.fallback(f"restore of image {image.id} failed: {e}")
        return await self._boot(role, background)

    async def _boot(self, role: str, background: bool = False) -> WorkerHandle:
        token = uuid.uuid4().hex[:12]
        handle = WorkerHandle(token, start_kind="boot", role=role)
        handle.background = background
        wake_r, wake_w = os.pipe()
        err_r, err_w = os.pipe()
        argv = processes.boot_argv(self.config, self.socket_path, token, wake_r)
        try:
            handle.process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=err_w,
                pass_fds=(wake_r,), env=processes.boot_env())
        finally:
            os.close(wake_r)
            os.close(err_w)
        handle.wake_fd = wake_w
        handle.stderr_inode = os.fstat(err_r).st_ino
        if background:  # the JVM it starts inherits its threads' nice (no autogroups) or gets its own
            processes.set_background(handle.process.pid, BACKGROUND_NICE, BACKGROUND_NICE)
        self._register(handle)
        log.info("worker %s booting (%s)", token, role)
        self.track(self._watch(handle, handle.process.wait()), f"worker-{token}-watch")
        self.track(self._forward_stderr(handle, err_r), f"worker-{token}-stderr")
        return handle

    async def _restore(self, image: Snapshot, role: str, background: bool = False) -> WorkerHandle:
        token = uuid.uuid4().hex[:12]
        handle = WorkerHandle(token, start_kind="snapshot", role=role)
        handle.background = background
        handle.image_id = image.id
        wake_r, wake_w = os.pipe()
        err_r, err_w = os.pipe()
        # Its identity waits in the pipe, so the clone reads it the moment CRIU resumes it.
        os.write(wake_w, orjson.dumps({"token": token, "connect": str(self.socket_path)}) + b"\n")
        self._register(handle)
        t0 = time.perf_counter()
        try:
            pid, pages = await criu.restore(self.criu.path or "criu", Path(image.path),
                                            {wake_r: image.wake_pipe, err_w: image.stderr_pipe},
                                            self.config.run_dir / f"restore-{token}.pid", self.config.lazy_pages)
        except BaseException:
            self._unregister(handle)
            for fd in (wake_r, wake_w, err_r, err_w):
                os.close(fd)
            raise
        handle.restore_s = time.perf_counter() - t0
        if pages is not None:
            self.track(_finish_page_server(pages, Path(image.path), token), f"lazy-pages-{token}")
        os.close(wake_r)
        os.close(err_w)
        handle.pid = pid
        # Its session's weight; without autogroups its threads' nice moves by the difference
        # between what the image's template had (background for all but the base) and this role.
        made_in_background = image.kind != "base"
        shift = (BACKGROUND_NICE if background else 0) - (BACKGROUND_NICE if made_in_background else 0)
        processes.set_background(pid, BACKGROUND_NICE if background else 0, shift)
        handle.wake_fd = wake_w
        handle.stderr_inode = os.fstat(err_r).st_ino
        self.track(self._watch(handle, processes.wait_pid(pid)), f"worker-{token}-watch")
        self.track(self._forward_stderr(handle, err_r), f"worker-{token}-stderr")
        return handle

    async def renew_members(self) -> None:
        """Members not started from the newest image are swapped for clones of it: one that had
        to boot (a new runtime's first start) is cold, and one restored from an older image
        lacks the versions compiled in since. Each old member serves until its replacement is
        ready and it has nothing in flight."""
        newest = self.newest_image()
        for old in [w for w in self.workers.values()
                    if w.role == "member" and not w.renewing and (newest is None or w.image_id != newest.id)]:
            if self._stopping or newest is None or self.newest_image() is not newest:
                return  # a newer image came meanwhile: its own renewal takes over
            # Claimed first, so a renewal running beside this one never replaces it twice; it
            # keeps serving until its replacement is ready, and its exit starts no other.
            old.renewing = True
            new = await self.start_worker("member", image=newest)
            if new.start_kind != "snapshot":
                new.role = "retiring"  # its exit must not start another member
                self.kill(new, "restore fell back to boot; the old member stays")
                old.renewing = False
                return
            if not await new.wait_up(self.config.boot_timeout_s):  # the old member keeps serving
                new.role = "retiring"
                self.kill(new, "did not come up to replace a member")
                old.renewing = False
                return
            old.role = "retiring"  # from here it takes no new calls
            while not old.dead and (old.inflight or old.pending):
                await self.wait_changed(1.0)
            if not old.dead:
                old.mark_dead(f"replaced by a clone of image {newest.id}")
                old.kill(f"replaced by a clone of image {newest.id}")
                log.info("member %s (%s) replaced by %s (%s image %s)", old.token, old.image_id or "booted",
                         new.token, newest.kind, newest.id)

    # -- state others read

    def ready_workers(self) -> list[WorkerHandle]:
        return [w for w in self.workers.values() if w.ready.is_set() and not w.dead]

    def kill(self, handle: WorkerHandle, reason: str) -> None:
        log.warning("killing worker %s (pid %s): %s", handle.token, handle.pid, reason)
        handle.mark_dead(reason)
        handle.kill(reason)

    def fallback(self, reason: str) -> None:
        if self.restore_fallback is None:
            log.warning("workers will boot without snapshots: %s", reason)
        self.restore_fallback = reason

    async def wait_changed(self, timeout: float) -> None:
        """Returns when a worker came, went or freed a slot, or after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                await self._changed.wait()
        except TimeoutError:
            pass

    def notify(self) -> None:
        """A worker came or went, or the pool halted."""
        self.slot_freed()
        self.on_change()

    def slot_freed(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def track(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Runs ``coro`` in the background; the supervisor cancels it when it stops."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- internals

    def _register(self, handle: WorkerHandle) -> None:
        (self.templates if handle.role == "template" else self.workers)[handle.token] = handle
        self.starts[handle.start_kind] += 1

    def _unregister(self, handle: WorkerHandle) -> None:
        self.workers.pop(handle.token, None)
        self.templates.pop(handle.token, None)

    def _on_hello(self, transport: asyncio.Transport, hello: protocol.Hello) -> WorkerHandle | None:
        """A worker connected and said which it is: the handle it answers for, or None."""
        handle = self.workers.get(hello.token) or self.templates.get(hello.token)
        if handle is None or handle.dead:
            return None
        if hello.lane:
            handle.attach_lane(transport)
            return handle
        handle.attach(transport, hello, processes.peer_pid(transport))
        if handle.background and handle.pid and handle.start_kind == "boot":  # its session exists now
            processes.set_background(handle.pid, BACKGROUND_NICE)
        self.boot_failures = 0
        log.info("worker %s ready in %.3f s (%s, pid %s)", handle.token, handle.ready_after_s or 0,
                 handle.start_kind, handle.pid)
        self.on_ready(handle)
        self.notify()
        return handle

    async def _watch(self, handle: WorkerHandle, exited: Awaitable[int]) -> None:
        exit_task = asyncio.ensure_future(exited)
        ready_task = asyncio.ensure_future(handle.ready.wait())
        await asyncio.wait({exit_task, ready_task}, timeout=self.config.boot_timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
        ready_task.cancel()
        if not exit_task.done() and handle.ready_after_s is None:
            self.kill(handle, f"did not say hello within {self.config.boot_timeout_s:.0f} s")
        code = await exit_task
        if handle.process is not None and handle.pid:
            processes.reap(handle.pid)  # in case it outlived its unshare and was reparented to us
        was_ready = handle.ready_after_s is not None
        handle.mark_dead(f"exited with {code}")
        handle.close_fds()
        self._unregister(handle)
        if self._stopping or handle.role == "template":
            return
        if handle.kill_reason:
            log.info("worker %s (pid %s) stopped: %s", handle.token, handle.pid, handle.kill_reason)
        else:
            hint = " (perhaps out of memory?)" if code == -signal.SIGKILL else ""
            log.warning("worker %s (pid %s) exited with %s%s", handle.token, handle.pid, code, hint)
        if not was_ready:
            self.boot_failures += 1
            if self.boot_failures >= MAX_BOOT_FAILURES:
                self.halted_reason = (f"workers failed to start {self.boot_failures} times in a row; "
                                      "see the gateway log for the worker's error")
                log.error(self.halted_reason)
                self.notify()
                return
        if handle.role == "member" and not handle.renewing:
            await self.start_worker()
        self.notify()

    async def _heartbeat(self) -> None:
        """Calls in flight have their own deadline (the scheduler's); an idle worker has none,
        so it is asked to describe itself now and then."""
        while not self._stopping:
            await asyncio.sleep(HEARTBEAT_S)
            idle = [w for w in self.ready_workers() if w.pending == 0]
            if idle:
                await asyncio.gather(*(self._probe(w) for w in idle))

    async def _probe(self, handle: WorkerHandle) -> None:
        try:
            described = await asyncio.wait_for(handle.request(Op.DESCRIBE), HEARTBEAT_TIMEOUT_S)
            handle.note_described(described.data)
        except TimeoutError:
            if not handle.dead:
                self.kill(handle, f"did not answer a heartbeat within {HEARTBEAT_TIMEOUT_S:.0f} s while idle")
        except WorkerLost:
            pass  # its watcher replaces it

    async def _forward_stderr(self, handle: WorkerHandle, fd: int) -> None:
        await processes.forward_lines(fd, lambda line: log.info("[worker %s] %s", handle.token, line))


async def _finish_page_server(pages: asyncio.subprocess.Process, images: Path, token: str) -> None:
    """The page server exits once every page is in the clone (or the clone is gone)."""
    code = await pages.wait()
    if code != 0:
        log.warning("lazy page server of worker %s exited with %s (see %s)", token, code,
                    images / f"lazy-restore-{token}.log")
    else:
        (images / f"lazy-restore-{token}.log").unlink(missing_ok=True)


async def _exited(handle: WorkerHandle, timeout: float) -> bool:
    try:
        if handle.process is not None:
            await asyncio.wait_for(handle.process.wait(), timeout)
        elif handle.pid is not None:
            await asyncio.wait_for(processes.wait_pid(handle.pid), timeout)
        return True
    except TimeoutError:
        return False
