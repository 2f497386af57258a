"""The servers a benchmark talks to: the graalvisor daemon and a bare FastAPI app, both started,
awaited and stopped by graalvisor.launcher; and how to let a daemon's background work settle."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil

from graalvisor.launcher import Daemon, LaunchFailed, ServerProcess, free_port, running_daemon, worker_pids

ServerFailed = LaunchFailed  # what the benchmarks catch: a server exited or never answered


@contextmanager
def graalvisor(workers: int, work_dir: Path, boot_timeout_s: float = 180,
               extra_args: Sequence[str] = ()) -> Iterator[Daemon]:
    """A daemon with ``workers`` ready workers (so --workers N means N), its data and log in ``work_dir``."""
    with running_daemon(work_dir / "data", workers, extra_args, log_path=work_dir / "graalvisor.log",
                        timeout_s=boot_timeout_s) as daemon:
        yield daemon


@contextmanager
def bare_server(work_dir: Path) -> Iterator[ServerProcess]:
    port = free_port()
    # Same server stack as the daemon (uvicorn defaults, no access log), nothing behind the route.
    argv = [sys.executable, "-m", "uvicorn", "bench.microbench.bare:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    server = ServerProcess("bare FastAPI", argv, port, work_dir / "bare.log").start()
    try:
        server.wait_ready("/healthz", 60)
        yield server
    finally:
        server.stop(5)


def cpu_quiet(pids: list[int], deadline: float, threshold_pct: float = 15.0, quiet_s: float = 2.0) -> None:
    """Waits until no worker uses more than ``threshold_pct`` of a core for ``quiet_s`` (only observes them)."""
    procs = []
    for pid in pids:
        try:
            procs.append(psutil.Process(pid))
        except psutil.Error:
            continue
    for p in procs:
        p.cpu_percent()
    quiet_since: float | None = None
    while procs and time.monotonic() < deadline:
        time.sleep(0.5)
        try:
            busy = max(p.cpu_percent() for p in procs)
        except psutil.Error:
            return
        now = time.monotonic()
        if busy > threshold_pct:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = now
        elif now - quiet_since >= quiet_s:
            return


def settle(client: httpx.Client, max_s: float) -> str:
    """Waits, at most ``max_s``, for the daemon's background work to end: the base snapshot it
    makes after boot (a second JVM warming up beside the worker) and the workers' JIT compilation.
    A worker still compiling steals one of this machine's two cores from whatever is measured next.
    Returns what it waited for, for the log."""
    t0 = time.monotonic()
    deadline = t0 + max_s
    base = "no snapshot support"
    while time.monotonic() < deadline:
        health = client.get("/healthz").json()
        snapshots = health.get("snapshots") or {}
        if not (health.get("criu") or {}).get("available") or snapshots.get("booting_because"):
            break
        if snapshots.get("base"):
            base = f"base image {snapshots['base']} made"
            break
        base = "base image still being made"
        time.sleep(0.5)
    cpu_quiet(worker_pids(client.get("/healthz").json()), deadline)
    waited = time.monotonic() - t0
    return f"{waited:.1f} s ({base}{'; cap reached' if waited >= max_s - 0.5 else ''})"
