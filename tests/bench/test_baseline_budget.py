"""The baseline's memory budget, on real CPython instances: an instance that does not fit
evicts the least recently used idle one, and past the budget with nothing idle a request waits."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bench.baseline.gateway import Pool
from bench.baseline.instances import command

MB = 1 << 20


def test_a_new_instance_evicts_the_least_recently_used_idle_one(tmp_path: Path) -> None:
    code = tmp_path / "f.py"
    code.write_text("def main(p):\n    return {'ok': p.get('x')}\n")
    cmd = command("python", code, "main")

    async def scenario() -> None:
        pool = Pool(keep_alive_s=600, max_instances=100, budget_bytes=1)  # nothing fits but one
        try:
            a, kind = await pool.acquire("a", cmd, "python")
            assert kind == "boot"
            assert await a.invoke({"x": 1}) == {"result": {"ok": 1}}
            await pool.release(a, True)
            b, kind = await pool.acquire("b", cmd, "python")  # a is idle: evicted for b
            assert kind == "boot" and pool.evicted == 1 and not pool.idle["a"]
            await asyncio.sleep(0.2)
            assert not a.alive
            # b is busy and nothing is idle: c waits until b is released, then evicts it.
            waiter = asyncio.create_task(pool.acquire("c", cmd, "python"))
            await asyncio.sleep(0.5)
            assert not waiter.done()
            await pool.release(b, True)
            c, kind = await asyncio.wait_for(waiter, 30)
            assert kind == "boot" and pool.evicted == 2
            await pool.measure()
            assert c.pss > 0 and pool.sizes["python"] == c.pss and pool.used() >= c.pss
            await pool.release(c, True)
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_roomy_budget_keeps_every_instance(tmp_path: Path) -> None:
    code = tmp_path / "f.py"
    code.write_text("def main(p):\n    return {}\n")
    cmd = command("python", code, "main")

    async def scenario() -> None:
        pool = Pool(keep_alive_s=600, max_instances=100, budget_bytes=4096 * MB)
        try:
            for name in ("a", "b", "c"):
                inst, _ = await pool.acquire(name, cmd, "python")
                await pool.release(inst, True)
            assert pool.evicted == 0 and len(pool.instances()) == 3
        finally:
            await pool.close()

    asyncio.run(scenario())
