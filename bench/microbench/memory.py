"""Worker memory: RSS from /healthz idle, then after deploying and invoking many distinct functions.

RSS of a JVM grows with the heap it commits and seldom shrinks, so per-function figures are the
growth spread over the functions, not what one function would free if it were removed.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.microbench.functions import HELLO_PARAMS, HELLO_RESULT, LANGUAGES, hello_upload

MB = 1024 * 1024


def workers_rss_mb(client: httpx.Client) -> float:
    """Summed over the workers: with several, functions spread over them."""
    return sum(w["rss_bytes"] for w in client.get("/healthz").json()["workers"]) / MB


@dataclass
class LanguageGrowth:
    count: int  # deployed and invoked
    before_mb: float
    after_mb: float
    seconds: float
    wanted: int  # more than count when the time budget ran out first

    @property
    def per_function_mb(self) -> float:
        return (self.after_mb - self.before_mb) / max(1, self.count)

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "wanted": self.wanted, "before_mb": round(self.before_mb, 1),
                "after_mb": round(self.after_mb, 1), "delta_mb": round(self.after_mb - self.before_mb, 1),
                "per_function_mb": round(self.per_function_mb, 3), "deploy_seconds": round(self.seconds, 1)}


@dataclass
class MemoryResult:
    at_ready_mb: float  # the first /healthz that answered 200
    idle_mb: float  # after the boot's background work (GraalPy blanks, JIT) settled or the wait ran out
    languages: dict[str, LanguageGrowth] = field(default_factory=dict)

    @property
    def before_mb(self) -> float:
        return next(iter(self.languages.values())).before_mb

    @property
    def after_mb(self) -> float:
        return list(self.languages.values())[-1].after_mb

    @property
    def count(self) -> int:
        return sum(g.count for g in self.languages.values())

    def to_dict(self) -> dict[str, Any]:
        return {"at_ready_mb": round(self.at_ready_mb, 1), "idle_mb": round(self.idle_mb, 1),
                "before_mb": round(self.before_mb, 1), "after_mb": round(self.after_mb, 1),
                "functions": self.count,
                "per_function_mb": round((self.after_mb - self.before_mb) / self.count, 3),
                "languages": {lang: g.to_dict() for lang, g in self.languages.items()}}


async def _deploy_and_invoke(url: str, language: str, count: int, parallel: int, budget_s: float) -> int:
    """Deploys and invokes ``hello-{language}-{i}`` for i < count, stopping early once ``budget_s`` is
    spent (a GraalPy deploy creates a context: seconds each on a loaded machine). Returns how many."""
    deadline = time.monotonic() + budget_s
    done = 0
    async with httpx.AsyncClient(base_url=url, timeout=300) as client:
        gate = asyncio.Semaphore(parallel)

        async def one(i: int) -> None:
            nonlocal done
            name = f"hello-{language}-{i}"
            async with gate:
                if time.monotonic() > deadline:
                    return
                put = await client.put(f"/functions/{name}", json=hello_upload(language, variant=i))
                if put.status_code not in (200, 201):
                    raise RuntimeError(f"deploy {name}: {put.status_code} {put.text[:300]}")
                response = await client.post(f"/invoke/{name}", json=HELLO_PARAMS)
                if response.status_code != 200 or response.json() != HELLO_RESULT:
                    raise RuntimeError(f"invoke {name}: {response.status_code} {response.text[:300]}")
                done += 1

        await asyncio.gather(*(one(i) for i in range(count)))
    return done


def measure_growth(client: httpx.Client, count: int, budget_s: float, parallel: int = 4) -> dict[str, LanguageGrowth]:
    growth: dict[str, LanguageGrowth] = {}
    for language in LANGUAGES:
        before = workers_rss_mb(client)
        t0 = time.perf_counter()
        done = asyncio.run(_deploy_and_invoke(str(client.base_url), language, count, parallel, budget_s))
        growth[language] = LanguageGrowth(done, before, workers_rss_mb(client), time.perf_counter() - t0, count)
    return growth
