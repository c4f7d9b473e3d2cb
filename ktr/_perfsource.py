"""The perf source: context switches (CSW) and per-thread counters (CNT).

A ``ThreadObserver`` of the control loop (libpctx's way): when a thread comes
under control — spawned before its first instruction, attached at its first
stop, created by a traced thread before it ran — the source opens, for that
one thread, a ``dummy`` event with ``context_switch=1`` on every CPU (``-t w``;
records go to one ring per CPU through SET_OUTPUT) and a counter group
(``-C``; not inherited, so each reading is that thread's alone). At the
thread's exit stop the group is read a last time (a FINAL reading); when the
thread is gone its events are closed.

A reader thread polls the rings (each wakes it at a quarter full) and drains
them at least every 200 ms, turning PERF_RECORD_SWITCH into CSW records and
PERF_RECORD_LOST into DROP ENOBUFS counts (each naming its CPU's ring and
stamped where that ring's gap began: ``_perf.ring_loss``); each CSW carries the name its
thread had at the switch's time, from the COMM and FORK records of every ring
(``_threadnames``; so a switch may wait for the next drain); it reads every counter group each
``--interval`` on a fixed grid, skipping to the next grid point when a
deadline was missed (libpctx's catch-up), never reading twice in a row late.

Guarantees: ``prepare`` opens and checks everything that can be checked before
any target exists (unknown counters, permissions) and raises one
``KtrError`` line; a counter the machine cannot count (no PMU) is left out and
listed in ``unsupported`` (perf stat's ``<not supported>``), an error only
when no counter is left; nothing a tracee does makes the observer callbacks raise
(a thread whose events cannot be opened is announced once through ``notify``
and counted in ``unwatched``); perf timestamps are converted to the trace's
realtime clock (``TraceClock``); ring losses are counted, never silent.

Recorded without ptrace (``PerfOptions.inherited``, ``_perfattach``: attached,
or a started command held before its exec, whose events its exec enables): the
switch events of each running thread are opened by ``watch_running`` with
``inherit`` (and ``inherit_thread`` unless ``-i``), so the kernel gives them to
the threads and processes it creates; the FORK records of each drain are
told to ``on_births`` (thread counts, children to wait for), and ``sync``
has the reader drain at once. No counters in that mode.

Does not: order its records with the ptrace source's (records reach the file
in the order they are made; each carries its own timestamp), or see switches
of a thread before it came under control.
"""

from __future__ import annotations

import errno
import os
import re
import select
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import formats
from formats import CntFlag, CswFlag, DropError, RecordKind

from . import _perf as perf
from . import _threadnames
from ._events import Tracee
from ._options import DEFAULT_INTERVAL_MS
from ._sources import MAX_DRAIN_INTERVAL_MS, SourceOutput
from .errors import KtrError, PerfError, UsageError

#: Longest time records wait in a ring before the reader drains them.
DRAIN_INTERVAL_MS = MAX_DRAIN_INTERVAL_MS

_SWITCH_SAMPLE = perf.PERF_SAMPLE_TID | perf.PERF_SAMPLE_TIME | perf.PERF_SAMPLE_CPU
_LOST_TRAILER = perf.SampleIdLayout(_SWITCH_SAMPLE)
#: A whole PERF_RECORD_SWITCH with our sample_id trailer: header (type, misc,
#: size), then pid, tid, time, cpu, res.
_SWITCH_RECORD = struct.Struct("<IHHiiQII")
_PERF_HEADER = struct.Struct("<IHH")
_U64 = struct.Struct("<Q")
_FORK_BODY = struct.Struct("<iiiiQ")  # pid, ppid, tid, ptid, time
_SWITCH_OUT = perf.PERF_RECORD_MISC_SWITCH_OUT
_SWITCH_OUT_PREEMPT = perf.PERF_RECORD_MISC_SWITCH_OUT_PREEMPT


def csw_record_struct() -> struct.Struct:
    """Header + CSW payload as one ``struct`` (the hot path: one pack per
    switch), derived from the construct schemas; tests prove it packs the
    bytes ``Codec.encode_record`` makes."""
    codec = formats.codec("little")
    payload = codec.layouts[RecordKind.CSW].fixed
    return struct.Struct(codec.header.format + payload.format[1:])


