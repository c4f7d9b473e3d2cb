"""Signal information: ``si_code`` names and the kernel's ``siginfo_t`` as strace shows it.

A PSIG record holds the ``siginfo_t`` the recorder read with
PTRACE_GETSIGINFO (128 bytes). The recorder is a 64-bit process, so the
kernel hands it the x86_64 layout whatever the tracee's ABI: signo, errno,
code (three ``int``), padding, then the union at byte 16. Which union member
applies follows the kernel's ``siginfo_layout``: codes from user space
(``si_code <= 0``) carry the sender (pid, uid) and for ``SI_QUEUE`` & co. a
value; codes from the kernel carry what the signal is about (SIGCHLD the
child's status and times, SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP the address,
SIGIO the band and fd, SIGSYS the syscall; any other signal its sender and
value when they are set, as strace's ``print_si_info``). ``strace_siginfo``
shows a code without a name in hex (``si_code=0x8013``), as strace does;
``code_name`` gives the number in decimal.

Guarantees: ``code_name`` and ``strace_siginfo`` never raise, for any bytes
(short or missing siginfo gives just the signal and code); names are Linux's
(``include/uapi/asm-generic/siginfo.h``).

A ``siginfo_t`` a caller passes (rt_sigqueueinfo, rt_tgsigqueueinfo,
pidfd_send_signal) or the kernel fills for it (waitid, rt_sigtimedwait) -- a
STRUCT record, the caller's memory -- has the caller's layout: an i386 or
x32 caller's is the kernel's compat_siginfo (the union at byte 12, 32-bit
pointers and ``long``; i386's ``clock_t`` 32-bit, x32's 64-bit), decoded as
strace decodes it for such a program.

Does not: decode ``si_errno``.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from formats import Abi
from formats.linux import signal_name, syscall_name

SI_USER = 0
SI_KERNEL = 0x80
SI_QUEUE = -1
SI_TIMER = -2
SI_MESGQ = -3
SI_ASYNCIO = -4
SI_SIGIO = -5
SI_TKILL = -6

_GENERIC_CODES = {
    0: "SI_USER", 0x80: "SI_KERNEL", -1: "SI_QUEUE", -2: "SI_TIMER", -3: "SI_MESGQ",
    -4: "SI_ASYNCIO", -5: "SI_SIGIO", -6: "SI_TKILL", -7: "SI_DETHREAD", -60: "SI_ASYNCNL",
}

SIGILL, SIGTRAP, SIGBUS, SIGFPE, SIGSEGV, SIGCHLD, SIGIO, SIGSYS = 4, 5, 7, 8, 11, 17, 29, 31

_SIGNAL_CODES: dict[int, tuple[str, ...]] = {  # code 1, 2, ... for each signal
    SIGILL: ("ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP", "ILL_PRVOPC",
             "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"),
    SIGFPE: ("FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF", "FPE_FLTUND",
             "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB", "FPE_FLTUNK", "FPE_CONDTRAP"),
    SIGSEGV: ("SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR", "SEGV_ACCADI",
              "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"),
    SIGBUS: ("BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR", "BUS_MCEERR_AO"),
    SIGTRAP: ("TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT", "TRAP_UNK",
              "TRAP_PERF"),
    SIGCHLD: ("CLD_EXITED", "CLD_KILLED", "CLD_DUMPED", "CLD_TRAPPED", "CLD_STOPPED",
              "CLD_CONTINUED"),
    SIGIO: ("POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP"),
    SIGSYS: ("SYS_SECCOMP", "SYS_USER_DISPATCH"),
}

_FAULTS = frozenset({SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP})
_AUDIT_ARCHES = {0xC000003E: ("AUDIT_ARCH_X86_64", 1), 0x40000003: ("AUDIT_ARCH_I386", 2)}



def audit_arch(arch: int) -> tuple[str | None, int]:
    """An AUDIT_ARCH_* value's name and the ``formats.Abi`` whose syscall numbers it
    means (None and 0 for one ktrdump does not know)."""
    found = _AUDIT_ARCHES.get(arch)
    return (None, 0) if found is None else found


_HEAD = struct.Struct("<iii")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_USER_HZ = 100  # clock_t ticks per second in what Linux tells user space (x86)


def _clock_t(ticks: int) -> str:
    """A clock_t as strace prints it: ``158 /* 1.58 s */`` (0 alone)."""
    if not ticks:
        return "0"
    return f"{ticks} /* {ticks // _USER_HZ}.{ticks % _USER_HZ:02d} s */"


#: The same, for the other decoders (times' struct tms).
clock_t_text = _clock_t


def code_name(signo: int, code: int) -> str:
    """``SI_USER``, ``CLD_EXITED``, ``SEGV_MAPERR``...; the number when it has no name."""
    if 0 < code < SI_KERNEL:
        names = _SIGNAL_CODES.get(signo)
        if names is not None and code <= len(names):
            return names[code - 1]
        return str(code)
    return _GENERIC_CODES.get(code) or str(code)


def _signal(number: int) -> str:
    return signal_name(number) or str(number)


def _pointer(value: int) -> str:
    return "NULL" if not value else hex(value)


class _Layout(NamedTuple):
    """Where a ``siginfo_t``'s union fields are, for one ABI (byte offsets into it)."""

    union: int  # the union's offset: 16 (x86_64: padding after the three ints), else 12
    pointer: struct.Struct  # si_addr, si_ptr, si_call_addr
    long: struct.Struct  # si_band
    clock: struct.Struct  # si_utime, si_stime (clock_t; x32's is 64-bit)


