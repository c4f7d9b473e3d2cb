"""``ktrdump --summary``'s counter table says that a context-switches count includes
ktr's own ptrace stops, as the switch table says of its voluntary column.

``-C`` always keeps ptrace (README): the exec and exit stops, and with a syscall
facility every recorded entry and exit, are real switches the counter counts and
``perf stat -e context-switches`` does not see (``true``: perf stat 0, ktr 2 or 3).
The line is printed only where the column is: a task-clock table has none.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"


def _summary(tmp_path: Path, *options: str) -> list[str]:
    trace = tmp_path / "c.ktr"
    subprocess.run([KTR, "record", "-q", *options, "-o", trace, "--", "true"], check=True,
                   timeout=60)
    done = subprocess.run([KTRDUMP, "--summary", "-t", "C", trace], capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.splitlines()


def test_context_switches_counted_under_ptrace_say_which_are_ktr_stops(tmp_path: Path) -> None:
    lines = _summary(tmp_path, "-C", "context-switches,task-clock")
    assert lines[0].startswith("counters per thread"), lines
    assert lines[-1] == ("context-switches includes ktr's own ptrace stops, one per signal, "
                         "fork, clone, exec and exit (perf stat, which stops nothing, counts "
                         "none of them)"), lines


def test_with_syscall_stops_the_line_names_them(tmp_path: Path) -> None:
    lines = _summary(tmp_path, "-t", "cC", "-C", "context-switches")
    assert lines[-1].startswith("context-switches includes ktr's own ptrace stops, one per "
                                "recorded syscall entry and exit"), lines


def test_no_line_without_the_column(tmp_path: Path) -> None:
    lines = _summary(tmp_path, "-C", "task-clock")
    assert lines[0].startswith("counters per thread"), lines
    assert not any("ptrace stops" in line for line in lines), lines
