"""strace's text and ktrdump's strace view of one gcc-built C program, for the tests
that compare them call by call (strace is the oracle)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from c_support import build_program

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


def both_views(tmp_path: Path, name: str, source: str,
               record_options: Sequence[str] = ()) -> tuple[str, str]:
    """``source`` built, run under plain ``strace`` and recorded by ``ktr record``
    (with ``record_options``): strace's output and ``ktrdump --format strace``'s
    (skips the test without strace)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, name, source)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    trace = tmp_path / f"{name}.ktr"
    subprocess.run([KTR, "record", "-q", *record_options, "-o", trace, "--", program],
                   check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    return oracle.stdout, shown.stdout


def call_lines(text: str, prefix: str,
               rewrite: Callable[[str], str] = lambda line: line) -> list[str]:
    """The lines of calls starting with ``prefix``, without pid, time and duration
    columns and with the result's padding as one space; ``rewrite`` applied to each."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith(prefix):
            found.append(re.sub(r"\)\s+= ", ") = ", rewrite(line)))
    return found
