"""Summary: per-syscall counts and times, as ``strace -c`` prints them (``ktrdump --summary``).

Input: the reader's events — ``RawBatch`` (``TraceReader.raw_events``, the
fast path: only SYSCALL, SYSRET and DROP payloads are unpacked, straight from
the batch bytes), or decoded batches (``list[formats.Record]``, e.g. from
``_merge``), and ``Skipped`` notices. Output: text lines.

Counting rules:

- A call is counted when its SYSCALL record is seen. A SYSRET pairs with the
  pending SYSCALL of its thread (tid); a SYSRET with no pending SYSCALL of the
  same syscall on its thread (the recorder attached mid-call, or the SYSCALL
  record was dropped) is counted as a call then, so no call is lost.
- An error is a SYSRET whose ``error`` is non-zero. Time is the SYSRET's
  ``duration_ns`` (the recorder's entry-to-return latency, like
  ``strace -c -w``), so ``seconds`` is wall time spent in calls, not CPU time.
- A call that never returned (SYSRET flagged UNFINISHED: exit_group, exec by
  another thread, detach; or no SYSRET at all) is not in the table, as
  ``strace -c`` counts a call at its exit: the table's calls, errors and
  times are those of the calls that returned. The ones that never did are
  listed, with their counts, on a line under the table
  (``never returned, not counted above (as strace -c): exit_group 1``), so
  none is lost silently. A call whose RET is missing because records were
  dropped (it was open at a DROP record and got no RET: the call layer's
  ``return_lost``) is listed apart, ``return lost (records dropped), not
  counted above: read 87``: it returned, but its result is not in the trace.
  ``rows()`` keeps the figures (``calls`` entered, ``returned``, ``lost``).
- CSW and CNT records (the perf source) add two tables after the syscall
  table(s): switches per thread (voluntary, preempted, off-CPU time from each
  ``out`` to the next ``in``) and each thread's last counter reading, like
  ``perf stat --per-thread`` (see ``_perfviews``).
- Drops: the ``lost`` counts of DROP records, by reason, and the batches the
  reader skipped (``Skipped`` notices) are reported under the table(s), and so is
  the number of recordings cut short (``CutShort``: no END record).

Layout: ``strace -c``'s (strace 6), column for column::

    % time     seconds  usecs/call     calls    errors syscall
    ------ ----------- ----------- --------- --------- ----------------
     68.93    0.000335         167         2         1 wait4
    ...
    ------ ----------- ----------- --------- --------- ----------------
    100.00    0.000486           2       190        24 total

``seconds`` is rounded to the microsecond; ``usecs/call`` is the total over
the calls, truncated; ``errors`` is blank when zero. The columns can be
chosen as with ``strace -U`` (``time-percent total-time avg-time max-time
min-time calls errors name``; ``longest``/``shortest`` are in seconds). Rows
are sorted as ``strace -S``: ``time`` (default), ``calls``, ``errors``,
``avg-time``, ``max-time``, ``min-time`` descending, ``name`` ascending,
``nothing``; ties in syscall number order. Calls of several ABIs are summed
in one table per ABI, as strace -c: x86_64's first without a heading, then
the others, each headed ``System call usage summary for 32 bit mode:``
(``x32 mode``; an ABI ktr does not know: its EMUL name). With ``per_process``, one table per process
(in order of first appearance), headed ``Process 4242 (ls):``, or, when ``-p``
named threads of the process and not the process, ``Thread 4243 of process 4242 (ls):``
(``Threads 4243, 4244 of ...``): the table counts those threads alone. With
``per_thread`` as well (``-H``), one table per thread, headed ``Thread 4243 of
process 4242 (worker):`` (the thread's own name), as ``perf trace -s``.

Guarantees: memory is bounded by the number of distinct (process, ABI,
syscall) keys and threads with a call in progress, never by the trace size;
the raw and decoded paths count identically; a SYSCALL, SYSRET or DROP
payload too short for its fields (a writer bug; the batch checksum held) is
not counted but reported as malformed. The raw path reads each record
header once: records of the kinds a ``tap`` names (``--summary``'s probe and
sample tables) are picked out of the same walk and handed on decoded, in
order. Does not: read files (the caller passes events), count other record
kinds, or know strace's CPU-time mode.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Literal, NamedTuple, get_args

import formats
from formats import ABI_EMUL_NAMES, DROP_CAUSES, Abi, DropError, Record, RecordKind, SyscallFlag
from formats.linux import errno_name, syscall_name

from ._bounded import TABLE_LIMIT
from ._calls import Call, CallTracker
from ._follow import FollowEnded
from ._merge import Late, SourcedSkipped
from ._model import unplaced_probes
from ._perfviews import CounterTally, SwitchTally
from ._reader import CutShort, RawBatch, Skipped, Unverified
from ._text import display_text, plural

SortKey = Literal[
    "time", "calls", "errors", "name", "avg-time", "max-time", "min-time", "nothing"]
Column = Literal[
    "time-percent", "total-time", "avg-time", "max-time", "min-time", "calls", "errors", "name"]

SORT_KEYS: tuple[str, ...] = get_args(SortKey)
COLUMNS: tuple[str, ...] = get_args(Column)
#: ``strace -c``'s default columns.
DEFAULT_COLUMNS: tuple[Column, ...] = (
    "time-percent", "total-time", "avg-time", "calls", "errors", "name")


@dataclass(frozen=True)
class SummaryOptions:
    sort_by: SortKey = "time"  # strace -S
    per_process: bool = False  # one table per process (ktrdump -p with --summary)
    per_thread: bool = False  # with per_process: one table per thread instead (ktrdump -H)
    pids: frozenset[int] = frozenset()  # only these processes or threads (DROP always counts)
    columns: tuple[Column, ...] = DEFAULT_COLUMNS  # strace -U

    def __post_init__(self) -> None:
        if self.sort_by not in SORT_KEYS:
            raise ValueError(f"unknown sort key {self.sort_by!r} (known: {', '.join(SORT_KEYS)})")
        unknown = [c for c in self.columns if c not in COLUMNS]
        if unknown or not self.columns:
            raise ValueError(f"unknown summary columns {unknown} (known: {', '.join(COLUMNS)})")


class SyscallStats(NamedTuple):
    """One row: a syscall's figures (times in ns)."""

    pid: int  # 0 unless per process (per thread: the thread id)
    abi: int
    nr: int
    name: str
    calls: int
    errors: int
    total_ns: int
    max_ns: int
    min_ns: int  # 0 when no call of it returned
    returned: int  # calls that returned (timed); the others never did (UNFINISHED)
    lost: int = 0  # calls whose RET is missing after a DROP (not returned, not counted)

    @property
    def average_ns(self) -> int:
        return self.total_ns // self.calls if self.calls else 0


