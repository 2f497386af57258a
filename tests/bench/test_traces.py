"""Trace readers and the synthetic generator, on small fixtures."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench.replay.azure import Trace, TraceFunction, has_azure2019, read_azure2019, read_azure2021, write_azure2019
from bench.replay.source import SAMPLE_2019
from bench.replay.synth import burr_memory_mb, synthesize
from bench.stats import percentile

INVOCATIONS = "HashOwner,HashApp,HashFunction,Trigger," + ",".join(map(str, range(1, 4))) + "\n" + \
    "o1,a1,f1,http,10,20,30\no2,a2,f2,timer,5,5,5\no3,a3,f3,queue,1,0,0\no4,a4,f4,http,9,9,9\n"
DURATIONS = ("HashOwner,HashApp,HashFunction,Average,Count,Minimum,Maximum,percentile_Average_0,"
             "percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,"
             "percentile_Average_99,percentile_Average_100\n"
             "o1,a1,f1,12,60,1,30,1,1,5,10,15,25,30\no2,a2,f2,7,15,1,20,1,1,3,6,8,18,20\n"
             "o3,a3,f3,1000,1,800,1400,800,800,900,1000,1100,1300,1400\n")
MEMORY = ("HashOwner,HashApp,SampleCount,AverageAllocatedMb,AverageAllocatedMb_pct1,AverageAllocatedMb_pct5,"
          "AverageAllocatedMb_pct25,AverageAllocatedMb_pct50,AverageAllocatedMb_pct75,AverageAllocatedMb_pct95,"
          "AverageAllocatedMb_pct99,AverageAllocatedMb_pct100\no1,a1,10,128,100,110,120,128,130,140,150,160\n")


def write_fixture(d: Path) -> None:
    (d / "invocations_per_function_md.anon.d03.csv").write_text(INVOCATIONS)
    (d / "function_durations_percentiles.anon.d03.csv").write_text(DURATIONS)
    (d / "app_memory_percentiles.anon.d03.csv").write_text(MEMORY)


def test_read_2019_joins_durations_and_memory(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    assert has_azure2019(tmp_path, 3) and not has_azure2019(tmp_path, 4)
    trace = read_azure2019(tmp_path, 3)
    assert trace.minutes == 3
    by = {f.func: f for f in trace.functions}
    assert set(by) == {"f1", "f2", "f3"}  # f4 has no durations: dropped, as In-Vitro does
    assert by["f1"].per_minute == [10, 20, 30] and by["f1"].avg_ms == 12 and by["f1"].memory_mb == 128
    assert by["f2"].trigger == "timer" and by["f2"].memory_mb is None
    assert by["f3"].duration_pcts[99] == 1300
    assert by["f1"].count(1, 2) == 50


def test_read_2019_rejects_wrong_header(tmp_path: Path) -> None:
    write_fixture(tmp_path)
    (tmp_path / "invocations_per_function_md.anon.d03.csv").write_text("a,b,c,d,1\n")
    with pytest.raises(ValueError, match="HashOwner"):
        read_azure2019(tmp_path, 3)


def test_2019_round_trip(tmp_path: Path) -> None:
    fns = [TraceFunction("o", "a", f"f{i}", "http", [i, 0, 2 * i], 10.0 * (i + 1), {}, 64.0) for i in range(4)]
    write_azure2019(Trace(fns, "test", 3), tmp_path, 7)
    back = read_azure2019(tmp_path, 7)
    assert [f.per_minute for f in back.functions] == [f.per_minute for f in fns]
    assert [f.avg_ms for f in back.functions] == [f.avg_ms for f in fns]
    assert all(f.memory_mb == 64.0 for f in back.functions)


def test_read_2021_per_invocation(tmp_path: Path) -> None:
    p = tmp_path / "trace2021.txt"
    p.write_text("app,func,end_timestamp,duration\nA,x,10.5,0.5\nA,x,70.0,1.0\nB,y,130.2,0.2\nA,x,20.0,2.0\n")
    trace = read_azure2021(p)
    by = {f.func: f for f in trace.functions}
    assert by["x"].starts == [0.0, 8.0, 59.0]  # start = end - duration, from the first start
    assert by["x"].per_minute[:2] == [3, 0]
    assert by["y"].per_minute[2] == 1
    assert math.isclose(by["x"].avg_ms, 1166.6666, rel_tol=1e-4)
    # Durations 500, 1000 and 2000 ms, their percentiles interpolated as everywhere in bench/.
    assert by["x"].duration_pcts == pytest.approx({0: 500, 1: 510, 25: 750, 50: 1000, 75: 1500, 99: 1980, 100: 2000})


def test_shipped_sample_is_readable() -> None:
    trace = read_azure2019(SAMPLE_2019, 1)
    assert len(trace.functions) >= 20
    assert all(len(f.per_minute) == 1440 for f in trace.functions)


def test_synthetic_matches_published_shape() -> None:
    trace = synthesize(600, seed=3)
    daily = [sum(f.per_minute) for f in trace.functions]
    at_most_hourly = sum(d <= 24 for d in daily) / len(daily)
    at_most_minutely = sum(d <= 1440 for d in daily) / len(daily)
    assert 0.35 < at_most_hourly < 0.58  # paper: 45 %
    assert 0.72 < at_most_minutely < 0.90  # paper: 81 %
    assert 300 < percentile([f.avg_ms for f in trace.functions], 50) < 1400  # log-normal median exp(-0.38) s = 684 ms
    http = sum(f.trigger == "http" for f in trace.functions) / len(trace.functions)
    assert 0.45 < http < 0.65
    assert trace.source.startswith("synthetic")


def test_burr_memory_median() -> None:
    import random

    rng = random.Random(5)
    # Burr(c=11.652, k=0.221, lambda=107.083) median ~ 140 MB
    assert 120 < percentile([burr_memory_mb(rng) for _ in range(4000)], 50) < 160
