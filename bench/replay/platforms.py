"""Start, deploy to and stop the platforms under test: graalvisor and the baseline, over HTTP only.
Both are started, awaited and stopped by graalvisor.launcher."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.replay.sampler import PlannedFunction
from bench.replay.suite import BY_NAME, deploy_body
from graalvisor.launcher import Daemon, ServerProcess, free_port, start_daemon

PLATFORMS = ("graalvisor", "baseline")
WARMED = ("js", "python")  # the languages the rolling image compiles
WARMUP_SAMPLES = 4  # sample inputs per warm-up (DESIGN.md, the rolling image)


@dataclass
class Platform:
    kind: str
    data_dir: Path
    workers: int = 1
    keep_alive_s: float = 600.0
    port: int = field(default_factory=free_port)
    server: ServerProcess | None = None
    daemon: Daemon | None = None  # graalvisor only: it also stops the workers the daemon left
    daemon_args: list[str] = field(default_factory=list)  # graalvisor only: more serve flags
    memory_budget_mb: int = 8192  # the same for both: past it, each evicts idle instances LRU

    def __post_init__(self) -> None:
        if self.kind not in PLATFORMS:
            raise ValueError(f"unknown platform {self.kind!r}; expected one of {PLATFORMS}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        return self.server.process if self.server is not None else None

    def start(self, timeout: float = 120.0, warm_timeout: float = 900.0) -> Platform:
        """Starts the platform and returns once it is ready to serve as it will for the replay:
        graalvisor's start-up includes making its base image and swapping its members for clones
        of it (where CRIU works), so the replay never runs on booted, cold workers."""
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        log = self.data_dir.parent / f"{self.kind}.log"
        if self.kind == "graalvisor":
            args = ["--memory-budget-mb", str(self.memory_budget_mb), *self.daemon_args]
            self.daemon = start_daemon(self.data_dir, self.workers, args, log_path=log, timeout_s=timeout,
                                       port=self.port)
            self.server = self.daemon.server
            try:
                self.daemon.wait_warm_pool(warm_timeout)
            except BaseException:
                self.stop()
                raise
            return self
        argv = [sys.executable, "-m", "bench.baseline", "--port", str(self.port), "--data-dir", str(self.data_dir),
                "--keep-alive-s", str(self.keep_alive_s), "--memory-budget-mb", str(self.memory_budget_mb)]
        self.server = ServerProcess(self.kind, argv, self.port, log).start()
        try:
            self.server.wait_ready("/healthz", timeout,
                                   lambda r: r.status_code == 200 and r.json().get("status") == "ok")
        except BaseException:
            self.stop()
            raise
        return self

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

    def deploy(self, functions: list[PlannedFunction], warm: bool = False) -> None:
        """Deploys every planned function. With ``warm`` (graalvisor), JS and Python functions
        come with warm-up params, a call of the size the replay makes, so that they are compiled
        into the rolling image before their first call, as a user who gives warm-up params gets."""
        with httpx.Client(base_url=self.url, timeout=120) as c:
            for f in functions:
                r = c.put(f"/functions/{f.name}", json=deploy_request(f, self.kind, warm))
                if r.status_code >= 300:
                    raise RuntimeError(f"deploy {f.name} to {self.kind}: {r.status_code} {r.text[:300]}")

    def wait_compiled(self, functions: list[PlannedFunction], timeout_s: float) -> int:
        """Waits until graalvisor's rolling image holds every JS and Python function and its
        members are clones of that image; returns how many are compiled (fewer on a timeout)."""
        names = {f.name for f in functions if f.language in WARMED}
        deadline = time.monotonic() + timeout_s
        with httpx.Client(base_url=self.url, timeout=30) as c:
            while True:
                items = c.get("/functions").json()["functions"]
                compiled = sum(1 for item in items if item["name"] in names and item["compiled"])
                health: dict[str, Any] = c.get("/healthz").json()
                warm = health["snapshots"]["warm"]
                members = [w for w in health["workers"] if w["role"] == "member"]
                swapped = bool(members) and all(w.get("image") == warm and w.get("ready") for w in members)
                if (compiled == len(names) and swapped) or time.monotonic() > deadline:
                    return compiled
                time.sleep(2)

    def stop(self, grace: float = 15.0) -> None:
        if self.daemon is not None:
            self.daemon.stop(grace)
        elif self.server is not None:
            self.server.stop(grace)  # the group goes too: the gateway's instances share it


def deploy_request(f: PlannedFunction, kind: str, warm: bool) -> dict[str, object]:
    """The PUT body for one planned function; ``warm`` adds graalvisor's warm-up params to JS and
    Python functions: sample calls of the size the replay makes, with seeds of their own (the
    replay's calls take theirs from their place in it)."""
    body = deploy_body(BY_NAME[f.suite], f.language, f.name)
    if warm and kind == "graalvisor" and f.language in WARMED:
        body["warmup"] = {"params": warmup_samples(f.n)}
    return body


def warmup_samples(n: int, count: int = WARMUP_SAMPLES) -> list[dict[str, int]]:
    """Warm-up params as a user would give them: a few inputs of the size the function gets."""
    return [{"n": n, "seed": seed} for seed in range(1, count + 1)]
