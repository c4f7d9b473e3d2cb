"""Model: what the numbers in a record mean, ready for describe.

``Names`` turns numbers into names (syscalls per ABI, errnos, signals) using
the generated Linux tables in ``formats.linux``; the functions below interpret
the flag and enum fields of PSIG, GENIO, PROC, PROBE and DROP payloads, and
the options a BEGIN record carries.

Guarantees: pure — no I/O, no output format, no state except caches; every
lookup returns a name or a documented fallback for numbers the tables do not
know (``syscall_N``, ``errno_N``, ``signal_N``, ``event_N``, ``site_N``) and
never raises for any integer; lookups are cached, so describing a million
records looks each distinct number up once. The ABI of a SYSCALL or SYSRET
comes from its own payload, not from the process's last EMUL record.

Does not: format text or JSON (``_describe``), or read anything.
"""

from __future__ import annotations

import json
from typing import NamedTuple

from formats import (
    DROP_CAUSES,
    Begin,
    DropError,
    GenioFlag,
    ProbeSite,
    Proc,
    ProcEvent,
    ProcFlag,
    SyscallFlag,
    split_nul_strings,
)
from formats.linux import errno_name, signal_name, signature, syscall_name

from ._bounded import Cache

#: PSIG ``action`` values with a meaning of their own (formats/SPEC.md).
ACTION_DEFAULT = 0
ACTION_IGNORE = 1
ACTION_CAUGHT_UNKNOWN_HANDLER = (1 << 64) - 1

PROC_EVENT_NAMES: dict[int, str] = {
    ProcEvent.FORK: "fork",
    ProcEvent.VFORK: "vfork",
    ProcEvent.CLONE: "clone",
    ProcEvent.EXEC: "exec",
    ProcEvent.EXIT: "exit",
    ProcEvent.ATTACH: "attach",
    ProcEvent.DETACH: "detach",
    ProcEvent.LOST: "lost",
    ProcEvent.STOP: "stop",
}

PROBE_SITE_NAMES: dict[int, str] = {
    ProbeSite.ENTRY: "entry",
    ProbeSite.RETURN: "return",
    ProbeSite.OFFSET: "offset",
}

_UNFINISHED = int(SyscallFlag.UNFINISHED)
_TRUNCATED = int(GenioFlag.TRUNCATED)


class Names:
    """Cached names for syscall, errno and signal numbers."""

    def __init__(self) -> None:
        self._syscalls: dict[tuple[int, int], str] = Cache()
        self._errnos: dict[int, str | None] = Cache()
        self._errnos[0] = None
        self._signals: dict[int, str] = Cache()

    def syscall(self, abi: int, nr: int) -> str:
        """The syscall's name in ``abi``, or ``syscall_N``."""
        key = (abi, nr)
        name = self._syscalls.get(key)
        if name is None:
            name = self._syscalls[key] = syscall_name(abi, nr) or f"syscall_{nr}"
        return name

    def syscall_arg_count(self, abi: int, nr: int) -> int | None:
        """How many arguments the syscall takes, or None when its signature is unknown."""
        name = syscall_name(abi, nr)
        found = signature(abi, name) if name is not None else None
        return None if found is None else len(found.args)

    def errno(self, number: int) -> str | None:
        """``ENOENT`` for 2, ``errno_N`` for numbers the table lacks, None for 0 (no error)."""
        try:
            return self._errnos[number]
        except KeyError:
            if number == 0:  # the cache may have been emptied: 0 is never an error
                return None
            name = self._errnos[number] = errno_name(number) or f"errno_{number}"
            return name

    def signal(self, number: int) -> str:
        """``SIGUSR1`` for 10, or ``signal_N``."""
        name = self._signals.get(number)
        if name is None:
            name = self._signals[number] = signal_name(number) or f"signal_{number}"
        return name


def unfinished(flags: int) -> bool:
    """A SYSRET's call never returned (exit, exec or detach came first)."""
    return bool(flags & _UNFINISHED)


