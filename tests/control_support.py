"""Helpers for the process-control tests: record a command, poll /proc with a deadline."""

from __future__ import annotations

import ctypes
import io
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from ktr._control import Control, ControlOptions, RunResult
from ktr._events import (
    Event,
    Lifecycle,
    ProcessEvent,
    SignalDelivery,
    SyscallEntry,
    SyscallExit,
)

PYTHON = sys.executable
DEADLINE_S = 5.0


class Tee(io.RawIOBase):
    """A pipe read through (``ktrdump.open`` on a live ``ktr record -o -``), copied
    to a file as it is read: a test waits for a record, then reads the file."""

    def __init__(self, source: IO[bytes], copy: IO[bytes]) -> None:
        self._source = source
        self._copy = copy

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read1(len(buffer))  # type: ignore[attr-defined]
        buffer[:len(data)] = data
        self._copy.write(data)
        return len(data)

NR_READ = 0
NR_WRITE = 1
NR_GETPPID = 110
NR_EXECVE = 59
NR_OPENAT = 257
NR_EXIT_GROUP = 231


@dataclass
class Recording:
    events: list[Event] = field(default_factory=list)
    result: RunResult | None = None
    pid: int = 0

    def of(self, kind: type) -> list[Event]:
        return [event for event in self.events if type(event) is kind]

    def entries(self) -> list[SyscallEntry]:
        return [e for e in self.events if isinstance(e, SyscallEntry)]

    def exits(self) -> list[SyscallExit]:
        return [e for e in self.events if isinstance(e, SyscallExit)]

    def signals(self) -> list[SignalDelivery]:
        return [e for e in self.events if isinstance(e, SignalDelivery)]

    def lifecycle(self, kind: Lifecycle | None = None) -> list[ProcessEvent]:
        return [e for e in self.events if isinstance(e, ProcessEvent)
                and (kind is None or e.kind is kind)]


def record(
    argv: Sequence[str],
    options: ControlOptions | None = None,
    on_event: Callable[[Control, Event], None] | None = None,
) -> Recording:
    """Spawn ``argv`` under a Control and keep every event."""
    control = Control(options)
    recording = Recording()
    recording.pid = control.spawn(argv)

    def consumer(event: Event) -> None:
        recording.events.append(event)
        if on_event is not None:
            on_event(control, event)

    recording.result = control.run(consumer)
    return recording


def wait_until(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Poll ``predicate`` until true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    pause = 0.001
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(pause)
        pause = min(pause * 2, 0.02)


def proc_state(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].split()[0].decode()


def tracer_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def threads_of(pid: int) -> list[int]:
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def voluntary_switches(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("voluntary_ctxt_switches:"):
                return int(line.split()[1])
    return 0


def become_nobody() -> None:
    """In a forked child: drop root for uid/gid 65534 and stay traceable.

    Changing credentials clears the dumpable flag, which would keep a tracer
    (and /proc readers) of the same uid away: PR_SET_DUMPABLE sets it again.
    """
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
