"""Options defined once: the serve flags and a worker's command line come from Config."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from graalvisor.cli import add_config_flags
from graalvisor.config import Config, isolates_jar, worker_flags


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_config_flags(parser)
    return parser.parse_args(list(argv))


def test_flag_defaults_are_configs_defaults(tmp_path: Path) -> None:
    args = parse("--data-dir", str(tmp_path))
    config = Config(**vars(args))
    default = Config(data_dir=tmp_path)
    assert config == default


def test_flags_set_fields(tmp_path: Path) -> None:
    args = parse("--data-dir", str(tmp_path), "--workers", "3", "--no-snapshots", "--copy-images",
                 "--snapshot-after", "7", "--keep-alive-s", "1.5")
    config = Config(**vars(args))
    assert (config.workers, config.snapshots, config.map_images) == (3, False, False)
    assert (config.snapshot_after_calls, config.keep_alive_s) == (7, 1.5)
    assert config.max_workers >= 3


def test_worker_args_cover_every_worker_flag(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path, java_home="/opt/jdk", worker_threads=5)
    args = config.worker_args()
    given = dict(zip(args[::2], args[1::2], strict=True))
    assert set(given) == set(worker_flags())
    assert given["--threads"] == "5"
    assert given["--java-home"] == "/opt/jdk"


def test_isolates_jar_fails_loudly(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="no isolates jar"):
        isolates_jar(tmp_path)
    (tmp_path / "isolates-1.0.jar").write_bytes(b"")
    (tmp_path / "isolates-1.0-sources.jar").write_bytes(b"")
    assert isolates_jar(tmp_path).name == "isolates-1.0.jar"
    (tmp_path / "isolates-2.0.jar").write_bytes(b"")
    with pytest.raises(RuntimeError, match="2 isolates jars"):
        isolates_jar(tmp_path)


def test_fastapi_telemetry_is_off_unless_asked_for(tmp_path: Path) -> None:
    from graalvisor.api.app import create_app

    assert not Config(data_dir=tmp_path).telemetry and Config(**vars(parse("--data-dir", str(tmp_path),
                                                                           "--telemetry"))).telemetry

    def telemetry_of(config: Config) -> dict[str, object]:
        # FastAPI keeps its resolved settings in a private field: no public way to read them back.
        return dict(create_app(config)._telemetry)

    off, on = telemetry_of(Config(data_dir=tmp_path)), telemetry_of(Config(data_dir=tmp_path, telemetry=True))
    assert not any(off[k] for k in ("tracing", "metrics", "logs", "operation_spans")), off
    assert all(on[k] for k in ("tracing", "metrics", "logs")), on
