"""The control loop on real processes: spawn, follow, threads, signals, job control, exit."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import textwrap
import threading
from pathlib import Path

import pytest
from control_support import (
    NR_EXECVE,
    NR_EXIT_GROUP,
    NR_GETPPID,
    NR_WRITE,
    PYTHON,
    become_nobody,
    record,
    tracer_of,
    wait_until,
)

from formats import Abi
from ktr._control import Control, ControlOptions, Release
from ktr._events import (
    ACTION_CAUGHT,
    Event,
    Lifecycle,
    ProcessEvent,
    SignalDelivery,
    SyscallEntry,
    SyscallExit,
)


def python_program(source: str) -> list[str]:
    return [PYTHON, "-c", textwrap.dedent(source)]


# ---------------------------------------------------------------- exit status


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["true"], 0),
        (["sh", "-c", "exit 3"], 3),
        (["sh", "-c", "kill -KILL $$"], 128 + signal.SIGKILL),
        (["sh", "-c", "kill -TERM $$"], 128 + signal.SIGTERM),
    ],
)
def test_exit_status_of_the_spawned_command(argv: list[str], status: int) -> None:
    recording = record(argv)
    assert recording.result is not None
    assert recording.result.exit_status == status
    assert recording.result.stop_reason is None
    exits = recording.lifecycle(Lifecycle.EXIT)
    process_exits = [e for e in exits if not e.thread]
    assert len(process_exits) == 1
    exit_event = process_exits[0]
    assert exit_event.tracee.pid == recording.pid
    if status > 128:
        assert exit_event.signal == status - 128
    else:
        assert (exit_event.status, exit_event.signal) == (status, 0)


def test_missing_command_is_a_one_line_error_with_status_127() -> None:
    """Still forked: its failed execves (each PATH entry) are recorded."""
    recording = record(["ktr-no-such-command-anywhere"])
    assert recording.result is not None
    assert recording.result.exit_status == 127
    message = recording.result.spawn_error
    assert message is not None and "command not found" in message
    assert "\n" not in message


def test_command_that_cannot_execute_reports_why(tmp_path: Path) -> None:
    # executable bit, but not a format the kernel can run
    bogus = tmp_path / "bogus"
    bogus.write_bytes(b"\x00\x01\x02 not a program")
    bogus.chmod(0o755)
    recording = record([str(bogus)])
    assert recording.result is not None
    assert recording.result.exit_status == 126  # as sh: found, but cannot be executed
    assert recording.result.spawn_error is not None
    assert "Exec format error" in recording.result.spawn_error


# ---------------------------------------------------------------- syscalls


def test_the_spawned_execve_is_the_first_syscall_seen() -> None:
    paths: list[bytes] = []
    pending: list[bool] = []

    def on_event(control: Control, event: Event) -> None:
        if not paths and isinstance(event, SyscallEntry):
            paths.append(event.tracee.memory.read_string(event.args[0], 4096))
            pending.append(event.tracee.emul_pending)

    recording = record(["true"], on_event=on_event)
    first = recording.events[0]
    assert isinstance(first, SyscallEntry)
    assert first.nr == NR_EXECVE
    assert first.abi is Abi.X86_64
    assert paths == [(shutil.which("true") or "").encode()]
    assert pending == [True]
    exec_events = recording.lifecycle(Lifecycle.EXEC)
    assert len(exec_events) == 1
    assert exec_events[0].path == os.path.realpath(shutil.which("true") or "").encode()
    # the exec stop comes between execve's entry and its exit
    index = recording.events.index(exec_events[0])
    following = recording.events[index + 1]
    assert isinstance(following, SyscallExit) and following.nr == NR_EXECVE
    assert following.retval == 0 and following.entry is first


def test_syscall_entries_and_exits_pair_up() -> None:
    recording = record(["ls", "/"])
    assert recording.result is not None and recording.result.exit_status == 0
    open_entry: SyscallEntry | None = None
    pairs = 0
    for event in recording.events:
        if isinstance(event, SyscallEntry):
            assert open_entry is None, f"entry {event.nr} while {open_entry} is open"
            open_entry = event
        elif isinstance(event, SyscallExit):
            assert open_entry is not None
            assert event.entry is open_entry
            assert event.nr == open_entry.nr
            assert event.monotonic_ns >= open_entry.monotonic_ns
            open_entry = None
            pairs += 1
    # exit_group never returns
    assert open_entry is not None and open_entry.nr == NR_EXIT_GROUP
    assert pairs > 20
    writes = [e for e in recording.exits() if e.nr == NR_WRITE]
    assert writes and all(e.retval > 0 and e.error == 0 for e in writes)
    failures = [e for e in recording.exits() if e.error]
    assert all(e.retval == -e.error for e in failures)


def test_data_of_a_write_can_be_read_while_stopped() -> None:
    seen: list[bytes] = []

    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, SyscallEntry) and event.nr == NR_WRITE:
            seen.append(event.tracee.memory.read(event.args[1], event.args[2]))
        if isinstance(event, SyscallEntry) and event.nr == NR_EXECVE:
            argv, truncated = event.tracee.memory.read_string_array(event.args[1], 16, 4096)
            seen.append(b" ".join(argv))
            assert not truncated

    record(["sh", "-c", "echo hello-memory >/dev/null"], on_event=on_event)
    assert seen[0] == b"sh -c echo hello-memory >/dev/null"
    assert b"hello-memory\n" in seen


# ---------------------------------------------------------------- follow


def test_pipeline_with_follow_reports_fork_exec_exit_for_each_process() -> None:
    recording = record(
        ["sh", "-c", "/bin/echo one | /bin/cat >/dev/null; exit 4"],
        ControlOptions(follow_children=True),
    )
    assert recording.result is not None
    assert recording.result.exit_status == 4
    forks = recording.lifecycle(Lifecycle.FORK)
    children = {e.child for e in forks}
    assert len(children) == 2 and all(not e.thread for e in forks)
    assert all(e.tracee.pid == recording.pid for e in forks)
    for child in children:
        execs = [e for e in recording.lifecycle(Lifecycle.EXEC) if e.tracee.pid == child]
        assert len(execs) == 1
        assert execs[0].path in (b"/usr/bin/echo", b"/usr/bin/cat", b"/bin/echo", b"/bin/cat")
        exits = [e for e in recording.lifecycle(Lifecycle.EXIT)
                 if e.tracee.pid == child and not e.thread]
        assert len(exits) == 1 and exits[0].status == 0
        # the child's own syscalls were seen, after its fork was reported
        first_child_event = next(e for e in recording.events if e.tracee.pid == child)
        fork_event = next(e for e in forks if e.child == child)
        assert recording.events.index(fork_event) < recording.events.index(first_child_event)
    assert recording.result.processes == 3
    # every event of a process comes before its process EXIT
    for child in children | {recording.pid}:
        events = [e for e in recording.events if e.tracee.pid == child]
        last = events[-1]
        assert isinstance(last, ProcessEvent) and last.kind is Lifecycle.EXIT
        assert not last.thread


def test_without_follow_children_are_not_traced() -> None:
    recording = record(["sh", "-c", "/bin/true; /bin/true; exit 0"])
    assert recording.result is not None
    assert recording.result.exit_status == 0
    assert {e.tracee.pid for e in recording.events} == {recording.pid}
    assert recording.result.processes == 1
    # sh's own fork syscalls are still seen, as syscalls
    assert any(e.nr in (56, 57, 58, 435) for e in recording.entries())


def test_threads_are_followed_with_exact_marker_counts() -> None:
    source = """
        import ctypes, os, threading
        libc = ctypes.CDLL(None)
        barrier = threading.Barrier(3)
        def work(count):
            barrier.wait()
            for _ in range(count):
                os.getppid()
        threads = [threading.Thread(target=work, args=(n,)) for n in (5, 7, 11)]
        for t in threads: t.start()
        for t in threads: t.join()
        libc.prctl(15, b"renamed", 0, 0, 0)
        os.getppid()
    """
    recording = record(python_program(source))
    assert recording.result is not None and recording.result.exit_status == 0
    clones = [e for e in recording.lifecycle(Lifecycle.CLONE) if e.thread]
    assert len(clones) == 3
    counts: dict[int, int] = {}
    for entry in recording.entries():
        if entry.nr == NR_GETPPID:
            counts[entry.tracee.tid] = counts.get(entry.tracee.tid, 0) + 1
    thread_counts = sorted(n for tid, n in counts.items() if tid != recording.pid)
    assert thread_counts == [5, 7, 11]
    assert {e.child for e in clones} == {tid for tid in counts if tid != recording.pid}
    assert counts.get(recording.pid) == 1
    last_marker = [e for e in recording.entries() if e.nr == NR_GETPPID][-1]
    assert last_marker.tracee.tid == recording.pid
    assert last_marker.tracee.comm == b"renamed"
    # every thread ends with a thread EXIT, the process with one process EXIT
    thread_exits = [e for e in recording.lifecycle(Lifecycle.EXIT) if e.thread]
    assert {e.tracee.tid for e in thread_exits} == {e.child for e in clones}
    assert len([e for e in recording.lifecycle(Lifecycle.EXIT) if not e.thread]) == 1
    assert recording.result.threads == 4


def test_exec_from_a_thread_that_is_not_the_leader() -> None:
    source = """
        import os, threading, shutil
        path = shutil.which("true")
        t = threading.Thread(target=lambda: os.execv(path, ["true"]))
        t.start()
        t.join()
    """
    recording = record(python_program(source))
    assert recording.result is not None and recording.result.exit_status == 0
    execs = recording.lifecycle(Lifecycle.EXEC)
    assert len(execs) == 2  # python itself, then true from the thread
    final = execs[-1]
    thread = next(e.child for e in recording.lifecycle(Lifecycle.CLONE) if e.thread)
    assert final.former_tid == thread
    assert final.tracee.tid == recording.pid == final.tracee.pid
    assert final.tracee.comm == b"true"
    # the exec'ing thread's execve entry pairs with the exit seen under the leader's tid
    execve_exit = next(e for e in recording.events[recording.events.index(final):]
                       if isinstance(e, SyscallExit))
    assert execve_exit.nr == NR_EXECVE and execve_exit.entry is not None
    assert execve_exit.tracee is final.tracee


def test_exec_of_an_i386_program_changes_the_abi(tmp_path: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the i386 program")
    source = tmp_path / "exit7.c"
    source.write_text(
        'void _start(void){ __asm__ volatile("movl $20,%eax; int $0x80;"'
        ' "movl $1,%eax; movl $7,%ebx; int $0x80"); }\n')
    program = tmp_path / "exit7"
    built = subprocess.run(["gcc", "-m32", "-nostdlib", "-static", "-o", str(program),
                            str(source)], capture_output=True)
    if built.returncode != 0:
        pytest.skip("no i386 toolchain")
    recording = record([str(program)])
    assert recording.result is not None and recording.result.exit_status == 7
    exec_event = recording.lifecycle(Lifecycle.EXEC)[0]
    assert exec_event.tracee.abi is Abi.I386
    assert exec_event.tracee.memory.abi is Abi.I386
    after = recording.events[recording.events.index(exec_event) + 1:]
    calls = [(e.abi, e.nr) for e in after if isinstance(e, SyscallEntry)]
    assert calls == [(Abi.I386, 20), (Abi.I386, 1)]
    getpid_exit = next(e for e in after if isinstance(e, SyscallExit) and e.nr == 20)
    assert getpid_exit.retval == recording.pid and getpid_exit.abi is Abi.I386


# ---------------------------------------------------------------- signals


def test_caught_signal_is_reported_and_the_handler_runs(tmp_path: Path) -> None:
    marker = tmp_path / "handled"
    source = f"""
        import os, signal
        signal.signal(signal.SIGUSR1, lambda *a: open({str(marker)!r}, "w").write("yes"))
        signal.signal(signal.SIGUSR2, signal.SIG_IGN)
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGWINCH])
        os.kill(os.getpid(), signal.SIGUSR1)
        os.kill(os.getpid(), signal.SIGUSR2)
    """
    recording = record(python_program(source))
    assert recording.result is not None and recording.result.exit_status == 0
    assert marker.read_text() == "yes"
    deliveries = recording.signals()
    usr1 = [d for d in deliveries if d.signo == signal.SIGUSR1]
    assert len(usr1) == 1
    delivery = usr1[0]
    assert delivery.action == ACTION_CAUGHT
    assert delivery.code == 0  # SI_USER: from kill()
    assert len(delivery.siginfo) == 128
    assert int.from_bytes(delivery.siginfo[:4], "little") == signal.SIGUSR1
    assert delivery.blocked & (1 << (signal.SIGWINCH - 1))
    # a traced process sees even ignored signals reach delivery: action 1
    usr2 = [d for d in deliveries if d.signo == signal.SIGUSR2]
    assert len(usr2) == 1 and usr2[0].action == 1


def test_signal_default_action_still_kills() -> None:
    recording = record(["sh", "-c", "kill -USR1 $$; echo not reached"])
    assert recording.result is not None
    assert recording.result.exit_status == 128 + signal.SIGUSR1
    usr1 = [d for d in recording.signals() if d.signo == signal.SIGUSR1]
    assert len(usr1) == 1 and usr1[0].action == 0


def test_sigstop_and_sigcont_of_a_traced_process() -> None:
    stopped = threading.Event()
    errors: list[BaseException] = []
    control_box: list[Control] = []

    def on_event(control: Control, event: Event) -> None:
        control_box.append(control)
        if isinstance(event, SignalDelivery) and event.signo == signal.SIGSTOP:
            stopped.set()

    def continuer() -> None:
        try:
            assert stopped.wait(5)
            control = control_box[0]
            tracee = control.tracees[pid_box[0]]
            wait_until(lambda: tracee.group_stopped, "the group-stop")
            os.kill(pid_box[0], signal.SIGCONT)
        except BaseException as error:  # reported by the main thread
            errors.append(error)

    control = Control()
    pid = control.spawn(["sh", "-c", "kill -STOP $$; echo resumed >/dev/null; exit 5"])
    pid_box = [pid]
    events: list[Event] = []
    helper = threading.Thread(target=continuer)
    helper.start()

    def consumer(event: Event) -> None:
        events.append(event)
        on_event(control, event)

    result = control.run(consumer)
    helper.join()
    assert not errors, errors
    assert result.exit_status == 5
    signos = [e.signo for e in events if isinstance(e, SignalDelivery)]
    assert signos[:2] == [signal.SIGSTOP, signal.SIGCONT]
    cont_index = next(i for i, e in enumerate(events)
                      if isinstance(e, SignalDelivery) and e.signo == signal.SIGCONT)
    # still traced after the stop: the echo's write was seen
    assert any(isinstance(e, SyscallEntry) and e.nr == NR_WRITE
               for e in events[cont_index:])


# ---------------------------------------------------------------- release


def test_stop_request_kills_the_spawned_command_by_default() -> None:
    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
            control.request_stop("test")

    recording = record(["sleep", "30"], on_event=on_event)
    assert recording.result is not None
    assert recording.result.stop_reason == "test"
    assert recording.result.exit_status == 128 + signal.SIGKILL
    assert recording.result.killed == 1


def test_stop_request_with_detach_leaves_the_spawned_command_running() -> None:
    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
            control.request_stop("output failed", Release.DETACH)

    recording = record(["sleep", "30"], on_event=on_event)
    pid = recording.pid
    try:
        assert recording.result is not None
        assert recording.result.exit_status is None
        assert recording.result.detached == 1
        detach = recording.lifecycle(Lifecycle.DETACH)
        assert [e.tracee.tid for e in detach] == [pid]
        assert tracer_of(pid) == 0
        # the syscall in progress at detach (or about to start) goes on normally
        wait_until(lambda: proc_state_is(pid, "S"), "sleep to be sleeping")
    finally:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.WTERMSIG(status) == signal.SIGKILL


def proc_state_is(pid: int, state: str) -> bool:
    from control_support import proc_state

    return proc_state(pid) == state


def test_request_stop_from_another_thread_interrupts_a_blocked_wait() -> None:
    attached = threading.Event()
    control = Control()
    pid = control.spawn(["sleep", "30"])

    def stopper() -> None:
        attached.wait(5)
        # the tracee is asleep: the loop is blocked in waitpid by now or soon
        control.request_stop("from a thread", Release.DETACH)

    helper = threading.Thread(target=stopper)
    helper.start()

    def consumer(event: Event) -> None:
        if isinstance(event, SyscallExit) and event.nr == NR_EXECVE:
            attached.set()

    result = control.run(consumer)
    helper.join()
    try:
        assert result.stop_reason == "from a thread"
        assert tracer_of(pid) == 0
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


def test_recorder_killed_with_sigkill_takes_the_spawned_command_with_it(
    tmp_path: Path,
) -> None:
    script = tmp_path / "recorder.py"
    script.write_text(textwrap.dedent("""
        import sys
        from ktr._control import Control
        control = Control()
        pid = control.spawn(["sleep", "30"])
        print(pid, flush=True)
        control.run(lambda event: None)
    """))
    recorder = subprocess.Popen([PYTHON, str(script)], stdout=subprocess.PIPE, text=True)
    assert recorder.stdout is not None
    child = int(recorder.stdout.readline())
    wait_until(lambda: tracer_of(child) == recorder.pid, "the child to be traced")
    recorder.kill()
    recorder.wait()
    from control_support import proc_state

    wait_until(lambda: proc_state(child) in (None, "Z", "X"), "the spawned child to die")


def test_exec_of_a_set_id_program_by_a_non_root_recorder_loses_control(
    tmp_path: Path,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to make a set-uid program and drop privileges")
    import json
    import tempfile

    directory = tempfile.mkdtemp(prefix="ktr-setid-")
    try:
        os.chmod(directory, 0o755)
        program = os.path.join(directory, "id")
        shutil.copy(shutil.which("id") or "/usr/bin/id", program)
        os.chmod(program, 0o4755)
        output = os.path.join(directory, "out")
        Path(output).touch(mode=0o666)
        os.chmod(output, 0o666)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the non-root recorder
            code = 1
            try:
                os.close(read_end)
                become_nobody()
                control = Control()
                kinds: list[str] = []
                reasons: list[str] = []

                def consumer(event: Event) -> None:
                    if isinstance(event, ProcessEvent):
                        kinds.append(event.kind.value)
                        reasons.append(event.reason)

                with open(output, "wb") as out:
                    os.dup2(out.fileno(), 1)
                control.spawn([program, "-u"])
                result = control.run(consumer)
                os.write(write_end, json.dumps(
                    [kinds, reasons, result.lost, result.exit_status]).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            data = pipe.read()
        _, status = os.waitpid(pid, 0)
        assert os.WEXITSTATUS(status) == 0
        kinds, reasons, lost, exit_status = json.loads(data)
        assert kinds == ["exec", "lost", "detach"]
        assert "set-id program" in reasons[1] and program in reasons[1]
        assert lost == 1
        assert exit_status is None  # let go: it finishes on its own
        # the kernel ran it without its set-uid privilege
        wait_until(lambda: Path(output).read_bytes() != b"", "id to print")
        assert Path(output).read_bytes() == b"65534\n"
    finally:
        shutil.rmtree(directory)


def test_pinned_spawn_runs_command_and_recorder_on_one_cpu() -> None:
    mine = os.sched_getaffinity(0)
    affinities: list[set[int]] = []

    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
            affinities.append(os.sched_getaffinity(event.tracee.tid))
            affinities.append(os.sched_getaffinity(0))

    recording = record(["sh", "-c", "exit 2"], ControlOptions(pin_cpu=0), on_event)
    assert recording.result is not None and recording.result.exit_status == 2
    assert affinities == [{0}, {0}]
    assert os.sched_getaffinity(0) == mine


class _ChildStopsFirst(Control):
    """Deliver each new tracee's first stop before its creator's fork/clone
    event (the kernel may report them in either order); with ``orphan`` the
    creator's event is held back until the loop has adopted the child alone."""

    def __init__(self, options: ControlOptions, orphan: bool) -> None:
        super().__init__(options)
        self.orphan = orphan
        self.reordered: list[int] = []
        self.held: list[tuple[int, int]] = []

    def _handle(self, tid: int, status: int) -> None:
        from ktr import _ptrace as pt

        if (os.WIFSTOPPED(status) and (status >> 16) in (1, 2, 3)
                and tid in self._tracees):
            child = pt.geteventmsg(tid)
            _, child_status = os.waitpid(child, 0x40000000)
            self.reordered.append(child)
            super()._handle(child, child_status)
            assert child in self._stash
            if self.orphan:
                self.held.append((tid, status))
                return
        super()._handle(tid, status)

    def _adopt_orphans(self) -> None:
        super()._adopt_orphans()
        held, self.held = self.held, []
        for tid, status in held:
            super()._handle(tid, status)


