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
strace adds to the times utimensat sets; sendmsg's and recvmsg's msg_name
(the address), msg_control (SCM_RIGHTS, SCM_CREDENTIALS) and recvmsg's
msg_namelen as the caller set it (``128 => 16``; a failed call's
``{msg_namelen=64}``), an iovec
whose base is NULL; openat2's struct open_how and sched_getattr's and
sched_setattr's struct sched_attr; recvmmsg's messages and the time its
timeout left; what failed write-like calls were asked to send (write, writev,
sendmsg, sendto, process_vm_writev) and the vectors of failed read-like ones
(readv, preadv, process_vm_readv: their addresses); System V IPC's
semid_ds, msqid_ds and shmid_ds (IPC_STAT fills them, IPC_SET reads them),
semop's struct sembuf array, msgsnd's and msgrcv's messages and flags, shmat's
flags; sigaltstack's stack_t; sendmmsg's messages with their data when the
call failed and past those a partly successful call sent; the siginfo_t
rt_sigqueueinfo, rt_tgsigqueueinfo and pidfd_send_signal send; quotactl's and
quotactl_fd's commands, the arguments each takes and the structures strace reads
at entry (calls that fail: ``/`` is no block device), syslog's actions and the
log text a read action filled.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from strace_corpus import parse

import ktrdump

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
    "getsockname", "setsockopt", "getsockopt", "utimensat", "sendmsg", "recvmsg",
    "openat2", "sched_getattr", "sched_setattr", "sendmmsg", "recvmmsg",
    "write", "writev", "sendto", "readv", "preadv", "process_vm_readv", "process_vm_writev",
    "semctl", "msgctl", "shmctl", "semop", "semtimedop", "msgsnd", "msgrcv", "shmat",
    "sigaltstack", "set_mempolicy", "get_mempolicy", "mbind", "migrate_pages",
    "rt_sigqueueinfo", "rt_tgsigqueueinfo", "pidfd_send_signal"})
_ADDRESS = re.compile(r"0x[0-9a-f]{9,}")  # addresses, not flag words
_PID = re.compile(r"pid=\d+")


def _lines(text: str, compared: frozenset[str] = _COMPARED) -> list[str]:
    return [_PID.sub("pid=N", _ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}"))
            for calls in parse(text).values() for call in calls if call.name in compared]


def _both(tmp_path: Path, source: str, compared: frozenset[str] = _COMPARED,
          ) -> tuple[list[str], list[str]]:
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
    return _lines(ours, compared), _lines(reference.read_text(), compared)


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


MESSAGES = r"""
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
int main(void) {
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(0)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(u1, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(u1, (struct sockaddr *)&a, &len);
    char buf[64];
    struct iovec out = {"to a name", 9};
    struct msghdr named = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &out,
                           .msg_iovlen = 1};
    sendmsg(u2, &named, 0);
    struct iovec none = {NULL, 0};  /* how big is the next datagram? (ip, ss) */
    struct msghdr peek = {.msg_iov = &none, .msg_iovlen = 1};
    recvmsg(u1, &peek, MSG_PEEK | MSG_TRUNC);
    struct sockaddr_storage from;
    struct iovec in = {buf, sizeof buf};
    struct msghdr got = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &in,
                         .msg_iovlen = 1};
    recvmsg(u1, &got, 0);
    got.msg_namelen = 64;
    recvmsg(u1, &got, MSG_DONTWAIT);  /* EAGAIN: the caller's msg_namelen alone */
    int sv[2], one = 1;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    int fds[3] = {0, 1, 2};
    union {
        char b[CMSG_SPACE(sizeof fds) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr rights = {.msg_iov = &out, .msg_iovlen = 1, .msg_control = control.b,
                            .msg_controllen = sizeof control.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&rights);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    c = CMSG_NXTHDR(&rights, c);
    struct ucred cred = {getpid(), getuid(), getgid()};
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof cred);
    memcpy(CMSG_DATA(c), &cred, sizeof cred);
    sendmsg(sv[0], &rights, 0);
    union { char b[256]; struct cmsghdr align; } received;
    struct msghdr back = {.msg_iov = &in, .msg_iovlen = 1, .msg_control = received.b,
                          .msg_controllen = sizeof received.b};
    recvmsg(sv[1], &back, MSG_CMSG_CLOEXEC);
    return 0;
}
"""


