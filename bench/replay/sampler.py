"""Down-sample a trace to one machine, map it onto the suite, and lay out the open-loop schedule.

Sampling follows In-Vitro (Ustiugov et al., 2023): draw many random sets of N functions and keep
the one whose distribution of per-minute load is closest, in Wasserstein distance, to that of the
whole trace over the same window; within a minute, arrivals are a Poisson process (exponential
inter-arrival times). Each sampled function becomes one deployed function: a suite function and
an input size chosen by the trace function's average duration, and a language drawn to the mix.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass

from bench.replay.azure import Trace, TraceFunction
from bench.replay.costs import Costs, expected_ms, size_for
from bench.replay.suite import SUITE

DEFAULT_MIX = {"js": 0.48, "python": 0.24, "java": 0.28}


def wasserstein(a: list[float], b: list[float], grid: int = 200) -> float:
    """1-Wasserstein distance between two empirical distributions (area between quantile functions)."""
    if not a or not b:
        return math.inf
    sa, sb = sorted(a), sorted(b)
    total = 0.0
    for i in range(grid):
        q = (i + 0.5) / grid
        total += abs(sa[min(len(sa) - 1, int(q * len(sa)))] - sb[min(len(sb) - 1, int(q * len(sb)))])
    return total / grid


def _load_profile(fns: list[TraceFunction], start: int, minutes: int) -> list[float]:
    """Per-function per-minute invocation counts, log-scaled, pooled: the distribution to match."""
    return [math.log10(1 + c) for f in fns for c in f.per_minute[start:start + minutes]]


def sample_functions(trace: Trace, n: int, start: int, minutes: int, seed: int = 1,
                     tries: int = 200) -> tuple[list[TraceFunction], float]:
    """In-Vitro style: the best of `tries` random N-subsets of the functions active in the window."""
    active = [f for f in trace.functions if f.count(start, minutes) > 0]
    if len(active) <= n:
        return active, 0.0
    rng = random.Random(seed)
    whole = _load_profile(active, start, minutes)
    whole_dur = [math.log10(f.avg_ms) for f in active]
    best: list[TraceFunction] = []
    best_d = math.inf
    for _ in range(tries):
        cand = rng.sample(active, n)
        d = wasserstein(_load_profile(cand, start, minutes), whole) + \
            wasserstein([math.log10(f.avg_ms) for f in cand], whole_dur)
        if d < best_d:
            best, best_d = cand, d
    return best, best_d


def assign_languages(count: int, mix: dict[str, float], seed: int) -> list[str]:
    """Exactly the mix (largest remainder), in a seeded random order."""
    total = sum(mix.values())
    quotas = {k: count * v / total for k, v in mix.items()}
    out = {k: int(q) for k, q in quotas.items()}
    for k in sorted(quotas, key=lambda k: quotas[k] - out[k], reverse=True)[:count - sum(out.values())]:
        out[k] += 1
    langs = [k for k, c in out.items() for _ in range(c)]
    random.Random(seed).shuffle(langs)
    return langs


@dataclass
class PlannedFunction:
    name: str  # the deployed name, the same on every platform
    trace_key: str
    trigger: str
    suite: str
    language: str
    n: int
    trace_avg_ms: float
    target_ms: float  # the trace duration, clipped to [min_ms, max_ms]
    expected_ms: float  # what the cost model predicts for n on the language's stock runtime


def map_function(idx: int, fn: TraceFunction, language: str, costs: Costs, rng: random.Random,
                 min_ms: float, max_ms: float) -> PlannedFunction:
    target = min(max(fn.avg_ms, min_ms), max_ms)
    options = []
    for sf in SUITE:
        if sf.power == 0:
            continue
        n = size_for(sf, language, target, costs)
        if n is not None:
            options.append((sf, n))
    if not options or target <= costs[language]["hello"][0] * 2:
        sf, n = SUITE[0], 1  # hello: nothing else is that short
    else:
        sf, n = rng.choice(options)
    return PlannedFunction(f"f{idx:03d}-{sf.name}-{language}", fn.key, fn.trigger, sf.name, language, n,
                           round(fn.avg_ms, 3), round(target, 3), round(expected_ms(sf, language, n, costs), 3))


@dataclass
class Plan:
    functions: list[PlannedFunction]
    arrivals: list[tuple[float, int]]  # (seconds from the start, index into functions), sorted
    source: str
    start_minute: int
    minutes: int
    thinning: float  # fraction of the sampled functions' invocations kept to fit the machine
    distance: float

    def meta(self) -> dict[str, object]:
        return {"source": self.source, "start_minute": self.start_minute, "minutes": self.minutes,
                "functions": len(self.functions), "invocations": len(self.arrivals),
                "thinning": self.thinning, "wasserstein": round(self.distance, 5),
                "languages": {lang: sum(f.language == lang for f in self.functions) for lang in DEFAULT_MIX}}

    def rows(self) -> list[dict[str, object]]:
        return [asdict(f) for f in self.functions]


def minute_arrivals(count: int, rng: random.Random, timer: bool) -> list[float]:
    """`count` offsets in [0, 60): a timer fires evenly; otherwise exponential inter-arrival times,
    normalised to the minute (the Poisson process given its count)."""
    if count <= 0:
        return []
    if timer:
        return [60.0 * i / count for i in range(count)]
    gaps = [rng.expovariate(1.0) for _ in range(count + 1)]
    scale = 60.0 / sum(gaps)
    out, t = [], 0.0
    for g in gaps[:-1]:
        t += g * scale
        out.append(t)
    return out


def schedule(fns: list[TraceFunction], start: int, minutes: int, keep: float, seed: int,
             seconds: float | None = None) -> list[tuple[float, int]]:
    rng = random.Random(seed)
    out: list[tuple[float, int]] = []
    horizon = seconds if seconds is not None else 60.0 * minutes
    for i, f in enumerate(fns):
        if f.starts is not None:  # per-invocation trace: exact start times
            base = 60.0 * start
            times = [s - base for s in f.starts if base <= s < base + 60.0 * minutes]
            out += [(t, i) for t in times if rng.random() < keep]
            continue
        for m in range(minutes):
            c = f.per_minute[start + m]
            c = sum(rng.random() < keep for _ in range(c)) if keep < 1 else c
            out += [(60.0 * m + t, i) for t in minute_arrivals(c, rng, f.trigger == "timer")]
    out = [(t, i) for t, i in out if t < horizon]
    out.sort()
    return out


def make_plan(trace: Trace, costs: Costs, n_functions: int = 40, start_minute: int = 0, minutes: int = 5,
              max_rps: float = 8.0, seconds: float | None = None, mix: dict[str, float] | None = None,
              min_ms: float = 1.0, max_ms: float = 250.0, seed: int = 1) -> Plan:
    """Everything the replayer needs. `seconds` shortens the replay below `minutes` (smoke tests)."""
    if start_minute + minutes > trace.minutes:
        raise ValueError(f"window {start_minute}+{minutes} min is past the trace's {trace.minutes} minutes")
    fns, dist = sample_functions(trace, n_functions, start_minute, minutes, seed)
    total = sum(f.count(start_minute, minutes) for f in fns)
    keep = min(1.0, max_rps * 60.0 * minutes / total) if total else 1.0
    langs = assign_languages(len(fns), mix or DEFAULT_MIX, seed)
    rng = random.Random(seed)
    planned = [map_function(i, f, lang, costs, rng, min_ms, max_ms) for i, (f, lang) in enumerate(zip(fns, langs,
                                                                                                     strict=True))]
    arrivals = schedule(fns, start_minute, minutes, keep, seed, seconds)
    return Plan(planned, arrivals, trace.source, start_minute, minutes, round(keep, 6), dist)
