"""Threads that die in or at a system call read as ``strace -f`` shows them.

The oracle is strace run on the same C program (compiled here), killed the
same way. Each case compares, thread by thread (the leader, the others), the
lines that end the thread in ``ktrdump --format strace`` with strace's:

- the whole process SIGKILLed while its threads sleep in read(2):
  ``read(3,  <unfinished ...>) = ?`` then ``+++ killed by SIGKILL +++``;
- one thread calls exit_group while the others sleep in read(2): the caller's
  ``exit_group(0) = ?``, the others' ``read(3,  <unfinished ...>) = ?``, each
  ``+++ exited with 0 +++``;
- the leader calls exit(2) while another thread goes on: ``exit(0) = ?`` is
  one line, ended at the leader's exit stop, not when the process ends;
- SIGKILL while the recorder holds a thread at a syscall-entry stop it has
  waited for but not yet read (its PTRACE_GET_SYSCALL_INFO fails with ESRCH,
  or finds the thread gone on to its exit stop): the call is still recorded,
  read from the registers at the exit stop, and ends unfinished. strace cannot
  be made to hit that moment; its line for the same call killed once entered
  is the oracle. The moment is made exact by running ``ktr record`` with the
  adapter's request wrapped to send the SIGKILL first; the same at a fork
  event stop (no child made up from the exit status) and at a signal-delivery
  stop (no SIGTRAP made up from the exit stop's siginfo);
- a tight loop of system calls in two threads SIGKILLed from outside at any
  moment: the invariants (every thread ends killed, none lost, END says so).

Synchronisation is through /proc (a thread asleep in read: syscall 0 and state
S) and pipes, never sleeps.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from c_support import build_program

import ktrdump
from formats import End, ProcEvent, ProcFlag, RecordKind, Syscall, SyscallFlag, Sysret, linux

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
STRACE = shutil.which("strace")

needs_strace = pytest.mark.skipif(STRACE is None, reason="strace is the oracle")

#: Shared by the programs: is thread ``tid`` asleep in read(2)?
BLOCKED_IN_READ = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
static int blocked_in_read(pid_t tid) {
    char path[64], text[256];
    FILE *file;
    int blocked;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    if ((file = fopen(path, "r")) == NULL) return 0;
    blocked = fgets(text, sizeof text, file) != NULL && strncmp(text, "0 ", 2) == 0;
    fclose(file);
    if (!blocked) return 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if ((file = fopen(path, "r")) == NULL) return 0;
    blocked = fgets(text, sizeof text, file) != NULL && strstr(text, ") S ") != NULL;
    fclose(file);
    return blocked;
}
static int fds[2];
static volatile pid_t reader_tid;
static void *reader(void *unused) {
    char c;
    (void)unused;
    reader_tid = (pid_t)syscall(SYS_gettid);
    read(fds[0], &c, 1);
    return NULL;
}
"""

#: Both threads sleep in read(2) until killed; prints its pid first.
KILLED_READERS = BLOCKED_IN_READ + r"""
int main(void) {
    pthread_t thread;
    char c;
    pipe(fds);
    pthread_create(&thread, NULL, reader, NULL);
    printf("%d\n", (int)getpid());
    fflush(stdout);
    read(fds[0], &c, 1);
    return 3;
}
"""

#: Two threads sleep in read(2); the leader then calls exit_group(0).
EXIT_GROUP = BLOCKED_IN_READ + r"""
static volatile pid_t second_tid;
static void *second(void *unused) {
    char c;
    (void)unused;
    second_tid = (pid_t)syscall(SYS_gettid);
    read(fds[0], &c, 1);
    return NULL;
}
int main(void) {
    pthread_t a, b;
    pipe(fds);
    pthread_create(&a, NULL, reader, NULL);
    pthread_create(&b, NULL, second, NULL);
    while (!reader_tid || !second_tid || !blocked_in_read(reader_tid)
           || !blocked_in_read(second_tid))
        sched_yield();
    syscall(SYS_exit_group, 0);
    return 3;
}
"""

