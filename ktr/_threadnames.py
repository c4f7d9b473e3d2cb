"""Thread names by time, for records read from per-CPU perf rings.

A perf source reads each CPU's ring in turn. A thread's rename (exec, or
prctl(PR_SET_NAME)) is a PERF_RECORD_COMM in the ring of the one CPU it ran
on then, and the FORK record that names a new thread's creator is in the
creator's CPU's ring; the thread's other records are spread over every ring.
Naming records in the order the rings are read gives a switch read from one
ring before the COMM in another ring the former name although it came after
the rename, and the new name to one that came before it.

``ThreadNames`` keeps, per thread, its name and the name changes that may
still matter (times in the perf clock): a drain first hands it every COMM and
FORK record of every ring (``apply``, in time order across the rings), then
names each record by its own time (``at``). A FORK names the new thread after
its creator at the fork's time (the kernel copies the name then), which the
control loop cannot know when it saw no rename (no syscall stops, ``-t w``).

Records are read up to a horizon (``horizon()``: shortly before the drain
started): a record stamped later may be followed, in a ring read earlier, by
a COMM stamped before it that the next drain brings, so such records wait for
the next drain (``stop``'s last drain takes everything, ``FINAL``). Changes up
to the horizon are then settled into the plain per-thread name (``settle``),
which is what the hot loops read for threads without pending changes.

Guarantees: a record stamped at time t is named with the name its thread had
at t, provided each ring holds every record stamped before the drain started
(the kernel writes a record right after stamping it, with preemption off:
``SETTLE_NS`` covers that) and no COMM or FORK was lost (ring losses are
counted by the sources).
Does not: read rings or know the record layouts (the sources do); name a
thread whose creator is not watched other than as the control loop saw it.
Thread safety: ``start`` (control thread) and ``apply``/``settle`` (reader)
take a lock; ``current``/``changing``/``at`` are read by the reader unlocked.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Iterable

#: How long before the start of a drain a record must have been stamped to
#: be sure it is in its ring (the kernel stamps it and writes it at once).
SETTLE_NS = 5_000_000
#: The horizon of a last drain: every record, whatever its time.
FINAL = 1 << 64
#: A FORK record seen before the control loop announced the thread names it
#: only if the announcement follows within this time (else the tid is reused).
_FORK_TO_START_NS = 10_000_000_000

#: A name change: (perf time, tid, new name) for COMM; (perf time, child tid,
#: creator tid) for FORK.
Comm = tuple[int, int, bytes]
Fork = tuple[int, int, int]


def horizon() -> int:
    """The horizon of a drain about to start (perf's clock is CLOCK_MONOTONIC)."""
    return time.monotonic_ns() - SETTLE_NS


class _History:
    """A thread's name changes after the last settle: ``names[0]`` is the
    name before ``times[1]`` (``times[0]`` is -1)."""

    __slots__ = ("names", "times")

    def __init__(self, name: bytes) -> None:
        self.times = [-1]
        self.names = [name]

    def add(self, when: int, name: bytes) -> None:
        if when > self.times[-1]:
            self.times.append(when)
            self.names.append(name)
            return
        at = bisect.bisect_right(self.times, when)
        if self.times[at - 1] == when:
            self.names[at - 1] = name  # the later of two records at one time wins
        else:
            self.times.insert(at, when)
            self.names.insert(at, name)


class ThreadNames:
    """See the module docstring."""

    __slots__ = ("_created", "_forked", "_lock", "changing", "current")

    def __init__(self) -> None:
        #: tid -> its latest known name (the only one that matters unless in ``changing``)
        self.current: dict[int, bytes] = {}
        #: tid -> changes not settled yet: records of these tids are named by ``at``
        self.changing: dict[int, _History] = {}
        self._lock = threading.Lock()
        self._created: dict[int, int] = {}  # tid -> when start() named it (no FORK seen yet)
        self._forked: dict[int, int] = {}  # tid -> fork time of a FORK seen before start()

    def start(self, tid: int, name: bytes) -> None:
        """The control loop's name of a thread coming under control (stopped,
        its records not started yet), unless the kernel's FORK record of it
        was read already (the creator's name at the fork is the exact one)."""
        now = time.monotonic_ns()
        with self._lock:
            self._created[tid] = now
            forked = self._forked.pop(tid, None)
            if forked is not None and now - forked < _FORK_TO_START_NS:
                return
            self.changing.pop(tid, None)  # a reused tid: the former thread's changes are old
            self.current[tid] = name

    def at(self, tid: int, when: int) -> bytes:
        """The name ``tid`` had at perf time ``when``."""
        history = self.changing.get(tid)
        if history is None:
            return self.current.get(tid, b"")
        times = history.times
        if when >= times[-1]:  # most records: after the thread's last change
            return history.names[-1]
        return history.names[bisect.bisect_right(times, when) - 1]

    def latest(self, tid: int, default: bytes = b"") -> bytes:
        return self.current.get(tid) or default

    def name_if_unknown(self, tid: int, name: bytes) -> bytes:
        """``tid``'s name: ``name`` if it had none (a thread met before any announcement)."""
        with self._lock:
            return self.current.setdefault(tid, name)

    def _change(self, tid: int, when: int, name: bytes) -> None:
        history = self.changing.get(tid)
        if history is None:
            history = self.changing[tid] = _History(self.current.get(tid, name))
        history.add(when, name)
        self.current[tid] = history.names[-1]

    def apply(self, comms: Iterable[Comm], forks: Iterable[Fork]) -> None:
        """COMM and FORK records, applied in time order. Applying one again
        (with the others of its drain, all rings') is harmless, and corrects a
        FORK's name when its creator's rename before it was read after it."""
        changes: list[tuple[int, int, int, bytes | int]] = [
            (when, 1, tid, name) for when, tid, name in comms]
        # at one time stamp a FORK comes first: the child's own rename follows its creation
        changes += [(when, 0, child, parent) for when, child, parent in forks]
        changes.sort(key=lambda change: (change[0], change[1]))
        with self._lock:
            for when, _kind, tid, what in changes:
                if isinstance(what, bytes):
                    self._change(tid, when, what[:15])
                    continue
                if what not in self.current:
                    continue  # an unwatched creator: the control loop's name stays
                if self._created.get(tid, -1) < when:
                    self._forked[tid] = when  # start() comes later: it keeps this name
                # from the fork on (a reused tid's former thread keeps its own before)
                self._change(tid, when, self.at(what, when))

    def settle(self, horizon: int) -> None:
        """Forget changes no record still to come can precede (all before ``horizon``)."""
        with self._lock:
            done = [tid for tid, history in self.changing.items()
                    if history.times[-1] <= horizon]
            for tid in done:
                del self.changing[tid]
            stale = horizon - _FORK_TO_START_NS
            if self._forked and min(self._forked.values()) < stale:
                self._forked = {tid: when for tid, when in self._forked.items()
                                if when >= stale}


__all__ = ["FINAL", "SETTLE_NS", "ThreadNames", "horizon"]
