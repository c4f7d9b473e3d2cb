"""Bulk reads of a tracee's memory through ``/proc/PID/mem``.

One ``TraceeMemory`` per traced process (its threads share it). It keeps one
file descriptor on ``/proc/PID/mem``, opened on first use, and reads with
``os.pread`` — one system call per contiguous range, never word by word.

``/proc/PID/mem`` ignores page protections (the kernel reads it with
FOLL_FORCE): it returns what a PROT_NONE page holds. ``read`` returns only
what the process itself may read, as strace's process_vm_readv does: memory
it may not read reads as ``b""``, like unmapped memory. process_vm_readv costs
about three times a pread through ctypes, so ``read`` takes it only for a
range that touches the process's mappings without read permission (from
``/proc/PID/maps``, read at the first read after exec, then kept current by
the builder: ``protections_changed``), while ``honoured`` is non-zero
(``honouring_protections``, and ``protections_changing``: a thread of the
process is inside a call that may take read permission away, whose effect a
read could race), and when the maps cannot be read. The builder must see
every such call (mmap, mprotect, mremap, munmap) for the ranges to stay
current: under ktr's seccomp filter they stop too. ``read_on`` (the hot
path's continuation) does not look: its caller read a buffer a successful
call moved.

Guarantees: reads never raise for unreadable memory: a read that starts in an
unmapped page returns ``b""``, one that runs into an unmapped page returns
what was readable before it. A process whose ``/proc/PID/mem`` the recorder
cannot open for want of descriptors or memory (EMFILE under ``ulimit -n``) reads
as empty and is counted in its ``OpenShortages``, for the recorder to say. The control
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
from bisect import bisect_right as _bisect
from typing import Any

from formats import Abi

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_STRING_CHUNK = 4096
_PART = 1 << 16  # process_vm_readv's most bytes a call (honoured reads)
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
    One per recording (the control loop's), shared by its ``TraceeMemory`` objects;
    the recorder reads it at the end, to say so (never silently)."""

    __slots__ = ("first_errno", "pids")

    def __init__(self) -> None:
        self.pids: set[int] = set()  # (a process counts once, whatever its execs' reopens)
        self.first_errno = 0

    def note(self, pid: int, error_number: int) -> None:
        self.pids.add(pid)
        if not self.first_errno:
            self.first_errno = error_number


def pointer_size(abi: Abi) -> int:
    """Size of a pointer (and of ``size_t``) in the tracee for ``abi``."""
    return 4 if abi in (Abi.I386, Abi.X32) else 8


