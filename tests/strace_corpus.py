"""ktrdump --format strace against strace itself, on a corpus of real programs.

Each program of ``CORPUS`` runs twice in the same fresh directory: once under
``strace -f -ttt -T`` and once under ``ktr record -i``, whose trace
``ktrdump --format strace`` prints. Both outputs are parsed into calls
(``<unfinished ...>``/``<... resumed>`` halves joined), grouped per thread,
threads paired by the similarity of their call-name sequences, and calls
aligned within a pair by name (``difflib``). An aligned pair is *identical*
when its argument text and its result text are equal after masking what
differs from run to run: addresses (ASLR), thread ids, times and random bytes
(``normalise``; also netlink port ids and iproute2's time-based sequence
numbers). A pair *loses information* when strace shows a string,
structure or array in an argument where ktrdump prints a bare pointer.

    python tests/strace_corpus.py             # every program, figures and top mismatches
    python tests/strace_corpus.py -v tcp_epoll # one program, every mismatch

``tests/test_strace_corpus.py`` asserts the threshold. Not compared: signal
and exit lines (``---``/``+++``; other tests cover them), calls only one side
has (scheduling: a thread that ran further before the other was stopped;
both sides' counts are reported).
"""

from __future__ import annotations

import argparse
import collections
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

STRACE = shutil.which("strace")
GCC = shutil.which("gcc")
KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
PYTHON = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else sys.executable

#: One line of ``strace -f -ttt -T``: thread id, time, then the event.
_LINE = re.compile(r"^(\d+) +\d+\.\d{6} (.*)$")
_UNFINISHED = re.compile(r"^(\w+)\((.*?) ?<unfinished \.\.\.>$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_TAIL = re.compile(r"^(.*)\) +=(?: (.*?))?(?: <\d+\.\d{6}>)?$")


@dataclass
class CallText:
    """One call as printed: its name, argument text and result text."""

    name: str
    args: str
    result: str


def parse(text: str) -> dict[int, list[CallText]]:
    """Calls per thread id, in order, from strace-format text."""
    threads: dict[int, list[CallText]] = collections.defaultdict(list)
    pending: dict[int, tuple[str, str]] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if match is None:
            continue
        tid, body = int(match.group(1)), match.group(2)
        if body.startswith(("---", "+++")):
            continue
        unfinished = _UNFINISHED.match(body)
        if unfinished is not None:
            pending[tid] = (unfinished.group(1), unfinished.group(2))
            continue
        resumed = _RESUMED.match(body)
        if resumed is not None:
            name, head = pending.pop(tid, (resumed.group(1), ""))
            rest = resumed.group(2)
            tail = _TAIL.match(rest)
            if tail is None:
                continue
            rest_args = tail.group(1)
            if (head.endswith(", ") or not rest_args or not head
                    or rest_args.startswith((", ", " "))):
                args = head + rest_args
            else:
                args = head + ", " + rest_args
            threads[tid].append(CallText(name, args, tail.group(2) or ""))
            continue
        paren = body.find("(")
        tail = _TAIL.match(body[paren + 1:]) if paren > 0 else None
        if tail is None:
            continue
        threads[tid].append(CallText(body[:paren], tail.group(1), tail.group(2) or ""))
    for tid, (name, head) in pending.items():  # never resumed (the process died)
        threads[tid].append(CallText(name, head.rstrip(", "), "?"))
    return dict(threads)


# ---------------------------------------------------------------------------
# masking what differs between two runs of the same program

_ADDRESS = re.compile(r"0x[0-9a-f]{5,}")
_TIMES = re.compile(r"\b(tv_u?n?sec|tv_sec|st_[amc]time(?:_nsec)?|stx_[abcm]time|uptime|"
                    r"freeram|bufferram|freeswap|procs|loads|ru_\w+|sharedram|"
                    r"ts_[sn]sec|f_bfree|f_bavail|f_ffree)=(\[[^\]]*\]|\{[^}]*\}|[0-9]+)")
_DATE = re.compile(r"/\* \d{4}-\d\d-\d\dT[\d:.]+[+-]\d{4} \*/")
_RANDOM_CALLS = frozenset({"getrandom"})
_IPC_GETS = frozenset({"semget", "msgget", "shmget"})
_IPC_USES = frozenset({"semctl", "msgctl", "shmctl", "semop", "semtimedop", "msgsnd", "msgrcv",
                       "shmat"})
_IPC_TIMES = re.compile(r"\b((?:sem|msg|shm)_[acdorst]time|shm_cpid)=\d+")
#: Results that name a process outside the trace (the tracer is the parent).
_OUTSIDE_RESULTS = frozenset({"getppid"})


_DATA_CALLS = frozenset({"read", "write", "pread64", "pwrite64"})


_PORT = re.compile(r"htons\(\d+\)")  # ports the kernel chose (bind to port 0)
#: netlink port ids the kernel chose (negative: not a pid), and iproute2's
#: sequence numbers, which are the time in seconds
_NETLINK_IDS = re.compile(r"\b(nl_pid|nlmsg_pid)=-\d+|\b(nlmsg_seq)=\d{9,}")


def _tid_or_number(number: str, tids: dict[int, str]) -> str:
    """A thread id's name; a power of two is left alone: round sizes (1024, 4096)
    meet a thread id far more often than a thread id is one."""
    value = int(number)
    if value & (value - 1) == 0:
        return number
    return tids.get(value, number)


def normalise(call: CallText, tids: dict[int, str], random_data: bool = False,
              ) -> tuple[str, str]:
    """The call's (arguments, result) with run-to-run differences masked.

    ``random_data``: the program's I/O data differs between runs (random
    salts): quoted data of read/write calls is compared by presence only.
    """
    def mask(text: str) -> str:
        text = _ADDRESS.sub("ADDR", text)
        text = _PORT.sub("htons(PORT)", text)
        text = _NETLINK_IDS.sub(lambda m: f"{m.group(1) or m.group(2)}=ID", text)
        text = _TIMES.sub(lambda m: f"{m.group(1)}=T", text)
        text = _DATE.sub("/* DATE */", text)  # the date strace gives a time (utimensat)
        if tids:
            text = re.sub(r"\b\d{2,}\b", lambda m: _tid_or_number(m.group(0), tids), text)
        return text

    args = call.args
    result = call.result
    if call.name in _OUTSIDE_RESULTS:
        result = "PID"
    if call.name in _IPC_GETS and not result.startswith("-1"):
        result = "IPCID"  # System V ids grow from run to run
    if call.name in _IPC_USES:
        args = re.sub(r"^-?\d+", "IPCID", args)
        args = _IPC_TIMES.sub(lambda m: f"{m.group(1)}=T", args)
    if call.name in _RANDOM_CALLS:
        # the bytes differ, strace's spelling of them (hex) must not
        args = re.sub(r"\\x[0-9a-f]{2}", r"\\xXX", args)
    elif random_data and call.name in _DATA_CALLS:
        args = re.sub(r'"(?:[^"\\]|\\.)*"', '"RANDOM"', args)
    return mask(args), mask(result)


