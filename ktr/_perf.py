"""The perf_event adapter: every perf_event_open, perf ioctl, ring mmap and
counter read ktr makes goes through this module (as ``_ptrace`` is for ptrace).

What it offers, bottom up:

- ``Attr``: a frozen description of ``struct perf_event_attr`` (type, config,
  sample_type, read_format, the flag bits by name, clockid, wakeup, user
  registers and stack size, config1/config2), packed by ``Attr.pack`` into the
  kernel's layout (``PERF_ATTR_SIZE_VER8``, 136 bytes; older kernels reject
  unknown non-zero tail bytes only, which ktr never sets).
- ``open_event(attr, pid, cpu, name=...)`` → ``Event``: one descriptor with
  ``enable``/``disable``/``reset``/``event_id``/``set_output``/``read``/
  ``read_group``/``close``. ``name`` is kept for errors.
- ``Ring``: the mmap'd ring buffer of one event (1 + 2^n pages): ``drain()``
  copies every complete record between ``data_tail`` and ``data_head`` (wrap
  handled), frees the space at once, and returns a ``RecordChunk`` whose
  ``records()`` walks headers only, yielding ``(type, misc, body)``; the body
  is the record after its 8-byte header.
- ``RingSet``: one ring per CPU (``rings_for_cpus``), and
  ``RingSet.open_on_all(attr, pid, name)`` which opens ``attr`` once per CPU for
  ``pid`` (a tid) and points each one at that CPU's ring with
  ``PERF_EVENT_IOC_SET_OUTPUT``: the per-CPU, per-task form that works with
  ``inherit=1`` (an inherited ``cpu=-1`` event cannot be mmap'ed).
  ``RingSet.poll(timeout)`` waits until any ring reached its wakeup mark.
  The kernel lets events share a ring only when they are on the same CPU and
  use the same clock: open every event with ``use_clockid`` and
  ``CLOCK_MONOTONIC`` (the only clock tracepoint/uprobe events accept) and
  convert with ``TraceClock``.
- Parsers: ``SampleIdLayout`` reads the ``sample_id_all`` trailer of non-sample
  records; ``parse_sample`` reads a PERF_RECORD_SAMPLE body into ``Sample``;
  ``parse_group_read`` reads a ``PERF_FORMAT_GROUP`` read.
- ``software_event(name)``/``hardware_event(name)``: perf's event names →
  (type, config); ``available_counters()`` lists what this machine can open.

Memory ordering of the ring (the kernel's contract in
``include/uapi/linux/perf_event.h``): read ``data_head``, then an smp_rmb, then
the data, then an smp_mb, then write ``data_tail``. ktr runs on x86-64 only
(its syscall tables are x86's): loads are not reordered with loads and stores
are not reordered with earlier loads there (TSO), so only compiler barriers
are needed, and every access below is a separate call into C (ctypes / mmap
slicing), which the C compiler cannot reorder across. ``data_head`` is read as
one aligned 8-byte load (ctypes ``c_uint64``), never byte by byte.

Guarantees: every failure raises ``ktr.errors.PerfError`` carrying the call,
the event name, the pid and the errno (plus, for EACCES/EPERM, the sysctl or
capability that would allow it); descriptors are opened close-on-exec; nothing
here keeps global state.

Does not: decide which events a recording opens (the perf source does), turn
perf records into ktr records, or define tracepoints (``_tracefs``).
Thread safety: one ``Ring`` must be drained by one thread; ``Event`` objects may
be read from any thread.
"""

from __future__ import annotations

import ctypes
import errno as errno_module
import mmap
import os
import select
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from ._clock import TraceClock
from ._procfs import CAP_PERFMON, CAP_SYS_ADMIN, has_capability
from .errors import PerfError

_NR_PERF_EVENT_OPEN = 298  # x86_64


# The C library through the process's own symbol table (dlopen(NULL)): the
# interpreter is linked against it. ctypes.util.find_library would run
# ldconfig in a subprocess, a cost every start of the recorder would pay.
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_ioctl = _libc.ioctl
_ioctl.restype = ctypes.c_int
_ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)

PAGE_SIZE = mmap.PAGESIZE

# -- perf_event_attr.type
PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_TYPE_HW_CACHE = 3
PERF_TYPE_RAW = 4
PERF_TYPE_BREAKPOINT = 5

# -- config for PERF_TYPE_HARDWARE
PERF_COUNT_HW_CPU_CYCLES = 0
PERF_COUNT_HW_INSTRUCTIONS = 1
PERF_COUNT_HW_CACHE_REFERENCES = 2
PERF_COUNT_HW_CACHE_MISSES = 3
PERF_COUNT_HW_BRANCH_INSTRUCTIONS = 4
PERF_COUNT_HW_BRANCH_MISSES = 5
PERF_COUNT_HW_BUS_CYCLES = 6
PERF_COUNT_HW_STALLED_CYCLES_FRONTEND = 7
PERF_COUNT_HW_STALLED_CYCLES_BACKEND = 8
PERF_COUNT_HW_REF_CPU_CYCLES = 9

