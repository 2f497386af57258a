"""The pure parts of moving an image's memory into a mapped file."""

from __future__ import annotations

import os
from pathlib import Path

from graalvisor.pool import rebase
from graalvisor.pool.rebase import PAGE, _copy_data, _last_at_or_before, _movable, _with_pages

ANON = rebase.VMA_AREA_REGULAR | rebase.VMA_ANON_PRIVATE
BRK = ANON | rebase.VMA_AREA_HEAP


def vma(status: int, flags: int = 0x22, prot: int = 3, shmid: int = 0) -> dict[str, int]:
    return {"start": 0, "end": PAGE, "status": status, "flags": flags, "prot": prot, "shmid": shmid}


def test_which_regions_move() -> None:
    files = {3: "/usr/lib/libjvm.so", 7: "/images/a/memory.bin"}
    ours = {7: files[7]}
    file_private = rebase.VMA_AREA_REGULAR | rebase.VMA_FILE_PRIVATE

    def moves(v: dict[str, int], written: bool = True) -> bool:
        return _movable(v, written, files, ours)

    assert moves(vma(ANON)) and moves(vma(BRK))
    assert moves(vma(file_private, 0x2, shmid=7), written=False)  # an earlier image's memory, all of it
    assert moves(vma(file_private, 0x2, shmid=3))  # a library's data the process wrote to
    assert not moves(vma(file_private, 0x2, shmid=3), written=False)  # untouched: already shared
    assert not moves(vma(file_private, 0x2, prot=5, shmid=3))  # code stays mapped from its file
    assert not moves(vma(ANON, flags=0x22 | rebase.MAP_GROWSDOWN))  # a stack
    assert not moves(vma(ANON, prot=0))  # reserved, never touched
    assert not moves(vma(ANON | 1 << 12))  # vvar and other kernel areas


def test_which_regions_have_dumped_pages() -> None:
    vmas = [{"start": 10 * PAGE, "end": 20 * PAGE}, {"start": 0, "end": 10 * PAGE},
            {"start": 30 * PAGE, "end": 40 * PAGE}]
    # One run across the first two regions (in address order), none in the third.
    assert _with_pages(vmas, [{"vaddr": 8 * PAGE, "nr_pages": 4}]) == {0, 1}
    assert _with_pages(vmas, [{"vaddr": 25 * PAGE, "nr_pages": 2}]) == set()


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
