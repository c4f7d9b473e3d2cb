"""One call, one duration: every view of a real recording shows the same time.

A call's duration is the time between the tracer seeing its entry stop and
its exit stop (strace -T's definition). The recorder takes one clock reading
per stop (the trace clock, ``ktr._clock``), so the RET's ``duration_ns`` is
exactly its timestamp minus its CALL's -- also for calls a thread's exit
cut short (``exit``, ``exit_group``), whose RET is made later than the stop
that ended them. Before, two clocks were read per stop and an unfinished
call's duration ran to when its RET was made: ``exit`` showed 174257 ns in
``duration_ns`` and 153608 ns as ``dur`` in the same Chrome event.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"

#: Threads that sleep and exit, children that fork and _exit: calls that
#: return, calls cut by their thread's exit, calls resumed after others.
PROGRAM = r"""
#include <pthread.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static void *worker(void *unused) {
    struct timespec pause = {0, 200000};
    for (int i = 0; i < 4; i++) { nanosleep(&pause, 0); getppid(); }
    return unused;
}
int main(void) {
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], 0, worker, 0);
    for (int i = 0; i < 3; i++) {
        pid_t child = fork();
        if (child == 0) { getpid(); _exit(0); }
        waitpid(child, 0, 0);
    }
    for (int i = 0; i < 3; i++) pthread_join(threads[i], 0);
    return 0;
}
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("gcc is not installed")
    directory = tmp_path_factory.mktemp("durations")
    source = directory / "threads.c"
    source.write_text(PROGRAM)
    program = directory / "threads"
    subprocess.run([gcc, "-O1", "-pthread", "-o", str(program), str(source)], check=True)
    out = directory / "threads.ktr"
    subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(out), "--", str(program)],
                   check=True, timeout=30)
    return out


def _dump(trace: Path, *options: str) -> str:
    return subprocess.run([str(KTRDUMP), *options, str(trace)], check=True,
                          capture_output=True, text=True, timeout=30).stdout


def test_ret_duration_is_ret_time_minus_call_time(trace: Path) -> None:
    calls: dict[tuple[int, int], dict[str, Any]] = {}
    paired = unfinished = 0
    for line in _dump(trace, "--json").splitlines():
        record = json.loads(line)
        if record["type"] == "CALL":
            calls[(record["tid"], record["call"])] = record
        elif record["type"] == "RET":
            call = calls.get((record["tid"], record["call"]))
            if call is None:
                continue
            assert record["duration_ns"] == record["ts"] - call["ts"], (call, record)
            paired += 1
            unfinished += record.get("unfinished", False) or record["retval"] is None
    # the threads' exit and the children's and the leader's exit_group
    assert paired > 40
    assert unfinished >= 7


def test_chrome_dur_is_duration_ns(trace: Path) -> None:
    events = json.loads(_dump(trace, "--format", "chrome"))["traceEvents"]
    shown = [event for event in events
             if event.get("ph") == "X" and "duration_ns" in event.get("args", {})]
    assert len(shown) > 40
    cut = [event for event in shown if event["args"].get("unfinished")]
    assert {event["name"] for event in cut} >= {"exit", "exit_group"}
    for event in shown:
        # dur is in microseconds with three decimals: exact to the nanosecond
        assert round(event["dur"] * 1000) == event["args"]["duration_ns"], event


def test_parquet_end_minus_start_is_duration(trace: Path, tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "threads.parquet"
    subprocess.run([str(KTRDUMP), "--format", "parquet", "-o", str(out), str(trace)],
                   check=True, timeout=60)
    table = pq.read_table(out, columns=["start_ns", "end_ns", "duration_ns"]).to_pylist()
    rows = [row for row in table
            if row["start_ns"] is not None and row["duration_ns"] is not None]
    assert len(rows) > 40
    for row in rows:
        assert row["end_ns"] - row["start_ns"] == row["duration_ns"], row


_RESUMED = re.compile(r"^(\d+) +(\d+\.\d+) <\.\.\. (\w+) resumed>.* <(\d+\.\d+)>$")
_CUT = re.compile(r"^(\d+) +(\d+\.\d+) (\w+)\(.*<unfinished \.\.\.>$")


def test_strace_view_resumed_time_and_T_agree(trace: Path) -> None:
    """strace -ttt -T: a call split by another thread's lines shows its start on
    the ``<unfinished ...>`` line and its end on the ``resumed`` line; the gap
    between them is its ``<duration>`` (both printed to the microsecond)."""
    started: dict[tuple[int, str], float] = {}
    checked = 0
    for line in _dump(trace, "--format", "strace").splitlines():
        cut = _CUT.match(line)
        if cut:
            started[(int(cut[1]), cut[3])] = float(cut[2])
            continue
        resumed = _RESUMED.match(line)
        if resumed:
            start = started.pop((int(resumed[1]), resumed[3]))
            gap = float(resumed[2]) - start
            assert abs(gap - float(resumed[4])) <= 2e-6, line
            checked += 1
    assert checked > 3
