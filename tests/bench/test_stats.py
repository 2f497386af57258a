"""One percentile for every benchmark figure: linear interpolation, numpy's default definition."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import numpy as np
import pytest

from bench import report
from bench.microbench.latency import summarize_hops
from bench.microbench.stats import summarize
from bench.stats import percentile


def test_percentile_is_numpys_linear_definition() -> None:
    rng = random.Random(7)
    for n in (1, 2, 3, 10, 99, 1000):
        values = [rng.expovariate(1 / 50) for _ in range(n)]
        for p in (0, 1, 25, 50, 75, 90, 99, 99.9, 100):
            assert percentile(values, p) == pytest.approx(float(np.percentile(values, p)), rel=1e-12), (n, p)


def test_percentile_small_samples_and_edges() -> None:
    assert percentile([1, 2, 3, 4], 50) == 2.5  # nearest rank would say 2
    assert percentile([10, 20], 99) == pytest.approx(19.9)  # nearest rank would say 20
    assert percentile([4, 1, 3, 2], 0) == 1 and percentile([4, 1, 3, 2], 100) == 4  # order does not matter
    assert percentile((x for x in [5.0]), 99) == 5.0  # any iterable
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_microbench_and_report_give_the_same_figures(tmp_path: Path) -> None:
    latencies = [1.0, 2.0, 3.0, 4.0, 100.0]
    pdir = tmp_path / "graalvisor"
    pdir.mkdir()
    fields = ["latency_ms", "status", "intended_s", "start_kind", "expected_ms", "run_ms", "language"]
    with (pdir / "invocations.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for i, ms in enumerate(latencies):
            w.writerow({"latency_ms": ms, "status": 200, "intended_s": i, "start_kind": "warm",
                        "expected_ms": 1.0, "run_ms": 1.0, "language": "js"})
    stats = report.platform_stats(pdir)
    summary = summarize(latencies)
    assert stats["p50"] == summary.p50 == 3.0
    assert stats["p99"] == summary.p99 == pytest.approx(96.16)  # 4 + 0.96 * (100 - 4)
    assert stats["by_lang"]["js"]["p99"] == summary.p99


def test_hop_tail_names_the_hop_that_holds_the_slowest_calls() -> None:
    # 200 calls of 500 µs, 300 of them in http; two slow ones whose extra time is in ipc.
    calls = [{"ipc": 150.0, "http": 300.0} for _ in range(200)]
    walls = [500.0] * 200
    calls[17] = {"ipc": 40_150.0, "http": 300.0}
    walls[17] = 40_500.0
    calls[90] = {"ipc": 20_150.0, "http": 310.0}
    walls[90] = 20_510.0
    result = summarize_hops("js", calls, walls)
    assert result.us == {"ipc": 150.0, "http": 300.0} and result.wall_us == 500.0
    assert result.tail_n == 2  # the p99 of 200 interpolates between the two slowest
    assert result.tail_us == {"ipc": 30_150.0, "http": 305.0}
    assert result.tail_wall_us == 30_505.0
    assert result.to_dict()["p99_tail"] == {"n": 2, "mean_us": {"ipc": 30150.0, "http": 305.0}, "wall_us": 30505.0}
