"""clone and clone3 lines in ``ktrdump --format strace`` split as strace splits them.

Oracle: strace -f on the same C program (compiled here). strace prints
clone's child_stack and flags at entry and the rest (``parent_tid``, ``tls``,
``child_tidptr``) at exit, after a comma: ``clone(child_stack=NULL,
flags=CLONE_VFORK|CLONE_PARENT_SETTID|SIGCHLD <unfinished ...>``, ``<... clone
resumed>, parent_tid=[1234]) = 1234``; CLONE_PARENT_SETTID's parent_tid as the
tid the kernel stored (the address when the call failed), CLONE_PIDFD's as the
pidfd stored there (``-y``: ``[3<anon_inode:[pidfd]>]``); a clone whose flags
ask for nothing at exit is printed whole at entry (``<... clone resumed>) =
1235``). A thread killed inside the call (the process exits while its vfork
child runs) ends ``<... clone resumed>) = ?`` for such a clone and ``<...
clone3 resumed> <unfinished ...>) = ?`` for a clone3 that would have filled
parent_tid. The vfork children make the splits certain: the parent's clone
does not return before its child's lines.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is the oracle")

PROGRAM = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/sched.h>
static int ready[2], hold[2];
static void child_waits(void) {
    close(hold[1]);
    write(ready[1], "r", 1);
    char c;
    read(hold[0], &c, 1); /* EOF once the parent process is gone */
    syscall(SYS_exit, 0);
}
static void *in_clone3(void *unused) {
    pid_t tid = 0;
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VFORK | CLONE_PARENT_SETTID;
    args.parent_tid = (uint64_t)(uintptr_t)&tid;
    args.exit_signal = SIGCHLD;
    if (syscall(SYS_clone3, &args, sizeof args) == 0) child_waits();
    return unused;
}
static void *in_clone(void *unused) {
    if (syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0) == 0) child_waits();
    return unused;
}
static void vfork_child(void) { write(-1, "child", 5); syscall(SYS_exit, 0); }
int main(int argc, char **argv) {
    pid_t ptid = 0;
    int pidfd = -1;
    long r;
    (void)argv;
    if (argc == 1) {
        sigset_t set; /* no SIGCHLD to restart a clone (ERESTARTNOINTR) under ptrace */
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, 0);
        /* clone lines as strace splits them: a vfork child's lines come between
           the parent's entry and exit */
        r = syscall(SYS_clone, CLONE_VFORK | CLONE_PARENT_SETTID | SIGCHLD, 0, &ptid, 0, 0);
        if (r == 0) vfork_child();
        if ((r = syscall(SYS_clone, CLONE_VFORK | SIGCHLD, 0, 0, 0, 0)) == 0) vfork_child();
        /* CLONE_PIDFD: the pidfd stored at parent_tid */
        r = syscall(SYS_clone, CLONE_VFORK | CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
        if (r == 0) vfork_child();
        /* the vfork children reaped, so that no exit of theirs can come in the next line
           (the tracer has seen a traced child's exit before its parent's wait returns) */
        while (waitpid(-1, 0, 0) > 0) {}
        /* EINVAL: parent_tid stays an address */
        syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &pidfd, 0, 0);
        return 0;
    }
    /* threads killed inside clone3 and clone (the process exits while their vfork
       children run) */
    pthread_t a, b;
    char c[2];
    pipe(ready);
    pipe(hold);
    pthread_create(&a, 0, in_clone3, 0);
    pthread_create(&b, 0, in_clone, 0);
    read(ready[0], c, 1);
    read(ready[0], c + 1, 1);
    syscall(SYS_exit_group, 0);
    return 0;
}
"""


def _clone_lines(text: str) -> list[str]:
    """The lines of clone and clone3 calls other than thread creations (pthread_create's
    clone3, split or not), without the thread and time columns, addresses and ids masked."""
    lines = []
    opened: set[str] = set()  # threads in a clone that is not a thread creation
    for line in text.splitlines():
        match = re.match(r"^(\d+)\s+(?:\d+\.\d+\s+)?(.*?)(?: <\d+\.\d+>)?$", line)
        if match is None:
            continue
        tid, line = match.groups()
        if re.match(r"clone3?\(", line):
            if "CLONE_THREAD" in line:
                continue
            if line.endswith("<unfinished ...>"):
                opened.add(tid)
        elif re.match(r"<\.\.\. clone3? resumed>", line) and tid in opened:
            opened.discard(tid)
        else:
            continue
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r"\[\d+\]", "[TID]", line)
        line = re.sub(r"\s+= (\d+)$", " = TID", line)
        lines.append(re.sub(r"\s+= ", " = ", line))
    return lines


def _both(program: Path, *args: str, view: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """strace's and ktrdump's clone lines; ``view``: options of both (``-y``)."""
    oracle = subprocess.run(["strace", "-f", "-qq", *view, "-o", "/dev/stdout", program, *args],
                            capture_output=True, text=True, timeout=60, check=True)
    trace = program.parent / f"clone{len(args)}{''.join(view)}.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", trace, "--", program, *args],
                   check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", *view, trace], capture_output=True,
                           text=True, timeout=60, check=True)
    return _clone_lines(oracle.stdout), _clone_lines(shown.stdout)


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("clone"), "clones", PROGRAM, "-O1", "-pthread")


def test_clone_lines_split_and_parent_tid_as_strace(program: Path) -> None:
    expected, shown = _both(program)
    assert len(expected) == 7, expected
    assert "<... clone resumed>, parent_tid=[TID]) = TID" in expected
    assert shown == expected


def test_clone_pidfd_shown_as_strace(program: Path) -> None:
    # clone (not clone3) with CLONE_PIDFD: the kernel stores the pidfd at parent_tid,
    # which strace prints at exit (-y: with what it is)
    expected, shown = _both(program, view=("-y",))
    assert "<... clone resumed>, parent_tid=[3<anon_inode:[pidfd]>]) = TID" in expected, expected
    assert shown == expected


def test_calls_killed_inside_clone_and_clone3_end_as_strace(program: Path) -> None:
    expected, shown = _both(program, "die")
    assert "<... clone3 resumed> <unfinished ...>) = ?" in expected, expected
    assert "<... clone resumed>) = ?" in expected, expected
    # per call: the two threads' lines interleave as they ran
    assert sorted(shown) == sorted(expected)
