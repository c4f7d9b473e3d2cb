"""One recording's copies into the build-id cache are bounded in all, not only one by one.

The files a traced program maps are its own choice: one that maps thousands of
deleted sparse files, each with another build id and just under the per-file cap,
made ``ktr record`` (root) copy them all into ``~/.cache/ktr`` -- hundreds of GB.
Copies of ``/bin/true`` with distinct build ids (the note's bytes patched, read back
with pyelftools) are handed to a keeper whose budget holds two of them: two are kept,
the third is counted and said, and the cache holds no more than the budget.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from elftools.elf.elffile import ELFFile

from formats.elf import read_build_id
from ktr._buildid_cache import DEFAULT_MAX_BYTES, DEFAULT_MAX_TOTAL, BinaryKeeper

ELF = shutil.which("true") or "/bin/true"


def _copies(directory: Path, count: int) -> list[Path]:
    """``count`` copies of ``ELF``, each with a build id of its own."""
    with open(ELF, "rb") as handle:
        section = ELFFile(handle).get_section_by_name(".note.gnu.build-id")
        assert section is not None
        at = section["sh_offset"] + 16  # namesz, descsz, type, "GNU\0", then the id
    data = bytearray(Path(ELF).read_bytes())
    paths = []
    for number in range(count):
        data[at] = number
        path = directory / f"lib{number}.so"
        path.write_bytes(data)
        paths.append(path)
    return paths


def _stored(cache: Path) -> list[Path]:
    return sorted(cache.glob("build-id/*/*/elf"))


def test_a_recording_copies_at_most_its_budget(tmp_path: Path) -> None:
    files = _copies(tmp_path, 3)
    assert len({read_build_id(str(path)) for path in files}) == 3
    size = files[0].stat().st_size
    cache = tmp_path / "cache"
    keeper = BinaryKeeper(str(cache), max_total=2 * size + size // 2)
    for path in files:
        keeper.keep(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    keeper.close()
    stored = _stored(cache)
    assert len(stored) == 2 and sum(entry.stat().st_size for entry in stored) <= 2.5 * size
    assert keeper.counts.kept == 2 and keeper.counts.over_budget == 1
    summary = keeper.summary()
    assert summary is not None
    assert summary.endswith(f"1 not kept: this recording's {keeper.max_total >> 20} MiB "
                            "for copies was used up")
    # a file already in the cache costs nothing: a new recording finds all it kept
    again = BinaryKeeper(str(cache), max_total=size)
    for path in files[:2]:
        again.keep(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
    again.close()
    assert (again.counts.present, again.counts.kept, again.counts.over_budget) == (2, 0, 0)


def test_the_default_budget_holds_a_few_files_at_the_cap() -> None:
    # big enough for a recording's real replaced libraries, small enough for any disk
    assert 2 * DEFAULT_MAX_BYTES <= DEFAULT_MAX_TOTAL <= 4 << 30
