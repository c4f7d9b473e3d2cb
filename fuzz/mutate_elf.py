"""Structure-aware mutations of ELF files (the traced programs and libraries ktr reads).

The seed is located with ``struct`` (ELF header, section and program headers, symbol
tables; either class and byte order), so mutations hit the sizes, offsets, counts and
indexes the readers trust: header fields set to boundary values (0, 1, all ones, the
file's size and around it, other sections' offsets), symbol entries rewritten, bytes of
one section's contents (DWARF, notes, string tables, the debuglink) flipped, plus plain
byte damage, truncation and splicing with another seed.

Guarantees: deterministic for a given ``random.Random`` state; never raises for a seed
that starts with an ELF header (a seed it cannot locate gets byte mutations only). Does
not: judge the result (``run`` does that through ``targets.elf_targets``).
"""

from __future__ import annotations

import random
import struct
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class _Layout:
    order: str
    wide: bool

    @property
    def word(self) -> int:
        return 8 if self.wide else 4

    # (offset, size) of the fields the readers trust
    @property
    def header_fields(self) -> list[tuple[int, int]]:
        if self.wide:  # e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx
            return [(32, 8), (40, 8), (54, 2), (56, 2), (58, 2), (60, 2), (62, 2)]
        return [(28, 4), (32, 4), (42, 2), (44, 2), (46, 2), (48, 2), (50, 2)]

    @property
    def section_fields(self) -> list[tuple[int, int]]:  # name, type, flags, .., entsize
        if self.wide:
            return [(0, 4), (4, 4), (8, 8), (24, 8), (32, 8), (40, 4), (44, 4), (56, 8)]
        return [(0, 4), (4, 4), (8, 4), (16, 4), (20, 4), (24, 4), (28, 4), (36, 4)]

    @property
    def segment_fields(self) -> list[tuple[int, int]]:  # type, flags, offset, vaddr, filesz
        if self.wide:
            return [(0, 4), (4, 4), (8, 8), (16, 8), (32, 8), (40, 8)]
        return [(0, 4), (4, 4), (8, 4), (16, 4), (20, 4), (24, 4)]

    @property
    def symbol_fields(self) -> list[tuple[int, int]]:  # name, info, shndx, value, size
        if self.wide:
            return [(0, 4), (4, 1), (6, 2), (8, 8), (16, 8)]
        return [(0, 4), (4, 4), (8, 4), (12, 1), (14, 2)]


@dataclass(frozen=True)
class _Section:
    header_at: int  # where its header is in the file
    kind: int
    offset: int
    size: int
    entsize: int


@dataclass(frozen=True)
class _Elf:
    layout: _Layout
    sections: list[_Section]
    segments: list[int]  # where each program header is


