"""A thread other than the leader calls execve: recorded as strace shows it.

The kernel kills every other thread, the execing thread takes over the
leader's tid, and the leader's call in flight never returns. strace prints
the leader's ``<... read resumed> <unfinished ...>) = ?`` and ``+++
superseded by execve in pid FORMER +++``; ktr records an UNFINISHED SYSRET
for the leader's call and a PROC exit (THREAD) naming the execing thread.
The C program (gcc, compiled here) makes the thread exec only once the
leader is blocked in read(2) on a pipe nobody writes to.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import formats
import ktrdump
from formats import ProcEvent, ProcFlag, RecordKind, SyscallFlag, linux

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
STRACE = shutil.which("strace")
GCC = shutil.which("gcc")

PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pid_t leader;

/* The leader is blocked in read: its syscall is 0 and it sleeps (not a
   ptrace stop, which shows as 't'). */
static int leader_blocked_in_read(void) {
    char path[64], text[256];
    FILE *file;
    int blocked = 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)leader);
    if ((file = fopen(path, "r")) == NULL) return 0;
    if (fgets(text, sizeof text, file) != NULL && strncmp(text, "0 ", 2) == 0) blocked = 1;
    fclose(file);
    if (!blocked) return 0;
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)leader);
    if ((file = fopen(path, "r")) == NULL) return 0;
    blocked = fgets(text, sizeof text, file) != NULL && strstr(text, ") S ") != NULL;
    fclose(file);
    return blocked;
}

static void *run(void *unused) {
    (void)unused;
    while (!leader_blocked_in_read()) sched_yield();
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    return NULL;
}

int main(void) {
    pthread_t thread;
    int fds[2];
    char c;
    leader = getpid();
    if (pipe(fds) != 0) return 2;
    pthread_create(&thread, NULL, run, NULL);
    read(fds[0], &c, 1);  /* never returns: the thread's execve ends it */
    return 3;
}
"""

pytestmark = pytest.mark.skipif(GCC is None, reason="gcc builds the test program")


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("nonleader")
    (directory / "exec_thread.c").write_text(PROGRAM)
    binary = directory / "exec_thread"
    assert GCC is not None
    subprocess.run([GCC, "-O1", "-pthread", "-o", str(binary), str(directory / "exec_thread.c")],
                   check=True, capture_output=True, timeout=60)
    return binary


@pytest.fixture(scope="module")
def trace(program: Path) -> Path:
    path = program.parent / "exec_thread.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(path), "--", str(program)],
                          capture_output=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr  # /bin/true's status
    return path


def _name(record: formats.Record) -> str | None:
    payload = record.payload
    return linux.syscall_name(payload.abi, payload.nr)  # type: ignore[union-attr]


def test_the_leaders_call_ends_unfinished_and_it_is_superseded(trace: Path) -> None:
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
    execve_calls = [r for r in records if r.kind == RecordKind.SYSCALL and _name(r) == "execve"]
    # The launch's own execve, then the thread's.
    assert len(execve_calls) == 2
    execing = execve_calls[1]
    pid, former = execing.pid, execing.tid
    assert former != pid
    after = records[records.index(execing):]
    kinds = [(r.kind, r.tid) for r in after]
    # The leader's read: a RET marked unfinished, before anything else of the leader.
    unfinished = next(r for r in after if r.kind == RecordKind.SYSRET and r.tid == pid)
    assert _name(unfinished) == "read"
    assert unfinished.payload.flags & SyscallFlag.UNFINISHED  # type: ignore[union-attr]
    # Then the leader's exit as a thread, superseded by the execing thread.
    exits = [r for r in after if r.kind == RecordKind.PROC
             and r.payload.event == ProcEvent.EXIT]  # type: ignore[union-attr]
    superseded = exits[0]
    assert superseded.tid == pid
    assert superseded.payload.flags & ProcFlag.THREAD  # type: ignore[union-attr]
    assert superseded.payload.child == former  # type: ignore[union-attr]
    assert after.index(superseded) > after.index(unfinished)
    # Then the exec, and execve's RET under the leader's tid.
    exec_record = next(r for r in after if r.kind == RecordKind.PROC
                       and r.payload.event == ProcEvent.EXEC)  # type: ignore[union-attr]
    assert after.index(exec_record) > after.index(superseded)
    ret = next(r for r in after if r.kind == RecordKind.SYSRET and _name(r) == "execve")
    assert ret.tid == pid and ret.payload.error == 0  # type: ignore[union-attr]
    # The former tid records nothing more after its execve call.
    assert (RecordKind.SYSRET, former) not in kinds
    # The process exits once, as a process (no THREAD flag), with true's status.
    assert exits[-1].tid == pid and not exits[-1].payload.flags & ProcFlag.THREAD  # type: ignore[union-attr]


