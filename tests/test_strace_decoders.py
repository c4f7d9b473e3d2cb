"""Enumerations, results and small structures strace names, against strace itself.

One C program (compiled in the test) makes each call; it runs under
``strace -f`` and under ``ktr record``, and every line of
``ktrdump --format strace`` for the calls compared must equal strace's
(addresses and process ids masked): getpriority's/setpriority's ``which``,
ioprio_get/ioprio_set's ``which`` and priority (``IOPRIO_PRIO_VALUE(...)``,
also as ioprio_get's result), scheduling policies (arguments, and
sched_getscheduler's result) and ``struct sched_param`` (``[0]``), msync's
flags, fcntl F_GET_SEALS's result, mknod's device number (device nodes only),
prctl PR_CAPBSET_READ of an unknown capability, netlink protocols and port
ids (signed), struct linger and struct ucred socket options, and the dates
strace adds to the times utimensat sets.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from strace_corpus import parse

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")
GCC = shutil.which("gcc")

pytestmark = pytest.mark.skipif(STRACE is None or GCC is None,
                                reason="strace or gcc is not installed")

PROGRAM = r"""#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <linux/netlink.h>
#include <time.h>
int main(void) {
    getpriority(PRIO_PGRP, 0);
    setpriority(PRIO_PROCESS, 0, 3);
    syscall(SYS_ioprio_get, 1, 0);
    syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 4);
    syscall(SYS_ioprio_get, 1, 0);
    struct sched_param sp = {0};
    sched_getscheduler(0);
    sched_getparam(0, &sp);
    sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &sp);
    sched_getscheduler(0);
    sched_setparam(0, &sp);
    sched_get_priority_max(SCHED_FIFO);
    sched_get_priority_min(SCHED_IDLE);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    msync(p, 4096, MS_ASYNC | MS_INVALIDATE);
    int m = memfd_create("seals", MFD_ALLOW_SEALING);
    fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_WRITE);
    fcntl(m, F_GET_SEALS);
    mknodat(AT_FDCWD, "fifo", S_IFIFO | 0600, 0);
    mknod("null", S_IFCHR | 0600, makedev(1, 3));
    mknod("plain", S_IFREG | 0600, 0);
    prctl(PR_CAPBSET_READ, 21);
    prctl(PR_CAPBSET_READ, 60);
    int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    struct sockaddr_nl snl = {.nl_family = AF_NETLINK, .nl_pid = 0x80000001u};
    bind(nl, (struct sockaddr *)&snl, sizeof snl);
    socklen_t len = sizeof snl;
    getsockname(nl, (struct sockaddr *)&snl, &len);
    int nl2 = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT);
    int u = socket(AF_UNIX, SOCK_STREAM, 0);
    struct linger lg = {1, 5};
    setsockopt(u, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    len = sizeof lg;
    getsockopt(u, SOL_SOCKET, SO_LINGER, &lg, &len);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct ucred cred;
    len = sizeof cred;
    getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &cred, &len);
    int f = open("plain", O_RDWR);
    struct timespec times[2] = {{1577934245, 0}, {1577934245, 123456789}};
    utimensat(AT_FDCWD, "plain", times, 0);
    times[0].tv_nsec = UTIME_OMIT;
    futimens(f, times);
    return 0;
}
"""

_COMPARED = frozenset({
    "getpriority", "setpriority", "ioprio_get", "ioprio_set", "sched_getscheduler",
    "sched_getparam", "sched_setscheduler", "sched_setparam", "sched_get_priority_max",
    "sched_get_priority_min", "msync", "fcntl", "mknodat", "mknod", "prctl", "socket", "bind",
    "getsockname", "setsockopt", "getsockopt", "utimensat"})
_ADDRESS = re.compile(r"0x[0-9a-f]{9,}")  # addresses, not flag words
_PID = re.compile(r"pid=\d+")


def _lines(text: str) -> list[str]:
    return [_PID.sub("pid=N", _ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}"))
            for calls in parse(text).values() for call in calls if call.name in _COMPARED]


def _both(tmp_path: Path, source: str) -> tuple[list[str], list[str]]:
    """(ktrdump's lines, strace's lines) of the compared calls of ``source``."""
    assert GCC is not None and STRACE is not None
    (tmp_path / "calls.c").write_text(source)
    program = tmp_path / "calls"
    subprocess.run([GCC, "-O0", "-w", "-o", str(program), str(tmp_path / "calls.c")],
                   check=True, timeout=120)
    reference = tmp_path / "strace.txt"
    for node in ("fifo", "null", "plain"):
        (tmp_path / node).unlink(missing_ok=True)
    subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    for node in ("fifo", "null", "plain"):
        (tmp_path / node).unlink(missing_ok=True)
    trace = tmp_path / "calls.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return _lines(ours), _lines(reference.read_text())


def test_enumerations_results_and_small_structures_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, PROGRAM)
    assert ours == theirs
    # What strace 6.1 printed when this was written: the forms compared above.
    for expected in (
        "getpriority(PRIO_PGRP, 0) = ",
        "ioprio_set(IOPRIO_WHO_PROCESS, 0, IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)) = 0",
        "ioprio_get(IOPRIO_WHO_PROCESS, 0) = 16388 (IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4))",
        "sched_getscheduler(0) = 0 (SCHED_OTHER)",
        "sched_getparam(0, [0]) = 0",
        "sched_setscheduler(0, 0x40000003 /* SCHED_??? */, [0]) = 0",
        "sched_get_priority_min(SCHED_IDLE) = 0",
        "msync(ADDRESS, 4096, MS_ASYNC|MS_INVALIDATE) = 0",
        "fcntl(3, F_GET_SEALS) = 0x9 (seals F_SEAL_SEAL|F_SEAL_WRITE)",
        'mknodat(AT_FDCWD, "fifo", S_IFIFO|0600) = 0',
        'mknodat(AT_FDCWD, "null", S_IFCHR|0600, makedev(0x1, 0x3)) = 0',
        "prctl(PR_CAPBSET_READ, 0x3c /* CAP_??? */) = -1 EINVAL (Invalid argument)",
        "socket(AF_NETLINK, SOCK_DGRAM, NETLINK_KOBJECT_UEVENT) = 5",
        "bind(4, {sa_family=AF_NETLINK, nl_pid=-2147483647, nl_groups=00000000}, 12) = 0",
        "getsockopt(6, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=5}, [8]) = 0",
        "getsockopt(7, SOL_SOCKET, SO_PEERCRED, {pid=N, uid=0, gid=0}, [12]) = 0",
        'utimensat(AT_FDCWD, "plain", [{tv_sec=1577934245, tv_nsec=0} /* 2020-01-02T03:04:05'
        '+0000 */, {tv_sec=1577934245, tv_nsec=123456789} /* 2020-01-02T03:04:05.123456789'
        '+0000 */], 0) = 0',
    ):
        assert any(line.startswith(expected) for line in theirs), expected
