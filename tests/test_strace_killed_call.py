"""A call killed in the kernel (no return) reads as strace's: the arguments it shows at
entry, ``<unfinished ...>`` when its exit would have shown more, then ``= ?``."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from c_support import build_program

BIN = Path(sys.executable).parent

SOURCE = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int fds[2];
    char c;
    pipe(fds);
    printf("%d\n", (int)getpid());
    fflush(stdout);
    if (argv[1][0] == 'r') read(fds[0], &c, 1);
    else { struct timespec t = {100, 0}, rem; nanosleep(&t, &rem); }
    return 0;
}
"""


def _killed_in_call(command: list[str], nr: int) -> None:
    """Run ``command`` (its traced program prints its pid), SIGKILL the program once it
    sleeps in syscall ``nr`` (as /proc says), and wait for ``command``."""
    runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert runner.stdout is not None
    pid = int(runner.stdout.readline())
    deadline = time.monotonic() + 10
    # Asleep in the call (state S), not stopped at its entry for the tracer (state t).
    while (Path(f"/proc/{pid}/syscall").read_text().split()[:1] != [str(nr)]
           or Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "S"):
        assert time.monotonic() < deadline, "never blocked in the call"
        os.sched_yield()
    os.kill(pid, signal.SIGKILL)
    runner.wait(timeout=60)
    runner.stdout.close()


def _last_call(text: str) -> str:
    line = [line for line in text.splitlines() if "+++" not in line][-1]
    line = re.sub(r"^\d+ +(\d+\.\d+ +)?", "", line)
    return re.sub(r"\) +=", ") =", line)


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
@pytest.mark.parametrize(("how", "nr"), [("read", 0), ("sleep", 230)])
def test_killed_call_line_is_straces(tmp_path: Path, how: str, nr: int) -> None:
    program = str(build_program(tmp_path, "killed", SOURCE))
    trace = tmp_path / "k.ktr"
    _killed_in_call([str(BIN / "ktr"), "record", "-q", "-o", str(trace), "--", program, how],
                    nr)
    ours = subprocess.run([str(BIN / "ktrdump"), "--format", "strace", str(trace)],
                          capture_output=True, text=True, check=True).stdout
    log = tmp_path / "strace.log"
    _killed_in_call(["strace", "-o", str(log), program, how], nr)
    theirs = _last_call(log.read_text())
    assert "<unfinished ...>) = ?" in theirs
    assert _last_call(ours) == theirs
