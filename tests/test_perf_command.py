"""``ktr record -t w -- CMD`` (and ``-t S``): a started command without ptrace.

The command is held before its exec while its perf events are opened (enabled
by its exec), then runs with no ptrace stop at all. Oracles: C programs
compiled here report their own ``TracerPid`` (``/proc/self/status``) and each
thread's ``getrusage(RUSAGE_THREAD)`` switch counts; their exit statuses;
the ptrace path's messages for the same failures; ``ktrdump --format folded``
for where samples unwind to.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import formats
import ktrdump
from formats import EndFlag, RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

FAMILY = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void naps(int count) {
    struct timespec nap = {0, 200000};
    for (int i = 0; i < count; i++) nanosleep(&nap, 0);
}

static long switches(void) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_nvcsw + usage.ru_nivcsw;
}

static long tracer(void) {
    char line[256];
    long pid = -1;
    FILE *status = fopen("/proc/self/status", "r");
    while (status && fgets(line, sizeof line, status))
        if (strncmp(line, "TracerPid:", 10) == 0) pid = atol(line + 10);
    if (status) fclose(status);
    return pid;
}

/* A thread's whole life: its switches counted by the kernel from its creation. */
static void *thread_main(void *arg) {
    naps(ROUNDS);
    printf("thread %ld %ld\n", (long)syscall(SYS_gettid), switches());
    fflush(stdout);
    return arg;
}

int main(int argc, char **argv) {
    if (argc > 1) {  /* the child, after its exec: all of its life since the fork */
        naps(ROUNDS);
        printf("child %ld %ld %ld\n", (long)getpid(), switches(), tracer());
        fflush(stdout);
        return 0;
    }
    long before = switches();  /* the switches of the recorder's child before the exec */
    printf("tracer %ld %ld\n", (long)getpid(), tracer());
    fflush(stdout);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], 0, thread_main, 0);
    for (int i = 0; i < 2; i++) pthread_join(threads[i], 0);
    pid_t child = fork();
    if (child == 0) {
        execl(argv[0], "family", "child", (char *)0);  /* (ktr gives the path) */
        _exit(99);
    }
    int status;
    waitpid(child, &status, 0);
    naps(ROUNDS);
    printf("main %ld %ld\n", (long)getpid(), switches() - before);
    fflush(stdout);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 7 : 1;
}
"""

ROUNDS = 40


def _compile(directory: Path, name: str, source: str, *flags: str) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    (directory / f"{name}.c").write_text(source)
    binary = directory / name
    subprocess.run([compiler, *flags, "-pthread", "-o", str(binary),
                    str(directory / f"{name}.c")], check=True, capture_output=True)
    return binary


@pytest.fixture(scope="module")
def family(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _compile(tmp_path_factory.mktemp("perf_command"), "family", FAMILY, "-O1",
                    f"-DROUNDS={ROUNDS}")


def _records(path: Path) -> list[formats.Record]:
    with ktrdump.open(str(path)) as reader:
        records = list(reader)
        assert reader.skipped_batches == 0
    return records


def _switch_outs(records: list[formats.Record]) -> Counter[tuple[int, int]]:
    return Counter((r.pid, r.tid) for r in records
                   if isinstance(r.payload, formats.Csw) and r.payload.out)


@pytest.mark.parametrize("children", [True, False], ids=["i", "no-i"])
def test_switches_of_threads_and_children_match_their_rusage_without_ptrace(
        family: Path, tmp_path: Path, children: bool) -> None:
    """Every thread's switch-outs are its own getrusage count (the main
    thread's from its first instruction in main; a new thread's and the exec'd
    child's from their creation), plus at most the few after its last count;
    nothing traces the command or its child; its exit status is ktr's."""
    trace = tmp_path / "family.ktr"
    done = subprocess.run([KTR, "record", "-q", "-t", "w", *(["-i"] if children else []),
                           "-o", str(trace), "--", str(family)],
                          capture_output=True, timeout=60)
    assert done.returncode == 7, done.stderr
    lines = [line.split() for line in done.stdout.decode().splitlines()]
    pid = int(next(f[1] for f in lines if f[0] == "tracer"))
    assert [f[-1] for f in lines if f[0] in ("tracer", "child")] == ["0", "0"]  # TracerPid
    expected = {(pid, int(f[1])): int(f[2]) for f in lines if f[0] == "thread"}
    expected[(pid, pid)] = int(next(f[2] for f in lines if f[0] == "main"))
    child = next(f for f in lines if f[0] == "child")
    if children:
        expected[(int(child[1]), int(child[1]))] = int(child[2])
    records = _records(trace)
    outs = _switch_outs(records)
    assert set(outs) == set(expected)
    for thread, count in expected.items():
        assert count >= ROUNDS - 5
        # (after its last count: the thread's exit, a preemption while printing)
        assert count <= outs[thread] <= count + 5, (thread, count, outs[thread])
    # Nothing of ktr's own child before the exec: every switch has the command's name.
    assert {r.comm for r in records if r.kind == RecordKind.CSW} == {b"family"}
    assert not any(r.kind == RecordKind.PROC for r in records)
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert not end.flags & EndFlag.STOPPED_EARLY
    assert (end.status, end.processes, end.threads, end.lost, end.detached) == (
        7, 2 if children else 1, 4 if children else 3, 0, 0)


BURNER = r"""
static volatile unsigned long sink;
__attribute__((noinline)) void leaf(void) {
    for (unsigned long k = 0; k < 200000000UL; k++) sink += k;
}
int main(void) { leaf(); return 5; }
"""


def test_samples_of_a_started_command_unwind_to_main_without_ptrace(tmp_path: Path) -> None:
    burner = _compile(tmp_path, "burner", BURNER, "-O2", "-fomit-frame-pointer")
    trace = tmp_path / "burner.ktr"
    done = subprocess.run([KTR, "record", "-q", "-t", "S", "-F", "499", "-o", str(trace),
                           "--", str(burner)], capture_output=True, timeout=60)
    assert done.returncode == 5, done.stderr
    records = _records(trace)
    samples = [r for r in records if r.kind == RecordKind.SAMPLE]
    assert len(samples) >= 20
    assert {r.comm for r in samples} == {b"burner"}  # none of ktr's before the exec
    folded = subprocess.run([KTRDUMP, "--format", "folded", str(trace)], capture_output=True,
                            text=True, timeout=60, check=True)
    stacks = Counter[str]()
    for line in folded.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] += int(count)
    whole = sum(n for stack, n in stacks.items() if re.match(r"burner;_start;.*;main;leaf$",
                                                             stack))
    assert whole >= 0.9 * sum(stacks.values()), stacks.most_common(5)
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert (end.status, end.processes, end.threads) == (5, 1, 1)


