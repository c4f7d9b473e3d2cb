"""The data of the STRUCT records whose layout is ktr's own, built and read fast.

Most STRUCT records hold a kernel structure as the kernel laid it out; a few
hold data ktr composes itself (``fd_paths``, ``open_fds``, ``mmsg_extras``,
``unsent_messages``, ``clone3_ids``, ``count``, ``socklen``; ``fd_path`` and
``cwd`` are a path's bytes). Their construct schemas are
``_schema.struct_data_schemas``; the ``struct`` layouts used here are the
ones ``tools/generate_layouts.py`` derives from them (``STRUCT:NAME`` in
``_layouts``), so neither the recorder nor the reader imports construct.

Guarantees: every ``encode_*`` gives exactly the bytes the schema builds
(``tests/test_struct_data.py``, over random values); every ``decode_*``
accepts exactly what the schema parses, gives the same values, never raises
for any bytes, and for data the schema refuses gives what came before the
damage and a ``Damage`` saying at which byte of the data it starts (a
repeated layout: the whole items before the first that is cut short or
whose length runs past the end).

Does not: know the kernel structures (``ktrdump._structs``), or what the
values mean.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

from collections.abc import Iterable
from typing import NamedTuple

from ._codec import STRUCT_DATA_PREFIX, Layout, generated_layout


class Damage(NamedTuple):
    """Where a STRUCT's data stops being what its layout says."""

    offset: int  # the byte of the data where the damaged item starts
    length: int  # the data's length
    reason: str

    def __str__(self) -> str:
        return f"damaged at byte {self.offset} of {self.length}: {self.reason}"


class FdPath(NamedTuple):
    """One item of ``fd_paths`` and ``open_fds``."""

    fd: int
    path: bytes


class Clone3Ids(NamedTuple):
    """STRUCT ``clone3_ids``: what clone3 wrote for its parent."""

    which: int  # bit 0: pidfd read, bit 1: parent_tid read
    pidfd: int
    parent_tid: int


class Socklen(NamedTuple):
    """STRUCT ``socklen``: a socklen_t at entry, and at exit (None: the call failed)."""

    before: int
    after: int | None


def _layout(name: str, fixed: tuple[str, ...], tail: str | None) -> Layout:
    """The generated layout of ``name``'s item, checked to be the fields this module
    packs positionally (a schema change that reorders them fails at import)."""
    layout = generated_layout("little", STRUCT_DATA_PREFIX + name)
    tails = tuple(t.name for t in layout.tails)
    if layout.fixed_names != fixed or tails != (() if tail is None else (tail,)):
        raise ImportError(f"STRUCT {name}: layout {layout.fixed_names} {tails} is not "
                          f"{fixed} {tail} (formats/_struct_data.py is out of date)")
    return layout


_FD_PATH = _layout("fd_paths", ("fd", "path_length"), "path").fixed
_OPEN_FD = _layout("open_fds", ("fd", "path_length"), "path").fixed
_PART = _layout("mmsg_extras", ("length",), "data").fixed
_UNSENT = _layout("unsent_messages", ("length",), "data").fixed
_CLONE3_IDS = _layout("clone3_ids", ("which", "pidfd", "parent_tid"), None).fixed
_COUNT = _layout("count", ("count",), None).fixed
if _OPEN_FD.format != _FD_PATH.format or _UNSENT.format != _PART.format:
    raise ImportError("open_fds and unsent_messages share fd_paths' and mmsg_extras' items")

#: The size of one ``fd_paths`` item's fixed run (fd, path length): 8.
FD_PATH_HEAD = _FD_PATH.size


# ---------------------------------------------------------------- encoding

_pack_fd_path = _FD_PATH.pack
_pack_length = _PART.pack


def encode_fd_paths(items: Iterable[tuple[int, bytes]]) -> bytes:
    """``fd_paths`` / ``open_fds``: per (fd, path), an i32 fd, a u32 length, the path."""
    return b"".join(_pack_fd_path(fd, len(path)) + path for fd, path in items)


