"""Hostile conditions around ``ktr record``: one line and a status, never a traceback.

Limits a shell sets (``ulimit -n``), run as a user runs the installed command.
"""

from __future__ import annotations

import resource
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")


def _files_limit(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


def test_too_few_descriptors_to_start_the_command_is_one_line(tmp_path: Path) -> None:
    # ulimit -n 5: the interpreter starts (0-2, and what it opens briefly) but the
    # command's pipes cannot be made: EMFILE, as `strace -o F true` says it
    # ("strace: pipe: Too many open files" style), not a Python traceback.
    done = subprocess.run([KTR, "record", "-o", str(tmp_path / "t.ktr"), "--", "true"],
                          capture_output=True, text=True, timeout=30, check=False,
                          preexec_fn=lambda: _files_limit(5))
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "ktr: cannot start the command: cannot create its process: "
        "EMFILE (Too many open files)"], done.stderr
