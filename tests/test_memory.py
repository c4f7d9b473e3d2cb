"""TraceeMemory: bulk reads, short reads at unmapped ends, strings, iovecs, pointer arrays.

Read from this very process (``/proc/self``'s pid), where the layout is under
the test's control; the control-loop tests read real tracees.
"""

from __future__ import annotations

import ctypes
import os
import struct
from collections.abc import Iterator

import pytest

from formats import Abi
from ktr._memory import PAGE_SIZE, TraceeMemory

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long)
libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)

PROT_READ_WRITE = 3
MAP_PRIVATE_ANONYMOUS = 0x22
MAP_32BIT = 0x40


def mapping(pages: int, low: bool = False) -> int:
    flags = MAP_PRIVATE_ANONYMOUS | (MAP_32BIT if low else 0)
    address = libc.mmap(None, pages * PAGE_SIZE, PROT_READ_WRITE, flags, -1, 0)
    assert address not in (None, ctypes.c_void_p(-1).value)
    return int(address)


@pytest.fixture
def memory() -> Iterator[TraceeMemory]:
    mem = TraceeMemory(os.getpid())
    yield mem
    mem.close()


@pytest.fixture
def edge() -> Iterator[int]:
    """The start of the last mapped page, followed by an unmapped page."""
    base = mapping(2)
    libc.munmap(base + PAGE_SIZE, PAGE_SIZE)
    yield base
    libc.munmap(base, PAGE_SIZE)


def test_read_returns_the_bytes(memory: TraceeMemory) -> None:
    data = bytes(range(256)) * 40
    buffer = ctypes.create_string_buffer(data, len(data))
    assert memory.read(ctypes.addressof(buffer), len(data)) == data
    assert memory.read(ctypes.addressof(buffer) + 10, 5) == data[10:15]


def test_short_read_at_an_unmapped_end(memory: TraceeMemory, edge: int) -> None:
    ctypes.memmove(edge + PAGE_SIZE - 4, b"tail", 4)
    assert memory.read(edge + PAGE_SIZE - 4, 100) == b"tail"
    assert memory.read(edge + PAGE_SIZE, 10) == b""


def test_a_hot_path_pread_finished_by_read_on(memory: TraceeMemory, edge: int) -> None:
    # The builder's own pread of memory.fd, as the module docstring allows: a short
    # result is finished by read_on, which continues where it stopped.
    data = bytes(range(256)) * 40
    buffer = ctypes.create_string_buffer(data, len(data))
    address = ctypes.addressof(buffer)
    assert memory.fd == -1  # opened by the first read
    assert memory.read(address, 1) == data[:1]
    assert memory.fd >= 0
    assert memory.read_on(memory.fd, data[:100], address, len(data)) == data
    ctypes.memmove(edge + PAGE_SIZE - 4, b"tail", 4)
    short = os.pread(memory.fd, 100, edge + PAGE_SIZE - 4)
    assert short == b"tail"
    assert memory.read_on(memory.fd, short, edge + PAGE_SIZE - 4, 100) == b"tail"
    assert memory.read_on(memory.fd, b"ta", edge + PAGE_SIZE - 4, 100) == b"tail"


def test_unreadable_addresses_give_nothing(memory: TraceeMemory) -> None:
    assert memory.read(0, 16) == b""
    assert memory.read(2**64 - 8, 16) == b""
    assert memory.read(-1, 16) == b""
    assert memory.read(0x1000, 0) == b""
    assert memory.read_string(0, 100) == b""


def test_read_string_stops_at_nul_and_at_the_limit(memory: TraceeMemory) -> None:
    text = b"x" * 5000 + b"\0after"
    buffer = ctypes.create_string_buffer(text)  # NUL-terminated
    address = ctypes.addressof(buffer)
    assert memory.read_string(address, 10000) == b"x" * 5000
    assert memory.read_string(address, 100) == b"x" * 100
    assert memory.read_string(address + 5001, 100) == b"after"


def test_read_string_at_the_end_of_the_last_page(memory: TraceeMemory, edge: int) -> None:
    ctypes.memmove(edge + PAGE_SIZE - 3, b"ab\0", 3)
    assert memory.read_string(edge + PAGE_SIZE - 3, 4096) == b"ab"
    ctypes.memmove(edge + PAGE_SIZE - 3, b"abc", 3)  # unterminated: what was readable
    assert memory.read_string(edge + PAGE_SIZE - 3, 4096) == b"abc"


def test_read_iovec_concatenates_and_caps(memory: TraceeMemory) -> None:
    parts = [b"first-", b"", b"second-", b"third"]
    buffers = [ctypes.create_string_buffer(p, max(len(p), 1)) for p in parts]
    iovec = b"".join(struct.pack("<QQ", ctypes.addressof(b), len(p))
                     for b, p in zip(buffers, parts, strict=True))
    array = ctypes.create_string_buffer(iovec, len(iovec))
    address = ctypes.addressof(array)
    assert memory.read_iovec(address, 4, 1000) == b"first-second-third"
    assert memory.read_iovec(address, 4, 9) == b"first-sec"
    assert memory.read_iovec(address, 1, 1000) == b"first-"
    assert memory.read_iovec(address, 0, 1000) == b""


def test_read_iovec_with_the_i386_layout(memory: TraceeMemory) -> None:
    low = mapping(1, low=True)
    try:
        assert low < 2**32
        ctypes.memmove(low + 256, b"thirty-two", 10)
        ctypes.memmove(low, struct.pack("<IIII", low + 256, 6, low + 262, 4), 16)
        assert memory.read_iovec(low, 2, 100, Abi.I386) == b"thirty-two"
        assert memory.read_pointers(low, 2, Abi.I386) == [low + 256, 6]
        memory.abi = Abi.I386
        assert memory.read_iovec(low, 2, 100) == b"thirty-two"
    finally:
        libc.munmap(low, PAGE_SIZE)


def test_read_string_array(memory: TraceeMemory) -> None:
    strings = [b"ls", b"-l", b"/tmp"]
    buffers = [ctypes.create_string_buffer(s) for s in strings]
    pointers = [ctypes.addressof(b) for b in buffers] + [0]
    array = (ctypes.c_uint64 * len(pointers))(*pointers)
    address = ctypes.addressof(array)
    assert memory.read_string_array(address, 100, 4096) == (strings, False)
    assert memory.read_string_array(address, 2, 4096) == (strings[:2], True)
    found, truncated = memory.read_string_array(address, 100, 4)
    assert truncated and found[0] == b"ls"


def test_close_and_reopen(memory: TraceeMemory) -> None:
    buffer = ctypes.create_string_buffer(b"again", 5)
    assert memory.read(ctypes.addressof(buffer), 5) == b"again"
    memory.reopen(abi=Abi.X86_64)
    assert memory.read(ctypes.addressof(buffer), 5) == b"again"
    memory.close()
    memory.close()


def test_a_gone_process_reads_nothing() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert TraceeMemory(pid).read(0x400000, 8) == b""