def test_message_names_and_control_data_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, MESSAGES)
    port = re.compile(r"htons\(\d+\)")

    def messages(lines: list[str]) -> list[str]:
        return [port.sub("htons(PORT)", line) for line in lines
                if line.startswith(("sendmsg", "recvmsg"))]

    assert messages(ours) == messages(theirs)
    shown = messages(theirs)
    assert len(shown) == 6
    assert shown[1] == ("recvmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=NULL, "
                        "iov_len=0}], msg_iovlen=1, msg_controllen=0, msg_flags=MSG_TRUNC}, "
                        "MSG_PEEK|MSG_TRUNC) = 9")
    assert shown[2].startswith("recvmsg(3, {msg_name={sa_family=AF_INET, sin_port=htons(PORT), "
                               'sin_addr=inet_addr("127.0.0.1")}, msg_namelen=128 => 16, ')
    assert shown[3] == ("recvmsg(3, {msg_namelen=64}, MSG_DONTWAIT) = -1 EAGAIN "
                        "(Resource temporarily unavailable)")
    assert ("msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, "
            "cmsg_data=[0, 1, 2]}, {cmsg_len=28, cmsg_level=SOL_SOCKET, "
            "cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=N, uid=0, gid=0}}]") in shown[4]


STRUCTURES = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/syscall.h>
int main(void) {
    struct open_how how = {.flags = O_WRONLY | O_CREAT | O_CLOEXEC, .mode = 0640};
    syscall(SYS_openat2, AT_FDCWD, "plain", &how, sizeof how);
    struct open_how beneath = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV};
    syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", &beneath, sizeof beneath);  /* EXDEV */
    syscall(SYS_openat2, AT_FDCWD, "plain", &how, 16);  /* EINVAL: the pointer */
    unsigned char attr[56];
    memset(attr, 0, sizeof attr);
    syscall(SYS_sched_getattr, 0, attr, 48, 0);
    syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0);
    syscall(SYS_sched_setattr, 0, attr, 0);
    /* a first-version (48-byte) sched_attr, 8 bytes before its page ends */
    unsigned char *pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(pages + 4096, 4096);
    unsigned char *edge = pages + 4096 - 56;
    memcpy(edge, attr, 48);
    *(unsigned *)edge = 48;
    syscall(SYS_sched_setattr, 0, edge, 0);
    return 0;
}
"""


def test_open_how_and_sched_attr_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, STRUCTURES)
    names = ("openat2", "sched_getattr", "sched_setattr")
    shown = [line for line in theirs if line.startswith(names)]
    assert [line for line in ours if line.startswith(names)] == shown
    assert shown[0] == ('openat2(AT_FDCWD, "plain", {flags=O_WRONLY|O_CREAT|O_CLOEXEC, '
                        "mode=0640, resolve=0}, 24) = 3")
    assert shown[1].startswith('openat2(AT_FDCWD, "/etc/passwd", {flags=O_RDONLY, '
                               "resolve=RESOLVE_NO_XDEV|RESOLVE_BENEATH}, 24) = -1 ")
    assert shown[2] == 'openat2(AT_FDCWD, "plain", ADDRESS, 16) = -1 EINVAL (Invalid argument)'
    assert shown[3].startswith("sched_getattr(0, {size=48, sched_policy=SCHED_OTHER, "
                               "sched_flags=0, sched_nice=0, sched_priority=0, ")
    assert "sched_util_max=" in shown[4]
    # the size the structure says is read (48 here: no util fields)
    assert shown[6].startswith("sched_setattr(0, {size=48, sched_policy=SCHED_OTHER, "
                               "sched_flags=0, sched_nice=0, sched_priority=0, sched_runtime=")
    assert shown[6].endswith(", sched_period=0}, 0) = 0")
    # and the recording holds those bytes alone (not 56: 8 bytes past the structure)
    recorded = [call.struct(1) for call in ktrdump.calls(tmp_path / "calls.ktr")
                if isinstance(call, ktrdump.Call) and call.plan.name == "sched_setattr"]
    assert [len(struct.data) if struct else None for struct in recorded] == [56, 48]


RECEIVED = r"""
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
int main(void) {
    int s[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    struct mmsghdr m[3];
    struct iovec a = {"one", 3}, b = {"two!", 4}, c = {"three", 5};
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_iov = &a; m[0].msg_hdr.msg_iovlen = 1;
    m[1].msg_hdr.msg_iov = &b; m[1].msg_hdr.msg_iovlen = 1;
    m[2].msg_hdr.msg_iov = &c; m[2].msg_hdr.msg_iovlen = 1;
    sendmmsg(s[0], m, 3, 0);
    char b1[8], b2[8], b3[8];
    struct iovec r1 = {b1, sizeof b1}, r2 = {b2, sizeof b2}, r3 = {b3, sizeof b3};
    struct mmsghdr in[4];
    memset(in, 0, sizeof in);
    in[0].msg_hdr.msg_iov = &r1; in[0].msg_hdr.msg_iovlen = 1;
    in[1].msg_hdr.msg_iov = &r2; in[1].msg_hdr.msg_iovlen = 1;
    in[2].msg_hdr.msg_iov = &r3; in[2].msg_hdr.msg_iovlen = 1;
    in[3].msg_hdr.msg_iov = &r3; in[3].msg_hdr.msg_iovlen = 1;
    recvmmsg(s[1], in, 2, 0, NULL);
    struct timespec t = {0, 1};  /* 1 ns: none is ever left, in either run */
    recvmmsg(s[1], in, 4, MSG_DONTWAIT, &t);
    recvmmsg(s[1], in, 2, MSG_DONTWAIT, NULL);
    return 0;
}
"""


def test_recvmmsg_messages_and_time_left_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, RECEIVED)
    assert ours == theirs
    received = [line for line in theirs if line.startswith("recvmmsg")]
    assert received[0] == (
        "recvmmsg(4, [{msg_hdr={msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"one\", "
        "iov_len=8}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, msg_len=3}, {msg_hdr="
        "{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"two!\", iov_len=8}], msg_iovlen=1,"
        " msg_controllen=0, msg_flags=0}, msg_len=4}], 2, 0, NULL) = 2")
    assert received[1].endswith(
        "4, MSG_DONTWAIT, {tv_sec=0, tv_nsec=1}) = 1 (left {tv_sec=0, tv_nsec=0})")
    assert received[2] == ("recvmmsg(4, ADDRESS, 2, MSG_DONTWAIT, NULL) = -1 EAGAIN "
                           "(Resource temporarily unavailable)")


FAILED = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>
int main(void) {
    write(-1, "lost words", 10);
    struct iovec out[2] = {{"two ", 4}, {"vectors", 7}};
    writev(-1, out, 2);
    struct msghdr m = {.msg_iov = out, .msg_iovlen = 2};
    sendmsg(-1, &m, 0);
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    close(sv[1]);
    sendto(sv[0], "nobody listens", 14, MSG_DONTWAIT, NULL, 0);  /* ECONNREFUSED */
    char a[8], b[8];
    struct iovec in[2] = {{a, sizeof a}, {b, sizeof b}};
    readv(-1, in, 2);
    int p[2];
    pipe2(p, O_NONBLOCK);
    readv(p[0], in, 2);  /* EAGAIN */
    preadv(p[0], in, 2, 0);  /* ESPIPE */
    struct iovec nowhere = {(void *)16, 8};
    process_vm_readv(getpid(), in, 1, &nowhere, 1, 0);  /* EFAULT */
    process_vm_writev(getpid(), out, 2, &nowhere, 1, 0);  /* EFAULT */
    return 0;
}
"""


def test_failed_vector_and_buffer_calls_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, FAILED)
    pid = re.compile(r"^(process_vm_\w+)\(\d+, ")

    def masked(lines: list[str]) -> list[str]:
        return [pid.sub(r"\1(PID, ", line) for line in lines]

    assert masked(ours) == masked(theirs)
    assert theirs[0] == 'write(-1, "lost words", 10) = -1 EBADF (Bad file descriptor)'
    assert theirs[1] == ('writev(-1, [{iov_base="two ", iov_len=4}, {iov_base="vectors", '
                         'iov_len=7}], 2) = -1 EBADF (Bad file descriptor)')
    assert theirs[2].startswith('sendmsg(-1, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base='
                                '"two ", iov_len=4}, {iov_base="vectors", iov_len=7}], ')
    assert theirs[4].startswith("readv(-1, [{iov_base=ADDRESS, iov_len=8}, {iov_base=ADDRESS, ")


