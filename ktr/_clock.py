"""The trace's clock: realtime nanoseconds that advance with CLOCK_MONOTONIC.

Every timestamp the recorder writes -- the ptrace source's stops and the perf
sources' samples (opened with ``use_clockid`` CLOCK_MONOTONIC) -- is
``CLOCK_MONOTONIC + offset``, the offset between the realtime and the
monotonic clock measured once. So the time between two records is exactly
the monotonic time between them: a SYSRET's ``duration_ns`` equals its
timestamp minus its SYSCALL's, and a step of the realtime clock during a
recording (settimeofday, an NTP step) reorders nothing.

Does not: follow such a step (the timestamps keep the offset measured at
start), as perf's records would not either.
"""

from __future__ import annotations

import time


class TraceClock:
    """Converts CLOCK_MONOTONIC ns to the trace's clock (realtime ns).

    The offset is measured once, at construction, as the tightest of a few
    monotonic/realtime/monotonic readings.
    """

    __slots__ = ("offset_ns",)

    def __init__(self) -> None:
        best = None
        for _ in range(5):
            before = time.monotonic_ns()
            real = time.time_ns()
            after = time.monotonic_ns()
            if best is None or after - before < best[0]:
                best = (after - before, real - (before + after) // 2)
        assert best is not None
        self.offset_ns = best[1]

    def to_trace(self, monotonic_ns: int) -> int:
        return monotonic_ns + self.offset_ns

    def now_ns(self) -> int:
        """The trace clock now (one clock reading)."""
        return time.monotonic_ns() + self.offset_ns
