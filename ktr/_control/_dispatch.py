"""Stop dispatch: the wait loop and one handler per kind of ptrace stop."""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import threading
import time
from collections.abc import Callable

from formats import Abi

from .. import _procfs
from .. import _ptrace as pt
from .._events import (
    RESTART_ERRNOS,
    Lifecycle,
    ProcessEvent,
    SignalDelivery,
    SyscallEntry,
    SyscallExit,
    Tracee,
)
from .._memory import TraceeMemory
from ..errors import PtraceError
from ._state import (
    _EXECVE_NUMBERS,
    _FORK_EVENTS,
    _PR_SET_NAME,
    _PRCTL_NUMBERS,
    _STOP_SIGNALS,
    _SYSCALL_STOP_STATUS,
    _SYSCALL_TRAP,
    _WNOHANG_WALL,
    Consumer,
    ControlState,
    Release,
    RunResult,
    _decode_wait_status,
    _ignore,
    _Process,
    _signed,
)

_new_tuple = tuple.__new__
_monotonic_ns = time.monotonic_ns
_INFO_EXIT = pt.SYSCALL_INFO_EXIT
_INFO_ENTRY = pt.SYSCALL_INFO_ENTRY
_INFO_SECCOMP = pt.SYSCALL_INFO_SECCOMP
_ARCH_X86_64 = pt.AUDIT_ARCH_X86_64
_X32_BIT = pt.X32_SYSCALL_BIT
_X86_64 = Abi.X86_64
_PTRACE_SYSCALL = pt.PTRACE_SYSCALL
_GET_SYSCALL_INFO = pt.PTRACE_GET_SYSCALL_INFO
_INFO_SIZE = pt.SYSCALL_INFO_SIZE
_info_into = pt.syscall_info_into
_syscall_info = pt.syscall_info_unchecked
_resume_unchecked = pt.resume_unchecked
_info_op = pt.syscall_info_op
_info_buffer = pt.syscall_info_buffer
_unpack_exit_info = pt.unpack_exit_info
_unpack_entry_info = pt.unpack_entry_info
_PTRACE_CONT = pt.PTRACE_CONT
#: every ABI's execve and execveat numbers: a quick "not an exec" on the entry path
_PRCTL_NRS = frozenset(_PRCTL_NUMBERS.values())  # likewise "not a prctl" at exits
_EXEC_NRS = frozenset(number for numbers in _EXECVE_NUMBERS.values() for number in numbers)
#: struct user_regs_struct offsets of the argument registers, in argument order:
#: rdi, rsi, rdx, r10, r8, r9; for i386 ebx, ecx, edx, esi, edi, ebp.
_X86_64_ARGUMENTS = (14 * 8, 13 * 8, 12 * 8, 7 * 8, 9 * 8, 8 * 8)
_I386_ARGUMENTS = (5 * 8, 11 * 8, 12 * 8, 13 * 8, 14 * 8, 4 * 8)
#: Stops between two calls of run's ``flush``.
FLUSH_EVERY = 64
#: Waits followed by a drain (see _loop) after the last drain that found another
#: thread's stop pending.
DRAIN_KEEP = 64


def _nothing_held() -> None:
    """The loop's flush when ``run`` has none."""