UNSENT_MESSAGES = r"""
#define _GNU_SOURCE
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
static char big[70000];  /* more than a UDP datagram holds: EMSGSIZE */
int main(void) {
    memset(big, 'x', sizeof big);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connect(u, (struct sockaddr *)&to, sizeof to);
    struct iovec one = {"first", 5}, two[2] = {{"sec", 3}, {big, sizeof big}};
    struct mmsghdr m[3];
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_iov = &one; m[0].msg_hdr.msg_iovlen = 1;
    m[1].msg_hdr.msg_iov = two; m[1].msg_hdr.msg_iovlen = 2;
    m[2].msg_hdr.msg_iov = &one; m[2].msg_hdr.msg_iovlen = 1;
    sendmmsg(u, m, 3, 0);   /* 1: the second message is too big, the third not tried */
    sendmmsg(-1, m, 2, 0);  /* EBADF: nothing sent */
    return 0;
}
"""


def test_unsent_sendmmsg_messages_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, UNSENT_MESSAGES)
    shown = [line for line in theirs if line.startswith("sendmmsg")]
    assert [line for line in ours if line.startswith("sendmmsg")] == shown
    message = "{{msg_hdr={{msg_name=NULL, msg_namelen=0, msg_iov={}, msg_iovlen={}, " \
              "msg_controllen=0, msg_flags=0}}{}}}"
    first = '[{iov_base="first", iov_len=5}]'
    second = ('[{iov_base="sec", iov_len=3}, {iov_base="' + "x" * 32 + '"..., '
              'iov_len=70000}]')
    assert shown == [
        "sendmmsg(3, [" + ", ".join([message.format(first, 1, ", msg_len=5"),
                                     message.format(second, 2, ""),
                                     message.format(first, 1, "")]) + "], 3, 0) = 1",
        "sendmmsg(-1, [" + ", ".join([message.format(first, 1, ""),
                                      message.format(second, 2, "")])
        + "], 2, 0) = -1 EBADF (Bad file descriptor)",
    ]