#: The leader calls exit(0); the other thread waits until it is a zombie, then
#: calls getppid and exit_group(7).
LEADER_EXITS = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static pid_t leader;
static int leader_gone(void) {
    char path[64], text[256];
    FILE *file;
    int gone;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)leader);
    if ((file = fopen(path, "r")) == NULL) return 0;
    gone = fgets(text, sizeof text, file) != NULL && strstr(text, ") Z ") != NULL;
    fclose(file);
    return gone;
}
static void *run(void *unused) {
    (void)unused;
    while (!leader_gone()) sched_yield();
    getppid();
    syscall(SYS_exit_group, 7);
    return NULL;
}
int main(void) {
    pthread_t thread;
    leader = getpid();
    pthread_create(&thread, NULL, run, NULL);
    syscall(SYS_exit, 0);
    return 3;
}
"""

#: The reader thread sleeps in read(2); then the leader, renamed "victim",
#: enters read(3, buf, 2): the recorder's wrapped request kills it there.
#: Prints its pid first (for the run under strace, killed from outside).
VICTIM = BLOCKED_IN_READ + r"""
int main(void) {
    pthread_t thread;
    char c[2];
    pipe(fds);
    pthread_create(&thread, NULL, reader, NULL);
    while (!reader_tid || !blocked_in_read(reader_tid)) sched_yield();
    printf("%d\n", (int)getpid());
    fflush(stdout);
    prctl(PR_SET_NAME, "victim");
    read(fds[0], c, 2);
    return 3;
}
"""

#: ``python DRIVER MODE STOP ktr-args...``: ktr's command line, with an adapter
#: request wrapped: at the first STOP of the thread named "victim" -- "syscall":
#: the entry stop of read(2) (its PTRACE_GET_SYSCALL_INFO); "fork": a fork or clone
#: event stop (its PTRACE_GETEVENTMSG); "signal": SIGUSR1's delivery stop (its
#: PTRACE_GETSIGINFO) -- it SIGKILLs the process before making the request.
#: MODE "gone": the victim cannot run before the request (it is put on the
#: recorder's CPU, where the recorder runs SCHED_FIFO meanwhile), so the request
#: fails with ESRCH; "exit": the request is made once the victim has gone on to
#: its exit stop. It says on stderr what the request found.
DRIVER = r'''
import contextlib, os, signal, sys
from pathlib import Path

import ktr._ptrace as pt

mode, stop = sys.argv.pop(1), sys.argv.pop(1)
real_info, real_message, real_siginfo = pt.syscall_stop_info, pt.geteventmsg, pt.getsiginfo
done = []
entries = (pt.SYSCALL_INFO_ENTRY, pt.SYSCALL_INFO_SECCOMP)  # (seccomp: the filter's stop)
forks = (pt.PTRACE_EVENT_FORK, pt.PTRACE_EVENT_VFORK, pt.PTRACE_EVENT_CLONE)


def victim(tid):
    return not done and Path(f"/proc/{tid}/comm").read_text().strip() == "victim"


def kill(tid):
    for line in Path(f"/proc/{tid}/status").read_text().splitlines():
        if line.startswith("Tgid:"):
            os.kill(int(line.split()[1]), signal.SIGKILL)


def at_exit_stop(tid):
    try:
        return real_siginfo(tid).code >> 8 == pt.PTRACE_EVENT_EXIT
    except pt.PtraceError:
        return False  # (on its way)


@contextlib.contextmanager
def killed(tid):
    done.append(tid)
    if mode == "exit":
        kill(tid)
        while not at_exit_stop(tid):
            pass
        yield
        return
    saved = os.sched_getaffinity(0)
    cpu = int(Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()[36])
    os.sched_setaffinity(0, {cpu})
    policy, param = os.sched_getscheduler(0), os.sched_getparam(0)
    # Real-time here: the victim, woken by the SIGKILL on this CPU, cannot run
    # before the request (it would reach its exit stop).
    os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
    try:
        os.sched_setaffinity(tid, {cpu})
        kill(tid)
        yield
    finally:
        os.sched_setscheduler(0, policy, param)
        os.sched_setaffinity(0, saved)


def request(function, tid):
    try:
        result = function(tid)
    except pt.PtraceError as error:
        print(f"driver: {os.strerror(error.errno)}", file=sys.stderr)
        raise
    print("driver: at its exit stop" if at_exit_stop(tid) else "driver: ?", file=sys.stderr)
    return result


def syscall_stop_info(tid):
    info = real_info(tid)
    if stop != "syscall" or info[0] not in entries or info[3] != 0 or not victim(tid):
        return info
    with killed(tid):
        return request(real_info, tid)


def geteventmsg(tid):
    if stop != "fork" or not victim(tid) or real_siginfo(tid).code >> 8 not in forks:
        return real_message(tid)
    with killed(tid):
        return request(real_message, tid)


def getsiginfo(tid):
    info = real_siginfo(tid)
    if stop != "signal" or info.signo != signal.SIGUSR1 or not victim(tid):
        return info
    with killed(tid):
        return request(real_siginfo, tid)


def syscall_info_unchecked(op, tid, size, into):
    # The control loop's hot GET_SYSCALL_INFO (pt.syscall_stop_info in pieces):
    # the same kill, then -1 with the request's errno when it failed.
    try:
        syscall_stop_info(tid)
    except pt.PtraceError:
        return -1
    return 0


pt.syscall_stop_info = syscall_stop_info
pt.syscall_info_unchecked = syscall_info_unchecked
pt.geteventmsg = geteventmsg
pt.getsiginfo = getsiginfo
from ktr.cli import main

sys.exit(main(sys.argv[1:]))
'''

_DRIVER_SAW = {"gone": "driver: No such process", "exit": "driver: at its exit stop"}


def _program(tmp_path: Path, name: str, source: str) -> str:
    return str(build_program(tmp_path, name, source, "-O1", "-pthread"))


def _state(pid: int, tid: str) -> tuple[str, str]:
    """(syscall number or "running", state letter) of a thread; ("", "") when gone."""
    try:
        call = Path(f"/proc/{pid}/task/{tid}/syscall").read_text().split()[:1]
        state = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "", ""
    return (call[0] if call else ""), state


def _run_killed_when_reading(command: list[str], threads: int) -> subprocess.CompletedProcess[str]:
    """Run ``command`` (its traced program prints its pid), SIGKILL the program once
    ``threads`` threads of it sleep in read(2) (state S, not a tracer's stop),
    and wait for ``command``."""
    runner = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    assert runner.stdout is not None
    pid = int(runner.stdout.readline())
    deadline = time.monotonic() + 10
    while True:
        tids = os.listdir(f"/proc/{pid}/task")
        if len(tids) == threads and all(_state(pid, tid) == ("0", "S") for tid in tids):
            break
        assert time.monotonic() < deadline, "never blocked in read"
        os.sched_yield()
    os.kill(pid, signal.SIGKILL)
    out, err = runner.communicate(timeout=60)
    return subprocess.CompletedProcess(command, runner.returncode, out, err)


def _normal(line: str) -> str:
    """A strace line without what differs from run to run: time stamps, durations,
    the alignment before ``=``, addresses."""
    line = re.sub(r"^\d+\.\d+ +", "", line)
    line = re.sub(r" <\d+\.\d+>$", "", line)
    line = re.sub(r"\) +=", ") =", line)
    return re.sub(r"0x[0-9a-f]+", "0x_", line)


def _files(prefix: Path) -> dict[int, list[str]]:
    """``-ff`` output: each thread's lines, by tid."""
    return {int(path.name.rsplit(".", 1)[1]): [_normal(line) for line in
                                               path.read_text().splitlines()]
            for path in prefix.parent.glob(prefix.name + ".*")}


def _by_role(files: dict[int, list[str]], leader: int) -> tuple[list[str], list[list[str]]]:
    """(the leader's lines, the other threads' lines sorted)."""
    return files[leader], sorted(lines for tid, lines in files.items() if tid != leader)


def _leader(files: dict[int, list[str]]) -> int:
    """The process's leader: the lowest tid (its threads are created after it)."""
    return min(files)


def _ours_ff(trace: Path, prefix: Path) -> dict[int, list[str]]:
    subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o", str(prefix), str(trace)],
                   check=True, capture_output=True, timeout=60)
    return _files(prefix)


