"""The memory budget: while the platform's memory (the PSS of the gateway, its workers and
templates) is over ``--memory-budget-mb``, what was used least recently goes, as OpenWhisk's
invoker evicts idle containers: idle extra workers first (a whole JVM each), then versions
loaded in a worker and idle there (their isolates; the worker then gives the freed heap back).
Members are the floor and are never stopped for memory. While over the budget no worker is
added for load.

PSS, not RSS: clones of one image share its pages, and PSS counts each shared page once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psutil

from graalvisor.pool.handle import WorkerHandle, WorkerLost
from graalvisor.pool.supervisor import Supervisor
from graalvisor.protocol.messages import Reply

# Unloads idle versions from a worker: (the keys unloaded, the reply that comes once the worker
# has also collected its garbage and given the heap back; None when nothing was unloaded).
Unload = Callable[[WorkerHandle, list[str]], tuple[list[str], Awaitable[Reply] | None]]

log = logging.getLogger("graalvisor.pool")

PERIOD_S = 2.0
# Evict down to this share of the budget, so the next few loads do not cross it again at once.
LOW_WATER = 0.9
# Versions evicted per measurement at most, as a share of the idle ones: what one version
# frees is not known until the worker has collected its garbage, so evict some, measure again.
VERSION_SHARE = 0.25


@dataclass(frozen=True)
class VersionUse:
    key: str
    last_used: float
    inflight: int


@dataclass(frozen=True)
class WorkerUse:
    """What the eviction plan needs to know of a worker."""

    token: str
    role: str
    inflight: int
    last_used: float
    pss: int
    versions: tuple[VersionUse, ...] = ()


@dataclass(frozen=True)
class Evictions:
    workers: tuple[str, ...] = ()
    versions: tuple[tuple[str, str], ...] = ()  # (worker token, version key)

    def __bool__(self) -> bool:
        return bool(self.workers or self.versions)


def plan(pss: int, budget: int, workers: list[WorkerUse]) -> Evictions:
    """What to evict when the platform holds ``pss`` bytes against ``budget`` (pure logic)."""
    if budget <= 0 or pss <= budget:
        return Evictions()
    excess = pss - int(budget * LOW_WATER)
    gone: list[str] = []
    for w in sorted((w for w in workers if w.role == "extra" and w.inflight == 0), key=lambda w: w.last_used):
        if excess <= 0:
            break
        gone.append(w.token)
        excess -= w.pss
    if excess <= 0:
        return Evictions(workers=tuple(gone))
    idle = sorted((v.last_used, w.token, v.key) for w in workers if w.token not in gone and w.role != "template"
                   for v in w.versions if v.inflight == 0)
    take = math.ceil(len(idle) * VERSION_SHARE)
    return Evictions(workers=tuple(gone), versions=tuple((token, key) for _, token, key in idle[:take]))


def tree_pss(pids: list[int]) -> dict[int, int]:
    """PSS of each pid with its descendants (a booted worker is `unshare` with the JVM below it;
    the gateway's descendants are every worker it reaps); a pid that is gone is left out.

    One pass over /proc for the parents, and each process's smaps_rollup read once however many
    of the trees hold it: the kernel walks the process's page tables for it (11-18 ms for a
    worker of 300 MB on a busy machine), and the gateway's tree holds every worker again."""
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        children.setdefault(int(proc.info["ppid"] or 0), []).append(proc.pid)
    own: dict[int, int | None] = {}

    def pss(pid: int) -> int | None:
        if pid not in own:
            try:
                own[pid] = int(getattr(psutil.Process(pid).memory_full_info(), "pss", 0))
            except psutil.Error:
                own[pid] = None  # gone
        return own[pid]

    out: dict[int, int] = {}
    for pid in pids:
        root = pss(pid)
        if root is None:
            continue
        total, below = root, list(children.get(pid, ()))
        while below:
            child = below.pop()
            total += pss(child) or 0
            below.extend(children.get(child, ()))
        out[pid] = total
    return out


