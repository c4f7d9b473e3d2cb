"""``ktrdump -o FILE`` on a full disk: one line naming FILE, exit status 1, in every view.

A 64 KiB tmpfs is filled to the last block before ktrdump runs, so the first
write (or the flush at close, for views that write everything at the end)
fails with ENOSPC. The message must name the -o file, never standard error or
standard output.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
#: A vector with every record kind: each view below has something to write.
TRACE = Path(__file__).parent / "vectors" / "all_kinds.ktr"


@pytest.fixture(scope="module")
def full_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    small = tmp_path_factory.mktemp("full")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.decode().strip()}")
    try:
        filler = os.open(small / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            with pytest.raises(OSError, match="No space left"):
                while True:
                    os.write(filler, b"\0" * 4096)
        finally:
            os.close(filler)
        yield small
    finally:
        subprocess.run(["umount", str(small)], check=True)


@pytest.mark.parametrize("view", [
    [], ["--json"], ["--format", "strace"], ["--format", "chrome"], ["--format", "calls"],
    ["--format", "folded"], ["--format", "parquet"], ["--summary"],
])
def test_a_full_disk_names_the_output_file(full_disk: Path, view: list[str]) -> None:
    output = full_disk / "out"
    done = subprocess.run([KTRDUMP, *view, "-o", str(output), str(TRACE)],
                          capture_output=True, text=True, timeout=60)
    assert done.stderr.splitlines() == [
        f"ktrdump: cannot write to {output}: No space left on device"], done.stderr
    assert done.returncode == 1


def test_a_full_disk_names_the_per_thread_file(full_disk: Path) -> None:
    prefix = full_disk / "calls"
    done = subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o", str(prefix), str(TRACE)],
                          capture_output=True, text=True, timeout=60)
    assert re.fullmatch(rf"ktrdump: cannot write to {re.escape(str(prefix))}\.\d+: "
                        r"No space left on device\n", done.stderr), done.stderr
    assert done.returncode == 1