# Per key: [calls, errors, total_ns, max_ns, min_ns, returned].
_CALLS, _ERRORS, _TOTAL, _MAX, _MIN, _RETURNED = range(6)

_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_DROP = int(RecordKind.DROP)
_END = int(RecordKind.END)
_BEGIN = int(RecordKind.BEGIN)
_CSW = int(RecordKind.CSW)
_CNT = int(RecordKind.CNT)
_PERF_KINDS = frozenset({_CSW, _CNT})
_UNFINISHED = int(SyscallFlag.UNFINISHED)
_NR_MASK = 0xFFFF_FFFF
# A key is one int: pid (when per process), ABI and the syscall number as u32.
_ABI_SHIFT = 32
_PID_SHIFT = 40


def _key(pid: int, abi: int, nr: int) -> int:
    return (pid << _PID_SHIFT) | (abi << _ABI_SHIFT) | (nr & _NR_MASK)


def _split_key(key: int) -> tuple[int, int, int]:
    nr = key & _NR_MASK
    if nr >= 1 << 31:
        nr -= 1 << 32
    return key >> _PID_SHIFT, (key >> _ABI_SHIFT) & 0xFF, nr


class _Picker(NamedTuple):
    struct: struct.Struct  # header and fixed payload fields, unwanted ones as padding
    size: int  # bytes the record must have: the header and the payload's fixed part


_TOKEN = re.compile(r"(\d*)([a-zA-Z?])")


def _picker(order: formats.ByteOrder, kind: RecordKind, wanted: Sequence[str]) -> _Picker:
    """A struct unpacking only ``wanted`` fields (in that order) of the header + payload.

    Derived from the schema layouts: every field not wanted becomes padding of
    the same size, so nothing about the layout is restated here.
    """
    header = formats.generated_layout(order, "record_header")
    payload = formats.codec(order).layouts[kind]
    tokens: list[tuple[str, str | None]] = []  # (format, field name or None for padding)
    for layout in (header, payload):
        names = iter(layout.fixed_names)
        for count, code in _TOKEN.findall(layout.fixed.format[1:]):
            tokens.append((count + code, None if code == "x" else next(names)))
    prefix = header.fixed.format[0]
    order_of = {name: index for index, name in enumerate(wanted)}
    picked = [name for _, name in tokens if name in order_of]
    if picked != list(wanted):
        raise ValueError(f"fields {wanted} are not in the {kind.name} layout order")
    last = max(index for index, (_, name) in enumerate(tokens) if name in order_of)
    parts = [fmt if name in order_of else f"{struct.calcsize(prefix + fmt)}x"
             for fmt, name in tokens[: last + 1]]  # no padding after the last field wanted
    picked_struct = struct.Struct(prefix + "".join(parts))
    # The decoders need the whole fixed part (formats._codec): so does this path.
    return _Picker(picked_struct, header.fixed.size + payload.fixed.size)


