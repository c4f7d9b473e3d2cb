"""Recording without ptrace: ``ktr record -p PID -t w`` as ``perf record -p``
does it, and ``ktr record -t w -- CMD`` as ``perf record -- CMD`` does it.

When every facility a recording asks for is served by the perf sources alone
(context switches ``-t w``, stack samples ``-t S``/``-F``), ``PerfAttach``
replaces the ptrace control loop: nothing stops the targets, so a blocked
``epoll_wait``, ``sigtimedwait`` or ``semop`` is not interrupted (no EINTR, no
``TracerPid``), as under ``perf stat -p``, and a started command pays no stop
at its forks, clones, exec and exits.

Attaching (``attach``: ``-p``, ``-g``, ``-d``): for every thread of every
target (``/proc/PID/task``) the perf sources open their events with
``inherit`` (``inherit_thread`` too unless ``-i``), so the threads (and with
``-i`` the child processes) those threads create later carry the events from
their creation on, in the kernel. A thread created while ktr attaches, before
its creator's events were opened, is not covered by inheritance: the thread
list is read again after a synchronous drain of the rings, and a thread that
appeared without a FORK record in them gets events of its own — but only once
it has run (the kernel writes the FORK record of an inheriting thread before
its first run) and no ring lost records meanwhile, so no thread ever has two
sets of events (each switch and sample recorded twice); one that cannot be
told is counted lost and named. With ``-d`` the descendants are listed before
any event is opened, so none of them can have inherited events either.

Starting a command (``spawn``, then ``release``): the command is forked and
held before its exec, blocked reading a pipe (``_spawn``); its events are
opened on it, disabled until its exec enables them (``enable_on_exec``), and
inherited as above; then the child is let go to exec. So nothing of ktr's own
setup (the fork, the child's Python code before the exec) is counted or
sampled, and the command runs without a single ptrace stop. It is ktr's child:
its exit status is reaped (``RunResult.exit_status``: the code, or 128+N when
signal N killed it), and an exec that fails is ``RunResult.spawn_error`` (the
child exits 127) as on the ptrace path.

Either way the FORK records (``on_births`` of the perf sources) count the
threads and, with ``-i``, the processes that join the recording; each process
is watched through a pidfd, and the recording ends when every one has exited
(or on a stop request: Ctrl-C, SIGTERM, SIGHUP, the output failing). Attached
targets are never touched: nothing to detach or kill at the end. A started
command and the children followed with ``-i`` are killed (SIGKILL, through
their pidfds) on a stop request, as the ptrace path kills the tree it started;
when the output fails (``Release.DETACH``) they are left running instead
(the recorder then waits for a started command: ``_recorder``).

Guarantees: a thread whose events could not be opened (it ended while ktr
attached, or the kernel refused) is counted in ``RunResult.lost`` and named on
one summary line, never dropped silently; an explicit ``-p`` target that is
gone or refused is an error (one line) before anything is recorded, and so is
a started command whose events are refused (it is killed before its exec);
group members and descendants that are refused are skipped and listed, as the
ptrace path does.

Does not: cover, on every CPU, a thread created during the microseconds its
creator's own per-CPU events are being opened (it inherits those already open;
``perf record -p`` has the same window); follow a child process that a
descendant not yet watched forks during the attach (with ``-d -i``).
Does not (what only ptrace gives): exit statuses of attached targets and of
the command's children (not ktr's children: only a parent can wait for a
process, and PERF_RECORD_EXIT has no status); those that exited are listed
instead (``RunResult.exits_unknown``: the END record's EXIT_STATUS_UNKNOWN flag
and a summary line), PROC records (fork,
exec, exit; ``-t p`` keeps the ptrace path), syscalls, signals. Unlike under
ptrace (PTRACE_O_EXITKILL), a started command outlives a recorder killed by
SIGKILL, as under ``perf record``. A child process of a target is found from
its FORK record up to a drain interval late; if it has exited and its pid was
reused by then, the recording waits for that unrelated process instead (it is
never killed: a child is killed only if its start time is its FORK record's).
"""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from . import _procfs
from ._control import Release, RunResult
from ._spawn import SpawnedChild, fork_command, resolve_command
from .errors import PerfError, TargetError, errno_text

