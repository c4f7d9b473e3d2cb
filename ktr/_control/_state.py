"""The control loop's state: options, results, bookkeeping, shared helpers.

Every part of ``Control`` (setup, waker, dispatch, release) is a mixin over
``ControlState``, which owns every attribute and declares the methods one part
calls in another.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import collections
import enum
import os
import signal
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from formats import Abi

from .. import _ptrace as pt
from .._clock import TraceClock
from .._events import (
    Event,
    Lifecycle,
    ThreadObserver,
    Tracee,
)
from .._memory import OpenShortages, TraceeMemory
from .._seccomp import PreparedFilter, Selection
from .._spawn import SpawnedChild
from ..errors import PtraceError

#: Default ``spin_us``: chosen from bench/bench_stops.py (see its output).
DEFAULT_SPIN_US = 50


class SpinChooser:
    """Whether the loop spins before blocking, chosen by measuring both.

    Spinning pays when the tracee has a CPU of its own (it saves a cross-CPU
    wakeup per stop, more on a VM whose wakeups are slow); it costs when the
    machine is loaded, since the resumed tracee then often waits behind the
    spinning recorder. Which case holds changes with the load, so the loop
    times ``WINDOW`` stops with spinning, then ``WINDOW`` without, and keeps
    the faster way for ``KEEP`` windows before measuring again (one window
    in ``KEEP + 2`` runs the way that lost). A window's time includes the tracee's
    own, so a workload that changes pace between the two can mislead one
    choice; the next measurement corrects it.
    """

    WINDOW = 256
    KEEP = 16

    def __init__(self, spin_ns: int) -> None:
        self.spin_ns = spin_ns
        self.spinning = spin_ns  # the budget for the window now running
        self._timing: str | None = "spinning"  # which way the running window times
        self._spin_time = 0
        self._keep_left = 0  # windows left before measuring again
        self.chosen_spinning = 0  # choices made, each way (for tests)
        self.chosen_blocking = 0

    def window_done(self, elapsed_ns: int) -> int:
        """Record the window just ended; the spin budget for the next one."""
        if not self.spin_ns:
            return 0
        if self._timing == "spinning":
            self._spin_time = elapsed_ns
            self._timing = "blocking"
            self.spinning = 0
        elif self._timing == "blocking":
            spin_wins = self._spin_time <= elapsed_ns
            self.spinning = self.spin_ns if spin_wins else 0
            self.chosen_spinning += spin_wins
            self.chosen_blocking += not spin_wins
            self._timing = None
            self._keep_left = self.KEEP
        else:
            self._keep_left -= 1
            if not self._keep_left:
                self._timing = "spinning"
                self.spinning = self.spin_ns
        return self.spinning

WALL = 0x40000000  # __WALL: wait for threads (clone children) too
_WNOHANG_WALL = os.WNOHANG | WALL
_SYSCALL_TRAP = signal.SIGTRAP | 0x80  # status >> 8 at a syscall stop (TRACESYSGOOD)
_SYSCALL_STOP_STATUS = _SYSCALL_TRAP << 8 | 0x7F  # the whole wait status of one
_STOP_SIGNALS = frozenset(
    {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
)
_WAKE_SIGNAL = signal.SIGURG  # default action: ignore; safe to borrow
#: How long a blocking wait may hold unflushed stops: one to two of these (_waker).
HOLD_LIMIT_S = 0.02

_EXECVE_NUMBERS: dict[Abi, tuple[int, ...]] = {
    Abi.X86_64: (59, 322),  # execve, execveat
    Abi.I386: (11, 358),
    Abi.X32: (520, 545),
}
_PRCTL_NUMBERS: dict[Abi, int] = {Abi.X86_64: 157, Abi.I386: 172, Abi.X32: 157}
_PR_SET_NAME = 15

_FORK_EVENTS = {
    pt.PTRACE_EVENT_FORK: Lifecycle.FORK,
    pt.PTRACE_EVENT_VFORK: Lifecycle.VFORK,
    pt.PTRACE_EVENT_CLONE: Lifecycle.CLONE,
}

Consumer = Callable[[Event], None]


class Release(enum.Enum):
    """What happens to the tracees when the recording is stopped early."""

    #: dt_proc's rule: kill the spawned command's tree (kill-on-last-close),
    #: detach attached processes (run-on-last-close, or leave-hung if stopped).
    DEFAULT = "default"
    #: detach everything that can be detached, the spawned tree included (an
    #: output failure must not kill the user's command). Processes under a
    #: seccomp filter cannot outlive the recorder and are killed anyway.
    DETACH = "detach"


@dataclass(frozen=True, slots=True)
class ControlOptions:
    """How the control loop traces (the recorder's process-control options)."""

    follow_children: bool = False  # -i: trace child processes too
    attach_descendants: bool = False  # -d: attach() also takes existing descendants
    seccomp: Selection | None = None  # only these syscalls stop, per ABI (spawn only)
    trace_syscalls: bool = True  # False: no syscall stops at all (only signals, lifecycle)
    spin_us: int = DEFAULT_SPIN_US  # poll waitpid this long before blocking; 0 = always block
    pin_cpu: int | None = None  # run recorder and tracees on this CPU (never spins)


class RunResult(NamedTuple):
    """How a recording ended."""

    exit_status: int | None  # the spawned command's: exit code, or 128+signal
    stop_reason: str | None  # why request_stop ended it early, else None
    spawn_error: str | None  # the command could not be executed
    processes: int  # processes traced (spawned, attached, followed)
    threads: int  # threads traced
    detached: int  # processes let go alive
    killed: int  # processes killed at release (spawned tree, seccomp-filtered)
    lost: int  # threads whose control was lost (LOST events)
    skipped: tuple[str, ...] = ()  # attach targets skipped (-d/-g), one line each
    #: processes that exited whose exit statuses could not be read (without ptrace:
    #: attached ones, and children followed with -i, are not the recorder's children)
    exits_unknown: tuple[int, ...] = ()
    command_signal: int = 0  # the signal that killed the spawned command, if one did


class _Process:
    __slots__ = ("counted", "created", "filtered", "killing", "last_status", "let_go",
                 "memory", "pid", "reported", "threads")

    def __init__(self, pid: int, memory: TraceeMemory, created: bool, filtered: bool,
                 reported: bool, counted: bool = True) -> None:
        self.pid = pid
        self.memory = memory
        self.created = created
        self.filtered = filtered
        self.reported = reported
        # traced for real (False: a child let go at its first stop, or one kept under
        # ptrace only because of the seccomp filter, its events not reported)
        self.counted = counted
        self.threads: set[int] = set()
        self.killing = False
        self.last_status = 0
        # a thread of it was detached alive: once its last traced thread is gone, the
        # process was let go (it runs on), not ended
        self.let_go = False


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _decode_wait_status(status: int) -> tuple[int, int, bool]:
    """(exit code, killing signal, core dumped) from a wait status."""
    if os.WIFSIGNALED(status):
        return 0, os.WTERMSIG(status), os.WCOREDUMP(status)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status), 0, False
    return 0, 0, False


