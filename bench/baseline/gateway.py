"""The baseline gateway: graalvisor's HTTP API shape over a pool of process-per-instance runtimes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
import psutil
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from bench.baseline.instances import Instance, InstanceError, command

log = logging.getLogger("baseline")
EXT = {"js": ".js", "python": ".py", "java": ".jar"}


@dataclass
class Deployed:
    language: str
    path: Path
    entrypoint: str


# What an instance is taken to cost before one of its language has been measured (PSS here:
# node ~45 MB, CPython -I -S ~10 MB, a 256 MB-heap JVM ~40 MB at rest).
FIRST_GUESS = {"js": 64 << 20, "python": 16 << 20, "java": 64 << 20}
SAMPLE_S = 1.0


class Pool:
    """Idle instances per function; a request takes an idle one (warm) or starts one (boot).

    Like OpenWhisk's invoker under its user-memory budget: an instance starts only if the
    platform's memory (the gateway's PSS and every instance's, sampled every second) plus what
    one more instance of its language takes fits ``budget_bytes``; else the least recently used
    idle instance is evicted, and when none is idle the request waits for one to be released."""

    def __init__(self, keep_alive_s: float, max_instances: int, budget_bytes: int = 0) -> None:
        self.keep_alive_s = keep_alive_s
        self.max_instances = max_instances
        self.budget_bytes = budget_bytes
        self.gateway_pss = 0
        self.sizes: dict[str, int] = {}  # language -> the largest instance of it measured
        self.evicted = 0
        self.idle: dict[str, list[Instance]] = defaultdict(list)
        self.busy: set[Instance] = set()
        self.starting = 0
        self.starting_bytes = 0
        self.released = asyncio.Condition()
        self.cold_starts = 0

    def count(self) -> int:
        return sum(len(v) for v in self.idle.values()) + len(self.busy) + self.starting

    def instances(self) -> list[Instance]:
        return [i for lst in self.idle.values() for i in lst] + list(self.busy)

    def _size(self, language: str) -> int:
        return self.sizes.get(language) or FIRST_GUESS.get(language, 64 << 20)

    def used(self) -> int:
        """Memory held now: measured where measured, else the language's size."""
        return (self.gateway_pss + sum(i.pss or self._size(i.language) for i in self.instances())
                + self.starting_bytes)

    def _fits(self, language: str) -> bool:
        return self.budget_bytes <= 0 or self.used() + self._size(language) <= self.budget_bytes

    async def acquire(self, name: str, cmd: list[str], language: str = "") -> tuple[Instance, str]:
        while True:
            idle = self.idle.get(name)
            if idle:
                inst = idle.pop()  # most recently used first, like OpenWhisk's container reuse
                if inst.alive:
                    self.busy.add(inst)
                    return inst, "warm"
                continue
            room = self.count() < self.max_instances or await self._evict_one()
            while room and not self._fits(language) and await self._evict_one():
                pass
            # Past the budget with nothing idle to evict: wait for a release, unless nothing runs
            # at all (then one instance starts anyway, or nothing ever would).
            if room and (self._fits(language) or not (self.busy or self.starting)):
                break
            async with self.released:
                await self.released.wait()
        self.starting += 1
        self.starting_bytes += self._size(language)
        try:
            inst = await Instance.start(name, cmd)
        finally:
            self.starting -= 1
            self.starting_bytes -= self._size(language)
        inst.language = language
        self.cold_starts += 1
        self.busy.add(inst)
        return inst, "boot"

    async def _evict_one(self) -> bool:
        victims = [(i.last_used, name, i) for name, lst in self.idle.items() for i in lst]
        if not victims:
            return False
        _, name, inst = min(victims, key=lambda v: v[0])
        self.idle[name].remove(inst)
        self.evicted += 1
        await inst.stop()
        return True

    async def measure(self) -> None:
        """Samples the PSS of the gateway and of every instance (off the event loop)."""
        insts = self.instances()
        sizes = await asyncio.to_thread(_pss, [os.getpid(), *(i.proc.pid for i in insts)])
        self.gateway_pss = sizes[0]
        for inst, size in zip(insts, sizes[1:], strict=True):
            if size:
                inst.pss = size
                self.sizes[inst.language] = max(self.sizes.get(inst.language, 0), size)

    async def release(self, inst: Instance, healthy: bool) -> None:
        self.busy.discard(inst)
        if healthy and inst.alive:
            self.idle[inst.function].append(inst)
        else:
            await inst.stop()
        async with self.released:
            self.released.notify_all()

    async def reap(self) -> None:
        now = time.monotonic()
        for lst in self.idle.values():
            for inst in [i for i in lst if now - i.last_used > self.keep_alive_s or not i.alive]:
                lst.remove(inst)
                await inst.stop()

    async def drop(self, name: str) -> None:
        for inst in self.idle.pop(name, []):
            await inst.stop()

    async def close(self) -> None:
        for name in list(self.idle):
            await self.drop(name)
        for inst in list(self.busy):
            await inst.stop()


