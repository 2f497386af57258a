"""The JSON body of ``PUT /functions/{name}``, built in one place for every client: the CLI,
the example deployer, the tests and the benchmarks (graalvisor and the baseline take the same body).

A source file travels as text; an archive (a .zip, or a Java .jar) as base64 with ``binary``.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

# A .zip may hold JS or Python: its language must be given.
LANGUAGES = {".js": "js", ".mjs": "js", ".cjs": "js", ".py": "python", ".jar": "java"}
# Local file header, and the end record of an empty archive.
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


class UnknownLanguage(ValueError):
    """A file whose suffix does not tell its language."""


def language_of(path: Path) -> str:
    try:
        return LANGUAGES[path.suffix.lower()]
    except KeyError:
        raise UnknownLanguage(f"cannot tell the language of {path.name}: give it explicitly") from None


def is_binary(code: bytes) -> bool:
    """An archive, or anything that is not UTF-8 text, has to travel as base64."""
    if code.startswith(ZIP_MAGIC):
        return True
    try:
        code.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def upload_body(language: str, code: bytes | str, **config: Any) -> dict[str, Any]:
    """The body for ``code`` in ``language``; ``config`` adds the function's settings as the API
    names them (entrypoint, timeout_ms, memory_mb, concurrency, isolation, env)."""
    if isinstance(code, str):
        text, binary = code, False
    else:
        binary = is_binary(code)
        text = base64.b64encode(code).decode("ascii") if binary else code.decode("utf-8")
    return {"language": language, "code": text, "binary": binary, **config}


def file_upload(path: Path, language: str | None = None, **config: Any) -> dict[str, Any]:
    """The body for a file on disk, its language from its suffix unless given."""
    return upload_body(language or language_of(path), path.read_bytes(), **config)
