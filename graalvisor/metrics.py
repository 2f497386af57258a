"""Prometheus metrics of one daemon, in their own registry so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, GCCollector, Histogram

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60)
SPAWN_BUCKETS = (0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 0.5, 1)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        GCCollector(registry=self.registry)  # python_gc_*: the gateway's collector kept off the warm path
        self.invocations = Counter(
            "graalvisor_invocations", "Invocations by namespace, function, outcome and start kind",
            ["namespace", "function", "status", "start"], registry=self.registry)
        self.latency = Histogram(
            "graalvisor_invocation_seconds", "Time from request to response, by language",
            ["language"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.isolate_spawn = Histogram(
            "graalvisor_isolate_spawn_seconds", "Time to create a ready isolate inside a worker",
            ["language"], buckets=SPAWN_BUCKETS, registry=self.registry)
        self.workers = Gauge("graalvisor_workers", "Worker processes by state", ["state"], registry=self.registry)
        self.worker_rss = Gauge("graalvisor_worker_rss_bytes", "Resident memory of each worker",
                                ["worker"], registry=self.registry)
        self.worker_code_cache = Gauge("graalvisor_worker_code_cache_bytes",
                                       "Compiled code each worker holds (never flushed; nothing more is compiled "
                                       "once the code cache is full)", ["worker"], registry=self.registry)
        self.worker_starts = Gauge("graalvisor_worker_starts", "Workers started since the daemon started, by how",
                                   ["kind"], registry=self.registry)
        self.criu_available = Gauge("graalvisor_criu_available", "1 when criu check passed and snapshots are on",
                                    registry=self.registry)
        self.snapshot_fallback = Gauge("graalvisor_snapshot_fallback",
                                       "1 when workers boot the slow way because restoring is not possible",
                                       registry=self.registry)
        self.image_copy_fallback = Gauge("graalvisor_image_copy_fallback",
                                         "1 when images are restored by copying every page, not mapping it",
                                         registry=self.registry)
        self.queued = Gauge("graalvisor_queued_invocations", "Invocations waiting for a concurrency slot",
                            ["function"], registry=self.registry)
        self.functions = Gauge("graalvisor_functions", "Registered functions", registry=self.registry)
        # Each call's labelled series, looked up once: labels() cost 1.4-1.7 µs of the event loop
        # a call, a dict look-up 0.1.
        self._counted: dict[tuple[str, str, str, str], Counter] = {}
        self._timed: dict[str, Histogram] = {}

    def invocation(self, namespace: str, function: str, status: str, start: str, language: str,
                   seconds: float) -> None:
        """Counts one invocation and its time from request to response."""
        labels = (namespace, function, status, start)
        counter = self._counted.get(labels)
        if counter is None:
            counter = self._counted[labels] = self.invocations.labels(*labels)
        counter.inc()
        timed = self._timed.get(language)
        if timed is None:
            timed = self._timed[language] = self.latency.labels(language)
        timed.observe(seconds)
