"""The ptrace adapter: every ptrace request ktr makes goes through this module.

The request, option and event numbers are the kernel's (``linux/ptrace.h``;
a test compares them with the installed headers), and the calls go to the C
library's ``ptrace`` and ``wait4`` through ctypes. python-ptrace is not
imported: its import runs ``ldconfig`` to find the C library and loads
logging, datetime and subprocess, about 27 ms of every recording's start-up,
for the dozen numbers and the one library handle this module needs.

Guarantees: each helper makes exactly one ptrace request; a failed request
raises ``ktr.errors.PtraceError`` carrying the request's name, the pid and the
errno, never anything else. Results are read out of buffers allocated once at
import, so the hot requests (resume, syscall info) allocate nothing but their
result. Not thread-safe: ptrace requests must come from the tracer thread
anyway, and the shared buffers rely on that.

Also the control loop's blocking wait (``wait_blocking``, or its pieces
``wait4``/``WAIT4_ANY``/``wait_status``/``wait_failed`` for a loop that makes it
inline: wait4 through the C library, so that a signal ends it with EINTR
instead of Python's retry).
Does not: keep any state about tracees.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import ctypes
import errno
import os
import struct
from typing import NamedTuple

from formats import Abi

from .errors import PtraceError

# Requests (linux/ptrace.h).
PTRACE_PEEKUSER = 3
PTRACE_CONT = 7
PTRACE_KILL = 8
PTRACE_DETACH = 17
PTRACE_SYSCALL = 24
PTRACE_SETOPTIONS = 0x4200
PTRACE_GETEVENTMSG = 0x4201
PTRACE_GETSIGINFO = 0x4202
PTRACE_SEIZE = 0x4206
PTRACE_INTERRUPT = 0x4207
PTRACE_LISTEN = 0x4208
PTRACE_GETSIGMASK = 0x420A
PTRACE_GET_SYSCALL_INFO = 0x420E

PTRACE_O_TRACESYSGOOD = 0x1
PTRACE_O_TRACEFORK = 0x2
PTRACE_O_TRACEVFORK = 0x4
PTRACE_O_TRACECLONE = 0x8
PTRACE_O_TRACEEXEC = 0x10
PTRACE_O_TRACEEXIT = 0x40
PTRACE_O_TRACESECCOMP = 0x80
PTRACE_O_EXITKILL = 0x100000

PTRACE_EVENT_FORK = 1
PTRACE_EVENT_VFORK = 2
PTRACE_EVENT_CLONE = 3
PTRACE_EVENT_EXEC = 4
PTRACE_EVENT_VFORK_DONE = 5
PTRACE_EVENT_EXIT = 6
PTRACE_EVENT_SECCOMP = 7
PTRACE_EVENT_STOP = 128

# struct ptrace_syscall_info.op
SYSCALL_INFO_NONE = 0
SYSCALL_INFO_ENTRY = 1
SYSCALL_INFO_EXIT = 2
SYSCALL_INFO_SECCOMP = 3

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_I386 = 0x40000003
X32_SYSCALL_BIT = 0x40000000

#: offset of orig_rax in struct user_regs_struct (x86_64), for PEEKUSER
ORIG_RAX_OFFSET = 15 * 8

REQUEST_NAMES: dict[int, str] = {
    PTRACE_PEEKUSER: "PEEKUSER",
    PTRACE_CONT: "CONT",
    PTRACE_KILL: "KILL",
    PTRACE_DETACH: "DETACH",
    PTRACE_SYSCALL: "SYSCALL",
    PTRACE_SETOPTIONS: "SETOPTIONS",
    PTRACE_GETEVENTMSG: "GETEVENTMSG",
    PTRACE_GETSIGINFO: "GETSIGINFO",
    PTRACE_SEIZE: "SEIZE",
    PTRACE_INTERRUPT: "INTERRUPT",
    PTRACE_LISTEN: "LISTEN",
    PTRACE_GETSIGMASK: "GETSIGMASK",
    PTRACE_GET_SYSCALL_INFO: "GET_SYSCALL_INFO",
}

# The C library's functions are found through the process's own symbol table
# (dlopen(NULL)): the interpreter is linked against it, so there is no search
# for its file name. ptrace returns a signed long. No argtypes: converting
# arguments through a prototype costs a third of the call. request and pid go
# as C ints. addr and data, which glibc reads as pointers, go as one of: a
# prebuilt ``ctypes.byref`` of a buffer (the cheapest conversion), a small
# non-negative Python int (passed as a C int, which libffi's x86-64 call path
# sign-extends into the full 64-bit register — the ABI itself leaves the upper
# half undefined — so the pointer-sized value is exact: NULL, a signal number,
# a buffer size), or a prebuilt c_void_p for anything that may not fit in 31
# bits.
#
# The hot requests' arguments are prebuilt once: a buffer goes as
# ``ctypes.byref`` of it (a CArgObject, copied as it is; an array or a
# c_void_p is turned into a new one on every call), and the -1 of the blocking wait as a
# ``c_int.from_param`` (also a CArgObject: a negative Python int first fails
# the unsigned conversion, an OverflowError raised and cleared on every call).
# About 220 instructions a syscall info and 740 a blocking wait (callgrind).
#
# ptrace goes through a PyDLL handle (errno kept the same way): its calls keep
# the GIL. No ptrace request blocks, and dropping and retaking the GIL around
# each of the two requests of a syscall stop cost about 800 instructions per
# stop while the writer thread exists (callgrind, bench/bench_instructions.py).
# wait4, which blocks, releases the GIL as usual.
_ptrace = ctypes.PyDLL(None, use_errno=True)["ptrace"]
_ptrace.restype = ctypes.c_long
_get_errno = ctypes.get_errno
_set_errno = ctypes.set_errno
_Pointer = ctypes.c_void_p
_NULL = _Pointer(0)

SIGINFO_SIZE = 128
_SYSCALL_INFO_SIZE = 88
_siginfo_buffer = ctypes.create_string_buffer(SIGINFO_SIZE)
_siginfo_address = _Pointer(ctypes.addressof(_siginfo_buffer))
_syscall_info_buffer = ctypes.create_string_buffer(_SYSCALL_INFO_SIZE)
_syscall_info_address = _Pointer(ctypes.addressof(_syscall_info_buffer))
_syscall_info_size = _Pointer(_SYSCALL_INFO_SIZE)
_syscall_info_ref = ctypes.byref(_syscall_info_buffer)
#: the buffer's bytes as unsigned ints: ``[0]`` is the op, without an unpack
_syscall_info_bytes = memoryview(_syscall_info_buffer).cast("B")
_word = ctypes.c_ulong()
_word_address = _Pointer(ctypes.addressof(_word))
_sigset = ctypes.c_uint64()
_sigset_address = _Pointer(ctypes.addressof(_sigset))
_sigset_size = _Pointer(8)
_wait4 = ctypes.CDLL(None, use_errno=True)["wait4"]
_wait4.restype = ctypes.c_int
_wait_status = (ctypes.c_int * 1)()
_wait_status_ref = ctypes.byref(_wait_status)
_ANY_CHILD = ctypes.c_int.from_param(-1)
_WALL = 0x40000000  # __WALL

# op, flags, arch, ip, sp, then the entry/seccomp layout: nr and six arguments
_unpack_info = struct.Struct("<BxHIQQq6Q").unpack_from
_unpack_exit = struct.Struct("<qB").unpack_from
# op and arch, then the exit layout's rval and is_error / the entry layout's
# stack pointer, nr and six arguments (instruction pointer and flags skipped)
_unpack_exit_info = struct.Struct("<BxxxI16xqB").unpack_from
_unpack_entry_info = struct.Struct("<BxxxI8xQq6Q").unpack_from
_unpack_siginfo_head = struct.Struct("<iii").unpack_from
_unpack_ret_data = struct.Struct("<I").unpack_from


class SyscallInfo(NamedTuple):
    """``struct ptrace_syscall_info``, decoded.

    ``nr``/``args`` are valid for ENTRY and SECCOMP; ``rval``/``is_error`` for
    EXIT; ``ret_data`` for SECCOMP. For the x32 ABI ``nr`` has the x32 bit
    removed (``abi`` says it was set).
    """

    op: int
    abi: Abi
    arch: int
    instruction_pointer: int
    stack_pointer: int
    nr: int
    args: tuple[int, int, int, int, int, int]
    rval: int
    is_error: bool
    ret_data: int


class SigInfo(NamedTuple):
    """The kernel's siginfo_t: raw 128 bytes plus the common head."""

    raw: bytes
    signo: int
    errno: int
    code: int


