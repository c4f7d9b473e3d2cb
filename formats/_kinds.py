"""The numbered vocabularies of the format: record kinds, ABIs, events, facilities.

Guarantees: every number here is part of the on-disk format; a value, once
published, keeps its meaning for the whole major version. New members may be
added in a minor version, so readers must accept numbers they do not know.

Does not: say how any of these is encoded (see ``_schema``).
"""

from __future__ import annotations

import enum


class RecordKind(enum.IntEnum):
    """Record type in the record header.

    1-11 keep NetBSD ktrace's ``KTR_*`` numbers; kinds that only exist in ktr
    start at 32 so a future ktrace-numbered kind never collides with them.
    """

    SYSCALL = 1
    SYSRET = 2
    NAMEI = 3
    GENIO = 4
    PSIG = 5
    CSW = 6
    EMUL = 7
    USER = 8
    EXEC_ARG = 10
    EXEC_ENV = 11
    PROC = 32
    PROBE = 33
    SAMPLE = 34
    MMAP = 35
    DROP = 36
    STRUCT = 37
    CNT = 38
    PROBE_DEF = 40
    END = 41
    BEGIN = 42


#: kdump's tag for each kind, as printed in text output and the JSON ``type`` key.
KIND_TAGS: dict[RecordKind, str] = {
    RecordKind.SYSCALL: "CALL",
    RecordKind.SYSRET: "RET",
    RecordKind.NAMEI: "NAMI",
    RecordKind.GENIO: "GIO",
    RecordKind.PSIG: "PSIG",
    RecordKind.CSW: "CSW",
    RecordKind.EMUL: "EMUL",
    RecordKind.USER: "USER",
    RecordKind.EXEC_ARG: "ARG",
    RecordKind.EXEC_ENV: "ENV",
    RecordKind.PROC: "PROC",
    RecordKind.PROBE: "PROBE",
    RecordKind.SAMPLE: "SAMPLE",
    RecordKind.MMAP: "MMAP",
    RecordKind.DROP: "DROP",
    RecordKind.STRUCT: "STRU",
    RecordKind.CNT: "CNT",
    RecordKind.PROBE_DEF: "PDEF",
    RecordKind.END: "END",
    RecordKind.BEGIN: "BEGIN",
}

#: ktrace's trace-point letters (``ktrace -t``), each selecting record kinds.
#: DROP has no letter: it is always written and always shown. BEGIN and END (written at the
#: start and the end of every recording, whatever ``-t`` says) are shown with the process
#: lifecycle, ``p``.
FACILITY_KINDS: dict[str, frozenset[RecordKind]] = {
    # STRUCT records describe call arguments, so calls bring them along.
    "c": frozenset({RecordKind.SYSCALL, RecordKind.SYSRET, RecordKind.STRUCT}),
    "n": frozenset({RecordKind.NAMEI}),
    "i": frozenset({RecordKind.GENIO}),
    "s": frozenset({RecordKind.PSIG}),
    "w": frozenset({RecordKind.CSW}),
    "C": frozenset({RecordKind.CNT}),
    "e": frozenset({RecordKind.EMUL}),
    "u": frozenset({RecordKind.USER}),
    "a": frozenset({RecordKind.EXEC_ARG}),
    "v": frozenset({RecordKind.EXEC_ENV}),
    "p": frozenset({RecordKind.PROC, RecordKind.BEGIN, RecordKind.END}),
    "f": frozenset({RecordKind.PROBE, RecordKind.PROBE_DEF}),
    "S": frozenset({RecordKind.SAMPLE}),
    "m": frozenset({RecordKind.MMAP}),
    "t": frozenset({RecordKind.STRUCT}),
}

#: What each ``-t`` letter records, in words (both commands' ``--help`` list them all).
FACILITY_HELP: dict[str, str] = {
    "c": "calls and returns (with the structures their arguments point to)",
    "n": "paths looked up (namei)",
    "i": "I/O data",
    "s": "signals",
    "w": "context switches (every switch out and in of a traced thread, with the CPU;\n"
         "     under ptrace each stop ktr makes is one voluntary switch more)",
    "C": "counter readings (the counters are named with ktr record -C)",
    "e": "emulation (the ABI of each call)",
    "u": "user records (utrace)",
    "a": "exec arguments",
    "v": "exec environment",
    "p": "process lifecycle (fork, exec, exit, attach, detach)",
    "f": "function probes",
    "S": "stack samples",
    "m": "memory mappings (to symbolize samples)",
    "t": "structures alone",
}


