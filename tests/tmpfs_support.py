"""A small tmpfs, filled to a chosen number of free pages, for full-disk tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

PAGE = os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def small_tmpfs(directory: Path, *, free_pages: int | None = 0,
                size: str = "64k") -> Iterator[Path]:
    """Mount a tmpfs of ``size`` on ``directory``, fill it until ``free_pages`` pages
    are left (tmpfs allocates whole pages; None: leave it empty), yield it, and
    unmount it whatever happens."""
    directory.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                              str(directory)], capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        if free_pages is None:
            yield directory
            return
        filler = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with contextlib.suppress(OSError):
                while True:
                    os.write(filler, b"\0" * PAGE)
            # Full now: give back what the test wants free.
            length = os.fstat(filler).st_size - free_pages * PAGE
            assert length >= 0
            os.ftruncate(filler, length)
        finally:
            os.close(filler)
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=True)