class _Pickers(NamedTuple):
    head: struct.Struct  # length, kind
    header_size: int
    syscall: _Picker  # pid, tid, nr, abi
    syscall_comm: _Picker  # pid, tid, comm, nr, abi
    sysret: _Picker  # pid, tid, nr, abi, flags, error, duration_ns
    sysret_comm: _Picker  # pid, tid, comm, nr, abi, flags, error, duration_ns
    drop: _Picker  # error, lost
    csw: _Picker  # pid, tid, timestamp_ns, comm, out, flags, cpu


_PICKERS: dict[str, _Pickers] = {}


def _pickers(order: formats.ByteOrder) -> _Pickers:
    found = _PICKERS.get(order)
    if found is None:
        header = formats.codec(order).header
        found = _PICKERS[order] = _Pickers(
            head=_picker(order, RecordKind.SYSCALL, ("length", "kind")).struct,
            header_size=header.size,
            syscall=_picker(order, RecordKind.SYSCALL, ("pid", "tid", "nr", "abi")),
            syscall_comm=_picker(order, RecordKind.SYSCALL, ("pid", "tid", "comm", "nr", "abi")),
            sysret=_picker(order, RecordKind.SYSRET,
                           ("pid", "tid", "nr", "abi", "flags", "error", "duration_ns")),
            sysret_comm=_picker(order, RecordKind.SYSRET,
                                ("pid", "tid", "comm", "nr", "abi", "flags", "error",
                                 "duration_ns")),
            drop=_picker(order, RecordKind.DROP, ("error", "lost")),
            csw=_picker(order, RecordKind.CSW,
                        ("pid", "tid", "timestamp_ns", "comm", "out", "flags", "cpu")),
        )
    return found


#: What the summary's other tables take from the records it reads:
#: ``(kinds, take)``; ``take(records)`` gets, batch by batch and in record
#: order, the records of those kinds (a decoded batch is passed whole).
RecordTap = tuple[frozenset[int], Callable[[list[Record]], None]]