# -- config for PERF_TYPE_SOFTWARE
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1
PERF_COUNT_SW_PAGE_FAULTS = 2
PERF_COUNT_SW_CONTEXT_SWITCHES = 3
PERF_COUNT_SW_CPU_MIGRATIONS = 4
PERF_COUNT_SW_PAGE_FAULTS_MIN = 5
PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6
PERF_COUNT_SW_ALIGNMENT_FAULTS = 7
PERF_COUNT_SW_EMULATION_FAULTS = 8
PERF_COUNT_SW_DUMMY = 9
PERF_COUNT_SW_BPF_OUTPUT = 10
PERF_COUNT_SW_CGROUP_SWITCHES = 11

# -- sample_type
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_ADDR = 1 << 3
PERF_SAMPLE_READ = 1 << 4
PERF_SAMPLE_CALLCHAIN = 1 << 5
PERF_SAMPLE_ID = 1 << 6
PERF_SAMPLE_CPU = 1 << 7
PERF_SAMPLE_PERIOD = 1 << 8
PERF_SAMPLE_STREAM_ID = 1 << 9
PERF_SAMPLE_RAW = 1 << 10
PERF_SAMPLE_BRANCH_STACK = 1 << 11
PERF_SAMPLE_REGS_USER = 1 << 12
PERF_SAMPLE_STACK_USER = 1 << 13
PERF_SAMPLE_WEIGHT = 1 << 14
PERF_SAMPLE_DATA_SRC = 1 << 15
PERF_SAMPLE_IDENTIFIER = 1 << 16
PERF_SAMPLE_TRANSACTION = 1 << 17
PERF_SAMPLE_REGS_INTR = 1 << 18
PERF_SAMPLE_PHYS_ADDR = 1 << 19

# -- read_format
PERF_FORMAT_TOTAL_TIME_ENABLED = 1 << 0
PERF_FORMAT_TOTAL_TIME_RUNNING = 1 << 1
PERF_FORMAT_ID = 1 << 2
PERF_FORMAT_GROUP = 1 << 3
PERF_FORMAT_LOST = 1 << 4

# -- perf_event_open flags
PERF_FLAG_FD_NO_GROUP = 1 << 0
PERF_FLAG_FD_OUTPUT = 1 << 1
PERF_FLAG_PID_CGROUP = 1 << 2
PERF_FLAG_FD_CLOEXEC = 1 << 3

# -- ioctls (_IO/_IOR/_IOW('$', n, ...))
PERF_EVENT_IOC_ENABLE = 0x2400
PERF_EVENT_IOC_DISABLE = 0x2401
PERF_EVENT_IOC_REFRESH = 0x2402
PERF_EVENT_IOC_RESET = 0x2403
PERF_EVENT_IOC_PERIOD = 0x40082404
PERF_EVENT_IOC_SET_OUTPUT = 0x2405
PERF_EVENT_IOC_SET_FILTER = 0x40082406
PERF_EVENT_IOC_ID = 0x80082407
PERF_EVENT_IOC_PAUSE_OUTPUT = 0x40042409
PERF_IOC_FLAG_GROUP = 1

# -- ring record types (perf_event_header.type)
PERF_RECORD_MMAP = 1
PERF_RECORD_LOST = 2
PERF_RECORD_COMM = 3
PERF_RECORD_EXIT = 4
PERF_RECORD_THROTTLE = 5
PERF_RECORD_UNTHROTTLE = 6
PERF_RECORD_FORK = 7
PERF_RECORD_READ = 8
PERF_RECORD_SAMPLE = 9
PERF_RECORD_MMAP2 = 10
PERF_RECORD_AUX = 11
PERF_RECORD_ITRACE_START = 12
PERF_RECORD_LOST_SAMPLES = 13
PERF_RECORD_SWITCH = 14
PERF_RECORD_SWITCH_CPU_WIDE = 15

# -- perf_event_header.misc
PERF_RECORD_MISC_CPUMODE_MASK = 7
PERF_RECORD_MISC_KERNEL = 1
PERF_RECORD_MISC_USER = 2
PERF_RECORD_MISC_SWITCH_OUT = 1 << 13
PERF_RECORD_MISC_SWITCH_OUT_PREEMPT = 1 << 14
PERF_RECORD_MISC_COMM_EXEC = 1 << 13
PERF_RECORD_MISC_MMAP_BUILD_ID = 1 << 14

PERF_ATTR_SIZE = 136  # PERF_ATTR_SIZE_VER8

#: The clock every ktr perf event is opened with (``use_clockid``). Tracepoint
#: and uprobe events accept only CLOCK_MONOTONIC(_RAW) (CLOCK_REALTIME is
#: EINVAL for them, measured on 6.18); ``TraceClock`` converts to the trace's
#: realtime clock.
CLOCK_MONOTONIC = 1

#: perf_event_attr flag bits, by the bitfield's name, in the kernel's order.
ATTR_FLAG_BITS: dict[str, int] = {
    name: bit for bit, name in enumerate((
        "disabled", "inherit", "pinned", "exclusive", "exclude_user", "exclude_kernel",
        "exclude_hv", "exclude_idle", "mmap", "comm", "freq", "inherit_stat",
        "enable_on_exec", "task", "watermark", "precise_ip_0", "precise_ip_1", "mmap_data",
        "sample_id_all", "exclude_host", "exclude_guest", "exclude_callchain_kernel",
        "exclude_callchain_user", "mmap2", "comm_exec", "use_clockid", "context_switch",
        "write_backward", "namespaces", "ksymbol", "bpf_event", "aux_output", "cgroup",
        "text_poke", "build_id", "inherit_thread", "remove_on_exec", "sigtrap",
    ))
}

