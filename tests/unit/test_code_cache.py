"""The rolling image's word on the code cache: compiled code is never flushed, so a full cache
means nothing more is compiled, and the operator is told before that."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from graalvisor.pool.rolling import _check_code_cache
from graalvisor.worker.jvm import jvm_arguments


def test_a_nearly_full_code_cache_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="graalvisor.pool"):
        _check_code_cache(60_000_000, 240_000_000, 144)
        _check_code_cache(220_000_000, 240_000_000, 700)
        _check_code_cache(0, 0, 3)  # a worker that did not report it: nothing to say
    levels = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert levels[0] == (logging.INFO, "rolling image: compiled code 60 of 240 MB with 144 versions")
    assert levels[1][0] == logging.WARNING and "--code-cache-mb" in levels[1][1] and "700 versions" in levels[1][1]
    assert len(levels) == 2


def test_the_code_cache_size_reaches_the_jvm(tmp_path: Path) -> None:
    isolates = tmp_path / "target"
    (isolates / "upgrade").mkdir(parents=True)
    (isolates / "isolates-0.1.0.jar").write_bytes(b"")
    options, _ = jvm_arguments(isolates, 512, 400)
    assert "-XX:ReservedCodeCacheSize=400m" in options and "-XX:-UseCodeCacheFlushing" in options
