"""Every option of the daemon, defined once: ``graalvisor serve``'s flags and a worker's command
line are generated from :class:`Config`, and the tests and benchmarks build one too."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "graalvisor"


def _cores() -> int:
    return os.cpu_count() or 1


def default_members() -> int:
    """A member per two cores. One JVM runs calls on every core; each member holds its own heap,
    the image pages it wrote and isolates of what it ran. On 2 cores one member against two:
    mean PSS 0.86 against 1.13-1.34 GiB on the 40-function trace and 1.39 against 2.06-2.16 GiB
    on the 200-function one, p99 288 ms and 1.26 s against 258-643 ms and 0.94-1.33 s
    (DESIGN.md, "Where a worker's memory goes")."""
    return max(1, _cores() // 2)


def option(default: Any = None, *, factory: Any = None, help: str = "", flag: str | None = None,
           inverted: bool = False, worker: str | None = None) -> Any:
    """A Config field. ``help`` makes it a ``serve`` flag (``flag`` overrides its name, and an
    ``inverted`` boolean is switched off by its flag); ``worker`` passes it to every worker."""
    metadata = {"help": help, "flag": flag, "inverted": inverted, "worker": worker}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class Config:
    data_dir: Path = option(factory=default_data_dir, help="functions, invocation records and images live here")
    workers: int = option(factory=default_members, help="member workers kept running (replaced when they die); "
                                                   "extras are added for load")
    max_workers: int = option(factory=lambda: 2 * _cores(),
                              help="workers at most, counting extras started for load")
    # Worker JVM heap; every isolate of every function in that worker shares it.
    worker_heap_mb: int = option(1024, help="each worker JVM's maximum heap", worker="--heap-mb")
    # Compiled code is never flushed (worker/jvm.py), so every version a rolling image holds keeps
    # its code in every clone; reserved address space, committed only as code is compiled.
    code_cache_mb: int = option(240, help="each worker JVM's code cache (HotSpot's and Truffle's compiled code); "
                                          "once full, nothing more is compiled", worker="--code-cache-mb")
    # GraalPy contexts kept ready per worker: creating one costs tens of ms.
    python_blanks: int = option(2, worker="--python-blanks")
    # Calls of one Python version running at once, per member worker: past that, calls wait in
    # the gateway for a warm isolate rather than each starting a GraalPy context (seconds). Lifted
    # while the version's calls are short (scheduler.slots.Pace).
    python_isolates_per_worker: int = option(2, help="calls of one Python function run at once per worker; "
                                                     "the rest wait for a warm isolate")
    # A rolling image keeps an idle isolate of each version it holds (a GraalPy one is about 10 MB
    # of heap) only while its old generation stays under this share: a clone of a fuller image
    # collects again and again (DESIGN.md, the rolling image).
    image_heap_percent: int = option(45, help="percent of a worker's old generation that a rolling image's idle "
                                              "isolates may fill; past it those cheap to make again (JS, Java), then "
                                              "the longest idle, are closed before the dump (their versions stay "
                                              "loaded and compiled)")
    # JS contexts kept ready per worker: creating one costs about a millisecond.
    js_blanks: int = option(4, worker="--js-blanks")
    # Invocations a worker runs at once (each on a thread inside Java; JPype releases the GIL
    # there). Guest code is CPU-bound, so a few per core: the rest queue in the gateway.
    worker_threads: int = option(factory=lambda: 4 * _cores(), worker="--threads")
    # As root, Java priorities become nice values so the JIT compiler threads (MAX_PRIORITY) go
    # before the interpreted calls they compile for (worker/jvm.py).
    jit_priority: bool = option(True, flag="--no-jit-priority", inverted=True, worker="--jit-priority",
                                help="run workers' JIT compiler threads at normal priority, like the calls")
    max_request_bytes: int = option(6 * 1024 * 1024)
    invocation_retention: int = option(10_000)
    boot_timeout_s: float = option(120.0)
    # OpenWhisk API: a blocking call answers 202 with its activation id once it has run this long.
    blocking_wait_s: float = option(60.0, help="longest an OpenWhisk blocking invocation waits before it "
                                               "answers 202 with the activation id")
    # How long an invocation may wait for a concurrency slot or a worker before a 503.
    queue_timeout_s: float = option(30.0)
    isolates_dir: Path = option(REPO_ROOT / "isolates" / "target", worker="--isolates-dir")
    java_home: str | None = option(None, worker="--java-home")
    # Workers beyond `workers`, started for load or on request, live until idle this long.
    keep_alive_s: float = option(600.0, help="idle time before an extra worker stops")
    # As OpenWhisk's invoker has a user-memory budget: past it, idle extras and idle versions go, LRU.
    memory_budget_mb: int = option(8192, help="the platform's memory (PSS of gateway, workers and templates) above "
                                              "which idle workers and versions are evicted, least recently used "
                                              "first (0: no budget)")
    # Snapshots: start workers by restoring CRIU images instead of booting a JVM.
    snapshots: bool = option(True, help="always boot workers; never use CRIU", flag="--no-snapshots", inverted=True)
    criu_path: str | None = option(None)
    # Where images live; a tmpfs (e.g. /dev/shm/graalvisor) makes restores read from memory.
    snapshot_dir: Path | None = option(None, help="where CRIU images live (a tmpfs makes restores faster)")
    # Restore with userfaultfd: map memory at restore, fill pages on first touch.
    lazy_pages: bool = option(False, help="restore workers with userfaultfd: pages load on first touch")
    # Map an image's memory from a file at restore (pool/rebase.py) instead of copying every page.
    map_images: bool = option(True, flag="--copy-images", inverted=True,
                              help="restore by copying every page of an image (CRIU's way) instead of mapping it")
    # Java is left out of automatic images: its code may do I/O, and a warm-up repeats calls.
    snapshot_after_calls: int = option(100, flag="--snapshot-after",
                                       help="take a function image of a JS or Python version once it has answered "
                                            "this many calls (0: only POST /functions/{name}/snapshot)")

    # The base image's warm-up: the corpus (graalvisor/warmup) runs until the JIT compilers are
    # quiet, at most this long; 0 warms with a trivial hello per language only. A cap, not a
    # target: on a slow or busy machine a time limit cut the warm-up at 950-2,250 calls, and the
    # workers restored from the colder images ran the same trace several times slower.
    base_warmup_s: float = option(600.0, help="longest the base image's warm-up corpus may run (0: a hello only)")

    # FastAPI's native OpenTelemetry: off unless asked for, since checking for providers on every
    # request cost about 6 µs of the gateway's CPU here (DESIGN.md, the warm path).
    telemetry: bool = option(False, help="FastAPI's OpenTelemetry spans, metrics and logs (providers configured "
                                         "as OpenTelemetry's environment says)")
    # JS and Python versions are compiled into the rolling image (pool/rolling.py) at deploy when
    # warm-up params come with the upload, or after `compile_after_calls` answered calls.
    warm_versions: bool = option(True, help="compile JS and Python versions into the rolling image, so workers "
                                            "start with them compiled")
    # Off by default: on the 2-core trace replay, templates compiling versions after their first
    # calls cost the members more CPU than the compiled image gave back (DESIGN.md).
    compile_after_calls: int = option(0, help="calls a version answers before it is compiled into the rolling "
                                              "image (0: only versions deployed with warm-up params)")

    def __post_init__(self) -> None:
        # criu resolves relative paths against its image dir, not our working directory.
        self.data_dir = Path(self.data_dir).resolve()
        if self.snapshot_dir is not None:
            self.snapshot_dir = Path(self.snapshot_dir).resolve()
        self.max_workers = max(self.max_workers, self.workers)

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

    def worker_args(self) -> list[str]:
        """The options every worker is started with, from this config."""
        args: list[str] = []
        for f in fields(self):
            flag, value = f.metadata.get("worker"), getattr(self, f.name)
            if flag and value is not None:
                args += [flag, str(int(value) if isinstance(value, bool) else value)]
        return args


def worker_flags() -> dict[str, str]:
    """Worker flag -> Config field: the worker's parser is built from this, so both sides agree."""
    return {f.metadata["worker"]: f.name for f in fields(Config) if f.metadata.get("worker")}


def serve_fields() -> list[Any]:
    """The Config fields ``graalvisor serve`` exposes as flags."""
    return [f for f in fields(Config) if f.metadata.get("help")]


def isolates_jar(isolates_dir: Path) -> Path:
    """The one isolates jar of a build; fails loudly where there is none, or more than one."""
    found = [p for p in isolates_dir.glob("isolates-*.jar") if not p.name.endswith(("-sources.jar", "-tests.jar"))]
    if len(found) != 1:
        what = "no isolates jar" if not found else f"{len(found)} isolates jars ({', '.join(p.name for p in found)})"
        raise RuntimeError(f"{what} in {isolates_dir}: run `make build`")
    return found[0]
