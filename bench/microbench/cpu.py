"""A CPU-bound JS kernel after JIT warm-up: GraalJS in the daemon (``run;dur``) vs Node.js on this machine."""

from __future__ import annotations

import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from typing import Any

import httpx

from bench.microbench.functions import KERNEL_JS, kernel_upload
from bench.microbench.stats import server_timing

LAST = 10  # the iterations that count: the JIT has had the earlier ones to compile

# Warm-up calls run the kernel at 1/16 of the size (under 2% of the work): while the code still runs
# in Truffle's interpreter a full-size call takes minutes on a loaded 2-core box, and the Graal
# compiler (jargraal: Java bytecode, itself being JIT-compiled) needs tens of seconds to catch up.
WARM_DIVISOR = 16
MIN_WARM = 5
# Warm-up ends once the kernel is compiled: the last 3 calls within 25% of each other and at
# least 4x faster than the first (interpreted) one; or when the time budget is spent.
STABLE = 1.25
SPEEDUP = 4.0
# The interpreter phase must not hit the function's timeout (the default 60 s does, on this machine).
TIMEOUT_MS = 15 * 60_000

# Appended to the kernel: the same calls as the daemon got (warm-up, then measured), JSON in and out
# as the daemon's runner does, each timed.
NODE_HARNESS = """
function timed(size) {
  const params = JSON.stringify({size});
  const t0 = process.hrtime.bigint();
  const out = JSON.stringify(main(JSON.parse(params)));
  return [Number(process.hrtime.bigint() - t0) / 1e6, out];
}
for (let k = 0; k < %(warmup)d; k++) timed(%(warm_size)d);
const times = [];
let sink = "";
for (let k = 0; k < %(iterations)d; k++) {
  const [ms, out] = timed(%(size)d);
  times.push(ms);
  sink = out;
}
console.log(JSON.stringify({times, result: JSON.parse(sink), version: process.version}));
"""


@dataclass
class Series:
    ms: list[float]  # every iteration, in order

    @property
    def best(self) -> float:
        return min(self.ms[-LAST:])

    @property
    def median(self) -> float:
        return statistics.median(self.ms[-LAST:])

    def to_dict(self) -> dict[str, Any]:
        return {"best_ms": round(self.best, 2), "median_ms": round(self.median, 2),
                "first_ms": round(self.ms[0], 2), "all_ms": [round(x, 2) for x in self.ms]}


@dataclass
class CpuResult:
    truffle_runtime: str
    optimizing: bool
    graalvm_version: str
    size: int
    iterations: int
    warmup: Series  # GraalJS warm-up calls at size // WARM_DIVISOR; Node.js made as many
    graal: Series
    node: Series
    node_version: str

    @property
    def ratio_median(self) -> float:
        return self.graal.median / self.node.median

    @property
    def ratio_best(self) -> float:
        return self.graal.best / self.node.best

    def to_dict(self) -> dict[str, Any]:
        return {
            "truffle_runtime": self.truffle_runtime, "optimizing": self.optimizing,
            "graalvm_version": self.graalvm_version, "size": self.size, "iterations": self.iterations,
            "counted": LAST, "warmup_size": self.size // WARM_DIVISOR, "warmup_calls": len(self.warmup.ms),
            "warmup_ms": [round(x, 1) for x in self.warmup.ms],
            "graaljs": self.graal.to_dict(), "node": self.node.to_dict(),
            "node_version": self.node_version, "ratio_median": round(self.ratio_median, 3),
            "ratio_best": round(self.ratio_best, 3),
        }


def _invoke(client: httpx.Client, size: int) -> tuple[float, dict[str, Any]]:
    response = client.post("/invoke/cpu-js", json={"size": size})
    if response.status_code != 200:
        raise RuntimeError(f"cpu-js: {response.status_code} {response.text[:300]}")
    return server_timing(response.headers.get("server-timing"))["run"], response.json()


def run_graaljs(client: httpx.Client, size: int, iterations: int,
                warm_budget_s: float) -> tuple[Series, Series, dict[str, Any]]:
    """Warm-up at a smaller size until stable (or the budget is spent), then ``iterations`` at ``size``."""
    client.put("/functions/cpu-js", json={**kernel_upload(), "timeout_ms": TIMEOUT_MS}).raise_for_status()
    warm: list[float] = []
    t0 = time.monotonic()
    while time.monotonic() - t0 < warm_budget_s:
        warm.append(_invoke(client, size // WARM_DIVISOR)[0])
        last = warm[-3:]
        if len(warm) >= MIN_WARM and max(last) <= STABLE * min(last) and max(last) * SPEEDUP <= warm[0]:
            break
    times: list[float] = []
    result: dict[str, Any] = {}
    for _ in range(iterations):
        ms, result = _invoke(client, size)
        times.append(ms)
    return Series(warm), Series(times), result


def run_node(size: int, warmup: int, iterations: int) -> tuple[Series, dict[str, Any], str]:
    script = KERNEL_JS + NODE_HARNESS % {"size": size, "warm_size": size // WARM_DIVISOR, "warmup": warmup,
                                         "iterations": iterations}
    done = subprocess.run(["node", "-"], input=script, text=True, capture_output=True, timeout=600, check=True)
    out = json.loads(done.stdout)
    return Series(out["times"]), out["result"], out["version"]


def measure_cpu(client: httpx.Client, size: int, iterations: int, warm_budget_s: float) -> CpuResult:
    runtime = client.get("/healthz").json()["runtime"]
    warm, graal, graal_result = run_graaljs(client, size, iterations, warm_budget_s)
    node, node_result, node_version = run_node(size, len(warm.ms), iterations)
    if graal_result != node_result:  # same code, same input: a different answer means a broken comparison
        raise RuntimeError(f"GraalJS and Node.js disagree: {graal_result} vs {node_result}")
    return CpuResult(runtime.get("truffle_runtime", "?"), bool(runtime.get("optimizing")),
                     runtime.get("graalvm_version", "?"), size, iterations, warm, graal, node, node_version)
