"""-t u, -t a and -t v stop a started command only at the syscalls they read.

Without -e, ktr chose the seccomp filter's syscalls from the -e selection alone (every
syscall), so ``-t u`` (user records only) stopped the program at the entry and exit of
each of its calls to find the rare utrace call: a loop of 200 000 getppid() took as
long as under -t c (15 s instead of under 1 s). Oracle: getrusage's voluntary context
switches of the program itself (each ptrace stop is one: README), and the records a
recording without the filter (--no-seccomp) makes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
CALLS = 5000

PROGRAM = r"""
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct rusage usage;
    for (int i = 0; i < CALLS; i++)
        syscall(SYS_getppid);
    syscall(0x6b7472, "phase", "done", 4L);   /* ktr.utrace */
    getrusage(RUSAGE_SELF, &usage);
    printf("%ld\n", usage.ru_nvcsw);
    return 0;
}
""".replace("CALLS", str(CALLS))


def _record(tmp_path: Path, program: Path, facilities: str,
            *extra: str) -> tuple[int, list[dict[str, object]]]:
    out = tmp_path / f"{facilities}{len(extra)}.ktr"
    result = subprocess.run([*KTR, "record", "-q", "-t", facilities, *extra, "-o", str(out),
                             "--", str(program)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    dump = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                          check=True)
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    return int(result.stdout), [r for r in records if r["type"] not in ("BEGIN", "END")]


@pytest.mark.parametrize("facilities", ["u", "a", "v", "uav"])
def test_only_the_calls_the_facilities_read_stop(tmp_path: Path, facilities: str) -> None:
    program = build_program(tmp_path, "loop", PROGRAM)
    switches, records = _record(tmp_path, program, facilities)
    # every getppid stopping would be 2 * CALLS switches; a handful of waits remain
    assert switches < CALLS // 4, switches
    _, unfiltered = _record(tmp_path, program, facilities, "--no-seccomp")

    def shape(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(r["type"], r.get("label"), r.get("argv"), r.get("env") is not None)
                for r in rows]

    assert shape(records) == shape(unfiltered)
    if "u" in facilities:
        assert [r["label"] for r in records if r["type"] == "USER"] == ["phase"]
    if "a" in facilities:
        assert [r["argv"] for r in records if r["type"] == "ARG"] == [[str(program)]]
