"""Function parameter and return types from DWARF, as probe argument types.

Pure: imports neither ``ktr`` nor ``ktrdump``; reads a file's own ``.debug_info`` with
pyelftools.

``signature(path, name, vaddr)`` gives a ``Signature`` ``(parameters, returns, why, names,
aggregates)`` of the function ``name`` (the DW_TAG_subprogram whose low_pc is ``vaddr``,
or else the one named so): parameter and return type names that are probe type names: ``i8
u8 i16 u16 i32 u32 i64 u64`` for integers, ``bool`` and enums by their DW_AT_byte_size and
signedness (the ABI leaves a register's bits above that width undefined: the reader keeps
the type's own bits), ``ptr`` for pointers (and C++ references), ``str`` for pointers to
(const) char, ``float`` for floating point (float, double, long double, _Complex: System V
passes them in xmm registers or on the stack, never in a general register, so they take
none of the six integer argument registers; uprobes cannot read xmm registers: not
fetched). A struct or union by value is placed by the System V classification of its
eightbytes (ABI 3.2.3, from its DWARF members: ``_classify``): at most 16 bytes, each
field at its alignment, no long double, it is an ``x64`` per INTEGER eightbyte (in the
next integer register: the fields' bytes as the register holds them; ``x32`` for one of at
most 4 bytes) and a ``float`` per SSE eightbyte (an xmm register: not fetched), in order,
when the registers left hold all of them; else (larger, packed, or not fitting) it is on
the stack: one ``float`` (not fetched), taking no register. ``names`` are the parameters'
names (``?`` when unnamed; a struct's name for each of its parts), ``aggregates`` those of
the structs and unions by value. It answers None when the file has no DWARF of its own or
the function is not described. The parameters are None (the caller keeps its defaults: six
raw registers) when more than six integer registers or eight xmm registers would be needed
(the rest are on the stack), they are variadic, or where a parameter is cannot be told: a
struct or union whose class the DWARF does not tell (a C++ class, without
DW_AT_calling_convention, with a constructor, destructor, virtual function or base class
of its own or of a member's type: it may be passed by reference; bit-fields in an unusual
form, members at a computed location; vector types), an integer wider than 8 bytes, or a
struct or union returned in memory (MEMORY class: its address takes %rdi and moves every
parameter a register on; one returned in rax:rdx or xmm0:xmm1 does not) — ``why`` then
says which, for the caller to say so. The return type is None for ``void``, an aggregate
or a wider integer, ``float`` for floating point (xmm0 or st0, not ``rax``); it does not
depend on the parameters. The registers are x86-64's (System V): a file of another class
or machine (ELF32 i386, whose cdecl passes every argument on the stack) answers None.

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

from .elf import open_regular

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
    #: each parameter's name (when ``parameters`` is not None; a struct's parts each
    #: have its name)
    names: tuple[str, ...] = ()
    #: the names of the structs and unions by value among ``names``
    aggregates: tuple[str, ...] = ()
    #: the function returns nothing (C ``void``: its own DIE has no DW_AT_type and
    #: takes none from a declaration or an abstract instance)
    void: bool = False


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

    with open_regular(path) as handle:
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
    parameters, why, names, aggregates = _parameters(die)
    if "DW_AT_type" not in die.attributes:
        # a definition of a declaration (C++ out-of-class members) or of an abstract
        # instance has its return type there, not here: not known to be void
        void = not any(name in die.attributes for name in (
            "DW_AT_specification", "DW_AT_abstract_origin"))
        return Signature(parameters, None, why, names, aggregates, void)
    returns = _kind(die)
    if returns is None and _aggregate(die) and parameters is not None:
        # returned in memory, its address takes rdi and moves every parameter a register
        # on; in rax:rdx or xmm0:xmm1 (16 bytes at most, not MEMORY class), it does not
        classes = _classify(_strip(die.get_DIE_from_attribute("DW_AT_type")))
        if isinstance(classes, str):
            return Signature(None, None, "it returns a struct or union by value (where "
                             f"cannot be told: {classes})")
        if not classes:
            return Signature(None, None, "it returns a struct or union in memory (its "
                             "address takes %di)")
    return Signature(parameters, returns, why, names, aggregates)


def _parameters(die: Any
                ) -> tuple[tuple[str, ...] | None, str, tuple[str, ...], tuple[str, ...]]:
    """(types, why they are None, names, the aggregates' names): see the module
    docstring."""
    parameters: list[str | Classes] = []
    names: list[str] = []
    for child in _children(die):
        if child.tag == "DW_TAG_unspecified_parameters":
            return None, "", (), ()  # varargs: the count is the caller's
        if child.tag != "DW_TAG_formal_parameter":
            continue
        named = child.attributes.get("DW_AT_name")
        name = bytes(named.value).decode("utf-8", "replace") if named is not None else "?"
        kind = _kind(child)
        if kind is not None:
            parameters.append(kind)
            names.append(name)
            continue
        if not _aggregate(child):
            return None, f"parameter {name} is not an integer, pointer or floating point", (), ()
        classes = _classify(_strip(child.get_DIE_from_attribute("DW_AT_type")))
        if isinstance(classes, str):
            return (None, f"parameter {name} is a struct or union by value ({classes})", (),
                    ())
        if len(parameters) > 2 * (REGISTER_ARGUMENTS + FLOAT_ARGUMENTS):
            return None, "", (), ()  # a hostile DIE's thousands
        parameters.append(classes)
        names.append(name)
    types, why, placed = _place(parameters, names)
    aggregates = tuple(name for kind, name in zip(parameters, names, strict=True)
                       if not isinstance(kind, str))
    return types, why, placed, aggregates if types is not None else ()


#: A struct or union by value (``_classify``): the probe type of each of its eightbytes
#: as its System V class places it (INTEGER: ``x64``, or ``x32`` for one of at most 4
#: bytes, whose register's upper bits the ABI leaves undefined; SSE: ``float``), or ()
#: for MEMORY (on the stack).
Classes = tuple[str, ...]
_INTEGER, _SSE = "INTEGER", "SSE"


def _place(parameters: list[str | Classes], names: list[str]
           ) -> tuple[tuple[str, ...] | None, str, tuple[str, ...]]:
    """The probe types in the System V register order: a struct or union by value
    in registers is one ``x64`` (``x32``) per INTEGER eightbyte (its bytes as the register
    holds them) and one ``float`` per SSE eightbyte (not fetched, takes no integer register),
    in order; when the registers left cannot hold all its eightbytes, or it is MEMORY
    class, it is on the stack: one ``float`` (not fetched), taking no register. None
    when more integer or floating-point parameters than registers (the rest are on the
    stack: where, needs their sizes and alignments)."""
    integers = sses = 0
    types: list[str] = []
    out_names: list[str] = []
    for kind, name in zip(parameters, names, strict=True):
        if isinstance(kind, str):
            if kind == "float":
                sses += 1
            else:
                integers += 1
            types.append(kind)
            out_names.append(name)
            continue
        need_int = sum(1 for part in kind if part != "float")
        need_sse = len(kind) - need_int
        if not kind or (integers + need_int > REGISTER_ARGUMENTS
                        or sses + need_sse > FLOAT_ARGUMENTS):
            types.append("float")  # on the stack: not fetched, no register
            out_names.append(name)
            continue
        integers += need_int
        sses += need_sse
        for part in kind:
            types.append(part)
            out_names.append(name)
    if integers > REGISTER_ARGUMENTS or sses > FLOAT_ARGUMENTS:
        return None, "", ()  # the rest on the stack
    return tuple(types), "", tuple(out_names)


_EIGHTBYTE = 8
_MAX_FIELDS = 4096  # a hostile DIE's members: classified no further


def _classify(die: Any) -> Classes | str:
    """The System V x86-64 classes (ABI 3.2.3) of a struct, union or array type's
    eightbytes: (), MEMORY (over 16 bytes, a field not at its alignment, long
    double); else one "INTEGER" or "SSE" per eightbyte. A text: why it cannot be
    told from the DWARF (C++ types that may be passed by reference, vector types,
    bit-fields in an unusual form, a size not given...)."""
    if die is None:
        return "no type"
    size = _size(die)
    if size <= 0:
        return "no size"
    # a C++ type with a non-trivial copy constructor or destructor is passed by
    # reference, whatever its size (its address in an integer register)
    convention = die.attributes.get("DW_AT_calling_convention")
    if convention is not None:
        if int(convention.value) != _DW_CC_PASS_BY_VALUE:
            return "passed by reference"
    elif not _is_c(die):
        why = _nontrivial(die, [_MAX_FIELDS], 0)
        if why is not None:
            return why
    if size > 2 * _EIGHTBYTE:
        return ()
    classes: list[str | None] = [None] * ((size + _EIGHTBYTE - 1) // _EIGHTBYTE)
    budget = [_MAX_FIELDS]
    why = _fields(die, 0, classes, budget, 0)
    if why is not None:
        return why if why != "MEMORY" else ()
    # an eightbyte of padding only has no class: nothing is passed for it (GCC gives it
    # no register)
    if any(part is None for part in classes):
        return "an eightbyte of padding"
    last = size - _EIGHTBYTE * (len(classes) - 1)  # the bytes of the last eightbyte
    return tuple("float" if part == _SSE else
                 "x32" if index == len(classes) - 1 and last <= 4 else "x64"
                 for index, part in enumerate(classes))


_DW_CC_PASS_BY_VALUE = 4
#: DW_LANG_C89, C, C99, C11, C17
_C_LANGUAGES = frozenset({0x1, 0x2, 0xC, 0x1D, 0x2C})


def _is_c(die: Any) -> bool:
    """Whether ``die``'s compilation unit is C (whose structs are always by value)."""
    language = die.cu.get_top_DIE().attributes.get("DW_AT_language")
    return language is not None and int(language.value) in _C_LANGUAGES


def _nontrivial(die: Any, budget: list[int], depth: int) -> str | None:
    """Why a type of a language other than C (C++) may be passed by reference, or None:
    it is trivially copied (no base class, no virtual function, no constructor or
    destructor of its own declared, nor in the types of its members)."""
    if depth > MAX_TYPE_CHAIN:
        return "nested too deep"
    die = _strip(die)
    while die is not None and die.tag == "DW_TAG_array_type":
        die = (_strip(die.get_DIE_from_attribute("DW_AT_type"))
               if "DW_AT_type" in die.attributes else None)
    if die is None or die.tag not in ("DW_TAG_structure_type", "DW_TAG_union_type",
                                      "DW_TAG_class_type"):
        return None  # a scalar
    budget[0] -= 1
    if budget[0] < 0:
        return "too many fields"
    convention = die.attributes.get("DW_AT_calling_convention")
    if convention is not None:
        return (None if int(convention.value) == _DW_CC_PASS_BY_VALUE
                else "passed by reference")
    named = die.attributes.get("DW_AT_name")
    own = bytes(named.value).decode("utf-8", "replace") if named is not None else ""
    own = own.split("<", 1)[0]  # a template's constructors are named without <...>
    for child in _children(die):
        if child.tag == "DW_TAG_inheritance":
            return "a derived C++ class, which may be passed by reference"
        if child.tag == "DW_TAG_subprogram":
            name_attribute = child.attributes.get("DW_AT_name")
            name = (bytes(name_attribute.value).decode("utf-8", "replace")
                    if name_attribute is not None else "")
            if "DW_AT_virtuality" in child.attributes or name.startswith("~") or (
                    own and name == own):
                return ("a C++ class with a constructor, destructor or virtual function, "
                        "which may be passed by reference")
        elif (child.tag == "DW_TAG_member" and "DW_AT_external" not in child.attributes
              and "DW_AT_type" in child.attributes):
            why = _nontrivial(child.get_DIE_from_attribute("DW_AT_type"), budget, depth + 1)
            if why is not None:
                return why
    return None


def _fields(die: Any, base: int, classes: list[str | None], budget: list[int],
            depth: int) -> str | None:
    """Merge the classes of ``die``'s scalars at byte ``base`` into ``classes``;
    "MEMORY", a reason it cannot be told, or None."""
    if depth > MAX_TYPE_CHAIN:
        return "nested too deep"
    die = _strip(die)
    if die is None:
        return "no type"
    budget[0] -= 1
    if budget[0] < 0:
        return "too many fields"
    tag = die.tag
    if tag in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_class_type"):
        if "DW_AT_declaration" in die.attributes:
            return "an incomplete type"
        for child in _children(die):
            if child.tag == "DW_TAG_inheritance":
                return "a derived class"
            if child.tag != "DW_TAG_member" or "DW_AT_external" in child.attributes:
                continue  # static members (DWARF 4: DW_AT_external) are not in the object
            if "DW_AT_type" not in child.attributes:
                return "a member without a type"
            if "DW_AT_bit_size" in child.attributes:
                # a bit-field: its bits are in the eightbyte they start in; an integer
                bits = child.attributes.get("DW_AT_data_bit_offset")
                if bits is not None:
                    offset = int(bits.value) // 8
                else:
                    location = child.attributes.get("DW_AT_data_member_location")
                    if location is None or not isinstance(location.value, int):
                        return "a bit-field in an unusual form"
                    offset = int(location.value)
                width = int(child.attributes["DW_AT_bit_size"].value)
                last = offset + max(0, (width + 7) // 8 - 1)
                if not 0 <= base + last < len(classes) * _EIGHTBYTE:
                    return "a bit-field outside the struct"
                for at in {(base + offset) // _EIGHTBYTE, (base + last) // _EIGHTBYTE}:
                    classes[at] = _merge(classes[at], _INTEGER)
                continue
            location = child.attributes.get("DW_AT_data_member_location")
            if location is None:
                offset = 0  # a union's members (and DWARF that leaves the 0 out)
            elif isinstance(location.value, int):
                offset = int(location.value)
            else:
                return "a member at a computed location"
            why = _fields(child.get_DIE_from_attribute("DW_AT_type"), base + offset,
                          classes, budget, depth + 1)
            if why is not None:
                return why
        return None
    if tag == "DW_TAG_array_type":
        if "DW_AT_type" not in die.attributes:
            return "an array without an element type"
        element = _strip(die.get_DIE_from_attribute("DW_AT_type"))
        step = _size(element) if element is not None else 0
        count = 1
        for child in _children(die):
            if child.tag != "DW_TAG_subrange_type":
                continue
            if "DW_AT_count" in child.attributes:
                count *= int(child.attributes["DW_AT_count"].value)
            elif "DW_AT_upper_bound" in child.attributes:
                count *= int(child.attributes["DW_AT_upper_bound"].value) + 1
            else:
                count = 0  # a flexible array member: no bytes passed
        if step <= 0:
            return "an array of elements without a size"
        if count * step > len(classes) * _EIGHTBYTE:
            return "an array larger than its struct"
        for index in range(count):
            why = _fields(element, base + index * step, classes, budget, depth + 1)
            if why is not None:
                return why
        return None
    if tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type",
               "DW_TAG_rvalue_reference_type", "DW_TAG_ptr_to_member_type"):
        return _scalar(base, 8, _INTEGER, classes)
    if tag == "DW_TAG_enumeration_type":
        return _scalar(base, _size(die), _INTEGER, classes)
    if tag != "DW_TAG_base_type":
        return "a member of an unknown kind"
    if "DW_AT_GNU_vector" in die.attributes:
        return "a vector type"
    encoding, size = _encoding(die), _size(die)
    if encoding in ("float", "complex_float"):
        if size > 16 or (encoding == "float" and size > 8):
            return "MEMORY"  # long double (X87), _Float128: memory in an aggregate
        if encoding == "complex_float":
            half = size // 2
            why = _scalar(base, half, _SSE, classes)
            return why if why is not None else _scalar(base + half, half, _SSE, classes)
        return _scalar(base, size, _SSE, classes)
    if encoding in ("signed", "signed_char", "unsigned", "unsigned_char", "boolean",
                    "UTF"):
        if size == 16:  # __int128: two INTEGER eightbytes, 16-aligned
            if base % 16:
                return "MEMORY"
            why = _scalar(base, 8, _INTEGER, classes)
            return why if why is not None else _scalar(base + 8, 8, _INTEGER, classes)
        return _scalar(base, size, _INTEGER, classes)
    return "a member of an unknown kind"


def _scalar(offset: int, size: int, kind: str, classes: list[str | None]) -> str | None:
    if size <= 0 or size > _EIGHTBYTE:
        return "a member without a size"
    if offset % size:
        return "MEMORY"  # not at its natural alignment (packed)
    at = offset // _EIGHTBYTE
    if not 0 <= at < len(classes) or (offset + size - 1) // _EIGHTBYTE != at:
        return "a member outside the struct"
    classes[at] = _merge(classes[at], kind)
    return None


def _merge(old: str | None, new: str) -> str:
    """ABI 3.2.3's merge of two classes (MEMORY and X87 are returned earlier)."""
    if old is None or old == new:
        return new
    return _INTEGER  # INTEGER with SSE


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
