"""Run ktrdump in a child process and measure what it cost (peak RSS, CPU time).

The child runs under an address-space limit (RLIMIT_AS), so a reader that
tries to allocate without bound dies quickly instead of thrashing the
machine. CPU time (user + system, from ``wait4``) is measured, not wall time:
it is what the input costs, whatever else runs on the machine.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Every view ktrdump has, as extra arguments (the merge view reads the file twice).
VIEWS: dict[str, list[str]] = {
    "text": [],
    "json": ["--json"],
    "strace": ["--format", "strace"],
    "summary": ["--summary"],
    "chrome": ["--format", "chrome"],
    "fds": ["-y"],
    "merge": ["MERGE"],
}

#: The issue's goal for any input of at most 1 MB.
RSS_LIMIT_BYTES = 200 << 20
CPU_LIMIT_S = 10.0
#: The child's address-space limit: far above the goal, far below the machine.
ADDRESS_SPACE = 1 << 30


@dataclass(frozen=True)
class Cost:
    status: int
    max_rss_bytes: int
    cpu_s: float
    stderr: str


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def run_view(path: Path, view: str, timeout: float = 60.0) -> Cost:
    extra = VIEWS[view]
    arguments = [str(path), str(path)] if extra == ["MERGE"] else [*extra, str(path)]
    process = subprocess.Popen(
        [sys.executable, "-m", "ktrdump", *arguments],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=_limit,
    )
    assert process.stderr is not None
    try:
        # stderr is small (notices); read it, then reap the child ourselves for its rusage.
        stderr = process.stderr.read(1 << 20)
    finally:
        process.stderr.close()
    try:
        _, status, usage = _wait4(process.pid, timeout)
    except TimeoutError:
        process.kill()
        os.wait4(process.pid, 0)
        raise
    process.returncode = os.waitstatus_to_exitcode(status)
    return Cost(process.returncode, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime,
                stderr.decode(errors="replace"))


def _wait4(pid: int, timeout: float) -> tuple[int, int, resource.struct_rusage]:
    import time
    deadline = time.monotonic() + timeout
    while True:
        found, status, usage = os.wait4(pid, os.WNOHANG)
        if found:
            return found, status, usage
        if time.monotonic() > deadline:
            raise TimeoutError(f"ktrdump ran for more than {timeout} s")
        time.sleep(0.05)
