"""Replay one trace against graalvisor and the baseline, one after the other, into RUN_DIR.

    python -m bench.trace_bench [--minutes 5] [--out runs/NAME] [--platforms graalvisor,baseline]
                                [--functions 40 | --functions 40,200,400] [--memory-budget-mb 8192]

RUN_DIR/plan.json (trace, sampling, functions), and per platform RUN_DIR/<platform>/
invocations.csv (one row per invocation), memory.csv (PSS every 0.5 s), summary.json.
With several sizes, one RUN_DIR/f<N>/ like that per size, and RUN_DIR/scale.md and scale.png
(`python -m bench.scale`). The platforms run one after the other so they never compete for the
same cores, each under the same memory budget.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shlex
import time
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench.replay.azure import Trace
from bench.replay.costs import load_costs
from bench.replay.memory import MemorySampler, pss_bytes, tree
from bench.replay.platforms import PLATFORMS, Platform
from bench.replay.replayer import replay
from bench.replay.sampler import DEFAULT_MIX, Plan, make_plan
from bench.replay.source import load_trace
from bench.replay.suite import build_suite_jar
from graalvisor.config import default_members

console = Console(stderr=True)


def parse_mix(text: str | None) -> dict[str, float]:
    if not text:
        return dict(DEFAULT_MIX)
    mix = {}
    for part in text.split(","):
        lang, _, share = part.partition("=")
        if lang not in DEFAULT_MIX:
            raise SystemExit(f"--mix: unknown language {lang!r}; use js=0.48,python=0.24,java=0.28")
        mix[lang] = float(share)
    return mix


def run_platform(kind: str, plan: Plan, run_dir: Path, workers: int, progress: bool,
                 daemon_args: list[str], memory_budget_mb: int, warm_deploys: float = 0.0) -> dict[str, object]:
    out = run_dir / kind
    out.mkdir(parents=True, exist_ok=True)
    platform = Platform(kind, out / "data", workers=workers, daemon_args=daemon_args,
                        memory_budget_mb=memory_budget_mb)
    t_boot = time.monotonic()
    platform.start()
    boot_s = time.monotonic() - t_boot
    idle_pss = pss_bytes(tree(platform.proc.pid, platform.extra_pids))[0] if platform.proc else 0
    try:
        t_dep = time.monotonic()
        warm = warm_deploys > 0 and kind == "graalvisor"
        platform.deploy(plan.functions, warm=warm)
        deploy_s = time.monotonic() - t_dep
        compiled, compile_s = None, 0.0
        if warm:  # the functions are compiled before the replay, and the wait is reported
            t_comp = time.monotonic()
            compiled = platform.wait_compiled(plan.functions, warm_deploys)
            compile_s = time.monotonic() - t_comp
            console.print(f"{kind}: {compiled} functions compiled into the rolling image in {compile_s:.0f} s")
        assert platform.proc is not None
        sampler = MemorySampler(platform.proc.pid, out / "memory.csv", 0.5, platform.extra_pids)
        with Progress(TextColumn(f"[bold]{kind:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console, disable=not progress) as bar:
            task = bar.add_task(kind, total=len(plan.arrivals))
            rows = asyncio.run(replay(platform.url, plan, out / "invocations.csv",
                                      progress=lambda k: bar.advance(task, k), started=sampler.start))
        wall_s = time.monotonic() - sampler.t0
        time.sleep(1.0)
        sampler.stop()
        health = platform.health()
    finally:
        platform.stop()
    summary: dict[str, object] = {
               "platform": kind, "workers": workers if kind == "graalvisor" else None, "boot_s": round(boot_s, 3),
               "deploy_s": round(deploy_s, 3), "compiled_before_replay": compiled, "compile_s": round(compile_s, 3),
               "idle_pss_bytes": idle_pss, "wall_s": round(wall_s, 3),
               "invocations": len(rows), "ok": sum(r.status == 200 for r in rows),
               "max_sent_lag_ms": max((r.sent_lag_ms for r in rows), default=0.0), "health_at_end": health}
    (out / "summary.json").write_text(json.dumps(summary, indent=1, default=str) + "\n")
    return summary


def main(argv: list[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m bench.trace_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, help="RUN_DIR (default runs/trace-<time>)")
    p.add_argument("--platforms", default=",".join(PLATFORMS))
    p.add_argument("--trace-dir", type=Path, help="directory holding the Azure 2019 csv files")
    p.add_argument("--day", type=int, default=1)
    p.add_argument("--trace-2021", type=Path, help="an Azure 2021 per-invocation trace file")
    p.add_argument("--start-minute", type=int, default=780, help="window start (default 13:00, as Graalvisor's)")
    p.add_argument("--minutes", type=int, default=5)
    p.add_argument("--seconds", type=float, help="cut the replay short (smoke tests)")
    p.add_argument("--functions", default="40",
                   help="N functions sampled In-Vitro style; several (40,200,400) make a scale curve")
    p.add_argument("--max-rps", type=float, default=2.0, help="thin the sampled load to at most this mean rate")
    p.add_argument("--max-ms", type=float, default=50.0, help="clip trace durations to this when sizing inputs")
    p.add_argument("--mix", help="language shares, default js=0.48,python=0.24,java=0.28")
    p.add_argument("--workers", type=int, default=default_members(),
                   help="graalvisor member workers (default: the daemon's, one per two cores)")
    p.add_argument("--daemon-args", default="", help="more `graalvisor serve` flags, e.g. '--base-warmup-s 30'")
    p.add_argument("--memory-budget-mb", type=int, default=8192,
                   help="both platforms evict idle instances/versions LRU past this much PSS (0: no budget)")
    p.add_argument("--warm-deploys", type=float, default=0.0, metavar="SECONDS",
                   help="graalvisor: deploy JS and Python functions with warm-up params (a call of the replay's "
                        "size) and wait up to SECONDS for them to be compiled into the rolling image before the "
                        "replay; the wait is reported as compile_s (default 0: off)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-progress", action="store_true")
    p.add_argument("--report", action="store_true", help="write the report when done")
    a = p.parse_args(argv)

    try:
        counts = [int(n) for n in str(a.functions).split(",")]
    except ValueError:
        raise SystemExit(f"--functions: expected a number or numbers like 40,200,400, got {a.functions!r}") from None
    trace = load_trace(a.trace_dir, a.day, a.trace_2021, seed=a.seed)
    start = a.start_minute if a.start_minute + a.minutes <= trace.minutes else 0
    if trace.source.startswith("synthetic"):
        trace = synthetic_with_active(trace, max(counts), start, a.minutes, a.seed)
    if trace.source.startswith("synthetic"):
        console.print(f"[yellow]trace: {trace.source}")
    else:
        console.print(f"trace: {trace.source}")
    root = a.out or Path("runs") / time.strftime("trace-%Y%m%d-%H%M%S")
    build_suite_jar()
    for count in counts:
        run_dir = root / f"f{count}" if len(counts) > 1 else root
        run_size(a, trace, start, count, run_dir)
    if len(counts) > 1:
        from bench import scale

        console.print(f"scale curve: {scale.write_scale(root)}")
    return root


def synthetic_with_active(trace: Trace, wanted: int, start: int, minutes: int, seed: int) -> Trace:
    """A synthetic day with at least ``wanted`` functions called in the window (most functions
    are called rarely: of 400, about 150 are called in a given 5 minutes), so a scale curve's
    largest size samples as many functions as it says. The same day when it has enough."""
    for _ in range(4):
        active = sum(1 for f in trace.functions if f.count(start, minutes) > 0)
        if active >= wanted:
            return trace
        trace = load_trace(synthetic_functions=math.ceil(len(trace.functions) * wanted / max(active, 1) * 1.15),
                           seed=seed)
    return trace


def run_size(a: argparse.Namespace, trace: Trace, start: int, count: int, run_dir: Path) -> None:
    """One replay of ``count`` functions against every platform, into ``run_dir``."""
    plan = make_plan(trace, load_costs(), count, start, a.minutes, a.max_rps, a.seconds,
                     parse_mix(a.mix), max_ms=a.max_ms, seed=a.seed)
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {**plan.meta(), "seconds": a.seconds, "max_rps": a.max_rps, "max_ms": a.max_ms, "seed": a.seed,
            "mix": parse_mix(a.mix), "workers": a.workers, "memory_budget_mb": a.memory_budget_mb,
            "warm_deploys": a.warm_deploys,
            "functions_planned": [asdict(f) for f in plan.functions]}
    (run_dir / "plan.json").write_text(json.dumps(meta, indent=1) + "\n")
    console.print(f"plan: {len(plan.functions)} functions, {len(plan.arrivals)} invocations, "
                  f"thinning {plan.thinning:.4f}, languages {plan.meta()['languages']}")
    for kind in a.platforms.split(","):
        s = run_platform(kind, plan, run_dir, a.workers, not a.no_progress, shlex.split(a.daemon_args),
                         a.memory_budget_mb, a.warm_deploys)
        console.print(f"{kind}: {s['ok']}/{s['invocations']} ok in {s['wall_s']} s")
        time.sleep(2)
    if a.report:
        from bench import report

        report.write_report(run_dir)
        console.print(f"report: {run_dir / 'report.md'}")


if __name__ == "__main__":
    main()
