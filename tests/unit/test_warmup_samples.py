"""Warm-up samples: a template's calls take them in turn; answered calls give the last few."""
from pathlib import Path

import pytest

from graalvisor.config import Config
from graalvisor.pool.rolling import CALL_SAMPLES, SAMPLE_MAX_BYTES, RollingImage, _with_sample
from graalvisor.pool.templates import Replay


def test_calls_take_the_samples_in_turn() -> None:
    replay = Replay((b"a", b"b", b"c"), {}, 1000)
    assert [replay.params(call) for call in range(7)] == [b"a", b"b", b"c", b"a", b"b", b"c", b"a"]
    assert {Replay((b"x",), {}, 1000).params(call) for call in range(5)} == {b"x"}


def test_answered_calls_keep_the_newest_distinct_params() -> None:
    samples: tuple[bytes, ...] = ()
    for params in (b"1", b"2", b"1", b"3"):
        samples = _with_sample(samples, params)
    assert samples == (b"2", b"1", b"3")  # a repeat moves to the newest place, never twice
    for i in range(10):
        samples = _with_sample(samples, str(i).encode())
    assert len(samples) == CALL_SAMPLES and samples[-1] == b"9"


def test_a_version_called_into_the_image_is_warmed_with_its_recent_calls(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    rolling = RollingImage(Config(data_dir=tmp_path, compile_after_calls=3), None)  # type: ignore[arg-type]
    asked: list[tuple[str, Replay, bool]] = []
    monkeypatch.setattr(rolling, "request", lambda key, replay, at_deploy=True: asked.append((key, replay, at_deploy)))
    big = b"x" * (SAMPLE_MAX_BYTES + 1)
    for params in (b'{"n":1}', big, b'{"n":2}'):
        rolling.called("k", params, {"E": "1"}, 500)
    assert asked == [("k", Replay((b'{"n":1}', b'{"n":2}'), {"E": "1"}, 500), False)]  # too big to keep: left out
    rolling.called("other", big, {}, 500)
    for _ in range(2):
        rolling.called("other", big, {}, 500)
    assert asked[-1][1].samples == (big,), "the call that crosses the line is replayed whatever its size"