class SyscallSummary:
    """Accumulates the summary; feed it events, then ``lines()``.

    ``tap``: other tables' records (probes, samples) picked out of the same
    walk over a raw batch, so the fast path reads each record header once.
    """

    def __init__(self, options: SummaryOptions | None = None, *,
                 tap: RecordTap | None = None) -> None:
        self.options = options or SummaryOptions()
        self._stats: dict[int, list[int]] = {}
        # Raw path: tid -> key of its call in progress. A plain dict bounded
        # inline like ``_bounded.Table`` (the oldest-inserted goes first past
        # the limit): a Python-level __setitem__ on every SYSCALL cost ~10 %.
        self._pending: dict[int, int] = {}
        self.pending_limit = TABLE_LIMIT
        self.pending_evicted = 0
        self._tap_kinds: frozenset[int] = frozenset() if tap is None else tap[0]
        self._take: Callable[[list[Record]], None] | None = None if tap is None else tap[1]
        self._layer = CallTracker()  # decoded path: the call layer pairs calls
        self._comms: dict[int, bytes] = {}  # pid -> last command name (per process only)
        self._first_seen: dict[int, int] = {}  # pid -> order of first appearance
        # pid -> its threads counted, when -p chose them and not the process (at most
        # the -p list): the table is those threads', and its heading says so
        self._threads: dict[int, set[int]] = {}
        self._process_of: dict[int, int] = {}  # tid -> its pid (per thread only)
        self.dropped: dict[int, int] = {}  # DROP error -> records lost
        # Calls whose RET went missing with dropped records: key -> count, and
        # (raw path) tid -> key of its call open at the last DROP.
        self._lost: dict[int, int] = {}
        self._at_drop: dict[int, int] = {}
        self.skipped_batches = 0
        self.skipped_bytes = 0  # bytes of trace lost with them
        self.kept_of_damaged = 0  # records kept from torn tails (before their damage)
        self.shown_unverified = 0  # --salvage: records of damaged batches shown unverified
        self.cut_short = 0  # recordings without their END (CutShort notices)
        self.unplaced: list[str] = []  # probes never placed, as END records say
        self.unplaced_count = 0
        self.malformed = 0  # SYSCALL/SYSRET/DROP records too short for their fields
        self.records = 0  # records seen (every kind)
        self.switches = SwitchTally()  # CSW: switch counts and off-CPU time per thread
        self.counters = CounterTally()  # CNT: each thread's last counter reading

    # -- input -------------------------------------------------------------

    def add_notice(self, notice: Skipped) -> None:
        if isinstance(notice, CutShort):
            self.cut_short += 1
        self.skipped_batches += notice.batches
        self.skipped_bytes += notice.lost
        if isinstance(notice, Unverified):  # (its batch's SKIP follows: counted there)
            self.shown_unverified += notice.kept
        else:
            self.kept_of_damaged += notice.kept

    def add_records(self, records: Iterable[Record]) -> None:
        """Add decoded records: through the call layer (``_calls``), as every view.

        Only calls (their SYSCALL and SYSRET) and DROP records count.
        """
        batch = records if isinstance(records, list) else list(records)
        self.records += len(batch)
        self._layer.feed(batch, self)
        if self._take is not None:
            self._take(batch)

    def finish(self) -> None:
        """The end of the input: a call still waiting for its entry records is counted."""
        self._layer.flush(self)

    # The call layer's sink (``_calls.CallSink``).

    def call(self, call: Call, record: Record) -> None:
        plan = call.plan
        self._call(call.pid, call.tid, plan.nr, plan.abi, record.comm, paired=True)

    def abandoned(self, call: Call, ts: int) -> None:
        """A call that gets no RET: told apart when its RET was lost in a DROP."""
        if self._layer.return_lost(call):
            self._lost_return(call)

    def _lost_return(self, call: Call) -> None:
        if self._chosen(call.pid, call.tid):
            key = self._key_for(call.pid, call.tid, call.plan.abi, call.plan.nr, call.comm)
            self._lost[key] = self._lost.get(key, 0) + 1

    def record(self, call: Call | None, record: Record) -> None:
        kind = record.kind
        if kind == _SYSRET and call is not None:
            ret: Any = record.payload
            if call.ts == -1:  # no CALL in the trace: the call is counted now
                self._call(call.pid, call.tid, ret.nr, ret.abi, record.comm, paired=True)
            self._returned(call.pid, call.tid, ret.abi, ret.nr, ret.flags, ret.error,
                           ret.duration_ns, record.comm)
        elif kind == _DROP:
            drop: Any = record.payload
            self.dropped[drop.error] = self.dropped.get(drop.error, 0) + drop.lost
        elif kind == _END:
            self._end(record)
        elif kind == _BEGIN:
            self.counters.begin(record)
        elif kind in _PERF_KINDS:
            self._perf_record(record)

    def _end(self, record: Record) -> None:
        unplaced = unplaced_probes(record.payload)
        if unplaced is not None:
            self.unplaced_count += unplaced[0]
            self.unplaced.extend(unplaced[1])

    def _perf_record(self, record: Record) -> None:
        if not self._chosen(record.pid, record.tid):
            return
        if isinstance(record.payload, formats.Unknown):
            self.malformed += 1
        elif record[0] == _CSW:
            self.switches.add(record)
        else:
            self.counters.add(record)

    def add_raw(self, batch: RawBatch, order: formats.ByteOrder = "little") -> None:
        """Add an undecoded batch: the fast path (same counts as ``add_records``)."""
        pickers = _pickers(order)
        head = pickers.head.unpack_from
        header_size = pickers.header_size
        per_process = self.options.per_process
        syscall = pickers.syscall_comm if per_process else pickers.syscall
        sysret = pickers.sysret_comm if per_process else pickers.sysret
        unpack_call, call_size = syscall.struct.unpack_from, syscall.size
        unpack_return, return_size = sysret.struct.unpack_from, sysret.size
        unpack_drop, drop_size = pickers.drop.struct.unpack_from, pickers.drop.size
        unpack_switch, switch_size = pickers.csw.struct.unpack_from, pickers.csw.size
        switches = self.switches
        pids = self.options.pids
        stats = self._stats
        pending = self._pending
        at_drop = self._at_drop
        limit = self.pending_limit
        tapped = self._tap_kinds
        picked: list[int] = []
        data = batch.data
        end = len(data)
        position = 0
        while position < end:
            length, kind = head(data, position)
            stop = position + header_size + length
            if kind == _SYSCALL:
                if stop - position < call_size:
                    self.malformed += 1
                elif per_process:
                    pid, tid, comm, nr, abi = unpack_call(data, position)
                    if not pids or pid in pids or tid in pids:
                        self._call(pid, tid, nr, abi, comm)
                else:
                    pid, tid, nr, abi = unpack_call(data, position)
                    if not pids or pid in pids or tid in pids:
                        # _call inlined: this is the hot loop
                        key = (abi << _ABI_SHIFT) | (nr & _NR_MASK)
                        row = stats.get(key)
                        if row is None:
                            row = stats[key] = [0, 0, 0, 0, 0, 0]
                        row[_CALLS] += 1
                        if at_drop and tid in at_drop:  # its previous call got no RET
                            self._lost_at(tid, None)
                        pending[tid] = key
                        if len(pending) > limit:
                            self._evict_pending()
            elif kind == _SYSRET:
                if stop - position < return_size:
                    self.malformed += 1
                elif per_process:
                    pid, tid, comm, nr, abi, flags, error, duration = unpack_return(data, position)
                    if not pids or pid in pids or tid in pids:
                        self._return(pid, tid, nr, abi, flags, error, duration, comm)
                else:
                    pid, tid, nr, abi, flags, error, duration = unpack_return(data, position)
                    if not pids or pid in pids or tid in pids:
                        key = (abi << _ABI_SHIFT) | (nr & _NR_MASK)
                        if at_drop and tid in at_drop:
                            self._lost_at(tid, key)
                        found = stats.get(key) if pending.pop(tid, None) == key else None
                        if found is not None:
                            row = found
                        else:  # no call in progress: count it now
                            row = stats.setdefault(key, [0, 0, 0, 0, 0, 0])
                            row[_CALLS] += 1
                        if not flags & _UNFINISHED:
                            if error:
                                row[_ERRORS] += 1
                            row[_TOTAL] += duration
                            if duration > row[_MAX]:
                                row[_MAX] = duration
                            if duration < row[_MIN] or not row[_RETURNED]:
                                row[_MIN] = duration
                            row[_RETURNED] += 1
            elif kind == _DROP:
                if stop - position < drop_size:
                    self.malformed += 1
                else:
                    error, lost = unpack_drop(data, position)
                    self.dropped[error] = self.dropped.get(error, 0) + lost
                    at_drop.update(pending)  # the calls open now: their RETs may be lost
                    if kind in tapped:  # in place: the probe table abandons calls there
                        picked.append(position)
            elif kind == _CSW:  # -t w: as many records as calls, or more
                if stop - position < switch_size:
                    self.malformed += 1
                else:
                    pid, tid, ts, comm, out, flags, cpu = unpack_switch(data, position)
                    if not pids or pid in pids or tid in pids:
                        switches.count(pid, tid, comm.rstrip(b"\0"), ts, out, flags, cpu)
            elif kind in _PERF_KINDS:
                try:
                    for record in formats.codec(order).iter_records(data[position:stop]):
                        self._perf_record(record)
                except formats.PayloadError:
                    self.malformed += 1
            elif kind in (_END, _BEGIN):  # one per recording
                try:
                    for record in formats.codec(order).iter_records(data[position:stop]):
                        if kind == _BEGIN:
                            self.counters.begin(record)
                        else:
                            self._end(record)
                except formats.PayloadError:
                    self.malformed += 1
                if kind in tapped:
                    picked.append(position)
            elif kind in tapped:
                picked.append(position)
            position = stop
        self.records += batch.record_count
        if picked and self._take is not None:
            self._take(_decode_at(data, picked, order))

    def _lost_at(self, tid: int, returning: int | None) -> None:
        """Raw path: ``tid``'s next record after a DROP. Its call open at the DROP lost its
        RET unless this is that RET (``returning``: the key of the RET, None for a CALL)."""
        key = self._at_drop.pop(tid)
        if key != returning and self._pending.get(tid) == key:
            self._lost[key] = self._lost.get(key, 0) + 1

    def _evict_pending(self) -> None:
        """Past the limit: the oldest-inserted call in progress goes (``_bounded.Table``'s rule)."""
        del self._pending[next(iter(self._pending))]
        self.pending_evicted += 1

    def _call(self, pid: int, tid: int, nr: int, abi: int, comm: bytes,
              paired: bool = False) -> None:
        if not self._chosen(pid, tid):
            return
        key = self._key_for(pid, tid, abi, nr, comm)
        row = self._stats.setdefault(key, [0, 0, 0, 0, 0, 0])
        row[_CALLS] += 1
        if not paired:
            if tid in self._at_drop:
                self._lost_at(tid, None)
            self._pending[tid] = key
            if len(self._pending) > self.pending_limit:
                self._evict_pending()

    def _return(self, pid: int, tid: int, nr: int, abi: int, flags: int, error: int,
                duration: int, comm: bytes) -> None:
        """The raw path's RET: paired with its thread's pending call by key."""
        if not self._chosen(pid, tid):
            return
        key = self._key_for(pid, tid, abi, nr, comm)
        row = self._stats.setdefault(key, [0, 0, 0, 0, 0, 0])
        if tid in self._at_drop:
            self._lost_at(tid, key)
        if self._pending.pop(tid, None) != key:  # no call in progress: count it now
            row[_CALLS] += 1
        self._returned(pid, tid, abi, nr, flags, error, duration, comm)

    def _chosen(self, pid: int, tid: int) -> bool:
        """``-p``: a listed process or thread (kdump's and every other view's meaning)."""
        pids = self.options.pids
        return not pids or pid in pids or tid in pids

    def _returned(self, pid: int, tid: int, abi: int, nr: int, flags: int, error: int,
                  duration: int, comm: bytes) -> None:
        if not self._chosen(pid, tid):
            return
        row = self._stats.setdefault(self._key_for(pid, tid, abi, nr, comm), [0, 0, 0, 0, 0, 0])
        if flags & _UNFINISHED:
            return
        if error:
            row[_ERRORS] += 1
        row[_TOTAL] += duration
        if duration > row[_MAX]:
            row[_MAX] = duration
        if duration < row[_MIN] or not row[_RETURNED]:
            row[_MIN] = duration
        row[_RETURNED] += 1

    def _key_for(self, pid: int, tid: int, abi: int, nr: int, comm: bytes) -> int:
        if not self.options.per_process:
            return _key(0, abi, nr)
        if self.options.per_thread:  # (the thread's own name: threads can rename)
            self._process_of[tid] = pid
            pid = tid
        elif self.options.pids and pid not in self.options.pids:  # chosen by thread id
            self._threads.setdefault(pid, set()).add(tid)
        if pid not in self._first_seen:
            self._first_seen[pid] = len(self._first_seen)
        self._comms[pid] = comm.rstrip(b"\0")
        return _key(pid, abi, nr)

    # -- results -----------------------------------------------------------

    def rows(self) -> list[SyscallStats]:
        """Every (process, ABI, syscall) counted, in syscall number order."""
        lost = dict(self._lost)
        # Still open at the end, open at a DROP and nothing of its thread since:
        # its RET was lost (raw path; the decoded path's open calls likewise).
        for tid, key in self._at_drop.items():
            if self._pending.get(tid) == key:
                lost[key] = lost.get(key, 0) + 1
        for call in self._layer.open.values():
            if self._layer.return_lost(call) and self._chosen(call.pid, call.tid):
                key = self._key_for(call.pid, call.tid, call.plan.abi, call.plan.nr, call.comm)
                lost[key] = lost.get(key, 0) + 1
        result = []
        for key in sorted(self._stats, key=_split_key):
            pid, abi, nr = _split_key(key)
            calls, errors, total, longest, shortest, returned = self._stats[key]
            name = syscall_name(abi, nr) or f"syscall_{nr}"
            result.append(SyscallStats(pid, abi, nr, name, calls, errors, total, longest,
                                       shortest, returned,
                                       min(lost.get(key, 0), calls - returned)))
        return result

    @property
    def dropped_records(self) -> int:
        return sum(self.dropped.values())

    def lines(self, *, more_tables: bool = False) -> list[str]:
        """The summary as text lines, each ending in a newline.

        An empty system call table is left out when other tables follow: the
        switch or counter tables here, or ``more_tables`` the caller prints after
        these lines (probes, a profile). A trace with nothing in it still
        shows the empty table, as ``strace -c`` does, unless its recording asked
        for switches (``SwitchTally.requested``): then a line says none were recorded.
        """
        rows = self.rows()
        out: list[str] = []
        if self.options.per_process:
            by_pid: dict[int, list[SyscallStats]] = {}
            for row in rows:
                by_pid.setdefault(row.pid, []).append(row)
            for pid in sorted(by_pid, key=lambda p: self._first_seen.get(p, 0)):
                if out:
                    out.append("\n")
                comm = self._comms.get(pid, b"").decode("utf-8", "backslashreplace")
                out.append(f"{self._whose(pid)} ({_printable(comm)}):\n")
                out.extend(self._abi_tables(by_pid[pid]))
        perf_tables = [table for table in (self.switches.lines(), self.counters.lines())
                       if table]
        if not self.options.per_process:
            if rows or not (more_tables or perf_tables or self.switches.requested):
                out.extend(self._abi_tables(rows))
            elif not (more_tables or perf_tables):
                # a switch recording that has none: said, not an empty syscall table
                out.append("context switches per thread (CSW): none recorded\n")
        for table in perf_tables:
            if out:
                out.append("\n")
            out.extend(line + "\n" for line in table)
        out.extend(self._loss_lines())
        return out

    def _whose(self, pid: int) -> str:
        """A per-process table's heading: the process, or the threads -p chose in it;
        per thread, the thread and its process."""
        if self.options.per_thread:
            return f"Thread {pid} of process {self._process_of.get(pid, pid)}"
        threads = self._threads.get(pid)
        if not threads:
            return f"Process {pid}"
        listed = ", ".join(map(str, sorted(threads)))
        return f"Thread{'s' if len(threads) > 1 else ''} {listed} of process {pid}"

    def write(self, stream: IO[Any]) -> None:
        """Write ``lines()`` to a text or binary stream."""
        text = "".join(self.lines())
        try:
            stream.write(text)
        except TypeError:
            stream.write(text.encode("utf-8", "backslashreplace"))

    def _abi_tables(self, rows: list[SyscallStats]) -> list[str]:
        """One table per ABI, as strace -c: x86_64's first and unheaded, then
        ``System call usage summary for 32 bit mode:`` and its table."""
        abis = sorted({row.abi for row in rows})
        if not abis:
            return _table(rows, self.options)
        out: list[str] = []
        for abi in abis:
            if abi != Abi.X86_64:
                out.append(f"System call usage summary for {_abi_name(abi)}:\n")
            out.extend(_table([r for r in rows if r.abi == abi], self.options))
        return out

    def _loss_lines(self) -> list[str]:
        out = []
        if self.dropped:
            # (in ktr record's end-line words: ENOSPC is ktr's queue, not a full disk)
            reasons = "; ".join(_drop_reason(error, lost)
                                for error, lost in sorted(self.dropped.items()))
            out.append(f"records dropped by the recorder: {self.dropped_records} ({reasons})\n")
        if self.skipped_batches:
            batches = "batch" if self.skipped_batches == 1 else "batches"
            kept = (f"; {plural(self.kept_of_damaged, 'record')} before the damage kept"
                    if self.kept_of_damaged else "")
            if self.shown_unverified:
                kept += (f"; {plural(self.shown_unverified, 'record')} of them shown, "
                         "UNVERIFIED (--salvage)")
            out.append(f"damaged {batches} skipped: {self.skipped_batches} "
                       f"({self.skipped_bytes} bytes{kept})\n")
        if self.cut_short:
            out.append(f"recordings cut short (no END record, records missing): "
                       f"{self.cut_short}\n")
        if self.unplaced_count:
            specs = ", ".join(display_text(spec.encode()) for spec in self.unplaced)
            out.append(f"probes never placed: {self.unplaced_count} ({specs})\n")
        if self.malformed:
            out.append(f"malformed records not counted: {self.malformed}\n")
        return out


