"""Worker main loop: connect to the gateway, start the JVM, answer frames on a thread pool.

Calls into Java release the GIL, so invocations on the pool's threads run in parallel.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import logging
import os
import random
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from graalvisor import protocol
from graalvisor.worker.jvm import find_java_home, start_jvm

log = logging.getLogger("graalvisor.worker")


class Worker:
    def __init__(self, sock: socket.socket, threads: int, isolates: Any, park_fd: int | None) -> None:
        self.sock = sock
        self.isolates = isolates
        self.park_fd = park_fd
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gv-invoke")
        self.send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        frame = protocol.encode(message)
        with self.send_lock:
            self.sock.sendall(frame)

    def serve(self) -> None:
        while True:
            message = protocol.recv_frame(self.sock)
            if message is None:
                return  # the gateway went away: nothing left to serve
            if message.get("op") == "park":
                self.park(message)
            else:
                self.executor.submit(self.handle, message)

    def park(self, message: dict[str, Any]) -> None:
        """Drops the gateway connection and blocks until a restorer wakes this process: the
        only state ever dumped. Whatever wakes it is a clone with its own identity."""
        if self.park_fd is None:
            self.send({"id": message["id"], "outcome": '{"ok":false,"kind":"internal","message":"no park fd"}'})
            return
        # Compilers still compiling and blank contexts still being made would carry on in every
        # clone, taking the cores its first invocation needs: dump only a worker at rest.
        settled_s = _settle()
        # What the clone will say in its hello, worked out now: on waking, every call into the
        # JVM costs page faults on the critical path.
        runtime = orjson.loads(str(self.isolates.describe()))
        self.isolates.beforeCheckpoint()
        gc.collect()
        _malloc_trim()  # freed C heap back to the kernel: pages CRIU would otherwise dump
        self.send({"id": message["id"], "outcome": '{"ok":true}'})
        self.sock.close()
        identity = orjson.loads(_read_line(self.park_fd))
        t0 = time.perf_counter()
        self.reseed()
        t1 = time.perf_counter()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(identity["connect"])
        log.info("woke from a snapshot (parked after %.1f s settling): re-seeded in %.1f ms, connected in %.1f ms",
                 settled_s, (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000)
        self.send({"op": "hello", "token": identity["token"], "pid": os.getpid(), "restored": True,
                   "runtime": runtime})

    def reseed(self) -> None:
        """Every clone starts from the same bytes: re-seed before anything draws a random number.
        Pooled isolates re-seed themselves when next taken (a new generation)."""
        random.seed()
        self.isolates.afterRestore(int.from_bytes(os.urandom(8), "little", signed=True))

    def handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        try:
            if op == "invoke":
                outcome = self.isolates.invoke(message["key"], message["params"], int(message["timeout_ms"]))
            elif op == "deploy":
                outcome = self.isolates.deploy(orjson.dumps(message["spec"]).decode())
            elif op == "undeploy":
                self.isolates.undeploy(message["key"])
                outcome = '{"ok":true}'
            elif op == "rehearse_wake":
                self.reseed()  # the path a clone's first call takes, run before the dump
                outcome = '{"ok":true}'
            elif op == "settle":
                outcome = orjson.dumps({"ok": True, "settled_s": _settle(float(message.get("limit_s", 30)))}).decode()
            elif op == "hold_blanks":
                self.isolates.holdBlanks()
                outcome = '{"ok":true}'
            elif op == "describe":
                outcome = self.isolates.describe()
            else:
                outcome = orjson.dumps({"ok": False, "kind": "internal", "message": f"unknown op {op!r}"}).decode()
        except Exception as e:  # a bug on this side must answer, never leave the caller waiting
            log.exception("op %s failed", op)
            outcome = orjson.dumps({"ok": False, "kind": "internal", "message": f"{type(e).__name__}: {e}"}).decode()
        if "id" in message:
            self.send({"id": message["id"], "outcome": outcome})


def _settle(limit_s: float = 30.0, window_s: float = 0.1, busy: float = 0.05) -> float:
    """Waits until the whole process (JIT compilers, the blank-context refiller) has used under
    ``busy`` of a core for three windows in a row; gives up after ``limit_s``."""
    t0 = time.monotonic()
    quiet = 0
    while quiet < 3 and time.monotonic() - t0 < limit_s:
        cpu = time.process_time()
        time.sleep(window_s)
        quiet = quiet + 1 if time.process_time() - cpu < busy * window_s else 0
    return time.monotonic() - t0


def _malloc_trim() -> None:
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def _read_line(fd: int) -> bytes:
    data = bytearray()
    while not data.endswith(b"\n"):
        chunk = os.read(fd, 4096)
        if not chunk:
            raise SystemExit("park pipe closed before a wake-up came")
        data += chunk
    return bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="graalvisor-worker")
    parser.add_argument("--connect", required=True, help="the gateway's Unix socket")
    parser.add_argument("--token", required=True, help="identifies this worker to the gateway")
    parser.add_argument("--isolates-dir", required=True, type=Path)
    parser.add_argument("--heap-mb", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--python-blanks", type=int, default=2)
    parser.add_argument("--js-blanks", type=int, default=4)
    parser.add_argument("--java-home")
    parser.add_argument("--park-fd", type=int, help="inherited pipe a parked worker waits on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s")

    # JPype loads numpy when it can, for array conversions no function here uses: 15 MB more in
    # every worker and every image. A None entry makes its import fail, and JPype goes on without.
    sys.modules.setdefault("numpy", None)  # type: ignore[arg-type]
    start_jvm(find_java_home(args.java_home), args.isolates_dir, args.heap_mb)
    import jpype

    isolates = jpype.JClass("dev.graalvisor.isolates.Isolates")
    runtime = orjson.loads(str(isolates.start(args.python_blanks, args.js_blanks)))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(args.connect)
    worker = Worker(sock, args.threads, isolates, args.park_fd)
    worker.send({"op": "hello", "token": args.token, "pid": os.getpid(), "runtime": runtime})
    worker.serve()
    # The JVM's non-daemon threads must not keep a worker alive once the gateway is gone.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
