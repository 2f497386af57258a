"""Renders results: one rich table per section as it finishes, and a plain-text summary at the end."""

from __future__ import annotations

from rich.table import Table

from bench.microbench.cpu import LAST, WARM_DIVISOR, CpuResult
from bench.microbench.latency import HOPS, HopResult, LatencyResult, ratios
from bench.microbench.memory import MemoryResult
from bench.microbench.spawn import AIM_US, SpawnResult


def _us(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.1f}"


def spawn_table(results: list[SpawnResult]) -> Table:
    table = Table(title="1. Isolate spawn (isolation=invocation, start;dur from Server-Timing)")
    for col in ("language", "warm-up", "n", "p50 µs", "p99 µs", "mean µs", "target µs", "verdict"):
        table.add_column(col, justify="left" if col in ("language", "verdict") else "right")
    for r in results:
        target = f"≤{r.target_us:.0f} (aim ≤{AIM_US:.0f})" if r.target_us else "report"
        table.add_row(r.label, str(r.warmup), str(r.start_us.n), _us(r.start_us.p50), _us(r.start_us.p99),
                      _us(r.start_us.mean), target, r.verdict())
    notes = [n for r in results if (n := r.note())]
    notes += [f"{r.label}: {r.not_isolate} calls did not answer X-Start: isolate" for r in results if r.not_isolate]
    if notes:
        table.caption = "\n".join(notes)
    return table


CLIENT_NAMES = {"httpx": "httpx.AsyncClient pool", "raw": "raw asyncio HTTP/1.1 keep-alive client"}


def latency_table(client: str, by_concurrency: dict[int, dict[str, LatencyResult]]) -> Table:
    table = Table(title=f"2. Warm invoke latency (hello, isolation=instance), client wall time per request, "
                        f"{CLIENT_NAMES[client]}")
    for col in ("c", "target", "n", "p50 ms", "p99 ms", "req/s", "p50 / bare", "p99 / bare"):
        table.add_column(col, justify="left" if col == "target" else "right")
    for c, results in by_concurrency.items():
        rel = ratios(results)
        for label, r in results.items():
            p50 = f"{rel[label]['p50']:.2f}x" if label in rel else "1"
            p99 = f"{rel[label]['p99']:.2f}x" if label in rel else "1"
            table.add_row(str(c), label, str(r.ms.n), f"{r.ms.p50:.2f}", f"{r.ms.p99:.2f}",
                          f"{r.throughput_rps:,.0f}", p50, p99)
        table.add_section()
    return table


def hops_table(results: list[HopResult]) -> Table:
    table = Table(title="2b. Where a warm call's time goes: median µs per hop (Server-Timing; raw client, c=1); "
                        "p99+: the mean over the calls at or above the p99 of wall time")
    hops = [*HOPS, "gateway", "http"]
    for col in ("target", *hops, "wall"):
        table.add_column(col, justify="left" if col == "target" else "right")
    for r in results:
        table.add_row(r.label, *(f"{r.us.get(h, 0.0):,.0f}" for h in hops), f"{r.wall_us:,.0f}")
        table.add_row(f"  p99+ ({r.tail_n})", *(f"{r.tail_us.get(h, 0.0):,.0f}" for h in hops),
                      f"{r.tail_wall_us:,.0f}")
    return table


def cpu_table(r: CpuResult) -> Table:
    table = Table(title=f"3. CPU-bound JS kernel (size {r.size}): warm-up, then {r.iterations} iterations, "
                        f"last {LAST} counted")
    for col in ("engine", "warm-up calls", "first ms", f"best of last {LAST} ms", f"median of last {LAST} ms"):
        table.add_column(col, justify="left" if col == "engine" else "right")
    warm = f"{len(r.warmup.ms)} at size {r.size // WARM_DIVISOR} ({sum(r.warmup.ms) / 1000:.1f} s)"
    table.add_row("GraalJS in graalvisor (run;dur)", warm, f"{r.graal.ms[0]:.1f}",
                  f"{r.graal.best:.1f}", f"{r.graal.median:.1f}")
    table.add_row(f"Node.js {r.node_version} (hrtime)", f"{len(r.warmup.ms)} at size {r.size // WARM_DIVISOR}",
                  f"{r.node.ms[0]:.1f}", f"{r.node.best:.1f}", f"{r.node.median:.1f}")
    table.add_row("GraalJS / Node.js", "", "", f"{r.ratio_best:.2f}x", f"{r.ratio_median:.2f}x")
    table.caption = (f"/healthz runtime: truffle_runtime={r.truffle_runtime!r} optimizing={r.optimizing} "
                     + ("(the optimizing runtime: Graal JIT)" if r.optimizing else "(NOT optimizing: an interpreter)"))
    return table


