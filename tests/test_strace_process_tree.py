"""``ktrdump --format strace`` read by strace-process-tree (PyPI): the same tree as strace's log."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
TREE = BIN / "strace-process-tree"
WORKLOAD = ["sh", "-c", "ls / > /dev/null; (cat /etc/hostname; true) > /dev/null"]


def _shape(tree: str) -> list[str]:
    """The tree with pids and times left out: structure and command lines."""
    lines = []
    for line in tree.splitlines():
        line = re.sub(r"\d+ ", "PID ", line, count=1)
        lines.append(re.sub(r" \[[^\]]*\]$", "", line))
    return lines


@pytest.mark.skipif(not TREE.exists(), reason="strace-process-tree is not installed")
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_strace_process_tree_reads_ktrs_strace_output(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(trace), "--", *WORKLOAD], check=True,
                   timeout=60)
    ours = tmp_path / "ktr.log"
    with open(ours, "wb") as out:
        subprocess.run([KTRDUMP, "--format", "strace", str(trace)], stdout=out, check=True,
                       timeout=60)
    assert re.search(r'execve\("/usr/bin/sh", .*, 0x[0-9a-f]+ /\* \d+ vars \*/\)',
                     ours.read_text())
    theirs = tmp_path / "strace.log"
    subprocess.run(["strace", "-f", "-ttt", "-T", "-o", str(theirs), *WORKLOAD], check=True,
                   timeout=60)
    our_tree = subprocess.run([str(TREE), str(ours)], capture_output=True, text=True,
                              check=True, timeout=60).stdout
    their_tree = subprocess.run([str(TREE), str(theirs)], capture_output=True, text=True,
                                check=True, timeout=60).stdout
    assert _shape(our_tree) == _shape(their_tree)
    assert "cat /etc/hostname" in our_tree and "ls /" in our_tree
