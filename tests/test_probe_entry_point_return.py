"""A return probe is never placed at a program's ELF entry point (``_start``).

The kernel starts a program at its entry with argc at the top of the stack, where a
called function has its return address; a uretprobe there replaces that word with its
trampoline's address, and main then sees argc = -8192. The program's own output run
without ktr is the oracle: under ``-P 'PROG:*' -P 'PROG:*:return'`` (a uftrace user's
first probes) it must print the same; the glob passes ``_start`` over in one line, and
``-P PROG:_start:return`` is refused in one line (no traceback, nothing run).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from probe_support import gcc

KTR = [sys.executable, "-m", "ktr"]

SOURCE = r"""
#include <stdio.h>
int main(int argc, char **argv) { printf("argc=%d last=%s\n", argc, argv[argc - 1]); return 0; }
"""


def _program(tmp_path: Path) -> Path:
    source = tmp_path / "argc.c"
    source.write_text(SOURCE)
    program = tmp_path / "argc"
    subprocess.run([gcc(), "-O2", "-o", str(program), str(source)], check=True)
    return program


def test_glob_return_probes_leave_argc_alone(tmp_path: Path) -> None:
    program = _program(tmp_path)
    untraced = subprocess.run([program, "a", "b"], capture_output=True, text=True, check=True,
                              timeout=30)
    assert untraced.stdout == "argc=3 last=b\n"
    traced = subprocess.run(
        [*KTR, "record", "-q", "-t", "f", "-o", str(tmp_path / "g.ktr"),
         "-P", f"{program}:*", "-P", f"{program}:*:return", "--", str(program), "a", "b"],
        capture_output=True, text=True, timeout=60)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout == untraced.stdout
    said = [line for line in traced.stderr.splitlines() if "_start" in line]
    assert len(said) == 1 and "entry point" in said[0] and said[0].endswith("skipped"), (
        traced.stderr)


def test_return_probe_named_at_entry_point_is_refused(tmp_path: Path) -> None:
    program = _program(tmp_path)
    refused = subprocess.run(
        [*KTR, "record", "-q", "-t", "f", "-o", str(tmp_path / "r.ktr"),
         "-P", f"{program}:_start:return", "--", str(program), "a", "b"],
        capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0
    assert refused.stdout == ""  # the program never ran
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert "_start is the entry point" in refused.stderr, refused.stderr


def test_glob_matching_only_the_entry_point_says_why_nothing_is_probed(tmp_path: Path) -> None:
    program = _program(tmp_path)
    refused = subprocess.run(
        [*KTR, "record", "-q", "-t", "f", "-o", str(tmp_path / "s.ktr"),
         "-P", f"{program}:_st*:return", "--", str(program)],
        capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and refused.stdout == ""
    assert "Traceback" not in refused.stderr
    assert "nothing to probe" in refused.stderr and "_start is its entry point" in refused.stderr, (
        refused.stderr)
