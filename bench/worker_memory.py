"""Where a worker's memory goes: `python -m bench.worker_memory [--functions 10]`.

Boots one worker with the JVM's Native Memory Tracking on (no snapshots: NMT must be on from the
JVM's start), then reads NMT's committed memory by category and the worker's PSS (anonymous and
file-backed) at three points: idle after boot, after one call of a hello in each language, and
after ``--functions`` suite functions per language have each run twice. The growth per function
is what one more loaded version costs the worker.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.replay.suite import BY_NAME, LANGUAGES, build_suite_jar, deploy_body, java_home
from graalvisor.launcher import Daemon, start_daemon

console = Console()
SUITE = ("html", "bfs", "json", "sha256", "matmul", "compress", "pagerank", "mst", "thumbnail")
NMT_LINE = re.compile(r"^-\s+(?P<name>[A-Za-z][A-Za-z ]+?) "
                      r"\(reserved=(?P<reserved>\d+)KB, committed=(?P<committed>\d+)KB")


def nmt(pid: int) -> dict[str, int]:
    """NMT's committed KB per category of the JVM in process ``pid``."""
    out = subprocess.run([str(java_home() / "bin" / "jcmd"), str(pid), "VM.native_memory", "summary"],
                         capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or "Native Memory Tracking" not in out.stdout:
        raise SystemExit(f"jcmd {pid} VM.native_memory failed: {out.stdout[-500:]} {out.stderr[-500:]}")
    found = {m["name"].strip(): int(m["committed"]) for m in map(NMT_LINE.match, out.stdout.splitlines()) if m}
    total = re.search(r"Total: reserved=\d+KB, committed=(\d+)KB", out.stdout)
    found["Total (NMT)"] = int(total.group(1)) if total else sum(found.values())
    return found


def pss(pid: int) -> dict[str, int]:
    """The worker's PSS in KB, split into anonymous and file-backed memory."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Pss", "Pss_Anon", "Pss_File"):
            fields[key] = int(rest.split()[0])
    return fields


def measure(daemon: Daemon) -> dict[str, int]:
    pid = int(daemon.wait_healthy(workers=1)["workers"][0]["pid"])
    return {**nmt(pid), **{f"{k} (smaps)": v for k, v in pss(pid).items()}}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.worker_memory", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--functions", type=int, default=10, help="suite functions deployed per language")
    a = p.parse_args(argv)
    build_suite_jar()
    os.environ["JAVA_TOOL_OPTIONS"] = "-XX:NativeMemoryTracking=summary"  # the worker's JVM reads it
    points: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="gv-memory-") as tmp:
        daemon = start_daemon(Path(tmp) / "data", 1, ["--no-snapshots"])
        os.environ.pop("JAVA_TOOL_OPTIONS")
        try:
            with daemon.client() as c:
                points["idle"] = measure(daemon)
                for lang in LANGUAGES:
                    c.put(f"/functions/hello-{lang}", json=deploy_body(BY_NAME["hello"], lang)).raise_for_status()
                    c.post(f"/invoke/hello-{lang}", json={"n": 1}).raise_for_status()
                points["hello x3"] = measure(daemon)
                for i in range(a.functions):
                    fn = BY_NAME[SUITE[i % len(SUITE)]]
                    for lang in LANGUAGES:
                        name = f"m{i}-{fn.name}-{lang}"
                        c.put(f"/functions/{name}", json=deploy_body(fn, lang, tag=name)).raise_for_status()
                        for _ in range(2):
                            c.post(f"/invoke/{name}", json={"n": fn.min_n * 4, "seed": i}).raise_for_status()
                points[f"+{a.functions} x3 functions"] = measure(daemon)
        finally:
            daemon.stop()
    table = Table(title=f"one worker's committed memory (MB), NMT and PSS; +{a.functions} per language")
    table.add_column("category")
    for point in points:
        table.add_column(point, justify="right")
    table.add_column("per function", justify="right")
    first, last = points["hello x3"], points[f"+{a.functions} x3 functions"]
    for cat in sorted({k for v in points.values() for k in v}, key=lambda k: -last.get(k, 0)):
        per = (last.get(cat, 0) - first.get(cat, 0)) / (3 * a.functions) / 1024
        table.add_row(cat, *(f"{v.get(cat, 0) / 1024:,.1f}" for v in points.values()), f"{per:,.2f}")
    console.print(table)


if __name__ == "__main__":
    main()
