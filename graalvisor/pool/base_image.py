"""The base image's warm-up: what a base template runs before it is dumped, so that every
worker restored from the image starts with the shared runtime compiled (DESIGN.md, "The warm
base image"). The corpus itself is graalvisor/warmup.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

import orjson

from graalvisor.config import Config, isolates_jar
from graalvisor.pool import criu
from graalvisor.pool.handle import WorkerHandle
from graalvisor.protocol.messages import Op
from graalvisor.warmup import source as corpus_source

log = logging.getLogger("graalvisor.pool")

PROBE_SETTLE_S = 5.0
QUIET_S = 0.5  # a settle this short saw no compilation at all (three quiet 100 ms windows)
# The corpus runs in rounds of this many calls per language, until the compilers go quiet: past
# Truffle's first tier (400 calls) for the corpus' call targets before the first look.
CORPUS_ROUND = 50
CORPUS_MIN_CALLS = 500
CORPUS_SIZES = (20, 200, 50, 800, 100)
ISOLATE_LOADS = 32  # about what 96 Python deploys made per member when deploys loaded them
# After the corpus (_rewarm): a few loads per pass are enough, the thrown-away code's call counts
# being past Truffle's thresholds already; one pass sufficed in the last three base images.
REWARM_LOADS = 3
REWARM_PASSES = 6
WARMUP_JAVA = "dev.graalvisor.isolates.Warmup"
BASE_SOURCES = {"js": "function main(p) { return {ok: true}; }",
                "python": "def main(args):\n    return {'ok': True}\n"}


async def warm_base(template: WorkerHandle, config: Config) -> None:
    """Warms the shared runtime, not any one function: Python isolates are loaded and unloaded
    (see _load_isolates), then the corpus runs in every language until a round of calls leaves
    HotSpot's and Truffle's compilers idle (C2 has compiled the Truffle interpreters and the
    Graal compiler; the languages' builtins are compiled), then both again until no class is
    loaded (_rewarm), within the budget. Every call carries a call's variables (_call_env).
    Then it waits for the pre-created GraalPy contexts, so a clone has nothing to make."""
    deployed = await _deploy_corpus(template, config)
    if config.base_warmup_s <= 0:
        for key in deployed:
            for _ in range(3):
                await template.request(Op.INVOKE, key=key, params=b"{}", timeout_ms=60_000)
    else:
        deadline = time.monotonic() + config.base_warmup_s
        await _load_isolates(template, ISOLATE_LOADS, time.monotonic() + config.base_warmup_s / 3)
        await _run_corpus(template, deployed, deadline)
        await _rewarm(template, deployed, deadline)
    for key in deployed:
        template.send(Op.UNDEPLOY, key=key)
    for _ in range(600):
        runtime = await template.request(Op.DESCRIBE)
        if runtime.data.get("python_blanks_ready", 0) >= 1:
            return
        await asyncio.sleep(0.1)


async def _deploy_corpus(template: WorkerHandle, config: Config) -> list[str]:
    specs: list[dict[str, Any]] = [
        {"key": f"__warmup-{language}", "language": language, "entrypoint": "main", "isolation": "instance",
         "env": {}, "source": corpus_source(language) if config.base_warmup_s > 0 else BASE_SOURCES[language]}
        for language in ("js", "python")]
    if config.base_warmup_s > 0:
        specs.append({"key": "__warmup-java", "language": "java", "entrypoint": WARMUP_JAVA, "isolation": "instance",
                      "env": {}, "artifact_path": str(isolates_jar(config.isolates_dir))})
    for spec in specs:
        loaded = await template.request(Op.DEPLOY, spec=spec)
        if not loaded.ok:
            raise criu.CriuError(f"warm-up deploy of {spec['key']} failed: {loaded.message}")
    return [str(spec["key"]) for spec in specs]


async def _load_isolates(template: WorkerHandle, count: int, deadline: float) -> None:
    """Loads and unloads the Python corpus in new GraalPy contexts, so that the code every
    context runs and the engine shares (GraalPy's import machinery, builtins) is compiled in the
    image: else the first Python versions a clone loads compile it there, for seconds, ahead of
    every other function's compilations. Each context also runs the standard library's module
    code afresh, which is not shared and never goes quiet: a fixed number, then the corpus runs
    until the compilers are idle."""
    key = "__warmup-isolates"
    spec = {"key": key, "language": "python", "entrypoint": "main", "isolation": "instance",
            "env": {}, "source": corpus_source("python")}
    t0 = time.monotonic()
    loads = 0
    while loads < count and time.monotonic() < deadline:
        loaded = await template.request(Op.DEPLOY, spec=spec)
        if not loaded.ok:
            raise criu.CriuError(f"warm-up deploy of {key} failed: {loaded.message}")
        await template.request(Op.INVOKE, key=key, params=orjson.dumps({"n": 20, "seed": loads}),
                               env=_call_env(key), timeout_ms=60_000)
        await template.request(Op.UNDEPLOY, key=key)
        loads += 1
    log.info("base template: %d Python isolates loaded and unloaded in %.1f s", loads, time.monotonic() - t0)


def _call_env(key: str) -> dict[str, str]:
    """The variables a call over the API carries (daemon.call_env's keys, an activation id of its
    own each time). The runners put them in the guest's environment; without them the base
    warm-up never ran that path, and a clone's first call of any function threw away GraalPy's
    compiled `dict.__setitem__` there (bytes keys hashed by the generic path) and compiled it
    again (`engine.TraceTransferToInterpreter`, a diagnostic build)."""
    return {"__OW_NAMESPACE": "guest", "__OW_ACTION_NAME": f"/guest/{key}", "__OW_ACTIVATION_ID": os.urandom(16).hex(),
            "__OW_DEADLINE": str(int(time.time() * 1000) + 60_000), "__OW_API_HOST": "http://127.0.0.1"}


async def _corpus_round(template: WorkerHandle, keys: list[str], round_no: int) -> None:
    """One round of corpus calls in every language at once (sizes and seeds vary, so more paths run)."""
    async def run(key: str) -> None:
        for i in range(CORPUS_ROUND):
            n = CORPUS_SIZES[(i + round_no) % len(CORPUS_SIZES)]
            params = orjson.dumps({"n": n, "seed": 7 + i + 97 * round_no})
            reply = await template.request(Op.INVOKE, key=key, params=params, env=_call_env(key), timeout_ms=60_000)
            if not reply.ok:
                raise criu.CriuError(f"the warm-up corpus failed in {key}: {reply.message}")

    await asyncio.gather(*(run(key) for key in keys))


async def _run_corpus(template: WorkerHandle, keys: list[str], deadline: float) -> None:
    """Rounds of corpus calls, each followed by a short settle; done once a round leaves the
    compilers idle."""
    t0 = time.monotonic()
    calls = 0
    rounds = 0
    while time.monotonic() < deadline:
        await _corpus_round(template, keys, rounds)
        rounds += 1
        calls += CORPUS_ROUND
        if calls < CORPUS_MIN_CALLS:
            continue
        if await _settle(template, deadline) < QUIET_S:
            break
    log.info("base template: %d corpus calls per language in %.1f s (%s)", calls, time.monotonic() - t0,
             "compilers idle" if time.monotonic() < deadline else "budget spent")


async def _settle(template: WorkerHandle, deadline: float) -> float:
    """Waits for the template's compilers to go quiet, at most PROBE_SETTLE_S and not far past
    the deadline; how long that took."""
    settled = await template.request(Op.SETTLE, limit_s=max(0.5, min(PROBE_SETTLE_S, deadline - time.monotonic())))
    return float(settled.data.get("settled_s", QUIET_S))


async def _classes_loaded(template: WorkerHandle) -> int:
    return int((await template.request(Op.DESCRIBE)).data.get("classes_loaded", 0))


async def _rewarm(template: WorkerHandle, keys: list[str], deadline: float) -> None:
    """The loads and a corpus round again, until a pass loads no new class. A class loaded for
    the first time (a node class, a profile only one path needs: Truffle's LoopConditionProfile,
    44 s into the warm-up) breaks HotSpot's class-hierarchy assumptions in code compiled before
    it, and HotSpot throws that code away without a word in Truffle's log (LogCompilation: 170
    compiled units "marked for deoptimization" at once). The corpus runs its own code again and
    it is compiled again; what only the loads run (GraalPy's import machinery, class creation)
    was not, and every clone compiled it at its first Python deploy: 2-3 s of compiler time on
    the cores its calls share."""
    t0 = time.monotonic()
    for rewarm in range(1, REWARM_PASSES + 1):
        before = await _classes_loaded(template)
        await _load_isolates(template, REWARM_LOADS, deadline)
        await _corpus_round(template, keys, 1000 + rewarm)
        settled_s = await _settle(template, deadline)
        loaded = await _classes_loaded(template) - before
        log.info("base template: rewarm pass %d loaded %d classes, settled in %.1f s", rewarm, loaded, settled_s)
        if loaded == 0 or time.monotonic() >= deadline:  # what the last class broke ran again since
            break
    log.info("base template: rewarmed in %.1f s", time.monotonic() - t0)
