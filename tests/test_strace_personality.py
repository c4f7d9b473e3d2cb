"""personality decoded as strace decodes it (setarch, 32-bit emulation).

Oracle: strace on the same C program (compiled here): the persona as its
type and flags (``personality(PER_LINUX32|ADDR_NO_RANDOMIZE|READ_IMPLIES_EXEC)``,
the query ``0xffffffff`` in hex, an unknown type ``0x42 /* PER_??? */``) and
the previous persona it returns, decoded (``= 0x40000 (PER_LINUX|ADDR_NO_RANDOMIZE)``);
ktrdump printed ``personality(0x440008) = 0x40000``.
"""

from __future__ import annotations

from pathlib import Path

from strace_support import both_views, call_lines

PROGRAM = r"""
#include <sys/personality.h>
int main(void){
  personality(0xffffffff);
  personality(ADDR_NO_RANDOMIZE);
  personality(0xffffffff);
  personality(PER_LINUX32 | READ_IMPLIES_EXEC | ADDR_NO_RANDOMIZE);
  personality(0x42);
  personality(PER_LINUX);
  personality(0xffffffff);
  return 0; }
"""


def test_personality_matches_strace(tmp_path: Path) -> None:
    theirs, ours = both_views(tmp_path, "personality", PROGRAM)
    expected = call_lines(theirs, "personality(")
    assert len(expected) == 7, theirs
    assert call_lines(ours, "personality(") == expected