def split_arguments(text: str) -> list[str]:
    """Top-level comma-separated arguments (quotes, brackets and braces respected)."""
    parts: list[str] = []
    depth = 0
    start = 0
    quoted = False
    index = 0
    while index < len(text):
        char = text[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "[{(":
            depth += 1
        elif char in "]})":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index].strip())
            start = index + 1
        index += 1
    tail = text[start:].strip()
    if tail or parts:
        parts.append(tail)
    return parts


def _is_pointer(text: str) -> bool:
    return text == "ADDR" or bool(re.fullmatch(r"0x[0-9a-f]+", text))


def _carries_data(text: str) -> bool:
    return text.startswith(('"', "{", "[")) or "/*" in text


# ---------------------------------------------------------------------------
# alignment


@dataclass
class Mismatch:
    program: str
    name: str
    theirs: tuple[str, str]
    ours: tuple[str, str]
    key: str  # the mismatch class
    lost: bool  # strace shows data where we print a pointer


@dataclass
class Figures:
    """One program's comparison."""

    program: str
    aligned: int = 0
    identical: int = 0
    lost: int = 0
    ours_only: int = 0
    theirs_only: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.identical / self.aligned if self.aligned else 1.0


def _classify(name: str, theirs: tuple[str, str], ours: tuple[str, str]) -> tuple[str, bool]:
    their_args, our_args = split_arguments(theirs[0]), split_arguments(ours[0])
    # A call of ours that failed had nothing to show (strace prints the bare
    # pointer of a failed call too): the pair is scheduling noise, such as a
    # shell's WNOHANG wait4 aligned with the other run's blocking one.
    # Likewise a call whose result differs: another event (a WNOHANG wait4
    # that found no child yet, where the other run's found one).
    other_outcome = ours[1].startswith("-1 ") or ours[1] != theirs[1]
    lost = not other_outcome and any(
        _carries_data(t) and _is_pointer(o)
        for t, o in zip(their_args, our_args, strict=False))
    if len(their_args) != len(our_args):
        return f"{name}: {len(their_args)} arguments vs {len(our_args)}", lost
    for index, (t, o) in enumerate(zip(their_args, our_args, strict=True)):
        if t != o:
            return f"{name}: argument {index + 1}", lost
    return f"{name}: result", lost


def _tid_names(threads: dict[int, list[CallText]], order: Sequence[int]) -> dict[int, str]:
    return {tid: f"TID{index}" for index, tid in enumerate(order)}


def _pair_threads(ours: dict[int, list[CallText]], theirs: dict[int, list[CallText]],
                  ) -> list[tuple[int, int]]:
    """Thread pairs, most similar call-name sequences first (greedy)."""
    scores = []
    for our_tid, our_calls in ours.items():
        our_names = [c.name for c in our_calls]
        for their_tid, their_calls in theirs.items():
            matcher = difflib.SequenceMatcher(None, our_names, [c.name for c in their_calls],
                                              autojunk=False)
            scores.append((matcher.ratio(), our_tid, their_tid))
    scores.sort(key=lambda s: (-s[0], s[1], s[2]))
    used_ours: set[int] = set()
    used_theirs: set[int] = set()
    pairs = []
    for _score, our_tid, their_tid in scores:
        if our_tid in used_ours or their_tid in used_theirs:
            continue
        used_ours.add(our_tid)
        used_theirs.add(their_tid)
        pairs.append((our_tid, their_tid))
    return pairs


def compare(program: str, ours_text: str, theirs_text: str, random_data: bool = False,
            ) -> Figures:
    ours, theirs = parse(ours_text), parse(theirs_text)
    figures = Figures(program)
    pairs = _pair_threads(ours, theirs)
    our_tids = _tid_names(ours, [p[0] for p in pairs])
    their_tids = _tid_names(theirs, [p[1] for p in pairs])
    for our_tid, their_tid in pairs:
        our_calls, their_calls = ours[our_tid], theirs[their_tid]
        matcher = difflib.SequenceMatcher(None, [c.name for c in our_calls],
                                          [c.name for c in their_calls], autojunk=False)
        for tag, o1, o2, t1, t2 in matcher.get_opcodes():
            if tag != "equal":
                figures.ours_only += o2 - o1
                figures.theirs_only += t2 - t1
                continue
            for our_call, their_call in zip(our_calls[o1:o2], their_calls[t1:t2], strict=True):
                figures.aligned += 1
                mine = normalise(our_call, our_tids, random_data)
                other = normalise(their_call, their_tids, random_data)
                if mine == other:
                    figures.identical += 1
                    continue
                key, lost = _classify(our_call.name, other, mine)
                figures.lost += lost
                figures.mismatches.append(Mismatch(program, our_call.name, other, mine, key,
                                                   lost))
    paired_ours = {p[0] for p in pairs}
    paired_theirs = {p[1] for p in pairs}
    figures.ours_only += sum(len(c) for t, c in ours.items() if t not in paired_ours)
    figures.theirs_only += sum(len(c) for t, c in theirs.items() if t not in paired_theirs)
    return figures


# ---------------------------------------------------------------------------
# the corpus