@pytest.mark.parametrize("orphan", [False, True])
def test_a_new_tracee_reported_before_its_creator(orphan: bool) -> None:
    source = """
        import os, threading
        t = threading.Thread(target=os.getppid)
        t.start(); t.join()
        pid = os.fork()
        if pid == 0:
            os.getppid()
            os._exit(3)
        os.waitpid(pid, 0)
    """
    control = _ChildStopsFirst(ControlOptions(follow_children=True), orphan)
    pid = control.spawn(python_program(source))
    events: list[Event] = []
    result = control.run(events.append)
    assert result.exit_status == 0
    assert len(control.reordered) == 2
    thread, child = control.reordered
    clone = [e for e in events if isinstance(e, ProcessEvent) and e.kind is Lifecycle.CLONE]
    fork = [e for e in events if isinstance(e, ProcessEvent) and e.kind is Lifecycle.FORK]
    assert [(e.child, e.thread) for e in clone] == [(thread, True)]
    assert [(e.child, e.thread) for e in fork] == [(child, False)]
    markers = {e.tracee.tid: e.tracee.pid for e in events
               if isinstance(e, SyscallEntry) and e.nr == NR_GETPPID}
    assert markers == {thread: pid, child: child}
    child_exit = [e for e in events if isinstance(e, ProcessEvent)
                  and e.kind is Lifecycle.EXIT and e.tracee.pid == child and not e.thread]
    assert [e.status for e in child_exit] == [3]
    assert result.processes == 2 and result.threads == 3


