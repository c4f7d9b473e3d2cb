"""The control loop: spawn or attach, follow, and turn every ptrace stop into an event.

One ``Control`` per recording. It starts the command (``spawn``) or seizes
running processes (``attach``, ``attach_group``), then ``run`` waits for all of
its tracees with ``waitpid(-1, __WALL)`` on the thread that seized them and
hands one event per stop to the consumer while that thread is still stopped.
The consumer's return resumes the thread.

Semantics (after illumos dt_proc's create/grab and NetBSD ktrace's ktrops):

- Spawned command (create): under control before its first instruction; its
  execve is the first syscall reported. The tree it starts is killed when
  the recording is stopped (kill-on-last-close), and dies with the recorder
  (PTRACE_O_EXITKILL). ``run`` ends when every tracee is gone and reports the
  command's exit status (128+signal if killed).
- Attached processes (grab): every thread, seized without a visible SIGSTOP
  (SEIZE + INTERRUPT). On a stop request they are detached and keep running
  (run-on-last-close), with no stop left pending and no signal lost; one
  stopped by job control stays stopped (leave-hung).
- Threads are always followed; child processes only with ``follow_children``
  (``-i``). With a seccomp filter, children inherit the filter and can never
  be detached, so they stay traced: reported with ``-i``, silently resumed
  (``Tracee.reported`` false) without it.
- Signals are reported at their delivery stop and re-injected unchanged.
  Job-control stops are held with PTRACE_LISTEN so SIGSTOP/SIGTSTP/SIGCONT
  behave as without ktr.
- Exits: every thread other than the leader gets a thread EXIT (at its exit
  stop), every process one process EXIT when its last thread is reaped.
  Control lost (a tracee no longer ours, a set-id exec under a non-root
  recorder) is a LOST event and counted.
- ``request_stop`` may be called from a signal handler or any thread; the
  loop notices within a few milliseconds even while blocked in waitpid
  (``run`` on the main thread installs a SIGURG handler and a wakeup fd for
  this; on another thread it polls with sleeps of up to 10 ms instead).

Waiting is adaptive: after a stop the loop polls ``waitpid(WNOHANG)`` for up
to ``spin_us`` µs before blocking (a blocked recorder on another CPU costs a
cross-CPU wakeup per stop); ``pin_cpu`` puts recorder and tracees on one CPU
instead and never spins.

Does not: decide what is recorded (the consumer does), nor read registers
beyond the syscall info. The loop reaps every child of the recorder process
(``waitpid(-1)``): the recorder must not run other child processes while
``run`` is active. ``spawn`` forks, so it must come before the recorder
starts any thread; all of spawn/attach/run must be called from one thread
(ptrace requests are only accepted from the tracer thread).
"""

from __future__ import annotations

import contextlib
import enum
import errno as errno_module
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from formats import Abi

from . import _procfs
from . import _ptrace as pt
from ._events import (
    Event,
    Lifecycle,
    ProcessEvent,
    SignalDelivery,
    SyscallEntry,
    SyscallExit,
    Tracee,
)
from ._memory import TraceeMemory
from ._seccomp import PreparedFilter, Selection
from ._spawn import SpawnedChild, fork_command, resolve_command
from .errors import PtraceError, TargetError, errno_text

#: Default ``spin_us``: chosen from bench/bench_stops.py (see its output).
DEFAULT_SPIN_US = 50

WALL = 0x40000000  # __WALL: wait for threads (clone children) too
_WNOHANG_WALL = os.WNOHANG | WALL
_SYSCALL_TRAP = signal.SIGTRAP | 0x80  # status >> 8 at a syscall stop (TRACESYSGOOD)
_SYSCALL_STOP_STATUS = _SYSCALL_TRAP << 8 | 0x7F  # the whole wait status of one
_STOP_SIGNALS = frozenset(
    {signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU}
)
_WAKE_SIGNAL = signal.SIGURG  # default action: ignore; safe to borrow

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


@dataclass(frozen=True, slots=True)
class RunResult:
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


@dataclass(slots=True, eq=False)
class _Process:
    pid: int
    memory: TraceeMemory
    created: bool
    filtered: bool
    reported: bool
    counted: bool = True  # traced for real (False: a child let go at its first stop)
    threads: set[int] = field(default_factory=set)
    killing: bool = False
    last_status: int = 0


class _WakeUp(Exception):
    """Raised by the wake-signal handler to break a blocking wait."""


_active: Control | None = None  # the loop currently in run() on the main thread


def _on_wake_signal(signum: int, frame: object) -> None:
    control = _active
    if control is not None:
        control._wake_count += 1
        if control._in_blocking_wait:
            raise _WakeUp


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


