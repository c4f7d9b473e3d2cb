"""Return probes in a program whose runtime unwinds for exceptions (C++: libstdc++)
are placed with one line saying what they do to a throw.

The kernel's uretprobe replaces a probed call's return address with its trampoline,
where the unwinder finds no unwind entry: a C++ exception thrown through the call ends
in std::terminate. The program itself is the oracle: untraced it catches its
exceptions (``s=206``), with a return probe on the function they pass through it
aborts, and ``ktr record`` has said why, once, before it ran. A C program, or entry
probes alone, get no such line.
"""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import gcc

KTR = [sys.executable, "-m", "ktr"]

CXX = r"""
#include <cstdio>
#include <stdexcept>
__attribute__((noinline)) int thrower(int x) {
  if (x > 2) throw std::runtime_error("boom");
  return x;
}
__attribute__((noinline)) int middle(int x) { return thrower(x) + 1; }
int main() {
  int s = 0;
  for (int i = 0; i < 5; i++) {
    try { s += middle(i); } catch (const std::exception &) { s += 100; }
  }
  std::printf("s=%d\n", s);
  return 0;
}
"""

C = r"""
__attribute__((noinline)) int middle(int x) { return x + 1; }
int main(void) { return middle(-1); }
"""


def _record(tmp_path: Path, program: Path, *specs: str) -> subprocess.CompletedProcess[str]:
    probes = [arg for spec in specs for arg in ("-P", f"{program}:{spec}")]
    return subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(tmp_path / "u.ktr"),
                           *probes, "--", str(program)],
                          capture_output=True, text=True, timeout=60)


def _notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "aborts the program" in line]


def test_return_probe_in_cxx_program_says_what_a_throw_does(tmp_path: Path) -> None:
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed")
    (tmp_path / "exc.cc").write_text(CXX)
    program = tmp_path / "exc"
    subprocess.run([compiler, "-O2", "-o", str(program), str(tmp_path / "exc.cc")], check=True)
    untraced = subprocess.run([program], capture_output=True, text=True, timeout=30, check=True)
    assert untraced.stdout == "s=206\n"
    entry_only = _record(tmp_path, program, "middle")
    assert entry_only.returncode == 0 and entry_only.stdout == untraced.stdout
    assert _notes(entry_only.stderr) == [], entry_only.stderr
    probed = _record(tmp_path, program, "middle", "middle:return")
    # what the line warns of: the throw through middle cannot find its caller
    assert probed.returncode in (128 + signal.SIGABRT, -signal.SIGABRT), probed
    notes = _notes(probed.stderr)
    assert len(notes) == 1 and "return probes" in notes[0], probed.stderr


def test_return_probe_in_c_program_says_nothing_of_exceptions(tmp_path: Path) -> None:
    (tmp_path / "c.c").write_text(C)
    program = tmp_path / "c"
    subprocess.run([gcc(), "-O2", "-o", str(program), str(tmp_path / "c.c")], check=True)
    probed = _record(tmp_path, program, "middle", "middle:return")
    assert probed.returncode == 0, probed.stderr
    assert _notes(probed.stderr) == [], probed.stderr
