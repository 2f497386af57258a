"""Concurrency slots: a function's own limit, the cap that keeps a Python burst on warm isolates
(lifted while its calls are short), and how long a caller waits for one."""

from __future__ import annotations

import asyncio

from graalvisor.protocol import Op, Reply
from graalvisor.scheduler import Invocation, Scheduler, Target
from graalvisor.scheduler.slots import Slots


def target(language: str, concurrency: int, name: str = "f") -> Target:
    return Target(key=f"{name}@1", name=name, language=language, timeout_ms=1000, concurrency=concurrency)


def free_slots(scheduler: Scheduler, t: Target) -> int:
    """How many callers get a slot at once, counted by taking them."""
    async def take() -> int:
        slot = scheduler._slot(t)
        taken = 0
        while slot.free():
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
    assert free_slots(scheduler, target("js", 5)) == 2  # the 3 still in flight count against it


def test_a_lowered_limit_admits_no_one_until_the_calls_in_flight_are_under_it() -> None:
    async def run() -> list[str]:
        slots = Slots(3)
        for _ in range(3):
            await slots.acquire()
        slots.set_limit(1)
        seen: list[str] = []

        async def wait(name: str) -> None:
            await slots.acquire()
            seen.append(name)

        waiter = asyncio.create_task(wait("waiter"))
        slots.release()
        slots.release()
        await asyncio.sleep(0)
        seen.append(f"held {slots.held}")  # 1 held, the limit: the waiter still waits
        slots.release()
        await waiter
        slots.set_limit(3)  # a raised limit lets the next ones in at once
        assert slots.free()
        return seen

    assert asyncio.run(run()) == ["held 1", "waiter"]


def test_a_raised_limit_wakes_waiters_and_a_waiter_that_gave_up_gives_its_slot_back() -> None:
    async def run() -> tuple[int, int, bool]:
        slots = Slots(1)
        await slots.acquire()
        waiters = [asyncio.create_task(slots.acquire()) for _ in range(3)]
        await asyncio.sleep(0)
        slots.set_limit(3)  # two of the three get a slot at once
        waiters[0].cancel()  # handed a slot, then cancelled before it ran: the slot goes on
        await asyncio.gather(*waiters, return_exceptions=True)
        return slots.held, len([w for w in waiters if not w.cancelled()]), slots.free()

    held, admitted, free = asyncio.run(run())
    assert (held, admitted, free) == (3, 2, False)


class PacedPool:
    """One worker whose calls report a given start and run time."""

    def __init__(self) -> None:
        self.run_ms = 0.05

    async def acquire(self, key: str, timeout: float) -> PacedPool:
        return self

    async def ensure_loaded(self, handle: PacedPool, key: str) -> Reply:
        return Reply(ok=True)

    async def request(self, op: Op, **fields: object) -> Reply:
        return Reply(ok=True, result=b"{}", run_ns=int(self.run_ms * 1e6), init_ns=10_000)

    def release(self, handle: PacedPool, key: str, answered: bool = True) -> None:
        pass


def test_a_python_function_whose_calls_are_short_gets_its_own_limit_and_loses_it_when_they_are_not() -> None:
    pool = PacedPool()
    scheduler = Scheduler(pool=pool, queue_timeout_s=1, python_isolates=2)  # type: ignore[arg-type]
    v1, v2 = target("python", 16, "p"), Target(key="p@2", name="p", language="python", timeout_ms=1000,
                                               concurrency=16)

    async def serve(t: Target, n: int) -> int:
        for _ in range(n):
            assert (await scheduler.invoke(t, b"{}")).status == "success"
        return scheduler._slot(t).limit

    assert asyncio.run(serve(v1, 7)) == 2  # a few calls say little: the first ones of a version are cold
    assert asyncio.run(serve(v1, 1)) == 16
    pool.run_ms = 2.0
    assert asyncio.run(serve(v1, 10)) == 16  # between the two thresholds: still short
    pool.run_ms = 30.0
    assert asyncio.run(serve(v1, 3)) == 2
    pool.run_ms = 0.05
    assert asyncio.run(serve(v1, 30)) == 16
    assert asyncio.run(serve(v2, 7)) == 2  # a new version starts capped
    assert scheduler._slot(target("js", 16, "j")).limit == 16


class SlowPool:
    """One worker whose load of a version takes ``load_s``, and whose calls take ``runs_s`` in turn."""

    def __init__(self, load_s: float, runs_s: list[float]) -> None:
        self.load_s, self.runs_s = load_s, list(runs_s)

    async def acquire(self, key: str, timeout: float) -> SlowPool:
        return self

    async def ensure_loaded(self, handle: SlowPool, key: str) -> Reply:
        await asyncio.sleep(self.load_s)
        self.load_s = 0
        return Reply(ok=True)

    async def request(self, op: Op, **fields: object) -> Reply:
        await asyncio.sleep(self.runs_s.pop(0))
        return Reply.success(b'{"ok": true}')

    def release(self, handle: SlowPool, key: str, answered: bool = True) -> None:
        pass


def calls(pool: SlowPool, first: int, then: int, key: str = "f@1") -> list[Invocation]:
    """``first`` calls at once, then ``then`` more at once, of a function with one slot."""
    scheduler = Scheduler(pool=pool, queue_timeout_s=0.1, python_isolates=4)  # type: ignore[arg-type]
    t = target("js", 1)

    async def run() -> list[Invocation]:
        done = list(await asyncio.gather(*(scheduler.invoke(t, b"{}") for _ in range(first))))
        return done + list(await asyncio.gather(*(scheduler.invoke(t, b"{}") for _ in range(then))))

    return asyncio.run(run())


def test_a_caller_behind_a_slow_first_load_waits_for_it_past_the_queue_timeout() -> None:
    first, second = calls(SlowPool(load_s=0.4, runs_s=[0, 0]), first=2, then=0)
    assert (first.status, second.status) == ("success", "success"), second.error
    assert second.wait_ms >= 350  # it waited for the first call's load, not just its own timeout


def test_a_caller_behind_a_slow_first_run_waits_for_it_past_the_queue_timeout() -> None:
    first, second = calls(SlowPool(load_s=0, runs_s=[0.4, 0]), first=2, then=0)
    assert (first.status, second.status) == ("success", "success"), second.error


def test_a_caller_behind_a_running_call_of_a_started_version_gets_a_503_after_the_queue_timeout() -> None:
    warm, first, second = calls(SlowPool(load_s=0, runs_s=[0, 0.4, 0]), first=1, then=2)
    assert (warm.status, first.status) == ("success", "success")
    assert second.status == "unavailable"
    assert second.error is not None and "raise its concurrency or retry later" in second.error["error"]
    assert 90 <= second.wait_ms < 350


def test_the_queue_timeout_counts_from_the_first_answer() -> None:
    # The first call answers after 0.3 s; the second holds the slot 0.15 s more. The third caller
    # arrived with them: 0.45 s in all is past its queue timeout from arrival but within it from
    # the first answer.
    first, second, third = calls(SlowPool(load_s=0, runs_s=[0.3, 0.05, 0]), first=3, then=0)
    assert [c.status for c in (first, second, third)] == ["success"] * 3, third.error
