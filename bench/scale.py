"""`python -m bench.scale RUN_DIR`: the scale curve of a trace replay run at several sizes
(`python -m bench.trace_bench --functions 40,200,400`, one RUN_DIR/f<N>/ per size): p99 latency
and mean PSS of both platforms against the number of functions, their ratios, and where
graalvisor crosses the baseline (written to RUN_DIR/scale.md and scale.png)."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

from bench.report import COLORS, TARGETS, _fmt, platform_stats

METRICS = (("p99", "p99 latency (ms)", "p99"), ("mean_pss_gb", "mean PSS (GiB)", "footprint"))


def sizes(run_dir: Path) -> list[tuple[int, Path]]:
    """The sizes a sweep ran, smallest first: RUN_DIR/f<N>/ holding a plan.json."""
    out = []
    for d in run_dir.glob("f*"):
        if d.is_dir() and d.name[1:].isdigit() and (d / "plan.json").exists():
            out.append((int(d.name[1:]), d))
    return sorted(out)


def crossover(points: list[tuple[int, float]]) -> float | None:
    """The function count where a ratio (graalvisor / baseline) first falls to 1 or below,
    interpolated in log(count) between the two sizes around it; the first size if it starts there."""
    for i, (n, r) in enumerate(points):
        if math.isnan(r):
            continue
        if r <= 1.0:
            if i == 0:
                return float(n)
            n0, r0 = points[i - 1]
            if math.isnan(r0):
                return float(n)
            f = (r0 - 1.0) / (r0 - r)
            return math.exp(math.log(n0) + f * (math.log(n) - math.log(n0)))
    return None


def write_scale(run_dir: Path) -> Path:
    runs = sizes(run_dir)
    table: list[dict[str, Any]] = []
    for n, d in runs:
        plan = json.loads((d / "plan.json").read_text())
        stats = {k: platform_stats(d / k) for k in ("graalvisor", "baseline") if (d / k / "invocations.csv").exists()}
        table.append({"n": n, "plan": plan, "stats": stats})
    source = table[0]["plan"].get("source", "?") if table else "?"
    lines = [f"# Scale curve: {run_dir.name}", "",
             f"- trace: **{source}**" + (" — NOT the real Azure data" if str(source).startswith("synthetic") else ""),
             "- each size samples its functions from the trace and thins the load to the same mean rate; "
             "both platforms run under the same memory budget", ""]
    head = ["functions (called)", "invocations", "ok g / b", "p99 g (ms)", "p99 b (ms)", "p99 ratio",
            "mean PSS g (GiB)", "mean PSS b (GiB)", "PSS ratio", "evictions g / b"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ratios: dict[str, list[tuple[int, float]]] = {m: [] for m, _, _ in METRICS}
    for row in table:
        g, b = row["stats"].get("graalvisor"), row["stats"].get("baseline")
        if g is None or b is None:
            continue
        called = len({r["name"] for r in g["rows"]})
        for m, _, _ in METRICS:
            ratios[m].append((row["n"], g[m] / b[m] if b[m] else math.nan))
        ev = [_evictions(row_dir) for row_dir in (run_dir / f"f{row['n']}" / "graalvisor",
                                                  run_dir / f"f{row['n']}" / "baseline")]
        lines.append(f"| {row['n']} ({called}) | {g['invocations']} | {g['ok']} / {b['ok']} | {_fmt(g['p99'])} | "
                     f"{_fmt(b['p99'])} | {ratios['p99'][-1][1]:.2f} | {_fmt(g['mean_pss_gb'], 3)} | "
                     f"{_fmt(b['mean_pss_gb'], 3)} | {ratios['mean_pss_gb'][-1][1]:.2f} | {ev[0]} / {ev[1]} |")
    lines += [""]
    for m, label, target in METRICS:
        x = crossover(ratios[m])
        last = ratios[m][-1] if ratios[m] else None
        where = (f"graalvisor is at or below the baseline from about {x:.0f} functions" if x is not None
                 else f"no crossover up to {last[0]} functions (ratio {last[1]:.2f} there)" if last
                 else "no sizes measured")
        lines.append(f"- {label}: {where}; target ratio at 200 and 400 functions <= {TARGETS[target]}")
    lines += ["", "![scale.png](scale.png)", ""]
    _plot(run_dir, table)
    out = run_dir / "scale.md"
    out.write_text("\n".join(lines))
    return out


def _evictions(pdir: Path) -> str:
    """Evictions the platform reported at the end of its replay."""
    path = pdir / "summary.json"
    if not path.exists():
        return "n/a"
    memory = (json.loads(path.read_text()).get("health_at_end") or {}).get("memory") or {}
    if "evicted_versions" in memory:
        return f"{memory.get('evicted_workers', 0)}w+{memory['evicted_versions']}v"
    return str(memory.get("evicted", "n/a"))


def _plot(run_dir: Path, table: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (m, label, _) in zip(axes, METRICS, strict=True):
        for kind in ("graalvisor", "baseline"):
            pts = [(row["n"], row["stats"][kind][m]) for row in table if kind in row["stats"]]
            if pts:
                ax.plot(*zip(*pts, strict=True), marker="o", label=kind, color=COLORS[kind])
        ax.set_xlabel("functions in the trace")
        ax.set_ylabel(label)
        ax.set_title(f"{label} against functions")
        if m == "p99":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "scale.png", dpi=120)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("run_dir", type=Path)
    a = p.parse_args()
    out = write_scale(a.run_dir)
    print(out.read_text())


if __name__ == "__main__":
    main()
