"""Per-language cost model of the suite: ms = fixed + per_unit * n ** power, measured on each language's
stock runtime (node, CPython, a JVM) through the baseline's own instance hosts.

`python -m bench.replay.costs` re-measures on this machine and rewrites costs.json;
`python -m bench.replay.costs --check 20` sizes every function for 20 ms with the model, runs it
on its stock runtime and prints measured against expected (the model's own accuracy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path

from bench.replay.suite import LANGUAGES, SUITE, SuiteFunction, source_path

COSTS_FILE = Path(__file__).resolve().parent / "costs.json"
Costs = dict[str, dict[str, list[float]]]  # language -> suite name -> [fixed ms, ms per unit of work]


def load_costs(path: Path = COSTS_FILE) -> Costs:
    costs: Costs = json.loads(path.read_text())["per_unit_ms"]
    return costs


def size_for(fn: SuiteFunction, language: str, target_ms: float, costs: Costs) -> int | None:
    """The input size n that makes fn take about target_ms in language, or None if out of its range."""
    if fn.power == 0:
        return fn.min_n
    fixed, per_unit = costs[language][fn.name]
    if target_ms <= fixed:
        return None
    n = round(((target_ms - fixed) / per_unit) ** (1.0 / fn.power))
    return n if fn.min_n <= n <= fn.max_n else None


def expected_ms(fn: SuiteFunction, language: str, n: int, costs: Costs) -> float:
    fixed, per_unit = costs[language][fn.name]
    return fixed + per_unit * n**fn.power if fn.power else fixed


async def _time(inst: object, fn: SuiteFunction, n: int, runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        reply = await inst.invoke({"n": n})  # type: ignore[attr-defined]
        times.append((time.perf_counter() - t0) * 1000)
        if "error" in reply:
            raise RuntimeError(f"{fn.name}: {reply['error']}")
    return statistics.median(times[runs // 2:])  # steady state: the later half


async def _measure(fn: SuiteFunction, language: str, runs: int) -> list[float]:
    """[fixed, per_unit] from two sizes whose work differs 8x (a line through two points)."""
    from bench.baseline.instances import Instance, command

    entry = fn.java_class if language == "java" else "main"
    inst = await Instance.start(fn.name, command(language, source_path(fn, language), entry))
    try:
        if fn.power == 0:
            return [await _time(inst, fn, 1, runs), 0.0]
        n1 = fn.default_n
        n2 = round(n1 * 8 ** (1 / fn.power))
        t1, t2 = await _time(inst, fn, n1, runs), await _time(inst, fn, n2, runs)
        per_unit = max(t2 - t1, 0.0) / (n2**fn.power - n1**fn.power)
        if per_unit < 0.5 * t2 / n2**fn.power:  # noise (JIT, a busy core) flattened the line: one point
            return [0.0, t2 / n2**fn.power]
        return [max(0.0, t1 - per_unit * n1**fn.power), per_unit]
    finally:
        await inst.stop()


async def calibrate(runs: int = 20) -> Costs:
    return {lang: {fn.name: await _measure(fn, lang, runs) for fn in SUITE} for lang in LANGUAGES}


async def check(target_ms: float, costs: Costs, runs: int = 20) -> list[tuple[str, str, int, float, float]]:
    """(language, function, n, expected ms, measured ms) for each function the model can size."""
    from bench.baseline.instances import Instance, command

    rows = []
    for lang in LANGUAGES:
        for fn in SUITE:
            n = size_for(fn, lang, target_ms, costs)
            if n is None:
                continue
            entry = fn.java_class if lang == "java" else "main"
            inst = await Instance.start(fn.name, command(lang, source_path(fn, lang), entry))
            try:
                rows.append((lang, fn.name, n, expected_ms(fn, lang, n, costs), await _time(inst, fn, n, runs)))
            finally:
                await inst.stop()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.replay.costs", description=__doc__)
    parser.add_argument("--check", type=float, metavar="MS", help="check the model at this duration; rewrite nothing")
    parser.add_argument("--runs", type=int, default=20, help="calls per size (the later half's median counts)")
    args = parser.parse_args()
    if args.check is not None:
        rows = asyncio.run(check(args.check, load_costs(), args.runs))
        print(f"{'language':<8} {'function':<10} {'n':>7} {'expected ms':>12} {'measured ms':>12} {'ratio':>6}")
        for lang, name, n, want, got in rows:
            print(f"{lang:<8} {name:<10} {n:>7} {want:>12.2f} {got:>12.2f} {got / want:>6.2f}")
        ratios = [got / want for *_, want, got in rows]
        close = sum(1 for r in ratios if 0.5 <= r <= 2)
        print(f"measured/expected: median {statistics.median(ratios):.2f}, {close} of {len(ratios)} within 0.5-2x")
        return
    costs = asyncio.run(calibrate(args.runs))
    COSTS_FILE.write_text(json.dumps({"measured_on": "stock runtimes via bench/baseline hosts (median of later runs)",
                                      "per_unit_ms": costs}, indent=1) + "\n")
    print(json.dumps(costs, indent=1))


if __name__ == "__main__":
    main()