#: What may come between batches: the reader's, the merge's and the follower's notices.
Notice = Skipped | SourcedSkipped | Late | FollowEnded


def _decode_at(data: bytes, positions: list[int], order: formats.ByteOrder) -> list[Record]:
    """The records at ``positions`` of a raw batch, as ``Codec.iter_records`` makes them.

    One whose payload does not decode is left out (``raw_events`` checks the
    framing, not the payloads; the tables fed this way do without it).
    """
    codec = formats.codec(order)
    header = codec.header
    size = header.size
    records = []
    for start in positions:
        length, kind, version, pid, tid, ts, comm = header.unpack_from(data, start)
        try:
            payload = codec.decode_payload(kind, data, start + size, start + size + length)
        except formats.PayloadError:
            continue
        records.append(Record(kind, version, pid, tid, ts, comm.rstrip(b"\0"), payload))
    return records


def summarize(
    events: Iterable[RawBatch | list[Record] | Notice],
    options: SummaryOptions | None = None,
    *,
    order: formats.ByteOrder = "little",
    on_notice: Callable[[Notice], None] | None = None,
    tap: RecordTap | None = None,
) -> SyscallSummary:
    """Consume ``events`` and return the summary.

    ``events``: ``reader.raw_events()`` (fastest), ``reader.events()``, a
    ``_merge.Merger``'s or a ``_follow.Follower``'s (its ``raw_events()``
    too). ``order`` is the trace's byte order (``reader.header.byte_order``),
    needed for raw batches. ``on_notice`` is called with each notice as it
    comes (to warn on stderr); skipped batches are also counted in the
    summary (``Late`` records count as any other: the summary does not
    depend on their order; ``FollowEnded`` only goes to ``on_notice``).
    ``tap``: see ``SyscallSummary``.
    """
    summary = SyscallSummary(options, tap=tap)
    add_raw = summary.add_raw
    add_records = summary.add_records
    for event in events:
        if isinstance(event, RawBatch):
            add_raw(event, order)
        elif isinstance(event, list):
            add_records(event)
        else:
            if isinstance(event, Skipped):
                summary.add_notice(event)
            elif isinstance(event, SourcedSkipped):
                summary.add_notice(event.notice)
            if on_notice is not None:
                on_notice(event)
    summary.finish()
    return summary


