"""The p99 floor: every call warm and free of overhead, at each platform's engine speed."""

from __future__ import annotations

import math

from bench.floor import engine_ratios, floor_section, p99_floor
from bench.report import targets


def row(suite: str, lang: str, run_ms: float, latency_ms: float, kind: str = "warm",
        status: str = "200") -> dict[str, str]:
    return {"suite": suite, "language": lang, "run_ms": str(run_ms), "latency_ms": str(latency_ms),
            "start_kind": kind, "status": status}


def plan(heavy_g: float) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """100 calls: 90 of a light function, 10 of a heavy one; the baseline's p99 is a cold start."""
    baseline = [row("light", "js", 5, 6) for _ in range(87)] + [row("light", "js", 9, 400, kind="boot")
                                                                for _ in range(3)]
    baseline += [row("heavy", "js", 50, 55) for _ in range(10)]
    graalvisor = [row("light", "js", 2, 3) for _ in range(90)] + [row("heavy", "js", heavy_g, heavy_g + 1)
                                                                  for _ in range(10)]
    return graalvisor, baseline


def test_engine_ratios_use_warm_calls_only_and_need_enough_of_them() -> None:
    graalvisor, baseline = plan(heavy_g=100)
    graalvisor.append(row("rare", "python", 1, 1))
    baseline.append(row("rare", "python", 10, 10))
    ratios = {e.function: e for e in engine_ratios(graalvisor, baseline)}
    assert set(ratios) == {("light", "js"), ("heavy", "js")}  # "rare" has one warm call a side
    assert ratios[("light", "js")].baseline_ms == 5  # the boot call's 9 ms is not a warm run
    assert ratios[("light", "js")].calls == 90
    assert math.isclose(ratios[("heavy", "js")].ratio, 2.0)


def test_a_heavy_function_slower_on_graalvisor_puts_the_floor_above_the_target() -> None:
    graalvisor, baseline = plan(heavy_g=200)
    floor = p99_floor(graalvisor, baseline, target_ratio=0.32)
    assert floor is not None
    assert floor.allowed_over == 1
    assert math.isclose(floor.target_ms, 0.32 * 400)  # the baseline's p99 is its cold starts
    assert floor.stock_over == 0 and floor.stock_p99_ms == 50  # the heavy calls at 50 ms fit
    assert floor.engine_over == 10 and math.isclose(floor.engine_p99_ms, 200)
    text = "\n".join(floor_section(floor, 0.32))
    assert "out of reach at graalvisor's warm engine speed" in text


def test_the_same_plan_with_engines_as_fast_as_stock_is_reachable() -> None:
    graalvisor, baseline = plan(heavy_g=40)
    floor = p99_floor(graalvisor, baseline, target_ratio=0.32)
    assert floor is not None and floor.engine_over == 0 and floor.engine_p99_ms == 40
    assert "within reach of graalvisor's engines" in "\n".join(floor_section(floor, 0.32))


def test_failed_calls_do_not_count_as_run_times_and_no_baseline_gives_no_floor() -> None:
    graalvisor, baseline = plan(heavy_g=100)
    baseline.append(row("heavy", "js", 9_000, 9_000, status="502"))
    floor = p99_floor(graalvisor, baseline, target_ratio=0.32)
    assert floor is not None and floor.stock_p99_ms < 9_000
    assert p99_floor(graalvisor, [], 0.32) is None


def test_targets_depend_on_the_plan_size() -> None:
    assert targets(40)["p99"] == 1.0 and math.isinf(targets(40)["footprint"])
    assert targets(200) == {"footprint": 0.5, "p99": 0.32}


def test_heavy_calls_slower_than_the_target_on_the_stock_runtime_too() -> None:
    graalvisor, baseline = plan(heavy_g=150)
    baseline = [r if r["suite"] == "light" else row("heavy", "js", 150, 155) for r in baseline]
    floor = p99_floor(graalvisor, baseline, target_ratio=0.32)
    assert floor is not None and floor.stock_over == 10
    assert "out of reach even at the stock runtimes' warm speed" in "\n".join(floor_section(floor, 0.32))
