"""May the recorder draw a live status line on its terminal without hurting the traced program?

A status line is redrawn in place (``\\r`` ... ``ESC[K``) on ktr's standard
error. If a traced program writes to the same terminal, or reads from it (the
terminal echoes what is typed), or can open it as its controlling terminal
(``/dev/tty``: password prompts, ``less``'s prompt), the two would overwrite
each other. ``status_line_allowed`` says yes only when none of the traced
processes has the terminal as standard input, output or error, nor as its
controlling terminal.

Guarantees: answers from ``/proc`` at the moment it is asked; any doubt (a
process vanished, ``/proc`` unreadable) answers no. Does not: watch for
processes that later open the terminal, or for children started after the
question (they inherit their parent's terminal, which was checked).

A spawned command inherits ktr's standard error, so it always shares the
terminal: the live line is then never shown, only the one-line summary
printed after the command has ended.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Protocol


class _Stream(Protocol):
    def fileno(self) -> int: ...


def _terminal_of(stream: _Stream) -> tuple[int, int] | None:
    """(st_dev, st_rdev)-style identity of the terminal behind ``stream``, or None."""
    try:
        fd = stream.fileno()
        if not os.isatty(fd):
            return None
        info = os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return None
    return (os.major(info.st_rdev), os.minor(info.st_rdev))


def _device_of(path: str) -> tuple[int, int] | None:
    info = os.stat(path)  # follows /proc/PID/fd/N to the open file
    if info.st_rdev == 0:
        return None
    return (os.major(info.st_rdev), os.minor(info.st_rdev))


def _controlling_terminal(pid: int) -> tuple[int, int] | None:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        text = stat.read()
    # The command name may hold spaces and parentheses: fields follow the last ")".
    fields = text[text.rindex(b")") + 2:].split()
    tty_nr = int(fields[4])  # field 7 of proc(5): the kernel's new_encode_dev()
    if tty_nr == 0:
        return None
    return ((tty_nr >> 8) & 0xFFF, (tty_nr & 0xFF) | ((tty_nr >> 12) & 0xFFF00))


def status_line_allowed(stream: _Stream, pids: Iterable[int]) -> bool:
    """True when ``stream`` is a terminal no process of ``pids`` reads, writes or controls."""
    terminal = _terminal_of(stream)
    if terminal is None:
        return False
    try:
        for pid in pids:
            if _controlling_terminal(pid) == terminal:
                return False
            for fd in (0, 1, 2):
                try:
                    if _device_of(f"/proc/{pid}/fd/{fd}") == terminal:
                        return False
                except FileNotFoundError:
                    continue  # that fd is closed
    except (OSError, ValueError, IndexError):
        return False
    return True


__all__ = ["status_line_allowed"]
