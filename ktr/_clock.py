"""The trace's clock: realtime nanoseconds that advance with CLOCK_MONOTONIC.

Every timestamp a recording writes -- the ptrace source's stops, the perf
sources' switches, counters, samples and probe hits (opened with
``use_clockid`` CLOCK_MONOTONIC), probe definitions, and the descriptor's
BEGIN, DROP and END records -- is ``CLOCK_MONOTONIC + offset``, the offset
between the realtime and the monotonic clock measured once, when the
recording's one ``TraceClock`` is made. The recorder makes it and hands the
same object to every source and to the descriptor, so records of different
sources are on exactly one timeline, and the file header's (and BEGIN's)
``realtime_ns - monotonic_ns`` is that offset exactly (``start_realtime_ns``,
``start_monotonic_ns``). The time between two records is exactly the
monotonic time between them: a SYSRET's ``duration_ns`` equals its timestamp
minus its SYSCALL's, and a step of the realtime clock during a recording
(settimeofday, an NTP step) reorders nothing.

Does not: follow such a step (the timestamps keep the offset measured at
start), as perf's records would not either. A source made without a clock
(tests, benchmarks driving one source alone) measures its own.
"""

from __future__ import annotations

import time

#: BEGIN's and the header's ``"clock"`` option: timestamps are CLOCK_MONOTONIC plus
#: the header's ``realtime_ns - monotonic_ns`` (files before it said ``"realtime"``,
#: meaning the same clock with an offset measured apart from the header's fields).
CLOCK_NAME = "monotonic+offset"


class TraceClock:
    """Converts CLOCK_MONOTONIC ns to the trace's clock (realtime ns).

    The offset is measured once, at construction, as the tightest of a few
    monotonic/realtime/monotonic readings; ``start_monotonic_ns`` is that
    reading's monotonic midpoint and ``start_realtime_ns`` the trace clock then.
    """

    __slots__ = ("offset_ns", "start_monotonic_ns")

    def __init__(self) -> None:
        best = None
        for _ in range(5):
            before = time.monotonic_ns()
            real = time.time_ns()
            after = time.monotonic_ns()
            if best is None or after - before < best[0]:
                middle = (before + after) // 2
                best = (after - before, real - middle, middle)
        assert best is not None
        self.offset_ns = best[1]
        self.start_monotonic_ns = best[2]

    @property
    def start_realtime_ns(self) -> int:
        """The trace clock when the offset was measured (the recording's start)."""
        return self.start_monotonic_ns + self.offset_ns

    def to_trace(self, monotonic_ns: int) -> int:
        return monotonic_ns + self.offset_ns

    def now_ns(self) -> int:
        """The trace clock now (one clock reading)."""
        return time.monotonic_ns() + self.offset_ns
