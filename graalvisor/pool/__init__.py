"""Worker processes and their images: start (restore a snapshot, or boot), place calls, reap,
replace. :class:`Pool` is the one door the scheduler and the daemon use."""

from graalvisor.pool.criu import CriuError
from graalvisor.pool.handle import NoWorker, WorkerHandle, WorkerLost
from graalvisor.pool.placement import SpecFor
from graalvisor.pool.pool import Pool, PoolStatus
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.templates import DEFAULT_WARMUP, MAX_WARMUP

__all__ = ["DEFAULT_WARMUP", "MAX_WARMUP", "CriuError", "NoWorker", "Pool", "PoolStatus", "Snapshot", "SpecFor",
           "WorkerHandle", "WorkerLost"]
