"""The signal that stopped a recording, come again while the recording closes, changes nothing.

GNU ``timeout -s INT N ktr record -p PID`` sends SIGINT to ktr and then to its whole
process group, so ktr may get it twice; an impatient user's second Ctrl-C does the
same. The second one, landing after the recording's handlers were gone (the trace
closing: the targets detached, the side sources stopped), was kept and raised again
once the sources were closed: a KeyboardInterrupt out of the recorder, so ktr said
"ktr: interrupted", exited 130 instead of 0 and never printed the summary of the
complete recording. The test holds the recorder at that point (``closing``) and
sends the second SIGINT there.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from control_support import wait_until

from ktr._recorder import SETUP_HOLD_TEST_ENV

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]


def _records(trace: Path) -> list[dict[str, object]]:
    """What ktrdump reads of the trace so far (a trace still written has no END)."""
    done = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          timeout=30)
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_a_second_sigint_while_an_attached_recording_closes_keeps_its_summary(
        tmp_path: Path) -> None:
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "twice.ktr"
    target = subprocess.Popen(["sleep", "60"])
    recorder = subprocess.Popen(
        [*KTR, "record", "-o", str(out), "-t", "cp", "--flush-interval", "10",
         "-p", str(target.pid)], stderr=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"closing={hold}"})
    held: list[int] = []

    def closing() -> bool:  # the FIFO opens once the recorder waits there
        try:
            held.append(os.open(hold, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno == errno.ENXIO:  # no reader yet
                return recorder.poll() is not None
            raise
        return True

    try:
        # the attach is recorded by the running recording: its handlers are in
        wait_until(lambda: any(r["type"] == "PROC" for r in _records(out)),
                   "the attach recorded")
        recorder.send_signal(signal.SIGINT)  # stops the recording
        wait_until(closing, "the recorder closing the recording")
        assert held, recorder.stderr
        recorder.send_signal(signal.SIGINT)  # the same request again
        os.close(held.pop())  # (the recorder reads the end of the FIFO and goes on)
        _, stderr = recorder.communicate(timeout=30)
    finally:
        for fd in held:
            os.close(fd)
        recorder.kill()
        recorder.wait()
        target.kill()
        target.wait()
    assert recorder.returncode == 0, stderr
    lines = stderr.splitlines()
    assert lines[0] == "ktr: recording stopped: interrupted by SIGINT", stderr
    assert lines[1].startswith("ktr: ") and f" to {out};" in lines[1], stderr
    assert len(lines) == 2, stderr
    end = _records(out)[-1]
    assert end["type"] == "END" and end["reason"] == "interrupted by SIGINT", end
