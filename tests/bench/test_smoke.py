"""A 20-second replay of the shipped sample against both platforms produces a report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from bench import trace_bench
from bench.replay.source import SAMPLE_2019


def test_twenty_second_replay_against_both_platforms(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trace_bench.main(["--trace-dir", str(SAMPLE_2019), "--seconds", "20", "--minutes", "1", "--functions", "6",
                      "--max-rps", "1", "--max-ms", "5", "--workers", "1", "--no-progress", "--report",
                      "--out", str(run), "--daemon-args", "--base-warmup-s 0"])  # the corpus: test_snapshots
    plan = json.loads((run / "plan.json").read_text())
    assert plan["functions"] == 6 and plan["invocations"] > 0
    for kind in ("graalvisor", "baseline"):
        with (run / kind / "invocations.csv").open() as f:
            rows = list(csv.DictReader(f))
        assert len(rows) == plan["invocations"]
        assert sum(r["status"] == "200" for r in rows) >= 0.8 * len(rows), kind
        with (run / kind / "memory.csv").open() as f:
            mem = list(csv.DictReader(f))
        # Sampled through the run (how often depends on the machine's speed: not asserted).
        times = [float(m["t_s"]) for m in mem]
        assert len(mem) >= 2 and times == sorted(set(times)), times
        assert all(int(m["pss_bytes"]) > 0 and int(m["processes"]) >= 1 for m in mem), mem
    report = (run / "report.md").read_text()
    assert "p99 latency" in report and "memory footprint" in report
    for png in ("latency_cdf.png", "memory.png", "cold_starts.png"):
        assert (run / png).stat().st_size > 1000
