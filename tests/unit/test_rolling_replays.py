"""A rolling image keeps its versions' warm-up params beside it, so a later process's rounds in
turn call the versions imaged before it started."""
import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from graalvisor.config import Config
from graalvisor.pool.rolling import REPLAYS_FILE, RollingImage, load_replays, save_replays
from graalvisor.pool.snapshots import Snapshot
from graalvisor.pool.templates import Replay


def warm_image(path: Path, keys: list[str]) -> Snapshot:
    path.mkdir(parents=True, exist_ok=True)
    return Snapshot("gen1", "warm", "rt", None, 0.0, 0, 0.0, 0, 0, str(path), function_keys=keys)


def test_replays_are_kept_beside_the_image_and_read_back_for_the_versions_it_holds(tmp_path: Path) -> None:
    snap = warm_image(tmp_path / "gen1", ["a", "b"])
    a = Replay((b'{"n": 1}', b"\xff\x00 not utf-8"), {"__OW_NAMESPACE": "guest"}, 5000)
    b = Replay((b"{}",), {}, 60000)
    save_replays(snap, {"a": a, "b": b, "not-held": b})
    assert (tmp_path / "gen1" / REPLAYS_FILE).exists()
    assert not list((tmp_path / "gen1").glob("*.tmp"))
    assert load_replays(snap) == {"a": a, "b": b}, "only the versions the image lists"


def test_an_image_without_replays_or_with_a_broken_file_gives_none(tmp_path: Path) -> None:
    snap = warm_image(tmp_path / "gen1", ["a"])
    assert load_replays(snap) == {}
    for broken in ("{not json", '{"a": {"samples": [], "env": {}, "timeout_ms": 1}}',
                   '{"a": {"samples": ["%%%"], "env": {}, "timeout_ms": 1}}', '["a"]',
                   '{"a": {"samples": ["e30="], "env": {"K": 1}, "timeout_ms": 1}}'):
        (tmp_path / "gen1" / REPLAYS_FILE).write_text(broken)
        assert load_replays(snap) == {}, broken


def test_a_new_process_calls_the_older_versions_in_its_rounds(tmp_path: Path) -> None:
    older = Replay((b'{"n": 2}',), {}, 1000)
    gone = Replay((b"{}",), {}, 1000)
    image = warm_image(tmp_path / "gen1", ["older", "deleted"])
    save_replays(image, {"older": older, "deleted": gone})
    store = SimpleNamespace(warm=lambda runtime: image, remove=lambda snap_id: True)
    templates = SimpleNamespace(store=store, runtime_key="rt")
    r = RollingImage(Config(data_dir=tmp_path), templates)  # type: ignore[arg-type]
    r.is_current = lambda key: key != "deleted"
    known: list[dict[str, Replay]] = []

    async def next_generation(batch: dict[str, Replay]) -> Any:
        known.append(dict(r._replays))
        r._replays.update(batch)  # as _warm_one does for each version it warms

    r._next_generation = next_generation  # type: ignore[method-assign]
    new = Replay((b'{"n": 3}',), {}, 1000)
    r._waiting = {"new": new}
    asyncio.run(r._run())
    assert known == [{"older": older}], "the still-served versions of the newest image, before it warms"
    # the process's own replays win over the file's from then on
    r._replays["older"] = Replay((b'{"n": 9}',), {}, 1000)
    r._waiting = {"newer": new}
    asyncio.run(r._run())
    assert known[1]["older"].samples == (b'{"n": 9}',)


def test_a_replay_file_that_cannot_be_written_costs_only_the_rounds(tmp_path: Path) -> None:
    snap = warm_image(tmp_path / "gen1", ["a"])
    (tmp_path / "gen1" / "replays.tmp").mkdir()  # the write fails
    save_replays(snap, {"a": Replay((b"{}",), {}, 1000)})  # logs, raises nothing
    assert load_replays(snap) == {}
