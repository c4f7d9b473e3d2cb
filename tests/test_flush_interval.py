"""What a SIGKILLed ``ktr`` leaves behind: records reach a file within the flush interval.

``kill -9`` gives the recorder no chance to write its queue, so what the file
holds is what the writer had written: a record waits at most
``--flush-interval`` (default 1 s; it was ktrace's 5 s, and a recorder killed
1.5 s into a quiet program left a file holding BEGIN alone). A busy recording
is not cut into small batches by it: its batches still fill to the queue's
wakeup count.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from c_support import build_program

import ktrdump
from ktr._options import parse_record_arguments

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"

#: A quiet program: one getppid every 20 ms, forever (about 100 records a second,
#: far from the 2000 that would fill a batch).
SLOW = r"""
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec pause = {0, 20000000};
    for (;;) { getppid(); nanosleep(&pause, 0); }
}
"""


@pytest.fixture(scope="module")
def slow_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("flush"), "slow", SLOW, "-O1")


def _getppid_calls(trace: Path) -> int:
    """getppid calls in the file so far (read in-process: a ktrdump start per poll
    costs a second on a loaded machine)."""
    return sum(1 for item in ktrdump.calls(str(trace))
               if isinstance(item, ktrdump.Call) and item.name == "getppid")


@pytest.mark.parametrize("options", [(), ("--flush-interval", "200")],
                         ids=["default", "flush-interval-200"])
def test_a_sigkilled_recording_keeps_its_first_records(slow_program: Path, tmp_path: Path,
                                                       options: tuple[str, ...]) -> None:
    trace = tmp_path / "k9.ktr"
    # In its own session, as `setsid ktr record ...`: the tracee shares it, and the
    # clean-up below kills both by that group.
    recorder = subprocess.Popen([KTR, "record", "-q", *options, "-o", str(trace), "--",
                                 str(slow_program)], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # The recording has started when its BEGIN is in the file (written at once);
        # the old 5 s wakeup then wrote nothing more within the 3.5 s that follow.
        deadline = time.monotonic() + 30
        calls = 0
        begun = False
        while calls == 0:
            assert time.monotonic() < deadline, (
                "no getppid record reached the file 3.5 s after its BEGIN" if begun
                else "the recording did not start")
            assert recorder.poll() is None, recorder.stderr.read() if recorder.stderr else ""
            time.sleep(0.05)  # polling the file for the awaited records, not a wait for them
            if not begun and trace.exists() and trace.stat().st_size > 0:
                begun = True
                deadline = time.monotonic() + 3.5
            if begun:
                calls = _getppid_calls(trace)
        os.kill(recorder.pid, signal.SIGKILL)
        recorder.wait(timeout=10)
    finally:
        with_group_gone(recorder)
    assert recorder.returncode == -signal.SIGKILL
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)],
                            capture_output=True, text=True, timeout=30)
    assert dumped.stdout.count("getppid()") >= calls
    # Said, not hidden: the recording has no END.
    assert dumped.returncode == 1
    assert "no END record" in dumped.stderr


def with_group_gone(recorder: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the recorder's session (the tracee, if PTRACE_O_EXITKILL
    has not yet) and reap the recorder."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(recorder.pid, signal.SIGKILL)
    if recorder.poll() is None:
        recorder.wait(timeout=10)


def test_the_flush_interval_is_the_recorded_wake_delay() -> None:
    """--flush-interval is ktrace's wakedelay (--wake-delay still names it), and the
    default is 1 s."""
    def recorded(*arguments: str) -> object:
        options = parse_record_arguments([*arguments, "-o", "x.ktr", "--", "true"])
        return options.header_options()["queue"]["wakedelay_ms"]  # type: ignore[index]

    assert recorded() == 1000
    assert recorded("--flush-interval", "250") == 250
    assert recorded("--wake-delay", "300") == 300


def test_a_busy_recording_still_writes_full_batches(tmp_path: Path) -> None:
    """dd's 12000 calls arrive far faster than once a second: the writer is woken by
    the queue's count (2000 records), not by the interval, so its batches stay
    large (a batch every interval would be a handful per second)."""
    trace = tmp_path / "dd.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "dd", "if=/dev/zero",
                    "of=/dev/null", "bs=1", "count=6000", "status=none"], check=True,
                   timeout=60)
    with ktrdump.open(str(trace)) as reader:
        sizes = [len(event) for event in reader.events() if isinstance(event, list)]
    records = sum(sizes)
    assert records > 24000
    # BEGIN alone, then full batches of about 2000 records, the last one partial.
    assert len(sizes) <= records // 1500 + 3, sizes
