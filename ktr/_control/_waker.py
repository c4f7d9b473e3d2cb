"""The waker: request_stop and signals break a blocking waitpid within milliseconds."""

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
    WALL,
    ControlState,
    Release,
)


class _WakeUp(Exception):
    """Raised by the wake-signal handler to break a blocking wait."""


_active: WakerMixin | None = None  # the loop currently in run() on the main thread


def _on_wake_signal(signum: int, frame: object) -> None:
    control = _active
    if control is not None:
        control._wake_count += 1
        if control._in_blocking_wait:
            raise _WakeUp



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
        if threading.get_ident() == self._main_thread_id and self._in_blocking_wait:
            # called from a signal handler that interrupted our own wait
            raise _WakeUp
        if self._wake_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"\0")

    def _start_waker(self) -> tuple[Any, int, threading.Thread] | None:
        """Make request_stop and signals break a blocking waitpid (main thread only)."""
        global _active
        if threading.current_thread() is not threading.main_thread():
            return None
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._main_thread_id = threading.get_ident()
        previous_handler = signal.signal(_WAKE_SIGNAL, _on_wake_signal)
        previous_fd = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        _active = self
        waker = threading.Thread(target=self._waker, name="ktr-waker", daemon=True)
        waker.start()
        return previous_handler, previous_fd, waker

    def _stop_waker(self, saved: tuple[Any, int, threading.Thread] | None) -> None:
        global _active
        if saved is None:
            return
        _active = None
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
        try:
            while True:
                select.select([read], [], [])
                data = os.read(read, 256)
                if not data:
                    return
                if not data.strip(urgent):
                    continue  # only our own wake signal echoed back
                seen = self._wake_count
                for _ in range(500):
                    if self._main_thread_id == 0:
                        return
                    signal.pthread_kill(self._main_thread_id, _WAKE_SIGNAL)
                    ready, _, _ = select.select([read], [], [], 0.01)
                    if ready and not os.read(read, 256):
                        return
                    if self._wake_count != seen:
                        break
        except OSError:
            return
        finally:
            os.close(read)

    def _block(self) -> tuple[int, int] | None:
        """Wait for the next status without consuming it first (WNOWAIT), so a
        wake-up exception can never lose one; then take it with WNOHANG."""
        if self._stop_request is not None and self._releasing is None:
            return None
        if self._main_thread_id and self._main_thread_id == threading.get_ident():
            self._in_blocking_wait = True
            try:
                if self._stop_request is None or self._releasing is not None:
                    os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOWAIT | WALL)
            except _WakeUp:
                pass
            finally:
                self._in_blocking_wait = False
        else:
            # no signal to break a wait with (not the main thread): poll
            pause = 0.0005
            while self._stop_request is None or self._releasing is not None:
                if os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOWAIT
                             | os.WNOHANG | WALL) is not None:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
        tid, status = os.waitpid(-1, _WNOHANG_WALL)
        return (tid, status) if tid else None

