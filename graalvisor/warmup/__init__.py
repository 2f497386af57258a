"""The warm-up corpus of the base image: JavaScript and Python sources that exercise each language
implementation broadly (and the standard library functions lean on), and the Java handler path
(dev.graalvisor.isolates.Warmup, inside the isolates jar)."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def source(language: str) -> str:
    return (HERE / {"js": "corpus.js", "python": "corpus.py"}[language]).read_text(encoding="utf-8")