def test_a_failing_consumer_kills_the_spawned_command() -> None:
    control = Control()
    pid = control.spawn(["sleep", "30"])

    def consumer(event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
            raise RuntimeError("consumer bug")

    with pytest.raises(RuntimeError, match="consumer bug"):
        control.run(consumer)
    assert not control.tracees
    from control_support import proc_state

    assert proc_state(pid) is None  # killed and reaped


def test_spin_chooser_keeps_the_faster_way_and_measures_again() -> None:
    from ktr._control._state import SpinChooser

    chooser = SpinChooser(50_000)
    assert chooser.spinning == 50_000  # the first window spins
    assert chooser.window_done(9_000_000) == 0  # then one blocks
    assert chooser.window_done(6_000_000) == 0  # blocking was faster: kept
    for _ in range(SpinChooser.KEEP - 1):  # for KEEP windows in all
        assert chooser.window_done(6_000_000) == 0
    assert chooser.window_done(6_000_000) == 50_000  # measured again
    assert chooser.window_done(4_000_000) == 0
    assert chooser.window_done(5_000_000) == 50_000  # spinning was faster this time
    assert (chooser.chosen_spinning, chooser.chosen_blocking) == (1, 1)
    pinned = SpinChooser(0)  # pinned or --spin-us 0: never spins
    assert pinned.spinning == 0
    assert all(pinned.window_done(1) == 0 for _ in range(40))


def test_the_loop_times_windows_of_both_ways() -> None:
    """A real recording long enough for several windows measures both ways."""
    control = Control(ControlOptions(spin_us=50))
    control.spawn(["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=4000", "status=none"])
    control.run(lambda event: None)
    chooser = control.spin_chooser
    assert chooser.chosen_spinning + chooser.chosen_blocking >= 1


def test_flush_every_so_many_stops_at_the_end_and_in_a_long_wait() -> None:
    """run's flush: every FLUSH_EVERY stops and at the end; a wait that holds
    unflushed stops is broken once by the waker, not again and again."""
    from ktr._control._dispatch import FLUSH_EVERY

    control = Control(ControlOptions(pin_cpu=0))  # every wait blocks
    control.spawn(["sh", "-c", "sleep 0.5; exit 0"])
    stops: list[int] = []
    flushed_at: list[int] = []
    result = control.run(lambda event: stops.append(1), lambda: flushed_at.append(len(stops)))
    assert result.exit_status == 0
    assert flushed_at[-1] == len(stops)  # the last flush is the end's
    periodic = len(stops) // FLUSH_EVERY
    # The sleep's wait is broken once (20-40 ms in; not at all if a periodic
    # flush came just before it), then waits unbroken: a waker that broke
    # every look would add 12 to 25 flushes in 0.5 s.
    assert periodic + 1 <= len(flushed_at) <= periodic + 5, (len(stops), flushed_at)
