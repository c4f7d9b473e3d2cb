"""The call layer: one pairing of each CALL with its records, for every view.

ktr writes a system call as a run of records of one thread (the order is
``formats/SPEC.md``'s "Records of one call"): the CALL; at entry the NAMI
records of its path arguments, the STRU records of the structures it reads,
the ARG and ENV of an execve; at exit the GIO records of its data, the STRU
records of the structures it filled; the RET. Other threads' records, and
other sources' (switches, counters, samples, probes, maps, DROP), come in
between.

``CallTracker.feed(records, sink)`` is the one loop every view runs its
records through — text, JSON and strace (``_describe``, ``_strace``, on
``LineView``), ``--summary``'s decoded path, ``--format chrome``, the call
filters (``_select``) and the reading API ``calls()`` — whether the records
come from one file, several merged (``_merge``) or a followed one
(``_follow``). It tells the sink, in record order:

- ``sink.call(call, record)``: a CALL, once the entry records have arrived
  (they are attached to the ``Call``: paths, in-structures, argv, envp count),
  then each of them as ``sink.record(call, record)``;
- ``sink.record(call, record)``: every other record, with the call it belongs
  to (exit records and the RET: the call's ``ret`` is set, and its effect on
  the fd tables is applied right after, or earlier by ``settle``; close's is
  applied at its CALL, as the kernel frees the number then: ``_fdtable``'s
  "Threads and the order of records"), or None
  for a record of no call — the kinds added later (CSW, CNT, PROBE, SAMPLE,
  MMAP, ...) flow through here unchanged;
- ``sink.abandoned(call, ts)`` (optional): a call that will get no RET (its
  thread exited or was let go, or made another call first).
  ``return_lost(call)`` says whether it was open at a DROP (its RET was most
  likely lost with the dropped records, rather than never written);
  ``superseded(call)`` whether its thread went on to another call without it.

The layer also keeps, per process, the fd tables of ``-y`` (fork copies,
exec drops close-on-exec fds, exit forgets), numbers calls (``Call.id``:
the ordinal of the CALL record in the input, whatever the view's filter
shows) and applies the view's record filter (``keep``: records it rejects
still go through the layer, so fd tables and ids see every record).

``CallPlan`` is what is worked out once per (ABI, syscall number): name,
signature, which arguments are paths, structures, fds, and the call's effect
on fds.

Guarantees: state is per live thread (its open call) and per live process
(its fd table, only when fd tracking is on); both are dropped at exit, and
both have a bound (the oldest entries are dropped past it), so memory does
not grow with the trace. A RET without a CALL (attached mid-call, or the
CALL was lost) still gets a ``Call`` (no arguments, ``ts`` -1, ``id`` 0).
Payloads are read by field name (a field appended to a kind changes
nothing). Nothing here raises for any record ``formats`` decodes.

Does not: format anything (``_args``, ``_describe``, ``_strace``), or resolve
paths (``_fdtable`` says what it tracks). ``--summary``'s raw fast path
pairs SYSCALL/SYSRET by thread itself (a measured hot path; a test keeps its
counts equal to the layer's).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import formats.linux as linux
from formats import (
    FacilityError,
    ProcEvent,
    ProcFlag,
    Record,
    RecordKind,
    Struct,
    Sysret,
    kinds_for_facilities,
    split_nul_strings,
)
from formats.linux import ArgKind, RetKind, Signature

from ._bounded import Cache
from ._fdtable import FdTables, SocketDescription
from ._output import StreamedText

#: Open calls kept at most (threads whose exit was never recorded); oldest dropped past it.
MAX_OPEN_CALLS = 1 << 16

_STRUCT_CAPTURES: Mapping[ArgKind, Any] = getattr(linux, "STRUCT_CAPTURES", {})

#: Argument kinds a call fills in (besides the "out" structures).
#: Call.structs key offset of a structure the call read, then updated (poll's revents).
UPDATED = 256

OUTPUT_KINDS = frozenset({
    ArgKind.BUF_OUT, ArgKind.IOVEC_OUT, ArgKind.MSGHDR_OUT, ArgKind.MMSGHDR_OUT,
    ArgKind.SOCKADDR_OUT, ArgKind.SOCKLEN_PTR, ArgKind.FD_PAIR_OUT, ArgKind.PATH_OUT,
    # read at entry too, but strace prints the struct timex as the call left it
    ArgKind.TIMEX_INOUT, ArgKind.TIMEX64_INOUT,
})

#: i386 ipc's subcalls (include/uapi/linux/ipc.h numbers): the call's name and
#: which ipc arguments it takes, in order (1 first, 2 second, 3 third, 4 ptr,
#: 5 fifth), as the kernel's ksys_ipc passes them.
_IPC_SUBCALLS: Mapping[int, tuple[str, tuple[int, ...]]] = {
    1: ("semop", (1, 4, 2)), 2: ("semget", (1, 2, 3)), 3: ("semctl", (1, 2, 3, 4)),
    4: ("semtimedop", (1, 4, 2, 5)), 11: ("msgsnd", (1, 4, 2, 3)),
    12: ("msgrcv", (1, 4, 2, 5, 3)), 13: ("msgget", (1, 2)), 14: ("msgctl", (1, 2, 4)),
    21: ("shmat", (1, 4, 2)), 22: ("shmdt", (4,)), 23: ("shmget", (1, 2, 3)),
    24: ("shmctl", (1, 2, 4)),
}

# include/uapi/asm-generic/fcntl.h and friends (x86 values).
O_CLOEXEC = 0o2000000
SOCK_CLOEXEC = O_CLOEXEC
O_CREAT = 0o100
O_TMPFILE_BIT = 0o20000000
CLONE_FILES = 0x400
F_DUPFD = 0
F_SETFD = 2
F_DUPFD_CLOEXEC = 1030
FD_CLOEXEC = 1
CLOSE_RANGE_UNSHARE = 2
CLOSE_RANGE_CLOEXEC = 4
MFD_CLOEXEC = 1

_NAMEI = int(RecordKind.NAMEI)
_STRUCT = int(RecordKind.STRUCT)
_EXEC_ARG = int(RecordKind.EXEC_ARG)
_EXEC_ENV = int(RecordKind.EXEC_ENV)
_GENIO = int(RecordKind.GENIO)
_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_PROC = int(RecordKind.PROC)
_BEGIN = int(RecordKind.BEGIN)
_DROP = int(RecordKind.DROP)
_UNFINISHED_FLAG = 1  # formats.SyscallFlag.UNFINISHED
_ENTRY_KINDS = frozenset({_NAMEI, _STRUCT, _EXEC_ARG, _EXEC_ENV})
#: Kinds the recorder's control loop writes: one of them ends a call's entry run
#: (other sources' records and DROPs may come inside it).
_ENDS_ENTRY = frozenset({
    _SYSCALL, _SYSRET, _NAMEI, _STRUCT, _EXEC_ARG, _EXEC_ENV, _GENIO, _PROC,
    int(RecordKind.PSIG), int(RecordKind.EMUL), int(RecordKind.USER), _BEGIN,
})
#: Records of other sources held with an incomplete entry run, at most.
MAX_HELD_IN_ENTRY = 256
#: Kinds of records that belong to the open call of their thread.
MEMBER_KINDS = frozenset({_NAMEI, _STRUCT, _EXEC_ARG, _EXEC_ENV, _GENIO})


def signed32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value & 0x8000_0000 else value


class CallPlan:
    """What is known about one syscall of one ABI, worked out once."""

    __slots__ = (
        "abi", "argv_arg", "effect", "enter_in_layer", "entry_args", "entry_effect", "envp_arg",
        "fd_args", "first_fd_arg",
        "first_output_arg", "io_args", "ipc", "kinds", "name", "nr", "path_args", "renderers",
        "ret",
        "signature", "struct_direction",
    )

    def __init__(self, abi: int, nr: int, subcall: Signature | None = None) -> None:
        self.abi = abi
        self.nr = nr
        name = linux.syscall_name(abi, nr)
        found = linux.signature(abi, name) if name is not None else None
        if subcall is not None:  # i386 socketcall's subcall: named and typed as it
            name = subcall.name
            found = subcall
        self.name = name or f"syscall_{nr}"
        self.ipc = name == "ipc" and subcall is None  # i386 ipc: shown as its subcall
        self.signature: Signature | None = found
        self.kinds: tuple[ArgKind, ...] = () if found is None else tuple(a.kind for a in found.args)
        self.path_args: tuple[int, ...] = () if found is None else found.path_args
        self.io_args: tuple[int, ...] = () if found is None else found.io_args
        directions: dict[int, str] = {}
        for index, kind in enumerate(self.kinds):
            capture = _STRUCT_CAPTURES.get(kind)
            if capture is not None:
                directions[index] = capture.direction
        self.struct_direction = directions
        self.argv_arg = _index_of(self.kinds, ArgKind.ARGV)
        self.envp_arg = _index_of(self.kinds, ArgKind.ENVP)
        self.fd_args = tuple(i for i, kind in enumerate(self.kinds)
                             if kind is ArgKind.FD or kind is ArgKind.DIRFD)
        # The fd the call is about (a DIRFD too: fstatat(fd, "", AT_EMPTY_PATH)).
        self.first_fd_arg = self.fd_args[0] if self.fd_args else None
        # The first argument the call fills (strace prints from it on at exit;
        # clone's child_tidptr too).
        self.first_output_arg = next(
            (i for i, kind in enumerate(self.kinds)
             if kind in OUTPUT_KINDS or directions.get(i) == "out"), len(self.kinds))
        if self.name == "clone":
            self.first_output_arg = 2
        self.ret: RetKind | None = None if found is None else found.ret
        self.effect: Effect | None = _EFFECTS.get(self.name)
        if self.effect is None and self.ret is RetKind.FD:
            self.effect = _unknown_fd
        # Its effect at the CALL, after ``Call.fd_path`` is taken (close frees the
        # number at entry: ``_fdtable``'s "Threads and the order of records").
        self.entry_effect: EntryEffect | None = _ENTRY_EFFECTS.get(self.name)
        # For an inline copy of ``enter`` (the parquet fast path's), which applies an
        # entry effect only when the call's first fd is in the table (close's case):
        # whether it must leave the CALL to ``enter`` instead. i386 ipc (its subcall
        # is worked out there), an entry effect without a first fd (close_range).
        self.enter_in_layer = self.ipc or (self.entry_effect is not None
                                           and self.first_fd_arg is None)
        # Arguments that bring an entry record when non-NULL (CallTracker sets it
        # from what the recording holds).
        self.entry_args: tuple[int, ...] = ()
        # Output-specific compiled renderers, keyed by the output (see _args).
        self.renderers: dict[Any, Any] = {}


def returns_fd(plan: CallPlan, args: tuple[int, ...]) -> bool:
    """Whether a successful call's result is an fd: its kind says so, or fcntl's F_DUPFD*."""
    if plan.ret is RetKind.FD:
        return True
    return ((plan.name == "fcntl" or plan.name == "fcntl64") and len(args) > 1
            and args[1] & 0xFFFF_FFFF in (F_DUPFD, F_DUPFD_CLOEXEC))


def _index_of(kinds: tuple[ArgKind, ...], wanted: ArgKind) -> int | None:
    return next((i for i, kind in enumerate(kinds) if kind is wanted), None)


class Call:
    """One system call of one thread, as its records arrive."""

    __slots__ = (
        "args", "argv", "comm", "env_count", "expected", "fd_path", "id", "io", "paths", "pid",
        "plan", "received", "records", "ret", "ret_ts", "settled", "shown", "started", "structs",
        "tid", "ts",
    )

    def __init__(self, plan: CallPlan, pid: int, tid: int, comm: bytes, ts: int,
                 args: tuple[int, ...], call_id: int = 0) -> None:
        #: The call's number in its input: the ordinal (1-based) of its CALL
        #: record among every CALL record read, whatever the filters show; 0
        #: for a RET whose CALL was never recorded.
        self.id = call_id
        self.plan = plan
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.ts = ts
        self.args = args
        self.paths: list[bytes] | None = None  # NAMI records, in order
        self.structs: dict[int, Struct] | None = None  # STRU records by argument index
        self.argv: bytes | None = None  # the ARG record's data
        self.env_count: int | None = None  # strings in the ENV record
        self.io: list[Any] | None = None  # GIO payloads
        self.expected = 0  # entry records this call can have
        self.received = 0  # entry records attached so far
        self.ret: Sysret | None = None
        self.ret_ts = 0
        # What the call's first fd was, at entry (-y): ``FdTables.exact``'s form.
        self.fd_path: str | None = None
        self.started = -1  # strace output: arguments printed before "<unfinished ...>"
        self.shown = True  # whether the view shows it (its CALL passed the view's filter)
        self.records: list[Record] | None = None  # its records in order (``calls()`` keeps them)
        self.settled = False  # its effect on the fd tables has been applied

    @property
    def entry_complete(self) -> bool:
        return self.received >= self.expected

    @property
    def name(self) -> str:
        """The syscall's name (``syscall_N`` when the tables do not know the number)."""
        return self.plan.name

    @property
    def returned(self) -> bool:
        """Whether the call came back (a RET not flagged UNFINISHED)."""
        return self.ret is not None and not self.ret.flags & _UNFINISHED_FLAG

    @property
    def error(self) -> int:
        """The errno the call failed with, 0 when it did not fail (or did not return)."""
        return self.ret.error if self.returned and self.ret is not None else 0

    @property
    def duration_ns(self) -> int | None:
        """Time spent in the kernel (the RET's), None when it did not return."""
        return self.ret.duration_ns if self.returned and self.ret is not None else None

    def path(self, argument: int) -> bytes | None:
        """The NAMI path of path argument ``argument``, if it was recorded."""
        paths = self.paths
        args = self.args
        if not paths or argument >= len(args) or not args[argument]:
            return None
        slot = 0
        for index in self.plan.path_args:
            if index == argument:
                return paths[slot] if slot < len(paths) else None
            if index < len(self.args) and self.args[index]:
                slot += 1
        return None

    def struct(self, argument: int) -> Struct | None:
        structs = self.structs
        return None if structs is None else structs.get(argument)


