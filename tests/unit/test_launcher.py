"""The launcher without a JVM: stand-in servers in place of the daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from graalvisor.launcher import Daemon, LaunchFailed, ServerProcess, free_port, kill_orphans

# Answers /healthz like the daemon: 503 with no worker ready for its first calls, then 200 with two
# ready workers. Its "workers" run in sessions of their own, as the daemon's do, and it leaves a
# helper in its own process group that ignores SIGINT.
FAKE_DAEMON = textwrap.dedent("""
    import json, signal, subprocess, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)", "graalvisor.worker"]
    workers = [subprocess.Popen(sleeper, start_new_session=True).pid for _ in range(2)]
    helper = subprocess.Popen([sys.executable, "-c",
                               "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); time.sleep(120)"])
    open(sys.argv[2], "w").write(json.dumps({"workers": workers, "helper": helper.pid}))
    calls = 0
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            global calls
            calls += 1
            ready = calls > 3
            body = json.dumps({"status": "ok" if ready else "starting",
                               "workers": [{"pid": p, "ready": ready} for p in workers]}).encode()
            self.send_response(200 if ready else 503)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def log_message(self, *args):
            pass
    signal.signal(signal.SIGINT, lambda *a: sys.exit(0))  # a graceful stop that forgets the workers
    HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
""")


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _gone(pid: int, timeout_s: float = 30) -> bool:
    """Whether ``pid`` ends (a zombie waiting for init counts as ended); waits, since a killed
    process takes a moment to exit."""
    deadline = time.monotonic() + timeout_s
    while _state(pid) not in ("gone", "Z", "X"):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _started(*argv: str) -> subprocess.Popen[bytes]:
    """A process whose command line is readable: /proc shows an empty one for a moment after exec."""
    p = subprocess.Popen([sys.executable, *argv])
    while not Path(f"/proc/{p.pid}/cmdline").read_bytes():
        time.sleep(0.01)
    return p


def test_a_server_that_exits_fails_fast_with_its_log(tmp_path: Path) -> None:
    argv = [sys.executable, "-c", "import sys; print('bad flag --nope'); sys.exit(3)"]
    server = ServerProcess("broken", argv, free_port(), tmp_path / "broken.log").start()
    with pytest.raises(LaunchFailed, match=r"(?s)broken exited with 3.*bad flag --nope"):
        server.wait_ready("/healthz", timeout_s=60)


def test_daemon_waits_for_its_workers_and_leaves_nothing_behind(tmp_path: Path) -> None:
    port, pids_file = free_port(), tmp_path / "pids.json"
    argv = [sys.executable, "-c", FAKE_DAEMON, str(port), str(pids_file)]
    daemon = Daemon(ServerProcess("fake", argv, port, tmp_path / "fake.log").start(), tmp_path / "data", workers=2)
    try:
        health = daemon.wait_healthy(timeout_s=60)
        assert health["status"] == "ok" and all(w["ready"] for w in health["workers"])
        started = json.loads(pids_file.read_text())
        assert daemon.known_workers == set(started["workers"])
    finally:
        daemon.stop(grace_s=10)
    assert daemon.process.returncode == 0  # it stopped on SIGINT
    assert _gone(started["helper"]), "a process of the daemon's group outlived it"
    assert all(_gone(pid) for pid in started["workers"]), "orphaned workers were left running"


def test_kill_orphans_spares_processes_that_are_no_workers() -> None:
    other = _started("-c", "import time; time.sleep(120)")
    worker = _started("-c", "import time; time.sleep(120)", "graalvisor.worker")
    try:
        assert kill_orphans([other.pid, worker.pid], grace_s=0.1) == [worker.pid]
        assert worker.wait(30) == -9
        assert other.poll() is None
    finally:
        for p in (other, worker):
            p.kill()
            p.wait()
    assert kill_orphans([worker.pid], grace_s=0) == []  # gone already
    assert os.getpid() not in kill_orphans([os.getpid()], grace_s=0)
