"""The exception tree of ``ktr`` (the recorder).

::

    KtrError                  base; str(error) is one line fit for stderr
     +-- UsageError           a bad option or argument (exit status 2)
     +-- OutputError          the trace output cannot be opened or written
     |                        (.path, .errno)
     |    +-- IncompatibleOutput   -a onto a file that is not a compatible trace
     |    +-- UnsafeOutput         a symlink, another user's file or FIFO, ...:
     |                             refused, never written (FreeBSD ktrace's rules)
     +-- PtraceError          a ptrace request failed (.request, .pid, .errno)
     +-- TargetError          a process cannot be traced (.pid, .errno): no
     |                        such process, permission denied, ...
     +-- PerfError            a perf_event call failed (.call, .event, .pid,
                              .errno, .hint)

Guarantees: every error carries what a user needs to act on it in its message;
the command line prints ``str(error)`` and exits non-zero, never a traceback.
Events of a trace (a process exited, a record was dropped) are return values,
not exceptions.
"""

from __future__ import annotations

import errno as errno_module
import os


class KtrError(Exception):
    """Base of every error ktr reports to its user."""

    exit_status = 1


class UsageError(KtrError):
    exit_status = 2


class SetupInterrupted(KtrError):
    """SIGINT, SIGTERM or SIGHUP before the recording began (the output says so); the
    shell's status for it, 128+N."""

    exit_status = 130

    def __init__(self, message: str, signo: int = 2) -> None:
        super().__init__(message)
        self.exit_status = 128 + signo


class SetupSignal(BaseException):
    """SIGTERM or SIGHUP before the recording's handlers are in (SIGINT's is
    ``KeyboardInterrupt``): ``ktr._recorder`` raises it from its handler, and reports it
    as ``SetupInterrupted`` (``ktr.cli`` as well, when it comes before ``record``'s
    first line)."""

    def __init__(self, signo: int) -> None:
        super().__init__(signo)
        self.signo = signo


class OutputError(KtrError):
    def __init__(self, message: str, path: str, error_number: int | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.errno = error_number


class IncompatibleOutput(OutputError):
    pass


class UnsafeOutput(OutputError):
    """The output path is a symlink, another user's file, a hard link, a FIFO not allowed..."""


class PtraceError(KtrError):
    def __init__(self, request: str, pid: int, error_number: int) -> None:
        self.request = request
        self.pid = pid
        self.errno = error_number
        super().__init__(
            f"ptrace {request} on pid {pid} failed: {errno_text(error_number)}"
        )


class TargetError(KtrError):
    def __init__(self, message: str, pid: int, error_number: int | None = None) -> None:
        super().__init__(message)
        self.pid = pid
        self.errno = error_number


class PerfError(KtrError):
    """A perf_event call failed: ``.call`` (perf_event_open, ioctl name, mmap,
    read), ``.event`` (the event's name, e.g. ``context-switches``), ``.pid``
    (the target, -1 for none) and ``.errno``. ``hint`` (optional) says what would
    allow it (the sysctl or capability)."""

    def __init__(self, call: str, event: str, error_number: int, pid: int = -1,
                 hint: str = "") -> None:
        self.call = call
        self.event = event
        self.errno = error_number
        self.pid = pid
        self.hint = hint
        target = f" for pid {pid}" if pid > 0 else ""
        message = f"perf event {event}{target}: {call} failed: {errno_text(error_number)}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


def errno_text(error_number: int) -> str:
    """``ENOENT (No such file or directory)``."""
    name = errno_module.errorcode.get(error_number, f"errno {error_number}")
    return f"{name} ({os.strerror(error_number)})"
