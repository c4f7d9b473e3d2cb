"""``ktrdump --format strace -y`` names fds as strace -y does: the kernel's path.

strace -y prints what ``/proc/PID/fd/N`` says (symlinks, ``..`` and the
working directory resolved: ``3</usr/lib/x86_64-linux-gnu/libc.so.6>`` for
``/lib/...``) and, for a dirfd of AT_FDCWD, the working directory
(``AT_FDCWD</tmp/x>``). ktrdump printed the path as the program gave it
(``3<ln/../data.txt>``) and a bare ``AT_FDCWD``. The recorder now reads the
kernel's path of the fd a path-opening call returned and the working
directory after execve, chdir and fchdir (STRUCT ``fd_path``/``cwd``), and
at the first execve the fds open across it (``open_fds``: stdout); the fd
tables take them, and a forked child starts in its parent's directory.

One C program (compiled in the test) opens through a symlink, ``..``, a
directory fd, after chdir through a symlink and after fchdir, and in a forked
child; every line of the calls compared must equal strace -f -y's (addresses
and process ids masked), the C library's start-up included.
"""

from __future__ import annotations

import json
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
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    char byte;
    struct stat st;
    mkdir("d", 0755);
    symlink("d", "ln");
    int plain = open("data.txt", O_RDONLY);
    int dotdot = openat(AT_FDCWD, "ln/../data.txt", O_RDONLY);
    int dir = open("ln", O_RDONLY | O_DIRECTORY);
    int created = openat(dir, "x", O_CREAT | O_WRONLY, 0644);
    write(created, "x", 1);
    chdir("ln");
    int up = open("../data.txt", O_RDONLY);
    fstatat(AT_FDCWD, "x", &st, 0);
    chdir("/");
    fchdir(dir);
    int copy = dup(up);
    read(plain, &byte, 1);
    read(dotdot, &byte, 1);
    read(copy, &byte, 1);
    pid_t child = fork();
    if (child == 0) {
        int there = open("x", O_RDONLY);
        read(there, &byte, 1);
        _exit(0);
    }
    waitpid(child, NULL, 0);
    close(plain);
    write(1, "done\n", 5);  /* an fd from before the recording: open_fds */
    return 0;
}
"""

_COMPARED = frozenset({"openat", "read", "write", "close", "chdir", "fchdir", "dup",
                       "newfstatat", "mkdir", "symlink", "mmap"})
_ADDRESS = re.compile(r"0x[0-9a-f]{6,}")


def _lines(text: str) -> list[str]:
    lines = []
    for calls in parse(text).values():  # threads in order of their first line
        for call in calls:
            if call.name in _COMPARED:
                lines.append(_ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}"))
    return lines


def test_fd_paths_are_the_kernels_as_strace_y_prints_them(tmp_path: Path) -> None:
    program = build_program(tmp_path, "paths", _PROGRAM, "-O0")
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    theirs_dir = tmp_path / "theirs"
    ours_dir = tmp_path / "ours"
    # Two runs in directories of one name length: the paths differ only there.
    for directory in (theirs_dir, ours_dir):
        directory.mkdir()
        (directory / "data.txt").write_text("0123456789\n")
    with open(theirs_dir / "out.txt", "wb") as out:
        subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                       cwd=theirs_dir, check=True, timeout=60, stdout=out)
    trace = tmp_path / "paths.ktr"
    with open(ours_dir / "out.txt", "wb") as out:
        subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", str(program)],
                       cwd=ours_dir, check=True, timeout=60, stdout=out)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    theirs = _lines(reference.read_text().replace(str(theirs_dir), str(ours_dir)))
    assert _lines(ours) == theirs
    # What strace 6.1 printed when this was written: the forms compared above.
    where = str(ours_dir)
    for line in (f'openat(AT_FDCWD<{where}>, "ln/../data.txt", O_RDONLY) = 4<{where}/data.txt>',
                 f'openat(5<{where}/d>, "x", O_WRONLY|O_CREAT, 0644) = 6<{where}/d/x>',
                 f'openat(AT_FDCWD<{where}/d>, "../data.txt", O_RDONLY) = 7<{where}/data.txt>',
                 f'fchdir(5<{where}/d>) = 0',
                 f'read(8<{where}/data.txt>, "0", 1) = 1',
                 f'openat(AT_FDCWD<{where}/d>, "x", O_RDONLY) = 9<{where}/d/x>',
                 f'write(1<{where}/out.txt>, "done\\n", 5) = 5'):
        assert line in theirs, line
    assert any("= 3</usr/lib/" in line or "= 3</lib" in line for line in theirs)


def test_without_y_nothing_changes(tmp_path: Path) -> None:
    """The paths are -y's: the strace view without it prints bare numbers and AT_FDCWD."""
    program = build_program(tmp_path, "paths", _PROGRAM, "-O0")
    (tmp_path / "data.txt").write_text("0123456789\n")
    trace = tmp_path / "paths.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    assert 'openat(AT_FDCWD, "ln/../data.txt", O_RDONLY) = 4' in ours
    assert "<" not in "".join(_lines(ours))


_RECEIVED = r"""
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

int main(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    int file = open("ln/../data.txt", O_RDONLY);
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    union { char b[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control, received;
    memset(&control, 0, sizeof control);
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.b,
                       .msg_controllen = sizeof control.b};
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &file, sizeof file);
    sendmsg(sv[0], &m, 0);
    close(file);
    struct msghdr r = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = received.b,
                       .msg_controllen = sizeof received.b};
    recvmsg(sv[1], &r, MSG_CMSG_CLOEXEC);
    int got;
    memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&r)), sizeof got);
    read(got, &byte, 1);
    return 0;
}
"""


