"""The floor of the gateway-to-worker hop: a round trip over a Unix socket pair between an
asyncio process (the gateway's side) and a thread blocked in ``recv`` in another process (the
worker's), with nothing else done. DESIGN.md's warm path compares the ``ipc`` hop with it.

    .venv/bin/python -m bench.ipc_floor [--n 20000] [--loop uvloop|asyncio]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import time

import uvloop

from bench.stats import percentile

MESSAGE = b"x" * 100  # about an invoke frame for hello


def _echo(sock: socket.socket) -> None:
    while data := sock.recv(65536):
        sock.sendall(data)
    os._exit(0)


async def _round_trips(sock: socket.socket, n: int) -> list[float]:
    reader, writer = await asyncio.open_connection(sock=sock)
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        writer.write(MESSAGE)
        await reader.readexactly(len(MESSAGE))
        samples.append((time.perf_counter() - t0) * 1e6)
    writer.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ipc_floor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--loop", choices=("uvloop", "asyncio"), default="uvloop")
    args = parser.parse_args()
    gateway_side, worker_side = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        gateway_side.close()
        _echo(worker_side)
    worker_side.close()
    try:
        run = uvloop.run if args.loop == "uvloop" else asyncio.run
        samples = sorted(run(_round_trips(gateway_side, args.n)))
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    print(f"{args.loop}: {args.n} round trips of {len(MESSAGE)} bytes: p50 {percentile(samples, 50):.1f} µs, "
          f"p99 {percentile(samples, 99):.1f} µs")


if __name__ == "__main__":
    main()
