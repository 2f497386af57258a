"""CRIU: find it, check it, dump a parked worker, restore clones of it.

A worker is the init of its own PID namespace, so one image restores many times at once.
The only files a parked worker holds open that CRIU cannot restore by itself are two pipes
(the wake pipe and stderr); they are marked external at dump and handed in fresh at restore.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from graalvisor.config import REPO_ROOT

log = logging.getLogger("graalvisor.criu")

# Where our CRIU build caches its kernel probe (scripts/install-criu.sh sets it): ~35 ms of
# every restore when missing. It must be a tmpfs, so the cache dies with the kernel it describes.
KERNDAT_DIR = Path("/dev/shm/graalvisor-criu")


class CriuError(Exception):
    pass


@dataclass
class CriuStatus:
    available: bool
    path: str | None
    version: str | None
    message: str


def find_criu(explicit: str | None) -> str | None:
    for candidate in (explicit, str(REPO_ROOT / ".cache" / "criu" / "bin" / "criu"), shutil.which("criu")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


async def check(explicit: str | None, disabled: bool) -> CriuStatus:
    if disabled:
        return CriuStatus(False, None, None, "snapshots disabled by configuration")
    path = find_criu(explicit)
    if path is None:
        return CriuStatus(False, None, None, "criu not found (make run installs it into .cache/criu)")
    if os.geteuid() != 0:
        return CriuStatus(False, path, None, "criu needs root (CAP_SYS_ADMIN) to dump and restore")
    try:
        KERNDAT_DIR.mkdir(mode=0o700, exist_ok=True)
    except OSError as e:  # no /dev/shm: criu still works, it just re-probes the kernel every run
        log.warning("criu's kernel-probe cache %s cannot be made: %s", KERNDAT_DIR, e)
    version = (await _run([path, "--version"], timeout=10))[1].strip().splitlines()
    code, out = await _run([path, "check"], timeout=30)
    if code != 0:
        return CriuStatus(False, path, version[0] if version else None, f"criu check failed: {out.strip()[-300:]}")
    return CriuStatus(True, path, version[0] if version else None, "criu check: looks good")


async def dump(criu: str, pid: int, images: Path, external_pipes: list[int], background: bool = False) -> float:
    """Dumps the process tree rooted at ``pid`` (which dies); returns seconds taken."""
    images.mkdir(parents=True, exist_ok=True)
    argv = [criu, "dump", "-t", str(pid), "-D", str(images), "-o", "dump.log", "-v2"]
    nice = shutil.which("nice")
    if nice and background:  # an image for later, like its template: after the calls being served
        argv = [nice, "-n", "19", *argv]
    for inode in external_pipes:
        argv += ["--external", f"pipe:[{inode}]"]
    t0 = time.perf_counter()
    code, out = await _run(argv, timeout=120)
    if code != 0:
        raise CriuError(f"criu dump failed ({code}): {out.strip()[-300:]} {_log_tail(images / 'dump.log')}")
    return time.perf_counter() - t0


async def restore(criu: str, images: Path, inherit: dict[int, int], pidfile: Path,
                  lazy: bool = False) -> tuple[int, asyncio.subprocess.Process | None]:
    """Restores a clone detached; ``inherit`` maps an fd of ours to the pipe inode it replaces.
    Returns the clone's pid and, with ``lazy``, the page server that feeds it: memory is then
    mapped at restore and filled on first touch (userfaultfd) or in the background."""
    argv = [criu, "restore", "-D", str(images), "-d", "--pidfile", str(pidfile),
            "-o", f"restore-{pidfile.stem}.log", "-v1"]
    for fd, inode in inherit.items():
        argv += ["--inherit-fd", f"fd[{fd}]:pipe:[{inode}]"]
    pages: asyncio.subprocess.Process | None = None
    if lazy:
        address = pidfile.with_suffix(".uffd")
        pages = await asyncio.create_subprocess_exec(
            criu, "lazy-pages", "-D", str(images), "--address", str(address), "-o", f"lazy-{pidfile.stem}.log",
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        for _ in range(2000):  # the page server is ready once its socket exists
            if address.exists() or pages.returncode is not None:
                break
            await asyncio.sleep(0.0005)
        argv += ["--lazy-pages", "--address", str(address)]
    code, out = await _run(argv, timeout=60, pass_fds=tuple(inherit))
    if code != 0 and pages is not None and pages.returncode is None:
        pages.kill()
    if code != 0:
        raise CriuError(f"criu restore failed ({code}): {out.strip()[-300:]} "
                        f"{_log_tail(images / f'restore-{pidfile.stem}.log')}")
    pid = int(pidfile.read_text().strip())
    pidfile.unlink(missing_ok=True)
    (images / f"restore-{pidfile.stem}.log").unlink(missing_ok=True)
    return pid, pages


async def _run(argv: list[str], timeout: float, pass_fds: tuple[int, ...] = ()) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, pass_fds=pass_fds)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"timed out after {timeout} s"
    return proc.returncode or 0, out.decode(errors="replace")


def _log_tail(path: Path) -> str:
    try:
        lines = [line for line in path.read_text(errors="replace").splitlines() if "Error" in line]
        return " | ".join(lines[-3:])
    except OSError:
        return ""