def test_text_and_json_views(trace: Path) -> None:
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          check=True, timeout=30).stdout
    assert re.search(r"RET   read unfinished\n.*PROC  exit superseded by execve in thread \d+\n",
                     text)
    json_text = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True,
                               text=True, check=True, timeout=30).stdout
    assert re.search(r'"event":"exit",.*"superseded_by":\d+', json_text)


@pytest.mark.skipif(STRACE is None, reason="strace is the oracle")
def test_strace_format_shows_what_strace_shows(program: Path, trace: Path,
                                               tmp_path: Path) -> None:
    assert STRACE is not None
    log = tmp_path / "strace.log"
    subprocess.run([STRACE, "-f", "-o", str(log), str(program)], check=True,
                   capture_output=True, timeout=30)

    def superseding(text: str) -> list[str]:
        """The two lines around the takeover, pids replaced by their roles."""
        found = re.search(r"^(\d+) +(?:[\d.]+ )?<\.\.\. read resumed> <unfinished \.\.\.>\) = \?\n"
                          r"(?:\1 +)?(?:[\d.]+ )?\+\+\+ superseded by execve in pid (\d+) \+\+\+$",
                          text, re.MULTILINE)
        assert found is not None, text[-3000:]
        leader, former = found.group(1), found.group(2)
        assert leader != former
        # The execing thread's execve was begun under its own tid and resumes
        # under the leader's.
        assert re.search(rf"^{former} +(?:[\d.]+ )?execve\(\"/bin/true\"", text, re.MULTILINE)
        assert re.search(rf"^{leader} +(?:[\d.]+ )?<\.\.\. execve resumed>\) += 0", text,
                         re.MULTILINE)
        return ["<... read resumed> <unfinished ...>) = ?", "+++ superseded by execve +++"]

    ours = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                          text=True, check=True, timeout=30).stdout
    assert superseding(ours) == superseding(log.read_text())


def test_chrome_view(trace: Path) -> None:
    chrome = subprocess.run([KTRDUMP, "--format", "chrome", str(trace)], capture_output=True,
                            text=True, check=True, timeout=30).stdout
    assert re.search(r'"name":"exit",[^\n]*"args":\{"superseded_by":\d+\}', chrome)


#: A third thread sleeps in read(2) too when the thread execs: the kernel kills it
#: (strace: its read ``<unfinished ...>) = ?``, ``+++ exited with 0 +++``).
THREE_THREADS = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fds[2];
static volatile pid_t reader_tid;

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

static void *reader(void *unused) {
    char c;
    (void)unused;
    reader_tid = (pid_t)syscall(SYS_gettid);
    read(fds[0], &c, 1);
    return NULL;
}

static void *execer(void *unused) {
    (void)unused;
    while (!reader_tid || !blocked_in_read(reader_tid) || !blocked_in_read(getpid()))
        sched_yield();
    char *argv[] = {"/bin/true", NULL};
    char *envp[] = {NULL};
    execve("/bin/true", argv, envp);
    return NULL;
}

