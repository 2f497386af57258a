"""Open-loop replay: every request leaves at its scheduled time whatever happened to earlier ones,
and latency is measured from that intended time, so a stalled platform cannot hide its queue
(coordinated omission; Schroeder et al. NSDI'06, wrk2)."""

from __future__ import annotations

import asyncio
import csv
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import httpx

from bench.replay.sampler import Plan


@dataclass
class Row:
    seq: int
    name: str
    suite: str
    language: str
    n: int
    intended_s: float  # scheduled send time, from the start of the replay
    sent_lag_ms: float  # how late the request actually left (load-generator health)
    latency_ms: float  # completion minus intended send time
    status: int
    start_kind: str
    queue_ms: float
    start_ms: float
    run_ms: float
    expected_ms: float
    trace_avg_ms: float
    error: str


def parse_server_timing(header: str | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in (header or "").split(","):
        name, _, rest = part.strip().partition(";")
        if rest.startswith("dur="):
            try:
                out[name] = float(rest[4:])
            except ValueError:
                continue
    return out


async def _one(client: httpx.AsyncClient, seq: int, plan: Plan, idx: int, intended: float, t0: float,
               timeout: float) -> Row:
    fn = plan.functions[idx]
    sent = time.monotonic()
    status, kind, timing, error = 0, "", {}, ""
    try:
        r = await client.post(f"/invoke/{fn.name}", json={"n": fn.n, "seed": seq % 1000 + 1}, timeout=timeout)
        status, kind = r.status_code, r.headers.get("x-start", "")
        timing = parse_server_timing(r.headers.get("server-timing"))
        if status >= 400:
            error = r.text[:200].replace("\n", " ")
    except httpx.HTTPError as e:
        error = f"{type(e).__name__}: {e}"[:200]
    done = time.monotonic()
    return Row(seq, fn.name, fn.suite, fn.language, fn.n, round(intended, 4), round((sent - t0 - intended) * 1000, 3),
               round((done - t0 - intended) * 1000, 3), status, kind, timing.get("queue", -1.0),
               timing.get("start", -1.0), timing.get("run", -1.0), fn.expected_ms, fn.trace_avg_ms, error)


async def replay(base_url: str, plan: Plan, out: Path, timeout: float = 120.0,
                 progress: Callable[[int], None] | None = None,
                 started: Callable[[float], object] | None = None) -> list[Row]:
    """Send plan.arrivals open-loop against base_url; write one CSV row per invocation to `out`.

    The clock starts once the client is ready (`started(t0)` is told when), so its set-up cost
    never shows as a burst of late sends.
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=256)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, verify=False) as client:
        start = time.monotonic() + 0.05
        if started is not None:
            started(start)
        tasks: list[asyncio.Task[Row]] = []
        for seq, (at, idx) in enumerate(plan.arrivals):
            delay = start + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(_one(client, seq, plan, idx, at, start, timeout))
            if progress is not None:
                task.add_done_callback(lambda _t: progress(1))
            tasks.append(task)
        rows = list(await asyncio.gather(*tasks))
    write_rows(rows, out)
    return rows


def write_rows(rows: list[Row], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(Row)]
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for r in rows:
            w.writerow([getattr(r, k) for k in names])