MEMPOLICY = r"""
#define _GNU_SOURCE
#include <string.h>
#include <unistd.h>
#include <linux/mempolicy.h>
#include <sys/mman.h>
#include <sys/syscall.h>
int main(void) {
    unsigned long mask[16], one[16];
    memset(mask, 0, sizeof mask);
    memset(one, 0, sizeof one);
    one[0] = 1;
    syscall(SYS_get_mempolicy, &(int){0}, mask, 1025, NULL, 0);
    syscall(SYS_set_mempolicy, MPOL_BIND, one, 1024);
    syscall(SYS_set_mempolicy, MPOL_DEFAULT, NULL, 0);
    syscall(SYS_set_mempolicy, 9, one, 65);  /* EINVAL: no such mode */
    syscall(SYS_get_mempolicy, &(int){0}, mask, 1025, NULL, MPOL_F_MEMS_ALLOWED);
    void *region = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    syscall(SYS_mbind, region, 8192, MPOL_BIND | MPOL_F_STATIC_NODES, one, 3000, MPOL_MF_STRICT);
    syscall(SYS_migrate_pages, 0, 65, one, one);
    return 0;
}
"""


def test_memory_policies_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, MEMPOLICY)
    names = ("set_mempolicy", "get_mempolicy", "mbind", "migrate_pages")
    shown = [line for line in theirs if line.startswith(names)]
    assert [line for line in ours if line.startswith(names)] == shown
    # (the masking of addresses takes the word 0x00000000000001 for one: ADDRESS)
    zeros = ", ".join(["0000000000000000"] * 15)
    assert shown[0] == (f"get_mempolicy([MPOL_DEFAULT], [0000000000000000, {zeros}], 1025, "
                        "NULL, 0) = 0")
    assert shown[1] == f"set_mempolicy(MPOL_BIND, [ADDRESS, {zeros}], 1024) = 0"
    assert shown[2] == "set_mempolicy(MPOL_DEFAULT, NULL, 0) = 0"
    # 65 bits less one: one word
    assert shown[3].startswith("set_mempolicy(0x9 /* MPOL_??? */, [ADDRESS], 65) = -1 EINVAL")
    # 3000 bits: 47 words, strace's 32 then "..."
    assert shown[5].startswith("mbind(ADDRESS, 8192, MPOL_BIND|MPOL_F_STATIC_NODES, "
                               "[ADDRESS, 0000000000000000, ")
    assert ", ...], 3000, MPOL_MF_STRICT) = " in shown[5]


