"""ktrdump on real recordings: decoded arguments, -y on a real program, strace's own output.

Each test records a small real program with the installed ``ktr record``
(real ptrace), then dumps it with ``ktrdump``. The strace comparison runs
strace itself on the same deterministic workload and compares, call by call,
the syscall names and results (pointers and the process's own id masked), so
the strace format is checked against the tool it imitates.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ktrdump.cli import main

KTR = Path(sys.executable).parent / "ktr"
STRACE = shutil.which("strace")

#: One line of ``strace -f -ttt -T -o FILE``: thread id, time, then the event.
STRACE_LINE = re.compile(r"^(\d+) +(\d+\.\d{6}) (.*)$")
CALL_LINE = re.compile(r"^(\w+)\((.*)\) +=(?: (.*?))?(?: <(\d+\.\d{6})>)?$")


def _record(tmp_path: Path, *command: str, name: str = "trace.ktr",
            children: bool = False) -> Path:
    trace = tmp_path / name
    follow = ["-i"] if children else []
    result = subprocess.run([str(KTR), "record", "-q", *follow, "-o", str(trace), "--", *command],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return trace


def _dump(trace: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    assert main([*options, str(trace)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_arguments_of_a_real_program_are_decoded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data.txt"
    data.write_text("hello\n")
    trace = _record(tmp_path, "cat", str(data))
    text = _dump(trace, capsys)
    # The dynamic loader's first open, and cat's own.
    assert 'CALL  openat(AT_FDCWD,"/etc/ld.so.cache",O_RDONLY|O_CLOEXEC)\n' in text
    assert f'CALL  openat(AT_FDCWD,"{data}",O_RDONLY)\n' in text
    assert "PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0)\n" in text
    assert re.search(r"RET   mmap 0x[0-9a-f]+\n", text)
    assert "CALL  exit_group(0)\n" in text
    # cat fstats its input: the recorder captured the kernel's struct stat.
    assert re.search(r"STRU  struct stat \{st_mode=S_IFREG\|0\d{3}, st_size=6, \.\.\.\}", text)
    raw = _dump(trace, capsys, "-n")
    assert "CALL  openat(0xffffff9c," in raw and "O_RDONLY" not in raw


def test_fd_paths_of_a_real_program(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The shell opens out.txt as fd 3, duplicates it to 4, then writes through 4
    # (for echo it moves 4 onto 1 first): the write's fd is out.txt.
    trace = _record(tmp_path, "sh", "-c", "exec 3>out.txt; exec 4>&3; echo hi >&4")
    assert (tmp_path / "out.txt").read_text() == "hi\n"
    text = _dump(trace, capsys, "-y")
    # The kernel's path of the fd (the recorder's fd_path), and the working
    # directory for AT_FDCWD, as strace -y shows them.
    where = re.escape(str(tmp_path.resolve()))
    out = f"{where}/out.txt"
    assert re.search(rf"CALL  openat\(AT_FDCWD<{where}>,\"out.txt\",O_WRONLY\|O_CREAT\|O_TRUNC,"
                     rf"0666\)\n.*\n.*\n.*RET   openat 3<{out}>\n", text)
    assert re.search(rf"RET   (dup2|fcntl) 4<{out}>", text)
    written = re.search(rf"CALL  write\((\d+)<{out}>,0x[0-9a-f]+,3\)\n.*GIO   fd (\d+)<{out}>"
                        r" wrote 3 bytes", text)
    assert written and written.group(1) == written.group(2)
    assert "out.txt>" not in _dump(trace, capsys)  # only with -y
    strace_text = _dump(trace, capsys, "--format", "strace", "-y")
    assert re.search(rf'write\(\d+<{out}>, "hi\\n", 3\) += 3 <', strace_text)


def test_fd_paths_through_a_pipe_fork_and_exec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The shell makes a pipe, forks twice, moves the ends onto 1 and 0 with dup2,
    # and execs cat in the second child, whose stdout goes to out.txt.
    trace = _record(tmp_path, "sh", "-c", "echo hi | cat > out.txt", children=True)
    assert (tmp_path / "out.txt").read_text() == "hi\n"
    text = _dump(trace, capsys, "-y")
    pipe = re.search(r"STRU  fds \[(\d+), (\d+)\]", text)
    assert pipe, "the recorder captured pipe2's fds"
    # both ends by the pipe's inode, as the recorder read it at pipe2's exit
    inode = re.search(r"STRU  struct fd_paths \[\d+<(pipe:\[\d+\])>, \d+<(pipe:\[\d+\])>\]",
                      text)
    assert inode and inode.group(1) == inode.group(2), text
    end = re.escape(inode.group(1))
    assert re.search(rf"RET   dup2 1<{end}>", text)
    assert re.search(rf"RET   dup2 0<{end}>", text)
    # cat, after exec, reads the pipe and writes the file.
    assert re.search(rf" cat +CALL  read\(0<{end}>,", text)
    out = re.escape(f"{tmp_path.resolve()}/out.txt")
    assert re.search(rf" cat +CALL  write\(1<{out}>,0x[0-9a-f]+,3\)", text)
    strace_text = _dump(trace, capsys, "--format", "strace", "-y")
    # (cat may read before echo has written: then its read is split, as strace -f splits it)
    assert (re.search(rf'read\(0<{end}>, "hi\\n", \d+\) += 3 <', strace_text)
            or (re.search(rf'read\(0<{end}>,  <unfinished \.\.\.>', strace_text)
                and re.search(r'<\.\.\. read resumed>"hi\\n", \d+\) += 3 <', strace_text)))


def _events(text: str) -> list[tuple[str, str, str]]:
    """(name, result, arguments) per line of strace output; exits and signals as themselves."""
    events = []
    for line in text.splitlines():
        match = STRACE_LINE.match(line)
        assert match, line
        body = match.group(3)
        if body.startswith(("+++", "---")):
            events.append((body, "", ""))
            continue
        call = CALL_LINE.match(body)
        assert call, body
        name, arguments, result, _duration = call.groups()
        events.append((name, result or "", arguments))
    return events


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_strace_format_matches_strace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data.txt"
    data.write_text("some data\n" * 3)
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    with open(os.devnull, "wb") as devnull:
        subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), "cat", str(data)],
                       stdout=devnull, check=True, timeout=60)
    trace = _record(tmp_path, "cat", str(data))
    ours = _dump(trace, capsys, "--format", "strace")

    theirs_events = _events(reference.read_text())
    ours_events = _events(ours)
    # Both start at the execve of cat (strace does not show its own child before it).
    first = next(i for i, event in enumerate(ours_events) if event[0] == "execve")
    ours_events = ours_events[first:]
    our_pid = STRACE_LINE.match(ours.splitlines()[first]).group(1)  # type: ignore[union-attr]
    their_pid = STRACE_LINE.match(  # type: ignore[union-attr]
        reference.read_text().splitlines()[0]).group(1)

    def masked(text: str, pid: str) -> str:
        text = re.sub(r"0x[0-9a-f]{6,}", "ADDRESS", text)  # ASLR
        text = re.sub(r"\\x[0-9a-f]{2}", r"\\xXX", text)  # getrandom's bytes
        return re.sub(rf"\b{pid}\b", "PID", text)

    assert [name for name, _r, _a in ours_events] == [name for name, _r, _a in theirs_events]
    assert [masked(r, our_pid) for _n, r, _a in ours_events] == [
        masked(r, their_pid) for _n, r, _a in theirs_events]
    # The arguments too (paths, flags, fds, sizes, the structures the recorder
    # captured: stat, rlimit), except where strace reads what ktr does not record
    # or decodes what ktrdump leaves as numbers.
    differ = {
        "execve",  # envp's variable count: ENV is not recorded by default
        "futex", "rseq", "fadvise64",  # arguments strace hides or names by call
    }
    compared = 0
    for (name, _r, ours_args), (_name, _r2, theirs_args) in zip(ours_events, theirs_events,
                                                                strict=True):
        if name not in differ:
            assert masked(ours_args, our_pid) == masked(theirs_args, their_pid), name
            compared += 1
    assert compared > 50
    assert ours.splitlines()[-1].endswith("+++ exited with 0 +++")
    assert re.search(rf'openat\(AT_FDCWD, "{data}", O_RDONLY\) += 3 <\d+\.\d{{6}}>', ours)


#: epoll returning nothing, epoll_ctl's DEL, getrandom's bytes (printed in hex
#: to stdout, so the trace's bytes can be checked), fcntl's new fds.
_CALLS_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/random.h>
int main(int argc, char **argv) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int efd = eventfd(0, EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
    epoll_wait(ep, out, 4, 0);
    sigset_t set;
    sigemptyset(&set);
    epoll_pwait(ep, out, 4, 0, &set);
    struct timespec zero = {0, 0};
    epoll_pwait2(ep, out, 4, &zero, NULL);
    unsigned long long one = 1;
    write(efd, &one, sizeof one);
    epoll_wait(ep, out, 4, 0);
    ev.events = EPOLLOUT;  /* what the DEL's pointer holds: the kernel ignores it */
    ev.data.u64 = 0x1234;
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, &ev);
    epoll_ctl(ep, EPOLL_CTL_DEL, efd, NULL);
    unsigned char bytes[40];
    for (size_t size = 16; size <= 40; size += 24) {
        if (getrandom(bytes, size, 0) != (ssize_t)size) return 1;
        for (size_t i = 0; i < size; i++) printf("%02x", bytes[i]);
        printf("\n");
    }
    getrandom(bytes, 0, 0);
    int fd = open(argv[1], O_RDONLY);
    fcntl(fd, F_DUPFD, 10);
    fcntl(fd, F_DUPFD_CLOEXEC, 20);
    fcntl(20, F_GETFD);
    return argc == 2 ? 0 : 1;
}
"""
def _compiled(directory: Path, name: str, source_text: str) -> Path:
    source = directory / f"{name}.c"
    source.write_text(source_text)
    program = directory / name
    subprocess.run([str(shutil.which("gcc")), "-o", str(program), str(source)],
                   check=True, timeout=60)
    return program


