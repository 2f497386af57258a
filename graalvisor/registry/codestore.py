"""Content-addressed artifacts: ``code/<sha256>``, written atomically, never changed in place."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class CodeStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        final = self.path(digest)
        if final.exists():
            return digest
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, final)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        dir_fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself must survive a crash
        finally:
            os.close(dir_fd)
        return digest

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def remove_unreferenced(self, referenced: set[str]) -> int:
        removed = 0
        for entry in self.root.iterdir():
            if entry.name.startswith(".upload-") or entry.name not in referenced:
                entry.unlink(missing_ok=True)
                removed += 1
        return removed
