"""ktr's own ptrace stops are context switches of the traced thread, and the
summary says so.

Every ptrace stop takes the thread off its CPU: a real voluntary switch, which
the kernel's own count (``getrusage(RUSAGE_THREAD)``'s ``ru_nvcsw``, printed by
the C program compiled here) includes as perf's switch records do. Recorded
with syscalls (``-t cw``) a program making 200 getppid calls switches at least
twice per call, which it does not do untraced (``-t w``, no ptrace); the
summary's switch table says which stops its voluntary count includes.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import gcc

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>
int main(void) {
    long s = 0;
    for (int i = 0; i < 200; i++) s += getppid();
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    printf("%ld\n", usage.ru_nvcsw);
    return s == 0;
}
"""

NOTE = re.compile(r"^voluntary includes ktr's own ptrace stops, ")


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("switches")
    (directory / "getppid.c").write_text(PROGRAM)
    subprocess.run([gcc(), "-O1", "-o", str(directory / "getppid"),
                    str(directory / "getppid.c")], check=True)
    return directory / "getppid"


def _record(program: Path, tmp_path: Path, facilities: str) -> tuple[int, int, list[str]]:
    """(the program's own ru_nvcsw, the summary's voluntary count, its switch table)."""
    trace = tmp_path / f"{facilities}.ktr"
    done = subprocess.run([KTR, "record", "-q", "-t", facilities, "-o", str(trace), "--",
                           str(program)], capture_output=True, text=True, timeout=30, check=True)
    nvcsw = int(done.stdout)
    summary = subprocess.run([KTRDUMP, "--summary", str(trace)], capture_output=True,
                             text=True, timeout=30, check=True).stdout.splitlines()
    if "context switches per thread (CSW):" not in summary:
        # untraced, the program may run without a single switch: no CSW, no table
        assert facilities == "w", summary
        return nvcsw, 0, []
    table = summary[summary.index("context switches per thread (CSW):"):]
    row = next(line.split() for line in table if line.split()[2:3] == ["getppid"])
    return nvcsw, int(row[3]), table


def test_ptrace_stops_are_voluntary_switches_and_the_summary_says_so(
        program: Path, tmp_path: Path) -> None:
    nvcsw, voluntary, table = _record(program, tmp_path, "cw")
    # the kernel counts each of the 400 stops (entry and exit) as a voluntary switch
    assert nvcsw >= 400, nvcsw
    assert voluntary >= 400, table
    assert any(NOTE.match(line) and "syscall entry and exit" in line for line in table), table


def test_without_ptrace_there_are_no_stops_and_no_note(program: Path, tmp_path: Path) -> None:
    nvcsw, voluntary, table = _record(program, tmp_path, "w")
    assert nvcsw < 50, nvcsw  # untraced: getppid never sleeps
    assert voluntary <= nvcsw + 1, table
    assert not any(NOTE.match(line) for line in table), table


def test_process_stops_alone_are_said_too(program: Path, tmp_path: Path) -> None:
    _nvcsw, voluntary, table = _record(program, tmp_path, "pw")
    assert voluntary < 50, table  # no syscall stops: the exec's and the exit's
    note = [line for line in table if NOTE.match(line)]
    assert len(note) == 1 and "syscall" not in note[0], table
