"""A worker's stderr is forwarded line by line and its pipe closed exactly once, under uvloop as
under asyncio's own loop: a second close of the same number closes whatever fd another thread
opened in between (uvloop's connect_read_pipe did that, MagicStack/uvloop#763)."""

from __future__ import annotations

import asyncio
import gc
import os
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop

from graalvisor.pool import processes


async def _forward_then_probe() -> list[str]:
    r, w = os.pipe()
    lines: list[str] = []
    forward = asyncio.ensure_future(processes.forward_lines(r, lines.append))
    os.write(w, "first\nsecond é\n".encode())
    await asyncio.sleep(0.05)
    os.write(w, b"no newline at the end")
    os.close(w)
    await forward
    # r's number is free: the next pipe takes it (the lowest free fd). Anything that closed r's
    # number again from here on would close this pipe's end instead.
    probe_r, probe_w = os.pipe()
    gc.collect()
    await asyncio.sleep(0.05)
    try:
        os.fstat(probe_r)
        os.fstat(probe_w)
    finally:
        for fd in (probe_r, probe_w):
            try:
                os.close(fd)
            except OSError:
                pass
    return lines


@pytest.mark.parametrize("run", [asyncio.run, uvloop.run], ids=["asyncio", "uvloop"])
def test_stderr_lines_are_forwarded_and_the_pipe_closed_once(run: Callable[[Coroutine[Any, Any, list[str]]],
                                                                           list[str]]) -> None:
    assert run(_forward_then_probe()) == ["first", "second é", "no newline at the end"]


def test_a_line_without_end_comes_out_in_pieces() -> None:
    async def scenario() -> list[str]:
        r, w = os.pipe()
        lines: list[str] = []
        forward = asyncio.ensure_future(processes.forward_lines(r, lines.append))
        for _ in range(50):  # 200 kB, never a newline
            await asyncio.get_running_loop().run_in_executor(None, os.write, w, b"x" * 4096)
        os.close(w)
        await forward
        return lines

    pieces = uvloop.run(scenario())
    assert len(pieces) >= 2 and "".join(pieces) == "x" * 4096 * 50
