"""Keeps workers alive and hands them to the scheduler.

A worker starts one of two ways: restored from a CRIU image of a warmed, parked worker
(``snapshot``), or booted from nothing (``boot``). Either way it connects back to the
gateway's Unix socket and says hello with the token it was given; a worker whose process
exits or whose connection drops is replaced at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import shutil
import signal
import socket
import struct
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from graalvisor import protocol
from graalvisor.config import Config
from graalvisor.pool import criu, rebase
from graalvisor.pool.handle import NoWorker, WorkerHandle
from graalvisor.pool.snapshots import Snapshot, SnapshotStore, runtime_key

log = logging.getLogger("graalvisor.pool")

# A worker that dies before saying hello this many times in a row stops the respawning:
# a broken install must halt loudly, not crash-loop.
MAX_BOOT_FAILURES = 3
PR_SET_CHILD_SUBREAPER = 36

Warm = Callable[[WorkerHandle], Awaitable[None]]


class Pool:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.workers: dict[str, WorkerHandle] = {}
        self.templates: dict[str, WorkerHandle] = {}
        self.socket_path = config.run_dir / f"gateway-{os.getpid()}.sock"
        self.boot_failures = 0
        self.halted_reason: str | None = None
        self.criu = criu.CriuStatus(False, None, None, "not checked yet")
        self.snapshots = SnapshotStore(config.images_dir)
        self.runtime_key = runtime_key(config)
        self.restore_fallback: str | None = None  # why the pool boots instead of restoring, said once
        self.rebase_unavailable: str | None = None  # why images are copied, not mapped, at restore
        self.starts: dict[str, int] = {"boot": 0, "snapshot": 0}
        self._unshare = shutil.which("unshare") if os.geteuid() == 0 else None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._changed = asyncio.Event()  # replaced by a fresh one at every notify
        self._base_lock = asyncio.Lock()
        self._scaling = False

    # -- lifecycle

    async def start(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self.socket_path.unlink(missing_ok=True)
        self._server = await asyncio.start_unix_server(self._on_connect, path=str(self.socket_path))
        # Restored workers are orphaned when criu exits: become their parent so they can be reaped.
        if sys.platform == "linux":
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        self.criu = await criu.check(self.config.criu_path, disabled=not self.config.snapshots)
        if not self.criu.available:
            self._fallback(self.criu.message)
        for _ in range(self.config.workers):
            await self.start_worker()
        self.track(self.reap_idle(), "reap-idle")
        if self.criu.available and self.snapshots.base(self.runtime_key) is None:
            self.track(self._make_base_when_ready(), "base-image")

    async def stop(self) -> None:
        self._stopping = True
        handles = [*self.workers.values(), *self.templates.values()]
        for handle in handles:
            handle.mark_dead("gateway stopping")  # closing the socket makes a worker exit
        for handle in handles:
            if not await _exited(handle, 5):
                handle.kill()
                await _exited(handle, 5)
            handle.close_fds()
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        self.socket_path.unlink(missing_ok=True)

    # -- starting workers

    async def start_worker(self, role: str = "member", how: str = "auto",
                           image: Snapshot | None = None) -> WorkerHandle:
        """Restores ``image`` (or the base image) where CRIU works; boots otherwise."""
        if how != "boot" and self.criu.available:
            image = image or self.snapshots.base(self.runtime_key)
            if image is not None:
                try:
                    return await self._restore(image, role)
                except criu.CriuError as e:
                    self._fallback(f"restore of image {image.id} failed: {e}")
        return await self._boot(role)

    async def _boot(self, role: str) -> WorkerHandle:
        token = uuid.uuid4().hex[:12]
        handle = WorkerHandle(token, start_kind="boot", role=role)
        cfg = self.config
        wake_r, wake_w = os.pipe()
        err_r, err_w = os.pipe()
        argv = [
            sys.executable, "-m", "graalvisor.worker",
            "--connect", str(self.socket_path), "--token", token,
            "--isolates-dir", str(cfg.isolates_dir), "--heap-mb", str(cfg.worker_heap_mb),
            "--threads", str(cfg.worker_threads), "--python-blanks", str(cfg.python_blanks),
            "--js-blanks", str(cfg.js_blanks),
            "--park-fd", str(wake_r),
        ]
        if cfg.java_home:
            argv += ["--java-home", cfg.java_home]
        if self._unshare:
            # Init of its own PID namespace and a session leader in it: what lets CRIU restore
            # one image many times at once. No --kill-child: CRIU would restore its parent-death
            # signal and every clone would die with the criu process that restored it.
            argv = [self._unshare, "--pid", "--fork", "setsid", *argv]
        # Two malloc arenas, not one per thread: JPype threads would otherwise each grow one.
        env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
        try:
            handle.process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=err_w,
                pass_fds=(wake_r,), env=env)
        finally:
            os.close(wake_r)
            os.close(err_w)
        handle.wake_fd = wake_w
        handle.stderr_inode = os.fstat(err_r).st_ino
        self._register(handle)
        log.info("worker %s booting (%s)", token, role)
        self.track(self._watch(handle, handle.process.wait()), f"worker-{token}-watch")
        self.track(self._forward_stderr(handle, err_r), f"worker-{token}-stderr")
        return handle

    async def _restore(self, image: Snapshot, role: str) -> WorkerHandle:
        token = uuid.uuid4().hex[:12]
        handle = WorkerHandle(token, start_kind="snapshot", role=role)
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
        handle.wake_fd = wake_w
        handle.stderr_inode = os.fstat(err_r).st_ino
        self.track(self._watch(handle, _wait_pid(pid)), f"worker-{token}-watch")
        self.track(self._forward_stderr(handle, err_r), f"worker-{token}-stderr")
        return handle

    # -- snapshots

    async def make_snapshot(self, kind: str, warm: Warm, function_key: str | None = None) -> Snapshot:
        """Boots a template worker, warms it, parks it and dumps it."""
        if not self.criu.available:
            raise criu.CriuError(f"snapshots are unavailable: {self.criu.message}")
        # A template restored from the base image is warm in a fraction of a boot.
        base = self.snapshots.base(self.runtime_key) if kind == "function" else None
        template = await self.start_worker("template", image=base) if base else await self._boot("template")
        try:
            await asyncio.wait_for(template.ready.wait(), self.config.boot_timeout_s)
            await warm(template)
            parked = await template.request({"op": "park"})
            if not parked.get("ok"):
                raise criu.CriuError(f"the template did not park: {parked}")
            # Dump only once the worker has closed its end: a live socket cannot be restored.
            await asyncio.wait_for(template.gone.wait(), 30)
            snap_id, images = self.snapshots.new_dir()
            assert template.pid is not None and template.wake_fd is not None
            wake_inode = os.fstat(template.wake_fd).st_ino
            dump_s = await criu.dump(self.criu.path or "criu", template.pid, images,
                                     [wake_inode, template.stderr_inode])
            if self.config.map_images:
                await self._map_memory(images)
            snap = self.snapshots.add(snap_id, kind, self.runtime_key, function_key, dump_s,
                                      wake_inode, template.stderr_inode)
            log.info("snapshot %s (%s%s): %.1f MB in %.2f s, %.1f MB of it mapped at restore", snap.id, kind,
                     f" {function_key}" if function_key else "", snap.size_bytes / 1e6, dump_s,
                     snap.mapped_bytes / 1e6)
            return snap
        finally:
            template.mark_dead("snapshot taken")
            template.kill("its snapshot is taken")

    async def _map_memory(self, images: Path) -> None:
        """Moves the image's memory into a file restores map; a plain image if that cannot be done."""
        try:
            regions = await asyncio.get_running_loop().run_in_executor(None, rebase.rebase, images)
            log.debug("image %s: %d memory regions now map %s", images.name, regions, rebase.MEMORY_FILE)
        except rebase.RebaseUnavailable as e:
            if self.rebase_unavailable is None:
                log.warning("images are restored by copying every page: %s", e)
                self.rebase_unavailable = str(e)
        except Exception:
            shutil.rmtree(images, ignore_errors=True)  # half rewritten: not an image any more
            raise

    async def _make_base_when_ready(self) -> None:
        async with self._base_lock:
            if self.snapshots.base(self.runtime_key) is not None:
                return
            try:
                await self.make_snapshot("base", _warm_base)
            except Exception as e:  # the pool keeps booting; say why once
                self._fallback(f"could not make a base image: {e}")

    def remove_snapshot(self, snap_id: str) -> bool:
        """Removes an image; a removed base image is made again, so new workers keep restoring.
        Function images hold all their memory themselves: they do not need the base they came from."""
        was_base = (base := self.snapshots.base(self.runtime_key)) is not None and base.id == snap_id
        if not self.snapshots.remove(snap_id):
            return False
        if was_base and self.criu.available:
            self.track(self._make_base_when_ready(), "base-image")
        return True

    def remove_stale_snapshots(self, live_function_keys: set[str]) -> list[str]:
        return self.snapshots.remove_stale(self.runtime_key, live_function_keys)

    # -- choosing a worker

    async def acquire(self, key: str, timeout: float) -> WorkerHandle:
        """The ready worker with the least work, preferring one that has ``key`` loaded. A worker
        runs at most ``worker_threads`` invocations at once: guest code cannot block on I/O, so
        more than a few per core only thrash. Past that, callers wait here, not in a worker."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        cap = self.config.worker_threads
        while True:
            if self.halted_reason:
                raise NoWorker(self.halted_reason)
            free = [w for w in self.ready_workers() if w.inflight < cap]
            if free:
                # A cold load costs far more than a queued warm call: count it as two in flight.
                best = min(free, key=lambda w: w.inflight + (0 if key in w.loaded else 2))
                best.inflight += 1  # taken now, so concurrent callers see it; release() gives it back
                best.last_used = loop.time()
                return best
            if self.ready_workers() and not self._scaling and len(self.workers) < self.config.max_workers:
                self._scaling = True  # every worker is saturated; one scale-out at a time
                self.track(self._scale_out(key), "scale-out")
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise NoWorker(f"no worker had a free slot within {timeout:.0f} s (all {len(self.workers)} busy)")
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    def release(self, handle: WorkerHandle) -> None:
        handle.inflight -= 1
        self._wake()

    async def _scale_out(self, key: str) -> None:
        """One more worker for the function that found every worker busy: restored from that
        function's own image where it has one (loaded and compiled), else from the base image."""
        try:
            handle = await self.start_worker("extra", image=self.snapshots.for_function(self.runtime_key, key))
            waits = {asyncio.ensure_future(handle.ready.wait()), asyncio.ensure_future(handle.gone.wait())}
            _, pending = await asyncio.wait(waits, timeout=self.config.boot_timeout_s,
                                            return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()
        except OSError as e:
            log.warning("scale-out failed: %s", e)
        finally:
            self._scaling = False

    async def fresh_worker(self, how: str, image: Snapshot | None) -> WorkerHandle:
        """A new worker for one caller (``?worker=boot|snapshot``); it stays as an extra."""
        if how == "snapshot" and not self.criu.available:
            raise NoWorker(f"cannot restore a worker: {self.criu.message}")
        if how == "snapshot" and image is None and self.snapshots.base(self.runtime_key) is None:
            raise NoWorker("no image to restore yet: the base image is still being made; retry in a few seconds")
        handle = await self.start_worker("extra", how, image)
        if how == "snapshot" and handle.start_kind != "snapshot":
            self.kill(handle, "restore fell back to boot")
            raise NoWorker(f"restore failed: {self.restore_fallback}")
        await asyncio.wait_for(handle.ready.wait(), self.config.boot_timeout_s)
        handle.last_used = asyncio.get_running_loop().time()
        handle.inflight += 1  # like acquire(): the caller gives it back with release()
        return handle

    def ready_workers(self) -> list[WorkerHandle]:
        return [w for w in self.workers.values() if w.ready.is_set() and not w.dead]

    def kill(self, handle: WorkerHandle, reason: str) -> None:
        log.warning("killing worker %s (pid %s): %s", handle.token, handle.pid, reason)
        handle.mark_dead(reason)
        handle.kill(reason)

    # -- internals

    def _register(self, handle: WorkerHandle) -> None:
        (self.templates if handle.role == "template" else self.workers)[handle.token] = handle
        self.starts[handle.start_kind] += 1

    def _unregister(self, handle: WorkerHandle) -> None:
        self.workers.pop(handle.token, None)
        self.templates.pop(handle.token, None)

    def _fallback(self, reason: str) -> None:
        if self.restore_fallback is None:
            log.warning("workers will boot without snapshots: %s", reason)
        self.restore_fallback = reason

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            hello = await asyncio.wait_for(protocol.read_frame(reader), 10)
        except (TimeoutError, asyncio.IncompleteReadError, protocol.ProtocolError):
            writer.close()
            return
        token = str(hello.get("token"))
        handle = self.workers.get(token) or self.templates.get(token)
        if hello.get("op") != "hello" or handle is None or handle.dead:
            writer.close()
            return
        handle.attach(reader, writer, hello, _peer_pid(writer))
        self.boot_failures = 0
        log.info("worker %s ready in %.3f s (%s, pid %s)", handle.token, handle.ready_after_s or 0,
                 handle.start_kind, handle.pid)
        await self._notify()

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
            _reap(handle.pid)  # in case it outlived its unshare and was reparented to us
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
                await self._notify()
                return
        if handle.role == "member":
            await self.start_worker()
        await self._notify()

    async def _forward_stderr(self, handle: WorkerHandle, fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                                    os.fdopen(fd, "rb", buffering=0))
        try:
            async for line in reader:
                log.info("[worker %s] %s", handle.token, line.decode(errors="replace").rstrip())
        finally:
            transport.close()

    async def reap_idle(self) -> None:
        """Extra workers idle past the keep-alive are stopped."""
        while not self._stopping:
            await asyncio.sleep(1)
            now = asyncio.get_running_loop().time()
            for handle in list(self.workers.values()):
                idle_s = now - handle.last_used
                if (handle.role == "extra" and handle.ready.is_set() and handle.inflight == 0
                        and idle_s > self.config.keep_alive_s):
                    handle.mark_dead("idle past keep-alive")
                    handle.kill(f"idle for {idle_s:.0f} s, past the keep-alive")

    async def _notify(self) -> None:
        self._wake()

    def _wake(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def track(self, coro: Any, name: str) -> None:
        """Runs ``coro`` in the background; the pool cancels it when it stops."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _warm_base(template: WorkerHandle) -> None:
    """Initialises both guest languages in the shared engine and waits for the pre-created
    GraalPy contexts, so a restored worker has nothing left to warm."""
    for language, source in (("js", "function main(p) { return {ok: true}; }"),
                             ("python", "def main(args):\n    return {'ok': True}\n")):
        key = f"__warmup-{language}"
        loaded = await template.request({"op": "deploy", "spec": {
            "key": key, "language": language, "entrypoint": "main", "isolation": "instance", "env": {},
            "source": source}})
        if not loaded.get("ok"):
            raise criu.CriuError(f"warm-up deploy failed: {loaded}")
        for _ in range(3):
            await template.request({"op": "invoke", "key": key, "params": "{}", "timeout_ms": 60_000})
        template.send({"op": "undeploy", "key": key})
    for _ in range(600):
        runtime = await template.request({"op": "describe"})
        if runtime.get("python_blanks_ready", 0) >= 1:
            return
        await asyncio.sleep(0.1)


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
            await asyncio.wait_for(_wait_pid(handle.pid), timeout)
        return True
    except TimeoutError:
        return False


async def _wait_pid(pid: int) -> int:
    """Waits for a process that is not an asyncio child (a restored worker) and reaps it."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return _reap(pid)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()
    loop.add_reader(pidfd, lambda: done.done() or done.set_result(None))
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return _reap(pid)


def _reap(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    except ChildProcessError:
        return 0  # reparented elsewhere: its exit status is not ours to read


def _peer_pid(writer: asyncio.StreamWriter) -> int | None:
    """The worker's pid as this process sees it (its own getpid() is 1 inside a PID namespace)."""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return pid
