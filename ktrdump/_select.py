"""Filters after the fact: which calls (with all their records) every view shows.

``Criteria`` holds strace's call filters — ``-e trace=SET``, ``-e status=``
(``-z``/``-Z``), ``-P PATH`` — and ``--since``/``--until``/``--min-duration``, and
strace's signal filter, ``-e signal=SET``.
``Selector`` runs the call layer (``_calls.CallTracker``) over the records
read and decides, call by call, whether the call is shown; a call's records
(CALL, NAMI, STRU, ARG, ENV, GIO, RET) share its fate.

Rules:

- ``trace=``, ``status=``, ``-P`` and ``--min-duration`` select calls; records
  that belong to no call (signals, process events, switches, counters,
  probes, samples, maps, USER, EMUL) are kept by them. ``signal=`` selects
  signal deliveries (PSIG records) by number, as strace's ``--- SIG... ---``
  lines; a process killed by a signal is a process event, always kept.
  ``--since``/``--until``
  apply to every record: a call by its CALL's time (its RET, when no CALL was
  recorded), any other record by its own time. DROP records are always kept
  (among those read: past --until, ``past_until`` lets reading stop).
- ``status``: ``successful`` (returned without an error), ``failed``
  (returned an error, the kernel's restart codes included), ``unfinished``
  (never returned: exit, exec by another thread, detach, or the trace ended).
- ``-P PATH``: a call whose path arguments (its NAMI records) name PATH, or
  one of whose fd arguments referred to PATH at entry (fds tracked through
  the trace as ``-y`` does, so a fd opened before the recording is unknown;
  the first fd argument is ``Call.fd_path``, taken at the CALL: a close
  matches the path of the fd it closes).
  Paths compare as the calls spelled them: ``-P passwd`` does not match
  ``/etc/passwd``; a path relative to a dirfd is joined to the dirfd's path.
- ``--min-duration``: calls that returned and spent at least that long in
  the kernel (the RET's ``duration_ns``).

Order: records leave the selector in the order they came. A call whose fate
depends on its RET (``status``, ``--min-duration``) holds back the records
read after its CALL until the RET; past ``MAX_HELD`` held records the oldest
undecided call is decided on what is known (shown when everything but the
RET matches), so memory stays bounded. ``finish()`` decides what is still
open at the end of the input (such calls never returned).

Output: ``feed(records)`` returns the records that can be released, and
leaves in ``hidden`` the ids (``id(record)``) of those among them that are
not shown: views that keep call state (``-y`` fd tables, call ids) still see
every record; views that only count (``--summary``, chrome) take
``shown(records)``.

Does not: read, render, or know any view.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from formats import Record, RecordKind, SyscallFlag
from formats.linux import SyscallSelection

from ._bounded import Table
from ._calls import Call, CallTracker, path_description, signed32

#: Records held back waiting for RETs before the oldest undecided call is decided.
MAX_HELD = 100_000

Status = Literal["successful", "failed", "unfinished"]
STATUSES: tuple[Status, ...] = ("successful", "failed", "unfinished")


@dataclass(frozen=True)
class TimeBound:
    """A ``--since``/``--until`` time: ns since the epoch, or after the first record."""

    ns: int
    relative: bool = False

    def resolve(self, first_ns: int) -> int:
        return first_ns + self.ns if self.relative else self.ns


@dataclass(frozen=True)
class Criteria:
    """The call filters of one ktrdump run; the defaults select everything."""

    trace: SyscallSelection | None = None  # -e trace=SET
    status: frozenset[Status] | None = None  # -e status=SET, -z, -Z
    paths: tuple[bytes, ...] = ()  # -P PATH (any of them)
    since: TimeBound | None = None  # --since
    until: TimeBound | None = None  # --until (exclusive)
    min_duration_ns: int | None = None  # --min-duration
    signals: frozenset[int] | None = None  # -e signal=SET: the PSIG records shown

    @property
    def active(self) -> bool:
        return (self.trace is not None or self.status is not None or bool(self.paths)
                or self.since is not None or self.until is not None
                or self.min_duration_ns is not None or self.signals is not None)

    @property
    def needs_return(self) -> bool:
        """Whether a call's fate can wait for its RET."""
        return self.status is not None or self.min_duration_ns is not None