Effect = Callable[[FdTables, Call, int], None]
#: An effect applied at the CALL (the call's args; no result yet).
EntryEffect = Callable[[FdTables, Call], None]


class CallSink(Protocol):
    """What a view implements to take records from ``CallTracker.feed``."""

    def call(self, call: Call, record: Record) -> None:
        """A CALL record, its entry records attached to ``call``."""

    def record(self, call: Call | None, record: Record) -> None:
        """Any other record, with the call it belongs to (or None)."""

    # Optional: ``abandoned(call, ts)``: a shown call that will get no RET (its
    # thread exited, was let go or lost, or made another call), at time ``ts``,
    # before the record that ended it.


class CallTracker:
    """The call layer: open calls per thread, and (``track_fds``) fd tables per process.

    ``feed(records, sink)`` is the loop every view runs its records through
    (see ``CallSink``); the methods below it (``enter``, ``attach``,
    ``add_exit_record``, ``leave``, ``settle``, ``process_event``) are its
    steps, for callers that walk records themselves.

    ``keep_calls``: also collect each call's exit records (GIO payloads and
    out-STRUs in ``Call.io``/``Call.structs``) for a view that renders them
    at the RET (strace's); fd tracking collects the out-STRUs it needs.
    ``keep``: the view's record filter; records it rejects still go through
    the layer (fd tables and call ids see every record) but not to the sink.
    ``defer_entries``: a CALL whose entry records have not all arrived at the
    end of a batch waits for the next batch (False for a live input: it is
    passed on at the batch's end).
    """

    #: Hold a CALL whose entry is incomplete at a batch's end over to the next batch.
    defer_entries = True

    def __init__(self, *, track_fds: bool = False, keep_calls: bool | None = None,
                 facilities: str | None = None) -> None:
        self.track_fds = track_fds
        self.keep_calls = track_fds if keep_calls is None else keep_calls or track_fds
        self.keep: Callable[[Record], bool] | None = None
        self.fds = FdTables()
        self.open: dict[int, Call] = {}  # tid -> its call between CALL and RET
        self.calls_seen = 0  # CALL records read: the last call id given
        self.plans: dict[tuple[int, int], CallPlan] = Cache()
        # A call whose entry records are still arriving, and its records so far.
        self._entering: Call | None = None
        self._entry_records: list[Record] = []
        # tid -> id of its call open at the last DROP (``return_lost``).
        self._open_at_drop: dict[int, int] = {}
        # Which entry records the recording can hold (its -t); unknown: all of them.
        recorded = _recorded_kinds(facilities)
        self._namei = recorded is None or RecordKind.NAMEI in recorded
        self._exec_args = recorded is None or RecordKind.EXEC_ARG in recorded
        self._exec_env = recorded is None or RecordKind.EXEC_ENV in recorded

    # -- the loop ----------------------------------------------------------------

    def feed(self, records: Iterable[Record], sink: CallSink) -> None:
        """Run ``records`` through the layer, telling ``sink`` in record order.

        ``sink.call(call, record)``: a CALL, once its entry records (NAMI,
        in-STRU, ARG, ENV) are attached to ``call``; they follow it, each as
        ``sink.record(call, record)``. ``sink.record(call, record)``: every
        other record, with the call it belongs to (its exit records: GIO,
        out-STRU, and the RET, after which the call's fd effect is applied)
        or None (signals, process events, switches, counters, probes,
        samples, maps, USER, EMUL, DROP, unknown kinds). Only records
        ``keep`` accepts reach the sink; a RET shares its CALL's fate.
        ``sink.abandoned(call, ts)``, when the sink has it: see ``CallSink``.
        """
        self._dispatch(self.stream(records), sink)

    @property
    def holding(self) -> int:
        """Records fed but not yet passed on: a CALL still waiting for its entry records,
        and every record after it (``flush`` or a later ``feed`` passes them on)."""
        return len(self._entry_records) if self._entering is not None else 0

    def flush(self, sink: CallSink) -> None:
        """Pass on a CALL still waiting for entry records (the end of the input)."""
        self._dispatch(self.flush_stream(), sink)

    @staticmethod
    def _dispatch(pairs: Iterable[tuple[Call | None, Record | None]], sink: CallSink) -> None:
        on_call = sink.call
        on_record = sink.record
        abandoned: Callable[[Call, int], None] | None = getattr(sink, "abandoned", None)
        for call, record in pairs:
            if record is None:
                if abandoned is not None and call is not None:
                    abandoned(call, call.ret_ts)
            elif record[0] == _SYSCALL and call is not None:
                on_call(call, record)
            else:
                on_record(call, record)

    def stream(self, records: Iterable[Record], *, members: bool = True,
               ) -> Iterator[tuple[Call | None, Record | None]]:
        """``feed``'s events as a generator, for views that loop themselves (the hot path).

        Each ``(call, record)`` is ``sink.record(call, record)``, or
        ``sink.call`` when ``record`` is the call's SYSCALL; ``(call, None)``
        is ``sink.abandoned(call, call.ret_ts)``. The layer's state (fd
        tables) moves on as the consumer takes the events: consume each
        before the next.

        ``members=False``: SYSCALL records and the kinds that belong to a call
        (``MEMBER_KINDS``) are not yielded, for a view that writes each call
        whole from its ``Call`` at the RET; they still go through the layer.
        """
        keep = self.keep
        opened = self.open
        plans = self.plans
        new_call = object.__new__
        collect = self.keep_calls
        track = self.track_fds
        entering = self._entering
        held = self._entry_records
        for record in records:
            kind = record[0]
            if entering is not None:
                payload: Any = record[6]
                if record[3] == entering.tid and (
                        kind in (_NAMEI, _EXEC_ARG, _EXEC_ENV)
                        or (kind == _STRUCT
                            and entering.plan.struct_direction.get(payload.argument) == "in")):
                    if kind == _NAMEI:
                        entering.received += 1
                        if entering.paths is None:
                            entering.paths = [payload.path]
                        else:
                            entering.paths.append(payload.path)
                    else:
                        self.attach(entering, record)
                    held.append(record)
                    if entering.received < entering.expected:
                        continue
                    self._entering = None
                    # _release_entry, inline: the common end of an entry run.
                    if not members:
                        if len(held) > 2:  # other sources' records came inside the entry
                            for member in held[1:]:
                                if member[0] not in MEMBER_KINDS and (
                                        keep is None or keep(member)):
                                    yield (None, member)
                    elif len(held) == 2:  # the CALL and this record, its one entry record
                        if entering.shown:
                            yield (entering, held[0])
                        if keep is None or keep(record):
                            yield (entering, record)
                    else:
                        if entering.shown:
                            yield (entering, held[0])
                        tid = entering.tid
                        for member in held[1:]:
                            if keep is None or keep(member):
                                yield (entering if member[3] == tid and member[0] in _ENTRY_KINDS
                                       else None, member)
                    held = self._entry_records = []
                    entering = None
                    continue
                if kind not in _ENDS_ENTRY and len(held) < MAX_HELD_IN_ENTRY:
                    # Another source's record (switch, counter, sample, probe, map) or
                    # a DROP can come inside the entry run: it waits with the entry.
                    held.append(record)
                    if kind == _DROP:
                        self._records_lost()
                    continue
                # Not one of its entry records: the entry is over.
                self._entering = None
                yield from self._release_entry(entering, held, members)
                held = self._entry_records = []
                entering = None
            if kind == _SYSCALL:
                tid = record[3]
                previous = opened.get(tid)
                if previous is not None and previous.shown:  # its RET never came
                    previous.ret_ts = record[4]
                    yield (previous, None)
                syscall: Any = record[6]
                plan = plans.get((syscall.abi, syscall.nr))
                if plan is None or plan.ipc:
                    call = self.enter(record)
                else:  # enter(), inline: the common case
                    args = syscall.args
                    self.calls_seen = call_id = self.calls_seen + 1
                    # Call(plan, pid, tid, comm, ts, args, call_id), inline: the
                    # class call and its __init__ frame cost more than the stores
                    # (a test keeps the two equal, slot by slot).
                    call = new_call(Call)
                    call.id = call_id
                    call.plan = plan
                    call.pid = record[2]
                    call.tid = tid
                    call.comm = record[5]
                    call.ts = record[4]
                    call.args = args
                    call.paths = call.structs = call.argv = call.env_count = call.io = None
                    call.ret = call.fd_path = call.records = None
                    call.received = call.ret_ts = 0
                    call.started = -1
                    call.shown = True
                    call.settled = False
                    entry = plan.entry_args
                    expected = 0
                    if entry:
                        size = len(args)
                        for index in entry:
                            if index < size and args[index]:
                                expected += 1
                    call.expected = expected
                    if track:
                        fd_arg = plan.first_fd_arg
                        if fd_arg is not None and fd_arg < len(args):
                            word = args[fd_arg] & 0xFFFF_FFFF  # signed32(), inline
                            call.fd_path = self.fds.exact(
                                record[2], word - (1 << 32) if word & 0x8000_0000 else word)
                        if plan.entry_effect is not None:
                            self.settle_entry(call)
                    if previous is None and len(opened) >= MAX_OPEN_CALLS:
                        del opened[next(iter(opened))]
                    opened[tid] = call
                if keep is not None:
                    call.shown = keep(record)
                if call.received < call.expected:
                    entering = self._entering = call
                    held.append(record)
                elif call.shown and members:
                    yield (call, record)
                continue
            if kind == _SYSRET:
                ret: Any = record[6]
                pending = opened.pop(record[3], None)  # the common case, inline
                if (pending is not None and pending.plan.nr == ret.nr
                        and pending.plan.abi == ret.abi):
                    call = pending
                    call.ret = ret
                    call.ret_ts = record[4]
                else:
                    if pending is not None:
                        opened[record[3]] = pending
                        if pending.shown and pending.plan.nr != ret.nr:  # it never returns
                            pending.ret_ts = record[4]
                            yield (pending, None)
                    call = self.leave(record)
                if call.shown if call.ts != -1 else (keep is None or keep(record)):
                    yield (call, record)
                # The view may have settled it already; a call with no effect on
                # the fd tables (most of them) has nothing to settle.
                if track and not call.settled and call.plan.effect is not None:
                    self.settle(call)
                continue
            if kind == _PROC:
                previous = opened.get(record[3])
                self.process_event(record)
                if previous is not None and previous.shown and record[3] not in opened:
                    previous.ret_ts = record[4]
                    yield (previous, None)
                if keep is None or keep(record):
                    yield (None, record)
                continue
            if kind in MEMBER_KINDS:
                owner = opened.get(record[3])
                if owner is not None and collect:
                    if kind == _GENIO:  # add_exit_record, inline: the common exit record
                        payload = record[6]
                        io = owner.io
                        if io is None:
                            owner.io = [payload]
                        elif not any(seen is payload for seen in io):
                            io.append(payload)
                    elif kind == _STRUCT:
                        self.add_exit_record(record)
                elif owner is None and kind == _STRUCT and track:
                    self.process_state(record)
                if not members:
                    continue
            else:
                owner = None
                if kind == _BEGIN:
                    yield from self._recording_begins(
                        record[4], getattr(record, "input_pids", None))
                elif kind == _DROP:
                    self._records_lost()
            if keep is None or keep(record):
                yield (owner, record)
        if entering is not None and not self.defer_entries:
            yield from self.flush_stream()

    def _records_lost(self) -> None:
        """A DROP: the RET of any call open now may be among the records lost."""
        at_drop = self._open_at_drop
        for tid, call in self.open.items():
            at_drop[tid] = call.id
        while len(at_drop) > MAX_OPEN_CALLS:  # threads gone since: the oldest go
            del at_drop[next(iter(at_drop))]

    def return_lost(self, call: Call) -> bool:
        """Whether ``call``, which gets no RET (abandoned, or open at the end), was open
        when records were lost (a DROP): its RET was most likely one of them, where a
        call abandoned otherwise never returned (exit, exec, detach)."""
        return call.id != 0 and self._open_at_drop.get(call.tid) == call.id

    def superseded(self, call: Call) -> bool:
        """Whether ``call``, being abandoned now (asked from ``sink.abandoned``), is so
        because its thread went on without its RET: it made its next call, or a RET
        of another call came (no exit, exec, detach or BEGIN ended it). The thread
        is then still in ``open`` under this call, until the record that ended it
        has been taken."""
        return self.open.get(call.tid) is call

    def _recording_begins(self, ts: int, pids: frozenset[int] | None = None,
                          ) -> Iterator[tuple[Call | None, Record | None]]:
        """A BEGIN (``ktr record -a``): nothing the previous recording left open goes on.

        Its open calls get no RET in this file (it was cut short, or the call
        outlived it): each is abandoned at ``ts``, so a RET of the next
        recording under the same thread id is never paired with it. Its fd
        tables are forgotten: the next recording's pids may be other processes,
        or the same ones after changes no one recorded.

        ``pids`` (a merge's ``InputBegin``): only the processes the BEGIN's own
        input showed before it are the previous recording's; the other inputs'
        recordings go on (traces recorded at the same time, merged).
        """
        opened = self.open
        ended = [call for call in opened.values() if pids is None or call.pid in pids]
        for call in ended:
            del opened[call.tid]
        for call in ended:
            if call.shown:
                call.ret_ts = ts
                yield (call, None)
        self.fds.forget(pids)

    def flush_stream(self) -> Iterator[tuple[Call | None, Record | None]]:
        """``stream`` for a CALL still waiting for entry records (the end of the input)."""
        entering = self._entering
        if entering is not None:
            self._entering = None
            held = self._entry_records
            self._entry_records = []
            yield from self._release_entry(entering, held)

    def _release_entry(self, call: Call, held: list[Record], members: bool = True,
                       ) -> Iterator[tuple[Call | None, Record | None]]:
        """A call's entry is over: the CALL, then the records that came with it, in order
        (``members=False``: only the records that are not the call's, see ``stream``)."""
        keep = self.keep
        if call.shown and members:
            yield (call, held[0])
        tid = call.tid
        for record in held[1:]:
            if not members and record[0] in MEMBER_KINDS:
                continue
            if keep is None or keep(record):
                member = record[3] == tid and record[0] in _ENTRY_KINDS
                yield (call if member else None, record)

    def plan(self, abi: int, nr: int) -> CallPlan:
        key = (abi, nr)
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = CallPlan(abi, nr)
            entry = [i for i, direction in plan.struct_direction.items() if direction == "in"]
            if self._namei:
                entry.extend(plan.path_args)
            if self._exec_args and plan.argv_arg is not None:
                entry.append(plan.argv_arg)
            if self._exec_env and plan.envp_arg is not None:
                entry.append(plan.envp_arg)
            plan.entry_args = tuple(sorted(entry))
        return plan

    # -- entry ---------------------------------------------------------------

    def enter(self, record: Record) -> Call:
        """A CALL record: the thread's new call (replacing one whose RET never came)."""
        _kind, _version, pid, tid, ts, comm, payload = record
        syscall: Any = payload
        nr = syscall.nr
        abi = syscall.abi
        args = syscall.args
        plan = self.plans.get((abi, nr)) or self.plan(abi, nr)
        if plan.ipc:
            plan, args = self._ipc_subcall(plan, args)
        self.calls_seen = call_id = self.calls_seen + 1
        call = Call(plan, pid, tid, comm, ts, args, call_id)
        entry = plan.entry_args
        if entry:
            expected = 0
            size = len(args)
            for index in entry:
                if index < size and args[index]:
                    expected += 1
            call.expected = expected
        if self.track_fds:
            self._take_fd_path(call)
            if plan.entry_effect is not None:
                self.settle_entry(call)
        opened = self.open
        if len(opened) >= MAX_OPEN_CALLS and tid not in opened:
            del opened[next(iter(opened))]
        opened[tid] = call
        return call

    def is_entry_record(self, call: Call, record: Record) -> bool:
        """Whether ``record`` (of ``call``'s thread) belongs to the call's entry."""
        kind = record.kind
        if kind in (_NAMEI, _EXEC_ARG, _EXEC_ENV):
            return True
        if kind == _STRUCT:
            return call.plan.struct_direction.get(record.payload.argument) == "in"  # type: ignore[union-attr]
        return False

    def attach(self, call: Call, record: Record) -> None:
        """Add an entry record (NAMI, in-STRU, ARG, ENV) to ``call``."""
        kind = record.kind
        payload: Any = record.payload
        call.received += 1
        if kind == _NAMEI:
            if call.paths is None:
                call.paths = [payload.path]
            else:
                call.paths.append(payload.path)
        elif kind == _STRUCT:
            if payload.name == b"socketcall_args":
                self._demultiplex(call, payload)
                return
            if call.structs is None:
                call.structs = {}
            call.structs[payload.argument] = payload
        elif kind == _EXEC_ARG:
            call.argv = payload.data
        elif kind == _EXEC_ENV:
            call.env_count = len(split_nul_strings(payload.data))

    def _ipc_subcall(self, plan: CallPlan, args: tuple[int, ...],
                     ) -> tuple[CallPlan, tuple[int, ...]]:
        """i386 ipc(call, first, second, third, ptr, fifth) as the call it makes.

        The kernel's ipc/syscall.c order of each subcall's arguments; the
        plan keeps ipc's number so its RET still matches.
        """
        if not args:
            return plan, args
        layout = _IPC_SUBCALLS.get(args[0] & 0xFFFF)
        if layout is None:
            return plan, args
        name, order = layout
        key = (plan.abi, -1000 - (args[0] & 0xFFFF))
        subplan = self.plans.get(key)
        if subplan is None:
            signature = linux.signature(plan.abi, name) or linux.signature(1, name)
            if signature is None:
                return plan, args
            subplan = self.plans[key] = CallPlan(plan.abi, plan.nr, signature)
        return subplan, tuple(args[index] if index < len(args) else 0 for index in order)

    def _demultiplex(self, call: Call, payload: Any) -> None:
        """i386 socketcall: the call becomes its subcall, with the words as its arguments.

        The plan keeps socketcall's number (its RET still matches); the
        subcall's own STRUCT records (numbered by the subcall's arguments)
        follow.
        """
        data: bytes = payload.data
        subcall = linux.socketcall_signature(call.args[0] & 0xFFFF_FFFF) if call.args else None
        if subcall is None or len(data) < 4 * len(subcall.args):
            return
        key = (call.plan.abi, -1 - (call.args[0] & 0xFFFF_FFFF))
        plan = self.plans.get(key)
        if plan is None:
            plan = self.plans[key] = CallPlan(call.plan.abi, call.plan.nr, subcall)
            plan.entry_args = tuple(i for i, d in plan.struct_direction.items() if d == "in")
        words = tuple(int.from_bytes(data[i:i + 4], "little") for i in range(0, len(data), 4))
        call.plan = plan
        call.args = words[:len(subcall.args)]
        call.expected += sum(1 for i in plan.entry_args if i < len(call.args) and call.args[i])
        if self.track_fds:
            self._take_fd_path(call)  # the subcall's fd, as its entry found it

    # -- exit ----------------------------------------------------------------

    def add_exit_record(self, record: Record) -> Call | None:
        """A GIO or an out-STRU: added to its thread's open call (None if there is none)."""
        call = self.open.get(record.tid)
        if call is None:
            return None
        payload: Any = record.payload
        if record.kind == _GENIO:
            if call.io is None:
                call.io = [payload]
            elif not any(seen is payload for seen in call.io):  # strace's look-ahead added it
                call.io.append(payload)
        elif record.kind == _STRUCT:
            if call.structs is None:
                call.structs = {}
            key = payload.argument
            if call.structs.get(key) is payload or call.structs.get(key + UPDATED) is payload:
                return call  # strace's look-ahead added it
            if key in call.structs and (call.plan.struct_direction.get(key) == "in"
                                        or payload.name == b"unsent_messages"):
                # the call's own update of a structure it read (poll), or what a
                # call did not send, after its exit structure (sendmmsg)
                key += UPDATED
            call.structs[key] = payload
        return call

    def leave(self, record: Record) -> Call:
        """A RET: the thread's call, closed (a new argument-less one if it had none open)."""
        payload: Sysret = record.payload  # type: ignore[assignment]
        tid = record.tid
        call = self.open.pop(tid, None)
        if call is None or call.plan.nr != payload.nr or call.plan.abi != payload.abi:
            if call is None and linux.syscall_name(payload.abi, payload.nr) in _EXECS:
                call = self._exec_by_other_thread(record.pid, payload)
            if call is None or call.plan.nr != payload.nr:
                plan = self.plan(payload.abi, payload.nr)
                call = Call(plan, record.pid, tid, record.comm, record.timestamp_ns, ())
                call.ts = -1  # no CALL was seen
        call.ret = payload
        call.ret_ts = record.timestamp_ns
        return call

    def _exec_by_other_thread(self, pid: int, payload: Sysret) -> Call | None:
        # A thread other than the leader that execs comes back as the leader.
        for tid, call in self.open.items():
            if call.pid == pid and call.plan.nr == payload.nr:
                del self.open[tid]
                return call
        return None

    def _take_fd_path(self, call: Call) -> None:
        """``call.fd_path``: what its first fd argument names now, at its entry (the
        hot loop in ``stream`` does the same inline)."""
        fd_arg = call.plan.first_fd_arg
        if fd_arg is not None and fd_arg < len(call.args):
            call.fd_path = self.fds.exact(call.pid, signed32(call.args[fd_arg]))

    def settle_entry(self, call: Call) -> None:
        """Apply a call's effect at its CALL (``CallPlan.entry_effect``: close's), once
        its ``fd_path`` is taken; the caller checks that fds are tracked."""
        effect = call.plan.entry_effect
        if effect is not None:
            try:  # noqa: SIM105 (as settle's)
                effect(self.fds, call)
            except (IndexError, ValueError):  # arguments missing from the record
                pass

    def settle(self, call: Call) -> None:
        """Apply a returned call's effect on the fd tables (when tracking them)."""
        if call.settled or not self.track_fds or call.ret is None or call.ts == -1:
            return
        call.settled = True
        effect = call.plan.effect
        ret = call.ret
        if effect is None or ret.flags & 1:  # never returned: no effect known
            return
        # IndexError: arguments missing from the record, nothing to learn.
        # (try, not contextlib.suppress: this runs once per call, and the
        # context manager's object and calls cost more than the effect.)
        try:  # noqa: SIM105 (see above)
            effect(self.fds, call, -1 if ret.error else ret.retval)
        except (IndexError, ValueError):
            pass

    # -- lifecycle -------------------------------------------------------------

    def process_event(self, record: Record) -> None:
        proc: Any = record.payload
        event = proc.event
        pid = record.pid
        if event == ProcEvent.EXIT or event == ProcEvent.DETACH or event == ProcEvent.LOST:
            self.open.pop(record.tid, None)
            # The old leader superseded by another thread's execve is a
            # thread leaving (THREAD flag): the process and its fds live on.
            if record.tid == pid and self.track_fds and not proc.flags & ProcFlag.THREAD:
                self.fds.exited(pid)
            return
        if not self.track_fds:
            return
        if event == ProcEvent.FORK or event == ProcEvent.VFORK:
            self.fds.forked(pid, proc.child, share=False)
        elif event == ProcEvent.CLONE and not proc.flags & ProcFlag.THREAD:
            call = self.open.get(record.tid)
            share = (call is not None and call.plan.name == "clone" and bool(call.args)
                     and bool(call.args[0] & CLONE_FILES))
            self.fds.forked(pid, proc.child, share=share)
        elif event == ProcEvent.EXEC:
            self.fds.executed(pid)


    def process_state(self, record: Record) -> None:
        """A STRUCT of no call: an attached process's working directory and open fds, as the
        recorder read them at attach (``cwd``, ``open_fds``); fds the trace has shown win."""
        payload: Any = record[6]
        pid = record[2]
        if payload.argument == RESULT_ARGUMENT and payload.name == b"cwd" and payload.data:
            self.fds.changed_directory(pid, payload.data.decode("utf-8", "surrogateescape"))
        elif payload.argument == OPEN_FDS_ARGUMENT and payload.name == b"open_fds":
            from ._structs import fd_paths
            for fd, path in fd_paths(payload.data):
                if self.fds.exact(pid, fd) is None:
                    self.fds.opened(pid, fd, path.decode("utf-8", "surrogateescape"))