# struct perf_event_attr, PERF_ATTR_SIZE_VER8 (little-endian x86-64):
# type size config period/freq sample_type read_format flags wakeup bp_type
# config1 config2 branch_sample_type sample_regs_user sample_stack_user clockid
# sample_regs_intr aux_watermark sample_max_stack reserved2 aux_sample_size
# reserved3 sig_data config3
_ATTR = struct.Struct("<IIQQQQQIIQQQQIiQIHHIIQQ")
assert _ATTR.size == PERF_ATTR_SIZE

_HEADER = struct.Struct("<IHH")  # perf_event_header: type u32, misc u16, size u16
_U64 = struct.Struct("<Q")
_LOST = struct.Struct("<QQ")  # id, lost

# struct perf_event_mmap_page offsets
_DATA_HEAD = 1024
_DATA_TAIL = 1032
_DATA_OFFSET = 1040
_DATA_SIZE = 1048

#: Software events by perf's names (``perf list sw``).
SOFTWARE_EVENTS: dict[str, int] = {
    "cpu-clock": PERF_COUNT_SW_CPU_CLOCK,
    "task-clock": PERF_COUNT_SW_TASK_CLOCK,
    "page-faults": PERF_COUNT_SW_PAGE_FAULTS,
    "faults": PERF_COUNT_SW_PAGE_FAULTS,
    "context-switches": PERF_COUNT_SW_CONTEXT_SWITCHES,
    "cs": PERF_COUNT_SW_CONTEXT_SWITCHES,
    "cpu-migrations": PERF_COUNT_SW_CPU_MIGRATIONS,
    "migrations": PERF_COUNT_SW_CPU_MIGRATIONS,
    "minor-faults": PERF_COUNT_SW_PAGE_FAULTS_MIN,
    "major-faults": PERF_COUNT_SW_PAGE_FAULTS_MAJ,
    "alignment-faults": PERF_COUNT_SW_ALIGNMENT_FAULTS,
    "emulation-faults": PERF_COUNT_SW_EMULATION_FAULTS,
    "dummy": PERF_COUNT_SW_DUMMY,
}

#: Hardware events by perf's names (``perf list hw``).
HARDWARE_EVENTS: dict[str, int] = {
    "cycles": PERF_COUNT_HW_CPU_CYCLES,
    "cpu-cycles": PERF_COUNT_HW_CPU_CYCLES,
    "instructions": PERF_COUNT_HW_INSTRUCTIONS,
    "cache-references": PERF_COUNT_HW_CACHE_REFERENCES,
    "cache-misses": PERF_COUNT_HW_CACHE_MISSES,
    "branch-instructions": PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
    "branches": PERF_COUNT_HW_BRANCH_INSTRUCTIONS,
    "branch-misses": PERF_COUNT_HW_BRANCH_MISSES,
    "bus-cycles": PERF_COUNT_HW_BUS_CYCLES,
    "stalled-cycles-frontend": PERF_COUNT_HW_STALLED_CYCLES_FRONTEND,
    "stalled-cycles-backend": PERF_COUNT_HW_STALLED_CYCLES_BACKEND,
    "ref-cycles": PERF_COUNT_HW_REF_CPU_CYCLES,
}

#: The names ``--list-counters`` prints (aliases left out).
_CANONICAL = (
    "task-clock", "cpu-clock", "page-faults", "minor-faults", "major-faults",
    "context-switches", "cpu-migrations", "alignment-faults", "emulation-faults",
    "cycles", "instructions", "cache-references", "cache-misses", "branch-instructions",
    "branch-misses", "bus-cycles", "stalled-cycles-frontend", "stalled-cycles-backend",
    "ref-cycles",
)


def counter_event(name: str) -> tuple[int, int] | None:
    """perf's event name → (type, config), or None if ktr does not know it."""
    if name in SOFTWARE_EVENTS:
        return PERF_TYPE_SOFTWARE, SOFTWARE_EVENTS[name]
    if name in HARDWARE_EVENTS:
        return PERF_TYPE_HARDWARE, HARDWARE_EVENTS[name]
    return None


@dataclass(frozen=True)
class Attr:
    """``struct perf_event_attr``. ``flags`` names bits of ``ATTR_FLAG_BITS``.

    ``sample_period`` doubles as ``sample_freq`` when ``freq`` is in ``flags``;
    ``wakeup`` is ``wakeup_events``, or ``wakeup_watermark`` (bytes) when
    ``watermark`` is in ``flags``. ``config1``/``config2`` are also the
    breakpoint address/length and the uprobe path/offset.
    """

    type: int
    config: int = 0
    sample_period: int = 0
    sample_type: int = 0
    read_format: int = 0
    flags: frozenset[str] = frozenset()
    wakeup: int = 0
    bp_type: int = 0
    config1: int = 0
    config2: int = 0
    branch_sample_type: int = 0
    sample_regs_user: int = 0
    sample_stack_user: int = 0
    clockid: int = 0
    sample_regs_intr: int = 0
    aux_watermark: int = 0
    sample_max_stack: int = 0
    aux_sample_size: int = 0
    sig_data: int = 0
    config3: int = 0

    def flag_bits(self) -> int:
        bits = 0
        for name in self.flags:
            try:
                bits |= 1 << ATTR_FLAG_BITS[name]
            except KeyError:
                raise ValueError(f"unknown perf_event_attr flag {name!r}") from None
        return bits

    def pack(self) -> bytes:
        return _ATTR.pack(
            self.type, PERF_ATTR_SIZE, self.config, self.sample_period, self.sample_type,
            self.read_format, self.flag_bits(), self.wakeup, self.bp_type, self.config1,
            self.config2, self.branch_sample_type, self.sample_regs_user,
            self.sample_stack_user, self.clockid, self.sample_regs_intr, self.aux_watermark,
            self.sample_max_stack, 0, self.aux_sample_size, 0, self.sig_data, self.config3,
        )


