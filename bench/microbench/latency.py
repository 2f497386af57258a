"""Warm invoke latency through HTTP, measured at the client, beside a bare FastAPI route.

Every target is measured the same way: ``concurrency`` tasks each sending one request at a time
over keep-alive connections, the wall time of each request taken around the await. Two clients:
``httpx`` (one httpx.AsyncClient with a pool of ``concurrency`` connections) and ``raw`` (one
:class:`RawConnection` per task), because httpx's own cost hides most of the servers' difference.
Rounds alternate the targets so a slow spell of this shared machine lands on all of them, not
on whichever ran then.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench.microbench.functions import HELLO_PARAMS, HELLO_RESULT
from bench.microbench.rawhttp import RawConnection
from bench.microbench.stats import Summary, server_timing, summarize

BODY = orjson.dumps(HELLO_PARAMS)
HEADERS = {"content-type": "application/json"}
CLIENTS = ("httpx", "raw")
# Requests each caller sends at least: the raw client's c=16 series of 3,200 were over in 0.3-1 s,
# and the bare route's req/s moved by 1.7x between runs; httpx at a few hundred req/s would take
# minutes at the raw client's count.
MIN_PER_CALLER = {"httpx": 200, "raw": 1000}

Post = Callable[[], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True)
class Target:
    label: str  # "bare", "js", "python", "java"
    url: str
    path: str


@dataclass
class LatencyResult:
    label: str
    concurrency: int
    ms: Summary
    throughput_rps: float

    def to_dict(self) -> dict[str, Any]:
        return {"ms": self.ms.to_dict(3), "throughput_rps": round(self.throughput_rps, 1)}


async def _drive(posts: list[Post], label: str, count: int, samples: list[float] | None) -> None:
    """Sends ``count`` requests, one at a time per ``posts`` entry (one per concurrent task)."""
    tickets = iter(range(count))

    async def loop(post: Post) -> None:
        for _ in tickets:  # shared iterator: the tasks together send exactly `count`
            t0 = time.perf_counter()
            status, body = await post()
            elapsed = (time.perf_counter() - t0) * 1000
            if status != 200 or orjson.loads(body) != HELLO_RESULT:
                raise RuntimeError(f"{label}: {status} {body[:300]!r}")
            if samples is not None:
                samples.append(elapsed)

    await asyncio.gather(*(loop(p) for p in posts))


async def _series(client: str, target: Target, n: int, concurrency: int,
                  warmup: int) -> tuple[list[float], float]:
    """Wall time (ms) of each of ``n`` requests after ``warmup`` unmeasured ones; and the elapsed seconds."""
    samples: list[float] = []

    async def measure(posts: list[Post]) -> float:
        await _drive(posts, target.label, max(warmup, concurrency), None)  # also opens every connection
        t0 = time.perf_counter()
        await _drive(posts, target.label, n, samples)
        return time.perf_counter() - t0

    if client == "httpx":
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(base_url=target.url, limits=limits, timeout=300) as pool:

            async def post() -> tuple[int, bytes]:
                response = await pool.post(target.path, content=BODY, headers=HEADERS)
                return response.status_code, response.content

            elapsed = await measure([post] * concurrency)
    else:
        connections = [RawConnection(target.url) for _ in range(concurrency)]
        try:
            elapsed = await measure([_raw_post(c, target.path) for c in connections])
        finally:
            for c in connections:
                await c.close()
    return samples, elapsed


def _raw_post(connection: RawConnection, path: str) -> Post:
    async def post() -> tuple[int, bytes]:
        return await connection.post(path, BODY)

    return post


def measure_latency(client: str, targets: list[Target], concurrency: int, n: int, warmup: int,
                    rounds: int = 10) -> dict[str, LatencyResult]:
    """Each target's calls in ``rounds`` slices, the targets taking turns: this shared machine's
    speed drifts within a minute (the bare route's p50 moved 0.16-0.21 ms between runs), and with
    two slices each a target measured last met another machine than the bare route first."""
    samples: dict[str, list[float]] = {t.label: [] for t in targets}
    seconds: dict[str, float] = dict.fromkeys(samples, 0.0)
    # With many callers, a few hundred requests are over in tens of ms: mostly ramp-up. Each
    # caller sends at least MIN_PER_CALLER requests, so req/s measures the steady state.
    per_round = max(1, max(n, MIN_PER_CALLER[client] * concurrency) // rounds)
    for r in range(rounds):
        # Alternate the order every round: first, last, first...
        order = targets if r % 2 == 0 else list(reversed(targets))
        for target in order:
            got, elapsed = asyncio.run(
                _series(client, target, per_round, concurrency, warmup if r == 0 else concurrency))
            samples[target.label].extend(got)
            seconds[target.label] += elapsed
    return {label: LatencyResult(label, concurrency, summarize(s), len(s) / seconds[label])
            for label, s in samples.items()}


def warm_path(targets: list[Target], calls: int, concurrency: int = 16) -> float:
    """Drives each target with ``calls`` unmeasured requests, ``concurrency`` at a time (raw
    client): the worker's and the JVM's code for calls arriving together is compiled here, not
    during the first measured series (a worker's C2 and Truffle compiler threads took 44-52 µs of
    CPU a call in such a series). Returns the seconds it took."""
    t0 = time.perf_counter()
    for target in targets:
        asyncio.run(_series("raw", target, calls, concurrency, 0))
    return time.perf_counter() - t0


# Server-Timing's parts of a warm call, in the order a call meets them (see DESIGN.md).
HOPS = ("queue", "load", "start", "run", "jvm", "worker", "ipc")


@dataclass
class HopResult:
    """Median µs of each hop over ``n`` sequential calls (raw client); ``gateway`` is the route's
    own code (its total less the hops), ``http`` what is left of the client's wall time: uvicorn,
    the ASGI stack, the client and the kernel's loopback. ``tail_us``: each hop's mean over the
    calls at or above the p99 of wall time, so the hop that holds the tail shows."""

    label: str
    n: int
    us: dict[str, float]
    wall_us: float
    tail_us: dict[str, float]
    tail_wall_us: float
    tail_n: int

    def to_dict(self) -> dict[str, Any]:
        return {"n": self.n, "median_us": {k: round(v, 1) for k, v in self.us.items()},
                "wall_us": round(self.wall_us, 1),
                "p99_tail": {"n": self.tail_n, "mean_us": {k: round(v, 1) for k, v in self.tail_us.items()},
                             "wall_us": round(self.tail_wall_us, 1)}}


def measure_hops(target: Target, n: int) -> HopResult:
    async def run() -> HopResult:
        connection = RawConnection(target.url)
        calls: list[dict[str, float]] = []
        walls: list[float] = []
        try:
            for i in range(n + 20):  # the first 20 unmeasured
                t0 = time.perf_counter()
                status, headers, body = await connection.exchange(target.path, BODY)
                wall_us = (time.perf_counter() - t0) * 1e6
                if status != 200:
                    raise RuntimeError(f"{target.label}: {status} {body[:300]!r}")
                if i < 20:
                    continue
                timing = server_timing(headers.get("server-timing"))
                hops_us = {hop: timing.get(hop, 0.0) * 1000 for hop in HOPS}
                hops_us["gateway"] = timing.get("gateway", 0.0) * 1000 - sum(hops_us.values())
                hops_us["http"] = wall_us - timing.get("gateway", 0.0) * 1000
                calls.append(hops_us)
                walls.append(wall_us)
        finally:
            await connection.close()
        return summarize_hops(target.label, calls, walls)

    return asyncio.run(run())


def summarize_hops(label: str, calls: list[dict[str, float]], walls: list[float]) -> HopResult:
    hops = list(calls[0])
    p99 = summarize(walls).p99
    tail = [c for c, wall in zip(calls, walls, strict=True) if wall >= p99]
    return HopResult(label, len(calls), {h: statistics.median(c[h] for c in calls) for h in hops},
                     statistics.median(walls), {h: statistics.fmean(c[h] for c in tail) for h in hops},
                     statistics.fmean(w for w in walls if w >= p99), len(tail))


def ratios(results: dict[str, LatencyResult], baseline: str = "bare") -> dict[str, dict[str, float]]:
    base = results[baseline].ms
    return {label: {"p50": r.ms.p50 / base.p50, "p99": r.ms.p99 / base.p99}
            for label, r in results.items() if label != baseline}
