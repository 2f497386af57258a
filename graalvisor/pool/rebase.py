"""Rebases a CRIU image's private anonymous memory onto a file, so a restore maps it instead of
copying it.

A plain restore reads every dumped page into fresh anonymous memory: about 400 MB for a warmed
worker, 200+ ms of page faults and copying on these machines, on every restore. After a rebase
the image's big anonymous regions are private mappings of one sparse file (``memory.bin``) laid
out exactly as the process saw them: CRIU maps that file (an O(1) mmap per region), a clone
reads pages straight from the page cache on first touch, and copies a page only when it writes
to it. Clones of one image share every page none of them wrote.

Why this is sound: a page that was not in the dump is a hole in the file and reads as zero, as
it did before. What changes is what MADV_DONTNEED does later: in a private file mapping it
brings back the page from the file instead of a zero page. Nothing in the worker relies on the
zeroing: HotSpot commits and uncommits heap, metaspace and code cache with mmap, glibc clears
reused memory in calloc (it takes only never-touched memory as zero, and that is a hole), and
CPython's arenas are mmap/munmap. The data pages of libraries that the process wrote to move
too (the library's bytes, then the written pages over them); stacks, code and the kernel's
special areas are left as they are.

The file must never change while clones map it: images are written once and only ever removed
whole (a clone keeps an unlinked file alive).
"""

from __future__ import annotations

import bisect
import errno
import mmap
import os
import sys
from pathlib import Path
from typing import Any

from graalvisor.config import REPO_ROOT

PAGE = mmap.PAGESIZE
MEMORY_FILE = "memory.bin"

# criu/include/image.h and pagemap.h
VMA_AREA_REGULAR = 1 << 0
VMA_AREA_HEAP = 1 << 5
VMA_FILE_PRIVATE = 1 << 6
VMA_ANON_PRIVATE = 1 << 9
PE_PRESENT = 1 << 2
PROT_EXEC = 0x4
MAP_ANONYMOUS = 0x20
MAP_GROWSDOWN = 0x100


class RebaseError(Exception):
    pass


class RebaseUnavailable(RebaseError):
    """pycriu is missing: images stay as CRIU wrote them."""


def _images() -> Any:
    """pycriu's image codec, built with CRIU by scripts/install-criu.sh."""
    lib = REPO_ROOT / ".cache" / "criu" / "lib"
    if str(lib) not in sys.path:
        sys.path.insert(0, str(lib))
    try:
        from pycriu import images
    except ImportError as e:
        raise RebaseUnavailable(f"pycriu is not installed in {lib} (make run builds it with CRIU): {e}") from e
    return images


