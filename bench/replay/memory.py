"""Memory footprint of a platform: the PSS of every one of its processes, sampled on a fixed period.

PSS splits shared pages among the processes that map them, so summing it over a platform's
processes counts each page once; RSS would count a shared JVM or node image once per process.
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from graalvisor.pool.processes import process_tree


def tree(root: int, extra: Callable[[], list[int]] | None = None) -> list[psutil.Process]:
    """root, its descendants, and any extra pids (with theirs): e.g. CRIU-restored workers reparented away."""
    seen: dict[int, psutil.Process] = {}
    pids = [root, *(extra() if extra else [])]
    for pid in pids:
        for q in process_tree(pid):
            seen[q.pid] = q
    return list(seen.values())


def pss_bytes(procs: list[psutil.Process]) -> tuple[int, int, int]:
    """(total PSS, total RSS, processes counted); processes that vanish meanwhile are skipped."""
    pss = rss = n = 0
    for p in procs:
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        pss += getattr(info, "pss", info.rss)
        rss += info.rss
        n += 1
    return pss, rss, n


class MemorySampler:
    """A background thread writing t_s,pss_bytes,rss_bytes,processes every `period` seconds."""

    def __init__(self, root: int, out: Path, period: float = 0.5,
                 extra: Callable[[], list[int]] | None = None) -> None:
        self.root, self.out, self.period, self.extra = root, out, period, extra
        self.samples: list[tuple[float, int, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self.t0 = time.monotonic()

    def start(self, t0: float | None = None) -> MemorySampler:
        self.t0 = t0 if t0 is not None else time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            pss, rss, n = pss_bytes(tree(self.root, self.extra))
            self.samples.append((round(time.monotonic() - self.t0, 3), pss, rss, n))
            next_at += self.period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def stop(self) -> list[tuple[float, int, int, int]]:
        self._stop.set()
        self._thread.join()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        with self.out.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t_s", "pss_bytes", "rss_bytes", "processes"])
            w.writerows(self.samples)
        return self.samples
