"""Concurrency slots: a function's own limit, the cap that keeps a Python burst on warm isolates,
and how long a caller waits for one."""

from __future__ import annotations

import asyncio

from graalvisor.protocol import Op, Reply
from graalvisor.scheduler import Invocation, Scheduler, Target


def target(language: str, concurrency: int, name: str = "f") -> Target:
    return Target(key=f"{name}@1", name=name, language=language, timeout_ms=1000, concurrency=concurrency)


def free_slots(scheduler: Scheduler, t: Target) -> int:
    """How many callers get a slot at once, counted by taking them."""
    async def take() -> int:
        _, slot = scheduler._slot(t)
        taken = 0
        while not slot.locked():
            await slot.acquire()
            taken += 1
        return taken

    return asyncio.run(take())


def test_python_is_capped_at_warm_isolates_other_languages_are_not() -> None:
    scheduler = Scheduler(pool=None, queue_timeout_s=1, python_isolates=4)  # type: ignore[arg-type]
    assert free_slots(scheduler, target("python", 64, "p")) == 4
    assert free_slots(scheduler, target("js", 64, "j")) == 64
    assert free_slots(scheduler, target("python", 2, "small")) == 2  # its own limit, when lower


def test_a_new_limit_takes_effect() -> None:
    scheduler = Scheduler(pool=None, queue_timeout_s=1, python_isolates=4)  # type: ignore[arg-type]
    assert free_slots(scheduler, target("js", 3)) == 3
    assert free_slots(scheduler, target("js", 5)) == 5


class SlowPool:
    """One worker whose load or run of a version takes ``load_s`` or ``run_s``."""

    def __init__(self, load_s: float, run_s: float) -> None:
        self.load_s, self.run_s = load_s, run_s

    async def acquire(self, key: str, timeout: float) -> SlowPool:
        return self

    async def ensure_loaded(self, handle: SlowPool, key: str) -> Reply:
        await asyncio.sleep(self.load_s)
        return Reply(ok=True)

    async def request(self, op: Op, **fields: object) -> Reply:
        await asyncio.sleep(self.run_s)
        return Reply.success(b'{"ok": true}')

    def release(self, handle: SlowPool, key: str, answered: bool = True) -> None:
        pass


def two_calls(pool: SlowPool) -> list[Invocation]:
    scheduler = Scheduler(pool=pool, queue_timeout_s=0.05, python_isolates=4)  # type: ignore[arg-type]
    t = target("js", 1)

    async def run() -> list[Invocation]:
        return list(await asyncio.gather(*(scheduler.invoke(t, b"{}") for _ in range(2))))

    return asyncio.run(run())


def test_a_caller_behind_a_cold_start_waits_for_it_past_the_queue_timeout() -> None:
    first, second = two_calls(SlowPool(load_s=0.3, run_s=0))
    assert (first.status, second.status) == ("success", "success"), second.error
    assert second.wait_ms >= 250  # it waited for the first call's load, not just its own timeout


def test_a_caller_behind_a_running_call_gets_a_503_after_the_queue_timeout() -> None:
    first, second = two_calls(SlowPool(load_s=0, run_s=0.3))
    assert first.status == "success"
    assert second.status == "unavailable"
    assert second.error is not None and "raise its concurrency or retry later" in second.error["error"]