def permission_hint(error_number: int, attr: Attr | None = None, pid: int = -1) -> str:
    """What would allow a refused perf_event_open (for EACCES/EPERM), else ''."""
    if error_number not in (errno_module.EACCES, errno_module.EPERM):
        if error_number == errno_module.ENOENT and attr is not None and attr.type in (
                PERF_TYPE_HARDWARE, PERF_TYPE_HW_CACHE, PERF_TYPE_RAW):
            return "this machine has no hardware PMU"
        return ""
    if has_capability(CAP_PERFMON) or has_capability(CAP_SYS_ADMIN):
        # perf_event_paranoid does not apply to this process: what refused
        # the call is a policy on top (seccomp, an LSM, a container runtime).
        return ("refused although this process has CAP_PERFMON or CAP_SYS_ADMIN: a "
                "security policy (seccomp, SELinux/AppArmor, a container) forbids it")
    paranoid = _paranoid()
    level = "unknown" if paranoid is None else str(paranoid)
    if attr is not None and "exclude_kernel" not in attr.flags and paranoid is not None \
            and paranoid >= 2:
        return (f"kernel.perf_event_paranoid is {level}; kernel-mode counting needs it "
                "at 1 or less, or CAP_PERFMON")
    if pid > 0:
        return (f"kernel.perf_event_paranoid is {level}; another user's process needs "
                "CAP_PERFMON (or CAP_SYS_ADMIN), or ptrace access to it")
    return f"kernel.perf_event_paranoid is {level}; needs CAP_PERFMON or a lower setting"


def _paranoid() -> int | None:
    try:
        with open("/proc/sys/kernel/perf_event_paranoid", "rb") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


def max_sample_rate() -> int | None:
    """kernel.perf_event_max_sample_rate now (the kernel lowers it by itself when its
    sampling interrupts take too long); None if unreadable."""
    try:
        with open("/proc/sys/kernel/perf_event_max_sample_rate", "rb") as file:
            return int(file.read().strip())
    except (OSError, ValueError):
        return None


class Event:
    """One perf event descriptor (from ``open_event``)."""

    __slots__ = ("_closed", "attr", "cpu", "fd", "name", "pid")

    def __init__(self, fd: int, name: str, pid: int, cpu: int, attr: Attr) -> None:
        self.fd = fd
        self.name = name
        self.pid = pid
        self.cpu = cpu
        self.attr = attr
        self._closed = False

    def fileno(self) -> int:
        return self.fd

    def _ioctl(self, request: int, argument: int | ctypes.c_uint64 | None, call: str) -> int:
        arg: int | ctypes._Pointer[ctypes.c_uint64] | None
        arg = ctypes.pointer(argument) if isinstance(argument, ctypes.c_uint64) else argument
        result = _ioctl(self.fd, request, arg)
        if result < 0:
            raise PerfError(call, self.name, ctypes.get_errno(), self.pid)
        return int(result)

    def enable(self, group: bool = False) -> None:
        self._ioctl(PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP if group else 0,
                    "ioctl(ENABLE)")

    def disable(self, group: bool = False) -> None:
        self._ioctl(PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP if group else 0,
                    "ioctl(DISABLE)")

    def reset(self, group: bool = False) -> None:
        self._ioctl(PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP if group else 0,
                    "ioctl(RESET)")

    def event_id(self) -> int:
        """The kernel's id of this event (PERF_EVENT_IOC_ID; ``id`` in records)."""
        value = ctypes.c_uint64(0)
        self._ioctl(PERF_EVENT_IOC_ID, value, "ioctl(ID)")
        return value.value

    def set_output(self, target: Event | Ring | None) -> None:
        """Send this event's records into ``target``'s ring (same CPU), or
        stop sending (None)."""
        fd = -1 if target is None else target.fileno()
        self._ioctl(PERF_EVENT_IOC_SET_OUTPUT, fd, "ioctl(SET_OUTPUT)")

    def set_filter(self, text: str) -> None:
        """A tracepoint event's filter expression."""
        buffer = ctypes.create_string_buffer(text.encode())
        self._ioctl(PERF_EVENT_IOC_SET_FILTER, ctypes.addressof(buffer), "ioctl(SET_FILTER)")

    def read(self, size: int = 64 * 1024) -> bytes:
        """One read() of the counter (layout by ``attr.read_format``)."""
        try:
            return os.read(self.fd, size)
        except OSError as error:
            raise PerfError("read", self.name, error.errno or 0, self.pid) from None

    def read_group(self) -> GroupReading:
        """Read a PERF_FORMAT_GROUP leader: every member's value in one call."""
        return parse_group_read(self.read(), self.attr.read_format)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            os.close(self.fd)

    def __enter__(self) -> Event:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_event(attr: Attr, pid: int = 0, cpu: int = -1, group: Event | None = None,
               name: str = "", flags: int = PERF_FLAG_FD_CLOEXEC) -> Event:
    """perf_event_open(``attr``, pid, cpu, group fd, flags) → Event.

    ``pid`` 0 is the calling thread, -1 every task (with a ``cpu``); a tid
    otherwise. ``name`` names the event in errors (defaults to type:config).
    """
    label = name or f"{attr.type}:{attr.config:#x}"
    buffer = ctypes.create_string_buffer(attr.pack(), PERF_ATTR_SIZE)
    group_fd = -1 if group is None else group.fd
    fd = _syscall(_NR_PERF_EVENT_OPEN, buffer, ctypes.c_int(pid), ctypes.c_int(cpu),
                  ctypes.c_int(group_fd), ctypes.c_ulong(flags))
    if fd < 0:
        error_number = ctypes.get_errno()
        raise PerfError("perf_event_open", label, error_number, pid,
                        permission_hint(error_number, attr, pid))
    return Event(int(fd), label, pid, cpu, attr)


