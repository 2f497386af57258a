"""Worker main loop: connect to the gateway, start the JVM, answer frames.

Two connections: this one, read by Python, for everything (deploys, parking, describing, and
invocations that come before the other is up), and the invoke lane, read and answered by Java
alone (isolates' InvokeLane), which the gateway sends invocations to once it is open: a warm
call then crosses no Python, GIL or JPype here.

Leader/followers: ``--threads`` threads (the gateway's ``worker_threads``) take turns reading
a connection, and the one that read a request runs it, so a call is never handed from a
reader to another thread. Calls into Java release the GIL, so invocations on different threads
run in parallel.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from graalvisor import protocol
from graalvisor.config import worker_flags
from graalvisor.protocol import Deploy, Hello, NoFields, Op, Reply, Request, Settle, TrimIsolates, Undeploy
from graalvisor.worker.jvm import find_java_home, start_jvm
from graalvisor.worker.replies import outcome_parts

log = logging.getLogger("graalvisor.worker")


Handler = Callable[[Any], Reply]

# Results up to this size are copied into the frame's one buffer: cheaper than a second write.
COPY_LIMIT = 64 * 1024


class Worker:
    def __init__(self, sock: socket.socket, threads: int, isolates: Any, park_fd: int | None) -> None:
        self.sock = sock
        self.requests = protocol.RequestReader(sock)
        self.isolates = isolates  # a JPype class: untyped
        self.park_fd = park_fd
        self.threads = threads
        self.read_lock = threading.Lock()
        self.send_lock = threading.Lock()
        self.done = threading.Event()
        # INVOKE is not here (see invoke: its reply is Java's bytes, sent on as they are), nor
        # PARK (it runs while its thread still holds the read lock: see follow).
        self.handlers: dict[Op, Handler] = {
            Op.DEPLOY: self.deploy,
            Op.UNDEPLOY: self.undeploy,
            Op.REHEARSE_WAKE: self.rehearse_wake,
            Op.SETTLE: self.settle,
            Op.HOLD_BLANKS: self.hold_blanks,
            Op.FILL_BLANKS: self.fill_blanks,
            Op.DESCRIBE: self.describe,
            Op.TRIM_ISOLATES: self.trim_isolates,
        }

    def send(self, frame: bytes) -> None:
        with self.send_lock:
            self.sock.sendall(frame)

    def send_parts(self, parts: list[bytes | memoryview]) -> None:
        """One frame given in parts: small ones joined into one write (the gateway wakes once);
        a big result written from its own buffer after the rest, never copied into a new one."""
        *head, result = parts
        with self.send_lock:
            if len(result) <= COPY_LIMIT:
                self.sock.sendall(b"".join((*head, result)))
            else:
                self.sock.sendall(b"".join(head))
                self.sock.sendall(result)

    def answer(self, request_id: int | None, reply: Reply) -> None:
        if request_id is not None:  # no id: the gateway wants no answer
            self.send(reply.frame(request_id))

    def serve(self) -> None:
        """Returns once the gateway has gone (or the stream broke)."""
        for i in range(self.threads):
            threading.Thread(target=self.follow, name=f"gv-invoke-{i}", daemon=True).start()
        self.done.wait()

    def follow(self) -> None:
        while not self.done.is_set():
            with self.read_lock:
                request, received_ns = self.read()
                if request is not None and request.op is Op.PARK:
                    # Under the lock: nothing else may be read from a connection about to be closed.
                    self.park(request)
                    continue
            if request is not None:
                self.handle(request, received_ns)

    def read(self) -> tuple[Request | None, int]:
        """The next request (None when there is nothing to run) and when it was read."""
        if self.done.is_set():
            return None, 0
        try:
            message = self.requests.next()
        except (OSError, protocol.ProtocolError) as e:
            log.error("the gateway connection broke: %s", e)
            message = None
        if message is None:
            self.done.set()  # the gateway went away: nothing left to serve
            return None, 0
        received_ns = time.perf_counter_ns()
        meta, payload = message
        try:
            return Request.parse(meta, payload), received_ns
        except protocol.ProtocolError as e:
            request_id = meta.get("id")
            self.answer(request_id if isinstance(request_id, int) else None, Reply.failure("internal", str(e)))
            return None, 0

    def park(self, request: Request) -> None:
        """Drops the gateway connection and blocks until a restorer wakes this process: the
        only state ever dumped. Whatever wakes it is a clone with its own identity."""
        if self.park_fd is None:
            self.answer(request.id, Reply.failure("internal", "no park fd"))
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
        # No socket may be open at the dump: the lane goes first (the gateway, which asked for
        # the park, expects it to), then this connection once the answer is out.
        self.isolates.closeLane()
        self.answer(request.id, Reply.success())
        self.sock.close()
        identity = orjson.loads(_read_line(self.park_fd))
        t0 = time.perf_counter()
        self.reseed()
        t1 = time.perf_counter()
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(identity["connect"])
        self.requests = protocol.RequestReader(self.sock)
        self.open_lane(identity["connect"], identity["token"])
        log.info("woke from a snapshot (parked after %.1f s settling): re-seeded in %.1f ms, connected in %.1f ms",
                 settled_s, (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000)
        self.send(Hello(identity["token"], os.getpid(), runtime, restored=True).frame())

    def open_lane(self, path: str, token: str) -> None:
        """Opens Java's invoke lane; without it, invocations keep coming on this connection."""
        try:
            self.isolates.openLane(path, token, self.threads)
        except Exception:  # a JVM exception through JPype: say it, and serve without the lane
            log.exception("no invoke lane: invocations go through Python")

    def reseed(self) -> None:
        """Every clone starts from the same bytes: re-seed before anything draws a random number.
        Pooled isolates re-seed themselves when next taken (a new generation)."""
        random.seed()
        self.isolates.afterRestore(int.from_bytes(os.urandom(8), "little", signed=True))

    def handle(self, request: Request, received_ns: int) -> None:
        if request.op is Op.INVOKE:
            self.invoke(request, received_ns)
            return
        try:
            reply = self.handlers[request.op](request.args)
        except Exception as e:  # a bug on this side must answer, never leave the caller waiting
            log.exception("op %s failed", request.op)
            reply = Reply.failure("internal", f"{type(e).__name__}: {e}")
        self.answer(request.id, reply)

    # -- handlers: one per op, each answers with a Reply

    def invoke(self, request: Request, received_ns: int) -> None:
        """The hot path: one call into Java, whose bytes are the reply; only the request id and
        this side's times are added to its meta, and the result is sent on without a copy."""
        args = request.args
        env = None if args.env is None else orjson.dumps(args.env).decode()
        call_ns = time.perf_counter_ns()
        try:
            outcome = self.isolates.invoke(args.key, args.params, int(args.timeout_ms), env)
        except Exception as e:  # a bug on this side must answer, never leave the caller waiting
            log.exception("invoke of %s failed", args.key)
            self.answer(request.id, Reply.failure("internal", f"{type(e).__name__}: {e}"))
            return
        done_ns = time.perf_counter_ns()
        if request.id is not None:
            self.send_parts(outcome_parts(memoryview(outcome), request.id, call_ns=done_ns - call_ns,
                                          worker_ns=time.perf_counter_ns() - received_ns))

    def deploy(self, args: Deploy) -> Reply:
        return Reply.from_outcome(bytes(self.isolates.deploy(orjson.dumps(args.spec).decode())))

    def undeploy(self, args: Undeploy) -> Reply:
        self.isolates.undeploy(args.key)
        if args.shrink:
            self.isolates.shrinkHeap()
        return Reply.success()

    def rehearse_wake(self, args: NoFields) -> Reply:
        self.reseed()  # the path a clone's first call takes, run before the dump
        return Reply.success()

    def settle(self, args: Settle) -> Reply:
        return Reply.success(settled_s=_settle(float(args.limit_s)))

    def hold_blanks(self, args: NoFields) -> Reply:
        self.isolates.holdBlanks()
        return Reply.success()

    def fill_blanks(self, args: NoFields) -> Reply:
        return Reply.success(made=int(self.isolates.fillBlanks()))

    def trim_isolates(self, args: TrimIsolates) -> Reply:
        return Reply.success(**orjson.loads(str(self.isolates.trimIdle(args.heap_percent))))

    def describe(self, args: NoFields) -> Reply:
        return Reply.success(**orjson.loads(str(self.isolates.describe())))


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
    # The gateway passes every one of these from its Config (Config.worker_args): no defaults
    # here that could disagree with it.
    for flag, name in worker_flags().items():
        optional = name == "java_home"
        kind = {"isolates_dir": Path, "java_home": str}.get(name, int)
        parser.add_argument(flag, dest=name, type=kind, required=not optional)
    parser.add_argument("--park-fd", type=int, help="inherited pipe a parked worker waits on")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s worker[%(process)d] %(levelname)s %(message)s")

    # JPype loads numpy when it can, for array conversions no function here uses: 15 MB more in
    # every worker and every image. A None entry makes its import fail, and JPype goes on without.
    sys.modules.setdefault("numpy", None)  # type: ignore[arg-type]
    start_jvm(find_java_home(args.java_home), args.isolates_dir, args.worker_heap_mb, args.code_cache_mb,
              bool(args.jit_priority))
    import jpype

    isolates = jpype.JClass("dev.graalvisor.isolates.Isolates")
    runtime = orjson.loads(str(isolates.start(args.python_blanks, args.js_blanks)))

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(args.connect)
    worker = Worker(sock, args.worker_threads, isolates, args.park_fd)
    worker.open_lane(args.connect, args.token)
    worker.send(Hello(args.token, os.getpid(), runtime).frame())
    worker.serve()
    # The JVM's non-daemon threads must not keep a worker alive once the gateway is gone.
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