def _records(trace: Path) -> list[ktrdump.Record]:
    with ktrdump.open(str(trace)) as reader:
        return list(reader)


def _end(records: list[ktrdump.Record]) -> End:
    end = records[-1].payload
    assert isinstance(end, End)
    return end


def _name(record: ktrdump.Record) -> str | None:
    payload = record.payload
    assert isinstance(payload, (Syscall, Sysret))
    return linux.syscall_name(payload.abi, payload.nr)


@needs_strace
def test_threads_killed_in_read_end_as_in_strace(tmp_path: Path) -> None:
    program = _program(tmp_path, "killed", KILLED_READERS)
    trace = tmp_path / "killed.ktr"
    done = _run_killed_when_reading([KTR, "record", "-q", "-o", str(trace), "--", program], 2)
    assert done.returncode == -signal.SIGKILL and "Traceback" not in done.stderr
    assert STRACE is not None
    _run_killed_when_reading([STRACE, "-ff", "-o", str(tmp_path / "s"), program], 2)
    theirs = _files(tmp_path / "s")
    ours = _ours_ff(trace, tmp_path / "k")
    ending = ["read(3,  <unfinished ...>) = ?", "+++ killed by SIGKILL +++"]
    for files in (theirs, ours):
        leader, others = _by_role(files, _leader(files))
        assert leader[-2:] == ending
        assert [lines[-2:] for lines in others] == [ending]
    end = _end(_records(trace))
    assert (end.status, end.processes, end.threads, end.lost) == (137, 1, 2, 0)