def tid_time_struct() -> struct.Struct:
    """The (tid, timestamp) of a record's header, from the codec's header
    format (size, kind, version, pid, tid, timestamp, comm)."""
    header = formats.codec("little").header.format
    codes = re.findall(r"\d*[a-zA-Z?]", header[1:])
    return struct.Struct(f"{header[0]}{struct.calcsize(header[0] + ''.join(codes[:4]))}x"
                         f"{codes[4]}{codes[5]}")


def _comm_span() -> tuple[int, int]:
    """Where a record's header holds its comm (the header's last field)."""
    header = formats.codec("little").header.format
    before = header.removesuffix("16s")
    assert before != header, "the header's last field is the 16-byte comm"
    return struct.calcsize(before), struct.calcsize(header)


_COMM_SPAN = _comm_span()


_PREEMPTED = int(CswFlag.PREEMPTED)
#: The spawned command is announced before its execve (still the recorder's
#: forked child): its events start at the exec, as ``perf stat -- CMD`` does.
_AT_EXEC = frozenset({"disabled", "enable_on_exec"})
_GROUP_FORMAT = (perf.PERF_FORMAT_GROUP | perf.PERF_FORMAT_TOTAL_TIME_ENABLED
                 | perf.PERF_FORMAT_TOTAL_TIME_RUNNING)


def default_ring_pages() -> int:
    """Data pages per CPU ring: 2 MiB as root (a pipe ping-pong makes ~160 k
    switch records a second; the reader may be late on a busy machine); 512
    KiB otherwise, the most ``kernel.perf_event_mlock_kb`` (516) lets a user
    lock per CPU beside the metadata page."""
    return 512 if os.geteuid() == 0 else 128


@dataclass(frozen=True)
class PerfOptions:
    switches: bool = False  # -t w
    counters: tuple[str, ...] = ()  # -C, perf's names
    interval_ms: float = DEFAULT_INTERVAL_MS  # --interval
    ring_pages: int = 0  # data pages per CPU ring (a power of two); 0: default_ring_pages()
    #: Recorded without ptrace (``_perfattach``): each watched thread's switch
    #: events are inherited by the threads it creates, and by its child
    #: processes too with ``children`` (-i); no counters then.
    inherited: bool = False
    children: bool = False

    @property
    def active(self) -> bool:
        return self.switches or bool(self.counters)


def check_counter_names(names: tuple[str, ...]) -> None:
    """UsageError for a name ktr does not know (typos), listing the known ones."""
    for name in names:
        if perf.counter_event(name) is None:
            known = ", ".join(perf.available_counters())
            raise UsageError(f"ktr record: -C: unknown counter {name!r} "
                             f"(this machine has: {known}; see --list-counters)")


#: perf_event_open's errnos for an event this machine has not (perf stat's
#: "<not supported>"): ENOENT, EOPNOTSUPP, ENODEV.
_NOT_SUPPORTED = frozenset({errno.ENOENT, errno.EOPNOTSUPP, errno.ENODEV})


@dataclass(eq=False)
class _Thread:
    tid: int
    pid: int
    tracee: Tracee  # its name is the control loop's, kept current (exec, rename, exit)
    switch_events: dict[int, perf.Event] = field(default_factory=dict)
    group: list[perf.Event] = field(default_factory=list)
    final_done: bool = False


