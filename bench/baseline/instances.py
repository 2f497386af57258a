"""Runtime processes of the baseline: how to start one per language and talk to it over a pipe."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.replay.suite import BUILD_DIR, gson_jar, java_home

HOSTS = Path(__file__).resolve().parent / "hosts"
# A JVM per instance sized like an OpenWhisk action container (256 MB default memory limit).
JVM_FLAGS = ("-XX:+UseSerialGC", "-Xmx256m", "-XX:-UsePerfData", "-Xshare:auto")
LINE_LIMIT = 64 * 1024 * 1024


def build_java_host() -> Path:
    """Compile Host.java once into build/bench/host-classes."""
    out = BUILD_DIR / "host-classes"
    src = HOSTS / "Host.java"
    if (out / "Host.class").exists() and (out / "Host.class").stat().st_mtime >= src.stat().st_mtime:
        return out
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run([str(java_home() / "bin" / "javac"), "--release", "21", "-nowarn", "-d", str(out),
                    "-cp", str(gson_jar()), str(src)], check=True, capture_output=True)
    return out


def command(language: str, code_path: Path, entrypoint: str) -> list[str]:
    if language == "js":
        return [shutil.which("node") or "node", str(HOSTS / "host.js"), str(code_path), entrypoint]
    if language == "python":
        # -I -S: stdlib only, no site-packages; what an OpenWhisk python action needs, nothing more
        return [sys.executable, "-I", "-S", str(HOSTS / "host.py"), str(code_path), entrypoint]
    if language == "java":
        cp = f"{build_java_host()}:{gson_jar()}"
        return [str(java_home() / "bin" / "java"), *JVM_FLAGS, "-cp", cp, "Host", str(code_path), entrypoint]
    raise ValueError(f"unknown language {language!r}")


class InstanceError(RuntimeError):
    pass


@dataclass(eq=False)
class Instance:
    function: str
    proc: asyncio.subprocess.Process
    boot_s: float
    last_used: float = field(default_factory=time.monotonic)
    invocations: int = 0
    language: str = ""
    pss: int = 0  # measured by the pool's memory sampler; 0 until then

    @classmethod
    async def start(cls, function: str, cmd: list[str]) -> Instance:
        t0 = time.perf_counter()
        proc = await asyncio.create_subprocess_exec(
            *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, limit=LINE_LIMIT)
        inst = cls(function, proc, 0.0)
        hello = await inst._read()
        if not hello.get("ready"):
            await inst.stop()
            raise InstanceError(f"instance of {function} failed to load: {hello.get('error', hello)}")
        inst.boot_s = time.perf_counter() - t0
        return inst

    async def _read(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = await self.proc.stdout.readline()
        if not line:
            raise InstanceError(f"instance of {self.function} (pid {self.proc.pid}) exited")
        reply: dict[str, object] = json.loads(line)
        return reply

    async def invoke(self, params: dict[str, object]) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(params).encode() + b"\n")
        await self.proc.stdin.drain()
        reply = await self._read()
        self.invocations += 1
        self.last_used = time.monotonic()
        return reply

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()
        await self.proc.wait()