class GroupReading(NamedTuple):
    """A PERF_FORMAT_GROUP read: values in group order (leader first)."""

    time_enabled: int  # 0 unless TOTAL_TIME_ENABLED
    time_running: int  # 0 unless TOTAL_TIME_RUNNING
    values: tuple[int, ...]
    ids: tuple[int, ...]  # empty unless PERF_FORMAT_ID


def parse_group_read(data: bytes | memoryview, read_format: int, offset: int = 0
                     ) -> GroupReading:
    """Decode ``{ nr; [time_enabled]; [time_running]; { value; [id]; [lost] }[nr] }``."""
    (nr,) = _U64.unpack_from(data, offset)
    offset += 8
    enabled = running = 0
    if read_format & PERF_FORMAT_TOTAL_TIME_ENABLED:
        (enabled,) = _U64.unpack_from(data, offset)
        offset += 8
    if read_format & PERF_FORMAT_TOTAL_TIME_RUNNING:
        (running,) = _U64.unpack_from(data, offset)
        offset += 8
    per = 1 + bool(read_format & PERF_FORMAT_ID) + bool(read_format & PERF_FORMAT_LOST)
    words = struct.unpack_from(f"<{nr * per}Q", data, offset)
    values = tuple(words[0::per])
    ids = tuple(words[1::per]) if read_format & PERF_FORMAT_ID else ()
    return GroupReading(enabled, running, values, ids)


def read_format_size(read_format: int, members: int = 1) -> int:
    """Bytes one read (or PERF_SAMPLE_READ) takes for ``members`` events."""
    per = 1 + bool(read_format & PERF_FORMAT_ID) + bool(read_format & PERF_FORMAT_LOST)
    times = bool(read_format & PERF_FORMAT_TOTAL_TIME_ENABLED) + bool(
        read_format & PERF_FORMAT_TOTAL_TIME_RUNNING)
    if read_format & PERF_FORMAT_GROUP:
        return 8 * (1 + times + per * members)
    return 8 * (times + per)


# ---------------------------------------------------------------- rings


class RecordChunk:
    """Records copied out of a ring in one drain: ``records()`` walks them."""

    __slots__ = ("cpu", "data")

    def __init__(self, data: bytes, cpu: int) -> None:
        self.data = data
        self.cpu = cpu

    def records(self) -> Iterator[tuple[int, int, bytes]]:
        """(type, misc, body without the 8-byte header) for every record."""
        data = self.data
        end = len(data)
        unpack = _HEADER.unpack_from
        offset = 0
        while offset + 8 <= end:
            kind, misc, size = unpack(data, offset)
            if size < 8:
                return  # corrupt: the kernel never writes this; stop rather than spin
            yield kind, misc, data[offset + 8:offset + size]
            offset += size

    def __len__(self) -> int:
        return len(self.data)


