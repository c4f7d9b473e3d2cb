"""membarrier decoded as strace decodes it.

Oracle: strace on the same C program (compiled here): the command by name,
the flags, the CPU only with MEMBARRIER_CMD_FLAG_CPU (``membarrier(
MEMBARRIER_CMD_QUERY, 0)``: two arguments), and MEMBARRIER_CMD_QUERY's result
as the commands it lists (``= 0x3ff (MEMBARRIER_CMD_GLOBAL|...)``); ktrdump
printed ``membarrier(0, 0, 0) = 1023``. strace 6.1 does not know
MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3), which it prints as ``0x200``.
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
#include <sys/syscall.h>
#include <linux/membarrier.h>
int main(void){
  syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
  syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0);
  syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
  syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ, 1 /* FLAG_CPU */, 0);
  syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
  syscall(SYS_membarrier, 3, 0, 0);
  syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 2, 0);
  return 0; }
"""


def _lines(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith("membarrier("):
            line = line.replace("|0x200)", "|MEMBARRIER_CMD_GET_REGISTRATIONS)")
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


def test_membarrier_matches_strace(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "membarrier", PROGRAM)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    expected = _lines(oracle.stdout)
    assert len(expected) == 7, oracle.stdout
    trace = tmp_path / "membarrier.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _lines(shown.stdout) == expected