# -- formatting -------------------------------------------------------------

class _ColumnFormat(NamedTuple):
    header: str
    width: int


_COLUMN_FORMATS: dict[str, _ColumnFormat] = {
    "time-percent": _ColumnFormat("% time", 6),
    "total-time": _ColumnFormat("seconds", 11),
    "avg-time": _ColumnFormat("usecs/call", 11),
    "max-time": _ColumnFormat("longest", 8),
    "min-time": _ColumnFormat("shortest", 8),
    "calls": _ColumnFormat("calls", 9),
    "errors": _ColumnFormat("errors", 9),
    "name": _ColumnFormat("syscall", 16),
}


def _sort(rows: list[SyscallStats], sort_by: str) -> list[SyscallStats]:
    # rows come in syscall number order; sorted() is stable, so ties keep it.
    if sort_by == "time":
        return sorted(rows, key=lambda r: -r.total_ns)
    if sort_by == "calls":
        return sorted(rows, key=lambda r: -r.calls)
    if sort_by == "errors":
        return sorted(rows, key=lambda r: -r.errors)
    if sort_by == "name":
        return sorted(rows, key=lambda r: r.name)
    if sort_by == "avg-time":
        return sorted(rows, key=lambda r: -r.average_ns)
    if sort_by == "max-time":
        return sorted(rows, key=lambda r: -r.max_ns)
    if sort_by == "min-time":
        return sorted(rows, key=lambda r: -r.min_ns)
    return rows


