"""Worker processes: start (boot, later snapshot restore), connect, reap, replace."""

from graalvisor.pool.handle import NoWorker, WorkerHandle, WorkerLost
from graalvisor.pool.pool import Pool

__all__ = ["NoWorker", "Pool", "WorkerHandle", "WorkerLost"]
