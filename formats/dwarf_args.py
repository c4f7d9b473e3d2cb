"""Function parameter and return types from DWARF, as probe argument types.

Pure: imports neither ``ktr`` nor ``ktrdump``; reads a file's own ``.debug_info`` with
pyelftools.

``signature(path, name, vaddr)`` gives a ``Signature`` ``(parameters, returns, why,
names)`` of the function ``name`` (the DW_TAG_subprogram whose low_pc is ``vaddr``, or
else the one named so): parameter and return type names that are probe type names: ``i8
u8 i16 u16 i32 u32 i64 u64`` for integers, ``bool`` and enums by their DW_AT_byte_size
and signedness (the ABI leaves a register's bits above that width undefined: the reader
keeps the type's own bits), ``ptr`` for pointers (and C++ references), ``str`` for
pointers to (const) char, ``float`` for floating point (float, double, long double,
_Complex: System V passes them in xmm registers or on the stack, never in a general
register, so they take none of the six integer argument registers; uprobes cannot read
xmm registers: not fetched). ``names`` are the parameters' names (``?`` when unnamed). It
answers None when the file has no DWARF of its own or the function is not described. The
parameters are None (the caller keeps its defaults: six raw registers) when more than six
are integer-class (the seventh on are on the stack) or more than eight floating point,
they are variadic, or where a parameter is cannot be told without the ABI's aggregate
classification: a struct, union or array by value, an integer wider than 8 bytes, or a
struct or union return value (returned in memory, its address takes %rdi and moves every
parameter a register on; returned in registers, it does not) — ``why`` then says which,
for the caller to say so. The return type is None for ``void``, an aggregate or a wider
integer, ``float`` for floating point (xmm0 or st0, not ``rax``); it does not depend on
the parameters. The registers are x86-64's (System V): a file of another class or machine
(ELF32 i386, whose cdecl passes every argument on the stack) answers None.

Not guaranteed: separate debug files are not read (libc's is hundreds of megabytes:
parsing it would cost more than the probe is worth); files whose ``.debug_info`` is over
``MAX_DEBUG_INFO`` bytes are skipped for the same reason.

Damaged or hostile files (the traced program is not ours) answer None, in bounded time and
memory: the DWARF sections must hold, decompressed, at most ``MAX_DEBUG_TOTAL`` bytes
(pyelftools would otherwise inflate whatever size a compression header or an SHT_NOBITS
header claims), the legacy ``.zdebug_*`` sections (whose decompression pyelftools does not
bound) are refused, type chains (``const`` → ``typedef`` → ...) are followed at most
``MAX_TYPE_CHAIN`` links, so a cycle ends, and a DW_AT_sibling pointing backwards (which
sends pyelftools' child iteration round forever) makes the file's DWARF unusable (None).
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

__all__ = ["MAX_DEBUG_INFO", "MAX_DEBUG_TOTAL", "MAX_TYPE_CHAIN", "Signature", "clear_cache",
           "signature"]

#: Larger ``.debug_info`` sections are not parsed (seconds with pyelftools).
MAX_DEBUG_INFO = 4 << 20
#: All DWARF sections together, decompressed.
MAX_DEBUG_TOTAL = 4 * MAX_DEBUG_INFO
MAX_TYPE_CHAIN = 64
REGISTER_ARGUMENTS = 6
FLOAT_ARGUMENTS = 8  # xmm0-xmm7

_lock = threading.Lock()


class Signature(NamedTuple):
    """A function's probe types (module docstring)."""

    parameters: tuple[str, ...] | None
    returns: str | None
    #: why ``parameters`` is None, when that hides where they are (else "")
    why: str = ""
    #: each parameter's name (when ``parameters`` is not None)
    names: tuple[str, ...] = ()


#: path -> (signatures by low_pc, by name), or None: no usable DWARF of its own
_indexes: dict[str, tuple[dict[int, Signature | None], dict[str, Signature | None]] | None] = {}
_QUALIFIERS = ("DW_TAG_const_type", "DW_TAG_volatile_type", "DW_TAG_typedef",
               "DW_TAG_restrict_type", "DW_TAG_atomic_type")