def locate(data: bytes) -> _Elf | None:
    """The headers of a well-formed ELF file, or None."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] not in (1, 2) or data[5] not in (1, 2):
        return None
    layout = _Layout("<" if data[5] == 1 else ">", data[4] == 2)
    try:
        if layout.wide:
            phoff, shoff = struct.unpack_from(layout.order + "QQ", data, 32)
            phent, phnum, shent, shnum = struct.unpack_from(layout.order + "HHHH", data, 54)
        else:
            phoff, shoff = struct.unpack_from(layout.order + "II", data, 28)
            phent, phnum, shent, shnum = struct.unpack_from(layout.order + "HHHH", data, 42)
        sections = []
        for index in range(shnum):
            at = shoff + index * shent
            if layout.wide:
                kind, = struct.unpack_from(layout.order + "I", data, at + 4)
                offset, size = struct.unpack_from(layout.order + "QQ", data, at + 24)
                entsize, = struct.unpack_from(layout.order + "Q", data, at + 56)
            else:
                kind, = struct.unpack_from(layout.order + "I", data, at + 4)
                offset, size = struct.unpack_from(layout.order + "II", data, at + 16)
                entsize, = struct.unpack_from(layout.order + "I", data, at + 36)
            sections.append(_Section(at, kind, offset, size, entsize))
    except struct.error:
        return None
    segments = [phoff + index * phent for index in range(phnum)
                if phoff + (index + 1) * phent <= len(data)]
    return _Elf(layout, sections, segments)


def _interesting(size: int, file_size: int, elf: _Elf | None, rng: random.Random) -> int:
    top = (1 << (8 * size)) - 1
    choices = [0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1, file_size, file_size - 1,
               file_size + 1, 0xFF00, 0xFFFF, 24, 64, rng.randrange(top + 1),
               rng.randrange(min(top, 256) + 1)]
    if elf is not None and elf.sections:
        section = rng.choice(elf.sections)
        choices += [section.offset, section.size, len(elf.sections), len(elf.sections) + 1]
    return rng.choice(choices) & top


def _put(data: bytearray, at: int, size: int, value: int, order: str) -> None:
    if at >= 0 and at + size <= len(data):
        data[at : at + size] = value.to_bytes(size, "little" if order == "<" else "big")


def _header_field(data: bytearray, elf: _Elf, rng: random.Random) -> None:
    at, size = rng.choice(elf.layout.header_fields)
    _put(data, at, size, _interesting(size, len(data), elf, rng), elf.layout.order)


def _section_field(data: bytearray, elf: _Elf, rng: random.Random) -> None:
    if not elf.sections:
        return
    section = rng.choice(elf.sections)
    at, size = rng.choice(elf.layout.section_fields)
    _put(data, section.header_at + at, size, _interesting(size, len(data), elf, rng),
         elf.layout.order)


def _segment_field(data: bytearray, elf: _Elf, rng: random.Random) -> None:
    if not elf.segments:
        return
    at, size = rng.choice(elf.layout.segment_fields)
    _put(data, rng.choice(elf.segments) + at, size, _interesting(size, len(data), elf, rng),
         elf.layout.order)


def _symbol_field(data: bytearray, elf: _Elf, rng: random.Random) -> None:
    tables = [s for s in elf.sections if s.kind in (2, 11) and s.entsize and s.size]
    if not tables:
        return
    table = rng.choice(tables)
    count = table.size // table.entsize
    if not count:
        return
    at, size = rng.choice(elf.layout.symbol_fields)
    entry = table.offset + rng.randrange(count) * table.entsize
    value = _interesting(size, len(data), elf, rng)
    if size == 1 and rng.random() < 0.5:
        value = rng.choice([0x12, 0x1A, 0x22, 0x02, 0xA2])  # FUNC / IFUNC, some binding
    _put(data, entry + at, size, value, elf.layout.order)


def _section_bytes(data: bytearray, elf: _Elf, rng: random.Random) -> None:
    inside = [s for s in elf.sections if s.size and s.offset + s.size <= len(data)
              and s.kind != 8]
    if not inside:
        return
    section = rng.choice(inside)
    for _ in range(rng.randint(1, 8)):
        at = section.offset + rng.randrange(section.size)
        data[at] = rng.choice([0, 0xFF, 0x7F, 0x80, rng.randrange(256), data[at] ^ 1])


def _bytes(data: bytearray, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 16)):
        if data:
            data[rng.randrange(len(data))] = rng.randrange(256)


def _truncate(data: bytearray, rng: random.Random) -> None:
    if data:
        del data[rng.randrange(len(data)):]


def _chunk(data: bytearray, rng: random.Random) -> None:
    if len(data) < 2:
        return
    at = rng.randrange(len(data))
    if rng.random() < 0.5:
        del data[at : at + rng.randint(1, 64)]
    else:
        data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))


Mutation = Callable[[bytearray, _Elf, random.Random], None]
_STRUCTURED: list[tuple[Mutation, int]] = [
    (_header_field, 3), (_section_field, 6), (_segment_field, 3), (_symbol_field, 4),
    (_section_bytes, 6),
]


def mutate(seed: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """One to four mutations of ``seed`` (``seeds``: what splicing may take from)."""
    data = bytearray(seed)
    elf = locate(seed)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if elf is not None and choice < 0.75:
            functions = [f for f, _ in _STRUCTURED]
            weights = [w for _, w in _STRUCTURED]
            rng.choices(functions, weights)[0](data, elf, rng)
        elif choice < 0.85:
            _bytes(data, rng)
        elif choice < 0.92:
            _chunk(data, rng)
        elif choice < 0.97:
            _truncate(data, rng)
        else:
            other = rng.choice(seeds)
            at = rng.randrange(len(data) + 1)
            start = rng.randrange(len(other) + 1)
            data[at:] = other[start : start + rng.randint(1, 4096)]
    return bytes(data)
