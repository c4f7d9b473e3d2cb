"""A probe on a file whose path has white space is refused before anything is recorded
(tperf finding T8).

tracefs's uprobe_events splits its lines at white space, so such a file cannot be
probed. The refusal came from the tracefs layer once the probe was being placed, after
the output was opened: the file was left with a BEGIN and no END, which ktrdump reports
as a recording cut short ("ktr record was killed, or its output failed"). Refused at
resolution, as a mistyped function is, no file is made.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from c_support import build_program

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")

PROGRAM_C = r"""
__attribute__((noinline)) int f(int x) { __asm__ volatile(""); return x + 1; }
int main(void) { return f(1) != 2; }
"""


def test_a_path_with_white_space_is_refused_in_one_line_and_no_file_is_made(
        tmp_path: Path) -> None:
    where = tmp_path / "with space"
    where.mkdir()
    program = build_program(where, "prog", PROGRAM_C, "-O1")
    out = tmp_path / "t.ktr"
    proc = subprocess.run([KTR, "record", "-q", "-t", "f", "-P", f"{program}:f", "-o",
                           str(out), "--", str(program)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("\n") == 1 and "white space" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not out.exists()
    with open("/sys/kernel/tracing/uprobe_events", encoding="utf-8") as events:
        assert str(where) not in events.read()
