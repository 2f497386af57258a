"""The pure parts of moving an image's memory into a mapped file."""

from __future__ import annotations

import os
from pathlib import Path

from graalvisor.pool import rebase
from graalvisor.pool.rebase import PAGE, _copy_data, _last_at_or_before, _movable

ANON = rebase.VMA_AREA_REGULAR | rebase.VMA_ANON_PRIVATE
BRK = ANON | rebase.VMA_AREA_HEAP


def vma(status: int, flags: int = 0x22, prot: int = 3, shmid: int = 0) -> dict[str, int]:
    return {"start": 0, "end": PAGE, "status": status, "flags": flags, "prot": prot, "shmid": shmid}


def test_which_regions_move() -> None:
    memory_files = {7: "/images/a/memory.bin"}
    assert _movable(vma(ANON), memory_files)
    assert _movable(vma(BRK), memory_files)
    assert _movable(vma(rebase.VMA_AREA_REGULAR | rebase.VMA_FILE_PRIVATE, 0x2, shmid=7), memory_files)
    # A library's own file mapping stays what it is.
    assert not _movable(vma(rebase.VMA_AREA_REGULAR | rebase.VMA_FILE_PRIVATE, 0x2, shmid=3), memory_files)
    assert not _movable(vma(ANON, flags=0x22 | rebase.MAP_GROWSDOWN), memory_files)  # a stack
    assert not _movable(vma(ANON, prot=0), memory_files)  # reserved, never touched
    assert not _movable(vma(ANON | 1 << 12), memory_files)  # vvar and other kernel areas


def test_region_lookup() -> None:
    starts = [0x1000, 0x5000, 0x9000]
    assert _last_at_or_before(0x0, starts) is None
    assert _last_at_or_before(0x1000, starts) == 0
    assert _last_at_or_before(0x4fff, starts) == 0
    assert _last_at_or_before(0x9000, starts) == 2
    assert _last_at_or_before(0xffff, starts) == 2


def test_copy_keeps_data_where_it_was_and_holes_as_holes(tmp_path: Path) -> None:
    src, dst = tmp_path / "src", tmp_path / "dst"
    with src.open("wb") as f:
        f.truncate(64 * PAGE)
        f.seek(3 * PAGE)
        f.write(b"a" * PAGE)
        f.seek(40 * PAGE)
        f.write(b"b" * 2 * PAGE)
    with dst.open("wb") as f:
        f.truncate(64 * PAGE)
    with src.open("rb") as s, dst.open("r+b") as d:
        # Pages 2..49 of src land at page 10 of dst.
        _copy_data(s.fileno(), 2 * PAGE, d.fileno(), 10 * PAGE, 48 * PAGE)
    data = dst.read_bytes()
    assert data[11 * PAGE:12 * PAGE] == b"a" * PAGE
    assert data[48 * PAGE:50 * PAGE] == b"b" * 2 * PAGE
    assert data.count(0) == len(data) - 3 * PAGE
    assert os.stat(dst).st_blocks * 512 < 16 * PAGE, "holes were filled in"
