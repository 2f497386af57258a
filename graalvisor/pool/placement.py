"""Which worker runs a call: a ready worker that holds the version while one has a free slot, else
the least busy; more workers when every one is saturated; extras stopped once idle past the
keep-alive.

The sole writer of a worker's ``inflight`` count and of what it has ``loaded``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from graalvisor.config import Config
from graalvisor.pool.handle import NoWorker, WorkerHandle, WorkerLost
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.supervisor import Supervisor
from graalvisor.protocol.messages import Op, Reply

log = logging.getLogger("graalvisor.pool")

# Builds what a worker loads for a version key (from the registry: a disk read, maybe an unzip).
SpecFor = Callable[[str], Awaitable[dict[str, Any]]]
# Calls of a version new to a worker it may run at once before one has answered.
RAMP_FIRST = 2
# Calls answered after which a version runs in a worker as often at once as slots allow.
RAMPED = 1 << 16
# A caller held back by a version's ramp goes ahead after this long anyway (half its queue timeout
# at most), so the ramp alone never fails a call; a first call that slow is itself the cost.
RAMP_PATIENCE_S = 10.0


class Placement:
    def __init__(self, config: Config, supervisor: Supervisor, spec_for: SpecFor,
                 image_for: Callable[[str], Snapshot | None]) -> None:
        self.config = config
        self.supervisor = supervisor
        self.spec_for = spec_for
        self.image_for = image_for  # the function's own image, for a scale-out on its behalf
        self._scaling = False
        self.over_budget: Callable[[], bool] = lambda: False  # no worker is added for load while true
        self._running: dict[str, int] = {}  # version key -> slots it holds
        self._waiting: dict[str, int] = {}  # version key -> callers waiting for a slot
        self._turns: deque[tuple[str, asyncio.Future[int]]] = deque()  # callers waiting, in line
        supervisor.on_ready = self._seed
        supervisor.on_change = self._wake_all

    async def acquire(self, key: str, timeout: float) -> WorkerHandle:
        """The least busy ready worker that has ``key`` loaded, while one has a free slot; else the
        least busy one. A worker runs at most ``worker_threads`` invocations at once: guest code
        cannot block on I/O, so more than a few per core only thrash. Past that, callers wait
        here, not in a worker.

        A version stays on the workers that hold it: its compiled code lives in their JVMs, and
        on another worker it would run interpreted, be compiled a second time and hold a second
        set of isolates. Among those, it goes to one it has run in: clones of a rolling image all
        hold every version, but its isolates are where it ran. Busier is no slower there: every
        worker shares the same cores.

        Slots are shared fairly between versions: while other versions wait, a version holding
        its share of all slots (or more) waits too, so one function's burst cannot take every
        slot from the rest.

        A version new to a worker ramps up there: two calls at once until one has answered, then
        one more per call answered. Its first calls run in the Truffle interpreter (10-100x its
        compiled speed); eight of them at once take eight times the CPU from everyone, the
        compiler included, and stay interpreted the longer for it. Held back, the next call finds
        the code compiled, or further on. Two, not one: one at a time measured slower
        (`bench.firstburst`, DESIGN.md)."""
        sup = self.supervisor
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        patience = loop.time() + min(RAMP_PATIENCE_S, timeout / 2)
        cap = self.config.worker_threads
        self._waiting[key] = self._waiting.get(key, 0) + 1
        passes = 0  # how many more waiters a free slot this caller may not use can be handed to
        try:
            while True:
                if sup.halted_reason:
                    raise NoWorker(sup.halted_reason)
                ready = [w for w in sup.ready_workers() if w.role != "retiring"]
                free = [w for w in ready if w.inflight < cap]
                ramping = False
                if free and not self._over_share(key, len(ready) * cap):
                    # Placed but not loaded yet holds it too: the load follows the placement.
                    holders = [w for w in free if key in w.loaded or key in w.version_inflight]
                    ramped = [w for w in holders if _ramp_room(w, key) or loop.time() >= patience]
                    if ramped or not holders:
                        # Where it has run first (its isolates are there), then where the least
                        # runs, then where the fewest are loaded.
                        best = min(ramped or free, key=lambda w: (not _has_run(w, key), w.inflight, len(w.loaded)))
                        self._take(best, key)
                        return best
                    ramping = True
                if free and passes > 0:
                    self._wake_one(passes - 1)  # over its share: the next in line may use the slot
                if (not free and ready and not self._scaling and len(sup.workers) < self.config.max_workers
                        and not self.over_budget()):
                    self._scaling = True  # every worker is saturated; one scale-out at a time
                    sup.track(self._scale_out(key), "scale-out")
                remaining = deadline - loop.time()
                if remaining <= 0:
                    raise NoWorker(f"no worker had a free slot within {timeout:.0f} s (all {len(sup.workers)} busy)")
                if ramping:  # held back by the ramp alone: look again once patience is out
                    remaining = min(remaining, max(patience - loop.time(), 0.001))
                passes = await self._wait_turn(key, remaining)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]

    def release(self, handle: WorkerHandle, key: str, answered: bool = True) -> None:
        """Gives a slot back; ``answered`` is false where no call of the version ran (a deploy's
        load), which does not count towards its ramp."""
        handle.inflight -= 1
        if answered:
            handle.version_done[key] = min(handle.version_done.get(key, 0) + 1, RAMPED)
        handle.version_inflight[key] -= 1
        if not handle.version_inflight[key]:
            del handle.version_inflight[key]
        self._running[key] -= 1
        if not self._running[key]:
            del self._running[key]
        # One slot is free: one waiter is woken, never all of them (each would re-run the
        # placement and all but one go back to sleep: that herd was most of the gateway's CPU
        # at 16 callers).
        self._wake_one(len(self._turns))
        self.supervisor.slot_freed()

    async def _wait_turn(self, key: str, remaining: float) -> int:
        """Waits, in line, for a slot to free or the workers to change; returns how many more
        waiters this one may pass the turn to (0 after a timeout)."""
        turn: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._turns.append((key, turn))
        try:
            async with asyncio.timeout(remaining):
                return await turn
        except TimeoutError:
            return turn.result() if turn.done() and not turn.cancelled() else 0
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._wake_one(turn.result())  # given a turn, then cancelled: the next one gets it
            raise
        finally:
            if not turn.done():
                turn.cancel()

    def _wake_one(self, passes: int) -> None:
        """Gives the turn to the first waiter whose version is within its share, else to the first."""
        while self._turns and self._turns[0][1].done():
            self._turns.popleft()  # timed out or cancelled
        if not self._turns:
            return
        slots = sum(1 for w in self.supervisor.ready_workers() if w.role != "retiring") * self.config.worker_threads
        chosen = next(((k, t) for k, t in self._turns if not t.done() and not self._over_share(k, slots)),
                      self._turns[0])
        self._turns.remove(chosen)
        chosen[1].set_result(passes)

    def _wake_all(self) -> None:
        """A worker came or went, or the pool halted: every waiter looks again."""
        turns, self._turns = self._turns, deque()
        for _, turn in turns:
            if not turn.done():
                turn.set_result(0)

    def _over_share(self, key: str, slots: int) -> bool:
        """Whether ``key`` must let others go first: it holds at least its fair share of the
        slots and another version is waiting for one."""
        if not any(waiting for other, waiting in self._waiting.items() if other != key):
            return False
        active = {*self._running, *self._waiting}
        return self._running.get(key, 0) >= max(1, slots // len(active))

    async def fresh_worker(self, how: str, key: str) -> WorkerHandle:
        """A new worker for one caller (``?worker=boot|snapshot``); it stays as an extra."""
        sup = self.supervisor
        image = self.image_for(key) if how == "snapshot" else None
        if how == "snapshot" and not sup.criu.available:
            raise NoWorker(f"cannot restore a worker: {sup.criu.message}")
        if how == "snapshot" and image is None and sup.newest_image() is None:
            raise NoWorker("no image to restore yet: the base image is still being made; retry in a few seconds")
        handle = await sup.start_worker("extra", how, image)
        if how == "snapshot" and handle.start_kind != "snapshot":
            sup.kill(handle, "restore fell back to boot")
            raise NoWorker(f"restore failed: {sup.restore_fallback}")
        await asyncio.wait_for(handle.ready.wait(), self.config.boot_timeout_s)
        self._take(handle, key)  # like acquire(): the caller gives it back with release()
        return handle

    async def ensure_loaded(self, handle: WorkerHandle, key: str, spec: dict[str, Any] | None = None) -> Reply:
        """Loads a version into a worker once; concurrent callers share the one load."""
        future = handle.loaded.get(key)
        if future is not None and future.done() and not future.cancelled() and future.exception() is None:
            reply = future.result()
            if reply.ok:
                return reply  # the warm path: loaded long ago
        if future is None:
            future = asyncio.ensure_future(self._load(handle, key, spec))
            handle.loaded[key] = future
        try:
            reply = await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():  # the worker died while loading
                raise WorkerLost(f"worker {handle.pid} died while loading {key}") from None
            raise
        except Exception:
            if handle.loaded.get(key) is future:
                del handle.loaded[key]  # e.g. the version was deleted meanwhile: nothing cached
            raise
        if not reply.ok and handle.loaded.get(key) is future:
            del handle.loaded[key]  # a failed load is not cached: the next call retries
        return reply

    def forget(self, keys: list[str]) -> None:
        """Unloads versions from every worker (an update or a delete made them unreachable)."""
        for handle in self.supervisor.ready_workers():
            for key in keys:
                handle.version_done.pop(key, None)
                if handle.loaded.pop(key, None) is not None:
                    self._undeploy(handle, key)

    def unload_idle(self, handle: WorkerHandle, keys: list[str],
                    shrink: bool = True) -> tuple[list[str], Awaitable[Reply] | None]:
        """Unloads the versions of ``keys`` that ``handle`` holds and runs no call of; with
        ``shrink`` (the memory budget) the last one unloaded asks the worker to collect and give
        its heap back, and the reply to that comes back."""
        dropped = [k for k in keys if not handle.version_inflight.get(k) and k in handle.loaded
                   and handle.loaded[k].done()]
        for key in dropped:
            del handle.loaded[key]
            handle.version_used.pop(key, None)
            handle.version_done.pop(key, None)
        replies = [self._undeploy(handle, key, shrink and key == dropped[-1]) for key in dropped]
        return dropped, replies[-1] if shrink and replies else None

    def _undeploy(self, handle: WorkerHandle, key: str, shrink: bool = False) -> asyncio.Future[Reply]:
        """Unloads ``key`` in the worker. A later load of it there waits for this one's answer:
        the worker runs requests on several threads, so a deploy sent after could run first
        and then be undone."""
        future = asyncio.ensure_future(handle.request(Op.UNDEPLOY, key=key, shrink=shrink))
        handle.unloading[key] = future

        def done(f: asyncio.Future[Reply]) -> None:
            if handle.unloading.get(key) is f:
                del handle.unloading[key]
            if not f.cancelled():
                f.exception()  # a worker lost meanwhile: nothing to unload any more

        future.add_done_callback(done)
        return future

    async def reap_idle(self) -> None:
        """Extra workers idle past the keep-alive are stopped."""
        while True:
            await asyncio.sleep(1)
            now = asyncio.get_running_loop().time()
            for handle in list(self.supervisor.workers.values()):
                idle_s = now - handle.last_used
                if (handle.role == "extra" and handle.ready.is_set() and handle.inflight == 0
                        and idle_s > self.config.keep_alive_s):
                    handle.mark_dead("idle past keep-alive")
                    handle.kill(f"idle for {idle_s:.0f} s, past the keep-alive")

    # -- internals

    def _take(self, handle: WorkerHandle, key: str) -> None:
        handle.inflight += 1  # taken now, so concurrent callers see it; release() gives it back
        handle.version_inflight[key] = handle.version_inflight.get(key, 0) + 1
        self._running[key] = self._running.get(key, 0) + 1
        handle.last_used = handle.version_used[key] = asyncio.get_running_loop().time()

    async def _load(self, handle: WorkerHandle, key: str, spec: dict[str, Any] | None) -> Reply:
        unloading = handle.unloading.get(key)
        if unloading is not None:
            await asyncio.wait([unloading])  # its outcome is the undeploy's business, not this load's
        return await handle.request(Op.DEPLOY, spec=spec if spec is not None else await self.spec_for(key))

    def _seed(self, handle: WorkerHandle) -> None:
        """A worker restored from a function image already holds that function: no deploy round trip."""
        loop = asyncio.get_running_loop()
        for key in handle.deployed_at_hello:
            loaded: asyncio.Future[Reply] = loop.create_future()
            loaded.set_result(Reply(ok=True))
            handle.loaded.setdefault(key, loaded)
            handle.version_done[key] = RAMPED  # compiled in the image: no ramp

    async def _scale_out(self, key: str) -> None:
        """One more worker for the function that found every worker busy: restored from that
        function's own image where it has one (loaded and compiled), else from the base image."""
        try:
            handle = await self.supervisor.start_worker("extra", image=self.image_for(key))
            await handle.wait_up(self.config.boot_timeout_s)
        except OSError as e:
            log.warning("scale-out failed: %s", e)
        finally:
            self._scaling = False


def _has_run(handle: WorkerHandle, key: str) -> bool:
    """Whether ``key`` has run in ``handle``: its isolates are there. Every clone of a rolling
    image holds every version it was made with, and most of their isolates were closed before the
    dump; a call sent to another holder makes a second isolate there (a GraalPy one: 10 MB of heap
    and up to seconds, and its first call 20-30x a warm one), in each worker in turn."""
    return key in handle.version_used


def _ramp_room(handle: WorkerHandle, key: str) -> bool:
    """Whether ``handle`` may run one more call of ``key``: RAMP_FIRST, plus one per call answered."""
    return handle.version_inflight.get(key, 0) < RAMP_FIRST + handle.version_done.get(key, 0)
