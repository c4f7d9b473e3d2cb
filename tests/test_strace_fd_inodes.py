"""``ktrdump -y`` names sockets, pipes and anonymous files as strace -y does: by inode.

strace -y prints what ``/proc/PID/fd/N`` says: ``3<socket:[123456]>``,
``3<pipe:[123456]>``, ``3<anon_inode:[eventfd]>``, ``3</memfd:x>(deleted)``.
ktrdump printed ``socket:[AF_INET]`` and its own pipe numbers: the trace had
no inode. The recorder now reads the fd an fd-creating call returned (socket,
accept, eventfd, epoll_create, timerfd, signalfd, memfd_create, ...: STRUCT
``fd_path``) and both fds of pipe and socketpair (``fd_paths``) at the call's
exit; dup's copies are followed by ktrdump.

One C program (compiled in the test) makes each kind and uses it; every line
of the calls compared must equal strace -f -y's with the inode numbers masked
(they differ between the two runs), and within ktr's run each inode must be
the one the program itself read from ``/proc/self/fd`` (its printout).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from strace_corpus import parse

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")

pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

_PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

static char oracle[4096];
static size_t used;

/* what /proc/self/fd names each fd: the oracle, written once at the end */
static void show(int fd) {
    char link[64], target[256];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    target[n < 0 ? 0 : n] = 0;
    used += snprintf(oracle + used, sizeof oracle - used, "%d %s\n", fd, target);
}

int main(void) {
    int p[2], q[2], sv[2];
    char b;
    pipe(p); show(p[0]); show(p[1]);
    pipe2(q, O_CLOEXEC); show(q[0]); show(q[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv); show(sv[0]); show(sv[1]);
    int listener = socket(AF_INET, SOCK_STREAM, 0); show(listener);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    bind(listener, (struct sockaddr *)&a, sizeof a);
    listen(listener, 2);
    getsockname(listener, (struct sockaddr *)&a, &len);
    int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0); show(client);
    int client2 = socket(AF_INET, SOCK_STREAM, 0); show(client2);
    connect(client, (struct sockaddr *)&a, sizeof a);
    connect(client2, (struct sockaddr *)&a, sizeof a);
    int accepted = accept(listener, NULL, NULL); show(accepted);
    int accepted4 = accept4(listener, NULL, NULL, SOCK_CLOEXEC); show(accepted4);
    int efd = eventfd(0, EFD_CLOEXEC); show(efd);
    int ep = epoll_create1(0); show(ep);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = efd};
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    int tfd = timerfd_create(CLOCK_MONOTONIC, 0); show(tfd);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR1);
    int sfd = signalfd(-1, &mask, 0); show(sfd);
    int mfd = memfd_create("ktr-memfd", 0); show(mfd);
    int copy = dup(listener); show(copy);
    int copy2 = dup2(p[1], 40); show(copy2);
    int copy3 = fcntl(sv[0], F_DUPFD, 50); show(copy3);
    write(accepted, "x", 1); read(client, &b, 1);
    write(accepted4, "w", 1); read(client2, &b, 1);
    write(p[1], "y", 1); read(p[0], &b, 1);
    write(copy2, "v", 1); read(p[0], &b, 1);
    write(q[1], "u", 1); read(q[0], &b, 1);
    write(sv[0], "z", 1); read(sv[1], &b, 1);
    write(copy3, "t", 1); read(sv[1], &b, 1);
    unsigned long long one = 1;
    write(efd, &one, sizeof one);
    epoll_wait(ep, &ev, 1, 0);
    write(mfd, "m", 1);
    close(copy);
    close(sfd);
    write(1, oracle, used);
    return 0;
}
"""

_COMPARED = frozenset({"pipe", "pipe2", "socketpair", "socket", "bind", "listen", "accept",
                       "accept4", "eventfd2", "epoll_create1", "epoll_ctl", "timerfd_create",
                       "signalfd4", "memfd_create", "dup", "dup2", "fcntl", "read", "write",
                       "close", "epoll_wait"})
_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")
_INODE = re.compile(r"(socket|pipe):\[(\d+)\]")


def _lines(text: str) -> list[str]:
    lines = []
    for calls in parse(text).values():
        for call in calls:
            if call.name in _COMPARED and not call.args.startswith("1<"):  # not the oracle's
                lines.append(_ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}"))
    # from the program's first pipe on: the C library's start-up reads files alone
    first = next(index for index, line in enumerate(lines) if line.startswith("pipe"))
    return lines[first:]


