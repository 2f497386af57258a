"""Placement without processes: real WorkerHandles, a supervisor that only keeps the list."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from graalvisor.config import Config
from graalvisor.pool import placement as placement_module
from graalvisor.pool.handle import NoWorker, WorkerHandle
from graalvisor.pool.placement import RAMPED, Placement
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.supervisor import Supervisor
from graalvisor.protocol.messages import Op, Reply


class FakeSupervisor(Supervisor):
    """A real supervisor that starts no processes: start_worker records what was asked for."""

    def __init__(self, config: Config, handles: list[WorkerHandle]) -> None:
        super().__init__(config)
        self.workers = {h.token: h for h in handles}
        self.started: list[tuple[str, Snapshot | None]] = []

    async def start_worker(self, role: str = "member", how: str = "auto",
                           image: Snapshot | None = None) -> WorkerHandle:
        self.started.append((role, image))
        handle = ready_handle(f"extra{len(self.started)}", role)
        self.workers[handle.token] = handle
        self.notify()  # as a hello does
        return handle


def ready_handle(token: str, role: str = "member") -> WorkerHandle:
    handle = WorkerHandle(token, start_kind="boot", role=role)
    handle.ready.set()
    return handle


def loaded(handle: WorkerHandle, key: str, answered: int = RAMPED) -> None:
    """``handle`` holds ``key``, and has answered that many calls of it (by default: past its ramp)."""
    future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
    future.set_result(Reply(ok=True))
    handle.loaded[key] = future
    handle.version_done[key] = answered


def placement(handles: list[WorkerHandle], tmp_path: Path, threads: int = 2, max_workers: int = 2,
              image: Snapshot | None = None) -> tuple[Placement, FakeSupervisor]:
    config = Config(data_dir=tmp_path, workers=len(handles), worker_threads=threads, max_workers=max_workers)
    sup = FakeSupervisor(config, handles)

    async def spec_for(key: str) -> dict[str, Any]:
        return {"key": key}

    return Placement(config, sup, spec_for, lambda key: image), sup


def test_prefers_a_worker_that_holds_the_version(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        loaded(b, "f@1")
        p, _ = placement([a, b], tmp_path)
        assert await p.acquire("f@1", 1) is b
        assert b.inflight == 1
        # b is busier, but a would run f interpreted and compile it again: b while it has a slot
        assert await p.acquire("f@1", 1) is b
        assert await p.acquire("f@1", 1) is a  # b is at its cap of 2

    asyncio.run(main())


def test_a_version_stays_on_its_busy_holder_while_it_has_a_slot(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        loaded(b, "f@1")
        b.inflight = 3
        p, _ = placement([a, b], tmp_path, threads=4)
        assert await p.acquire("f@1", 1) is b
        assert await p.acquire("f@1", 1) is a  # b is full: only now does f spread

    asyncio.run(main())


def test_among_clones_holding_a_version_it_goes_where_it_has_run(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        for clone in (a, b):  # clones of one rolling image: every version loaded, past its ramp
            loaded(clone, "f@1")
            loaded(clone, "g@1")
        p, _ = placement([a, b], tmp_path, threads=4)
        first = await p.acquire("f@1", 1)
        p.release(first, "f@1")
        other = b if first is a else a
        other.inflight = 0
        first.inflight = 2  # busier with other versions: f still goes where its isolate is
        assert await p.acquire("f@1", 1) is first
        # a version that ran nowhere yet goes where the least runs
        assert await p.acquire("g@1", 1) is other

    asyncio.run(main())


def test_a_version_new_to_a_worker_runs_two_calls_at_once_there_until_one_answers(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        p, _ = placement([a, b], tmp_path, threads=8)
        first = await p.acquire("f@1", 1)  # placed; its load has not begun
        assert await p.acquire("f@1", 1) is first
        third = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0.05)
        # neither the holder (ramping) nor the other worker (it would run f interpreted too)
        assert not third.done()
        p.release(first, "f@1")
        assert await third is first
        assert await p.acquire("f@1", 1) is first  # one answered: three at once
        assert first.version_inflight["f@1"] == 3
        fifth = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0.05)
        assert not fifth.done()
        p.release(first, "f@1")
        assert await fifth is first

    asyncio.run(main())


def test_a_deploys_load_is_not_an_answered_call(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path, threads=4)
        assert await p.acquire("f@1", 1) is a
        p.release(a, "f@1", answered=False)  # the deploy-time check loaded it; nothing ran
        assert await p.acquire("f@1", 1) is a
        assert await p.acquire("f@1", 1) is a
        third = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0.05)
        assert not third.done()  # still two at a time
        p.release(a, "f@1")
        assert await third is a

    asyncio.run(main())


def test_a_caller_held_back_by_the_ramp_goes_ahead_after_its_patience(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement_module, "RAMP_PATIENCE_S", 0.1)

    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        loaded(a, "f@1", answered=0)
        p, _ = placement([a, b], tmp_path, threads=4)
        assert await p.acquire("f@1", 1) is a
        assert await p.acquire("f@1", 1) is a
        t0 = asyncio.get_running_loop().time()
        assert await p.acquire("f@1", 5) is a  # no release came: patience ran out
        assert asyncio.get_running_loop().time() - t0 >= 0.09

    asyncio.run(main())


def test_a_new_version_goes_where_fewest_are_loaded(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        loaded(a, "f@1")
        loaded(a, "g@1")
        loaded(b, "f@1")
        p, _ = placement([a, b], tmp_path)
        assert await p.acquire("h@1", 1) is b  # both idle: b compiles fewer versions

    asyncio.run(main())


def test_least_busy_when_nobody_holds_it(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        a.inflight = 1
        p, _ = placement([a, b], tmp_path)
        assert await p.acquire("g@1", 1) is b

    asyncio.run(main())


def test_a_saturated_pool_scales_out_once_with_the_functions_image(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        a.inflight = 2
        image = Snapshot("img", "function", "rt", "f@1", 0.0, 0, 0.0, 0, 0, "/x")
        p, sup = placement([a], tmp_path, max_workers=3, image=image)
        got = await p.acquire("f@1", 2)
        assert got.role == "extra"
        assert sup.started == [("extra", image)]

    asyncio.run(main())


def test_release_wakes_a_waiting_caller(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path, threads=1, max_workers=1)
        first = await p.acquire("f@1", 1)
        waiter = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0.01)
        assert not waiter.done()
        p.release(first, "f@1")
        assert await asyncio.wait_for(waiter, 1) is a
        assert a.inflight == 1

    asyncio.run(main())


def test_no_free_slot_in_time_is_no_worker(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        a.inflight = 1
        p, _ = placement([a], tmp_path, threads=1, max_workers=1)
        with pytest.raises(NoWorker, match="busy"):
            await p.acquire("f@1", 0.05)

    asyncio.run(main())


def test_halted_pool_says_why(tmp_path: Path) -> None:
    async def main() -> None:
        p, sup = placement([ready_handle("a")], tmp_path)
        sup.halted_reason = "workers failed to start 3 times in a row"
        with pytest.raises(NoWorker, match="3 times"):
            await p.acquire("f@1", 1)

    asyncio.run(main())


def test_concurrent_loads_share_one_deploy_and_failures_are_not_cached(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path)
        calls: list[dict[str, Any]] = []
        outcomes = [Reply(ok=False, kind="load", message="SyntaxError"), Reply(ok=True)]

        async def request(op: Any, **fields: Any) -> Reply:
            calls.append(fields)
            await asyncio.sleep(0.01)
            return outcomes[len(calls) - 1]

        a.request = request  # type: ignore[method-assign]
        first = await asyncio.gather(p.ensure_loaded(a, "f@1"), p.ensure_loaded(a, "f@1"))
        assert [r.ok for r in first] == [False, False]
        assert len(calls) == 1 and calls[0]["spec"] == {"key": "f@1"}
        assert "f@1" not in a.loaded  # the next call retries
        assert (await p.ensure_loaded(a, "f@1")).ok
        assert "f@1" in a.loaded and len(calls) == 2

    asyncio.run(main())


def test_forget_unloads_everywhere(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        loaded(a, "f@1")
        loaded(b, "f@1")
        p, _ = placement([a, b], tmp_path)
        sent: list[tuple[str, Any, dict[str, Any]]] = []
        undeployed = asyncio.Event()

        def recorder(token: str) -> Any:
            async def request(op: Any, **f: Any) -> Reply:
                sent.append((token, op, f))
                if op == Op.UNDEPLOY:
                    await undeployed.wait()  # the worker has not answered the unload yet
                return Reply.success()
            return request

        for h in (a, b):
            h.request = recorder(h.token)  # type: ignore[method-assign]
        p.forget(["f@1"])
        assert "f@1" not in a.loaded and "f@1" not in b.loaded
        # A call loads it again on a: its deploy waits for the unload's answer, since the worker
        # runs requests on several threads and could otherwise run the deploy first.
        load = asyncio.ensure_future(p.ensure_loaded(a, "f@1", {"key": "f@1"}))
        await asyncio.sleep(0.05)
        assert [(t, op) for t, op, _ in sent] == [("a", Op.UNDEPLOY), ("b", Op.UNDEPLOY)]
        undeployed.set()
        assert (await load).ok
        assert [(t, op) for t, op, _ in sent][2:] == [("a", Op.DEPLOY)]
        assert sent[0][2] == {"key": "f@1", "shrink": False}

    asyncio.run(main())


def test_a_burst_of_one_version_leaves_slots_to_another(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path, threads=4, max_workers=1)
        burst = [await p.acquire("busy@1", 1) for _ in range(3)]  # alone, it may take any slot
        order: list[str] = []

        async def call(key: str) -> None:
            handle = await p.acquire(key, 5)
            order.append(key)
            await asyncio.sleep(0.01)
            p.release(handle, key)

        # the last slot is free; more of the burst and one call of another version queue for it
        waiters = [asyncio.ensure_future(call("busy@1")) for _ in range(3)]
        await asyncio.sleep(0)
        waiters.append(asyncio.ensure_future(call("rare@1")))
        await asyncio.sleep(0)
        for handle in burst:
            p.release(handle, "busy@1")
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        # busy holds 3 of 4 slots, past its share (2) while rare waits: rare goes no later than second
        assert order.index("rare@1") <= 1, order

    asyncio.run(main())


def test_alone_a_version_may_use_every_slot(tmp_path: Path) -> None:
    async def main() -> None:
        a, b = ready_handle("a"), ready_handle("b")
        p, _ = placement([a, b], tmp_path, threads=2, max_workers=2)
        got = [await p.acquire("only@1", 0.5) for _ in range(4)]
        assert sorted(h.token for h in got) == ["a", "a", "b", "b"]

    asyncio.run(main())


def test_each_release_hands_one_turn_to_the_next_in_line(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path, threads=1, max_workers=1)
        held = await p.acquire("f@1", 1)
        order: list[int] = []

        async def call(n: int) -> None:
            handle = await p.acquire("f@1", 5)
            order.append(n)
            await asyncio.sleep(0)
            p.release(handle, "f@1")

        waiters = []
        for n in range(5):
            waiters.append(asyncio.ensure_future(call(n)))
            await asyncio.sleep(0)  # each in line before the next
        p.release(held, "f@1")
        await asyncio.wait_for(asyncio.gather(*waiters), 5)
        assert order == [0, 1, 2, 3, 4]
        assert a.inflight == 0 and not p._turns  # nothing held, nobody left in line

    asyncio.run(main())


def test_a_turn_given_to_a_caller_that_left_goes_to_the_next(tmp_path: Path) -> None:
    async def main() -> None:
        a = ready_handle("a")
        p, _ = placement([a], tmp_path, threads=1, max_workers=1)
        held = await p.acquire("f@1", 1)
        first = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(p.acquire("f@1", 5))
        await asyncio.sleep(0)
        p.release(held, "f@1")  # the turn goes to `first`...
        first.cancel()  # ...which leaves before it runs: the slot must not stay free with `second` asleep
        handle = await asyncio.wait_for(second, 1)
        assert handle is a and first.cancelled()

    asyncio.run(main())
