"""`trace_bench --warm-deploys`: graalvisor's JS and Python deploys carry sample warm-up params of
the replay's size; Java's and the baseline's deploys are unchanged."""

from __future__ import annotations

from bench.replay.platforms import WARMUP_SAMPLES, deploy_request
from bench.replay.sampler import PlannedFunction


def planned(language: str) -> PlannedFunction:
    return PlannedFunction(name=f"f1-bfs-{language}", trace_key="k", trigger="http", suite="bfs",
                           language=language, n=1234, trace_avg_ms=10.0, target_ms=10.0, expected_ms=9.0)


def test_graalvisor_js_and_python_deploys_carry_the_replay_size_as_warm_up_params() -> None:
    for language in ("js", "python"):
        body = deploy_request(planned(language), "graalvisor", warm=True)
        samples = body["warmup"]["params"]  # type: ignore[index]
        assert len(samples) == WARMUP_SAMPLES > 1 and all(params["n"] == 1234 for params in samples)
        assert len({params["seed"] for params in samples}) == WARMUP_SAMPLES, "inputs of their own, not one"
        assert body == {**deploy_request(planned(language), "graalvisor", warm=False), "warmup": body["warmup"]}


def test_java_the_baseline_and_plain_deploys_have_no_warm_up() -> None:
    assert "warmup" not in deploy_request(planned("java"), "graalvisor", warm=True)
    assert "warmup" not in deploy_request(planned("js"), "baseline", warm=True)
    assert "warmup" not in deploy_request(planned("js"), "graalvisor", warm=False)