IPC = r"""
#include <stddef.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
int main(void) {
    int sem = semget(IPC_PRIVATE, 2, 0600);
    struct semid_ds ds;
    union semun { int val; struct semid_ds *buf; } arg = {.buf = &ds};
    semctl(sem, 0, IPC_STAT, arg);
    ds.sem_perm.mode = 0640;
    semctl(sem, 0, IPC_SET, arg);
    semctl(sem, 0, IPC_RMID);
    int queue = msgget(IPC_PRIVATE, 0600);
    struct msqid_ds mq;
    msgctl(queue, IPC_STAT, &mq);
    mq.msg_qbytes = 4096;
    msgctl(queue, IPC_SET, &mq);
    msgctl(queue, IPC_RMID, NULL);
    int shm = shmget(IPC_PRIVATE, 8192, 0600);
    struct shmid_ds sh;
    shmctl(shm, IPC_STAT, &sh);
    shmctl(shm, IPC_SET, &sh);
    shmctl(shm, IPC_RMID, NULL);
    return 0;
}
"""


def test_system_v_ipc_structures_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, IPC)
    ids = re.compile(r"^(\w+ctl)\(\d+, ")
    cpid = re.compile(r"shm_cpid=\d+")
    times = re.compile(r"_ctime=\d+")

    def masked(lines: list[str]) -> list[str]:
        return [times.sub("_ctime=T", cpid.sub("shm_cpid=N", ids.sub(r"\1(ID, ", line)))
                for line in lines]

    assert masked(ours) == masked(theirs)
    shown = masked(theirs)
    assert shown[0] == ("semctl(ID, 0, IPC_STAT, {sem_perm={uid=0, gid=0, mode=0600, key=0, "
                        "cuid=0, cgid=0}, sem_otime=0, sem_ctime=T, sem_nsems=2}) = 0")
    assert shown[1] == "semctl(ID, 0, IPC_SET, {sem_perm={uid=0, gid=0, mode=0640}}) = 0"
    assert shown[4] == ("msgctl(ID, IPC_SET, {msg_perm={uid=0, gid=0, mode=0600}, "
                        "msg_qbytes=4096}) = 0")
    assert shown[6].startswith("shmctl(ID, IPC_STAT, {shm_perm={uid=0, gid=0, mode=0600, key=0, "
                               "cuid=0, cgid=0}, shm_segsz=8192, shm_cpid=N, ")


IPC_OPERATIONS = r"""
#include <stddef.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
int main(void) {
    int sem = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
    struct sembuf ops[2] = {{0, 1, 0}, {1, 2, IPC_NOWAIT}};
    semop(sem, ops, 2);
    struct timespec t = {0, 1000};
    struct sembuf dec = {0, -1, SEM_UNDO};
    semtimedop(sem, &dec, 1, &t);
    semctl(sem, 0, GETVAL);
    semctl(sem, 1, SETVAL, 5);
    semctl(sem, 0, IPC_RMID);
    int q = msgget(IPC_PRIVATE, 0600);
    struct { long mtype; char mtext[16]; } m = {7, "hello queue"};
    msgsnd(q, &m, 12, 0);
    msgrcv(q, &m, sizeof m.mtext, 0, IPC_NOWAIT);
    msgrcv(q, &m, sizeof m.mtext, 0, IPC_NOWAIT);
    msgctl(q, IPC_RMID, NULL);
    int s = shmget(IPC_PRIVATE, 4096, 0600);
    void *p = shmat(s, NULL, SHM_RDONLY);
    shmdt(p);
    shmctl(s, IPC_RMID, NULL);
    return 0;
}
"""


def test_system_v_ipc_operations_match_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, IPC_OPERATIONS)
    ids = re.compile(r"^(\w+)\(\d+, ")

    def masked(lines: list[str]) -> list[str]:
        return [ids.sub(r"\1(ID, ", line) for line in lines]

    assert masked(ours) == masked(theirs)
    shown = masked(theirs)
    assert shown[0] == ("semtimedop(ID, [{sem_num=0, sem_op=1, sem_flg=0}, {sem_num=1, sem_op=2, "
                        "sem_flg=IPC_NOWAIT}], 2, NULL) = 0")
    assert 'msgsnd(ID, {mtype=7, mtext="hello queue\\0"}, 12, 0) = 0' in shown
    assert ('msgrcv(ID, {mtype=7, mtext="hello queue\\0\\0\\0\\0\\0"}, 16, 0, IPC_NOWAIT) = 12'
            in shown)
    assert "shmat(ID, NULL, SHM_RDONLY) = ADDRESS" in shown


ALTERNATE_STACK = r"""
#include <signal.h>
#include <stdlib.h>
int main(void) {
    stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0}, old;
    sigaltstack(&ss, NULL);
    sigaltstack(NULL, &old);
    ss.ss_flags = SS_DISABLE;
    sigaltstack(&ss, &old);
    return 0;
}
"""


