"""personality decoded as strace decodes it (setarch, 32-bit emulation).

Oracle: strace on the same C program (compiled here): the persona as its
type and flags (``personality(PER_LINUX32|ADDR_NO_RANDOMIZE|READ_IMPLIES_EXEC)``,
the query ``0xffffffff`` in hex, an unknown type ``0x42 /* PER_??? */``) and
the previous persona it returns, decoded (``= 0x40000 (PER_LINUX|ADDR_NO_RANDOMIZE)``);
ktrdump printed ``personality(0x440008) = 0x40000``.
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


def _lines(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith("personality("):
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


def test_personality_matches_strace(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "personality", PROGRAM)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    expected = _lines(oracle.stdout)
    assert len(expected) == 7, oracle.stdout
    trace = tmp_path / "personality.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _lines(shown.stdout) == expected
