"""Per-function queues and concurrency limits, and the choice of worker for each invocation."""

from graalvisor.scheduler.scheduler import Invocation, Scheduler, Target

__all__ = ["Invocation", "Scheduler", "Target"]
