"""First call of a never-seen function: graalvisor against a fresh stock process, in one run.

    python -m bench.coldcall [--languages js,python,java] [--functions bfs,html] [--target-ms 30]
                             [--base-warmup-s 120] [--ahead [--warmup-samples 4]] [--burst 4]
                             [--json out.json] [--log graalvisor.log]

For each suite function and language, on a settled daemon (its base image made, every member a
clone of it, its CPU quiet): deploy the function under a name and source it has never seen, then
time its first call at the client; call it until the 10th and time that too. The stock side
starts a fresh node / python3 / java process running the same code (the baseline's instance
hosts) and times spawn-to-first-result, then its own 10th call. Ratios are graalvisor / stock:
under 1 is graalvisor faster. The input size makes the stock runtime's warm run take about
``--target-ms`` (bench/replay/costs.json). Automatic function images are off.

Two modes. By default versions are not compiled ahead (``--no-warm-versions``): the first call
shows how warm the shared runtime is. With ``--ahead`` each function is deployed with warm-up
params (``--warmup-samples`` inputs of the call's size, seeds 1, 2, ...), and the first call, with
a seed the warm-up never saw, waits until the version is in the rolling image and the member
restarted from it: what a function deployed a few seconds before its first call gets.

With ``--burst N`` the first call is N callers at once, and each side's figure is the slowest of
them: the stock side starts N processes at once, as one-process-per-instance platforms do.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.baseline.instances import Instance, command
from bench.microbench.daemon import cpu_quiet
from bench.microbench.stats import server_timing
from bench.replay.costs import load_costs, size_for
from bench.replay.platforms import WARMUP_SAMPLES, warmup_samples
from bench.replay.suite import BY_NAME, LANGUAGES, SUITE, SuiteFunction, build_suite_jar, deploy_body, source_path
from bench.stats import percentile
from graalvisor.launcher import Daemon, running_daemon, worker_pids

console = Console(width=160)
LATER_CALL = 10
UNSEEN_SEED = 1000


@dataclass
class Row:
    function: str
    language: str
    n: int
    gv_first_ms: float
    stock_first_ms: float
    gv_later_ms: float
    stock_later_ms: float
    start: str  # graalvisor's X-Start of the first call
    # Where graalvisor's first call went (its Server-Timing, ms): the version's code loaded into
    # an isolate, the isolate made or taken, and the guest's own run.
    first_timing: dict[str, float] = field(default_factory=dict)

    def first_split(self) -> str:
        return "/".join(f"{self.first_timing.get(part, 0.0):.0f}" for part in ("load", "start", "run"))

    @property
    def first_ratio(self) -> float:
        return self.gv_first_ms / self.stock_first_ms

    @property
    def later_ratio(self) -> float:
        return self.gv_later_ms / self.stock_later_ms


def settle(daemon: Daemon, max_s: float = 60) -> None:
    cpu_quiet(worker_pids(daemon.healthz()), time.monotonic() + max_s)


def timed_call(client: httpx.Client, name: str, params: dict[str, Any]) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    response = client.post(f"/invoke/{name}", json=params)
    ms = (time.perf_counter() - t0) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{name}: {response.status_code} {response.text[:300]}")
    return ms, response


def wait_compiled(daemon: Daemon, client: httpx.Client, name: str, timeout_s: float = 300) -> None:
    """Until the version is in the rolling image and every member restored from that image."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = daemon.healthz()
        warm = health["snapshots"].get("warm")
        members = [w for w in health["workers"] if w["role"] == "member"]
        if (client.get(f"/functions/{name}").json().get("compiled") and members
                and all(w["image"] == warm and w["ready"] for w in members)):
            return
        time.sleep(0.3)
    raise SystemExit(f"{name} was not compiled into the rolling image within {timeout_s:.0f} s")


