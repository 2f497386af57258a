"""A background worker's weight: its session's scheduler autogroup where autogroups are on, else
every thread's nice moved by a shift that keeps the compiler threads above the call threads."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from graalvisor.pool import processes
from graalvisor.pool.processes import set_background

THREADS = ("import threading, time\n"
           "for _ in range(3): threading.Thread(target=time.sleep, args=(30,)).start()\n"
           "time.sleep(30)")


@pytest.fixture
def worker() -> Iterator[subprocess.Popen[bytes]]:
    """A session leader with four threads, as a worker is."""
    proc = subprocess.Popen([sys.executable, "-c", THREADS], start_new_session=True)
    tasks = Path(f"/proc/{proc.pid}/task")
    deadline = time.monotonic() + 10
    while len(list(tasks.iterdir())) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    yield proc
    proc.kill()
    proc.wait()


def niceness(pid: int) -> list[int]:
    return sorted(os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in Path(f"/proc/{pid}/task").iterdir())


def test_with_autogroups_the_session_is_weighed_and_the_threads_keep_their_nice(
        worker: subprocess.Popen[bytes]) -> None:
    if not processes.autogroups_on():
        pytest.fail("this machine has scheduler autogroups off: the other test covers it")
    autogroup = Path(f"/proc/{worker.pid}/autogroup")
    assert set_background(worker.pid, 19, 19) == 1
    assert autogroup.read_text().strip().endswith("nice 19")
    assert niceness(worker.pid) == [0, 0, 0, 0]
    set_background(worker.pid, 0)
    assert autogroup.read_text().strip().endswith("nice 0")


def test_without_autogroups_every_thread_moves_by_the_shift(worker: subprocess.Popen[bytes],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "autogroups_on", lambda: False)
    tid = max(int(t.name) for t in Path(f"/proc/{worker.pid}/task").iterdir())
    os.setpriority(os.PRIO_PROCESS, tid, 3)  # a thread above the others, as a compiler thread is
    assert set_background(worker.pid, 19, 19) == 4
    assert niceness(worker.pid) == [19, 19, 19, 19]  # clamped at 19
    os.setpriority(os.PRIO_PROCESS, tid, 14)
    if os.geteuid() == 0:  # back down, as for a member cloned from a background template's image
        set_background(worker.pid, 0, -19)
        assert niceness(worker.pid) == [-5, 0, 0, 0]


def test_a_process_in_our_own_session_leaves_our_group_alone() -> None:
    mine = Path("/proc/self/autogroup")
    before = mine.read_text() if mine.exists() else None
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        set_background(proc.pid, 19)
        if before is not None:
            assert mine.read_text() == before  # the gateway's own group keeps its weight
    finally:
        proc.kill()
        proc.wait()
