"""Starts and stops the servers a benchmark talks to: the graalvisor daemon and a bare FastAPI app.

Each runs in its own session (process group), so a Ctrl-C in the terminal reaches only the
benchmark, which then stops them in order; whatever is left of the group is killed at the end.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil

from bench.microbench.functions import ROOT

GRAALVISOR = ROOT / ".venv" / "bin" / "graalvisor"


class ServerFailed(RuntimeError):
    """A server exited or never answered; the message carries the end of its log."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One child process serving HTTP, its output in a log file."""

    def __init__(self, name: str, argv: list[str], port: int, log_path: Path) -> None:
        self.name = name
        self.argv = argv
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, path: str, timeout_s: float) -> httpx.Response:
        """Polls ``path`` until it answers 200; fails fast if the process exits."""
        assert self.process is not None
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise ServerFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    response = client.get(path)
                    if response.status_code == 200:
                        return response
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise ServerFailed(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log_tail()}")

    def stop(self, grace_s: float = 20) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()  # the daemon stops its workers on SIGTERM
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        # Workers of a daemon that died hard would linger: they share the daemon's process group.
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Graalvisor:
    server: Server
    health: dict[str, Any]  # /healthz as it answered the first time
    ready_after_s: float

    @property
    def url(self) -> str:
        return self.server.url


@contextmanager
def graalvisor(workers: int, work_dir: Path, boot_timeout_s: float = 180,
               extra_args: Sequence[str] = ()) -> Iterator[Graalvisor]:
    port = free_port()
    argv = [str(GRAALVISOR), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--data-dir", str(work_dir / "data"), "--workers", str(workers), *extra_args]
    server = Server("graalvisor", argv, port, work_dir / "graalvisor.log")
    t0 = time.monotonic()
    server.start()
    try:
        # /healthz is 200 once one worker is ready; wait for all of them so --workers N means N.
        deadline = t0 + boot_timeout_s
        while True:
            health = server.wait_ready("/healthz", max(1.0, deadline - time.monotonic())).json()
            if sum(1 for w in health["workers"] if w["ready"]) >= workers or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        yield Graalvisor(server, health, time.monotonic() - t0)
    finally:
        worker_pids = _worker_pids(server.url)
        server.stop()
        _kill_orphans(worker_pids)


def _worker_pids(url: str) -> list[int]:
    try:
        return [w["pid"] for w in httpx.get(f"{url}/healthz", timeout=5).json()["workers"] if w.get("pid")]
    except (httpx.HTTPError, ValueError, KeyError):
        return []


def _kill_orphans(pids: list[int]) -> None:
    """Workers run in their own session (unshare + setsid): if the daemon died without stopping
    them, they are not in its process group. Kill those still alive, checking they are workers."""
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            if "graalvisor.worker" not in " ".join(proc.cmdline()):
                continue
            try:
                proc.wait(5)
            except psutil.TimeoutExpired:
                proc.kill()
        except psutil.Error:
            continue


@contextmanager
def bare_server(work_dir: Path) -> Iterator[Server]:
    port = free_port()
    # Same server stack as the daemon (uvicorn defaults, no access log), nothing behind the route.
    argv = [sys.executable, "-m", "uvicorn", "bench.microbench.bare:app", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log"]
    server = Server("bare FastAPI", argv, port, work_dir / "bare.log")
    server.start()
    try:
        server.wait_ready("/healthz", 60)
        yield server
    finally:
        server.stop(5)


def _cpu_quiet(pids: list[int], deadline: float, threshold_pct: float = 15.0, quiet_s: float = 2.0) -> None:
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
    pids = [w["pid"] for w in client.get("/healthz").json()["workers"] if w.get("pid")]
    _cpu_quiet(pids, deadline)
    waited = time.monotonic() - t0
    return f"{waited:.1f} s ({base}{'; cap reached' if waited >= max_s - 0.5 else ''})"
