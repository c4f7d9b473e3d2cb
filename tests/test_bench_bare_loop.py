"""``bench/bare_loop.py``, the CPython floor ``bench_record.py`` prints: it must trace
every syscall of its command (two stops each) and hand back the command's exit
status, or its figure would be a floor of something else. Root (ptrace)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ptrace of a child needs root here")

BARE_LOOP = Path(__file__).resolve().parent.parent / "bench" / "bare_loop.py"
CALLS = 3000

PROGRAM = f"""
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {{
    for (int i = 0; i < {CALLS}; i++) syscall(SYS_getppid);
    return 7;
}}
"""


@pytest.mark.parametrize("where", ["free", "pinned"])
def test_every_syscall_stops_twice_and_the_status_comes_back(tmp_path: Path,
                                                              where: str) -> None:
    program = build_program(tmp_path, "calls", PROGRAM, "-O1")
    baseline = build_program(tmp_path, "none", PROGRAM.replace(str(CALLS), "0"), "-O1")
    runs = [subprocess.run([sys.executable, str(BARE_LOOP), where, str(path)],
                           capture_output=True, text=True, timeout=30)
            for path in (program, baseline)]
    assert [run.returncode for run in runs] == [7, 7]
    stops = [int(re.search(r"(\d+) syscall stops", run.stderr).group(1))  # type: ignore[union-attr]
             for run in runs]
    # the same start-up and exit in both: the difference is the loop's calls alone
    assert stops[0] - stops[1] == 2 * CALLS
