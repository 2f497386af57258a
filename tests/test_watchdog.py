"""A call's deadline in the worker (isolates' Watchdog): it fires for a call that runs past its
timeout, and a call that ends in time leaves nothing armed behind it. The scheduled executor it
replaces kept every finished call's cancelled task queued for the call's whole timeout, and woke
to throw each away then (DESIGN.md, the warm path).

A daemon in this process (no HTTP), one booted worker (a real JVM), asked directly what its
watchdog holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from graalvisor.config import Config
from graalvisor.daemon.daemon import Daemon
from graalvisor.domain.functions import FunctionConfig
from graalvisor.protocol import Op

SPIN_MS = 300


async def _armed(daemon: Daemon) -> list[int]:
    workers = list(daemon.pool.supervisor.workers.values())
    replies = [await w.request(Op.DESCRIBE) for w in workers]
    return [int(r.data["watchdog_alarms"]) for r in replies]


async def _scenario(data_dir: Path) -> None:
    daemon = Daemon(Config(data_dir=data_dir, workers=1, max_workers=1, snapshots=False, warm_versions=False))
    await daemon.start()
    try:
        await daemon.deploy("guest/wd-echo", "js", FunctionConfig(), b"function main(p) { return {n: p.n}; }")
        await daemon.deploy("guest/wd-spin", "js", FunctionConfig(timeout_ms=SPIN_MS),
                            b"function main(p) { while (true) {} }")
        await daemon.deploy("guest/wd-py", "python", FunctionConfig(timeout_ms=SPIN_MS),
                            b"def main(args):\n    if args.get('spin'):\n        while True:\n            pass\n"
                            b"    return {'ok': True}\n")

        async def echo(n: int) -> None:
            _, inv = await daemon.invoke("guest/wd-echo", b'{"n": %d}' % n)
            assert inv.status == "success" and orjson.loads(inv.result or b"") == {"n": n}, inv

        for start in range(0, 400, 16):  # 16 at a time, as many callers would
            await asyncio.gather(*(echo(n) for n in range(start, start + 16)))
        assert await _armed(daemon) == [0]

        # Past its deadline a guest is stopped (JS and Python), and the alarm that did it is gone.
        for name, params in (("guest/wd-spin", b"{}"), ("guest/wd-py", b'{"spin": true}')):
            _, inv = await daemon.invoke(name, params)
            assert inv.status == "timeout" and f"{SPIN_MS} ms" in str(inv.error), inv
        assert await _armed(daemon) == [0]
        _, inv = await daemon.invoke("guest/wd-py", b"{}")
        assert inv.status == "success" and orjson.loads(inv.result or b"") == {"ok": True}, inv
        await echo(7)
        assert await _armed(daemon) == [0]
    finally:
        await daemon.stop()


def test_deadlines_fire_and_finished_calls_leave_nothing_armed(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path / "data"))
