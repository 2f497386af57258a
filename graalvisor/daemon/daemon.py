"""The daemon's use cases: deploy, describe, delete, invoke, and images of functions. They speak
the domain (versions, keys, domain errors); routes stay thin and alone know HTTP."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson

from graalvisor import __version__
from graalvisor.config import Config
from graalvisor.daemon.catalog import Catalog, Entry, unknown
from graalvisor.daemon.health import health, update_gauges
from graalvisor.domain import (
    FunctionConfig,
    Invalid,
    NotFound,
    Subject,
    Unavailable,
    artifacts,
    bare,
    pycheck,
    split,
    worker_key,
)
from graalvisor.metrics import Metrics
from graalvisor.pool import CriuError, NoWorker, Pool, WorkerLost
from graalvisor.registry import CodeStore, FunctionVersion, InvocationRecord, KeyStore, Registry, new_invocation_id
from graalvisor.registry.recorder import Recorder
from graalvisor.scheduler import Invocation, Scheduler

log = logging.getLogger("graalvisor.daemon")


@dataclass
class Call:
    """An accepted invocation, before it runs."""

    record: InvocationRecord
    entry: Entry
    params: bytes
    env: dict[str, str]
    t0: float


class Daemon:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.metrics = Metrics()
        self.registry = Registry(config.db_path, config.invocation_retention)
        self.code = CodeStore(config.code_dir)
        self.keys = KeyStore(config.db_path)
        self.recorder = Recorder(self.registry)
        self.catalog = Catalog()
        self.pool = Pool(config, self._spec_for)
        self.scheduler = Scheduler(self.pool, config.queue_timeout_s,
                                   python_isolates=config.python_isolates_per_worker * config.workers)
        self.pool.set_is_current(self.catalog.is_current)
        self._background: set[asyncio.Task[tuple[InvocationRecord, Invocation]]] = set()

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
        if self._background:  # non-blocking calls end once their workers are gone: record them
            await asyncio.wait(self._background, timeout=10)
        await self.recorder.stop()
        self.registry.close()
        self.keys.close()

    # -- functions (named by qualified name, namespace/name; see domain.namespaces)

    async def deploy(self, name: str, language: str, config: FunctionConfig, data: bytes,
                     warmup: tuple[bytes, ...] = ()) -> tuple[FunctionVersion, bool]:
        """Stores the artifact, checks it (loaded in a worker; Python parsed here when the
        gateway's parser can read it, see domain.pycheck), and only then records the new
        version: code that fails the check never becomes the latest.
        With ``warmup`` (sample params, JSON) a JS or Python version is compiled into the rolling
        image before its first call (else once it has answered a few calls, with theirs)."""
        await asyncio.to_thread(artifacts.check, language, data)  # may unzip: off the event loop
        settings = config.model_dump(exclude={"entrypoint"})
        entrypoint = config.entrypoint
        if language == "java" and entrypoint == "main":
            raise Invalid("a Java function needs entrypoint 'pkg.Class' or 'pkg.Class#method'")
        async with self.catalog.locked(name):
            sha256 = await asyncio.to_thread(self.code.put, data)
            key = worker_key(name, sha256, config.load_settings(), entrypoint)
            spec = await asyncio.to_thread(artifacts.load_spec, key, language, entrypoint, config.isolation,
                                           config.env, data, self.code.path(sha256))
            # Python is parsed here where it can be: a GraalPy context costs a worker seconds of JIT.
            if language != "python" or not await asyncio.to_thread(
                    pycheck.check, entrypoint, spec.get("source"), spec.get("files")):
                await self._check_in_a_worker(spec)
            version = await asyncio.to_thread(self.registry.add_version, name, language, entrypoint, sha256,
                                              len(data), artifacts.is_archive(data), settings)
            created = self.catalog.get(name) is None
            stale = self.catalog.put(version)
            if stale is not None:
                self.pool.forget([stale], self.catalog.keys())  # an old version never runs again
            if warmup:
                self.pool.compile_ahead(key, language, warmup, warmup_env(version), version.timeout_ms)
            self.metrics.functions.set(len(self.catalog))
            return version, created

    async def _check_in_a_worker(self, spec: dict[str, Any]) -> None:
        try:
            loaded = await self.scheduler.deploy(spec)
        except (NoWorker, WorkerLost) as e:
            raise Unavailable(f"no worker could load the function to check it: {e}") from None
        if not loaded.ok:
            extra = {k: v for k, v in (("type", loaded.type), ("line", loaded.line)) if v is not None}
            raise Invalid(f"the code does not load: {loaded.message.strip()}", **extra)

    async def describe(self, name: str) -> dict[str, Any]:
        versions = await asyncio.to_thread(self.registry.versions, name)
        if not versions:
            raise unknown(name)
        entry = self.catalog.get(name)
        compiled = entry is not None and self.pool.compiled(entry.key)
        namespace, bare_name = split(name)
        return {"name": bare_name, "namespace": namespace, "latest": versions[-1].version, "compiled": compiled,
                "versions": [v.to_dict() for v in versions]}

    def versions(self, namespace: str) -> list[FunctionVersion]:
        """The latest version of each of a namespace's functions, by name."""
        return [e.version for e in self._entries(namespace)]

    def list_functions(self, namespace: str) -> list[dict[str, Any]]:
        return [{"name": bare(e.version.name), "namespace": namespace, **e.version.to_dict(),
                 "compiled": self.pool.compiled(e.key)} for e in self._entries(namespace)]

    def _entries(self, namespace: str) -> list[Entry]:
        prefix = namespace + "/"
        return [e for e in self.catalog.entries() if e.version.name.startswith(prefix)]

    def latest(self, name: str) -> FunctionVersion:
        return self.catalog.require(name).version

    async def version(self, name: str, version: int) -> FunctionVersion | None:
        return await asyncio.to_thread(self.registry.version, name, version)

    async def artifact(self, version: FunctionVersion) -> bytes:
        return await asyncio.to_thread(self.code.get, version.sha256)

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

    async def snapshot_function(self, name: str, samples: tuple[bytes, ...], warmup: int) -> dict[str, Any]:
        """Loads the latest version in a template, warms it with ``warmup`` calls taking the
        params ``samples`` in turn, and dumps it: new workers started for this version then
        restore from this image."""
        entry = self.catalog.require(name)
        try:
            snap = await self.pool.image_function(entry.key, samples, warmup, entry.version.timeout_ms,
                                                  warmup_env(entry.version))
        except (CriuError, NoWorker, WorkerLost) as e:
            raise Unavailable(f"could not take a snapshot: {e}") from None
        return {**snap.to_dict(), "function": bare(name), "version": entry.version.version}

    def list_snapshots(self, subject: Subject) -> list[dict[str, Any]]:
        """The shared images (base, rolling) and the subject's namespace's function images."""
        out = []
        for snap in self.pool.images():
            entry = snap.to_dict()
            if snap.function_key:
                version = self.catalog.by_key(snap.function_key)
                if version is None or split(version.name)[0] != subject.namespace:
                    continue
                entry["function"], entry["version"] = bare(version.name), version.version
            out.append(entry)
        return out

    def delete_snapshot(self, subject: Subject, snap_id: str) -> None:
        """A function image may go by its namespace's hand. The shared images (base, rolling) are a
        cache every namespace uses, made again when gone: any caller may drop them."""
        snap = {s.id: s for s in self.pool.images()}.get(snap_id)
        if snap is not None and snap.function_key:
            version = self.catalog.by_key(snap.function_key)
            if version is None or split(version.name)[0] != subject.namespace:
                snap = None
        if snap is None or not self.pool.remove_image(snap_id):
            raise NotFound(f"no snapshot '{snap_id}'; GET /snapshots lists them")

    # -- invocations

    def accept(self, name: str, params: bytes, context: dict[str, str] | None = None,
               invocation_id: str | None = None) -> Call:
        """Takes a call of the latest version: its record exists from here on (so a caller told
        the id at once finds it), and its params have the version's defaults merged under them.
        ``context`` adds ``__OW_*`` variables (API_HOST, API_KEY) to those the call always gets."""
        entry = self.catalog.require(name)
        version = entry.version
        if version.parameters:
            params = orjson.dumps({**version.parameters, **orjson.loads(params)})
        record = InvocationRecord(id=invocation_id or new_invocation_id(), function=name, version=version.version,
                                  status="running")
        env = call_env(version, record.id, record.created_at, context)
        self.recorder.begin(record)
        return Call(record, entry, params, env, time.perf_counter())

    async def run(self, call: Call, fresh: str | None = None) -> tuple[InvocationRecord, Invocation]:
        """Runs an accepted call; every accepted call leaves a record, whatever happens."""
        record, entry, version = call.record, call.entry, call.entry.version
        try:
            inv = await self.scheduler.invoke(entry.target, call.params, fresh, env=call.env)
        except Exception as e:  # an accepted invocation is never dropped without a record
            log.exception("invocation %s of %s failed inside the gateway", record.id, version.name)
            inv = Invocation("error", error={"error": f"internal error: {type(e).__name__}: {e}"})
        record.status, record.start = inv.status, inv.start
        record.wait_ms, record.init_ms, record.run_ms = inv.wait_ms, inv.init_ms, inv.run_ms
        record.result = inv.result
        record.error, record.logs = inv.error, inv.logs
        record.ended_at = time.time()
        # The record, the metrics and the images' counts in the loop's next turn: the caller
        # answers in this one, so they are off the answer's path (6-7 µs of it at c=1).
        asyncio.get_running_loop().call_soon(self._account, call, inv, time.perf_counter() - call.t0)
        return record, inv

    def _account(self, call: Call, inv: Invocation, seconds: float) -> None:
        version = call.entry.version
        self.recorder.finish(call.record)
        self.metrics.invocation(*split(version.name), inv.status, inv.start or "none", version.language, seconds)
        if inv.start == "isolate":
            self.metrics.isolate_spawn.labels(version.language).observe(inv.init_ms / 1000)
        if inv.status == "success":
            self.pool.after_call(call.entry.key, version.language, call.params, call.env, version.timeout_ms)

    async def invoke(self, name: str, params: bytes, fresh: str | None = None,
                     context: dict[str, str] | None = None) -> tuple[InvocationRecord, Invocation]:
        return await self.run(self.accept(name, params, context), fresh)

    def submit(self, call: Call) -> asyncio.Task[tuple[InvocationRecord, Invocation]]:
        """Runs an accepted call in the background (a non-blocking invocation): the daemon holds
        the task until it ends, so it is never collected half-way."""
        task = asyncio.create_task(self.run(call), name=f"invocation-{call.record.id}")
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def invocation(self, namespace: str, invocation_id: str) -> InvocationRecord:
        """A record of the namespace's; another namespace's is as absent as one never made."""
        record = self.recorder.live(invocation_id)
        if record is None:
            record = await asyncio.to_thread(self.registry.invocation, invocation_id)
        if record is None or split(record.function)[0] != namespace:
            raise NotFound(f"no invocation '{invocation_id}' (records past the retention cap are dropped)")
        return record

    async def recent_invocations(self, name: str, limit: int) -> list[InvocationRecord]:
        return await asyncio.to_thread(self.registry.recent_invocations, name, limit)

    async def invocations_in(self, namespace: str, function: str | None, since: float | None, upto: float | None,
                             limit: int, skip: int) -> list[InvocationRecord]:
        """Newest first; running calls are included (they are written once they end)."""
        running = [r for r in self.recorder.running() if split(r.function)[0] == namespace
                   and (function is None or split(r.function)[1] == function)
                   and (since is None or r.created_at >= since) and (upto is None or r.created_at <= upto)]
        stored = await asyncio.to_thread(self.registry.invocations_in, namespace, function, since, upto,
                                         limit + skip + len(running), 0)
        ids = {r.id for r in running}
        merged = running + [r for r in stored if r.id not in ids]
        merged.sort(key=lambda r: r.created_at, reverse=True)
        return merged[skip:skip + limit]

    # -- health

    def health(self) -> dict[str, Any]:
        return health(self.pool.status(), len(self.catalog))

    def update_metrics(self) -> None:
        update_gauges(self.metrics, self.pool.status(), self.scheduler.queued)


def call_env(version: FunctionVersion, activation_id: str, created_at: float,
             context: dict[str, str] | None) -> dict[str, str]:
    """The variables a call gets for itself (OpenWhisk's ``__OW_*``). ``context`` adds API_HOST,
    and API_KEY where the version opts in."""
    namespace, bare_name = split(version.name)
    env = {"__OW_NAMESPACE": namespace, "__OW_ACTION_NAME": f"/{namespace}/{bare_name}",
           "__OW_ACTIVATION_ID": activation_id, "__OW_DEADLINE": str(int(created_at * 1000) + version.timeout_ms)}
    for k, v in (context or {}).items():
        if k != "API_KEY" or version.annotations.get("provide-api-key") is True:  # OpenWhisk's opt-in
            env["__OW_" + k] = v
    return env


def warmup_env(version: FunctionVersion) -> dict[str, str]:
    """What a template's warm-up call of the version carries: the variables a call over the API
    would. The guest's runner takes them as an argument; compiled for calls without them, its
    code (with `main` inlined) was thrown away and compiled again in every clone on its first
    call ("Profiled Argument Types"), so an image's versions ran as if never compiled."""
    return call_env(version, new_invocation_id(), time.time(), {"API_HOST": "http://127.0.0.1"})