int main(void) {
    pthread_t a, b;
    char c;
    if (pipe(fds) != 0) return 2;
    pthread_create(&a, NULL, reader, NULL);
    pthread_create(&b, NULL, execer, NULL);
    read(fds[0], &c, 1);
    return 3;
}
"""


def _normal(line: str) -> str:
    """A strace line without time stamps, durations, alignment and addresses."""
    line = re.sub(r"^\d+\.\d+ +", "", line)
    line = re.sub(r" <\d+\.\d+>$", "", line)
    line = re.sub(r"\) +=", ") =", line)
    return re.sub(r"0x[0-9a-f]+", "0x_", line)


def _roles(files: dict[int, list[str]]) -> dict[str, list[str]]:
    """Each thread's lines by its role: the leader (whose tid the execing thread
    takes), the reader the exec kills, the execing thread; tids in the lines are
    replaced by the roles."""
    leader = min(files)
    execer = next(tid for tid, lines in files.items()
                  if any(line.startswith('execve("/bin/true"') for line in lines))
    reader = next(tid for tid in files if tid not in (leader, execer))
    names = {leader: "LEADER", execer: "EXECER", reader: "READER"}

    def named(line: str) -> str:
        return re.sub(r"\b\d+\b", lambda number: names.get(int(number.group()),
                                                           number.group()), line)

    return {names[tid]: [named(line) for line in lines] for tid, lines in files.items()}


@pytest.mark.skipif(STRACE is None, reason="strace is the oracle")
def test_a_third_thread_killed_by_the_exec_reads_as_in_strace(tmp_path: Path) -> None:
    assert GCC is not None and STRACE is not None
    (tmp_path / "three.c").write_text(THREE_THREADS)
    program = tmp_path / "three"
    subprocess.run([GCC, "-O1", "-pthread", "-o", str(program), str(tmp_path / "three.c")],
                   check=True, capture_output=True, timeout=60)
    trace = tmp_path / "three.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", str(program)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    subprocess.run([STRACE, "-ff", "-o", str(tmp_path / "s"), str(program)], check=True,
                   capture_output=True, timeout=60)
    subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o", str(tmp_path / "k"),
                    str(trace)], check=True, capture_output=True, timeout=60)

    def files(prefix: str) -> dict[str, list[str]]:
        return _roles({int(path.name.rsplit(".", 1)[1]):
                       [_normal(line) for line in path.read_text().splitlines()]
                       for path in tmp_path.glob(prefix + ".*")})

    theirs, ours = files("s"), files("k")
    # The execing thread's file ends in its execve, its "pid changed" to the
    # leader's; the leader's read never returns, the leader is superseded, and
    # the execve returns in its file; the reader is killed in its read.
    for lines in (theirs, ours):
        assert lines["EXECER"][-1] == ('execve("/bin/true", ["/bin/true"], 0x_ /* 0 vars */ '
                                       "<pid changed to LEADER ...>")
        superseded = lines["LEADER"].index("+++ superseded by execve in pid EXECER +++")
        assert lines["LEADER"][superseded - 1:superseded + 2] == [
            "read(3,  <unfinished ...>) = ?",
            "+++ superseded by execve in pid EXECER +++",
            "<... execve resumed>) = 0"]
        assert lines["LEADER"][-2:] == ["exit_group(0) = ?", "+++ exited with 0 +++"]
        assert lines["READER"][-2:] == ["read(3,  <unfinished ...>) = ?",
                                        "+++ exited with 0 +++"]
    # The trace: the reader's read ends unfinished, then its thread EXIT (status 0).
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
    pid = min(r.pid for r in records if r.pid)
    reader_exit = next(r for r in records if r.kind == RecordKind.PROC and r.tid != pid
                       and r.payload.event == ProcEvent.EXIT  # type: ignore[union-attr]
                       and not r.payload.child)  # type: ignore[union-attr]
    assert reader_exit.payload.flags & ProcFlag.THREAD  # type: ignore[union-attr]
    assert reader_exit.payload.status == 0  # type: ignore[union-attr]
    before = [r for r in records[:records.index(reader_exit)] if r.tid == reader_exit.tid]
    assert before[-1].kind == RecordKind.SYSRET and _name(before[-1]) == "read"
    assert before[-1].payload.flags & SyscallFlag.UNFINISHED  # type: ignore[union-attr]
    end = records[-1].payload
    assert (end.status, end.processes, end.threads, end.lost) == (0, 1, 3, 0)  # type: ignore[union-attr]