#: No filter: every call shown.
NO_CRITERIA = Criteria()

_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_NAMEI = int(RecordKind.NAMEI)
_STRUCT = int(RecordKind.STRUCT)
_GENIO = int(RecordKind.GENIO)
_EXEC_ARG = int(RecordKind.EXEC_ARG)
_EXEC_ENV = int(RecordKind.EXEC_ENV)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)
_PSIG = int(RecordKind.PSIG)
_UNFINISHED = int(SyscallFlag.UNFINISHED)


class _Fate:
    """One call's decision, shared by its records while they wait in the queue."""

    __slots__ = ("call", "shown")

    def __init__(self, call: Call | None) -> None:
        self.call = call
        self.shown: bool | None = None  # None: not decided yet


_KEEP = _Fate(None)
_KEEP.shown = True
_HIDE = _Fate(None)
_HIDE.shown = False


class Selector:
    """Applies ``Criteria`` to a stream of records (see the module docstring).

    It is a sink of the call layer (``_calls.CallTracker.feed``): the layer
    pairs each record with its call, the selector only decides.
    """

    def __init__(self, criteria: Criteria, facilities: str | None = None) -> None:
        self.criteria = criteria
        self.tracker = CallTracker(track_fds=bool(criteria.paths), facilities=facilities)
        self.hidden: set[int] = set()
        self._queue: deque[tuple[Record, _Fate]] = deque()
        self._fates: dict[int, _Fate] = Table()  # id(call) -> fate, until its RET (bounded)
        self._first_ns: int | None = None
        self._since: int | None = None
        self._until: int | None = None
        self._last_ns: int | None = None  # the time of the last record fed
        self._paths = frozenset(path.decode("utf-8", "surrogateescape")  # FdTables.exact's
                                for path in criteria.paths)
        # An fd's description is the kernel's absolute path (the recorder's
        # fd_path): a relative -P PATH matches it by its last components.
        self._suffixes = tuple("/" + path.lstrip("./") for path in self._paths
                               if not path.startswith("/") and path.lstrip("./"))

    # -- the stream ------------------------------------------------------------

    def feed(self, records: Iterable[Record]) -> list[Record]:
        """Take a batch; return the records that can be released (in order)."""
        batch = records if isinstance(records, list) else list(records)
        if batch:
            if self._first_ns is None:
                self._start(batch[0].timestamp_ns)
            self._last_ns = batch[-1][4]
        self.tracker.feed(batch, self)
        return self._release()

    def finish(self) -> list[Record]:
        """Decide what is still open (never returned) and release everything."""
        self.tracker.flush(self)
        for fate in self._fates.values():
            self._decide_unreturned(fate)
        self._fates.clear()
        for _record, fate in self._queue:
            if fate.shown is None:
                self._decide_unreturned(fate)
        return self._release()

    @property
    def held(self) -> int:
        """Records fed and not yet released (waiting for a RET or a call's entry records):
        a notice read now comes after them (``cli._selected`` keeps it until they are)."""
        return len(self._queue) + self.tracker.holding

    def released_past_until(self) -> bool:
        """Whether the records fed (in time order) have reached --until and every one
        has been released (none waits for a RET or for its call's entry records): for a
        view that knows itself what it still needs past --until (the calls view, whose
        probed calls open at --until close at their returns). False without --until."""
        until = self._until
        return (until is not None and self._last_ns is not None and self._last_ns >= until
                and not self._queue and not self.tracker.holding)

    def past_until(self) -> bool:
        """Whether nothing read from now on can be shown, so reading may stop: the
        records fed (in time order: a reordered input's come out of its window) have
        reached --until, and no call begun before it waits for its RET (a call begun
        in the window is shown whole; one still held for its entry records counts as
        waiting). False without --until."""
        until = self._until
        if until is None or self._last_ns is None or self._last_ns < until:
            return False
        if self.tracker.holding:
            return False
        return all(fate.shown is False for fate in self._fates.values())

    def shown(self, records: list[Record]) -> list[Record]:
        """``records`` (as ``feed`` returned them) without the hidden ones."""
        hidden = self.hidden
        if not hidden:
            return records
        return [record for record in records if id(record) not in hidden]

    def keep(self, record: Record) -> bool:
        """For views that take a predicate: whether a released record is shown."""
        return id(record) not in self.hidden

    # -- the call layer's sink ---------------------------------------------------

    def call(self, call: Call, record: Record) -> None:
        """A CALL with its entry records: what the entry says is decided now."""
        fate = _Fate(call)
        if not self._entry_matches(call):
            fate.shown = False
        elif not self.criteria.needs_return:
            fate.shown = True
        self._fates[id(call)] = fate  # until its RET: its records share it
        self._queue.append((record, fate))

    def record(self, call: Call | None, record: Record) -> None:
        if call is None:  # a record of no call: by its own time (a signal: and its number)
            fate = _KEEP if record[0] == _DROP or (
                self._in_window(record[4]) and self._signal_matches(record)) else _HIDE
        elif record[0] == _SYSRET:
            pending = self._fates.pop(id(call), None)
            fate = pending if pending is not None else self._decided(call)
            if fate.shown is None:
                fate.shown = self._return_matches(call)
        else:
            pending = self._fates.get(id(call))
            if pending is None:  # an exit record of a call whose CALL was not seen
                pending = self._fates[id(call)] = self._decided(call)
            fate = pending
        self._queue.append((record, fate))

    def abandoned(self, call: Call, ts: int) -> None:
        """A call that will get no RET: decided as one that never returned."""
        fate = self._fates.pop(id(call), None)
        if fate is not None:
            self._decide_unreturned(fate)

    def _decided(self, call: Call) -> _Fate:
        """The fate of a call whose undecided state is gone (its RET had no CALL)."""
        fate = _Fate(call)
        if not self._entry_matches(call):
            fate.shown = False
        return fate

    # -- deciding ----------------------------------------------------------------

    def _start(self, first_ns: int) -> None:
        self._first_ns = first_ns
        criteria = self.criteria
        if criteria.since is not None:
            self._since = criteria.since.resolve(first_ns)
        if criteria.until is not None:
            self._until = criteria.until.resolve(first_ns)

    def window_side(self, ns: int) -> int:
        """Where ``ns`` lies: -1 before --since, 1 at or after --until, 0 in the window."""
        since, until = self._since, self._until
        if since is not None and ns < since:
            return -1
        return 1 if until is not None and ns >= until else 0

    def _in_window(self, ns: int) -> bool:
        since, until = self._since, self._until
        return (since is None or ns >= since) and (until is None or ns < until)

    def _signal_matches(self, record: Record) -> bool:
        signals = self.criteria.signals
        if signals is None or record[0] != _PSIG:
            return True
        return getattr(record[6], "signo", None) in signals

    def _entry_matches(self, call: Call) -> bool:
        """What can be decided at entry: the name, the time, the paths."""
        criteria = self.criteria
        plan = call.plan
        if criteria.trace is not None and not criteria.trace.selects(plan.abi, plan.nr):
            return False
        if not self._in_window(call.ts if call.ts != -1 else call.ret_ts):
            return False
        return not self._paths or self._touches_path(call)

    def _touches_path(self, call: Call) -> bool:
        paths = self._paths
        plan = call.plan
        args = call.args
        fds = self.tracker.fds
        for index in plan.path_args:
            if index < len(args) and args[index]:
                described = path_description(fds, call, index)
                if described is not None and described in paths:
                    return True
        first = plan.first_fd_arg
        for index in plan.fd_args:
            if index < len(args):
                # The first as the call's entry found it (close has dropped it since)
                described = (call.fd_path if index == first
                             else fds.exact(call.pid, signed32(args[index])))
                if described is not None and (
                        described in paths or described.endswith(self._suffixes)):
                    return True
        return False

    def _return_matches(self, call: Call) -> bool:
        criteria = self.criteria
        ret = call.ret
        assert ret is not None
        unfinished = bool(ret.flags & _UNFINISHED)
        if criteria.status is not None:
            status: Status = ("unfinished" if unfinished
                              else "failed" if ret.error else "successful")
            if status not in criteria.status:
                return False
        minimum = criteria.min_duration_ns
        return minimum is None or (not unfinished and ret.duration_ns >= minimum)

    def _decide_unreturned(self, fate: _Fate) -> None:
        """A call that will never get its RET (exit, replaced, end of input)."""
        if fate.shown is None:
            criteria = self.criteria
            fate.shown = (criteria.min_duration_ns is None
                          and (criteria.status is None or "unfinished" in criteria.status))

    def _release(self) -> list[Record]:
        """The decided records at the head of the queue; past ``MAX_HELD`` held
        records, the oldest undecided call is shown on what its entry said."""
        queue = self._queue
        out: list[Record] = []
        hidden: set[int] = set()
        while queue:
            record, fate = queue[0]
            shown = fate.shown
            if shown is None:
                if len(queue) <= MAX_HELD:
                    break
                shown = fate.shown = True  # held too long: decided on its entry
                if fate.call is not None:
                    self._fates.pop(id(fate.call), None)
            queue.popleft()
            out.append(record)
            if not shown:
                hidden.add(id(record))
        self.hidden = hidden
        return out


