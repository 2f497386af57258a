"""Summaries of a series (percentiles from bench.stats) and the Server-Timing header."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.stats import percentile

_TIMING = re.compile(r"([\w-]+);dur=([0-9.]+)")


@dataclass(frozen=True)
class Summary:
    n: int
    p50: float
    p99: float
    mean: float
    min: float
    max: float

    def to_dict(self, digits: int = 3) -> dict[str, Any]:
        return {k: round(v, digits) if isinstance(v, float) else v for k, v in asdict(self).items()}

    def scaled(self, factor: float) -> Summary:
        return Summary(self.n, self.p50 * factor, self.p99 * factor, self.mean * factor,
                       self.min * factor, self.max * factor)


def summarize(values: Sequence[float]) -> Summary:
    if not values:
        return Summary(0, math.nan, math.nan, math.nan, math.nan, math.nan)
    return Summary(len(values), percentile(values, 50), percentile(values, 99), statistics.fmean(values),
                   min(values), max(values))


def server_timing(header: str | None) -> dict[str, float]:
    """``queue;dur=0.1, start;dur=2.0, run;dur=0.4`` -> {"queue": 0.1, "start": 2.0, "run": 0.4} (ms)."""
    return {name: float(dur) for name, dur in _TIMING.findall(header or "")}