def rebase(directory: Path) -> int:
    """Rewrites the single-process image in ``directory`` in place; returns how many memory
    regions now map the image's memory file (SnapshotStore reads the sizes from disk).

    A worker restored from a rebased image maps another image's memory file; its own dump then
    holds only the pages it wrote. Those regions are folded in too (the other file's content,
    then the dumped pages over it), so every image stands alone and can outlive the one it came
    from."""
    images = _images()

    def load(name: str) -> dict[str, Any]:
        with (directory / name).open("rb") as f:
            return dict(images.load(f))

    def dump(name: str, image: dict[str, Any]) -> None:
        tmp = directory / f".{name}.tmp"
        with tmp.open("wb") as f:
            images.dump(image, f)
        os.replace(tmp, directory / name)

    tasks = load("pstree.img")["entries"]
    if len(tasks) != 1:
        raise RebaseError(f"expected one process in the image, found {len(tasks)}")
    mm_name = next(p.name for p in directory.glob("mm-*.img"))
    task_id = mm_name[3:-4]
    mm_image = load(mm_name)
    pagemap_image = load(f"pagemap-{task_id}.img")
    files_image = load("files.img")
    header, *entries = pagemap_image["entries"]
    pages_path = directory / f"pages-{header['pages_id']}.img"

    regular_files = {f["id"]: f["reg"]["name"] for f in files_image["entries"] if f.get("type") == "REG"}
    memory_files = {i: name for i, name in regular_files.items() if name.endswith("/" + MEMORY_FILE)}
    vmas = mm_image["entries"][0]["vmas"]
    written = _with_pages(vmas, entries)
    chosen = sorted((i for i, v in enumerate(vmas) if _movable(v, i in written, regular_files, memory_files)),
                    key=lambda i: vmas[i]["start"])
    starts = [vmas[i]["start"] for i in chosen]
    offsets: dict[int, int] = {}
    size = 0
    for i in chosen:
        offsets[i] = size
        size += vmas[i]["end"] - vmas[i]["start"]

    memory_path = directory / MEMORY_FILE
    new_pages = directory / ".pages.tmp"
    kept_runs: list[list[int]] = []  # [vaddr, nr_pages, flags] left in pages.img, in order
    with memory_path.open("wb") as memory:
        memory.truncate(size)
        for i in chosen:  # file mappings start as their file's content; the dumped pages go over it
            if vmas[i]["status"] & VMA_FILE_PRIVATE:
                with open(regular_files[vmas[i]["shmid"]], "rb") as backing:
                    _copy_data(backing.fileno(), vmas[i]["pgoff"], memory.fileno(), offsets[i],
                               vmas[i]["end"] - vmas[i]["start"])
        with pages_path.open("rb") as src, new_pages.open("wb") as kept:
            for entry in entries:
                flags = entry.get("flags", 0)
                if not flags & PE_PRESENT:
                    raise RebaseError(f"pagemap entry without pages (flags {flags}): incremental images "
                                      "are not rebased")
                vaddr, left = entry["vaddr"], entry["nr_pages"]
                while left:
                    j = _last_at_or_before(vaddr, starts)
                    region = chosen[j] if j is not None else None
                    if region is not None and vaddr < vmas[region]["end"]:
                        n = min(left, (vmas[region]["end"] - vaddr) // PAGE)
                        data = src.read(n * PAGE)
                        os.pwrite(memory.fileno(), data, offsets[region] + vaddr - vmas[region]["start"])
                    else:  # stays, up to where the next chosen region begins
                        following = (j + 1) if j is not None else 0
                        n = left if following >= len(starts) else min(left, (starts[following] - vaddr) // PAGE)
                        kept.write(src.read(n * PAGE))
                        last = kept_runs[-1] if kept_runs else None
                        if last and last[2] == flags and last[0] + last[1] * PAGE == vaddr:
                            last[1] += n
                        else:
                            kept_runs.append([vaddr, n, flags])
                    vaddr += n * PAGE
                    left -= n
            kept.flush()
            os.fsync(kept.fileno())
        memory.flush()
        os.fsync(memory.fileno())

    file_id = 1 + max((f["id"] for f in files_image["entries"]), default=0)
    files_image["entries"] = [f for f in files_image["entries"] if f["id"] not in memory_files]
    files_image["entries"].append({"type": "REG", "id": file_id, "reg": {
        "id": file_id, "flags": os.O_RDONLY, "pos": 0,
        "fown": {"uid": 0, "euid": 0, "signum": 0, "pid_type": 0, "pid": 0},
        "name": str(memory_path.resolve()), "size": size, "mode": 0o100400}})
    for i in chosen:
        v = vmas[i]
        v["status"] = VMA_AREA_REGULAR | VMA_FILE_PRIVATE
        v["flags"] &= ~MAP_ANONYMOUS
        v["shmid"] = file_id
        v["pgoff"] = offsets[i]
        v["fdflags"] = os.O_RDONLY
    pagemap_image["entries"] = [header] + [{"vaddr": a, "nr_pages": n, "flags": f} for a, n, f in kept_runs]

    # pages.img and the pagemap must agree: both are swapped in last, one right after the other,
    # and the caller discards an image whose rebase raised.
    dump("files.img", files_image)
    dump(mm_name, mm_image)
    dump(f"pagemap-{task_id}.img", pagemap_image)
    os.replace(new_pages, pages_path)
    memory_path.chmod(0o400)
    return len(chosen)


def _with_pages(vmas: list[dict[str, Any]], entries: list[dict[str, Any]]) -> set[int]:
    """Indexes of the VMAs that have pages in the dump."""
    order = sorted(range(len(vmas)), key=lambda i: vmas[i]["start"])
    starts = [vmas[i]["start"] for i in order]
    found: set[int] = set()
    for entry in entries:
        vaddr, end = entry["vaddr"], entry["vaddr"] + entry["nr_pages"] * PAGE
        j = bisect.bisect_right(starts, vaddr) - 1
        while 0 <= j < len(order) and vmas[order[j]]["start"] < end:
            if vmas[order[j]]["end"] > vaddr:
                found.add(order[j])
            j += 1
    return found


def _movable(vma: dict[str, Any], written: bool, regular_files: dict[int, str], memory_files: dict[int, str]) -> bool:
    if vma["flags"] & MAP_GROWSDOWN or vma["prot"] == 0:
        return False
    if vma["status"] == VMA_AREA_REGULAR | VMA_FILE_PRIVATE:
        # An earlier image's memory, or a library's data pages that the process wrote to (each
        # otherwise copied at every restore). Code stays mapped from its own file.
        return vma["shmid"] in memory_files or (
            written and not vma["prot"] & PROT_EXEC and vma["shmid"] in regular_files)
    # The brk heap moves too: brk() past a file mapping just starts a new anonymous one.
    return vma["status"] in (VMA_AREA_REGULAR | VMA_ANON_PRIVATE, VMA_AREA_REGULAR | VMA_AREA_HEAP | VMA_ANON_PRIVATE)


def _copy_data(src: int, src_off: int, dst: int, dst_off: int, length: int) -> None:
    """Copies [src_off, src_off + length) of ``src`` to ``dst_off``, leaving its holes holes."""
    end, pos = src_off + length, src_off
    while pos < end:
        try:
            data = os.lseek(src, pos, os.SEEK_DATA)
        except OSError as e:  # ENXIO: nothing but a hole from here on
            if e.errno == errno.ENXIO:
                return
            raise
        if data >= end:
            return
        hole = min(os.lseek(src, data, os.SEEK_HOLE), end)
        done = 0
        while done < hole - data:
            n = os.copy_file_range(src, dst, hole - data - done, data + done, dst_off + data - src_off + done)
            if n == 0:
                raise RebaseError("the earlier memory file is shorter than its mappings")
            done += n
        pos = hole


def _last_at_or_before(vaddr: int, starts: list[int]) -> int | None:
    """Index of the last chosen region starting at or before ``vaddr``."""
    j = bisect.bisect_right(starts, vaddr) - 1
    return j if j >= 0 else None