class Ring:
    """The mmap'd ring of one event: a metadata page and 2^n data pages."""

    def __init__(self, event: Event, pages: int = 64) -> None:
        if pages & (pages - 1) or pages <= 0:
            raise ValueError("ring pages must be a power of two")
        self.event = event
        self.cpu = event.cpu
        try:
            self._map = mmap.mmap(event.fd, (1 + pages) * PAGE_SIZE, mmap.MAP_SHARED,
                                  mmap.PROT_READ | mmap.PROT_WRITE)
        except OSError as error:
            raise PerfError("mmap", event.name, error.errno or 0, event.pid,
                            "the ring exceeds kernel.perf_event_mlock_kb"
                            if error.errno == errno_module.EPERM else "") from None
        self._head = ctypes.c_uint64.from_buffer(self._map, _DATA_HEAD)
        self._tail = ctypes.c_uint64.from_buffer(self._map, _DATA_TAIL)
        offset = ctypes.c_uint64.from_buffer(self._map, _DATA_OFFSET).value
        size = ctypes.c_uint64.from_buffer(self._map, _DATA_SIZE).value
        self._data_offset = offset or PAGE_SIZE
        self._data_size = size or pages * PAGE_SIZE
        self.lost_records = 0  # PERF_RECORD_LOST totals seen by the caller are its own

    def fileno(self) -> int:
        return self.event.fd

    @property
    def size(self) -> int:
        return self._data_size

    def pending(self) -> int:
        """Bytes written by the kernel and not yet drained."""
        return int(self._head.value - self._tail.value)

    def drain(self) -> RecordChunk:
        """Copy out every complete record and give the space back to the kernel."""
        head = self._head.value  # one aligned 8-byte load; then (x86) loads stay after it
        tail = self._tail.value
        if head == tail:
            return RecordChunk(b"", self.cpu)
        size = self._data_size
        base = self._data_offset
        start = tail % size
        length = head - tail
        if start + length <= size:
            data = self._map[base + start:base + start + length]
        else:
            first = size - start
            data = (self._map[base + start:base + size]
                    + self._map[base:base + length - first])
        self._tail.value = head  # a store after the loads above: the kernel may reuse it
        return RecordChunk(data, self.cpu)

    def close(self) -> None:
        # the ctypes views pin the buffer: drop them before closing the map
        del self._head
        del self._tail
        self._map.close()


def online_cpus() -> list[int]:
    """CPUs perf events can be opened on (``/sys/devices/system/cpu/online``)."""
    try:
        with open("/sys/devices/system/cpu/online") as file:
            text = file.read().strip()
    except OSError:
        return list(range(os.cpu_count() or 1))
    cpus: list[int] = []
    for part in text.split(","):
        if "-" in part:
            low, high = part.split("-")
            cpus.extend(range(int(low), int(high) + 1))
        elif part:
            cpus.append(int(part))
    return cpus


@dataclass
class RingSet:
    """One ring per CPU; events for any task on a CPU can share that CPU's ring.

    Build with ``RingSet.create(owner_attr, pid, ...)``: the owner events (one
    per CPU, for ``pid``) carry the rings; ``open_on_all`` adds events for other
    tids whose records go to the same rings. ``close`` closes every event this
    set opened and unmaps the rings.
    """

    rings: dict[int, Ring] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    _poller: select.poll = field(default_factory=select.poll)

    @classmethod
    def create(cls, attr: Attr, pid: int, name: str, pages: int = 64,
               cpus: Iterable[int] | None = None) -> RingSet:
        ring_set = cls()
        try:
            for cpu in (online_cpus() if cpus is None else cpus):
                event = open_event(attr, pid, cpu, name=name)
                ring_set.events.append(event)
                ring = Ring(event, pages)
                ring_set.rings[cpu] = ring
                ring_set._poller.register(event.fd, select.POLLIN)
        except BaseException:
            ring_set.close()
            raise
        return ring_set

    def open_on_all(self, attr: Attr, pid: int, name: str,
                    group: dict[int, Event] | None = None) -> dict[int, Event]:
        """Open ``attr`` for ``pid`` on every CPU of the set, output into that
        CPU's ring; the events by CPU. On failure none is left open."""
        opened: dict[int, Event] = {}
        try:
            for cpu, ring in self.rings.items():
                leader = None if group is None else group.get(cpu)
                event = open_event(attr, pid, cpu, group=leader, name=name)
                opened[cpu] = event
                event.set_output(ring)
        except BaseException:
            for event in opened.values():
                event.close()
            raise
        self.events.extend(opened.values())
        return opened

    def forget(self, events: Iterable[Event]) -> None:
        """Close events opened by ``open_on_all`` (a thread has gone)."""
        gone = {id(event) for event in events}
        for event in self.events:
            if id(event) in gone:
                event.close()
        self.events = [event for event in self.events if id(event) not in gone]

    def poll(self, timeout_ms: float | None) -> bool:
        """Wait until a ring reached its wakeup mark (or the timeout); True if one did."""
        try:
            return bool(self._poller.poll(timeout_ms))
        except InterruptedError:
            return False

    def drain(self) -> list[RecordChunk]:
        """Every ring's pending records (CPU order)."""
        chunks = []
        for ring in self.rings.values():
            chunk = ring.drain()
            if chunk.data:
                chunks.append(chunk)
        return chunks

    def close(self) -> None:
        for ring in self.rings.values():
            ring.close()
        self.rings.clear()
        for event in self.events:
            event.close()
        self.events.clear()


# ------------------------------------------------------------- parsing


