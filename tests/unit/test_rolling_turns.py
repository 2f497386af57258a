"""Before a rolling image is dumped its versions are called in turn until the compilers stay idle."""
import asyncio
import ctypes
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from graalvisor.config import Config
from graalvisor.pool import rolling
from graalvisor.pool.rolling import TURN_ROUNDS, RollingImage, compiled_between, compiler_cpu
from graalvisor.pool.templates import Replay
from graalvisor.protocol.messages import Op


class FakeTemplate:
    """Answers a template's requests; ``idle_keys`` as the worker's describe gives them."""

    def __init__(self, idle_keys: list[str]) -> None:
        self.pid = 12345
        self.idle_keys = idle_keys
        self.sent: list[tuple[Op, dict[str, Any]]] = []

    async def request(self, op: Op, **fields: Any) -> SimpleNamespace:
        self.sent.append((op, fields))
        data = {"idle_keys": self.idle_keys} if op == Op.DESCRIBE else {}
        return SimpleNamespace(ok=True, data=data)


def rounds_run(template: FakeTemplate) -> list[list[tuple[str, bytes]]]:
    """The calls of each round, split at the wake rehearsal that starts it."""
    rounds: list[list[tuple[str, bytes]]] = []
    for op, fields in template.sent:
        if op == Op.REHEARSE_WAKE:
            rounds.append([])
        elif op == Op.INVOKE:
            rounds[-1].append((fields["key"], fields["params"]))
    return rounds


def image(tmp_path: Path) -> RollingImage:
    r = RollingImage(Config(data_dir=tmp_path), None)  # type: ignore[arg-type]
    r._replays = {"a": Replay((b"a1", b"a2"), {}, 1000), "b": Replay((b"b1",), {}, 1000),
                  "gone": Replay((b"g",), {}, 1000)}
    return r


def test_rounds_call_each_version_with_an_isolate_until_the_compilers_stay_idle(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # compiler threads' CPU read before and after each round: 2 s in round 1, 1 s in round 2
    # (by a thread started in it while another, idle, ended), none in round 3
    readings = iter([{"7": 10.0, "8": 1.0}, {"7": 12.0, "8": 1.0}, {"7": 12.0, "8": 1.0}, {"7": 12.0, "9": 1.0},
                     {"7": 12.0, "9": 1.0}, {"7": 12.0, "9": 1.0}])
    monkeypatch.setattr(rolling, "compiler_cpu", lambda pid: next(readings))
    template = FakeTemplate(idle_keys=["a", "b", "unknown"])  # "gone" has no isolate left
    asyncio.run(image(tmp_path)._settle_in_turn(template, ["a", "b", "gone", "unknown"]))  # type: ignore[arg-type]
    calls = rounds_run(template)
    assert len(calls) == 3, "stops at the first round that leaves the compilers idle"
    # only versions a clone would find an isolate of, whose warm-up params are known; the
    # samples taken in turn from one round to the next
    assert calls == [[("a", b"a2"), ("b", b"b1")], [("a", b"a1"), ("b", b"b1")], [("a", b"a2"), ("b", b"b1")]]
    ops = [op for op, _ in template.sent]
    assert ops[:2] == [Op.DESCRIBE, Op.SETTLE] and ops[-1] == Op.SETTLE


def test_rounds_end_after_the_last_even_if_the_compilers_keep_waking(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter({"7": float(i)} for i in range(100))
    monkeypatch.setattr(rolling, "compiler_cpu", lambda pid: next(clock))  # 1 s of CPU a round
    template = FakeTemplate(idle_keys=["a"])
    asyncio.run(image(tmp_path)._settle_in_turn(template, ["a"]))  # type: ignore[arg-type]
    assert len(rounds_run(template)) == TURN_ROUNDS


def test_compiler_cpu_is_read_from_the_threads_named_as_the_jit_names_them() -> None:
    assert compiler_cpu(None) == {}
    before = compiler_cpu(os.getpid())
    done = threading.Event()

    def compiler() -> None:
        libc = ctypes.CDLL(None)
        libc.prctl(15, b"TruffleCompiler", 0, 0, 0)  # PR_SET_NAME: this thread's comm
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.3:
            pass
        done.wait()  # alive while it is read: a thread that ended is not counted

    thread = threading.Thread(target=compiler)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while compiled_between(before, compiler_cpu(os.getpid())) < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert compiled_between(before, compiler_cpu(os.getpid())) >= 0.25
        assert len(compiler_cpu(os.getpid())) == len(before) + 1, "only the thread named as a compiler"
    finally:
        done.set()
        thread.join()


def test_a_compiler_thread_that_ended_takes_nothing_off_the_others() -> None:
    assert compiled_between({"1": 5.0, "2": 3.0}, {"2": 3.5, "3": 0.25}) == 0.75


def test_no_round_starts_past_the_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter({"7": float(i)} for i in range(100))
    monkeypatch.setattr(rolling, "compiler_cpu", lambda pid: next(clock))  # never idle
    monkeypatch.setattr(rolling, "TURN_BUDGET_S", 0.0)
    template = FakeTemplate(idle_keys=["a", "b"])
    asyncio.run(image(tmp_path)._settle_in_turn(template, ["a", "b"]))  # type: ignore[arg-type]
    assert len(rounds_run(template)) == 1, "the first round always runs, no later one past the budget"
