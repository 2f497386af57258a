"""The rolling image: one image holding every JS and Python version compiled, so a version is
compiled once, in a template, before (or soon after) its first real call, and every worker has
it compiled from its start.

A version joins when it is deployed with warm-up params, or (with `--compile-after-calls N`) once
it has answered N calls (the params of the last few are replayed: a guest's sandbox has no I/O, so
a replay touches nothing outside the template). Versions wait in a queue; one template at a time
restores the newest image, drops the versions no longer served, loads and warms the waiting
ones, calls the versions it holds in turn until the compilers stay idle (they share code, see
`_settle_in_turn`), and is dumped as the next generation, and the older generation goes. Workers started from
then on (scale-outs, replacements, restarts) are clones of it. Members are swapped for clones of
it only when it holds a version compiled at its deploy's request: a member that has been serving
is warmer for its own traffic than any template, and swapping it throws that away (on the
40-function trace, swapping at every generation made p99 27.4 s; keeping members, 5.9 s; with no
automatic compilation either, 2.9 s: DESIGN.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from graalvisor.config import Config
from graalvisor.pool import criu
from graalvisor.pool.base_image import PROBE_SETTLE_S
from graalvisor.pool.handle import WorkerHandle
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.templates import (
    DEFAULT_WARMUP,
    WARMUP_BUDGET_S,
    Replay,
    Templates,
    fill_blanks,
)
from graalvisor.protocol.messages import Op

log = logging.getLogger("graalvisor.pool")

WARM_CALL_TIMEOUT_MS = 10_000  # one slow replay must not hold the template (and the queue) long
# A version whose calls still make the JIT compile after the warm-up budget is not compiled yet:
# its clones would finish the job during their first calls, on the serving cores (sha256.js on
# 4 MB: 800 ms a call at 10 s, about 200 ms at 30-45 s). It goes on, while its calls keep the
# compilers busy, up to the cap.
WARMUP_CAP_S = 30.0
COMPILE_WINDOW_S = 1.0
COMPILERS_IDLE = 0.15  # of a core, beyond the call's own
# Versions compiled into one generation at most: a generation is dumped, and its clones start
# serving, without waiting for a long queue.
BATCH = 8
# Answered calls' params kept as warm-up samples (the most recent distinct ones), and the size up
# to which a call's params are kept besides the last call's: a version is compiled for the inputs
# it gets, not for one of them.
CALL_SAMPLES = 4
SAMPLE_MAX_BYTES = 64 * 1024
# A clone serving the image's versions in turn compiled some of them again during their first
# calls (a 40-function image: html-js's first call 0.5-0.8 s where its template's last took 47 ms,
# and the calls beside it 2x slower for the compiler and the collections its graphs cause).
# Versions share code (the languages' builtins and what Truffle inlined of them), so a version
# warmed alone is likely compiled for profiles that later warm-ups widen (DESIGN.md). Before the
# dump the image's versions are called in turn, round after round, until a round leaves the
# compilers idle.
TURN_ROUNDS = 4
# No round starts past this: with hundreds of versions a round takes tens of seconds.
TURN_BUDGET_S = 30.0
# A round is idle when the compiler threads used at most this much CPU in it (calls and settle),
# or this share of its wall time (C2 picks up a method or two in any long run).
ROUND_IDLE_CPU_S = 0.1
ROUND_IDLE_SHARE = 0.02
# The JIT compilers' threads, by the (15-character) names HotSpot and Truffle give them.
COMPILER_THREADS = ("C1 CompilerThre", "C2 CompilerThre", "TruffleCompiler")


class RollingImage:
    def __init__(self, config: Config, templates: Templates) -> None:
        self.config = config
        self.templates = templates
        self.is_current: Callable[[str], bool] = lambda key: True
        self.on_made: Callable[[bool], None] = lambda renew: None  # renew: swap members for clones
        self._waiting: dict[str, Replay] = {}
        self._asked: set[str] = set()  # waiting, being compiled in, or in the image
        self._at_deploy: set[str] = set()  # asked for by their deploy's warm-up params
        # Versions not asked for yet: calls answered, and the params of the last few distinct ones.
        self._calls: dict[str, tuple[int, tuple[bytes, ...]]] = {}
        # What each version was warmed with, for the rounds in turn of later generations. Each
        # generation keeps them beside its image (REPLAYS_FILE), so the versions imaged
        # before a restart are called in the rounds too.
        self._replays: dict[str, Replay] = {}
        self._adopted = False  # the newest image's replays read (once a process)
        self._running = False

    def holds(self, key: str) -> bool:
        return self.templates.in_rolling_image(key)

    def request(self, key: str, replay: Replay, at_deploy: bool = True) -> None:
        """Queues a version to be compiled into the next generation (once)."""
        sup = self.templates.supervisor
        if not self.config.warm_versions or not sup.criu.available or key in self._asked or self.holds(key):
            return
        self._asked.add(key)
        if at_deploy:
            self._at_deploy.add(key)
        self._waiting[key] = replay
        self.kick()

    def called(self, key: str, params: bytes, env: dict[str, str], timeout_ms: int) -> None:
        """An answered call. A version called ``compile_after_calls`` times is worth compiling
        for every worker: most functions are called rarely, and a template's warm-up costs
        seconds of CPU, so one call alone does not earn it."""
        if key in self._asked or self.config.compile_after_calls <= 0:
            return
        calls, samples = self._calls.get(key, (0, ()))
        calls += 1
        if calls >= self.config.compile_after_calls:
            del self._calls[key]
            self.request(key, Replay(_with_sample(samples, params), env, timeout_ms), at_deploy=False)
        else:
            self._calls[key] = calls, _with_sample(samples, params) if len(params) <= SAMPLE_MAX_BYTES else samples

    def kick(self) -> None:
        """Builds the next generation if versions wait and the base image (its start) exists."""
        if self._waiting and not self._running and self.templates.base() is not None:
            self._running = True
            self.templates.supervisor.track(self._run(), "rolling-image")

    def forget(self, keys: list[str]) -> None:
        for key in keys:
            self._asked.discard(key)
            self._at_deploy.discard(key)
            self._waiting.pop(key, None)
            self._calls.pop(key, None)
            self._replays.pop(key, None)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch = dict(list(self._waiting.items())[:BATCH])
                for key in batch:
                    del self._waiting[key]
                previous = self.templates.store.warm(self.templates.runtime_key)
                if previous is not None and not self._adopted:
                    adopted = self._adopt(await asyncio.to_thread(load_replays, previous))
                    log.info("rolling image %s: warm-up params of %d of its versions read for the rounds in turn",
                             previous.id, adopted)
                self._adopted = True
                try:
                    await self._next_generation(batch)
                except Exception as e:  # the versions stay un-imaged; workers keep the older image
                    log.warning("no new rolling image for %s: %s", ", ".join(batch), e)
                    continue
                if previous is not None:
                    self.templates.store.remove(previous.id)  # its clones keep their unlinked memory
                self.on_made(any(key in self._at_deploy for key in batch))
        finally:
            self._running = False

    def _adopt(self, replays: dict[str, Replay]) -> int:
        """What an earlier process warmed the newest image's versions with (those still served)."""
        current = {key: replay for key, replay in replays.items() if self.is_current(key)}
        for key, replay in current.items():
            self._replays.setdefault(key, replay)
        return len(current)

    async def _next_generation(self, batch: dict[str, Replay]) -> Snapshot:
        keys: list[str] = []
        t0 = time.monotonic()

        async def warm(template: WorkerHandle) -> None:
            await template.request(Op.HOLD_BLANKS)
            for key in template.deployed_at_hello:
                if self.is_current(key):
                    keys.append(key)
                else:
                    template.send(Op.UNDEPLOY, key=key)  # deleted or replaced since the last generation
            new = 0
            for key, replay in batch.items():
                if not self.is_current(key):
                    continue
                if await self._warm_one(template, key, replay):
                    keys.append(key)
                    new += 1
            if not new:
                raise criu.CriuError("no waiting version could be warmed")
            await fill_blanks(template, "rolling image")
            await self._settle_in_turn(template, keys)
            trimmed = await template.request(Op.TRIM_ISOLATES, heap_percent=self.config.image_heap_percent)
            if trimmed.ok and trimmed.data.get("closed"):
                log.info("rolling image: %d idle isolates closed to fit %d%% of the old generation (%.0f of %.0f MB "
                         "in use)", trimmed.data["closed"], self.config.image_heap_percent,
                         trimmed.data["old_used"] / 1e6, trimmed.data["old_max"] / 1e6)
            template.note_described((await template.request(Op.DESCRIBE)).data)
            _check_code_cache(template.code_cache_bytes, template.code_cache_max_bytes, len(keys))

        async with self.templates.image_lock:
            snap = await self.templates.make("warm", warm, function_keys=keys)
        await asyncio.to_thread(save_replays, snap, {k: self._replays[k] for k in keys if k in self._replays})
        log.info("rolling image %s: %d versions (%d new) in %.1f s, %.0f MB", snap.id, len(keys), len(batch),
                 time.monotonic() - t0, snap.size_bytes / 1e6)
        return snap

    async def _warm_one(self, template: WorkerHandle, key: str, replay: Replay) -> bool:
        loaded = await template.request(Op.DEPLOY, spec=await self.templates.spec_for(key))
        if not loaded.ok:
            log.warning("rolling image: %s does not load in the template: %s", key, loaded.message)
            return False
        # As many calls as a function image's warm-up, within its budget; past the budget, on
        # while the JIT compilers are still at work (the calls are getting faster), up to a cap.
        t0 = time.monotonic()
        window = _CompilerWindow(template)
        calls, first_ms, last_ms, why = 0, 0.0, 0.0, f"{DEFAULT_WARMUP} calls"
        while calls < DEFAULT_WARMUP:
            t_call = time.monotonic()
            reply = await template.request(Op.INVOKE, key=key, params=replay.params(calls), env=replay.env,
                                           timeout_ms=min(replay.timeout_ms, WARM_CALL_TIMEOUT_MS))
            last_ms = (time.monotonic() - t_call) * 1000
            first_ms = first_ms or last_ms
            calls += 1
            if not reply.ok:
                # A call that fails (bad params, a thrown error) still ran; but a failing replay
                # warms the error path, not the function: stop there.
                log.info("rolling image: %s failed its warm-up call (%s); imaged as it is", key, reply.message)
                return True
            spent = time.monotonic() - t0
            if spent >= WARMUP_CAP_S:
                why = "cap"
                break
            busy = window.compiling()
            if spent >= WARMUP_BUDGET_S and busy is not None and busy < COMPILERS_IDLE:
                why = f"compilers idle ({busy:.2f} of a core)"
                break
        log.info("rolling image: %s warmed with %d calls in %.1f s (first %.0f ms, last %.0f ms; %s)",
                 key, calls, time.monotonic() - t0, first_ms, last_ms, why)
        self._replays[key] = replay
        return True

    async def _settle_in_turn(self, template: WorkerHandle, keys: list[str]) -> None:
        """Calls every version the template holds an isolate of, one call each in turn, after a
        rehearsed wake (a clone re-seeds what it takes), until a round leaves the compilers idle."""
        idle = set((await template.request(Op.DESCRIBE)).data.get("idle_keys", ()))
        held = [(key, self._replays[key]) for key in keys if key in idle and key in self._replays]
        await template.request(Op.SETTLE)
        t0 = time.monotonic()
        for rounds in range(1, TURN_ROUNDS + 1):
            await template.request(Op.REHEARSE_WAKE)
            cpu, wall = compiler_cpu(template.pid), time.monotonic()
            for key, replay in held:
                await template.request(Op.INVOKE, key=key, params=replay.params(rounds), env=replay.env,
                                       timeout_ms=min(replay.timeout_ms, WARM_CALL_TIMEOUT_MS))
            await template.request(Op.SETTLE, limit_s=PROBE_SETTLE_S)
            compiled = compiled_between(cpu, compiler_cpu(template.pid))
            if compiled <= max(ROUND_IDLE_CPU_S, ROUND_IDLE_SHARE * (time.monotonic() - wall)):
                log.info("rolling image: %d versions called in turn, round %d left the compilers idle "
                         "(%.2f s of their CPU); %.1f s", len(held), rounds, compiled, time.monotonic() - t0)
                return
            if time.monotonic() - t0 > TURN_BUDGET_S:
                break
        log.info("rolling image: the compilers still woke in round %d of %d versions called in turn (%.2f s of "
                 "their CPU); %.1f s", rounds, len(held), compiled, time.monotonic() - t0)


