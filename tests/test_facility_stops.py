"""-t n, i, u, a and v without c stop a started command only at the syscalls they read.

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
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void) {
    struct rusage usage;
    for (int i = 0; i < CALLS; i++)
        syscall(SYS_getppid);
    syscall(0x6b7472, "phase", "done", 4L);   /* ktr.utrace */
    int fd = open("/dev/null", O_WRONLY);       /* a path (n) */
    write(fd, "data", 4);                       /* I/O data (i) */
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


def _shape(rows: list[dict[str, object]]) -> list[tuple[object, ...]]:
    # (the count the program prints on fd 1 is what differs: not its data)
    return [(r["type"], r.get("label"), r.get("argv"), r.get("env") is not None,
             r.get("path"), r.get("fd"), r.get("data") if r.get("fd") != 1 else None)
            for r in rows]


@pytest.mark.parametrize("facilities", ["u", "a", "n", "i", "niuav"])
def test_only_the_calls_the_facilities_read_stop(tmp_path: Path, facilities: str) -> None:
    program = build_program(tmp_path, "loop", PROGRAM)
    switches, records = _record(tmp_path, program, facilities)
    # every getppid stopping would be 2 * CALLS switches; a handful of waits remain
    assert switches < CALLS // 4, switches
    _, unfiltered = _record(tmp_path, program, facilities, "--no-seccomp")
    assert _shape(records) == _shape(unfiltered)
    if "u" in facilities:
        assert [r["label"] for r in records if r["type"] == "USER"] == ["phase"]
    if "a" in facilities:
        assert [r["argv"] for r in records if r["type"] == "ARG"] == [[str(program)]]
    if "n" in facilities:
        assert "/dev/null" in [r.get("path") for r in records if r["type"] == "NAMI"]
    if "i" in facilities:
        assert any(r["type"] == "GIO" for r in records)


def test_structures_still_stop_every_call(tmp_path: Path) -> None:
    """t (structures) reads any call's arguments, as c does: no narrowing then."""
    program = build_program(tmp_path, "loop", PROGRAM)
    _, records = _record(tmp_path, program, "ut")
    _, unfiltered = _record(tmp_path, program, "ut", "--no-seccomp")
    structures = [(r["type"], r.get("struct")) for r in records]
    assert structures == [(r["type"], r.get("struct")) for r in unfiltered]
    assert ("STRU", "rusage") in structures  # getrusage's, a call u alone never stops at


def test_structures_alone_are_recorded(tmp_path: Path) -> None:
    """-t t stopped at no syscall (t was not a syscall facility): it recorded nothing
    but BEGIN and END. Oracle: the structures -t c records along with its calls."""
    program = build_program(tmp_path, "loop", PROGRAM)
    _, alone = _record(tmp_path, program, "t")
    _, with_calls = _record(tmp_path, program, "c")
    structures = [r.get("struct") for r in alone if r["type"] == "STRU"]
    assert structures == [r.get("struct") for r in with_calls if r["type"] == "STRU"]
    assert "rusage" in structures
    assert {r["type"] for r in alone} == {"STRU"}


HANDLER_PROGRAM = r"""
#include <signal.h>
#include <stdio.h>
static void handler(int signo) { (void)signo; }
int main(void) {
    signal(SIGUSR1, handler);
    raise(SIGUSR1);
    printf("%lu\n", (unsigned long)handler);
    return 0;
}
"""


def test_a_caught_signal_still_names_its_handler(tmp_path: Path) -> None:
    """With s, rt_sigaction stops too (the handler PSIG names), as without the filter.
    Oracle: the handler's address, as the program prints it."""
    program = build_program(tmp_path, "handler", HANDLER_PROGRAM)
    out = tmp_path / "ns.ktr"
    result = subprocess.run([*KTR, "record", "-q", "-t", "ns", "-o", str(out), "--",
                             str(program)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    dump = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                          check=True)
    signals = [json.loads(line) for line in dump.stdout.splitlines() if '"PSIG"' in line]
    assert [(s["signal"], s["action"]) for s in signals] == [("SIGUSR1", int(result.stdout))]
