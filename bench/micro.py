"""Micro-benchmarks of graalvisor, through its HTTP API only, against a daemon started for the run.

    .venv/bin/python -m bench.micro [--quick] [--workers 1] [--n 500] [--json out.json]

1. isolate spawn per language   2. warm invoke latency vs a bare FastAPI route (after 20,000
unmeasured calls per target at c=16 and a quiet worker: the path's JIT work is done before)
3. a CPU-bound JS kernel in GraalJS vs Node.js   4. worker RSS idle and per deployed function
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import orjson
from rich.console import Console
from rich.rule import Rule

from bench.microbench import render
from bench.microbench.cpu import CpuResult, measure_cpu
from bench.microbench.daemon import ServerFailed, bare_server, graalvisor, settle
from bench.microbench.functions import LANGUAGES, hello_upload
from bench.microbench.latency import (
    CLIENTS,
    HopResult,
    LatencyResult,
    Target,
    measure_hops,
    measure_latency,
    ratios,
    warm_path,
)
from bench.microbench.memory import MB, MemoryResult, measure_growth, workers_rss_mb
from bench.microbench.spawn import SpawnResult, measure_spawn

CONCURRENCIES = (1, 16)
SECTIONS = ("spawn", "latency", "cpu", "memory")


@dataclass(frozen=True)
class Plan:
    """How much of each measurement a run does. Time caps keep a run bounded on a loaded machine."""

    mode: str
    workers: int
    n: int  # measured calls per spawn series (JS, Java) and per latency series
    spawn_warmup: int
    py_spawn_n: int  # GraalPy spawns without a ready context take a second or more each
    py_spawn_warmup: int
    spawn_s: float  # the most time per language for its spawn series (warm-up included)
    latency_warmup: int
    warm_path_calls: int  # unmeasured calls per target at c=16 before the latency series
    cpu_size: int
    cpu_iterations: int
    cpu_warm_s: float  # the most GraalJS warm-up time before the measured iterations
    functions: int  # per language, for the memory section
    functions_s: float  # the most time per language for those deploys
    boot_settle_s: float  # the most to wait for the daemon's post-boot work (base snapshot, JIT) to end
    settle_s: float  # the same between sections
    sections: frozenset[str]
    daemon_args: tuple[str, ...]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Plan:
        sections = frozenset(s.strip() for s in args.sections.split(",") if s.strip())
        if not sections or not sections <= set(SECTIONS):
            raise SystemExit(f"--sections takes a comma-separated subset of {','.join(SECTIONS)}")
        if args.quick:  # a smoke run: every section, small samples, tight time caps
            n = args.n or 60
            return cls(mode="quick", workers=args.workers, n=n, spawn_warmup=100, py_spawn_n=3,
                       py_spawn_warmup=0, spawn_s=20, latency_warmup=20, warm_path_calls=2_000, cpu_size=800,
                       cpu_iterations=15,
                       cpu_warm_s=20, functions=args.functions or 10, functions_s=15, boot_settle_s=10, settle_s=3,
                       sections=sections, daemon_args=tuple(shlex.split(args.daemon_args)))
        n = args.n or 500
        return cls(mode="default", workers=args.workers, n=n, spawn_warmup=200, py_spawn_n=max(5, n // 25),
                   py_spawn_warmup=3, spawn_s=60, latency_warmup=100, warm_path_calls=20_000, cpu_size=800,
                   cpu_iterations=30,
                   cpu_warm_s=60, functions=args.functions or 100, functions_s=90, boot_settle_s=45, settle_s=10,
                   sections=sections, daemon_args=tuple(shlex.split(args.daemon_args)))


def _sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.micro", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="daemon workers (1 gives the steadiest numbers)")
    parser.add_argument("--n", type=int, default=None, help="measured calls per series (default 500, quick 60)")
    parser.add_argument("--functions", type=int, default=None,
                        help="functions per language for the memory figures (default 100, quick 10)")
    parser.add_argument("--quick", action="store_true", help="smaller samples and tighter time caps: a smoke run")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", action="store_true", help="keep the data dir and the servers' logs")
    parser.add_argument("--daemon-args", default="", help="extra `graalvisor serve` flags, e.g. '--base-warmup-s 30'")
    parser.add_argument("--sections", default=",".join(SECTIONS),
                        help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    args = parser.parse_args(argv)
    plan = Plan.from_args(args)
    console = Console(width=None if sys.stdout.isatty() else 150)  # piped: wide enough for the tables
    signal.signal(signal.SIGTERM, _sigterm)
    work_dir = Path(tempfile.mkdtemp(prefix="graalvisor-bench-"))
    failed = False  # a failed run keeps its data dir: the servers' logs say why
    try:
        figures = run(plan, work_dir, console)
        if args.json:
            args.json.write_bytes(orjson.dumps(figures, option=orjson.OPT_INDENT_2))
            console.print(f"figures written to {args.json}")
        return 0
    except (KeyboardInterrupt, SystemExit) as e:
        console.print("[yellow]interrupted: servers stopped[/]")
        return 130 if isinstance(e, KeyboardInterrupt) else int(e.code or 1)
    except (ServerFailed, RuntimeError, httpx.HTTPError) as e:
        failed = True
        console.print(f"[red]benchmark failed:[/] {type(e).__name__}: {e}")
        return 1
    finally:
        if failed or args.keep:
            console.print(f"logs and data kept in {work_dir}")
        else:
            shutil.rmtree(work_dir, ignore_errors=True)


def run(plan: Plan, work_dir: Path, console: Console) -> dict[str, Any]:
    t_start = time.monotonic()
    machine = {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(), "python": platform.python_version(),
               "node": _node_version(), "mode": plan.mode, "workers": plan.workers}
    laps: dict[str, float] = {}  # seconds per section: where a run's time went

    def lap(name: str) -> None:
        laps[name] = round(time.monotonic() - t_start - sum(laps.values()), 1)

    console.print(Rule(f"graalvisor micro-benchmarks ({plan.mode}, {plan.workers} worker(s), "
                       f"{machine['cpus']} CPUs, load {machine['loadavg_start'][0]:.2f})"))
    with ExitStack() as stack:
        with console.status("starting the daemon (JVM boot)..."):
            gv = stack.enter_context(graalvisor(plan.workers, work_dir, extra_args=plan.daemon_args))
        client = stack.enter_context(httpx.Client(base_url=gv.url, timeout=300))
        runtime = gv.health["runtime"]
        at_ready_mb = sum(w["rss_bytes"] for w in gv.health["workers"]) / MB
        console.print(f"daemon ready in {gv.ready_after_s:.1f} s at {gv.url}: truffle_runtime="
                      f"{runtime.get('truffle_runtime')!r} optimizing={runtime.get('optimizing')} "
                      f"java {runtime.get('java_version')} graalvm {runtime.get('graalvm_version')}")
        if not runtime.get("optimizing"):
            console.print("[red]the worker runs Truffle's fallback (interpreter-only) runtime: "
                          "section 3 measures an interpreter[/]")
        with console.status("waiting for the warm pool (base image made, members restored from it)..."):
            t_warm = time.monotonic()
            warm_health = gv.wait_warm_pool(900)
            warm_s = time.monotonic() - t_warm
        # Measured on the workers that serve once start-up is over, never on booted ones being replaced.
        with console.status(f"waiting for the daemon's post-boot work to settle (≤{plan.boot_settle_s:.0f} s)..."):
            waited = f"warm pool after {warm_s:.1f} s; " + settle(client, plan.boot_settle_s)
        idle_mb = workers_rss_mb(client)
        console.print(f"boot settled after {waited}; worker RSS {at_ready_mb:.0f} MB at ready, {idle_mb:.0f} MB now")
        lap("boot")

        spawn: list[SpawnResult] = []
        if "spawn" in plan.sections:
            for lang in LANGUAGES:
                warmup, n = (plan.py_spawn_warmup, plan.py_spawn_n) if lang == "python" else (plan.spawn_warmup, plan.n)
                with console.status(f"1. spawn: {lang}, {warmup} warm-up + {n} calls..."):
                    spawn.append(measure_spawn(client, lang, warmup, n, plan.spawn_s))
                if lang == "python":  # also at a pace the background maker of spares can follow
                    with console.status(f"1. spawn: {lang}, {n} calls 200 ms apart..."):
                        spawn.append(measure_spawn(client, lang, 0, n, plan.spawn_s, gap_s=0.2))
            console.print(render.spawn_table(spawn))
            _settle(console, client, plan.settle_s)
            lap("spawn")

        latency: dict[str, dict[int, dict[str, LatencyResult]]] = {}
        hops: list[HopResult] = []
        if "latency" in plan.sections:
            with console.status("2. latency: deploying hello, compiling it into the image, starting the bare app..."):
                for lang in LANGUAGES:
                    # Warm-up params: a JS or Python version is compiled into the rolling image only
                    # when deployed with them (or after --compile-after-calls calls; off by default).
                    body = {**hello_upload(lang), "warmup": {"params": {"name": "ada"}}} if lang != "java" \
                        else hello_upload(lang)
                    client.put(f"/functions/hello-{lang}", json=body).raise_for_status()
                compiled = _compile_hellos(client)
                bare = stack.enter_context(bare_server(work_dir))
            console.print(f"hello compiled into the warm image: {compiled}")
            targets = [Target("bare", bare.url, "/invoke/hello"),
                       *(Target(lang, gv.url, f"/invoke/hello-{lang}") for lang in LANGUAGES)]
            # A warm call is measured: the JIT's work on the path of calls arriving together
            # happens here, for every target alike, not during the first measured series.
            with console.status(f"2. latency: warming the call path, {plan.warm_path_calls} calls per target, c=16..."):
                warm_s = warm_path(targets, plan.warm_path_calls)
            console.print(f"call path warmed: {plan.warm_path_calls} calls per target at c=16 in {warm_s:.1f} s")
            _settle(console, client, plan.settle_s)
            for client_kind in CLIENTS:
                latency[client_kind] = {}
                for c in CONCURRENCIES:
                    with console.status(f"2. latency: {client_kind} client, c={c}, {plan.n} requests per target..."):
                        latency[client_kind][c] = measure_latency(client_kind, targets, c, plan.n, plan.latency_warmup)
                console.print(render.latency_table(client_kind, latency[client_kind]))
            with console.status("2b. where the time goes: Server-Timing of sequential calls..."):
                hops = [measure_hops(t, plan.n) for t in targets if t.label != "bare"]
            console.print(render.hops_table(hops))
            _settle(console, client, plan.settle_s)
            lap("latency")

        cpu: CpuResult | None = None
        if "cpu" in plan.sections:
            with console.status(f"3. cpu: warm-up and {plan.cpu_iterations} iterations in GraalJS, then Node.js..."):
                cpu = measure_cpu(client, plan.cpu_size, plan.cpu_iterations, plan.cpu_warm_s)
            console.print(render.cpu_table(cpu))
            _settle(console, client, plan.settle_s)
            lap("cpu")

        memory: MemoryResult | None = None
        if "memory" in plan.sections:
            with console.status(f"4. memory: deploying and invoking {plan.functions} functions per language..."):
                memory = MemoryResult(at_ready_mb, idle_mb, measure_growth(client, plan.functions, plan.functions_s))
            console.print(render.memory_table(memory))
            lap("memory")
        health_after = client.get("/healthz").json()

    machine["loadavg_end"] = os.getloadavg()
    machine["seconds"] = round(time.monotonic() - t_start, 1)
    machine["section_seconds"] = laps
    console.print(Rule("summary"))
    for line in render.summary_lines(spawn, latency, cpu, memory):
        console.print(line, highlight=False, markup=False)
    console.print(f"run      {machine['seconds']:.0f} s ({', '.join(f'{k} {v:.0f} s' for k, v in laps.items())}); "
                  f"load average {machine['loadavg_start'][0]:.2f} at start, {machine['loadavg_end'][0]:.2f} at end; "
                  f"workers replaced (image swaps included): {_restarts(warm_health, health_after)}", highlight=False)
    daemon = {"ready_after_s": round(gv.ready_after_s, 2), "boot_settle": waited, "runtime": runtime,
              "snapshots": health_after.get("snapshots"), "worker_starts": health_after.get("worker_starts")}
    figures = _figures(machine, daemon, spawn, latency, cpu, memory)
    figures["hops"] = {h.label: h.to_dict() for h in hops}
    return figures


def _settle(console: Console, client: httpx.Client, max_s: float) -> None:
    with console.status(f"letting the workers' background JIT work settle (≤{max_s:.0f} s)..."):
        settle(client, max_s)


def _compile_hellos(client: httpx.Client, timeout_s: float = 300) -> str:
    """Calls each hello a few times, then waits for the daemon to compile the JS and Python ones
    into its warm image and swap the workers: the steady state of a warm function, measured
    without a template warming beside it."""
    for lang in LANGUAGES:
        for _ in range(5):
            client.post(f"/invoke/hello-{lang}", json={"name": "ada"}).raise_for_status()
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        compiled = {f["name"]: f["compiled"] for f in client.get("/functions").json()["functions"]}
        if all(compiled.get(f"hello-{lang}") for lang in ("js", "python")):
            health = client.get("/healthz").json()
            warm = (health.get("snapshots") or {}).get("warm")
            members = [w for w in health["workers"] if w["role"] == "member"]
            if warm and all(w["image"] == warm and w["ready"] for w in members):
                return f"yes, members on {warm} after {time.monotonic() - t0:.0f} s"
        time.sleep(1)
    return f"not within {timeout_s:.0f} s (measured anyway)"


def _restarts(before: dict[str, Any], after: dict[str, Any]) -> int:
    """Workers whose pid changed: a crash or a kill during the run would skew everything after it."""
    return len({w["pid"] for w in before["workers"]} - {w["pid"] for w in after["workers"]})


def _node_version() -> str:
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "missing"


def _figures(machine: dict[str, Any], daemon: dict[str, Any], spawn: list[SpawnResult],
             latency: dict[str, dict[int, dict[str, LatencyResult]]], cpu: CpuResult | None,
             memory: MemoryResult | None) -> dict[str, Any]:
    return {
        "machine": machine,
        "daemon": daemon,
        "spawn": {s.label: s.to_dict() for s in spawn},
        "latency": {client: {f"c{c}": {"targets": {label: r.to_dict() for label, r in results.items()},
                                       "ratio_to_bare": {label: {k: round(v, 3) for k, v in rel.items()}
                                                         for label, rel in ratios(results).items()}}
                             for c, results in by_concurrency.items()}
                    for client, by_concurrency in latency.items()},
        "cpu": cpu.to_dict() if cpu is not None else None,
        "memory": memory.to_dict() if memory is not None else None,
    }


if __name__ == "__main__":
    sys.exit(main())
