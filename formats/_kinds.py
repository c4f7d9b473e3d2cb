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
}

#: ktrace's trace-point letters (``ktrace -t``), each selecting record kinds.
#: DROP has no letter: it is always written and always shown.
FACILITY_KINDS: dict[str, frozenset[RecordKind]] = {
    # STRUCT records describe call arguments, so calls bring them along.
    "c": frozenset({RecordKind.SYSCALL, RecordKind.SYSRET, RecordKind.STRUCT}),
    "n": frozenset({RecordKind.NAMEI}),
    "i": frozenset({RecordKind.GENIO}),
    "s": frozenset({RecordKind.PSIG}),
    "w": frozenset({RecordKind.CSW}),
    "e": frozenset({RecordKind.EMUL}),
    "u": frozenset({RecordKind.USER}),
    "a": frozenset({RecordKind.EXEC_ARG}),
    "v": frozenset({RecordKind.EXEC_ENV}),
    "p": frozenset({RecordKind.PROC}),
    "f": frozenset({RecordKind.PROBE}),
    "S": frozenset({RecordKind.SAMPLE}),
    "m": frozenset({RecordKind.MMAP}),
    "t": frozenset({RecordKind.STRUCT}),
}

#: ``-t +``: the default facility set.
DEFAULT_FACILITIES = "cnisuepa"


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


class GenioFlag(enum.IntFlag):
    """GENIO record flags."""

    NONE = 0
    TRUNCATED = 1  # fewer bytes kept than were transferred (the -s cap)


class DropError(enum.IntEnum):
    """Why records were lost (the errno values ktrace counts them under)."""

    ENOMEM = 12  # a record could not be built
    ENOSPC = 28  # the queue was full
    ENOBUFS = 105  # a kernel perf ring was full (PERF_RECORD_LOST)


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