_C_HEAD = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
"""

THREADS_C = _C_HEAD + r"""
static int pipefd[2];
static void *worker(void *arg) {
    long n = (long)arg;
    char line[64];
    for (int i = 0; i < 5; i++) {
        int len = snprintf(line, sizeof line, "thread %ld line %d\n", n, i);
        write(pipefd[1], line, len);
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}
int main(void) {
    if (pipe2(pipefd, O_CLOEXEC) != 0) return 1;
    pthread_t threads[3];
    for (long i = 0; i < 3; i++) pthread_create(&threads[i], NULL, worker, (void *)i);
    char buf[4096];
    size_t total = 0;
    while (total < 3 * 5 * 16) {
        ssize_t got = read(pipefd[0], buf, sizeof buf);
        if (got <= 0) break;
        total += got;
    }
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    return 0;
}
"""

SIGNALS_C = _C_HEAD + r"""
#include <sys/time.h>
static volatile sig_atomic_t hits;
static void handler(int sig) { (void)sig; hits++; }
int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    struct itimerval old;
    getitimer(ITIMER_REAL, &old);
    pause();
    kill(getpid(), SIGUSR1);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sigprocmask(SIG_BLOCK, &set, NULL);
    raise(SIGUSR2);
    int sig;
    sigwait(&set, &sig);
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGALRM;
    timer_create(CLOCK_MONOTONIC, &sev, &timer);
    struct itimerspec its = {{0, 0}, {0, 10000000}};
    timer_settime(timer, 0, &its, NULL);
    pause();
    timer_delete(timer);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    now.tv_nsec += 1000000;
    if (now.tv_nsec >= 1000000000) { now.tv_sec++; now.tv_nsec -= 1000000000; }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &now, NULL);
    alarm(0);
    umask(022);
    return hits == 3 ? 0 : 1;
}
"""

TCP_EPOLL_C = _C_HEAD + r"""
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/epoll.h>
#include <poll.h>
int main(void) {
    int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    int one = 1;
    setsockopt(server, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    bind(server, (struct sockaddr *)&addr, sizeof addr);
    listen(server, 4);
    socklen_t len = sizeof addr;
    getsockname(server, (struct sockaddr *)&addr, &len);
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = server};
    epoll_ctl(epfd, EPOLL_CTL_ADD, server, &ev);
    struct epoll_event events[4];
    epoll_wait(epfd, events, 4, 0);  /* nothing yet: strace prints [] */
    pid_t child = fork();
    if (child == 0) {
        int client = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        connect(client, (struct sockaddr *)&addr, sizeof addr);
        send(client, "ping", 4, 0);
        char reply[16];
        ssize_t got = recv(client, reply, sizeof reply, 0);
        shutdown(client, SHUT_WR);
        close(client);
        _exit(got == 4 ? 0 : 1);
    }
    int n = epoll_wait(epfd, events, 4, 5000);
    int conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = conn;
    epoll_ctl(epfd, EPOLL_CTL_ADD, conn, &ev);
    n = epoll_wait(epfd, events, 4, 5000);
    char buf[64];
    ssize_t got = recvfrom(conn, buf, sizeof buf, 0, NULL, NULL);
    sendto(conn, buf, got, MSG_NOSIGNAL, NULL, 0);
    int value = 0;
    len = sizeof value;
    getsockopt(conn, SOL_SOCKET, SO_ERROR, &value, &len);
    struct pollfd pfd = {.fd = conn, .events = POLLIN};
    poll(&pfd, 1, 5000);
    int status;
    wait4(child, &status, 0, NULL);
    epoll_ctl(epfd, EPOLL_CTL_DEL, conn, &ev);  /* the event is ignored: a pointer */
    close(conn);
    close(epfd);
    close(server);
    return n < 0;
}
"""

EXEC_THREAD_C = _C_HEAD + r"""
static void *worker(void *arg) {
    (void)arg;
    char *argv[] = {"/bin/true", NULL};
    execv("/bin/true", argv);
    return NULL;
}
int main(void) {
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_join(thread, NULL);
    return 1;
}
"""

SIGSEGV_C = _C_HEAD + r"""
int main(void) {
    write(1, "before\n", 7);
    volatile int *nowhere = (int *)16;
    return *nowhere;
}
"""

PTY_C = _C_HEAD + r"""
#include <sys/ioctl.h>
#include <termios.h>
int main(void) {
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    grantpt(master);
    unlockpt(master);
    char name[64];
    ptsname_r(master, name, sizeof name);
    int slave = open(name, O_RDWR | O_NOCTTY);
    struct winsize ws = {.ws_row = 24, .ws_col = 80};
    ioctl(master, TIOCSWINSZ, &ws);
    ioctl(slave, TIOCGWINSZ, &ws);
    struct termios tio;
    tcgetattr(slave, &tio);
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    int queued = 0;
    ioctl(master, FIONREAD, &queued);
    write(slave, "hi", 2);
    char buf[8];
    read(master, buf, sizeof buf);
    close(slave);
    close(master);
    return 0;
}
"""

MISC_C = _C_HEAD + r"""
#include <dirent.h>
#include <poll.h>
#include <sys/file.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/xattr.h>
#include <linux/futex.h>
int main(void) {
    char buf[4096];
    getcwd(buf, sizeof buf);
    mkdir("d", 0755);
    int fd = open("d/file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    struct iovec iov[2] = {{"hello ", 6}, {"world\n", 6}};
    writev(fd, iov, 2);
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_APPEND);
    fcntl(fd, F_GETFD);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    int dup = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    struct flock lock = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 4};
    fcntl(fd, F_SETLK, &lock);
    fcntl(fd, F_GETLK, &lock);
    flock(fd, LOCK_EX);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    close(dup);
    close(fd);
    symlink("file", "d/link");
    readlink("d/link", buf, sizeof buf);
    readlinkat(AT_FDCWD, "d/link", buf, sizeof buf);
    setxattr("d/file", "user.k", "v1", 2, 0);
    getxattr("d/file", "user.k", buf, sizeof buf);
    lgetxattr("d/file", "user.k", buf, sizeof buf);
    listxattr("d/file", buf, sizeof buf);
    getxattr("d/file", "user.missing", buf, sizeof buf);
    fd = open("d/file", O_RDONLY);
    struct iovec in[2] = {{buf, 3}, {buf + 100, 64}};
    readv(fd, in, 2);
    pread(fd, buf, 5, 2);
    lseek(fd, 0, SEEK_SET);
    close(fd);
    fd = open("d", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    syscall(SYS_getdents64, fd, buf, sizeof buf);
    syscall(SYS_getdents64, fd, buf, sizeof buf);
    close(fd);
    unsigned char random[8];
    getrandom(random, sizeof random, GRND_NONBLOCK);
    struct statfs sfs;
    statfs(".", &sfs);
    struct sysinfo si;
    sysinfo(&si);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    struct utsname un;
    uname(&un);
    umask(077);
    int p[2];
    pipe2(p, O_NONBLOCK);
    pipe2(p + 0, 0);
    struct pollfd pfd = {.fd = p[0], .events = POLLIN};
    poll(&pfd, 1, 0);
    write(p[1], "x", 1);
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(p[0], &readable);
    struct timeval wait = {5, 0};
    select(p[0] + 1, &readable, NULL, NULL, &wait);
    struct timespec patience = {5, 0};
    ppoll(&pfd, 1, &patience, NULL);
    FD_ZERO(&readable);
    struct timeval none = {0, 0};
    select(p[0] + 1, &readable, NULL, NULL, &none);
    int futex_word = 0;
    struct timespec timeout = {0, 1000};
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, &timeout, NULL, 0);
    syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
    struct stat st;
    fstatat(AT_FDCWD, "d/file", &st, AT_SYMLINK_NOFOLLOW);
    syscall(SYS_statx, AT_FDCWD, "d/file", 0, STATX_BASIC_STATS, buf);
    prctl(PR_SET_NAME, "worker");
    prctl(PR_GET_NAME, buf);
    prctl(PR_GET_DUMPABLE);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_CAPBSET_READ, 21);
    prctl(PR_SET_CHILD_SUBREAPER, 0);
    gid_t groups[64];
    getgroups(64, groups);
    cpu_set_t cpus;
    sched_getaffinity(0, sizeof cpus, &cpus);
    pid_t child = fork();
    if (child == 0) _exit(3);
    int status;
    wait4(child, &status, 0, NULL);
    unlink("d/link");
    unlink("d/file");
    rmdir("d");
    return 0;
}
"""

UNIX_C = _C_HEAD + r"""
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <poll.h>
int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv);
    struct iovec out[2] = {{"hello", 5}, {" world", 6}};
    struct msghdr message;
    memset(&message, 0, sizeof message);
    message.msg_iov = out;
    message.msg_iovlen = 2;
    sendmsg(sv[0], &message, 0);
    char buf[64];
    struct iovec in = {buf, sizeof buf};
    struct msghdr received;
    memset(&received, 0, sizeof received);
    received.msg_iov = &in;
    received.msg_iovlen = 1;
    recvmsg(sv[1], &received, 0);
    int type = 0;
    socklen_t len = sizeof type;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len);
    int size = 65536;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    sendto(sv[0], "x", 1, MSG_DONTWAIT, NULL, 0);
    struct pollfd pfd = {.fd = sv[1], .events = POLLIN | POLLOUT};
    poll(&pfd, 1, 0);
    recvfrom(sv[1], buf, sizeof buf, 0, NULL, NULL);
    poll(&pfd, 1, 0);
    int server = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strcpy(address.sun_path, "sock");
    bind(server, (struct sockaddr *)&address, sizeof address);
    listen(server, 1);
    int client = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(client, (struct sockaddr *)&address, sizeof address);
    struct sockaddr_un peer;
    socklen_t peer_len = sizeof peer;
    int connection = accept(server, (struct sockaddr *)&peer, &peer_len);
    peer_len = sizeof peer;
    getsockname(client, (struct sockaddr *)&peer, &peer_len);
    close(connection);
    close(client);
    close(server);
    unlink("sock");
    return 0;
}
"""

I386_C = r"""
static long sys3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
static long sys6(long nr, long a, long b, long c, long d, long e, long f) {
    long ret;
    long args[2] = {e, f};
    long *pointer = args;
    __asm__ volatile ("push %%ebp\n\tmov 4(%%edi), %%ebp\n\tmov 0(%%edi), %%edi\n\t"
                      "int $0x80\n\tpop %%ebp"
                      : "=a"(ret), "+D"(pointer) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                      : "memory");
    return ret;
}
void _start(void) {
    char buf[256];
    sys3(183, (long)buf, sizeof buf, 0);                       /* getcwd */
    long fd = sys3(5, (long)"/etc/hostname", 0, 0);            /* open */
    sys3(3, fd, (long)buf, sizeof buf);                        /* read */
    sys3(6, fd, 0, 0);                                         /* close */
    long map = sys6(192, 0, 8192, 3, 0x22, -1, 0);             /* mmap2 */
    sys3(91, map, 8192, 0);                                    /* munmap */
    fd = sys3(5, (long)"/etc/hostname", 0, 0);
    sys6(192, 0, 4096, 1, 2, fd, 1);                           /* mmap2 of the file */
    sys3(6, fd, 0, 0);
    int sv[2];
    long pair[4] = {1, 1, 0, (long)sv};                        /* AF_UNIX, SOCK_STREAM */
    sys3(102, 8, (long)pair, 0);                               /* socketcall(socketpair) */
    long send[4] = {sv[0], (long)"ping", 4, 0};
    sys3(102, 9, (long)send, 0);                               /* socketcall(send) */
    long recv[4] = {sv[1], (long)buf, sizeof buf, 0};
    sys3(102, 10, (long)recv, 0);                              /* socketcall(recv) */
    long shut[2] = {sv[0], 1};
    sys3(102, 13, (long)shut, 0);                              /* socketcall(shutdown) */
    long sock[3] = {2, 2, 0};                                  /* AF_INET, SOCK_DGRAM */
    long udp = sys3(102, 1, (long)sock, 0);                    /* socketcall(socket) */
    sys3(6, udp, 0, 0);
    long sem = sys6(117, 2, 0, 1, 01600, 0, 0);                /* ipc(SEMGET) */
    long unused = 0;
    sys6(117, 3, sem, 0, 0, (long)&unused, 0);                 /* ipc(SEMCTL, IPC_RMID) */
    unsigned desc[4] = {0xffffffff, (unsigned)(long)buf, 0xfffff, 0x51};
    sys3(243, (long)desc, 0, 0);                               /* set_thread_area */
    sys3(4, 1, (long)"done\n", 5);                             /* write */
    sys3(252, 0, 0, 0);                                        /* exit_group */
    for (;;) {}
}
"""


#: Calls strace decodes with printers of their own: offsets (splice, sendfile,
#: copy_file_range), the memory of another process, sendmmsg and recvmmsg (with
#: names and control data), io_uring_setup, clone3's pidfd and waitid on it.
TRANSFER_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/io_uring.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int in = open("data.txt", O_RDONLY);
    int out = open("out.txt", O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int p[2];
    pipe(p);
    loff_t off = 0, off2 = 8;
    splice(in, &off, p[1], NULL, 4, SPLICE_F_MOVE);
    off_t sent = 0;
    sendfile(out, in, &sent, 8);
    sendfile(out, in, &sent, 0);              /* nothing moved: no "=> [N]" */
    sendfile(out, -1, &sent, 8);              /* failed: the offset as read */
    off = 0;
    copy_file_range(in, &off, out, &off2, 4, 0);
    char local[8], remote[8] = "remote!";
    struct iovec l = {local, sizeof local}, r = {remote, sizeof remote};
    process_vm_readv(getpid(), &l, 1, &r, 1, 0);
    struct iovec two[2] = {{"ab", 2}, {"cd", 2}};
    process_vm_writev(getpid(), two, 2, &r, 1, 0);
    int s[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
    struct mmsghdr m[2];
    struct iovec a = {"one", 3}, b = {"two!", 4};
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_iov = &a; m[0].msg_hdr.msg_iovlen = 1;
    m[1].msg_hdr.msg_iov = &b; m[1].msg_hdr.msg_iovlen = 1;
    sendmmsg(s[0], m, 2, 0);
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    syscall(SYS_io_uring_setup, 0, &params);  /* EINVAL: what it read alone */
    syscall(SYS_io_uring_setup, 4, &params);
    int pidfd = -1, child = 0;
    struct clone_args ca;
    memset(&ca, 0, sizeof ca);
    ca.flags = CLONE_PIDFD | CLONE_PARENT_SETTID;
    ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
    ca.parent_tid = (uint64_t)(uintptr_t)&child;
    ca.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &ca, sizeof ca);
    if (pid == 0) _exit(0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_utime = 158;  /* waitid does not write the times: what the program left */
    syscall(SYS_waitid, P_PIDFD, pidfd, &info, WEXITED, NULL);
    /* sendmmsg/recvmmsg with control data (an fd in SCM_RIGHTS) and names */
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } sctl, rctl[3];
    memset(&sctl, 0, sizeof sctl);
    memset(rctl, 0, sizeof rctl);
    struct cmsghdr *c = (struct cmsghdr *)sctl.b;
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &in, sizeof in);
    m[0].msg_hdr.msg_control = sctl.b; m[0].msg_hdr.msg_controllen = sizeof sctl.b;
    sendmmsg(s[0], m, 1, 0);
    struct mmsghdr rm[3];
    char rbuf[3][8];
    struct iovec rv[3];
    memset(rm, 0, sizeof rm);
    for (int i = 0; i < 3; i++) {
        rv[i].iov_base = rbuf[i]; rv[i].iov_len = sizeof rbuf[i];
        rm[i].msg_hdr.msg_iov = &rv[i]; rm[i].msg_hdr.msg_iovlen = 1;
        rm[i].msg_hdr.msg_control = rctl[i].b; rm[i].msg_hdr.msg_controllen = sizeof rctl[i].b;
    }
    recvmmsg(s[1], rm, 3, MSG_DONTWAIT, NULL);
    int u1 = socket(AF_INET, SOCK_DGRAM, 0), u2 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET}, from;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(u1, (struct sockaddr *)&to, sizeof to);
    socklen_t tolen = sizeof to;
    getsockname(u1, (struct sockaddr *)&to, &tolen);
    int on = 1;  /* control messages of the IP level on what u1 receives */
    setsockopt(u1, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    setsockopt(u1, IPPROTO_IP, IP_RECVTTL, &on, sizeof on);
    union { char b[128]; struct cmsghdr align; } uctl;
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_name = &to; m[0].msg_hdr.msg_namelen = sizeof to;
    m[0].msg_hdr.msg_iov = &a; m[0].msg_hdr.msg_iovlen = 1;
    sendmmsg(u2, m, 1, 0);
    memset(rm, 0, sizeof rm);
    rm[0].msg_hdr.msg_name = &from; rm[0].msg_hdr.msg_namelen = sizeof from;
    rm[0].msg_hdr.msg_iov = &rv[0]; rm[0].msg_hdr.msg_iovlen = 1;
    rm[0].msg_hdr.msg_control = uctl.b; rm[0].msg_hdr.msg_controllen = sizeof uctl.b;
    recvmmsg(u1, rm, 1, 0, NULL);
    return 0;
}
"""