# ---------------------------------------------------------------------------
# Command-line values (ValueError with a one-line message when malformed)

_UNITS_NS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
             "m": 60_000_000_000, "min": 60_000_000_000, "h": 3_600_000_000_000}


#: The largest timestamp a record holds (SPEC: a u64 of ns since the epoch, the year
#: 2554): no time after it is in any trace, no duration longer separates two records.
MAX_TRACE_NS = 2**64 - 1
_MAX_TRACE_TIME = "2554-07-21"

#: What ``parse_duration`` accepts, for its one-line error.
DURATION_ACCEPTED = ("give a number of 0 or more with an optional unit ns, us, ms, s (the "
                     "default), m or h, e.g. 1.5, 200ms, 10us")


def parse_duration(text: str) -> int:
    """``1.5``/``1.5s``, ``200ms``, ``10us``, ``500ns``, ``2m``, ``1h``: nanoseconds.

    A bare number is seconds (strace prints times in seconds).
    """
    # Imported here: only --since, --until and --min-duration need decimal (~6 ms).
    from decimal import Decimal, InvalidOperation

    stripped = text.strip()
    number = stripped.rstrip("abcdefghijklmnopqrstuvwxyzµ")
    unit = stripped[len(number):] or "s"
    scale = _UNITS_NS.get(unit)
    value = None
    if scale is not None and number:
        with contextlib.suppress(InvalidOperation):
            value = Decimal(number)
    if scale is None or value is None or not value.is_finite() or value < 0:
        raise ValueError(f"{text!r} is not a duration: {DURATION_ACCEPTED}")
    # (an absurd exponent, 1e500, is a finite Decimal: bounded before it is scaled)
    if value.adjusted() > 30 or value * scale > MAX_TRACE_NS:
        raise ValueError(f"{text!r} is longer than any trace can span "
                         f"(2^64 ns, about 584 years)")
    return int(value * scale)


