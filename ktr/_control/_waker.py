"""The waker: request_stop and signals break a blocking waitpid within milliseconds.

On the main thread the loop blocks in one ``wait4`` (``_ptrace.wait_blocking``, made inline)
that a signal ends with EINTR; no handler raises, so a status the kernel has
handed over is never lost. A signal can land just before the wait starts; the
waker thread repeats SIGURG until the wait has returned (or the loop is not
blocked); a stop request closes the wait's gate (``_ptrace.WaitGate``), which
the wait tests after the last point where Python runs signal handlers, so a
request is seen at once or within one repeat (10 ms).

When ``run`` has a flush, the waker also looks every ``HOLD_LIMIT_S``: a
blocking wait that began with stops not yet flushed and is still the same
wait one look later is broken the same way, and the loop flushes before it
waits again. Records so held reach the queue within two looks.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from typing import Any

from ._state import (
    _WAKE_SIGNAL,
    _WNOHANG_WALL,
    HOLD_LIMIT_S,
    WALL,
    ControlState,
    Release,
)


def _on_wake_signal(signum: int, frame: object) -> None:
    # Nothing to do: the signal's work is ending a blocking wait with EINTR.
    return None


class WakerMixin(ControlState):
    # --------------------------------------------------------------- stopping

    def request_stop(self, reason: str, release: Release = Release.DEFAULT) -> None:
        """End the recording: let every tracee go (see ``Release``).

        Safe from a signal handler and from any thread; the first request
        wins. Returns at once; ``run`` returns when every tracee is let go.
        """
        self._request((reason, release))

    def _request(self, request: tuple[str, Release]) -> None:
        if self._stop_request is None:
            self._stop_request = request
            if self._releasing is None:
                self._gate.closed = True  # acted on by _begin_release
        if threading.get_ident() == self._main_thread_id:
            return  # from a signal handler on the loop's thread: it checks next
        if self._wake_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"\0")

    def _start_waker(self) -> tuple[Any, int, threading.Thread] | None:
        """Make request_stop and signals break a blocking waitpid (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            return None
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._main_thread_id = threading.get_ident()
        previous_handler = signal.signal(_WAKE_SIGNAL, _on_wake_signal)
        previous_fd = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        waker = threading.Thread(target=self._waker, name="ktr-waker", daemon=True)
        waker.start()
        return previous_handler, previous_fd, waker

    def _stop_waker(self, saved: tuple[Any, int, threading.Thread] | None) -> None:
        if saved is None:
            return
        previous_handler, previous_fd, waker = saved
        signal.set_wakeup_fd(previous_fd)
        self._main_thread_id = 0
        write, self._wake_write = self._wake_write, -1
        os.close(write)  # EOF ends the waker thread
        waker.join()
        signal.signal(_WAKE_SIGNAL, previous_handler)

    def _waker(self) -> None:
        """Turn bytes on the wake pipe (signals, request_stop) into SIGURG for
        the main thread, repeated until its handler has run: a signal that
        lands just before waitpid's system call would otherwise be noticed
        only at the next tracee stop."""
        read = self._wake_read
        urgent = bytes([_WAKE_SIGNAL])
        # With a flush (see run), also wake every HOLD_LIMIT_S to break a
        # blocking wait that has held unflushed stops since the last look.
        hold_limit = HOLD_LIMIT_S if self._flush is not None else None
        seen = -1
        try:
            while True:
                ready, _, _ = select.select([read], [], [], hold_limit)
                if not ready:
                    seen = self._break_holding_wait(seen)
                    continue
                data = os.read(read, 256)
                if not data:
                    return
                if not data.strip(urgent):
                    continue  # only our own wake signal echoed back
                for _ in range(500):
                    if self._main_thread_id == 0:
                        return
                    if not self._in_blocking_wait:
                        break  # the loop is running: it sees the request itself
                    returns = self._wait_returns
                    signal.pthread_kill(self._main_thread_id, _WAKE_SIGNAL)
                    ready, _, _ = select.select([read], [], [], 0.01)
                    if ready and not os.read(read, 256):
                        return
                    if self._wait_returns != returns:
                        break
        except OSError:
            return
        finally:
            os.close(read)

    def _break_holding_wait(self, seen: int) -> int:
        """SIGURG for a blocking wait that holds unflushed stops and has not
        returned since the previous look (``seen``: the count of returned
        waits then); the loop flushes when the wait ends with EINTR."""
        returns = self._wait_returns
        if (returns == seen and self._in_blocking_wait and self._holding
                and self._main_thread_id):
            signal.pthread_kill(self._main_thread_id, _WAKE_SIGNAL)
        return returns

    def _block(self) -> tuple[int, int] | None:
        """The next status, or None when a stop request came first. Off the main
        thread, where no signal can break a wait, this polls; on the main thread
        the loop itself blocks in one wait4 (see the module docstring)."""
        if self._stop_request is not None and self._releasing is None:
            return None
        pause = 0.0005
        while self._stop_request is None or self._releasing is not None:
            if os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOWAIT
                         | os.WNOHANG | WALL) is not None:
                break
            time.sleep(pause)
            pause = min(pause * 2, 0.01)
        tid, status = os.waitpid(-1, _WNOHANG_WALL)
        return (tid, status) if tid else None

