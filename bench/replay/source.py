"""Find the trace to replay: the real Azure data where present, else a synthetic day (said loudly)."""

from __future__ import annotations

from pathlib import Path

from bench.replay.azure import Trace, has_azure2019, read_azure2019, read_azure2021
from bench.replay.suite import REPO
from bench.replay.synth import synthesize

FULL_2019 = REPO / "traces" / "azure2019"
SAMPLE_2019 = REPO / "traces" / "sample"


def load_trace(trace_dir: Path | None = None, day: int = 1, trace_2021: Path | None = None,
               synthetic_functions: int = 400, seed: int = 1) -> Trace:
    if trace_2021 is not None:
        return read_azure2021(trace_2021)
    if trace_dir is not None:
        if not has_azure2019(trace_dir, day):
            raise FileNotFoundError(f"{trace_dir}: no invocations/durations files for day {day:02d}")
        return read_azure2019(trace_dir, day)
    if has_azure2019(FULL_2019, day):
        return read_azure2019(FULL_2019, day)
    return synthesize(synthetic_functions, seed)
