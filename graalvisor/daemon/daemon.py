"""The daemon's use cases: deploy, describe, delete, invoke, and images of functions. They speak
the domain (versions, keys, domain errors); routes stay thin and alone know HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from graalvisor import __version__
from graalvisor.config import Config
from graalvisor.daemon.catalog import Catalog, unknown
from graalvisor.daemon.health import health, update_gauges
from graalvisor.domain import FunctionConfig, Invalid, NotFound, Unavailable, artifacts, worker_key
from graalvisor.metrics import Metrics
from graalvisor.pool import CriuError, NoWorker, Pool, WorkerLost
from graalvisor.registry import CodeStore, FunctionVersion, InvocationRecord, Registry
from graalvisor.registry.recorder import Recorder
from graalvisor.scheduler import Invocation, Scheduler, Target

log = logging.getLogger("graalvisor.daemon")


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.registry = Registry(config.db_path, config.invocation_retention)
        self.code = CodeStore(config.code_dir)
        self.recorder = Recorder(self.registry)
        self.catalog = Catalog()
        self.pool = Pool(config, self._spec_for)
        self.scheduler = Scheduler(self.pool, config.queue_timeout_s,
                                   python_isolates=config.python_isolates_per_worker * config.workers)
        self.pool.set_is_current(self.catalog.is_current)

    async def start(self) -> None:
        self.catalog.load(await asyncio.to_thread(self.registry.latest_versions))
        self.metrics.functions.set(len(self.catalog))
        self.recorder.start()
        await self.pool.start()
        self.pool.remove_stale_images(self.catalog.keys())
        log.info("graalvisor %s: %d functions registered, %d workers starting",
                 __version__, len(self.catalog), self.config.workers)

    async def stop(self) -> None:
        await self.pool.stop()
        await self.recorder.stop()
        self.registry.close()

    # -- functions

    async def deploy(self, name: str, language: str, config: FunctionConfig, data: bytes,
                     warmup_params: bytes | None = None) -> tuple[FunctionVersion, bool]:
        """Stores the artifact, loads it in a worker (the check for syntax and entrypoint), and
        only then records the new version: code that does not load never becomes the latest.
        With ``warmup_params`` a JS or Python version is compiled into the rolling image before
        its first call (else once it has answered a few calls, with the last one's params)."""
        await asyncio.to_thread(artifacts.check, language, data)  # may unzip: off the event loop
        settings = config.model_dump(exclude={"entrypoint"})
        entrypoint = config.entrypoint
        if language == "java" and entrypoint == "main":
            raise Invalid("a Java function needs entrypoint 'pkg.Class' or 'pkg.Class#method'")
        async with self.catalog.locked(name):
            sha256 = await asyncio.to_thread(self.code.put, data)
            key = worker_key(name, sha256, settings, entrypoint)
            spec = await asyncio.to_thread(artifacts.load_spec, key, language, entrypoint, config.isolation,
                                           config.env, data, self.code.path(sha256))
            try:
                loaded = await self.scheduler.deploy(spec)
            except (NoWorker, WorkerLost) as e:
                raise Unavailable(f"no worker could load the function to check it: {e}") from None
            if not loaded.ok:
                extra = {k: v for k, v in (("type", loaded.type), ("line", loaded.line)) if v is not None}
                raise Invalid(f"the code does not load: {loaded.message.strip()}", **extra)
            version = await asyncio.to_thread(self.registry.add_version, name, language, entrypoint, sha256,
                                              len(data), artifacts.is_archive(data), settings)
            created = self.catalog.get(name) is None
            stale = self.catalog.put(version)
            if stale is not None:
                self.pool.forget([stale], self.catalog.keys())  # an old version never runs again
            if warmup_params is not None:
                self.pool.compile_ahead(key, language, warmup_params, version.timeout_ms)
            self.metrics.functions.set(len(self.catalog))
            return version, created

    async def describe(self, name: str) -> dict[str, Any]:
        versions = await asyncio.to_thread(self.registry.versions, name)
        if not versions:
            raise unknown(name)
        entry = self.catalog.get(name)
        compiled = entry is not None and self.pool.compiled(entry.key)
        return {"name": name, "latest": versions[-1].version, "compiled": compiled,
                "versions": [v.to_dict() for v in versions]}

    def list_functions(self) -> list[dict[str, Any]]:
        return [{"name": e.version.name, **e.version.to_dict(), "compiled": self.pool.compiled(e.key)}
                for e in self.catalog.entries()]

    async def delete(self, name: str) -> None:
        async with self.catalog.locked(name):
            if not await asyncio.to_thread(self.registry.delete_function, name):
                raise unknown(name)
            stale = self.catalog.remove(name)
            if stale is not None:
                self.pool.forget([stale], self.catalog.keys())
            self.scheduler.forget(name)
            referenced = await asyncio.to_thread(self.registry.referenced_artifacts)
            await asyncio.to_thread(self.code.remove_unreferenced, referenced)
            self.metrics.functions.set(len(self.catalog))

    async def _spec_for(self, key: str) -> dict[str, Any]:
        """What a worker loads for a version key: read (and unzipped) off the event loop."""
        v = self.catalog.by_key(key)
        if v is None:
            raise NotFound(f"version {key} is no longer served")
        path = self.code.path(v.sha256)

        def build() -> dict[str, Any]:
            return artifacts.load_spec(key, v.language, v.entrypoint, v.isolation, v.env, self.code.get(v.sha256),
                                       path)

        return await asyncio.to_thread(build)

    # -- images

    async def snapshot_function(self, name: str, params: dict[str, Any], warmup: int) -> dict[str, Any]:
        """Loads and warms the latest version in a template and dumps it: new workers started
        for this version then restore from this image."""
        entry = self.catalog.require(name)
        try:
            snap = await self.pool.image_function(entry.key, params, warmup, entry.version.timeout_ms)
        except (CriuError, NoWorker, WorkerLost) as e:
            raise Unavailable(f"could not take a snapshot: {e}") from None
        return {**snap.to_dict(), "function": name, "version": entry.version.version}

    def list_snapshots(self) -> list[dict[str, Any]]:
        out = []
        for snap in self.pool.images():
            entry = snap.to_dict()
            version = self.catalog.by_key(snap.function_key) if snap.function_key else None
            if version is not None:
                entry["function"], entry["version"] = version.name, version.version
            out.append(entry)
        return out

    def delete_snapshot(self, snap_id: str) -> None:
        if not self.pool.remove_image(snap_id):
            raise NotFound(f"no snapshot '{snap_id}'; GET /snapshots lists them")

    # -- invocations

    async def invoke(self, name: str, params: bytes, fresh: str | None = None,
                     env: dict[str, str] | None = None) -> tuple[InvocationRecord, Invocation]:
        """Runs the latest version; every accepted call leaves a record, whatever happens."""
        t0 = time.perf_counter()
        entry = self.catalog.require(name)
        version = entry.version
        record = InvocationRecord(id=uuid.uuid4().hex, function=name, version=version.version, status="running")
        self.recorder.begin(record)
        target = Target(key=entry.key, name=name, language=version.language,
                        timeout_ms=version.timeout_ms, concurrency=version.concurrency)
        try:
            inv = await self.scheduler.invoke(target, params, fresh, env)
        except Exception as e:  # an accepted invocation is never dropped without a record
            log.exception("invocation %s of %s failed inside the gateway", record.id, name)
            inv = Invocation("error", error={"error": f"internal error: {type(e).__name__}: {e}"})
        record.status, record.start = inv.status, inv.start
        record.wait_ms, record.init_ms, record.run_ms = inv.wait_ms, inv.init_ms, inv.run_ms
        record.result = inv.result
        record.error, record.logs = inv.error, inv.logs
        self.recorder.finish(record)
        self.metrics.invocations.labels(name, inv.status, inv.start or "none").inc()
        self.metrics.latency.labels(version.language).observe(time.perf_counter() - t0)
        if inv.start == "isolate":
            self.metrics.isolate_spawn.labels(version.language).observe(inv.init_ms / 1000)
        if inv.status == "success":
            self.pool.after_call(entry.key, version.language, params, version.timeout_ms)
        return record, inv

    async def invocation(self, invocation_id: str) -> InvocationRecord:
        record = self.recorder.live(invocation_id)
        if record is None:
            record = await asyncio.to_thread(self.registry.invocation, invocation_id)
        if record is None:
            raise NotFound(f"no invocation '{invocation_id}' (records past the retention cap are dropped)")
        return record

    async def recent_invocations(self, name: str, limit: int) -> list[InvocationRecord]:
        return await asyncio.to_thread(self.registry.recent_invocations, name, limit)

    # -- health

    def health(self) -> dict[str, Any]:
        return health(self.pool.status(), len(self.catalog))

    def update_metrics(self) -> None:
        update_gauges(self.metrics, self.pool.status(), self.scheduler.queued)