def memory_table(r: MemoryResult) -> Table:
    table = Table(title="4. Worker RSS (/healthz workers[].rss_bytes, summed)")
    for col in ("stage", "functions", "RSS MB", "Δ MB", "MB / function", "deploy+invoke s"):
        table.add_column(col, justify="left" if col == "stage" else "right")
    table.add_row("idle, first healthy /healthz", "0", f"{r.at_ready_mb:.0f}", "", "", "")
    table.add_row("idle, after the boot settled", "0", f"{r.idle_mb:.0f}", "", "", "")
    table.add_row("before the deploys (after sections 1-3)", "", f"{r.before_mb:.0f}", "", "", "")
    for lang, g in r.languages.items():
        stage = f"+ {g.count} {lang}" + (f" (of {g.wanted}: time budget spent)" if g.count < g.wanted else "")
        table.add_row(stage, str(g.count), f"{g.after_mb:.0f}", f"{g.after_mb - g.before_mb:+.0f}",
                      f"{g.per_function_mb:.2f}", f"{g.seconds:.1f}")
    total = r.after_mb - r.before_mb
    table.add_row("all", str(r.count), f"{r.after_mb:.0f}", f"{total:+.0f}", f"{total / r.count:.2f}", "")
    return table


def summary_lines(spawn: list[SpawnResult], latency: dict[str, dict[int, dict[str, LatencyResult]]],
                  cpu: CpuResult | None, memory: MemoryResult | None) -> list[str]:
    lines: list[str] = []
    for s in spawn:
        lines.append(f"spawn    {s.label:<10} p50 {_us(s.start_us.p50):>9} µs  p99 {_us(s.start_us.p99):>9} µs"
                     f"  (n={s.start_us.n})  {s.verdict()}")
    for client, by_concurrency in latency.items():
        for c, results in by_concurrency.items():
            base = results["bare"].ms
            lines.append(f"latency  {client:<5} c={c:<2} bare    p50 {base.p50:7.2f} ms  p99 {base.p99:7.2f} ms")
            for label, ratio in ratios(results).items():
                ms = results[label].ms
                lines.append(f"latency  {client:<5} c={c:<2} {label:<7} p50 {ms.p50:7.2f} ms  p99 {ms.p99:7.2f} ms"
                             f"  graalvisor/bare p50 {ratio['p50']:.2f}x  p99 {ratio['p99']:.2f}x")
    if cpu is not None:
        lines.append(f"cpu      GraalJS best {cpu.graal.best:.1f} ms median {cpu.graal.median:.1f} ms | Node.js "
                     f"{cpu.node_version} best {cpu.node.best:.1f} ms median {cpu.node.median:.1f} ms | GraalJS/Node "
                     f"{cpu.ratio_best:.2f}x best, {cpu.ratio_median:.2f}x median")
        lines.append(f"runtime  truffle_runtime={cpu.truffle_runtime!r} optimizing={cpu.optimizing} "
                     f"graalvm={cpu.graalvm_version!r}")
    if memory is None:
        return lines
    per_lang = ", ".join(f"{lang} {g.per_function_mb:.2f}" for lang, g in memory.languages.items())
    total = memory.after_mb - memory.before_mb
    lines.append(f"memory   idle {memory.at_ready_mb:.0f} MB at ready, {memory.idle_mb:.0f} MB settled; "
                 f"{memory.before_mb:.0f} -> {memory.after_mb:.0f} MB for {memory.count} functions = "
                 f"{total / memory.count:.2f} MB/function ({per_lang})")
    return lines