#: Network clients and servers on localhost: UDP (sendto/recvfrom/recvmsg with
#: a name), IPv6 TCP with a non-blocking connect, socket options, SCM_RIGHTS and
#: SCM_CREDENTIALS over a unix pair, epoll and an abstract unix address.
NET_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stddef.h>
int main(void) {
    /* UDP on localhost */
    int u1 = socket(AF_INET, SOCK_DGRAM, 0);
    int u2 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_UDP);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(0)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(u1, (struct sockaddr *)&a, sizeof a);
    socklen_t len = sizeof a;
    getsockname(u1, (struct sockaddr *)&a, &len);
    sendto(u2, "datagram", 8, 0, (struct sockaddr *)&a, sizeof a);
    char buf[256];
    struct sockaddr_in from;
    socklen_t fromlen = sizeof from;
    recvfrom(u1, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    recvfrom(u2, buf, sizeof buf, 0, NULL, NULL);   /* EAGAIN */
    connect(u2, (struct sockaddr *)&a, sizeof a);
    send(u2, "again", 5, 0);
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov,
                       .msg_iovlen = 1};
    recvmsg(u1, &m, 0);
    int rcv = 0; len = sizeof rcv;
    getsockopt(u1, SOL_SOCKET, SO_RCVBUF, &rcv, &len);
    struct timeval tv = {1, 500};
    setsockopt(u1, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct linger lg = {1, 5};
    setsockopt(u1, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int ttl = 32;
    setsockopt(u1, IPPROTO_IP, IP_TTL, &ttl, sizeof ttl);
    close(u1); close(u2);
    /* IPv6 TCP */
    int s6 = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s6, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    setsockopt(s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bind(s6, (struct sockaddr *)&a6, sizeof a6);
    listen(s6, SOMAXCONN);
    len = sizeof a6;
    getsockname(s6, (struct sockaddr *)&a6, &len);
    int c6 = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0);
    connect(c6, (struct sockaddr *)&a6, sizeof a6);   /* EINPROGRESS */
    struct pollfd pfd = {.fd = c6, .events = POLLOUT};
    poll(&pfd, 1, 5000);
    struct sockaddr_in6 peer; socklen_t plen = sizeof peer;
    int conn = accept4(s6, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK);
    plen = sizeof peer;
    getpeername(conn, (struct sockaddr *)&peer, &plen);
    int nodelay = 1;
    setsockopt(c6, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    int keep = 1;
    setsockopt(c6, SOL_SOCKET, SO_KEEPALIVE, &keep, sizeof keep);
    write(c6, "request", 7);
    pfd.fd = conn; pfd.events = POLLIN;
    poll(&pfd, 1, 5000);
    read(conn, buf, sizeof buf);
    shutdown(conn, SHUT_RDWR);
    read(c6, buf, sizeof buf);
    close(conn); close(c6); close(s6);
    /* SCM_RIGHTS and SCM_CREDENTIALS over a unix socket pair */
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    int fds[2] = {0, 1};
    union {
        char b[CMSG_SPACE(sizeof fds) + CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } ctl;
    memset(&ctl, 0, sizeof ctl);
    struct iovec out = {"fds", 3};
    struct msghdr sm = {.msg_iov = &out, .msg_iovlen = 1, .msg_control = ctl.b,
                        .msg_controllen = sizeof ctl.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&sm);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(c), fds, sizeof fds);
    c = CMSG_NXTHDR(&sm, c);
    struct ucred cred = {getpid(), getuid(), getgid()};
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_CREDENTIALS; c->cmsg_len = CMSG_LEN(sizeof cred);
    memcpy(CMSG_DATA(c), &cred, sizeof cred);
    sendmsg(sv[0], &sm, 0);
    union { char b[256]; struct cmsghdr align; } rctl;
    struct iovec in = {buf, sizeof buf};
    struct msghdr rm = {.msg_iov = &in, .msg_iovlen = 1, .msg_control = rctl.b,
                        .msg_controllen = sizeof rctl.b};
    recvmsg(sv[1], &rm, MSG_CMSG_CLOEXEC);
    struct ucred got; len = sizeof got;
    getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &got, &len);
    /* epoll with a timeout on the pair */
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u64 = 7};
    epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev);
    write(sv[0], "e", 1);
    struct epoll_event evs[2];
    epoll_wait(ep, evs, 2, 100);
    epoll_pwait(ep, evs, 2, 0, NULL);
    close(ep);
    close(sv[0]); close(sv[1]);
    /* abstract unix datagram */
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un ua = {.sun_family = AF_UNIX};
    memcpy(ua.sun_path, "\0ktr-abstract", 13);
    bind(d, (struct sockaddr *)&ua, offsetof(struct sockaddr_un, sun_path) + 13);
    sendto(d, "self", 4, 0, (struct sockaddr *)&ua, offsetof(struct sockaddr_un, sun_path) + 13);
    struct sockaddr_un src; socklen_t slen = sizeof src;
    recvfrom(d, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&src, &slen);
    close(d);
    return 0;
}
"""

#: File-descriptor kinds and process knobs: inotify, timerfd, signalfd,
#: eventfd, memfd and seals, prctl, rlimits, scheduling, getrandom, statx,
#: openat2 and futex waits between two threads.
FDS_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/openat2.h>
#include <poll.h>
#include <linux/futex.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/time.h>
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready = PTHREAD_COND_INITIALIZER;
static int state;
static void *worker(void *arg) {
    (void)arg;
    pthread_mutex_lock(&lock);
    while (state == 0) pthread_cond_wait(&ready, &lock);
    state = 2;
    pthread_cond_signal(&ready);
    pthread_mutex_unlock(&lock);
    return NULL;
}
int main(void) {
    char buf[4096];
    int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    int wd = inotify_add_watch(in, ".", IN_CREATE | IN_DELETE | IN_MODIFY);
    int f = open("watched", O_WRONLY | O_CREAT, 0644);
    close(f);
    read(in, buf, sizeof buf);
    inotify_rm_watch(in, wd);
    close(in);
    unlink("watched");
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    struct itimerspec its = {{0, 0}, {0, 1000000}}, old;
    timerfd_settime(t, 0, &its, &old);
    timerfd_gettime(t, &old);
    uint64_t ticks;
    read(t, &ticks, sizeof ticks);
    close(t);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sfd = signalfd(-1, &set, SFD_NONBLOCK);
    kill(getpid(), SIGUSR1);
    struct signalfd_siginfo ssi;
    struct pollfd spf = {.fd = sfd, .events = POLLIN};
    poll(&spf, 1, 0);
    close(sfd);
    int e = eventfd(3, EFD_CLOEXEC | EFD_SEMAPHORE);
    uint64_t v = 2;
    write(e, &v, sizeof v);
    read(e, &v, sizeof v);
    close(e);
    int m = memfd_create("ktr-memfd", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    ftruncate(m, 4096);
    fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    fcntl(m, F_GET_SEALS);
    void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
    madvise(p, 4096, MADV_DONTNEED);
    mprotect(p, 4096, PROT_READ);
    msync(p, 4096, MS_SYNC);
    mlock(p, 4096);
    munlock(p, 4096);
    munmap(p, 4096);
    close(m);
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
    prctl(PR_SET_TIMERSLACK, 50000);
    prctl(PR_GET_TIMERSLACK);
    prctl(PR_SET_KEEPCAPS, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = 512;
    setrlimit(RLIMIT_NOFILE, &rl);
    struct rlimit old_rl;
    prlimit(0, RLIMIT_CORE, NULL, &old_rl);
    prlimit(0, RLIMIT_STACK, NULL, &old_rl);
    getpriority(PRIO_PROCESS, 0);
    setpriority(PRIO_PROCESS, 0, 5);
    struct sched_param sp = {0};
    sched_getscheduler(0);
    sched_getparam(0, &sp);
    sched_setscheduler(0, SCHED_BATCH, &sp);
    sched_get_priority_max(SCHED_FIFO);
    sched_get_priority_min(SCHED_RR);
    struct timespec rr;
    sched_rr_get_interval(0, &rr);
    sched_yield();
    unsigned char attr[56];
    syscall(SYS_sched_getattr, 0, attr, sizeof attr, 0);
    getcpu(NULL, NULL);
    unsigned char rnd[16];
    getrandom(rnd, sizeof rnd, 0);
    struct statx sx;
    statx(AT_FDCWD, "/etc/passwd", AT_STATX_SYNC_AS_STAT, STATX_ALL, &sx);
    statx(AT_FDCWD, "missing", 0, STATX_SIZE, &sx);
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
                           .resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH};
    int o = syscall(SYS_openat2, AT_FDCWD, "/etc/passwd", &how, sizeof how);
    int dir = open("/etc", O_PATH | O_DIRECTORY);
    o = syscall(SYS_openat2, dir, "passwd", &how, sizeof how);
    close(o);
    close(dir);
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&lock);
    state = 1;
    pthread_cond_signal(&ready);
    while (state != 2) pthread_cond_wait(&ready, &lock);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    return 0;
}
"""


