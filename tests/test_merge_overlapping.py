"""Merging two real recordings that overlap in time: the second's BEGIN, arriving in the
middle of the first, ends nothing of the first (its call in flight, its fd names)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from c_support import build_program

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

# Opens the file, says its pid, then blocks reading stdin: the second recording starts
# while that read is in flight; then it reads the file through the fd opened before.
SOURCE = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[16];
    int fd = open(argv[1], O_RDONLY);
    printf("%d\n", (int)getpid());
    fflush(stdout);
    if (read(0, buf, 1) != 1) return 1;
    return read(fd, buf, sizeof buf) == 5 ? 0 : 2;
}
"""


def _blocked_in_read(pid: int) -> None:
    """Wait until ``pid`` sleeps in read(0, ...) (the kernel's own word, not a delay)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            words = Path(f"/proc/{pid}/syscall").read_text().split()
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            words, state = [], ""
        # asleep in it (S), not stopped at its entry for the tracer (t)
        if words[:2] == ["0", "0x0"] and state == "S":
            return
        os.sched_yield()
    raise AssertionError(f"{pid} never blocked in read(0, ...)")


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    tmp = tmp_path_factory.mktemp("overlap")
    program = build_program(tmp, "overlap", SOURCE)
    data = tmp / "data.txt"
    data.write_bytes(b"hello")
    first, second = tmp / "a.ktr", tmp / "b.ktr"
    recorder = subprocess.Popen([KTR, "record", "-q", "-o", str(first), "--", str(program),
                                 str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert recorder.stdin is not None and recorder.stdout is not None
    pid = int(recorder.stdout.readline())
    _blocked_in_read(pid)
    subprocess.run([KTR, "record", "-q", "-o", str(second), "--", "true"], check=True,
                   timeout=60)
    recorder.stdin.write(b"x")
    recorder.stdin.close()
    assert recorder.wait(timeout=60) == 0
    recorder.stdout.close()
    return first, second, data


def _dump(*args: str) -> list[str]:
    done = subprocess.run([KTRDUMP, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _of(pid: str, lines: list[str]) -> list[str]:
    """``pid``'s lines, a call split by another's (``<unfinished ...>``, ``<... resumed>``)
    joined back, as strace -f splits and a single-process trace does not."""
    out: list[str] = []
    for line in lines:
        if line.split(" ", 1)[0] != pid:
            continue
        if "<... " in line and out and out[-1].endswith(" <unfinished ...>"):
            out[-1] = out[-1].removesuffix(" <unfinished ...>") + line.split(" resumed>", 1)[1]
        else:
            out.append(line)
    return out


@pytest.mark.parametrize("flags", [["--format", "strace", "-y"], ["--format", "strace"]])
def test_the_first_trace_reads_the_same_merged(traces: tuple[Path, Path, Path],
                                               flags: list[str]) -> None:
    first, second, data = traces
    alone = _dump(*flags, str(first))
    merged = _dump(*flags, str(first), str(second))
    pid = alone[0].split(" ", 1)[0]
    assert _of(pid, merged) == alone
    # The second trace's BEGIN came while the first's read(0) was in flight.
    b_start = _dump("--format", "strace", str(second))[0].split()[1]
    a_read = next(line for line in alone if " read(0" in line)
    assert a_read.split()[1] < b_start
    assert "<unfinished" not in a_read
    if "-y" in flags:
        assert any(f"read(3<{data}>, \"hello\", 16) = 5" in line for line in merged)


def test_summary_and_path_filter_of_the_merge(traces: tuple[Path, Path, Path]) -> None:
    first, second, data = traces
    summary = _dump("-c", str(first), str(second))
    never = [line for line in summary if line.startswith("never returned")]
    assert never and "read" not in never[0] and "exit_group 2" in never[0]
    filtered = _dump("-P", str(data), "--format", "strace", str(first), str(second))
    assert any(" read(3, \"hello\", 16) = 5" in line for line in filtered), filtered


def test_json_rets_keep_their_calls(traces: tuple[Path, Path, Path]) -> None:
    first, second, _ = traces
    rets = [json.loads(line) for line in _dump("--json", str(first), str(second))
            if '"type":"RET"' in line]
    reads = [ret for ret in rets if ret["syscall"] == "read"]
    assert reads and all("call" in ret for ret in rets)
