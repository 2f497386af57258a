"""Closed-loop capacity per language: locust at rising concurrency against each platform.

    python -m bench.replay.capacity --out RUN_DIR [--users 1,2,4,8] [--step-s 20]

Each (platform, language) pair gets a fresh platform, so memory left by another language's
instances never counts; its PSS is sampled every 0.5 s during each step. Rows go to
RUN_DIR/capacity.csv; `python -m bench.report RUN_DIR` tabulates and plots them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from bench.replay.costs import load_costs, size_for
from bench.replay.memory import MemorySampler
from bench.replay.platforms import PLATFORMS, Platform
from bench.replay.sampler import PlannedFunction
from bench.replay.suite import REPO, SUITE

FIELDS = ["platform", "language", "users", "requests", "failures", "rps", "p50_ms", "p99_ms", "mean_pss_gb",
          "rps_per_gb"]


def targets(language: str, target_ms: float) -> list[PlannedFunction]:
    costs = load_costs()
    out = []
    for fn in SUITE:
        n = size_for(fn, language, target_ms, costs) or fn.min_n
        out.append(PlannedFunction(f"cap-{fn.name}-{language}", "", "", fn.name, language, n, 0.0, target_ms, 0.0))
    return out


def locust_step(url: str, fns: list[PlannedFunction], users: int, seconds: int, prefix: Path) -> dict[str, str]:
    env = {**os.environ, "GV_TARGETS": json.dumps([[f.name, {"n": f.n}] for f in fns]), "GV_LABEL": "invoke"}
    cmd = [sys.executable, "-m", "locust", "-f", str(REPO / "bench" / "locustfile.py"), "--headless",
           "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", url, "--csv", str(prefix),
           "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
    subprocess.run(cmd, env=env, cwd=REPO, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["Name"] == "Aggregated":
                return row
    raise RuntimeError(f"no Aggregated row in {prefix}_stats.csv")


def run(out: Path, platforms: list[str], languages: list[str], users: list[int], seconds: int, target_ms: float,
        workers: int) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "capacity.csv"
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        for kind in platforms:
            for lang in languages:
                fns = targets(lang, target_ms)
                work = out / "capacity" / f"{kind}-{lang}"
                platform = Platform(kind, work / "data", workers=workers).start()
                try:
                    platform.deploy(fns)
                    locust_step(platform.url, fns, 1, 5, work / "warmup")  # first calls: loads, not capacity
                    for u in users:
                        assert platform.proc is not None
                        sampler = MemorySampler(platform.proc.pid, work / f"memory-u{u}.csv", 0.5,
                                                platform.extra_pids).start()
                        row = locust_step(platform.url, fns, u, seconds, work / f"u{u}")
                        samples = sampler.stop()
                        gb = sum(s[1] for s in samples) / max(1, len(samples)) / 1024**3
                        rps = float(row["Requests/s"])
                        w.writerow({"platform": kind, "language": lang, "users": u,
                                    "requests": row["Request Count"], "failures": row["Failure Count"],
                                    "rps": round(rps, 3), "p50_ms": row["50%"], "p99_ms": row["99%"],
                                    "mean_pss_gb": round(gb, 4), "rps_per_gb": round(rps / gb, 3) if gb else ""})
                        f.flush()
                        print(f"{kind} {lang} users={u}: {rps:.1f} req/s, p99 {row['99%']} ms, {gb:.3f} GiB",
                              file=sys.stderr)
                finally:
                    platform.stop()
    return path


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.replay.capacity", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--platforms", default=",".join(PLATFORMS))
    p.add_argument("--languages", default="java,js,python")
    p.add_argument("--users", default="1,2,4,8")
    p.add_argument("--step-s", type=int, default=20)
    p.add_argument("--target-ms", type=float, default=10.0, help="input sizes for about this long on stock runtimes")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    run(a.out, a.platforms.split(","), a.languages.split(","), [int(u) for u in a.users.split(",")], a.step_s,
        a.target_ms, a.workers)


if __name__ == "__main__":
    main()
