"""What the control loop reads from ``/proc`` about its (future) tracees.

Guarantees: every reader returns a neutral value (``None``, ``b""``, an empty
collection) when the process or thread has gone, instead of raising; a
process can vanish between any two reads and callers must expect that.

Does not: interpret anything beyond what the recorder needs (thread lists,
parent/group links, comm, signal dispositions, tracer, executable ABI, the
mappings of ``/proc/PID/maps`` and their ``map_files`` links, the pid
namespace and boot id that say where a recorder pid means something).
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from formats import Abi

from ._events import ACTION_CAUGHT

#: linux/capability.h bit numbers.
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38

_DELETED = b" (deleted)"  # how maps names a mapped file that was unlinked

_ELF_MAGIC = b"\x7fELF"
_ELFCLASS32 = 1
_ELFCLASS64 = 2
_EM_386 = 3
_EM_X86_64 = 62


def pid_namespace() -> int | None:
    """This process's pid namespace: the inode of ``/proc/self/ns/pid`` (None: unknown).

    Pids mean something only within it: a recorder in another container on the
    same kernel has pids that name nothing here, or other processes.
    """
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def foreign_procfs() -> str | None:
    """None when ``/proc`` is this process's pid namespace's procfs; else what it
    calls this process (``/proc/self``'s target, or ``"nothing"``).

    In a pid namespace whose ``/proc`` was mounted for another (``unshare -pf``
    without ``--mount-proc``), ``/proc/N`` is that namespace's process N: another
    process's memory, name, working directory and fds, read as the tracee's.
    Without any procfs mounted, None (what needs it fails and says so).
    """
    try:
        shown = os.readlink("/proc/self")
    except OSError:
        try:
            mounted = any(name.isdigit() for name in os.listdir("/proc"))
        except OSError:
            return None
        return "nothing" if mounted else None
    return None if shown == str(os.getpid()) else shown


def boot_id() -> str | None:
    """This boot's id (``/proc/sys/kernel/random/boot_id``), None if unreadable."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except (OSError, ValueError):
        return None


def recorder_identity() -> dict[str, object]:
    """Where this recorder's pid means something (the header's ``recorder`` option):
    ``pid_namespace`` and ``boot_id``, each left out when unknown."""
    identity: dict[str, object] = {}
    namespace = pid_namespace()
    if namespace is not None:
        identity["pid_namespace"] = namespace
    boot = boot_id()
    if boot is not None:
        identity["boot_id"] = boot
    return identity


def read_comm(tid: int) -> bytes:
    """The thread's command name (``/proc/TID/comm``), without the newline."""
    try:
        with open(f"/proc/{tid}/comm", "rb") as comm:
            return comm.read().rstrip(b"\n")
    except OSError:
        return b""


def read_status(tid: int) -> dict[bytes, bytes]:
    """``/proc/TID/status`` as a mapping of field name to raw value."""
    fields: dict[bytes, bytes] = {}
    try:
        with open(f"/proc/{tid}/status", "rb") as status:
            for line in status:
                name, _, value = line.partition(b":")
                fields[name] = value.strip()
    except OSError:
        pass
    return fields


def has_capability(capability: int) -> bool:
    """Whether this process has ``capability`` (a ``CAP_*`` bit) in its effective set."""
    effective = read_status(os.getpid()).get(b"CapEff")
    try:
        return effective is not None and bool(int(effective, 16) >> capability & 1)
    except ValueError:
        return False


def _stat_fields(pid: int) -> list[bytes] | None:
    """``/proc/PID/stat``'s fields after comm (state first); None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: the fields start after the last ')'
    return data[data.rfind(b")") + 2 :].split()


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/PID/stat``'s
    starttime); None if gone. A pid reused by a later process has another."""
    rest = _stat_fields(pid)
    if rest is None or len(rest) < 20 or not rest[19].isdigit():
        return None
    return int(rest[19])


def read_stat(pid: int) -> tuple[bytes, int, int] | None:
    """(state, ppid, pgrp) from ``/proc/PID/stat``; None if gone."""
    rest = _stat_fields(pid)
    if rest is None or len(rest) < 3:
        return None
    return rest[0], int(rest[1]), int(rest[2])


def start_time_ns(pid: int) -> int | None:
    """When ``pid`` started, in CLOCK_BOOTTIME nanoseconds, to a clock tick (10 ms
    with USER_HZ 100) below; None if gone."""
    rest = _stat_fields(pid)
    if rest is None or len(rest) < 20:
        return None
    return int(rest[19]) * 1_000_000_000 // _CLOCK_TICKS


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


#: PF_KTHREAD (include/linux/sched.h) in /proc/PID/stat's flags field.
_PF_KTHREAD = 0x00200000


def is_kernel_thread(pid: int) -> bool:
    """Whether ``pid`` is a kernel thread (PF_KTHREAD); False if gone or unreadable."""
    rest = _stat_fields(pid)
    if rest is None:
        return False
    try:
        return bool(int(rest[6]) & _PF_KTHREAD)  # state ppid pgrp session tty tpgid flags
    except (IndexError, ValueError):
        return False


def thread_state(tid: int) -> bytes | None:
    """The one-letter scheduler state (R, S, T, t, Z, X, ...), None if gone."""
    stat = read_stat(tid)
    return None if stat is None else stat[0]


def thread_group(tid: int) -> int | None:
    """The process (thread-group) id of ``tid``; None if gone."""
    value = read_status(tid).get(b"Tgid")
    return int(value) if value else None


def attach_target(pid: int) -> int | None:
    """``thread_group`` for a pid the user named: None only when it is gone; any
    other failure to read it (EMFILE under ``ulimit -n``) is raised, an OSError, so
    that it is not reported as "no such process"."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"Tgid:"):
                    return int(line[5:].strip())
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def tracer_pid(pid: int) -> int:
    """The pid tracing ``pid`` (0 if none or gone)."""
    value = read_status(pid).get(b"TracerPid")
    return int(value) if value else 0


def list_threads(pid: int) -> list[int] | None:
    """The thread ids of process ``pid``; None if the process is gone."""
    try:
        return sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))
    except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
        return None
    except OSError:
        return None


def thread_children(pid: int, tid: int) -> list[int]:
    """The processes thread ``tid`` of ``pid`` created that have not been reparented
    (``/proc/PID/task/TID/children``); empty if it is gone or the kernel has no such
    file (CONFIG_PROC_CHILDREN)."""
    try:
        with open(f"/proc/{pid}/task/{tid}/children", "rb") as handle:
            return [int(field) for field in handle.read().split()]
    except OSError:
        return []


def has_run(pid: int, tid: int) -> bool | None:
    """Whether thread ``tid`` of ``pid`` has been on a CPU yet (its run time in
    ``schedstat``, which the kernel zeroes at the thread's creation, is not 0);
    None if it is gone."""
    try:
        with open(f"/proc/{pid}/task/{tid}/schedstat", "rb") as handle:
            fields = handle.read().split()
    except OSError:
        return None
    return bool(fields) and fields[0] != b"0"


def _all_pids() -> Iterable[int]:
    for name in os.listdir("/proc"):
        if name.isdigit():
            yield int(name)


def descendants(roots: Iterable[int]) -> list[int]:
    """Every existing descendant process of ``roots`` (not the roots), parents first."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        stat = read_stat(pid)
        if stat is not None:
            children.setdefault(stat[1], []).append(pid)
    found: list[int] = []
    seen = set(roots)
    queue = list(seen)
    while queue:
        parent = queue.pop(0)
        for child in sorted(children.get(parent, ())):
            if child not in seen:
                seen.add(child)
                found.append(child)
                queue.append(child)
    return found


def group_members(pgid: int) -> list[int]:
    """The processes whose process group is ``pgid``."""
    members = []
    for pid in _all_pids():
        stat = read_stat(pid)
        if stat is not None and stat[2] == pgid:
            members.append(pid)
    return sorted(members)


def signal_action(tid: int, signo: int) -> int:
    """PSIG action of ``signo`` for the thread's process: 0 default, 1 ignore, or caught."""
    if not 1 <= signo <= 64:
        return 0
    fields = read_status(tid)
    bit = 1 << (signo - 1)
    try:
        if int(fields.get(b"SigCgt", b"0"), 16) & bit:
            return ACTION_CAUGHT
        if int(fields.get(b"SigIgn", b"0"), 16) & bit:
            return 1
    except ValueError:
        pass
    return 0


def abi_of_executable(path: str) -> Abi:
    """The ABI of an ELF executable from its header (UNKNOWN if unreadable)."""
    try:
        with open(path, "rb") as executable:
            header = executable.read(20)
    except OSError:
        return Abi.UNKNOWN
    if len(header) < 20 or not header.startswith(_ELF_MAGIC):
        return Abi.UNKNOWN
    elf_class = header[4]
    machine = int.from_bytes(header[18:20], "little" if header[5] == 1 else "big")
    if machine == _EM_X86_64:
        return Abi.X86_64 if elf_class == _ELFCLASS64 else Abi.X32
    if machine == _EM_386 and elf_class == _ELFCLASS32:
        return Abi.I386
    return Abi.UNKNOWN


def executable_path(pid: int) -> bytes:
    """The path of the process's program (``/proc/PID/exe``), b"" if unreadable."""
    try:
        return os.readlink(f"/proc/{pid}/exe".encode())
    except OSError:
        return b""


def ptrace_scope() -> int | None:
    """``kernel.yama.ptrace_scope``, None without Yama."""
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope", "rb") as scope:
            return int(scope.read())
    except (OSError, ValueError):
        return None


#: Why an explicit target whose every thread has ended cannot be traced: a zombie (which
#: ptrace refuses and perf events cannot follow), until its parent waits for it.
ZOMBIE_REASON = "the process has exited (a zombie: its parent has not waited for it)"


def permission_reason(pid: int) -> str:
    """Why ptrace(SEIZE) on ``pid`` was refused, as well as we can tell."""
    if is_kernel_thread(pid):
        # ptrace refuses every kernel thread, root or not (kernel/ptrace.c)
        name = read_comm(pid).decode(errors="replace")
        return f"{name} is a kernel thread, which ptrace cannot trace"
    fields = read_status(pid)
    tracer = int(fields.get(b"TracerPid", b"0") or 0)
    if tracer and tracer != os.getpid():
        name = read_comm(tracer).decode(errors="replace")
        return f"already traced by pid {tracer} ({name})"
    state = thread_state(pid)
    if state in (b"Z", b"X"):
        return "the process is exiting"
    euid = os.geteuid()
    if euid != 0:
        uid_fields = fields.get(b"Uid", b"").split()
        if uid_fields and any(int(uid) != euid for uid in uid_fields[:3]):
            return f"the process belongs to another user (uid {int(uid_fields[0])})"
        scope = ptrace_scope()
        if scope == 1:
            return "only descendants may be traced (kernel.yama.ptrace_scope = 1)"
        if scope == 2:
            return "only CAP_SYS_PTRACE may trace (kernel.yama.ptrace_scope = 2)"
        if scope == 3:
            return "tracing is disabled (kernel.yama.ptrace_scope = 3)"
        return "the process is not dumpable (set-id, or changed credentials)"
    scope = ptrace_scope()
    if scope == 3:
        return "tracing is disabled (kernel.yama.ptrace_scope = 3)"
    return "refused by the kernel or a security module"


class MapsLine(NamedTuple):
    """A file or memory mapping as ``/proc/PID/maps`` shows it."""

    start: int
    end: int
    offset: int
    prot: int
    flags: int  # MAP_SHARED / MAP_PRIVATE
    device: int  # st_dev of the mapped file (0 for anonymous memory)
    inode: int
    path: bytes  # without the " (deleted)" suffix
    deleted: bool  # the kernel said "(deleted)"


def map_file(pid: int, start: int, end: int) -> str:
    """The name of the file a mapping holds, whatever became of its path (root only).

    ``map_files`` names have no leading zeros (maps pads non-PIE addresses).
    """
    return f"/proc/{pid}/map_files/{start:x}-{end:x}"


def mappings(pid: int, executable_only: bool = True) -> Iterator[MapsLine]:
    """``pid``'s executable mappings (all of them with ``executable_only=False``);
    none if it is gone."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as handle:
            lines = handle.read().splitlines()
    except OSError:
        return
    for line in lines:
        parts = line.split(None, 5)
        if len(parts) < 5:
            continue
        perms = parts[1]
        executable = b"x" in perms
        if executable_only and not executable:
            continue
        low, _, high = parts[0].partition(b"-")
        prot = ((1 if perms[0:1] == b"r" else 0) | (2 if perms[1:2] == b"w" else 0)
                | (4 if executable else 0))
        flags = 1 if perms[3:4] == b"s" else 2  # MAP_SHARED / MAP_PRIVATE
        major, _, minor = parts[3].partition(b":")
        try:
            device = os.makedev(int(major, 16), int(minor, 16))
        except ValueError:
            device = 0
        path = parts[5].strip() if len(parts) > 5 else b""
        deleted = path.endswith(_DELETED)
        if deleted:
            path = path[: -len(_DELETED)]
        yield MapsLine(int(low, 16), int(high, 16), int(parts[2], 16), prot, flags, device,
                       int(parts[4]), path, deleted)