#: A TCP and a UDP exchange on localhost through Python's socket module.
PYTHON_SOCKETS = """
import socket, select
server = socket.create_server(("127.0.0.1", 0), backlog=2)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
client = socket.create_connection(server.getsockname(), timeout=5)
connection, peer = server.accept()
client.sendall(b"hello over tcp")
select.select([connection], [], [], 5)
print(connection.recv(100))
connection.shutdown(socket.SHUT_WR)
print(client.recv(100))
for s in (connection, client, server):
    s.close()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
other.sendto(b"datagram", udp.getsockname())
print(udp.recvfrom(100)[0])
udp.close()
other.close()
"""

#: Coreutils a user runs on files: links, fixed times, modes, owners, a fifo.
FILE_TOOLS = ("ln -s data/file1.txt link && readlink link && readlink -f link && "
              "touch -d '2020-01-02 03:04:05' data/file2.txt && chmod 600 data/file2.txt && "
              "chown 1:1 data/file2.txt && mkfifo -m 0640 fifo && "
              "stat -c '%n %s %F %a %u %g %Y' data/file2.txt fifo && "
              "ls -l --time-style=+%s data/file2.txt && rm fifo link && mv data/file3.txt moved")

#: A commit with fixed dates, so that its object names are the same every run.
GIT_COMMIT = ("export GIT_AUTHOR_DATE='2020-01-01T00:00:00Z' "
              "GIT_COMMITTER_DATE='2020-01-01T00:00:00Z' GIT_AUTHOR_NAME=a "
              "GIT_AUTHOR_EMAIL=a@b GIT_COMMITTER_NAME=a GIT_COMMITTER_EMAIL=a@b; "
              "git init -q r && cd r && echo hi > f && git add f && git commit -q -m first && "
              "git log --oneline")

