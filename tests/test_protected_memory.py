"""Memory a call could not read is not recorded: page protections are honoured.

ktr reads a tracee's memory through /proc/PID/mem, which ignores page
protections (FOLL_FORCE): a PROT_NONE buffer read back as its contents, so
the trace held data a failed call never read (a sandbox's secret, a guard
page). What ktr reads at the exit of a call that failed now goes through
process_vm_readv, which honours them, as strace's reads do. Oracle: strace on
a C program passing a PROT_NONE buffer: where strace shows the address, so
does ``ktrdump --format strace``, and the secret is nowhere in the trace.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import subprocess
from pathlib import Path

import pytest
from strace_support import KTRDUMP, both_views, call_lines

from ktr._memory import TraceeMemory

SECRET = "secret-bytes"

PROGRAM = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
int main(void) {
    char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct iovec *hidden = (struct iovec *)(p + 4096);
    strcpy(p, "/nonexistent-before");
    open(p, O_RDONLY);             /* readable: ENOENT, its path recorded */
    strcpy(p, "/SECRET");
    hidden->iov_base = p; hidden->iov_len = 6;
    mprotect(p, 8192, PROT_NONE);  /* ktr read the page before: it must learn */
    int fds[2], pair[2];
    pipe(fds);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, pair);
    open(p, O_RDONLY);             /* EFAULT: the path is read at entry */
    struct stat st;
    stat(p, &st);                  /* EFAULT */
    write(fds[1], p, 6);           /* EFAULT */
    pwrite(fds[1], p, 6, 0);       /* ESPIPE: a pipe has no offset; nothing read */
    send(pair[0], p, 6, 0);        /* EFAULT */
    struct iovec v[1] = {{p, 6}};
    writev(fds[1], v, 1);          /* EFAULT: the data */
    writev(fds[1], hidden, 1);     /* EFAULT: the vectors themselves */
    write(fds[1], "visible", 7);   /* readable: its data recorded as before */
    mprotect(p, 8192, PROT_READ | PROT_WRITE);
    strcpy(p, "/nonexistent-after");
    open(p, O_RDONLY);             /* readable again: its path recorded */
    return 0;
}
""".replace("SECRET", SECRET)


def _addresses_as_tokens(line: str) -> str:
    return re.sub(r"0x[0-9a-f]+", "ADDRESS", line)


@pytest.mark.parametrize("selection", [[], ["-e", "trace=openat,newfstatat,write,writev,"
                                           "pwrite64,sendto"]])
def test_memory_the_process_may_not_read_shows_as_strace_shows_it(
        tmp_path: Path, selection: list[str]) -> None:
    """``selection``: under the seccomp filter too, where mprotect does not stop
    unless ktr makes it (it is not recorded)."""
    oracle, shown = both_views(tmp_path, "protected", PROGRAM, record_options=selection)
    for name in ("openat(AT_FDCWD, 0x", "newfstatat(AT_FDCWD, 0x", "write(", "pwrite64(",
                 "sendto(", "writev("):
        expected = call_lines(oracle, name, _addresses_as_tokens)
        assert len(expected) >= 1 and "ADDRESS" in expected[0]
        assert call_lines(shown, name, _addresses_as_tokens) == expected
    text = subprocess.run([KTRDUMP, str(tmp_path / "protected.ktr")], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert SECRET not in text and SECRET not in shown
    assert '"/nonexistent-before"' in text and '"visible"' in text
    assert 'NAMI  "/nonexistent-after"' in text
    (opened,) = call_lines(shown, 'openat(AT_FDCWD, "/nonexistent-before"')
    assert "ENOENT" in opened
    if selection:
        assert "mprotect(" not in shown


def test_ranges_follow_the_calls() -> None:
    """What the builder says of each call keeps the ranges the maps would give."""
    memory = TraceeMemory(os.getpid())
    memory.inherit(memory)  # (none yet: the maps are read at the first look)
    assert memory.guarded_at(0, 1)
    memory.protections_changed(False, readable=True)
    memory._guarded = [0x1000, 0x3000, 0x8000, 0x9000]
    memory.protections_changed(False, 0x2000, 0x8000, False)  # mprotect(PROT_NONE)
    assert memory._guarded == [0x1000, 0x9000]
    memory.protections_changed(False, 0x4000, 0x5000, True)  # mprotect(PROT_READ)
    assert memory._guarded == [0x1000, 0x4000, 0x5000, 0x9000]
    assert not memory.guarded_at(0x4000, 0x5000) and memory.guarded_at(0x4fff, 0x5001)
    memory.protections_changing()
    assert memory.honoured == 1
    memory.protections_changed(True)  # (mremap of a guarded range: the maps again)
    assert memory.honoured == 0 and memory.guarded_at(0x4000, 0x4001)


def test_reads_end_where_the_process_may_read() -> None:
    """A read stops at the first page the process may not read (what was before it
    is kept), as process_vm_readv; the maps are read again when the builder says a
    call may have changed them, and inside honouring_protections every read
    honours them."""
    area = mmap.mmap(-1, 3 * mmap.PAGESIZE)
    area.write(b"A" * (3 * mmap.PAGESIZE))
    base = ctypes.addressof(ctypes.c_char.from_buffer(area))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    memory = TraceeMemory(os.getpid())
    try:
        start, length = base + mmap.PAGESIZE + 100, 2 * mmap.PAGESIZE - 100  # to the end
        assert memory.read(start, length) == b"A" * length
        assert libc.mprotect(base + 2 * mmap.PAGESIZE, mmap.PAGESIZE, 0) == 0
        memory.protections_changed(False)  # (the builder, at mprotect's exit)
        assert memory.read(start, length) == b"A" * (mmap.PAGESIZE - 100)
        assert memory.read(base + 2 * mmap.PAGESIZE, 8) == b""
        assert memory.read_string(base + 2 * mmap.PAGESIZE, 64) == b""
        with memory.honouring_protections():
            assert memory.honoured
            assert memory.read(start, length) == b"A" * (mmap.PAGESIZE - 100)
        assert not memory.honoured
        # /proc/PID/mem itself (FOLL_FORCE) reads the protected page: the rule is ktr's
        assert os.pread(memory.fd, 8, base + 2 * mmap.PAGESIZE) == b"A" * 8
    finally:
        libc.mprotect(base + 2 * mmap.PAGESIZE, mmap.PAGESIZE, 3)
        memory.close()
