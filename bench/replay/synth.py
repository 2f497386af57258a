"""A synthetic day in the Azure 2019 format, drawn from the distributions published in
"Serverless in the Wild" (Shahrad et al., ATC'20). Used when the real dataset is not present;
every report that uses it says so.

- Invocations/day per function: log10 ~ Normal(1.60, 1.77): 45 % at most hourly, 81 % at most
  once a minute (Fig. 5a), spanning ~8 orders of magnitude.
- Triggers (Fig. 2): HTTP 55 %, timer 15.6 %, queue 15.2 %, orchestration 6.9 %, storage 2.8 %,
  event 2.2 %, others 2.2 %. Timers fire on a fixed period.
- Average execution time (Fig. 7): log-normal, ln(seconds) ~ Normal(-0.38, 2.36).
- App memory (Fig. 8): Burr XII, c = 11.652, k = 0.221, lambda = 107.083 MB.
- A mild diurnal cycle on the rate of non-timer functions.
"""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path

from bench.replay.azure import DURATION_PCTS, MINUTES, Trace, TraceFunction

TRIGGERS = (("http", 0.55), ("timer", 0.156), ("queue", 0.152), ("orchestration", 0.069),
            ("storage", 0.028), ("event", 0.022), ("others", 0.023))
SOURCE = "synthetic: generated from the ATC'20 'Serverless in the Wild' distributions (no Azure dataset found)"


def _hash(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def burr_memory_mb(rng: random.Random, c: float = 11.652, k: float = 0.221, lam: float = 107.083) -> float:
    u = rng.random()
    return lam * ((1 - u) ** (-1 / k) - 1) ** (1 / c)


def synthesize(n_functions: int = 400, seed: int = 1, minutes: int = MINUTES) -> Trace:
    rng = random.Random(seed)
    names, weights = zip(*TRIGGERS, strict=True)
    functions: list[TraceFunction] = []
    app_idx = 0
    app_left = 0
    app_memory = 0.0
    for i in range(n_functions):
        if app_left == 0:  # most apps hold one function, a few hold many
            app_idx += 1
            app_left = min(20, 1 + int(rng.expovariate(0.8)))
            app_memory = burr_memory_mb(rng)
        app_left -= 1
        owner, app, func = _hash(seed, "owner", app_idx), _hash(seed, "app", app_idx), _hash(seed, "fn", i)
        trigger = rng.choices(names, weights)[0]
        daily = min(10 ** rng.gauss(1.60, 1.77), 2e6)
        counts = [0] * minutes
        if trigger == "timer":
            period = max(1, round(MINUTES / max(daily, 1)))
            per_fire = max(1, round(daily * period / MINUTES))
            phase = rng.randrange(period)
            for m in range(phase, minutes, period):
                counts[m] = per_fire
        else:
            base = daily / MINUTES
            phase = rng.uniform(0, 2 * math.pi)
            for m in range(minutes):
                counts[m] = _poisson(rng, base * (1 + 0.5 * math.sin(2 * math.pi * m / MINUTES + phase)))
        avg_ms = max(1.0, 1000 * math.exp(rng.gauss(-0.38, 2.36)))
        spread = (0.2, 0.3, 0.7, 0.95, 1.2, 3.0, 5.0)
        pcts = {p: avg_ms * s for p, s in zip(DURATION_PCTS, spread, strict=True)}
        functions.append(TraceFunction(owner, app, func, trigger, counts, avg_ms, pcts, app_memory))
    return Trace(functions, SOURCE, minutes)


def write_2021_sample(trace: Trace, path: Path, minutes: int = 10, seed: int = 1) -> None:
    """A per-invocation (2021 format) file drawn from the first `minutes` of a trace."""
    rng = random.Random(seed)
    rows = []
    for f in trace.functions:
        for m in range(minutes):
            for _ in range(f.per_minute[m]):
                start = 60.0 * m + rng.uniform(0, 60)
                dur = max(0.001, rng.lognormvariate(math.log(f.avg_ms / 1000), 0.5))
                rows.append((f.app[:16], f.func[:16], round(start + dur, 6), round(dur, 6)))
    rows.sort(key=lambda r: r[2])
    with path.open("w") as out:
        out.write("app,func,end_timestamp,duration\n")
        out.writelines(f"{a},{b},{c},{d}\n" for a, b, c, d in rows)


def main() -> None:
    import argparse

    from bench.replay.azure import write_azure2019

    p = argparse.ArgumentParser(prog="python -m bench.replay.synth", description="write a synthetic trace sample")
    p.add_argument("out", type=Path)
    p.add_argument("--functions", type=int, default=60)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--day", type=int, default=1)
    a = p.parse_args()
    trace = synthesize(a.functions, a.seed)
    write_azure2019(trace, a.out, a.day)
    small = Trace([f for f in trace.functions if sum(f.per_minute[:10]) < 2000], trace.source, trace.minutes)
    write_2021_sample(small, a.out / "AzureFunctionsInvocationTraceForTwoWeeksJan2021.sample.txt", seed=a.seed)


if __name__ == "__main__":
    main()
