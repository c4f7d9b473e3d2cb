"""Stack sampling (``ktr record -F HZ``): perf task-clock samples and mappings into records.

``Sampler`` opens, through ``_perf``, one task-clock sampling event per CPU for
each thread it is given (``add_spawned`` before the command's exec,
``add_attached`` for running processes), with ``inherit`` so that threads —
and, with ``-i``, child processes (``inherit_thread`` otherwise) — are followed
by the kernel itself, across exec. Each sample asks for the ip, tid, time,
CPU, period, the kernel's user callchain, the user registers an unwinder
needs and a copy of the user stack (``--stack-bytes``). The same events report
executable mappings (MMAP2, with the build id the kernel read), command-name
changes and forks. A reader thread drains the per-CPU rings and turns:

- samples into SAMPLE records, raw: the recorder walks perf's headers and
  copies fields, it never unwinds (ktrdump does, offline);
- MMAP2 records into MMAP records; a ``[vdso]`` mapping gets the vDSO's
  image, read from the process's memory, the first time each vDSO (by build
  id) is seen in the recording (the kernel has no vDSO file here);
- a new process (FORK of a thread-group leader) and every attached process
  into MMAP records from ``/proc/PID/maps`` (origin SNAPSHOT), so a profile of
  a trace without PROC records still knows a child's mappings;
- the kernel's ring losses (PERF_RECORD_LOST) into DROP records (EOVERFLOW),
  counted, never silent.

Within one drain the mapping and name records of every CPU's ring are handled
before the samples, so a sample never precedes the MMAP record of its code.

Guarantees: every perf_event_open goes through ``_perf``; ``stop()`` drains
the rings one last time and closes every event, whatever happened; a process
that has exited before its maps or vDSO could be read is skipped quietly (its
samples then print as unknown frames).
Does not: unwind or symbolize; sample the recorder itself.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import formats
from formats import DropError, MmapOrigin, RecordKind, SampleFlag
from formats.elf import build_id_of_image, read_build_id

from . import _perf
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
_POLL_MS = 50
_RING_PAGES = 128  # 512 KiB per CPU: ~60 samples of 8 KiB between two drains


@dataclass(frozen=True)
class SamplingOptions:
    hz: int
    stack_bytes: int = DEFAULT_STACK_BYTES
    follow_children: bool = False
    ring_pages: int = _RING_PAGES


Emit = Callable[[bytes], bool]
LogLost = Callable[[DropError, int], None]


class Sampler:
    """Per-CPU sampling events of the traced threads, drained into records."""

    def __init__(self, options: SamplingOptions, emit: Emit | None = None,
                 log_lost: LogLost | None = None,
                 notify: Callable[[str], None] | None = None) -> None:
        self.options = options
        self._emit: Emit = emit if emit is not None else _no_output
        self._log_lost: LogLost = log_lost if log_lost is not None else _no_loss_log
        self._notify = notify
        self._codec = formats.codec("little")
        self._clock = _perf.TraceClock()
        self._trailer = _perf.SampleIdLayout(_SAMPLE_TYPE)
        self._rings: _perf.RingSet | None = None
        self._comms: dict[int, bytes] = {}
        self._vdso_ids: set[bytes] = set()
        self._build_ids: dict[bytes, bytes] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # the rings: drained by the reader, closed by stop()
        self.samples = 0
        self.lost = 0
        self.kernel_mode = True  # samples in the kernel too (their user stack still counts)

    def connect(self, emit: Emit, log_lost: LogLost) -> None:
        """Where records and losses go (before ``start``; events may be opened earlier)."""
        self._emit = emit
        self._log_lost = log_lost

    # -- opening ------------------------------------------------------------

    def _attr(self, enable_on_exec: bool) -> _perf.Attr:
        flags = {"inherit", "mmap", "mmap2", "comm", "comm_exec", "task", "sample_id_all",
                 "exclude_hv", "exclude_callchain_kernel", "use_clockid", "build_id",
                 "watermark"}
        if not self.options.follow_children:
            flags.add("inherit_thread")
        if enable_on_exec:
            flags |= {"disabled", "enable_on_exec"}
        if not self.kernel_mode:
            flags.add("exclude_kernel")
        ring_bytes = self.options.ring_pages * _perf.PAGE_SIZE
        return _perf.Attr(
            type=_perf.PERF_TYPE_SOFTWARE, config=_perf.PERF_COUNT_SW_TASK_CLOCK,
            sample_period=max(1, 1_000_000_000 // self.options.hz),
            sample_type=_SAMPLE_TYPE, flags=frozenset(flags), wakeup=ring_bytes // 4,
            sample_regs_user=X86_64_REGS_MASK,
            sample_stack_user=self.options.stack_bytes, clockid=_perf.CLOCK_MONOTONIC,
        )

    def _open(self, tid: int, enable_on_exec: bool) -> None:
        name = f"task-clock sampling of {tid}"
        for attempt in (0, 1):
            attr = self._attr(enable_on_exec)
            try:
                if self._rings is None:
                    self._rings = _perf.RingSet.create(attr, tid, name,
                                                       pages=self.options.ring_pages)
                else:
                    self._rings.open_on_all(attr, tid, name)
                return
            except PerfError as error:
                # Unprivileged (perf_event_paranoid >= 2): user-mode samples only.
                if attempt or not self.kernel_mode or error.errno not in (
                        errno.EACCES, errno.EPERM):
                    raise
                self.kernel_mode = False

    def add_spawned(self, pid: int) -> None:
        """Sample a started command from its exec on (it is stopped before exec)."""
        self._comms[pid] = _read_comm(pid, pid)
        self._open(pid, enable_on_exec=True)

    def add_attached(self, pid: int) -> None:
        """Sample a running process: every thread it has now, and its mappings."""
        tids = _threads(pid)
        for tid in tids:
            self._comms[tid] = _read_comm(pid, tid)
        self._snapshot(pid, time.time_ns())
        for tid in tids:
            try:
                self._open(tid, enable_on_exec=False)
            except PerfError as error:
                if error.errno != errno.ESRCH:  # a thread that just exited: nothing to sample
                    raise

    # -- reading ------------------------------------------------------------

    def start(self) -> None:
        if self._rings is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="ktr-sampling", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rings = self._rings
            if rings is None:
                return
            rings.poll(_POLL_MS)
            self.drain()

    def drain(self) -> None:
        with self._lock:
            if self._rings is None:
                return
            chunks = self._rings.drain()
        if not chunks:
            return
        samples: list[tuple[int, bytes]] = []
        for chunk in chunks:
            for kind, misc, body in chunk.records():
                if kind == _perf.PERF_RECORD_SAMPLE:
                    samples.append((misc, body))
                else:
                    self._other(kind, misc, body)
        for misc, body in samples:
            self._sample(misc, body)

    def stop(self) -> None:
        """Drain a last time and close every event (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._rings is not None:
            try:
                self.drain()
            finally:
                with self._lock:
                    self._rings.close()
                    self._rings = None

    # -- record conversion --------------------------------------------------

    def _sample(self, misc: int, body: bytes) -> None:
        s = _perf.parse_sample(body, _SAMPLE_TYPE, 0, _REG_COUNT)
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
        comm = self._comms.get(s.tid) or self._comms.get(s.pid, b"")
        self.samples += 1
        self._emit(self._codec.encode_record(
            RecordKind.SAMPLE, s.pid, s.tid, self._clock.to_trace(s.time), comm, payload))

    def _other(self, kind: int, misc: int, body: bytes) -> None:
        if kind == _perf.PERF_RECORD_MMAP2:
            self._mmap(misc, body)
        elif kind == _perf.PERF_RECORD_COMM:
            _pid, tid, comm = _perf.parse_comm(body)
            self._comms[tid] = comm
        elif kind == _perf.PERF_RECORD_FORK:
            pid, ppid, tid, _ptid, when = _perf.parse_fork(body)
            if pid == tid and pid != ppid:  # a new process: its inherited mappings
                self._comms.setdefault(tid, self._comms.get(ppid, b""))
                self._snapshot(pid, self._clock.to_trace(when))
            else:
                self._comms.setdefault(tid, self._comms.get(pid, b""))
        elif kind == _perf.PERF_RECORD_LOST:
            _id, lost = _perf.parse_lost(body)
            self.lost += lost
            self._log_lost(DropError.EOVERFLOW, lost)

    def _mmap(self, misc: int, body: bytes) -> None:
        m = _perf.parse_mmap2(body, misc)
        if not m.prot & _PROT_EXEC:
            return
        when = self._clock.to_trace(self._trailer.read(body).get("time", 0))
        build_id, image = m.build_id, b""
        if m.filename == b"[vdso]":
            build_id, image = self._vdso(m.pid, m.addr, m.addr + m.length)
        self._emit_mmap(m.pid, m.tid, when, m.addr, m.addr + m.length, m.pgoff, m.prot,
                        m.flags, MmapOrigin.EVENT, build_id, m.filename, image)

    def _emit_mmap(self, pid: int, tid: int, when: int, start: int, end: int, offset: int,
                   prot: int, flags: int, origin: MmapOrigin, build_id: bytes, path: bytes,
                   image: bytes) -> None:
        payload = formats.Mmap(start, end, offset, prot, flags, origin, build_id, path, image)
        comm = self._comms.get(tid) or self._comms.get(pid, b"")
        self._emit(self._codec.encode_record(RecordKind.MMAP, pid, tid, when, comm, payload))

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

    def _snapshot(self, pid: int, when: int) -> None:
        """MMAP records (origin SNAPSHOT) for every executable mapping of ``pid`` now."""
        for start, end, offset, prot, flags, path in _executable_maps(pid):
            build_id, image = b"", b""
            if path == b"[vdso]":
                build_id, image = self._vdso(pid, start, end)
            elif path.startswith(b"/"):
                build_id = self._file_build_id(path)
            self._emit_mmap(pid, pid, when, start, end, offset, prot, flags,
                            MmapOrigin.SNAPSHOT, build_id, path, image)

    def _file_build_id(self, path: bytes) -> bytes:
        found = self._build_ids.get(path)
        if found is None:
            text = read_build_id(os.fsdecode(path))
            found = self._build_ids[path] = bytes.fromhex(text) if text else b""
        return found


def _no_output(record: bytes) -> bool:
    raise RuntimeError("ktr: the sampler is not connected to an output")


def _no_loss_log(error: DropError, count: int) -> None:
    raise RuntimeError("ktr: the sampler is not connected to an output")


def _threads(pid: int) -> list[int]:
    try:
        return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return [pid]


def _read_comm(pid: int, tid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/task/{tid}/comm", "rb") as handle:
            return handle.read().rstrip(b"\n")
    except OSError:
        return b""


def _read_memory(pid: int, address: int, size: int) -> bytes:
    try:
        with open(f"/proc/{pid}/mem", "rb", buffering=0) as handle:
            handle.seek(address)
            return handle.read(size)
    except (OSError, OverflowError, ValueError):
        return b""


def _executable_maps(pid: int) -> Iterator[tuple[int, int, int, int, int, bytes]]:
    """(start, end, offset, prot, flags, path) of ``pid``'s executable mappings."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 5 or b"x" not in parts[1]:
            continue
        low, _, high = parts[0].partition(b"-")
        perms = parts[1]
        prot = (1 if perms[0:1] == b"r" else 0) | (2 if perms[1:2] == b"w" else 0) | 4
        flags = 1 if perms[3:4] == b"s" else 2  # MAP_SHARED / MAP_PRIVATE
        path = parts[5].strip() if len(parts) > 5 else b""
        if path.endswith(b" (deleted)"):
            path = path[: -len(b" (deleted)")]
        yield int(low, 16), int(high, 16), int(parts[2], 16), prot, flags, path


__all__ = ["DEFAULT_STACK_BYTES", "MAX_HZ", "MAX_STACK_BYTES", "Sampler", "SamplingOptions"]