@dataclass
class BudgetStatus:
    budget_bytes: int
    pss_bytes: int = 0
    evicted_workers: int = 0
    evicted_versions: int = 0
    shrinks: int = 0  # workers that collected and gave back their heap after an eviction

    @property
    def over(self) -> bool:
        return self.budget_bytes > 0 and self.pss_bytes > self.budget_bytes

    def describe(self) -> dict[str, object]:
        return {"budget_bytes": self.budget_bytes, "pss_bytes": self.pss_bytes, "over": self.over,
                "evicted_workers": self.evicted_workers, "evicted_versions": self.evicted_versions,
                "shrinks": self.shrinks}


class MemoryBudget:
    def __init__(self, budget_mb: int, supervisor: Supervisor, unload: Unload) -> None:
        self.supervisor = supervisor
        self.unload = unload
        self.status = BudgetStatus(budget_bytes=budget_mb * 1024 * 1024)

    @property
    def over(self) -> bool:
        return self.status.over

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PERIOD_S)
            try:
                await self.check()
            except Exception:  # a failed measurement must not end the loop
                log.exception("memory budget check failed")

    async def check(self) -> Evictions:
        sup = self.supervisor
        handles = [h for h in [*sup.workers.values(), *sup.templates.values()] if h.pid]
        gateway = os.getpid()
        sizes = await asyncio.to_thread(tree_pss, [gateway, *(h.pid for h in handles if h.pid)])
        # Restored workers are the gateway's children (it is their subreaper): counted once.
        own = sizes.get(gateway, 0) - sum(sizes.get(h.pid, 0) for h in handles if h.pid)
        per_worker = {h.token: sizes.get(h.pid or 0, 0) for h in handles}
        self.status.pss_bytes = max(own, 0) + sum(per_worker.values())
        decided = plan(self.status.pss_bytes, self.status.budget_bytes, [_use(h, per_worker) for h in handles])
        if decided:
            self._evict(decided)
        return decided

    def _evict(self, decided: Evictions) -> None:
        sup = self.supervisor
        log.info("memory %d MiB over the budget of %d MiB: evicting %d idle worker(s), %d idle version(s)",
                 (self.status.pss_bytes - self.status.budget_bytes) >> 20, self.status.budget_bytes >> 20,
                 len(decided.workers), len(decided.versions))
        for token in decided.workers:
            handle = sup.workers.get(token)
            if handle is not None and handle.inflight == 0:
                handle.mark_dead("evicted: memory budget")
                handle.kill("evicted: over the memory budget")
                self.status.evicted_workers += 1
        by_worker: dict[str, list[str]] = {}
        for token, key in decided.versions:
            by_worker.setdefault(token, []).append(key)
        for token, keys in by_worker.items():
            handle = sup.workers.get(token)
            if handle is None or handle.dead:
                continue
            dropped, shrunk = self.unload(handle, keys)
            self.status.evicted_versions += len(dropped)
            if shrunk is not None:
                sup.track(self._shrink(handle, shrunk), "shrink")

    async def _shrink(self, handle: WorkerHandle, reply: Awaitable[Reply]) -> None:
        try:
            answer = await reply
        except WorkerLost:
            return
        if answer.ok:
            self.status.shrinks += 1
        else:
            log.warning("worker %s could not unload and shrink: %s", handle.token, answer.message)


def _loaded(handle: WorkerHandle, key: str) -> bool:
    """Loaded and done loading: a load in flight is in use."""
    future = handle.loaded.get(key)
    return future is not None and future.done()


def _use(handle: WorkerHandle, pss: dict[str, int]) -> WorkerUse:
    versions = tuple(VersionUse(key, handle.version_used.get(key, 0.0), handle.version_inflight.get(key, 0))
                     for key in handle.loaded if _loaded(handle, key))
    return WorkerUse(handle.token, handle.role, handle.inflight, handle.last_used, pss.get(handle.token, 0), versions)
