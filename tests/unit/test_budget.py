"""The memory budget's eviction plan (pure logic) and the accounting of its measurements."""

from __future__ import annotations

import os
import subprocess
import sys

import psutil
import pytest

from graalvisor.pool.budget import LOW_WATER, Evictions, VersionUse, WorkerUse, plan, tree_pss

MB = 1 << 20


def member(token: str, *versions: VersionUse, pss: int = 400 * MB) -> WorkerUse:
    return WorkerUse(token, "member", sum(v.inflight for v in versions), 0.0, pss, versions)


def test_under_the_budget_nothing_goes() -> None:
    workers = [member("m1", VersionUse("a", 1.0, 0))]
    assert plan(100 * MB, 200 * MB, workers) == Evictions()
    assert plan(10_000 * MB, 0, workers) == Evictions()  # no budget


def test_idle_extras_go_first_least_recently_used_first() -> None:
    workers = [member("m1", VersionUse("a", 1.0, 0)),
               WorkerUse("x-new", "extra", 0, 50.0, 300 * MB),
               WorkerUse("x-old", "extra", 0, 10.0, 300 * MB),
               WorkerUse("x-busy", "extra", 1, 1.0, 300 * MB)]
    # 100 MB over (and down to the low water): the oldest idle extra covers it; versions stay.
    budget = 1000 * MB
    decided = plan(budget + 100 * MB - int(budget * (1 - LOW_WATER)) + 1, budget, workers)
    assert decided.workers == ("x-old",) and decided.versions == ()
    # Far over: both idle extras, then the oldest idle versions; never the busy extra.
    decided = plan(5000 * MB, budget, workers)
    assert decided.workers == ("x-old", "x-new") and decided.versions == (("m1", "a"),)


def test_versions_go_in_lru_order_a_share_at_a_time_never_one_in_flight() -> None:
    workers = [member("m1", *(VersionUse(f"v{i}", float(i), 0) for i in range(8)), VersionUse("busy", -1.0, 2)),
               member("m2", VersionUse("w", 3.5, 0))]
    decided = plan(2000 * MB, 1000 * MB, workers)
    assert decided.workers == ()
    # 9 idle versions, a quarter of them rounded up: the three used longest ago.
    assert decided.versions == (("m1", "v0"), ("m1", "v1"), ("m1", "v2"))
    assert all(key != "busy" for _, key in decided.versions)


def test_templates_are_measured_but_not_evicted() -> None:
    workers = [WorkerUse("t", "template", 0, 0.0, 900 * MB, (VersionUse("a", 0.0, 0),))]
    assert plan(2000 * MB, 1000 * MB, workers) == Evictions()


def test_tree_pss_reads_each_process_once_and_counts_descendants(monkeypatch: pytest.MonkeyPatch) -> None:
    # The gateway's tree holds every worker: each process's smaps_rollup (a page-table walk in the
    # kernel) is read once, not once per tree it is in.
    reads: list[int] = []
    real = psutil.Process.memory_full_info

    def counted(self: psutil.Process) -> object:
        reads.append(self.pid)
        return real(self)

    monkeypatch.setattr(psutil.Process, "memory_full_info", counted)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        me = os.getpid()
        sizes = tree_pss([me, child.pid, 999_999_999])  # the last is gone: left out
        assert set(sizes) == {me, child.pid}
        assert sizes[child.pid] > 0 and sizes[me] > sizes[child.pid]  # mine holds the child's
        assert reads.count(child.pid) == 1 and reads.count(me) == 1
    finally:
        child.kill()
        child.wait()
