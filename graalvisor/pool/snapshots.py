"""The images on disk: ``snapshots/<id>/`` holds CRIU's files and ``meta.json`` saying what
the image contains. A base image is keyed by the runtime; a function image by the version
key of the function it has loaded and warmed."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from graalvisor import __version__
from graalvisor.config import REPO_ROOT, Config, isolates_jar
from graalvisor.pool.rebase import MEMORY_FILE


@dataclass
class Snapshot:
    id: str
    kind: str  # base | function | warm (the base plus every warmed version: the rolling image)
    runtime_key: str
    function_key: str | None
    created_at: float
    size_bytes: int
    dump_s: float
    wake_pipe: int  # inodes of the pipes the dumped worker held, replaced at restore
    stderr_pipe: int
    path: str
    # Memory a restore maps from the image's memory file, and what it still copies page by page.
    mapped_bytes: int = 0
    copied_bytes: int = 0
    function_keys: list[str] = field(default_factory=list)  # a warm image: the versions it holds compiled

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("wake_pipe", "stderr_pipe")}


def runtime_key(config: Config) -> str:
    """Everything that shapes a worker's memory: a change to any of it makes images stale."""
    h = hashlib.sha256()
    h.update(f"{__version__} {sys.version} {config.worker_heap_mb} {config.python_blanks} {config.js_blanks}".encode())
    h.update(f" {config.base_warmup_s} {config.jit_priority} {config.code_cache_mb}".encode())
    for path in sorted([*(REPO_ROOT / "graalvisor").rglob("*.py"), *(REPO_ROOT / "graalvisor").rglob("*.js")]):
        h.update(path.read_bytes())
    h.update(isolates_jar(config.isolates_dir).read_bytes())
    for folder in ("lib", "upgrade"):
        for lib in sorted((config.isolates_dir / folder).glob("*.jar")):
            h.update(lib.name.encode())
    return h.hexdigest()[:16]


class SnapshotStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._by_id: dict[str, Snapshot] = {}
        for meta in root.glob("*/meta.json"):
            try:
                snap = Snapshot(**json.loads(meta.read_text()))
            except (ValueError, TypeError):
                shutil.rmtree(meta.parent, ignore_errors=True)  # a dump that never finished
                continue
            if Path(snap.path).resolve() != meta.parent.resolve():
                # A data dir copied or moved: the image names files by absolute path, so it
                # cannot restore from here, and removing it by its path would delete the original.
                shutil.rmtree(meta.parent, ignore_errors=True)
                continue
            self._by_id[snap.id] = snap
        for leftover in root.iterdir():
            if leftover.is_dir() and leftover.name not in self._by_id:
                shutil.rmtree(leftover, ignore_errors=True)

    def new_dir(self) -> tuple[str, Path]:
        snap_id = uuid.uuid4().hex[:12]
        return snap_id, self.root / snap_id

    def add(self, snap_id: str, kind: str, runtime: str, function_key: str | None, dump_s: float,
            wake_pipe: int, stderr_pipe: int, function_keys: list[str] | None = None) -> Snapshot:
        path = self.root / snap_id
        # Blocks in use, not lengths: the memory file is sparse.
        size = sum(f.stat().st_blocks * 512 for f in path.iterdir() if f.is_file())
        mapped = sum(f.stat().st_blocks * 512 for f in path.glob(MEMORY_FILE))
        copied = sum(f.stat().st_size for f in path.glob("pages-*.img"))
        snap = Snapshot(snap_id, kind, runtime, function_key, time.time(), size, round(dump_s, 4),
                        wake_pipe, stderr_pipe, str(path), mapped_bytes=mapped, copied_bytes=copied,
                        function_keys=list(function_keys or []))
        tmp = path / "meta.json.tmp"
        tmp.write_text(json.dumps(asdict(snap)))
        tmp.rename(path / "meta.json")  # the image counts only once its meta is complete
        self._by_id[snap_id] = snap
        return snap

    def all(self) -> list[Snapshot]:
        return sorted(self._by_id.values(), key=lambda s: s.created_at)

    def base(self, runtime: str) -> Snapshot | None:
        found = [s for s in self._by_id.values() if s.kind == "base" and s.runtime_key == runtime]
        return max(found, key=lambda s: s.created_at) if found else None

    def warm(self, runtime: str) -> Snapshot | None:
        """The newest rolling image: the base plus every version compiled in so far."""
        found = [s for s in self._by_id.values() if s.kind == "warm" and s.runtime_key == runtime]
        return max(found, key=lambda s: s.created_at) if found else None

    def for_function(self, runtime: str, function_key: str) -> Snapshot | None:
        found = [s for s in self._by_id.values()
                 if s.kind == "function" and s.runtime_key == runtime and s.function_key == function_key]
        return max(found, key=lambda s: s.created_at) if found else None

    def remove(self, snap_id: str) -> bool:
        snap = self._by_id.pop(snap_id, None)
        if snap is None:
            return False
        shutil.rmtree(snap.path, ignore_errors=True)
        return True

    def remove_stale(self, runtime: str, live_function_keys: set[str]) -> list[str]:
        """Drops images of another runtime, and function images of versions no longer served."""
        stale = [s.id for s in self._by_id.values()
                 if s.runtime_key != runtime or (s.kind == "function" and s.function_key not in live_function_keys)]
        for snap_id in stale:
            self.remove(snap_id)
        return stale
