"""The tests' holds (``ktr record`` waiting on a FIFO at a named point of its set-up)
end at a signal whose handler raises, however the signal comes.

A Ctrl-C sent as the recorder reaches its hold can be taken by the interpreter's C
handler just before the hold's blocking read begins (after Python's last look at its
pending signals): the read is then interrupted by nothing, and the Ctrl-C waited for the
test to let go (20 s: ``test_ctrl_c_before_the_probes_are_looked_up_says_nothing_was_
recorded`` timed out so once in a full-suite run). The window is a few microseconds;
the test here forces the state it leaves: the signal is taken by another thread (the
main thread blocks it), so the C handler runs and no call of the main thread is
interrupted. The hold must still end, within its 50 ms slices, not when the test lets go.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

from control_support import wait_until

CHILD = r"""
import signal, sys, threading
from ktr._recorder import _test_hold

taking = threading.Event()

def taker():  # takes SIGINT (the main thread blocks it): no EINTR in the main thread
    taking.set()
    threading.Event().wait()

threading.Thread(target=taker, daemon=True).start()
taking.wait()
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
try:
    _test_hold("sources")
except KeyboardInterrupt:
    sys.exit(130)
sys.exit(0)
"""


def test_a_ctrl_c_that_interrupts_no_call_still_ends_the_hold(tmp_path: Path) -> None:
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    hold = tmp_path / "hold"
    os.mkfifo(hold)
    child = subprocess.Popen([sys.executable, "-c", CHILD],
                             env={**os.environ, SETUP_HOLD_TEST_ENV: f"sources={hold}"})
    held: list[int] = []

    def waiting() -> bool:  # the FIFO opens once the child waits there (or it ended)
        if child.poll() is not None:
            return True
        try:
            held.append(os.open(hold, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno == errno.ENXIO:
                return False
            raise
        return True

    try:
        wait_until(waiting, "the child at its hold")
        assert held, child.returncode
        child.send_signal(signal.SIGINT)
        status = child.wait(timeout=5)  # (the old hold: until the test let go)
    finally:
        for fd in held:
            os.close(fd)
        child.kill()
        child.wait()
    assert status == 130


def test_the_hold_ends_when_the_test_lets_go(tmp_path: Path) -> None:
    """Without a signal: at the byte the test writes."""
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    child = subprocess.Popen([sys.executable, "-c",
                              f"from ktr._testhold import hold_on_fifo; "
                              f"hold_on_fifo({str(hold)!r}); print('released')"],
                             stdout=subprocess.PIPE, text=True)
    fd = -1

    def waiting() -> bool:
        nonlocal fd
        try:
            fd = os.open(hold, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:
                return False
            raise
        return True

    try:
        wait_until(waiting, "the child at its hold")
        assert child.poll() is None  # (waiting: nothing written yet)
        os.write(fd, b"x")
        out, _ = child.communicate(timeout=5)
    finally:
        if fd >= 0:
            os.close(fd)
        child.kill()
        child.wait()
    assert child.returncode == 0 and out == "released\n"
