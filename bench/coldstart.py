"""Cold starts: time to first result of a never-invoked function on a fresh worker, booted
versus restored from a CRIU image, and where a restore's time goes.

    python -m bench.coldstart [--runs 20] [--images mapped,copied] [--snapshot-dir /dev/shm/gv] [--json out.json]

It talks to the daemon over HTTP only. ``POST /invoke/{fn}?worker=boot|snapshot`` starts a new
worker for that one call; the time is measured at the client, from send to result. Between
runs the benchmark waits for the previous fresh worker to be reaped, so clones do not pile up
and steal the cores the next run is measured on.
"""

from __future__ import annotations

import argparse
import json
import math
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

console = Console(width=150)


def daemon_args(snapshot_dir: Path | None, lazy_pages: bool, copy_images: bool = False) -> list[str]:
    """One member worker; fresh workers are extras, reaped a second after their call."""
    args = ["--max-workers", "64", "--keep-alive-s", "1"]
    if snapshot_dir is not None:
        args += ["--snapshot-dir", str(snapshot_dir)]
    if lazy_pages:
        args.append("--lazy-pages")
    if copy_images:
        args.append("--copy-images")
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
    """One first call on a fresh worker; returns the client-side total, where it went, and what
    the new worker costs in memory of its own once it has answered."""
    before = {w["token"] for w in client.get("/healthz").json()["workers"]}
    t0 = time.perf_counter()
    r = client.post(f"/invoke/{fn}", params={"worker": how}, json=HELLO_PARAMS)
    total_ms = (time.perf_counter() - t0) * 1000
    if r.status_code != 200 or r.json() != HELLO_RESULT or r.headers.get("x-start") != how:
        raise SystemExit(f"{fn} {how}: {r.status_code} {r.headers.get('x-start')} {r.text}")
    timing = server_timing(r.headers.get("server-timing"))
    new = [w for w in client.get("/healthz").json()["workers"] if w["token"] not in before]
    worker = new[0] if new else {}
    ready_ms = (worker.get("ready_after_s") or 0) * 1000
    criu_ms = (worker.get("restore_s") or 0) * 1000
    accounted = sum(timing.get(part, 0.0) for part in ("queue", "start", "load", "run"))
    return {
        "total_ms": total_ms,
        "criu_restore_ms": criu_ms,
        # From criu's exit to the worker's hello: the clone running again, reconnecting (0 when
        # the hello came first: the clone reads its identity the moment criu resumes it).
        "wake_ms": max(ready_ms - criu_ms, 0.0) if criu_ms else ready_ms,
        "load_ms": timing.get("load", 0.0),
        "run_ms": timing.get("run", 0.0),
        # The gateway's own work and HTTP, outside every figure above.
        "rest_ms": max(total_ms - accounted, 0.0),
        "private_mb": _private_mb(worker.get("pid")),
    }


