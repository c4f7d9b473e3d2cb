"""The probe source: uprobes defined in tracefs, read as perf tracepoints, made PROBE records.

One ``ProbeSession`` per recording. It wraps the ptrace source's consumer so it sees the
lifecycle as dt_proc/fasttrap do, while each thread is stopped:

- the spawned command's exec stop, or each attached thread's ATTACH stop: the probes are
  resolved (strictly: a bad spec ends the recording before the target runs) and placed;
- a later exec stop: the new executable's probes are resolved and placed before it runs (the
  old executable's probes cannot fire any more: its mapping is gone);
- the syscall-exit stop of an ``mmap`` that maps a file executable: specs naming that file
  (a dlopen'd library that is not the file found at start) are resolved and placed;
- forks: events are opened with ``inherit``, so children and threads carry them from birth;
  children the recording does not follow (no ``-i``) are filtered out by pid (counted);
- a detach (the end of an attached recording): the thread's hits until its DETACH stop are
  drained before that record; later hits of it are left out (counted, not lost), and at
  ``stop`` return probes are disabled before entry probes, so the probe window is the
  recording's and a call cut at the end is an entry without a return, never the reverse;
- the ``uretprobe`` syscall (x86_64 nr 335) that return probes make on every return is not
  passed on: it is the kernel's, not the program's.

Events are defined in one tracefs group owned by this recorder (``_tracefs``), the probes
of one file and fetch-argument layout placed at one time in one event (its teardown waits
grace periods per event, not per probe), each hit carrying its probe's id (``ktr_id``);
opened per thread and per CPU with ``inherit`` (``_perf``), sharing one ring per CPU, with
PERF_SAMPLE_TID|TIME|RAW; a reader thread drains the rings, decodes the raw data by each
event's ``format`` file and queues PROBE records (a hand-written hot path for probes
without strings, byte-equal to the codec). The control thread drains the rings too, at
every ptrace stop, so a thread's probe records precede the record of its next stop.

Each hit carries the name its thread had at the hit's time, syscall stops or not: a
``dummy`` event with ``comm`` and ``task`` rides along with the probes on every thread
(inherited like them) and puts the kernel's COMM records (exec, prctl(PR_SET_NAME), a
write to ``/proc/.../comm``) and FORK records into rings of their own, which every drain
reads first (``_threadnames`` applies them by time). A hit stamped after the drain's
horizon (``_threadnames.horizon``) may still be followed by a rename read later, so it
waits for the next drain, except the hits of the thread stopped at this drain (all its
renames are in the rings already): the ordering of a thread's hits before its stops
holds (unless a ring loss stamped after the horizon precedes them in their ring: the rest
of that ring then waits with the loss, which keeps its place among the hits). A PROBE_DEF
record names each probe before its first PROBE.

Ring losses are counted as drops (ENOBUFS, as the perf source does) and reported, those of
the name rings too (hits may then carry a former name). As a side source (``_sources``):
``prepare`` checks every spec and tracefs before any target exists, ``stop`` drains and
closes the perf events, ``close`` (every exit path) removes the tracefs group; the group
has an atexit hook too.

Does not: parse specs (``_probes``) or touch tracefs/perf directly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import struct
import sys
import threading
from collections.abc import Callable, Iterable

import formats
from formats import Abi, DropError, ProbeArgType, ProbeSite, RecordKind
from formats.demangle import Demangler
from formats.elf import ElfError, open_image

from . import _perf, _threadnames
from ._events import Event, Lifecycle, ProcessEvent, SyscallEntry, SyscallExit, Tracee
from ._options import RecordOptions
from ._probes import (
    SAMPLE_RAW_AT,
    FastEncoder,
    ProbeError,
    ResolvedProbe,
    Resolver,
    demangled_matches,
    executable_of,
    make_decoder,
    mapped_files,
    parse_spec,
    script_interpreter,
    stale_files,
)
from ._sources import LogLost, SourceOutput
from ._tracefs import TracefsError, UprobeDefinition, UprobeGroup, clean_stale_groups, find_tracefs
from .errors import PerfError

URETPROBE_SYSCALL = 335  # x86_64: the kernel's return-probe trampoline syscall
MMAP_SYSCALL = 9  # x86_64
PROT_EXEC = 4
RING_PAGES = 1024  # 4 MiB per CPU: bursts of ~40 k hits wait there for the reader
#: The tests' hook for a small ring (a power of two), which a probed loop overruns at once:
#: ring losses on demand, without a loop running for seconds.
RING_PAGES_TEST_ENV = "KTR_TEST_PROBE_RING_PAGES"
#: The tests' hook for a set-up in progress: ``prepare`` first reads this file (a FIFO the
#: test holds), so a signal can be sent while set-up is known to be under way.
PREPARE_WAIT_TEST_ENV = "KTR_TEST_PROBE_PREPARE_FIFO"
#: The fetcharg every probe's hits carry: the probe's id, an immediate (one tracefs event
#: holds the probes of one layout, ``ProbeSession._define``)
ID_FIELD = "ktr_id"


def _ring_pages() -> int:
    return int(os.environ.get(RING_PAGES_TEST_ENV) or RING_PAGES)
_SAMPLE_TYPE = _perf.PERF_SAMPLE_TID | _perf.PERF_SAMPLE_TIME | _perf.PERF_SAMPLE_RAW
_SAMPLE_HEAD = struct.Struct("<iiQI")  # pid, tid, time, raw size
_U64 = struct.Struct("<Q")
_U32_AT = struct.Struct("<I")
_HEADER = struct.Struct("<IHH")  # perf_event_header: type, misc, size
#: a sample's pid, tid, time and its raw data's common_type
_SAMPLE_PEEK = struct.Struct("<8xiiQ4xH")
#: The name rings: COMM/FORK/EXIT records are few (renames, thread creations and exits).
NAME_RING_PAGES = 16
_NAMES_SAMPLE = _perf.PERF_SAMPLE_TID | _perf.PERF_SAMPLE_TIME
#: The pseudo probe id of the names event among the probe ids a thread carries.
_NAMES_EVENT = -1



def _no_log_lost(error: DropError, count: int, at_ns: int | None = None,
                 cpu: int | None = None) -> None:
    """Until ``start``: no output to count losses in (no ring is read before it)."""


class ProbeSession:
    """The probes of one recording (see the module docstring)."""

    def __init__(self, options: RecordOptions, clock: _perf.TraceClock | None = None) -> None:
        self.options = options
        self._pending_warnings: list[str] = []
        self._notify: Callable[[str], None] | None = None
        self.resolver = Resolver(options.probes, options.max_probes, options.io_bytes,
                                 self._warn, defer_main=command_is_script(options),
                                 command=options.command,
                                 capture_returns=options.sample_hz is not None
                                 or RecordKind.SAMPLE in options.kinds)
        self._emit: Callable[[bytes], bool] = lambda record: False
        self._log_lost: LogLost = _no_log_lost
        self._lost_trailer = _perf.SampleIdLayout(_SAMPLE_TYPE)
        self._names_trailer = _perf.SampleIdLayout(_NAMES_SAMPLE)
        self._follow = options.follow_children
        self._threads_of: Callable[[int], Iterable[int]] = lambda pid: ()
        self._codec = formats.codec("little")
        self.root = ""
        self.group: UprobeGroup | None = None
        #: probe id (the ``ktr_id`` each hit carries) -> the probe and its PROBE name
        self._by_probe: dict[int, tuple[ResolvedProbe, bytes]] = {}
        self._fast: dict[int, FastEncoder] = {}  # probe id -> its hot-path encoder
        #: tracefs event id -> the offset of ``ktr_id`` in its raw data (see ``_define``)
        self._id_at: dict[int, int] = {}
        self._event_ids: dict[str, int] = {}  # tracefs event name -> its id
        self._probe_event: dict[int, int] = {}  # probe id -> its tracefs event's id
        self._return_ids: set[int] = set()  # the tracefs event ids of return probes
        self._next_event = 0  # events are named e0, e1... in the recording's group
        self._probe_events: list[_perf.Event] = []  # every probe event opened (for counts)
        self._return_events: list[_perf.Event] = []  # those of return probes (closed first)
        self._rings: _perf.RingSet | None = None
        self._name_rings: _perf.RingSet | None = None
        self._held: bytes = b""  # hits after the last drain's horizon, in ring order
        self._clock = clock if clock is not None else _perf.TraceClock()
        self._traced: set[int] = set()
        self._detached: set[int] = set()  # tids let go: their later hits are not the trace's
        self._seen_files: dict[int, set[str]] = {}
        self._attached: dict[int, set[int]] = {}  # tid -> tracefs event ids it carries
        self._names = _threadnames.ThreadNames()
        self._lock = threading.Lock()
        self._drain_lock = threading.Lock()
        self._stop = threading.Event()
        self._reader: threading.Thread | None = None
        self._started = False
        self._mmap_stops = False  # syscall stops seen: a dlopen's mmap can place probes
        self.hits = 0
        self.filtered = 0
        #: of ``filtered``, the hits of the recorder's own entry probes (``hidden``: the
        #: return addresses of return probes), which are not the user's to be told of
        self.filtered_hidden = 0
        self._hidden_probes: set[int] = set()  # the probe ids of those probes
        self.outside = 0  # hits of threads after their detach (not the recording's; not lost)
        self.lost = 0
        self.names_lost = 0  # COMM/FORK records lost: hits may carry a former name
        self.unplaced: list[str] = []  # specs never placed (after ``stop``): the END's
        #: (st_dev, st_ino) of every file a traced process was seen to map: at exec and
        #: attach, at mmap stops, and at the end (processes alive then)
        self._mapped: set[tuple[int, int]] = set()
        self._event_of: dict[int, int] = {}  # id(perf event) -> its tracefs event's id
        #: tracefs event id -> the kernel's hit count (of every probe the event holds)
        self._counted: dict[int, int] | None = None
        self._said_unmapped: set[str] = set()  # specs said at the start to be unmapped
        #: rings (and their events) read to the end, closed by ``close``
        self._closing: list[_perf.RingSet] = []

    def _warn(self, message: str) -> None:
        if self._notify is None:
            self._pending_warnings.append(message)
        else:
            self._notify(message)

    # -- the side-source lifecycle (``_sources``) ---------------------------------------------

    def prepare(self) -> None:
        """Before any target exists: check every spec and tracefs; own a fresh group."""
        hook = os.environ.get(PREPARE_WAIT_TEST_ENV)
        if hook:
            from ._testhold import hold_on_fifo

            hold_on_fifo(hook)
        for message in precheck_probes(self.options):
            self._said_unmapped.add(message.split("\0", 1)[0])
            self._warn(message.split("\0", 1)[1])
        self.root = find_tracefs()
        for group in clean_stale_groups(self.root):
            self._warn(f"removed probes left in tracefs by a dead recorder ({group})")
        self.group = UprobeGroup(self.root)
        self._raise_fd_limit()

    def use_control(self, threads_of: Callable[[int], Iterable[int]]) -> None:
        """How to list a process's traced threads (for probes placed at a dlopen)."""
        self._threads_of = threads_of

    def start(self, output: SourceOutput) -> None:
        """Where records go (the descriptor, once it is open)."""
        self._emit = output.sink
        self._log_lost = output.log_lost
        self._notify = output.notify
        for message in self._pending_warnings:
            output.notify(message)
        self._pending_warnings.clear()

    def stop(self) -> None:
        """After the control loop: the last hits and counts (the events closed by ``close``)."""
        self.finish()
        self.unplaced = list(self.resolver.pending)
        self._never_mapped()
        for message in self.resolver.pending.values():
            # a wrapper (sh -c) that forks runs the program in a child: followed with -i
            if not self._mmap_stops:
                # attached with -t f: no syscall stops, so no mmap stop to place it at
                message += (" (a dlopen'd module is placed at its mmap syscall stop: "
                            "record syscalls)")
            elif not self._follow:
                message += " (children are followed with -i)"
            self._warn(message)
        self.resolver.pending.clear()
        if self.filtered - self.filtered_hidden:
            self._warn(f"{self.filtered - self.filtered_hidden} probe hits in processes not "
                       "followed (children without -i) were left out")
        if self.lost:
            self._warn(f"{self.lost} probe hits lost: the reader did not keep up")
        if self.names_lost:
            self._warn(f"{self.names_lost} thread-name records lost: probe hits may carry "
                       "a thread's former name")

    def _never_mapped(self) -> None:
        """Specs whose every probe is on a file no traced process was seen to map and
        that never fired: unplaced (the END's count), said unless said at the start."""
        if self._counted is None:
            return  # the kernel's counts could not be read: cannot tell
        for pid in list(self._traced):
            with contextlib.suppress(OSError):  # (gone: its maps were seen at its stops)
                self._mapped |= _identities(mapped_files(pid), stale_files(pid))
        by_spec: dict[str, list[ResolvedProbe]] = {}
        for probe in self.resolver.placed.values():
            by_spec.setdefault(probe.spec.text, []).append(probe)
        for text, probes in by_spec.items():
            if any(probe.identity is None or probe.identity in self._mapped
                   or self._counted.get(self._probe_event.get(probe.probe_id, -1))
                   for probe in probes):
                continue
            self.unplaced.append(text)
            if text in self._said_unmapped:
                continue
            message = (f"probe {text!r}: {probes[0].path} was never mapped by a traced "
                       "process; nothing was probed")
            if not self._mmap_stops:
                message += (" (without syscall stops a file loaded and unloaded meanwhile "
                            "is not seen)")
            self._warn(message)

    # The control loop's thread announcements: probes learn the lifecycle from the
    # events they see through ``wrap`` (exec and mmap stops among them) instead.
    def thread_started(self, tracee: Tracee) -> None:
        # Announced for reported threads only, before they first run: a followed child
        # whose first stop came before its creator's fork event (adopted from /proc) runs
        # before that event; its hits meanwhile are the trace's, not "not followed" ones.
        self._traced.add(tracee.pid)

    def thread_exiting(self, tracee: Tracee) -> None:
        pass

    def thread_exec(self, tracee: Tracee, former_tid: int) -> None:
        pass

    def thread_gone(self, tracee: Tracee) -> None:
        pass

    # -- placing ------------------------------------------------------------------------------

    @staticmethod
    def _raise_fd_limit() -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < hard:
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    def _attr(self, config: int, *, inherit: bool = True) -> _perf.Attr:
        flags = {"use_clockid", "sample_id_all", "watermark"}
        if inherit:
            flags.add("inherit")
        return _perf.Attr(
            type=_perf.PERF_TYPE_TRACEPOINT, config=config, sample_period=1,
            sample_type=_SAMPLE_TYPE, flags=frozenset(flags),
            wakeup=_ring_pages() * _perf.PAGE_SIZE // 4, clockid=_perf.CLOCK_MONOTONIC,
        )

    def _ensure_rings(self, tid: int) -> _perf.RingSet:
        if self._rings is None:
            dummy = _perf.Attr(
                type=_perf.PERF_TYPE_SOFTWARE, config=_perf.PERF_COUNT_SW_DUMMY,
                sample_type=_SAMPLE_TYPE,
                flags=frozenset({"inherit", "use_clockid", "sample_id_all", "watermark"}),
                wakeup=_ring_pages() * _perf.PAGE_SIZE // 4, clockid=_perf.CLOCK_MONOTONIC)
            self._rings = _perf.RingSet.create(dummy, tid, "ktr probe rings",
                                               pages=_ring_pages())
            try:
                # rings only: the owners on the recorder's thread make no records
                owner = _perf.Attr(type=_perf.PERF_TYPE_SOFTWARE,
                                   config=_perf.PERF_COUNT_SW_DUMMY,
                                   flags=frozenset({"use_clockid"}),
                                   clockid=_perf.CLOCK_MONOTONIC)
                self._name_rings = _perf.RingSet.create(owner, 0, "ktr probe name rings",
                                                        pages=NAME_RING_PAGES)
            except BaseException:
                self._rings.close()
                self._rings = None
                raise
            self._reader = threading.Thread(target=self._read_loop, name="ktr probes",
                                            daemon=True)
            self._reader.start()
        return self._rings

    @staticmethod
    def _names_attr() -> _perf.Attr:
        """COMM and FORK records of a thread and, inherited, of the threads it creates."""
        return _perf.Attr(
            type=_perf.PERF_TYPE_SOFTWARE, config=_perf.PERF_COUNT_SW_DUMMY,
            sample_type=_NAMES_SAMPLE,
            flags=frozenset({"comm", "task", "inherit", "sample_id_all", "use_clockid"}),
            clockid=_perf.CLOCK_MONOTONIC)

    def _define(self, probes: list[ResolvedProbe]) -> list[ResolvedProbe]:
        """Define ``probes`` in tracefs, as few events as their layouts allow.

        Each tracefs event costs its own RCU grace periods when its last perf event
        closes (``synchronize_rcu_tasks_trace`` twice and ``synchronize_rcu``, under the
        kernel's global event_mutex: 75-100 ms here, one event after the other, threads
        or not), so the probes of one file whose fetchargs have the same names and types
        share one event, as tracefs allows (one ``p:``/``r:`` line per probe under one
        event name): 50 probes of one signature cost one wait, not 50. Every probe
        carries its own id as an immediate (``ktr_id=\\ID:u32``, compared by type and
        name only), which tells a hit's probe. The kernel arms a probe added to an event
        only when the event is first opened: each call makes new events, never adds to
        an open one.
        """
        assert self.group is not None
        members: dict[tuple[object, ...], list[tuple[str, set[object]]]] = {}
        for probe in probes:
            fetchargs = probe.fetchargs()
            layout = (probe.site == ProbeSite.RETURN, probe.uprobe_path,
                      tuple((arg.split("=", 1)[0], arg.rsplit(":", 1)[-1])
                            for arg in fetchargs))
            # the kernel refuses a second probe of one uprobe in an event (EEXIST)
            where = (probe.identity or probe.uprobe_path, probe.file_offset)
            events = members.setdefault(layout, [])
            slot = next((event for event in events if where not in event[1]), None)
            if slot is None:
                slot = (self._new_event_name(), set())
                events.append(slot)
            try:
                self._define_one(probe, slot[0], fetchargs)
            except TracefsError as error:
                if error.errno != errno.EEXIST or not slot[1]:
                    raise
                # refused in that event after all: an event of its own
                slot = (self._new_event_name(), set())
                events.append(slot)
                self._define_one(probe, slot[0], fetchargs)
            slot[1].add(where)
        layouts: dict[str, dict[str, tuple[int, int, bool]]] = {}  # event -> its fields
        for probe in probes:
            fields = layouts.get(probe.event_name, {})
            if not fields:
                fmt = self.group.event_format(probe.event_name)
                fields = layouts[probe.event_name] = {
                    f.name: (f.offset, f.size, f.data_loc) for f in fmt.fields}
                with self._lock:
                    self._event_ids[probe.event_name] = fmt.event_id
                    self._id_at[fmt.event_id] = fields[ID_FIELD][0]
                    if probe.site == ProbeSite.RETURN:
                        self._return_ids.add(fmt.event_id)
            event_id = self._event_ids[probe.event_name]
            probe.decoder = make_decoder(probe, fields, self._codec.order)
            name = f"{os.path.basename(probe.path)}:{probe.symbol.name}".encode()
            fast: FastEncoder | None = None
            if ProbeArgType.STR not in probe.types:
                try:
                    fast = FastEncoder(probe, fields, name, self._codec)
                except (KeyError, ValueError):
                    fast = None  # a format this kernel lays out otherwise: the general path
            with self._lock:
                self._probe_event[probe.probe_id] = event_id
                self._by_probe[probe.probe_id] = (probe, name)
                if probe.hidden:
                    self._hidden_probes.add(probe.probe_id)
                if fast is not None:
                    self._fast[probe.probe_id] = fast
            self._emit(self._codec.encode_record(
                RecordKind.PROBE_DEF, 0, 0, self._clock.now_ns(), b"ktr", probe.definition()))
        return probes

    def _new_event_name(self) -> str:
        self._next_event += 1
        return f"e{self._next_event - 1}"

    def _define_one(self, probe: ResolvedProbe, event: str, fetchargs: tuple[str, ...]) -> None:
        assert self.group is not None
        self.group.define([UprobeDefinition(
            event, probe.uprobe_path, probe.file_offset, probe.site == ProbeSite.RETURN,
            (f"{ID_FIELD}=\\{probe.probe_id}:u32", *fetchargs))])
        probe.event_name = event

    def _open_on(self, probes: Iterable[ResolvedProbe], tids: Iterable[int]) -> None:
        """Open the events of ``probes`` on each thread that does not carry them yet
        (inherited or opened)."""
        tid_list = list(tids)
        if not tid_list:
            return
        rings = self._ensure_rings(tid_list[0])
        name_rings = self._name_rings
        assert name_rings is not None
        for tid in tid_list:
            carried = self._attached.setdefault(tid, set())
            if _NAMES_EVENT in carried:
                continue
            try:
                name_rings.open_on_all(self._names_attr(), tid, "ktr thread names")
            except PerfError as error:
                if error.errno == errno.ESRCH:  # the thread is gone
                    continue
                raise ProbeError(f"cannot follow the names of thread {tid}: {error}") from None
            carried.add(_NAMES_EVENT)
        events: dict[int, ResolvedProbe] = {}  # tracefs event id -> its first probe
        for probe in probes:
            events.setdefault(self._event_ids[probe.event_name], probe)
        for event_id, probe in events.items():
            attr = self._attr(event_id)
            for tid in tid_list:
                carried = self._attached.setdefault(tid, set())
                if event_id in carried:
                    continue
                carried.add(event_id)
                try:
                    opened = rings.open_on_all(attr, tid, probe.label).values()
                    self._probe_events.extend(opened)
                    for event in opened:
                        self._event_of[id(event)] = event_id
                    if event_id in self._return_ids:
                        self._return_events.extend(opened)
                except PerfError as error:
                    if error.errno == errno.ESRCH:  # the thread is gone; nothing to probe
                        continue
                    raise ProbeError(f"cannot attach probe {probe.label} to thread {tid}: "
                                     f"{error}") from None

    def place_for_process(self, pid: int, tids: Iterable[int], *, strict: bool) -> None:
        """Resolve and place the probes for a process stopped at exec or attach."""
        exe = _shown(executable_of(pid))
        mapped = mapped_files(pid)
        self._seen_files[pid] = set(mapped)
        self.resolver.access = stale_files(pid)
        self._mapped |= _identities(mapped, self.resolver.access)
        probes = self.resolver.resolve(exe, mapped, strict=strict)
        if probes:
            self._define(probes)
        # every probe of the recording applies to this process: file-based uprobes on
        # files it does not map never fire, so opening them all keeps one rule for all
        self._open_on(self.resolver.placed.values(), tids)
        self._traced.add(pid)

    def _place_for_new_mapping(self, pid: int) -> None:
        mapped = mapped_files(pid)
        seen = self._seen_files.setdefault(pid, set())
        fresh = [path for path in mapped if path not in seen]
        seen.update(fresh)
        if fresh:
            self.resolver.access = stale_files(pid)
            self._mapped |= _identities(fresh, self.resolver.access)
        for path in fresh:
            probes = self.resolver.resolve(None, (), strict=False, only_module=path)
            if probes:
                self._define(probes)
                self._open_on(probes, self._threads_of(pid))

    # -- the consumer wrapper -----------------------------------------------------------------

    def wrap(self, consumer: Callable[[Event], None]) -> Callable[[Event], None]:
        """The ptrace source's consumer with the probe lifecycle in front of it."""

        known = self._names.current

        def consume(event: Event) -> None:
            rings = self._rings
            tracee = event.tracee
            if rings is not None:
                # hits made before this stop go into the trace before its record: the
                # stopped thread's own hits are in the rings already (time order per thread)
                self._drain(rings, tracee.tid)
            if tracee.tid not in known:
                # the name its hits start with; the kernel's COMM records change it by time
                # (read when the reader takes a hit, /proc would give a later name after an
                # exec, or none after the exit)
                self._names.start(tracee.tid, tracee.comm)
            if type(event) is SyscallEntry or type(event) is SyscallExit:
                if event.nr == URETPROBE_SYSCALL and event.abi == Abi.X86_64:
                    return  # the kernel's return-probe trampoline, not the program's call
                self._mmap_stops = True
                if (type(event) is SyscallExit and event.nr == MMAP_SYSCALL
                        and event.error == 0 and event.entry is not None
                        and event.entry.args[2] & PROT_EXEC and self._started):
                    self._place_for_new_mapping(event.tracee.pid)
            elif type(event) is ProcessEvent:
                self._lifecycle(event)
            consumer(event)

        return consume

    def _lifecycle(self, event: ProcessEvent) -> None:
        tracee = event.tracee
        if event.kind is Lifecycle.DETACH:
            # The thread is stopped and its hits until now were drained before this event
            # (``consume``): any later hit of it runs after the recording let it go. The
            # events stay open on it (inherited copies cannot be closed one thread at a
            # time); its hits are dropped by tid until ``finish`` disables them all.
            self._detached.add(tracee.tid)
            return
        # a tid in use again (a new thread, an attach, the leader's tid taken by an exec)
        self._detached.discard(tracee.tid)
        if event.kind in (Lifecycle.EXEC, Lifecycle.ATTACH):
            # a tid under control from here on: the thread's hits until now were drained
            self._names.start(tracee.tid, tracee.comm)
        if event.kind is Lifecycle.EXEC:
            if event.former_tid and event.former_tid in self._attached:
                self._attached[tracee.tid] = self._attached.pop(event.former_tid)
            self.place_for_process(tracee.pid, [tracee.tid], strict=not self._started)
            self._started = True
        elif event.kind is Lifecycle.ATTACH:
            self.place_for_process(tracee.pid, [tracee.tid], strict=not self._started)
            if not event.thread:
                self._started = True
        elif event.kind in (Lifecycle.FORK, Lifecycle.VFORK, Lifecycle.CLONE):
            # a new task starts with its creator's name (the FORK record, when read,
            # gives the exact one: the creator's at the fork)
            self._names.start(event.child, self._names.latest(tracee.tid, tracee.comm))
            self._detached.discard(event.child)
            # inherit=1: the new task carries every event its creator had
            self._attached[event.child] = set(self._attached.get(tracee.tid, ()))
            if event.thread:
                return
            seen = set(self._seen_files.get(tracee.pid, ()))
            self._seen_files[event.child] = seen
            if self._follow:
                self._traced.add(event.child)

    # -- reading ------------------------------------------------------------------------------

    def _read_loop(self) -> None:
        assert self._rings is not None
        rings = self._rings
        while not self._stop.is_set():
            rings.poll(50)
            self._drain(rings)

    def _drain(self, rings: _perf.RingSet, stopped: int = 0, final: bool = False) -> None:
        """Every hit up to the horizon (all of them when ``final``), and those of the thread
        ``stopped`` at a ptrace stop whatever their time; the name changes first."""
        # the reader thread and the control thread (at each stop) both drain: one at a time
        with self._drain_lock:
            horizon = _threadnames.FINAL if final else _threadnames.horizon()
            self._read_names()
            self._drain_locked(rings, horizon, stopped)
            self._names.settle(horizon)

    def _read_names(self) -> None:
        """Apply every COMM and FORK record in the name rings (before any hit they name)."""
        if self._name_rings is None:
            return
        comms: list[_threadnames.Comm] = []
        forks: list[_threadnames.Fork] = []
        for chunk in self._name_rings.drain():
            for kind, _misc, body in chunk.records():
                if kind == _perf.PERF_RECORD_COMM:
                    _pid, tid, name = _perf.parse_comm(body)
                    comms.append((self._names_trailer.read(body)["time"], tid, name))
                elif kind == _perf.PERF_RECORD_FORK:
                    _, _, child, parent, when_forked = _perf.parse_fork(body)
                    forks.append((when_forked, child, parent))
                elif kind == _perf.PERF_RECORD_LOST:
                    lost, time_ns = _perf.parse_lost_at(body, self._names_trailer)
                    self.names_lost += lost
                    self._log_lost(DropError.ENOBUFS, lost,
                                   None if time_ns is None else time_ns + self._clock.offset_ns,
                                   chunk.cpu if chunk.cpu >= 0 else None)
        if comms or forks:
            self._names.apply(comms, forks)

    def _drain_locked(self, rings: _perf.RingSet, horizon: int, stopped: int) -> None:
        emit = self._emit
        fast = self._fast
        by_id = self._by_probe
        id_at = self._id_at
        hidden = self._hidden_probes
        probe_of = _U32_AT.unpack_from
        traced = self._traced
        detached = self._detached
        offset_ns = self._clock.offset_ns
        current = self._names.current
        changing = self._names.changing
        name_at = self._names.at
        peek = _SAMPLE_PEEK.unpack_from
        sample, lost_kind = _perf.PERF_RECORD_SAMPLE, _perf.PERF_RECORD_LOST
        chunks = rings.drain()
        if self._held:
            chunks.insert(0, _perf.RecordChunk(self._held, -1))
        held: list[bytes] = []
        for chunk in chunks:
            data = chunk.data
            end = len(data)
            at = 0
            while at + 8 <= end:
                # walked by hand, not through a generator: this loop runs per probe hit
                kind, _misc, size = _HEADER.unpack_from(data, at)
                if size < 8:
                    break
                if kind == sample and at + 30 <= end:
                    pid, tid, stamp, event_id = peek(data, at)
                    where = id_at.get(event_id)
                    if where is None:
                        pass  # (no event of ours: none other writes to these rings)
                    elif stamp > horizon and tid != stopped:
                        # a rename before it may be in a ring read already: next drain
                        held.append(data[at : at + size])
                    elif pid not in traced:
                        self.filtered += 1
                        if probe_of(data, at + SAMPLE_RAW_AT + where)[0] in hidden:
                            self.filtered_hidden += 1
                    elif tid in detached:
                        self.outside += 1
                    else:
                        comm = (name_at(tid, stamp) if changing and tid in changing
                                else current.get(tid))
                        if comm is None:
                            comm = self._comm(pid, tid)
                        # the hit's probe: its id, which every probe of a shared event
                        # carries as an immediate (``_define``)
                        (probe_id,) = probe_of(data, at + SAMPLE_RAW_AT + where)
                        encoder = fast.get(probe_id)
                        if encoder is not None:
                            self.hits += 1
                            emit(encoder.encode(encoder.unpack(data, at), stamp + offset_ns,
                                                comm))
                        elif probe_id in by_id:
                            self._general(by_id[probe_id], data[at + 8 : at + size], comm)
                elif kind == lost_kind:
                    lost, time_ns = _perf.parse_lost_at(data[at + 8 : at + size],
                                                        self._lost_trailer)
                    if time_ns is not None and time_ns > horizon:
                        # the rest of this ring waits with it: the gap stays where it is
                        # among the hits (ktrdump's calls view abandons the calls open there)
                        held.append(data[at:end])
                        break
                    self.lost += lost
                    self._log_lost(DropError.ENOBUFS, lost,
                                   None if time_ns is None else time_ns + offset_ns,
                                   chunk.cpu if chunk.cpu >= 0 else None)
                at += size
        self._held = b"".join(held)

    def _general(self, entry: tuple[ResolvedProbe, bytes], body: bytes, comm: bytes) -> None:
        """A sample through the probe's decoder and the codec (``str`` arguments)."""
        probe, name = entry
        pid, tid, time_ns, size = _SAMPLE_HEAD.unpack_from(body)
        raw = body[20 : 20 + size]
        assert probe.decoder is not None
        pc, value, args, strings = probe.decoder(raw)
        payload = formats.Probe(
            probe.probe_id, int(probe.site), pc,
            probe.spec.offset if probe.site == ProbeSite.OFFSET else 0,
            value, args, name, strings)
        self.hits += 1
        self._emit(self._codec.encode_record(
            RecordKind.PROBE, pid, tid, self._clock.to_trace(time_ns), comm, payload))

    def _comm(self, pid: int, tid: int) -> bytes:
        """The name of a thread the control loop never named (its /proc name now)."""
        try:
            with open(f"/proc/{pid}/task/{tid}/comm", "rb") as handle:
                comm = handle.read().rstrip(b"\n")
        except OSError:
            comm = self._names.latest(pid)
        # never over a name set meanwhile
        return self._names.name_if_unknown(tid, comm)

    # -- ending -------------------------------------------------------------------------------

    def finish(self) -> None:
        """Stop the reader after a last drain and the counts read (idempotent); the events
        are left for ``close`` (slow: grace periods per tracefs event)."""
        self._stop.set()
        if self._reader is not None:
            self._reader.join()
            self._reader = None
        if self._rings is not None:
            try:
                # hits after the recording (a detached process runs on) are not its own;
                # return probes first: a call cut here is an entry without its return
                # (unfinished, as a syscall cut), never a return without its entry
                returns = {id(event) for event in self._return_events}
                for event in self._return_events + [
                        e for e in self._probe_events if id(e) not in returns]:
                    with contextlib.suppress(PerfError):
                        event.disable()
                self._drain(self._rings, final=True)
                self._account_unseen()
            finally:
                # Closing is slow (the last close of each tracefs event's perf events
                # waits RCU grace periods, one event after the other under the kernel's
                # event_mutex): the events are closed by ``close``, after the trace is
                # complete.
                self._closing.append(self._rings)
                self._rings = None
                if self._name_rings is not None:
                    self._closing.append(self._name_rings)
                    self._name_rings = None
                self._probe_events.clear()
                self._return_events.clear()

    def _account_unseen(self) -> None:
        """Hits the kernel counted but no sample or LOST record reported: lost too.

        Each event's count includes its inherited copies in tasks that ended. A ring that
        stayed full to the end never gets to write its last LOST record; this catches it,
        so nothing is lost silently.
        """
        counted = 0
        by_event: dict[int, int] = {}
        for event in self._probe_events:
            try:
                data = event.read(8)
            except PerfError:
                return  # cannot tell; the LOST records reported stay the figure
            if len(data) == 8:
                (value,) = _U64.unpack(data)
                counted += value
                event_id = self._event_of.get(id(event), 0)
                by_event[event_id] = by_event.get(event_id, 0) + value
        self._counted = by_event
        unseen = counted - self.hits - self.filtered - self.outside - self.lost
        if unseen > 0:
            self.lost += unseen
            self._log_lost(DropError.ENOBUFS, unseen)

    def teardown_size(self) -> int:
        """How many probes ``close`` has to remove."""
        return self.group.probe_count if self.group is not None else 0

    def teardown_waits(self) -> int:
        """How many tracefs events ``close`` removes: the last close of each event's perf
        events waits grace periods (75-100 ms here), one event after the other."""
        return len(self.group.events) if self.group is not None else 0

    def close(self) -> None:
        """``finish``, close every perf event, then remove the tracefs group (every exit
        path comes here)."""
        try:
            self.finish()
        finally:
            try:
                while self._closing:
                    self._closing.pop().close()
            finally:
                failures = self.group.close() if self.group is not None else []
        for failure in failures:
            self._warn(str(failure))
        for message in self._pending_warnings:  # never started: no output to tell
            sys.stderr.write(f"ktr: {message}\n")
        self._pending_warnings.clear()


def _identities(paths: Iterable[str], access: dict[str, str]) -> set[tuple[int, int]]:
    """(st_dev, st_ino) of each file, opened through ``access`` where its path is stale."""
    out = set()
    for path in paths:
        with contextlib.suppress(OSError):
            status = os.stat(access.get(path, path))
            out.add((status.st_dev, status.st_ino))
    return out


def _shown(exe: str | None) -> str | None:
    """An executable's path as named (a deleted file's link ends with `` (deleted)``)."""
    return exe.removesuffix(" (deleted)") if exe is not None else None


def command_is_script(options: RecordOptions) -> bool:
    """Whether the command is a ``#!`` script (its interpreter is the first program)."""
    if not options.command:
        return False
    path = shutil.which(options.command[0])
    return path is not None and script_interpreter(path, depth=0) is None and (
        script_interpreter(path) is not None)


def precheck_probes(options: RecordOptions) -> list[str]:
    """Resolve the probes against the target before it is started or attached.

    Raises ``ProbeError``/``TracefsError`` (one line each) for a spec that cannot be placed
    or a tracefs this user cannot write (no root). Returns, for attached processes, a
    warning per spec none of whose files they map (``SPEC\0MESSAGE``): its probes fire
    only if one of them loads the file later.
    """
    root = find_tracefs()
    events = os.path.join(root, "uprobe_events")
    if not os.access(events, os.W_OK):
        raise TracefsError("cannot define uprobes (are you root?)", events, errno.EACCES)
    resolver = Resolver(options.probes, options.max_probes, options.io_bytes,
                        defer_main=command_is_script(options), command=options.command)
    if options.command:
        exe = shutil.which(options.command[0])
        if exe is None:
            return []  # the spawn reports the missing command itself
        # a #! script runs its interpreter: that is the program the probes meet first
        resolver.resolve(script_interpreter(exe) or exe, (), strict=True)
        return []
    mapped: set[tuple[int, int]] = set()
    for pid in options.pids:
        exe = _shown(executable_of(pid))
        if exe is None:
            return []  # attach reports the missing process itself
        resolver.access = stale_files(pid)
        files = mapped_files(pid)
        mapped |= _identities(files, resolver.access)
        resolver.resolve(exe, files, strict=True)
    by_spec: dict[str, list[ResolvedProbe]] = {}
    for probe in resolver.placed.values():
        by_spec.setdefault(probe.spec.text, []).append(probe)
    pids = ", ".join(str(pid) for pid in options.pids)
    return [f"{text}\0probe {text!r}: no traced process maps {probes[0].path} (pid {pids}); "
            "it fires only if one loads that file later"
            for text, probes in by_spec.items()
            if not any(probe.identity is None or probe.identity in mapped for probe in probes)]


def list_probes(arguments: tuple[str, ...], pid: int | None) -> list[str]:
    """``--list-probes MODULE [GLOB]``: one line per probe-able function, by address.

    Each line: ``MODULE:FUNCTION`` then the file offset, size and kind (``ifunc`` for IFUNC
    symbols, which are probed at their implementations), tab-separated, and for a C++
    function its name as ``c++filt`` shows it (``formats.demangle``) in a fifth column.
    Raises ``ProbeError``.
    """
    module = arguments[0]
    pattern = arguments[1] if len(arguments) > 1 else "*"
    exe = executable_of(pid) if pid is not None else None
    mapped = mapped_files(pid) if pid is not None else []
    resolver = Resolver((parse_spec(f"{module}:{pattern}"),))
    paths = resolver.modules_for(resolver.specs[0], exe, mapped, search=True)
    if not paths and "/" not in module and os.path.isfile(module):
        paths = [module]
    if not paths:
        raise ProbeError(f"--list-probes: unknown module {module!r}")
    try:
        image = open_image(paths[0])
    except ElfError as error:
        raise ProbeError(f"--list-probes: {error}") from None
    symbols = image.match(pattern)
    spec = resolver.specs[0]
    if spec.is_glob or not symbols:
        # C++ functions by their demangled names too, as -P matches them (a name without
        # its parameters: every overload, listed)
        symbols += demangled_matches(spec.function, image, exclude=symbols)
    if not symbols:
        raise ProbeError(f"--list-probes: no function matches {pattern!r} in {paths[0]}")
    name = os.path.basename(paths[0])
    lines = []
    # the name the binary spells, and a C++ one's as c++filt shows it (one c++filt
    # process for the listing; without c++filt, no fifth column): -P takes either
    demangler = Demangler()
    try:
        for symbol in symbols:
            offset = image.vaddr_to_offset(symbol.vaddr)
            if offset is None:
                continue
            kind = "ifunc" if symbol.ifunc else ("local" if symbol.binding == "LOCAL" else "")
            shown = demangler.demangle(symbol.name)
            tail = f"\t{_listed(shown)}" if shown != symbol.name else ""
            lines.append(f"{_listed(name)}:{_listed(symbol.name)}\t{offset:#x}\t{symbol.size}\t"
                         f"{kind}{tail}".rstrip())
    finally:
        demangler.close()
    return lines


def _listed(text: str) -> str:
    """A file or symbol name on a terminal's line: control characters escaped (``\\x1b``),
    so a library's own names can neither drive the terminal nor break the columns."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else
                   f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}"
                   for ch in text)
