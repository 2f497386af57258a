"""Images: template workers warmed, parked and dumped with CRIU. The base image (the runtime
warm, no function) is what members and replacements restore; a function image also holds one
version loaded and compiled, for workers started on that function's behalf. Also the policy
that images a busy JS or Python version on its own.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graalvisor.config import Config
from graalvisor.pool import criu, rebase
from graalvisor.pool.base_image import PROBE_SETTLE_S, QUIET_S, warm_base
from graalvisor.pool.handle import WorkerHandle
from graalvisor.pool.placement import SpecFor
from graalvisor.pool.snapshots import Snapshot, SnapshotStore, runtime_key
from graalvisor.pool.supervisor import Supervisor
from graalvisor.protocol.messages import Op

log = logging.getLogger("graalvisor.pool")

# A function image is worth taking once the JIT has compiled the function: 500 calls pass
# Truffle's first-tier threshold (400), so clones start compiled instead of each compiling the
# same call targets on its first call. The budget bounds it for slow functions.
DEFAULT_WARMUP = 500
MAX_WARMUP = 10_000
WARMUP_BUDGET_S = 10.0
PROBES = 5

Warm = Callable[[WorkerHandle], Awaitable[None]]


@dataclass(frozen=True)
class Replay:
    """The calls a template repeats to warm a version up: sample params, taken in turn, and the
    env. Several samples: Truffle compiles only the paths the warm-up's calls took, and a real
    call whose input takes another (LZW's rare branch, a longer string) deoptimises and is
    compiled again in every clone. The env matters too: guest code compiled for calls without
    one was thrown away and compiled again in every clone (the runner takes it as an argument;
    see daemon.warmup_env)."""
    samples: tuple[bytes, ...]
    env: dict[str, str]
    timeout_ms: int

    def params(self, call: int) -> bytes:
        """The params of the warm-up's ``call``-th call (from 0)."""
        return self.samples[call % len(self.samples)]

    def to_json(self) -> dict[str, Any]:
        return {"samples": [base64.b64encode(s).decode() for s in self.samples], "env": self.env,
                "timeout_ms": self.timeout_ms}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Replay:
        samples = tuple(base64.b64decode(s, validate=True) for s in data["samples"])
        env = data["env"]
        if not samples or not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            raise ValueError("a replay needs samples and a string env")
        return cls(samples, {str(k): v for k, v in env.items()}, int(data["timeout_ms"]))


class Templates:
    def __init__(self, config: Config, supervisor: Supervisor, spec_for: SpecFor) -> None:
        self.config = config
        self.supervisor = supervisor
        self.spec_for = spec_for
        self.store = SnapshotStore(config.images_dir)
        self.runtime_key = runtime_key(config)
        self.rebase_unavailable: str | None = None  # why images are copied, not mapped, at restore
        self._base_lock = asyncio.Lock()
        # One template at a time: each takes a core and a worker's memory while it warms.
        self.image_lock = asyncio.Lock()
        self.on_base_made: Callable[[], None] = lambda: None
        self.is_current: Callable[[str], bool] = lambda key: True
        self._answered: dict[str, int] = {}  # version key -> calls answered, toward its own image
        self._imaged: set[str] = set()  # version keys whose automatic image is made or being made
        supervisor.newest_image = self.newest

    def base(self) -> Snapshot | None:
        return self.store.base(self.runtime_key)

    def newest(self) -> Snapshot | None:
        """What a new member restores: the rolling image where there is one, else the base."""
        return self.store.warm(self.runtime_key) or self.base()

    def in_rolling_image(self, key: str) -> bool:
        image = self.store.warm(self.runtime_key)
        return image is not None and key in image.function_keys

    def for_function(self, key: str) -> Snapshot | None:
        return self.store.for_function(self.runtime_key, key)

    def make_base_if_missing(self) -> None:
        if self.supervisor.criu.available and self.base() is None:
            self.supervisor.track(self._make_base(), "base-image")

    # -- function images

    async def image_function(self, key: str, replay: Replay, warmup: int) -> Snapshot:
        """A template with the version loaded, warmed with ``warmup`` calls of ``replay``, dumped."""
        spec = await self.spec_for(key)

        async def warm(template: WorkerHandle) -> None:
            await template.request(Op.HOLD_BLANKS)
            loaded = await template.request(Op.DEPLOY, spec=spec)
            if not loaded.ok:
                raise criu.CriuError(f"the function did not load in the template: {loaded.message}")
            deadline = time.monotonic() + WARMUP_BUDGET_S
            for call in range(warmup):
                await template.request(Op.INVOKE, key=key, params=replay.params(call), env=replay.env,
                                       timeout_ms=replay.timeout_ms)
                if time.monotonic() > deadline:
                    break
            await fill_blanks(template, f"template for {key}")
            if warmup:
                await quiet_after_a_call(template, key, replay)

        async with self.image_lock:
            return await self.make("function", warm, key)

    def count_call(self, key: str, language: str, params: bytes, env: dict[str, str], timeout_ms: int) -> None:
        """New workers for a busy version restore from its own image (the function loaded and
        compiled) once it has answered ``snapshot_after_calls`` calls; the warm-up replays the
        call that crossed the line. Guest languages only: their sandbox has no I/O, so repeating
        a call has no effect outside the template. Not for a version the rolling image holds."""
        after = self.config.snapshot_after_calls
        if after <= 0 or language == "java" or key in self._imaged or not self.supervisor.criu.available:
            return
        self._answered[key] = answered = self._answered.get(key, 0) + 1
        if answered < after:
            return
        del self._answered[key]
        self._imaged.add(key)
        if self.in_rolling_image(key):
            # Every new worker restores it compiled already: a template would cost a core for
            # 10-20 s and an image of ~700 MB for nothing.
            log.info("no function image for %s: the rolling image holds it", key)
        elif self.for_function(key) is None:
            self.supervisor.track(self._auto_image(key, Replay((params,), env, timeout_ms)), f"image-{key}")

    async def _auto_image(self, key: str, replay: Replay) -> None:
        if not self.is_current(key):
            return  # updated or deleted since
        try:
            snap = await self.image_function(key, replay, DEFAULT_WARMUP)
            log.info("function image %s for %s after %d calls", snap.id, key, self.config.snapshot_after_calls)
        except Exception as e:  # new workers restore from the base image instead
            log.warning("no function image for %s: %s", key, e)

    def forget(self, keys: list[str], live_keys: set[str]) -> None:
        """Versions that will never run again: their counters go, and so do their images."""
        for key in keys:
            self._answered.pop(key, None)
            self._imaged.discard(key)
        self.remove_stale(live_keys)

    def remove_stale(self, live_keys: set[str]) -> None:
        """Drops images of another runtime, and function images of versions no longer served."""
        self.store.remove_stale(self.runtime_key, live_keys)

    # -- images on disk

    def remove(self, snap_id: str) -> bool:
        """Removes an image; a removed base image is made again, so new workers keep restoring.
        Function images hold all their memory themselves: they do not need the base they came from."""
        base = self.base()
        if not self.store.remove(snap_id):
            return False
        if base is not None and base.id == snap_id:
            self.make_base_if_missing()
        return True

    # -- internals

    async def make(self, kind: str, warm: Warm, function_key: str | None = None,
                   function_keys: list[str] | None = None) -> Snapshot:
        """Starts a template worker, warms it, parks it and dumps it. A function or warm image
        starts from the newest image (warm in a fraction of a boot); ``function_keys`` is read
        after ``warm`` ran, so the warm-up may fill it in."""
        sup = self.supervisor
        if not sup.criu.available:
            raise criu.CriuError(f"snapshots are unavailable: {sup.criu.message}")
        start_from = self.newest() if kind != "base" else None
        template = await sup.start_worker("template", how="auto" if start_from else "boot", image=start_from,
                                          background=kind != "base")
        try:
            try:
                await asyncio.wait_for(template.ready.wait(), self.config.boot_timeout_s)
            except TimeoutError:
                raise criu.CriuError(f"the template worker did not come up within {self.config.boot_timeout_s:.0f} s"
                                     f" ({template.start_kind}): the machine may be overloaded; retry") from None
            await warm(template)
            parked = await template.request(Op.PARK)
            if not parked.ok:
                raise criu.CriuError(f"the template did not park: {parked.message}")
            # Dump only once the worker has closed its end: a live socket cannot be restored.
            await asyncio.wait_for(template.gone.wait(), 30)
            snap_id, images = self.store.new_dir()
            assert template.pid is not None and template.wake_fd is not None
            wake_inode = os.fstat(template.wake_fd).st_ino
            dump_s = await criu.dump(sup.criu.path or "criu", template.pid, images,
                                     [wake_inode, template.stderr_inode], background=template.background)
            if self.config.map_images:
                await self._map_memory(images)
            snap = self.store.add(snap_id, kind, self.runtime_key, function_key, dump_s,
                                  wake_inode, template.stderr_inode, function_keys)
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
            regions = await asyncio.to_thread(rebase.rebase, images)
            log.debug("image %s: %d memory regions now map %s", images.name, regions, rebase.MEMORY_FILE)
        except rebase.RebaseUnavailable as e:
            if self.rebase_unavailable is None:
                log.warning("images are restored by copying every page: %s", e)
                self.rebase_unavailable = str(e)
        except Exception:
            shutil.rmtree(images, ignore_errors=True)  # half rewritten: not an image any more
            raise

    async def _make_base(self) -> None:
        async with self._base_lock:
            if self.base() is not None:
                return
            try:
                await self.make("base", lambda template: warm_base(template, self.config))
                self.on_base_made()
            except Exception as e:  # the pool keeps booting; say why once
                self.supervisor.fallback(f"could not make a base image: {e}")


async def fill_blanks(template: WorkerHandle, what: str) -> None:
    """Blank contexts up to the floor before the dump: the warm-ups took the held template's."""
    made = await template.request(Op.FILL_BLANKS)
    if made.ok and made.data.get("made"):
        log.info("%s: %d blank contexts made for its clones", what, made.data["made"])


async def quiet_after_a_call(template: WorkerHandle, key: str, replay: Replay) -> None:
    """Where JIT counters stand after a warm-up is a matter of timing: the next call may take one
    past a compile threshold, and every clone would then compile the same code (and the compiler
    itself, with C2) during its first call. A clone's first call also re-seeds the isolate it
    takes, a path the warm-up never ran. Rehearse that wake and call until a call leaves the
    compilers idle."""
    await template.request(Op.SETTLE)
    for probe in range(1, PROBES + 1):
        await template.request(Op.REHEARSE_WAKE)
        await template.request(Op.INVOKE, key=key, params=replay.params(probe), env=replay.env,
                               timeout_ms=replay.timeout_ms)
        settled = await template.request(Op.SETTLE, limit_s=PROBE_SETTLE_S)
        if settled.data.get("settled_s", QUIET_S) < QUIET_S:
            log.info("template for %s: a call leaves the compilers idle after %d probe(s)", key, probe)
            return
    log.info("template for %s: the compilers still woke after %d probes", key, PROBES)
