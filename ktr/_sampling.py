"""Stack sampling (``ktr record -F HZ``): perf task-clock samples and mappings into records.

``Sampler`` is a side source of the recording (``_sources``), a
``ThreadObserver`` of the control loop as libpctx's init_lwp: when a thread
comes under control — the started command before its exec (its events are
then enabled by the exec), an attached thread at its first stop, a thread or
child created by a traced thread before it ran — it opens, through ``_perf``,
one task-clock sampling event per CPU for that thread alone, sharing one ring
per CPU (owned by do-nothing events of the recorder itself, so the rings
outlive every tracee); when the thread is gone its events are closed. So the
sampled set is exactly the recorded set (``-i`` children included), across
exec. Each sample asks for the ip, tid, time,
CPU, period, the kernel's user callchain, the user registers an unwinder
needs and a copy of the user stack (``--stack-bytes``). The same events report
executable mappings (MMAP2, with the build id the kernel read), command-name
changes and forks. A reader thread drains the per-CPU rings and turns:

- samples into SAMPLE records, raw: the recorder walks perf's headers and
  copies fields, it never unwinds (ktrdump does, offline);
- MMAP2 records into MMAP records; a ``[vdso]`` mapping gets the vDSO's
  image, read from the process's memory, the first time each vDSO (by build
  id) is seen in the recording (the kernel has no vDSO file here);
- each process that comes under control other than by exec (attached, or a
  forked child before it ran) gets MMAP records from ``/proc/PID/maps``
  (origin SNAPSHOT), so a profile of a trace without PROC records still knows
  an attached process's or a child's mappings; so does a process at each exec
  stop (the kernel stamps its MMAP2 records of the new image before the PROC
  exec record, which ktrdump's maps take as dropping older mappings);
- each mapping's build id comes from the file the process maps, never from
  whatever is at its path now: the kernel's (MMAP2), else the file read
  through ``/proc/PID/map_files`` (it reaches a deleted or replaced file),
  else the path's file only if its device and inode are the mapping's; a
  path the kernel calls ``(deleted)`` is recorded without the suffix and
  with ``MmapFlag.DELETED``, one naming another file with ``REPLACED``.
  Build ids are cached by file identity (device, inode, mtime, size);
- with ``keep_dir`` (``ktr record`` sets it unless ``--no-build-id-cache``),
  each mapped file that is deleted or replaced at its path when its MMAP
  record is made, or when its process exits (checked at the last thread's
  exit stop, where the mappings still exist), or when the recording ends
  with the process alive, is handed to ``_buildid_cache`` as a descriptor of
  ``/proc/PID/map_files/RANGE``, which copies it on its own thread; a file
  still at its path is not copied (ktrdump reads it there). Without ptrace
  (no exit stop) the file of each MMAP record — the kernel's, and the
  snapshot's of a process attached or of a child followed with ``-i`` — is
  held open from when the record is made, while its process still maps it,
  and checked against its path at the process's EXIT record or at the end
  (so a file replaced or deleted after the attach is kept too);
- the kernel's ring losses (PERF_RECORD_LOST) into DROP records (ENOBUFS),
  counted, never silent: each names its CPU's ring and stands where that ring's
  gap began (``_perf.ring_loss``), not where the kernel could write again.

Within one drain the mapping and name records of every CPU's ring are handled
before the samples, so a sample never precedes the MMAP record of its code;
each sample and MMAP record carries the name its thread had at the record's
time (``_threadnames``: the COMM and FORK records of every ring, by time), so
a sample stamped after the drain's horizon waits for the next drain.

Recorded without ptrace (``SamplingOptions.inherited``, ``_perfattach``): each
running thread's events are opened by ``watch_running`` with ``inherit`` (and
``inherit_thread`` unless ``-i``), its process's maps read the first time (a
started command's events are opened before its exec, which enables them: its
maps are the kernel's MMAP2 records of the new image); a
child followed with ``-i`` gets its maps read when its FORK record is drained,
stamped at the fork. An exec then has no PROC record: the new image's MMAP
records replace the old mappings they overlap (old ones elsewhere stay in
ktrdump's maps, unused by samples of the new image).

Guarantees: every perf_event_open goes through ``_perf``; ``stop()`` drains
the rings one last time and closes every event, whatever happened; a process
that has exited before its maps or vDSO could be read is skipped quietly (its
samples then print as unknown frames).
Does not: unwind or symbolize; sample the recorder itself.
"""

