"""Start, deploy to and stop the platforms under test: graalvisor and the baseline, over HTTP only."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.replay.sampler import PlannedFunction
from bench.replay.suite import BY_NAME, REPO, deploy_body

PLATFORMS = ("graalvisor", "baseline")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Platform:
    kind: str
    data_dir: Path
    workers: int = 1
    keep_alive_s: float = 600.0
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.kind == "graalvisor":
            exe = shutil.which("graalvisor", path=str(REPO / ".venv" / "bin")) or "graalvisor"
            return [exe, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data_dir),
                    "--workers", str(self.workers)]
        if self.kind == "baseline":
            return [sys.executable, "-m", "bench.baseline", "--port", str(self.port), "--data-dir", str(self.data_dir),
                    "--keep-alive-s", str(self.keep_alive_s)]
        raise ValueError(f"unknown platform {self.kind!r}; expected one of {PLATFORMS}")

    def start(self, timeout: float = 120.0) -> Platform:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        log = (self.data_dir.parent / f"{self.kind}.log").open("wb")
        self.proc = subprocess.Popen(self.command(), cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; see {log.name}")
            try:
                if self.health().get("status") == "ok" and self._ready():
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"{self.kind} not healthy after {timeout:.0f} s; see {log.name}")

    def _ready(self) -> bool:
        if self.kind != "graalvisor":
            return True
        workers = self.health().get("workers") or []
        return bool(workers) and all(w.get("ready") for w in workers)

    def health(self) -> dict[str, object]:
        r = httpx.get(f"{self.url}/healthz", timeout=5)
        body: dict[str, object] = r.json()
        return body

    def extra_pids(self) -> list[int]:
        """Worker pids the platform reports (graalvisor's restored workers may not be our descendants)."""
        try:
            h = self.health()
        except (httpx.HTTPError, ValueError):
            return []
        items = h.get("workers") or h.get("instances") or []
        return [int(w["pid"]) for w in items if isinstance(w, dict) and w.get("pid")]  # type: ignore[union-attr]

    def deploy(self, functions: list[PlannedFunction]) -> None:
        with httpx.Client(base_url=self.url, timeout=120) as c:
            for f in functions:
                r = c.put(f"/functions/{f.name}", json=deploy_body(BY_NAME[f.suite], f.language, f.name))
                if r.status_code >= 300:
                    raise RuntimeError(f"deploy {f.name} to {self.kind}: {r.status_code} {r.text[:300]}")

    def stop(self, grace: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)  # the whole session: gateway, workers, instances
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        try:  # stragglers left in the session (e.g. instances that ignored SIGTERM)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
