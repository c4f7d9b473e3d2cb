"""Spawn and attach: how tracees come under control (dt_proc's create and grab)."""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import signal
from collections.abc import Iterable, Mapping, Sequence

from formats import Abi

from .. import _procfs
from .. import _ptrace as pt
from .._events import (
    Tracee,
)
from .._memory import TraceeMemory
from .._seccomp import PreparedFilter
from .._spawn import fork_command, resolve_command
from ..errors import PtraceError, TargetError, errno_text
from ._state import (
    WALL,
    ControlState,
    Release,
    _ignore,
    _Process,
)


class SetupMixin(ControlState):
    def spawn(
        self, argv: Sequence[str | bytes], environment: Mapping[str, str] | None = None,
        *, stdout_from_stderr: bool = False,
    ) -> int:
        """Start ``argv`` under control (before its first instruction); its pid.

        A command that cannot be executed is still forked: its execve fails under
        control (``RunResult.spawn_error``, exit status 127 or 126).
        Must be called before the recorder starts any other thread.
        ``stdout_from_stderr``: the command's fd 1 is a copy of its fd 2.
        """
        if self._spawned is not None:
            raise RuntimeError("ktr: one spawned command per recording")
        self._claim_thread()
        command = resolve_command(argv, environment)
        if self.options.seccomp is not None and self._filter is None:
            self._filter = PreparedFilter(self.options.seccomp)
        child = fork_command(command, argv, environment, self._filter,
                             stdout_from_stderr=stdout_from_stderr)
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
        memory = TraceeMemory(pid, Abi.X86_64, self.memory_shortages)
        process = _Process(pid, memory, created=True, filtered=self._filter is not None,
                           reported=True)
        self._add_process(process)
        tracee = Tracee(pid, pid, _procfs.read_comm(pid), Abi.X86_64, memory,
                        created=True, started=True, pre_exec=True)
        self._add_thread(tracee, process)
        self._observe_started(tracee)
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
            try:
                tgid = _procfs.attach_target(pid) if pid > 0 else None
            except OSError as error:
                self._abandon()
                raise TargetError(f"ktr: pid {pid}: cannot read /proc/{pid}/status: "
                                  f"{errno_text(error.errno or 0)}", pid, error.errno) from None
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
        memory = TraceeMemory(pid, abi, self.memory_shortages)
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
        if pid not in process.threads:
            # the leader has ended (pthread_exit): a zombie, whose /proc/PID/mem reads
            # nothing; a live thread's is the process's address space
            memory.reopen(pid=min(process.threads))
            memory.open_now()
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
                if state is None or (state in (b"Z", b"X") and (
                        tid != process.pid or len(_procfs.list_threads(tid) or ()) > 1)):
                    # an exiting thread; or a leader that has ended (pthread_exit),
                    # a zombie until its other threads end: those are traced (the
                    # process's EXIT is then the leader's all the same, _reaped)
                    return False
                if state in (b"Z", b"X"):  # the leader, and no thread left
                    raise TargetError(f"ktr: pid {process.pid}: {_procfs.ZOMBIE_REASON}",
                                      process.pid, errno_module.ESRCH) from None
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

    def let_go(self) -> None:
        """Let every attached target go, untraced, before the run (a later setup step
        failed: the output could not be opened). Nothing is left stopped."""
        self._abandon()

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
            self._gate.closed = False

