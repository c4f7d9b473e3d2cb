"""Attach (-p, -g, -d) and detach on real processes: nothing left stopped, nothing lost."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import (
    NR_GETPPID,
    PYTHON,
    proc_state,
    threads_of,
    tracer_of,
    wait_until,
)

from ktr._control import Control, ControlOptions, RunResult
from ktr._events import Event, Lifecycle, ProcessEvent, SyscallEntry
from ktr.errors import TargetError

BUSY_THREADS = """
    import os, sys, threading
    counter = [0]
    def spin():
        while True:
            os.getppid()
            counter[0] += 1
    for _ in range(3):
        threading.Thread(target=spin, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        print(counter[0], flush=True)
"""


@pytest.fixture
def busy() -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([PYTHON, "-c", textwrap.dedent(BUSY_THREADS)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    yield process
    process.kill()
    process.wait()


def ask_counter(process: subprocess.Popen[str]) -> int:
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("?\n")
    process.stdin.flush()
    return int(process.stdout.readline())


def test_attach_all_threads_then_detach_leaves_it_running(
    busy: subprocess.Popen[str],
) -> None:
    pid = busy.pid
    expected = set(threads_of(pid))
    assert len(expected) == 4
    control = Control()
    attached = control.attach([pid])
    assert attached == [pid]
    marker_tids: set[int] = set()
    events: list[Event] = []

    def consumer(event: Event) -> None:
        events.append(event)
        if isinstance(event, SyscallEntry) and event.nr == NR_GETPPID:
            marker_tids.add(event.tracee.tid)
            if len(marker_tids) == 3:
                control.request_stop("enough")

    result = control.run(consumer)
    assert result.stop_reason == "enough"
    attaches = [e for e in events if isinstance(e, ProcessEvent)
                and e.kind is Lifecycle.ATTACH]
    assert {e.tracee.tid for e in attaches} == expected
    assert [e.thread for e in attaches if e.tracee.tid == pid] == [False]
    assert all(e.tracee.emul_pending or e.tracee.tid != pid for e in attaches[:1])
    detaches = [e for e in events if isinstance(e, ProcessEvent)
                and e.kind is Lifecycle.DETACH]
    assert {e.tracee.tid for e in detaches} == expected
    assert marker_tids == expected - {pid}
    assert result.detached == 1 and result.killed == 0
    for tid in expected:
        assert tracer_of(tid) == 0
        assert proc_state(tid) not in ("t", "T")
    first = ask_counter(busy)
    wait_until(lambda: ask_counter(busy) > first, "the threads to make progress")


def test_detach_does_not_disturb_a_blocking_read() -> None:
    reader = subprocess.Popen(
        [PYTHON, "-c", "import sys; print('ready', flush=True); "
         "print(sys.stdin.readline().upper(), end='', flush=True)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout is not None and reader.stdin is not None
        assert reader.stdout.readline() == "ready\n"
        wait_until(lambda: proc_state(reader.pid) == "S", "the reader to block")
        control = Control()
        control.attach([reader.pid])

        def consumer(event: Event) -> None:
            if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                control.request_stop("attached")

        result = control.run(consumer)
        assert result.stop_reason == "attached"
        assert tracer_of(reader.pid) == 0
        reader.stdin.write("hello\n")
        reader.stdin.flush()
        assert reader.stdout.readline() == "HELLO\n"
    finally:
        reader.kill()
        reader.wait()


def test_recording_an_attached_process_until_it_exits() -> None:
    waiter = subprocess.Popen(
        [PYTHON, "-c", "import sys; print('ready', flush=True); sys.stdin.readline(); sys.exit(9)"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert waiter.stdout is not None and waiter.stdin is not None
    assert waiter.stdout.readline() == "ready\n"
    control = Control()
    control.attach([waiter.pid])
    events: list[Event] = []

    def consumer(event: Event) -> None:
        events.append(event)
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
            assert waiter.stdin is not None
            waiter.stdin.write("go\n")
            waiter.stdin.flush()

    result = control.run(consumer)
    assert result.exit_status is None  # only a spawned command has one
    exits = [e for e in events if isinstance(e, ProcessEvent) and e.kind is Lifecycle.EXIT
             and not e.thread]
    assert [(e.tracee.pid, e.status) for e in exits] == [(waiter.pid, 9)]
    waiter.wait()


def test_attach_to_a_job_control_stopped_process_leaves_it_stopped() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        os.kill(sleeper.pid, signal.SIGSTOP)
        wait_until(lambda: proc_state(sleeper.pid) == "T", "the sleeper to stop")
        control = Control()
        control.attach([sleeper.pid])

        def consumer(event: Event) -> None:
            if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                control.request_stop("attached")

        result = control.run(consumer)
        assert result.stop_reason == "attached"
        assert tracer_of(sleeper.pid) == 0
        assert proc_state(sleeper.pid) == "T"  # leave-hung: still job-control stopped
        os.kill(sleeper.pid, signal.SIGCONT)
        wait_until(lambda: proc_state(sleeper.pid) == "S", "the sleeper to resume")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_attach_to_a_process_traced_by_someone_else_is_a_permission_error() -> None:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is needed as the other tracer")
    other = subprocess.Popen([strace, "-o", "/dev/null", "sleep", "30"])
    try:
        from ktr._procfs import descendants, read_comm

        found: list[int] = []

        def traced_child() -> bool:
            # strace forks short-lived probe children first: wait for the
            # traced child that has become sleep
            for child in descendants([other.pid]):
                if tracer_of(child) == other.pid and read_comm(child) == b"sleep":
                    found.append(child)
            return bool(found)

        wait_until(traced_child, "strace to trace its child")
        child = found[0]
        control = Control()
        with pytest.raises(TargetError) as caught:
            control.attach([child])
        message = str(caught.value)
        assert "permission denied" in message
        assert f"already traced by pid {other.pid}" in message
        assert "\n" not in message
        assert caught.value.pid == child
        assert caught.value.errno == 1
        assert tracer_of(child) == other.pid
        assert not control.tracees
    finally:
        other.kill()
        other.wait()


def test_attach_to_a_missing_pid_is_no_such_process() -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    control = Control()
    with pytest.raises(TargetError) as caught:
        control.attach([gone.pid])
    assert str(caught.value) == f"ktr: pid {gone.pid}: no such process"
    assert caught.value.errno == 3


def _a_kernel_thread() -> tuple[int, str] | None:
    """A kernel thread as ps tells them: no command line, kthreadd (pid 2) or its child."""
    for entry in sorted(os.listdir("/proc"), key=lambda name: (len(name), name)):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                empty = cmdline.read() == b""
            with open(f"/proc/{entry}/status") as status:
                fields = dict(line.split(":\t", 1) for line in status if ":\t" in line)
        except OSError:
            continue
        if empty and (entry == "2" or fields.get("PPid", "").strip() == "2"):
            return int(entry), fields["Name"].strip()
    return None


def test_attach_to_a_kernel_thread_says_so() -> None:
    found = _a_kernel_thread()
    if found is None:
        pytest.skip("no kernel thread is visible (a pid namespace)")
    pid, name = found
    done = subprocess.run([str(Path(sys.executable).parent / "ktr"), "record", "-q", "-p",
                           str(pid), "-o", "/dev/null"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"ktr: pid {pid}: permission denied ({name} is a kernel thread, which ptrace "
        "cannot trace)"], done.stderr


def test_a_failed_attach_lets_go_of_what_was_already_attached() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    gone = subprocess.Popen(["true"])
    gone.wait()
    try:
        wait_until(lambda: proc_state(sleeper.pid) == "S", "the sleeper to sleep")
        control = Control()
        # validated up front: nothing is attached when a pid does not exist
        with pytest.raises(TargetError):
            control.attach([sleeper.pid, gone.pid])
        assert tracer_of(sleeper.pid) == 0
        # a refusal after the first target was seized lets the first go again
        with pytest.raises(TargetError):
            control.attach([sleeper.pid, os.getpid()])
        assert not control.tracees
        assert tracer_of(sleeper.pid) == 0
        # interrupted and let go: back to sleep (nanosleep restarts)
        wait_until(lambda: proc_state(sleeper.pid) == "S", "the sleeper to sleep again")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_attach_with_descendants_and_by_process_group() -> None:
    tree = subprocess.Popen(
        ["sh", "-c", "sleep 30 & sleep 31 & echo ready; wait"],
        stdout=subprocess.PIPE, text=True, process_group=0)
    try:
        assert tree.stdout is not None and tree.stdout.readline() == "ready\n"
        from ktr._procfs import descendants

        wait_until(lambda: len(descendants([tree.pid])) == 2, "the two sleeps")
        children = descendants([tree.pid])
        for options, attach in (
            (ControlOptions(attach_descendants=True), lambda c: c.attach([tree.pid])),
            (ControlOptions(), lambda c: c.attach_group(tree.pid)),
        ):
            control = Control(options)
            attached = attach(control)
            assert sorted(attached) == sorted([tree.pid, *children])
            seen: set[int] = set()

            def consumer(event: Event, control: Control = control, seen: set[int] = seen
                         ) -> None:
                if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                    seen.add(event.tracee.pid)
                    if len(seen) == 3:
                        control.request_stop("all attached")

            result = control.run(consumer)
            assert result.processes == 3 and result.detached == 3
            for pid in (tree.pid, *children):
                assert tracer_of(pid) == 0
                wait_until(lambda pid=pid: proc_state(pid) == "S", "it to sleep again")
    finally:
        os.killpg(tree.pid, signal.SIGKILL)
        tree.wait()


def test_attach_group_without_members_is_an_error() -> None:
    control = Control()
    with pytest.raises(TargetError) as caught:
        control.attach_group(2**22 + 12345)
    assert "no such process group" in str(caught.value)


def test_cannot_attach_to_the_recorder_itself() -> None:
    with pytest.raises(TargetError) as caught:
        Control().attach([os.getpid()])
    assert "recorder itself" in str(caught.value)


if sys.platform != "linux":  # pragma: no cover
    pytest.skip("ptrace tests need Linux", allow_module_level=True)


RECORDER_WITH_SIGTERM = """
    import signal, sys
    from ktr._control import Control
    from ktr._events import Lifecycle, ProcessEvent
    control = Control()
    control.attach([int(sys.argv[1])])
    signal.signal(signal.SIGTERM, lambda *a: control.request_stop("SIGTERM"))
    def consumer(event):
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
            print("attached", flush=True)
    result = control.run(consumer)
    print(result.stop_reason, result.detached, flush=True)
"""


def test_sigterm_to_an_attaching_recorder_detaches_promptly() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        recorder = subprocess.Popen(
            [PYTHON, "-c", textwrap.dedent(RECORDER_WITH_SIGTERM), str(sleeper.pid)],
            stdout=subprocess.PIPE, text=True)
        assert recorder.stdout is not None
        assert recorder.stdout.readline() == "attached\n"
        # the recorder now blocks in waitpid: the tracee sleeps
        wait_until(lambda: proc_state(recorder.pid) == "S", "the recorder to block")
        recorder.send_signal(signal.SIGTERM)
        out, _ = recorder.communicate(timeout=5)
        assert out == "SIGTERM 1\n"
        assert recorder.returncode == 0
        assert tracer_of(sleeper.pid) == 0
        wait_until(lambda: proc_state(sleeper.pid) == "S", "the sleeper to sleep on")
    finally:
        sleeper.kill()
        sleeper.wait()


def test_pinning_moves_the_tracee_and_restores_its_affinity() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        before = os.sched_getaffinity(sleeper.pid)
        mine = os.sched_getaffinity(0)
        control = Control(ControlOptions(pin_cpu=0))
        control.attach([sleeper.pid])
        seen: list[set[int]] = []

        def consumer(event: Event) -> None:
            if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                seen.append(os.sched_getaffinity(sleeper.pid))
                seen.append(os.sched_getaffinity(0))
                control.request_stop("pinned")

        control.run(consumer)
        assert seen == [{0}, {0}]
        assert os.sched_getaffinity(sleeper.pid) == before
        assert os.sched_getaffinity(0) == mine
    finally:
        sleeper.kill()
        sleeper.wait()


SIGNAL_TARGET = """
    import os, signal, sys
    signal.signal(signal.SIGUSR1, lambda *a: os.write(1, b"usr1\\n"))
    print("ready", flush=True)
    for line in sys.stdin:
        print(line.strip(), flush=True)
"""


def test_a_signal_sent_while_letting_go_is_not_lost() -> None:
    target = subprocess.Popen([PYTHON, "-c", textwrap.dedent(SIGNAL_TARGET)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None and target.stdin is not None
        assert target.stdout.readline() == "ready\n"
        control = Control()
        control.attach([target.pid])

        def consumer(event: Event) -> None:
            # the target is held at a stop: the signal arrives while we let go
            if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                os.kill(target.pid, signal.SIGUSR1)
                control.request_stop("now")

        result = control.run(consumer)
        assert result.stop_reason == "now"
        assert tracer_of(target.pid) == 0
        target.stdin.write("after\n")
        target.stdin.flush()
        assert target.stdout.readline() == "usr1\n"
        assert target.stdout.readline() == "after\n"
    finally:
        target.kill()
        target.wait()


def test_a_loop_on_another_thread_still_stops_on_request() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        results: list[object] = []
        attached = threading.Event()
        box: list[Control] = []

        def tracer() -> None:
            try:
                control = Control()
                box.append(control)
                control.attach([sleeper.pid])

                def consumer(event: Event) -> None:
                    if isinstance(event, ProcessEvent) and event.kind is Lifecycle.ATTACH:
                        attached.set()

                results.append(control.run(consumer))
            except BaseException as error:
                results.append(error)
                attached.set()

        thread = threading.Thread(target=tracer)
        thread.start()
        assert attached.wait(5)
        box[0].request_stop("from main")
        thread.join(5)
        assert not thread.is_alive()
        (result,) = results
        assert isinstance(result, RunResult) and result.stop_reason == "from main"
        assert tracer_of(sleeper.pid) == 0
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_failing_consumer_leaves_no_tracee_stopped() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        control = Control()
        control.attach([sleeper.pid])

        def consumer(event: Event) -> None:
            raise RuntimeError("consumer bug")

        with pytest.raises(RuntimeError, match="consumer bug"):
            control.run(consumer)
        assert not control.tracees
        assert tracer_of(sleeper.pid) == 0
        wait_until(lambda: proc_state(sleeper.pid) == "S", "the sleeper to sleep on")
    finally:
        sleeper.kill()
        sleeper.wait()


THREAD_CHURN = """
    import os, sys, threading
    count = [0]
    def short():
        os.getppid()
    def churn():
        while True:
            threads = [threading.Thread(target=short) for _ in range(3)]
            for t in threads: t.start()
            for t in threads: t.join()
            count[0] += 1
    threading.Thread(target=churn, daemon=True).start()
    threading.Thread(target=churn, daemon=True).start()
    print("ready", flush=True)
    for line in sys.stdin:
        print(count[0], flush=True)
"""


def test_attach_races_threads_that_come_and_go() -> None:
    target = subprocess.Popen([PYTHON, "-c", textwrap.dedent(THREAD_CHURN)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None and target.stdout.readline() == "ready\n"
        control = Control()
        control.attach([target.pid])
        # every thread that exists now is ours: seized, or auto-attached at its clone
        for tid in threads_of(target.pid):
            assert tracer_of(tid) in (os.getpid(), -1)  # -1: it has just exited
        clones = 0

        def consumer(event: Event) -> None:
            nonlocal clones
            if isinstance(event, ProcessEvent) and event.kind is Lifecycle.CLONE:
                assert event.thread
                clones += 1
                if clones == 30:
                    control.request_stop("seen enough")

        result = control.run(consumer)
        assert result.stop_reason == "seen enough" and result.lost == 0
        assert not control.tracees
        for tid in threads_of(target.pid):
            assert tracer_of(tid) in (0, -1)
        first = ask_counter(target)
        wait_until(lambda: ask_counter(target) > first, "the churn to go on")
    finally:
        target.kill()
        target.wait()