def _pss(pids: list[int]) -> list[int]:
    """PSS of each process alone (0 for one that is gone): instances are single processes."""
    out = []
    for pid in pids:
        try:
            out.append(int(getattr(psutil.Process(pid).memory_full_info(), "pss", 0)))
        except psutil.Error:
            out.append(0)
    return out


def create_app(data_dir: Path, keep_alive_s: float = 600.0, max_instances: int = 512,
               memory_budget_mb: int = 8192) -> FastAPI:
    code_dir = data_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    functions: dict[str, Deployed] = {}
    pool = Pool(keep_alive_s, max_instances, memory_budget_mb << 20)
    app = FastAPI(title="baseline")

    async def reaper() -> None:
        while True:
            await asyncio.sleep(5)
            await pool.reap()

    async def sampler() -> None:
        while True:
            await pool.measure()
            await asyncio.sleep(SAMPLE_S)

    @app.on_event("startup")
    async def _start() -> None:
        app.state.tasks = [asyncio.create_task(reaper()), asyncio.create_task(sampler())]

    @app.on_event("shutdown")
    async def _stop() -> None:
        for task in app.state.tasks:
            task.cancel()
        await pool.close()

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        instances = pool.instances()
        return {"status": "ok", "functions": len(functions), "cold_starts": pool.cold_starts,
                "memory": {"budget_bytes": pool.budget_bytes, "pss_bytes": pool.used(), "evicted": pool.evicted},
                "instances": [{"function": i.function, "pid": i.proc.pid, "invocations": i.invocations,
                               "boot_s": round(i.boot_s, 4)} for i in instances]}

    @app.put("/functions/{name}")
    async def deploy(name: str, request: Request) -> Response:
        body = orjson.loads(await request.body())
        language = body.get("language")
        if language not in EXT:
            return JSONResponse({"error": f"language must be one of {sorted(EXT)}, got {language!r}"}, 400)
        code = body.get("code", "")
        raw = base64.b64decode(code) if body.get("binary") else code.encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()
        path = code_dir / f"{digest}{EXT[language]}"
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(raw)
            tmp.replace(path)
        functions[name] = Deployed(language, path, body.get("entrypoint") or "main")
        await pool.drop(name)  # a new version never reuses instances of the old one
        return JSONResponse({"name": name, "language": language, "sha256": digest}, 201)

    @app.post("/invoke/{name}")
    async def invoke(name: str, request: Request) -> Response:
        fn = functions.get(name)
        if fn is None:
            return JSONResponse({"error": f"no function {name!r}"}, 404)
        raw = await request.body()
        params = orjson.loads(raw) if raw else {}
        t0 = time.perf_counter()
        try:
            inst, kind = await pool.acquire(name, command(fn.language, fn.path, fn.entrypoint), fn.language)
        except InstanceError as e:
            return JSONResponse({"error": str(e)}, 502)
        t1 = time.perf_counter()
        healthy = True
        try:
            reply = await inst.invoke(params)
        except (InstanceError, ValueError) as e:
            healthy = False
            reply = {"error": str(e)}
        finally:
            t2 = time.perf_counter()
            await pool.release(inst, healthy)
        start_ms = inst.boot_s * 1000 if kind == "boot" else 0.0
        queue_ms = (t1 - t0) * 1000 - start_ms
        timing = f"queue;dur={queue_ms:.3f}, start;dur={start_ms:.3f}, run;dur={(t2 - t1) * 1000:.3f}"
        headers = {"X-Start": kind, "Server-Timing": timing}
        if "error" in reply:
            return JSONResponse({"error": reply["error"]}, 500 if healthy else 502, headers=headers)
        return Response(orjson.dumps(reply["result"]), media_type="application/json", headers=headers)

    return app
