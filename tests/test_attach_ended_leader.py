"""Attaching to a process whose main thread has ended (pthread_exit) while another runs,
and to one that has ended altogether (a zombie).

The leader is then a zombie until the process's last thread ends, and PTRACE_SEIZE
refuses a zombie (EPERM): ``ktr record -p PID`` refused the whole live process
("permission denied (the process is exiting)"), and since ktr takes a thread id for
its whole process there was no way to record it. The running threads are traced
now (their memory read through a live thread's /proc/TID/mem: the zombie's reads
nothing), and the process's end is the leader's EXIT, as strace -f shows it: one
``+++ exited`` line for the worker, one for the leader. Oracles: the bytes the
test sends, and the exit status the program's own parent (the test) reaps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from control_support import proc_state, tracer_of, wait_until

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

PROGRAM = r"""
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
static void *worker(void *unused) {
    char byte;
    (void)unused;
    while (read(0, &byte, 1) == 1 && byte != 'q')
        write(1, &byte, 1);
    exit(3);
}
int main(void) {
    pthread_t thread;
    pthread_create(&thread, 0, worker, 0);
    pthread_exit(0);
}
"""


def test_a_process_whose_leader_has_ended_is_recorded(tmp_path: Path) -> None:
    program = build_program(tmp_path, "ended", PROGRAM, "-pthread")
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE)
    out = tmp_path / "ended.ktr"
    recorder = None
    try:
        wait_until(lambda: proc_state(target.pid) == "Z"
                   and len(os.listdir(f"/proc/{target.pid}/task")) == 2,
                   "the leader ended, its worker running")
        (worker,) = [int(t) for t in os.listdir(f"/proc/{target.pid}/task")
                     if int(t) != target.pid]
        recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(out), "-p",
                                     str(target.pid)], stderr=subprocess.PIPE, text=True)
        wait_until(lambda: tracer_of(worker) == recorder.pid or recorder.poll() is not None,
                   "the worker attached")
        assert target.stdin is not None
        target.stdin.write(b"xxq")
        target.stdin.close()
        _, stderr = recorder.communicate(timeout=30)
        assert target.wait(timeout=30) == 3
    finally:
        target.kill()
        target.wait()
        if recorder is not None:
            recorder.kill()
            recorder.wait()
    assert recorder.returncode == 0, stderr
    records = [json.loads(line) for line in subprocess.run(
        [*KTRDUMP, "--json", str(out)], capture_output=True, text=True, check=True,
        timeout=60).stdout.splitlines()]
    writes = [r for r in records if r["type"] == "CALL" and r["syscall"] == "write"]
    assert len(writes) == 2 and {r["tid"] for r in writes} == {worker}
    strace = subprocess.run([*KTRDUMP, "--format", "strace", str(out)], capture_output=True,
                            text=True, check=True, timeout=60).stdout.splitlines()
    # the worker's memory is read (the zombie leader's /proc/PID/mem reads nothing)
    calls = [line.split(None, 2)[2].rsplit(" <", 1)[0] for line in strace
             if " read(0" in line or " write(1" in line]
    assert calls == ['read(0, "x", 1) = 1', 'write(1, "x", 1) = 1'] * 2 + [
        'read(0, "q", 1) = 1'], strace
    exits = [line.split()[0] for line in strace if "+++ exited with 3 +++" in line]
    assert exits == [str(worker), str(target.pid)], strace  # each once, the leader last
    assert records[-1]["type"] == "END"


def test_without_ptrace_the_ended_leader_is_not_a_thread_lost(tmp_path: Path) -> None:
    """``-t w`` (perf events, no ptrace) watched the worker, but counted the zombie
    leader as a thread "not watched (ended while ktr attached)": it ended before."""
    program = build_program(tmp_path, "ended", PROGRAM, "-pthread")
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL)
    out = tmp_path / "switches.ktr"
    try:
        wait_until(lambda: proc_state(target.pid) == "Z"
                   and len(os.listdir(f"/proc/{target.pid}/task")) == 2,
                   "the leader ended, its worker running")
        (worker,) = [int(t) for t in os.listdir(f"/proc/{target.pid}/task")
                     if int(t) != target.pid]
        recorder = subprocess.Popen([*KTR, "record", "-o", str(out), "-t", "w", "-p",
                                     str(target.pid)], stderr=subprocess.PIPE, text=True)
        wait_until(lambda: (out.exists() and out.stat().st_size > 0)
                   or recorder.poll() is not None, "the recording begun")
        assert target.stdin is not None
        for _ in range(3):  # the worker blocks in read between bytes: switches
            target.stdin.write(b"x")
            target.stdin.flush()
        target.stdin.write(b"q")
        target.stdin.close()
        assert target.wait(timeout=30) == 3
        _, stderr = recorder.communicate(timeout=30)
    finally:
        target.kill()
        target.wait()
    assert recorder.returncode == 0, stderr
    assert "not watched" not in stderr and "lost" not in stderr, stderr
    records = [json.loads(line) for line in subprocess.run(
        [*KTRDUMP, "--json", str(out)], capture_output=True, text=True, check=True,
        timeout=60).stdout.splitlines()]
    assert {r["tid"] for r in records if r["type"] == "CSW"} == {worker}


@pytest.mark.parametrize("facilities", ["c", "w"], ids=["ptrace", "perf"])
def test_a_zombie_is_said_to_have_exited(tmp_path: Path, facilities: str) -> None:
    """A process that has exited and is not yet waited for: ptrace said "permission
    denied (the process is exiting)", perf events "no such process"; both say it has
    exited now, status 1, nothing recorded. Oracle: its state and its parent's wait."""
    child = os.fork()
    if child == 0:
        os._exit(0)
    try:
        wait_until(lambda: proc_state(child) == "Z", "the child a zombie")
        out = tmp_path / "zombie.ktr"
        done = subprocess.run([*KTR, "record", "-q", "-t", facilities, "-o", str(out),
                               "-p", str(child)], capture_output=True, text=True, timeout=60)
    finally:
        _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert done.returncode == 1
    assert done.stderr == (f"ktr: pid {child}: the process has exited (a zombie: its parent "
                           "has not waited for it)\n")
    assert not out.exists()