def _cell(column: str, row: SyscallStats, grand_total_ns: int, is_total: bool) -> str:
    width = _COLUMN_FORMATS[column].width
    if column == "time-percent":
        percent = 100.0 if is_total else (
            100.0 * row.total_ns / grand_total_ns if grand_total_ns else 0.0)
        return f"{percent:{width}.2f}"
    if column == "total-time":
        return f"{row.total_ns / 1e9:{width}.6f}"
    if column == "avg-time":
        return f"{row.average_ns // 1000:{width}d}"
    if column == "max-time":
        return f"{row.max_ns / 1e9:{width}.6f}"
    if column == "min-time":
        return f"{row.min_ns / 1e9:{width}.6f}"
    if column == "calls":
        return f"{row.calls:{width}d}"
    if column == "errors":
        return f"{row.errors:{width}d}" if row.errors else " " * width
    return "total" if is_total else row.name


def _table(rows: list[SyscallStats], options: SummaryOptions) -> list[str]:
    columns = options.columns
    # strace -c counts a call at its exit: the table holds the calls that
    # returned; those that never did (exit_group, a call cut by exit, exec or
    # detach) are listed under it instead of being dropped silently.
    unfinished = [(row.name, row.calls - row.returned - row.lost) for row in rows
                  if row.calls > row.returned + row.lost]
    lost = [(row.name, row.lost) for row in rows if row.lost]
    rows = _sort([row._replace(calls=row.returned) for row in rows if row.returned],
                 options.sort_by)
    grand_total = sum(r.total_ns for r in rows)
    total = SyscallStats(
        0, 0, 0, "total", sum(r.calls for r in rows), sum(r.errors for r in rows), grand_total,
        max((r.max_ns for r in rows), default=0),
        min((r.min_ns for r in rows if r.returned), default=0),
        sum(r.returned for r in rows))

    # strace -c: the name column is 16 wide, or one more than the longest name,
    # and padded wherever it stands (-U name,calls puts it first).
    widths = {c: _COLUMN_FORMATS[c].width for c in columns}
    if "name" in widths:
        widths["name"] = max(widths["name"], 1 + max((len(r.name) for r in rows), default=0))

    def line(cells: list[str]) -> str:
        return " ".join(cells).rstrip() + "\n"

    def row_line(row: SyscallStats, is_total: bool) -> str:
        return line([f"{_cell(c, row, grand_total, is_total):<{widths[c]}}" if c == "name"
                     else _cell(c, row, grand_total, is_total) for c in columns])

    header = [
        f"{_COLUMN_FORMATS[c].header:<{widths[c]}}" if c == "name"
        else f"{_COLUMN_FORMATS[c].header:>{widths[c]}}" for c in columns]
    dashes = line(["-" * widths[c] for c in columns])
    out = [line(header), dashes]
    out.extend(row_line(row, False) for row in rows)
    out.append(dashes)
    out.append(row_line(total, True))
    if unfinished:
        listed = ", ".join(f"{name} {count}" for name, count in unfinished)
        out.append(f"{NEVER_RETURNED}{listed}\n")
    if lost:
        listed = ", ".join(f"{name} {count}" for name, count in lost)
        out.append(f"{RETURN_LOST}{listed}\n")
    return out


#: The line under a table that lists the calls it leaves out.
NEVER_RETURNED = "never returned, not counted above (as strace -c): "
#: The line that lists the calls whose RET was lost with dropped records.
RETURN_LOST = "return lost (records dropped), not counted above: "


#: strace's names of x86_64's personalities (its ``System call usage summary for 32 bit mode:``).
_PERSONALITIES = {Abi.X86_64: "64 bit mode", Abi.I386: "32 bit mode", Abi.X32: "x32 mode"}


def _abi_name(abi: int) -> str:
    try:
        return _PERSONALITIES.get(Abi(abi)) or ABI_EMUL_NAMES[Abi(abi)]
    except ValueError:
        return f"abi {abi}"


def _drop_reason(error: int, lost: int) -> str:
    """``ENOSPC 5: queue full, the writer fell behind`` (the code alone for one
    the format gives no words)."""
    try:
        code = DropError(error).name
    except ValueError:
        return f"{errno_name(error) or f'errno_{error}'} {lost}"
    cause = DROP_CAUSES.get(error)
    return f"{code} {lost}: {cause}" if cause else f"{code} {lost}"


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(
        ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