class PerfSource:
    """See the module docstring. Lifecycle: prepare → (observer calls) →
    start → (observer calls) → stop."""

    def __init__(self, options: PerfOptions, clock: perf.TraceClock | None = None) -> None:
        self.options = options
        self._ring_pages = (options.ring_pages or perf.test_ring_pages()
                            or default_ring_pages())
        self.user_only = False  # counters count user mode only (kernel mode refused)
        #: -C counters this machine cannot count, left out: (name, errno name)
        self.unsupported: list[tuple[str, str]] = []
        self.unwatched = 0  # threads whose events could not be opened
        self._unwatched_told = False
        self.lost = 0  # records the kernel lost in the rings (PERF_RECORD_LOST)
        self.failure: str | None = None  # the reader thread died of this
        self._codec = formats.codec()
        self._csw_struct = csw_record_struct()
        self._tid_time = tid_time_struct()
        self._clock = clock if clock is not None else perf.TraceClock()
        self._counter_types: list[tuple[str, int, int]] = []
        self._names = b""
        self._rings: perf.RingSet | None = None
        self._threads: dict[int, _Thread] = {}
        self._last_user: dict[int, int] = {}
        # from the control loop, then from the COMM and FORK records
        self._thread_names = _threadnames.ThreadNames()
        self._held: list[bytes] = []  # switches and forks after the last drain's horizon
        self._ring_last: dict[int, int] = {}  # cpu -> its ring's last switch read
        self._lock = threading.Lock()
        self._output: SourceOutput | None = None
        self._reader: threading.Thread | None = None
        self._wake_read = self._wake_write = -1
        self._notified: set[str] = set()
        #: Told, from the reader thread, of the FORK records of every drain as
        #: (perf time, pid, ppid, tid) — a record held to a later drain is told again then.
        self.on_births: Callable[[list[tuple[int, int, int, int]]], None] | None = None
        self._births: list[tuple[int, int, int, int]] = []
        self._synced = threading.Event()

    # ----------------------------------------------------------- setup

    def _counter_attr(self, type_: int, config: int, leader: bool,
                      at_exec: bool = False) -> perf.Attr:
        flags = {"exclude_hv"}
        if self.user_only:
            flags.add("exclude_kernel")
        if at_exec and leader:
            flags |= _AT_EXEC
        return perf.Attr(type=type_, config=config, read_format=_GROUP_FORMAT,
                         flags=frozenset(flags))

    def _switch_attr(self, at_exec: bool = False) -> perf.Attr:
        inherit: set[str] = set()
        if self.options.inherited:
            # inherit_thread: threads only, unless child processes are followed (-i)
            inherit = {"inherit"} if self.options.children else {"inherit", "inherit_thread"}
        return perf.Attr(
            type=perf.PERF_TYPE_SOFTWARE, config=perf.PERF_COUNT_SW_DUMMY,
            sample_type=_SWITCH_SAMPLE,
            # comm, task: COMM and FORK records name each CSW by its time, across
            # an exec, a prctl rename and a thread's creation (``_threadnames``)
            flags=frozenset({"context_switch", "comm", "task", "sample_id_all", "use_clockid",
                             "exclude_kernel", "exclude_hv", "watermark"}
                            | (_AT_EXEC if at_exec else set()) | inherit),
            wakeup=self._ring_pages * perf.PAGE_SIZE // 4,
            clockid=perf.CLOCK_MONOTONIC)

    def prepare(self) -> None:
        """Open and check everything before any target exists (see the module
        docstring); raises KtrError (one line) if the recording cannot have
        what was asked for."""
        options = self.options
        if options.counters:
            check_counter_names(options.counters)
            self._counter_types = []
            for name in options.counters:
                kind = perf.counter_event(name)
                assert kind is not None
                self._counter_types.append((name, *kind))
            self._drop_unsupported()
            self._names = formats.join_nul_strings(
                [name.encode() for name, _, _ in self._counter_types])
            self._check_counters()
        if options.switches:
            owner = perf.Attr(type=perf.PERF_TYPE_SOFTWARE, config=perf.PERF_COUNT_SW_DUMMY,
                              flags=frozenset({"exclude_kernel", "exclude_hv",
                                               "use_clockid"}),
                              clockid=perf.CLOCK_MONOTONIC)
            # The rings belong to do-nothing events on the recorder's own
            # thread: they exist before any tracee and outlive every tracee.
            self._rings = perf.RingSet.create(owner, 0, "context-switch records",
                                               self._ring_pages)
            try:
                # disabled until an exec the recorder never makes: a trial opening
                # must not put the recorder's own switches into the rings
                probe = self._rings.open_on_all(self._switch_attr(at_exec=True), 0,
                                                "context-switch records")
                self._rings.forget(probe.values())
            except KtrError:
                self._rings.close()
                self._rings = None
                raise
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    def _drop_unsupported(self) -> None:
        """Leave out the counters this machine cannot count (perf stat's
        ``<not supported>``: ENOENT, EOPNOTSUPP, ENODEV; a VM without a PMU
        has no ``cycles``), each opened alone on the recorder's thread; they
        are listed in ``unsupported``. None left: the first one's error."""
        kept: list[tuple[str, int, int]] = []
        first: PerfError | None = None
        for name, type_, config in self._counter_types:
            try:
                perf.open_event(self._counter_attr(type_, config, leader=True), 0, -1,
                                name=name).close()
            except PerfError as error:
                if error.errno not in _NOT_SUPPORTED:
                    if error.errno not in (errno.EPERM, errno.EACCES):
                        raise
                    # kernel mode refused: _check_counters falls back to user mode
                else:
                    self.unsupported.append(
                        (name, errno.errorcode.get(error.errno, str(error.errno))))
                    first = first or error
                    continue
            kept.append((name, type_, config))
        if not kept and first is not None:
            have = ", ".join(perf.available_counters())
            raise PerfError(first.call, first.event, first.errno, -1,
                            f"this machine does not have it; it has: {have}") from None
        self._counter_types = kept

    def _check_counters(self) -> None:
        """Open the group on the recorder's own thread: kernel and user mode,
        else (refused) user mode only; a counter the machine lacks is an error
        listing what it has."""
        try:
            self._close_group(self._open_group(0))
            return
        except PerfError as error:
            if error.errno == 2 or error.errno == 95:  # ENOENT / EOPNOTSUPP: no such PMU event
                have = ", ".join(perf.available_counters())
                raise PerfError(error.call, error.event, error.errno, -1,
                                f"this machine does not have it; it has: {have}") from None
            if error.errno not in (1, 13):  # EPERM, EACCES
                raise
        self.user_only = True
        self._close_group(self._open_group(0))

    def _open_group(self, tid: int, at_exec: bool = False) -> list[perf.Event]:
        group: list[perf.Event] = []
        try:
            for name, type_, config in self._counter_types:
                attr = self._counter_attr(type_, config, leader=not group, at_exec=at_exec)
                group.append(perf.open_event(attr, tid, -1, group=group[0] if group else None,
                                             name=name))
        except BaseException:
            self._close_group(group)
            raise
        return group

    @staticmethod
    def _close_group(group: list[perf.Event]) -> None:
        for event in reversed(group):
            event.close()

    # ------------------------------------------------------- observer

    def thread_started(self, tracee: Tracee) -> None:
        thread = _Thread(tracee.tid, tracee.pid, tracee)
        # The name its ring records start with, set before they can exist; COMM
        # and FORK records change it by time. Kept after the thread is gone: its
        # last records may be read later than that.
        self._thread_names.start(tracee.tid, tracee.comm)
        try:
            if self._rings is not None:
                thread.switch_events = self._rings.open_on_all(
                    self._switch_attr(tracee.pre_exec), tracee.tid, "context-switch records")
            if self._counter_types:
                thread.group = self._open_group(tracee.tid, tracee.pre_exec)
        except PerfError as error:
            if thread.switch_events and self._rings is not None:
                self._rings.forget(thread.switch_events.values())
            self.unwatched += 1
            if self.unwatched == 1:  # (the rest are counted: said once, at stop)
                self._notify_once(f"perf: thread {tracee.tid} not watched: {error}")
            return
        with self._lock:
            self._threads[tracee.tid] = thread

    def watch_running(self, tid: int, pid: int, comm: bytes, at_exec: bool = False) -> bool:
        """Watch a thread that runs on, not stopped (recorded without ptrace):
        its switch events, inherited (``PerfOptions.inherited``); with ``at_exec``
        (a started command held before its exec) disabled until its exec. False
        when the thread no longer exists; a PerfError for any other refusal (no
        event is left open then)."""
        assert self.options.inherited and not self._counter_types
        if self._rings is None:
            return False
        self._thread_names.start(tid, comm)
        try:
            self._rings.open_on_all(self._switch_attr(at_exec), tid, "context-switch records")
        except PerfError as error:
            if error.errno == errno.ESRCH:
                return False
            raise
        return True

    def sync(self) -> None:
        """Have the reader thread drain the rings now and wait until it has
        (any thread but the reader's; returns at once when the reader is not
        running). The FORK records written before the call have been told to
        ``on_births`` when it returns."""
        reader = self._reader
        if reader is None:
            return
        self._synced.clear()
        os.write(self._wake_write, b"s")
        while not self._synced.wait(0.05):
            if not reader.is_alive():
                return

    def thread_exiting(self, tracee: Tracee) -> None:
        with self._lock:
            thread = self._threads.get(tracee.tid)
            if thread is not None and not thread.final_done:
                self._read_group(thread, final=True)

    def thread_exec(self, tracee: Tracee, former_tid: int) -> None:
        with self._lock:
            if former_tid:
                # The old leader is gone (de_thread): its last reading, then
                # the exec'ing thread's state moves to the leader's tid.
                leader = self._threads.pop(tracee.tid, None)
                if leader is not None:
                    self._retire(leader)
                moved = self._threads.pop(former_tid, None)
                if moved is not None:
                    moved.tid = tracee.tid
                    self._threads[tracee.tid] = moved
            thread = self._threads.get(tracee.tid)
            if thread is not None:
                thread.tracee = tracee

    def thread_gone(self, tracee: Tracee) -> None:
        with self._lock:
            thread = self._threads.pop(tracee.tid, None)
            if thread is not None:
                self._retire(thread)

    def _retire(self, thread: _Thread) -> None:
        """A last reading (if none yet) and its events closed. Lock held."""
        if not thread.final_done:
            self._read_group(thread, final=True)
        self._close_group(thread.group)
        thread.group = []
        if thread.switch_events and self._rings is not None:
            self._rings.forget(thread.switch_events.values())
        thread.switch_events = {}

    def _notify_once(self, message: str) -> None:
        key = message.split(":", 2)[-1]
        if key in self._notified:
            return
        self._notified.add(key)
        if self._output is not None:
            self._output.notify(message)

    # --------------------------------------------------------- records

    def _read_group(self, thread: _Thread, final: bool) -> None:
        """Read ``thread``'s counters and emit a CNT record. Lock held."""
        output = self._output
        if not thread.group:
            return
        if final:
            thread.final_done = True
        try:
            reading = thread.group[0].read_group()
        except PerfError:
            return  # the event went away with its thread: nothing more to read
        if output is None:
            return
        flags = CntFlag.FINAL if final else CntFlag.NONE
        if self.user_only:
            flags |= CntFlag.USER_ONLY
        output.sink(self._codec.encode_record(
            RecordKind.CNT, thread.pid, thread.tid, self._clock.now_ns(), thread.tracee.comm,
            formats.Cnt(int(flags), reading.time_enabled, reading.time_running,
                        reading.values, self._names)))

    def _read_all(self) -> None:
        with self._lock:
            for thread in list(self._threads.values()):
                if not thread.final_done:
                    self._read_group(thread, final=False)

    def _drain(self, final: bool = False) -> None:
        """Turn every record in the rings into ktr records (the hot path: one
        unpack and one pack per switch, records handed over per drain).

        Names come from ``ThreadNames`` by each switch's own time. A COMM or
        FORK record is applied when the walk meets it; the switches of its
        thread converted before that (read from an earlier ring) are named
        again afterwards, in place (renames are rare). Switches stamped after
        the horizon wait for the next drain (see ``_threadnames``)."""
        rings = self._rings
        output = self._output
        if rings is None or output is None:
            return
        horizon = _threadnames.FINAL if final else _threadnames.horizon()
        chunks = rings.drain()
        if self._held:
            chunks.insert(0, perf.RecordChunk(b"".join(self._held), -1))
            self._held = []
        made, ends, held, comms, forks, marks, lost = self._convert(chunks, horizon)
        births, self._births = self._births, []
        if births and self.on_births is not None:
            self.on_births(births)
        if comms or forks:
            self._rename(made, comms, forks, marks)
        self._thread_names.settle(horizon)
        self._held = held
        if output.sink_many is not None:
            begin = 0
            for end in ends:  # a chunk at a time, as the queue takes bulk best
                if end > begin:
                    output.sink_many(made[begin:end])
                begin = end
        else:
            for record in made:
                output.sink(record)
        self.lost += sum(loss.lost for loss in lost)
        for loss in lost:  # each where its gap began, naming its ring
            output.log_lost(DropError.ENOBUFS, loss.lost,
                            None if loss.at is None else self._clock.to_trace(loss.at),
                            loss.cpu)

    def _convert(self, chunks: list[perf.RecordChunk], horizon: int
                 ) -> tuple[list[bytes], list[int], list[bytes], list[_threadnames.Comm],
                            list[_threadnames.Fork], dict[int, int], list[perf.RingLoss]]:
        """CSW records of the switches up to ``horizon``, each named as known
        when converted, and where each chunk's end among them; the records
        after it (held), the COMM and FORK records, for each thread they
        concern how many CSW records were made before its last one, and the
        losses, one per LOST record (``perf.RingLoss``: placed where its ring's
        gap began, after the last switch that ring kept)."""
        pack = self._csw_struct.pack
        payload_size = self._csw_struct.size - formats.codec("little").header.size
        kind_csw = int(RecordKind.CSW)
        version = formats.RECORD_VERSION
        unpack_switch = _SWITCH_RECORD.unpack_from
        switch_size = _SWITCH_RECORD.size
        unpack_header = _PERF_HEADER.unpack_from
        unpack_u64 = _U64.unpack_from
        offset_ns = self._clock.offset_ns
        current = self._thread_names.current
        changing = self._thread_names.changing
        name_at = self._thread_names.at
        last_user = self._last_user
        kind_switch, kind_comm, kind_fork = (perf.PERF_RECORD_SWITCH, perf.PERF_RECORD_COMM,
                                             perf.PERF_RECORD_FORK)
        made: list[bytes] = []
        append = made.append
        held: list[bytes] = []
        comms: list[_threadnames.Comm] = []
        forks: list[_threadnames.Fork] = []
        marks: dict[int, int] = {}
        ends: list[int] = []
        apply = self._thread_names.apply
        lost: list[perf.RingLoss] = []
        births = self._births if self.on_births is not None else None
        ring_last = self._ring_last
        for chunk in chunks:
            data = chunk.data
            end = len(data)
            position = 0
            last = ring_last.get(chunk.cpu)  # the ring's last record kept (perf time)
            while position + 8 <= end:
                kind, misc, size = unpack_header(data, position)
                if size < 8:
                    break  # never written by the kernel; stop rather than loop
                if kind == kind_switch and size == switch_size:
                    _, _, _, pid, tid, stamp, cpu, _ = unpack_switch(data, position)
                    last = stamp
                    if stamp > horizon:
                        held.append(data[position:position + size])
                    else:
                        comm = (name_at(tid, stamp) if changing and tid in changing
                                else current.get(tid, b""))
                        if misc & _SWITCH_OUT:
                            user = last_user[tid] = 1 if misc & _SWITCH_OUT_PREEMPT else 0
                            append(pack(payload_size, kind_csw, version, pid, tid,
                                        stamp + offset_ns, comm, 1, user,
                                        _PREEMPTED if user else 0, cpu))
                        else:
                            append(pack(payload_size, kind_csw, version, pid, tid,
                                        stamp + offset_ns, comm, 0, last_user.get(tid, 0), 0,
                                        cpu))
                elif kind == kind_comm:
                    tid = int.from_bytes(data[position + 12:position + 16], "little")
                    name = data[position + 16:position + size].split(b"\0", 1)[0]
                    # the sample_id trailer ends with time, cpu, res
                    comm_change = (unpack_u64(data, position + size - 16)[0], tid, name)
                    comms.append(comm_change)
                    apply((comm_change,), ())
                    marks[tid] = len(made)
                elif kind == kind_fork:
                    pid, ppid, child, parent, stamp = _FORK_BODY.unpack_from(data, position + 8)
                    if births is not None:
                        births.append((stamp, pid, ppid, child))
                    if stamp > horizon:  # its creator's name may change before it, unseen yet
                        held.append(data[position:position + size])
                    else:
                        forks.append((stamp, child, parent))
                        apply((), ((stamp, child, parent),))
                        marks[child] = len(made)
                elif kind == perf.PERF_RECORD_LOST:
                    lost.append(perf.ring_loss(data[position + 8:position + size],
                                               _LOST_TRAILER, chunk.cpu, last))
                position += size
            if chunk.cpu >= 0 and last is not None:  # (not the held records' chunk)
                ring_last[chunk.cpu] = last
            ends.append(len(made))
        return made, ends, held, comms, forks, marks, lost

    def _rename(self, made: list[bytes], comms: list[_threadnames.Comm],
                forks: list[_threadnames.Fork], marks: dict[int, int]) -> None:
        """Apply one drain's COMM and FORK records again, all rings' together in
        time order (a FORK names its thread after its creator's name at the fork,
        which a COMM read later may change), and name again, in place, the CSW
        records converted before their thread's last change was known."""
        names = self._thread_names
        names.apply(comms, forks)
        renamed = {tid for _, tid, _ in comms}
        for _, child, parent in forks:
            if parent in renamed:
                marks[child] = len(made)
        since: dict[int, int] = {}  # tid -> its first change in this drain (perf clock)
        for when, tid, _ in (*comms, *forks):
            if when < since.get(tid, _threadnames.FINAL):
                since[tid] = when
        offset_ns = self._clock.offset_ns
        tid_time = self._tid_time.unpack_from
        start, end = _COMM_SPAN
        padded: dict[bytes, bytes] = {}
        for index in range(max(marks.values(), default=0)):
            record = made[index]
            tid, stamp = tid_time(record)
            if index < marks.get(tid, 0) and stamp - offset_ns >= since[tid]:
                name = names.at(tid, stamp - offset_ns)
                field = padded.get(name)
                if field is None:
                    field = padded[name] = struct.pack("16s", name)
                if record[start:end] != field:
                    made[index] = record[:start] + field + record[end:]

    # ---------------------------------------------------------- reader

    def start(self, output: SourceOutput) -> None:
        """Start the reader thread; records go to ``output`` from now on."""
        self._output = output
        if self.user_only:
            output.notify("counting user mode only: kernel-mode counting was refused "
                          "(kernel.perf_event_paranoid >= 2 without CAP_PERFMON); "
                          "context-switches then reads 0")
        self._reader = threading.Thread(target=self._run, name="ktr-perf", daemon=True)
        self._reader.start()

    def _run(self) -> None:
        try:
            self._loop()
        except Exception as error:
            self.failure = f"perf reader stopped: {error}"
            if self._output is not None:
                self._output.notify(self.failure)

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._wake_read, select.POLLIN)
        if self._rings is not None:
            for ring in self._rings.rings.values():
                poller.register(ring.fileno(), select.POLLIN)
        interval_ns = int(self.options.interval_ms * 1e6)
        counting = bool(self._counter_types)
        next_read = time.monotonic_ns() + interval_ns
        while True:
            timeout = float(DRAIN_INTERVAL_MS)
            if counting:
                timeout = min(timeout, max(0.0, (next_read - time.monotonic_ns()) / 1e6))
            stopping = syncing = False
            for fd, _ in poller.poll(timeout):
                if fd == self._wake_read:
                    try:
                        woken = os.read(self._wake_read, 64)
                    except BlockingIOError:
                        woken = b""
                    stopping = b"\0" in woken
                    syncing = b"s" in woken
            self._drain()
            if syncing:
                self._synced.set()
            if counting:
                now = time.monotonic_ns()
                if now >= next_read:
                    self._read_all()
                    next_read += interval_ns
                    if next_read <= now:  # late: skip to the next goal (libpctx)
                        next_read += (now - next_read) // interval_ns * interval_ns
                        next_read += interval_ns
            if stopping:
                return

    def stop(self) -> None:
        """Stop the reader, drain the rings a last time, give every thread
        still watched its final reading, and close everything."""
        if self._reader is not None:
            os.write(self._wake_write, b"\0")
            self._reader.join()
            self._reader = None
        if self.failure is None:
            self._drain(final=True)
        with self._lock:
            for thread in list(self._threads.values()):
                self._retire(thread)
            self._threads.clear()
        if self.unwatched > 1 and self._output is not None and not self._unwatched_told:
            # (one line for the first; the total here, not a line for each thread)
            self._output.notify(f"perf: {self.unwatched} threads not watched in all: "
                                "none of their perf records are in the trace")
            self._unwatched_told = True  # (a second stop does not say it again)
        self.close()

    def close(self) -> None:
        """Release every perf resource (idempotent; no records)."""
        with self._lock:
            for thread in self._threads.values():
                self._close_group(thread.group)
            self._threads.clear()
        if self._rings is not None:
            self._rings.close()
            self._rings = None
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                os.close(fd)
        self._wake_read = self._wake_write = -1


__all__ = ["PerfOptions", "PerfSource", "check_counter_names"]
