"""The pool as the scheduler and the daemon see it: one small facade over the supervisor
(processes), placement (which worker runs a call), templates (images) and the rolling image
(versions compiled for every worker)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from graalvisor.config import Config
from graalvisor.pool.budget import MemoryBudget
from graalvisor.pool.handle import WorkerHandle
from graalvisor.pool.placement import Placement, SpecFor
from graalvisor.pool.rolling import RollingImage
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.supervisor import Supervisor
from graalvisor.pool.templates import Replay, Templates
from graalvisor.protocol.messages import Reply


@dataclass(frozen=True)
class PoolStatus:
    """What /healthz and /metrics show of the pool, read in one place."""

    workers: list[dict[str, Any]]
    ready: int
    runtime: dict[str, Any]
    halted: str | None
    criu: dict[str, Any]
    criu_available: bool
    booting_because: str | None
    copied_because: str | None
    memory: str  # mapped | copied
    base_image: str | None
    warm_image: str | None
    warm_versions: int
    images: int
    runtime_key: str
    starts: dict[str, int]
    memory_budget: dict[str, object]


class Pool:
    def __init__(self, config: Config, spec_for: SpecFor) -> None:
        self.config = config
        self.supervisor = Supervisor(config)
        self.templates = Templates(config, self.supervisor, spec_for)
        self.placement = Placement(config, self.supervisor, spec_for, self.templates.for_function)
        self.rolling = RollingImage(config, self.templates)
        self.budget = MemoryBudget(config.memory_budget_mb, self.supervisor, self.placement.unload_idle)
        self.placement.over_budget = lambda: self.budget.over
        self.templates.on_base_made = self._base_made
        self.rolling.on_made = lambda renew: self._renew_members() if renew else None

    async def start(self) -> None:
        await self.supervisor.start()
        for _ in range(self.config.workers):
            await self.supervisor.start_worker()
        self.supervisor.track(self.placement.reap_idle(), "reap-idle")
        if self.config.memory_budget_mb > 0:
            self.supervisor.track(self.budget.run(), "memory-budget")
        self.templates.make_base_if_missing()

    async def stop(self) -> None:
        await self.supervisor.stop()

    # -- running calls

    async def acquire(self, key: str, timeout: float) -> WorkerHandle:
        return await self.placement.acquire(key, timeout)

    def release(self, handle: WorkerHandle, key: str, answered: bool = True) -> None:
        self.placement.release(handle, key, answered)

    async def fresh_worker(self, how: str, key: str) -> WorkerHandle:
        return await self.placement.fresh_worker(how, key)

    async def ensure_loaded(self, handle: WorkerHandle, key: str, spec: dict[str, Any] | None = None) -> Reply:
        return await self.placement.ensure_loaded(handle, key, spec)

    def unload(self, handle: WorkerHandle, key: str) -> None:
        """Drops a version from a worker unless a call of it is running there."""
        self.placement.unload_idle(handle, [key], shrink=False)

    def kill(self, handle: WorkerHandle, reason: str) -> None:
        self.supervisor.kill(handle, reason)

    def forget(self, keys: list[str], live_keys: set[str]) -> None:
        """Versions no longer served: unloaded everywhere, their images and counters dropped."""
        self.placement.forget(keys)
        self.templates.forget(keys, live_keys)
        self.rolling.forget(keys)

    def _base_made(self) -> None:
        self._renew_members()
        self.rolling.kick()  # versions that waited for it

    def _renew_members(self) -> None:
        self.supervisor.track(self.supervisor.renew_members(), "renew-members")

    # -- images

    async def image_function(self, key: str, samples: tuple[bytes, ...], warmup: int, timeout_ms: int,
                             env: dict[str, str]) -> Snapshot:
        """An image of the version's own, warmed with ``warmup`` calls taking the params
        ``samples`` (JSON) in turn."""
        return await self.templates.image_function(key, Replay(samples, env, timeout_ms), warmup)

    def set_is_current(self, is_current: Callable[[str], bool]) -> None:
        """Whether a version key is still served: images never warm a version that is not."""
        self.rolling.is_current = is_current
        self.templates.is_current = is_current

    def compile_ahead(self, key: str, language: str, samples: tuple[bytes, ...], env: dict[str, str],
                      timeout_ms: int) -> None:
        """Queues a JS or Python version for the rolling image, to be warmed with calls taking
        the params ``samples`` in turn (Java's code may do I/O, and a warm-up repeats calls: only
        on request). ``env``: what a call's env would be."""
        if language != "java":
            self.rolling.request(key, Replay(samples, env, timeout_ms))

    def after_call(self, key: str, language: str, params: bytes, env: dict[str, str], timeout_ms: int) -> None:
        """An answered call counts toward the rolling image and toward an image of the version's
        own; a warm-up replays it (params and env), the rolling image's with the calls before."""
        if language != "java":
            self.rolling.called(key, params, env, timeout_ms)
        self.templates.count_call(key, language, params, env, timeout_ms)

    def compiled(self, key: str) -> bool:
        return self.rolling.holds(key)

    def images(self) -> list[Snapshot]:
        return self.templates.store.all()

    def remove_image(self, snap_id: str) -> bool:
        return self.templates.remove(snap_id)

    def remove_stale_images(self, live_keys: set[str]) -> None:
        self.templates.remove_stale(live_keys)

    # -- status

    def status(self) -> PoolStatus:
        sup, tpl = self.supervisor, self.templates
        ready = sup.ready_workers()
        base = tpl.base()
        warm = tpl.store.warm(tpl.runtime_key)
        return PoolStatus(
            workers=[w.describe() for w in sup.workers.values()],
            ready=len(ready),
            runtime=ready[0].runtime if ready else {},
            halted=sup.halted_reason,
            criu={"available": sup.criu.available, "path": sup.criu.path, "version": sup.criu.version,
                  "message": sup.criu.message},
            criu_available=sup.criu.available,
            booting_because=sup.restore_fallback,
            copied_because=tpl.rebase_unavailable,
            memory="copied" if not self.config.map_images or tpl.rebase_unavailable else "mapped",
            base_image=base.id if base else None,
            warm_image=warm.id if warm else None,
            warm_versions=len(warm.function_keys) if warm else 0,
            images=len(tpl.store.all()),
            runtime_key=tpl.runtime_key,
            starts=dict(sup.starts),
            memory_budget=self.budget.status.describe(),
        )