def _fail(request: int, pid: int) -> PtraceError:
    return PtraceError(REQUEST_NAMES.get(request, hex(request)), pid, _get_errno())


def request(request: int, pid: int, address: int = 0, data: int = 0) -> int:
    """One raw ptrace request; -1 is an error (never use for PEEK requests)."""
    result: int = _ptrace(request, pid, _Pointer(address), _Pointer(data))
    if result == -1:
        raise _fail(request, pid)
    return result


def seize(pid: int, options: int) -> None:
    """Attach without stopping the tracee (PTRACE_SEIZE) and set ``options``."""
    if _ptrace(PTRACE_SEIZE, pid, _NULL, _Pointer(options)) == -1:
        raise _fail(PTRACE_SEIZE, pid)


def interrupt(pid: int) -> None:
    """Ask a seized tracee to stop (it reports a PTRACE_EVENT_STOP)."""
    if _ptrace(PTRACE_INTERRUPT, pid, _NULL, _NULL) == -1:
        raise _fail(PTRACE_INTERRUPT, pid)


def listen(pid: int) -> None:
    """Leave a group-stopped tracee stopped but let it report the next event."""
    if _ptrace(PTRACE_LISTEN, pid, _NULL, _NULL) == -1:
        raise _fail(PTRACE_LISTEN, pid)