_CALLS_SHOWN = frozenset({"epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
                          "getrandom", "fcntl"})


@pytest.mark.skipif(STRACE is None or shutil.which("gcc") is None,
                    reason="strace or gcc is not installed")
def test_strace_format_matches_strace_on_epoll_getrandom_and_fcntl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    program = _compiled(tmp_path, "calls", _CALLS_C)
    data = tmp_path / "data.txt"
    data.write_text("data\n")
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program),
                    str(data)], stdout=subprocess.DEVNULL, check=True, timeout=60)
    trace = tmp_path / "calls.ktr"
    recorded = subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program),
                               str(data)], cwd=tmp_path, capture_output=True, text=True,
                              timeout=60, check=False)
    assert recorded.returncode == 0, recorded.stderr
    ours = _dump(trace, capsys, "--format", "strace", "-y")

    def shown(text: str) -> list[str]:
        lines = []
        for name, result, arguments in _events(text):
            if name in _CALLS_SHOWN:
                arguments = re.sub(r"0x[0-9a-f]{6,}", "ADDRESS", arguments)  # ASLR
                arguments = re.sub(r"\\x[0-9a-f]{2}", r"\\xXX", arguments)  # random bytes
                lines.append(f"{name}({arguments}) = {result}")
        return lines

    theirs_lines = shown(reference.read_text())
    assert shown(ours) == theirs_lines
    # What strace printed, as the fixes were made against it (strace 6.1).
    assert "epoll_wait(3<anon_inode:[eventpoll]>, [], 4, 0) = 0" in theirs_lines
    assert ("epoll_ctl(3<anon_inode:[eventpoll]>, EPOLL_CTL_DEL, 4<anon_inode:[eventfd]>,"
            " ADDRESS) = 0") in theirs_lines
    assert f"fcntl(5<{data}>, F_DUPFD_CLOEXEC, 20) = 20<{data}>" in theirs_lines
    # The bytes shown are those the program got (its stdout), 32 at most then
    # "..." (glibc's malloc draws its own with GRND_NONBLOCK: not compared).
    printed = recorded.stdout.split()
    drawn = re.findall(r'getrandom\("((?:\\x[0-9a-f]{2})*)"(\.\.\.)?, (\d+), 0\)', ours)
    assert [(size, more) for _hex, more, size in drawn] == [("16", ""), ("40", "..."),
                                                            ("0", "")]
    assert [hexed.replace("\\x", "") for hexed, _more, _size in drawn[:2]] == [
        printed[0], printed[1][:64]]