def first_calls(daemon: Daemon, name: str, params: dict[str, Any], burst: int) -> tuple[float, httpx.Response]:
    """The slowest of ``burst`` first calls made at once, each on its own connection."""
    def one(_: int) -> tuple[float, httpx.Response]:
        with daemon.client(timeout=300) as client:
            return timed_call(client, name, params)

    with ThreadPoolExecutor(burst) as pool:
        return max(pool.map(one, range(burst)), key=lambda r: r[0])


def graalvisor_side(daemon: Daemon, fn: SuiteFunction, language: str, params: dict[str, Any],
                    ahead: bool, burst: int = 1,
                    samples: int = WARMUP_SAMPLES) -> tuple[float, float, str, dict[str, float]]:
    name = f"cc-{fn.name}-{language}-{uuid.uuid4().hex[:8]}"
    body = deploy_body(fn, language, name)
    if ahead and language != "java":
        body["warmup"] = {"params": warmup_samples(params["n"], samples)}
    with daemon.client(timeout=300) as client:
        deployed = client.put(f"/functions/{name}", json=body)
        if deployed.status_code != 201:
            raise SystemExit(f"deploy of {name}: {deployed.status_code} {deployed.text[:300]}")
        if ahead and language != "java":
            wait_compiled(daemon, client, name)
        settle(daemon, 10)  # what the deploy's load set off is not the call's to pay
        first_ms, response = first_calls(daemon, name, params, burst)
        later_ms = first_ms
        for _ in range(LATER_CALL - 1):
            later_ms, _ = timed_call(client, name, params)
        client.delete(f"/functions/{name}")
    timing = server_timing(response.headers.get("server-timing"))
    return first_ms, later_ms, response.headers.get("x-start", "?"), timing


async def stock_first(fn: SuiteFunction, language: str, params: dict[str, Any]) -> tuple[float, Instance]:
    """A fresh process, spawn to first result."""
    entry = fn.java_class if language == "java" else "main"
    t0 = time.perf_counter()
    inst = await Instance.start(fn.name, command(language, source_path(fn, language), entry))
    reply = await inst.invoke(params)
    if "error" in reply:
        await inst.stop()
        raise SystemExit(f"stock {language} {fn.name}: {reply['error']}")
    return (time.perf_counter() - t0) * 1000, inst


async def stock_side(fn: SuiteFunction, language: str, params: dict[str, Any], burst: int = 1) -> tuple[float, float]:
    started = await asyncio.gather(*(stock_first(fn, language, params) for _ in range(burst)))
    for _, other in started[1:]:
        await other.stop()
    first_ms = max(ms for ms, _ in started)  # the slowest start counts; later calls go to one instance
    inst = started[0][1]
    try:
        later_ms = first_ms
        for _ in range(LATER_CALL - 1):
            t1 = time.perf_counter()
            await inst.invoke(params)
            later_ms = (time.perf_counter() - t1) * 1000
    finally:
        await inst.stop()
    return first_ms, later_ms