PERL = ('opendir(my $d, "data") or die; my @n = sort readdir($d); closedir($d); '
        'print "@n\\n"; open(my $f, ">", "out") or die; print $f "x" x 10; close($f); '
        'my @s = stat("out"); print "$s[7]\\n"; unlink("out"); '
        'system("true"); print "$?\\n";')

BASH_REDIRECTIONS = ("exec 3>out; echo a >&3; exec 3>&-; cat < /etc/hostname | sort | "
                     "uniq > o2 2>&1; { echo x; echo y; } | wc -l; echo err 1>&2 2>/dev/null; "
                     "cat out o2 >> all; read line < all; echo \"$line\"; (cd /; pwd)")

#: System V IPC: semaphores, a message queue and shared memory, with the
#: structures their control calls fill and read.
SYSV_C = r"""
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
    struct semid_ds ds;
    union semun { int val; struct semid_ds *buf; } arg = {.buf = &ds};
    semctl(sem, 0, IPC_STAT, arg);
    semctl(sem, 0, IPC_SET, arg);
    semctl(sem, 0, GETVAL);
    semctl(sem, 1, SETVAL, 5);
    semctl(sem, 0, IPC_RMID);
    int q = msgget(IPC_PRIVATE, 0600);
    struct { long mtype; char mtext[16]; } m = {7, "hello queue"};
    msgsnd(q, &m, 12, 0);
    msgrcv(q, &m, sizeof m.mtext, 0, IPC_NOWAIT);
    msgrcv(q, &m, sizeof m.mtext, 0, IPC_NOWAIT);
    struct msqid_ds mq;
    msgctl(q, IPC_STAT, &mq);
    msgctl(q, IPC_RMID, NULL);
    int s = shmget(IPC_PRIVATE, 4096, 0600);
    void *p = shmat(s, NULL, SHM_RDONLY);
    struct shmid_ds sh;
    shmctl(s, IPC_STAT, &sh);
    shmdt(p);
    shmctl(s, IPC_RMID, NULL);
    return 0;
}
"""


