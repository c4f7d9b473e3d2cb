"""Lookups over the Linux tables, keyed by ``formats.Abi``.

Every lookup is one or two dict accesses (ktrdump calls them per record).
Unknown numbers, names and ABIs answer None or an empty collection; only an
unknown syscall class raises (``UnknownSyscallClass``, a ``ValueError``).
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

from .._kinds import Abi
from . import _errno, _signals, _syscalls_i386, _syscalls_x32, _syscalls_x86_64
from ._signatures import (
    I386_SIGNATURES,
    SOCKETCALL_SIGNATURES,
    SOCKETCALLS,
    X32_SIGNATURES_UNFILTERED,
    X86_64_SIGNATURES,
    Signature,
)
from .errors import UnknownSyscallClass

#: Set in the syscall number by x32 processes (__X32_SYSCALL_BIT).
X32_SYSCALL_BIT = 0x40000000

#: The kernel's first and last real-time signal (a C library's SIGRTMIN is higher).
KERNEL_SIGRTMIN: int = _signals.SIGRTMIN
KERNEL_SIGRTMAX: int = _signals.SIGRTMAX

#: strace's syscall classes (``-e trace=%file`` ...), in strace's documentation order.
SYSCALL_CLASSES: tuple[str, ...] = (
    "%file", "%process", "%network", "%signal", "%ipc", "%desc", "%memory", "%creds",
    "%clock", "%stat", "%lstat", "%fstat", "%%stat", "%statfs", "%fstatfs", "%%statfs",
    "%pure",
)
_CLASS_ALIASES = {"%net": "%network"}


class _AbiTables(NamedTuple):
    names: Mapping[int, str]
    numbers: Mapping[str, int]
    unimplemented: frozenset[int]
    classes: Mapping[str, frozenset[str]]
    signatures: Mapping[str, Signature]
    number_bit: int


def _tables(
    names: dict[int, str],
    unimplemented: frozenset[int],
    classes: dict[str, frozenset[str]],
    signatures: Mapping[str, Signature],
    number_bit: int = 0,
) -> _AbiTables:
    missing = set(SYSCALL_CLASSES) - set(classes)
    if missing:  # the generated module and this list must agree
        raise ImportError(f"generated syscall classes lack {sorted(missing)}")
    return _AbiTables(
        MappingProxyType(names),
        MappingProxyType({name: number for number, name in names.items()}),
        unimplemented,
        MappingProxyType(classes),
        signatures,
        number_bit,
    )


_X32_NAMES = frozenset(_syscalls_x32.NAMES.values())

# Keyed by plain ints too: Abi is an IntEnum, so Abi.X86_64 and 1 find the same entry.
_BY_ABI: dict[int, _AbiTables] = {
    Abi.X86_64: _tables(
        _syscalls_x86_64.NAMES, _syscalls_x86_64.UNIMPLEMENTED, _syscalls_x86_64.CLASSES,
        X86_64_SIGNATURES,
    ),
    Abi.I386: _tables(
        _syscalls_i386.NAMES, _syscalls_i386.UNIMPLEMENTED, _syscalls_i386.CLASSES,
        I386_SIGNATURES,
    ),
    Abi.X32: _tables(
        _syscalls_x32.NAMES, _syscalls_x32.UNIMPLEMENTED, _syscalls_x32.CLASSES,
        MappingProxyType({
            name: signature
            for name, signature in X32_SIGNATURES_UNFILTERED.items()
            if name in _X32_NAMES
        }),
        X32_SYSCALL_BIT,
    ),
}
_EMPTY_NAMES: Mapping[int, str] = MappingProxyType({})

_ERRNO_NUMBERS: dict[str, int] = {name: n for n, name in _errno.NAMES.items()}
_ERRNO_NUMBERS.update(_errno.ALIASES)
_SIGNAL_NUMBERS: dict[str, int] = {name: n for n, name in _signals.NAMES.items()}
_SIGNAL_NUMBERS.update(_signals.ALIASES)


def syscall_name(abi: int, nr: int) -> str | None:
    """The name of syscall ``nr`` in ``abi``, or None.

    For x32 the number may be given with or without __X32_SYSCALL_BIT.
    """
    tables = _BY_ABI.get(abi)
    if tables is None:
        return None
    return tables.names.get(nr | tables.number_bit if nr >= 0 else nr)


def syscall_number(abi: int, name: str) -> int | None:
    """The number of syscall ``name`` in ``abi`` (x32: with __X32_SYSCALL_BIT), or None."""
    tables = _BY_ABI.get(abi)
    return None if tables is None else tables.numbers.get(name)


def syscall_names(abi: int) -> Mapping[int, str]:
    """Every syscall of ``abi``, number -> name (read-only; empty for an unknown ABI)."""
    tables = _BY_ABI.get(abi)
    return _EMPTY_NAMES if tables is None else tables.names


def unimplemented_syscalls(abi: int) -> frozenset[int]:
    """Numbers ``abi``'s table lists as not implemented (the kernel answers ENOSYS).

    Those with no entry point or ``sys_ni_syscall``; a syscall compiled out by
    the kernel's configuration is not known here.
    """
    tables = _BY_ABI.get(abi)
    return frozenset() if tables is None else tables.unimplemented


def syscall_class_members(abi: int, cls: str) -> frozenset[str]:
    """Names of ``abi``'s syscalls in strace class ``cls`` ("%file", ...; "%net" too).

    Raises UnknownSyscallClass (a ValueError) for a class not in SYSCALL_CLASSES.
    """
    canonical = _CLASS_ALIASES.get(cls, cls)
    tables = _BY_ABI.get(abi)
    if tables is None:
        if canonical not in SYSCALL_CLASSES:
            raise UnknownSyscallClass(cls, SYSCALL_CLASSES)
        return frozenset()
    members = tables.classes.get(canonical)
    if members is None:
        raise UnknownSyscallClass(cls, SYSCALL_CLASSES)
    return members


def signature(abi: int, name: str) -> Signature | None:
    """The typed arguments and return kind of syscall ``name`` in ``abi``, or None."""
    tables = _BY_ABI.get(abi)
    return None if tables is None else tables.signatures.get(name)


def socketcall_name(call: int) -> str | None:
    """The socket call i386 ``socketcall(call, args)`` makes ("socket", "send", ...)."""
    return SOCKETCALLS.get(call)


def socketcall_signature(call: int) -> Signature | None:
    """The signature of the arguments ``socketcall`` reads from its ``args`` array."""
    return SOCKETCALL_SIGNATURES.get(call)


def errno_name(n: int) -> str | None:
    """"ENOENT" for 2; None for a number Linux does not define."""
    return _errno.NAMES.get(n)


def errno_message(n: int) -> str | None:
    """"No such file or directory" for 2 (glibc's texts; the kernel's for its own codes)."""
    return _errno.MESSAGES.get(n)


def errno_number(name: str) -> int | None:
    """2 for "ENOENT"; aliases (EWOULDBLOCK, EDEADLOCK, ENOTSUP) count; case-insensitive."""
    return _ERRNO_NUMBERS.get(name.upper())


def signal_name(n: int) -> str | None:
    """"SIGUSR1" for 10, "SIGRT_2" for 34 (see ``_signals``); None out of 1..64."""
    return _signals.NAMES.get(n)


def signal_number(name: str) -> int | None:
    """10 for "SIGUSR1" or "USR1"; aliases and "SIGRT_<n>" count; case-insensitive."""
    upper = name.upper()
    if not upper.startswith("SIG"):
        upper = "SIG" + upper
    return _SIGNAL_NUMBERS.get(upper)
