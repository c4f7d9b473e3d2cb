"""Bulk reads of a tracee's memory through ``/proc/PID/mem``.

One ``TraceeMemory`` per traced process (its threads share it). It keeps one
file descriptor on ``/proc/PID/mem``, opened on first use, and reads with
``os.pread`` — one system call per contiguous range, never word by word.

Guarantees: reads never raise for unreadable memory: a read that starts in an
unmapped page returns ``b""``, one that runs into an unmapped page returns
what was readable before it. A process whose ``/proc/PID/mem`` the recorder
cannot open for want of descriptors or memory (EMFILE under ``ulimit -n``) reads
as empty and is counted in ``OpenShortages``, for the recorder to say. The control
loop calls ``reopen`` after exec (the old descriptor still points at the old
address space) and ``close`` when the process is gone. ``abi`` (kept current by
the loop) gives the pointer size used to decode pointer arrays: 8 bytes for
x86_64, 4 for i386 and x32.

A hot path may read without ``read``'s Python frame: ``fd`` is the open
descriptor (or -1: then call ``read``), and a ``os.pread`` of it at an address
and length for which ``read`` would not clamp (``address + length <= END``)
that returns a non-empty short result is finished by ``read_on``; an OSError
stands for ``b""``. The result is then ``read``'s.

Does not: write to the tracee, or keep any cache of its contents — callers
read while the thread is stopped at the stop that made them want the data.
"""

from __future__ import annotations

import errno
import os
import struct
from typing import ClassVar

from formats import Abi

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_STRING_CHUNK = 4096
_MAX_OFFSET = (1 << 63) - 1
#: the end of the addresses ``read`` reads as asked (see the module docstring)
END = _MAX_OFFSET + 1

_POINTER_FORMATS = {8: "Q", 4: "I"}

#: errnos of a /proc/PID/mem open that fails for the recorder's own want of resources
#: (``ulimit -n``, the system's file table, memory), not the process's going: counted
_SHORTAGES = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM})


class OpenShortages:
    """Processes whose memory could not be read for want of a descriptor (or memory):
    everything read from it (paths, I/O data, arguments, structures) is empty for them.
    Process-wide; the recorder ``reset``s it as a recording begins and reads it at its
    end, to say so (never silently)."""

    pids: ClassVar[set[int]] = set()  # (a process counts once, whatever its execs' reopens)
    first_errno = 0

    @classmethod
    def reset(cls) -> None:
        cls.pids = set()
        cls.first_errno = 0

    @classmethod
    def note(cls, pid: int, error_number: int) -> None:
        cls.pids.add(pid)
        if not cls.first_errno:
            cls.first_errno = error_number


def pointer_size(abi: Abi) -> int:
    """Size of a pointer (and of ``size_t``) in the tracee for ``abi``."""
    return 4 if abi in (Abi.I386, Abi.X32) else 8


