"""``ktr record -t w -p PID``: attaching for context switches alone, without ptrace.

Oracles: a C program compiled here, blocked in ``epoll_wait`` on its standard
input while ktr attaches and detaches, says what the call returned (EINTR is
what a ptrace attach or detach makes it return); ``/proc/PID/status``'s
TracerPid; the thread's own ``getrusage(RUSAGE_THREAD)`` around a stretch of
work done while recorded; the tids the program prints.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from control_support import Tee, tracer_of

import formats
import ktr
import ktrdump
from formats import EndFlag, RecordKind
from ktr._perfattach import Birth, PerfAttach
from ktr.errors import UsageError

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int ep;

/* Block in epoll_wait on stdin (no timeout); say what it returned. */
static void wait_for_input(void) {
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, -1);
    printf("epoll %d %s\n", n, n < 0 ? strerror(errno) : "-");
    fflush(stdout);
    char line[64];
    if (n > 0 && !fgets(line, sizeof line, stdin)) exit(3);
}

static void naps(int count) {
    struct timespec nap = {0, 200000};
    for (int i = 0; i < count; i++) nanosleep(&nap, 0);
}

static void *thread_main(void *arg) {
    (void)arg;
    printf("thread %ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    naps(5);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdin, 0, _IONBF, 0);
    ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    printf("ready %ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    wait_for_input();
    if (argc > 1 && strcmp(argv[1], "family") == 0) {
        /* a thread and a child created while recorded; the child outlives its parent */
        pthread_t thread;
        pthread_create(&thread, 0, thread_main, 0);
        pthread_join(thread, 0);
        int ready[2];
        if (pipe(ready)) return 4;
        pid_t child = fork();
        if (child == 0) {
            close(ready[0]);
            naps(5);
            printf("child %ld\n", (long)getpid());
            fflush(stdout);
            close(ready[1]);
            naps(20);
            _exit(0);
        }
        close(ready[1]);
        char byte;
        (void)!read(ready[0], &byte, 1);  /* the child has printed its pid */
        return 0;
    }
    struct rusage before, after;
    getrusage(RUSAGE_THREAD, &before);
    naps(ROUNDS);
    getrusage(RUSAGE_THREAD, &after);
    printf("work %ld %ld %ld\n", (long)syscall(SYS_gettid),
           after.ru_nvcsw - before.ru_nvcsw, after.ru_nivcsw - before.ru_nivcsw);
    fflush(stdout);
    wait_for_input();
    return 0;
}
"""

ROUNDS = 50


@pytest.fixture(scope="module")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    directory = tmp_path_factory.mktemp("perf_attach")
    source = directory / "blocker.c"
    source.write_text(PROGRAM)
    binary = directory / "blocker"
    subprocess.run([compiler, "-O1", f"-DROUNDS={ROUNDS}", "-pthread", "-o", str(binary),
                    str(source)], check=True, capture_output=True)
    return binary


def _line(program: subprocess.Popen[bytes], word: str) -> list[str]:
    assert program.stdout is not None
    fields = program.stdout.readline().decode().split()
    assert fields and fields[0] == word, fields
    return fields[1:]