def test_sigaltstack_matches_strace(tmp_path: Path) -> None:
    ours, theirs = _both(tmp_path, ALTERNATE_STACK)
    assert ours == theirs
    assert theirs == [
        "sigaltstack({ss_sp=ADDRESS, ss_flags=0, ss_size=65536}, NULL) = 0",
        "sigaltstack(NULL, {ss_sp=ADDRESS, ss_flags=0, ss_size=65536}) = 0",
        "sigaltstack({ss_sp=ADDRESS, ss_flags=SS_DISABLE, ss_size=65536}, {ss_sp=ADDRESS, "
        "ss_flags=0, ss_size=65536}) = 0",
    ]


SIGQUEUE = r"""#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
    signal(SIGRTMIN + 4, SIG_IGN);
    signal(SIGRTMIN + 2, SIG_IGN);
    union sigval value = {.sival_int = 42};
    sigqueue(getpid(), SIGRTMIN + 4, value);
    union sigval none = {.sival_int = 0};
    sigqueue(getpid(), SIGRTMIN + 4, none);  /* no value: strace leaves it out */
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = SIGRTMIN + 2;
    info.si_code = SI_QUEUE;
    info.si_pid = getpid();
    info.si_uid = getuid();
    info.si_value.sival_ptr = (void *)0x1234;
    syscall(SYS_rt_tgsigqueueinfo, getpid(), gettid(), SIGRTMIN + 2, &info);
    int pidfd = syscall(SYS_pidfd_open, getpid(), 0);
    syscall(SYS_pidfd_send_signal, pidfd, SIGRTMIN + 4, NULL, 0);
    info.si_signo = SIGRTMIN + 4;
    syscall(SYS_pidfd_send_signal, pidfd, SIGRTMIN + 4, &info, 0);
    return 0;
}
"""


def test_queued_signal_information_matches_strace(tmp_path: Path) -> None:
    """sigqueue's and the others' siginfo_t, as strace prints what the caller passed."""
    ours, theirs = _both(tmp_path, SIGQUEUE)
    process = re.compile(r"^(rt_t?g?sigqueueinfo\()\d+, (\d+, )?")

    def masked(lines: list[str]) -> list[str]:
        return [process.sub(lambda m: m.group(1) + "N, " + ("N, " if m.group(2) else ""), line)
                for line in lines]
    assert masked(ours) == masked(theirs)
    assert masked(theirs) == [
        "rt_sigqueueinfo(N, SIGRT_6, {si_signo=SIGRT_6, si_code=SI_QUEUE, si_pid=N, si_uid=0, "
        "si_int=42, si_ptr=0x2a}) = 0",
        "rt_sigqueueinfo(N, SIGRT_6, {si_signo=SIGRT_6, si_code=SI_QUEUE, si_pid=N, si_uid=0}) = 0",
        "rt_tgsigqueueinfo(N, N, SIGRT_4, {si_signo=SIGRT_4, si_code=SI_QUEUE, si_pid=N, "
        "si_uid=0, si_int=4660, si_ptr=0x1234}) = 0",
        "pidfd_send_signal(3, SIGRT_6, NULL, 0) = 0",
        "pidfd_send_signal(3, SIGRT_6, {si_signo=SIGRT_6, si_code=SI_QUEUE, si_pid=N, si_uid=0, "
        "si_int=4660, si_ptr=0x1234}, 0) = 0",
    ]


