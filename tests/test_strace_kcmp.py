"""kcmp decoded as strace decodes it.

Oracle: strace on the same C program (compiled here): the type by name and
the indexes the type reads: KCMP_FILE's two fds in decimal, none for the
types that compare whole resources (``kcmp(12, 13, KCMP_VM)``), an unknown
type as ``0x2a /* KCMP_??? */`` with its indexes in hex; ktrdump printed
``kcmp(12, 12, 0, 0x3, 0x4)``. The arguments are compared, not the results
(KCMP_VM orders kernel pointers, which differ between the runs).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = r"""
#define _GNU_SOURCE
#include <unistd.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
int main(void){
  int a=open("/dev/null",O_RDONLY), b=dup(a); pid_t me=getpid();
  syscall(SYS_kcmp, me, me, 0, a, b);
  syscall(SYS_kcmp, me, me, 0, a, 99);
  pid_t c=fork(); if(c==0){ pause(); _exit(0);}
  syscall(SYS_kcmp, me, c, 1, 0, 0);
  syscall(SYS_kcmp, me, c, 2, 5, 6);
  syscall(SYS_kcmp, me, c, 6, 0, 0);
  syscall(SYS_kcmp, me, me, 7, a, 0);
  syscall(SYS_kcmp, me, me, 42, 1, 2);
  kill(c,9); waitpid(c,0,0); return 0; }
"""


def _arguments(text: str) -> list[str]:
    """Each kcmp line up to its result, the pids masked."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        if line.startswith("kcmp("):
            found.append(re.sub(r"^kcmp\(\d+, \d+, ", "kcmp(PID, PID, ",
                                re.sub(r"\)\s+= .*$", ")", line)))
    return found


def test_kcmp_matches_strace(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "kcmp", PROGRAM)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    expected = _arguments(oracle.stdout)
    assert len(expected) == 7, oracle.stdout
    trace = tmp_path / "kcmp.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _arguments(shown.stdout) == expected
