"""What /healthz says and what the /metrics gauges show, both read from one pool status."""

from __future__ import annotations

from typing import Any

from graalvisor import __version__
from graalvisor.metrics import Metrics
from graalvisor.pool import PoolStatus


def health(status: PoolStatus, functions: int) -> dict[str, Any]:
    return {
        "status": "ok" if status.ready else ("halted" if status.halted else "starting"),
        "version": __version__,
        "runtime": status.runtime,
        "workers": status.workers,
        "functions": functions,
        "halted": status.halted,
        "criu": status.criu,
        "snapshots": {"base": status.base_image, "warm": status.warm_image, "warm_versions": status.warm_versions,
                      "count": status.images, "runtime_key": status.runtime_key,
                      "booting_because": status.booting_because, "memory": status.memory,
                      "copied_because": status.copied_because},
        "worker_starts": status.starts,
        "memory": status.memory_budget,
    }


def update_gauges(metrics: Metrics, status: PoolStatus, queued: dict[str, int]) -> None:
    for w in status.workers:
        metrics.worker_rss.labels(w["token"]).set(w["rss_bytes"])
        metrics.worker_code_cache.labels(w["token"]).set(w["code_cache_bytes"])
    metrics.workers.labels("ready").set(status.ready)
    metrics.workers.labels("starting").set(len(status.workers) - status.ready)
    metrics.criu_available.set(1 if status.criu_available else 0)
    metrics.snapshot_fallback.set(1 if status.booting_because else 0)
    metrics.image_copy_fallback.set(1 if status.copied_because else 0)
    for kind, count in status.starts.items():
        metrics.worker_starts.labels(kind).set(count)
    for name, waiting in queued.items():
        metrics.queued.labels(name).set(waiting)
