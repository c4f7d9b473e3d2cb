"""``ktr record -p TID`` where TID is not its process's first thread.

strace -p TID traces that one thread (strace -f -p TID all of them; checked on
this machine). ktr traces whole processes, as ktrace: -p TID records every
thread of TID's process, says so in one line on stderr (and in --help), and
``ktrdump -p TID`` shows that thread alone. A real threaded C program.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from control_support import tracer_of, wait_until

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

#: The worker prints its tid, then both threads wait on stdin's line: main reads
#: it, wakes the worker through a pipe, which calls getppid and ends the process.
SOURCE = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
static int wake[2];
static void *worker(void *arg) {
    char byte;
    printf("%ld\n", (long)syscall(SYS_gettid));
    fflush(stdout);
    if (read(wake[0], &byte, 1) != 1) abort();
    getppid();
    exit(0);
    return arg;
}
int main(void) {
    pthread_t thread;
    char byte;
    if (pipe(wake)) abort();
    pthread_create(&thread, 0, worker, 0);
    if (read(0, &byte, 1) != 1) abort();
    if (write(wake[1], &byte, 1) != 1) abort();
    pthread_join(thread, 0);
    return 1;
}
"""


@pytest.fixture
def program(tmp_path: Path) -> Path:
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.skip("gcc is needed")
    source = tmp_path / "threads.c"
    source.write_text(SOURCE)
    binary = tmp_path / "threads"
    subprocess.run([compiler, "-O1", "-pthread", "-o", str(binary), str(source)], check=True)
    return binary


def test_a_thread_id_records_its_whole_process_and_says_so(program: Path,
                                                          tmp_path: Path) -> None:
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    assert target.stdin is not None and target.stdout is not None
    try:
        tid = int(target.stdout.readline())
        assert tid != target.pid
        trace = tmp_path / "t.ktr"
        recorder = subprocess.Popen([KTR, "record", "-q", "-o", str(trace), "-p", str(tid)],
                                    stderr=subprocess.PIPE, text=True)
        wait_until(lambda: tracer_of(tid) == recorder.pid == tracer_of(target.pid),
                   "ktr attached to both threads")
        target.stdin.write("x")
        target.stdin.flush()
        assert target.wait(timeout=30) == 0
        _, err = recorder.communicate(timeout=60)
    finally:
        target.kill()
        target.wait()
    assert recorder.returncode == 0, err
    assert err.splitlines()[0] == (
        f"ktr: -p {tid} is a thread of process {target.pid}: recording every thread of "
        f"{target.pid} (ktr traces whole processes; ktrdump -p {tid} shows that thread "
        "alone)")
    every = subprocess.run([KTRDUMP, "-H", str(trace)], capture_output=True, text=True,
                           check=True).stdout.splitlines()
    tids = {int(line.split()[1]) for line in every if line.split()[0] == str(target.pid)}
    assert tids == {target.pid, tid}
    alone = subprocess.run([KTRDUMP, "-H", "-p", str(tid), str(trace)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    alone = [line for line in alone if line.split()[:1] == [str(target.pid)]]  # not dumps
    assert alone and {int(line.split()[1]) for line in alone} == {tid}
    assert any("getppid" in line for line in alone)


def test_a_process_id_says_nothing_and_the_help_says_what_a_thread_id_means() -> None:
    done = subprocess.run([KTR, "record", "--help"], capture_output=True, text=True, check=True)
    assert "a thread id means its whole process" in " ".join(done.stdout.split())
    from ktr._recorder import thread_id_notices
    assert thread_id_notices([1]) == []
