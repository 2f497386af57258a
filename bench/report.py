"""`python -m bench.report RUN_DIR`: a markdown summary and PNG plots of a trace-replay run
(and of a closed-loop capacity run, where RUN_DIR/capacity.csv exists)."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path
from typing import Any

from bench.floor import floor_section, p99_floor
from bench.stats import percentile

GB = 1024**3
# Issue 11's targets at 200 and 400 functions (Graalvisor reported -68 % p99 and -83 % memory);
# below 200 functions only the p99 has one: no worse than the baseline's.
TARGETS = {"footprint": 0.5, "p99": 0.32}
SMALL_TARGETS = {"footprint": math.inf, "p99": 1.0}
SCALE_FROM = 200

PAPER_TPUT_PER_GB = {"java": 170.0, "js": 26.6, "python": 2.07}
COLORS = {"graalvisor": "tab:blue", "baseline": "tab:orange"}


def targets(functions: int) -> dict[str, float]:
    """The ratios (graalvisor / baseline) a plan of that many functions is held to."""
    return TARGETS if functions >= SCALE_FROM else SMALL_TARGETS


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def platform_stats(pdir: Path) -> dict[str, Any]:
    rows = read_csv(pdir / "invocations.csv")
    mem = read_csv(pdir / "memory.csv") if (pdir / "memory.csv").exists() else []
    summary = json.loads((pdir / "summary.json").read_text()) if (pdir / "summary.json").exists() else {}
    lat = [float(r["latency_ms"]) for r in rows]
    ok = [r for r in rows if r["status"] == "200"]
    wall = float(summary.get("wall_s") or max((float(r["intended_s"]) + float(r["latency_ms"]) / 1000
                                              for r in rows), default=1.0))
    pss = [int(m["pss_bytes"]) for m in mem]
    mean_gb = sum(pss) / len(pss) / GB if pss else math.nan
    kinds: dict[str, int] = {}
    for r in rows:
        k = r["start_kind"] or "error"
        kinds[k] = kinds.get(k, 0) + 1
    slow = [float(r["latency_ms"]) / float(r["expected_ms"]) for r in ok if float(r["expected_ms"]) > 0]
    run_slow = [float(r["run_ms"]) / float(r["expected_ms"]) for r in ok
                if float(r["expected_ms"]) > 0 and float(r["run_ms"]) >= 0]
    tput = len(ok) / wall if wall > 0 else math.nan
    by_lang: dict[str, dict[str, float]] = {}
    for lang in ("js", "python", "java"):
        lr = [float(r["latency_ms"]) for r in rows if r["language"] == lang]
        by_lang[lang] = {"n": len(lr), "p50": percentile(lr, 50), "p99": percentile(lr, 99)}
    return {
        "invocations": len(rows), "ok": len(ok), "errors": len(rows) - len(ok), "wall_s": wall,
        "p50": percentile(lat, 50), "p99": percentile(lat, 99), "p999": percentile(lat, 99.9),
        "throughput": tput, "mean_pss_gb": mean_gb, "max_pss_gb": max(pss) / GB if pss else math.nan,
        "idle_pss_gb": summary.get("idle_pss_bytes", 0) / GB, "tput_per_gb": tput / mean_gb if pss else math.nan,
        "starts": kinds, "slowdown_p50": percentile(slow, 50), "slowdown_p99": percentile(slow, 99),
        "run_slowdown_p50": percentile(run_slow, 50), "by_lang": by_lang,
        "max_sent_lag_ms": summary.get("max_sent_lag_ms"), "rows": rows, "mem": mem,
    }


def _fmt(x: float, digits: int = 1) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def plots(run_dir: Path, stats: dict[str, dict[str, Any]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, s in stats.items():
        lat = sorted(float(r["latency_ms"]) for r in s["rows"])
        if lat:
            ax.plot(lat, [(i + 1) / len(lat) for i in range(len(lat))], label=kind, color=COLORS.get(kind))
    ax.set_xscale("log")
    ax.set_xlabel("latency from intended send time (ms, log)")
    ax.set_ylabel("fraction of invocations")
    ax.set_title("Latency CDF")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "latency_cdf.png", dpi=120)
    made.append("latency_cdf.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for kind, s in stats.items():
        ax.plot([float(m["t_s"]) for m in s["mem"]], [int(m["pss_bytes"]) / GB for m in s["mem"]],
                label=kind, color=COLORS.get(kind))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("PSS of all platform processes (GiB)")
    ax.set_title("Memory footprint over time")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(run_dir / "memory.png", dpi=120)
    made.append("memory.png")

    fig, axes = plt.subplots(1, len(stats), figsize=(6 * len(stats), 4.5), sharey=True, squeeze=False)
    for ax, (kind, s) in zip(axes[0], stats.items(), strict=True):
        per_kind: dict[str, list[float]] = {}
        for r in sorted(s["rows"], key=lambda r: float(r["intended_s"])):
            if r["start_kind"] not in ("", "warm"):
                per_kind.setdefault(r["start_kind"], []).append(float(r["intended_s"]))
        for k, ts in sorted(per_kind.items()):
            ax.step(ts, range(1, len(ts) + 1), where="post", label=k)
        ax.set_title(f"{kind}: cold starts (cumulative)")
        ax.set_xlabel("time (s)")
        ax.grid(alpha=0.3)
        if per_kind:
            ax.legend()
    axes[0][0].set_ylabel("starts that were not warm")
    fig.tight_layout()
    fig.savefig(run_dir / "cold_starts.png", dpi=120)
    made.append("cold_starts.png")
    return made


def capacity_section(run_dir: Path) -> list[str]:
    path = run_dir / "capacity.csv"
    if not path.exists():
        return []
    rows = read_csv(path)
    best: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        key = (r["platform"], r["language"])
        if key not in best or float(r["rps_per_gb"]) > float(best[key]["rps_per_gb"]):
            best[key] = r
    out = ["## Closed-loop capacity (locust)", "",
           "Best throughput per GB over the concurrency steps, per language.", "",
           "| language | graalvisor req/s/GB | baseline req/s/GB | ratio | paper's ratio |", "|---|---|---|---|---|"]
    for lang in ("java", "js", "python"):
        g, b = best.get(("graalvisor", lang)), best.get(("baseline", lang))
        gv = float(g["rps_per_gb"]) if g else math.nan
        bv = float(b["rps_per_gb"]) if b else math.nan
        ratio = gv / bv if g and b and bv > 0 else math.nan
        out.append(f"| {lang} | {_fmt(gv)} | {_fmt(bv)} | {_fmt(ratio, 2)}x | {PAPER_TPUT_PER_GB[lang]}x |")
    out += ["", "| platform | language | users | req/s | p50 ms | p99 ms | mean PSS GiB | req/s/GB | failures |",
            "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['platform']} | {r['language']} | {r['users']} | {_fmt(float(r['rps']))} | {r['p50_ms']} | "
                   f"{r['p99_ms']} | {_fmt(float(r['mean_pss_gb']), 3)} | {_fmt(float(r['rps_per_gb']))} | "
                   f"{r['failures']} |")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
        for ax, lang in zip(axes, ("java", "js", "python"), strict=True):
            for plat in ("graalvisor", "baseline"):
                pts = [(int(r["users"]), float(r["rps_per_gb"])) for r in rows
                       if r["platform"] == plat and r["language"] == lang]
                if pts:
                    ax.plot(*zip(*sorted(pts), strict=True), marker="o", label=plat, color=COLORS[plat])
            ax.set_title(f"{lang}: throughput per GB")
            ax.set_xlabel("concurrent users")
            ax.set_ylabel("req/s per GB of PSS")
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        fig.savefig(run_dir / "capacity.png", dpi=120)
        out += ["", "![capacity](capacity.png)"]
    except ImportError:
        out += ["", "(matplotlib missing: `pip install matplotlib` for the capacity plot)"]
    return [*out, ""]


def write_report(run_dir: Path) -> Path:
    plan = json.loads((run_dir / "plan.json").read_text()) if (run_dir / "plan.json").exists() else {}
    stats = {k: platform_stats(run_dir / k) for k in ("graalvisor", "baseline")
             if (run_dir / k / "invocations.csv").exists()}
    lines = [f"# Trace replay: {run_dir.name}", ""]
    if plan:
        synthetic = str(plan.get("source", "")).startswith("synthetic")
        lines += [f"- trace: **{plan.get('source')}**" + (" — NOT the real Azure data" if synthetic else ""),
                  f"- window: minute {plan.get('start_minute')} for {plan.get('minutes')} min"
                  + (f", cut to {plan['seconds']} s" if plan.get("seconds") else ""),
                  f"- {plan.get('functions')} functions sampled In-Vitro style (Wasserstein {plan.get('wasserstein')}),"
                  f" {plan.get('invocations')} invocations, thinning {plan.get('thinning')} to fit one machine"
                  f" (max {plan.get('max_rps')} req/s mean), durations clipped to {plan.get('max_ms')} ms",
                  f"- languages: {plan.get('languages')}; graalvisor workers: {plan.get('workers')}"]
        summary = run_dir / "graalvisor" / "summary.json"
        if plan.get("warm_deploys") and summary.exists():
            s = json.loads(summary.read_text())
            lines.append(f"- graalvisor: JS and Python functions deployed with warm-up params; "
                         f"{s.get('compiled_before_replay')} compiled into the rolling image before the replay, "
                         f"in {s.get('compile_s', 0):.0f} s after the deploys")
        lines.append("")
    if stats:
        lines += ["| metric | " + " | ".join(stats) + " |", "|---|" + "---|" * len(stats)]
        rows: list[tuple[str, str, int]] = [
            ("invocations (ok / total)", "", 0), ("p50 latency (ms)", "p50", 1), ("p99 latency (ms)", "p99", 1),
            ("p99.9 latency (ms)", "p999", 1), ("throughput (ok req/s)", "throughput", 2),
            ("mean PSS (GiB)", "mean_pss_gb", 3), ("max PSS (GiB)", "max_pss_gb", 3),
            ("idle PSS before deploy (GiB)", "idle_pss_gb", 3), ("throughput per GB (req/s/GiB)", "tput_per_gb", 2),
            ("slowdown p50 (latency / expected)", "slowdown_p50", 2),
            ("slowdown p99 (latency / expected)", "slowdown_p99", 2),
            ("run-time slowdown p50 (run / expected)", "run_slowdown_p50", 2),
            ("max send lag (ms)", "max_sent_lag_ms", 1)]
        for label, key, digits in rows:
            if not key:
                cells = [f"{s['ok']} / {s['invocations']}" for s in stats.values()]
            else:
                cells = [_fmt(s[key], digits) if s[key] is not None else "n/a" for s in stats.values()]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines.append("| starts by kind | " + " | ".join(
            ", ".join(f"{k}: {v}" for k, v in sorted(s["starts"].items())) for s in stats.values()) + " |")
        for lang in ("js", "python", "java"):
            cells = [f"{_fmt(s['by_lang'][lang]['p50'])} / {_fmt(s['by_lang'][lang]['p99'])}" for s in stats.values()]
            lines.append(f"| {lang} p50 / p99 (ms) | " + " | ".join(cells) + " |")
        lines.append("")
        if "graalvisor" in stats and "baseline" in stats:
            g, b = stats["graalvisor"], stats["baseline"]
            fp = g["mean_pss_gb"] / b["mean_pss_gb"]
            p99 = g["p99"] / b["p99"]
            goal = targets(int(plan.get("functions") or 0))
            fp_goal = (f"<= {goal['footprint']} | {'yes' if fp <= goal['footprint'] else 'no'}"
                       if math.isfinite(goal["footprint"]) else f"none below {SCALE_FROM} functions | —")
            lines += ["## Against the targets", "",
                      "| ratio graalvisor / baseline | measured | target | met |", "|---|---|---|---|",
                      f"| memory footprint (mean PSS) | {fp:.3f} | {fp_goal} |",
                      f"| p99 latency | {p99:.3f} | <= {goal['p99']} | {'yes' if p99 <= goal['p99'] else 'no'} |",
                      f"| throughput per GB | {g['tput_per_gb'] / b['tput_per_gb']:.2f}x | — | — |", ""]
            lines += floor_section(p99_floor(g["rows"], b["rows"], goal["p99"]), goal["p99"])
            if g["errors"] or b["errors"]:
                lines += [f"Errors: graalvisor {g['errors']}, baseline {b['errors']} (their latency counts "
                          "in the percentiles, at the time the error came back).", ""]
        lines += [f"![{p}]({p})" for p in plots(run_dir, stats)] + [""]
    lines += capacity_section(run_dir)
    lines += ["Latency is measured from each request's intended send time (open loop). PSS sums every "
              "process of a platform (gateway, workers or instances), sampled every 0.5 s. "
              "`expected` is the cost model's duration on the language's stock runtime (bench/replay/costs.json).", ""]
    out = run_dir / "report.md"
    out.write_text("\n".join(lines))
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    p.add_argument("run_dir", type=Path)
    a = p.parse_args()
    from bench import scale

    if scale.sizes(a.run_dir):  # a sweep: a report per size, and the curve
        for _, size_dir in scale.sizes(a.run_dir):
            print(write_report(size_dir))
        print(scale.write_scale(a.run_dir))
    else:
        print(write_report(a.run_dir))


if __name__ == "__main__":
    main()
