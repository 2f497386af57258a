"""The image store on disk, without CRIU or a JVM: images are folders of stand-in files."""

from __future__ import annotations

import itertools
import shutil
import types
from pathlib import Path

import pytest

from graalvisor.pool import snapshots
from graalvisor.pool.rebase import MEMORY_FILE
from graalvisor.pool.snapshots import Snapshot, SnapshotStore

RUNTIME, OTHER_RUNTIME = "r1", "r0"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creation times one second apart, so "the newest image" never depends on clock resolution."""
    ticks = itertools.count(1000)
    monkeypatch.setattr(snapshots, "time", types.SimpleNamespace(time=lambda: float(next(ticks))))


def dump(store: SnapshotStore, kind: str = "base", runtime: str = RUNTIME, function_key: str | None = None,
         pages: int = 3) -> Snapshot:
    """What a dump leaves: CRIU's files in a new folder, then the store's meta."""
    snap_id, path = store.new_dir()
    path.mkdir()
    (path / MEMORY_FILE).write_bytes(b"\1" * 8192)
    (path / "pages-1.img").write_bytes(b"\2" * 4096 * pages)
    (path / "core-1.img").write_bytes(b"core")
    return store.add(snap_id, kind, runtime, function_key, 0.123456, 11, 12)


def test_add_records_what_is_on_disk(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "images")
    snap = dump(store, pages=3)
    path = Path(snap.path)
    assert path.parent == tmp_path / "images" and (path / "meta.json").exists()
    assert not (path / "meta.json.tmp").exists()
    assert snap.copied_bytes == 3 * 4096  # pages CRIU copies at restore
    assert snap.mapped_bytes >= 8192 and snap.size_bytes >= snap.mapped_bytes + snap.copied_bytes
    assert snap.dump_s == 0.1235 and (snap.wake_pipe, snap.stderr_pipe) == (11, 12)
    assert "wake_pipe" not in snap.to_dict() and snap.to_dict()["id"] == snap.id
    assert store.all() == [snap]


def test_a_copied_data_dir_drops_its_images_and_leaves_the_originals(tmp_path: Path) -> None:
    original = SnapshotStore(tmp_path / "a")
    snap = dump(original, runtime=OTHER_RUNTIME)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copy = SnapshotStore(tmp_path / "b")
    assert copy.all() == [] and not (tmp_path / "b" / snap.id).exists()
    assert copy.remove_stale(RUNTIME, set()) == []
    assert Path(snap.path).is_dir() and SnapshotStore(tmp_path / "a").all() == [snap]


def test_images_survive_reopening_and_half_dumps_do_not(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    base, fn = dump(store), dump(store, "function", function_key="f@1")
    unfinished = tmp_path / "deadbeef0000"
    unfinished.mkdir()
    (unfinished / "pages-1.img").write_bytes(b"x")
    corrupt = tmp_path / "0123456789ab"
    corrupt.mkdir()
    (corrupt / "meta.json").write_text("{not json")
    reopened = SnapshotStore(tmp_path)
    assert reopened.all() == [base, fn]  # oldest first
    assert not unfinished.exists() and not corrupt.exists()


def test_base_is_the_newest_of_this_runtime(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    assert store.base(RUNTIME) is None
    old = dump(store)
    new = dump(store)
    dump(store, runtime=OTHER_RUNTIME)
    dump(store, "function", function_key="f@1")  # a function image is never a base
    assert store.base(RUNTIME) == new
    assert store.remove(new.id) and not Path(new.path).exists()
    assert store.base(RUNTIME) == old
    assert not store.remove(new.id)  # already gone
    assert store.base("r-unknown") is None


def test_function_images_are_keyed_by_runtime_and_version(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    dump(store)  # the base
    v1 = dump(store, "function", function_key="f@1")
    v1_newer = dump(store, "function", function_key="f@1")
    g = dump(store, "function", function_key="g@1")
    dump(store, "function", runtime=OTHER_RUNTIME, function_key="f@2")
    assert store.for_function(RUNTIME, "f@1") == v1_newer
    assert store.for_function(RUNTIME, "g@1") == g
    assert store.for_function(RUNTIME, "f@2") is None  # only another runtime's
    assert store.for_function(OTHER_RUNTIME, "g@1") is None
    assert store.remove(v1_newer.id)
    assert store.for_function(RUNTIME, "f@1") == v1


def test_remove_stale_keeps_only_what_this_runtime_still_serves(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    base = dump(store)
    live = dump(store, "function", function_key="f@2")
    dead = dump(store, "function", function_key="f@1")  # an old version of f
    other_base = dump(store, runtime=OTHER_RUNTIME)
    other_fn = dump(store, "function", runtime=OTHER_RUNTIME, function_key="f@2")
    removed = store.remove_stale(RUNTIME, {"f@2", "g@1"})
    assert sorted(removed) == sorted([dead.id, other_base.id, other_fn.id])
    assert store.all() == [base, live]
    assert not any(Path(s.path).exists() for s in (dead, other_base, other_fn))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([base.id, live.id])
    assert store.remove_stale(RUNTIME, {"f@2"}) == []
    assert SnapshotStore(tmp_path).all() == [base, live]  # and the folder agrees