@needs_strace
def test_exit_group_ends_the_calls_of_the_other_threads_as_in_strace(tmp_path: Path) -> None:
    program = _program(tmp_path, "exit_group", EXIT_GROUP)
    trace = tmp_path / "exit_group.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert STRACE is not None
    subprocess.run([STRACE, "-ff", "-o", str(tmp_path / "s"), program], check=True,
                   capture_output=True, timeout=60)
    theirs = _files(tmp_path / "s")
    ours = _ours_ff(trace, tmp_path / "k")
    for files in (theirs, ours):
        leader, others = _by_role(files, _leader(files))
        assert leader[-2:] == ["exit_group(0) = ?", "+++ exited with 0 +++"]
        assert [lines[-2:] for lines in others] == [
            ["read(3,  <unfinished ...>) = ?", "+++ exited with 0 +++"]] * 2
    records = _records(trace)
    pid = _leader(ours)
    # The leader's exit_group ends at its exit stop, before the process's EXIT.
    ret = next(r for r in records if r.kind == RecordKind.SYSRET and r.tid == pid
               and _name(r) == "exit_group")
    exit_record = next(r for r in records if r.kind == RecordKind.PROC and r.tid == pid
                       and r.payload.event == ProcEvent.EXIT)  # type: ignore[union-attr]
    assert ret.payload.flags & SyscallFlag.UNFINISHED  # type: ignore[union-attr]
    assert records.index(ret) < records.index(exit_record)
    assert ret.timestamp_ns < exit_record.timestamp_ns
    assert not exit_record.payload.flags & ProcFlag.THREAD  # type: ignore[union-attr]
    end = _end(records)
    assert (end.status, end.processes, end.threads, end.lost) == (0, 1, 3, 0)


@needs_strace
def test_a_leader_that_exits_first_ends_its_call_at_once(tmp_path: Path) -> None:
    program = _program(tmp_path, "leader_exits", LEADER_EXITS)
    trace = tmp_path / "leader.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 7, done.stderr
    ours = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                          text=True, check=True, timeout=60).stdout
    assert STRACE is not None
    log = tmp_path / "strace.log"
    subprocess.run([STRACE, "-f", "-o", str(log), program], capture_output=True, timeout=60)
    theirs = log.read_text()
    # The other thread runs on only once the leader is a zombie: the leader's exit
    # ends before that thread's getppid, in both outputs (ktr ended it when the
    # process ended: "<... exit resumed>) = ?" after "exit_group(7) = ?").
    for text in (ours, theirs):
        pid = int(text.split(None, 1)[0])
        lines = [(int(line.split(None, 1)[0]), _normal(line.split(None, 1)[1]))
                 for line in text.splitlines() if re.match(r"\d+ ", line)]
        ended = next(index for index, (tid, line) in enumerate(lines) if tid == pid
                     and line in ("exit(0) = ?", "<... exit resumed>) = ?"))
        later = next(index for index, (tid, line) in enumerate(lines) if tid != pid
                     and line.startswith("getppid() = "))
        assert ended < later
        assert [line for tid, line in lines if tid == pid][-1] == "+++ exited with 7 +++"
    records = _records(trace)
    pid = records[1].pid
    ret = next(r for r in records if r.kind == RecordKind.SYSRET and r.tid == pid
               and _name(r) == "exit")
    getppid = next(r for r in records if r.kind == RecordKind.SYSCALL and r.tid != pid
                   and _name(r) == "getppid")
    assert records.index(ret) < records.index(getppid)


@needs_strace
@pytest.mark.parametrize("mode", ["gone", "exit"])
@pytest.mark.parametrize("selection", [[], ["-e", "trace=read,prctl"]],
                         ids=["all", "seccomp"])
