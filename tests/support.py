"""Test helpers: a real daemon on a free loopback port, and Java jars compiled on the fly."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from graalvisor.config import REPO_ROOT
from graalvisor.worker.jvm import find_java_home


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Daemon:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path

    def client(self, timeout: float = 120) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 180,
                 workers: int | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daemon exited with {process.returncode}:\n{log_path.read_text()[-4000:]}")
        try:
            r = httpx.get(url + "/healthz", timeout=5)
            last = r.json()
            ready = [w for w in last["workers"] if w["ready"]]
            if r.status_code == 200 and (workers is None or len(ready) >= workers):
                return dict(last)
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"daemon not healthy after {timeout} s: {last}\n{log_path.read_text()[-4000:]}")


@contextlib.contextmanager
def run_daemon(data_dir: Path, workers: int = 2, extra: list[str] | None = None) -> Iterator[Daemon]:
    port = free_port()
    log_path = data_dir.parent / f"daemon-{port}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "graalvisor.cli", "serve", "--port", str(port), "--data-dir", str(data_dir),
             "--workers", str(workers), "--worker-heap-mb", "768", "--keep-alive-s", "30", *(extra or [])],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT, start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, log_path, workers=workers)
        yield Daemon(url, data_dir, process, log_path)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def build_jar(sources: dict[str, str]) -> bytes:
    """Compiles Java sources (path -> text) against gson and returns the jar's bytes."""
    java_home = find_java_home()
    gson = next((REPO_ROOT / "isolates" / "target" / "lib").glob("gson-*.jar"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        paths = []
        for rel, text in sources.items():
            p = root / "src" / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            paths.append(str(p))
        subprocess.run([str(java_home / "bin" / "javac"), "--release", "21", "-d", str(root / "classes"),
                        "-cp", str(gson), *paths], check=True)
        subprocess.run([str(java_home / "bin" / "jar"), "--create", "--file", str(root / "f.jar"),
                        "-C", str(root / "classes"), "."], check=True)
        return (root / "f.jar").read_bytes()


def java_upload(jar: bytes, entrypoint: str, **config: Any) -> dict[str, Any]:
    return {"language": "java", "code": base64.b64encode(jar).decode(), "binary": True,
            "entrypoint": entrypoint, **config}
