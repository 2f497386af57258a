"""A never-seen function called by several callers at once from its first call: how long until
its calls are fast, on a settled daemon.

    python -m bench.firstburst [--workers 2] [--callers 4] [--calls 24]
                               [--functions html:python:3666,bfs:js:55399] [--data-dir DIR]

For each FUNCTION:LANGUAGE:N, deploys the suite function under a new name, lets the daemon's CPU
settle, then ``--callers`` threads make ``--calls`` calls between them, each starting the next as
soon as its last answered. Prints the total time, the first and slowest call, and every call's
latency in the order they were sent. Placement decides how such a burst meets a cold version
(which worker, how many interpreted calls at once); run it on two checkouts to compare two
policies, interleaved, since this machine's speed drifts. ``--data-dir`` keeps the base image
between runs (it is made again whenever the code changes).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.coldcall import settle, timed_call
from bench.replay.suite import BY_NAME, deploy_body
from graalvisor.launcher import Daemon, running_daemon

DEFAULT_FUNCTIONS = "html:python:3666,bfs:js:55399,compress:js:412,json:python:19138"  # the 40-function trace's sizes


def burst(daemon: Daemon, spec: str, callers: int, calls: int) -> str:
    suite_name, language, n = spec.split(":")
    name = f"fb-{suite_name}-{language}-{uuid.uuid4().hex[:6]}"
    with daemon.client(timeout=300) as client:
        deployed = client.put(f"/functions/{name}", json=deploy_body(BY_NAME[suite_name], language, name))
        if deployed.status_code != 201:
            raise SystemExit(f"deploy of {name}: {deployed.status_code} {deployed.text[:300]}")
    settle(daemon, 10)
    latencies: list[tuple[float, float]] = []  # (sent, ms)
    lock = threading.Lock()
    t0 = time.perf_counter()

    def one(_: int) -> None:
        with daemon.client(timeout=300) as client:
            sent = time.perf_counter() - t0
            ms, _response = timed_call(client, name, {"n": int(n)})
        with lock:
            latencies.append((sent, ms))

    with ThreadPoolExecutor(callers) as pool:
        list(pool.map(one, range(calls)))
    total_s = time.perf_counter() - t0
    ms = [m for _, m in sorted(latencies)]
    return (f"{spec}: {calls} calls from {callers} callers in {total_s:.1f} s; first {ms[0]:.0f} ms, "
            f"slowest {max(ms):.0f} ms; each: {' '.join(f'{m:.0f}' for m in ms)}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--callers", type=int, default=4)
    p.add_argument("--calls", type=int, default=24)
    p.add_argument("--functions", default=DEFAULT_FUNCTIONS, help="FUNCTION:LANGUAGE:N,...")
    p.add_argument("--data-dir", type=Path, help="keep the daemon's data (and base image) here")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="gv-firstburst-") as tmp:
        data = a.data_dir or Path(tmp) / "data"
        with running_daemon(data, a.workers, ["--snapshot-after", "0", "--no-warm-versions"],
                            log_path=Path(tmp) / "graalvisor.log", timeout_s=300) as daemon:
            daemon.wait_warm_pool(900)
            settle(daemon)
            for spec in a.functions.split(","):
                print(burst(daemon, spec, a.callers, a.calls), flush=True)


if __name__ == "__main__":
    main()
