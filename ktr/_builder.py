"""Turn control-loop events into trace records (ktrace's ``ktr_*`` producers).

One producer path for every kind: each event becomes zero or more encoded
records handed to a sink (the descriptor's ``add_entry``) in the order kdump
shows them: EMUL before a process's first record, and before a thread's
call of another ABI than its last EMUL's (``int $0x80`` in a 64-bit
program, then back: strace's "runs in 32 bit mode"); CALL, then NAMI for each
path argument, STRUCT for what the call reads and ARG/ENV for execve at
syscall entry; GIO, STRUCT for what the call filled, then RET at exit.

STRUCT captures follow the signatures (``linux.STRUCT_CAPTURES``: fixed
structures, strings, data sized by an argument or the result, counts, as many
capability sets as capget's header says, pselect6's sigmask pair and the set
it points to, a byte per page of mincore's length) plus
a few that depend on a command or on registers: fcntl's struct flock and
ioctl's terminal arguments by command, i386 ipc(SEMCTL)'s union semun,
futex's timeout by operation, the mask rt_sigreturn restores (from the
stack pointer), the pidfd and id clone3 wrote at ``pidfd`` and
``parent_tid`` (and the pidfd clone's CLONE_PIDFD wrote at ``parent_tid``),
a socklen_t's value before and after. i386 socketcall is captured as its
subcall (STRUCT "socketcall_args", then the subcall's own).
What a call's result names, as the kernel resolves it (STRUCT argument
``RESULT_ARGUMENT``): the path of the fd an fd-creating call returned
(``fd_path``, what strace -y prints: a file's path, ``socket:[INODE]``,
``anon_inode:[eventfd]``; none when it is the path the call was given, its
NAMI; dup's copies are the reader's to follow) and the working directory after chdir,
fchdir and execve (``cwd``), the fds pipe and socketpair made and those recvmsg
and recvmmsg received in SCM_RIGHTS (``fd_paths``): one readlink of
``/proc/TID/...`` per fd (a pipe's two ends: one) at the exit stop of
those calls alone, which succeeded; at the recording's first execve, the fds
open across it (``open_fds``, argument ``OPEN_FDS_ARGUMENT``: 0, 1, 2 and
any other inherited one), once; at attach, each attached process's working
directory and open fds (``cwd`` and ``open_fds``, after its first thread's
PROC ATTACH), once per process.
Calls without such captures pay one dictionary lookup and a few attribute
tests per stop.

Resume first, record after: ``prepare`` reads, at the stop, what a syscall
stop's records need (path strings, STRUCT captures, a read/write buffer) so
the loop can resume the thread before the records are encoded and queued;
stops whose records need more (exec strings, socketcall, iovecs, ...) are
built while stopped as before. Either way the records are the same bytes in
the same order (``tests/test_resume_first.py``).

Guarantees: the builder never raises into the control loop for anything a
tracee can cause (bad pointers, vanished memory): an unreadable path or buffer
is left out, and a record that cannot be built is counted as ENOMEM through
``log_error``; memory is read in bulk through ``TraceeMemory``.

Does not: talk to ptrace, decide which stops happen, or buffer records (the
descriptor does).
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import os
import struct
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import formats
from formats import (
    ABI_EMUL_NAMES,
    Abi,
    DropError,
    GenioFlag,
    IoDirection,
    ProcEvent,
    ProcFlag,
    RecordKind,
    SyscallFlag,
    linux,
)
from formats.linux import ArgKind

from ._events import (
    ACTION_CAUGHT,
    RESTART_ERRNOS,
    Event,
    Lifecycle,
    ProcessEvent,
    SignalDelivery,
    SyscallEntry,
    SyscallExit,
    Tracee,
)
from ._memory import END as _MEMORY_END
from ._memory import TraceeMemory
from ._utrace import UTRACE_SYSCALL

USER_LABEL_MAX = 255  # the label's length field is u16; keep labels short like ktrace's
USER_DATA_MAX = 64 * 1024
PATH_MAX = 4096
# argv/envp kept whole up to Linux's own limit on them (3/4 of _STK_LIM, 6 MiB),
# so the EXEC_ARG record is the complete command line (the file header keeps only
# its first 64 KiB); a record that size still fits a batch (SPEC's 16 MiB cap).
EXEC_STRINGS_MAX = 1 << 20  # argv/envp entries kept
EXEC_BYTES_MAX = 6 << 20  # argv/envp bytes kept
DIRENTS_BYTES_MAX = 1024 * 1024  # getdents bytes read to count the entries
ARRAY_ELEMENTS_MAX = 1024  # pollfds, epoll events kept per call
MSG_CONTROL_MAX = 4096  # bytes of a msghdr's control data (cmsgs) kept per call
#: The STRUCT argument number of a capture about the call's result, not an argument.
RESULT_ARGUMENT = 255
#: ... and of the fds open across the recording's first execve ("open_fds").
OPEN_FDS_ARGUMENT = 254
#: ... and of the fds recvmmsg's messages brought ("fd_paths": 255 is its "mmsg_extras").
MESSAGES_FDS_ARGUMENT = 254
#: The most fds "open_fds" lists.
OPEN_FDS_MAX = 1024
#: Calls whose result names a file the kernel resolved: (fd returned, path).
_RESULT_FD_PATH = 1
_RESULT_CWD = 2
_RESULT_RECEIVED_FDS = 3  # recvmsg: the fds SCM_RIGHTS brought, each with its path
_RESULT_PIPE = 4  # pipe, pipe2: both fds (one pipe, one readlink), as fd_paths
_RESULT_SOCKET_PAIR = 5  # socketpair: both fds (two sockets, a readlink each), as fd_paths
_FD_PAIRS = {"pipe": _RESULT_PIPE, "pipe2": _RESULT_PIPE, "socketpair": _RESULT_SOCKET_PAIR}
#: fd-returning calls without fd_path: the reader copies the old fd's description.
_DUP_CALLS = frozenset({"dup", "dup2", "dup3"})
_CWD_CALLS = frozenset({"chdir", "fchdir", "execve", "execveat"})

_CREATES_PROCESS = frozenset({Lifecycle.FORK, Lifecycle.VFORK, Lifecycle.CLONE})

#: Lifecycle events after which a thread's pending syscall never returns to us.
_ENDS_A_CALL = frozenset({Lifecycle.EXIT, Lifecycle.DETACH, Lifecycle.LOST, Lifecycle.EXITING})

_LIFECYCLE_EVENTS = {
    Lifecycle.FORK: ProcEvent.FORK,
    Lifecycle.VFORK: ProcEvent.VFORK,
    Lifecycle.CLONE: ProcEvent.CLONE,
    Lifecycle.EXEC: ProcEvent.EXEC,
    Lifecycle.EXIT: ProcEvent.EXIT,
    Lifecycle.ATTACH: ProcEvent.ATTACH,
    Lifecycle.DETACH: ProcEvent.DETACH,
    Lifecycle.LOST: ProcEvent.LOST,
    Lifecycle.STOP: ProcEvent.STOP,
}


@dataclass(frozen=True)
class BuilderOptions:
    kinds: frozenset[RecordKind]
    io_bytes: int
    selects: Callable[[Abi, int], bool]


class _StructPlan(NamedTuple):
    """One structure argument to capture as a STRUCT record."""

    argument: int
    name: bytes
    size: int | None  # None: from length_argument
    length_argument: int | None
    length_is_pointer: bool  # SOCKADDR_OUT: the length is behind a socklen_t *
    filled_on_error: bool
    measure: str = "size"  # linux.StructCapture.measure
    reclen_offset: int = 16  # "dirents": where d_reclen sits in an entry
    # filled_on_error: the flags argument whose TIMER_ABSTIME means nothing was filled
    abstime_arg: int | None = None


class _Plan:
    """What to capture for one syscall of one ABI, worked out once.

    Read on every stop: a class with slots, whose attributes the interpreter
    reads in about 95 instructions where a NamedTuple field took 230
    (callgrind); never changed once made (``_replace`` makes another).
    """

    __slots__ = (
        "argv_arg",
        "by_command",
        "clone_ids",
        "command_arg",
        "command_mask",
        "entry_mode",
        "entry_shape",
        "envp_arg",
        "exit_mode",
        "exit_plain_io",
        "exit_shape",
        "io_arg",
        "io_direction",
        "io_fd_arg",
        "io_kind",
        "io_length_arg",
        "path_args",
        "protects",
        "result_path",
        "selected",
        "sets_handler",
        "sigreturn_mask",
        "socketcall",
        "socklen_arg",
        "socklen_offset",
        "structs_in",
        "structs_out",
    )

    selected: bool
    path_args: tuple[int, ...]
    io_arg: int | None
    io_kind: ArgKind | None
    io_length_arg: int | None
    io_fd_arg: int | None
    io_direction: IoDirection
    argv_arg: int | None
    envp_arg: int | None
    structs_in: tuple[_StructPlan, ...]
    structs_out: tuple[_StructPlan, ...]
    sets_handler: bool  # rt_sigaction: learn the handler's address
    # Structures that depend on a command argument (fcntl's struct flock,
    # futex's timeout): command value -> (entry capture, exit capture).
    by_command: dict[int, tuple[_StructPlan | None, _StructPlan | None]] | None
    command_mask: int  # futex: the operation without its flag bits
    command_arg: int  # the argument holding the command (prctl: 0)
    socketcall: bool  # i386 socketcall: captures follow the subcall's plan
    socklen_arg: int | None  # a socklen_t * whose value at entry is kept
    socklen_offset: int  # recvmsg: where msg_namelen is in the msghdr socklen_arg points to
    # clone3 (_CLONE3_IDS): the pidfd and the parent's copy of the new id, at exit;
    # clone (_CLONE_PIDFD_ID): the pidfd CLONE_PIDFD wrote at parent_tid; 0: neither
    clone_ids: int
    # rt_sigreturn: where the signal frame's saved mask is, from the stack pointer
    sigreturn_mask: int | None
    # How the entry / exit records can be made (_FREE, _CAPTURE, _STOPPED; see prepare).
    entry_mode: int
    exit_mode: int
    # A _CAPTURE exit whose only read is a read()/write() buffer (its GENIO data).
    exit_plain_io: bool
    # The hot _CAPTURE shapes prepare reads and finishes without the general
    # path (_ENTRY_PATHS, _ENTRY_COMMAND; _EXIT_STRUCTS, _EXIT_DIRENTS,
    # _EXIT_COMMAND, _EXIT_FD_PATH; 0: the general capture).
    entry_shape: int
    exit_shape: int
    # What the result names, read from /proc at exit (_RESULT_FD_PATH, _RESULT_CWD,
    # _RESULT_RECEIVED_FDS, _RESULT_PIPE, _RESULT_SOCKET_PAIR; 0: none).
    result_path: int
    # A call that may change what the process may read (_PROTECTS_MPROTECT, ...;
    # 0: none): its stops tell the memory, selected or not (_WATCH, or the general
    # path: _protections_entry, _protections_exit).
    protects: int

    def __init__(
        self, selected: bool, *,
        path_args: tuple[int, ...] = (),
        io_arg: int | None = None,
        io_kind: ArgKind | None = None,
        io_length_arg: int | None = None,
        io_fd_arg: int | None = None,
        io_direction: IoDirection = IoDirection.READ,
        argv_arg: int | None = None,
        envp_arg: int | None = None,
        structs_in: tuple[_StructPlan, ...] = (),
        structs_out: tuple[_StructPlan, ...] = (),
        sets_handler: bool = False,
        by_command: dict[int, tuple[_StructPlan | None, _StructPlan | None]] | None = None,
        command_mask: int = 0xFFFF_FFFF,
        command_arg: int = 1,
        socketcall: bool = False,
        socklen_arg: int | None = None,
        socklen_offset: int = 0,
        clone_ids: int = 0,
        sigreturn_mask: int | None = None,
        entry_mode: int = 0,
        exit_mode: int = 0,
        exit_plain_io: bool = False,
        entry_shape: int = 0,
        exit_shape: int = 0,
        result_path: int = 0,
        protects: int = 0,
    ) -> None:
        self.selected = selected
        self.path_args = path_args
        self.io_arg = io_arg
        self.io_kind = io_kind
        self.io_length_arg = io_length_arg
        self.io_fd_arg = io_fd_arg
        self.io_direction = io_direction
        self.argv_arg = argv_arg
        self.envp_arg = envp_arg
        self.structs_in = structs_in
        self.structs_out = structs_out
        self.sets_handler = sets_handler
        self.by_command = by_command
        self.command_mask = command_mask
        self.command_arg = command_arg
        self.socketcall = socketcall
        self.socklen_arg = socklen_arg
        self.socklen_offset = socklen_offset
        self.clone_ids = clone_ids
        self.sigreturn_mask = sigreturn_mask
        self.entry_mode = entry_mode
        self.exit_mode = exit_mode
        self.exit_plain_io = exit_plain_io
        self.entry_shape = entry_shape
        self.exit_shape = exit_shape
        self.result_path = result_path
        self.protects = protects

    def _replace(self, **changes: Any) -> "_Plan":
        """A copy with ``changes`` (as NamedTuple._replace)."""
        fields = {name: getattr(self, name) for name in _Plan.__slots__}
        fields.update(changes)
        return _Plan(**fields)


_UNSELECTED = _Plan(selected=False)

# The hot finishers' constants, looked up once.
_X86_64 = Abi.X86_64
_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_GENIO = int(RecordKind.GENIO)
_NAMEI = int(RecordKind.NAMEI)
_STRUCT = int(RecordKind.STRUCT)
#: (argument, name, the getdents buffer, where d_reclen is in an entry)
_NO_DIRENTS: tuple[int, bytes, bytes, int] = (0, b"", b"", 0)
_VERSION = formats.RECORD_VERSION
_ARGUMENTS = 6  # Linux passes six argument registers (Codec.syscall_record)
_TRUNCATED = int(GenioFlag.TRUNCATED)


def _nothing(event: object) -> None:
    """The finisher of a prepared stop that makes no record (an unselected call)."""

# What a syscall stop's records need from the stopped thread (``_Plan.entry_mode``,
# ``exit_mode``), set by ``_with_modes`` for the builder's record kinds:
_STOPPED = 0  # the whole builder runs while the thread is stopped (the general path)
_FREE = 1  # nothing from the tracee: the records can be made after it is resumed
_CAPTURE = 2  # some memory, read by ``prepare`` (``_entry_reads``/``_exit_reads``)
# As _FREE, after ``prepare`` told the memory of a call that may change what the
# process may read (``_Plan.protects``: _protections_entry, _protections_exit)
_WATCH = 3
_IO_IN = frozenset(linux.IO_IN_KINDS)
_PLAIN_BUFFERS = frozenset({ArgKind.BUF_IN, ArgKind.BUF_OUT})
# The _CAPTURE shapes with a finisher of their own (``_Plan.entry_shape``,
# ``exit_shape``, set by ``_with_modes``): what prepare reads for them.
_ENTRY_PATHS = 1  # path strings alone (NAMI): stat, openat, access, ...
_ENTRY_COMMAND = 2  # a command-dependent structure alone (fcntl, ioctl, futex)
_EXIT_STRUCTS = 1  # fixed-size structures filled on success alone (stat's)
_EXIT_DIRENTS = 2  # getdents' buffer, to count its entries (after the resume)
_EXIT_COMMAND = 3  # a command-dependent structure alone
_EXIT_FD_PATH = 4  # the returned fd's path alone (openat)


#: One STRUCT capture read by prepare: (argument, (name, bytes) or None).
_Found = tuple[int, "tuple[bytes, bytes] | None"]


_LITTLE_ENDIAN = sys.byteorder == "little"
_pread = os.pread
_PROT_READ = 1
#: _Plan.protects: what a call may do to what the process may read.
_PROTECTS_MPROTECT = 1  # mprotect, pkey_mprotect: (address, length, protection)
_PROTECTS_MMAP = 2  # mmap, mmap2: (address, length, protection, ...) -> the address
_PROTECTS_MREMAP = 3  # (old address, old length, new length, ...) -> the new address
_PROTECTS_MUNMAP = 4  # (address, length): unmapped (pread fails there by itself)
_PROTECTS_UNKNOWN = 5  # i386's old mmap (its arguments in memory): the maps are read again
_PAGE_MASK = os.sysconf("SC_PAGE_SIZE") - 1


def _page_up(length: int) -> int:
    return (length + _PAGE_MASK) & ~_PAGE_MASK


def _protects(abi: Abi, name: str | None) -> int:
    """What a call named ``name`` may do to what the process may read (_Plan.protects)."""
    if name == "mprotect" or name == "pkey_mprotect":
        return _PROTECTS_MPROTECT
    if name == "mmap2" or name == "mmap":
        return _PROTECTS_UNKNOWN if abi is Abi.I386 and name == "mmap" else _PROTECTS_MMAP
    if name == "mremap":
        return _PROTECTS_MREMAP
    return _PROTECTS_MUNMAP if name == "munmap" else 0


def _signed32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value & 0x8000_0000 else value


class RecordBuilder:
    """The event consumer: ``builder(event)`` for every event of a recording."""

    def __init__(
        self,
        options: BuilderOptions,
        sink: Callable[[bytes], object],
        log_error: Callable[[DropError], None],
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self._options = options
        self._notify = notify
        self._sink = sink
        self._log_error = log_error
        self._codec = formats.codec()
        self._plans: dict[tuple[Abi, int], _Plan] = {}
        kinds = options.kinds
        self._calls = RecordKind.SYSCALL in kinds
        self._namei = RecordKind.NAMEI in kinds
        self._genio = RecordKind.GENIO in kinds
        self._signals = RecordKind.PSIG in kinds
        self._user = RecordKind.USER in kinds
        self._emul = RecordKind.EMUL in kinds
        self._exec_args = RecordKind.EXEC_ARG in kinds
        self._exec_env = RecordKind.EXEC_ENV in kinds
        self._lifecycle = RecordKind.PROC in kinds
        self._structs = RecordKind.STRUCT in kinds
        # The recording's first successful execve lists the fds open across it
        # (STRUCT "open_fds"): those the trace never shows opened (0, 1, 2).
        self._fds_listed = False
        # Attached processes whose cwd and fds were listed (at their first ATTACH).
        self._attached_listed: set[int] = set()
        self._io_bytes = options.io_bytes
        # pid -> signal -> handler address, learnt from rt_sigaction, for PSIG's action
        self._signal_handlers: dict[int, dict[int, int]] = {}
        self._emul_written: dict[int, Abi] = {}  # pid -> ABI last announced
        # tid -> the subcall plan and argument words of its open socketcall
        self._socketcalls: dict[int, tuple[_Plan, tuple[int, ...]]] = {}
        #: threads inside a call that may take read permission away (_protections_entry)
        self._changing: set[int] = set()
        self._socklens: dict[int, bytes] = {}  # tid -> its open call's socklen at entry
        self._opened: dict[int, bytes | None] = {}  # tid -> its open-like call's path
        # x86_64's plans again, by number alone: the hot path's lookup
        self._native_plans: dict[int, _Plan] = {}
        # What prepare read for the event the next call will be about, and
        # how that call makes its records (see prepare).
        self._captured: tuple[object, list[_Found]] | None = None
        self._ready_plan = _UNSELECTED
        self._ready_data: bytes | None = None
        # Bound once: these run several times per ptrace stop.
        self._syscall_record = self._codec.syscall_record
        self._sysret_record = self._codec.sysret_record
        self._genio_bytes = self._codec.genio_record
        self._struct_bytes = self._codec.struct_record
        # The codec's whole-record structs, packed here directly by the hot
        # finishers (the same values as Codec.syscall_record & co. pass:
        # tests/test_resume_first.py compares the two paths' bytes).
        codec = self._codec
        self._syscall_pack = codec.syscall_struct.pack
        self._syscall_size = codec.syscall_struct.size - codec.header.size
        self._sysret_pack = codec.sysret_struct.pack
        self._sysret_size = codec.sysret_struct.size - codec.header.size
        self._genio_pack = codec.genio_struct.pack
        self._genio_size = codec.genio_struct.size - codec.header.size
        self._namei_pack = codec.namei_struct.pack
        self._namei_size = codec.namei_struct.size - codec.header.size
        self._struct_pack = codec.struct_struct.pack
        self._struct_size = codec.struct_struct.size - codec.header.size
        # The hot finishers bound once: prepare hands one out at every stop, and
        # ``self._entry_free`` there would make a new bound method each time.
        self._entry_free_bound = self._entry_free
        self._exit_free_bound = self._exit_free
        self._exit_plain_io_bound = self._exit_plain_io
        self._entry_paths_bound = self._entry_paths
        self._exit_structs_bound = self._exit_structs
        self._exit_dirents_bound = self._exit_dirents
        self._finish_captured_bound = self._finish_captured
        # What prepare read for a hot shape's finisher (see _exit_shaped).
        self._ready_paths: list[bytes | None] = []
        self._ready_structs: list[tuple[int, bytes, bytes]] = []
        self._ready_dirents = _NO_DIRENTS
        self._handlers: dict[type, Callable[[Event], None]] = {
            SyscallEntry: self._on_entry,  # type: ignore[dict-item]
            SyscallExit: self._on_exit,  # type: ignore[dict-item]
            SignalDelivery: self._on_signal,  # type: ignore[dict-item]
            ProcessEvent: self._on_process,  # type: ignore[dict-item]
        }

    def __call__(self, event: Event) -> None:
        try:
            self._handlers[type(event)](event)
        except (MemoryError, struct.error, OverflowError, ValueError):
            # A record that cannot be made is counted, as ktrace counts ENOMEM.
            self._log_error(DropError.ENOMEM)

    # ------------------------------------------------------------------ output
    def _emit(self, record: bytes) -> None:
        self._sink(record)

    def _emit_payload(
        self, kind: RecordKind, tracee: Tracee, timestamp_ns: int, payload: formats.Payload
    ) -> None:
        self._emit(self._codec.encode_record(
            kind, tracee.pid, tracee.tid, timestamp_ns, tracee.comm, payload))

    def _announce_emulation(self, tracee: Tracee, timestamp_ns: int) -> None:
        tracee.emul_pending = False
        tracee.call_abi = tracee.abi
        if self._emul_written.get(tracee.pid) == tracee.abi:
            return  # another thread of this process already announced it
        self._emul_written[tracee.pid] = tracee.abi
        if self._emul:
            name = ABI_EMUL_NAMES.get(tracee.abi, "linux-unknown").encode()
            self._emit_payload(RecordKind.EMUL, tracee, timestamp_ns, formats.Emul(name))

    def _switch_emulation(self, tracee: Tracee, abi: Abi, timestamp_ns: int) -> None:
        """The thread makes a call of another ABI than the trace says (``int $0x80``
        from a 64-bit program, or back): an EMUL record for this thread, as
        strace prints ``[ Process PID=N runs in 32 bit mode. ]``."""
        tracee.call_abi = abi
        if self._emul:
            name = ABI_EMUL_NAMES.get(abi, "linux-unknown").encode()
            self._emit_payload(RecordKind.EMUL, tracee, timestamp_ns, formats.Emul(name))

    # ------------------------------------------------------------------ planning
    def _plan(self, abi: Abi, nr: int) -> _Plan:
        key = (abi, nr)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._with_modes(self._make_plan(abi, nr))
            if abi is _X86_64:
                self._native_plans[nr] = plan
        return plan

    def _with_modes(self, plan: _Plan) -> _Plan:
        """``plan`` with its entry and exit modes for this builder's record kinds.

        A stop is _CAPTURE when every read its records need is one of the
        plain ones ``_entry_reads``/``_exit_reads`` make (paths, STRUCT
        captures, a read/write buffer), _STOPPED when anything else reads the
        tracee or keeps state across stops (exec strings, socketcall, socklen,
        sigreturn, iovec/msghdr data, clone3, rt_sigaction's handler).
        """
        moded = self._with_record_modes(plan)
        if plan.protects:
            # prepare (or _on_entry/_on_exit, the general path) tells the memory
            free = moded.entry_mode == _FREE and moded.exit_mode == _FREE
            return moded._replace(entry_mode=_WATCH if free else _STOPPED,
                                  exit_mode=_WATCH if free else _STOPPED)
        return moded

    def _with_record_modes(self, plan: _Plan) -> _Plan:
        """``_with_modes`` for the records alone."""
        if not plan.selected:
            return plan._replace(entry_mode=_FREE, exit_mode=_FREE)
        structs = self._structs
        if (plan.socketcall
                or (structs and (plan.sigreturn_mask is not None or plan.socklen_arg is not None))
                or (plan.argv_arg is not None and self._exec_args)
                or (plan.envp_arg is not None and (self._exec_env or structs))):
            entry = _STOPPED
        elif (self._namei and plan.path_args) or (
                structs and (plan.structs_in or plan.by_command is not None)):
            entry = _CAPTURE
        else:
            entry = _FREE
        io = self._genio and plan.io_arg is not None
        if (plan.socketcall or plan.sets_handler or (structs and plan.clone_ids)
                or (io and plan.io_kind not in _PLAIN_BUFFERS)):
            exit_ = _STOPPED
        elif io or (structs and (plan.structs_out or plan.by_command is not None
                                 or plan.result_path)):
            exit_ = _CAPTURE
        else:
            exit_ = _FREE
        plain_io = (exit_ == _CAPTURE and io and plan.io_kind in _PLAIN_BUFFERS
                    and not (structs and (plan.structs_out or plan.by_command is not None)))
        entry_shape = exit_shape = 0
        if entry == _CAPTURE:
            if not (structs and (plan.structs_in or plan.by_command is not None)):
                entry_shape = _ENTRY_PATHS
            elif not (self._namei and plan.path_args) and not plan.structs_in:
                entry_shape = _ENTRY_COMMAND
        if exit_ == _CAPTURE and structs and plan.io_arg is None:
            # (structs: an exit is _CAPTURE without I/O only for STRUCT captures)
            outs = plan.structs_out
            command = plan.by_command is not None
            if outs and not command and not plan.result_path and all(
                    wanted.measure == "size" and wanted.size is not None
                    and not wanted.filled_on_error and wanted.name != b"wstatus"
                    for wanted in outs):
                exit_shape = _EXIT_STRUCTS
            elif (len(outs) == 1 and outs[0].measure == "dirents"
                  and not outs[0].filled_on_error and not command and not plan.result_path):
                exit_shape = _EXIT_DIRENTS
            elif not outs and command and not plan.result_path:
                exit_shape = _EXIT_COMMAND
            elif not outs and not command and plan.result_path == _RESULT_FD_PATH:
                exit_shape = _EXIT_FD_PATH
        return plan._replace(entry_mode=entry, exit_mode=exit_, exit_plain_io=plain_io,
                             entry_shape=entry_shape, exit_shape=exit_shape)

    def _make_plan(self, abi: Abi, nr: int) -> _Plan:
        if not self._options.selects(abi, nr):
            protects = _protects(abi, linux.syscall_name(abi, nr))
            return _Plan(selected=False, protects=protects) if protects else _UNSELECTED
        name = linux.syscall_name(abi, nr)
        protects = _protects(abi, name)
        if protects:
            return self._plan_for_protecting(abi, name, protects)
        signature = linux.signature(abi, name) if name is not None else None
        if signature is None:
            return _Plan(selected=True)
        if signature.name == "socketcall":
            return _Plan(selected=True, socketcall=True)
        return self._plan_for(abi, signature)

    def _plan_for_protecting(self, abi: Abi, name: str | None, protects: int) -> _Plan:
        signature = linux.signature(abi, name) if name is not None else None
        plan = self._plan_for(abi, signature) if signature is not None else _Plan(selected=True)
        return plan._replace(protects=protects)

    def _plan_for(self, abi: Abi, signature: linux.Signature) -> _Plan:
        io_arg = signature.io_args[0] if signature.io_args else None
        io_kind = signature.args[io_arg].kind if io_arg is not None else None
        argv_arg = envp_arg = None
        for index, argument in enumerate(signature.args):
            if argument.kind is ArgKind.ARGV:
                argv_arg = index
            elif argument.kind is ArgKind.ENVP:
                envp_arg = index
        structs_in: list[_StructPlan] = []
        structs_out: list[_StructPlan] = []
        for index in signature.struct_args:
            argument = signature.args[index]
            capture = linux.STRUCT_CAPTURES[argument.kind]
            size = linux.struct_size(capture, abi)
            measure = capture.measure
            if size is None and measure in ("size", "elements", "retval_elements") and (
                    argument.length_arg is None or measure != "size"):
                continue  # no such structure in this ABI
            # struct linux_dirent64's d_reclen follows two u64; the old
            # linux_dirent's two longs (i386: 4 bytes each).
            reclen = 8 if abi is Abi.I386 and signature.name == "getdents" else 16
            wanted = _StructPlan(
                index, capture.name.encode(), size, argument.length_arg,
                argument.kind is ArgKind.SOCKADDR_OUT, capture.filled_on_error, measure,
                reclen, _ABSTIME_FLAGS.get(signature.name) if capture.filled_on_error else None)
            (structs_in if capture.direction == "in" else structs_out).append(wanted)
            if argument.kind in _UPDATED_KINDS or (
                    signature.name in _TIME_LEFT_CALLS and argument.kind in _TIMEOUT_KINDS):
                # again at exit: the revents poll set, the entry set_thread_area
                # chose, the fds select found ready, the time left of a wait
                structs_out.append(wanted)
        socklen_arg = next((index for index, argument in enumerate(signature.args)
                            if argument.kind is ArgKind.SOCKLEN_PTR), None)
        socklen_offset = 0
        if socklen_arg is None:
            # recvmsg: its msghdr's msg_namelen as the caller set it (strace's
            # "msg_namelen=128 => 16"; a failed call's "{msg_namelen=128}")
            socklen_arg = next((index for index, argument in enumerate(signature.args)
                                if argument.kind is ArgKind.MSGHDR_OUT), None)
            socklen_offset = 4 if abi in (Abi.I386, Abi.X32) else 8
        result_path = 0
        if signature.ret is linux.RetKind.FD and signature.name not in _DUP_CALLS:
            result_path = _RESULT_FD_PATH  # a file opened, or a socket, an eventfd, ...
        elif signature.name in _FD_PAIRS:
            result_path = _FD_PAIRS[signature.name]
        elif signature.name in _CWD_CALLS:
            result_path = _RESULT_CWD
        elif signature.name == "recvmsg":
            result_path = _RESULT_RECEIVED_FDS
        return _Plan(
            selected=True,
            result_path=result_path,
            socklen_arg=socklen_arg,
            socklen_offset=socklen_offset,
            clone_ids=_CLONE_IDS.get(signature.name, 0),
            sigreturn_mask=_SIGRETURN_MASKS.get((abi, signature.name)),
            by_command=_command_structs(signature.name, abi),
            command_mask=(0x7F if signature.name.startswith("futex")
                          else 0xFFFF_FF00 if signature.name.startswith("quotactl")
                          else 0xFFFF if signature.name == "ipc"
                          else 0xFF if signature.name in _IPC_DS else 0xFFFF_FFFF),
            command_arg=(0 if signature.name in ("prctl", "ipc", "keyctl", "syslog", "quotactl",
                                                 "ptrace")
                         else 2 if signature.name == "semctl" else 1),
            structs_in=tuple(structs_in),
            structs_out=tuple(structs_out),
            sets_handler=signature.name == "rt_sigaction",
            path_args=signature.path_args,
            io_arg=io_arg,
            io_kind=io_kind,
            io_length_arg=signature.args[io_arg].length_arg if io_arg is not None else None,
            io_fd_arg=signature.io_fd_arg,
            io_direction=IoDirection.WRITE if io_kind in _IO_IN else IoDirection.READ,
            argv_arg=argv_arg,
            envp_arg=envp_arg,
        )

    # ------------------------------------------------------------------ resume first
    def prepare(self, event: Event) -> Callable[[Any], None] | None:
        """Read, while the thread is still stopped, what ``event``'s records need.

        A finisher: the loop may resume the thread, then must call
        ``finisher(event)`` (before any other call of this builder); it makes
        the records from what was read here, while the tracee runs, the same
        bytes in the same order as ``builder(event)`` while stopped. None:
        call ``builder(event)`` before resuming (the event needs the stopped
        thread throughout, its syscall has not been planned yet, or an EMUL
        record is owed first).

        The plan decides here, once per stop, which finisher makes the
        records: a bare CALL or RET, a read()/write() RET with its GENIO, or
        the general capture. A finisher counts a record it cannot make as
        ENOMEM, as ``builder(event)`` does.
        """
        event_type = type(event)
        if event_type is SyscallExit:
            tracee, _, _, abi, nr, retval, error, entry = event  # type: ignore[misc]
            plan = (self._native_plans.get(nr) if abi is _X86_64
                    else self._plans.get((abi, nr)))
            if plan is None or tracee.emul_pending:
                return None
            mode = plan.exit_mode
            finish: Callable[[Any], None]
            if mode == _FREE:
                return self._exit_free_bound if plan.selected else _nothing
            elif mode != _CAPTURE:
                if mode == _WATCH:
                    self._protections_exit(event, plan.protects)  # type: ignore[arg-type]
                    return self._exit_free_bound if plan.selected else _nothing
                return None
            elif plan.exit_plain_io and entry is not None and not (
                    error and self._structs and plan.io_kind is ArgKind.BUF_IN):
                # (a write() that failed: _exit_reads keeps what it was asked to send)
                # TraceeMemory.read gives b"" for unreadable memory, never raises
                # (a conditional, not min(): builtin min iterates its arguments,
                # about 700 instructions)
                if retval > 0:
                    io_bytes = self._io_bytes
                    length = retval if retval < io_bytes else io_bytes
                    address = entry.args[plan.io_arg]  # type: ignore[index]
                    memory = tracee.memory
                    fd = memory.fd
                    # memory.read(address, length) without its frame (see _memory;
                    # a length of 0, with -s 0, reads nothing there)
                    if fd >= 0 and length and address + length <= _MEMORY_END:
                        try:
                            data = _pread(fd, length, address)
                        except OSError:
                            data = b""
                        if len(data) != length and data:
                            data = memory.read_on(fd, data, address, length)
                    else:
                        data = memory.read(address, length)
                    self._ready_data = data
                else:
                    self._ready_data = None
                self._ready_plan = plan  # (its finisher's fd and direction)
                return self._exit_plain_io_bound
            elif plan.exit_shape and (error or entry is None):
                # None of these shapes captures anything then (_exit_reads: nothing
                # filled, no command structure, no path): the bare RET
                finish = self._exit_free_bound
            elif plan.exit_shape and (plan.exit_shape != _EXIT_COMMAND or (
                    (pair := plan.by_command.get(  # type: ignore[union-attr]
                        entry.args[plan.command_arg] & plan.command_mask)) is None  # type: ignore[union-attr]
                    or pair[1] is None)):
                finish = self._exit_shaped(tracee, plan, retval, entry.args)  # type: ignore[union-attr]
            else:
                try:
                    captured = self._exit_reads(event, plan)  # type: ignore[arg-type]
                except (MemoryError, struct.error, OverflowError, ValueError):
                    return None  # made (and counted) the general way
                if captured[0] is None and not captured[1]:
                    # Nothing to record but the RET (fcntl(F_GETFD), a failed
                    # stat): the bare finisher makes the same bytes, faster.
                    finish = self._exit_free_bound
                else:
                    self._captured = captured
                    finish = self._finish_captured_bound
        elif event_type is SyscallEntry:
            entry_event: SyscallEntry = event  # type: ignore[assignment]
            tracee, _, _, abi, nr, args, _ = entry_event
            plan = (self._native_plans.get(nr) if abi is _X86_64
                    else self._plans.get((abi, nr)))
            if plan is None or tracee.emul_pending or abi is not tracee.call_abi:
                return None
            mode = plan.entry_mode
            if mode == _FREE:
                # (each hot branch returns its finisher at once: a jump and a store less)
                return self._entry_free_bound if plan.selected and self._calls else _nothing
            elif mode != _CAPTURE:
                if mode == _WATCH:
                    self._protections_entry(entry_event, plan.protects)
                    return self._entry_free_bound if plan.selected and self._calls else _nothing
                return None
            elif plan.entry_shape == _ENTRY_PATHS:
                memory = tracee.memory
                paths = [_read_string(memory, args[index], PATH_MAX)
                         for index in plan.path_args]
                if plan.result_path == _RESULT_FD_PATH:
                    # the path as given, which the exit compares with the kernel's (_result)
                    self._opened[tracee.tid] = paths[0]
                if paths.count(None) == len(paths):
                    finish = self._entry_free_bound if self._calls else _nothing
                else:
                    self._ready_paths = paths
                    finish = self._entry_paths_bound
            elif plan.entry_shape == _ENTRY_COMMAND and (
                    (pair := plan.by_command.get(  # type: ignore[union-attr]
                        args[plan.command_arg] & plan.command_mask)) is None
                    or pair[0] is None):
                # a command without a structure (fcntl F_GETFD, futex FUTEX_WAKE)
                finish = self._entry_free_bound if self._calls else _nothing
            else:
                try:
                    captured = self._entry_reads(event, plan)  # type: ignore[arg-type]
                except (MemoryError, struct.error, OverflowError, ValueError):
                    return None
                paths, found = captured
                if not found and paths.count(None) == len(paths):
                    # no path read and no structure: the bare CALL, as above
                    finish = self._entry_free_bound if self._calls else _nothing
                else:
                    self._captured = captured
                    finish = self._finish_captured_bound
        else:
            return None
        return finish

    def _exit_shaped(self, tracee: Tracee, plan: _Plan, retval: int,
                     args: tuple[int, ...]) -> Callable[[Any], None]:
        """The reads of a successful exit of a hot shape (``_Plan.exit_shape``), the
        same as ``_exit_reads`` makes for it; its finisher."""
        shape = plan.exit_shape
        if shape == _EXIT_COMMAND:
            return self._exit_free_bound  # (prepare found no structure for the command)
        found: list[tuple[int, bytes, bytes]] = []
        if shape == _EXIT_STRUCTS:
            memory = tracee.memory
            for wanted in plan.structs_out:
                address = args[wanted.argument]
                if address:
                    data = _read(memory, address, wanted.size)  # type: ignore[arg-type]
                    if data:
                        found.append((wanted.argument, wanted.name, data))
        elif shape == _EXIT_DIRENTS:
            wanted = plan.structs_out[0]
            address = args[wanted.argument]
            if not address or retval <= 0:
                return self._exit_free_bound
            entries = _read(tracee.memory, address, min(retval, DIRENTS_BYTES_MAX))
            if entries is None:
                return self._exit_free_bound
            # counted after the resume (_exit_dirents)
            self._ready_dirents = (wanted.argument, wanted.name, entries, wanted.reclen_offset)
            return self._exit_dirents_bound
        else:  # _EXIT_FD_PATH
            value = self._result(tracee, _RESULT_FD_PATH, retval)
            if value is not None:
                found.append((RESULT_ARGUMENT, value[0], value[1]))
        if not found:
            return self._exit_free_bound
        self._ready_structs = found
        return self._exit_structs_bound

    # The finishers: the records of a prepared stop, made after the resume.
    def _entry_paths(self, event: SyscallEntry) -> None:
        """The CALL and the NAMI records of the paths prepare read."""
        tracee, timestamp_ns, _, abi, nr, args, _ = event
        paths = self._ready_paths
        self._ready_paths = []
        pid, tid, comm = tracee.pid, tracee.tid, tracee.comm
        sink, namei_pack = self._sink, self._namei_pack
        try:
            if self._calls:
                syscall_pack = self._syscall_pack
                sink(syscall_pack(
                    self._syscall_size, _SYSCALL, _VERSION, pid, tid, timestamp_ns,
                    comm, nr, abi, 0, _ARGUMENTS, *args))
            for path in paths:
                if path is not None:
                    sink(namei_pack(
                        self._namei_size + len(path), _NAMEI, _VERSION, pid, tid,
                        timestamp_ns, comm, len(path)) + path)
        except (MemoryError, struct.error, OverflowError, ValueError):
            self._log_error(DropError.ENOMEM)

    def _exit_structs(self, event: SyscallExit) -> None:
        """The STRUCT records prepare read (``_exit_shaped``), then the RET."""
        found = self._ready_structs
        self._ready_structs = []
        self._struct_records(event, found)

    def _exit_dirents(self, event: SyscallExit) -> None:
        """getdents' STRUCT "dirents" (its entries counted here, after the resume),
        then the RET."""
        argument, name, entries, reclen_offset = self._ready_dirents
        self._ready_dirents = _NO_DIRENTS
        self._struct_records(event, [(argument, name, formats.struct_data.encode_count(
            _count_dirents(entries, reclen_offset)))])

    def _struct_records(self, event: SyscallExit, found: list[tuple[int, bytes, bytes]],
                        ) -> None:
        tracee, timestamp_ns, _, abi, _, _, _, _ = event
        pid, tid, comm = tracee.pid, tracee.tid, tracee.comm
        sink, struct_pack = self._sink, self._struct_pack
        try:
            for argument, name, data in found:
                sink(struct_pack(
                    self._struct_size + len(name) + len(data), _STRUCT, _VERSION, pid, tid,
                    timestamp_ns, comm, abi, argument, len(name), len(data)) + name + data)
        except (MemoryError, struct.error, OverflowError, ValueError):
            self._log_error(DropError.ENOMEM)
            return
        self._exit_free(event)

    def _entry_free(self, event: SyscallEntry) -> None:
        # (callables kept in attributes are called from locals here and in the
        # other finishers: ``self._sink(...)`` is a method lookup the
        # interpreter cannot specialize, about 120 instructions more a call)
        tracee, timestamp_ns, _, abi, nr, args, _ = event
        sink, pack = self._sink, self._syscall_pack
        try:
            sink(pack(
                self._syscall_size, _SYSCALL, _VERSION, tracee.pid, tracee.tid, timestamp_ns,
                tracee.comm, nr, abi, 0, _ARGUMENTS, *args))
        except (MemoryError, struct.error, OverflowError, ValueError):
            self._log_error(DropError.ENOMEM)

    def _exit_free(self, event: SyscallExit) -> None:
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        if self._calls:
            sink, pack = self._sink, self._sysret_pack
            try:
                sink(pack(
                    self._sysret_size, _SYSRET, _VERSION, tracee.pid, tracee.tid, timestamp_ns,
                    tracee.comm, nr, abi, 0, error, retval,
                    monotonic_ns - entry.monotonic_ns if entry is not None else 0))
            except (MemoryError, struct.error, OverflowError, ValueError):
                self._log_error(DropError.ENOMEM)

    def _exit_plain_io(self, event: SyscallExit) -> None:
        """The GENIO of a read()/write() with the data prepare read, then its SYSRET.

        ``_exit_free``'s SYSRET and ``_signed32`` are written out here: a call
        of each costs more than the record (test_resume_first compares the bytes).
        """
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        data = self._ready_data
        self._ready_data = None
        sink = self._sink
        if data is not None:
            plan = self._ready_plan
            size = len(data)
            fd_arg = plan.io_fd_arg
            if fd_arg is None:
                fd = -1
            else:
                fd = entry.args[fd_arg] & 0xFFFF_FFFF  # type: ignore[union-attr]
                if fd & 0x8000_0000:
                    fd -= 1 << 32
            genio_pack = self._genio_pack
            try:
                sink(genio_pack(
                    self._genio_size + size, _GENIO, _VERSION, tracee.pid, tracee.tid,
                    timestamp_ns, tracee.comm, fd, plan.io_direction,
                    _TRUNCATED if size < retval else 0, retval, size) + data)
            except (MemoryError, struct.error, OverflowError, ValueError):
                self._log_error(DropError.ENOMEM)
                return  # as the general path: no SYSRET after a record that failed
        if self._calls:
            sysret_pack = self._sysret_pack
            try:
                sink(sysret_pack(
                    self._sysret_size, _SYSRET, _VERSION, tracee.pid, tracee.tid, timestamp_ns,
                    tracee.comm, nr, abi, 0, error, retval,
                    monotonic_ns - entry.monotonic_ns))  # type: ignore[union-attr]
            except (MemoryError, struct.error, OverflowError, ValueError):
                self._log_error(DropError.ENOMEM)

    def _finish_captured(self, event: SyscallEntry | SyscallExit) -> None:
        """The records of a stop whose memory prepare read (``_captured``)."""
        captured = self._captured
        self._captured = None
        try:
            if type(event) is SyscallEntry:
                self._on_entry(event, captured)
            else:
                self._on_exit(event, captured)  # type: ignore[arg-type]
        except (MemoryError, struct.error, OverflowError, ValueError):
            self._log_error(DropError.ENOMEM)

    def _entry_reads(self, event: SyscallEntry, plan: _Plan
                     ) -> tuple[list[bytes | None], list[_Found]]:
        """A _CAPTURE entry's reads, in record order: paths, then STRUCT captures."""
        tracee = event.tracee
        args = event.args
        paths: list[bytes | None] = []
        if self._namei:
            memory = tracee.memory
            for index in plan.path_args:
                paths.append(_read_string(memory, args[index], PATH_MAX))
            if plan.result_path == _RESULT_FD_PATH:
                # the path as given, which the exit compares with the kernel's (_result)
                self._opened[tracee.tid] = paths[0] if paths else None
        found: list[_Found] = []
        if self._structs:
            for wanted in plan.structs_in:
                found.append((wanted.argument,
                              self._struct_data(tracee, event.abi, args, wanted)))
            if plan.by_command is not None:
                pair = plan.by_command.get(args[plan.command_arg] & plan.command_mask)
                if pair is not None and pair[0] is not None:
                    found.append((pair[0].argument,
                                  self._struct_data(tracee, event.abi, args, pair[0])))
        return paths, found

    def _exit_reads(self, event: SyscallExit, plan: _Plan) -> tuple[object, list[_Found]]:
        """A _CAPTURE exit's reads, in record order: the I/O data, then STRUCT captures."""
        tracee = event.tracee
        entry = event.entry
        if entry is None:
            return None, []
        args = entry.args
        retval = event.retval
        data: bytes | None = None
        found: list[_Found] = []
        if self._genio and plan.io_arg is not None and retval > 0:
            # TraceeMemory.read gives b"" for unreadable memory, never raises
            data = tracee.memory.read(args[plan.io_arg], min(retval, self._io_bytes))
        elif event.error and plan.io_kind in _IO_IN and self._genio and self._structs:
            found.append(self._unsent(tracee, event.abi, args, plan))
        if self._structs:
            error = event.error
            for wanted in plan.structs_out:
                if _was_filled(wanted, error, args):
                    if retval <= 0 and wanted.name == b"wstatus":
                        continue  # WNOHANG and no child ready: nothing was written
                    captured = self._struct_data(tracee, event.abi, args, wanted, retval)
                    found.append((wanted.argument, captured))
                    if captured is not None and (wanted.measure == "mmsghdr"
                                                 or wanted.measure == "retval_mmsghdr"):
                        # sendmmsg/recvmmsg: their names and control data
                        extras = _mmsg_extras(tracee.memory, captured[1], event.abi)
                        found.append((RESULT_ARGUMENT, extras))
                        if wanted.measure == "retval_mmsghdr":  # recvmmsg: fds received
                            found.append((MESSAGES_FDS_ARGUMENT, _received_in_messages(
                                tracee.tid, extras, event.abi)))
                elif wanted.measure == "socklen" or wanted.measure == "msghdr":
                    found.append((wanted.argument, self._socklen_at_entry(tracee, wanted)))
            if plan.io_kind is ArgKind.MMSGHDR_IN and self._genio:
                found.extend(self._unsent_messages(tracee, event.abi, args, plan, retval, error))
            if plan.by_command is not None and not error:
                pair = plan.by_command.get(args[plan.command_arg] & plan.command_mask)
                if pair is not None and pair[1] is not None:
                    found.append((pair[1].argument,
                                  self._struct_data(tracee, event.abi, args, pair[1], retval)))
            if plan.result_path == _RESULT_RECEIVED_FDS:
                captures = [value for _, value in found if value is not None]
                if not error and captures:
                    received = _received_fds(tracee.tid, captures[-1], event.abi)
                    if received is not None:
                        found.append((RESULT_ARGUMENT, received))
            elif plan.result_path >= _RESULT_PIPE:
                if not error and found and found[-1][1] is not None:
                    found.append((RESULT_ARGUMENT, _pair_paths(
                        tracee.tid, found[-1][1], plan.result_path == _RESULT_PIPE)))
            elif plan.result_path and not error:
                found += self._result_found(tracee, plan, retval)
        return data, found

    def _result_found(self, tracee: Tracee, plan: _Plan, retval: int) -> list[_Found]:
        """A successful call's ``fd_path`` or ``cwd`` (not recvmsg's received fds: its
        msghdr capture brings those), and at the recording's first execve the fds
        open across it (``open_fds``, once)."""
        found: list[_Found] = [(RESULT_ARGUMENT, self._result(tracee, plan.result_path, retval))]
        if plan.result_path == _RESULT_CWD and not self._fds_listed and (
                plan.argv_arg is not None):
            self._fds_listed = True
            found.append((OPEN_FDS_ARGUMENT, _open_fds(tracee.tid)))
        return found

    def _result(self, tracee: Tracee, which: int, retval: int) -> tuple[bytes, bytes] | None:
        """``_result_path``, but no ``fd_path`` when the kernel's path is the path the
        call was given (its NAMI says it already: an absolute path without symlinks
        or ``..``): the common case costs no record and no bytes."""
        found = _result_path(tracee.tid, which, retval)
        if which == _RESULT_FD_PATH:
            given = self._opened.pop(tracee.tid, None)
            if found is not None and found[1] == given:
                return None
        return found

    def _emit_found(self, tracee: Tracee, timestamp_ns: int, abi: Abi,
                    found: list[_Found]) -> None:
        for argument, value in found:
            if value is not None:
                self._sink(self._struct_bytes(tracee.pid, tracee.tid, timestamp_ns, tracee.comm,
                                              abi, argument, value[0], value[1]))

    # ------------------------------------------------------------------ syscalls
    def _on_entry(self, event: SyscallEntry,
                  prepared: tuple[object, list[_Found]] | None = None) -> None:
        tracee = event.tracee
        if tracee.emul_pending:
            self._announce_emulation(tracee, event.timestamp_ns)
        if event.abi is not tracee.call_abi:
            self._switch_emulation(tracee, event.abi, event.timestamp_ns)
        nr = event.nr
        if nr == UTRACE_SYSCALL:
            if self._user:
                self._user_record(event)
            return
        plan = self._plans.get((event.abi, nr)) or self._plan(event.abi, nr)
        if plan.protects:
            self._protections_entry(event, plan.protects)
        if not plan.selected:
            return
        mode = plan.entry_mode
        if mode != _STOPPED:
            if prepared is not None:
                captured: tuple[object, list[_Found]] | None = prepared
            elif mode == _CAPTURE:
                captured = self._entry_reads(event, plan)
            else:
                captured = None
            if self._calls:
                self._sink(self._syscall_record(
                    tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, nr, event.abi,
                    event.args))
            if captured is not None:
                paths, found = captured
                for path in paths:  # type: ignore[attr-defined]
                    if path is not None:
                        self._emit(self._codec.namei_record(
                            tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, path))
                if found:
                    self._emit_found(tracee, event.timestamp_ns, event.abi, found)
            return
        if self._calls:
            self._sink(self._syscall_record(
                tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, nr, event.abi,
                event.args))
        memory = tracee.memory
        if self._namei:
            for index in plan.path_args:
                path = _read_string(memory, event.args[index], PATH_MAX)
                if path is not None:
                    self._emit(self._codec.namei_record(
                        tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, path))
        if plan.structs_in and self._structs:
            for wanted in plan.structs_in:
                self._struct_record(tracee, event.timestamp_ns, event.abi, event.args, wanted)
        if plan.sigreturn_mask is not None and self._structs:
            self._sigreturn_mask(event, plan.sigreturn_mask)
        if plan.socketcall:
            self._socketcall_entry(event)
        elif plan.socklen_arg is not None and self._structs:
            address = event.args[plan.socklen_arg]
            self._remember_socklen(tracee, address and address + plan.socklen_offset)
        if plan.by_command is not None and self._structs:
            wanted_pair = plan.by_command.get(event.args[plan.command_arg] & plan.command_mask)
            if wanted_pair is not None and wanted_pair[0] is not None:
                self._struct_record(tracee, event.timestamp_ns, event.abi, event.args,
                                    wanted_pair[0])
        if plan.argv_arg is not None and self._exec_args:
            self._exec_strings(RecordKind.EXEC_ARG, event, event.args[plan.argv_arg])
        if plan.envp_arg is not None:
            if self._exec_env:
                self._exec_strings(RecordKind.EXEC_ENV, event, event.args[plan.envp_arg])
            elif self._structs:
                self._string_count(event, plan.envp_arg)

    def _on_exit(self, event: SyscallExit,
                 prepared: tuple[object, list[_Found]] | None = None) -> None:
        nr = event.nr
        if nr == UTRACE_SYSCALL:
            return
        plan = self._plans.get((event.abi, nr)) or self._plan(event.abi, nr)
        if plan.protects:
            self._protections_exit(event, plan.protects)
        if not plan.selected:
            return
        tracee = event.tracee
        if tracee.emul_pending:
            self._announce_emulation(tracee, event.timestamp_ns)
        entry = event.entry
        retval = event.retval
        mode = plan.exit_mode
        if mode != _STOPPED:
            if prepared is not None:
                captured = prepared
            elif mode == _CAPTURE:
                captured = self._exit_reads(event, plan)
            else:
                captured = None
            if captured is not None:
                data, found = captured
                if data is not None:
                    assert isinstance(data, bytes)
                    self._sink(self._genio_bytes(
                        tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm,
                        _signed32(entry.args[plan.io_fd_arg])  # type: ignore[union-attr]
                        if plan.io_fd_arg is not None else -1,
                        plan.io_direction, GenioFlag.TRUNCATED if len(data) < retval else 0,
                        retval, data))
                if found:
                    self._emit_found(tracee, event.timestamp_ns, event.abi, found)
            if self._calls:
                self._sink(self._sysret_record(
                    tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, nr, event.abi, 0,
                    event.error, retval,
                    event.monotonic_ns - entry.monotonic_ns if entry is not None else 0))
            return
        args: tuple[int, ...] = entry.args if entry is not None else ()
        if plan.socketcall:
            # the subcall's plan and argument words, from the entry
            plan, args = self._socketcalls.pop(tracee.tid, (plan, args))
        if self._genio and plan.io_arg is not None and entry is not None and retval > 0:
            if plan.io_kind in _PLAIN_BUFFERS:
                # read()/write(): the common case, without the general path's dispatch
                data = _read(tracee.memory, args[plan.io_arg],
                             min(retval, self._options.io_bytes)) or b""
                self._sink(self._genio_bytes(
                    tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm,
                    _signed32(args[plan.io_fd_arg]) if plan.io_fd_arg is not None else -1,
                    plan.io_direction, GenioFlag.TRUNCATED if len(data) < retval else 0,
                    retval, data))
            else:
                self._io_record(event, args, plan)
        elif (event.error and plan.io_kind in _IO_IN and entry is not None and self._genio
              and self._structs):
            self._emit_found(tracee, event.timestamp_ns, event.abi,
                             [self._unsent(tracee, event.abi, args, plan)])
        if plan.structs_out and entry is not None and self._structs:
            error = event.error
            for wanted in plan.structs_out:
                if _was_filled(wanted, error, args):
                    if retval <= 0 and wanted.name == b"wstatus":
                        continue  # WNOHANG and no child ready: nothing was written
                    if wanted.measure == "mmsghdr" or wanted.measure == "retval_mmsghdr":
                        # sendmmsg/recvmmsg: the messages, then their names and control data
                        messages = self._struct_data(tracee, event.abi, args, wanted, retval)
                        extras = (None if messages is None else
                                  _mmsg_extras(tracee.memory, messages[1], event.abi))
                        received = (_received_in_messages(tracee.tid, extras, event.abi)
                                    if wanted.measure == "retval_mmsghdr" else None)
                        self._emit_found(tracee, event.timestamp_ns, event.abi, [
                            (wanted.argument, messages), (RESULT_ARGUMENT, extras),
                            (MESSAGES_FDS_ARGUMENT, received)])
                        continue
                    if plan.result_path == _RESULT_RECEIVED_FDS and wanted.measure == "msghdr":
                        # recvmsg: its msghdr, then the fds SCM_RIGHTS brought with their paths
                        message = self._struct_data(tracee, event.abi, args, wanted, retval)
                        received = (None if message is None
                                    else _received_fds(tracee.tid, message, event.abi))
                        self._emit_found(tracee, event.timestamp_ns, event.abi, [
                            (wanted.argument, message), (RESULT_ARGUMENT, received)])
                        continue
                    if plan.result_path >= _RESULT_PIPE and not error:
                        # pipe, socketpair (i386 socketcall): the fds, then their paths
                        pair = self._struct_data(tracee, event.abi, args, wanted, retval)
                        self._emit_found(tracee, event.timestamp_ns, event.abi, [
                            (wanted.argument, pair), (RESULT_ARGUMENT, None if pair is None
                                                      else _pair_paths(
                                tracee.tid, pair, plan.result_path == _RESULT_PIPE))])
                        continue
                    self._struct_record(tracee, event.timestamp_ns, event.abi, args,
                                        wanted, retval)
                elif wanted.measure == "socklen" or wanted.measure == "msghdr":
                    self._emit_found(tracee, event.timestamp_ns, event.abi, [
                        (wanted.argument, self._socklen_at_entry(tracee, wanted))])
            if plan.io_kind is ArgKind.MMSGHDR_IN and self._genio:
                self._emit_found(tracee, event.timestamp_ns, event.abi,
                                 self._unsent_messages(tracee, event.abi, args, plan, retval,
                                                       error))
        if (plan.by_command is not None and entry is not None and self._structs
                and not event.error):
            wanted_pair = plan.by_command.get(entry.args[plan.command_arg] & plan.command_mask)
            if wanted_pair is not None and wanted_pair[1] is not None:
                self._struct_record(tracee, event.timestamp_ns, event.abi, entry.args,
                                    wanted_pair[1], retval)
        if plan.clone_ids and entry is not None and not event.error and self._structs:
            if plan.clone_ids == _CLONE3_IDS:
                self._clone3_ids(event, args)
            else:
                self._clone_pidfd(event, args)
        if ((plan.result_path == _RESULT_FD_PATH or plan.result_path == _RESULT_CWD)
                and entry is not None and not event.error and self._structs):
            self._emit_found(tracee, event.timestamp_ns, event.abi,
                             self._result_found(tracee, plan, retval))
        if plan.sets_handler and entry is not None and event.error == 0:
            self._learn_handler(tracee, event.abi, entry.args)
        if self._calls:
            duration = event.monotonic_ns - entry.monotonic_ns if entry is not None else 0
            self._sink(self._sysret_record(
                tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, nr, event.abi,
                0, event.error, retval, duration))

    def _protections_entry(self, event: SyscallEntry, protects: int) -> None:
        """A call that may take read permission away: the process's memory honours
        protections until it returns (another thread's read could race its effect)."""
        if protects in (_PROTECTS_MREMAP, _PROTECTS_UNKNOWN) or (
                protects <= _PROTECTS_MMAP and not event.args[2] & _PROT_READ):
            event.tracee.memory.protections_changing()
            self._changing.add(event.tracee.tid)

    def _protections_exit(self, event: SyscallExit, protects: int) -> None:
        """Its return: the memory's ranges follow what the call did (a range made
        readable again is read the fast way again); where that is not known from
        the arguments, the maps are read again at the next read. A thread that
        never returns leaves its process's reads honouring protections: slower,
        never wrong."""
        was_changing = event.tracee.tid in self._changing
        if was_changing:
            self._changing.discard(event.tracee.tid)
        memory = event.tracee.memory
        entry = event.entry
        if event.error:
            memory.protections_changed(was_changing, readable=True)  # (nothing changed)
            return
        if entry is None or protects == _PROTECTS_UNKNOWN:
            memory.protections_changed(was_changing)  # (the maps read again)
            return
        args = entry.args
        low = args[0] if protects != _PROTECTS_MMAP else event.retval & (1 << 64) - 1
        length = args[1] if protects != _PROTECTS_MREMAP else args[2]
        if protects == _PROTECTS_MREMAP:
            # The mapping moved (or grew) with what it allowed: known only when it
            # allowed reading everywhere (the old range not guarded); the old range
            # is unmapped or still the same.
            if memory.guarded_at(args[0], args[0] + _page_up(args[1])):
                memory.protections_changed(was_changing)
                return
            low = event.retval & (1 << 64) - 1
            readable = True
        else:
            readable = protects == _PROTECTS_MUNMAP or bool(args[2] & _PROT_READ)
        memory.protections_changed(was_changing, low, low + _page_up(length), readable)

    def unfinished(self, tracee: Tracee, timestamp_ns: int, detached: bool = False) -> None:
        """A SYSRET for a call that will never return (the thread exited or left).

        Its duration runs to the stop that ended the call (``timestamp_ns``,
        the trace clock as the entry's), not to when this record is made.
        ``detached``: ktr let the thread go in the call (flagged DETACHED: it goes
        on untraced, and views say so from this record alone).
        """
        entry = tracee.entry
        # ktr.utrace's number is never planned (prepare relies on that)
        if entry is None or not self._calls or entry.nr == UTRACE_SYSCALL:
            return
        if not self._plan(entry.abi, entry.nr).selected:
            return
        self._emit(self._codec.sysret_record(
            tracee.pid, tracee.tid, timestamp_ns, tracee.comm, entry.nr, entry.abi,
            SyscallFlag.UNFINISHED | (SyscallFlag.DETACHED if detached else SyscallFlag.NONE),
            0, 0, timestamp_ns - entry.timestamp_ns))

    # ------------------------------------------------------------------ I/O data
    def _io_record(self, event: SyscallExit, args: tuple[int, ...], plan: _Plan) -> None:
        assert plan.io_arg is not None and plan.io_kind is not None
        transferred = event.retval
        cap = self._options.io_bytes
        wanted = min(transferred, cap)
        memory = event.tracee.memory
        address = args[plan.io_arg]
        kind = plan.io_kind
        direction = plan.io_direction
        if kind in (ArgKind.IOVEC_IN, ArgKind.IOVEC_OUT):
            count = args[plan.io_length_arg] if plan.io_length_arg is not None else 0
            data = _read_iovec(memory, address, count, wanted, event.abi)
        elif kind in (ArgKind.MSGHDR_IN, ArgKind.MSGHDR_OUT):
            data = _read_msghdr(memory, address, event.abi, wanted)
        else:  # mmsghdr arrays: retval counts messages, not bytes
            self._mmsg_records(event, args, plan, direction)
            return
        fd = _signed32(args[plan.io_fd_arg]) if plan.io_fd_arg is not None else -1
        self._genio_record(event, fd, direction, transferred, data)

    def _unsent(self, tracee: Tracee, abi: Abi, args: tuple[int, ...], plan: _Plan) -> _Found:
        """A write-like call that failed sent nothing (no GENIO), but strace shows
        what it was asked to send: that data as a STRUCT "bytes" (at most ``-s``
        bytes; an iovec array's or a msghdr's vectors' data, concatenated)."""
        assert plan.io_arg is not None
        memory = tracee.memory
        address = args[plan.io_arg]
        limit = self._options.io_bytes
        count = args[plan.io_length_arg] if plan.io_length_arg is not None else 0
        data: bytes | None = None
        if address == 0:
            data = None
        elif plan.io_kind is ArgKind.BUF_IN:
            data = _read(memory, address, min(count, limit))
        elif plan.io_kind is ArgKind.IOVEC_IN:
            data = _read_iovec(memory, address, count, limit, abi)
        elif plan.io_kind is ArgKind.MSGHDR_IN:
            data = _read_msghdr(memory, address, abi, limit)
        if not data and count:
            data = None  # nothing readable where data was asked for: strace's address
        return plan.io_arg, (None if data is None else (b"bytes", data))

    def _unsent_messages(self, tracee: Tracee, abi: Abi, args: tuple[int, ...], plan: _Plan,
                         retval: int, error: int) -> list[_Found]:
        """sendmmsg: strace shows every message with its data, sent or not. A failed
        call's messages (STRUCT "mmsghdr", which a successful call's exit has
        already), then the data of the messages not sent (all of a failed call's,
        those past the return value's count) as STRUCT "unsent_messages": per
        message, a u32 length and its vectors' data, at most ``-s`` bytes of it
        (and at most UNSENT_MESSAGES_MAX bytes in all)."""
        wanted = next((w for w in plan.structs_out if w.measure == "mmsghdr"), None)
        if wanted is None or wanted.length_argument is None or not args[wanted.argument]:
            return []
        count = min(args[wanted.length_argument] & 0xFFFF_FFFF, ARRAY_ELEMENTS_MAX)
        sent = 0 if error else min(max(retval, 0), count)
        if sent >= count:
            return []
        found: list[_Found] = []
        if error:
            found.append((wanted.argument, self._struct_data(tracee, abi, args, wanted, retval)))
        header_size, _ = _msghdr_layout(abi)
        stride = header_size + 8  # struct mmsghdr: msghdr, unsigned msg_len, padding
        budget = max(self._options.io_bytes, UNSENT_MESSAGES_MAX)
        messages: list[bytes] = []
        for index in range(sent, count):
            limit = min(self._options.io_bytes, budget)
            if limit <= 0:
                break
            data = _read_msghdr(tracee.memory, args[wanted.argument] + index * stride, abi,
                                limit)
            if data is None:
                break
            messages.append(data)
            budget -= len(data)
        found.append((wanted.argument,
                      (b"unsent_messages", formats.struct_data.encode_parts(messages))))
        return found

    def _genio_record(
        self, event: SyscallExit, fd: int, direction: IoDirection, transferred: int,
        data: bytes | None,
    ) -> None:
        if data is None:
            data = b""
        flags = GenioFlag.TRUNCATED if len(data) < transferred else GenioFlag.NONE
        tracee = event.tracee
        self._emit(self._codec.genio_record(
            tracee.pid, tracee.tid, event.timestamp_ns, tracee.comm, fd, direction, flags,
            transferred, data))

    def _mmsg_records(
        self, event: SyscallExit, args: tuple[int, ...], plan: _Plan, direction: IoDirection
    ) -> None:
        memory = event.tracee.memory
        address = args[plan.io_arg] if plan.io_arg is not None else 0
        fd = _signed32(args[plan.io_fd_arg]) if plan.io_fd_arg is not None else -1
        header_size, _ = _msghdr_layout(event.abi)
        stride = header_size + 8  # struct mmsghdr: msghdr, unsigned msg_len, padding
        for index in range(min(event.retval, 1024)):
            base = address + index * stride
            length_bytes = _read(memory, base + header_size, 4)
            if length_bytes is None or len(length_bytes) < 4:
                return
            transferred = int.from_bytes(length_bytes, "little")
            data = _read_msghdr(memory, base, event.abi, min(transferred, self._options.io_bytes))
            self._genio_record(event, fd, direction, transferred, data)

    # ------------------------------------------------------------------ structures
    def _struct_record(
        self, tracee: Tracee, timestamp_ns: int, abi: Abi, args: tuple[int, ...],
        wanted: _StructPlan, retval: int = 0,
    ) -> None:
        found = self._struct_data(tracee, abi, args, wanted, retval)
        if found is not None:
            self._sink(self._struct_bytes(tracee.pid, tracee.tid, timestamp_ns, tracee.comm,
                                          abi, wanted.argument, found[0], found[1]))

    def _struct_data(
        self, tracee: Tracee, abi: Abi, args: tuple[int, ...], wanted: _StructPlan,
        retval: int = 0,
    ) -> tuple[bytes, bytes] | None:
        """(name, bytes) of one STRUCT capture, read from the stopped thread; None: no record."""
        address = args[wanted.argument]
        if address == 0:
            return None
        if wanted.measure != "size":
            return self._measured_data(tracee, abi, args, wanted, retval)
        size = wanted.size
        if size is None:
            assert wanted.length_argument is not None
            length = args[wanted.length_argument]
            if wanted.length_is_pointer:
                word = _read(tracee.memory, length, 4) if length else None
                length = int.from_bytes(word, "little") if word and len(word) == 4 else 0
                # The kernel writes at most the caller's buffer size (the socklen_t's
                # value at entry) and returns the address's full size: the bytes
                # past the former are the program's own, not the address.
                before = self._socklens.get(tracee.tid)
                if before is not None:
                    length = min(length, int.from_bytes(before, "little"))
            size = min(length, linux.SOCKADDR_STORAGE_SIZE)
        data = _read(tracee.memory, address, size)
        if not data:
            return None
        return wanted.name, data

    def _measured_data(
        self, tracee: Tracee, abi: Abi, args: tuple[int, ...], wanted: _StructPlan,
        retval: int,
    ) -> tuple[bytes, bytes] | None:
        """A STRUCT whose size comes from an argument or the result (see linux.MEASURES)."""
        memory = tracee.memory
        address = args[wanted.argument]
        measure = wanted.measure
        name = wanted.name
        data: bytes | None
        if measure == "string":
            data = _read_string(memory, address, PATH_MAX)
        elif measure == "length":
            length = args[wanted.length_argument] if wanted.length_argument is not None else 0
            data = _read(memory, address, min(length, self._options.io_bytes))
        elif measure == "retval":
            if retval <= 0:
                return None
            data = _read(memory, address, min(retval, self._options.io_bytes))
        elif measure == "retval_length":  # the result may pass what the buffer holds
            length = args[wanted.length_argument] if wanted.length_argument is not None else 0
            if retval <= 0 or length <= 0:
                return None
            data = _read(memory, address, min(retval, length, self._options.io_bytes))
        elif measure == "dirents":
            if retval <= 0:
                return None
            entries = _read(memory, address, min(retval, DIRENTS_BYTES_MAX))
            if entries is None:
                return None
            data = formats.struct_data.encode_count(
                _count_dirents(entries, wanted.reclen_offset))
        elif measure == "fdset":
            nfds = args[wanted.length_argument] if wanted.length_argument is not None else 0
            width = wanted.size or 8
            nfds = min(max(_signed32(nfds), 0), 1024 * 1024)
            data = _read(memory, address, ((nfds + 7) // 8 + width - 1) // width * width)
        elif measure == "msghdr":
            data = self._msghdr_bytes(memory, address, abi, self._socklens.pop(tracee.tid, None))
        elif measure == "msgbuf":  # a System V message: long mtype, then mtext
            size = args[wanted.length_argument] if wanted.length_argument is not None else 0
            data = _read(memory, address, (wanted.size or 8)
                         + min(size & 0xFFFF_FFFF, self._options.io_bytes))
        elif measure == "mmsghdr" or measure == "retval_mmsghdr":
            count = args[wanted.length_argument] if wanted.length_argument is not None else 0
            count &= 0xFFFF_FFFF
            if measure == "retval_mmsghdr":  # recvmmsg: the messages received
                count = min(count, max(retval, 0))
            data = self._mmsghdr_bytes(memory, address, abi, count) if count else None
        elif measure == "nodemask":  # maxnode - 1 bits in whole words, as the kernel reads
            width = wanted.size or 8
            bits = width * 8
            maxnode = args[wanted.length_argument] if wanted.length_argument is not None else 0
            maxnode &= (1 << bits) - 1
            count = (maxnode + bits - 2) // bits
            if count <= 0:
                return None
            data = _read(memory, address, min(count, ARRAY_ELEMENTS_MAX) * width)
        elif measure == "self_sized":  # its first u32 says its size (sched_attr)
            word = _read(memory, address, 4)
            if word is None or len(word) < 4:
                return None
            size = int.from_bytes(word, "little") or (wanted.size or 4)
            data = _read(memory, address, min(max(size, 4), SELF_SIZED_MAX))
        elif measure == "socklen":
            before = self._socklens.pop(tracee.tid, None)
            after = _read(memory, address, 4)
            if before is None or after is None or len(after) < 4:
                return None
            data = before + after
        elif measure == "length_pointer":
            pointer = args[wanted.length_argument] if wanted.length_argument is not None else 0
            word = _read(memory, pointer, 4) if pointer else None
            if word is None or len(word) < 4:
                return None
            data = _read(memory, address, min(int.from_bytes(word, "little"),
                                               self._options.io_bytes))
        elif measure == "cap_data":  # capget/capset: as many elements as the header says
            header = args[wanted.length_argument] if wanted.length_argument is not None else 0
            word = _read(memory, header, 4) if header else None
            if word is None or len(word) < 4:
                return None
            count = 2 if int.from_bytes(word, "little") in _CAPABILITY_VERSIONS_2 else 1
            data = _read(memory, address, count * (wanted.size or 12))
            if data is None or len(data) < count * (wanted.size or 12):
                return None  # (a reader shows the address, as strace does)
        elif measure == "regset":  # ptrace GETREGSET/SETREGSET (x86_64): the iovec, then
            data = _read(memory, address, 16)  # NT_PRSTATUS's or NT_PRFPREG's registers
            if data is None or len(data) < 16:
                return None  # (a reader shows the address, as strace does)
            base, length = struct.unpack("<QQ", data)
            most = _REGSET_SIZES.get(args[2])
            if most is not None and base and length:
                registers = _read(memory, base, min(length, most))
                if registers:
                    data += registers
                if args[2] == _NT_PRFPREG:
                    name = b"fpregset"
        elif measure == "sigset_argpack":  # pselect6: {sigset_t *, size_t}, then the set
            size = wanted.size or 16
            data = _read(memory, address, size)
            if data is None or len(data) < size:
                return None  # (a reader shows the address, as strace does)
            width = size // 2
            pointer = int.from_bytes(data[:width], "little")
            length = int.from_bytes(data[width:], "little")
            if pointer and 0 < length <= _SIGSET_BYTES:
                mask = _read(memory, pointer, length)
                if mask is not None and len(mask) == length:
                    data += mask
        else:  # "elements", "retval_elements": an array of fixed-size structures
            if measure == "elements":
                count = args[wanted.length_argument] if wanted.length_argument is not None else 0
            elif measure == "pages":  # mincore: a byte per page of the length argument
                length = args[wanted.length_argument] if wanted.length_argument is not None else 0
                count = min((length + _PAGE_SIZE - 1) // _PAGE_SIZE, ARRAY_ELEMENTS_MAX)
            else:
                count = retval
            count = min(count & 0xFFFF_FFFF, ARRAY_ELEMENTS_MAX)
            if count <= 0 or wanted.size is None:
                return None
            data = _read(memory, address, count * wanted.size)
            if not data:
                return None  # (none of it readable: a reader shows the address, as strace)
            name = b"%s[%d]" % (name, count)
        if data is None:
            return None
        return name, data

    def _socketcall_entry(self, event: SyscallEntry) -> None:
        """i386 socketcall: record the subcall's argument words, capture as the subcall does.

        The words go out as STRUCT "socketcall_args" (argument 1); the
        subcall's own captures (addresses, fd pairs, then its data at exit)
        use argument indices of the subcall. ktrdump shows the subcall.
        """
        tracee = event.tracee
        self._socketcalls.pop(tracee.tid, None)
        call = event.args[0] & 0xFFFF_FFFF
        signature = linux.socketcall_signature(call)
        if signature is None:
            return
        count = len(signature.args)
        data = _read(tracee.memory, event.args[1], 4 * count)
        if data is None or len(data) < 4 * count:
            return
        if self._structs:
            self._emit_payload(RecordKind.STRUCT, tracee, event.timestamp_ns,
                               formats.Struct(event.abi, 1, b"socketcall_args", data))
        key = (event.abi, -1 - call)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan_for(event.abi, signature)
        words = struct.unpack(f"<{count}I", data)
        if plan.structs_in and self._structs:
            for wanted in plan.structs_in:
                self._struct_record(tracee, event.timestamp_ns, event.abi, words, wanted)
        if plan.socklen_arg is not None and self._structs:
            address = words[plan.socklen_arg]
            self._remember_socklen(tracee, address and address + plan.socklen_offset)
        self._socketcalls[tracee.tid] = (plan, words)

    def _sigreturn_mask(self, event: SyscallEntry, offset: int) -> None:
        """rt_sigreturn: the mask it restores, from the signal frame (STRUCT "sigset", arg 0)."""
        if not event.stack_pointer:
            return
        mask = _read(event.tracee.memory, event.stack_pointer + offset, 8)
        if mask is not None and len(mask) == 8:
            self._emit_payload(RecordKind.STRUCT, event.tracee, event.timestamp_ns,
                               formats.Struct(event.abi, 0, b"sigset", mask))

    def _clone3_ids(self, event: SyscallExit, args: tuple[int, ...]) -> None:
        """clone3 with CLONE_PIDFD or CLONE_PARENT_SETTID: what it wrote there.

        A STRUCT "clone3_ids" for argument 0 at exit (after the clone_args read
        at entry): u32 which (bit 0: pidfd read, bit 1: parent_tid read), i32
        the pidfd, i32 the parent's copy of the new id; what strace shows as
        `` => {pidfd=[N], parent_tid=[N]}``.
        """
        memory = event.tracee.memory
        head = _read(memory, args[0], 32) if args and args[0] else None
        if head is None or len(head) < 32:
            return
        flags, pidfd_at, _child_tid, parent_tid_at = struct.unpack("<4Q", head)
        which = 0
        values = [0, 0]
        for bit, (flag, address) in enumerate(((_CLONE_PIDFD, pidfd_at),
                                               (_CLONE_PARENT_SETTID, parent_tid_at))):
            if flags & flag and address:
                value = _read(memory, address, 4)
                if value is not None and len(value) == 4:
                    which |= 1 << bit
                    values[bit] = int.from_bytes(value, "little", signed=True)
        if which:
            self._emit_payload(RecordKind.STRUCT, event.tracee, event.timestamp_ns,
                               formats.Struct(event.abi, 0, b"clone3_ids",
                                              formats.struct_data.encode_clone3_ids(
                                                  which, *values)))

    def _clone_pidfd(self, event: SyscallExit, args: tuple[int, ...]) -> None:
        """clone with CLONE_PIDFD: the pidfd the kernel wrote at ``parent_tid``.

        A STRUCT "clone3_ids" (which: bit 0, the pidfd) for argument 2, ``parent_tid``
        in every ABI's order; what strace shows as ``parent_tid=[N]``. (The kernel
        refuses CLONE_PIDFD with CLONE_PARENT_SETTID on clone: they share the pointer.)
        """
        if len(args) < 3 or not args[0] & _CLONE_PIDFD or not args[2]:
            return
        value = _read(event.tracee.memory, args[2], 4)
        if value is not None and len(value) == 4:
            self._emit_payload(RecordKind.STRUCT, event.tracee, event.timestamp_ns,
                               formats.Struct(event.abi, 2, b"clone3_ids",
                                              formats.struct_data.encode_clone3_ids(
                                                  1, int.from_bytes(value, "little",
                                                                    signed=True), 0)))

    def _socklen_at_entry(self, tracee: Tracee, wanted: _StructPlan) -> tuple[bytes, bytes] | None:
        """A failed call's STRUCT "socklen": the caller's value alone (strace's ``[16]``;
        for recvmsg's msghdr, its msg_namelen: ``{msg_namelen=16}``)."""
        before = self._socklens.pop(tracee.tid, None)
        return None if before is None else (b"socklen", before)

    def _remember_socklen(self, tracee: Tracee, address: int) -> None:
        """A socklen_t's value at entry, for the STRUCT "socklen" written at exit."""
        if address == 0:
            self._socklens.pop(tracee.tid, None)
            self._opened.pop(tracee.tid, None)
            return
        word = _read(tracee.memory, address, 4)
        if word is not None and len(word) == 4:
            self._socklens[tracee.tid] = word
        else:
            self._socklens.pop(tracee.tid, None)
            self._opened.pop(tracee.tid, None)

    @staticmethod
    def _msghdr_bytes(memory: TraceeMemory, address: int, abi: Abi,
                      namelen_before: bytes | None = None) -> bytes | None:
        """struct msghdr, the struct iovec array it points to (at most 1024), then
        the address msg_name points to (msg_namelen bytes, at most 128), the
        control data msg_control points to (msg_controllen bytes, at most 4096)
        and (recvmsg) ``namelen_before``, msg_namelen as the caller set it (u32).

        Each part only when the parts before it were read whole: a reader finds
        them by the header's pointers and lengths alone.
        """
        size, layout = _msghdr_layout(abi)
        header = _read(memory, address, size)
        if header is None or len(header) < size:
            return header
        iov, count = layout.unpack_from(header)
        name, namelen, control, controllen = _msghdr_extras(abi).unpack_from(header)
        width = 8 if abi is Abi.I386 or abi is Abi.X32 else 16
        count = min(count, ARRAY_ELEMENTS_MAX)
        wanted = count * width if iov else 0
        vectors = _read(memory, iov, wanted) if wanted else b""
        if vectors is None or len(vectors) < wanted:
            return header + (vectors or b"")
        parts = [header, vectors]
        for pointer, length in ((name, min(namelen, linux.SOCKADDR_STORAGE_SIZE)),
                                (control, min(controllen, MSG_CONTROL_MAX))):
            wanted = length if pointer else 0
            data = _read(memory, pointer, wanted) if wanted else b""
            if data is None or len(data) < wanted:
                break
            parts.append(data)
        else:
            if namelen_before is not None:
                parts.append(namelen_before)
        return b"".join(parts)

    @staticmethod
    def _mmsghdr_bytes(memory: TraceeMemory, address: int, abi: Abi, count: int) -> bytes | None:
        """Each struct mmsghdr of the array (at most 1024), then its struct iovec array.

        Ends at the first element that cannot be read whole (None: not even one).
        """
        size, layout = _msghdr_layout(abi)
        stride = size + 8  # msg_len, then padding to the next msghdr's alignment
        width = 8 if abi is Abi.I386 or abi is Abi.X32 else 16
        elements = _read(memory, address, min(count, ARRAY_ELEMENTS_MAX) * stride)
        if not elements:
            return None
        parts: list[bytes] = []
        for start in range(0, len(elements) - stride + 1, stride):
            element = elements[start:start + stride]
            iov, iovlen = layout.unpack_from(element)
            wanted = min(iovlen, ARRAY_ELEMENTS_MAX) * width if iov else 0
            vectors = _read(memory, iov, wanted) if wanted else b""
            if vectors is None or len(vectors) < wanted:
                break  # the reader needs every element's iovecs whole to walk on
            parts += (element, vectors)
        return b"".join(parts) or None

    def _string_count(self, event: SyscallEntry, argument: int) -> None:
        """execve's envp when its strings are not recorded: STRUCT "count", how many."""
        address = event.args[argument]
        if address == 0:
            return
        memory = event.tracee.memory
        size = 4 if event.abi in (Abi.I386, Abi.X32) else 8
        count = 0
        while count < EXEC_STRINGS_MAX:
            try:
                pointers = memory.read_pointers(address + count * size, 64, event.abi)
            except OSError:
                return
            if not pointers:
                return
            for pointer in pointers:
                if pointer == 0:
                    self._emit_payload(RecordKind.STRUCT, event.tracee, event.timestamp_ns,
                                       formats.Struct(event.abi, argument, b"count",
                                                      formats.struct_data.encode_count(count)))
                    return
                count += 1
            if len(pointers) < 64:
                return

    def _learn_handler(self, tracee: Tracee, abi: Abi, args: tuple[int, ...]) -> None:
        """rt_sigaction(sig, act, ...) succeeded: remember act's handler for PSIG."""
        if args[1] == 0:
            return
        width = 4 if abi in (Abi.I386, Abi.X32) else 8
        word = _read(tracee.memory, args[1], width)
        if word is None or len(word) < width:
            return
        handler = int.from_bytes(word, "little")
        handlers = self._signal_handlers.setdefault(tracee.pid, {})
        handlers[_signed32(args[0])] = handler

    # ------------------------------------------------------------------ exec and user
    def _exec_strings(self, kind: RecordKind, event: SyscallEntry, array: int) -> None:
        if array == 0:
            return
        try:
            strings, _ = event.tracee.memory.read_string_array(
                array, EXEC_STRINGS_MAX, EXEC_BYTES_MAX, event.abi)
        except OSError:
            return
        payload_type = formats.ExecArg if kind == RecordKind.EXEC_ARG else formats.ExecEnv
        self._emit_payload(kind, event.tracee, event.timestamp_ns,
                           payload_type(formats.join_nul_strings(strings)))

    def _user_record(self, event: SyscallEntry) -> None:
        memory = event.tracee.memory
        label_address, data_address, length = event.args[0], event.args[1], event.args[2]
        label = _read_string(memory, label_address, USER_LABEL_MAX) or b""
        data = _read(memory, data_address, min(length, USER_DATA_MAX)) or b""
        self._emit_payload(RecordKind.USER, event.tracee, event.timestamp_ns,
                           formats.User(label, data))

    # ------------------------------------------------------------------ signals, lifecycle
    def _on_signal(self, event: SignalDelivery) -> None:
        if not self._signals:
            return
        tracee = event.tracee
        if tracee.emul_pending:
            self._announce_emulation(tracee, event.timestamp_ns)
        action = event.action
        if action == ACTION_CAUGHT:
            action = self._signal_handlers.get(tracee.pid, {}).get(event.signo, action)
        self._emit_payload(RecordKind.PSIG, tracee, event.timestamp_ns, formats.Psig(
            event.signo, event.code, action, event.blocked, event.siginfo))

    def _on_process(self, event: ProcessEvent) -> None:
        tracee = event.tracee
        if event.kind in _ENDS_A_CALL and tracee.in_syscall and tracee.entry is not None:
            self.unfinished(tracee, event.timestamp_ns, event.kind is Lifecycle.DETACH)
        if event.kind in _ENDS_A_CALL:
            self._socketcalls.pop(tracee.tid, None)  # what its open call left behind
            self._socklens.pop(tracee.tid, None)
            self._opened.pop(tracee.tid, None)
            if event.kind is Lifecycle.EXITING:
                return  # (the leader's exit stop: its EXIT is the process's, later)
        if event.kind is Lifecycle.LOST and self._notify is not None:
            self._notify(f"lost control of process {tracee.pid} (thread {tracee.tid}): "
                         f"{event.reason}")
        if event.kind is Lifecycle.EXEC:
            self._emul_written.pop(tracee.pid, None)
            self._signal_handlers.pop(tracee.pid, None)  # exec resets caught signals
            tracee.emul_pending = True
        elif event.kind in _CREATES_PROCESS and not event.thread:
            inherited = self._signal_handlers.get(tracee.pid)
            if inherited:
                self._signal_handlers[event.child] = dict(inherited)
        elif event.kind is Lifecycle.EXIT and not event.thread:
            self._emul_written.pop(tracee.pid, None)
            self._attached_listed.discard(tracee.pid)
            self._signal_handlers.pop(tracee.pid, None)
        if not self._lifecycle:
            if event.kind is Lifecycle.ATTACH:
                self._attached_state(tracee, event.timestamp_ns)
            elif event.kind is Lifecycle.EXEC and self._emul:
                self._announce_emulation(tracee, event.timestamp_ns)
            return
        if tracee.emul_pending and event.kind is not Lifecycle.EXEC:
            self._announce_emulation(tracee, event.timestamp_ns)
        flags = ProcFlag.NONE
        if event.thread:
            flags |= ProcFlag.THREAD
        if event.signal and event.kind is Lifecycle.EXIT:
            flags |= ProcFlag.SIGNALED
        if event.core_dumped:
            flags |= ProcFlag.CORE_DUMPED
        detail = event.path if event.kind is Lifecycle.EXEC else event.reason.encode()
        self._emit_payload(RecordKind.PROC, tracee, event.timestamp_ns, formats.Proc(
            _LIFECYCLE_EVENTS[event.kind], flags, event.child, event.status, event.signal,
            detail))
        if event.kind is Lifecycle.ATTACH:
            self._attached_state(tracee, event.timestamp_ns)
        elif event.kind is Lifecycle.EXEC and self._emul:
            # the new image's ABI now, as ktrace's exec does: not only before its
            # next record (-t e alone, or -t ep and an image that execs again, had none)
            self._announce_emulation(tracee, event.timestamp_ns)

    def _attached_state(self, tracee: Tracee, timestamp_ns: int) -> None:
        """An attached process's working directory and open fds (STRUCT ``cwd``, ``open_fds``),
        once per process, at its first thread's attach: what the first execve says of a
        started command's, for an attached process whose fds came before the trace."""
        if not self._structs or tracee.pid in self._attached_listed:
            return
        self._attached_listed.add(tracee.pid)
        if tracee.emul_pending:
            self._announce_emulation(tracee, timestamp_ns)
        self._emit_found(tracee, timestamp_ns, tracee.abi, [
            (RESULT_ARGUMENT, _result_path(tracee.tid, _RESULT_CWD, 0)),
            (OPEN_FDS_ARGUMENT, _open_fds(tracee.tid))])


# ---------------------------------------------------------------------- memory helpers
# Tracee memory can vanish under us (the process exits, a pointer is bad): such
# reads give None and the record that needed them is left out.

#: The most data bytes of sendmmsg's unsent messages kept in all (each: at most -s).
UNSENT_MESSAGES_MAX = 256 * 1024

#: The most bytes of a self-sized structure read (the kernel's PAGE_SIZE bound on
#: sched_attr's size: a larger one fails with E2BIG).
SELF_SIZED_MAX = 4096
#: _LINUX_CAPABILITY_VERSION_2 and _3: two struct __user_cap_data_struct (64 bits)
_CAPABILITY_VERSIONS_2 = frozenset({0x20071026, 0x20080522})
#: x86's page size: mincore fills a byte per page.
_PAGE_SIZE = 4096
#: The kernel's sigset_t (64 signals): the most of a set pselect6's pair points to.
_SIGSET_BYTES = 8


def _result_path(tid: int, which: int, retval: int) -> tuple[bytes, bytes] | None:
    """STRUCT ``fd_path`` (the fd ``retval`` as /proc names it) or ``cwd``; None if unreadable.

    The kernel's own resolution (symlinks, the working directory, ``..``),
    read while the thread is stopped, so the fd is still the one returned.
    """
    try:
        if which == _RESULT_FD_PATH:
            return b"fd_path", os.readlink(b"/proc/%d/fd/%d" % (tid, retval))
        return b"cwd", os.readlink(b"/proc/%d/cwd" % tid)
    except OSError:  # the thread is gone, or another thread closed the fd
        return None


#: The most bytes of sendmmsg's/recvmmsg's names and control data kept in all.
MMSG_EXTRAS_MAX = 256 * 1024


def _mmsg_extras(memory: TraceeMemory, messages: bytes, abi: Abi) -> tuple[bytes, bytes] | None:
    """STRUCT ``mmsg_extras``: for each element of a ``mmsghdr`` capture (``messages``,
    ``_mmsghdr_bytes``'s layout), in order, the address its msg_name points to
    (u32 length, then min(msg_namelen, 128) bytes; 0 when NULL) and the control
    data its msg_control points to (u32 length, then min(msg_controllen, 4096)
    bytes; 0 when NULL), as ``formats.struct_data.encode_parts`` lays them out. Ends
    early at an unreadable one (after a message's name, when its control data is
    the one); names and control data past ``MMSG_EXTRAS_MAX`` bytes are cut
    (to empty ones); None when no element has either.
    """
    size, layout = _msghdr_layout(abi)
    extras_layout = _msghdr_extras(abi)
    width = 8 if abi is Abi.I386 or abi is Abi.X32 else 16
    parts: list[bytes] = []  # per message its name, then its control data
    budget = MMSG_EXTRAS_MAX
    position = 0
    any_data = False
    readable = True
    while readable and position + size + 8 <= len(messages):
        iov, iovlen = layout.unpack_from(messages, position)
        name, namelen, control, controllen = extras_layout.unpack_from(messages, position)
        for pointer, length in ((name, min(namelen, linux.SOCKADDR_STORAGE_SIZE)),
                                (control, min(controllen, MSG_CONTROL_MAX))):
            wanted = min(length, budget) if pointer else 0
            data = _read(memory, pointer, wanted) if wanted else b""
            if data is None or len(data) < wanted:
                readable = False  # the parts before it
                break
            parts.append(data)
            budget -= len(data)
            any_data = any_data or bool(data)
        position += size + 8 + (min(iovlen, ARRAY_ELEMENTS_MAX) * width if iov else 0)
    return (b"mmsg_extras", formats.struct_data.encode_parts(parts)) if any_data else None


def _open_fds(tid: int) -> tuple[bytes, bytes] | None:
    """STRUCT ``open_fds``: each fd the thread's process has open (at most
    ``OPEN_FDS_MAX``, in fd order): i32 fd, u32 length, its path as ``fd_path``."""
    try:
        names = os.listdir(b"/proc/%d/fd" % tid)
    except OSError:
        return None
    listed = _fd_paths(tid, sorted(int(name) for name in names if name.isdigit())[:OPEN_FDS_MAX])
    return None if listed is None else (b"open_fds", listed[1])


_SCM_RIGHTS_HEADER = struct.Struct("<ii")  # cmsg_level, cmsg_type, after cmsg_len
_SOL_SOCKET = 1
_SCM_RIGHTS = 1


def _received_fds(tid: int, capture: tuple[bytes, bytes], abi: Abi,
                  ) -> tuple[bytes, bytes] | None:
    """STRUCT ``fd_paths``: each fd recvmsg's SCM_RIGHTS messages brought (i32), with
    the path /proc names it by (u32 length, bytes); None when there are none.

    Read from the ``msghdr`` capture's control data (``_msghdr_bytes``'s layout),
    so a recvmsg without control messages costs a few comparisons.
    """
    name, data = capture
    if name != b"msghdr":
        return None
    size, layout = _msghdr_layout(abi)
    if len(data) < size:
        return None
    iov, count = layout.unpack_from(data)
    pointer, namelen, control, controllen = _msghdr_extras(abi).unpack_from(data)
    if not control or not controllen:
        return None
    narrow = abi is Abi.I386 or abi is Abi.X32
    position = size + (min(count, ARRAY_ELEMENTS_MAX) * (8 if narrow else 16) if iov else 0)
    if pointer:
        position += min(namelen, linux.SOCKADDR_STORAGE_SIZE)
    end = min(len(data), position + min(controllen, MSG_CONTROL_MAX))
    return _fd_paths(tid, _scm_rights(data, position, end, narrow))


def _received_in_messages(tid: int, extras: tuple[bytes, bytes] | None, abi: Abi,
                          ) -> tuple[bytes, bytes] | None:
    """STRUCT ``fd_paths`` for recvmmsg: the fds the SCM_RIGHTS messages of all its
    messages brought, in order, from its ``mmsg_extras`` (``_mmsg_extras``'s layout:
    per message its name, then its control data; only the latter is scanned)."""
    if extras is None:
        return None
    parts, _ = formats.struct_data.decode_parts(extras[1])
    narrow = abi is Abi.I386 or abi is Abi.X32
    fds: list[int] = []
    for control in parts[1::2]:
        fds += _scm_rights(control, 0, len(control), narrow)
    return _fd_paths(tid, fds)


def _scm_rights(data: bytes, position: int, end: int, narrow: bool) -> list[int]:
    """The fds of the SCM_RIGHTS messages in control data ``data[position:end]``."""
    head, word = (12, 4) if narrow else (16, 8)
    fds: list[int] = []
    while position + head <= end:
        length = int.from_bytes(data[position:position + head - 8], "little")
        level, kind = _SCM_RIGHTS_HEADER.unpack_from(data, position + head - 8)
        if length < head:
            break
        if level == _SOL_SOCKET and kind == _SCM_RIGHTS:
            stop = min(end, position + length)
            fds += (int.from_bytes(data[offset:offset + 4], "little", signed=True)
                    for offset in range(position + head, stop - 3, 4))
        position += (length + word - 1) & ~(word - 1)
    return fds


def _pair_paths(tid: int, capture: tuple[bytes, bytes], pipe: bool,
                ) -> tuple[bytes, bytes] | None:
    """STRUCT ``fd_paths`` for the two fds pipe or socketpair returned (``capture``, their
    ``fds``): a pipe's ends are one inode, read once; a socket pair is two sockets."""
    name, data = capture
    if name != b"fds" or len(data) != 8:
        return None
    first = int.from_bytes(data[:4], "little", signed=True)
    second = int.from_bytes(data[4:], "little", signed=True)
    if not pipe:
        return _fd_paths(tid, [first, second])
    try:
        path = os.readlink(b"/proc/%d/fd/%d" % (tid, first))
    except OSError:  # closed already by another thread: the other end may tell
        return _fd_paths(tid, [second])
    return b"fd_paths", formats.struct_data.encode_fd_paths(((first, path), (second, path)))


def _fd_paths(tid: int, fds: list[int]) -> tuple[bytes, bytes] | None:
    """STRUCT ``fd_paths``: each of ``fds`` (i32) with its path (u32 length, bytes)."""
    found = []
    for fd in fds:
        try:
            found.append((fd, os.readlink(b"/proc/%d/fd/%d" % (tid, fd))))
        except OSError:
            continue  # closed already by another thread
    return (b"fd_paths", formats.struct_data.encode_fd_paths(found)) if found else None


def _read(memory: TraceeMemory, address: int, length: int) -> bytes | None:
    if length <= 0:
        return b""
    try:
        return memory.read(address, length)
    except OSError:
        return None


def _read_string(memory: TraceeMemory, address: int, limit: int) -> bytes | None:
    if address == 0:
        return None
    try:
        # (None where nothing can be read: no NAMI, the reader shows the address)
        return memory.read_string_or_none(address, limit)
    except OSError:
        return None


# fcntl commands with a struct flock (include/uapi/asm-generic/fcntl.h):
# F_GETLK 5 (filled), F_SETLK 6, F_SETLKW 7 (read), the OFD ones 36/37/38;
# i386's fcntl64 has the flock64 ones as 12/13/14. Sizes: struct flock 32 on
# x86_64 (two shorts, padding, two off_t, pid, padding), 16 on i386 (longs);
# struct flock64 24 (packed on i386).
_FLOCK_GET = (5, 36)
_FLOCK_SET = (6, 7, 37, 38)
# futex operations whose fourth argument is a timeout (FUTEX_WAIT 0,
# FUTEX_LOCK_PI 6, FUTEX_WAIT_BITSET 9, FUTEX_WAIT_REQUEUE_PI 11,
# FUTEX_LOCK_PI2 13); FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256)
# are masked off by the caller.
_FUTEX_TIMED = (0, 6, 9, 11, 13)
_CLONE_PARENT_SETTID = 0x00100000  # include/uapi/linux/sched.h
_CLONE_PIDFD = 0x00001000
#: _Plan.clone_ids: which ids a clone call's exit reads
_CLONE3_IDS = 1
_CLONE_PIDFD_ID = 2
_CLONE_IDS = {"clone3": _CLONE3_IDS, "clone": _CLONE_PIDFD_ID}
# An interrupted relative sleep (RESTART_ERRNOS at its exit stop) has written
# its remainder by then.
# A clock_nanosleep with TIMER_ABSTIME (flags bit 0) never writes the remainder
# (kernel/time/posix-timers.c drops rmtp), so there is nothing to read.
_TIMER_ABSTIME = 1
_ABSTIME_FLAGS = {"clock_nanosleep": 1, "clock_nanosleep_time64": 1}
# Structures a call reads and then updates, captured at entry and again at exit.
_UPDATED_KINDS = frozenset({ArgKind.POLLFDS_IN, ArgKind.USER_DESC_IN, ArgKind.FD_SET,
                            ArgKind.OFF_INOUT, ArgKind.LOFF_INOUT,
                            ArgKind.IO_URING_PARAMS_INOUT, ArgKind.TIMEX_INOUT,
                            ArgKind.TIMEX64_INOUT})
_TIME_LEFT_CALLS = frozenset({"select", "_newselect", "pselect6", "pselect6_time64", "ppoll",
                              "ppoll_time64", "recvmmsg", "recvmmsg_time64"})
_TIMEOUT_KINDS = frozenset({ArgKind.TIMEVAL_IN, ArgKind.TIMESPEC_IN, ArgKind.TIMESPEC64_IN})
# Where rt_sigreturn's saved mask is, from the stack pointer at its entry
# (arch/x86/include/asm/sigframe.h): x86_64's frame starts 8 bytes below it
# (the restorer's return address was popped) with the ucontext right after
# that address: uc_flags, uc_link, uc_stack (24), uc_mcontext (256), then
# uc_sigmask: 296. i386's frame starts 4 below: pretcode, sig, pinfo, puc,
# siginfo (128), then the ucontext whose mask follows 4 + 4 + 12 + 88 bytes:
# 4 + 144 + 108 - 4 - ... = 248.
_SIGRETURN_MASKS = {(Abi.X86_64, "rt_sigreturn"): 296, (Abi.I386, "rt_sigreturn"): 248}


def _ioctl_structs() -> dict[int, tuple[_StructPlan | None, _StructPlan | None]]:
    """ioctl requests whose argument points to something strace shows (asm-generic/ioctls.h).

    An int (TIOCGPTN, FIONREAD, ...), struct winsize (8 bytes), the kernel's
    struct termios (36 bytes: four u32 flag words, c_line, c_cc[19]).
    """
    def plan(name: bytes, size: int) -> _StructPlan:
        return _StructPlan(2, name, size, None, False, False)

    integer, winsize, termios = plan(b"int", 4), plan(b"winsize", 8), plan(b"termios", 36)
    return {
        0x5401: (None, termios),  # TCGETS
        0x5402: (termios, None), 0x5403: (termios, None), 0x5404: (termios, None),  # TCSETS*
        0x5413: (None, winsize),  # TIOCGWINSZ
        0x5414: (winsize, None),  # TIOCSWINSZ
        0x540F: (None, integer),  # TIOCGPGRP
        0x5410: (integer, None),  # TIOCSPGRP
        0x541B: (None, integer),  # FIONREAD
        0x5421: (integer, None),  # FIONBIO
        0x80045430: (None, integer),  # TIOCGPTN
        0x40045431: (integer, None),  # TIOCSPTLCK
    }


_IOCTL_STRUCTS = _ioctl_structs()


#: i386 ipc's call number for semctl (include/uapi/linux/ipc.h SEMCTL).
_IPC_SEMCTL = 3


def _was_filled(wanted: _StructPlan, error: int, args: tuple[int, ...]) -> bool:
    """Whether the call wrote ``wanted`` before its exit stop: most structures on
    success; a sleep's remainder when a signal interrupted it (the exit stop sees
    the ERESTART* code), unless the sleep was to an absolute time."""
    if not wanted.filled_on_error:
        return not error
    return error in RESTART_ERRNOS and (wanted.abstime_arg is None
                                      or not args[wanted.abstime_arg] & _TIMER_ABSTIME)


# System V IPC's control calls on x86_64 (the kernel's 64-bit semid64_ds,
# msqid64_ds, shmid64_ds: 104, 120, 112 bytes): the argument pointing to the
# structure, its size, and the commands that fill it (IPC_STAT, *_STAT,
# *_STAT_ANY); IPC_SET reads it. The command's IPC_64 bit is masked off.
_IPC_SET = 1
_IPC_DS: dict[str, tuple[int, bytes, int, tuple[int, ...]]] = {
    "semctl": (3, b"semid_ds", 104, (2, 18, 20)),
    "msgctl": (2, b"msqid_ds", 120, (2, 11, 13)),
    "shmctl": (2, b"shmid_ds", 112, (2, 13, 15)),
}


def _quota_structs() -> dict[int, tuple[_StructPlan | None, _StructPlan | None]]:
    """quotactl's and quotactl_fd's data by command (linux/quota.h, linux/dqblk_xfs.h):
    the command word with its type byte cleared (QCMD(cmd, 0)) -> (entry, exit) captures
    of argument 3. struct if_dqblk as strace reads it, packed (68 bytes; x86_64's has 4
    bytes of padding after it); the XFS structures are left to their address."""
    def data(name: bytes, size: int | None, measure: str = "size") -> _StructPlan:
        return _StructPlan(3, name, size, None, False, False, measure)

    dqblk, dqinfo = data(b"if_dqblk", 68), data(b"if_dqinfo", 24)
    word = data(b"int", 4)
    return {
        0x800002 << 8: (data(b"string", None, "string"), None),  # Q_QUOTAON: the quota file
        0x800004 << 8: (None, word),  # Q_GETFMT: the format
        0x800005 << 8: (None, dqinfo),  # Q_GETINFO
        0x800006 << 8: (dqinfo, None),  # Q_SETINFO
        0x800007 << 8: (None, dqblk),  # Q_GETQUOTA
        0x800008 << 8: (dqblk, None),  # Q_SETQUOTA
        0x800009 << 8: (None, data(b"if_nextdqblk", 72)),  # Q_GETNEXTQUOTA
        # Q_XQUOTAON, Q_XQUOTAOFF, Q_XQUOTARM: flags, a u32
        0x5801 << 8: (word, None), 0x5802 << 8: (word, None), 0x5806 << 8: (word, None),
    }


def _command_structs(
    name: str, abi: Abi,
) -> dict[int, tuple[_StructPlan | None, _StructPlan | None]] | None:
    """For fcntl, ioctl, prctl, keyctl, syslog, quotactl, ptrace, i386 ipc and futex: which
    commands bring a STRUCT, and which.

    See _Plan.by_command.
    """
    if name in ("fcntl", "fcntl64"):
        size = 16 if abi is Abi.I386 else 32
        flock = _StructPlan(2, b"flock", size, None, False, False)
        table: dict[int, tuple[_StructPlan | None, _StructPlan | None]] = {}
        for command in _FLOCK_GET:
            table[command] = (None, flock)
        for command in _FLOCK_SET:
            table[command] = (flock, None)
        if abi is Abi.I386 and name == "fcntl64":
            flock64 = _StructPlan(2, b"flock64", 24, None, False, False)
            table[12] = (None, flock64)
            table[13] = table[14] = (flock64, None)
        return table
    if name == "ioctl":
        return _IOCTL_STRUCTS
    if name == "keyctl":  # the strings and data some commands pass, or fill (linux/keyctl.h)
        name_in = _StructPlan(1, b"string", None, None, False, False, "string")
        data_in = _StructPlan(2, b"bytes", None, 3, False, False, "length")
        data_out = _StructPlan(2, b"bytes", None, 3, False, False, "retval_length")
        return {1: (name_in, None),  # KEYCTL_JOIN_SESSION_KEYRING
                2: (data_in, None), 12: (data_in, None),  # KEYCTL_UPDATE, KEYCTL_INSTANTIATE
                # KEYCTL_DESCRIBE, KEYCTL_READ, KEYCTL_GET_SECURITY
                6: (None, data_out), 11: (None, data_out), 17: (None, data_out)}
    if name in ("quotactl", "quotactl_fd"):
        return _QUOTA_STRUCTS
    if name == "ptrace" and abi is not Abi.X32:  # (x32's is the compat call: 32-bit words)
        # what PEEKTEXT, PEEKDATA, PEEKUSER, GETEVENTMSG, GETSIGINFO, GETSIGMASK,
        # GET_SYSCALL_INFO store at data
        word = _StructPlan(3, b"ulong", 4 if abi is Abi.I386 else 8, None, False, False)
        return {1: (None, word), 2: (None, word), 3: (None, word), 0x4201: (None, word),
                0x4202: (None, _StructPlan(3, b"siginfo", 128, None, False, False)),
                0x420A: (None, _StructPlan(3, b"sigset", 8, None, False, False)),
                # GET_SYSCALL_INFO: the bytes the kernel copied (its result, at most addr)
                0x420E: (None, _StructPlan(3, b"ptrace_syscall_info", None, 2, False, False,
                                           "retval_length")),
                **(_PTRACE_REGS if abi is Abi.X86_64 else {})}
    if name == "syslog":  # SYSLOG_ACTION_READ, _READ_ALL, _READ_CLEAR: the result's bytes
        text = _StructPlan(1, b"bytes", None, 2, False, False, "retval_length")
        return {2: (None, text), 3: (None, text), 4: (None, text)}
    if name == "prctl":  # PR_SET_NAME reads a name, PR_GET_NAME fills one (16 bytes)
        comm = _StructPlan(1, b"string", None, None, False, False, "string")
        return {15: (comm, None), 16: (None, comm)}
    if name == "ipc" and abi is Abi.I386:
        # ipc(SEMCTL, ..., ptr): ptr points to the union semun (one 32-bit
        # word) the kernel reads; strace prints it as [word].
        return {_IPC_SEMCTL: (_StructPlan(4, b"semun", 4, None, False, False), None)}
    if name in _IPC_DS and abi is Abi.X86_64:
        argument, struct_name, size, stats = _IPC_DS[name]
        ds = _StructPlan(argument, struct_name, size, None, False, False)
        ipc: dict[int, tuple[_StructPlan | None, _StructPlan | None]] = {
            command: (None, ds) for command in stats}
        ipc[_IPC_SET] = (ds, None)
        return ipc
    if name in ("futex", "futex_time64"):
        size = 8 if abi is Abi.I386 and name == "futex" else 16
        timeout = _StructPlan(3, b"timespec" if size == 8 or abi is not Abi.I386
                              else b"timespec64", size, None, False, False)
        return {command: (timeout, None) for command in _FUTEX_TIMED}
    return None


_QUOTA_STRUCTS = _quota_structs()
#: x86_64's struct user_regs_struct (sys/user.h: 27 unsigned longs) and struct
#: user_fpregs_struct (512 bytes); the register sets they are (NT_PRSTATUS, NT_PRFPREG)
_USER_REGS_SIZE, _USER_FPREGS_SIZE = 216, 512
_NT_PRSTATUS, _NT_PRFPREG = 1, 2
_REGSET_SIZES = {_NT_PRSTATUS: _USER_REGS_SIZE, _NT_PRFPREG: _USER_FPREGS_SIZE}
#: x86_64 ptrace's register requests: GETREGS (12) fills data with struct
#: user_regs_struct, SETREGS (13) reads it (GETFPREGS, SETFPREGS: struct
#: user_fpregs_struct); GETREGSET (0x4204) and SETREGSET (0x4205) pass a struct iovec
#: (read at entry; GETREGSET's again at exit, as the kernel shortened it, with the
#: registers it wrote: STRUCT "regset", "fpregset" for NT_PRFPREG)
_PTRACE_REGS: dict[int, tuple[_StructPlan | None, _StructPlan | None]] = {
    12: (None, _StructPlan(3, b"user_regs_struct", _USER_REGS_SIZE, None, False, False)),
    13: (_StructPlan(3, b"user_regs_struct", _USER_REGS_SIZE, None, False, False), None),
    14: (None, _StructPlan(3, b"user_fpregs_struct", _USER_FPREGS_SIZE, None, False, False)),
    15: (_StructPlan(3, b"user_fpregs_struct", _USER_FPREGS_SIZE, None, False, False), None),
    0x4204: (_StructPlan(3, b"iovec", 16, None, False, False),
             _StructPlan(3, b"regset", None, None, False, False, "regset")),
    0x4205: (_StructPlan(3, b"regset", None, None, False, False, "regset"), None),
}


def _count_dirents(entries: bytes, reclen_offset: int) -> int:
    """How many directory entries a getdents buffer holds (each says its own length)."""
    count = 0
    offset = 0
    size = len(entries)
    if _LITTLE_ENDIAN and not (size | reclen_offset) & 1:
        # The kernel aligns every entry (d_reclen is a multiple of 8, of 4 for i386's
        # old linux_dirent): d_reclen is an aligned u16, read without a slice; an odd
        # length (never the kernel's) goes on the general way below.
        words = memoryview(entries).cast("H")
        end = size - reclen_offset - 2
        while offset <= end and not offset & 1:
            reclen = words[(offset + reclen_offset) >> 1]
            if reclen == 0:
                return count
            count += 1
            offset += reclen
    while offset + reclen_offset + 2 <= size:
        reclen = int.from_bytes(entries[offset + reclen_offset:offset + reclen_offset + 2],
                                "little")
        if reclen == 0:
            break
        count += 1
        offset += reclen
    return count


def _read_iovec(
    memory: TraceeMemory, address: int, count: int, limit: int, abi: Abi
) -> bytes | None:
    try:
        return memory.read_iovec(address, count, limit, abi)
    except OSError:
        return None


def _msghdr_layout(abi: Abi) -> tuple[int, struct.Struct]:
    """Size of struct msghdr and a Struct for (msg_iov, msg_iovlen) at its offset."""
    if abi in (Abi.I386, Abi.X32):
        return 28, struct.Struct("<8xII")  # name, namelen, then iov, iovlen
    return 56, struct.Struct("<16xQQ")


def _msghdr_extras(abi: Abi) -> struct.Struct:
    """A Struct for struct msghdr's (msg_name, msg_namelen, msg_control, msg_controllen)."""
    if abi in (Abi.I386, Abi.X32):
        return struct.Struct("<II8xII")
    return struct.Struct("<QI20xQQ")


def _read_msghdr(memory: TraceeMemory, address: int, abi: Abi, limit: int) -> bytes | None:
    _, layout = _msghdr_layout(abi)
    header = _read(memory, address, layout.size)
    if header is None or len(header) < layout.size:
        return None
    iov, count = layout.unpack(header)
    return _read_iovec(memory, iov, count, limit, abi)
