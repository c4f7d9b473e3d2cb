"""Names a traced program chooses never reach the reader's terminal raw.

A program names its threads (``prctl(PR_SET_NAME)``), its file and its symbols; the
kdump view escapes control characters in them (``a\\x1b[31m``), and so must every table
of ``--summary`` (context switches, counters, function probes, top functions), the
``--format calls`` lines, the SAMPLE lines and the folded stacks. One real recording of a
gcc-built program with an ESC and a BEL in its thread name, an ESC in its file name and in
the symbol of the function it spins in, probed at entry and return, sampled, with its
switches and a counter. Root (uprobes, perf_event).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uprobes need root")

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

PROGRAM = r"""
#include <sys/prctl.h>
double spin(int n) __asm__("\"sp\033[31min\"");
double spin(int n) { double s = 0; for (int i = 0; i < n; i++) s += i * 0.5; return s; }
int main(void) {
    prctl(PR_SET_NAME, "E\033[31mV\a", 0, 0, 0);
    double t = 0;
    for (int k = 0; k < 20; k++) t += spin(1000000);
    return t > 0 ? 0 : 1;
}
"""

#: the bytes a terminal would act on
RAW = ("\x1b", "\x07")


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("escapes")
    program = build_program(directory, "e\x1bsc", PROGRAM, "-O0")
    out = directory / "trace.ktr"
    probe = f"{program}:sp*"
    subprocess.run([*KTR, "record", "-q", "-t", "wCS", "-F", "999", "-C", "task-clock",
                    "-P", probe, "-P", f"{probe}:return", "-o", str(out), "--", str(program)],
                   check=True, timeout=60)
    return out


def dump(trace: Path, *options: str) -> str:
    return subprocess.run([*KTRDUMP, *options, str(trace)], capture_output=True, text=True,
                          errors="surrogateescape", check=True, timeout=60).stdout


def test_summary_tables_escape_thread_probe_and_symbol_names(trace: Path) -> None:
    text = dump(trace, "--summary")
    assert not any(byte in text for byte in RAW), text
    tables = text.split("\n\n")
    switches = next(t for t in tables if t.startswith("context switches"))
    counters = next(t for t in tables if t.startswith("counters per thread"))
    probes = next(t for t in tables if "function probes:" in t)
    profile = next(t for t in tables if t.startswith("Top functions by self"))
    assert "E\\x1b[31mV\\x07" in switches and "E\\x1b[31mV\\x07" in counters
    assert "e\\x1bsc:sp\\x1b[31min" in probes
    assert "sp\\x1b[31min" in profile
    # each thread's row stays one line of the table
    assert sum("E\\x1b" in line for line in switches.splitlines()) == 1


def test_calls_samples_and_folded_views_escape_them(trace: Path) -> None:
    calls = dump(trace, "--format", "calls")
    samples = dump(trace, "-t", "S")
    folded = dump(trace, "--format", "folded")
    for text in (calls, samples, folded):
        assert not any(byte in text for byte in RAW), text[:2000]
    assert "e\\x1bsc:sp\\x1b[31min(" in calls
    assert "SAMPLE  cpu " in samples and "sp\\x1b[31min+0x" in samples
    assert ";sp\\x1b[31min " in folded