_PASSED_FDS_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/openat2.h>
int main(int argc, char **argv) {
    if (argc == 3) {  /* after the exec: the openat2 O_CLOEXEC fd is gone */
        fcntl(atoi(argv[2]), F_GETFD);
        return 0;
    }
    int plain = open(argv[1], O_RDONLY);
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
    int closing = syscall(SYS_openat2, AT_FDCWD, argv[1], &how, sizeof how);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    union { char b[CMSG_SPACE(2 * sizeof(int))]; struct cmsghdr align; } control;
    memset(&control, 0, sizeof control);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                       .msg_controllen = sizeof control.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(2 * sizeof(int));
    int pass[2] = {plain, closing};
    memcpy(CMSG_DATA(c), pass, sizeof pass);
    sendmsg(sv[0], &m, 0);
    char number[16];
    snprintf(number, sizeof number, "%d", closing);
    char *again[] = {argv[0], argv[1], number, NULL};
    execv(argv[0], again);
    return 1;
}
"""


@pytest.mark.skipif(STRACE is None or shutil.which("gcc") is None,
                    reason="strace or gcc is not installed")
def test_strace_fd_paths_of_passed_fds_and_openat2_cloexec_match_strace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """-y: the fds a sendmsg passes in SCM_RIGHTS are described (``cmsg_data=[3</path>,
    ...]``), and an fd openat2 opened with O_CLOEXEC in its open_how is gone after exec."""
    program = _compiled(tmp_path, "passed", _PASSED_FDS_C.replace(
        "#include <fcntl.h>", "#include <fcntl.h>\n#include <stdio.h>"))
    data = tmp_path / "data.txt"
    data.write_text("data\n")
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program),
                    str(data)], stdout=subprocess.DEVNULL, check=True, timeout=60)
    trace = _record(tmp_path, str(program), str(data))
    ours = _dump(trace, capsys, "--format", "strace", "-y")

    def shown(text: str) -> list[str]:
        lines = []
        for name, result, arguments in _events(text):
            if name in ("sendmsg", "fcntl", "openat2"):
                arguments = re.sub(r"0x[0-9a-f]{6,}", "ADDRESS", arguments)
                # a socket's inode differs between the two runs
                arguments = re.sub(r"socket:\[[^\]]*\]", "socket:[]", arguments)
                # the two runs' working directories (AT_FDCWD</path>) differ
                arguments = re.sub(r"AT_FDCWD<[^>]*>", "AT_FDCWD<CWD>", arguments)
                lines.append(f"{name}({arguments}) = {result}")
        return lines

    theirs = shown(reference.read_text())
    assert shown(ours) == theirs
    assert any(f"cmsg_data=[3<{data}>, 4<{data}>]" in line for line in theirs), theirs
    assert "fcntl(4, F_GETFD) = -1 EBADF (Bad file descriptor)" in theirs


_PIPES_C = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int p[2], s[2];
    pipe2(p, O_CLOEXEC);
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, s);
    write(p[1], "x", 1);
    write(s[0], "y", 1);
    return 0;
}
"""