def recorded_facilities(header: Any) -> str | None:
    """The recording's ``-t`` string from its file header (None when unknown)."""
    facilities = None if header is None else header.options.get("facilities")
    return facilities if isinstance(facilities, str) else None


class LineView:
    """Base of the views that turn batches into lines through the call layer.

    A subclass sets ``self.tracker`` (its ``CallTracker``) and implements the
    sink (``call``, ``record``) appending to ``self._out``.
    """

    tracker: CallTracker
    _out: list[str]

    @property
    def defer_entries(self) -> bool:
        """Hold a CALL whose entry is incomplete at a batch's end over to the next batch."""
        return self.tracker.defer_entries

    @defer_entries.setter
    def defer_entries(self, value: bool) -> None:
        self.tracker.defer_entries = value

    def describe(self, records: list[Record]) -> Sequence[str | StreamedText]:
        """The lines of a batch (a CALL may wait for the next batch: ``defer_entries``);
        a view may give a large record's as a ``StreamedText``."""
        out: list[str] = []
        self._out = out
        self.tracker.feed(records, self)  # type: ignore[arg-type]
        return out

    def finish(self) -> Sequence[str | StreamedText]:
        """The lines still held back, at the end of the input."""
        out: list[str] = []
        self._out = out
        self.tracker.flush(self)  # type: ignore[arg-type]
        self._finished(out)
        return out

    def _finished(self, out: list[str]) -> None:
        """A subclass's last lines."""