NO_TRAILING = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
int main(void) {
    int fd = open("/dev/null", O_RDONLY);
    ioctl(fd, FIOCLEX, 0); ioctl(fd, FIONCLEX, 7); ioctl(fd, TIOCEXCL, 0);
    ioctl(fd, TIOCNXCL, 0); ioctl(fd, TIOCSBRK, 0); ioctl(fd, TIOCCBRK, 0);
    ioctl(fd, TIOCCONS, 0); ioctl(fd, TIOCNOTTY, 0); ioctl(fd, TIOCVHANGUP, 0);
    ioctl(fd, TCSBRK, 1);
    void *m = mmap(0, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    void *n = mmap(0, 65536, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0);
    m = mremap(m, 8192, 16384, MREMAP_MAYMOVE);
    mremap(m, 16384, 4096, 0);
    m = mremap(m, 4096, 8192, MREMAP_MAYMOVE|MREMAP_FIXED, n);
    mremap(m, 8192, 8192, MREMAP_MAYMOVE|MREMAP_DONTUNMAP, 0);
    return 0;
}
"""


def test_arguments_strace_omits_are_omitted(tmp_path: Path) -> None:
    """ioctl requests that take no argument (FIOCLEX, TIOCNOTTY, ...), TCSBRK's int, and
    mremap's new_address only with MREMAP_MAYMOVE|MREMAP_FIXED."""
    ours, theirs = _both(tmp_path, NO_TRAILING, frozenset({"ioctl", "mremap"}))
    assert len(theirs) == 14 and ours == theirs
    assert "ioctl(3, FIOCLEX) = 0" in theirs and "ioctl(3, TCSBRK, 1) = -1 ENOTTY" in " ".join(
        theirs)
    assert theirs[10] == "mremap(ADDRESS, 8192, 16384, MREMAP_MAYMOVE) = ADDRESS"


QUOTA_AND_SYSLOG = r"""#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/quota.h>
#include <sys/syscall.h>
int main(void) {
    int fd = open("/", O_RDONLY | O_DIRECTORY);
    int null = open("/dev/null", O_WRONLY);
    unsigned int word = 3;
    struct dqblk dq;
    struct dqinfo di;
    memset(&dq, 0, sizeof dq);
    memset(&di, 0, sizeof di);
    dq.dqb_bhardlimit = 100;
    dq.dqb_valid = QIF_BLIMITS;
    di.dqi_bgrace = 60;
    di.dqi_flags = 1;
    di.dqi_valid = IIF_BGRACE | IIF_FLAGS;
    /* "/" is no block device: each fails, with what strace reads at entry */
    syscall(SYS_quotactl, QCMD(Q_GETQUOTA, USRQUOTA), "/", -1, &dq);
    syscall(SYS_quotactl, QCMD(Q_SETQUOTA, GRPQUOTA), "/", 1000, &dq);
    syscall(SYS_quotactl, QCMD(Q_SETQUOTA, GRPQUOTA), "/", 1000, NULL);
    syscall(SYS_quotactl, QCMD(Q_SETINFO, PRJQUOTA), "/", 0, &di);
    syscall(SYS_quotactl, QCMD(Q_GETFMT, USRQUOTA), "/", 0, &word);
    syscall(SYS_quotactl, QCMD(Q_QUOTAON, USRQUOTA), "/", QFMT_VFS_V0, "/aquota.user");
    syscall(SYS_quotactl, QCMD(Q_QUOTAON, USRQUOTA), "/", 0, NULL);
    syscall(SYS_quotactl, QCMD(0x5801, USRQUOTA), "/", 0, &word);  /* Q_XQUOTAON */
    syscall(SYS_quotactl, QCMD(0x5806, USRQUOTA), "/", 0, &word);  /* Q_XQUOTARM */
    syscall(SYS_quotactl, QCMD(0x300, USRQUOTA), "/", 5, NULL);    /* Q_V1_GETQUOTA */
    syscall(SYS_quotactl, 0x12345678, "/", 0, NULL);
    syscall(SYS_quotactl, QCMD(Q_SYNC, USRQUOTA), NULL, 0, NULL);
    syscall(SYS_quotactl_fd, fd, QCMD(Q_GETINFO, GRPQUOTA), 0, &di);
    syscall(SYS_quotactl_fd, fd, QCMD(Q_SETQUOTA, USRQUOTA), 7, &dq);
    static char log[8192];  /* the last whole records that fit: a few lines */
    syscall(SYS_syslog, 10, NULL, 0);  /* SYSLOG_ACTION_SIZE_BUFFER */
    syscall(SYS_syslog, 3, log, 0);    /* SYSLOG_ACTION_READ_ALL: nothing */
    long n = syscall(SYS_syslog, 3, log, sizeof log);
    if (n > 0)
        write(null, log, n);           /* the same bytes, recorded as the I/O they are */
    syscall(SYS_syslog, 3, NULL, 8);
    syscall(SYS_syslog, 8, NULL, 99);  /* SYSLOG_ACTION_CONSOLE_LEVEL, out of range */
    syscall(SYS_syslog, 99, log, -3);
    return 0;
}
"""


def test_quotactl_and_syslog_match_strace(tmp_path: Path) -> None:
    """quotactl's commands (``QCMD(Q_GETQUOTA, USRQUOTA)``), the arguments each takes
    and the structures strace reads at entry; syslog's actions, and the log text a
    read action filled (the same bytes the program then writes)."""
    compared = frozenset({"quotactl", "quotactl_fd", "syslog"})
    log_text = re.compile(r'^(syslog\(3 /\* SYSLOG_ACTION_READ_ALL \*/, )"(.*)"(\.\.\.)?, 8192\) '
                          r"= \d+$")
    ours, theirs = _both(tmp_path, QUOTA_AND_SYSLOG, compared)

    def masked(lines: list[str]) -> list[str]:
        # the kernel log grows between the two runs
        return [log_text.sub(r"\1TEXT, 8192) = N", line) for line in lines]
    assert masked(ours) == masked(theirs)
    for expected in (
        "quotactl(QCMD(Q_GETQUOTA, USRQUOTA), \"/\", -1, ADDRESS) = -1 ENOTBLK "
        "(Block device required)",
        "quotactl(QCMD(Q_SETQUOTA, GRPQUOTA), \"/\", 1000, {dqb_bhardlimit=100, "
        "dqb_bsoftlimit=0, dqb_curspace=0, dqb_ihardlimit=0, dqb_isoftlimit=0, "
        "dqb_curinodes=0, ...}) = -1 ENOTBLK (Block device required)",
        "quotactl(QCMD(Q_SETINFO, PRJQUOTA), \"/\", {dqi_bgrace=60, dqi_igrace=0, "
        "dqi_flags=DQF_ROOT_SQUASH, dqi_valid=IIF_BGRACE|IIF_FLAGS}) = -1 ENOTBLK "
        "(Block device required)",
        "quotactl(QCMD(Q_GETFMT, USRQUOTA), \"/\", ADDRESS) = -1 ENOTBLK (Block device required)",
        "quotactl(QCMD(Q_QUOTAON, USRQUOTA), \"/\", QFMT_VFS_V0, \"/aquota.user\") = -1 ENOTBLK "
        "(Block device required)",
        "quotactl(QCMD(Q_QUOTAON, USRQUOTA), \"/\", 0 /* QFMT_VFS_??? */, NULL) = -1 ENOTBLK "
        "(Block device required)",
        "quotactl(QCMD(Q_XQUOTAON, USRQUOTA), \"/\", [FS_QUOTA_UDQ_ACCT|FS_QUOTA_UDQ_ENFD]) = -1 "
        "ENOTBLK (Block device required)",
        "quotactl(QCMD(Q_XQUOTARM, USRQUOTA), \"/\", [FS_USER_QUOTA|FS_PROJ_QUOTA]) = -1 "
        "ENOTBLK (Block device required)",
        "quotactl(QCMD(Q_V1_GETQUOTA, USRQUOTA), \"/\", 5, NULL) = -1 ENOTBLK "
        "(Block device required)",
        "quotactl(QCMD(0x123456 /* Q_??? */, 0x78 /* ???QUOTA */), \"/\", 0, NULL) = -1 EINVAL "
        "(Invalid argument)",
        "syslog(3 /* SYSLOG_ACTION_READ_ALL */, \"\", 0) = 0",
        "syslog(3 /* SYSLOG_ACTION_READ_ALL */, NULL, 8) = -1 EINVAL (Invalid argument)",
        "syslog(8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, NULL, 99 /* LOGLEVEL_??? */) = -1 EINVAL "
        "(Invalid argument)",
        "syslog(99 /* SYSLOG_ACTION_??? */, ADDRESS, -3) = -1 EINVAL (Invalid argument)",
    ):
        assert expected in theirs, expected
    assert any(line.startswith("quotactl(QCMD(Q_SYNC, USRQUOTA), NULL) = ") for line in theirs)
    assert any(re.fullmatch(r"syslog\(10 /\* SYSLOG_ACTION_SIZE_BUFFER \*/\) = \d+", line)
               for line in theirs)
    assert any(line.startswith("quotactl_fd(3, QCMD(Q_GETINFO, GRPQUOTA), ADDRESS) = -1 ")
               for line in theirs)
    assert any(line.startswith("quotactl_fd(3, QCMD(Q_SETQUOTA, USRQUOTA), 7, {dqb_bhardlimit=100")
               for line in theirs)
    # the log text recorded is what the program read: the bytes it wrote next
    shown = next(log_text.match(line) for line in ours if log_text.match(line))
    assert shown is not None and shown.group(2)
    text = subprocess.run([str(KTRDUMP), "--format", "strace", str(tmp_path / "calls.ktr")],
                          check=True, capture_output=True, text=True, timeout=60).stdout
    written = [line for line in _lines(text, frozenset({"write"}))
               if line.startswith("write(4, ")]
    assert written and written[0].startswith(f'write(4, "{shown.group(2)}"')
