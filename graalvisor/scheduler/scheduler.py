"""Runs one invocation: wait for a concurrency slot, pick a worker, load the version there
if needed, invoke, and turn what came back into an :class:`Invocation`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from graalvisor.pool import NoWorker, Pool, WorkerHandle, WorkerLost

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
    result: str | None = None
    error: dict[str, Any] | None = None
    logs: list[str] = field(default_factory=list)
    wait_ms: float = 0.0
    load_ms: float = 0.0  # loading the version into the worker, when it did not hold it yet
    init_ms: float = 0.0
    run_ms: float = 0.0


class Scheduler:
    def __init__(self, pool: Pool, spec_for: Callable[[str], dict[str, Any]], queue_timeout_s: float) -> None:
        self.pool = pool
        self.spec_for = spec_for  # builds the deploy spec of a version key, from the registry
        self.queue_timeout_s = queue_timeout_s
        self._slots: dict[str, tuple[int, asyncio.Semaphore]] = {}
        self.queued: dict[str, int] = {}

    def _slot(self, target: Target) -> asyncio.Semaphore:
        current = self._slots.get(target.name)
        if current is None or current[0] != target.concurrency:
            current = (target.concurrency, asyncio.Semaphore(target.concurrency))
            self._slots[target.name] = current
        return current[1]

    async def deploy(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Loads a new version in one worker: the deploy-time check for syntax and entrypoint."""
        handle = await self.pool.acquire(spec["key"], self.queue_timeout_s)
        try:
            return await self._ensure_loaded(handle, spec["key"], spec)
        finally:
            self.pool.release(handle)

    def forget(self, keys: list[str]) -> None:
        """Unloads versions from every worker (an update or a delete made them unreachable)."""
        for handle in self.pool.ready_workers():
            for key in keys:
                if handle.loaded.pop(key, None) is not None:
                    handle.send({"op": "undeploy", "key": key})

    async def invoke(self, target: Target, params: str, fresh: str | None = None) -> Invocation:
        t0 = time.perf_counter()
        slot = self._slot(target)
        self.queued[target.name] = self.queued.get(target.name, 0) + 1
        try:
            await asyncio.wait_for(slot.acquire(), self.queue_timeout_s)
        except TimeoutError:
            return Invocation("unavailable", error={
                "error": f"function '{target.name}' has {target.concurrency} invocations in flight and this one "
                         f"waited {self.queue_timeout_s:.0f} s for a slot; raise its concurrency or retry later"},
                wait_ms=_ms(t0))
        finally:
            self.queued[target.name] -= 1
        try:
            return await self._run(target, params, t0, fresh)
        finally:
            slot.release()

    async def _run(self, target: Target, params: str, t0: float, fresh: str | None) -> Invocation:
        worker_ms = 0.0
        try:
            if fresh is None:
                handle = await self.pool.acquire(target.key, self.queue_timeout_s)
            else:
                t_start = time.perf_counter()
                image = self.pool.snapshots.for_function(self.pool.runtime_key, target.key)
                handle = await self.pool.fresh_worker(fresh, image)
                worker_ms = _ms(t_start)
        except NoWorker as e:
            return Invocation("unavailable", error={"error": f"no worker could take the invocation: {e}"},
                              wait_ms=_ms(t0))
        except (TimeoutError, WorkerLost) as e:
            return Invocation("unavailable", error={"error": f"the new worker did not come up: {e}"},
                              wait_ms=_ms(t0))
        try:
            t_load = time.perf_counter()
            loaded = await self._ensure_loaded(handle, target.key, None)
            if not loaded.get("ok"):
                return Invocation("load_error", error=_error(loaded), wait_ms=_ms(t0))
            load_ms = _ms(t_load)
            wait_ms = _ms(t0)
            timeout_s = target.timeout_ms / 1000 + WEDGE_GRACE_S
            try:
                outcome = await asyncio.wait_for(
                    handle.request({"op": "invoke", "key": target.key, "params": params,
                                    "timeout_ms": target.timeout_ms}),
                    timeout_s)
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
            self.pool.release(handle)
        inv = _to_invocation(outcome, wait_ms - worker_ms - load_ms)
        inv.load_ms = load_ms
        if fresh is not None:
            # The caller waited for a whole worker: that is the start, and its kind.
            inv.start = handle.start_kind
            inv.init_ms += worker_ms
        return inv

    async def _ensure_loaded(self, handle: WorkerHandle, key: str, spec: dict[str, Any] | None) -> dict[str, Any]:
        future = handle.loaded.get(key)
        if future is None:
            future = asyncio.ensure_future(handle.request({"op": "deploy", "spec": spec or self.spec_for(key)}))
            handle.loaded[key] = future
        try:
            outcome = await asyncio.shield(future)
        except asyncio.CancelledError:
            if future.cancelled():  # the worker died while loading
                raise WorkerLost(f"worker {handle.pid} died while loading {key}") from None
            raise
        if not outcome.get("ok"):
            handle.loaded.pop(key, None)  # a failed load is not cached: the next call retries
        return outcome


def _ms(t0: float) -> float:
    return (time.perf_counter() - t0) * 1000


def _error(outcome: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"error": outcome.get("message", ""), "kind": outcome.get("kind")}
    for k in ("type", "line"):
        if k in outcome:
            error[k] = outcome[k]
    return error


def _to_invocation(outcome: dict[str, Any], wait_ms: float) -> Invocation:
    inv = Invocation(
        status="success" if outcome.get("ok") else _status(outcome.get("kind", "error")),
        start=outcome.get("start"),
        logs=outcome.get("logs", []),
        wait_ms=wait_ms,
        init_ms=outcome.get("init_ns", 0) / 1e6,
        run_ms=outcome.get("run_ns", 0) / 1e6,
    )
    if outcome.get("ok"):
        inv.result = outcome["result"]
    else:
        inv.error = _error(outcome)
    return inv


def _status(kind: str) -> str:
    return {"timeout": "timeout", "load": "load_error", "not_deployed": "load_error"}.get(kind, "error")
