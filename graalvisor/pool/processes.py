"""Operating-system plumbing of worker processes: the command line of a boot, waiting for and
reaping processes that are not asyncio's children, their stderr, and who is on the other end of
a socket."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import struct
import sys
from collections.abc import Callable
from pathlib import Path

import psutil

from graalvisor.config import Config


def boot_argv(config: Config, socket_path: Path, token: str, park_fd: int) -> list[str]:
    argv = [sys.executable, "-m", "graalvisor.worker", "--connect", str(socket_path), "--token", token,
            "--park-fd", str(park_fd), *config.worker_args()]
    unshare = shutil.which("unshare") if os.geteuid() == 0 else None
    if unshare:
        # Init of its own PID namespace and a session leader in it: what lets CRIU restore
        # one image many times at once. No --kill-child: CRIU would restore its parent-death
        # signal and every clone would die with the criu process that restored it.
        argv = [unshare, "--pid", "--fork", "setsid", *argv]
    return argv


def boot_env() -> dict[str, str]:
    # Two malloc arenas, not one per thread: JPype threads would otherwise each grow one.
    return {**os.environ, "MALLOC_ARENA_MAX": "2"}


async def forward_lines(fd: int, emit: Callable[[str], None]) -> None:
    """Reads a pipe to its end, ``emit``-ting each line, and closes ``fd`` once.

    Not ``loop.connect_read_pipe``: under uvloop its transport closes the pipe's fd and the file
    object given to it closes the same number again, and the second close can take whatever fd
    another thread has just opened under that number (MagicStack/uvloop#763). Here that made a
    base image fail with EBADF on a directory the image's reader thread was scanning."""
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    os.set_blocking(fd, False)
    loop.add_reader(fd, readable.set)
    pending = b""
    try:
        while True:
            await readable.wait()
            readable.clear()
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            if len(pending) > 65536:  # a line without end is still shown, in pieces
                lines.append(pending)
                pending = b""
            for line in lines:
                emit(line.decode(errors="replace").rstrip())
    finally:
        loop.remove_reader(fd)
        os.close(fd)
    if pending:
        emit(pending.decode(errors="replace").rstrip())


async def wait_pid(pid: int) -> int:
    """Waits for a process that is not an asyncio child (a restored worker) and reaps it."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return reap(pid)
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def exited() -> None:
        if not done.done():
            done.set_result(None)

    loop.add_reader(pidfd, exited)
    try:
        await done
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)
    return reap(pid)


def reap(pid: int) -> int:
    try:
        _, status = os.waitpid(pid, os.WNOHANG)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    except ChildProcessError:
        return 0  # reparented elsewhere: its exit status is not ours to read


AUTOGROUPS = Path("/proc/sys/kernel/sched_autogroup_enabled")


def autogroups_on() -> bool:
    try:
        return AUTOGROUPS.read_text().strip() == "1"
    except OSError:
        return False


def process_tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its descendants; empty when it is gone."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def set_background(pid: int, nice: int, shift: int = 0) -> int:
    """Weighs the worker ``pid`` (with its descendants) as nice ``nice`` against other workers.

    A worker calls setsid, and where scheduler autogroups are on (most distributions) a thread's
    nice weighs only against threads of its own session: the session's autogroup nice is what
    counts against the other workers, and it is set alone, leaving the threads' own nice values
    (the JIT compiler threads above the call threads) as they are, in a clone's image too.
    Without autogroups every thread's nice moves by ``shift`` instead (relative, so the
    compiler threads stay above the rest). Returns how many autogroups or threads were set."""
    groups = autogroups_on()
    if not groups and not shift:
        return 0  # no autogroup to weigh and no thread to move
    done = 0
    own_session = os.getsid(0)
    for proc in process_tree(pid):
        try:
            if groups:
                if os.getsid(proc.pid) == proc.pid != own_session:  # a session leader: its group
                    Path(f"/proc/{proc.pid}/autogroup").write_text(str(nice))
                    done += 1
                continue
            tids = [int(t) for t in os.listdir(f"/proc/{proc.pid}/task")]
        except OSError:  # gone, or not allowed
            continue
        for tid in tids:
            try:
                now = os.getpriority(os.PRIO_PROCESS, tid)
                os.setpriority(os.PRIO_PROCESS, tid, max(-20, min(19, now + shift)))
                done += 1
            except OSError:  # gone, or raising priority without the right to
                continue
    return done


def peer_pid(transport: asyncio.BaseTransport) -> int | None:
    """The worker's pid as this process sees it (its own getpid() is 1 inside a PID namespace)."""
    sock: socket.socket | None = transport.get_extra_info("socket")
    if sock is None:
        return None
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, _uid, _gid = struct.unpack("3i", creds)
    return int(pid)