def _ignore(event: Event) -> None:
    return None


class ControlState:
    """Attributes shared by the parts of ``Control``."""

    def __init__(self, options: ControlOptions | None = None,
                 clock: TraceClock | None = None) -> None:
        self.options = options if options is not None else ControlOptions()
        opts = self.options
        #: processes whose memory could not be opened for want of descriptors (the
        #: recorder says them at the end: their paths and data are empty)
        self.memory_shortages = OpenShortages()
        self._filter: PreparedFilter | None = None
        base = (
            pt.PTRACE_O_TRACESYSGOOD
            | pt.PTRACE_O_TRACECLONE
            | pt.PTRACE_O_TRACEEXEC
            | pt.PTRACE_O_TRACEEXIT
        )
        if opts.follow_children or opts.seccomp is not None:
            base |= pt.PTRACE_O_TRACEFORK | pt.PTRACE_O_TRACEVFORK
        self._attach_options = base
        self._spawn_options = base | pt.PTRACE_O_EXITKILL
        if opts.seccomp is not None:
            self._spawn_options |= pt.PTRACE_O_TRACESECCOMP
        # Resume with PTRACE_SYSCALL everywhere, unless a filter makes the
        # syscalls that matter stop by themselves (or none are wanted).
        self._step_all = opts.trace_syscalls and opts.seccomp is None
        self._spin_ns = 0 if opts.pin_cpu is not None else max(0, opts.spin_us) * 1000

        self._tracees: dict[int, Tracee] = {}
        self._processes: dict[int, _Process] = {}
        self._stash: dict[int, list[int]] = {}  # stops of new tids not yet claimed
        # Statuses a drain took from waitpid, not yet served (see _dispatch._loop):
        # kept here, not in the loop, so that a loop run again (after an exception,
        # see _emergency_release) serves them.
        self._drained: collections.deque[tuple[int, int]] = collections.deque()
        # A creation event's message was lost to a SIGKILL (its child unknown): the
        # run waits on until waitpid has no child left, so that the child, adopted
        # from its own stops, is not left out when the known tracees are gone.
        self._creation_unread = False
        # Tids adopted from their own stops before their creator's event came: the
        # event, should its message be lost, is theirs to claim (_unannounced_child).
        self._no_creator: set[int] = set()
        self._consumer: Consumer = _ignore
        # The consumer's optional ``prepare(event)``: a finisher it returns
        # consumes the syscall event after the thread is resumed (see _dispatch).
        self._prepare: Callable[[Event], Callable[[Event], None] | None] | None = None
        # run's ``flush``: the consumer hands over what it holds (see run).
        self._flush: Callable[[], None] | None = None
        self._spawned: SpawnedChild | None = None
        self._exit_status: int | None = None
        self._command_signal = 0
        self._tracer_thread: int | None = None
        self._saved_affinity: dict[int, set[int]] = {}
        self._recorder_affinity: set[int] | None = None
        self._held: Tracee | None = None  # the tracee whose stop is being handled
        self._held_signal = 0

        self._stop_request: tuple[str, Release] | None = None
        self._releasing: Release | None = None
        self._stop_reason: str | None = None
        self._in_blocking_wait = False
        self._wait_returns = 0  # blocking waits ended (the waker's acknowledgement)
        # The blocking wait under way began with stops not yet flushed (see run).
        self._holding = False
        self.spin_chooser = SpinChooser(self._spin_ns)
        self._gate = pt.WaitGate()  # closed: a stop request not yet acted on
        self._wake_read = -1
        self._wake_write = -1
        self._main_thread_id = 0

        self._processes_seen = 0
        # Every stop's timestamp is one monotonic reading plus this offset
        # (the trace clock, _clock): a call's RET time minus its CALL time is
        # then exactly its duration, and the recording's other sources share
        # this clock object (the recorder hands the one it made to each).
        self._clock = clock if clock is not None else TraceClock()
        self._offset_ns = self._clock.offset_ns  # (measured once: TraceClock)
        self._threads_seen = 0
        self._detached = 0
        self._killed = 0
        self._lost = 0
        self._skipped: list[str] = []
        self._observers: list[ThreadObserver] = []

    # ------------------------------------------------------------------ setup

    @property
    def tracees(self) -> Mapping[int, Tracee]:
        """The threads under control now, by tid (read-only view)."""
        return self._tracees

    @property
    def spawned_pid(self) -> int | None:
        return None if self._spawned is None else self._spawned.pid

    def _claim_thread(self) -> None:
        me = threading.get_ident()
        if self._tracer_thread is None:
            self._tracer_thread = me
        elif self._tracer_thread != me:
            raise RuntimeError("ktr: all ptrace requests must come from the thread that attached")

    def _pin_recorder(self) -> None:
        cpu = self.options.pin_cpu
        if cpu is not None and self._recorder_affinity is None:
            self._recorder_affinity = os.sched_getaffinity(0)
            os.sched_setaffinity(0, {cpu})

    def _add_process(self, process: _Process) -> None:
        self._processes[process.pid] = process
        if process.counted:
            self._processes_seen += 1

    def _add_thread(self, tracee: Tracee, process: _Process) -> None:
        self._tracees[tracee.tid] = tracee
        process.threads.add(tracee.tid)
        if process.counted:
            self._threads_seen += 1

    def _emit(self, event: Event) -> None:
        if event.tracee.reported:
            self._consumer(event)


    # -- observers (the other sources) -----------------------------------

    def add_observer(self, observer: ThreadObserver) -> None:
        """Tell ``observer`` about every reported thread from now on."""
        self._observers.append(observer)

    def _observe_started(self, tracee: Tracee) -> None:
        if tracee.reported and not tracee.dropping:
            tracee.observed = True
            for observer in self._observers:
                observer.thread_started(tracee)

    def _observe_exiting(self, tracee: Tracee) -> None:
        if tracee.observed:
            for observer in self._observers:
                observer.thread_exiting(tracee)

    def _observe_exec(self, tracee: Tracee, former_tid: int) -> None:
        if tracee.observed:
            for observer in self._observers:
                observer.thread_exec(tracee, former_tid)

    def _observe_gone(self, tracee: Tracee) -> None:
        if tracee.observed:
            tracee.observed = False
            for observer in self._observers:
                observer.thread_gone(tracee)

    # -- implemented by the other parts (declared for their siblings) --

    def _loop(self) -> None:
        raise NotImplementedError

    def _request(self, request: tuple[str, Release]) -> None:
        raise NotImplementedError

    def _handle(self, tid: int, status: int) -> None:
        raise NotImplementedError

    def _let_go(self, tracee: Tracee, signo: int) -> None:
        raise NotImplementedError

    def _process_let_go(self, process: _Process) -> None:
        raise NotImplementedError

    def _lose(self, tracee: Tracee, reason: str) -> None:
        raise NotImplementedError

    def _drop_tracee(self, tracee: Tracee) -> None:
        raise NotImplementedError

    def _request_failed(self, tracee: Tracee, error: PtraceError) -> None:
        raise NotImplementedError

    def _must_kill(self, process: _Process) -> bool:
        raise NotImplementedError

    def _kill(self, process: _Process) -> None:
        raise NotImplementedError

    def _begin_release(self) -> None:
        raise NotImplementedError

    def _resume(self, tracee: Tracee, signo: int) -> None:
        raise NotImplementedError

    def _forget_process(self, process: _Process) -> None:
        raise NotImplementedError

    def _block(self) -> tuple[int, int] | None:
        raise NotImplementedError

    def _start_waker(self) -> tuple[Any, int, threading.Thread] | None:
        raise NotImplementedError

    def _stop_waker(self, saved: tuple[Any, int, threading.Thread] | None) -> None:
        raise NotImplementedError

    def _abandon(self) -> None:
        raise NotImplementedError

    def _register_child(self, child: int, thread_of: int, parent: Tracee | None) -> Tracee:
        raise NotImplementedError
