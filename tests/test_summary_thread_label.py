"""``ktrdump -c -p TID``: a thread's table is headed as the thread's, not the process's.

``-p`` names processes or threads (kdump's meaning, and every view's): given a thread
id that is not its process's, the summary counts that thread's calls alone, but
headed the table ``Process PID (comm):`` as if it were the whole process. Oracle:
the traced program itself, which prints its pid and its worker thread's native id
and makes a known number of getppid calls in that thread.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = """
import os, threading
ids = []
def work():
    ids.append(threading.get_native_id())
    for _ in range(37):
        os.getppid()
t = threading.Thread(target=work); t.start(); t.join()
print(os.getpid(), ids[0])
"""


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    trace = tmp_path_factory.mktemp("thread_label") / "t.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", sys.executable, "-c",
                           PROGRAM], check=True, timeout=60, capture_output=True, text=True)
    pid, tid = map(int, done.stdout.split())
    assert pid != tid
    return trace, pid, tid


def summary(trace: Path, pids: str) -> list[str]:
    done = subprocess.run([KTRDUMP, "-c", "-p", pids, str(trace)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def getppid_calls(lines: list[str]) -> int:
    (row,) = [line for line in lines if line.endswith(" getppid")]
    return int(row.split()[3])


def test_a_thread_table_is_headed_as_the_thread(traced: tuple[Path, int, int]) -> None:
    trace, pid, tid = traced
    lines = summary(trace, str(tid))
    assert lines[0].startswith(f"Thread {tid} of process {pid} ("), lines[0]
    assert getppid_calls(lines) == 37  # that thread's calls alone
    assert not any(line.startswith("Process ") for line in lines)


def test_a_process_table_is_still_the_process(traced: tuple[Path, int, int]) -> None:
    trace, pid, tid = traced
    for pids in (str(pid), f"{pid},{tid}"):
        lines = summary(trace, pids)
        assert lines[0].startswith(f"Process {pid} ("), lines[0]
        assert getppid_calls(lines) >= 37