@pytest.mark.skipif(STRACE is None or shutil.which("gcc") is None,
                    reason="strace or gcc is not installed")
def test_new_fd_pairs_are_shown_with_what_they_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``-y``: pipe2's and socketpair's new fds as strace shows them (the inodes differ
    between the two runs: the brackets' contents are not compared)."""
    program = _compiled(tmp_path, "pipes", _PIPES_C)
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                   check=True, timeout=60)
    trace = tmp_path / "pipes.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)

    def shown(text: str) -> list[str]:
        return [re.sub(r"(pipe|socket):\[[^\]]*\]", r"\1:[]", f"{name}({arguments}) = {result}")
                for name, result, arguments in _events(text)
                if name in ("pipe", "pipe2", "socketpair", "write")]

    ours = shown(_dump(trace, capsys, "--format", "strace", "-y"))
    assert ours == shown(reference.read_text())
    assert ours[0] == "pipe2([3<pipe:[]>, 4<pipe:[]>], O_CLOEXEC) = 0"


_SOCKADDR_C = r"""
#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
int main(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in me, peer;
    memset(&me, 0, sizeof me);
    me.sin_family = AF_INET;
    me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s, (struct sockaddr *) &me, sizeof me);
    listen(s, 1);
    socklen_t length = sizeof peer;
    accept(s, (struct sockaddr *) &peer, &length);          /* EAGAIN */
    length = sizeof peer;
    accept4(s, (struct sockaddr *) &peer, &length, SOCK_CLOEXEC);
    length = sizeof peer;
    getpeername(s, (struct sockaddr *) &peer, &length);     /* ENOTCONN */
    length = sizeof peer;
    recvfrom(s, 0, 0, MSG_DONTWAIT, (struct sockaddr *) &peer, &length);
    memset(&peer, 0xee, sizeof peer);
    length = 2;  /* room for the family alone: the rest of peer is the program's */
    getsockname(s, (struct sockaddr *) &peer, &length);
    length = sizeof peer;
    getsockname(s, (struct sockaddr *) &peer, &length);
    return 0;
}
"""
_SOCKADDR_CALLS = ("accept", "accept4", "getpeername", "recvfrom", "getsockname")