class TraceeMemory:
    """The address space of one traced process (shared by its threads)."""

    __slots__ = ("_unavailable", "abi", "fd", "pid")

    def __init__(self, pid: int, abi: Abi = Abi.X86_64) -> None:
        self.pid = pid
        self.abi = abi
        #: the /proc/PID/mem descriptor once a read opened it, else -1 (see the
        #: module docstring: the hot path's own pread)
        self.fd = -1
        self._unavailable = False  # opening failed: do not retry on every read

    def reopen(self, pid: int | None = None, abi: Abi | None = None) -> None:
        """Forget the current descriptor (after exec); the next read reopens."""
        self.close()
        if pid is not None:
            self.pid = pid
        if abi is not None:
            self.abi = abi

    def open_now(self) -> None:
        """Open the descriptor now, while the thread ``pid`` names is known to live
        (an open descriptor reads the address space whichever of its threads ends)."""
        self._descriptor()

    def close(self) -> None:
        fd, self.fd = self.fd, -1
        self._unavailable = False
        if fd >= 0:
            os.close(fd)

    def _descriptor(self) -> int:
        if self.fd < 0 and not self._unavailable:
            try:
                self.fd = os.open(f"/proc/{self.pid}/mem", os.O_RDONLY | os.O_CLOEXEC)
            except OSError as error:
                self._unavailable = True
                if error.errno in _SHORTAGES:
                    OpenShortages.note(self.pid, error.errno)
        return self.fd

    def read(self, address: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``address``; fewer if memory ends before."""
        if length <= 0 or address < 0 or address > _MAX_OFFSET:
            return b""
        fd = self.fd if self.fd >= 0 else self._descriptor()
        if fd < 0:
            return b""
        if length > _MAX_OFFSET - address + 1:  # (not min(): a call a read less)
            length = _MAX_OFFSET - address + 1
        try:
            data = os.pread(fd, length, address)
        except OSError:
            return b""
        if len(data) == length or not data:
            return data
        return self.read_on(fd, data, address, length)

    def read_on(self, fd: int, data: bytes, address: int, length: int) -> bytes:
        """``read``'s result after its first ``os.pread`` of ``fd`` returned ``data``,
        short but not empty."""
        # /proc/PID/mem stops at the first unreadable page; one retry tells a
        # genuinely short read from an interrupted one.
        parts = [data]
        done = len(data)
        while done < length:
            try:
                more = os.pread(fd, length - done, address + done)
            except OSError:
                break
            if not more:
                break
            parts.append(more)
            done += len(more)
        return b"".join(parts)

    def read_string(self, address: int, max_length: int) -> bytes:
        """The NUL-terminated string at ``address`` (without its NUL).

        At most ``max_length`` bytes are returned; a string cut short by
        unreadable memory is returned as far as it could be read.
        """
        if max_length <= 0:
            return b""
        # First chunk ends at the page boundary so a short string at the end
        # of the last mapped page does not fail on the next page.
        first = min(max_length, PAGE_SIZE - (address % PAGE_SIZE))
        data = self.read(address, first)
        end = data.find(b"\0")
        if end >= 0:
            return data[:end]
        if len(data) < first:
            return data
        parts = [data]
        done = len(data)
        while done < max_length:
            wanted = min(_STRING_CHUNK, max_length - done)
            chunk = self.read(address + done, wanted)
            end = chunk.find(b"\0")
            if end >= 0:
                parts.append(chunk[:end])
                break
            parts.append(chunk)
            done += len(chunk)
            if len(chunk) < wanted:
                break
        return b"".join(parts)

    def read_pointers(self, address: int, count: int, abi: Abi | None = None) -> list[int]:
        """``count`` pointers (or size_t values) at ``address``; fewer if unreadable."""
        size = pointer_size(self.abi if abi is None else abi)
        data = self.read(address, count * size)
        whole = len(data) // size
        return list(struct.unpack_from(f"<{whole}{_POINTER_FORMATS[size]}", data))

    def read_iovec(
        self, address: int, count: int, limit: int, abi: Abi | None = None
    ) -> bytes:
        """The buffers of a ``struct iovec`` array, concatenated, capped at ``limit``."""
        if count <= 0 or limit <= 0:
            return b""
        words = self.read_pointers(address, count * 2, abi)
        parts: list[bytes] = []
        remaining = limit
        for index in range(0, len(words) - 1, 2):
            base, length = words[index], words[index + 1]
            if length == 0:
                continue
            wanted = min(length, remaining)
            data = self.read(base, wanted)
            parts.append(data)
            remaining -= len(data)
            if remaining <= 0 or len(data) < wanted:
                break
        return b"".join(parts)

    def read_string_array(
        self, address: int, max_count: int, max_bytes: int, abi: Abi | None = None
    ) -> tuple[list[bytes], bool]:
        """A NULL-terminated array of string pointers (argv, envp).

        Returns the strings and whether the array was cut short by
        ``max_count``, ``max_bytes`` (total string bytes) or unreadable memory.
        """
        strings: list[bytes] = []
        total = 0
        size = pointer_size(self.abi if abi is None else abi)
        batch = 64
        index = 0
        while index < max_count:
            wanted = min(batch, max_count - index)
            pointers = self.read_pointers(address + index * size, wanted, abi)
            if not pointers:
                return strings, True
            for pointer in pointers:
                if pointer == 0:
                    return strings, False
                text = self.read_string(pointer, max_bytes - total)
                strings.append(text)
                total += len(text) + 1
                index += 1
                if total >= max_bytes:
                    return strings, True
            if len(pointers) < wanted:
                return strings, True
        return strings, True