def render(rows: list[Row], startup_s: float, ahead: bool, burst: int = 1, samples: int = 0) -> dict[str, Any]:
    what = f"slowest of {burst} first calls at once" if burst > 1 else "first call"
    how = f" compiled ahead ({samples} warm-up samples)" if ahead else ""
    table = Table(title=f"{what} of a never-seen function{how} "
                        f"(platform start-up incl. base image: {startup_s:.1f} s)")
    for col in ("function", "lang", "n", "start", "gv 1st load/start/run", "gv 1st ms", "stock 1st ms", "1st ratio",
                f"gv {LATER_CALL}th ms", f"stock {LATER_CALL}th ms", f"{LATER_CALL}th ratio"):
        table.add_column(col, justify="left" if col in ("function", "lang", "start") else "right")
    for r in rows:
        table.add_row(r.function, r.language, str(r.n), r.start, r.first_split(), f"{r.gv_first_ms:.1f}",
                      f"{r.stock_first_ms:.1f}", f"{r.first_ratio:.2f}", f"{r.gv_later_ms:.2f}",
                      f"{r.stock_later_ms:.2f}", f"{r.later_ratio:.2f}")
    console.print(table)
    summary: dict[str, Any] = {"startup_s": round(startup_s, 1), "ahead": ahead, "burst": burst,
                               "warmup_samples": samples if ahead else 0, "languages": {}}
    for language in sorted({r.language for r in rows}):
        lr = [r for r in rows if r.language == language]
        first = [r.first_ratio for r in lr]
        later = [r.later_ratio for r in lr]
        summary["languages"][language] = {
            "first_ratio_p50": round(percentile(first, 50), 2), "first_ratio_max": round(max(first), 2),
            "later_ratio_p50": round(percentile(later, 50), 2), "later_ratio_max": round(max(later), 2)}
        s = summary["languages"][language]
        console.print(f"{language:>6}: first call {s['first_ratio_p50']}x stock at p50 "
                      f"(worst {s['first_ratio_max']}x); "
                      f"{LATER_CALL}th call {s['later_ratio_p50']}x stock's at p50 (worst {s['later_ratio_max']}x)")
    return summary


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--languages", default=",".join(LANGUAGES))
    p.add_argument("--functions", default=",".join(f.name for f in SUITE))
    p.add_argument("--target-ms", type=float, default=30.0, help="stock warm run time the input size aims at")
    p.add_argument("--base-warmup-s", type=float, default=None, help="the daemon's base warm-up budget")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--ahead", action="store_true", help="deploy with warm-up params; call once compiled in")
    p.add_argument("--warmup-samples", type=int, default=WARMUP_SAMPLES, help="with --ahead: inputs the warm-up takes")
    p.add_argument("--burst", type=int, default=1, help="first calls made at once (the slowest counts)")
    p.add_argument("--json", type=Path)
    p.add_argument("--log", type=Path, help="write the daemon's log here, appended (the templates' warm-ups are in it)")
    a = p.parse_args()
    build_suite_jar()
    costs = load_costs()
    extra = ["--snapshot-after", "0", "--warm-versions" if a.ahead else "--no-warm-versions"]
    if a.base_warmup_s is not None:
        extra += ["--base-warmup-s", str(a.base_warmup_s)]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gv-coldcall-") as tmp:
        t0 = time.monotonic()
        with running_daemon(Path(tmp) / "data", a.workers, extra, log_path=a.log or Path(tmp) / "graalvisor.log",
                            timeout_s=300) as daemon:
            health = daemon.wait_warm_pool(900)
            startup_s = time.monotonic() - t0
            if health["snapshots"].get("booting_because"):
                console.print(f"[yellow]no snapshots: {health['snapshots']['booting_because']}")
            console.print(f"daemon up, base image made and members restored from it in {startup_s:.1f} s")
            settle(daemon)
            for language in a.languages.split(","):
                for name in a.functions.split(","):
                    fn = BY_NAME[name]
                    n = size_for(fn, language, a.target_ms, costs) or fn.default_n
                    params = {"n": n, "seed": UNSEEN_SEED}  # not one of the warm-up's samples
                    gv_first, gv_later, start, timing = graalvisor_side(daemon, fn, language, params, a.ahead,
                                                                        a.burst, a.warmup_samples)
                    stock_first, stock_later = asyncio.run(stock_side(fn, language, params, a.burst))
                    rows.append(Row(fn.name, language, n, gv_first, stock_first, gv_later, stock_later, start, timing))
                    console.print(f"  {language} {fn.name}: graalvisor {gv_first:.1f} ms, stock {stock_first:.1f} ms")
    summary = render(rows, startup_s, a.ahead, a.burst, a.warmup_samples)
    if a.json:
        a.json.write_text(json.dumps({"summary": summary, "rows": [asdict(r) for r in rows]}, indent=2))


if __name__ == "__main__":
    main()
