"""Signal information: ``si_code`` names and the kernel's ``siginfo_t`` as strace shows it.

A PSIG record holds the ``siginfo_t`` the recorder read with
PTRACE_GETSIGINFO (128 bytes). The recorder is a 64-bit process, so the
kernel hands it the x86_64 layout whatever the tracee's ABI: signo, errno,
code (three ``int``), padding, then the union at byte 16. Which union member
applies follows the kernel's ``siginfo_layout``: codes from user space
(``si_code <= 0``) carry the sender (pid, uid) and for ``SI_QUEUE`` & co. a
value; codes from the kernel carry what the signal is about (SIGCHLD the
child's status and times, SIGSEGV/SIGBUS/SIGILL/SIGFPE/SIGTRAP the address,
SIGIO the band and fd, SIGSYS the syscall).

Guarantees: ``code_name`` and ``strace_siginfo`` never raise, for any bytes
(short or missing siginfo gives just the signal and code); names are Linux's
(``include/uapi/asm-generic/siginfo.h``).

Does not: decode 32-bit layouts (the recorder never records them), or
``si_errno``.
"""

from __future__ import annotations

import struct

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


def strace_siginfo(signo: int, code: int, siginfo: bytes) -> str:
    """``{si_signo=SIGUSR1, si_code=SI_USER, si_pid=42, si_uid=0}``, as strace prints it."""
    if len(siginfo) >= _HEAD.size:
        signo, _errno, code = _HEAD.unpack_from(siginfo)
    parts = [f"si_signo={_signal(signo)}", f"si_code={code_name(signo, code)}"]
    if len(siginfo) >= 48:
        parts.extend(_union(signo, code, siginfo))
    return "{" + ", ".join(parts) + "}"


def _union(signo: int, code: int, data: bytes) -> list[str]:
    pid = _I32.unpack_from(data, 16)[0]
    uid = _U32.unpack_from(data, 20)[0]
    if code <= 0:  # from user space: the sender
        if code == SI_TIMER:
            return [f"si_timerid={_U32.unpack_from(data, 16)[0]:#x}",
                    f"si_overrun={_I32.unpack_from(data, 20)[0]}", *_value(data)]
        sender = [f"si_pid={pid}", f"si_uid={uid}"]
        if code in (SI_USER, SI_TKILL):
            return sender
        if code == SI_SIGIO:
            return [f"si_band={_I64.unpack_from(data, 16)[0]}",
                    f"si_fd={_I32.unpack_from(data, 24)[0]}"]
        return [*sender, *_value(data)]
    if code == SI_KERNEL:
        return [f"si_addr={_pointer(_U64.unpack_from(data, 16)[0])}"] if signo in _FAULTS else []
    if signo == SIGCHLD:
        status = _I32.unpack_from(data, 24)[0]
        shown = str(status) if code == 1 else _signal(status)  # CLD_EXITED: an exit status
        return [f"si_pid={pid}", f"si_uid={uid}", f"si_status={shown}",
                f"si_utime={_clock_t(_U64.unpack_from(data, 32)[0])}",
                f"si_stime={_clock_t(_U64.unpack_from(data, 40)[0])}"]
    if signo in _FAULTS:
        return [f"si_addr={_pointer(_U64.unpack_from(data, 16)[0])}"]
    if signo == SIGIO:
        return [f"si_band={_I64.unpack_from(data, 16)[0]}",
                f"si_fd={_I32.unpack_from(data, 24)[0]}"]
    if signo == SIGSYS:
        number = _I32.unpack_from(data, 24)[0]
        arch = _U32.unpack_from(data, 28)[0]
        arch_name, abi = _AUDIT_ARCHES.get(arch, (f"{arch:#x}", 0))
        name = syscall_name(abi, number) if abi else None
        return [f"si_call_addr={_pointer(_U64.unpack_from(data, 16)[0])}",
                f"si_syscall={'__NR_' + name if name else number}", f"si_arch={arch_name}"]
    return []


def _value(data: bytes) -> list[str]:
    word = _U64.unpack_from(data, 24)[0]
    return [f"si_int={_I32.unpack_from(data, 24)[0]}", f"si_ptr={_pointer(word)}"]