class DispatchMixin(ControlState):
    # ------------------------------------------------------------------- run

    def run(self, consumer: Consumer, flush: Callable[[], None] | None = None) -> RunResult:
        """Trace until every tracee is gone or let go; one event per stop.

        ``flush``, when given, is called every ``FLUSH_EVERY`` stops, when a
        blocking wait has lasted one to two ``HOLD_LIMIT_S`` while stops were
        left unflushed (the waker breaks it), and once more when
        the loop ends, however it ends: a consumer that holds its output back
        to hand it over in bulk (the ptrace source's records) never holds it
        much longer than that. Off the main thread (no waker), before every
        wait that may block.
        """
        self._claim_thread()
        self._consumer = consumer
        self._prepare = getattr(consumer, "prepare", None)
        self._flush = flush
        saved = self._start_waker()
        try:
            try:
                self._loop()
            except BaseException:
                self._emergency_release()
                raise
            finally:
                if flush is not None:
                    flush()
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
            command_signal=self._command_signal,
        )

    def _emergency_release(self) -> None:
        """An exception escaped the loop: let everything go without the consumer."""
        self._consumer = _ignore
        self._prepare = None
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
        chooser = self.spin_chooser
        spinning = chooser.spinning  # this window's budget (SpinChooser)
        window = chooser.WINDOW
        left = window
        window_start = clock()
        wait4 = pt.wait4
        wait_any = pt.WAIT4_ANY
        wait_status = pt.wait_status
        wait_failed = pt.wait_failed
        gate = self._gate
        flush = self._flush or _nothing_held
        to_flush = FLUSH_EVERY
        # The waker's signals can break a blocking wait on this thread (see
        # _waker); on another thread, _block polls.
        signalled = bool(self._main_thread_id) and self._main_thread_id == threading.get_ident()
        # Fairness: the statuses a drain collected, served in order before the
        # next wait (see _drained in _state). ``drain`` counts the waits still
        # followed by a drain, None when none is (all a single tracee ever sees:
        # two ``is None`` tests a stop, the cheapest there are); never None while
        # ``drained`` holds statuses.
        drained = self._drained
        serve_drained = drained.popleft
        drain: int | None = DRAIN_KEEP if drained else None
        while tracees or stash or self._creation_unread or drained:
            if self._stop_request is not None and self._releasing is None:
                self._begin_release()
                continue
            try:
                # Every stop counts in the spin chooser's window, drained or waited.
                left -= 1
                if not left:
                    now = clock()
                    spinning = chooser.window_done(now - window_start)
                    window_start = now
                    left = window
                    if drain is None and len(tracees) > 1:
                        drain = 1  # one look: is another thread's stop pending?
                if drain is not None and drained:
                    tid, status = serve_drained()
                else:
                    # Without a spin budget (pinned: the tracee cannot have run
                    # yet on our CPU; or the chooser found blocking faster) go
                    # straight to the blocking wait.
                    if spinning or stash:
                        tid, status = waitpid(-1, _WNOHANG_WALL)
                        if tid == 0 and spinning:
                            deadline = clock() + spinning
                            # A stop request (a signal handler, another thread)
                            # ends the spin at once, whatever --spin-us is.
                            while (tid == 0 and clock() < deadline
                                   and self._stop_request is None):
                                tid, status = waitpid(-1, _WNOHANG_WALL)
                    else:
                        tid = 0
                    if tid == 0:
                        if stash:
                            self._adopt_orphans()
                            continue
                        if signalled:
                            # The blocking wait (written inline: one frame less
                            # per stop). The flag is raised before the request is
                            # checked: the waker keeps signalling while it is set
                            # and the wait has not returned. Most waits are short:
                            # the consumer keeps what it holds, and the waker
                            # breaks a wait that lasts (see _waker) so that it is
                            # flushed below.
                            #
                            # pt.wait_blocking, inline (see pt.wait4): a signal
                            # handler that closes the gate runs before its test,
                            # or breaks the wait (EINTR).
                            self._holding = to_flush != FLUSH_EVERY
                            self._in_blocking_wait = True
                            try:
                                if gate.closed or (self._stop_request is not None
                                                   and self._releasing is None):
                                    tid = 0
                                else:
                                    tid = wait4(*wait_any)
                                    if tid == -1:
                                        wait_failed()  # raises unless EINTR
                                        tid = 0
                            finally:
                                self._in_blocking_wait = False
                                self._wait_returns += 1
                            if not tid:
                                flush()
                                to_flush = FLUSH_EVERY
                                continue  # a signal or a stop request: the loop's top sees it
                            status = wait_status[0]
                        else:
                            flush()  # _block polls with sleeps: nothing held meanwhile
                            to_flush = FLUSH_EVERY
                            waited = self._block()
                            if waited is None:
                                continue
                            tid, status = waited
                    if drain is not None:
                        # The kernel reports the first pending stop in its list of
                        # our tracees: one whose stop is always pending when we
                        # wait would be served every time, the others starved
                        # (strace's "-f: avoid starvation"). Take every pending
                        # status now (at most one a stopped thread, hence the
                        # bound) and serve them in order before the next wait.
                        more = len(tracees) - 1
                        try:
                            while more > 0:
                                other, other_status = waitpid(-1, _WNOHANG_WALL)
                                if not other:
                                    break
                                drained.append((other, other_status))
                                more -= 1
                        except ChildProcessError:
                            pass  # that status was the last child's; the wait says so next
                        # Keep draining while drains find others' stops; stop after
                        # DRAIN_KEEP that found none (one look each window then).
                        drain = DRAIN_KEEP if drained else (drain - 1 or None)
            except ChildProcessError:
                self._children_vanished()
                break
            # Counted per status handled: a wait broken to flush leaves
            # nothing held, and the next one does not look held again.
            to_flush -= 1
            if not to_flush:
                flush()
                to_flush = FLUSH_EVERY
            if status == _SYSCALL_STOP_STATUS:
                # the common case, without the general dispatch
                tracee = tracees.get(tid)
                if tracee is not None and tracee.started:
                    # _held names it only for an exception's way out (a try
                    # costs nothing until it catches; two stores did a stop)
                    try:
                        syscall_stop(tracee)
                    except BaseException:
                        self._held = tracee
                        raise
                    continue
            handle(tid, status)

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

    def _first_stop(self, tracee: Tracee, status: int) -> None:
        tracee.started = True
        if tracee.attaching:
            tracee.attaching = False
            if os.WIFSTOPPED(status):
                self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.ATTACH,
                                        thread=tracee.tid != tracee.pid))
                self._observe_started(tracee)

    def _syscall_stop(self, tracee: Tracee) -> None:
        # The hot path: one GET_SYSCALL_INFO, one event, one resume. When the
        # consumer's prepare gives a finisher, the event is handed to it after
        # the resume (resume first, record after): the records are made while
        # the tracee runs on, in the same order, since this loop is their only maker.
        # Written for the interpreter: locals over attributes, only the
        # fields of the syscall info that this kind of stop uses unpacked.
        tid = tracee.tid
        # pt.syscall_stop_info without its frame (see pt.syscall_info_unchecked)
        if _syscall_info(_GET_SYSCALL_INFO, tid, _INFO_SIZE, _info_into) == -1:
            if not tracee.in_syscall:
                # A SIGKILL took the thread out of its entry stop once waitpid had
                # reported it (ESRCH): its call is read at its exit stop (_exit_stop).
                tracee.unread_entry = True
            self._request_failed(tracee, pt.syscall_info_error(tid))
            return
        # (the op read once, from the buffer: each branch unpacks its own layout)
        op = _info_op[0]
        event: SyscallEntry | SyscallExit | None = None
        # an execve's or execveat's entry (timed below: see held_ns)
        execve = False
        if op == _INFO_EXIT:
            info = _unpack_exit_info(_info_buffer)
            entry = tracee.entry
            if (tracee.dropping and info[3] and -info[2] in RESTART_ERRNOS
                    and entry is not None):
                # Our PTRACE_INTERRUPT cut the call to detach the thread: it has
                # not returned, the kernel restarts it once we are gone. Its
                # RET is the DETACH's UNFINISHED one (strace: "<detached ...>").
                self._let_go(tracee, 0)
                return
            tracee.entry = None
            tracee.in_syscall = False
            if tracee.reported and not tracee.pre_exec:
                if entry is not None:
                    nr = entry.nr
                    abi = entry.abi
                    if (nr in _PRCTL_NRS and nr == _PRCTL_NUMBERS.get(abi)
                            and entry.args[0] == _PR_SET_NAME):
                        tracee.comm = _procfs.read_comm(tid)
                else:
                    nr, abi = self._current_syscall(tracee, pt.abi_of_arch(info[1], 0))
                rval = info[2]
                # tuple.__new__ directly: the NamedTuple's own __new__ is a
                # Python frame more on the hottest line of the loop
                now = _monotonic_ns()
                if tracee.held_ns:
                    # An execve: the time the loop held the thread stopped in it (its
                    # argv read, the exec stop's work) is ktr's, not the kernel's. Only
                    # an execve whose entry was seen: on the seccomp path an unselected
                    # execve has no stops but its exec stop's (never a negative time).
                    if entry is not None and nr in _EXEC_NRS:
                        now = max(now - tracee.held_ns, entry.monotonic_ns)
                    tracee.held_ns = 0
                event = _new_tuple(SyscallExit, (
                    tracee, now + self._offset_ns, now, abi, nr, rval,
                    -rval if info[3] else 0, entry,
                ))
                if tracee.exec_attempt:
                    tracee.exec_attempt = False
                    tracee.pre_exec = bool(info[3])  # failed: the helper's again (see Tracee)
        elif op in (_INFO_ENTRY, _INFO_SECCOMP):
            info = _unpack_entry_info(_info_buffer)
            arch = info[1]
            nr = info[3]
            if arch == _ARCH_X86_64 and (nr < 0 or not nr & _X32_BIT):
                abi = _X86_64
            else:
                abi = pt.abi_of_arch(arch, nr)
                if abi is Abi.X32:
                    nr &= ~_X32_BIT
            now = _monotonic_ns()
            entry = _new_tuple(SyscallEntry, (tracee, now + self._offset_ns, now,
                                              abi, nr, info[4:], info[2]))
            tracee.in_syscall = True
            if not tracee.pre_exec:
                tracee.entry = entry
                if tracee.reported:
                    event = entry
                    execve = nr in _EXEC_NRS and nr in _EXECVE_NUMBERS.get(abi, ())
            elif nr in _EXECVE_NUMBERS.get(abi, ()):
                tracee.pre_exec = False
                tracee.exec_attempt = True
                tracee.entry = entry
                if tracee.reported:
                    event = entry
                    execve = True
            else:
                # the exec helper's own call: never the command's, not even one
                # that exit ends ("unfinished" exit_group after a failed execve)
                tracee.entry = None
        else:
            # Not at a syscall stop any more: a SIGKILL took the thread out of the
            # stop waitpid reported, and it has reached its exit stop, whose status
            # is still to be waited for. Resuming now would lose that stop; the
            # call, an entry when none is open, is read there (_exit_stop).
            if not tracee.in_syscall:
                tracee.unread_entry = True
            return
        finish = None
        if event is not None:
            prepare = self._prepare
            if prepare is not None and not tracee.dropping:
                finish = prepare(event)
            if finish is None:
                self._consumer(event)
        if tracee.dropping:
            self._let_go(tracee, 0)
            return
        if execve:
            # (read before the resume: never a moment of the kernel's own time)
            tracee.held_ns = _monotonic_ns() - now  # (the entry's time: see the exit)
        # pt.resume without its frame (pt.resume_unchecked)
        how = _PTRACE_SYSCALL if (self._step_all or tracee.in_syscall) else _PTRACE_CONT
        if _resume_unchecked(how, tid, 0, 0) == -1:
            failure = pt.resume_error(how, tid)
            if finish is not None:  # (a finisher is only ever given for an event)
                finish(event)  # type: ignore[arg-type]  # (before the failure's report)
            self._request_failed(tracee, failure)
            return
        if finish is not None:
            finish(event)  # type: ignore[arg-type]

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
            if info.signo != signo:
                # Not at this stop any more: a SIGKILL took it on to its exit stop
                # (its siginfo is that stop's), whose status is still to come.
                return
            self._consumer(SignalDelivery(
                tracee, self._clock.now_ns(), signo, info.code, info.raw, blocked,
                _procfs.signal_action(tid, signo),
            ))
        self._resume(tracee, signo)

    def _event_stop(self, tracee: Tracee, event: int, signo: int) -> None:
        if event == pt.PTRACE_EVENT_STOP:
            if signo in _STOP_SIGNALS:
                # group-stop (job control): stay stopped, but keep reporting
                entering = not tracee.group_stopped
                tracee.group_stopped = True
                if tracee.dropping:
                    self._let_go(tracee, 0)  # the kernel keeps it stopped
                    return
                if entering:
                    self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.STOP,
                                            signal=signo))
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
            self._new_child(tracee, _FORK_EVENTS[event], event)
        elif event == pt.PTRACE_EVENT_EXEC:
            self._exec(tracee)
        elif event == pt.PTRACE_EVENT_EXIT:
            self._exit_stop(tracee)
        else:
            self._resume(tracee, 0)

    # ------------------------------------------------------------- lifecycle

    def _event_message(self, tracee: Tracee, event: int) -> int | None:
        """The message of the ``event`` stop ``tracee`` is at (new tid, former tid).

        None when it cannot be read: the tracee is dying (ESRCH), or a SIGKILL took
        it out of that stop once waitpid had reported it and it is at its exit stop
        now, whose message (its exit status) would pass for this one's; that stop's
        status is still to be waited for, so the tracee must not be resumed. The
        stop is checked after the message is read: a tracee still at the event
        stop then was at it when the message was read (stops only go forward)."""
        tid = tracee.tid
        try:
            message = pt.geteventmsg(tid)
            code = pt.getsiginfo(tid).code
        except PtraceError as error:
            self._request_failed(tracee, error)
            return None
        return message if code >> 8 == event else None

    def _new_child(self, parent: Tracee, kind: Lifecycle, event: int) -> None:
        child = self._event_message(parent, event)
        resume = child is not None
        if child is None:
            # A SIGKILL took the parent out of its event stop: the child is found
            # in /proc instead (the parent, held at its exit stop or dying, has not
            # passed it on to a reaper). The parent is not resumed: its exit stop's
            # status is still to be waited for.
            child = self._unannounced_child(parent, kind)
            if child is None:
                # (a new child is adopted from its own stops, without its creator's
                # event: strace -f shows its creator's call "= ?" too)
                self._creation_unread = True
                return
        self._no_creator.discard(child)
        known = self._tracees.get(child)
        if known is not None:
            # already adopted from its own first stop
            is_thread = known.pid == parent.pid
        else:
            is_thread = kind is Lifecycle.CLONE and os.path.exists(
                f"/proc/{parent.pid}/task/{child}")
            self._register_child(child, parent.pid if is_thread else 0, parent)
        self._emit(ProcessEvent(parent, self._clock.now_ns(), kind, child=child, thread=is_thread))
        if resume:
            self._resume(parent, 0)
        statuses = self._stash.pop(child, None)
        if statuses:
            for status in statuses:
                self._handle(child, status)

    def _unannounced_child(self, parent: Tracee, kind: Lifecycle) -> int | None:
        """The tid ``parent``'s fork or clone event stop was for, when its message
        cannot be read: the one new tracee of ours (auto-attached, not yet known or
        known only from its own stops) among the processes its thread created (or,
        for a clone, the threads of its process). None when there is not exactly one
        (gone already, or another creation as unannounced): then it is adopted from
        its own stops, with no creator."""
        if self._tracees.get(parent.tid) is not parent:
            return None  # (no longer traced by us, and said so: its creations are not ours)
        created = _procfs.thread_children(parent.pid, parent.tid)
        if kind is Lifecycle.CLONE:
            created += [tid for tid in _procfs.list_threads(parent.pid) or ()
                        if tid != parent.tid]
        us = os.getpid()
        found = [tid for tid in created
                 if (tid not in self._tracees or tid in self._no_creator)
                 and _procfs.tracer_pid(tid) == us]
        return found[0] if len(found) == 1 else None

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
            # Counted only when traced for real: a child kept under ptrace only because the
            # seccomp filter cannot outlive us is not in the trace (nor its threads).
            memory = TraceeMemory(child, abi, self.memory_shortages)
            if parent is not None:
                memory.inherit(parent.memory)  # (a copy of its address space)
            process = _Process(child, memory, created=created,
                               filtered=filtered, reported=reported,
                               counted=reported and not drop)
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
        if parent is not None:
            tracee.call_abi = parent.call_abi  # strace's new thread: its creator's mode
        if drop:
            self._tracees[child] = tracee
            process.threads.add(child)
        else:
            self._add_thread(tracee, process)
            self._observe_started(tracee)
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
                self._no_creator.add(tid)  # (until its creator's event, if one comes)
            else:
                parent_process = self._processes.get(ppid)
                parent = None
                if parent_process is not None:
                    parent = next((self._tracees[t] for t in parent_process.threads
                                   if t in self._tracees), None)
                if not fields and all(not os.WIFSTOPPED(s) for s in statuses):
                    continue  # already dead and reaped: nothing to adopt
                self._register_child(tid, 0, parent)
                self._no_creator.add(tid)
            for status in statuses:
                self._handle(tid, status)

    def _exec(self, tracee: Tracee) -> None:
        # The exec is done when this stop is seen: what follows is ktr's work, held
        # out of the execve's duration (``held_ns``), and the EXEC record is stamped
        # on the clock the call's RET will use (the entry's hold taken out too).
        stopped = _monotonic_ns()
        tid = tracee.tid
        former = self._event_message(tracee, pt.PTRACE_EVENT_EXEC)
        if former is None:
            return
        process = self._processes[tracee.pid]
        if former != tid:
            # a non-leader thread exec'd: it now has the leader's tid, and the
            # old leader is gone without a death report of its own
            execing = self._tracees.pop(former, None)
            process.threads.discard(former)
            if execing is not None:
                if not tracee.exited:
                    # What strace shows: the leader's call in flight never
                    # returns ("<unfinished ...>", the builder ends it) and
                    # the leader is "superseded by execve in pid FORMER".
                    tracee.exited = True
                    self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.EXIT,
                                            child=former, thread=True))
                execing.tid = tid
                self._tracees[tid] = execing
                self._held = tracee = execing
        entry = tracee.entry
        if entry is None or entry.nr not in _EXEC_NRS:
            tracee.held_ns = 0  # no execve entry seen (seccomp path): nothing to take out
        exec_ns = stopped + self._clock.offset_ns - tracee.held_ns
        path = _procfs.executable_path(tid)
        abi = _procfs.abi_of_executable(f"/proc/{tid}/exe")
        if abi is Abi.UNKNOWN:
            abi = tracee.abi
        tracee.abi = abi
        tracee.memory.reopen(abi=abi)
        tracee.comm = _procfs.read_comm(tid)
        tracee.emul_pending = True
        tracee.pre_exec = False
        self._emit(ProcessEvent(tracee, exec_ns, Lifecycle.EXEC, path=path,
                                former_tid=former if former != tid else 0))
        self._observe_exec(tracee, former if former != tid else 0)
        if self._privileges_withheld(tid) and not process.filtered and not tracee.dropping:
            self._lose(tracee, f"exec of set-id program {os.fsdecode(path)}: the kernel "
                               "runs it without its privileges while traced; released")
            self._let_go(tracee, 0)
            return
        tracee.held_ns += _monotonic_ns() - stopped
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
        # The name it ends with: a rename the loop did not see (no syscall stops, or
        # written to /proc/PID/task/TID/comm by another thread) names its exit records.
        tracee.comm = _procfs.read_comm(tracee.tid) or tracee.comm
        if tracee.unread_entry:
            self._unread_entry(tracee)
        if not tracee.exited and tracee.tid != tracee.pid:
            tracee.exited = True
            code, signo, core = _decode_wait_status(status)
            self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.EXIT, thread=True,
                                    status=code, signal=signo, core_dumped=core))
        elif tracee.tid == tracee.pid:
            # The leader's call in flight ends here, as strace shows it ("exit_group(0)
            # = ?" at once), not when the process's last thread is reaped.
            self._emit(ProcessEvent(tracee, self._clock.now_ns(), Lifecycle.EXITING))
            tracee.entry = None
            tracee.in_syscall = False
        self._observe_exiting(tracee)
        self._resume(tracee, 0)

    def _unread_entry(self, tracee: Tracee) -> None:
        """The call whose entry stop a SIGKILL cut before its syscall info was read,
        read at the exit stop: the registers still hold its number (orig_rax) and
        arguments (the kernel skipped the call). Stamped with this stop's time, not
        the entry's (records stay in time order; the entry stop's time is unknown
        anyway: the failed request came after it); its thread's exit ends it.
        Nothing when they cannot be read."""
        tracee.unread_entry = False
        if tracee.in_syscall or tracee.pre_exec or not tracee.reported or tracee.dropping:
            return
        tid = tracee.tid
        try:
            info = pt.get_syscall_info(tid)  # (op NONE here: the arch, stack pointer)
            nr, abi = self._current_syscall(tracee, pt.abi_of_arch(info.arch, 0))
            registers = _I386_ARGUMENTS if abi is Abi.I386 else _X86_64_ARGUMENTS
            args = tuple(pt.peekuser(tid, offset) for offset in registers)
        except PtraceError:
            return
        if nr == -1:
            return
        if abi is Abi.I386:
            args = tuple(arg & 0xFFFF_FFFF for arg in args)
        now = _monotonic_ns()
        entry = SyscallEntry(tracee, now + self._clock.offset_ns, now, abi, nr,
                             args, info.stack_pointer)  # type: ignore[arg-type]
        tracee.entry = entry
        tracee.in_syscall = True
        self._consumer(entry)

    def _reaped(self, tracee: Tracee, status: int) -> None:
        tid = tracee.tid
        del self._tracees[tid]
        self._no_creator.discard(tid)  # (gone: a tid reused later is another's)
        self._observe_gone(tracee)
        self._saved_affinity.pop(tid, None)
        code, signo, core = _decode_wait_status(status)
        now = self._clock.now_ns()
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
        if not process.threads and process.let_go:
            # its other threads were detached, alive: the process was let go, and
            # runs on; this thread's exit (its EXIT above) does not end it
            self._process_let_go(process)
        elif not process.threads:
            code, signo, core = _decode_wait_status(process.last_status)
            if tid != process.pid:
                # a leader ktr never traced (it had ended, a zombie, when ktr attached):
                # the process's EXIT is still the leader's, not this thread's second one
                tracee = Tracee(process.pid, process.pid, tracee.comm, tracee.abi,
                                tracee.memory, emul_pending=False)
            self._emit(ProcessEvent(tracee, now, Lifecycle.EXIT, thread=False,
                                    status=code, signal=signo, core_dumped=core))
            self._forget_process(process)
            if self._spawned is not None and process.pid == self._spawned.pid:
                self._exit_status = 128 + signo if signo else code
                self._command_signal = signo

    def _forget_process(self, process: _Process) -> None:
        process.memory.close()
        self._processes.pop(process.pid, None)

    def _children_vanished(self) -> None:
        """waitpid says we have no children left: whatever we still list is lost."""
        for tracee in list(self._tracees.values()):
            self._lose(tracee, "vanished without an exit status")
            self._drop_tracee(tracee)
        self._stash.clear()