@pytest.mark.parametrize("command", ["missing", "not-elf"])
def test_a_command_that_cannot_run_fails_as_under_ptrace(tmp_path: Path,
                                                         command: str) -> None:
    """The same one-line error and exit status as the ptrace path (-t wp)."""
    if command == "not-elf":
        path = tmp_path / "not-elf"
        path.write_text("no program\n")
        path.chmod(0o755)
    results = []
    for facilities in ("w", "wp"):
        trace = tmp_path / f"{facilities}.ktr"
        done = subprocess.run([KTR, "record", "-t", facilities, "-o", str(trace), "--",
                               f"./{command}"], capture_output=True, text=True, timeout=60,
                              cwd=tmp_path)
        first = done.stderr.splitlines()[0]
        results.append((done.returncode, first, trace.exists()))
    assert results[0] == results[1]
    # (a trace either way: BEGIN, the failed execve, END; 127 and 126 as sh's)
    if command == "missing":
        assert results[0] == (127, "ktr: ./missing: no such file or directory", True)
        status, reason = 127, b"./missing: no such file or directory"
    else:
        assert results[0] == (126, "ktr: cannot execute ./not-elf: Exec format error", True)
        status, reason = 126, b"cannot execute ./not-elf: Exec format error"
    end = _records(tmp_path / "w.ktr")[-1].payload
    assert isinstance(end, formats.End)
    assert (end.status, end.reason) == (status, reason)


WAITER = r"""
#include <stdio.h>
#include <unistd.h>
int main(void) {
    printf("ready %ld\n", (long)getpid());
    fflush(stdout);
    pause();
    return 0;
}
"""


@pytest.mark.parametrize("how", ["SIGINT to the group", "SIGTERM to ktr",
                                 "SIGTERM to ktr, -i child"])
def test_signals_reach_or_kill_the_command_as_under_ptrace(tmp_path: Path, how: str) -> None:
    """The terminal's Ctrl-C (the whole process group) is the command's: it
    dies of it and ktr reports 130; a SIGTERM to ktr stops the recording and
    kills the command (137), and with -i its children, as the ptrace path does."""
    waiter = _compile(tmp_path, "waiter", WAITER, "-O1")
    trace = tmp_path / "waiter.ktr"
    arguments = ["-t", "w", "-o", str(trace), "--", str(waiter)]
    if how.endswith("-i child"):  # the waiter is the shell's child
        arguments = ["-t", "w", "-i", "-o", str(trace), "--", "/bin/sh", "-c",
                     f"{waiter}; echo not-killed"]
    recorder = subprocess.Popen([KTR, "record", "-q", *arguments], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
    pidfd = -1
    try:
        assert recorder.stdout is not None
        word, pid = recorder.stdout.readline().split()
        assert word == b"ready"
        pidfd = os.pidfd_open(int(pid))
        if how == "SIGINT to the group":
            os.killpg(recorder.pid, signal.SIGINT)
        else:
            recorder.send_signal(signal.SIGTERM)
        stdout, stderr = recorder.communicate(timeout=30)
        # The waiter has exited (its pidfd readable) once ktr has.
        assert select.select([pidfd], [], [], 0)[0] == [pidfd]
    finally:
        if pidfd >= 0:
            os.close(pidfd)
        if recorder.poll() is None:
            os.killpg(recorder.pid, signal.SIGKILL)
            recorder.wait()
    assert stdout == b""  # (the shell did not go on either)
    end = _records(trace)[-1].payload
    assert isinstance(end, formats.End)
    if how == "SIGINT to the group":
        # The command died of the SIGINT (its own to act on): ktr dies of it too.
        assert (recorder.returncode, stderr) == (-signal.SIGINT, b"")
        assert (end.status, end.flags & EndFlag.STOPPED_EARLY) == (130, 0)
    else:
        assert recorder.returncode == -signal.SIGTERM  # (ktr's own stop: 143, as perf)
        assert stderr == b""  # (-q: the END says why, as below)
        assert (end.status, end.reason) == (137, b"interrupted by SIGTERM")
