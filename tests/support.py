"""Test helpers: a real daemon (graalvisor.launcher) on a free loopback port, Java jars compiled
on the fly, and uploads whose status is checked."""

from __future__ import annotations

import contextlib
import io
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from graalvisor.config import REPO_ROOT
from graalvisor.launcher import Daemon, running_daemon
from graalvisor.uploads import upload_body
from graalvisor.worker.jvm import find_java_home

__all__ = ["Daemon", "build_jar", "deploy", "java_upload", "js_upload", "python_upload", "run_daemon"]

# A smaller heap than the default, so several test daemons fit; extra workers stop soon when idle.
# Base images warm with a hello only (the corpus would take a core for a minute or more per
# daemon), and versions are not compiled into a rolling image (a template per new function, and
# members swapped under the tests' feet); test_snapshots.py runs each of those once.
TEST_FLAGS = ("--worker-heap-mb", "768", "--keep-alive-s", "30", "--base-warmup-s", "0", "--no-warm-versions")


@contextlib.contextmanager
def run_daemon(data_dir: Path, workers: int = 2, extra: list[str] | None = None) -> Iterator[Daemon]:
    with running_daemon(data_dir, workers, [*TEST_FLAGS, *(extra or [])]) as daemon:
        yield daemon


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
    return upload_body("java", jar, entrypoint=entrypoint, **config)


def js_upload(code: str, **config: Any) -> dict[str, Any]:
    return upload_body("js", code, **config)


def python_upload(code: str, **config: Any) -> dict[str, Any]:
    return upload_body("python", code, **config)


def deploy(client: httpx.Client, name: str, body: dict[str, Any], status: int = 201) -> dict[str, Any]:
    """PUTs a function and asserts the status: 201 for a name new to the daemon, 200 for a new version."""
    r = client.put(f"/functions/{name}", json=body)
    assert r.status_code == status, (name, r.status_code, r.text)
    reply: dict[str, Any] = r.json()
    return reply


def zipped(files: dict[str, str | bytes]) -> bytes:
    """A zip archive of the given files (path -> content), as an upload would carry it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for path, content in files.items():
            z.writestr(path, content)
    return buf.getvalue()
