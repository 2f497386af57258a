"""Turns an uploaded artifact into what a worker loads: source text, a zip's files, or a jar path."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from graalvisor.domain.errors import Invalid

ZIP_MAGIC = b"PK\x03\x04"


def is_archive(data: bytes) -> bool:
    return data.startswith(ZIP_MAGIC)


def check(language: str, data: bytes) -> None:
    """Rejects what no worker could load, before anything is stored."""
    if language == "java" and not is_archive(data):
        raise Invalid("a Java function must be uploaded as a jar (binary: true, base64 of the jar)")
    if is_archive(data):
        files = _unzip(data) if language != "java" else None
        if language == "python" and files is not None and "__main__.py" not in files:
            raise Invalid("a Python zip must hold __main__.py at its top level")
    elif language != "java":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Invalid(f"source code must be UTF-8 text: {e}") from None


def load_spec(key: str, language: str, entrypoint: str, isolation: str, env: dict[str, str],
              data: bytes, path: Path) -> dict[str, Any]:
    spec: dict[str, Any] = {"key": key, "language": language, "entrypoint": entrypoint,
                            "isolation": isolation, "env": env}
    if language == "java":
        spec["artifact_path"] = str(path)
    elif is_archive(data):
        spec["files"] = _unzip(data)
    else:
        spec["source"] = data.decode("utf-8")
    return spec


def _unzip(data: bytes) -> dict[str, str]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            files: dict[str, str] = {}
            for info in z.infolist():
                if info.is_dir():
                    continue
                try:
                    files[info.filename] = z.read(info).decode("utf-8")
                except UnicodeDecodeError:
                    continue  # binary assets cannot be read by a guest without a file system anyway
            return files
    except zipfile.BadZipFile as e:
        raise Invalid(f"the upload is not a valid zip: {e}") from None
