"""What bounds a trace run's p99 ratio: the calls' own run times.

A call's latency is at least its guest's run time. So whatever graalvisor does about starts,
queues, collections and hops, its p99 cannot fall below the p99 of its calls' run times. This
module estimates that floor from one run of both platforms over the same plan: each of the
plan's calls at its function's median warm run time on the stock runtime (the baseline's
`run_ms`), and on graalvisor. Where the floor is above the target, the target needs engines
faster than these, not less overhead.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from bench.stats import percentile

Row = dict[str, str]
FunctionKey = tuple[str, str]  # (suite function, language): one engine's code
MIN_WARM_CALLS = 3  # below this on either side, a function's median says little: its calls keep their own run times


@dataclass(frozen=True)
class EngineRatio:
    function: FunctionKey
    calls: int  # the plan's calls of the function
    graalvisor_ms: float  # median run time of graalvisor's warm calls
    baseline_ms: float  # median run time of the baseline's warm calls

    @property
    def ratio(self) -> float:
        return self.graalvisor_ms / self.baseline_ms


@dataclass(frozen=True)
class Floor:
    target_ms: float  # the target ratio times the baseline's p99 latency
    calls: int
    stock_p99_ms: float  # p99 of the calls' run times, each at the stock runtime's warm speed
    stock_over: int  # calls whose stock run time alone is above the target
    engine_p99_ms: float  # p99 of the calls' run times at graalvisor's warm engine speed
    engine_over: int
    unmeasured_calls: int  # calls of functions without MIN_WARM_CALLS warm calls on both sides
    ratios: list[EngineRatio]

    @property
    def allowed_over(self) -> int:
        """How many calls may be slower than the p99 and still leave it at the target."""
        return math.floor(self.calls * 0.01)


def _key(row: Row) -> FunctionKey:
    return (row["suite"], row["language"])


def _run_ms(row: Row) -> float | None:
    try:
        value = float(row["run_ms"])
    except (KeyError, ValueError):
        return None
    return value if row.get("status") == "200" and value >= 0 else None


def engine_ratios(graalvisor: list[Row], baseline: list[Row]) -> list[EngineRatio]:
    """Each function's median warm run time on both platforms, most called first."""
    warm: dict[str, dict[FunctionKey, list[float]]] = {"g": defaultdict(list), "b": defaultdict(list)}
    for side, rows in (("g", graalvisor), ("b", baseline)):
        for r in rows:
            ms = _run_ms(r)
            if ms is not None and r.get("start_kind") == "warm":
                warm[side][_key(r)].append(ms)
    calls: dict[FunctionKey, int] = defaultdict(int)
    for r in baseline:
        calls[_key(r)] += 1
    out = []
    for key, n in calls.items():
        g, b = warm["g"].get(key, []), warm["b"].get(key, [])
        if len(g) < MIN_WARM_CALLS or len(b) < MIN_WARM_CALLS:
            continue
        baseline_ms = percentile(b, 50)
        if baseline_ms > 0:
            out.append(EngineRatio(key, n, percentile(g, 50), baseline_ms))
    return sorted(out, key=lambda e: (-e.calls, e.function))


def p99_floor(graalvisor: list[Row], baseline: list[Row], target_ratio: float) -> Floor | None:
    """The floor of graalvisor's p99 for the plan both ran; None without a baseline p99.

    Every call is taken as warm and free of overhead: at its function's median warm run time on
    the stock runtime, and on graalvisor. A function without enough warm calls on a side keeps
    the baseline's own run time for its calls, on both rows."""
    latencies = [float(r["latency_ms"]) for r in baseline]
    stock = [(r, ms) for r in baseline if (ms := _run_ms(r)) is not None]
    if not latencies or not stock:
        return None
    target = target_ratio * percentile(latencies, 99)
    ratios = engine_ratios(graalvisor, baseline)
    medians = {e.function: e for e in ratios}
    at_stock = [medians[_key(r)].baseline_ms if _key(r) in medians else ms for r, ms in stock]
    at_engine = [medians[_key(r)].graalvisor_ms if _key(r) in medians else ms for r, ms in stock]
    return Floor(
        target_ms=target,
        calls=len(baseline),
        stock_p99_ms=percentile(at_stock, 99),
        stock_over=sum(ms > target for ms in at_stock),
        engine_p99_ms=percentile(at_engine, 99),
        engine_over=sum(ms > target for ms in at_engine),
        unmeasured_calls=sum(_key(r) not in medians for r, _ in stock),
        ratios=ratios,
    )


def floor_section(floor: Floor | None, target_ratio: float, shown: int = 12) -> list[str]:
    """The report's markdown for the floor."""
    if floor is None:
        return []
    f = floor
    verdict = ("out of reach even at the stock runtimes' warm speed: it needs engines faster than "
               "node, CPython and the JVM on these functions" if f.stock_p99_ms > f.target_ms else
               "out of reach at graalvisor's warm engine speed, even with no overhead at all"
               if f.engine_p99_ms > f.target_ms else
               "within reach of graalvisor's engines: what is above this floor is overhead (starts, "
               "collections, queues, hops)")
    out = ["## What bounds the p99 ratio", "",
           f"A call takes at least its run time. The target ({target_ratio}x the baseline's p99) is "
           f"**{f.target_ms:,.1f} ms**; at most {f.allowed_over} of the {f.calls} calls may take longer.", "",
           "| every call warm, no start, queue or hop, run at | p99 (ms) | calls over the target |",
           "|---|---|---|",
           f"| its function's median warm run time on the stock runtime | {f.stock_p99_ms:,.1f} | {f.stock_over} |",
           f"| its function's median warm run time on graalvisor | {f.engine_p99_ms:,.1f} | {f.engine_over} |", "",
           f"Verdict: the p99 target is **{verdict}**."
           + (f" ({f.unmeasured_calls} calls are of functions with fewer than {MIN_WARM_CALLS} warm calls on a "
              "side: their baseline run times count on both rows.)" if f.unmeasured_calls else ""), "",
           "| function | calls | graalvisor warm run p50 (ms) | baseline warm run p50 (ms) | ratio |",
           "|---|---|---|---|---|"]
    for e in f.ratios[:shown]:
        out.append(f"| {e.function[0]}-{e.function[1]} | {e.calls} | {e.graalvisor_ms:,.1f} | "
                   f"{e.baseline_ms:,.1f} | {e.ratio:.2f}x |")
    return [*out, ""]
