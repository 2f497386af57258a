"""Warm invoke latency through HTTP, measured at the client, beside a bare FastAPI route.

Every target is measured the same way: one httpx.AsyncClient with a pool of ``concurrency``
keep-alive connections, ``concurrency`` tasks each sending one request at a time, the wall time
of each request taken around the await. Rounds alternate the targets so a slow spell of this
shared machine lands on all of them, not on whichever ran then.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from bench.microbench.functions import HELLO_PARAMS, HELLO_RESULT
from bench.microbench.stats import Summary, summarize

BODY = orjson.dumps(HELLO_PARAMS)
HEADERS = {"content-type": "application/json"}


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


async def _series(target: Target, n: int, concurrency: int, warmup: int) -> tuple[list[float], float]:
    """Wall time (ms) of each of ``n`` requests after ``warmup`` unmeasured ones; and the elapsed seconds."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=target.url, limits=limits, timeout=300) as client:

        async def run(count: int, samples: list[float] | None) -> None:
            tickets = iter(range(count))

            async def loop() -> None:
                for _ in tickets:  # shared iterator: the tasks together send exactly `count`
                    t0 = time.perf_counter()
                    response = await client.post(target.path, content=BODY, headers=HEADERS)
                    elapsed = (time.perf_counter() - t0) * 1000
                    if response.status_code != 200 or orjson.loads(response.content) != HELLO_RESULT:
                        raise RuntimeError(f"{target.label}: {response.status_code} {response.text[:300]}")
                    if samples is not None:
                        samples.append(elapsed)

            await asyncio.gather(*(loop() for _ in range(concurrency)))

        await run(max(warmup, concurrency), None)  # also opens every connection of the pool
        samples: list[float] = []
        t0 = time.perf_counter()
        await run(n, samples)
        return samples, time.perf_counter() - t0


def measure_latency(targets: list[Target], concurrency: int, n: int, warmup: int,
                    rounds: int = 2) -> dict[str, LatencyResult]:
    samples: dict[str, list[float]] = {t.label: [] for t in targets}
    seconds: dict[str, float] = dict.fromkeys(samples, 0.0)
    per_round = max(1, n // rounds)
    for r in range(rounds):
        # Alternate the order every round: first, last, first...
        order = targets if r % 2 == 0 else list(reversed(targets))
        for target in order:
            got, elapsed = asyncio.run(_series(target, per_round, concurrency, warmup if r == 0 else concurrency))
            samples[target.label].extend(got)
            seconds[target.label] += elapsed
    return {label: LatencyResult(label, concurrency, summarize(s), len(s) / seconds[label])
            for label, s in samples.items()}


def ratios(results: dict[str, LatencyResult], baseline: str = "bare") -> dict[str, dict[str, float]]:
    base = results[baseline].ms
    return {label: {"p50": r.ms.p50 / base.p50, "p99": r.ms.p99 / base.p99}
            for label, r in results.items() if label != baseline}


__all__ = ["LatencyResult", "Target", "measure_latency", "ratios"]