def _tell(program: subprocess.Popen[bytes]) -> None:
    assert program.stdin is not None
    program.stdin.write(b"go\n")
    program.stdin.flush()


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_attaching_and_stopping_do_not_interrupt_a_blocked_call(
        blocker: Path, stop_signal: signal.Signals) -> None:
    program = subprocess.Popen([str(blocker)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    recorder = None
    try:
        tid = int(_line(program, "ready")[0])
        recorder = subprocess.Popen([KTR, "record", "-q", "-t", "w", "-p", str(program.pid),
                                     "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        records: list[formats.Record] = []
        with ktrdump.open(recorder.stdout) as reader:
            stream = iter(reader)
            records.append(next(stream))  # BEGIN: written once the target is watched
            assert records[0].kind == RecordKind.BEGIN
            assert tracer_of(program.pid) == 0
            _tell(program)  # ends the first epoll_wait; the program works, then blocks again
            assert _line(program, "epoll") == ["1", "-"]
            work_tid, voluntary, involuntary = map(int, _line(program, "work"))
            assert tracer_of(program.pid) == 0
            recorder.send_signal(stop_signal)
            records.extend(stream)
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=10) == 0, stderr
        assert stderr.decode() == ""  # (-q: the stop is the user's own; the END says it)
        assert tracer_of(program.pid) == 0 and program.poll() is None
        _tell(program)
        # The call that was blocked while ktr attached and while it stopped returns
        # the input, not EINTR.
        assert _line(program, "epoll") == ["1", "-"]
        assert program.wait(timeout=10) == 0
    finally:
        for process in (program, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    assert work_tid == tid
    outs = Counter(r.tid for r in records
                   if isinstance(r.payload, formats.Csw) and r.payload.out)
    ins = Counter(r.tid for r in records
                  if isinstance(r.payload, formats.Csw) and not r.payload.out)
    assert set(outs) == {tid} and set(ins) == {tid}
    # Every switch of the measured stretch, plus the few around it (blocking in
    # the second epoll_wait, a preemption while printing).
    assert voluntary >= ROUNDS - 5
    assert voluntary + involuntary <= outs[tid] <= voluntary + involuntary + 5
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert end.flags & EndFlag.STOPPED_EARLY
    assert end.reason == f"interrupted by {stop_signal.name}".encode()
    assert (end.status, end.processes, end.threads, end.lost, end.detached) == (-1, 1, 1, 0, 1)


@pytest.mark.parametrize("target", ["-p", "-g"])
def test_the_recording_ends_when_the_targets_and_their_children_have_exited(
        blocker: Path, target: str) -> None:
    program = subprocess.Popen([str(blocker), "family"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, start_new_session=True)
    recorder = None
    try:
        tid = int(_line(program, "ready")[0])
        recorder = subprocess.Popen([KTR, "record", "-t", "w", "-i", target, str(program.pid),
                                     "-o", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        with ktrdump.open(recorder.stdout) as reader:
            stream = iter(reader)
            assert next(stream).kind == RecordKind.BEGIN
            _tell(program)
            assert _line(program, "epoll") == ["1", "-"]
            thread = int(_line(program, "thread")[0])
            child = int(_line(program, "child")[0])
            assert program.wait(timeout=10) == 0
            # The parent is gone, its child naps on: the recording waits for it too.
            assert tracer_of(child) == 0
            records = list(stream)  # ends by itself, no signal sent
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=10) == 0, stderr
    finally:
        for process in (program, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    switched = {(r.pid, r.tid) for r in records if r.kind == RecordKind.CSW}
    assert switched == {(tid, tid), (tid, thread), (child, child)}
    names = {r.comm for r in records if r.kind == RecordKind.CSW}
    assert names == {b"blocker"}
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert not end.flags & EndFlag.STOPPED_EARLY and end.reason == b""
    assert (end.status, end.processes, end.threads, end.lost, end.detached) == (-1, 2, 3, 0, 0)
    assert stderr.decode().endswith("2 processes, 3 threads\n"), stderr


SAMPLED = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;
/* Spin until the calling thread has used ``us`` more microseconds of CPU. */
static void burn(long us) {
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    for (;;) {
        for (int k = 0; k < 20000; k++) sink += k;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) >= us * 1000L)
            break;
    }
}
__attribute__((noinline)) void thread_leaf(long us) { burn(us); sink++; }
__attribute__((noinline)) void child_leaf(long us) { burn(us); sink++; }
static void *run(void *arg) { thread_leaf(100000); return arg; }

static int wait_for_input(int ep) {
    struct epoll_event ev;
    int n = epoll_wait(ep, &ev, 1, -1);
    printf("epoll %d %s\n", n, n < 0 ? strerror(errno) : "-");
    fflush(stdout);
    char line[64];
    if (n > 0 && read(0, line, sizeof line) <= 0) return -1;
    return n;
}

int main(void) {
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = 0};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
    printf("ready\n");
    fflush(stdout);
    wait_for_input(ep);
    pthread_t thread;
    pthread_create(&thread, 0, run, 0);
    pid_t child = fork();
    if (child == 0) { child_leaf(100000); _exit(0); }
    pthread_join(thread, 0);
    waitpid(child, 0, 0);
    printf("done %d\n", (int)child);
    fflush(stdout);
    wait_for_input(ep);
    return 0;
}
"""


def test_samples_of_threads_and_children_created_while_attached(tmp_path: Path) -> None:
    """-t S -i -p: the samples of a thread and a child created after ktr attached
    are unwound to main (the child's maps read at its FORK record), nothing stops
    the program and its blocked call is not interrupted."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    source = tmp_path / "sampled.c"
    source.write_text(SAMPLED)
    binary = tmp_path / "sampled"
    subprocess.run([compiler, "-O2", "-fomit-frame-pointer", "-pthread", "-o", str(binary),
                    str(source)], check=True, capture_output=True)
    program = subprocess.Popen([str(binary)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    trace = tmp_path / "sampled.ktr"
    recorder = None
    try:
        assert _line(program, "ready") == []
        recorder = subprocess.Popen([KTR, "record", "-q", "-t", "S", "-F", "2000", "-i", "-p",
                                     str(program.pid), "-o", "-"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        with trace.open("wb") as copy, ktrdump.open(Tee(recorder.stdout, copy)) as reader:
            stream = iter(reader)
            assert next(stream).kind == RecordKind.BEGIN
            _tell(program)
            assert _line(program, "epoll") == ["1", "-"]
            child = int(_line(program, "done")[0])
            assert tracer_of(program.pid) == 0
            recorder.send_signal(signal.SIGINT)
            records = list(stream)
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=10) == 0, stderr
        _tell(program)
        assert _line(program, "epoll") == ["1", "-"]
        assert program.wait(timeout=10) == 0
    finally:
        for process in (program, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    samples = Counter(r.pid for r in records if r.kind == RecordKind.SAMPLE)
    assert set(samples) == {program.pid, child}
    snapshots = {r.pid for r in records if isinstance(r.payload, formats.Mmap)
                 and r.payload.origin == formats.MmapOrigin.SNAPSHOT
                 and r.payload.path == str(binary).encode()}
    assert snapshots == {program.pid, child}
    stacks = Counter[str]()
    done = subprocess.run([KTRDUMP, "--format", "folded", str(trace)], capture_output=True,
                          text=True, timeout=60, check=True)
    for line in done.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack.split(";", 1)[1]] += int(count)  # without the process name
    total = sum(stacks.values())
    # Each burned 100 ms of CPU: about half the samples each, whole stacks.
    thread_share = sum(n for stack, n in stacks.items()
                       if re.match(r"(clone3;)?start_thread;run;thread_leaf", stack)) / total
    child_share = sum(n for stack, n in stacks.items()
                      if re.match(r"_start;.*;main;child_leaf", stack)) / total
    assert thread_share == pytest.approx(0.5, abs=0.15), stacks.most_common(5)
    assert child_share == pytest.approx(0.5, abs=0.15), stacks.most_common(5)
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert (end.processes, end.threads, end.lost) == (2, 3, 0)


@pytest.mark.parametrize(("arguments", "without_ptrace"), [
    (["-t", "w", "-p", "1"], True),
    (["-t", "S", "-p", "1"], True),
    (["-t", "wS", "-i", "-g", "1"], True),
    (["-F", "99", "-t", "w", "-p", "1"], True),
    (["-t", "wp", "-p", "1"], False),  # PROC records come from ptrace
    (["-t", "wc", "-p", "1"], False),
    (["-t", "wC", "-C", "task-clock", "-p", "1"], False),  # per-thread counters: ptrace
    (["-C", "task-clock", "-p", "1"], False),
    (["-t", "w", "--", "true"], True),  # a started command too
    (["-t", "wS", "-i", "--", "true"], True),
    (["-F", "99", "--", "true"], False),  # the default facilities need syscall stops
    (["-t", "wp", "--", "true"], False),
    (["-C", "task-clock", "--", "true"], False),
    (["-p", "1"], False),
])
def test_which_recordings_run_without_ptrace(arguments: list[str],
                                                without_ptrace: bool) -> None:
    options = ktr.parse_record_arguments(arguments)
    assert options.records_without_ptrace is without_ptrace


def test_a_missing_target_is_one_line_and_no_file(tmp_path: Path) -> None:
    trace = tmp_path / "none.ktr"
    done = subprocess.run([KTR, "record", "-t", "w", "-p", "4194304", "-o", str(trace)],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stderr) == (1, "ktr: pid 4194304: no such process\n")
    assert not trace.exists()


class _Refusing:
    """A watcher standing for the perf sources: refuses (as ended) the threads named."""

    def __init__(self, ended: set[int]) -> None:
        self.ended = ended
        self.watched: list[int] = []
        self.on_births: Callable[[list[Birth]], None] | None = None
        self.lost = 0

    def watch_running(self, tid: int, pid: int, comm: bytes, at_exec: bool = False) -> bool:
        if tid in self.ended:
            return False
        self.watched.append(tid)
        return True

    def sync(self) -> None:
        pass


def test_a_thread_that_ends_while_attaching_is_counted_lost_and_named() -> None:
    target = subprocess.Popen([sys.executable, "-c", (
        "import sys, threading\n"
        "threading.Thread(target=sys.stdin.read, daemon=True).start()\n"
        "print(threading.get_native_id(), flush=True)\n"
        "sys.stdin.read()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert target.stdout is not None
        target.stdout.readline()
        threads = sorted(int(t) for t in os.listdir(f"/proc/{target.pid}/task"))
        assert len(threads) == 2
        other = threads[1]
        watcher = _Refusing({other})
        attach = PerfAttach([watcher], follow_children=False, descendants=False)
        try:
            attach.attach([target.pid], None)
            attach.request_stop("interrupted by SIGINT")
            result = attach.run()
        finally:
            attach.close()
    finally:
        target.kill()
        target.wait()
    assert watcher.watched == [target.pid]
    assert (result.processes, result.threads, result.lost, result.detached) == (1, 1, 1, 1)
    assert result.skipped == (f"pid {target.pid}: 1 thread not watched "
                              "(ended while ktr attached)",)


class _Prodding(_Refusing):
    """Makes the target create a thread once its first thread is watched (a late
    thread: not inherited, no FORK record); with ``losing``, its rings lose records at
    every drain."""

    def __init__(self, target: subprocess.Popen[str], losing: bool) -> None:
        super().__init__(set())
        self.target = target
        self.losing = losing

    def watch_running(self, tid: int, pid: int, comm: bytes, at_exec: bool = False) -> bool:
        if not self.watched:
            assert self.target.stdin is not None and self.target.stdout is not None
            self.target.stdin.write("t\n")
            self.target.stdin.flush()
            self.target.stdout.readline()  # the thread exists
        return super().watch_running(tid, pid, comm, at_exec)

    def sync(self) -> None:
        self.lost += self.losing


@pytest.mark.parametrize("losing", [False, True], ids=["opened", "ring-lost"])
def test_a_late_thread_is_opened_only_when_it_surely_has_no_events(losing: bool) -> None:
    """A thread created during the attach by a thread not yet watched has no FORK
    record: it gets events of its own, unless a ring lost records meanwhile (its FORK
    record may be among them): then it is counted lost and named, never opened twice."""
    target = subprocess.Popen([sys.executable, "-c", (
        "import sys, threading\n"
        "print(threading.get_native_id(), flush=True)\n"
        "sys.stdin.readline()\n"
        "threading.Thread(target=sys.stdin.read, daemon=True).start()\n"
        "print('made', flush=True)\n"
        "threading.Event().wait()\n")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        text=True)
    try:
        assert target.stdout is not None
        target.stdout.readline()
        watcher = _Prodding(target, losing)
        attach = PerfAttach([watcher], follow_children=False, descendants=False)
        try:
            attach.attach([target.pid], None)
            attach.request_stop("interrupted by SIGINT")
            result = attach.run()
        finally:
            attach.close()
        late = sorted(int(t) for t in os.listdir(f"/proc/{target.pid}/task"))[1]
    finally:
        target.kill()
        target.wait()
    if losing:
        assert watcher.watched == [target.pid]
        assert (result.threads, result.lost) == (1, 1)
        assert result.skipped == (
            f"pid {target.pid}: 1 thread not watched (created while ktr attached; whether "
            "they already had events could not be told: not run yet, or a full ring lost "
            "records)",)
    else:
        assert watcher.watched == [target.pid, late]
        assert (result.threads, result.lost, result.skipped) == (2, 0, ())


@pytest.mark.parametrize("arguments", [
    ["-t", "w", "--pin", "--", "true"],
    ["-t", "S", "--pin=0", "--", "true"],
    ["-F", "99", "-t", "w", "--pin", "-p", "1"],
])
def test_pin_is_refused_without_ptrace(tmp_path: Path, arguments: list[str]) -> None:
    """--pin makes ptrace stops cheap; a recording without ptrace has none: one line,
    status 2, no file; with ptrace (-t cw) it is applied and recorded in the header."""
    trace = tmp_path / "pinned.ktr"
    done = subprocess.run([KTR, "record", "-o", str(trace), *arguments],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("ktr record: --pin: it makes ptrace stops cheap")
    assert done.stderr.count("\n") == 1
    assert not trace.exists()
    pinned = ktr.RecordOptions(pids=(1,), kinds=frozenset({RecordKind.CSW}), facilities="w")
    assert pinned.records_without_ptrace
    with pytest.raises(UsageError, match="--pin"):
        ktr.RecordOptions(pids=(1,), kinds=frozenset({RecordKind.CSW}), facilities="w",
                          pin_cpu=0)
    done = subprocess.run([KTR, "record", "-q", "-t", "cw", "--pin=0", "-o", str(trace),
                           "--", "sh", "-c", "grep Cpus_allowed_list /proc/self/status"],
                          capture_output=True, text=True, timeout=30)
    assert (done.returncode, done.stdout) == (0, "Cpus_allowed_list:\t0\n"), done.stderr
    with ktrdump.open(str(trace)) as reader:
        assert reader.header.options["pin_cpu"] == 0


@pytest.mark.parametrize("arguments", [
    ["-t", "w", "--spin-us", "10", "--", "true"],
    ["-t", "S", "--spin-us=0", "--", "true"],
    ["-F", "99", "-t", "w", "--spin-us", "50", "-p", "1"],  # (the default's value, given)
])
def test_spin_us_is_refused_without_ptrace(tmp_path: Path, arguments: list[str]) -> None:
    """--spin-us is how long the ptrace loop polls; without ptrace it was silently
    ignored: now one line, status 2, no file, as --pin. With ptrace (-t cw, and -C,
    which keeps ptrace for the process lifecycle) it is taken and recorded."""
    trace = tmp_path / "spin.ktr"
    done = subprocess.run([KTR, "record", "-o", str(trace), *arguments],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.startswith("ktr record: --spin-us: it is how long ktr polls for "
                                  "ptrace stops")
    assert done.stderr.count("\n") == 1
    assert not trace.exists()
    with pytest.raises(UsageError, match="--spin-us"):
        ktr.RecordOptions(pids=(1,), kinds=frozenset({RecordKind.CSW}), facilities="w",
                          spin_us=0)
    for kept in (["-t", "cw"], ["-C", "task-clock"]):
        done = subprocess.run([KTR, "record", "-q", *kept, "--spin-us", "7", "-o", str(trace),
                               "--", "true"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
        with ktrdump.open(str(trace)) as reader:
            assert reader.header.options["spin_us"] == 7


def test_sampling_without_t_is_a_ptrace_recording_that_pin_applies_to(tmp_path: Path) -> None:
    """-F alone adds samples to the default facilities: syscalls are recorded, under
    ptrace (the kernel's TracerPid), and --pin applies. The help, the man page and
    README said "-F alone" used no ptrace and refused --pin; they say the rule now."""
    trace = tmp_path / "sampled.ktr"
    done = subprocess.run([KTR, "record", "-q", "-F", "99", "--pin=0", "-o", str(trace),
                           "--", "grep", "-E", "^(TracerPid|Cpus_allowed_list):",
                           "/proc/self/status"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    status = dict(line.split(":\t") for line in done.stdout.splitlines())
    assert status["Cpus_allowed_list"] == "0" and status["TracerPid"] != "0"
    with ktrdump.open(str(trace)) as reader:
        kinds = {record.kind for record in reader}
    assert RecordKind.SYSCALL in kinds
    root = Path(__file__).resolve().parent.parent
    help_text = subprocess.run([KTR, "record", "--help"], capture_output=True, text=True,
                               timeout=30, check=True).stdout
    for text in (help_text, (root / "share/man/man1/ktr.1").read_text(),
                 (root / "README.md").read_text()):
        assert "-F alone" not in text.replace("\\-", "-")
        assert "-t wS" in text.replace("\\-", "-")


def _end_of(trace: Path) -> formats.End:
    with ktrdump.open(str(trace)) as reader:
        ends = [r.payload for r in reader if r.kind == RecordKind.END]
    assert len(ends) == 1 and isinstance(ends[0], formats.End)
    return ends[0]


def test_exits_without_status_are_said_unknown_never_made_up(tmp_path: Path) -> None:
    """Without ptrace ktr is not the parent of an attached process nor of a child it
    follows (-i): their exits are seen (pidfd), their statuses cannot be (only a
    parent waits; PERF_RECORD_EXIT has none). The END says so (EXIT_STATUS_UNKNOWN,
    status -1) and one summary line names them; the oracle is the statuses their
    parents got (5 for the child, 3 for the target: not in the trace)."""
    script = 'read go; (exit 5) & wait $!; echo "child $! $?"; exit 3'
    target = subprocess.Popen(["sh", "-c", script], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    trace = tmp_path / "attached.ktr"
    try:
        recorder = subprocess.Popen([KTR, "record", "-t", "w", "-i", "-p", str(target.pid),
                                     "-o", "-"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        assert target.stdin is not None and target.stdout is not None
        with trace.open("wb") as copy, ktrdump.open(Tee(recorder.stdout, copy)) as reader:
            stream = iter(reader)
            assert next(stream).kind == RecordKind.BEGIN
            target.stdin.write("go\n")
            target.stdin.flush()
            for _ in stream:
                pass
        stderr = recorder.stderr.read().decode()
        assert recorder.wait(timeout=30) == 0, stderr
        child, status = target.stdout.read().split()[1:]
        assert (status, target.wait(timeout=30)) == ("5", 3)
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    first, second = sorted((int(child), target.pid))
    assert (f"ktr: 2 processes exited with exit status unknown (pid {first}, {second}): "
            "recorded without ptrace, only a process's parent can wait for it\n") in stderr
    end = _end_of(trace)
    assert end.status == -1
    assert end.flags == EndFlag.EXIT_STATUS_UNKNOWN
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    assert "ended; exit status unknown of processes not the recorder's children" in text


@pytest.mark.parametrize("follow", [True, False], ids=["-i", "no-children"])
def test_a_started_commands_status_is_known_its_childrens_are_not(
        tmp_path: Path, follow: bool) -> None:
    trace = tmp_path / "command.ktr"
    done = subprocess.run([KTR, "record", "-t", "w", *(["-i"] if follow else []),
                           "-o", str(trace), "--", "sh", "-c", "(exit 5) & wait; exit 3"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 3, done.stderr
    end = _end_of(trace)
    assert end.status == 3
    said = re.search(r"ktr: 1 process exited with exit status unknown \(pid \d+\)",
                     done.stderr)
    if follow:
        assert said, done.stderr
        assert end.flags == EndFlag.EXIT_STATUS_UNKNOWN
    else:
        assert not said and "unknown" not in done.stderr
        assert end.flags == EndFlag.NONE


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["INT", "TERM"])
def test_a_signal_once_the_output_is_open_is_a_stop_not_a_traceback(
        tmp_path: Path, stop_signal: signal.Signals) -> None:
    """Without ptrace, BEGIN is out before the run starts: a signal between the two (held
    there by the test hook) ends the recording as one during the run does (Python's
    KeyboardInterrupt made it exit 130 with no END, a race seen under load)."""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "early.ktr"
    target = subprocess.Popen(["sleep", "30"])
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "-t", "w", "-p", str(target.pid), "-o", str(out)],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"output={hold}"})
    try:
        with open(hold, "wb"):  # returns once the recorder holds there
            recorder.send_signal(stop_signal)
        _, stderr = recorder.communicate(timeout=20)
        assert recorder.returncode == 0, stderr
        assert "Traceback" not in stderr and stderr.count("\n") <= 1, stderr
        assert target.poll() is None  # an attached target is let go, never killed
    finally:
        target.kill()
        target.wait()
        recorder.kill()
        recorder.wait()
    with ktrdump.open(str(out)) as reader:
        kinds = [record.kind for record in reader]
    assert kinds[0] == RecordKind.BEGIN and kinds[-1] == RecordKind.END