def signature(path: str, name: str, vaddr: int) -> Signature | None:
    """See the module docstring; never raises (an unreadable file answers None). Each
    file's DWARF is read once (every function's signature, indexed)."""
    with _lock:
        if path in _indexes:
            index = _indexes[path]
        else:
            try:
                index = _index(path)
            except Exception:  # damaged or unusual DWARF: the defaults serve
                index = None
            _indexes[path] = index
    if index is None:
        return None
    by_address, by_name = index
    if vaddr in by_address:
        return by_address[vaddr]
    return by_name.get(name)


def clear_cache() -> None:
    """Forget every file's signatures (a file rewritten in place is read again)."""
    with _lock:
        _indexes.clear()


def _index(path: str
           ) -> tuple[dict[int, Signature | None], dict[str, Signature | None]] | None:
    from elftools.elf.elffile import ELFFile

    with open(path, "rb") as handle:
        elf = ELFFile(handle)
        if elf.elfclass != 64 or elf["e_machine"] != "EM_X86_64":
            return None  # the register rules here are x86-64's
        section = elf.get_section_by_name(".debug_info")
        if section is None or section.data_size > MAX_DEBUG_INFO or not _bounded(elf):
            return None
        if not elf.has_dwarf_info():
            return None
        by_address: dict[int, Signature | None] = {}
        by_name: dict[str, Signature | None] = {}
        for unit in elf.get_dwarf_info().iter_CUs():
            for die in _children(unit.get_top_DIE()):
                if die.tag != "DW_TAG_subprogram" or "DW_AT_declaration" in die.attributes:
                    continue
                found = _of(die)
                low = die.attributes.get("DW_AT_low_pc")
                if low is not None:
                    by_address[int(low.value)] = found
                named = die.attributes.get("DW_AT_name")
                if named is not None:
                    by_name.setdefault(bytes(named.value).decode("utf-8", "replace"), found)
        return by_address, by_name


def _bounded(elf: Any) -> bool:
    """Whether the sections pyelftools reads for DWARF are safe to read (docstring)."""
    total = 0
    for section in elf.iter_sections():
        name = section.name
        if name.startswith(".zdebug"):
            return False
        if not (name.startswith((".debug", ".gnu_debugaltlink")) or name == ".eh_frame"):
            continue
        if section["sh_type"] == "SHT_NOBITS":
            return False  # pyelftools would give sh_size zero bytes
        # pyelftools allocates sh_size bytes before reading (a compressed section's too),
        # and inflates to data_size (ch_size) bytes
        total += max(section["sh_size"], section.data_size)
        if total > MAX_DEBUG_TOTAL:
            return False
    return True


def _children(die: Any) -> Any:
    """``die``'s children, each after the one before in the section (as siblings are)."""
    last = die.offset
    for child in die.iter_children():
        if child.offset <= last:
            raise ValueError(f"DWARF sibling link at {child.offset:#x} goes backwards")
        last = child.offset
        yield child


def _of(die: Any) -> Signature:
    parameters, why, names = _parameters(die)
    if "DW_AT_type" not in die.attributes:
        return Signature(parameters, None, why, names)  # void
    returns = _kind(die)
    if returns is None and _aggregate(die) and parameters is not None:
        # returned in memory, its address takes rdi and moves every parameter a register
        # on; in rax:rdx or xmm0, it does not: which needs the aggregate classification
        return Signature(None, None, "it returns a struct or union by value (its return "
                         "address may take %di)")
    return Signature(parameters, returns, why, names)