#: (perf time, pid, ppid, tid) of a FORK record.
Birth = tuple[int, int, int, int]


def _unreadable(pid: int, what: str, error: OSError) -> TargetError:
    """A process that is there but cannot be looked at for want of descriptors (or any
    reason but its absence): said as such, one line."""
    return TargetError(f"ktr: pid {pid}: {what}: {errno_text(error.errno or 0)}", pid,
                       error.errno)


@runtime_checkable
class RunningWatcher(Protocol):
    """A perf side source that can watch running threads by inheritance
    (``PerfSource`` for switches, ``Sampler`` for stack samples)."""

    on_births: Callable[[list[Birth]], None] | None
    lost: int  # records its rings lost (a FORK record among them is unknown)

    def watch_running(self, tid: int, pid: int, comm: bytes, at_exec: bool = False
                      ) -> bool: ...

    def sync(self) -> None: ...


class PerfAttach:
    """See the module docstring. ``attach`` (targets) or ``spawn`` (a command,
    before any other thread exists) and ``release``, then ``run`` (main thread)
    until every target has exited or ``request_stop``; ``close`` always."""

    def __init__(self, watchers: Sequence[RunningWatcher], follow_children: bool,
                 descendants: bool) -> None:
        self._watchers = list(watchers)
        self._follow_children = follow_children
        self._descendants = descendants
        self._lock = threading.Lock()
        self._pidfds: dict[int, int] = {}  # pid -> pidfd, for every process not yet exited
        self._adopted: list[int] = []  # children found by the reader, not yet polled
        self._processes: set[int] = set()  # every process watched (alive or not)
        self._tids: set[int] = set()  # every thread watched or born watched
        self._tried: set[int] = set()  # every thread ktr opened events for, or tried to
        self._skipped: list[str] = []
        self._raced: dict[int, int] = {}  # pid -> threads that ended before being watched
        self._refused: dict[int, tuple[int, str]] = {}  # pid -> (threads, the last error)
        #: pid -> threads created during the attach, not watched: whether they had
        #: inherited events could not be told (not run yet, or a ring lost records)
        self._uncertain: dict[int, int] = {}
        self._stop_reason: str | None = None
        self._release = Release.DEFAULT
        self._spawned: SpawnedChild | None = None
        self._exit_status: int | None = None
        self._command_signal = 0
        self._killable: set[int] = set()  # the command and its children known as such
        self._kills_sent: set[int] = set()
        self._exited: list[int] = []  # processes seen exiting, not ktr's children
        self._killing = False
        self._killed = 0
        self._spawn_error: str | None = None
        self._wake_read, self._wake_write = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        for watcher in self._watchers:
            watcher.on_births = self._births

    # ------------------------------------------------------------ setup

    def attach(self, pids: Iterable[int], group: int | None) -> None:
        """Watch every thread of each process in ``pids`` and of process group
        ``group`` (and their existing descendants with -d). TargetError (one
        line) for an explicit pid that is gone or refused, or a group with no
        member watched."""
        targets: list[int] = []
        for pid in pids:
            try:
                tgid = _procfs.attach_target(pid) if pid > 0 else None
            except OSError as error:
                raise TargetError(f"ktr: pid {pid}: cannot read /proc/{pid}/status: "
                                  f"{errno_text(error.errno or 0)}", pid, error.errno) from None
            if tgid is None:
                raise TargetError(f"ktr: pid {pid}: no such process", pid, errno_module.ESRCH)
            if tgid == os.getpid():
                raise TargetError(f"ktr: pid {pid}: cannot trace the recorder itself", pid,
                                  errno_module.EPERM)
            if tgid not in targets:
                targets.append(tgid)
        # Descendants (-d) as they are before any event is opened: none of them can
        # have inherited events then (with -i a child forked after its parent was
        # watched does, and opening it again would double its records).
        existing = (_procfs.descendants(targets + (_procfs.group_members(group)
                                                   if group is not None and group > 0
                                                   else []))
                    if self._descendants else [])
        for tgid in targets:
            try:
                watched = self._watch_process(tgid)
            except PerfError as error:
                raise TargetError(f"ktr: pid {tgid}: {error}", tgid, error.errno) from None
            if not watched:
                gone = (_procfs.ZOMBIE_REASON if _procfs.thread_state(tgid) in (b"Z", b"X")
                        else "no such process")
                raise TargetError(f"ktr: pid {tgid}: {gone}", tgid, errno_module.ESRCH)
        members: list[int] = []
        if group is not None:
            members = _procfs.group_members(group) if group > 0 else []
            if not members:
                raise TargetError(f"ktr: process group {group}: no such process group",
                                  group, errno_module.ESRCH)
            before = len(self._skipped)
            if not self._watch_lenient(members):
                reasons = "; ".join(self._skipped[before:]) or "no process could be watched"
                raise TargetError(f"ktr: process group {group}: {reasons}", group,
                                  errno_module.EPERM)
        if self._descendants:
            self._watch_lenient(existing)

    def spawn(self, argv: Sequence[str], *, stdout_from_stderr: bool = False) -> int:
        """Fork ``argv`` held before its exec and open every watcher's events on
        it, enabled by its exec; its pid. ``release`` lets it exec (a command that
        cannot be executed fails there: 127 or 126). TargetError (one line) if its
        events are refused; the child is killed then. Must be called before the recorder
        starts any other thread (it forks). ``stdout_from_stderr``: the command's
        standard output is ktr's standard error (``-o -``)."""
        if self._spawned is not None or self._processes:
            raise RuntimeError("ktr: one spawned command per recording, and no targets")
        child = fork_command(resolve_command(argv), argv, None, None,
                             stdout_from_stderr=stdout_from_stderr)
        pid = child.pid
        pidfd = -1
        try:
            pidfd = os.pidfd_open(pid)
            # (the child is blocked reading the release pipe: it cannot end by itself)
            if not self._watch_thread(pid, pid, at_exec=True):
                raise TargetError("ktr: the command died before it could run", pid)
        except BaseException as error:
            if pidfd >= 0:
                os.close(pidfd)
            child.close()  # EOF on the release pipe: the child exits without exec
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            if isinstance(error, PerfError):
                raise TargetError(f"ktr: {os.fsdecode(child.path)}: {error}", pid,
                                  error.errno) from None
            raise
        self._spawned = child
        self._tried.add(pid)
        self._tids.add(pid)
        self._processes.add(pid)
        self._killable.add(pid)
        self._pidfds[pid] = pidfd
        return pid

    def release(self) -> None:
        """Let the spawned command go on to exec (once the recording is ready)."""
        if self._spawned is not None:
            self._spawned.release()

    def _watch_lenient(self, pids: Iterable[int]) -> int:
        watched = 0
        for pid in pids:
            if pid in self._processes or pid == os.getpid():
                continue
            try:
                watched += self._watch_process(pid)
            except PerfError as error:
                self._skipped.append(f"pid {pid}: {error}")
        return watched

    def _watch_process(self, pid: int) -> bool:
        """Open a pidfd and every thread's events; False if the process is gone.
        PerfError if its first thread is refused (nothing of it is left watched
        then: events of a refused process cannot be opened for any thread)."""
        try:
            pidfd = os.pidfd_open(pid)
        except ProcessLookupError:
            return False
        except OSError as error:  # (EMFILE under ulimit -n: not "no such process")
            raise _unreadable(pid, "pidfd_open", error) from None
        try:
            threads = sorted(int(name) for name in os.listdir(f"/proc/{pid}/task"))
        except (FileNotFoundError, ProcessLookupError, NotADirectoryError):
            threads = []
        except OSError as error:
            os.close(pidfd)
            raise _unreadable(pid, f"cannot read /proc/{pid}/task", error) from None
        if not threads:
            os.close(pidfd)
            return False
        watched = 0
        try:
            for tid in threads:
                self._tried.add(tid)
                if tid == pid and len(threads) > 1 and _procfs.thread_state(tid) in (b"Z", b"X"):
                    continue  # a leader that ended (pthread_exit) before: no thread to watch
                try:
                    if self._watch_thread(tid, pid):
                        watched += 1
                        self._tids.add(tid)
                    else:
                        self._raced[pid] = self._raced.get(pid, 0) + 1
                except PerfError as error:
                    if not watched:
                        raise
                    self._refuse(pid, error)
        except BaseException:
            os.close(pidfd)
            raise
        if not watched:
            os.close(pidfd)
            return False
        self._pidfds[pid] = pidfd
        self._processes.add(pid)
        return True

    def _watch_thread(self, tid: int, pid: int, at_exec: bool = False) -> bool:
        """Every watcher's events on ``tid`` (enabled by its next exec with
        ``at_exec``): False if it has ended."""
        comm = _procfs.read_comm(tid)
        watched = False
        for watcher in self._watchers:
            watched = watcher.watch_running(tid, pid, comm, at_exec) or watched
        return watched

    def _sync(self) -> None:
        for watcher in self._watchers:
            watcher.sync()

    def _cover_late_threads(self) -> None:
        """Give events to threads created while ktr attached before their creator
        was watched (no FORK record of them reached the rings), and to no other.

        A thread that inherited its creator's events got them in its creation
        (``copy_process``), before the kernel wrote its creator's FORK record, and
        both happen before it first runs: so once a candidate (a thread listed, not
        known) has run, a drain shows its FORK record if it inherited, and a
        thread without one has no events (opening it then cannot double them).
        The threads that one gets may themselves have created threads before
        that: passes are repeated while a pass opened any."""
        for _ in range(_LATE_PASSES):
            lost_before = self._lost()
            self._sync()
            with self._lock:
                processes = sorted(self._processes)
            candidates = [(pid, tid) for pid in processes
                          for tid in _procfs.list_threads(pid) or ()
                          if not self._known(tid)]
            if not candidates:
                return
            not_run = _await_first_runs(candidates)
            self._sync()  # the FORK record of every candidate that inherited, told
            lost = self._lost() != lost_before  # a FORK record may be among the lost
            opened = False
            for pid, tid in candidates:
                with self._lock:
                    if tid in self._tids or tid in self._tried:
                        continue  # inherited (its FORK record), or opened meanwhile
                    self._tried.add(tid)
                if lost or tid in not_run:
                    self._uncertain[pid] = self._uncertain.get(pid, 0) + 1
                    continue
                try:
                    if self._watch_thread(tid, pid):
                        opened = True
                        with self._lock:
                            self._tids.add(tid)
                        continue
                except PerfError as error:
                    self._refuse(pid, error)
                    continue
                self._raced[pid] = self._raced.get(pid, 0) + 1
            if not opened:
                return

    def _known(self, tid: int) -> bool:
        with self._lock:
            return tid in self._tids or tid in self._tried

    def _lost(self) -> int:
        return sum(watcher.lost for watcher in self._watchers)

    def _refuse(self, pid: int, error: PerfError) -> None:
        count, _ = self._refused.get(pid, (0, ""))
        self._refused[pid] = (count + 1, str(error))

    def _births(self, births: list[Birth]) -> None:
        """FORK records (reader thread): count new threads, adopt new processes (-i)."""
        adopted = False
        births = sorted(births)  # by time: a child's process before its threads, across rings
        with self._lock:
            for when, pid, ppid, tid in births:
                if tid in self._tids:
                    continue  # told again (a held record), or opened by ktr
                if pid == ppid and pid in self._processes:
                    self._tids.add(tid)
                elif (pid != ppid and self._follow_children and ppid in self._processes
                      and pid not in self._processes):
                    self._tids.add(tid)
                    self._processes.add(pid)
                    try:
                        self._pidfds[pid] = os.pidfd_open(pid)
                    except OSError:
                        self._exited.append(pid)  # already ended (and reaped)
                        continue
                    if ppid in self._killable and _started_at(pid, when):
                        # The child of a killable process, not a reused pid (the
                        # pidfd holds on to this very process from now on).
                        self._killable.add(pid)
                    self._adopted.append(pid)
                    adopted = True
        if adopted:
            with contextlib.suppress(OSError):
                os.write(self._wake_write, b"b")

    # -------------------------------------------------------------- run

    def request_stop(self, reason: str, release: Release = Release.DEFAULT) -> None:
        """End the recording (safe from a signal handler and any thread; the
        first reason wins). Attached targets are left as they are; a started
        command and its followed children are killed, unless ``release`` is
        DETACH (the output failed: they run on)."""
        if self._stop_reason is None:
            self._release = release
            self._stop_reason = reason
        with contextlib.suppress(OSError):
            os.write(self._wake_write, b"\0")

    def pids_alive(self) -> list[int]:
        """The watched processes not known to have exited (any thread)."""
        with self._lock:
            return list(self._pidfds)

    def run(self) -> RunResult:
        """Wait until every watched process has exited or a stop is requested
        (main thread, once the perf source has started: its reader tells the
        FORK records). After a stop request a started command and its followed
        children are killed and waited for (unless released with DETACH)."""
        if self._spawned is None:
            self._cover_late_threads()
        # (a spawned command had one thread, held, when its events were opened)
        poller = select.poll()
        poller.register(self._wake_read, select.POLLIN)
        by_fd: dict[int, int] = {}
        with self._lock:
            for pid, pidfd in self._pidfds.items():
                poller.register(pidfd, select.POLLIN)
                by_fd[pidfd] = pid
            self._adopted.clear()
        while True:
            if self._stop_reason is not None and not self._killing:
                if self._spawned is None or self._release is Release.DETACH:
                    break
                self._killing = True
            if self._killing:
                self._kill_alive()
            if not by_fd:
                # The last one ended: a child it forked just before may not be known
                # yet (its FORK record still in a ring).
                self._sync()
            with self._lock:
                for pid in self._adopted:
                    pidfd = self._pidfds[pid]
                    poller.register(pidfd, select.POLLIN)
                    by_fd[pidfd] = pid
                self._adopted.clear()
            if self._killing:
                self._kill_alive()  # (children adopted since the last kill)
            if not by_fd:
                break
            for fd, _ in poller.poll():
                if fd == self._wake_read:
                    with contextlib.suppress(BlockingIOError):
                        os.read(self._wake_read, 4096)
                    continue
                poller.unregister(fd)
                pid = by_fd.pop(fd)
                with self._lock:
                    del self._pidfds[pid]
                os.close(fd)
                if self._spawned is None or pid != self._spawned.pid:
                    self._exited.append(pid)  # its status is its parent's to read
        if self._stop_reason is not None:
            self._sync()  # the threads and children born up to the stop, counted
        self._reap()
        return self._result()

    def _kill_alive(self) -> None:
        """SIGKILL every killable process not yet killed (through its pidfd: never
        a process that took a reused pid)."""
        with self._lock:
            targets = [(pid, pidfd) for pid, pidfd in self._pidfds.items()
                       if pid in self._killable and pid not in self._kills_sent]
            self._kills_sent.update(pid for pid, _ in targets)
        for _, pidfd in targets:
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                self._killed += 1
            except ProcessLookupError:
                pass  # it has exited already

    def _reap(self) -> None:
        """The spawned command's exit status, once it has exited (not when it
        was left running); why its exec failed, if it did."""
        child = self._spawned
        if child is None:
            return
        with self._lock:
            running = child.pid in self._pidfds
        if not running:
            while True:
                try:
                    _, status = os.waitpid(child.pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    status = None
                    break
            if status is not None:
                signo = os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0
                self._exit_status = 128 + signo if signo else os.WEXITSTATUS(status)
                self._command_signal = signo
        self._spawn_error = child.exec_error()
        child.close()

    def _result(self) -> RunResult:
        with self._lock:
            alive = len(self._pidfds) if self._stop_reason is not None else 0
            skipped = list(self._skipped)
            for pid, count in sorted(self._raced.items()):
                skipped.append(f"pid {pid}: {_threads(count)} not watched "
                               "(ended while ktr attached)")
            for pid, (count, reason) in sorted(self._refused.items()):
                skipped.append(f"pid {pid}: {_threads(count)} not watched ({reason})")
            for pid, count in sorted(self._uncertain.items()):
                skipped.append(f"pid {pid}: {_threads(count)} not watched (created while "
                               "ktr attached; whether they already had events could not "
                               "be told: not run yet, or a full ring lost records)")
            return RunResult(
                exit_status=self._exit_status, stop_reason=self._stop_reason,
                spawn_error=self._spawn_error,
                processes=len(self._processes), threads=len(self._tids), detached=alive,
                exits_unknown=tuple(sorted(self._exited)),
                killed=self._killed, lost=(sum(self._raced.values())
                                + sum(count for count, _ in self._refused.values())
                                + sum(self._uncertain.values())),
                skipped=tuple(skipped), command_signal=self._command_signal)

    def close(self) -> None:
        if self._spawned is not None:
            self._spawned.close()  # (never released: the child exits without exec)
        with self._lock:
            for pidfd in self._pidfds.values():
                os.close(pidfd)
            self._pidfds.clear()
        for fd in (self._wake_read, self._wake_write):
            if fd >= 0:
                os.close(fd)
        self._wake_read = self._wake_write = -1


#: Passes looking for threads created during the attach (each pass after the first
#: finds only threads created by threads the pass before had to open).
_LATE_PASSES = 8
#: Longest wait for a thread created during the attach to run for the first time.
_FIRST_RUN_WAIT_S = 2.0


def _await_first_runs(threads: list[tuple[int, int]]) -> set[int]:
    """Wait until each (pid, tid) has run at least once or is gone (a new thread
    runs as soon as a CPU is free); the tids still not run after
    ``_FIRST_RUN_WAIT_S`` (their FORK record, if any, may not be written yet)."""
    waiting = list(threads)
    deadline = time.monotonic() + _FIRST_RUN_WAIT_S
    delay = 0.0002
    while True:
        waiting = [(pid, tid) for pid, tid in waiting if _procfs.has_run(pid, tid) is False]
        if not waiting or time.monotonic() > deadline:
            return {tid for _, tid in waiting}
        time.sleep(delay)  # the kernel offers no wait for a thread's first run
        delay = min(delay * 2, 0.01)


#: How far a process's start time (clock ticks) may be from its FORK record's.
_START_SLACK_NS = 50_000_000


def _started_at(pid: int, perf_time: int) -> bool:
    """Whether ``pid`` is the process a FORK record stamped ``perf_time``
    (CLOCK_MONOTONIC) made, not one that took its pid since: its start time
    (CLOCK_BOOTTIME, to a tick) matches, within ``_START_SLACK_NS``."""
    started = _procfs.start_time_ns(pid)
    if started is None:
        return False
    boot_offset = (time.clock_gettime_ns(time.CLOCK_BOOTTIME)
                   - time.clock_gettime_ns(time.CLOCK_MONOTONIC))
    return abs(perf_time + boot_offset - started) <= _START_SLACK_NS


def _threads(count: int) -> str:
    return f"{count} thread{'s' if count != 1 else ''}"


__all__ = ["PerfAttach"]
