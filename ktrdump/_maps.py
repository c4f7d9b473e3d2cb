"""Address-space maps of traced processes, rebuilt from a trace's MMAP and PROC records.

``AddressSpaces`` keeps, per process, the executable mappings the trace told
about: an MMAP record adds a mapping (cutting away what it overlaps, as the
kernel does); a fork gives the child a copy of the parent's maps; an exec drops
the mappings made before it (by timestamp: the perf source's MMAP records of
the new image may be written to the file before the ptrace source's PROC exec
record). ``find(pid, address)`` returns the mapping holding an address.

Guarantees: memory grows with the distinct mappings of the processes in the
trace, not with its length. A process's maps are kept after it exits: the
perf source's last samples of it may be written after its PROC exit record.
Does not: open files or read symbols (``_symbols``), or unwind (``_unwind``).
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from formats import Mmap, ProcEvent, ProcFlag, Record, RecordKind

#: The kernel's name of the mapping holding a process's uretprobe trampoline (created
#: at its first uprobe hit; a return probe replaces return addresses with its address).
UPROBES_PATH = b"[uprobes]"
#: The module name of a frame at the uretprobe trampoline (``_symbols``, ``_profile``).
UPROBES_FRAME = UPROBES_PATH.decode()


class Mapping:
    """One mapping of one process: a file (or the vDSO) at an address range."""

    __slots__ = (
        "bias",
        "build_id",
        "end",
        "flags",
        "image",
        "module",
        "offset",
        "path",
        "prot",
        "start",
        "time_ns",
    )

    def __init__(self, start: int, end: int, offset: int, prot: int, path: bytes,
                 build_id: bytes, time_ns: int, image: bytes = b"", flags: int = 0) -> None:
        self.start = start
        self.end = end
        self.offset = offset
        self.prot = prot
        self.path = path
        self.build_id = build_id
        self.time_ns = time_ns
        self.image = image
        self.flags = flags  # the MMAP record's: MAP_* and formats.MmapFlag bits
        # Filled in by the symbolizer on first use: its Module (or None when the
        # file cannot be read) and the load bias (runtime - link-time address).
        self.module: Any = False
        self.bias = 0

    def cut(self, start: int, end: int) -> Mapping:
        """The part of this mapping in [start, end)."""
        part = Mapping(start, end, self.offset + (start - self.start), self.prot, self.path,
                       self.build_id, self.time_ns, self.image, self.flags)
        return part

    def __repr__(self) -> str:
        return f"Mapping({self.start:#x}-{self.end:#x} {self.path!r} +{self.offset:#x})"


class _Space:
    __slots__ = ("maps", "starts")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.maps: list[Mapping] = []

    def add(self, new: Mapping) -> None:
        kept: list[Mapping] = []
        for old in self.maps:
            if old.end <= new.start or old.start >= new.end:
                kept.append(old)
                continue
            if old.start < new.start:
                kept.append(old.cut(old.start, new.start))
            if old.end > new.end:
                kept.append(old.cut(new.end, old.end))
        kept.append(new)
        kept.sort(key=lambda m: m.start)
        self.maps = kept
        self.starts = [m.start for m in kept]

    def copy(self) -> _Space:
        other = _Space()
        other.starts = list(self.starts)
        other.maps = list(self.maps)
        return other


class AddressSpaces:
    """Per-process executable mappings, from a trace's records."""

    def __init__(self) -> None:
        self._spaces: dict[int, _Space] = {}
        self.images: dict[bytes, bytes] = {}  # build id -> vDSO image seen in the trace

    def observe(self, record: Record) -> None:
        """Take in an MMAP or PROC record (others are ignored)."""
        kind = record[0]
        if kind == RecordKind.MMAP:
            self.add(record[2], record[4], record[6])  # type: ignore[arg-type]
        elif kind == RecordKind.PROC:
            payload: Any = record[6]
            event, flags, child = payload[0], payload[1], payload[2]
            if event in (ProcEvent.FORK, ProcEvent.VFORK) or (
                event == ProcEvent.CLONE and not flags & ProcFlag.THREAD
            ):
                self.fork(record[2], child)
            elif event == ProcEvent.EXEC:
                self.exec(record[2], record[4])

    def add(self, pid: int, time_ns: int, mmap: Mmap) -> None:
        # By field name: a field appended to MMAP (the SPEC allows it) changes nothing.
        start, end, offset, prot = mmap.start, mmap.end, mmap.offset, mmap.prot
        build_id, path, image = mmap.build_id, mmap.path, mmap.image
        if end <= start:
            return
        if image and build_id:
            self.images.setdefault(build_id, image)
        elif build_id in self.images:
            image = self.images[build_id]
        space = self._spaces.get(pid)
        if space is None:
            space = self._spaces[pid] = _Space()
        space.add(Mapping(start, end, offset, prot, path, build_id, time_ns, image,
                          mmap.flags))

    def fork(self, parent: int, child: int) -> None:
        space = self._spaces.get(parent)
        if space is not None and child not in self._spaces:
            self._spaces[child] = space.copy()

    def exec(self, pid: int, time_ns: int) -> None:
        space = self._spaces.get(pid)
        if space is None:
            return
        fresh = _Space()
        for mapping in space.maps:
            if mapping.time_ns >= time_ns:
                fresh.add(mapping)
        self._spaces[pid] = fresh

    def exit(self, pid: int) -> None:
        self._spaces.pop(pid, None)

    def find(self, pid: int, address: int) -> Mapping | None:
        space = self._spaces.get(pid)
        if space is None:
            return None
        index = bisect_right(space.starts, address) - 1
        if index < 0:
            return None
        mapping = space.maps[index]
        return mapping if address < mapping.end else None

    def mappings(self, pid: int) -> list[Mapping]:
        space = self._spaces.get(pid)
        return list(space.maps) if space is not None else []