#: Absolute times below this many seconds since the epoch (2001-09-09) are surely
#: meant as relative ones.
_EPOCH_FLOOR = 1_000_000_000


#: What ``parse_time`` accepts, for its one-line error.
TIME_ACCEPTED = ("give +DURATION after the first record (+1.5s), seconds since the epoch "
                 "(1700000000.25) or a local ISO time (2026-11-30T01:02:03)")


def parse_time(text: str) -> TimeBound:
    """``+DURATION`` (after the first record), seconds since the epoch, or ISO 8601.

    An ISO date-time without a time zone is local time (``2026-11-30T01:02:03.5``).
    """
    from decimal import Decimal, InvalidOperation

    stripped = text.strip()
    if stripped.startswith("+"):
        return TimeBound(parse_duration(stripped[1:]), relative=True)
    try:
        seconds = Decimal(stripped)
    except InvalidOperation:
        pass
    else:
        if not seconds.is_finite() or seconds < 0:
            raise ValueError(f"{text!r} is not a time: {TIME_ACCEPTED}")
        if seconds < _EPOCH_FLOOR:
            raise ValueError(f"{text!r}: for a time after the first record write +{stripped} "
                             "(seconds since the epoch are 10 digits)")
        if seconds.adjusted() > 30 or seconds * 1_000_000_000 > MAX_TRACE_NS:
            raise ValueError(_after_any_trace(text))
        return TimeBound(int(seconds * 1_000_000_000))
    from datetime import datetime  # (here: only --since/--until with a date load it)

    try:
        moment = datetime.fromisoformat(stripped)
        whole = int(moment.timestamp())
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{text!r} is not a time: {TIME_ACCEPTED}") from None
    nanoseconds = whole * 1_000_000_000 + moment.microsecond * 1000
    if nanoseconds < 0:
        raise ValueError(f"{text!r} is before 1970, the earliest time a trace holds")
    if nanoseconds > MAX_TRACE_NS:
        raise ValueError(_after_any_trace(text))
    return TimeBound(nanoseconds)


