"""Cold starts: time to first result of a never-invoked function on a fresh worker, booted
versus restored from a CRIU image, and where a restore's time goes.

    python -m bench.coldstart [--runs 20] [--snapshot-dir /dev/shm/gv-images] [--json out.json]

It talks to the daemon over HTTP only. ``POST /invoke/{fn}?worker=boot|snapshot`` starts a new
worker for that one call; the time is measured at the client, from send to result. Between
runs the benchmark waits for the previous fresh worker to be reaped, so clones do not pile up
and steal the cores the next run is measured on.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from bench.microbench.daemon import graalvisor
from bench.microbench.functions import HELLO_PARAMS, HELLO_RESULT, LANGUAGES, hello_upload
from bench.microbench.stats import Summary, server_timing, summarize

console = Console()


def daemon_args(snapshot_dir: Path | None, lazy_pages: bool) -> list[str]:
    """One member worker; fresh workers are extras, reaped a second after their call."""
    args = ["--max-workers", "64", "--keep-alive-s", "1"]
    if snapshot_dir is not None:
        args += ["--snapshot-dir", str(snapshot_dir)]
    if lazy_pages:
        args.append("--lazy-pages")
    return args


def wait_base_image(client: httpx.Client, timeout_s: float = 600) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        health = client.get("/healthz").json()
        if not health["criu"]["available"]:
            raise SystemExit(f"CRIU is not available: {health['criu']['message']}")
        if health["snapshots"]["base"]:
            return dict(health)
        time.sleep(0.5)
    raise SystemExit("the daemon made no base image in time")


def wait_no_extras(client: httpx.Client, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(w["role"] == "extra" for w in client.get("/healthz").json()["workers"]):
            return
        time.sleep(0.2)


def cold_call(client: httpx.Client, fn: str, how: str) -> dict[str, float]:
    """One first call on a fresh worker; returns the client-side total and the worker's figures."""
    before = {w["token"] for w in client.get("/healthz").json()["workers"]}
    t0 = time.perf_counter()
    r = client.post(f"/invoke/{fn}", params={"worker": how}, json=HELLO_PARAMS)
    total_ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200 or r.json() != HELLO_RESULT or r.headers.get("x-start") != how:
        raise SystemExit(f"{fn} {how}: {r.status_code} {r.headers.get('x-start')} {r.text}")
    timing = server_timing(r.headers.get("server-timing"))
    new = [w for w in client.get("/healthz").json()["workers"] if w["token"] not in before]
    worker = new[0] if new else {}
    return {
        "total_ms": total_ms,
        "worker_ready_ms": (worker.get("ready_after_s") or 0) * 1000,
        "criu_restore_ms": (worker.get("restore_s") or 0) * 1000,
        "run_ms": timing.get("run", 0.0),
        "start_ms": timing.get("start", 0.0),
    }


def series(client: httpx.Client, fn: str, how: str, runs: int, label: str) -> dict[str, Summary]:
    rows = []
    for i in range(runs):
        wait_no_extras(client)
        rows.append(cold_call(client, fn, how))
        console.print(f"  {label} {fn} run {i + 1}/{runs}: {rows[-1]['total_ms']:.1f} ms", end="\r")
    console.print(" " * 80, end="\r")
    return {k: summarize([r[k] for r in rows]) for k in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="cold starts per kind and language (default 20)")
    parser.add_argument("--boot-runs", type=int, help="boots per language (default: --runs); boots take seconds")
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--snapshot-dir", type=Path, help="put images here (a tmpfs such as /dev/shm/...)")
    parser.add_argument("--lazy-pages", action="store_true", help="restore with userfaultfd (criu lazy-pages)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    languages = args.languages.split(",")
    boot_runs = args.boot_runs if args.boot_runs is not None else args.runs
    results: dict[str, Any] = {"runs": args.runs, "boot_runs": boot_runs, "languages": {}}

    with tempfile.TemporaryDirectory(prefix="graalvisor-coldstart-") as tmp, \
            graalvisor(1, Path(tmp), extra_args=daemon_args(args.snapshot_dir, args.lazy_pages)) as server, \
            httpx.Client(base_url=server.url, timeout=600) as client:
        health = wait_base_image(client)
        console.print(f"[bold]graalvisor cold starts[/] — {health['criu']['version']}, images in "
                      f"{args.snapshot_dir or 'the data dir'}, {'lazy' if args.lazy_pages else 'eager'} restore, "
                      f"truffle runtime {health['runtime']['truffle_runtime']}")
        results["restore"] = "lazy" if args.lazy_pages else "eager"
        for language in languages:
            fn = f"cold-{language}"
            r = client.put(f"/functions/{fn}", json=hello_upload(language))
            r.raise_for_status()
            entry: dict[str, Any] = {}
            # 1. The base image: engine and languages warm, the function not yet loaded.
            entry["restore_base"] = series(client, fn, "snapshot", args.runs, "restore(base)")
            # 2. A function image: the function loaded and warmed before the dump.
            snap = client.post(f"/functions/{fn}/snapshot", json={"params": HELLO_PARAMS, "warmup": 20})
            snap.raise_for_status()
            entry["image_mb"] = snap.json()["size_bytes"] / 1e6
            entry["dump_s"] = snap.json()["dump_s"]
            entry["restore_function"] = series(client, fn, "snapshot", args.runs, "restore(function)")
            # 3. Booting a JVM from nothing.
            entry["boot"] = series(client, fn, "boot", boot_runs, "boot")
            results["languages"][language] = entry
        base = next(s for s in client.get("/snapshots").json()["snapshots"] if s["kind"] == "base")
        results["base_image_mb"] = base["size_bytes"] / 1e6
        results["base_dump_s"] = base["dump_s"]

    render(results)
    if args.json:
        args.json.write_text(json.dumps(results, default=lambda s: s.to_dict(), indent=2))


def render(results: dict[str, Any]) -> None:
    table = Table(title="time to first result on a fresh worker (client-side, ms)")
    for col in ("language", "kind", "n", "p50", "p99", "criu restore p50", "worker ready p50", "run p50",
                "boot / restore (p50)"):
        table.add_column(col, justify="right")
    for language, e in results["languages"].items():
        boot = e["boot"]["total_ms"].p50
        for kind in ("restore_function", "restore_base", "boot"):
            s = e[kind]
            ratio = f"{boot / s['total_ms'].p50:.1f}x" if kind != "boot" else ""
            table.add_row(language, kind, str(s["total_ms"].n), f"{s['total_ms'].p50:.1f}", f"{s['total_ms'].p99:.1f}",
                          f"{s['criu_restore_ms'].p50:.1f}" if kind != "boot" else "-",
                          f"{s['worker_ready_ms'].p50:.1f}", f"{s['run_ms'].p50:.2f}", ratio)
    console.print(table)
    images = ", ".join(f"{lang} function image {e['image_mb']:.1f} MB" for lang, e in results["languages"].items())
    console.print(f"base image {results['base_image_mb']:.1f} MB (dumped in {results['base_dump_s']:.2f} s); {images}")
    console.print("targets: restore-to-first-result p50 <= 50 ms (aim <= 20 ms) and >= 20x faster than boot")


if __name__ == "__main__":
    main()
