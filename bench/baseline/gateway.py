"""The baseline gateway: graalvisor's HTTP API shape over a pool of process-per-instance runtimes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
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


class Pool:
    """Idle instances per function; a request takes an idle one (warm) or starts one (boot)."""

    def __init__(self, keep_alive_s: float, max_instances: int) -> None:
        self.keep_alive_s = keep_alive_s
        self.max_instances = max_instances
        self.idle: dict[str, list[Instance]] = defaultdict(list)
        self.busy: set[Instance] = set()
        self.starting = 0
        self.released = asyncio.Condition()
        self.cold_starts = 0

    def count(self) -> int:
        return sum(len(v) for v in self.idle.values()) + len(self.busy) + self.starting

    async def acquire(self, name: str, cmd: list[str]) -> tuple[Instance, str]:
        while True:
            idle = self.idle.get(name)
            if idle:
                inst = idle.pop()  # most recently used first, like OpenWhisk's container reuse
                if inst.alive:
                    self.busy.add(inst)
                    return inst, "warm"
                continue
            if self.count() < self.max_instances or await self._evict_one():
                break
            async with self.released:
                await self.released.wait()
        self.starting += 1
        try:
            inst = await Instance.start(name, cmd)
        finally:
            self.starting -= 1
        self.cold_starts += 1
        self.busy.add(inst)
        return inst, "boot"

    async def _evict_one(self) -> bool:
        victims = [(i.last_used, name, i) for name, lst in self.idle.items() for i in lst]
        if not victims:
            return False
        _, name, inst = min(victims, key=lambda v: v[0])
        self.idle[name].remove(inst)
        await inst.stop()
        return True

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


def create_app(data_dir: Path, keep_alive_s: float = 600.0, max_instances: int = 512) -> FastAPI:
    code_dir = data_dir / "code"
    code_dir.mkdir(parents=True, exist_ok=True)
    functions: dict[str, Deployed] = {}
    pool = Pool(keep_alive_s, max_instances)
    app = FastAPI(title="baseline")

    async def reaper() -> None:
        while True:
            await asyncio.sleep(5)
            await pool.reap()

    @app.on_event("startup")
    async def _start() -> None:
        app.state.reaper = asyncio.create_task(reaper())

    @app.on_event("shutdown")
    async def _stop() -> None:
        app.state.reaper.cancel()
        await pool.close()

    @app.get("/healthz")
    async def healthz() -> dict[str, object]:
        instances = [i for lst in pool.idle.values() for i in lst] + list(pool.busy)
        return {"status": "ok", "functions": len(functions), "cold_starts": pool.cold_starts,
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
            inst, kind = await pool.acquire(name, command(fn.language, fn.path, fn.entrypoint))
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
