"""A write-like call that fails while its line is interrupted shows its data as strace does.

strace prints what write, writev and sendmsg send at their entry, so the
``<unfinished ...>`` line of one that then fails (EPIPE) still shows the data:
``write(4, "hello", 5 <unfinished ...>``. The recorder keeps a failed call's
data as a STRUCT ``bytes`` at its exit; the strace view's look-ahead for an
interrupted line has to take it as it takes a GIO, or the line shows the
buffer's address. Oracle: strace -f on the same C program. The interruption is
certain: the call blocks on a full pipe (socket) until a child process, which
waits for it to be in that call (/proc/PID/syscall: its number and third argument, which
the filling writes do not have), closes the reading end; the child's calls come between
the call's entry and its exit.
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
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static char fill[65536];

/* until pid is in syscall nr with third argument arg3 (the filling writes are not) */
static void wait_in(pid_t pid, long nr, unsigned long arg3) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
    for (;;) {
        int fd = open(path, O_RDONLY);
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        long got = -1;
        unsigned long a1, a2, a3;
        if (n > 0) {
            buf[n] = 0;
            if (sscanf(buf, "%ld %lx %lx %lx", &got, &a1, &a2, &a3) == 4 && got == nr
                && a3 == arg3)
                return;
        }
        sched_yield();
    }
}

static void one(int kind) {
    int fds[2];
    if (kind == 2) socketpair(AF_UNIX, SOCK_STREAM, 0, fds); else pipe(fds);
    pid_t parent = getpid();
    pid_t child = fork();
    if (child == 0) {
        close(fds[1]);
        if (kind == 0) wait_in(parent, SYS_write, 5);
        else if (kind == 1) wait_in(parent, SYS_writev, 2);
        else wait_in(parent, SYS_sendmsg, MSG_NOSIGNAL);
        close(fds[0]);
        _exit(0);
    }
    close(fds[0]);
    fcntl(fds[1], F_SETFL, O_NONBLOCK);
    while (write(fds[1], fill, sizeof fill) > 0) {}
    fcntl(fds[1], F_SETFL, 0);
    char a[] = "hello", b[] = "world";
    struct iovec iov[2] = {{a, 5}, {b, 5}};
    struct msghdr m = {0};
    m.msg_iov = iov;
    m.msg_iovlen = 2;
    if (kind == 0) write(fds[1], a, 5);
    else if (kind == 1) writev(fds[1], iov, 2);
    else sendmsg(fds[1], &m, MSG_NOSIGNAL);
    close(fds[1]);
    waitpid(child, NULL, 0);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    for (int kind = 0; kind < 3; kind++) one(kind);
    return 0;
}
"""


def _failed_sends(text: str) -> list[str]:
    """The lines of the three blocking sends and their resumptions, without the thread
    and time columns and with the result's padding as one space."""
    lines = []
    for line in text.splitlines():
        match = re.match(r"^\d+\s+(?:\d+\.\d+\s+)?(.*?)(?: <\d+\.\d+>)?$", line)
        if match is None:
            continue
        line = re.sub(r"\s+= ", " = ", match.group(1))
        if re.match(r'(write\(\d+, "hello"|writev\(|sendmsg\(|<\.\.\. (writev?|sendmsg) resumed>\)'
                    r" = -1 E(PIPE|CONNRESET))", line):
            lines.append(line)
    return lines


def test_unfinished_failed_sends_show_their_data_as_strace(tmp_path: Path) -> None:
    program = build_program(tmp_path, "sends", PROGRAM, "-O1")
    oracle = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/stdout", program],
                            capture_output=True, text=True, timeout=60, check=True)
    trace = tmp_path / "sends.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", trace, "--", program], check=True,
                   timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    expected = _failed_sends(oracle.stdout)
    assert expected == [
        'write(4, "hello", 5 <unfinished ...>',
        "<... write resumed>) = -1 EPIPE (Broken pipe)",
        'writev(4, [{iov_base="hello", iov_len=5}, {iov_base="world", iov_len=5}], 2'
        " <unfinished ...>",
        "<... writev resumed>) = -1 EPIPE (Broken pipe)",
        'sendmsg(4, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hello", iov_len=5},'
        ' {iov_base="world", iov_len=5}], msg_iovlen=2, msg_controllen=0, msg_flags=0},'
        " MSG_NOSIGNAL <unfinished ...>",
        "<... sendmsg resumed>) = -1 ECONNRESET (Connection reset by peer)",
    ], expected
    assert _failed_sends(shown.stdout) == expected