#: ``-t +``: the default facility set.
DEFAULT_FACILITIES = "cnisuepa"
#: Facilities that need syscall stops (ptrace stops at each selected syscall's
#: entry and exit).
SYSCALL_FACILITIES = frozenset("cniuavt")  # (t: the structures of any call, as c records them)
#: Facilities that alone are recorded without ptrace (nothing stops the targets),
#: when no counters (-C) and no probes (-P) are asked for either.
PERF_ONLY_FACILITIES = frozenset("wSm")


class FacilityError(ValueError):
    """A facility string holds a letter ktr does not know."""


def kinds_for_facilities(letters: str) -> frozenset[RecordKind]:
    """Record kinds selected by a ktrace ``-t`` string (``+`` is the default set)."""
    selected: set[RecordKind] = set()
    for letter in letters:
        if letter == "+":
            selected |= kinds_for_facilities(DEFAULT_FACILITIES)
        elif letter in FACILITY_KINDS:
            selected |= FACILITY_KINDS[letter]
        else:
            known = "".join(FACILITY_KINDS) + "+"
            raise FacilityError(f"unknown trace facility {letter!r} (known: {known})")
    return frozenset(selected)


class Abi(enum.IntEnum):
    """The system-call ABI a SYSCALL/SYSRET was made with."""

    UNKNOWN = 0
    X86_64 = 1
    I386 = 2
    X32 = 3


#: EMUL record text for each ABI (what ktrace calls the emulation name).
ABI_EMUL_NAMES: dict[Abi, str] = {
    Abi.UNKNOWN: "linux-unknown",
    Abi.X86_64: "linux-x86_64",
    Abi.I386: "linux-i386",
    Abi.X32: "linux-x32",
}


class IoDirection(enum.IntEnum):
    """GENIO direction, from the traced program's point of view."""

    READ = 0
    WRITE = 1


class ProcEvent(enum.IntEnum):
    """PROC record event."""

    FORK = 1
    VFORK = 2
    CLONE = 3
    EXEC = 4
    EXIT = 5
    ATTACH = 6
    DETACH = 7
    LOST = 8
    STOP = 9  # group-stop (job control): ``signal`` stopped it


class ProcFlag(enum.IntFlag):
    """PROC record flags."""

    NONE = 0
    THREAD = 1  # CLONE created a thread of the same process
    CORE_DUMPED = 2  # EXIT by a signal that dumped core
    SIGNALED = 4  # EXIT by a signal (``signal`` holds it) rather than exit()


class ProbeSite(enum.IntEnum):
    """Where a PROBE fired, as fasttrap's probe types."""

    ENTRY = 0
    RETURN = 1
    OFFSET = 2


class ProbeArgType(enum.IntEnum):
    """The type of one probe argument (or of the return value), as the definition names it."""

    U64 = 1
    I64 = 2
    X64 = 3
    U32 = 4
    I32 = 5
    X32 = 6
    PTR = 7
    STR = 8  # a NUL-terminated user string, captured into PROBE.strings
    # Narrow integers (C char, short, bool, from DWARF): the ABI leaves a register's
    # bits above the type's width undefined, so readers keep only the type's width.
    U8 = 9
    I8 = 10
    U16 = 11
    I16 = 12
    # Floating point (float, double, long double, from DWARF or a spec): passed in an
    # xmm (or x87/stack) register, which uprobe fetchargs cannot read: not fetched (its
    # raw value is 0), shown as ``?``; it takes no general-purpose argument register.
    FLOAT = 13


#: The spelling of each type in a probe spec (``-P 'libc:open(str,x32)'``) and in ktrdump.
PROBE_ARG_TYPE_NAMES: dict[ProbeArgType, str] = {
    ProbeArgType.U64: "u64",
    ProbeArgType.I64: "i64",
    ProbeArgType.X64: "x64",
    ProbeArgType.U32: "u32",
    ProbeArgType.I32: "i32",
    ProbeArgType.X32: "x32",
    ProbeArgType.PTR: "ptr",
    ProbeArgType.STR: "str",
    ProbeArgType.U8: "u8",
    ProbeArgType.I8: "i8",
    ProbeArgType.U16: "u16",
    ProbeArgType.I16: "i16",
    ProbeArgType.FLOAT: "float",
}