def _recorded_kinds(facilities: str | None) -> frozenset[RecordKind] | None:
    """The record kinds a recording's ``-t`` string selects; None when unknown."""
    if facilities is None:
        return None
    try:
        return kinds_for_facilities(facilities)
    except FacilityError:
        return None  # a newer recorder's letter: assume anything can be there


# ---------------------------------------------------------------------------
# Effects of calls on the fd tables: (tables, call, result) with result -1 on failure.

_EXECS = frozenset({"execve", "execveat"})


def path_description(tables: FdTables, call: Call, path_arg: int) -> str | None:
    """Path argument ``path_arg`` as ``-y`` names it: joined to its dirfd's path when relative."""
    path = call.path(path_arg)
    if path is None:
        return None
    text = path.decode("utf-8", "surrogateescape")  # exact: FdTables.exact
    dirfd_arg = None
    signature = call.plan.signature
    if signature is not None:
        dirfd_arg = signature.args[path_arg].dirfd_arg
    if not text.startswith("/") and dirfd_arg is not None:
        dirfd = signed32(call.args[dirfd_arg])
        if dirfd != linux.AT_FDCWD:
            directory = tables.exact(call.pid, dirfd)
            if directory is not None and directory.startswith("/"):
                text = directory.rstrip("/") + "/" + text if text else directory
    return text


