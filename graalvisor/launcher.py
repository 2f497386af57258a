"""Runs a graalvisor daemon, or any HTTP server, as a child process: the one launcher the tests
and the benchmarks share.

A server runs in a session (process group) of its own, so a Ctrl-C in the terminal reaches only
the caller, which then stops it in order; whatever is left of its group is killed at the end.
The daemon's workers run in sessions of their own (unshare + setsid), out of reach of that
clean-up: their pids, learnt from /healthz while the daemon answered, are checked afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from graalvisor.config import REPO_ROOT

LOOPBACK = "127.0.0.1"
BOOT_TIMEOUT_S = 180.0


class LaunchFailed(RuntimeError):
    """A server exited or never became ready; the message carries the end of its log."""


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """One child process serving HTTP on a loopback port, its output in a log file."""

    def __init__(self, name: str, argv: Sequence[str], port: int, log_path: Path,
                 env: dict[str, str] | None = None, cwd: Path = REPO_ROOT) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.url = f"http://{LOOPBACK}:{port}"
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        # Unbuffered, so that the log tail of a failed start holds its last words.
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(self.env or {})}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(self.argv, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_ready(self, path: str = "/healthz", timeout_s: float = BOOT_TIMEOUT_S,
                   ready: Callable[[httpx.Response], bool] | None = None) -> httpx.Response:
        """Polls ``path`` until ``ready`` accepts an answer (by default: any 200), which it sees
        whatever its status; fails fast, with the log tail, if the process exits."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise LaunchFailed(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
                try:
                    response = client.get(path)
                    last = f"{response.status_code} {response.text[:500]}"
                    if ready(response) if ready is not None else response.status_code == 200:
                        return response
                except (httpx.TransportError, ValueError):
                    pass  # not listening yet, or an answer that is not JSON yet
                time.sleep(0.2)
        raise LaunchFailed(f"{self.name} not ready after {timeout_s:.0f} s (last: {last}):\n{self.log_tail()}")

    def stop(self, grace_s: float = 30.0) -> None:
        """SIGINT (a graceful stop for uvicorn), SIGKILL to the whole group after ``grace_s``;
        then SIGKILL whatever of the group outlived its leader."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(grace_s)
            except subprocess.TimeoutExpired:
                _killpg(self.process.pid)
                self.process.wait()
        _killpg(self.process.pid)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(empty log)"


def _killpg(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def ready_workers(health: dict[str, Any]) -> int:
    return sum(1 for w in health.get("workers") or [] if w.get("ready"))


def worker_pids(health: dict[str, Any]) -> list[int]:
    return [int(w["pid"]) for w in health.get("workers") or [] if w.get("pid")]


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""  # gone (or a zombie: its cmdline reads empty)


def _workers(pids: Sequence[int]) -> list[int]:
    return [pid for pid in pids if "graalvisor.worker" in _cmdline(pid)]


def _wait_gone(pids: Sequence[int], timeout_s: float) -> list[int]:
    deadline = time.monotonic() + timeout_s
    left = _workers(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _workers(left)
    return left


def kill_orphans(pids: Sequence[int], grace_s: float = 5.0) -> list[int]:
    """SIGKILLs those of ``pids`` that are still graalvisor workers after ``grace_s``: a daemon
    that died hard never stopped them, and its process group does not hold them. The command
    line is checked because a pid may have been reused. Returns the pids killed, once they are
    gone (so that a next daemon on the same data dir never meets them)."""
    killed = []
    for pid in _wait_gone(pids, grace_s):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    _wait_gone(killed, 10.0)
    return killed


def daemon_argv(port: int, data_dir: Path, workers: int, extra: Sequence[str] = ()) -> list[str]:
    """``graalvisor serve`` with this interpreter, so a test or benchmark runs the daemon it imports."""
    return [sys.executable, "-m", "graalvisor.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
            "--workers", str(workers), *extra]


@dataclass
class Daemon:
    """A running ``graalvisor serve``."""

    server: ServerProcess
    data_dir: Path
    workers: int
    health: dict[str, Any] = field(default_factory=dict)  # /healthz when it first had every worker ready
    ready_after_s: float = 0.0
    known_workers: set[int] = field(default_factory=set)  # every worker pid /healthz ever named
    credential: str | None = None  # uuid:key that client() sends, where the daemon has keys

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def process(self) -> subprocess.Popen[bytes]:
        assert self.server.process is not None, "the daemon was never started"
        return self.server.process

    @property
    def log_path(self) -> Path:
        return self.server.log_path

    def log(self) -> str:
        return self.server.log()

    def client(self, timeout: float = 120, credential: str | None = None) -> httpx.Client:
        """An HTTP client of the daemon, sending ``credential`` (default: the daemon's own) as Basic auth."""
        return httpx.Client(base_url=self.url, timeout=timeout, auth=self.auth(credential))

    def auth(self, credential: str | None = None) -> httpx.BasicAuth | None:
        """HTTP Basic auth with ``credential`` (default: the daemon's own), for clients made elsewhere."""
        credential = credential or self.credential
        return httpx.BasicAuth(*credential.split(":", 1)) if credential else None

    def create_key(self, namespace: str) -> str:
        """A new API key of ``namespace``, made the way a user makes one: ``graalvisor keys create``."""
        return create_key(self.data_dir, namespace)

    def healthz(self) -> dict[str, Any]:
        """/healthz, whatever its status (503 while no worker is ready); remembers the worker pids."""
        body: dict[str, Any] = httpx.get(f"{self.url}/healthz", timeout=5).json()
        self.known_workers.update(worker_pids(body))
        return body

    def wait_healthy(self, workers: int | None = None, timeout_s: float = BOOT_TIMEOUT_S) -> dict[str, Any]:
        """Waits for /healthz to answer 200 with at least ``workers`` (default: as many as it was
        started with) ready workers, and returns that answer."""
        want = self.workers if workers is None else workers

        def ready(response: httpx.Response) -> bool:
            body = response.json()
            self.known_workers.update(worker_pids(body))  # those of a failing start too, to clean up
            return response.status_code == 200 and ready_workers(body) >= want

        body: dict[str, Any] = self.server.wait_ready("/healthz", timeout_s, ready).json()
        return body

    def wait_warm_pool(self, timeout_s: float = 900.0) -> dict[str, Any]:
        """Waits until the base image exists and every member was restored from an image, as the
        daemon serves once its start-up is over; returns at once where CRIU is not available
        (booted workers are all there will be)."""
        deadline = time.monotonic() + timeout_s
        while True:
            health = self.healthz()
            snapshots = health.get("snapshots", {})
            if not health.get("criu", {}).get("available") or snapshots.get("booting_because"):
                return health
            members = [w for w in health["workers"] if w["role"] == "member"]
            if snapshots.get("base") and members and all(w["start"] == "snapshot" and w["ready"] for w in members):
                return health
            if time.monotonic() > deadline:
                raise LaunchFailed(f"no base image and restored members within {timeout_s:.0f} s: {health}")
            time.sleep(0.5)

    def stop(self, grace_s: float = 30.0) -> None:
        """Stops the daemon, then any worker it left behind."""
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if self.server.running():
                self.healthz()  # the latest workers: restored ones replace those seen at boot
        self.server.stop(grace_s)
        kill_orphans(sorted(self.known_workers))


def create_key(data_dir: Path, namespace: str) -> str:
    out = subprocess.run([sys.executable, "-m", "graalvisor.cli", "keys", "--data-dir", str(data_dir), "create",
                          namespace], check=True, capture_output=True, text=True, cwd=REPO_ROOT)
    return out.stdout.strip()


def start_daemon(data_dir: Path, workers: int = 1, extra: Sequence[str] = (), log_path: Path | None = None,
                 timeout_s: float = BOOT_TIMEOUT_S, port: int | None = None) -> Daemon:
    """Starts ``graalvisor serve`` on a loopback port (a free one unless given) and waits until
    ``workers`` are ready; stops it again if it never gets there."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log_path = log_path or data_dir.parent / f"daemon-{port}.log"
    server = ServerProcess("graalvisor", daemon_argv(port, data_dir, workers, extra), port, log_path)
    daemon = Daemon(server, data_dir, workers)
    t0 = time.monotonic()
    server.start()
    try:
        daemon.health = daemon.wait_healthy(timeout_s=timeout_s)
    except BaseException:
        daemon.stop()
        raise
    daemon.ready_after_s = time.monotonic() - t0
    return daemon


@contextlib.contextmanager
def running_daemon(data_dir: Path, workers: int = 1, extra: Sequence[str] = (), log_path: Path | None = None,
                   timeout_s: float = BOOT_TIMEOUT_S) -> Iterator[Daemon]:
    daemon = start_daemon(data_dir, workers, extra, log_path, timeout_s)
    try:
        yield daemon
    finally:
        daemon.stop()
