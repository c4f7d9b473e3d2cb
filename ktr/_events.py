"""What the control loop reports about its tracees: one value per ptrace stop.

The control loop (``_control``) turns ptrace stops into these events and hands
each one to its consumer *while the thread is still stopped*, so the consumer
may read the tracee's memory and registers; the thread is resumed only after
the consumer returns -- unless the consumer's ``prepare(event)`` said it had
read everything it needs, in which case the syscall event is handed over
right after the resume. Events are return values: nothing here raises.

Guarantees: every event carries the tracee's state object (``Tracee``) and a
timestamp in ns on the trace clock (``_clock``: realtime advancing with
CLOCK_MONOTONIC) taken when the stop was seen -- the syscall events' is their
``monotonic_ns`` plus the clock's offset, one reading; ``SyscallExit`` is paired
with the ``SyscallEntry`` of the same thread (``entry`` is that entry, or None
when the entry happened before we attached).

Does not: decide what is recorded (that is the record builder's job) or touch
ptrace itself.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import enum
from typing import TYPE_CHECKING, NamedTuple, Protocol

from formats import Abi

if TYPE_CHECKING:
    from ._memory import TraceeMemory


class Tracee:
    """One traced thread, as the control loop knows it (mutable, loop-owned).

    The consumer may read every field, clear ``emul_pending``, set
    ``call_abi`` and use ``extra``; everything else is the loop's bookkeeping. ``comm`` is kept
    current (re-read after exec and after prctl(PR_SET_NAME)); ``abi`` is the
    process's ABI from its executable (a syscall event carries the ABI of that
    one call, which differs for ``int 0x80`` from a 64-bit process).
    """

    # A plain class, not a dataclass: generating a dataclass's methods costs
    # about a millisecond of every start-up.
    __slots__ = ("abi", "attaching", "call_abi", "comm", "created", "dropping", "emul_pending",
                 "entry", "exec_attempt", "exited", "extra", "group_stopped", "held_ns",
                 "in_syscall", "memory", "observed", "pid", "pre_exec", "reported", "started",
                 "tid", "unread_entry")

    def __init__(self, tid: int, pid: int, comm: bytes, abi: Abi, memory: "TraceeMemory", *,
                 emul_pending: bool = True, created: bool = False, reported: bool = True,
                 started: bool = False, attaching: bool = False, pre_exec: bool = False,
                 dropping: bool = False) -> None:
        self.tid = tid
        self.pid = pid  # thread-group id
        self.comm = comm
        self.abi = abi
        self.memory = memory  # shared by the threads of one process
        self.emul_pending = emul_pending  # an EMUL record is owed before the next record
        # The ABI the trace says this thread's calls are made in (its last EMUL
        # record, else its process's): an entry of another ABI (``int $0x80``
        # from a 64-bit program) owes an EMUL record first. The loop starts a
        # new thread or process with its creator's.
        self.call_abi = abi
        self.in_syscall = False
        self.entry: SyscallEntry | None = None
        self.extra: dict[str, object] = {}  # consumer's per-thread state
        # -- control-loop bookkeeping (read-only for consumers) --
        # in the spawned command's tree (killed, not detached, at release)
        self.created = created
        # False: kept traced only because a seccomp filter forbids detaching
        self.reported = reported
        self.started = started  # its first ptrace stop has been seen
        self.attaching = attaching  # seized by attach(): ATTACH is emitted at its first stop
        self.pre_exec = pre_exec  # the spawned child before its execve: syscalls not reported
        # the spawned child's execve in flight: if it fails, the thread is ktr's
        # exec helper again (pre_exec), whose errno report and exit are not the command's
        self.exec_attempt = False
        self.dropping = dropping  # detach (or, if killed, let die) at its next stop
        self.group_stopped = False  # in a job-control stop, held with PTRACE_LISTEN
        self.exited = False  # its thread EXIT event has been emitted (non-leaders)
        self.observed = False  # announced to the observers (thread_started), not yet gone
        # ns the loop held this thread stopped inside its execve (at the entry stop after
        # its timestamp, at the exec stop): taken out of the call's exit time
        self.held_ns = 0
        # a syscall-entry stop whose call could not be read (a SIGKILL took the thread
        # out of the stop once waitpid had reported it): the call is read from the
        # registers at the thread's exit stop
        self.unread_entry = False

    def __repr__(self) -> str:
        return f"Tracee(tid={self.tid}, pid={self.pid}, comm={self.comm!r})"


class SyscallEntry(NamedTuple):
    """A thread entered a syscall (syscall-entry or seccomp stop; or, for one whose
    entry stop a SIGKILL cut before it was read, at its exit stop, and stamped then).

    The two syscall events are NamedTuples, not dataclasses: they are made
    once per stop on the hot path, and a tuple is built about twice as fast
    as a frozen dataclass.
    """

    tracee: Tracee
    timestamp_ns: int
    monotonic_ns: int
    abi: Abi
    nr: int
    args: tuple[int, int, int, int, int, int]
    stack_pointer: int = 0  # where rt_sigreturn finds the signal frame's mask


#: The errors a syscall-exit stop sees when a signal interrupted the call
#: (strace's is_erestart): ERESTARTSYS, ERESTARTNOINTR, ERESTARTNOHAND,
#: ERESTART_RESTARTBLOCK. The kernel turns them into EINTR or a restart only
#: after the stop: the call has not returned to the program yet.
RESTART_ERRNOS = frozenset({512, 513, 514, 516})


class SyscallExit(NamedTuple):
    """A thread returned from a syscall (syscall-exit stop)."""

    tracee: Tracee
    timestamp_ns: int
    monotonic_ns: int
    abi: Abi
    nr: int
    retval: int  # the raw return register, sign-extended
    error: int  # errno when the call failed (retval in -4095..-1), else 0
    entry: SyscallEntry | None


class SignalDelivery(NamedTuple):
    """A signal is about to be delivered (signal-delivery-stop)."""

    tracee: Tracee
    timestamp_ns: int
    signo: int
    code: int
    siginfo: bytes  # the kernel's 128-byte siginfo_t
    blocked: int  # blocked mask, bit n-1 for signal n
    action: int  # 0 default, 1 ignore, handler address, or ACTION_CAUGHT


#: PSIG action when the signal is caught but the handler's address is unknown.
ACTION_CAUGHT = 0xFFFF_FFFF_FFFF_FFFF


class Lifecycle(enum.Enum):
    FORK = "fork"
    VFORK = "vfork"
    CLONE = "clone"
    EXEC = "exec"
    EXIT = "exit"
    ATTACH = "attach"
    DETACH = "detach"
    LOST = "lost"
    STOP = "stop"
    EXITING = "exiting"


class ProcessEvent(NamedTuple):
    """A lifecycle change of a tracee.

    FORK/VFORK/CLONE: ``child`` is the new pid/tid, ``thread`` says whether it
    is a thread of the same process. EXEC: ``path`` is the program, ``former_tid``
    the thread that called execve when it was not the leader. EXIT: ``status``
    is the exit code, or ``signal`` the killing signal (``core_dumped``), or,
    with ``child`` set, the old leader superseded by that thread's execve;
    ``thread=True`` is a thread other than the leader ending (at its exit stop,
    still stopped, or when reaped if the kernel skipped that stop, as for
    SIGKILL); ``thread=False`` is the whole process ending: once, on the
    leader's Tracee, when the last thread is reaped, with the process's wait
    status (the thread is gone by then). ATTACH/DETACH: one per thread, at a
    stop; ``thread`` is true for threads other than the leader; DETACH's
    ``signal`` is the signal passed on to the tracee as it was let go. LOST:
    ``reason`` says why control was lost (the thread is no longer traced).
    EXITING: the leader is at its exit stop; its call in flight, if any (exit,
    exit_group, or one a SIGKILL cut), ends there, as a thread's ends at its
    EXIT, while its EXIT is the process's, which comes once every thread is
    reaped (the leader of a process that outlives it, or the thread that
    called exit_group before the others are gone). Nothing of it is written:
    it says when the call ended.
    """

    tracee: Tracee
    timestamp_ns: int
    kind: Lifecycle
    child: int = 0
    thread: bool = False
    path: bytes = b""
    former_tid: int = 0
    status: int = 0
    signal: int = 0
    core_dumped: bool = False
    reason: str = ""


Event = SyscallEntry | SyscallExit | SignalDelivery | ProcessEvent


class ThreadObserver(Protocol):
    """What other sources learn from the control loop about traced threads
    (libpctx's init_lwp / fini_lwp / exec callbacks, fasttrap's fork and exec
    rules). Every call is made on the control thread while the thread named is
    stopped, except ``thread_gone`` (it may already be dead). Only threads
    that are reported (recorded) are announced. Calls must not raise for
    anything a tracee can cause: an observer reports its own failures.
    """

    def thread_started(self, tracee: Tracee) -> None:
        """A thread came under control: spawned (before its first
        instruction), attached (at its first stop), or created by a traced
        thread (a new thread or the first thread of a forked child, before it
        ran any code of its own)."""

    def thread_exiting(self, tracee: Tracee) -> None:
        """The thread is at its exit stop (everything it did is done)."""

    def thread_exec(self, tracee: Tracee, former_tid: int) -> None:
        """The process exec'd (``tracee`` now runs the new program). A
        non-leader that exec'd took the leader's tid: ``former_tid`` is its
        old tid and the old leader is gone; otherwise ``former_tid`` is 0."""

    def thread_gone(self, tracee: Tracee) -> None:
        """The thread is no longer traced: reaped, detached or lost."""