def _after_any_trace(text: str) -> str:
    return f"{text!r} is after any time a trace can hold (the last is in {_MAX_TRACE_TIME})"


#: The signal numbers ``-e signal=all`` names (the kernel's 1..64).
ALL_SIGNALS = frozenset(range(1, 65))


def parse_signals(text: str) -> frozenset[int]:
    """strace's ``signal=SET``: names with or without ``SIG`` (any case), numbers, ``all``,
    ``none``; a leading ``!`` inverts. The signal numbers whose PSIG records are shown."""
    from formats.linux import signal_number

    body = text
    invert = body.startswith("!")
    if invert:
        body = body[1:]
    chosen: set[int] = set()
    for item in (part.strip() for part in body.split(",")):
        if not item or item.lower() == "none":
            continue
        if item.lower() == "all":
            chosen.update(ALL_SIGNALS)
            continue
        number = int(item) if item.isdigit() else signal_number(item)
        if number is None or number not in ALL_SIGNALS:
            raise ValueError(f"-e signal: unknown signal {item!r} (names as SIGCHLD or CHLD, "
                             "numbers 1 to 64, all, none)")
        chosen.add(number)
    return frozenset(ALL_SIGNALS - chosen if invert else chosen)


def parse_status(text: str) -> frozenset[Status]:
    """strace's ``status=SET``: successful, failed, unfinished; ``!`` inverts; ``all``, ``none``."""
    body = text.removeprefix("status=")
    invert = body.startswith("!")
    if invert:
        body = body[1:]
    chosen: set[Status] = set()
    for item in (part.strip() for part in body.split(",")):
        if not item or item == "none":
            continue
        if item == "all":
            chosen.update(STATUSES)
        elif item in STATUSES:
            chosen.add(item)
        else:
            raise ValueError(f"-e status: unknown status {item!r} "
                             f"(known: {', '.join(STATUSES)}, all, none)")
    if invert:
        chosen = set(STATUSES) - chosen
    return frozenset(chosen)