#: The STRUCT argument number of the recorder's captures about a call's result
#: (``fd_path``, ``cwd``): ``ktr._builder.RESULT_ARGUMENT``.
RESULT_ARGUMENT = 255


def _result_text(call: Call, name: bytes) -> str | None:
    """The recorder's ``fd_path`` or ``cwd`` of ``call`` (the kernel's resolution), or None."""
    struct = call.struct(RESULT_ARGUMENT)
    if struct is None or struct.name != name or not struct.data:
        return None
    return struct.data.decode("utf-8", "surrogateescape")  # exact: FdTables.exact


#: The effects ``_opened_path`` made with a flags argument, and that argument:
#: a fast path (the parquet view's) may apply such an effect inline in the
#: common case (an absolute path, no STRU records) and must call it otherwise.
OPENED_PATH_FLAGS: dict[Effect, int] = {}


def _opened_path(flags_arg: int | None) -> Effect:
    def effect(tables: FdTables, call: Call, result: int) -> None:
        if result < 0:
            return
        plan = call.plan
        path_arg = plan.path_args[0] if plan.path_args else None
        # (no STRU records, no recorder's fd_path: the common case, without the call)
        description = _result_text(call, b"fd_path") if call.structs else None
        if description is None and path_arg is not None:
            description = path_description(tables, call, path_arg)
        if flags_arg is not None:
            cloexec = bool(call.args[flags_arg] & O_CLOEXEC)
        else:  # openat2: the flags are struct open_how's first field (a u64)
            how = call.struct(2)
            cloexec = (how is not None and len(how.data) >= 8
                       and bool(int.from_bytes(how.data[:8], "little") & O_CLOEXEC))
        tables.opened(call.pid, result, description, cloexec)

    if flags_arg is not None:
        OPENED_PATH_FLAGS[effect] = flags_arg
    return effect