def test_sockets_pipes_and_anonymous_files_are_named_by_inode_as_strace_y(
        tmp_path: Path) -> None:
    program = build_program(tmp_path, "fdkinds", _PROGRAM, "-O0")
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=tmp_path, check=True, timeout=60, stdout=subprocess.DEVNULL)
    trace = tmp_path / "fdkinds.ktr"
    printed = subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                             cwd=tmp_path, check=True, timeout=60, capture_output=True,
                             text=True).stdout
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    ours_lines = _lines(ours)
    theirs_lines = _lines(reference.read_text())

    def masked(lines: list[str]) -> list[str]:
        return [_INODE.sub(r"\1:[INODE]", line) for line in lines]

    assert masked(ours_lines) == masked(theirs_lines)
    # The forms strace 6.1 printed when this was written (inodes masked).
    text = "\n".join(masked(theirs_lines))
    for form in (r"pipe2\(\[3<pipe:\[INODE\]>, 4<pipe:\[INODE\]>\], 0\) = 0",
                 r"socketpair\(AF_UNIX, SOCK_STREAM, 0, \[7<socket:\[INODE\]>, "
                 r"8<socket:\[INODE\]>\]\) = 0",
                 r"accept4\(9<socket:\[INODE\]>, NULL, NULL, SOCK_CLOEXEC\) = "
                 r"\d+<socket:\[INODE\]>",
                 r"eventfd2\(0, EFD_CLOEXEC\) = \d+<anon_inode:\[eventfd\]>",
                 r"epoll_create1\(0\) = \d+<anon_inode:\[eventpoll\]>",
                 r'memfd_create\("ktr-memfd", 0\) = \d+</memfd:ktr-memfd>\(deleted\)',
                 r"dup2\(4<pipe:\[INODE\]>, 40\) = 40<pipe:\[INODE\]>"):
        assert re.search(form, text), form
    # Within ktr's run the inodes are the program's own: each fd's description in the
    # calls that return or use it is what the program read from /proc/self/fd.
    oracle = {}
    for line in printed.splitlines():
        fd, target = line.split(" ", 1)
        oracle[int(fd)] = target
    assert len(oracle) == 19
    shown = {int(fd): target for line in ours_lines
             for fd, target in re.findall(r"(\d+)<([^>]*)>", line)}
    for fd, target in oracle.items():
        if target.endswith(" (deleted)"):
            target = target[:-len(" (deleted)")]
        assert shown[fd] == target, (fd, shown.get(fd), target)
    inodes = {int(n) for _, n in _INODE.findall(" ".join(ours_lines))}
    assert len(inodes) == 2 + 2 + 5  # two pipes, a pair, the listener, 2 clients, 2 accepted


_I386 = r"""
static long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
static char out[512];
static long used;
static void show(long fd) {  /* "FD TARGET\n" from /proc/self/fd/FD (fd < 10) */
    char link[] = "/proc/self/fd/0";
    link[14] = '0' + fd;
    out[used++] = '0' + fd;
    out[used++] = ' ';
    long n = sys3(85, (long)link, (long)out + used, 100);           /* readlink */
    used += n < 0 ? 0 : n;
    out[used++] = '\n';
}
void _start(void) {
    int sv[2];
    char byte;
    long pair[4] = {1, 2, 0, (long)sv};                             /* AF_UNIX, SOCK_DGRAM */
    sys3(102, 8, (long)pair, 0);                                    /* socketcall(socketpair) */
    long inet[3] = {2, 2, 0};                                       /* AF_INET, SOCK_DGRAM */
    long s = sys3(102, 1, (long)inet, 0);                           /* socketcall(socket) */
    sys3(4, sv[0], (long)"z", 1);
    sys3(3, sv[1], (long)&byte, 1);
    show(sv[0]);
    show(sv[1]);
    show(s);
    sys3(4, 1, (long)out, used);
    sys3(1, 0, 0, 0);
}
"""


def test_i386_socketcall_socketpair_and_socket_are_named_by_inode(tmp_path: Path) -> None:
    """i386 socketcall (its captures are made while the thread is stopped): the same names."""
    from c_support import build_i386

    program = build_i386(tmp_path, _I386, "pair32")
    trace = tmp_path / "pair32.ktr"
    printed = subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                             cwd=tmp_path, check=True, timeout=60, capture_output=True,
                             text=True).stdout
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    oracle = dict(line.split(" ", 1) for line in printed.splitlines())
    assert len(oracle) == 3 and all(t.startswith("socket:[") for t in oracle.values())
    fds = sorted(oracle, key=int)
    pair = f"[{fds[0]}<{oracle[fds[0]]}>, {fds[1]}<{oracle[fds[1]]}>]"
    assert f"socketpair(AF_UNIX, SOCK_DGRAM, 0, {pair}) = 0" in ours, ours
    assert f"socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = {fds[2]}<{oracle[fds[2]]}>" in ours
    assert f'read({fds[1]}<{oracle[fds[1]]}>, "z", 1) = 1' in ours