def _private_mb(pid: int | None) -> float:
    """Anonymous memory: what no other worker can share. The pages of a mapped image that a
    clone only read stay in the page cache, one copy for every clone of that image."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Anonymous:")) / 1024
    except (OSError, StopIteration, TypeError):
        return math.nan


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
    parser.add_argument("--images", default="mapped,copied",
                        help="how restores get an image's memory: mapped (the default daemon), copied "
                             "(--copy-images, CRIU's own way, the baseline), or both in one run")
    parser.add_argument("--snapshot-dir", type=Path, help="put images here (a tmpfs such as /dev/shm/...)")
    parser.add_argument("--lazy-pages", action="store_true", help="restore with userfaultfd (criu lazy-pages)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    languages = args.languages.split(",")
    boot_runs = args.boot_runs if args.boot_runs is not None else args.runs
    results: dict[str, Any] = {"runs": args.runs, "boot_runs": boot_runs, "restore": "lazy" if args.lazy_pages
                               else "eager", "images": {}, "boot": {}}
    for mode in args.images.split(","):
        results["images"][mode] = measure(args, mode, languages, boot_runs if not results["boot"] else 0,
                                          results["boot"])
    render(results)
    if args.json:
        args.json.write_text(json.dumps(results, default=lambda s: s.to_dict(), indent=2))


def measure(args: argparse.Namespace, mode: str, languages: list[str], boot_runs: int,
            boots: dict[str, Any]) -> dict[str, Any]:
    """Cold starts on one daemon whose images are ``mode`` (mapped or copied); boots too, once."""
    out: dict[str, Any] = {"languages": {}}
    daemon = daemon_args(args.snapshot_dir, args.lazy_pages, copy_images=mode == "copied")
    with tempfile.TemporaryDirectory(prefix="graalvisor-coldstart-") as tmp, \
            graalvisor(1, Path(tmp), extra_args=daemon) as server, \
            httpx.Client(base_url=server.url, timeout=600) as client:
        health = wait_base_image(client)
        if health["snapshots"]["memory"] != mode:
            raise SystemExit(f"asked for {mode} images, the daemon has {health['snapshots']['memory']} ones: "
                             f"{health['snapshots']['copied_because']}")
        console.print(f"[bold]{mode} images[/] — {health['criu']['version']}, images in "
                      f"{args.snapshot_dir or 'the data dir'}, {'lazy' if args.lazy_pages else 'eager'} restore, "
                      f"truffle runtime {health['runtime']['truffle_runtime']}")
        for language in languages:
            fn = f"cold-{language}"
            client.put(f"/functions/{fn}", json=hello_upload(language)).raise_for_status()
            entry: dict[str, Any] = {}
            # 1. The base image: engine and languages warm, the function not yet loaded.
            entry["restore_base"] = series(client, fn, "snapshot", args.runs, f"{mode} restore(base)")
            # 2. A function image: the function loaded and warmed before the dump.
            snap = client.post(f"/functions/{fn}/snapshot", json={"params": HELLO_PARAMS})  # the default warm-up
            snap.raise_for_status()
            entry["image"] = _image(snap.json())
            entry["restore_function"] = series(client, fn, "snapshot", args.runs, f"{mode} restore(function)")
            # 3. Booting a JVM from nothing: the same whatever the images are, so measured once.
            if boot_runs:
                boots[language] = series(client, fn, "boot", boot_runs, "boot")
            out["languages"][language] = entry
        base = next(s for s in client.get("/snapshots").json()["snapshots"] if s["kind"] == "base")
        out["base_image"] = _image(base)
    return out


def _image(snap: dict[str, Any]) -> dict[str, float]:
    return {"mb": snap["size_bytes"] / 1e6, "mapped_mb": snap["mapped_bytes"] / 1e6,
            "copied_mb": snap["copied_bytes"] / 1e6, "dump_s": snap["dump_s"]}


def render(results: dict[str, Any]) -> None:
    table = Table(title="time to first result on a fresh worker (client side, ms; parts are p50s)")
    for col in ("language", "start", "n", "p50", "p99", "criu", "wake", "load", "run", "rest",
                "private MB", "boot / this"):
        table.add_column(col, justify="right")
    languages = next(iter(results["images"].values()))["languages"] if results["images"] else {}
    for language in languages:
        boot = results["boot"].get(language)
        rows = [(f"{mode} {kind[8:]}", m["languages"][language][kind])
                for mode, m in results["images"].items() for kind in ("restore_function", "restore_base")]
        if boot:
            rows.append(("boot", boot))
        for label, s in rows:
            ratio = f"{boot['total_ms'].p50 / s['total_ms'].p50:.1f}x" if boot and label != "boot" else ""
            table.add_row(language, label, str(s["total_ms"].n), f"{s['total_ms'].p50:.1f}",
                          f"{s['total_ms'].p99:.1f}", f"{s['criu_restore_ms'].p50:.1f}" if label != "boot" else "-",
                          f"{s['wake_ms'].p50:.1f}", f"{s['load_ms'].p50:.1f}", f"{s['run_ms'].p50:.1f}",
                          f"{s['rest_ms'].p50:.1f}", f"{s['private_mb'].p50:.0f}", ratio)
    console.print(table)
    console.print("criu: the restore itself; wake: criu's exit to the worker's hello; load: the function into "
                  "the worker; run: inside the isolate; rest: gateway and HTTP; private MB: the new worker's "
                  "anonymous memory after its first answer (pages it only read from a mapped image are shared)")
    for mode, m in results["images"].items():
        b = m["base_image"]
        images = ", ".join(f"{lang} {e['image']['mb']:.0f} MB ({e['image']['mapped_mb']:.0f} mapped, "
                           f"{e['image']['copied_mb']:.0f} copied)" for lang, e in m["languages"].items())
        console.print(f"{mode}: base image {b['mb']:.0f} MB ({b['mapped_mb']:.0f} mapped, {b['copied_mb']:.0f} "
                      f"copied at restore, dumped in {b['dump_s']:.2f} s); function images: {images}")
    console.print("targets: restore-to-first-result p50 <= 50 ms (aim <= 20 ms) and >= 20x faster than boot")


if __name__ == "__main__":
    main()