class SampleIdLayout:
    """Reads the ``sample_id_all`` trailer of non-sample records.

    The trailer holds, in order and only when selected in ``sample_type``:
    pid, tid (TID); time (TIME); id (ID); stream_id (STREAM_ID); cpu, res
    (CPU); identifier (IDENTIFIER).
    """

    __slots__ = ("_names", "_struct", "size")

    def __init__(self, sample_type: int) -> None:
        parts: list[tuple[str, str]] = []
        if sample_type & PERF_SAMPLE_TID:
            parts += [("pid", "i"), ("tid", "i")]
        if sample_type & PERF_SAMPLE_TIME:
            parts.append(("time", "Q"))
        if sample_type & PERF_SAMPLE_ID:
            parts.append(("id", "Q"))
        if sample_type & PERF_SAMPLE_STREAM_ID:
            parts.append(("stream_id", "Q"))
        if sample_type & PERF_SAMPLE_CPU:
            parts += [("cpu", "I"), ("res", "I")]
        if sample_type & PERF_SAMPLE_IDENTIFIER:
            parts.append(("identifier", "Q"))
        self._struct = struct.Struct("<" + "".join(code for _, code in parts))
        self._names = tuple(name for name, _ in parts)
        self.size = self._struct.size

    def read(self, body: bytes) -> dict[str, int]:
        """The trailer's fields by name (from the end of ``body``)."""
        values = self._struct.unpack_from(body, len(body) - self.size)
        return dict(zip(self._names, values, strict=True))

    def unpack(self, body: bytes) -> tuple[int, ...]:
        """The trailer's values in layout order (the cheap form)."""
        return self._struct.unpack_from(body, len(body) - self.size)


class Sample(NamedTuple):
    """A PERF_RECORD_SAMPLE body; fields not in ``sample_type`` are 0 / empty."""

    identifier: int
    ip: int
    pid: int
    tid: int
    time: int
    addr: int
    id: int
    stream_id: int
    cpu: int
    period: int
    read: bytes  # the raw read_format block (parse_group_read decodes a group)
    callchain: tuple[int, ...]
    raw: bytes
    regs_abi: int  # PERF_SAMPLE_REGS_ABI_*: 0 none (e.g. a kernel thread), 2 64-bit
    regs: tuple[int, ...]  # in sample_regs_user bit order
    stack: bytes  # the user stack copy, ``dyn_size`` bytes of it
    stack_size: int  # the size asked for (the copy's capacity)


def parse_sample(body: bytes, sample_type: int, read_size: int = 0, regs_count: int = 0
                 ) -> Sample:
    """Decode a sample body for ``sample_type``. ``read_size``: bytes of the
    READ block (``read_format_size``); ``regs_count``: bits set in
    ``sample_regs_user``. Branch stacks and the fields after STACK_USER are
    not decoded."""
    offset = 0
    unpack = _U64.unpack_from

    def word() -> int:
        nonlocal offset
        (value,) = unpack(body, offset)
        offset += 8
        return int(value)

    identifier = ip = pid = tid = time = addr = ident = stream_id = cpu = period = 0
    read = raw = stack = b""
    callchain: tuple[int, ...] = ()
    regs: tuple[int, ...] = ()
    regs_abi = stack_size = 0
    if sample_type & PERF_SAMPLE_IDENTIFIER:
        identifier = word()
    if sample_type & PERF_SAMPLE_IP:
        ip = word()
    if sample_type & PERF_SAMPLE_TID:
        pid, tid = struct.unpack_from("<ii", body, offset)
        offset += 8
    if sample_type & PERF_SAMPLE_TIME:
        time = word()
    if sample_type & PERF_SAMPLE_ADDR:
        addr = word()
    if sample_type & PERF_SAMPLE_ID:
        ident = word()
    if sample_type & PERF_SAMPLE_STREAM_ID:
        stream_id = word()
    if sample_type & PERF_SAMPLE_CPU:
        cpu = struct.unpack_from("<I", body, offset)[0]
        offset += 8
    if sample_type & PERF_SAMPLE_PERIOD:
        period = word()
    if sample_type & PERF_SAMPLE_READ:
        read = body[offset:offset + read_size]
        offset += read_size
    if sample_type & PERF_SAMPLE_CALLCHAIN:
        count = word()
        callchain = struct.unpack_from(f"<{count}Q", body, offset)
        offset += 8 * count
    if sample_type & PERF_SAMPLE_RAW:
        (size,) = struct.unpack_from("<I", body, offset)
        raw = body[offset + 4:offset + 4 + size]
        offset += 4 + size  # the kernel pads u32 size + data to a multiple of 8
    if sample_type & PERF_SAMPLE_BRANCH_STACK:
        count = word()
        offset += 24 * count  # (hw_idx is only there with BRANCH_HW_INDEX: not used)
    if sample_type & PERF_SAMPLE_REGS_USER:
        regs_abi = word()
        if regs_abi:
            regs = struct.unpack_from(f"<{regs_count}Q", body, offset)
            offset += 8 * regs_count
    if sample_type & PERF_SAMPLE_STACK_USER:
        stack_size = word()
        if stack_size:
            data = body[offset:offset + stack_size]
            offset += stack_size
            dynamic = word()
            stack = data[:dynamic]
    return Sample(identifier, ip, pid, tid, time, addr, ident, stream_id, cpu, period, read,
                  callchain, raw, regs_abi, regs, stack, stack_size)


#: Callchain entries at and above this are context markers (PERF_CONTEXT_USER...).
PERF_CONTEXT_MAX = (1 << 64) - 4095
PERF_SAMPLE_REGS_ABI_32 = 1
PERF_SAMPLE_REGS_ABI_64 = 2

_MMAP2_HEAD = struct.Struct("<iiQQQ")  # pid, tid, addr, len, pgoff
_MMAP2_TAIL = struct.Struct("<II")  # prot, flags


class Mmap2(NamedTuple):
    """A PERF_RECORD_MMAP2 body (without its sample_id trailer)."""

    pid: int
    tid: int
    addr: int
    length: int
    pgoff: int
    build_id: bytes  # empty unless the record carries one (PERF_RECORD_MISC_MMAP_BUILD_ID)
    prot: int
    flags: int
    filename: bytes


