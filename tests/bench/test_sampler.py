"""Down-sampling, language mix, size mapping and the open-loop schedule."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from bench.replay.azure import Trace, TraceFunction
from bench.replay.costs import Costs, expected_ms, size_for
from bench.replay.sampler import (
    assign_languages,
    make_plan,
    map_function,
    minute_arrivals,
    sample_functions,
    schedule,
    wasserstein,
)
from bench.replay.suite import BY_NAME, SUITE

COSTS: Costs = {lang: {f.name: [0.5, 0.001] for f in SUITE} for lang in ("js", "python", "java")}


def fn(i: int, counts: list[int], avg_ms: float = 50.0, trigger: str = "http") -> TraceFunction:
    return TraceFunction("o", "a", f"f{i}", trigger, counts, avg_ms)


def test_wasserstein() -> None:
    assert wasserstein([1, 2, 3], [1, 2, 3]) == 0
    assert wasserstein([0, 0], [1, 1]) == pytest.approx(1.0)
    assert wasserstein([1.0], []) == float("inf")


def test_language_mix_is_exact() -> None:
    langs = assign_languages(25, {"js": 0.48, "python": 0.24, "java": 0.28}, seed=1)
    assert Counter(langs) == {"js": 12, "python": 6, "java": 7}
    assert Counter(assign_languages(100, {"js": 0.48, "python": 0.24, "java": 0.28}, 2)) == \
        {"js": 48, "python": 24, "java": 28}


def test_minute_arrivals() -> None:
    rng = random.Random(1)
    ts = minute_arrivals(50, rng, timer=False)
    assert len(ts) == 50 and ts == sorted(ts) and 0 < ts[0] and ts[-1] < 60
    assert minute_arrivals(4, rng, timer=True) == [0.0, 15.0, 30.0, 45.0]
    assert minute_arrivals(0, rng, timer=False) == []


def test_exponential_gaps() -> None:
    rng = random.Random(2)
    gaps: list[float] = []
    for _ in range(200):
        ts = minute_arrivals(30, rng, timer=False)
        gaps += [b - a for a, b in itertools.pairwise(ts)]
    mean = sum(gaps) / len(gaps)
    var = sum((g - mean) ** 2 for g in gaps) / len(gaps)
    assert 0.8 < (var**0.5) / mean < 1.2  # exponential: coefficient of variation 1


def test_schedule_window_thinning_and_order() -> None:
    fns = [fn(0, [100, 100, 100, 100]), fn(1, [0, 60, 0, 0], trigger="timer")]
    arr = schedule(fns, start=1, minutes=2, keep=1.0, seed=1)
    assert len(arr) == 100 + 100 + 60
    assert arr == sorted(arr) and all(0 <= t < 120 for t, _ in arr)
    timer = [t for t, i in arr if i == 1]
    assert timer == [pytest.approx(k) for k in range(60)]
    half = schedule(fns, start=1, minutes=2, keep=0.5, seed=1)
    assert 90 < len(half) < 170
    assert all(t < 10 for t, _ in schedule(fns, 1, 2, 1.0, 1, seconds=10))


def test_schedule_uses_exact_starts_of_2021() -> None:
    f = fn(0, [2, 1])
    f.starts = [1.0, 30.0, 61.0]
    assert schedule([f], 0, 2, 1.0, 1) == [(1.0, 0), (30.0, 0), (61.0, 0)]
    assert schedule([f], 1, 1, 1.0, 1) == [(1.0, 0)]


def test_sample_prefers_representative_sets() -> None:
    # half the functions are busy, half quiet: the best sample of 10 holds some of each
    fns = [fn(i, [1000] * 5 if i % 2 else [1, 0, 0, 1, 0]) for i in range(60)] + [fn(99, [0] * 5)]
    picked, dist = sample_functions(Trace(fns, "t", 5), 10, 0, 5, seed=1)
    assert len(picked) == 10 and all(f.func != "f99" for f in picked)  # inactive functions never sampled
    busy = sum(f.count() > 100 for f in picked)
    assert 3 <= busy <= 7
    assert dist < 0.5


def test_size_mapping_inverts_cost_model() -> None:
    costs: Costs = {"js": {"bfs": [1.0, 0.01], "matmul": [0.0, 1e-5], "hello": [0.3, 0.0]}}
    n = size_for(BY_NAME["bfs"], "js", 51.0, costs)
    assert n == 5000 and expected_ms(BY_NAME["bfs"], "js", n, costs) == pytest.approx(51.0)
    m = size_for(BY_NAME["matmul"], "js", 80.0, costs)
    assert m == 200
    assert size_for(BY_NAME["bfs"], "js", 0.5, costs) is None  # below the fixed cost
    assert size_for(BY_NAME["bfs"], "js", 1e9, costs) is None  # past max_n


def test_map_function_clips_and_names() -> None:
    rng = random.Random(1)
    p = map_function(7, fn(7, [1], avg_ms=60000), "python", COSTS, rng, 1.0, 100.0)
    assert p.target_ms == 100.0 and p.trace_avg_ms == 60000
    assert p.name == f"f007-{p.suite}-python" and p.suite != "hello"
    assert BY_NAME[p.suite].min_n <= p.n <= BY_NAME[p.suite].max_n
    tiny = map_function(8, fn(8, [1], avg_ms=0.1), "js", COSTS, rng, 0.1, 100.0)
    assert tiny.suite == "hello"


def test_make_plan_fits_rate_and_mix() -> None:
    fns = [fn(i, [600 * (i % 3 + 1)] * 10, avg_ms=10.0 * (i + 1)) for i in range(30)]
    plan = make_plan(Trace(fns, "t", 10), COSTS, n_functions=10, start_minute=2, minutes=3, max_rps=5.0)
    assert len(plan.functions) == 10
    assert len(plan.arrivals) == pytest.approx(5.0 * 180, rel=0.15)
    assert plan.meta()["languages"] == {"js": 5, "python": 2, "java": 3}
    assert len({f.name for f in plan.functions}) == 10
    with pytest.raises(ValueError, match="past the trace"):
        make_plan(Trace(fns, "t", 10), COSTS, start_minute=8, minutes=5)
