"""Runs one invocation: wait for a concurrency slot, pick a worker, load the version there
if needed, invoke, and turn what came back into an :class:`Invocation`."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from graalvisor.pool import NoWorker, Pool, WorkerLost
from graalvisor.protocol import Op, Reply
from graalvisor.scheduler.slots import Pace, Slots

log = logging.getLogger("graalvisor.scheduler")

# Past the function's own timeout the worker's watchdog should have answered; if it has
# not, the worker is wedged and is replaced.
WEDGE_GRACE_S = 10.0


@dataclass(frozen=True)
class Target:
    """What the scheduler needs to know of a function version."""

    key: str
    name: str
    language: str
    timeout_ms: int
    concurrency: int


@dataclass
class Invocation:
    status: str  # success | error | timeout | worker_lost | unavailable | load_error
    start: str | None = None
    result: bytes | None = None  # the function's JSON, as the worker sent it: the HTTP body
    error: dict[str, Any] | None = None
    logs: list[str] = field(default_factory=list)
    wait_ms: float = 0.0
    load_ms: float = 0.0  # loading the version into the worker, when it did not hold it yet
    init_ms: float = 0.0
    run_ms: float = 0.0
    # Where the rest of a warm call went, for Server-Timing: the socket both ways and the
    # gateway's and worker's event loops (ipc), the worker's Python (worker), and the call
    # into Java less the isolate's start and run (jvm).
    ipc_ms: float = 0.0
    worker_ms: float = 0.0
    jvm_ms: float = 0.0


class Scheduler:
    def __init__(self, pool: Pool, queue_timeout_s: float, python_isolates: int) -> None:
        self.pool = pool
        self.queue_timeout_s = queue_timeout_s
        # A new GraalPy context re-imports and re-initialises everything and runs the function's
        # code cold: seconds, where a warm isolate answers in milliseconds. So a Python version
        # runs at most this many calls at once, and a burst queues here for a warm isolate
        # instead of starting a storm of new contexts; unless its calls are short (Pace).
        self.python_isolates = python_isolates
        self._slots: dict[str, Slots] = {}
        self._pace: dict[str, Pace] = {}
        self.queued: dict[str, int] = {}
        # The latest version (key) of each function that has answered a call, and when it first
        # did: until its version has, a caller waits for the cold start ahead of it, and its queue
        # timeout counts from that first answer.
        self._answered: dict[str, tuple[str, float]] = {}

    def _slot(self, target: Target) -> Slots:
        """The function's slots (Python: capped at warm isolates unless its calls are short)."""
        limit = target.concurrency
        if target.language == "python":
            pace = self._pace.get(target.name)
            if pace is None or pace.key != target.key or not pace.short:
                limit = min(limit, self.python_isolates)
        slots = self._slots.get(target.name)
        if slots is None:
            slots = self._slots[target.name] = Slots(limit)
        elif slots.limit != limit:
            slots.set_limit(limit)
        return slots

    def _note_pace(self, target: Target, inv: Invocation) -> None:
        """How long a Python call held its isolate (its start, a wait for a warm one included,
        and its run): the pace that decides whether the function's calls are short."""
        if target.language != "python" or inv.status != "success":
            return
        held_ms = inv.init_ms + inv.run_ms
        pace = self._pace.get(target.name)
        if pace is None or pace.key != target.key:
            self._pace[target.name] = Pace(target.key, held_ms)
        elif pace.note(held_ms):
            self._slot(target)  # the limit follows at once: waiters go ahead when it rose

    async def deploy(self, spec: dict[str, Any]) -> Reply:
        """Loads a new version in one worker, the deploy-time check for syntax and entrypoint
        (JS, Java, and Python the gateway's parser could not read), and unloads it again: most
        functions are called rarely, and a version left loaded held an isolate in a worker
        whether it was ever called or not. Its first call loads it where placement puts it. A
        version the worker already held (the same code deployed again) stays."""
        key = spec["key"]
        handle = await self.pool.acquire(key, self.queue_timeout_s)
        held = key in handle.loaded
        try:
            return await self.pool.ensure_loaded(handle, key, spec)
        finally:
            self.pool.release(handle, key, answered=False)  # loaded, never called: still ramps
            if not held:
                self.pool.unload(handle, key)

    def forget(self, name: str) -> None:
        """A deleted function's queue state goes with it."""
        self._slots.pop(name, None)
        self._pace.pop(name, None)
        self._answered.pop(name, None)
        if not self.queued.get(name):
            self.queued.pop(name, None)

    async def invoke(self, target: Target, params: bytes, fresh: str | None = None,
                     env: dict[str, str] | None = None) -> Invocation:
        """``env``: variables the guest sees for this call only (JS process.env, Python os.environ)."""
        t0 = time.perf_counter()
        slot = self._slot(target)
        if not slot.free():  # a free slot is taken at once: no timer, no task
            self.queued[target.name] = self.queued.get(target.name, 0) + 1
            try:
                wait_s = self.queue_timeout_s
                while True:
                    try:
                        async with asyncio.timeout(wait_s):
                            await slot.acquire()
                        break
                    except TimeoutError:
                        # Behind a version's first calls (a first load into a cold worker took
                        # 30-40 s here, a first GraalPy context seconds more) a caller waits for
                        # them: that is the start's cost, not a function over its concurrency.
                        # Each of those calls is bounded by the function's timeout.
                        wait_s = self._queue_left(target, t0)
                        if wait_s <= 0:
                            return Invocation("unavailable", error={
                                "error": f"function '{target.name}' has {slot.held} invocations in flight and "
                                         f"this one waited {_ms(t0) / 1000:.0f} s for a slot; raise its "
                                         "concurrency or retry later"},
                                wait_ms=_ms(t0))
            finally:
                self.queued[target.name] -= 1
        else:
            slot.take()
        try:
            inv = await self._run(target, params, t0, fresh, env)
            self._note_pace(target, inv)
            return inv
        finally:
            if self._answered.get(target.name, ("", 0.0))[0] != target.key:  # whatever the outcome
                self._answered[target.name] = (target.key, time.perf_counter())
            slot.release()

    def _queue_left(self, target: Target, t0: float) -> float:
        """Seconds a caller queued since ``t0`` may still wait: the queue timeout, counted from
        its arrival or the version's first answer, whichever came later."""
        key, at = self._answered.get(target.name, ("", 0.0))
        if key != target.key:
            return self.queue_timeout_s  # still starting: wait for it
        return max(t0, at) + self.queue_timeout_s - time.perf_counter()

    async def _run(self, target: Target, params: bytes, t0: float, fresh: str | None,
                   env: dict[str, str] | None) -> Invocation:
        worker_ms = 0.0
        try:
            if fresh is None:
                handle = await self.pool.acquire(target.key, self.queue_timeout_s)
            else:
                t_start = time.perf_counter()
                handle = await self.pool.fresh_worker(fresh, target.key)
                worker_ms = _ms(t_start)
        except NoWorker as e:
            return Invocation("unavailable", error={"error": f"no worker could take the invocation: {e}"},
                              wait_ms=_ms(t0))
        except (TimeoutError, WorkerLost) as e:
            return Invocation("unavailable", error={"error": f"the new worker did not come up: {e}"},
                              wait_ms=_ms(t0))
        try:
            t_load = time.perf_counter()
            loaded = await self.pool.ensure_loaded(handle, target.key)
            if not loaded.ok:  # a Python version's top-level code runs here first (domain.pycheck)
                error = _error(loaded)
                error["error"] = f"the code does not load: {loaded.message.strip()}"
                return Invocation("load_error", error=error, wait_ms=_ms(t0))
            load_ms = _ms(t_load)
            wait_ms = _ms(t0)
            timeout_s = target.timeout_ms / 1000 + WEDGE_GRACE_S
            extra = {} if env is None else {"env": env}  # no env: the frame has no such key
            t_sent = time.perf_counter()
            try:
                reply = await handle.request(Op.INVOKE, within_s=timeout_s, key=target.key, params=params,
                                             timeout_ms=target.timeout_ms, **extra)
                round_trip_ms = _ms(t_sent)
            except TimeoutError:
                self.pool.kill(handle, f"invocation of {target.key} still running {timeout_s:.0f} s after it started")
                return Invocation("timeout", error={"error": f"the function ran past its timeout of "
                                                             f"{target.timeout_ms} ms and its worker was replaced"},
                                  wait_ms=wait_ms)
        except WorkerLost as e:
            return Invocation("worker_lost", error={"error": f"{e}; the invocation did not complete and was not "
                                                             "retried (it may have had side effects)"},
                              wait_ms=_ms(t0))
        finally:
            self.pool.release(handle, target.key)
        inv = _to_invocation(reply, wait_ms - worker_ms - load_ms)
        inv.load_ms = load_ms
        if reply.worker_ns:
            inv.ipc_ms = round_trip_ms - reply.worker_ns / 1e6
            inv.worker_ms = (reply.worker_ns - reply.call_ns) / 1e6
            inv.jvm_ms = max(0.0, (reply.call_ns - reply.init_ns - reply.run_ns) / 1e6)
        if fresh is not None:
            # The caller waited for a whole worker: that is the start, and its kind.
            inv.start = handle.start_kind
            inv.init_ms += worker_ms
        return inv


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _error(reply: Reply) -> dict[str, Any]:
    error: dict[str, Any] = {"error": reply.message, "kind": reply.kind}
    if reply.type is not None:
        error["type"] = reply.type
    if reply.line is not None:
        error["line"] = reply.line
    if reply.value is not None:  # a thrown or rejected JS value that is not an Error, as JSON
        error["value"] = reply.value
    return error


def _to_invocation(reply: Reply, wait_ms: float) -> Invocation:
    inv = Invocation(
        status="success" if reply.ok else _status(reply.kind),
        start=reply.start,
        logs=list(reply.logs),
        wait_ms=wait_ms,
        init_ms=reply.init_ns / 1e6,
        run_ms=reply.run_ns / 1e6,
    )
    if reply.ok and reply.result is not None:
        inv.result = reply.result
    elif reply.ok:  # a worker bug: an invocation always has a result, if only null
        inv.status = "error"
        inv.error = {"error": "the worker answered without a result", "kind": "internal"}
    else:
        inv.error = _error(reply)
    return inv


def _status(kind: str | None) -> str:
    return {"timeout": "timeout", "load": "load_error", "not_deployed": "load_error"}.get(kind or "error", "error")