def _parameters(die: Any) -> tuple[tuple[str, ...] | None, str, tuple[str, ...]]:
    """(types, why they are None, names): see the module docstring."""
    parameters = []
    names = []
    for child in _children(die):
        if child.tag == "DW_TAG_unspecified_parameters":
            return None, "", ()  # varargs: the count is the caller's
        if child.tag != "DW_TAG_formal_parameter":
            continue
        named = child.attributes.get("DW_AT_name")
        name = bytes(named.value).decode("utf-8", "replace") if named is not None else "?"
        kind = _kind(child)
        if kind is None:
            what = ("a struct, union or array by value" if _aggregate(child)
                    else "not an integer, pointer or floating point")
            return None, f"parameter {name} is {what}", ()
        parameters.append(kind)
        names.append(name)
    floats = sum(1 for kind in parameters if kind == "float")
    if len(parameters) - floats > REGISTER_ARGUMENTS or floats > FLOAT_ARGUMENTS:
        return None, "", ()  # the rest on the stack (a hostile DIE's thousands too)
    return tuple(parameters), "", tuple(names)


def _aggregate(die: Any) -> bool:
    """Whether the DIE's DW_AT_type is a struct, union, class or array."""
    if "DW_AT_type" not in die.attributes:
        return False
    target = _strip(die.get_DIE_from_attribute("DW_AT_type"))
    return target is not None and target.tag in (
        "DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type",
        "DW_TAG_array_type")


def _strip(die: Any) -> Any:
    for _ in range(MAX_TYPE_CHAIN):
        if die is None or die.tag not in _QUALIFIERS:
            return die
        if "DW_AT_type" not in die.attributes:
            return None  # const void
        die = die.get_DIE_from_attribute("DW_AT_type")
    return None  # a cycle (damaged DWARF) or an absurd chain: not a register type


def _kind(die: Any) -> str | None:
    """The probe type of the DIE's DW_AT_type (None: not known to be one register)."""
    if "DW_AT_type" not in die.attributes:
        return None
    target = _strip(die.get_DIE_from_attribute("DW_AT_type"))
    if target is None:
        return None
    if target.tag in ("DW_TAG_reference_type", "DW_TAG_rvalue_reference_type"):
        return "ptr"  # C++ passes a reference as its address
    if target.tag == "DW_TAG_pointer_type":
        pointee = (_strip(target.get_DIE_from_attribute("DW_AT_type"))
                   if "DW_AT_type" in target.attributes else None)
        if pointee is not None and pointee.tag == "DW_TAG_base_type" and _encoding(pointee) in (
                "signed_char", "unsigned_char") and _size(pointee) == 1:
            return "str"
        return "ptr"
    if target.tag == "DW_TAG_enumeration_type":
        # signed unless its underlying type (DWARF 3 on) says otherwise
        underlying = (_strip(target.get_DIE_from_attribute("DW_AT_type"))
                      if "DW_AT_type" in target.attributes else None)
        signed = underlying is None or _encoding(underlying) not in (
            "unsigned", "unsigned_char", "boolean")
        return _integer(_size(target), signed)
    if target.tag != "DW_TAG_base_type":
        return None  # struct, union, array by value
    encoding = _encoding(target)
    if encoding in ("signed", "signed_char"):
        return _integer(_size(target), True)
    if encoding in ("unsigned", "unsigned_char", "boolean"):
        return _integer(_size(target), False)
    if encoding in ("float", "complex_float", "imaginary_float", "decimal_float"):
        return "float"  # xmm registers (long double: the stack), never a general one
    return None


def _integer(size: int, signed: bool) -> str | None:
    """The probe type of an integer of ``size`` bytes (None: not one register)."""
    for width in (1, 2, 4, 8):
        if 0 < size <= width:
            return ("i" if signed else "u") + str(width * 8)
    return None  # __int128 (two registers) or no size


def _encoding(die: Any) -> str:
    from elftools.dwarf.enums import ENUM_DW_ATE

    attribute = die.attributes.get("DW_AT_encoding")
    if attribute is None:
        return ""
    names = {value: key for key, value in ENUM_DW_ATE.items()}
    return str(names.get(attribute.value, "")).removeprefix("DW_ATE_")


def _size(die: Any) -> int:
    attribute = die.attributes.get("DW_AT_byte_size")
    return int(attribute.value) if attribute is not None else 0
