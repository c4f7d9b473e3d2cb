"""PROBE's ``strings`` field, built and read fast: one entry per ``str`` value.

The layout is ``_schema.probe_string_schemas(order)`` (SPEC.md, "PROBE
strings"): per entry a u32 length word in the file's byte order, either
``PROBE_STRING_FAULT`` (unreadable, no bytes follow) or the length in bits
0-30 with ``PROBE_STRING_TRUNCATED`` (bit 31) for a string cut short, then
that many bytes. The length word's ``struct`` layout is the one
``tools/generate_layouts.py`` derives from the schema (``PROBE:strings`` in
``_layouts``), so neither the recorder nor the reader imports construct.

Guarantees: ``encode`` gives exactly the bytes the schema builds, and
``word_layout(order).pack`` (the recorder's hot path packs its own entries
with it) the schema's length word (``tests/test_probe_strings.py``, over
random values, both byte orders); ``decode`` accepts exactly what the schema
parses, gives the same values, never raises for any bytes, and for a field the
schema refuses gives the whole entries before the damage and a
``struct_data.Damage`` saying at which byte of the field the damaged entry
starts (fewer than 4 bytes left, or a length running past the end).

Does not: know which argument a string belongs to (the PROBE_DEF's types, in
``ktrdump._probes``), or how the recorder found the strings (``ktr._probes``).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from typing import NamedTuple

from ._codec import PROBE_STRINGS_LAYOUT, generated_layout
from ._kinds import PROBE_STRING_FAULT, PROBE_STRING_TRUNCATED
from ._schema import ByteOrder
from ._struct_data import Damage


class ProbeString(NamedTuple):
    """One entry of PROBE.strings."""

    value: bytes | None  # None: the string could not be read
    truncated: bool = False  # cut short (by the cap or the kernel's limits); bytes kept


def word_layout(order: ByteOrder) -> struct.Struct:
    """The ``struct`` of an entry's length word in ``order``, generated from the schema."""
    layout = generated_layout(order, PROBE_STRINGS_LAYOUT)
    if layout.fixed_names != ("word",) or layout.tails:
        raise ImportError(f"PROBE:strings: layout {layout.fixed_names} is not ('word',) "
                          "(formats/_probe_strings.py is out of date)")
    return layout.fixed


_WORDS = {order: word_layout(order) for order in ("little", "big")}

#: The whole entry of an unreadable string (the same bytes in either order).
FAULT_ENTRY = _WORDS["little"].pack(PROBE_STRING_FAULT)
#: The size of an entry's length word: 4.
WORD_SIZE = _WORDS["little"].size


def encode(strings: Iterable[ProbeString | tuple[bytes | None, bool]],
           order: ByteOrder = "little") -> bytes:
    """The field for ``strings`` (value None: unreadable; its ``truncated`` ignored)."""
    pack = _WORDS[order].pack
    parts = []
    for value, truncated in strings:
        if value is None:
            parts.append(FAULT_ENTRY)
        else:
            parts.append(pack(len(value) | (PROBE_STRING_TRUNCATED if truncated else 0))
                         + value)
    return b"".join(parts)


def _bytes(count: int) -> str:
    return f"{count} byte{'' if count == 1 else 's'}"


def decode(data: bytes, order: ByteOrder = "little"
           ) -> tuple[list[ProbeString], Damage | None]:
    """The entries of a PROBE.strings field, and where it is damaged (None: it is not)."""
    unpack = _WORDS[order].unpack_from
    out: list[ProbeString] = []
    position, end = 0, len(data)
    while position < end:
        if end - position < WORD_SIZE:
            return out, Damage(position, end, f"{_bytes(end - position)} left, not a whole "
                                              f"{WORD_SIZE}-byte length word")
        (word,) = unpack(data, position)
        start = position + WORD_SIZE
        if word == PROBE_STRING_FAULT:
            out.append(ProbeString(None, False))
            position = start
            continue
        length = word & ~PROBE_STRING_TRUNCATED
        if length > end - start:
            return out, Damage(position, end, f"string length {length} runs past the end "
                                              f"({_bytes(end - start)} left)")
        out.append(ProbeString(data[start:start + length], bool(word & PROBE_STRING_TRUNCATED)))
        position = start + length
    return out, None