class ProbeDefFlag(enum.IntFlag):
    """PROBE_DEF flags."""

    NONE = 0
    IFUNC_IMPLEMENTATION = 1  # the function implements an IFUNC symbol (``function`` names it)
    RESOLVED_FROM_DEBUG = 2  # the symbol came from a separate debug file
    #: entry probes: each PROBE carries two more ``args`` after its typed ones, the
    #: return address the function was called with (the word at the stack pointer at its
    #: entry) and that stack pointer (where the word lies), so a reader can restore a
    #: return address a return probe of the function replaced on the stack
    RETURN_ADDRESS = 4
    #: the recorder's own probe, not asked for: an entry probe placed only to capture
    #: RETURN_ADDRESS for a function probed at its return; readers do not show its hits
    HIDDEN = 8
    #: return probes: the function returns nothing (its DWARF gives no return type), so
    #: PROBE.value is a leftover ``rax``: readers show no value (older ones the raw u64
    #: its ``types`` still say)
    VOID_RETURN = 16


#: PROBE.strings: a length word with this bit set means the string was cut at the cap.
PROBE_STRING_TRUNCATED = 0x8000_0000
#: PROBE.strings: this length word means the string could not be read (bad pointer).
PROBE_STRING_FAULT = 0xFFFF_FFFF


class GenioFlag(enum.IntFlag):
    """GENIO record flags."""

    NONE = 0
    TRUNCATED = 1  # fewer bytes kept than were transferred (the -s cap)


class EndFlag(enum.IntFlag):
    """END record flags."""

    NONE = 0
    STOPPED_EARLY = 0x1  # stopped before its processes ended: ``reason`` says why
    #: Processes exited whose exit statuses the recorder could not read: recorded
    #: without ptrace, they were not its children (attached, or followed with -i).
    EXIT_STATUS_UNKNOWN = 0x2


class DropError(enum.IntEnum):
    """Why records were lost (the errno values ktrace counts them under)."""

    ENOMEM = 12  # a record could not be built
    ENOSPC = 28  # the queue was full
    ENOBUFS = 105  # a kernel perf ring was full (PERF_RECORD_LOST)


#: What happened, for each ``DropError``, in words for a reader: ktrace's errno
#: codes name no disk or system memory condition here (ENOSPC is ktr's own queue,
#: full because its writer fell behind, not a full disk).
DROP_CAUSES: dict[int, str] = {
    DropError.ENOSPC: "queue full, the writer fell behind",
    DropError.ENOMEM: "a record could not be built",
    DropError.ENOBUFS: "a kernel perf ring was full",
}


class CswFlag(enum.IntFlag):
    """CSW record flags."""

    NONE = 0
    PREEMPTED = 1  # switched out while runnable (involuntary), not asleep


class CntFlag(enum.IntFlag):
    """CNT record flags."""

    NONE = 0
    FINAL = 1  # the reading at the thread's exit (or when it was let go)
    USER_ONLY = 2  # counted in user mode only (kernel-mode counting was refused)


class SyscallFlag(enum.IntFlag):
    """SYSCALL/SYSRET flags."""

    NONE = 0
    UNFINISHED = 1  # SYSRET synthesised: the thread never returned (exit, exec, detach)
    # With UNFINISHED: ktr detached the thread in the call, which goes on untraced
    # (strace's "<detached ...>"); unset in files written before it
    DETACHED = 2


class SampleFlag(enum.IntFlag):
    """SAMPLE record flags."""

    NONE = 0
    KERNEL = 1  # sampled in the kernel: pc is a kernel address, regs/stack the user's at entry


class MmapOrigin(enum.IntEnum):
    """Where an MMAP record comes from."""

    EVENT = 0  # the kernel reported a new mapping (perf MMAP2)
    SNAPSHOT = 1  # /proc/PID/maps when recording of the process began


class MmapFlag(enum.IntFlag):
    """ktr's own bits in an MMAP record's ``flags``, above every MAP_* bit a mapping reports.

    Either one says the ``path`` did not name the mapped file when it was
    recorded: a reader must not take the file now at ``path`` for it unless
    its build id matches the record's.
    """

    NONE = 0
    REPLACED = 1 << 30  # another file was at the path (its device/inode differ)
    DELETED = 1 << 31  # the kernel said "(deleted)": the mapped file has no name any more


#: perf_event x86 register numbers (``arch/x86/include/uapi/asm/perf_regs.h``), which
#: SAMPLE ``regs_mask`` bits name. For an i386 process the first nine are eax..eip.
PERF_REG_X86_NAMES = (
    "ax", "bx", "cx", "dx", "si", "di", "bp", "sp", "ip", "flags",
    "cs", "ss", "ds", "es", "fs", "gs",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
)