REPLAYS_FILE = "replays.json"  # beside a generation's image: what its versions were warmed with


def save_replays(snap: Snapshot, replays: dict[str, Replay]) -> None:
    """Keeps the warm-up params of an image's versions with it. Without them, a generation made
    after a restart calls none of the older versions in its rounds (an image is still an image)."""
    path = Path(snap.path) / REPLAYS_FILE
    try:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({key: replay.to_json() for key, replay in replays.items()}))
        tmp.rename(path)
    except OSError as e:
        log.warning("rolling image %s: its versions' warm-up params not kept (%s): the next process's rounds "
                    "will skip them", snap.id, e)


def load_replays(snap: Snapshot) -> dict[str, Replay]:
    """The warm-up params kept with an image, for the versions it holds."""
    try:
        data = json.loads((Path(snap.path) / REPLAYS_FILE).read_text())
        return {key: Replay.from_json(data[key]) for key in snap.function_keys if key in data}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        log.warning("rolling image %s: no warm-up params of its versions (%s): its rounds in turn call only the "
                    "versions compiled since this start", snap.id, e)
        return {}


def _with_sample(samples: tuple[bytes, ...], params: bytes) -> tuple[bytes, ...]:
    """``samples`` with ``params`` as the newest, at most CALL_SAMPLES distinct ones."""
    return (*(s for s in samples if s != params), params)[-CALL_SAMPLES:]