class TraceeMemory:
    """The address space of one traced process (shared by its threads)."""

    __slots__ = ("_guarded", "_high", "_low", "_unavailable", "abi", "fd", "honoured", "pid",
                 "shortages")

    def __init__(self, pid: int, abi: Abi = Abi.X86_64,
                 shortages: OpenShortages | None = None) -> None:
        self.pid = pid
        self.abi = abi
        #: where an open that fails for want of resources is counted (None: nowhere)
        self.shortages = shortages
        #: the /proc/PID/mem descriptor once a read opened it, else -1 (see the
        #: module docstring: the hot path's own pread)
        self.fd = -1
        self._unavailable = False  # opening failed: do not retry on every read
        #: non-zero: every read honours page protections (see the module docstring)
        self.honoured = 0
        #: the ranges the process may not read, [start, end, start, end, ...] sorted
        #: (None: to be read from /proc/PID/maps at the next read)
        self._guarded: list[int] | None = None
        # The last gap between guarded ranges a read fell in, [_low, _high): a read
        # inside it needs no look at _guarded (empty while honoured or stale)
        self._low = self._high = 0

    def reopen(self, pid: int | None = None, abi: Abi | None = None) -> None:
        """Forget the current descriptor (after exec); the next read reopens."""
        self.close()
        self.honoured = 0  # (a new address space: no call of the old one in flight)
        self._guarded = None
        self._low = self._high = 0
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
                if error.errno in _SHORTAGES and self.shortages is not None:
                    self.shortages.note(self.pid, error.errno)
        return self.fd

    def honouring_protections(self) -> _Honouring:
        """A context in which reads honour page protections (``honoured``)."""
        return _Honouring(self)

    def protections_changing(self) -> None:
        """A thread entered a call that may take read permission away: until
        ``protections_changed``, every read honours protections."""
        self.honoured += 1
        self._low = self._high = 0

    def protections_changed(self, was_changing: bool, low: int = 0, high: int = 0,
                            readable: bool | None = None) -> None:
        """A call that may have changed what the process may read returned (one
        ``protections_changing`` announced, if ``was_changing``): ``[low, high)``
        is now ``readable`` (or unmapped: readable here, pread fails there by
        itself), or, with None, the maps are read again at the next read."""
        if was_changing and self.honoured > 0:
            self.honoured -= 1
        self._low = self._high = 0
        if readable is None:
            self._guarded = None
        elif self._guarded is not None and low < high and (
                not readable or self.guarded_at(low, high)):  # (mmap: usually neither)
            self._guarded = _with_range(self._guarded, low, high, not readable)

    def guarded_at(self, low: int, high: int) -> bool:
        """Whether ``[low, high)`` touches a range the process may not read (as far
        as known: True when the maps are to be read again)."""
        guarded = self._guarded
        if guarded is None:
            return True
        index = _bisect(guarded, low)
        return bool(index & 1) or (index < len(guarded) and guarded[index] < high)

    def inherit(self, parent: TraceeMemory) -> None:
        """A new process's memory, a copy of ``parent``'s at fork: its ranges too."""
        self._guarded = parent._guarded  # (never changed in place: see _with_range)

    def _in_the_open(self, address: int, length: int) -> bool:
        """Whether the process may read all of ``[address, address + length)`` as far
        as its maps say (never while ``honoured``); remembers the gap it is in."""
        if self.honoured:
            return False
        guarded = self._guarded
        if guarded is None:
            guarded = self._guarded = _unreadable_ranges(self.pid)
        index = _bisect(guarded, address)
        if index & 1:
            return False
        high = guarded[index] if index < len(guarded) else END
        if address + length > high:
            return False
        self._low = guarded[index - 1] if index else 0
        self._high = high
        return True

    def read(self, address: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``address``; fewer if memory ends before."""
        if length <= 0 or address < 0 or address > _MAX_OFFSET:
            return b""
        # (two comparisons for a read in the gap the last one was in: the hot path)
        if not (self._low <= address and address + length <= self._high) and (
                not self._in_the_open(address, length)):
            if length > _MAX_OFFSET - address + 1:
                length = _MAX_OFFSET - address + 1
            return _readable(self.pid, address, length)
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
        return self.read_string_or_none(address, max_length) or b""

    def read_string_or_none(self, address: int, max_length: int) -> bytes | None:
        """``read_string``, but None when not even its first byte can be read (an
        empty string is ``b""``)."""
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
            return data or None
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


class _Honouring:
    """``TraceeMemory.honouring_protections``'s context (a class: cheaper to make
    than a generator's)."""

    __slots__ = ("_memory",)

    def __init__(self, memory: TraceeMemory) -> None:
        self._memory = memory

    def __enter__(self) -> None:
        self._memory.honoured += 1
        self._memory._low = self._memory._high = 0

    def __exit__(self, *exception: object) -> None:
        if self._memory.honoured > 0:  # (an exec inside resets it)
            self._memory.honoured -= 1


_process_vm_readv: Any = None
#: everything guarded: the maps could not be read
_EVERYTHING = [0, END]


def _with_range(ranges: list[int], low: int, high: int, guarded: bool) -> list[int]:
    """A new list: ``ranges`` with ``[low, high)`` guarded or not."""
    kept: list[tuple[int, int]] = []
    for index in range(0, len(ranges), 2):
        start, end = ranges[index], ranges[index + 1]
        if end <= low or start >= high:
            kept.append((start, end))
            continue
        if start < low:
            kept.append((start, low))
        if end > high:
            kept.append((high, end))
    if guarded:
        kept.append((low, high))
        kept.sort()
    merged: list[int] = []
    for start, end in kept:
        if merged and merged[-1] >= start:
            merged[-1] = max(merged[-1], end)
        else:
            merged += (start, end)
    return merged


def _unreadable_ranges(pid: int) -> list[int]:
    """The ranges of ``pid``'s mappings without read permission, merged, as
    [start, end, start, end, ...] (everything when its maps cannot be read)."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as maps:
            text = maps.read()
    except OSError:
        return _EVERYTHING
    ranges: list[int] = []
    for line in text.splitlines():
        span, _, rest = line.partition(b" ")
        if rest[:1] == b"r":
            continue
        start, _, end = span.partition(b"-")
        try:
            low, high = int(start, 16), int(end, 16)
        except ValueError:
            return _EVERYTHING
        if ranges and ranges[-1] == low:
            ranges[-1] = high  # (adjacent: one range)
        else:
            ranges += (low, high)
    return ranges


def _readable(pid: int, address: int, length: int) -> bytes:
    """Up to ``length`` bytes at ``address`` that process ``pid`` may read itself
    (process_vm_readv honours page protections); fewer where that ends."""
    global _process_vm_readv
    if _process_vm_readv is None:  # (loaded at the first use: ctypes' set-up is not free)
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).process_vm_readv
        function.restype = ctypes.c_ssize_t
        function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_ulong,
                             ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
        _process_vm_readv = (function, ctypes)
    function, ctypes = _process_vm_readv
    parts: list[bytes] = []
    done = 0
    while done < length:
        # (the first part to the end of its page: a transfer that fails in its first
        # page returns nothing, not the bytes before; a length such as 1 TiB is read
        # a bounded part at a time)
        end = address + done + _PART if done else (address // PAGE_SIZE + 1) * PAGE_SIZE
        wanted = min(length - done, end - address - done)
        buffer = ctypes.create_string_buffer(wanted)
        local = (ctypes.c_size_t * 2)(ctypes.addressof(buffer), wanted)
        remote = (ctypes.c_size_t * 2)(address + done, wanted)
        count = function(pid, ctypes.addressof(local), 1, ctypes.addressof(remote), 1, 0)
        if count <= 0:
            break
        parts.append(buffer.raw[:count])
        done += count
        if count < wanted:
            break
    return b"".join(parts)
