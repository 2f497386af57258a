"""Readers and writers for the Azure Functions public traces.

2019 ("Serverless in the Wild", ATC'20), per day NN:
  invocations_per_function_md.anon.dNN.csv   HashOwner,HashApp,HashFunction,Trigger,1..1440
  function_durations_percentiles.anon.dNN.csv HashOwner,HashApp,HashFunction,Average,Count,Minimum,
                                              Maximum,percentile_Average_{0,1,25,50,75,99,100}
  app_memory_percentiles.anon.dNN.csv        HashOwner,HashApp,SampleCount,AverageAllocatedMb,
                                              AverageAllocatedMb_pct{1,5,25,50,75,95,99,100}
2021 (per invocation): app,func,end_timestamp,duration (seconds).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench.stats import percentile

MINUTES = 1440
DURATION_PCTS = (0, 1, 25, 50, 75, 99, 100)
MEMORY_PCTS = (1, 5, 25, 50, 75, 95, 99, 100)


@dataclass
class TraceFunction:
    owner: str
    app: str
    func: str
    trigger: str
    per_minute: list[int]
    avg_ms: float
    duration_pcts: dict[int, float] = field(default_factory=dict)
    memory_mb: float | None = None
    # exact start offsets in seconds (2021 format); None means only per-minute counts are known
    starts: list[float] | None = None

    @property
    def key(self) -> str:
        return f"{self.owner}:{self.app}:{self.func}"

    def count(self, start: int = 0, minutes: int = MINUTES) -> int:
        return sum(self.per_minute[start:start + minutes])


@dataclass
class Trace:
    functions: list[TraceFunction]
    source: str  # what it is, said in every report: "azure2019 d01 (...)", "synthetic ..."
    minutes: int = MINUTES


def _files(directory: Path, day: int) -> tuple[Path, Path, Path]:
    d = f"d{day:02d}"
    return (directory / f"invocations_per_function_md.anon.{d}.csv",
            directory / f"function_durations_percentiles.anon.{d}.csv",
            directory / f"app_memory_percentiles.anon.{d}.csv")


def has_azure2019(directory: Path, day: int) -> bool:
    inv, dur, _ = _files(directory, day)
    return inv.exists() and dur.exists()


def read_azure2019(directory: Path, day: int = 1) -> Trace:
    """Functions of one day that have both invocation counts and durations (an inner join, like In-Vitro)."""
    inv_path, dur_path, mem_path = _files(directory, day)
    durations: dict[tuple[str, str, str], dict[str, str]] = {}
    with dur_path.open(newline="") as f:
        for row in csv.DictReader(f):
            durations[(row["HashOwner"], row["HashApp"], row["HashFunction"])] = row
    memory: dict[tuple[str, str], float] = {}
    if mem_path.exists():
        with mem_path.open(newline="") as f:
            for row in csv.DictReader(f):
                memory[(row["HashOwner"], row["HashApp"])] = float(row["AverageAllocatedMb"])
    functions = []
    with inv_path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        if header[:4] != ["HashOwner", "HashApp", "HashFunction", "Trigger"]:
            raise ValueError(f"{inv_path}: header starts {header[:4]}, expected HashOwner,HashApp,HashFunction,Trigger")
        minutes = len(header) - 4
        for row in reader:
            owner, app, func, trigger = row[:4]
            d = durations.get((owner, app, func))
            if d is None:
                continue
            counts = [int(float(x or 0)) for x in row[4:4 + minutes]]
            pcts = {p: float(d[f"percentile_Average_{p}"]) for p in DURATION_PCTS if f"percentile_Average_{p}" in d}
            functions.append(TraceFunction(owner, app, func, trigger, counts, float(d["Average"]), pcts,
                                           memory.get((owner, app))))
    return Trace(functions, f"azure2019 d{day:02d} ({directory})", minutes)


def write_azure2019(trace: Trace, directory: Path, day: int = 1) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    inv_path, dur_path, mem_path = _files(directory, day)
    with inv_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["HashOwner", "HashApp", "HashFunction", "Trigger", *range(1, trace.minutes + 1)])
        for fn in trace.functions:
            w.writerow([fn.owner, fn.app, fn.func, fn.trigger, *fn.per_minute])
    with dur_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum",
                    *(f"percentile_Average_{p}" for p in DURATION_PCTS)])
        for fn in trace.functions:
            p = fn.duration_pcts or dict.fromkeys(DURATION_PCTS, fn.avg_ms)
            w.writerow([fn.owner, fn.app, fn.func, round(fn.avg_ms), sum(fn.per_minute), round(p[0]), round(p[100]),
                        *(round(p[q]) for q in DURATION_PCTS)])
    apps: dict[tuple[str, str], float] = {}
    for fn in trace.functions:
        if fn.memory_mb is not None:
            apps[(fn.owner, fn.app)] = fn.memory_mb
    with mem_path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb",
                    *(f"AverageAllocatedMb_pct{p}" for p in MEMORY_PCTS)])
        for (owner, app), mb in apps.items():
            spread = (0.85, 0.9, 0.95, 1.0, 1.04, 1.1, 1.15, 1.25)
            w.writerow([owner, app, 1440, round(mb), *(round(mb * s) for s in spread)])


def read_azure2021(path: Path) -> Trace:
    """The per-invocation 2021 trace: start = end_timestamp - duration, both in seconds."""
    starts: dict[tuple[str, str], list[float]] = defaultdict(list)
    durs: dict[tuple[str, str], list[float]] = defaultdict(list)
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = {"app", "func", "end_timestamp", "duration"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: missing columns {sorted(missing)}; expected app,func,end_timestamp,duration")
        for row in reader:
            end, dur = float(row["end_timestamp"]), float(row["duration"])
            key = (row["app"], row["func"])
            starts[key].append(max(0.0, end - dur))
            durs[key].append(dur * 1000)
    t0 = min((min(v) for v in starts.values()), default=0.0)
    horizon = max((max(v) for v in starts.values()), default=0.0) - t0
    minutes = max(1, int(horizon // 60) + 1)
    functions = []
    for key, ss in starts.items():
        rel = sorted(s - t0 for s in ss)
        counts = [0] * minutes
        for s in rel:
            counts[min(minutes - 1, int(s // 60))] += 1
        ds = sorted(durs[key])
        pcts = {p: percentile(ds, p) for p in DURATION_PCTS}
        functions.append(TraceFunction("", key[0], key[1], "unknown", counts, sum(ds) / len(ds), pcts, None, rel))
    return Trace(functions, f"azure2021 ({path})", minutes)