#: Tools on files: sizes, search, in-place edit, pipelines of several tools.
COREUTILS = ("df -P . > /dev/null && du -s data && id -u && grep -rc line data | sort && "
             "sed -i s/line/LINE/ data/file1.txt && head -c 20 data/file1.txt && "
             "find data -name '*.txt' | xargs wc -l && awk '{n++} END {print n}' data/file2.txt")


@dataclass(frozen=True)
class Program:
    """One corpus program: how to build its directory and what to run in it."""

    name: str
    command: Callable[[Path], list[str]]  # given the binaries directory
    setup: Callable[[Path], None] = lambda directory: None
    random_data: bool = False  # its I/O data differs from run to run (salts, thread order)


def _data_tree(directory: Path) -> None:
    data = directory / "data"
    (data / "sub" / "deeper").mkdir(parents=True)
    for index in range(5):
        (data / f"file{index}.txt").write_text(f"line {index}\n" * (index * 50 + 1))
    (data / "sub" / "a.txt").write_text("a\n")
    (data / "sub" / "deeper" / "b.bin").write_bytes(bytes(range(256)) * 4)


def _odd_names(directory: Path) -> None:
    odd = directory / "odd"
    odd.mkdir()
    for name in ("with space", 'quote"d', "new\nline", "tab\there", "caf\u00e9",
                 "-dash", "back\\slash"):
        (odd / name).write_text("x")
    (odd.joinpath(os.fsdecode(b"bad\xffbyte"))).write_text("y")


def _transfer_data(directory: Path) -> None:
    (directory / "data.txt").write_text("0123456789abcdef\n")


def _hello_source(directory: Path) -> None:
    (directory / "hello.c").write_text('#include <stdio.h>\nint main(void) '
                                       '{ puts("hello"); return 0; }\n')


def _makefile(directory: Path) -> None:
    (directory / "Makefile").write_text("all: out.txt\n\nout.txt: in.txt\n\tcp in.txt out.txt"
                                        "\n\tcat out.txt\n")
    (directory / "in.txt").write_text("made\n")


def _c(source: str) -> Callable[[Path], list[str]]:
    name = {THREADS_C: "threads", SIGNALS_C: "signals", TCP_EPOLL_C: "tcp_epoll",
            EXEC_THREAD_C: "exec_thread", SIGSEGV_C: "sigsegv", PTY_C: "pty",
            MISC_C: "misc", I386_C: "i386", UNIX_C: "unix_sockets",
            TRANSFER_C: "transfer", NET_C: "net", FDS_C: "fds",
            SYSV_C: "sysv_ipc"}[source]
    return lambda binaries: [str(binaries / name)]


CORPUS: tuple[Program, ...] = (
    Program("python_imports", lambda b: [PYTHON, "-c", "import json, csv, pathlib, decimal; "
                                         "print(json.dumps({'a': 1}))"]),
    Program("git_init", lambda b: ["git", "init", "-q", "repo"]),
    Program("tar_cat", lambda b: ["sh", "-c", "tar cf - data | cat > out.tar"], _data_tree),
    Program("find", lambda b: ["find", "data", "-name", "*.txt"], _data_tree),
    Program("sh_pipeline", lambda b: ["sh", "-c", "echo hello | tr a-z A-Z | wc -c"]),
    Program("dd", lambda b: ["dd", "if=/dev/zero", "of=out", "bs=4096", "count=8",
                             "status=none"]),
    Program("cp_r", lambda b: ["cp", "-r", "data", "copy"], _data_tree),
    Program("sqlite3", lambda b: ["sqlite3", "db.sqlite", "create table t(a); "
                                  "insert into t values(1); select * from t;"],
            random_data=True),
    Program("odd_names", lambda b: ["ls", "-1b", "odd"], _odd_names),
    Program("threads", _c(THREADS_C), random_data=True),  # which thread writes first varies
    Program("signals_timers", _c(SIGNALS_C)),
    Program("tcp_epoll", _c(TCP_EPOLL_C)),
    Program("exec_thread", _c(EXEC_THREAD_C)),
    Program("sigsegv", _c(SIGSEGV_C)),
    Program("pty", _c(PTY_C)),
    Program("misc", _c(MISC_C)),
    Program("unix_sockets", _c(UNIX_C)),
    Program("i386", _c(I386_C)),
    Program("transfer", _c(TRANSFER_C), _transfer_data),
    Program("net", _c(NET_C)),
    Program("fds", _c(FDS_C)),
    Program("sysv_ipc", _c(SYSV_C)),
    Program("python_sockets", lambda b: [PYTHON, "-c", PYTHON_SOCKETS]),
    Program("tar_gzip", lambda b: ["sh", "-c", "tar czf a.tgz data && mkdir x && "
                                   "tar xzf a.tgz -C x && gzip -k data/file4.txt && "
                                   "gzip -dc data/file4.txt.gz > unzipped"],
            _data_tree, random_data=True),  # tar headers hold the tree's fresh mtimes
    Program("sort", lambda b: ["sort", "-r", "-o", "sorted", "data/file4.txt"], _data_tree),
    Program("file_tools", lambda b: ["sh", "-c", FILE_TOOLS], _data_tree),
    Program("ip_addr", lambda b: ["ip", "addr", "show", "lo"]),
    Program("ss", lambda b: ["ss", "-tln"]),
    Program("git_commit", lambda b: ["sh", "-c", GIT_COMMIT]),
    Program("perl", lambda b: ["perl", "-e", PERL], _data_tree),
    Program("timeout", lambda b: ["timeout", "-s", "TERM", "0.3", "sleep", "5"]),
    Program("bash_redirections", lambda b: ["bash", "-c", BASH_REDIRECTIONS]),
    Program("env_nice", lambda b: ["env", "-i", "PATH=/usr/bin:/bin", "nice", "-n", "5",
                                   "ionice", "-c", "3", "sh", "-c", "echo $PATH"]),
    Program("ls_la", lambda b: ["ls", "-la", "--time-style=+%s", "data", "data/sub"],
            _data_tree),
    Program("coreutils", lambda b: ["sh", "-c", COREUTILS], _data_tree),
    Program("ps", lambda b: ["ps", "-o", "pid,comm", "-p", "1"]),
    Program("gcc", lambda b: ["gcc", "-c", "-o", "hello.o", "hello.c"], _hello_source),
    Program("make", lambda b: ["make", "-s", "-f", "Makefile"], _makefile),
)