class Control:
    """Process control for one recording (see the module docstring)."""

    def __init__(self, options: ControlOptions | None = None) -> None:
        self.options = options if options is not None else ControlOptions()
        opts = self.options
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
        self._consumer: Consumer = _ignore
        self._spawned: SpawnedChild | None = None
        self._exit_status: int | None = None
        self._tracer_thread: int | None = None
        self._saved_affinity: dict[int, set[int]] = {}
        self._recorder_affinity: set[int] | None = None
        self._held: Tracee | None = None  # the tracee whose stop is being handled
        self._held_signal = 0

        self._stop_request: tuple[str, Release] | None = None
        self._releasing: Release | None = None
        self._stop_reason: str | None = None
        self._in_blocking_wait = False
        self._wake_count = 0
        self._wake_read = -1
        self._wake_write = -1
        self._main_thread_id = 0

        self._processes_seen = 0
        self._threads_seen = 0
        self._detached = 0
        self._killed = 0
        self._lost = 0
        self._skipped: list[str] = []

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

    def spawn(
        self, argv: Sequence[str | bytes], environment: Mapping[str, str] | None = None
    ) -> int:
        """Start ``argv`` under control (before its first instruction); its pid.

        Raises TargetError (exit status 127) if the command cannot be found.
        Must be called before the recorder starts any other thread.
        """
        if self._spawned is not None:
            raise RuntimeError("ktr: one spawned command per recording")
        self._claim_thread()
        path = resolve_command(argv, environment)
        if self.options.seccomp is not None and self._filter is None:
            self._filter = PreparedFilter(self.options.seccomp)
        child = fork_command(path, argv, environment, self._filter)
        pid = child.pid
        try:
            if self.options.pin_cpu is not None:
                self._pin_recorder()
                os.sched_setaffinity(pid, {self.options.pin_cpu})
            pt.seize(pid, self._spawn_options)
            pt.interrupt(pid)
            while True:
                waited, status = os.waitpid(pid, WALL)
                if waited == pid:
                    break
            if not os.WIFSTOPPED(status):
                raise TargetError(
                    f"ktr: the command died before it could run (status {status})", pid)
        except BaseException:
            child.close()
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, WALL)
            except OSError:
                pass
            raise
        self._spawned = child
        memory = TraceeMemory(pid, Abi.X86_64)
        process = _Process(pid, memory, created=True, filtered=self._filter is not None,
                           reported=True)
        self._add_process(process)
        tracee = Tracee(pid, pid, _procfs.read_comm(pid), Abi.X86_64, memory,
                        created=True, started=True, pre_exec=True)
        self._add_thread(tracee, process)
        how = pt.PTRACE_SYSCALL if self._step_all else pt.PTRACE_CONT
        pt.resume(how, pid, 0)
        child.release()
        return pid

    def attach(self, pids: Iterable[int], descendants: bool | None = None) -> list[int]:
        """Seize every thread of each process in ``pids`` (and, with ``descendants``
        or ``-d``, of their existing descendants); the processes attached.

        An explicit pid that cannot be traced raises TargetError (one line:
        no such process / permission denied and why); everything attached so
        far is then let go again. Descendants that cannot be traced are
        skipped and listed in ``RunResult.skipped``.
        """
        self._claim_thread()
        if descendants is None:
            descendants = self.options.attach_descendants
        targets: list[int] = []
        for pid in pids:
            tgid = _procfs.thread_group(pid) if pid > 0 else None
            if tgid is None:
                self._abandon()
                raise TargetError(f"ktr: pid {pid}: no such process", pid, errno_module.ESRCH)
            if tgid not in targets:
                targets.append(tgid)
        attached: list[int] = []
        for tgid in targets:
            try:
                if self._attach_process(tgid):
                    attached.append(tgid)
            except TargetError:
                self._abandon()
                raise
        if descendants:
            attached += self._attach_lenient(_procfs.descendants(targets))
        return attached

    def attach_group(self, pgid: int, descendants: bool | None = None) -> list[int]:
        """Attach every process of process group ``pgid`` (ktrace ``-g``).

        Members that cannot be traced are skipped; TargetError only if the
        group has no member or none could be attached.
        """
        self._claim_thread()
        if descendants is None:
            descendants = self.options.attach_descendants
        members = _procfs.group_members(pgid) if pgid > 0 else []
        if not members:
            raise TargetError(f"ktr: process group {pgid}: no such process group", pgid,
                              errno_module.ESRCH)
        before = len(self._skipped)
        attached = self._attach_lenient(members)
        if descendants:
            attached += self._attach_lenient(_procfs.descendants(members))
        if not attached:
            reasons = "; ".join(self._skipped[before:]) or "no process could be traced"
            self._abandon()
            raise TargetError(f"ktr: process group {pgid}: {reasons}", pgid, errno_module.EPERM)
        return attached

    def _attach_lenient(self, pids: Iterable[int]) -> list[int]:
        attached = []
        for pid in pids:
            if pid in self._processes or pid == os.getpid():
                continue
            try:
                if self._attach_process(pid):
                    attached.append(pid)
            except TargetError as error:
                self._skipped.append(str(error).removeprefix("ktr: "))
        return attached

    def _attach_process(self, pid: int) -> bool:
        """Seize all threads of ``pid``, looping until no new thread appears."""
        if pid == os.getpid():
            raise TargetError(f"ktr: pid {pid}: cannot trace the recorder itself", pid,
                              errno_module.EPERM)
        if pid in self._processes:
            return False
        exe = f"/proc/{pid}/exe"
        abi = _procfs.abi_of_executable(exe)
        if abi is Abi.UNKNOWN:
            abi = Abi.X86_64
        memory = TraceeMemory(pid, abi)
        process = _Process(pid, memory, created=False, filtered=False, reported=True)
        seen: set[int] = set()
        while True:
            threads = _procfs.list_threads(pid)
            if threads is None:
                if process.threads:
                    break  # it exited while we attached: the loop will reap it
                raise TargetError(f"ktr: pid {pid}: no such process", pid, errno_module.ESRCH)
            new = [tid for tid in threads if tid not in seen]
            if not new:
                break
            for tid in new:
                seen.add(tid)
                if tid in self._tracees or tid in self._stash:
                    continue  # auto-attached through a traced thread's clone
                if not self._seize_thread(tid, process, abi):
                    continue
        if not process.threads:
            # every thread vanished (or was already ours): nothing attached
            if pid not in self._processes and _procfs.list_threads(pid) is None:
                raise TargetError(f"ktr: pid {pid}: no such process", pid, errno_module.ESRCH)
            return False
        return True

    def _seize_thread(self, tid: int, process: _Process, abi: Abi) -> bool:
        try:
            pt.seize(tid, self._attach_options)
        except PtraceError as error:
            if error.errno == errno_module.ESRCH:
                if tid == process.pid and not process.threads:
                    raise TargetError(f"ktr: pid {tid}: no such process", tid,
                                      errno_module.ESRCH) from None
                return False  # a thread that exited meanwhile
            if error.errno == errno_module.EPERM:
                if _procfs.tracer_pid(tid) == os.getpid():
                    return False  # ours already
                state = _procfs.thread_state(tid)
                if state is None or (state in (b"Z", b"X") and tid != process.pid):
                    return False  # an exiting thread
                reason = _procfs.permission_reason(tid)
                raise TargetError(
                    f"ktr: pid {process.pid}: permission denied ({reason})",
                    process.pid, errno_module.EPERM,
                ) from None
            raise TargetError(
                f"ktr: pid {process.pid}: cannot trace: {errno_text(error.errno)}",
                process.pid, error.errno,
            ) from None
        if process.pid not in self._processes:
            self._add_process(process)
        tracee = Tracee(tid, process.pid, _procfs.read_comm(tid), abi, process.memory,
                        attaching=True, dropping=self._releasing is not None)
        self._add_thread(tracee, process)
        if self.options.pin_cpu is not None:
            self._pin_recorder()
            try:
                self._saved_affinity[tid] = os.sched_getaffinity(tid)
                os.sched_setaffinity(tid, {self.options.pin_cpu})
            except OSError:
                pass
        with contextlib.suppress(PtraceError):
            pt.interrupt(tid)  # fails only if exiting: its exit will be reported
        return True

    def _add_process(self, process: _Process) -> None:
        self._processes[process.pid] = process
        if process.counted:
            self._processes_seen += 1

    def _add_thread(self, tracee: Tracee, process: _Process) -> None:
        self._tracees[tracee.tid] = tracee
        process.threads.add(tracee.tid)
        self._threads_seen += 1

    def _abandon(self) -> None:
        """Let every tracee go after a setup error (none is left stopped)."""
        if self._tracees or self._stash:
            self._request(("setup failed", Release.DEFAULT))
            consumer, self._consumer = self._consumer, _ignore
            try:
                self._loop()
            finally:
                self._consumer = consumer
            self._stop_request = None
            self._releasing = None
            self._stop_reason = None

    # --------------------------------------------------------------- stopping

    def request_stop(self, reason: str, release: Release = Release.DEFAULT) -> None:
        """End the recording: let every tracee go (see ``Release``).

        Safe from a signal handler and from any thread; the first request
        wins. Returns at once; ``run`` returns when every tracee is let go.
        """
        self._request((reason, release))

    def _request(self, request: tuple[str, Release]) -> None:
        if self._stop_request is None:
            self._stop_request = request
        if threading.get_ident() == self._main_thread_id and self._in_blocking_wait:
            # called from a signal handler that interrupted our own wait
            raise _WakeUp
        if self._wake_write >= 0:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"\0")

    def _start_waker(self) -> tuple[Any, int, threading.Thread] | None:
        """Make request_stop and signals break a blocking waitpid (main thread only)."""
        global _active
        if threading.current_thread() is not threading.main_thread():
            return None
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._main_thread_id = threading.get_ident()
        previous_handler = signal.signal(_WAKE_SIGNAL, _on_wake_signal)
        previous_fd = signal.set_wakeup_fd(self._wake_write, warn_on_full_buffer=False)
        _active = self
        waker = threading.Thread(target=self._waker, name="ktr-waker", daemon=True)
        waker.start()
        return previous_handler, previous_fd, waker

    def _stop_waker(self, saved: tuple[Any, int, threading.Thread] | None) -> None:
        global _active
        if saved is None:
            return
        _active = None
        previous_handler, previous_fd, waker = saved
        signal.set_wakeup_fd(previous_fd)
        self._main_thread_id = 0
        write, self._wake_write = self._wake_write, -1
        os.close(write)  # EOF ends the waker thread
        waker.join()
        signal.signal(_WAKE_SIGNAL, previous_handler)

    def _waker(self) -> None:
        """Turn bytes on the wake pipe (signals, request_stop) into SIGURG for
        the main thread, repeated until its handler has run: a signal that
        lands just before waitpid's system call would otherwise be noticed
        only at the next tracee stop."""
        read = self._wake_read
        urgent = bytes([_WAKE_SIGNAL])
        try:
            while True:
                select.select([read], [], [])
                data = os.read(read, 256)
                if not data:
                    return
                if not data.strip(urgent):
                    continue  # only our own wake signal echoed back
                seen = self._wake_count
                for _ in range(500):
                    if self._main_thread_id == 0:
                        return
                    signal.pthread_kill(self._main_thread_id, _WAKE_SIGNAL)
                    ready, _, _ = select.select([read], [], [], 0.01)
                    if ready and not os.read(read, 256):
                        return
                    if self._wake_count != seen:
                        break
        except OSError:
            return
        finally:
            os.close(read)

    # ------------------------------------------------------------------- run

    def run(self, consumer: Consumer) -> RunResult:
        """Trace until every tracee is gone or let go; one event per stop."""
        self._claim_thread()
        self._consumer = consumer
        saved = self._start_waker()
        try:
            try:
                self._loop()
            except BaseException:
                self._emergency_release()
                raise
        finally:
            self._stop_waker(saved)
            if self._recorder_affinity is not None:
                os.sched_setaffinity(0, self._recorder_affinity)
                self._recorder_affinity = None
        spawn_error = None
        if self._spawned is not None:
            spawn_error = self._spawned.exec_error()
            self._spawned.close()
        return RunResult(
            exit_status=self._exit_status,
            stop_reason=self._stop_reason,
            spawn_error=spawn_error,
            processes=self._processes_seen,
            threads=self._threads_seen,
            detached=self._detached,
            killed=self._killed,
            lost=self._lost,
            skipped=tuple(self._skipped),
        )

    def _emergency_release(self) -> None:
        """An exception escaped the loop: let everything go without the consumer."""
        self._consumer = _ignore
        self._in_blocking_wait = False
        held, self._held = self._held, None
        if self._stop_request is None:
            self._stop_request = ("internal error", Release.DEFAULT)
        if self._releasing is None:
            self._begin_release()  # decides who is killed, interrupts the rest
        if held is not None and held.tid in self._tracees:
            # it may still be stopped at the stop we were handling
            held.dropping = True
            with contextlib.suppress(PtraceError):
                self._let_go(held, self._held_signal)
        try:
            self._loop()
        except BaseException:
            # last resort: nothing may stay stopped; detaching fails on
            # running tracees, and the kernel detaches the rest when we exit
            for tid in list(self._tracees):
                with contextlib.suppress(PtraceError):
                    pt.detach(tid, 0)

    def _loop(self) -> None:
        tracees = self._tracees
        stash = self._stash
        handle = self._handle
        syscall_stop = self._syscall_stop
        waitpid = os.waitpid
        clock = time.perf_counter_ns
        spin_ns = self._spin_ns
        while tracees or stash:
            if self._stop_request is not None and self._releasing is None:
                self._begin_release()
                continue
            try:
                # Without a spin budget (or pinned: the tracee cannot have run
                # yet on our CPU) go straight to the blocking wait.
                tid = status = 0
                if spin_ns or stash:
                    tid, status = waitpid(-1, _WNOHANG_WALL)
                    if tid == 0 and spin_ns:
                        deadline = clock() + spin_ns
                        while tid == 0 and clock() < deadline:
                            tid, status = waitpid(-1, _WNOHANG_WALL)
                if tid == 0:
                    if stash:
                        self._adopt_orphans()
                        continue
                    waited = self._block()
                    if waited is None:
                        continue
                    tid, status = waited
            except ChildProcessError:
                self._children_vanished()
                break
            if status == _SYSCALL_STOP_STATUS:
                # the common case, without the general dispatch
                tracee = tracees.get(tid)
                if tracee is not None and tracee.started:
                    self._held = tracee
                    syscall_stop(tracee)
                    self._held = None
                    continue
            handle(tid, status)

    def _block(self) -> tuple[int, int] | None:
        """Wait for the next status without consuming it first (WNOWAIT), so a
        wake-up exception can never lose one; then take it with WNOHANG."""
        if self._stop_request is not None and self._releasing is None:
            return None
        if self._main_thread_id and self._main_thread_id == threading.get_ident():
            self._in_blocking_wait = True
            try:
                if self._stop_request is None or self._releasing is not None:
                    os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOWAIT | WALL)
            except _WakeUp:
                pass
            finally:
                self._in_blocking_wait = False
        else:
            # no signal to break a wait with (not the main thread): poll
            pause = 0.0005
            while self._stop_request is None or self._releasing is not None:
                if os.waitid(os.P_ALL, 0, os.WEXITED | os.WSTOPPED | os.WNOWAIT
                             | os.WNOHANG | WALL) is not None:
                    break
                time.sleep(pause)
                pause = min(pause * 2, 0.01)
        tid, status = os.waitpid(-1, _WNOHANG_WALL)
        return (tid, status) if tid else None

    # -------------------------------------------------------------- dispatch

    def _handle(self, tid: int, status: int) -> None:
        tracee = self._tracees.get(tid)
        if tracee is None:
            self._stash_status(tid, status)
            return
        self._held = tracee
        self._held_signal = 0
        if not tracee.started:
            self._first_stop(tracee, status)
        if status & 0xFF == 0x7F:  # stopped
            high = status >> 8
            if high == _SYSCALL_TRAP:
                self._syscall_stop(tracee)
            elif high > 0xFF:
                self._event_stop(tracee, high >> 8, high & 0xFF)
            else:
                self._signal_stop(tracee, high)
        else:
            self._reaped(tracee, status)
        self._held = None
        self._held_signal = 0

    def _emit(self, event: Event) -> None:
        if event.tracee.reported:
            self._consumer(event)

    def _first_stop(self, tracee: Tracee, status: int) -> None:
        tracee.started = True
        if tracee.attaching:
            tracee.attaching = False
            if os.WIFSTOPPED(status):
                self._emit(ProcessEvent(tracee, time.time_ns(), Lifecycle.ATTACH,
                                        thread=tracee.tid != tracee.pid))

    def _syscall_stop(self, tracee: Tracee) -> None:
        # The hot path: one GET_SYSCALL_INFO, one event, one resume.
        tid = tracee.tid
        try:
            info = pt.syscall_info_raw(tid)
        except PtraceError as error:
            self._request_failed(tracee, error)
            return
        op = info[0]
        if op == pt.SYSCALL_INFO_EXIT:
            entry = tracee.entry
            tracee.entry = None
            tracee.in_syscall = False
            if tracee.reported and not tracee.pre_exec:
                if entry is not None:
                    nr = entry.nr
                    abi = entry.abi
                    if nr == _PRCTL_NUMBERS.get(abi) and entry.args[0] == _PR_SET_NAME:
                        tracee.comm = _procfs.read_comm(tid)
                else:
                    nr, abi = self._current_syscall(tracee, pt.abi_of_arch(info[2], 0))
                rval, is_error = pt.exit_values()
                self._consumer(SyscallExit(
                    tracee, time.time_ns(), time.monotonic_ns(), abi, nr, rval,
                    -rval if is_error else 0, entry,
                ))
        elif op == pt.SYSCALL_INFO_ENTRY or op == pt.SYSCALL_INFO_SECCOMP:
            nr = info[5]
            if info[2] == pt.AUDIT_ARCH_X86_64 and (nr < 0 or not nr & pt.X32_SYSCALL_BIT):
                abi = Abi.X86_64
            else:
                abi = pt.abi_of_arch(info[2], nr)
                if abi is Abi.X32:
                    nr &= ~pt.X32_SYSCALL_BIT
            entry = SyscallEntry(tracee, time.time_ns(), time.monotonic_ns(), abi, nr,
                                 info[6:12])  # type: ignore[arg-type]
            tracee.entry = entry
            tracee.in_syscall = True
            if tracee.pre_exec and nr in _EXECVE_NUMBERS.get(abi, ()):
                tracee.pre_exec = False
            if tracee.reported and not tracee.pre_exec:
                self._consumer(entry)
        if tracee.dropping:
            self._let_go(tracee, 0)
            return
        try:
            pt.resume(pt.PTRACE_SYSCALL if (self._step_all or tracee.in_syscall)
                      else pt.PTRACE_CONT, tid, 0)
        except PtraceError as error:
            self._request_failed(tracee, error)

    def _current_syscall(self, tracee: Tracee, abi: Abi) -> tuple[int, Abi]:
        """(nr, abi) at a syscall exit whose entry we did not see (attached mid-call)."""
        try:
            nr = _signed(pt.peekuser(tracee.tid, pt.ORIG_RAX_OFFSET))
        except PtraceError:
            return -1, abi
        if abi is Abi.I386:
            nr = nr & 0xFFFF_FFFF
            return (nr - (1 << 32) if nr >= 1 << 31 else nr), abi
        if nr >= 0 and nr & pt.X32_SYSCALL_BIT:
            return nr & ~pt.X32_SYSCALL_BIT, Abi.X32
        return nr, abi

    def _resume(self, tracee: Tracee, signo: int) -> None:
        if tracee.dropping:
            self._let_go(tracee, signo)
            return
        how = pt.PTRACE_SYSCALL if (self._step_all or tracee.in_syscall) else pt.PTRACE_CONT
        try:
            pt.resume(how, tracee.tid, signo)
        except PtraceError as error:
            self._request_failed(tracee, error)

    def _signal_stop(self, tracee: Tracee, signo: int) -> None:
        self._held_signal = signo
        if tracee.reported and not tracee.dropping:
            tid = tracee.tid
            try:
                info = pt.getsiginfo(tid)
                blocked = pt.getsigmask(tid)
            except PtraceError as error:
                self._request_failed(tracee, error)
                return
            self._consumer(SignalDelivery(
                tracee, time.time_ns(), signo, info.code, info.raw, blocked,
                _procfs.signal_action(tid, signo),
            ))
        self._resume(tracee, signo)

    def _event_stop(self, tracee: Tracee, event: int, signo: int) -> None:
        if event == pt.PTRACE_EVENT_STOP:
            if signo in _STOP_SIGNALS:
                # group-stop (job control): stay stopped, but keep reporting
                tracee.group_stopped = True
                if tracee.dropping:
                    self._let_go(tracee, 0)  # the kernel keeps it stopped
                    return
                try:
                    pt.listen(tracee.tid)
                except PtraceError as error:
                    if error.errno != errno_module.EIO:
                        self._request_failed(tracee, error)
                    else:  # not a group-stop after all: resuming is right
                        self._resume(tracee, 0)
            else:
                # PTRACE_INTERRUPT, a new tracee's first stop, or the end of a
                # group-stop (SIGCONT): just carry on
                tracee.group_stopped = False
                self._resume(tracee, 0)
        elif event == pt.PTRACE_EVENT_SECCOMP:
            self._syscall_stop(tracee)
        elif event in _FORK_EVENTS:
            self._new_child(tracee, _FORK_EVENTS[event])
        elif event == pt.PTRACE_EVENT_EXEC:
            self._exec(tracee)
        elif event == pt.PTRACE_EVENT_EXIT:
            self._exit_stop(tracee)
        else:
            self._resume(tracee, 0)

    # ------------------------------------------------------------- lifecycle

    def _new_child(self, parent: Tracee, kind: Lifecycle) -> None:
        try:
            child = pt.geteventmsg(parent.tid)
        except PtraceError as error:
            self._request_failed(parent, error)
            return
        known = self._tracees.get(child)
        if known is not None:
            # already adopted from its own first stop
            is_thread = known.pid == parent.pid
        else:
            is_thread = kind is Lifecycle.CLONE and os.path.exists(
                f"/proc/{parent.pid}/task/{child}")
            self._register_child(child, parent.pid if is_thread else 0, parent)
        self._emit(ProcessEvent(parent, time.time_ns(), kind, child=child, thread=is_thread))
        self._resume(parent, 0)
        statuses = self._stash.pop(child, None)
        if statuses:
            for status in statuses:
                self._handle(child, status)

    def _register_child(self, child: int, thread_of: int, parent: Tracee | None) -> Tracee:
        """A new tid is ours (auto-attached): a thread of ``thread_of`` or a new process."""
        if thread_of:
            process = self._processes[thread_of]
            pid = thread_of
            reported = process.reported
            drop = False
        else:
            parent_process = self._processes.get(parent.pid) if parent is not None else None
            created = parent_process.created if parent_process else self._spawned is not None
            filtered = parent_process.filtered if parent_process else self._filter is not None
            follow = self.options.follow_children
            reported = follow and (parent_process.reported if parent_process else True)
            abi = parent.abi if parent is not None else Abi.X86_64
            # not followed: let it go at its first stop, unless a filter forbids it
            drop = not follow and not filtered
            process = _Process(child, TraceeMemory(child, abi), created=created,
                               filtered=filtered, reported=reported, counted=not drop)
            pid = child
            self._add_process(process)
            if self._must_kill(process):
                process.killing = True
                self._kill(process)
        if parent is not None:
            comm, abi = parent.comm, parent.abi
            emul_pending = parent.emul_pending if thread_of else True
        else:
            comm, abi, emul_pending = _procfs.read_comm(child), process.memory.abi, True
        tracee = Tracee(
            child, pid, comm, abi, process.memory,
            emul_pending=emul_pending,
            created=process.created,
            reported=reported and not drop,
            dropping=drop or self._releasing is not None,
        )
        if drop:
            self._tracees[child] = tracee
            process.threads.add(child)
        else:
            self._add_thread(tracee, process)
        return tracee

    def _stash_status(self, tid: int, status: int) -> None:
        if tid in self._stash or os.WIFSTOPPED(status):
            self._stash.setdefault(tid, []).append(status)
        # else: a child of the recorder that is not a tracee; nothing to do

    def _adopt_orphans(self) -> None:
        """New tids whose creator's event has not come: find their parent in /proc."""
        for tid in list(self._stash):
            statuses = self._stash.pop(tid)
            if tid in self._tracees:
                for status in statuses:
                    self._handle(tid, status)
                continue
            fields = _procfs.read_status(tid)
            tgid = int(fields.get(b"Tgid", b"0") or 0)
            ppid = int(fields.get(b"PPid", b"0") or 0)
            if tgid in self._processes and tgid != tid:
                leader = self._tracees.get(tgid)
                parent = leader or next(
                    (self._tracees[t] for t in self._processes[tgid].threads
                     if t in self._tracees), None)
                self._register_child(tid, tgid, parent)
            else:
                parent_process = self._processes.get(ppid)
                parent = None
                if parent_process is not None:
                    parent = next((self._tracees[t] for t in parent_process.threads
                                   if t in self._tracees), None)
                if not fields and all(not os.WIFSTOPPED(s) for s in statuses):
                    continue  # already dead and reaped: nothing to adopt
                self._register_child(tid, 0, parent)
            for status in statuses:
                self._handle(tid, status)

    def _exec(self, tracee: Tracee) -> None:
        tid = tracee.tid
        try:
            former = pt.geteventmsg(tid)
        except PtraceError as error:
            self._request_failed(tracee, error)
            return
        process = self._processes[tracee.pid]
        if former != tid:
            # a non-leader thread exec'd: it now has the leader's tid, and the
            # old leader is gone without a death report of its own
            execing = self._tracees.pop(former, None)
            process.threads.discard(former)
            if execing is not None:
                execing.tid = tid
                self._tracees[tid] = execing
                self._held = tracee = execing
        path = _procfs.executable_path(tid)
        abi = _procfs.abi_of_executable(f"/proc/{tid}/exe")
        if abi is Abi.UNKNOWN:
            abi = tracee.abi
        tracee.abi = abi
        tracee.memory.reopen(abi=abi)
        tracee.comm = _procfs.read_comm(tid)
        tracee.emul_pending = True
        tracee.pre_exec = False
        self._emit(ProcessEvent(tracee, time.time_ns(), Lifecycle.EXEC, path=path,
                                former_tid=former if former != tid else 0))
        if self._privileges_withheld(tid) and not process.filtered and not tracee.dropping:
            self._lose(tracee, f"exec of set-id program {os.fsdecode(path)}: the kernel "
                               "runs it without its privileges while traced; released")
            self._let_go(tracee, 0)
            return
        self._resume(tracee, 0)

    def _privileges_withheld(self, tid: int) -> bool:
        """A non-root tracer makes the kernel ignore set-id bits on exec."""
        if os.geteuid() == 0:
            return False
        try:
            st = os.stat(f"/proc/{tid}/exe")
        except OSError:
            return False
        return bool((st.st_mode & 0o4000 and st.st_uid != os.geteuid())
                    or (st.st_mode & 0o2000 and st.st_gid != os.getegid()))

    def _exit_stop(self, tracee: Tracee) -> None:
        try:
            status = pt.geteventmsg(tracee.tid)
        except PtraceError as error:
            self._request_failed(tracee, error)
            return
        if not tracee.exited and tracee.tid != tracee.pid:
            tracee.exited = True
            code, signo, core = _decode_wait_status(status)
            self._emit(ProcessEvent(tracee, time.time_ns(), Lifecycle.EXIT, thread=True,
                                    status=code, signal=signo, core_dumped=core))
        self._resume(tracee, 0)

    def _reaped(self, tracee: Tracee, status: int) -> None:
        tid = tracee.tid
        del self._tracees[tid]
        self._saved_affinity.pop(tid, None)
        code, signo, core = _decode_wait_status(status)
        now = time.time_ns()
        if not tracee.exited and tid != tracee.pid:
            tracee.exited = True
            self._emit(ProcessEvent(tracee, now, Lifecycle.EXIT, thread=True,
                                    status=code, signal=signo, core_dumped=core))
        process = self._processes.get(tracee.pid)
        if process is None:
            return
        process.threads.discard(tid)
        if tid == process.pid or not process.last_status:
            process.last_status = status
        if not process.threads:
            code, signo, core = _decode_wait_status(process.last_status)
            self._emit(ProcessEvent(tracee, now, Lifecycle.EXIT, thread=False,
                                    status=code, signal=signo, core_dumped=core))
            self._forget_process(process)
            if self._spawned is not None and process.pid == self._spawned.pid:
                self._exit_status = 128 + signo if signo else code

    def _forget_process(self, process: _Process) -> None:
        process.memory.close()
        self._processes.pop(process.pid, None)

    def _children_vanished(self) -> None:
        """waitpid says we have no children left: whatever we still list is lost."""
        for tracee in list(self._tracees.values()):
            self._lose(tracee, "vanished without an exit status")
            self._drop_tracee(tracee)
        self._stash.clear()

    # ----------------------------------------------------------- letting go

    def _request_failed(self, tracee: Tracee, error: PtraceError) -> None:
        """A request on a tracee we hold failed."""
        if error.errno != errno_module.ESRCH:
            raise error
        state = _procfs.thread_state(tracee.tid)
        if state is None or state in (b"Z", b"X") or (
                _procfs.tracer_pid(tracee.tid) == os.getpid()):
            return  # killed while stopped (SIGKILL): its exit status will come
        self._lose(tracee, "no longer traced by the recorder")
        self._drop_tracee(tracee)

    def _lose(self, tracee: Tracee, reason: str) -> None:
        self._lost += 1
        self._emit(ProcessEvent(tracee, time.time_ns(), Lifecycle.LOST, reason=reason,
                                thread=tracee.tid != tracee.pid))

    def _drop_tracee(self, tracee: Tracee) -> None:
        self._tracees.pop(tracee.tid, None)
        process = self._processes.get(tracee.pid)
        if process is not None:
            process.threads.discard(tracee.tid)
            if not process.threads:
                self._forget_process(process)

    def _begin_release(self) -> None:
        request = self._stop_request
        assert request is not None
        self._stop_reason, release = request
        self._releasing = release
        for process in list(self._processes.values()):
            if self._must_kill(process):
                process.killing = True
                self._kill(process)
        for tracee in list(self._tracees.values()):
            tracee.dropping = True
            owner = self._processes.get(tracee.pid)
            if owner is not None and owner.killing:
                continue
            if tracee.started:
                with contextlib.suppress(PtraceError):
                    pt.interrupt(tracee.tid)  # fails only if exiting: its exit will come

    def _must_kill(self, process: _Process) -> bool:
        """Released by killing: a filtered process cannot outlive us; the
        spawned tree is killed unless the release says detach."""
        release = self._releasing
        if release is None:
            return False
        return process.filtered or (process.created and release is Release.DEFAULT)

    def _kill(self, process: _Process) -> None:
        try:
            os.kill(process.pid, signal.SIGKILL)
            self._killed += 1
        except ProcessLookupError:
            pass

    def _let_go(self, tracee: Tracee, signo: int) -> None:
        """Release a stopped tracee: detach it, or let it die if it is being killed."""
        process = self._processes.get(tracee.pid)
        tid = tracee.tid
        if process is not None and process.killing:
            with contextlib.suppress(PtraceError):
                pt.cont(tid, 0)
            return  # SIGKILL is on its way; the reap removes it
        if tracee.reported and tracee.started:
            self._emit(ProcessEvent(tracee, time.time_ns(), Lifecycle.DETACH,
                                    signal=signo, thread=tid != tracee.pid))
        try:
            pt.detach(tid, signo)
        except PtraceError as error:
            if error.errno != errno_module.ESRCH:
                raise
            return  # dying: its exit status will come
        affinity = self._saved_affinity.pop(tid, None)
        if affinity is not None:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(tid, affinity)
        self._tracees.pop(tid, None)
        if process is not None:
            process.threads.discard(tid)
            if not process.threads:
                if process.counted and process.pid in self._processes:
                    self._detached += 1
                self._forget_process(process)
