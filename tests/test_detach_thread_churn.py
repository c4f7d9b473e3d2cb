"""Ctrl-C on ``ktr record -p`` of a process whose threads (and, with -i, child
processes) come and go without end.

Threads exit while the recorder detaches (its PTRACE_INTERRUPT finds them
exiting, their exit stops and reaps come during the release): no traceback,
every thread in the trace counted once in END and the summary, each with a
record that starts it (ATTACH, or the CLONE or FORK that made it; none for one
that died as it was seized) and one that ends it (its EXIT or DETACH), none
lost; afterwards the process runs on untouched: no thread traced or left
stopped (/proc's TracerPid 0, State not t/T), and it still makes threads.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

import ktrdump
from formats import End, Proc, ProcEvent, RecordKind
from ktr._control import Control, ControlOptions
from ktr._events import Event, Lifecycle, ProcessEvent, SyscallEntry
from ktr._recorder import SETUP_HOLD_TEST_ENV

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
NR_EXIT = 60

#: Two threads create and join threads (with an argument, one of them forks and
#: waits for children instead), a third creates detached ones, without end; the
#: main thread prints its pid, then answers each line on its standard input with
#: the count of threads and children made so far.
CHURN = r"""
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
static atomic_long made;
static void *brief(void *unused) { (void)unused; getppid(); return NULL; }
static void *joined(void *unused) {
    (void)unused;
    for (;;) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, brief, NULL) == 0) {
            pthread_join(thread, NULL);
            made++;
        }
    }
    return NULL;
}
static void *forker(void *unused) {
    (void)unused;
    for (;;) {
        pid_t child = fork();
        if (child == 0) {
            getppid();
            _exit(0);
        }
        if (child > 0) {
            waitpid(child, NULL, 0);
            made++;
        }
    }
    return NULL;
}
static void *detached(void *unused) {
    pthread_attr_t attributes;
    (void)unused;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    for (;;) {
        pthread_t thread;
        if (pthread_create(&thread, &attributes, brief, NULL) == 0) made++;
        sched_yield();
    }
    return NULL;
}
int main(int argc, char **argv) {
    pthread_t a, b, c;
    char line[16];
    (void)argv;
    pthread_create(&a, NULL, joined, NULL);
    pthread_create(&b, NULL, argc > 1 ? forker : joined, NULL);
    pthread_create(&c, NULL, detached, NULL);
    printf("%d\n", (int)getpid());
    fflush(stdout);
    while (fgets(line, sizeof line, stdin) != NULL) {
        printf("%ld\n", (long)made);
        fflush(stdout);
    }
    return 0;
}
"""


def _status(pid: int, tid: str) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/task/{tid}/status").read_text()
    except OSError:
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


class _Churn:
    def __init__(self, command: list[str]) -> None:
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.pid = int(self.process.stdout.readline())

    def made(self) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("?\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def tracer(self) -> int:
        return int(_status(self.pid, str(self.pid)).get("TracerPid", "-1"))


@pytest.mark.parametrize(("while_traced", "children"), [(10, False), (60, False), (30, True)])
def test_ctrl_c_while_threads_come_and_go(tmp_path: Path, while_traced: int,
                                          children: bool) -> None:
    """With ``children``, processes too: forked, followed (-i), exiting, reaped."""
    program = str(build_program(tmp_path, "churn", CHURN, "-O1", "-pthread"))
    churn = _Churn([program, "fork"] if children else [program])
    try:
        trace = tmp_path / "churn.ktr"
        follow = ["-i"] if children else []
        # Held once its targets are and its output open (the test hook), then let go:
        # the Ctrl-C below must come once the recording has begun, however long the
        # attach to a churning process takes (before, it is "nothing recorded").
        hold = tmp_path / "hold"
        os.mkfifo(hold)
        recorder = subprocess.Popen([KTR, "record", "-o", str(trace), *follow,
                                     "-p", str(churn.pid)], stderr=subprocess.PIPE, text=True,
                                    env={**os.environ, SETUP_HOLD_TEST_ENV: f"output={hold}"})
        with open(hold, "wb") as release:  # (opens once the recorder is at the hold)
            release.write(b"x")
        while churn.tracer() != recorder.pid:
            assert recorder.poll() is None
            os.sched_yield()
        first = churn.made()
        while churn.made() < first + while_traced:
            pass
        recorder.send_signal(signal.SIGINT)
        _, err = recorder.communicate(timeout=60)
        assert recorder.returncode == 0, err
        assert "Traceback" not in err
        assert "ktr: recording stopped: interrupted by SIGINT" in err

        # No thread traced or stopped; the process goes on making threads.
        for tid in os.listdir(f"/proc/{churn.pid}/task"):
            status = _status(churn.pid, tid)
            if status:
                assert status["TracerPid"] == "0", (tid, status)
                assert status["State"][0] not in "tT", (tid, status)
        after = churn.made()
        while churn.made() <= after:
            pass

        with ktrdump.open(str(trace)) as reader:
            records = list(reader)
        end = records[-1].payload
        assert isinstance(end, End)
        tids = {r.tid for r in records if r.pid}
        pids = {r.pid for r in records if r.pid}
        assert (pids == {churn.pid}) is not children
        # (the main process, and any child alive at the detach, left running)
        assert (end.processes, end.threads, end.lost) == (len(pids), len(tids), 0)
        assert end.detached >= 1 if children else end.detached == 1
        summary = re.search(r"; (\d+) process(?:es)?, (\d+) threads; (\d+) detached$",
                            err.strip())
        assert summary is not None, err
        assert tuple(map(int, summary.groups())) == (len(pids), len(tids), end.detached)
        starts: dict[int, int] = {}
        ends: dict[int, int] = {}
        for record in records:
            if record.kind != RecordKind.PROC:
                continue
            proc = record.payload
            assert isinstance(proc, Proc)
            assert proc.event != ProcEvent.LOST
            if proc.event == ProcEvent.ATTACH:
                starts[record.tid] = starts.get(record.tid, 0) + 1
            elif proc.event in (ProcEvent.CLONE, ProcEvent.FORK):
                starts[proc.child] = starts.get(proc.child, 0) + 1
            elif proc.event in (ProcEvent.EXIT, ProcEvent.DETACH):
                ends[record.tid] = ends.get(record.tid, 0) + 1
        # A thread seized as it exited, whose death came before any stop, has its
        # EXIT alone (ATTACH is made at a thread's first stop).
        for tid in tids - set(starts):
            # (its EMUL, the thread's ABI, may come with it)
            alone = [r for r in records if r.tid == tid and r.kind != RecordKind.EMUL]
            assert len(alone) == 1 and alone[0].kind == RecordKind.PROC, alone
            assert alone[0].payload.event == ProcEvent.EXIT  # type: ignore[union-attr]
        assert set(starts) <= tids and set(ends) == tids
        assert set(starts.values()) == {1} and set(ends.values()) == {1}
        assert len(tids) > while_traced
    finally:
        churn.process.kill()
        churn.process.wait()


#: After a line on its standard input, a thread calls exit(2); the leader then
#: sleeps reading its standard input. Prints its pid first.
THREAD_EXITS = r"""
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
static void *leave(void *unused) { (void)unused; syscall(SYS_exit, 0); return NULL; }
int main(void) {
    pthread_t thread;
    char line[16];
    printf("%d\n", (int)getpid());
    fflush(stdout);
    if (fgets(line, sizeof line, stdin) == NULL) return 2;
    pthread_create(&thread, NULL, leave, NULL);
    read(0, line, sizeof line);
    return 0;
}
"""


def test_a_thread_at_its_exit_stop_when_the_detach_begins_ends_once(tmp_path: Path) -> None:
    """The stop request comes as a thread enters exit(2): the release begins before
    its exit stop, where it is let go. Its EXIT is its end (the call ended there):
    no DETACH after it, which ended its call a second time (RET unfinished twice)."""
    program = str(build_program(tmp_path, "leave", THREAD_EXITS, "-O1", "-pthread"))
    target = subprocess.Popen([program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert target.stdin is not None and target.stdout is not None
        pid = int(target.stdout.readline())
        control = Control(ControlOptions())
        control.attach([pid])
        target.stdin.write("go\n")
        target.stdin.flush()
        events: list[Event] = []

        def consumer(event: Event) -> None:
            events.append(event)
            if (isinstance(event, SyscallEntry) and event.tracee.tid != pid
                    and event.nr == NR_EXIT):
                control.request_stop("a thread exits")

        result = control.run(consumer)
        assert result.stop_reason == "a thread exits" and result.lost == 0
        thread = next(e.tracee.tid for e in events if isinstance(e, SyscallEntry)
                      and e.nr == NR_EXIT)
        ends = [(e.kind, e.tracee.tid) for e in events if isinstance(e, ProcessEvent)
                and e.kind in (Lifecycle.EXIT, Lifecycle.DETACH)]
        assert sorted(ends, key=lambda end: end[1] != thread) == [
            (Lifecycle.EXIT, thread), (Lifecycle.DETACH, pid)]
        assert result.detached == 1
        # The leader runs on untraced, asleep in its read.
        assert _status(pid, str(pid))["TracerPid"] == "0"
        assert _status(pid, str(pid))["State"][0] == "S"
        assert os.listdir(f"/proc/{pid}/task") == [str(pid)]
    finally:
        target.kill()
        target.wait()