class _CompilerWindow:
    """How busy a template's JIT compilers were over the last second or more: the process's CPU
    time beyond the one core the warm-up call itself keeps busy (calls run one at a time)."""

    def __init__(self, template: WorkerHandle) -> None:
        self.template = template
        self.wall = time.monotonic()
        self.cpu = template.cpu_seconds()

    def compiling(self) -> float | None:
        """Cores' worth of other work since the window opened; None until it is a second long."""
        now = time.monotonic()
        if now - self.wall < COMPILE_WINDOW_S:
            return None
        cpu = self.template.cpu_seconds()
        busy = max(0.0, (cpu - self.cpu) / (now - self.wall) - 1.0)
        self.wall, self.cpu = now, cpu
        return busy


def compiler_cpu(pid: int | None) -> dict[str, float]:
    """CPU seconds of each JIT compiler thread of process ``pid`` alive now, by thread id."""
    if pid is None:
        return {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}  # the process is gone
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                if not f.read().startswith(COMPILER_THREADS):
                    continue
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended
        out[task] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return out


def compiled_between(before: dict[str, float], after: dict[str, float]) -> float:
    """The compiler threads' CPU between two readings. HotSpot stops idle compiler threads and
    starts new ones, so it is summed thread by thread: one that ended takes its total with it."""
    return sum(max(0.0, cpu - before.get(tid, 0.0)) for tid, cpu in after.items())


# Compiled code is never flushed (worker/jvm.py): every version an image holds keeps its code in
# the cache of every clone. Past this share, a clone soon stops compiling altogether.
CODE_CACHE_WARN = 0.85


def _check_code_cache(used: int, most: int, versions: int) -> None:
    if most <= 0:
        return
    if used > CODE_CACHE_WARN * most:
        log.warning("rolling image: compiled code fills %.0f of the code cache's %.0f MB with %d versions; once it is "
                    "full nothing more is compiled: raise --code-cache-mb", used / 1e6, most / 1e6, versions)
    else:
        log.info("rolling image: compiled code %.0f of %.0f MB with %d versions", used / 1e6, most / 1e6, versions)
