"""The daemon's state and its use cases: deploy, invoke, delete. Routes stay thin."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import time
import uuid
from typing import Any

import orjson

from graalvisor import __version__
from graalvisor.api import artifacts
from graalvisor.api.errors import ApiError
from graalvisor.api.models import FunctionConfig, FunctionUpload
from graalvisor.config import Config
from graalvisor.metrics import Metrics
from graalvisor.pool import NoWorker, Pool, WorkerHandle, WorkerLost
from graalvisor.pool.criu import CriuError
from graalvisor.registry import CodeStore, FunctionVersion, InvocationRecord, Registry
from graalvisor.registry.recorder import Recorder
from graalvisor.scheduler import Invocation, Scheduler, Target

log = logging.getLogger("graalvisor.daemon")

# A function image is worth taking once the JIT has compiled the function: 500 calls pass
# Truffle's first-tier threshold (400), so clones start compiled instead of each compiling the
# same call targets on its first call. The budget bounds it for slow functions.
DEFAULT_WARMUP = 500
MAX_WARMUP = 10_000
WARMUP_BUDGET_S = 10.0
PROBES = 5
PROBE_SETTLE_S = 5.0
QUIET_S = 0.5  # a settle this short saw no compilation at all (three quiet 100 ms windows)
STATUS_CODES = {"error": 502, "load_error": 502, "worker_lost": 502, "timeout": 504, "unavailable": 503}


def worker_key(name: str, sha256: str, config: dict[str, Any], entrypoint: str) -> str:
    """What a worker loads is fixed by code and config, so the key is derived from them."""
    digest = hashlib.sha256(orjson.dumps({**config, "entrypoint": entrypoint}, option=orjson.OPT_SORT_KEYS))
    return f"{name}@{sha256[:12]}.{digest.hexdigest()[:8]}"


def key_of(v: FunctionVersion) -> str:
    return worker_key(v.name, v.sha256, v.config(), v.entrypoint)


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.registry = Registry(config.db_path, config.invocation_retention)
        self.code = CodeStore(config.code_dir)
        self.recorder = Recorder(self.registry)
        self.pool = Pool(config)
        self.scheduler = Scheduler(self.pool, self._spec_for, config.queue_timeout_s)
        self.latest: dict[str, FunctionVersion] = {}
        self._by_key: dict[str, FunctionVersion] = {}
        self._keys: dict[str, str] = {}  # function name -> worker key of its latest version
        self._deploy_locks: dict[str, asyncio.Lock] = {}
        self._answered: dict[str, int] = {}  # version key -> calls answered, toward its own image
        self._imaged: set[str] = set()  # version keys whose automatic image is made or being made
        # One template at a time: each takes a core and a worker's memory while it warms.
        self._image_lock = asyncio.Lock()

    async def start(self) -> None:
        self.latest = self.registry.latest_versions()
        self._by_key = {key_of(v): v for v in self.latest.values()}
        self._keys = {name: key_of(v) for name, v in self.latest.items()}
        self.metrics.functions.set(len(self.latest))
        self.recorder.start()
        await self.pool.start()
        self.pool.remove_stale_snapshots(set(self._by_key))
        log.info("graalvisor %s: %d functions registered, %d workers starting",
                 __version__, len(self.latest), self.config.workers)

    async def stop(self) -> None:
        await self.pool.stop()
        await self.recorder.stop()
        self.registry.close()

    # -- functions

    async def deploy(self, name: str, upload: FunctionUpload | None, raw: bytes | None,
                     raw_config: FunctionConfig | None, raw_language: str | None) -> tuple[FunctionVersion, bool]:
        if upload is not None:
            language, config = upload.language, FunctionConfig.model_validate(upload.model_dump())
            data = _decode_code(upload.code, upload.binary)
        else:
            assert raw is not None and raw_config is not None and raw_language is not None
            language, config, data = raw_language, raw_config, raw
        artifacts.check(language, data)
        settings = config.model_dump(exclude={"entrypoint"})
        entrypoint = config.entrypoint
        if language == "java" and entrypoint == "main":
            raise ApiError(400, "a Java function needs entrypoint 'pkg.Class' or 'pkg.Class#method'")

        async with self._deploy_locks.setdefault(name, asyncio.Lock()):
            sha256 = await asyncio.to_thread(self.code.put, data)
            key = worker_key(name, sha256, settings, entrypoint)
            spec = artifacts.load_spec(key, language, entrypoint, config.isolation, config.env, data,
                                       self.code.path(sha256))
            try:
                loaded = await self.scheduler.deploy(spec)
            except (NoWorker, WorkerLost) as e:
                raise ApiError(503, f"no worker could load the function to check it: {e}") from None
            if not loaded.get("ok"):
                extra = {k: loaded[k] for k in ("type", "line") if k in loaded}
                raise ApiError(400, f"the code does not load: {loaded.get('message', '').strip()}", **extra)
            previous = self.latest.get(name)
            version = await asyncio.to_thread(self.registry.add_version, name, language, entrypoint, sha256,
                                              len(data), bool(artifacts.is_archive(data)), settings)
            self.latest[name] = version
            self._by_key[key] = version
            self._keys[name] = key
            if previous is not None and key_of(previous) != key:
                self._by_key.pop(key_of(previous), None)
                self.scheduler.forget([key_of(previous)])
                self.pool.remove_stale_snapshots(set(self._by_key))  # an old version never runs again
            self.metrics.functions.set(len(self.latest))
            return version, previous is None

    def describe(self, name: str) -> dict[str, Any]:
        versions = self.registry.versions(name)
        if not versions:
            raise self._unknown(name)
        return {"name": name, "latest": versions[-1].version, "versions": [v.to_dict() for v in versions]}

    def list_functions(self) -> list[dict[str, Any]]:
        return [{"name": name, **v.to_dict()} for name, v in sorted(self.latest.items())]

    async def delete(self, name: str) -> None:
        async with self._deploy_locks.setdefault(name, asyncio.Lock()):
            version = self.latest.pop(name, None)
            self._keys.pop(name, None)
            if not await asyncio.to_thread(self.registry.delete_function, name):
                raise self._unknown(name)
            if version is not None:
                self._by_key.pop(key_of(version), None)
                self.scheduler.forget([key_of(version)])
                self.pool.remove_stale_snapshots(set(self._by_key))
            referenced = await asyncio.to_thread(self.registry.referenced_artifacts)
            await asyncio.to_thread(self.code.remove_unreferenced, referenced)
            self.metrics.functions.set(len(self.latest))

    # -- snapshots

    async def snapshot_function(self, name: str, params: dict[str, Any], warmup: int) -> dict[str, Any]:
        """Boots a template, loads and warms the latest version, dumps it: new workers for this
        version then start from this image."""
        version = self.latest.get(name)
        if version is None:
            raise self._unknown(name)
        key = key_of(version)
        spec = self._spec_for(key)
        params_text = orjson.dumps(params).decode()

        async def warm(template: WorkerHandle) -> None:
            await template.request({"op": "hold_blanks"})
            loaded = await template.request({"op": "deploy", "spec": spec})
            if not loaded.get("ok"):
                raise CriuError(f"the function did not load in the template: {loaded.get('message')}")
            call = {"op": "invoke", "key": key, "params": params_text, "timeout_ms": version.timeout_ms}
            deadline = time.monotonic() + WARMUP_BUDGET_S
            for _ in range(warmup):
                await template.request(call)
                if time.monotonic() > deadline:
                    break
            if warmup:
                await _quiet_after_a_call(template, call)

        try:
            snap = await self.pool.make_snapshot("function", warm, key)
        except CriuError as e:
            raise ApiError(503, f"could not take a snapshot: {e}") from None
        return {**snap.to_dict(), "function": name, "version": version.version}

    def list_snapshots(self) -> list[dict[str, Any]]:
        names = {key_of(v): (n, v.version) for n, v in self.latest.items()}
        out = []
        for snap in self.pool.snapshots.all():
            entry = snap.to_dict()
            if snap.function_key in names:
                entry["function"], entry["version"] = names[snap.function_key]
            out.append(entry)
        return out

    def delete_snapshot(self, snap_id: str) -> None:
        if not self.pool.remove_snapshot(snap_id):
            raise ApiError(404, f"no snapshot '{snap_id}'; GET /snapshots lists them")

    def _spec_for(self, key: str) -> dict[str, Any]:
        v = self._by_key[key]
        data = self.code.get(v.sha256)
        return artifacts.load_spec(key, v.language, v.entrypoint, v.isolation, v.env, data, self.code.path(v.sha256))

    @staticmethod
    def _unknown(name: str) -> ApiError:
        return ApiError(404, f"no function named '{name}'; deploy it with PUT /functions/{name}")

    # -- invocations

    async def invoke(self, name: str, body: bytes, fresh: str | None = None) -> tuple[InvocationRecord, Invocation]:
        t0 = time.perf_counter()
        version = self.latest.get(name)
        if version is None:
            raise self._unknown(name)
        params = _params(body)
        record = InvocationRecord(id=uuid.uuid4().hex, function=name, version=version.version, status="running")
        self.recorder.begin(record)
        target = Target(key=self._keys[name], name=name, language=version.language,
                        timeout_ms=version.timeout_ms, concurrency=version.concurrency)
        try:
            inv = await self.scheduler.invoke(target, params, fresh)
        except Exception as e:  # an accepted invocation is never dropped without a record
            log.exception("invocation %s of %s failed inside the gateway", record.id, name)
            inv = Invocation("error", error={"error": f"internal error: {type(e).__name__}: {e}"})
        record.status, record.start = inv.status, inv.start
        record.wait_ms, record.init_ms, record.run_ms = inv.wait_ms, inv.init_ms, inv.run_ms
        record.result, record.error, record.logs = inv.result, inv.error, inv.logs
        self.recorder.finish(record)
        self.metrics.invocations.labels(name, inv.status, inv.start or "none").inc()
        self.metrics.latency.labels(version.language).observe(time.perf_counter() - t0)
        if inv.start == "isolate":
            self.metrics.isolate_spawn.labels(version.language).observe(inv.init_ms / 1000)
        if inv.status == "success":
            self._count_toward_image(name, target.key, version.language, params)
        return record, inv

    def _count_toward_image(self, name: str, key: str, language: str, params: str) -> None:
        """New workers for a busy version restore from its own image (the function loaded and
        compiled) once it has answered ``snapshot_after_calls`` calls; the warm-up replays the
        call that crossed the line. Guest languages only: their sandbox has no I/O, so repeating
        a call has no effect outside the template."""
        after = self.config.snapshot_after_calls
        if after <= 0 or language == "java" or key in self._imaged or not self.pool.criu.available:
            return
        self._answered[key] = answered = self._answered.get(key, 0) + 1
        if answered < after:
            return
        del self._answered[key]
        self._imaged.add(key)
        if self.pool.snapshots.for_function(self.pool.runtime_key, key) is None:
            self.pool.track(self._auto_image(name, key, params), f"image-{key}")

    async def _auto_image(self, name: str, key: str, params: str) -> None:
        async with self._image_lock:
            version = self.latest.get(name)
            if version is None or key_of(version) != key:
                return  # updated or deleted while it waited
            try:
                snap = await self.snapshot_function(name, orjson.loads(params), DEFAULT_WARMUP)
                log.info("function image %s for %s after %d calls", snap["id"], key, self.config.snapshot_after_calls)
            except Exception as e:  # new workers restore from the base image instead
                log.warning("no function image for %s: %s", key, e)

    def status_code(self, inv: Invocation) -> int:
        return 200 if inv.status == "success" else STATUS_CODES.get(inv.status, 502)

    # -- health

    def health(self) -> dict[str, Any]:
        workers = [w.describe() for w in self.pool.workers.values()]
        for w in workers:
            self.metrics.worker_rss.labels(w["token"]).set(w["rss_bytes"])
        ready = self.pool.ready_workers()
        self.metrics.workers.labels("ready").set(len(ready))
        self.metrics.workers.labels("starting").set(len(workers) - len(ready))
        runtime = ready[0].runtime if ready else {}
        pool = self.pool
        self.metrics.criu_available.set(1 if pool.criu.available else 0)
        self.metrics.snapshot_fallback.set(1 if pool.restore_fallback else 0)
        self.metrics.image_copy_fallback.set(1 if pool.rebase_unavailable else 0)
        for kind, count in pool.starts.items():
            self.metrics.worker_starts.labels(kind).set(count)
        for name, waiting in self.scheduler.queued.items():
            self.metrics.queued.labels(name).set(waiting)
        return {
            "status": "ok" if ready else ("halted" if self.pool.halted_reason else "starting"),
            "version": __version__,
            "runtime": runtime,
            "workers": workers,
            "functions": len(self.latest),
            "halted": pool.halted_reason,
            "criu": {"available": pool.criu.available, "path": pool.criu.path, "version": pool.criu.version,
                     "message": pool.criu.message},
            "snapshots": {"base": (b.id if (b := pool.snapshots.base(pool.runtime_key)) else None),
                          "count": len(pool.snapshots.all()), "runtime_key": pool.runtime_key,
                          "booting_because": pool.restore_fallback,
                          "memory": "copied" if not self.config.map_images or pool.rebase_unavailable else "mapped",
                          "copied_because": pool.rebase_unavailable},
            "worker_starts": dict(pool.starts),
        }


def _decode_code(code: str, binary: bool) -> bytes:
    if not binary:
        return code.encode("utf-8")
    try:
        return base64.b64decode(code, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ApiError(400, f"code is not valid base64 (binary: true): {e}") from None


def _params(body: bytes) -> str:
    if not body.strip():
        return "{}"
    try:
        params = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise ApiError(400, f"the request body is not JSON: {e}") from None
    if not isinstance(params, dict):
        raise ApiError(400, f"params must be a JSON object, not {type(params).__name__}")
    return body.decode("utf-8")


async def _quiet_after_a_call(template: WorkerHandle, call: dict[str, Any]) -> None:
    """Where JIT counters stand after a warm-up is a matter of timing: the next call may take one
    past a compile threshold, and every clone would then compile the same code (and the compiler
    itself, with C2) during its first call. A clone's first call also re-seeds the isolate it
    takes, a path the warm-up never ran. Rehearse that wake and call until a call leaves the
    compilers idle."""
    await template.request({"op": "settle"})
    for probe in range(1, PROBES + 1):
        await template.request({"op": "rehearse_wake"})
        await template.request(call)
        settled = await template.request({"op": "settle", "limit_s": PROBE_SETTLE_S})
        if settled.get("settled_s", QUIET_S) < QUIET_S:
            log.info("template for %s: a call leaves the compilers idle after %d probe(s)", call["key"], probe)
            return
    log.info("template for %s: the compilers still woke after %d probes", call["key"], PROBES)
