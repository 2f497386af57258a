"""A background worker's priority: every thread, and its session's scheduler autogroup."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from graalvisor.pool.processes import set_nice

THREADS = ("import threading, time\n"
           "for _ in range(3): threading.Thread(target=time.sleep, args=(30,)).start()\n"
           "time.sleep(30)")


def test_every_thread_and_the_session_autogroup_get_the_nice_value() -> None:
    proc = subprocess.Popen([sys.executable, "-c", THREADS], start_new_session=True)
    try:
        tasks = Path(f"/proc/{proc.pid}/task")
        deadline = time.monotonic() + 10
        while len(list(tasks.iterdir())) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert set_nice(proc.pid, 19) >= 4
        assert {os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in tasks.iterdir()} == {19}
        autogroup = Path(f"/proc/{proc.pid}/autogroup")
        if autogroup.exists():  # kernels with autogroups: the worker's session weighs as nice 19
            assert autogroup.read_text().strip().endswith("nice 19")
        if os.geteuid() == 0:  # back to normal, as for a clone of a background template's image
            set_nice(proc.pid, 0)
            assert {os.getpriority(os.PRIO_PROCESS, int(t.name)) for t in tasks.iterdir()} == {0}
            if autogroup.exists():
                assert autogroup.read_text().strip().endswith("nice 0")
    finally:
        proc.kill()
        proc.wait()


def test_a_process_in_our_own_session_leaves_the_session_alone() -> None:
    mine = Path("/proc/self/autogroup")
    before = mine.read_text() if mine.exists() else None
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        set_nice(proc.pid, 19)
        assert os.getpriority(os.PRIO_PROCESS, proc.pid) == 19
        if before is not None:
            assert mine.read_text() == before  # the gateway's own group keeps its weight
    finally:
        proc.kill()
        proc.wait()