#: x86_64's siginfo_t (what PTRACE_GETSIGINFO gives a 64-bit recorder).
_LAYOUT_64 = _Layout(16, _U64, _I64, _U64)
#: The kernel's compat_siginfo (include/linux/compat.h), an i386 caller's: 128 bytes,
#: every field 4 bytes, the union at 12 (``compat_uptr_t``, ``compat_long_t``,
#: ``compat_clock_t``).
_LAYOUT_I386 = _Layout(12, _U32, _I32, _U32)
#: x32's: compat_siginfo with ``_sigchld_x32``'s 64-bit times (4-byte aligned).
_LAYOUT_X32 = _Layout(12, _U32, _I32, _U64)
_LAYOUTS = {int(Abi.I386): _LAYOUT_I386, int(Abi.X32): _LAYOUT_X32}


def strace_siginfo(signo: int, code: int, siginfo: bytes, abi: int = int(Abi.X86_64)) -> str:
    """``{si_signo=SIGUSR1, si_code=SI_USER, si_pid=42, si_uid=0}``, as strace prints it.

    ``abi``: whose layout ``siginfo`` has: x86_64's (a PSIG's, from the 64-bit
    recorder, whatever the tracee), or the caller's (``formats.Abi``) for one read
    from its memory (rt_sigqueueinfo's): i386's and x32's are the kernel's
    compat_siginfo (32-bit pointers, ``long`` and, for i386, ``clock_t``).
    """
    if len(siginfo) >= _HEAD.size:
        signo, _errno, code = _HEAD.unpack_from(siginfo)
    name = code_name(signo, code)
    if name == str(code):  # no name: strace's print_xlat_ex, the u32 in hex
        name = hex(code & 0xFFFF_FFFF) if code else "0"
    parts = [f"si_signo={_signal(signo)}", f"si_code={name}"]
    layout = _LAYOUTS.get(abi, _LAYOUT_64)
    if len(siginfo) >= layout.union + 32:  # the largest member used below
        parts.extend(_union(signo, code, siginfo, layout))
    return "{" + ", ".join(parts) + "}"


def _union(signo: int, code: int, data: bytes, layout: _Layout) -> list[str]:
    at = layout.union
    pid = _I32.unpack_from(data, at)[0]
    uid = _U32.unpack_from(data, at + 4)[0]
    pointer = layout.pointer
    if code <= 0:  # from user space: the sender
        if code == SI_TIMER:
            return [f"si_timerid={_U32.unpack_from(data, at)[0]:#x}",
                    f"si_overrun={_I32.unpack_from(data, at + 4)[0]}",
                    *_value(data, at + 8, pointer)]
        sender = [f"si_pid={pid}", f"si_uid={uid}"]
        if code in (SI_USER, SI_TKILL):
            return sender
        if code == SI_SIGIO:
            return _poll(data, layout)
        # SI_QUEUE & co.: the value only when its pointer is set (strace's print_si_info)
        if not pointer.unpack_from(data, at + 8)[0]:
            return sender
        return [*sender, *_value(data, at + 8, pointer)]
    address = pointer.unpack_from(data, at)[0]
    if code == SI_KERNEL:
        return [f"si_addr={_pointer(address)}"] if signo in _FAULTS else []
    if signo == SIGCHLD:
        status = _I32.unpack_from(data, at + 8)[0]
        shown = str(status) if code == 1 else _signal(status)  # CLD_EXITED: an exit status
        clock = layout.clock
        # The times follow the status: at + 16 where clock_t is 8-byte aligned (x86_64).
        times = at + 16 if layout is _LAYOUT_64 else at + 12
        return [f"si_pid={pid}", f"si_uid={uid}", f"si_status={shown}",
                f"si_utime={_clock_t(clock.unpack_from(data, times)[0])}",
                f"si_stime={_clock_t(clock.unpack_from(data, times + clock.size)[0])}"]
    if signo in _FAULTS:
        return [f"si_addr={_pointer(address)}"]
    if signo == SIGIO:
        return _poll(data, layout)
    if signo == SIGSYS:
        after = at + pointer.size  # _syscall and _arch follow _call_addr
        number = _I32.unpack_from(data, after)[0]
        arch = _U32.unpack_from(data, after + 4)[0]
        arch_name, abi = _AUDIT_ARCHES.get(arch, (f"{arch:#x}", 0))
        name = syscall_name(abi, number) if abi else None
        return [f"si_call_addr={_pointer(address)}",
                f"si_syscall={'__NR_' + name if name else number}", f"si_arch={arch_name}"]
    # any other signal from the kernel (a ptrace stop's SIGSTOP, ...): the sender when
    # there is one, the value when there is one (strace's print_si_info)
    sender = [f"si_pid={pid}", f"si_uid={uid}"] if pid or uid else []
    value = pointer.unpack_from(data, at + 8)[0]  # si_ptr, after si_pid and si_uid
    return [*sender, *_value(data, at + 8, pointer)] if value else sender


def _poll(data: bytes, layout: _Layout) -> list[str]:
    band = layout.long
    return [f"si_band={band.unpack_from(data, layout.union)[0]}",
            f"si_fd={_I32.unpack_from(data, layout.union + band.size)[0]}"]


def _value(data: bytes, at: int, pointer: struct.Struct) -> list[str]:
    """A sigval: its int and its pointer, as strace shows both."""
    return [f"si_int={_I32.unpack_from(data, at)[0]}",
            f"si_ptr={_pointer(pointer.unpack_from(data, at)[0])}"]