def test_fds_received_in_scm_rights_are_named_as_strace_y_names_them(tmp_path: Path) -> None:
    """recvmsg's SCM_RIGHTS fds: ``cmsg_data=[5</dir/data.txt>]`` and the calls on them
    (the recorder reads each received fd's path at recvmsg's exit: STRUCT fd_paths)."""
    program = build_program(tmp_path, "received", _RECEIVED, "-O0")
    (tmp_path / "d").mkdir()
    (tmp_path / "ln").symlink_to("d")
    (tmp_path / "data.txt").write_text("0123456789\n")
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    trace = tmp_path / "received.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=tmp_path, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout

    def shown(text: str) -> list[str]:
        lines = []
        for calls in parse(text).values():
            for call in calls:
                if call.name in ("sendmsg", "recvmsg", "read", "close"):
                    line = _ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}")
                    # a socket's inode differs between the two runs
                    lines.append(re.sub(r"socket:\[[^\]]*\]", "socket:[]", line))
        return lines

    theirs = shown(reference.read_text())
    assert shown(ours) == theirs
    data = tmp_path.resolve() / "data.txt"
    assert any(f"cmsg_data=[5<{data}>]" in line and line.startswith("recvmsg")
               for line in theirs), theirs
    assert f'read(5<{data}>, "0", 1) = 1' in theirs


_NAME_LIKE_CONTROL = r"""
#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t abstract(struct sockaddr_un *address, const char *name, size_t length) {
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    memcpy(address->sun_path + 1, name, length);  /* sun_path[0] = 0: abstract */
    return offsetof(struct sockaddr_un, sun_path) + 1 + length;
}

int main(int argc, char **argv) {
    /* The sender's address, read as a control message (x86_64): cmsg_len (bytes 0-7:
       family, the abstract NUL, name[0..4]) over 16, SOL_SOCKET (name[5..8]),
       SCM_RIGHTS (name[9..12]), then "fd" 1 (name[13..16]). */
    static const char name[17] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0};
    struct sockaddr_un to, from, got;
    int receiver = socket(AF_UNIX, SOCK_DGRAM, 0);
    int sender = socket(AF_UNIX, SOCK_DGRAM, 0);
    socklen_t to_length = abstract(&to, argv[1], strlen(argv[1]));
    bind(receiver, (struct sockaddr *)&to, to_length);
    bind(sender, (struct sockaddr *)&from, abstract(&from, name, sizeof name));
    sendto(sender, "x", 1, 0, (struct sockaddr *)&to, to_length);
    char byte, control[64];
    struct iovec iov = {&byte, 1};
    struct mmsghdr message = {.msg_hdr = {.msg_name = &got, .msg_namelen = sizeof got,
                                          .msg_iov = &iov, .msg_iovlen = 1,
                                          .msg_control = control,
                                          .msg_controllen = sizeof control}};
    return recvmmsg(receiver, &message, 1, 0, NULL) == 1 ? 0 : 1;
}
"""


def test_recvmmsg_lists_the_fds_of_its_control_data_only(tmp_path: Path) -> None:
    """recvmmsg's ``fd_paths`` comes from its messages' control data: an address whose
    bytes look like an SCM_RIGHTS message (an abstract name can hold any bytes) brings
    no fd (the recorder read the names as control data too, and listed fd 1)."""
    program = build_program(tmp_path, "name_like_control", _NAME_LIKE_CONTROL, "-O0")
    trace = tmp_path / "names.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program),
                    f"ktr-test-{tmp_path.name}"], cwd=tmp_path, check=True, timeout=60)
    records = [json.loads(line) for line in subprocess.run(
        [str(KTRDUMP), "--json", str(trace)], check=True, capture_output=True, text=True,
        timeout=60).stdout.splitlines()]
    structs = {record["struct"]: record for record in records if record.get("type") == "STRU"
               and record.get("struct") in ("mmsg_extras", "fd_paths")}
    assert "mmsg_extras" in structs  # the name was recorded (so the test can fail)
    name = bytes.fromhex(structs["mmsg_extras"]["data"])
    assert b"\x01\x00\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01" in name
    assert "fd_paths" not in structs


_ODD_NAMES = r"""
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void) {
    const char *names[] = {"caf\351\n\001\tx", "a\"b<c>d\\e", "p<1>2", "q>"};
    for (int i = 0; i < 4; i++) close(open(names[i], O_WRONLY | O_CREAT, 0644));
    mkdir("d\351<1>", 0755);
    chdir("d\351<1>");
    close(open("z", O_WRONLY | O_CREAT, 0644));
    return 0;
}
"""


def test_odd_bytes_in_fd_paths_are_escaped_as_strace_y_escapes_them(tmp_path: Path) -> None:
    """Not UTF-8, control characters, a quote, a backslash, ``<`` and ``>`` (octal: three
    digits before a digit) in the ``-y`` decoration and in AT_FDCWD's directory."""
    program = build_program(tmp_path, "odd", _ODD_NAMES, "-O0")
    assert STRACE is not None
    theirs_dir, ours_dir = tmp_path / "theirs", tmp_path / "ours1"
    reference = tmp_path / "strace.txt"
    theirs_dir.mkdir()
    ours_dir.mkdir()
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program)],
                   cwd=theirs_dir, check=True, timeout=60)
    trace = tmp_path / "odd.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   cwd=ours_dir, check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    theirs = reference.read_text().replace(str(theirs_dir), str(ours_dir))
    created = [line for line in _lines(theirs) if "O_CREAT" in line]
    assert len(created) == 5
    assert [line for line in _lines(ours) if "O_CREAT" in line] == created
    assert created[2].endswith(f"= 3<{ours_dir}/p\\0741\\0762>")
    assert created[4].startswith(f"openat(AT_FDCWD<{ours_dir}/d\\351\\0741\\76>, ")
