"""Ctrl-C on ``ktr record -p`` of a process whose threads come and go without end.

Threads exit while the recorder detaches (its PTRACE_INTERRUPT finds them
exiting, their exit stops and reaps come during the release): no traceback,
every thread in the trace counted once in END and the summary, each with a
record that starts it (ATTACH, or the CLONE that made it) and one that ends it
(its EXIT or DETACH), none lost; afterwards the process runs on untouched:
no thread traced or left stopped (/proc's TracerPid 0, State not t/T), and
it still makes threads.
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

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")

#: Two threads create and join threads, a third creates detached ones, without
#: end; the main thread prints its pid, then answers each line on its standard
#: input with the count of threads made so far.
CHURN = r"""
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
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
int main(void) {
    pthread_t a, b, c;
    char line[16];
    pthread_create(&a, NULL, joined, NULL);
    pthread_create(&b, NULL, joined, NULL);
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
    def __init__(self, program: str) -> None:
        self.process = subprocess.Popen([program], stdin=subprocess.PIPE,
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


@pytest.mark.parametrize("while_traced", [10, 60])
def test_ctrl_c_while_threads_come_and_go(tmp_path: Path, while_traced: int) -> None:
    program = str(build_program(tmp_path, "churn", CHURN, "-O1", "-pthread"))
    churn = _Churn(program)
    try:
        trace = tmp_path / "churn.ktr"
        recorder = subprocess.Popen([KTR, "record", "-o", str(trace), "-p", str(churn.pid)],
                                    stderr=subprocess.PIPE, text=True)
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
        tids = {r.tid for r in records if r.pid == churn.pid}
        assert (end.processes, end.threads, end.lost, end.detached) == (1, len(tids), 0, 1)
        summary = re.search(r"; 1 process, (\d+) threads; 1 detached$", err.strip())
        assert summary is not None and int(summary.group(1)) == len(tids), err
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
            elif proc.event == ProcEvent.CLONE:
                starts[proc.child] = starts.get(proc.child, 0) + 1
            elif proc.event in (ProcEvent.EXIT, ProcEvent.DETACH):
                ends[record.tid] = ends.get(record.tid, 0) + 1
        assert set(starts) == tids and set(ends) == tids
        assert set(starts.values()) == {1} and set(ends.values()) == {1}
        assert len(tids) > while_traced
    finally:
        churn.process.kill()
        churn.process.wait()