def genio_truncated(flags: int) -> bool:
    """A GENIO record kept fewer bytes than the call transferred."""
    return bool(flags & _TRUNCATED)


def proc_event_name(event: int) -> str:
    return PROC_EVENT_NAMES.get(event) or f"event_{event}"


def probe_site_name(site: int) -> str:
    return PROBE_SITE_NAMES.get(site) or f"site_{site}"


def drop_error_name(error: int, names: Names) -> str:
    """``ENOSPC``/``ENOMEM`` for the errors ktr drops under, else the errno's name."""
    try:
        return DropError(error).name
    except ValueError:
        return names.errno(error) or "0"


def drop_label(error: int, names: Names) -> str:
    """``ENOSPC: queue full, the writer fell behind``: the error's name and what happened."""
    name = drop_error_name(error, names)
    cause = DROP_CAUSES.get(error)
    return f"{name}: {cause}" if cause is not None else name


def begin_options(begin: Begin) -> dict[str, object] | None:
    """A BEGIN record's options: the JSON object, or None when its bytes are not one
    (a damaged or foreign record; never raises)."""
    try:
        value = json.loads(begin.options.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def unplaced_probes(end: object) -> tuple[int, list[str]] | None:
    """An END record's probes never placed: (how many, their specs as text), or None when
    the END predates those fields (unknown, not zero) or is not an END (damaged)."""
    # by field name: a payload of a newer minor has more fields, not another type
    count = getattr(end, "unplaced", None)
    specs = getattr(end, "unplaced_probes", None)
    if not isinstance(count, int) or not isinstance(specs, bytes):
        return None
    return count, [spec.decode("utf-8", "replace") for spec in split_nul_strings(specs)]


class ProcView(NamedTuple):
    """A PROC record with its flags interpreted; fields that do not apply are None."""

    event: str
    child: int | None = None  # fork, vfork, clone
    thread: bool | None = None  # clone: the child is a thread of the same process
    path: bytes | None = None  # exec
    status: int | None = None  # exit
    signal: str | None = None  # exit by a signal: its name
    core_dumped: bool | None = None  # exit
    reason: bytes | None = None  # lost: why control was lost
    detail: bytes | None = None  # attach, detach, unknown events: detail if any
    # exit: the thread whose execve superseded this one (the old leader of a
    # process where another thread called execve; strace's "superseded")
    superseded_by: int | None = None


def view_proc(proc: Proc, names: Names) -> ProcView:
    event = proc_event_name(proc.event)
    detail = proc.detail or None
    if proc.event in (ProcEvent.FORK, ProcEvent.VFORK):
        return ProcView(event, child=proc.child)
    if proc.event == ProcEvent.CLONE:
        return ProcView(event, child=proc.child, thread=bool(proc.flags & ProcFlag.THREAD))
    if proc.event == ProcEvent.EXEC:
        return ProcView(event, path=proc.detail)
    if proc.event == ProcEvent.EXIT and proc.child:
        return ProcView(event, superseded_by=proc.child)
    if proc.event == ProcEvent.EXIT:
        signaled = bool(proc.flags & ProcFlag.SIGNALED)
        return ProcView(
            event,
            status=proc.status,
            signal=names.signal(proc.signal) if signaled else None,
            core_dumped=bool(proc.flags & ProcFlag.CORE_DUMPED),
        )
    if proc.event == ProcEvent.LOST:
        return ProcView(event, reason=proc.detail)
    if proc.event in (ProcEvent.ATTACH, ProcEvent.DETACH):
        return ProcView(event, detail=detail)
    if proc.event == ProcEvent.STOP:
        return ProcView(event, signal=names.signal(proc.signal))
    # A newer minor's event: keep every raw field visible.
    return ProcView(event, child=proc.child, status=proc.status,
                    signal=names.signal(proc.signal) if proc.signal else None, detail=detail)