from __future__ import annotations

import errno
import os
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

import formats
from formats import DropError, MmapFlag, MmapOrigin, RecordKind, SampleFlag
from formats.elf import build_id_of_file, build_id_of_image, open_regular

from . import _perf, _procfs, _threadnames
from ._buildid_cache import BinaryKeeper
from ._events import Tracee
from ._sources import LogLost, SourceOutput
from .errors import PerfError

#: ax..ip and r8..r15 (perf_event x86 numbering): what DWARF CFI can refer to.
X86_64_REGS_MASK = 0x1FF | (0xFF << 16)
MAX_STACK_BYTES = 65528  # the kernel's limit for sample_stack_user (u16, 8-aligned)
DEFAULT_STACK_BYTES = 8192
MAX_HZ = 100_000
_SAMPLE_TYPE = (
    _perf.PERF_SAMPLE_IP | _perf.PERF_SAMPLE_TID | _perf.PERF_SAMPLE_TIME
    | _perf.PERF_SAMPLE_CPU | _perf.PERF_SAMPLE_PERIOD | _perf.PERF_SAMPLE_CALLCHAIN
    | _perf.PERF_SAMPLE_REGS_USER | _perf.PERF_SAMPLE_STACK_USER
)
_REG_COUNT = bin(X86_64_REGS_MASK).count("1")
_PROT_EXEC = 4
_DELETED = b" (deleted)"  # how the kernel names a mapped file that was unlinked
_POLL_MS = 50
_PATH_STALE = MmapFlag.DELETED | MmapFlag.REPLACED
#: Names of mappings that are no files a path could serve (shared memory, memfd code).
_NOT_FILES = (b"/memfd:", b"/SYSV", b"/dev/", b"/anon_hugepage")
_RING_PAGES = 128  # 512 KiB per CPU: ~60 samples of 8 KiB between two drains
#: A sample's time: after its ip and pid/tid (``_SAMPLE_TYPE``'s order).
_SAMPLE_TIME = struct.Struct("<16xQ")


@dataclass(frozen=True)
class SamplingOptions:
    hz: int
    stack_bytes: int = DEFAULT_STACK_BYTES
    ring_pages: int = _RING_PAGES
    #: the build-id cache that keeps mapped files deleted or replaced (None: none kept)
    keep_dir: str | None = None
    #: Recorded without ptrace (``_perfattach``): each watched thread's events
    #: are inherited by the threads it creates, and by its child processes too
    #: with ``children`` (-i; each one's maps are read when its FORK record is).
    inherited: bool = False
    children: bool = False


Emit = Callable[[bytes], bool]