def syscall(pid: int, signal: int = 0) -> None:
    """Resume until the next syscall entry/exit, delivering ``signal``."""
    if _ptrace(PTRACE_SYSCALL, pid, 0, signal) == -1:
        raise _fail(PTRACE_SYSCALL, pid)


def cont(pid: int, signal: int = 0) -> None:
    """Resume until the next event or signal stop, delivering ``signal``."""
    if _ptrace(PTRACE_CONT, pid, 0, signal) == -1:
        raise _fail(PTRACE_CONT, pid)


def resume(how: int, pid: int, signal: int = 0) -> None:
    """Resume with PTRACE_SYSCALL or PTRACE_CONT (``how``)."""
    if _ptrace(how, pid, 0, signal) == -1:
        raise _fail(how, pid)


#: ``resume`` for the hot path, without a Python frame: ``resume_unchecked(how,
#: pid, 0, signal)`` gives 0, or -1 and then ``resume_error(how, pid)`` is the
#: PtraceError to raise.
resume_unchecked = _ptrace


def resume_error(how: int, pid: int) -> PtraceError:
    """The error of the ``resume_unchecked`` that has just failed."""
    return _fail(how, pid)


def detach(pid: int, signal: int = 0) -> None:
    """Detach a stopped tracee, delivering ``signal`` to it."""
    if _ptrace(PTRACE_DETACH, pid, 0, signal) == -1:
        raise _fail(PTRACE_DETACH, pid)


def setoptions(pid: int, options: int) -> None:
    if _ptrace(PTRACE_SETOPTIONS, pid, _NULL, _Pointer(options)) == -1:
        raise _fail(PTRACE_SETOPTIONS, pid)


def geteventmsg(pid: int) -> int:
    """The message of the last ptrace event (new pid, former tid, exit status)."""
    if _ptrace(PTRACE_GETEVENTMSG, pid, _NULL, _word_address) == -1:
        raise _fail(PTRACE_GETEVENTMSG, pid)
    return _word.value


def getsiginfo(pid: int) -> SigInfo:
    """The siginfo of the signal that caused the current stop."""
    if _ptrace(PTRACE_GETSIGINFO, pid, _NULL, _siginfo_address) == -1:
        raise _fail(PTRACE_GETSIGINFO, pid)
    raw = _siginfo_buffer.raw
    signo, error_number, code = _unpack_siginfo_head(raw)
    return SigInfo(raw, signo, error_number, code)


def getsigmask(pid: int) -> int:
    """The tracee's blocked-signal mask: bit n-1 for signal n."""
    if _ptrace(PTRACE_GETSIGMASK, pid, _sigset_size, _sigset_address) == -1:
        raise _fail(PTRACE_GETSIGMASK, pid)
    return _sigset.value


def peekuser(pid: int, offset: int) -> int:
    """One word of the tracee's USER area (registers), unsigned."""
    _set_errno(0)
    result: int = _ptrace(PTRACE_PEEKUSER, pid, _Pointer(offset), _NULL)
    if result == -1 and _get_errno() != 0:
        raise _fail(PTRACE_PEEKUSER, pid)
    return result & 0xFFFF_FFFF_FFFF_FFFF


def abi_of_arch(arch: int, nr: int) -> Abi:
    """The ABI of a syscall from its audit arch and (signed) number."""
    if arch == AUDIT_ARCH_X86_64:
        return Abi.X32 if nr >= 0 and nr & X32_SYSCALL_BIT else Abi.X86_64
    if arch == AUDIT_ARCH_I386:
        return Abi.I386
    return Abi.UNKNOWN


_EMPTY_ARGS = (0, 0, 0, 0, 0, 0)


def syscall_stop_info(pid: int) -> tuple[int, ...]:
    """The hot path's PTRACE_GET_SYSCALL_INFO, unpacked as far as the stop uses it.

    At an EXIT stop (op, arch, rval, is_error); at any other stop (op, arch,
    stack pointer, signed nr, arg0..arg5), valid for ENTRY and SECCOMP.
    ``get_syscall_info`` decodes fully.
    """
    if _ptrace(PTRACE_GET_SYSCALL_INFO, pid, _SYSCALL_INFO_SIZE, _syscall_info_ref) == -1:
        raise _fail(PTRACE_GET_SYSCALL_INFO, pid)
    if _syscall_info_bytes[0] == SYSCALL_INFO_EXIT:
        return _unpack_exit_info(_syscall_info_buffer)
    return _unpack_entry_info(_syscall_info_buffer)


