"""membarrier decoded as strace decodes it.

Oracle: strace on the same C program (compiled here): the command by name,
the flags, the CPU only with MEMBARRIER_CMD_FLAG_CPU (``membarrier(
MEMBARRIER_CMD_QUERY, 0)``: two arguments), and MEMBARRIER_CMD_QUERY's result
as the commands it lists (``= 0x3ff (MEMBARRIER_CMD_GLOBAL|...)``); ktrdump
printed ``membarrier(0, 0, 0) = 1023``. strace 6.1 does not know
MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3), which it prints as ``0x200``.
"""

from __future__ import annotations

from pathlib import Path

from strace_support import both_views, call_lines

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


def _known(line: str) -> str:
    """strace 6.1 prints MEMBARRIER_CMD_GET_REGISTRATIONS (Linux 6.3) as 0x200."""
    return line.replace("|0x200)", "|MEMBARRIER_CMD_GET_REGISTRATIONS)")


def test_membarrier_matches_strace(tmp_path: Path) -> None:
    theirs, ours = both_views(tmp_path, "membarrier", PROGRAM)
    expected = call_lines(theirs, "membarrier(", _known)
    assert len(expected) == 7, theirs
    assert call_lines(ours, "membarrier(", _known) == expected