class Sampler:
    """Per-CPU sampling events of the traced threads, drained into records.

    Lifecycle (``_sources.SideSource``): prepare → observer calls → start →
    observer calls → stop (or close when the recording never started).
    """

    def __init__(self, options: SamplingOptions, clock: _perf.TraceClock | None = None) -> None:
        self.options = options
        self._ring_pages = _perf.test_ring_pages() or options.ring_pages
        self._emit: Emit | None = None
        self._log_lost: LogLost | None = None
        self._notify: Callable[[str], None] | None = None
        self._pending: list[bytes] = []  # records made before ``start``
        self._codec = formats.codec("little")
        self._clock = clock if clock is not None else _perf.TraceClock()
        self._trailer = _perf.SampleIdLayout(_SAMPLE_TYPE)
        self._rings: _perf.RingSet | None = None
        self._events: dict[int, list[_perf.Event]] = {}  # tid -> its per-CPU events
        self._processes: set[int] = set()
        self._names = _threadnames.ThreadNames()
        self._held: list[tuple[int, bytes]] = []  # samples after the last drain's horizon
        self._held_forks: list[_threadnames.Fork] = []
        self._ring_last: dict[int, int] = {}  # cpu -> its ring's last sample read
        self._vdso_ids: set[bytes] = set()
        self._build_ids: dict[tuple[int, int, int, int], bytes] = {}  # by file identity
        self._keeper = BinaryKeeper(options.keep_dir) if options.keep_dir else None
        self._live: dict[int, set[int]] = {}  # pid -> its traced threads not yet exiting
        #: Without ptrace there is no exit stop where a process's mappings still exist:
        #: the file of each MMAP record is held open (pid -> [(fd, path)]) and checked
        #: against its path at the process's EXIT record, or at the end.
        self._held_files: dict[int, list[tuple[int, bytes]]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the rings and events: control thread vs reader
        self._emit_lock = threading.Lock()  # _pending vs start()
        self.samples = 0
        self.lost = 0
        self.unwatched = 0  # threads whose events could not be opened
        self.kernel_mode = True  # samples in the kernel too (their user stack still counts)
        #: Told, from the reader thread, of the FORK records of every drain as
        #: (perf time, pid, ppid, tid) — a record held to a later drain is told again then.
        self.on_births: Callable[[list[tuple[int, int, int, int]]], None] | None = None
        self._drains = 0  # drains the reader has finished (``sync``)
        self._drained = threading.Condition()

    # -- opening ------------------------------------------------------------

    def _attr(self, enable_on_exec: bool) -> _perf.Attr:
        flags = {"mmap", "mmap2", "comm", "comm_exec", "task", "sample_id_all", "exclude_hv",
                 "exclude_callchain_kernel", "use_clockid", "build_id", "watermark"}
        if enable_on_exec:
            flags |= {"disabled", "enable_on_exec"}
        if self.options.inherited:
            # inherit_thread: threads only, unless child processes are followed (-i)
            flags |= {"inherit"} if self.options.children else {"inherit", "inherit_thread"}
        if not self.kernel_mode:
            flags.add("exclude_kernel")
        ring_bytes = self._ring_pages * _perf.PAGE_SIZE
        return _perf.Attr(
            type=_perf.PERF_TYPE_SOFTWARE, config=_perf.PERF_COUNT_SW_TASK_CLOCK,
            sample_period=max(1, 1_000_000_000 // self.options.hz),
            sample_type=_SAMPLE_TYPE, flags=frozenset(flags), wakeup=max(1, ring_bytes // 4),
            sample_regs_user=X86_64_REGS_MASK,
            sample_stack_user=self.options.stack_bytes, clockid=_perf.CLOCK_MONOTONIC,
        )

    def prepare(self) -> None:
        """Make the rings and check that sampling events open here (before any target)."""
        owner = _perf.Attr(type=_perf.PERF_TYPE_SOFTWARE, config=_perf.PERF_COUNT_SW_DUMMY,
                           flags=frozenset({"exclude_kernel", "exclude_hv", "use_clockid"}),
                           clockid=_perf.CLOCK_MONOTONIC)
        # Do-nothing events of the recorder's own thread own the rings: they exist
        # before any tracee and outlive every tracee.
        self._rings = _perf.RingSet.create(owner, 0, "stack samples",
                                                self._ring_pages)
        try:
            probe = self._open_events(0, enable_on_exec=True)
            self._rings.forget(probe)
        except BaseException:
            self._rings.close()
            self._rings = None
            raise

    def _open_events(self, tid: int, enable_on_exec: bool) -> list[_perf.Event]:
        assert self._rings is not None
        name = "task-clock samples"
        try:
            return list(self._rings.open_on_all(self._attr(enable_on_exec), tid, name).values())
        except PerfError as error:
            # Unprivileged (perf_event_paranoid >= 2): user-mode samples only.
            if not self.kernel_mode or error.errno not in (errno.EACCES, errno.EPERM):
                raise
            self.kernel_mode = False
            return list(self._rings.open_on_all(self._attr(enable_on_exec), tid, name).values())

    # -- observer calls (the control thread; the thread named is stopped) -----

    def thread_started(self, tracee: Tracee) -> None:
        tid, pid = tracee.tid, tracee.pid
        self._names.start(tid, tracee.comm)
        self._live.setdefault(pid, set()).add(tid)
        if pid not in self._processes:
            self._processes.add(pid)
            if not tracee.pre_exec:  # attached, or a forked child that has not run yet
                self._snapshot(pid, self._clock.now_ns(), tracee.comm)
        try:
            with self._lock:
                if self._rings is None:
                    return
                self._events[tid] = self._open_events(tid, enable_on_exec=tracee.pre_exec)
        except PerfError as error:
            self.unwatched += 1
            if self._notify is not None and self.unwatched == 1:
                self._notify(f"stack samples: thread {tid} not sampled: {error}")

    def watch_running(self, tid: int, pid: int, comm: bytes, at_exec: bool = False) -> bool:
        """Sample a thread that runs on, not stopped (recorded without ptrace):
        its events, inherited (``SamplingOptions.inherited``); its process's maps
        the first time. With ``at_exec`` (a started command held before its exec)
        the events wait for the exec and no maps are read: the kernel's MMAP2
        records of the new image are the first. False when the thread no longer
        exists; a PerfError for any other refusal (no event is left open then)."""
        assert self.options.inherited
        self._names.start(tid, comm)
        if pid not in self._processes:
            self._processes.add(pid)
            if not at_exec:
                self._snapshot(pid, self._clock.now_ns(), comm)
        try:
            with self._lock:
                if self._rings is None:
                    return False
                self._events[tid] = self._open_events(tid, enable_on_exec=at_exec)
        except PerfError as error:
            if error.errno == errno.ESRCH:
                return False
            raise
        return True

    def sync(self) -> None:
        """Wait until the reader thread has drained the rings once after the call
        (at most a poll interval; at once when the reader is not running): the FORK
        records written before the call have been told to ``on_births`` then."""
        thread = self._thread
        if thread is None:
            return
        with self._drained:
            goal = self._drains + 2  # the drain under way may have read the rings before
            while self._drains < goal and thread.is_alive():
                self._drained.wait(_POLL_MS / 1000)

    def thread_exiting(self, tracee: Tracee) -> None:
        threads = self._live.get(tracee.pid)
        if threads is None:
            return
        threads.discard(tracee.tid)
        if not threads:
            # The last thread's exit stop: the process's mappings still exist.
            del self._live[tracee.pid]
            self._keep_changed(tracee.pid)

    def thread_exec(self, tracee: Tracee, former_tid: int) -> None:
        self._live[tracee.pid] = {tracee.tid}  # exec left one thread
        with self._lock:
            if former_tid:
                # de_thread: the exec'ing thread took the leader's tid; the old leader is gone.
                gone = self._events.pop(tracee.tid, None)
                if gone and self._rings is not None:
                    self._rings.forget(gone)
                moved = self._events.pop(former_tid, None)
                if moved is not None:
                    self._events[tracee.tid] = moved
        # The kernel's MMAP2 records of the new image are stamped before the exec
        # stop, hence before the PROC exec record, which drops older mappings in
        # ktrdump: a snapshot taken now (after that record) always maps the image.
        # (The exec's new name reaches the samples by its COMM record.)
        self._snapshot(tracee.pid, self._clock.now_ns(), tracee.comm)

    def thread_gone(self, tracee: Tracee) -> None:
        threads = self._live.get(tracee.pid)
        if threads is not None:
            threads.discard(tracee.tid)
            if not threads:  # gone without an exit stop: its pid may name another process
                del self._live[tracee.pid]
        with self._lock:
            events = self._events.pop(tracee.tid, None)
            if events and self._rings is not None:
                self._rings.forget(events)

    # -- reading ------------------------------------------------------------

    def start(self, output: SourceOutput) -> None:
        """Records go to ``output`` from now on; the reader thread starts."""
        with self._emit_lock:
            self._emit = output.sink
            self._log_lost = output.log_lost
            self._notify = output.notify
            pending, self._pending = self._pending, []
        for record in pending:
            output.sink(record)
        if self._rings is not None and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="ktr-sampling",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rings = self._rings
            if rings is None:
                return
            rings.poll(_POLL_MS)
            self.drain()
            with self._drained:
                self._drains += 1
                self._drained.notify_all()

    def drain(self, final: bool = False) -> None:
        horizon = _threadnames.FINAL if final else _threadnames.horizon()
        with self._lock:
            if self._rings is None:
                return
            chunks = self._rings.drain()
        if not chunks and not self._held and not self._held_forks:
            return
        samples, self._held = self._held, []
        forks, self._held_forks = self._held_forks, []
        comms: list[_threadnames.Comm] = []
        mmaps: list[tuple[int, bytes]] = []
        births: list[tuple[int, int, int, int]] = []
        exited: list[int] = []
        ring_last = self._ring_last
        for chunk in chunks:
            last = ring_last.get(chunk.cpu)  # the ring's last sample (perf time)
            for kind, misc, body in chunk.records():
                if kind == _perf.PERF_RECORD_SAMPLE:
                    samples.append((misc, body))
                    last = _SAMPLE_TIME.unpack_from(body)[0]
                elif kind == _perf.PERF_RECORD_MMAP2:
                    mmaps.append((misc, body))
                elif kind == _perf.PERF_RECORD_COMM:
                    _pid, tid, comm = _perf.parse_comm(body)
                    comms.append((self._trailer.read(body)["time"], tid, comm))
                elif kind == _perf.PERF_RECORD_EXIT and self._held_files:
                    pid, _ppid, tid, _ptid, _when = _perf.parse_fork(body)
                    if pid == tid:
                        exited.append(pid)
                elif kind == _perf.PERF_RECORD_FORK:
                    pid, ppid, child, parent, when = _perf.parse_fork(body)
                    births.append((when, pid, ppid, child))
                    if when > horizon:  # its creator's name may change before it, unseen yet
                        self._held_forks.append((when, child, parent))
                    else:
                        forks.append((when, child, parent))
                elif kind == _perf.PERF_RECORD_LOST:
                    self._lost(_perf.ring_loss(body, self._trailer, chunk.cpu, last))
            if last is not None:
                ring_last[chunk.cpu] = last
        if comms or forks:
            self._names.apply(comms, forks)
        if births:
            self._adopt(births)
        for misc, body in mmaps:
            self._mmap(misc, body)
        for pid in exited:
            self._keep_held(pid)
        for misc, body in samples:
            self._sample(misc, body, horizon)
        self._names.settle(horizon)

    def _adopt(self, births: list[tuple[int, int, int, int]]) -> None:
        """Tell the FORK records; with inherited events following children (-i), read
        each new child's maps, stamped at its fork (it has its parent's then; the
        mappings it made since, read too, are replaced by their later MMAP records)."""
        if self.options.inherited and self.options.children:
            for when, pid, ppid, _child in sorted(births):
                if pid != ppid and ppid in self._processes and pid not in self._processes:
                    self._processes.add(pid)
                    comm = self._names.current.get(pid, b"")
                    self._snapshot(pid, self._clock.to_trace(when), comm)
        if self.on_births is not None:
            self.on_births(births)

    def stop(self) -> None:
        """Drain a last time and close every event (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        try:
            if self._rings is not None:
                if self.unwatched > 1 and self._notify is not None:
                    # (one line for the first; the total here, not a line for each thread)
                    self._notify(f"stack samples: {self.unwatched} threads not sampled in all")
                try:
                    self.drain(final=True)
                finally:
                    self.close()
        finally:
            self._finish_keeping()

    def _finish_keeping(self) -> None:
        keeper, self._keeper = self._keeper, None
        if keeper is None:
            return
        for pid in list(self._live):  # still running (detached): their files are there
            self._keep_changed(pid, keeper)
        self._live.clear()
        for pid in list(self._held_files):  # (without ptrace: no EXIT record of theirs read)
            self._keep_held(pid, keeper)
        keeper.close()
        said = keeper.summary()
        if said is not None and self._notify is not None:
            self._notify(said)

    def close(self) -> None:
        """Close every event and ring without writing anything more."""
        with self._lock:
            if self._rings is not None:
                self._rings.close()
                self._rings = None
            self._events.clear()
        if self._keeper is not None and self._thread is None and self._emit is None:
            # never started: nothing to report, but the keeper's copies end here
            self._keeper.close()
        if self._keeper is None or self._emit is None:  # (else ``stop`` keeps them)
            for held in self._held_files.values():
                for fd, _ in held:
                    os.close(fd)
            self._held_files.clear()

    def _put(self, record: bytes) -> None:
        emit = self._emit
        if emit is None:
            with self._emit_lock:
                if self._emit is None:
                    self._pending.append(record)
                    return
                emit = self._emit
        emit(record)

    # -- record conversion --------------------------------------------------

    def _sample(self, misc: int, body: bytes, horizon: int) -> None:
        s = _perf.parse_sample(body, _SAMPLE_TYPE, 0, _REG_COUNT)
        if s.time > horizon:
            self._held.append((misc, body))
            return
        chain = s.callchain
        if chain and chain[0] >= _perf.PERF_CONTEXT_MAX:
            chain = tuple(pc for pc in chain if pc < _perf.PERF_CONTEXT_MAX)
        if s.regs_abi == _perf.PERF_SAMPLE_REGS_ABI_64:
            abi, mask = formats.Abi.X86_64, X86_64_REGS_MASK
        elif s.regs_abi == _perf.PERF_SAMPLE_REGS_ABI_32:
            abi, mask = formats.Abi.I386, X86_64_REGS_MASK
        else:
            abi, mask = formats.Abi.UNKNOWN, 0
        flags = SampleFlag.NONE
        if misc & _perf.PERF_RECORD_MISC_CPUMODE_MASK == _perf.PERF_RECORD_MISC_KERNEL:
            flags = SampleFlag.KERNEL
        payload = formats.Sample(s.ip, s.period, s.cpu, abi, flags, mask, s.stack_size,
                                 s.regs if mask else (), chain, s.stack)
        comm = self._names.at(s.tid, s.time) or self._names.at(s.pid, s.time)
        self.samples += 1
        self._put(self._codec.encode_record(
            RecordKind.SAMPLE, s.pid, s.tid, self._clock.to_trace(s.time), comm, payload))

    def _lost(self, loss: _perf.RingLoss) -> None:
        """A DROP where the ring's gap began, naming the ring (``_perf.ring_loss``)."""
        self.lost += loss.lost
        if self._log_lost is not None:
            self._log_lost(DropError.ENOBUFS, loss.lost,
                           None if loss.at is None else self._clock.to_trace(loss.at),
                           loss.cpu)

    def _mmap(self, misc: int, body: bytes) -> None:
        m = _perf.parse_mmap2(body, misc)
        if not m.prot & _PROT_EXEC:
            return
        stamp = self._trailer.read(body).get("time", 0)
        build_id, image, flags, path = m.build_id, b"", m.flags, m.filename
        if path.endswith(_DELETED):  # unlinked between the mmap and this record
            path = path[: -len(_DELETED)]
            flags |= MmapFlag.DELETED
        if path == b"[vdso]":
            build_id, image = self._vdso(m.pid, m.addr, m.addr + m.length)
        elif not build_id and path.startswith(b"/"):
            # The kernel read none (the note beyond what it reads): the mapped file
            # itself, if the mapping is still there; never the path.
            build_id = self._map_files_build_id(m.pid, m.addr, m.addr + m.length)
        self._keep_or_hold(m.pid, m.addr, m.addr + m.length, path,
                           bool(build_id and flags & MmapFlag.DELETED))
        comm = self._names.at(m.tid, stamp) or self._names.at(m.pid, stamp)
        self._emit_mmap(m.pid, m.tid, self._clock.to_trace(stamp), comm, m.addr,
                        m.addr + m.length, m.pgoff, m.prot, flags, MmapOrigin.EVENT, build_id,
                        path, image)

    def _emit_mmap(self, pid: int, tid: int, when: int, comm: bytes, start: int, end: int,
                   offset: int, prot: int, flags: int, origin: MmapOrigin, build_id: bytes,
                   path: bytes, image: bytes) -> None:
        payload = formats.Mmap(start, end, offset, prot, flags, origin, build_id, path, image)
        self._put(self._codec.encode_record(RecordKind.MMAP, pid, tid, when, comm, payload))

    def _vdso(self, pid: int, start: int, end: int) -> tuple[bytes, bytes]:
        """(build id, image) of a vDSO; the image only the first time it is seen."""
        image = _read_memory(pid, start, end - start)
        if not image:
            return b"", b""
        found = build_id_of_image(image)
        build_id = bytes.fromhex(found) if found else b""
        if build_id and build_id in self._vdso_ids:
            return build_id, b""
        self._vdso_ids.add(build_id)
        return build_id, image

    def _snapshot(self, pid: int, when: int, comm: bytes) -> None:
        """MMAP records (origin SNAPSHOT) for every executable mapping of ``pid`` now
        (``comm``: its name now, the control loop's)."""
        for m in _procfs.mappings(pid):
            build_id, image, flags = b"", b"", m.flags
            if m.path == b"[vdso]":
                build_id, image = self._vdso(pid, m.start, m.end)
            elif m.path.startswith(b"/"):
                build_id, replaced = self._mapped_build_id(pid, m)
                if replaced:
                    flags |= MmapFlag.REPLACED
            if m.deleted:
                flags |= MmapFlag.DELETED
            if not image:
                self._keep_or_hold(pid, m.start, m.end, m.path,
                                   bool(build_id and flags & _PATH_STALE))
            self._emit_mmap(pid, pid, when, comm, m.start, m.end, m.offset, m.prot, flags,
                            MmapOrigin.SNAPSHOT, build_id, m.path, image)

    def _keep_or_hold(self, pid: int, start: int, end: int, path: bytes, stale: bool) -> None:
        """What every MMAP record (the kernel's, or a snapshot's) does for the build-id
        cache, on both paths: a file already deleted or replaced at ``path`` is kept
        now; one still there is, without ptrace (no exit stop where its process's
        mappings still exist), held open to be checked at the process's EXIT record or
        at the end (``_keep_held``); with ptrace the exit stop reads the maps then
        (``_keep_changed``)."""
        if stale:
            self._keep(pid, start, end)
        elif (self.options.inherited and self._keeper is not None and path.startswith(b"/")
              and not path.startswith(_NOT_FILES)):
            self._hold_file(pid, start, end, path)

    def _keep(self, pid: int, start: int, end: int,
              keeper: BinaryKeeper | None = None) -> None:
        """Hand the file a mapping holds to the build-id cache (its copy is made on the
        keeper's thread); a mapping already gone is skipped."""
        keeper = keeper or self._keeper
        if keeper is None:
            return
        try:
            # The kernel's link to the mapped inode: never a path the user controls.
            fd = os.open(_procfs.map_file(pid, start, end), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        keeper.keep(fd)

    def _hold_file(self, pid: int, start: int, end: int, path: bytes) -> None:
        """Hold the file a mapping maps open (recorded without ptrace), to be kept if
        it is no longer at ``path`` when its process exits; a mapping gone is skipped."""
        try:
            fd = os.open(_procfs.map_file(pid, start, end), os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return
        held = self._held_files.setdefault(pid, [])
        for other, other_path in held:
            # one descriptor per file and path of a process (a library's several
            # mappings, its snapshot and its MMAP record): keeps descriptors few
            if other_path == path and os.path.sameopenfile(other, fd):
                os.close(fd)
                return
        held.append((fd, path))

    def _keep_held(self, pid: int, keeper: BinaryKeeper | None = None) -> None:
        """Keep each file held for ``pid`` that is no longer at its path; close the rest."""
        keeper = keeper or self._keeper
        for fd, path in self._held_files.pop(pid, []):
            try:
                status = os.fstat(fd)
                changed = not _same_file(path, status)
            except OSError:
                changed = False
            if changed and keeper is not None:
                keeper.keep(fd)  # (takes the descriptor)
            else:
                os.close(fd)

    def _keep_changed(self, pid: int, keeper: BinaryKeeper | None = None) -> None:
        """Keep each file ``pid`` maps that is no longer at its path (one read of its
        maps and one stat per file: the copies themselves are the keeper's)."""
        keeper = keeper or self._keeper
        if keeper is None:
            return
        for m in _procfs.mappings(pid):
            if not m.path.startswith(b"/") or m.path.startswith(_NOT_FILES):
                continue
            if keeper.seen(m.device, m.inode):
                continue
            if not m.deleted:
                try:
                    here = os.stat(m.path)
                except OSError:
                    here = None
                if here is not None and (here.st_dev, here.st_ino) == (m.device, m.inode):
                    continue
                if here is not None and _same_file(_procfs.map_file(pid, m.start, m.end).encode(),
                                                   here):
                    continue  # maps' device differs from stat's (overlayfs): the same file
            self._keep(pid, m.start, m.end, keeper)

    def _mapped_build_id(self, pid: int, m: _procfs.MapsLine) -> tuple[bytes, bool]:
        """(build id, whether the path names another file) of the file ``m`` maps.

        The file itself is read through ``/proc/PID/map_files``, which reaches it
        even deleted or replaced at its path; only where that cannot be opened is
        the path read, and then only if it is still the mapped inode: no build id
        is better than another file's.
        """
        mapped = _procfs.map_file(pid, m.start, m.end)
        try:
            status = os.stat(mapped)
        except OSError:
            status = None
        if status is not None:
            found = self._file_build_id(mapped, status)
            if found is not None:
                return found, not m.deleted and not _same_file(m.path, status)
        try:
            status = os.stat(m.path)
        except OSError:
            return b"", not m.deleted
        if (status.st_dev, status.st_ino) != (m.device, m.inode):
            return b"", not m.deleted
        return self._file_build_id(m.path, status) or b"", False

    def _map_files_build_id(self, pid: int, start: int, end: int) -> bytes:
        mapped = _procfs.map_file(pid, start, end)
        try:
            status = os.stat(mapped)
        except OSError:
            return b""
        return self._file_build_id(mapped, status) or b""

    def _file_build_id(self, path: str | bytes, status: os.stat_result) -> bytes | None:
        """The build id of the file at ``path`` (``status``: its stat), None if it
        cannot be read. Cached by the file's identity, never by its name."""
        key = (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)
        found = self._build_ids.get(key)
        if found is None:
            try:
                # Regular files only, never opened otherwise: a device the process
                # mapped (reached through map_files), or a FIFO put at the path since
                # its stat (a hostile tracee), would be opened as the recorder, and a
                # FIFO's open blocks until a writer comes.
                with open_regular(os.fsdecode(path)) as handle:
                    # Stat the open file: the one read, if the name moved meanwhile.
                    opened = os.fstat(handle.fileno())
                    text = build_id_of_file(handle)
            except OSError:
                return None
            found = bytes.fromhex(text) if text else b""
            key = (opened.st_dev, opened.st_ino, opened.st_mtime_ns, opened.st_size)
            self._build_ids[key] = found
        return found


def _read_memory(pid: int, address: int, size: int) -> bytes:
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as handle:
            handle.seek(address)
            return handle.read(size)
    except (OSError, OverflowError, ValueError):
        return b""


def _same_file(path: bytes, status: os.stat_result) -> bool:
    """Whether ``path`` names the file ``status`` describes."""
    try:
        here = os.stat(path)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (status.st_dev, status.st_ino)


__all__ = ["DEFAULT_STACK_BYTES", "MAX_HZ", "MAX_STACK_BYTES", "Sampler", "SamplingOptions"]
