"""The tests' holds: ``ktr record`` waits on a FIFO the test holds, at a named point.

Guarantees: ``hold_on_fifo(path)`` returns once the test writes a byte to the FIFO or
closes its end (after opening it); a test's writer opens it (``O_NONBLOCK``) only once
the recorder waits there (ENXIO before). A signal whose handler raises (Ctrl-C's
``KeyboardInterrupt``, ``SetupSignal``) ends the wait within 50 ms however it comes: the
wait is in slices, so a signal that the interpreter's C handler took just before a
blocking call began (between Python's last look at its pending signals and the call: it
then interrupts nothing), or in another thread (which interrupts no call of the main
thread), is acted on at the next slice, not when the test lets go. (A plain blocking
``read`` lost a Ctrl-C so until the test's timeout, 20 s, once in a full-suite run.)

Does not: run outside the tests (only when their environment variables name a FIFO).
"""

from __future__ import annotations

import os
import select

__all__ = ["hold_on_fifo"]

#: how long a signal taken outside the wait's system call can wait to be acted on
SLICE_S = 0.05


def hold_on_fifo(path: str) -> None:
    """Wait for one byte, or the end of file, on the FIFO ``path`` (see the module)."""
    # O_NONBLOCK: the open itself does not wait for the writer (a wait there would be
    # a blocking call with the same window); a FIFO's read end reports no hang-up
    # before its first writer came, so select waits for the test.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        while True:
            readable, _, _ = select.select([fd], [], [], SLICE_S)
            if readable:
                try:
                    os.read(fd, 1)
                except BlockingIOError:
                    continue  # (taken by no one else: spurious)
                return
    finally:
        os.close(fd)
