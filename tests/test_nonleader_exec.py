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
