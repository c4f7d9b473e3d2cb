"""Progress of a long ktrdump run, on a terminal's stderr only.

A summary or an export of a large trace reads for seconds before (or while)
writing; ``Progress`` draws one line on stderr — ``ktrdump: 42% of 96.0 MiB,
1234567 records`` — redrawn in place at most every ``INTERVAL_S`` once
``DELAY_S`` has passed, and erased when the run ends.

Guarantees: nothing is drawn unless stderr is a terminal; nothing is drawn
when the view writes records to that same terminal as it goes (the lines
would mix), nor for live or followed inputs (they have no end to measure);
the data written to stdout is never touched (the line goes to stderr only).
A run shorter than ``DELAY_S`` draws nothing. Does not: measure stdin's
size (the percentage is then left out).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import IO, Any

#: Seconds before the first line (short runs stay silent) and between redraws.
DELAY_S = 1.0
INTERVAL_S = 0.25


def _same_terminal(first: IO[Any], second: IO[Any]) -> bool:
    try:
        a, b = os.fstat(first.fileno()), os.fstat(second.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (a.st_dev, a.st_ino, a.st_rdev) == (b.st_dev, b.st_ino, b.st_rdev)


def _is_terminal(stream: IO[Any]) -> bool:
    try:
        return os.isatty(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False


def _mib(count: int) -> str:
    return f"{count / (1 << 20):.1f} MiB"


class Progress:
    """Pass events through, drawing how far the read has come."""

    def __init__(self, stderr: IO[str], position: Callable[[], int], total_bytes: int | None,
                 *, delay_s: float | None = None, interval_s: float | None = None) -> None:
        self._stderr = stderr
        self._position = position
        self._total = total_bytes
        self._delay = DELAY_S if delay_s is None else delay_s
        self._interval = INTERVAL_S if interval_s is None else interval_s
        self._drawn = False
        self.records = 0

    def wrap(self, events: Iterator[Any]) -> Iterator[Any]:
        """``events`` unchanged; the line is redrawn between them and erased at the end."""
        next_draw = time.monotonic() + self._delay
        try:
            for event in events:
                if isinstance(event, list):
                    self.records += len(event)
                else:
                    self.records += getattr(event, "record_count", 0)
                now = time.monotonic()
                if now >= next_draw:
                    self._draw()
                    next_draw = now + self._interval
                yield event
        finally:
            self.clear()

    def _draw(self) -> None:
        done = self._position()
        if self._total:
            text = (f"ktrdump: {min(100, done * 100 // self._total)}% of {_mib(self._total)}, "
                    f"{self.records} records")
        else:
            text = f"ktrdump: {_mib(done)}, {self.records} records"
        self._stderr.write(f"\r{text}\x1b[K")
        self._stderr.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            self._drawn = False
            self._stderr.write("\r\x1b[K")
            self._stderr.flush()


def progress_for(stdout: IO[Any], stderr: IO[str], *, writes_as_it_goes: bool, live: bool,
                 position: Callable[[], int], total_bytes: int | None) -> Progress | None:
    """A ``Progress`` when one may be drawn (see the module docstring), else None."""
    if live or not _is_terminal(stderr):
        return None
    if writes_as_it_goes and _same_terminal(stdout, stderr):
        return None
    return Progress(stderr, position, total_bytes)


__all__ = ["DELAY_S", "INTERVAL_S", "Progress", "progress_for"]
