"""IFUNCs whose own name starts with ``__`` are probed at their implementations (tperf T2).

glibc names an IFUNC's implementations ``__NAME_variant`` (``__strlen_avx2`` of
``strlen``); for a NAME that starts with ``__`` already they are ``NAME_variant``
(``__memcpy_chk_erms`` of ``__memcpy_chk``, the fortified memcpy that
``-D_FORTIFY_SOURCE`` programs call). ``-P 'libc:__memcpy_chk'`` was refused ("nothing
to probe"): the implementations were looked for as ``____memcpy_chk_*``.

The oracle is ltrace, which counts the program's calls of ``__memcpy_chk`` through its
PLT: a gcc-built program makes exactly ``N`` of them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

CALLS = 37

#: n is not known at compile time, d's size is: gcc calls __memcpy_chk(d, s, n, 64).
PROGRAM_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv) {
  char d[64];
  size_t n = (size_t)atoi(argv[1]);
  int k = 0;
  for (int i = 0; i < atoi(argv[2]); i++) { memcpy(d, argv[0], n); k += d[0]; }
  printf("%d\n", k);
  return 0;
}
"""


def test_a_fortified_memcpy_is_probed_as_often_as_ltrace_counts_it(tmp_path: Path) -> None:
    ltrace = shutil.which("ltrace")
    if ltrace is None:
        pytest.skip("no ltrace")
    program = build_program(tmp_path, "prog", PROGRAM_C, "-O2", "-D_FORTIFY_SOURCE=2")
    run = [str(program), "3", str(CALLS)]
    counted = subprocess.run([ltrace, "-c", "-e", "__memcpy_chk", *run], capture_output=True,
                             text=True, timeout=60)
    rows = [line.split() for line in counted.stderr.splitlines()
            if line.split()[-1:] == ["__memcpy_chk"]]
    assert rows, counted.stderr
    assert int(rows[0][3]) == CALLS  # % time, seconds, usecs/call, calls, function

    out = tmp_path / "t.ktr"
    proc = subprocess.run([KTR, "record", "-q", "-t", "f", "-P", "libc:__memcpy_chk",
                           "-o", str(out), "--", *run], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "IFUNC" not in proc.stderr, proc.stderr
    dump = subprocess.run([KTRDUMP, str(out)], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    definitions = [line for line in dump.splitlines() if " PDEF " in line]
    assert definitions and all("implements __memcpy_chk" in line for line in definitions)
    hits = [line for line in dump.splitlines() if " PROBE " in line]
    assert len(hits) == CALLS, dump
