"""Finds Temurin 25 and the isolates build, and starts the one JVM of a worker through JPype."""

from __future__ import annotations

import glob
import os
from pathlib import Path

from graalvisor.config import isolates_jar

JDK_GLOBS = ("/usr/lib/jvm/temurin-25*", "/usr/lib/jvm/*-25*", "/usr/lib/jvm/java-25*")


def find_java_home(explicit: str | None = None) -> Path:
    """JAVA_HOME if it is a JDK 25, else the system's Temurin 25: GraalVM 25 needs a JDK 21+."""
    for candidate in (explicit, os.environ.get("GRAALVISOR_JAVA_HOME"), os.environ.get("JAVA_HOME")):
        if candidate and _is_jdk25(Path(candidate)):
            return Path(candidate)
    for pattern in JDK_GLOBS:
        for found in sorted(glob.glob(pattern)):
            if _is_jdk25(Path(found)):
                return Path(found)
    raise RuntimeError(
        "no JDK 25 found: install Temurin 25 (make run does) or set GRAALVISOR_JAVA_HOME to one"
    )


def _is_jdk25(home: Path) -> bool:
    release = home / "release"
    if not (home / "lib" / "server" / "libjvm.so").exists() or not release.exists():
        return False
    return 'JAVA_VERSION="25' in release.read_text()


def jvm_arguments(isolates_dir: Path, heap_mb: int, code_cache_mb: int,
                  jit_priority: bool = True) -> tuple[list[str], list[str]]:
    """The JVM options and the class path: polyglot jars on the class path, the Graal compiler
    on the upgrade module path so Truffle uses its optimizing runtime."""
    jar = isolates_jar(isolates_dir)
    upgrade = isolates_dir / "upgrade"
    if not upgrade.is_dir():
        raise RuntimeError(f"isolates are not built ({upgrade} missing): run `make build`")
    classpath = [str(jar), *sorted(glob.glob(str(isolates_dir / "lib" / "*.jar")))]
    options = [
        "--enable-native-access=ALL-UNNAMED",
        "--sun-misc-unsafe-memory-access=allow",
        "-XX:+UnlockExperimentalVMOptions",
        "-XX:+EnableJVMCI",
        f"--upgrade-module-path={upgrade}",
        f"-Xmx{heap_mb}m",
        # Serial GC gives committed heap back after a collection: a parked worker dumps only
        # what it uses, and an idle worker's RSS stays near its live data.
        "-XX:+UseSerialGC",
        "-Xms32m",
        "-XX:MinHeapFreeRatio=10",
        "-XX:MaxHeapFreeRatio=30",
        # Survivor spaces that hold the data of the calls in flight: with the defaults (each a
        # tenth of the young generation, the tenuring threshold cut once one is half full) a
        # call's working set was promoted at the young collection it met and died in the old
        # generation, which then filled every 7 s under two heavy JS callers, each full
        # collection stopping every call 0.66-1.11 s (DESIGN.md, "Where a worker's memory goes").
        "-XX:SurvivorRatio=2",
        "-XX:TargetSurvivorRatio=90",
        # JPype calls System.gc() whenever the process's malloc'd memory grew by 10 MB: 27-33 full
        # collections in a worker loading 105 versions, 0.3-1.4 s each with every call stopped.
        # The worker's own collections (Isolates.shrinkHeap) go through GC.run, which this leaves on.
        "-XX:+DisableExplicitGC",
        # HotSpot unloads compiled code that has not run for a while at a collection. A rolling
        # image's template collects before every dump, so a version compiled a generation or two
        # earlier reached the clones without its Truffle-compiled code and ran interpreted again
        # (html-python 659 ms first call, 213-248 ms after, against 46 and 32-43 ms with this).
        "-XX:-UseCodeCacheFlushing",
        f"-XX:ReservedCodeCacheSize={code_cache_mb}m",
        "-XX:-UsePerfData",  # no hsperfdata file: smaller snapshots, nothing on disk to restore
        # The invoke lane writes results from heap arrays, which the JDK copies into a temporary
        # direct buffer it then keeps for the thread: a 5 MB result would hold 5 MB a lane thread.
        "-Djdk.nio.maxCachedBufferSize=262144",
        "-Dpolyglot.engine.WarnInterpreterOnly=false",
    ]
    if jit_priority and os.geteuid() == 0:
        # Java thread priorities become nice values (root only): the JIT compiler threads (Graal's
        # and Truffle's run at MAX_PRIORITY) then go before the calls running in the interpreter
        # they are compiling for, instead of queueing behind them on a busy machine.
        options.append("-XX:ThreadPriorityPolicy=1")
    return options, classpath


def start_jvm(java_home: Path, isolates_dir: Path, heap_mb: int, code_cache_mb: int,
              jit_priority: bool = True) -> None:
    import jpype

    options, classpath = jvm_arguments(isolates_dir, heap_mb, code_cache_mb, jit_priority)
    jpype.startJVM(str(java_home / "lib" / "server" / "libjvm.so"), *options, classpath=classpath,
                   convertStrings=True)