@pytest.mark.skipif(STRACE is None or shutil.which("gcc") is None,
                    reason="strace or gcc is not installed")
def test_socket_address_calls_match_strace_when_they_fail_or_are_cut(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A failed call shows the caller's length (``[16]``); a short buffer only what was written."""
    program = _compiled(tmp_path, "sockaddr", _SOCKADDR_C)
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), str(program)],
                   stdout=subprocess.DEVNULL, check=True, timeout=60)
    trace = _record(tmp_path, str(program))
    ours = _dump(trace, capsys, "--format", "strace")

    def shown(text: str) -> list[str]:
        lines = []
        for name, result, arguments in _events(text):
            if name in _SOCKADDR_CALLS:
                arguments = re.sub(r"0x[0-9a-f]{6,}", "ADDRESS", arguments)  # ASLR
                arguments = re.sub(r"htons\(\d+\)", "htons(PORT)", arguments)
                lines.append(f"{name}({arguments}) = {result}")
        return lines

    theirs = shown(reference.read_text())
    assert shown(ours) == theirs
    assert "accept(3, ADDRESS, [16]) = -1 EAGAIN (Resource temporarily unavailable)" in theirs
    assert "getsockname(3, {sa_family=AF_INET}, [2 => 16]) = 0" in theirs


def _in_band_damage(line: str) -> bool:
    return line.startswith(('{"type":"SKIP"', '{"type":"CUT"'))