def encode_parts(parts: Iterable[bytes]) -> bytes:
    """``mmsg_extras`` / ``unsent_messages``: per part, a u32 length, then its bytes."""
    return b"".join(_pack_length(len(part)) + part for part in parts)


def encode_part(part: bytes) -> bytes:
    """One part of ``encode_parts`` (for data built a part at a time)."""
    return _pack_length(len(part)) + part


def encode_clone3_ids(which: int, pidfd: int, parent_tid: int) -> bytes:
    """``clone3_ids``: u32 which, i32 pidfd, i32 parent_tid."""
    return _CLONE3_IDS.pack(which, pidfd, parent_tid)


def encode_count(count: int) -> bytes:
    """``count``: a u32."""
    return _COUNT.pack(count)


# ---------------------------------------------------------------- decoding

def _bytes(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"


def _cut(offset: int, data: bytes, what: str, size: int) -> Damage:
    return Damage(offset, len(data), f"{_bytes(len(data) - offset)} left, not a whole "
                                     f"{size}-byte {what}")


def decode_fd_paths(data: bytes) -> tuple[list[FdPath], Damage | None]:
    """The items of ``fd_paths`` / ``open_fds`` data, and where it is damaged (None: not)."""
    unpack = _FD_PATH.unpack_from
    head = _FD_PATH.size
    items: list[FdPath] = []
    position, end = 0, len(data)
    while position < end:
        if end - position < head:
            return items, _cut(position, data, "fd and path length", head)
        fd, length = unpack(data, position)
        start = position + head
        if length > end - start:
            return items, Damage(position, end, f"fd {fd}'s path length {length} runs past "
                                                f"the end ({_bytes(end - start)} left)")
        items.append(FdPath(fd, data[start:start + length]))
        position = start + length
    return items, None


def decode_parts(data: bytes) -> tuple[list[bytes], Damage | None]:
    """The parts of ``mmsg_extras`` / ``unsent_messages`` data, and where it is damaged."""
    unpack = _PART.unpack_from
    head = _PART.size
    parts: list[bytes] = []
    position, end = 0, len(data)
    while position < end:
        if end - position < head:
            return parts, _cut(position, data, "length", head)
        (length,) = unpack(data, position)
        start = position + head
        if length > end - start:
            return parts, Damage(position, end, f"length {length} runs past the end "
                                                f"({_bytes(end - start)} left)")
        parts.append(data[start:start + length])
        position = start + length
    return parts, None


def decode_clone3_ids(data: bytes) -> tuple[Clone3Ids | None, Damage | None]:
    """``clone3_ids`` (bytes past its 12 are ignored, as a later version's)."""
    if len(data) < _CLONE3_IDS.size:
        return None, _cut(0, data, "clone3_ids", _CLONE3_IDS.size)
    return Clone3Ids(*_CLONE3_IDS.unpack_from(data)), None


def decode_count(data: bytes) -> tuple[int | None, Damage | None]:
    """``count`` (bytes past its 4 are ignored)."""
    if len(data) < _COUNT.size:
        return None, _cut(0, data, "count", _COUNT.size)
    return int(_COUNT.unpack_from(data)[0]), None


def decode_socklen(data: bytes) -> tuple[Socklen | None, Damage | None]:
    """``socklen``: one u32 (a call that failed) or two; anything else is damage, the
    values before it given (``before`` alone when 5 to 7 or more than 8 bytes)."""
    size = _COUNT.size
    if len(data) < size:
        return None, _cut(0, data, "socklen_t", size)
    (before,) = _COUNT.unpack_from(data)
    if len(data) == size:
        return Socklen(before, None), None
    if len(data) < 2 * size:
        return Socklen(before, None), _cut(size, data, "socklen_t", size)
    (after,) = _COUNT.unpack_from(data, size)
    if len(data) > 2 * size:
        return Socklen(before, after), Damage(2 * size, len(data),
                                              f"{_bytes(len(data) - 2 * size)} past two socklen_t")
    return Socklen(before, after), None
