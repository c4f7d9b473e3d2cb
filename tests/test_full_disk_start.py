"""Outputs that fail part-way leave nothing half written behind.

``ktr record`` whose file header cannot be written (the disk is full when the
recording starts): one line naming the file, exit status 1, and no file (or
the existing file it emptied left empty), never part of a header a reader
would call damaged. A real, small tmpfs is filled to a chosen number of free
pages (``tests/tmpfs_support.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tmpfs_support import PAGE, small_tmpfs

KTR = str(Path(sys.executable).parent / "ktr")


def record(output: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTR, "record", "-o", str(output), "--", *command],
                          capture_output=True, text=True, timeout=60)


def test_a_full_disk_at_the_start_leaves_no_file(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "full") as full:
        output = full / "f.ktr"
        done = record(output, "true")
        assert done.stderr.splitlines() == [
            f"ktr: cannot write trace to {output}: ENOSPC (No space left on device)"]
        assert done.returncode == 1
        assert not output.exists()


def test_a_header_torn_by_a_full_disk_is_removed(tmp_path: Path) -> None:
    # One page free and a header longer than a page (the command line is in its
    # options): the first write is short, the rest fails with ENOSPC.
    argument = "x" * (2 * PAGE)
    with small_tmpfs(tmp_path / "full", free_pages=1) as full:
        output = full / "f.ktr"
        done = record(output, "true", argument)
        assert done.stderr.splitlines() == [
            f"ktr: cannot write trace to {output}: ENOSPC (No space left on device)"]
        assert done.returncode == 1
        assert sorted(os.listdir(full)) == ["filler"]


def test_an_existing_file_it_emptied_is_left_empty_not_half_written(tmp_path: Path) -> None:
    argument = "x" * (2 * PAGE)
    with small_tmpfs(tmp_path / "full", free_pages=1) as full:
        output = full / "mine.ktr"
        output.write_bytes(b"")
        done = record(output, "true", argument)
        assert done.returncode == 1
        assert "ENOSPC" in done.stderr
        assert output.stat().st_size == 0  # the file was not its to remove
