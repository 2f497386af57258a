"""Concurrency slots: a function's own limit, and the cap that keeps a Python burst on warm isolates."""

from __future__ import annotations

import asyncio

from graalvisor.scheduler import Scheduler, Target


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