def parse_mmap2(body: bytes, misc: int) -> Mmap2:
    """Decode a PERF_RECORD_MMAP2 body (``misc`` says whether it holds a build id)."""
    pid, tid, addr, length, pgoff = _MMAP2_HEAD.unpack_from(body, 0)
    build_id = b""
    if misc & PERF_RECORD_MISC_MMAP_BUILD_ID:
        size = body[32]
        build_id = body[36:36 + min(size, 20)]
    prot, flags = _MMAP2_TAIL.unpack_from(body, 56)
    end = body.find(b"\0", 64)
    filename = body[64:end if end >= 0 else len(body)]
    return Mmap2(pid, tid, addr, length, pgoff, build_id, prot, flags, filename)


def parse_comm(body: bytes) -> tuple[int, int, bytes]:
    """A PERF_RECORD_COMM body: (pid, tid, command name)."""
    pid, tid = struct.unpack_from("<ii", body, 0)
    end = body.find(b"\0", 8)
    return pid, tid, body[8:end if end >= 0 else len(body)]


def parse_fork(body: bytes) -> tuple[int, int, int, int, int]:
    """A PERF_RECORD_FORK/EXIT body: (pid, ppid, tid, ptid, time)."""
    pid, ppid, tid, ptid, when = struct.unpack_from("<iiiiQ", body, 0)
    return pid, ppid, tid, ptid, when


def parse_lost(body: bytes) -> tuple[int, int]:
    """A PERF_RECORD_LOST body: (event id, records lost)."""
    event_id, lost = _LOST.unpack_from(body, 0)
    return int(event_id), int(lost)


def parse_lost_at(body: bytes, trailer: SampleIdLayout) -> tuple[int, int | None]:
    """A PERF_RECORD_LOST body with its ``sample_id_all`` trailer: (records lost, the
    perf time of the loss, None when the trailer has no time). The kernel writes a LOST
    record in the ring's order, just before the first record it could write again, with
    that record's time: where the gap ends. In a per-CPU ring that is where the gap ends
    for a thread that stayed on that CPU; one that moved to another CPU meanwhile had
    hits written to the other ring before it (the LOST then comes later than the gap)."""
    _event_id, lost = _LOST.unpack_from(body, 0)
    time = trailer.read(body).get("time") if len(body) >= 16 + trailer.size else None
    return int(lost), time


#: The tests' hook for small context-switch and sample rings (data pages per CPU, a
#: power of two), which a busy program overruns at once: ring losses on demand.
RING_PAGES_TEST_ENV = "KTR_TEST_RING_PAGES"


def test_ring_pages() -> int:
    """``RING_PAGES_TEST_ENV``'s pages, 0 when unset."""
    return int(os.environ.get(RING_PAGES_TEST_ENV) or 0)


class RingLoss(NamedTuple):
    """A PERF_RECORD_LOST of one CPU's ring, placed where the gap began."""

    lost: int  # records the kernel could not write
    cpu: int | None  # the CPU whose ring lost them (None: not known)
    at: int | None  # perf time where the gap began (None: not known)
    written: int | None  # perf time of the LOST record itself: where the gap ended


def ring_loss(body: bytes, trailer: SampleIdLayout, cpu: int, last_kept: int | None
              ) -> RingLoss:
    """A LOST record of CPU ``cpu``'s ring (-1: unknown), ``last_kept`` the perf time
    of the last record that ring kept before it that the trace holds (a switch, a
    sample; None: none this recording).

    The kernel stamps a LOST with the time of the first record it could write again:
    the gap's end. For a thread that moved to another CPU meanwhile that can be long
    after its records were lost (the ring refills only when some thread runs there
    again), so the loss is placed where the gap began instead: 1 ns after that
    ring's last record in the trace — every lost record was made after that one
    (the ring's FORK or COMM records, not in the trace, may lie between), and the
    ring's next record stands after it. Without a record kept before it, the LOST's
    own time is all that is known."""
    lost, written = parse_lost_at(body, trailer)
    at = written if last_kept is None else last_kept + 1
    return RingLoss(lost, cpu if cpu >= 0 else None, at, written)


def available_counters() -> list[str]:
    """The counter names (``_CANONICAL``) that can be opened on this machine,
    tried as user-mode counters of the calling thread."""
    names = []
    for name in _CANONICAL:
        kind = counter_event(name)
        assert kind is not None
        attr = Attr(type=kind[0], config=kind[1],
                    flags=frozenset({"disabled", "exclude_kernel", "exclude_hv"}))
        try:
            open_event(attr, 0, -1, name=name).close()
        except PerfError:
            continue
        names.append(name)
    return names


__all__ = [
    "Attr",
    "Event",
    "GroupReading",
    "Mmap2",
    "RecordChunk",
    "Ring",
    "RingSet",
    "Sample",
    "SampleIdLayout",
    "TraceClock",
    "available_counters",
    "counter_event",
    "online_cpus",
    "open_event",
    "parse_comm",
    "parse_fork",
    "parse_group_read",
    "parse_lost",
    "parse_mmap2",
    "parse_sample",
    "permission_hint",
    "read_format_size",
]
