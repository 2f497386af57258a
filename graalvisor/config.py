"""Every option of the daemon, defined once: the CLI and the tests build a Config."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graalvisor"


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = field(default_factory=default_data_dir)
    workers: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Worker JVM heap; every isolate of every function in that worker shares it.
    worker_heap_mb: int = 1024
    # GraalPy contexts kept ready per worker: creating one costs tens of ms.
    python_blanks: int = 2
    # JS contexts kept ready per worker: creating one costs about a millisecond.
    js_blanks: int = 4
    # Invocations a worker runs at once (each on a thread inside Java; JPype releases the GIL
    # there). Guest code is CPU-bound, so a few per core: the rest queue in the gateway.
    worker_threads: int = field(default_factory=lambda: 4 * (os.cpu_count() or 1))
    max_request_bytes: int = 6 * 1024 * 1024
    invocation_retention: int = 10_000
    boot_timeout_s: float = 120.0
    # How long an invocation may wait for a concurrency slot or a worker before a 503.
    queue_timeout_s: float = 30.0
    isolates_dir: Path = REPO_ROOT / "isolates" / "target"
    java_home: str | None = None
    # Workers beyond `workers`, started for load or on request, live until idle this long.
    max_workers: int = field(default_factory=lambda: 2 * (os.cpu_count() or 1))
    keep_alive_s: float = 600.0
    # Snapshots: start workers by restoring CRIU images instead of booting a JVM.
    snapshots: bool = True
    criu_path: str | None = None
    # Where images live; a tmpfs (e.g. /dev/shm/graalvisor) makes restores read from memory.
    snapshot_dir: Path | None = None
    # Restore with userfaultfd: map memory at restore, fill pages on first touch.
    lazy_pages: bool = False
    # Map an image's memory from a file at restore (pool/rebase.py) instead of copying every page.
    map_images: bool = True
    # A JS or Python version that has answered this many calls gets a function image of its own
    # (0: only on request). Java is left out: its code may do I/O, and a warm-up repeats calls.
    snapshot_after_calls: int = 100

    def __post_init__(self) -> None:
        # criu resolves relative paths against its image dir, not our working directory.
        self.data_dir = Path(self.data_dir).resolve()
        if self.snapshot_dir is not None:
            self.snapshot_dir = Path(self.snapshot_dir).resolve()

    @property
    def db_path(self) -> Path:
        return self.data_dir / "graalvisor.db"

    @property
    def code_dir(self) -> Path:
        return self.data_dir / "code"

    @property
    def run_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def images_dir(self) -> Path:
        return self.snapshot_dir or self.data_dir / "snapshots"