def _anonymous(description: str, flags_arg: int | None, cloexec_bit: int = O_CLOEXEC) -> Effect:
    def effect(tables: FdTables, call: Call, result: int) -> None:
        if result >= 0:
            cloexec = flags_arg is not None and bool(call.args[flags_arg] & cloexec_bit)
            tables.opened(call.pid, result, _result_text(call, b"fd_path") or description,
                          cloexec)

    return effect


def _io_uring(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        tables.opened(call.pid, result, _result_text(call, b"fd_path")
                      or "anon_inode:[io_uring]", True)  # always O_CLOEXEC


def _clone3(tables: FdTables, call: Call, result: int) -> None:
    """The parent's pidfd (CLONE_PIDFD), from the STRUCT "clone3_ids" at exit (clone3's
    for its argument 0, after its clone_args; clone's for its parent_tid, argument 2)."""
    updated = (None if result <= 0
               else call.struct(2) if call.plan.name == "clone" else call.struct(UPDATED))
    if updated is not None and updated.name == b"clone3_ids":
        from ._structs import clone3_ids
        pidfd, _ = clone3_ids(updated.data)
        if pidfd is not None:
            tables.opened(call.pid, pidfd, "anon_inode:[pidfd]", True)  # always O_CLOEXEC


def _unknown_fd(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        tables.opened(call.pid, result, _result_text(call, b"fd_path"))


_SOCKET_DOMAINS = {1: "AF_UNIX", 2: "AF_INET", 10: "AF_INET6", 16: "AF_NETLINK", 17: "AF_PACKET"}


def _domain_name(value: int, abi: int) -> str:
    try:
        from ._flags import decode_argument
    except ImportError:  # pragma: no cover - the decoders always ship with ktrdump
        name = None
    else:
        name = decode_argument(ArgKind.SOCKET_DOMAIN, value, abi)
    return name or _SOCKET_DOMAINS.get(value & 0xFFFF_FFFF) or str(value & 0xFFFF_FFFF)


_AF_NETLINK = 16


def _socket(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        description = (_result_text(call, b"fd_path")
                       or f"socket:[{_domain_name(call.args[0], call.plan.abi)}]")
        if call.args[0] & 0xFFFF_FFFF == _AF_NETLINK and len(call.args) > 2:
            # the strace view decodes the socket's messages by its protocol
            description = SocketDescription(description, call.args[2] & 0xFFFF_FFFF)
        tables.opened(call.pid, result, description, bool(call.args[1] & SOCK_CLOEXEC))


def _fd_pair(call: Call, argument: int) -> tuple[int, int] | None:
    struct = call.struct(argument)
    if struct is None or len(struct.data) < 8:
        return None
    return (int.from_bytes(struct.data[0:4], "little", signed=True),
            int.from_bytes(struct.data[4:8], "little", signed=True))


def _paths_of_pair(call: Call) -> dict[int, str]:
    """The recorder's paths of the fds pipe or socketpair made (``fd_paths``), by fd."""
    struct = call.struct(RESULT_ARGUMENT)
    if struct is None or struct.name != b"fd_paths":
        return {}
    from ._structs import fd_paths
    return {fd: path.decode("utf-8", "surrogateescape") for fd, path in fd_paths(struct.data)}


def _pipe(flags_arg: int | None) -> Effect:
    def effect(tables: FdTables, call: Call, result: int) -> None:
        if result < 0:
            return
        pair = _fd_pair(call, 0)
        if pair is None:
            return
        paths = _paths_of_pair(call)
        description = None if len(paths) == 2 else tables.new_pipe()
        cloexec = flags_arg is not None and bool(call.args[flags_arg] & O_CLOEXEC)
        for fd in pair:
            tables.opened(call.pid, fd, paths.get(fd, description), cloexec)

    return effect


def _socketpair(tables: FdTables, call: Call, result: int) -> None:
    if result < 0:
        return
    pair = _fd_pair(call, 3)
    if pair is None:
        return
    paths = _paths_of_pair(call)
    description = f"socket:[{_domain_name(call.args[0], call.plan.abi)}]"
    for fd in pair:
        tables.opened(call.pid, fd, paths.get(fd, description),
                      bool(call.args[1] & SOCK_CLOEXEC))


def _accept(flags_arg: int | None) -> Effect:
    def effect(tables: FdTables, call: Call, result: int) -> None:
        if result < 0:
            return
        description = _result_text(call, b"fd_path") or tables.exact(
            call.pid, signed32(call.args[0]))
        cloexec = flags_arg is not None and bool(call.args[flags_arg] & SOCK_CLOEXEC)
        tables.opened(call.pid, result, description or "socket:[]", cloexec)

    return effect


def _dup(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        tables.duplicated(call.pid, signed32(call.args[0]), result)


def _dup2(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        tables.duplicated(call.pid, signed32(call.args[0]), result)


def _dup3(tables: FdTables, call: Call, result: int) -> None:
    if result >= 0:
        tables.duplicated(call.pid, signed32(call.args[0]), result,
                          bool(call.args[2] & O_CLOEXEC))


def _fcntl(tables: FdTables, call: Call, result: int) -> None:
    if result < 0:
        return
    command = call.args[1] & 0xFFFF_FFFF
    fd = signed32(call.args[0])
    if command in (F_DUPFD, F_DUPFD_CLOEXEC):
        tables.duplicated(call.pid, fd, result, command == F_DUPFD_CLOEXEC)
    elif command == F_SETFD:
        tables.set_cloexec(call.pid, fd, bool(call.args[2] & FD_CLOEXEC))


def _close_at_entry(tables: FdTables, call: Call) -> None:
    # At the CALL: Linux frees the number at close's entry (then flushes and
    # releases the file, which can block), and whatever the result (EINTR, EIO).
    tables.closed(call.pid, signed32(call.args[0]))


def _close_range_at_entry(tables: FdTables, call: Call) -> None:
    # What the range holds now: its RET closes only those (``_fdtable``).
    tables.range_entered(call.id, call.pid, call.args[0] & 0xFFFF_FFFF,
                         call.args[1] & 0xFFFF_FFFF)


def _close_range(tables: FdTables, call: Call, result: int) -> None:
    entered = tables.range_returned(call.id)
    if result < 0:
        return
    flags = call.args[2]
    tables.closed_range(call.pid, call.args[0] & 0xFFFF_FFFF, call.args[1] & 0xFFFF_FFFF,
                        cloexec_only=bool(flags & CLOSE_RANGE_CLOEXEC),
                        unshare=bool(flags & CLOSE_RANGE_UNSHARE),
                        entered={} if entered is None else entered)


#: The STRUCT argument number of the fds open across the recording's first execve,
#: and of the fds recvmmsg's messages brought (its 255 is its "mmsg_extras").
OPEN_FDS_ARGUMENT = MESSAGES_FDS_ARGUMENT = 254


def _exec(tables: FdTables, call: Call, result: int) -> None:
    if result == 0:
        tables.executed(call.pid)
        _chdir(tables, call, result)
        listed = call.struct(OPEN_FDS_ARGUMENT)
        if listed is not None and listed.name == b"open_fds":
            # fds the trace never showed opened (0, 1, 2 inherited): as the kernel names them
            from ._structs import fd_paths
            for fd, path in fd_paths(listed.data):
                if tables.describe(call.pid, fd) is None:
                    tables.opened(call.pid, fd, path.decode("utf-8", "surrogateescape"))


_MSG_CMSG_CLOEXEC = 0x40000000


def _received(tables: FdTables, call: Call, result: int) -> None:
    """recvmsg, recvmmsg: the fds SCM_RIGHTS brought, by the paths the recorder read
    (``fd_paths``: recvmsg's argument 255, recvmmsg's 254)."""
    struct = call.struct(RESULT_ARGUMENT if call.plan.name == "recvmsg"
                         else MESSAGES_FDS_ARGUMENT)
    if result < 0 or struct is None or struct.name != b"fd_paths":
        return
    from ._structs import fd_paths
    cloexec = len(call.args) > 2 and bool(call.args[2] & _MSG_CMSG_CLOEXEC)
    for fd, path in fd_paths(struct.data):
        tables.opened(call.pid, fd, path.decode("utf-8", "surrogateescape"), cloexec)


def _chdir(tables: FdTables, call: Call, result: int) -> None:
    if result == 0:
        directory = _result_text(call, b"cwd")
        if directory is not None:
            tables.changed_directory(call.pid, directory)


_EFFECTS: dict[str, Effect] = {
    "open": _opened_path(1),
    "openat": _opened_path(2),
    "openat2": _opened_path(None),  # its flags are in its struct open_how (argument 2)
    "creat": _opened_path(None),
    "socket": _socket,
    "socketpair": _socketpair,
    "pipe": _pipe(None),
    "pipe2": _pipe(1),
    "accept": _accept(None),
    "accept4": _accept(3),
    "dup": _dup,
    "dup2": _dup2,
    "dup3": _dup3,
    "fcntl": _fcntl,
    "fcntl64": _fcntl,
    "close_range": _close_range,
    "execve": _exec,
    "execveat": _exec,
    "chdir": _chdir,
    "recvmsg": _received,
    "recvmmsg": _received,
    "fchdir": _chdir,
    "open_by_handle_at": _opened_path(2),
    "open_tree": _opened_path(2),  # OPEN_TREE_CLOEXEC is O_CLOEXEC
    "open_tree_attr": _opened_path(2),
    "eventfd": _anonymous("anon_inode:[eventfd]", None),
    "eventfd2": _anonymous("anon_inode:[eventfd]", 1),
    "epoll_create": _anonymous("anon_inode:[eventpoll]", None),
    "epoll_create1": _anonymous("anon_inode:[eventpoll]", 0),
    "inotify_init": _anonymous("anon_inode:inotify", None),
    "inotify_init1": _anonymous("anon_inode:inotify", 0),
    "memfd_create": _anonymous("memfd:", 1, MFD_CLOEXEC),
    "signalfd": _anonymous("anon_inode:[signalfd]", None),
    "signalfd4": _anonymous("anon_inode:[signalfd]", 3),
    "timerfd_create": _anonymous("anon_inode:[timerfd]", 1),
    "pidfd_open": _anonymous("anon_inode:[pidfd]", None),
    "io_uring_setup": _io_uring,
    "clone3": _clone3,
    "clone": _clone3,
    "userfaultfd": _anonymous("anon_inode:[userfaultfd]", 0),
}

#: Effects that read nothing of the call but its pid and argument words (and the
#: result): a fast path (the parquet view's) may apply one at the RET without the
#: ``Sysret`` that ``CallTracker.settle`` reads the result from.
ARGUMENTS_ONLY_EFFECTS: frozenset[Effect] = frozenset({_dup, _dup2, _dup3, _fcntl})

#: Entry effects that do nothing but free the number of the call's first fd argument
#: (close's): a fast path that has found that fd in its process's table may free it
#: there itself.
FREES_FIRST_FD: frozenset[EntryEffect] = frozenset({_close_at_entry})

#: Effects at the CALL (``CallPlan.entry_effect``); close has none at its RET.
_ENTRY_EFFECTS: dict[str, EntryEffect] = {
    "close": _close_at_entry,
    "close_range": _close_range_at_entry,
}




# ---------------------------------------------------------------------------
# The reading API: ktrdump.calls(trace)


class _Collector:
    """A sink that keeps each call's records and hands out finished calls and other records."""

    def __init__(self) -> None:
        self.ready: list[Call | Record] = []

    def call(self, call: Call, record: Record) -> None:
        call.records = [record]

    def record(self, call: Call | None, record: Record) -> None:
        if call is None:
            self.ready.append(record)
            return
        if call.records is None:  # a RET (or exit record) whose CALL was not recorded
            call.records = []
        call.records.append(record)
        if record[0] == _SYSRET:
            self.ready.append(call)

    def abandoned(self, call: Call, ts: int) -> None:
        self.ready.append(call)


def calls(trace: Any, *, fd_paths: bool = False) -> Iterator[Call | Record]:
    """The calls of a trace, each with its records, and every other record.

    ``trace``: a path, ``"-"``, a binary stream, or an open ``TraceReader``
    (or any iterable of decoded batches, ``list[formats.Record]``, such as
    ``reader.events()`` filtered of its notices).

    Yields, in the order they end:

    - a ``Call`` when its RET is read (``call.ret``, a ``formats.Sysret``;
      ``call.returned`` is False when the RET says the call never came back:
      exit, exec by another thread, detach), when its thread ends or makes
      another call first (``call.ret`` None), or at the end of the input
      (``call.ret`` None);
    - every record that belongs to no call (signals, process events, context
      switches, counters, probes, samples, maps, USER, EMUL, DROP, unknown
      kinds), as it is read.

    A ``Call`` has ``id`` (the ordinal of its CALL record in the input,
    1-based; 0 when only its RET was recorded), ``pid``, ``tid``, ``comm``,
    ``name``, ``args`` (the argument registers), ``ts`` (the CALL's time, ns
    since the epoch; -1 when only its RET was recorded), ``ret_ts``,
    ``duration_ns``, ``error`` (errno, 0 on success), ``paths`` (its NAMI
    paths, in argument order), ``path(i)`` (argument ``i``'s), ``structs``
    (STRU payloads by argument index), ``argv`` and ``env_count`` (execve),
    ``io`` (its GIO payloads), ``records`` (every record of the call, in
    file order: CALL, NAMI/STRU/ARG/ENV at entry, GIO/STRU at exit, RET —
    ``formats/SPEC.md`` "Records of one call"), and with ``fd_paths`` (ktrdump
    ``-y``) ``fd_path``, what its first fd argument referred to at entry (a
    path's bytes decoded with ``surrogateescape``, as ``os`` decodes file names:
    ``open(call.fd_path)`` opens it; ``os.fsencode`` gives the bytes).

    Damaged batches are passed over (``TraceReader.notices`` lists them).
    Memory: one open call per live thread, never the whole trace.
    """
    from ._reader import TraceReader, open_trace

    if isinstance(trace, TraceReader):
        header = trace.header
        batches: Iterable[Any] = trace.events()
        closing = None
    elif isinstance(trace, (str, os.PathLike)) or hasattr(trace, "read"):
        closing = open_trace(trace)
        header = closing.header
        batches = closing.events()
    else:
        header = None
        batches = trace
        closing = None
    layer = CallTracker(track_fds=fd_paths, keep_calls=True,
                        facilities=recorded_facilities(header))
    sink = _Collector()
    try:
        for batch in batches:
            if not isinstance(batch, list):
                continue  # a notice: damaged batches are counted by the reader
            layer.feed(batch, sink)
            if sink.ready:
                yield from sink.ready
                sink.ready = []
        layer.flush(sink)
        yield from sink.ready
        sink.ready = []
        # Calls still open at the end: they end with the input.
        for call in list(layer.open.values()):
            if call.records is not None:
                yield call
        layer.open.clear()
    finally:
        if closing is not None:
            closing.close()