_C_PROGRAMS = {"threads": THREADS_C, "signals": SIGNALS_C, "tcp_epoll": TCP_EPOLL_C,
               "exec_thread": EXEC_THREAD_C, "sigsegv": SIGSEGV_C, "pty": PTY_C,
               "misc": MISC_C, "i386": I386_C, "unix_sockets": UNIX_C,
               "transfer": TRANSFER_C, "net": NET_C, "fds": FDS_C,
               "sysv_ipc": SYSV_C}


class Unavailable(Exception):
    """The program cannot run here (no compiler, no tool); the message says why."""


def build(binaries: Path) -> None:
    """Compile the corpus's C programs into ``binaries`` (missing ones are skipped later)."""
    if GCC is None:
        return
    binaries.mkdir(parents=True, exist_ok=True)
    for name, source in _C_PROGRAMS.items():
        target = binaries / name
        if target.exists():
            continue
        path = binaries / f"{name}.c"
        path.write_text(source)
        if name == "i386":
            options = ["-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pic",
                       "-fno-stack-protector", "-fno-builtin", "-O1"]
        else:
            options = ["-O1", "-pthread"]
        subprocess.run([GCC, *options, "-w", "-o", str(target), str(path)],
                       capture_output=True, timeout=120, check=False)


def _fresh(directory: Path, program: Program) -> None:
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    program.setup(directory)


def run(program: Program, binaries: Path, work: Path) -> Figures:
    """Run ``program`` under strace and under ktr in ``work``; compare the two outputs."""
    if STRACE is None:
        raise Unavailable("strace is not installed")
    command = program.command(binaries)
    executable = command[0]
    if "/" in executable and not Path(executable).exists():
        raise Unavailable(f"{executable} could not be built")
    if "/" not in executable and shutil.which(executable) is None:
        raise Unavailable(f"{executable} is not installed")
    directory = work / program.name
    environment = {**os.environ, "LC_ALL": "C", "PYTHONHASHSEED": "0", "HOME": str(work)}
    reference = work / f"{program.name}.strace"
    _fresh(directory, program)
    subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), "--", *command],
                   cwd=directory, env=environment, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False)
    trace = work / f"{program.name}.ktr"
    _fresh(directory, program)
    subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", *command],
                   cwd=directory, env=environment, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=False)
    dumped = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)],
                            capture_output=True, text=True, timeout=120, check=True)
    return compare(program.name, dumped.stdout, reference.read_text(errors="replace"),
                   program.random_data)


# ---------------------------------------------------------------------------
# the report


def report(all_figures: Sequence[Figures], verbose: bool = False, top: int = 25) -> str:
    lines = [f"{'program':<16} {'aligned':>7} {'identical':>9} {'share':>7} {'lost':>5} "
             f"{'ktr only':>8} {'strace only':>11}"]
    for figures in all_figures:
        lines.append(f"{figures.program:<16} {figures.aligned:>7} {figures.identical:>9} "
                     f"{figures.share:>7.1%} {figures.lost:>5} {figures.ours_only:>8} "
                     f"{figures.theirs_only:>11}")
    aligned = sum(f.aligned for f in all_figures)
    identical = sum(f.identical for f in all_figures)
    lost = sum(f.lost for f in all_figures)
    share = identical / aligned if aligned else 1.0
    lines.append(f"{'overall':<16} {aligned:>7} {identical:>9} {share:>7.1%} {lost:>5}")
    classes: collections.Counter[str] = collections.Counter()
    examples: dict[str, Mismatch] = {}
    for figures in all_figures:
        for mismatch in figures.mismatches:
            classes[mismatch.key] += 1
            examples.setdefault(mismatch.key, mismatch)
    if classes:
        lines.append("")
        lines.append("top mismatch classes (count, class, program: strace | ktrdump):")
    for key, count in classes.most_common(None if verbose else top):
        example = examples[key]
        lost_mark = " [lost]" if example.lost else ""
        lines.append(f"{count:>5}  {key}{lost_mark}  ({example.program})")
        lines.append(f"         strace: {example.name}({example.theirs[0]}) = "
                     f"{example.theirs[1]}"[:400])
        lines.append(f"         ktr:    {example.name}({example.ours[0]}) = "
                     f"{example.ours[1]}"[:400])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("programs", nargs="*", help="corpus programs (default: all)")
    parser.add_argument("-v", "--verbose", action="store_true", help="every mismatch class")
    parser.add_argument("--keep", metavar="DIR", help="keep the outputs in DIR")
    arguments = parser.parse_args(argv)
    wanted = set(arguments.programs)
    work = Path(arguments.keep) if arguments.keep else Path(tempfile.mkdtemp(prefix="ktrcmp"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        binaries = work / "bin"
        build(binaries)
        results = []
        for program in CORPUS:
            if wanted and program.name not in wanted:
                continue
            try:
                results.append(run(program, binaries, work))
            except Unavailable as error:
                print(f"{program.name}: skipped ({error})", file=sys.stderr)
        print(report(results, arguments.verbose))
    finally:
        if not arguments.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
