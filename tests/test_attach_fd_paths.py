"""``ktr record -p``, ``ktrdump -y``: an attached process's cwd and earlier fds, as strace -y -p.

strace -y -p names every fd by ``/proc/PID/fd/N`` and ``AT_FDCWD`` by the
working directory, from the first call on. ktrdump knew neither for an
attached process until it called chdir or execve, and fds opened before the
attach stayed bare numbers. The recorder now lists, once per attached
process, its working directory and open fds at the attach (STRUCT ``cwd``
and ``open_fds`` after its PROC ATTACH), as the first execve does for a
started command.

One C program (compiled in the test) opens a file, a socket and a pipe,
changes directory, says it is ready and waits for a byte on its stdin (the
release: no sleeps); it is attached by strace -y -p in one run and by ktr
record -p in another, in directories of one name length, and the calls it
makes after the release must print alike (pipe and socket inodes masked:
they differ between runs). Within ktr's run, each inode is the one
``/proc/PID/fd`` gave the test while the process waited.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from control_support import tracer_of, wait_until
from strace_corpus import parse

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")

pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")

_PROGRAM = r"""
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

int main(void) {
    char byte;
    struct sockaddr_storage address;
    socklen_t length = sizeof address;
    int p[2];
    int data = open("data.txt", O_RDONLY);
    int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    pipe(p);
    chdir("sub");
    write(1, "ready\n", 6);
    read(0, &byte, 1);  /* the release */
    read(data, &byte, 1);
    int there = openat(AT_FDCWD, "x.txt", O_RDONLY);
    read(there, &byte, 1);
    getsockname(sock, (struct sockaddr *)&address, &length);
    write(p[1], "p", 1);
    read(p[0], &byte, 1);
    close(data);
    write(1, "done\n", 5);
    return 0;
}
"""

_COMPARED = frozenset({"openat", "read", "write", "close", "getsockname"})
_INODE = re.compile(r"(socket|pipe):\[(\d+)\]")


def _lines(text: str) -> list[str]:
    """The calls after the release (the first read of fd 3), as printed."""
    lines = []
    for calls in parse(text).values():
        for call in calls:
            if call.name in _COMPARED:
                lines.append(f"{call.name}({call.args}) = {call.result}")
    first = next(index for index, line in enumerate(lines) if line.startswith("read(3"))
    return lines[first:]


def _attached_run(program: Path, where: Path, tracer: list[str]) -> dict[int, str]:
    """Run ``program`` in ``where``, attach ``tracer`` + ``-p PID``, release it; return
    what /proc/PID/fd named its fds while it waited."""
    (where / "sub").mkdir(parents=True)
    (where / "data.txt").write_text("0123\n")
    (where / "sub" / "x.txt").write_text("x\n")
    target = subprocess.Popen([str(program)], cwd=where, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    try:
        assert target.stdout is not None and target.stdin is not None
        assert target.stdout.readline() == b"ready\n"
        named = {int(fd): os.readlink(f"/proc/{target.pid}/fd/{fd}")
                 for fd in os.listdir(f"/proc/{target.pid}/fd")}
        recorder = subprocess.Popen([*tracer, "-p", str(target.pid)], stderr=subprocess.PIPE,
                                    text=True)
        try:
            # the first stop under the tracer comes before any further call of the target
            wait_until(lambda: tracer_of(target.pid) == recorder.pid, "the attach",
                       timeout=20)
            target.stdin.write(b"x")
            target.stdin.close()
            assert target.stdout.read() == b"done\n"
            assert target.wait(20) == 0
            _, stderr = recorder.communicate(timeout=20)
            assert recorder.returncode == 0, stderr
        finally:
            if recorder.poll() is None:
                recorder.kill()
                recorder.wait()
    finally:
        if target.poll() is None:
            target.kill()
            target.wait()
    return named


def test_an_attached_process_has_its_cwd_and_earlier_fds_named_as_strace_y_p(
        tmp_path: Path) -> None:
    program = build_program(tmp_path, "waits", _PROGRAM, "-O0")
    assert STRACE is not None
    theirs_dir, ours_dir = tmp_path / "t1", tmp_path / "o1"
    reference = tmp_path / "strace.txt"
    _attached_run(program, theirs_dir, [STRACE, "-y", "-ttt", "-T", "-o", str(reference)])
    trace = tmp_path / "attached.ktr"
    named = _attached_run(program, ours_dir, [str(KTR), "record", "-q", "-o", str(trace)])
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", "-y", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    # strace -p of one process prints no pid column: the parser's lines have one
    text = reference.read_text().replace(str(theirs_dir), str(ours_dir))
    theirs = _lines("".join(f"{os.getpid()} {line}\n" for line in text.splitlines()))
    mine = _lines(ours)

    def masked(lines: list[str]) -> list[str]:
        return [_INODE.sub(r"\1:[INODE]", line) for line in lines]

    assert masked(mine) == masked(theirs)
    where = str(ours_dir)
    for line in (f'read(3<{where}/data.txt>, "0", 1) = 1',
                 f'openat(AT_FDCWD<{where}/sub>, "x.txt", O_RDONLY) = 7<{where}/sub/x.txt>',
                 f'close(3<{where}/data.txt>) = 0'):
        assert line in theirs, line
    # the inodes are the process's own (as /proc/PID/fd named them before the attach)
    for fd in (1, 4, 5):
        assert named[fd].startswith(("socket:[", "pipe:[")), named
        assert any(f"{fd}<{named[fd]}>" in line for line in mine), (fd, named[fd], mine)


def test_the_attached_state_is_recorded_once_per_process(tmp_path: Path) -> None:
    """One ``cwd`` and one ``open_fds`` STRUCT, right after the process's ATTACH."""
    import ktrdump

    program = build_program(tmp_path, "waits", _PROGRAM, "-O0")
    trace = tmp_path / "attached.ktr"
    named = _attached_run(program, tmp_path / "run",
                          [str(KTR), "record", "-q", "-o", str(trace)])
    from formats import ProcEvent, RecordKind

    records = list(ktrdump.open(str(trace)))
    attach = next(index for index, record in enumerate(records)
                  if record.kind == RecordKind.PROC and record.payload.event == ProcEvent.ATTACH)
    structs = [record.payload for record in records if record.kind == RecordKind.STRUCT
               and record.payload.name in (b"cwd", b"open_fds")]
    assert [s.name for s in structs] == [b"cwd", b"open_fds"]
    assert [records[attach + 1].payload, records[attach + 2].payload] == structs
    assert structs[0].data == str((tmp_path / "run" / "sub").resolve()).encode()
    from ktrdump._structs import fd_paths

    assert {fd: path.decode() for fd, path in fd_paths(structs[1].data)} == named