@pytest.mark.parametrize("cut", [1, 500])
def test_a_recording_cut_short_keeps_the_whole_records_of_its_torn_batch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    """A short uncompressed recording is mostly one batch: cut at its end (a recorder
    killed mid-write), it still shows every record the cut left whole."""
    trace = _record(tmp_path, "/bin/true")
    whole = _dump(trace, capsys, "--json").splitlines()
    data = trace.read_bytes()
    torn = tmp_path / "torn.ktr"
    torn.write_bytes(data[:-cut])
    assert main(["--json", str(torn)]) == 1  # damaged input, as before
    out, err = capsys.readouterr()
    lines = out.splitlines()
    kept = [line for line in lines if not _in_band_damage(line)]
    assert 0 < len(kept) < len(whole)
    assert kept == whole[:len(kept)]  # the same records, none altered
    # The loss is in-band too, right after the records kept (then the missing END).
    skip = json.loads(lines[len(kept)])
    assert skip["type"] == "SKIP" and skip["kept"] == len(kept) - 1  # BEGIN is in its own batch
    assert skip["missing"] == cut
    line = err.splitlines()[0]
    found = re.fullmatch(
        rf"ktrdump: {re.escape(str(torn))}: input ends inside a batch \(torn tail\) at byte "
        r"offset (\d+); kept its first (\d+) of (\d+) records; the damage starts at byte "
        rf"offset (\d+): lost (\d+) bytes \({cut} of them missing from the input\)", line)
    assert found, err
    batch, first, count, damage, lost = map(int, found.groups())
    assert count - first == len(whole) - len(kept)  # every record lost is counted
    assert batch < damage < len(data) - cut and lost == len(data) - damage


def test_the_summary_counts_what_a_torn_batch_lost_not_what_it_kept(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = _record(tmp_path, "/bin/true")
    torn = tmp_path / "torn.ktr"
    torn.write_bytes(trace.read_bytes()[:-1])
    assert main(["--summary", str(torn)]) == 1
    out, err = capsys.readouterr()
    found = re.search(r"kept its first (\d+) of \d+ records; .*: lost (\d+) bytes", err)
    assert found, err
    kept, lost = found.groups()
    assert (f"damaged batch skipped: 1 ({lost} bytes; {kept} records before the damage kept)"
            in out.splitlines())


def test_chrome_marks_a_torn_batch_with_what_was_kept_and_lost(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    trace = _record(tmp_path, "/bin/true")
    data = trace.read_bytes()
    torn = tmp_path / "torn.ktr"
    torn.write_bytes(data[:-1])
    assert main(["--format", "chrome", str(torn)]) == 1
    out, err = capsys.readouterr()
    found = re.search(r"at byte offset (\d+); kept its first (\d+) of (\d+) records; the damage "
                      r"starts at byte offset (\d+): lost (\d+) bytes", err)
    assert found, err
    offset, kept, count, damage, lost = map(int, found.groups())
    [marker] = [event for event in json.loads(out)["traceEvents"]
                if event.get("name") == "skipped 1 damaged batch"]
    assert marker["args"] == {"offset": offset, "bytes": len(data) - 1 - offset,
                              "reason": "input ends inside a batch (torn tail)", "kept": kept,
                              "records": count, "damage_at": damage, "lost_bytes": lost}


def test_a_recording_cut_short_then_appended_to_keeps_both(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A recorder killed mid-write (the file cut inside its last batch), then ktr
    record -a: the cut batch keeps its whole records, the appended recording is whole."""
    first = _record(tmp_path, "/bin/true", name="first.ktr")
    whole = _dump(first, capsys, "--json").splitlines()
    trace = tmp_path / "trace.ktr"
    trace.write_bytes(first.read_bytes()[:-100])
    trace.chmod(0o600)
    appended = subprocess.run([str(KTR), "record", "-q", "-a", "-o", str(trace), "--",
                               "/bin/true"], capture_output=True, text=True, timeout=60)
    assert appended.returncode == 0, appended.stderr
    assert main(["--json", str(trace)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    begins = [index for index, line in enumerate(lines) if '"type":"BEGIN"' in line]
    assert len(begins) == 2
    kept = [line for line in lines[:begins[1]] if not _in_band_damage(line)]
    assert 1 < len(kept) < len(whole) and kept == whole[:len(kept)]
    assert [json.loads(line)["type"] for line in lines[:begins[1]] if _in_band_damage(line)] == [
        "SKIP", "CUT"]
    assert lines[-1].startswith('{"type":"END"')
    assert re.search(r"batch payload checksum mismatch at byte offset \d+; kept its first "
                     rf"{len(kept) - 1} of \d+ records; the damage starts at byte offset \d+",
                     err), err