#: ``syscall_stop_info`` in pieces, for the hot path (a Python frame less a
#: stop): ``syscall_info_unchecked(PTRACE_GET_SYSCALL_INFO, pid,
#: SYSCALL_INFO_SIZE, syscall_info_into)`` gives -1 on failure (then
#: ``syscall_info_error(pid)`` is the PtraceError to raise); else
#: ``syscall_info_op[0]`` is the op, and ``unpack_exit_info`` (at EXIT) or
#: ``unpack_entry_info`` (any other op) of ``syscall_info_buffer`` the tuple
#: ``syscall_stop_info`` returns.
syscall_info_unchecked = _ptrace
SYSCALL_INFO_SIZE = _SYSCALL_INFO_SIZE
syscall_info_into = _syscall_info_ref
syscall_info_op = _syscall_info_bytes
syscall_info_buffer = _syscall_info_buffer
unpack_exit_info = _unpack_exit_info
unpack_entry_info = _unpack_entry_info


def syscall_info_error(pid: int) -> PtraceError:
    """The error of the ``syscall_info_unchecked`` that has just failed."""
    return _fail(PTRACE_GET_SYSCALL_INFO, pid)


def get_syscall_info(pid: int) -> SyscallInfo:
    """PTRACE_GET_SYSCALL_INFO at a syscall or seccomp stop."""
    if _ptrace(PTRACE_GET_SYSCALL_INFO, pid, _syscall_info_size,
               _syscall_info_address) == -1:
        raise _fail(PTRACE_GET_SYSCALL_INFO, pid)
    buffer = _syscall_info_buffer
    op, _flags, arch, ip, sp, nr, a0, a1, a2, a3, a4, a5 = _unpack_info(buffer)
    if op == SYSCALL_INFO_EXIT:
        rval, is_error = _unpack_exit(buffer, 24)
        abi = Abi.X86_64 if arch == AUDIT_ARCH_X86_64 else abi_of_arch(arch, 0)
        return SyscallInfo(op, abi, arch, ip, sp, -1, _EMPTY_ARGS, rval, bool(is_error), 0)
    if arch == AUDIT_ARCH_X86_64 and (nr < 0 or not nr & X32_SYSCALL_BIT):
        abi = Abi.X86_64
    else:
        abi = abi_of_arch(arch, nr)
        if abi is Abi.X32:
            nr &= ~X32_SYSCALL_BIT
    ret_data = _unpack_ret_data(buffer, 80)[0] if op == SYSCALL_INFO_SECCOMP else 0
    if op == SYSCALL_INFO_NONE:
        return SyscallInfo(op, abi, arch, ip, sp, -1, _EMPTY_ARGS, 0, False, 0)
    return SyscallInfo(op, abi, arch, ip, sp, nr, (a0, a1, a2, a3, a4, a5), 0, False, ret_data)


class WaitGate:
    """A flag that keeps ``wait_blocking`` from starting a wait (set by a signal handler)."""

    __slots__ = ("closed",)

    def __init__(self) -> None:
        self.closed = False


def wait_blocking(gate: WaitGate) -> tuple[int, int] | None:
    """``waitpid(-1, __WALL)``: (pid, status) of the next child to change state.

    None when a signal interrupted the wait (EINTR), or at once when ``gate``
    is closed: unlike ``os.waitpid`` it is not retried and no Python exception
    is needed to break it, so a status is never taken and then lost to an
    exception raised by a signal handler. Python runs signal handlers at this
    function's entry at the latest, and nothing between the gate test and the
    system call runs one: a handler that closes the gate before the wait
    starts is always seen. ChildProcessError when there is no child left.
    """
    if gate.closed:
        return None
    pid: int = _wait4(_ANY_CHILD, _wait_status_ref, _WALL, 0)
    if pid == -1:
        wait_failed()
        return None
    return pid, _wait_status[0]


#: ``wait_blocking`` in pieces, for a loop that makes the wait inline (a
#: Python frame and a tuple less a stop) and keeps its contract: the gate is
#: tested, then ``wait4(*WAIT4_ANY)`` called with nothing between them that
#: runs a signal handler. It returns the pid, the status is then
#: ``wait_status[0]``; or -1, and then ``wait_failed()`` raises or returns
#: None (EINTR).
wait4 = _wait4
WAIT4_ANY = (_ANY_CHILD, _wait_status_ref, _WALL, 0)
wait_status = _wait_status


def wait_failed() -> None:
    """After a failed wait: None for EINTR, else ChildProcessError (no child
    left) or OSError."""
    error = _get_errno()
    if error == errno.EINTR:
        return
    if error == errno.ECHILD:
        raise ChildProcessError(error, os.strerror(error))
    raise OSError(error, os.strerror(error))