def test_a_sigkill_at_a_waited_entry_stop_keeps_the_call(tmp_path: Path, mode: str,
                                                         selection: list[str]) -> None:
    """(With -e, the entry stop is the seccomp filter's.)"""
    program = _program(tmp_path, "entry_kill", VICTIM)  # (its name is not "victim")
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    trace = tmp_path / "victim.ktr"
    done = subprocess.run([sys.executable, str(driver), mode, "syscall", "record", "-q",
                           *selection,
                           "-o", str(trace), "--", program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGKILL, done.stderr  # (ktr.cli.main's status)
    # What the recorder's request saw: the thread out of its entry stop (ESRCH) or
    # at its exit stop (op 0, PTRACE_SYSCALL_INFO_NONE).
    assert _DRIVER_SAW[mode] in done.stderr
    assert "Traceback" not in done.stderr
    ours = _ours_ff(trace, tmp_path / "k")
    assert STRACE is not None
    _run_killed_when_reading([STRACE, "-ff", "-o", str(tmp_path / "s"), program], 2)
    theirs = _files(tmp_path / "s")
    ending = ["read(3,  <unfinished ...>) = ?", "+++ killed by SIGKILL +++"]
    for files in (theirs, ours):
        leader, others = _by_role(files, _leader(files))
        assert leader[-2:] == ending
        assert [lines[-2:] for lines in others] == [ending]
    # The call as it was entered: its arguments read at the exit stop.
    records = _records(trace)
    pid = _leader(ours)
    calls = [r for r in records if r.tid == pid and r.kind in (RecordKind.SYSCALL,
                                                               RecordKind.SYSRET)]
    call, ret = calls[-2:]
    assert call.kind == RecordKind.SYSCALL and _name(call) == "read"
    assert call.payload.args[0] == 3 and call.payload.args[2] == 2  # type: ignore[union-attr]
    assert ret.kind == RecordKind.SYSRET and _name(ret) == "read"
    assert ret.payload.flags & SyscallFlag.UNFINISHED  # type: ignore[union-attr]
    # Made at the exit stop, in time order with the records before it.
    assert records[records.index(call) - 1].timestamp_ns <= call.timestamp_ns
    assert call.timestamp_ns <= ret.timestamp_ns
    end = _end(records)
    assert (end.status, end.processes, end.threads, end.lost) == (137, 1, 2, 0)


#: The leader, renamed "victim", forks: the recorder's wrapped request kills it at
#: its fork event stop. The child goes on until its parent is gone, then exits 5.
FORKER = r"""
#include <sched.h>
#include <unistd.h>
#include <sys/prctl.h>
int main(void) {
    pid_t parent = getpid();
    prctl(PR_SET_NAME, "victim");
    if (fork() == 0) {
        while (getppid() == parent) sched_yield();
        _exit(5);
    }
    pause();
    return 3;
}
"""


@pytest.mark.parametrize("mode", ["gone", "exit"])
def test_a_sigkill_at_a_waited_fork_event_stop_makes_no_child_up(tmp_path: Path,
                                                                   mode: str) -> None:
    """The fork event's message read once the parent had gone on to its exit stop
    was its exit status (9) taken for the child's pid: a FORK of "child 9", a
    process 9 registered and then lost, the parent's exit stop resumed unseen. Now
    the parent's clone ends unfinished at its exit (strace -f knows no return value
    for it either); the child is recorded to its exit, and its creation too: the
    parent's FORK names it (found in /proc: the message is lost), before the child's
    first record, so the process tree is whole (it was adopted from its own stops
    with no FORK, no parent)."""
    program = _program(tmp_path, "fork_kill", FORKER)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    trace = tmp_path / "fork.ktr"
    done = subprocess.run([sys.executable, str(driver), mode, "fork", "record", "-q", "-i",
                           "-o", str(trace), "--", program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGKILL, done.stderr
    assert _DRIVER_SAW[mode] in done.stderr
    assert "Traceback" not in done.stderr and "lost" not in done.stderr
    records = _records(trace)
    end = _end(records)
    assert (end.status, end.processes, end.threads, end.lost) == (137, 2, 2, 0)
    parent = records[1].pid
    child = next(r.pid for r in records if r.pid not in (0, parent))
    forks = [r for r in records if r.kind == RecordKind.PROC
             and r.payload.event == ProcEvent.FORK]  # type: ignore[union-attr]
    # The child's creation is recorded all the same, by its parent, before the child's
    # first record: the process tree is whole (it had no FORK, the child no parent).
    assert [(r.pid, r.payload.child) for r in forks] == [(parent, child)]  # type: ignore[union-attr]
    assert records.index(forks[0]) < next(i for i, r in enumerate(records) if r.pid == child)
    tree = subprocess.run([KTRDUMP, str(trace)], check=True, capture_output=True, text=True,
                          timeout=60).stdout
    assert re.search(rf"^ *{parent} .*PROC +fork child {child}\b", tree, re.M), tree
    ours = _ours_ff(trace, tmp_path / "k")
    assert set(ours) == {parent, child}
    assert re.fullmatch(r"clone\(.*<unfinished \.\.\.>\) = \?", ours[parent][-2])
    assert ours[parent][-1] == "+++ killed by SIGKILL +++"
    assert ours[child][-2:] == ["exit_group(5) = ?", "+++ exited with 5 +++"]


#: The leader, renamed "victim", sends itself SIGUSR1 (caught): the recorder's
#: wrapped request kills it at the signal's delivery stop.
SIGNALLED = r"""
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
static void caught(int signo) { (void)signo; }
int main(void) {
    signal(SIGUSR1, caught);
    prctl(PR_SET_NAME, "victim");
    raise(SIGUSR1);
    return 3;
}
"""


@pytest.mark.parametrize("mode", ["gone", "exit"])
def test_a_sigkill_at_a_waited_signal_stop_records_no_other_signal(tmp_path: Path,
                                                                   mode: str) -> None:
    """The siginfo read once the thread had gone on to its exit stop was that stop's
    (SIGTRAP): a PSIG of a SIGTRAP never sent, and the exit stop resumed unseen.
    Now nothing of the signal is recorded (its siginfo is unknown) and the thread
    ends killed."""
    program = _program(tmp_path, "signal_kill", SIGNALLED)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    trace = tmp_path / "signal.ktr"
    done = subprocess.run([sys.executable, str(driver), mode, "signal", "record", "-q",
                           "-o", str(trace), "--", program],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 128 + signal.SIGKILL, done.stderr
    assert _DRIVER_SAW[mode] in done.stderr
    assert "Traceback" not in done.stderr
    records = _records(trace)
    assert not [r for r in records if r.kind == RecordKind.PSIG]
    end = _end(records)
    assert (end.status, end.processes, end.threads, end.lost) == (137, 1, 1, 0)
    ours = _ours_ff(trace, tmp_path / "k")
    (lines,) = ours.values()
    assert re.fullmatch(r"tgkill\(\d+, \d+, SIGUSR1\) = 0", lines[-2])
    assert lines[-1] == "+++ killed by SIGKILL +++"


#: Two threads call getppid(2) without end; prints its pid once both have.
BUSY = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static volatile int started;
static void *spin(void *unused) {
    (void)unused;
    for (;;) { getppid(); started = 1; }
    return NULL;
}
int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, spin, NULL);
    getppid();
    while (!started) getppid();
    printf("%d\n", (int)getpid());
    fflush(stdout);
    for (;;) getppid();
}
"""


def test_a_sigkill_at_any_moment_of_a_busy_process_loses_nothing(tmp_path: Path) -> None:
    program = _program(tmp_path, "busy", BUSY)
    for run in range(3):
        trace = tmp_path / f"busy{run}.ktr"
        runner = subprocess.Popen([KTR, "record", "-q", "-o", str(trace), "--", program],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert runner.stdout is not None
        pid = int(runner.stdout.readline())
        os.kill(pid, signal.SIGKILL)
        _, err = runner.communicate(timeout=60)
        assert runner.returncode == -signal.SIGKILL and "Traceback" not in err, err
        records = _records(trace)
        end = _end(records)
        assert (end.status, end.processes, end.threads, end.lost) == (137, 1, 2, 0)
        tids = {r.tid for r in records if r.pid == pid}
        assert len(tids) == 2
        for tid in tids:
            own = [r for r in records if r.tid == tid]
            # Every call entered has its RET (returned, or unfinished when killed).
            open_call = None
            for record in own:
                if record.kind == RecordKind.SYSCALL:
                    assert open_call is None
                    open_call = record
                elif record.kind == RecordKind.SYSRET:
                    open_call = None
            assert open_call is None
            last = own[-1]
            assert last.kind == RecordKind.PROC
            assert last.payload.event == ProcEvent.EXIT  # type: ignore[union-attr]
            assert last.payload.signal == signal.SIGKILL  # type: ignore[union-attr]
        lines = _ours_ff(trace, tmp_path / f"k{run}")
        assert sorted(lines) == sorted(tids)
        for own_lines in lines.values():
            assert own_lines[-1] == "+++ killed by SIGKILL +++"
