"""Function probes: parse ``-P`` specs, find modules and symbols, plan uprobe events.

A spec is ``[MODULE:]FUNCTION[:POINT][(TYPES)]`` (see ``parse_spec``). Resolution turns specs
into ``ResolvedProbe`` values against one process's view of the world: its executable and
the files it maps (``/proc/PID/maps``), plus — for a library the process has not mapped yet
(a spawned command before its loader ran, a later dlopen) — the libraries its program
loads (DT_NEEDED through RUNPATH/RPATH/``$ORIGIN``, ``needed_libraries``) and the library
directories, so a misspelt function is a one-line error before anything runs. A module
found nowhere is not an error: the spec stays ``pending`` until a file of that name is
mapped (exec, dlopen); the caller says at the end which never were. Files deleted since
the process mapped them are opened (and probed) through ``/proc/PID/exe`` or
``/proc/PID/map_files`` (``access``), and so are files replaced at their path
(another inode there now): the probe then lands on the inode the process maps, and two
files once at one path are two probes. Each resolved probe knows the file and offset of
its uprobe, the fetchargs that fetch its typed arguments (those the spec gives, else the
file's own DWARF's, else raw registers; i386 code's from their cdecl stack slots, else six
raw stack words) and how to decode the raw tracepoint data into a PROBE payload. Code of
machines other than x86-64 and i386 is refused. When the recording samples stacks, each
function probed at its return gets one entry probe that also fetches the return address
its uretprobe will replace, and that address's stack slot (``captures_return``; one of the
recorder's own, ``hidden``, if no entry probe was asked for): ``formats/SPEC.md``,
"Return addresses". FUNCTION may be an address (``0x1149``,
link-time, as nm shows it) for stripped files, and a C++ function's name as the binary
spells it or demangled, as ``nm -C`` shows it (``ns::f(int)``; ``ns::f`` when it names one
function, else one error listing the overloads; a glob matches both kinds of names): the
file's ``_Z`` names go through one ``c++filt`` run (``formats.demangle.demangle_all``),
only when the raw names do not answer (or for a glob).

Guarantees: every user mistake is a ``ProbeError`` (one line); resolution never touches
tracefs or perf. The number of probes is capped (``max_probes``).

Does not: define events (``_tracefs``), open perf events (``_perf``) or follow processes
(``_probe_source``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import itertools
import os
import re
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from formats import (
    PROBE_ARG_TYPE_NAMES,
    PROBE_STRING_TRUNCATED,
    RECORD_VERSION,
    ByteOrder,
    ProbeArgType,
    ProbeDef,
    ProbeDefFlag,
    ProbeSite,
    RecordKind,
    probe_strings,
)
from formats.demangle import last_group, without_parameters

from . import _procfs
from ._options import DEFAULT_MAX_PROBES
from .errors import KtrError

if TYPE_CHECKING:
    # pyelftools is imported when a probe is resolved, not by every ``ktr record``.
    from formats.elf import ElfImage, FunctionSymbol

ARGUMENT_REGISTERS = ("%di", "%si", "%dx", "%cx", "%r8", "%r9")
#: xmm0-xmm7: floating-point arguments passed in registers (typed ``float``, not fetched)
FLOAT_REGISTERS = 8
#: How many functions the line about floating-point values not fetched names
FLOAT_NOTE_NAMES = 4
#: The fetcharg of a value not fetched (``float``): tracefs's immediate 0
NOT_FETCHED = "\\0"
LIBRARY_DIRECTORIES = (
    "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib",
    "/usr/lib", "/usr/local/lib",
)
#: The kernel's uprobe string fetch (``ustring``) gives nothing for a string of 4096 bytes or
#: more (its MAX_STRING_SIZE, NUL included), and one event's data is at most a page. Each
#: ``str`` value is therefore also fetched as this many bytes (u64 words: the widest array
#: element; each costs a user copy per hit, ~0.3 us here), shown when ``ustring`` fails on a
#: long string.
STRING_HEAD_BYTES = 64
EVENT_DATA_MAX = 4096  # the kernel's per-event buffer for uprobe data (a page on x86_64)
_TYPES_BY_NAME = {name: kind for kind, name in PROBE_ARG_TYPE_NAMES.items()}
_POINT_RE = re.compile(r"^\+(0x[0-9a-fA-F]+|[0-9]+)$")
#: FUNCTION given as an address (no function name starts with a digit)
_ADDRESS_RE = re.compile(r"^(0x[0-9a-fA-F]+|[0-9]+)$")


class ProbeError(KtrError):
    """A probe spec cannot be placed: unknown module or function, bad type, too many..."""


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """One parsed ``-P`` argument."""

    text: str
    module: str | None  # None: the main executable
    function: str  # a name or a shell glob
    site: ProbeSite
    offset: int = 0  # OFFSET probes
    types: tuple[ProbeArgType, ...] | None = None  # None: the defaults
    #: ``MODULE:0xADDR``: a link-time address (as nm/objdump show it), not a name
    address: int | None = None
    #: the name with its last parenthesised group, when that group was taken as TYPES
    #: (``ns::f(float)``): a C++ function's demangled name, matched first
    cxx_name: str | None = None
    #: why the last group is not TYPES (an unknown type), when it was taken as a C++
    #: function's parameters: said if no function has that name
    type_note: str | None = None

    @property
    def is_glob(self) -> bool:
        return self.address is None and any(ch in self.function for ch in "*?[")

    @property
    def arg_types(self) -> tuple[ProbeArgType, ...]:
        if self.types is not None:
            return self.types
        if self.site == ProbeSite.RETURN:
            return (ProbeArgType.U64,)
        return (ProbeArgType.U64,) * len(ARGUMENT_REGISTERS)


def _colon_parts(body: str) -> list[str]:
    """``body`` split at its single colons outside parentheses: a C++ name's ``::``
    (``ns::f``) and a parameter list's colons stay within their part."""
    parts: list[str] = []
    depth = 0
    start = 0
    for index, char in enumerate(body):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif (char == ":" and depth == 0 and body[index - 1 : index] != ":"
              and body[index + 1 : index + 2] != ":"):
            parts.append(body[start:index])
            start = index + 1
    parts.append(body[start:])
    return parts


def parse_spec(text: str) -> ProbeSpec:
    """Parse ``[MODULE:]FUNCTION[:POINT][(TYPES)]``; raises ``ProbeError``.

    FUNCTION may be a C++ function's demangled name (``ns::f(int)``, as ``nm -C`` and
    ktrdump show it): its ``::`` separate nothing, and a last parenthesised group that is
    not a list of TYPES (``(int)``) is its parameter list. A group of TYPES after a name
    (``ns::f(float)``) is both: the name with it is matched first (``cxx_name``).
    """
    body = text.strip()
    if body.count("(") != body.count(")"):
        which = "(" if body.count("(") > body.count(")") else ")"
        raise ProbeError(f"probe {text!r}: unbalanced {which!r}")
    types: tuple[ProbeArgType, ...] | None = None
    cxx_name: str | None = None
    type_note: str | None = None
    open_at = last_group(body)
    if body.endswith(")") and open_at is None:
        raise ProbeError(f"probe {text!r}: unbalanced ')'")
    if open_at is not None:
        inner = body[open_at + 1 : -1].strip()
        names = [part.strip() for part in inner.split(",")] if inner else []
        unknown = [name for name in names if name not in _TYPES_BY_NAME]
        if unknown:  # a C++ function's parameters, or a mistake (said if nothing matches)
            known = ", ".join(PROBE_ARG_TYPE_NAMES.values())
            if "::" not in _colon_parts(body[:open_at])[-1]:  # (ns::f(int): surely C++)
                type_note = f"unknown type {unknown[0]!r} (known: {known})"
        else:
            types = tuple(_TYPES_BY_NAME[name] for name in names)
            cxx_name = _colon_parts(body)[-1]
            body = body[:open_at]
    parts = _colon_parts(body)
    site = ProbeSite.ENTRY
    offset = 0
    if len(parts) > 1 and (parts[-1] in ("entry", "return") or parts[-1].startswith("+")):
        point = parts.pop()
        if point == "return":
            site = ProbeSite.RETURN
        elif point.startswith("+"):
            match = _POINT_RE.match(point)
            if match is None:
                raise ProbeError(f"probe {text!r}: bad offset {point!r} (+0x1c or +28)")
            site = ProbeSite.OFFSET
            offset = int(match.group(1), 0)
    if len(parts) == 1:
        module, function = None, parts[0]
    else:
        module, function = ":".join(parts[:-1]), parts[-1]
    if site == ProbeSite.OFFSET and module is None and "/" in function:
        # ./prog:+0x1149 — a file where the function belongs
        raise ProbeError(f"probe {text!r}: +OFFSET is an offset into a function "
                         "(MODULE:FUNCTION:+OFFSET); an address is MODULE:0xADDRESS")
    if not function or (module is not None and not module):
        raise ProbeError(f"probe {text!r}: expected [MODULE:]FUNCTION[:POINT][(TYPES)]")
    address = None
    if _ADDRESS_RE.match(function):
        if site == ProbeSite.OFFSET:
            raise ProbeError(f"probe {text!r}: an address takes no +OFFSET (add it to the "
                             "address)")
        address = int(function, 0) if function.startswith("0x") else int(function)
    if types is not None:
        if site == ProbeSite.RETURN and len(types) > 1:
            raise ProbeError(f"probe {text!r}: a return probe has one type (the return value)")
        floats = sum(1 for kind in types if kind == ProbeArgType.FLOAT)
        if len(types) - floats > len(ARGUMENT_REGISTERS) or floats > FLOAT_REGISTERS:
            raise ProbeError(f"probe {text!r}: at most {len(ARGUMENT_REGISTERS)} integer or "
                             f"pointer and {FLOAT_REGISTERS} float arguments (those passed "
                             "in registers)")
    if cxx_name is not None and (site != ProbeSite.ENTRY or address is not None
                                 or cxx_name == function):
        cxx_name = None  # (the group followed a point, or names no function)
    if type_note is not None and address is not None:
        raise ProbeError(f"probe {text!r}: {type_note}")
    return ProbeSpec(text, module, function, site, offset, types, address, cxx_name,
                     type_note)


# -- modules ----------------------------------------------------------------------------------


def mapped_files(pid: int) -> list[str]:
    """Files mapped executable by ``pid`` (``/proc/PID/maps``), in address order, unique."""
    seen: dict[str, None] = {}
    for m in _procfs.mappings(pid):
        if m.path.startswith(b"/"):
            seen.setdefault(os.fsdecode(m.path))
    return list(seen)


def executable_of(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def module_matches(module: str, path: str) -> bool:
    """Whether a ``MODULE`` name or path names ``path``."""
    if "/" in module:
        try:
            return os.path.samefile(module, path)
        except OSError:
            return os.path.realpath(module) == os.path.realpath(path)
    base = os.path.basename(path)
    if base == module or base.startswith((module + ".", module + "-")):
        return True
    real = os.path.basename(os.path.realpath(path))
    return real == module or real.startswith((module + ".", module + "-"))


def _another_file(mapped: str, path: str) -> bool:
    """Whether ``path`` names a file other than ``mapped`` (a /proc link); a link that
    cannot be read says nothing (the path is used, as before links were looked at)."""
    try:
        link = os.stat(mapped)
    except OSError:
        return False
    try:
        here = os.stat(path)
    except OSError:
        return True
    return (link.st_dev, link.st_ino) != (here.st_dev, here.st_ino)


def stale_files(pid: int) -> dict[str, str]:
    """Files ``pid`` maps whose path no longer names them — gone (``(deleted)``) or
    another file there now (replaced by a bind mount, or a path of another mount
    namespace): each as a path that still opens the mapped inode (``/proc/PID/exe`` for
    the executable, ``/proc/PID/map_files/RANGE`` else). tracefs resolves such a link
    to that inode, so a probe defined through it lands in the code the process runs."""
    out: dict[str, str] = {}
    exe = executable_of(pid)
    if exe is not None:
        shown = exe.removesuffix(" (deleted)")
        if shown != exe or _another_file(f"/proc/{pid}/exe", shown):
            out[shown] = f"/proc/{pid}/exe"
    checked: dict[str, bool] = {}
    for m in _procfs.mappings(pid, executable_only=False):
        if not m.path.startswith(b"/"):
            continue
        path = os.fsdecode(m.path)
        link = _procfs.map_file(pid, m.start, m.end)
        if path in out:
            continue
        if not m.deleted:
            stale = checked.get(path)
            if stale is None:
                stale = checked[path] = _another_file(link, path)
            if not stale:
                continue
        out[path] = link
    return out


def script_interpreter(path: str, depth: int = 4) -> str | None:
    """The ELF file the kernel runs for ``path``: itself, or the ``#!`` interpreter (nested
    as binfmt_script allows); None when it is neither (or unreadable)."""
    for _ in range(depth + 1):
        try:
            with open(path, "rb") as handle:
                head = handle.read(256)
        except OSError:
            return None
        if head.startswith(b"\x7fELF"):
            return path
        if not head.startswith(b"#!"):
            return None
        words = head[2:].split(b"\n", 1)[0].split()
        if not words:
            return None
        path = os.fsdecode(words[0])
    return None


def _dynamic(path: str) -> tuple[list[str], list[str], list[str]]:
    """(DT_NEEDED, DT_RPATH, DT_RUNPATH) of an ELF file; empty lists when unreadable."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.dynamic import DynamicSection
    from elftools.elf.elffile import ELFFile

    needed: list[str] = []
    rpath: list[str] = []
    runpath: list[str] = []
    try:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            for section in elf.iter_sections():
                if not isinstance(section, DynamicSection):
                    continue
                for tag in section.iter_tags():
                    # pyelftools names each string tag's value after the tag
                    kind = tag.entry.d_tag
                    if kind == "DT_NEEDED":
                        needed.append(getattr(tag, "needed", ""))
                    elif kind == "DT_RPATH":
                        rpath.extend(str(getattr(tag, "rpath", "")).split(":"))
                    elif kind == "DT_RUNPATH":
                        runpath.extend(str(getattr(tag, "runpath", "")).split(":"))
                break
    except (OSError, ELFError, ValueError, AttributeError):
        return [], [], []
    return needed, rpath, runpath


def _expand(directory: str, origin: str) -> str:
    for token in ("${ORIGIN}", "$ORIGIN"):
        directory = directory.replace(token, origin)
    for token in ("${LIB}", "$LIB"):
        directory = directory.replace(token, "lib/x86_64-linux-gnu")
    return directory


def needed_libraries(exe: str, library_path: Sequence[str] = ()) -> list[str]:
    """The libraries ld.so loads for ``exe`` at start, breadth first, found as it finds
    them: a DT_NEEDED with a ``/`` as it is; else the DT_RPATH of the object and of those
    that loaded it (when it has no DT_RUNPATH), ``LD_LIBRARY_PATH``, its DT_RUNPATH, then
    the system directories; ``$ORIGIN`` is the object's directory. Best effort: unreadable
    files and missing names are skipped (ld.so reports those itself)."""
    origin_of_exe = os.path.dirname(os.path.realpath(exe))
    found: dict[str, None] = {}
    seen_names: set[str] = set()
    # (object path, its origin, the RPATHs inherited from its loaders)
    queue: list[tuple[str, str, list[str]]] = [(exe, origin_of_exe, [])]
    while queue:
        path, origin, inherited = queue.pop(0)
        needed, rpath, runpath = _dynamic(path)
        rpaths = [] if runpath else [_expand(d, origin) for d in rpath if d] + inherited
        runpaths = [_expand(d, origin) for d in runpath if d]
        for name in needed:
            if name in seen_names:
                continue
            seen_names.add(name)
            if "/" in name:
                candidates = [_expand(name, origin)]
            else:
                directories = [*rpaths, *library_path, *runpaths, *LIBRARY_DIRECTORIES]
                candidates = [os.path.join(d, name) for d in directories]
            for candidate in candidates:
                if os.path.isfile(candidate) and _is_elf(candidate):
                    if candidate not in found:
                        found[candidate] = None
                        queue.append((candidate, os.path.dirname(candidate), rpaths))
                    break
    return list(found)


def search_library(module: str) -> str | None:
    """A library file for a module name the process has not mapped (yet)."""
    if "/" in module:
        return module if os.path.isfile(module) else None
    directories = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    directories += LIBRARY_DIRECTORIES
    for directory in directories:
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            continue
        exact = [n for n in names if n == module]
        loose = [n for n in names if n.startswith((module + ".so", module + "-"))]
        for name in exact + loose:
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate) and _is_elf(candidate):
                return candidate  # (libc.so is a linker script: skipped)
    return None


LD_SO_CACHE = "/etc/ld.so.cache"


def module_exists(module: str, exe: str | None, command: Sequence[str] = ()) -> bool:
    """Whether a module name (no ``/``) names a file a traced process could map later: a
    library ld.so could load by name (the ld.so cache, ``LD_LIBRARY_PATH``, the program's
    RPATH/RUNPATH, the system library directories), a program on ``PATH`` (a wrapper may
    exec it) or a file a word of the command names (``sh -c 'exec ./prog'``, a plugin's
    path). False only when there is none anywhere: a mistyped name."""
    if "/" in module or search_library(module) is not None:
        return True
    for argument in command:
        for word in argument.split():
            if "/" in word and module_matches(module, word) and os.path.isfile(word):
                return True
    for directory in os.environ.get("PATH", "").split(":"):
        if directory and os.path.isfile(os.path.join(directory, module)):
            return True
    try:
        with open(LD_SO_CACHE, "rb") as handle:
            cache = handle.read()
    except OSError:
        cache = b""
    # the cache's string table holds every library's name and path, NUL-separated
    for raw in cache.split(b"\0"):
        if b".so" in raw and module_matches(module, os.fsdecode(raw)):
            return True
    if exe is not None:
        origin = os.path.dirname(os.path.realpath(exe))
        _, rpath, runpath = _dynamic(exe)
        for directory in rpath + runpath:
            directory = _expand(directory, origin) if directory else ""
            try:
                names = os.listdir(directory) if directory else []
            except OSError:
                continue
            if any(module_matches(module, name) for name in names):
                return True
    return False


def _is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


# -- resolution -------------------------------------------------------------------------------


#: What makes a probe one: its file (inode, or real path when it cannot be stat'ed),
#: offset, point, argument types, and whether it is the recorder's own (``hidden``).
ProbeKey = tuple[tuple[int, int] | str, int, ProbeSite, tuple[ProbeArgType, ...], bool]

#: The fetchargs an entry probe adds to capture the return address (``captures_return``):
#: the word at the stack pointer at the function's entry, and the stack pointer itself.
RETURN_ADDRESS_FIELDS = ("ra", "rs")


@dataclass(slots=True)
class ResolvedProbe:
    """One probe point: a function (or an offset into it) of one file, with typed arguments."""

    probe_id: int
    spec: ProbeSpec
    path: str  # the module file as the process maps it (or as found)
    image: ElfImage
    symbol: FunctionSymbol
    file_offset: int
    alias: str = ""  # the IFUNC symbol the user named, when ``symbol`` implements it
    string_cap: int = 256
    event_name: str = ""
    file: str = ""  # a path that opens ``path`` when that is gone (/proc/PID/exe...)
    #: argument (or return value) types from the file's DWARF when the spec gives none
    dwarf_types: tuple[ProbeArgType, ...] | None = None
    #: a return probe of a function its DWARF says returns nothing (PROBE_DEF VOID_RETURN)
    void_return: bool = False
    #: i386 code: the types, each argument fetched from its stack slot (``fetchargs``)
    stack_types: tuple[ProbeArgType, ...] | None = None
    #: (st_dev, st_ino) of the file probed: two files once at one path are two probes
    identity: tuple[int, int] | None = None
    #: an entry probe that also fetches the return address the function was called with
    #: and its stack slot (PROBE_DEF RETURN_ADDRESS): set for one entry probe of each
    #: function probed at its return (``Resolver``), whose uretprobe replaces that address
    captures_return: bool = False
    #: the recorder's own entry probe, placed only to capture the return address of a
    #: function probed at its return alone (PROBE_DEF HIDDEN: readers do not show it)
    hidden: bool = False
    decoder: Callable[[bytes], tuple[int, int, tuple[int, ...], bytes]] | None = field(
        default=None, repr=False)

    @property
    def site(self) -> ProbeSite:
        return self.spec.site

    @property
    def types(self) -> tuple[ProbeArgType, ...]:
        if self.stack_types is not None:
            return self.stack_types
        if self.spec.types is None and self.dwarf_types is not None:
            return self.dwarf_types
        return self.spec.arg_types

    @property
    def key(self) -> ProbeKey:
        where = self.identity if self.identity is not None else os.path.realpath(self.path)
        return (where, self.file_offset, self.site, self.types, self.hidden)

    @property
    def uprobe_path(self) -> str:
        """The path tracefs is given (the kernel follows a /proc link to a deleted file)."""
        return self.file or os.path.realpath(self.path)

    @property
    def label(self) -> str:
        """``MODULE:FUNCTION:POINT`` with the module's file name (the JSON ``probe`` key)."""
        return probe_label(os.path.basename(self.path), self.symbol.name, self.site,
                           self.spec.offset)

    def fetchargs(self) -> tuple[str, ...]:
        """tracefs fetch arguments: ``aN`` raw values, ``sN`` strings (``str`` types) and
        ``hN`` their first bytes (see ``head_words``). A ``float`` is in an xmm register
        (x86-64 System V), which fetchargs cannot read: it is the immediate 0 (``\\0``)
        and takes none of the integer argument registers, which go to the other
        arguments in order. An entry probe that ``captures_return`` adds ``ra``, the word
        at ``%sp`` (at the entry: the return address; the kernel runs every handler of a
        hit before a return probe's uretprobe replaces it) and ``rs``, ``%sp`` itself, as
        u32 for i386 code."""
        captured: tuple[str, ...] = ()
        if self.captures_return and self.site == ProbeSite.ENTRY:
            width = "u32" if self.stack_types is not None else "u64"
            ra, rs = RETURN_ADDRESS_FIELDS
            captured = (f"{ra}=+0(%sp):{width}", f"{rs}=%sp:{width}")
        return self._typed_fetchargs() + captured

    def _typed_fetchargs(self) -> tuple[str, ...]:
        words = head_words(self.string_cap)
        if self.site == ProbeSite.RETURN:
            if self.types and self.types[0] == ProbeArgType.FLOAT:
                return (f"ret={NOT_FETCHED}:u64",)  # in xmm0 (or st0)
            out = ["ret=$retval:u64"]
            if self.types and self.types[0] == ProbeArgType.STR:
                out.append("s0=+0($retval):ustring")
                if words:
                    out.append(f"h0=+0($retval):u64[{words}]")
            return tuple(out)
        if self.stack_types is not None:
            # i386 cdecl: at the entry %sp points at the return address, the arguments
            # follow in 4-byte slots (8 for 64-bit ones). Each is fetched as 8 bytes (the
            # decoders' one field size): 32-bit types keep the low half (ktrdump masks).
            out, at = [], 4
            for index, kind in enumerate(self.types):
                out.append(f"a{index}=+{at}(%sp):u64")
                at += 8 if kind in (ProbeArgType.I64, ProbeArgType.U64, ProbeArgType.X64) else 4
            return tuple(out)
        registers = iter(ARGUMENT_REGISTERS)
        held: list[str | None] = [None if kind == ProbeArgType.FLOAT else next(registers)
                                  for kind in self.types]
        raw = [f"a{index}={NOT_FETCHED if register is None else register}:u64"
               for index, register in enumerate(held)]
        strings = [f"s{index}=+0({held[index]}):ustring"
                   for index, kind in enumerate(self.types) if kind == ProbeArgType.STR]
        heads = [f"h{index}=+0({held[index]}):u64[{words}]"
                 for index, kind in enumerate(self.types) if kind == ProbeArgType.STR and words]
        return tuple(raw + strings + heads)

    def definition(self) -> ProbeDef:
        flags = ProbeDefFlag.NONE
        if self.alias:
            flags |= ProbeDefFlag.IFUNC_IMPLEMENTATION
        if self.image.debug_path:
            flags |= ProbeDefFlag.RESOLVED_FROM_DEBUG
        if self.captures_return and self.site == ProbeSite.ENTRY:
            flags |= ProbeDefFlag.RETURN_ADDRESS
        if self.hidden:
            flags |= ProbeDefFlag.HIDDEN
        if self.void_return and self.site == ProbeSite.RETURN:
            flags |= ProbeDefFlag.VOID_RETURN
        return ProbeDef(
            probe_id=self.probe_id,
            site=int(self.site),
            flags=int(flags),
            file_offset=self.file_offset,
            function_vaddr=self.symbol.vaddr,
            function_size=self.symbol.size,
            point_offset=self.spec.offset if self.site == ProbeSite.OFFSET else 0,
            string_cap=self.string_cap,
            types=bytes(int(t) for t in self.types),
            module=os.fsencode(self.path),
            build_id=(self.image.build_id or "").encode(),
            function=self.symbol.name.encode(),
            alias=self.alias.encode(),
        )


def cxx_functions(image: ElfImage) -> list[tuple[FunctionSymbol, str]]:
    """The C++ functions of ``image`` with their demangled names (one ``c++filt`` run;
    names it leaves as they are are left out)."""
    from formats.demangle import demangle_all

    mangled = [sym for sym in image.functions if sym.name.startswith("_Z")]
    if not mangled:
        return []
    shown = demangle_all([sym.name for sym in mangled])
    return [(sym, name) for sym, name in zip(mangled, shown, strict=True) if name != sym.name]


def demangled_matches(pattern: str, image: ElfImage,
                      exclude: Sequence[FunctionSymbol] = ()) -> list[FunctionSymbol]:
    """The C++ functions of ``image`` (but ``exclude``) whose demangled name matches
    ``pattern``: a glob, a whole name, or a name without its parameter list (every
    overload: ``--list-probes`` lists them; ``-P`` refuses several, ``Resolver``)."""
    taken = {(sym.name, sym.vaddr) for sym in exclude}
    glob = any(ch in pattern for ch in "*?[")
    found = []
    for sym, name in cxx_functions(image):
        if (sym.name, sym.vaddr) in taken:
            continue
        if (fnmatch.fnmatchcase(name, pattern) if glob
                else name == pattern or without_parameters(name) == pattern):
            found.append(sym)
    return found


def head_words(string_cap: int) -> int:
    """u64 words fetched as a string's first bytes (``STRING_HEAD_BYTES``, within the cap)."""
    return (min(string_cap, STRING_HEAD_BYTES) + 7) // 8


def probe_label(module_name: str, function: str, site: int, offset: int) -> str:
    if site == ProbeSite.RETURN:
        point = "return"
    elif site == ProbeSite.OFFSET:
        point = f"+{offset:#x}"
    else:
        point = "entry"
    return f"{module_name}:{function}:{point}"


#: Libraries whose programs unwind the stack through their callers' frames for
#: exceptions (``Resolver._note_unwinding``)
UNWINDING_RUNTIMES = ("libstdc++.", "libc++.", "libgcc_s.")


@dataclass
class Resolver:
    """Resolves specs for processes, numbering probes across the whole recording."""

    specs: Sequence[ProbeSpec]
    max_probes: int = DEFAULT_MAX_PROBES
    string_cap: int = 256
    warn: Callable[[str], None] = lambda message: None
    next_id: int = 1
    placed: dict[ProbeKey, ResolvedProbe] = field(default_factory=dict)
    total: int = 0
    #: display path -> a path that opens the file the process being resolved maps, where
    #: the path no longer does (``stale_files``; replaced for each process)
    access: dict[str, str] = field(default_factory=dict)
    #: a ``#!`` script command: the first program is its interpreter, so a main-executable
    #: spec it lacks waits for a later exec instead of failing
    defer_main: bool = False
    #: the command started (its words may name a program or plugin mapped later)
    command: Sequence[str] = ()
    #: specs nothing was placed for yet, with why (said once at the end if still so)
    pending: dict[str, str] = field(default_factory=dict)
    #: the recording samples stacks (``-F``): the return addresses return probes replace
    #: are captured at the entries (``_capture_returns``); without samples nothing needs them
    capture_returns: bool = False
    _needed: dict[str, list[str]] = field(default_factory=dict)
    _warned: set[object] = field(default_factory=set)
    #: floating-point values not fetched, said at ``resolve``'s end: (spec, function,
    #: parameter names or () for the return value)
    _floats: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    #: the file being resolved: (its path, its (st_dev, st_ino)), for ``_fail``'s dedup
    _file: tuple[str, tuple[int, int]] | None = None
    #: a file's C++ functions with their demangled names (``_demangled_names``)
    _cxx_names: dict[object, list[tuple[FunctionSymbol, str]]] = field(default_factory=dict)

    def modules_for(self, spec: ProbeSpec, exe: str | None, mapped: Sequence[str],
                    search: bool) -> list[str]:
        if spec.module is None:
            return [exe] if exe else []
        if "/" in spec.module:
            path = os.path.abspath(spec.module)
            if os.path.isfile(path):
                return [path]
            self._refuse_unknown_point(spec, exe)
            raise ProbeError(f"probe {spec.text!r}: no such module file {path!r}")
        for candidate in ([exe] if exe else []) + list(mapped):
            if module_matches(spec.module, candidate):
                return [candidate]
        if search and exe:
            # the libraries the program will load, as ld.so finds them (RUNPATH, $ORIGIN)
            needed = self._needed.get(exe)
            if needed is None:
                library_path = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":")
                                if d]
                needed = self._needed[exe] = needed_libraries(
                    self.access.get(exe, exe), library_path)
            for candidate in needed:
                if module_matches(spec.module, candidate):
                    return [candidate]
        if search:
            found = search_library(spec.module)
            if found is not None:
                return [found]
        return []

    def resolve(self, exe: str | None, mapped: Sequence[str], *, strict: bool,
                only_module: str | None = None) -> list[ResolvedProbe]:
        """New probes for a process with executable ``exe`` mapping ``mapped``.

        ``strict``: the first resolution of a recording — a spec that matches nothing is an
        error. Later (exec, dlopen) it is a warning, once. ``only_module``: resolve only the
        specs that name this newly mapped file. Probes already placed (same file, offset,
        point, types) are not returned again.
        """
        new: list[ResolvedProbe] = []
        for spec in self.specs:
            if only_module is not None and (
                    spec.module is None or not module_matches(spec.module, only_module)):
                continue
            modules = ([only_module] if only_module is not None
                       else self.modules_for(spec, exe, mapped, search=True))
            if not modules:
                if spec.module is not None and strict and not module_exists(
                        spec.module, self.access.get(exe, exe) if exe else None,
                        self.command):
                    self._refuse_unknown_point(spec, exe)
                    raise ProbeError(
                        f"probe {spec.text!r}: no file {spec.module!r} anywhere (not a "
                        "library of the ld.so cache, library path or RUNPATH, a program "
                        "on PATH or a file the command names; give a file loaded from "
                        "elsewhere by its path)")
                if spec.module is not None:
                    # not loaded yet (a dlopen, the program a wrapper execs): placed when
                    # a file of that name is mapped; said at the end if it never is
                    self.pending.setdefault(
                        spec.text, f"probe {spec.text!r}: module {spec.module!r} was never "
                        "mapped by a traced process; nothing was probed")
                continue
            defer = self.defer_main and spec.module is None
            for path in modules:
                found = list(self._resolve_in(spec, path, strict and not defer, quiet=defer))
                if not found and defer:
                    self.pending.setdefault(
                        spec.text, f"probe {spec.text!r}: no program the script ran has "
                        f"{'a function matching' if spec.is_glob else 'a function named'} "
                        f"{spec.function!r}; nothing was probed")
                if found:
                    self.pending.pop(spec.text, None)
                for probe in found:
                    if probe.key in self.placed:
                        continue
                    self.total += 1
                    if self.total > self.max_probes:
                        raise ProbeError(
                            f"more than {self.max_probes} probes ({spec.text!r} expands past "
                            "the cap; narrow the glob or raise --max-probes)")
                    probe.probe_id = self.next_id
                    probe.event_name = f"p{self.next_id}"
                    self.next_id += 1
                    self.placed[probe.key] = probe
                    new.append(probe)
        self._note_unwinding(exe, mapped, new)
        self._say_floats()
        if self.capture_returns:
            self._capture_returns(new)
        return new

    def _note_unwinding(self, exe: str | None, mapped: Sequence[str],
                        new: list[ResolvedProbe]) -> None:
        """Say once, when return probes are placed in a program with a runtime that
        unwinds (C++'s, Rust's: it loads libstdc++, libc++ or libgcc_s), that an
        exception unwinding through a probed call ends the program.

        A uretprobe replaces the call's return address with the kernel's trampoline
        until it returns; the unwinder finds no unwind entry for the trampoline, so a
        throw that passes through the call (a C++ exception, a Rust panic) ends in
        std::terminate (abort). Nothing ktr does at set-up can prevent it."""
        if exe is None or "unwinding" in self._warned:
            return
        if not any(probe.site == ProbeSite.RETURN and not probe.hidden for probe in new):
            return
        needed = self._needed.get(exe)
        if needed is None:
            library_path = [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
            needed = self._needed[exe] = needed_libraries(self.access.get(exe, exe),
                                                          library_path)
        if not any(os.path.basename(path).startswith(UNWINDING_RUNTIMES)
                   for path in [*needed, *mapped]):
            return
        self._warned.add("unwinding")
        self.warn("return probes: an exception (C++ throw, Rust panic) that unwinds through "
                  "a call of a function probed at its return aborts the program (C++'s "
                  "std::terminate): the kernel's uretprobe leaves its trampoline where the "
                  "unwinder looks for the return address; probe such functions at their entry "
                  "only")

    def _capture_returns(self, new: list[ResolvedProbe]) -> None:
        """Make the return address of each function newly probed at its return captured
        at its entry (SPEC.md, "Return addresses"): by one entry probe of the same
        uprobe not defined yet (in ``new``), else by an entry probe of the recorder's own
        (``hidden``, appended to ``new``), unless one placed before captures it already.

        A return probe's uretprobe replaces the return address on the stack with the
        kernel's trampoline until the function returns: a stack sample taken meanwhile
        unwinds to the trampoline and no further, unless the reader knows the address
        replaced. Hidden probes are not counted against ``max_probes``."""
        def site(probe: ResolvedProbe) -> tuple[object, int]:
            return probe.key[0], probe.file_offset

        pending = [probe for probe in new if probe.site == ProbeSite.RETURN]
        if not pending:
            return
        fresh = {id(probe) for probe in new}
        entries: dict[tuple[object, int], list[ResolvedProbe]] = {}
        for probe in self.placed.values():
            if probe.site == ProbeSite.ENTRY:
                entries.setdefault(site(probe), []).append(probe)
        for returning in pending:
            candidates = entries.get(site(returning), [])
            if any(probe.captures_return for probe in candidates):
                continue
            chosen = next((probe for probe in candidates if id(probe) in fresh), None)
            if chosen is None:
                spec = dataclasses.replace(returning.spec, site=ProbeSite.ENTRY, offset=0,
                                           types=())
                chosen = ResolvedProbe(
                    self.next_id, spec, returning.path, returning.image, returning.symbol,
                    returning.file_offset, returning.alias, self.string_cap,
                    event_name=f"p{self.next_id}", file=returning.file,
                    identity=returning.identity,
                    stack_types=None if returning.stack_types is None else (),
                    hidden=True)
                self.next_id += 1
                self.placed[chosen.key] = chosen
                new.append(chosen)
                entries.setdefault(site(chosen), []).append(chosen)
            chosen.captures_return = True

    def _refuse_unknown_point(self, spec: ProbeSpec, exe: str | None) -> None:
        """Raise "unknown point" for a module found nowhere whose last ``:`` part, taken
        as a FUNCTION, leaves a module that exists: ``libc:malloc:exit`` is a mistyped
        POINT, not a file named ``libc:malloc``."""
        assert spec.module is not None
        module, colon, function = spec.module.rpartition(":")
        point = spec.function
        if not colon or not module or not function or spec.site != ProbeSite.ENTRY:
            return
        if "/" in module:
            exists = os.path.isfile(module)
        else:
            exists = module_exists(module, self.access.get(exe, exe) if exe else None,
                                   self.command)
        if exists:
            raise ProbeError(f"probe {spec.text!r}: unknown point {point!r} (entry, return "
                             "or +OFFSET: MODULE:FUNCTION[:POINT])")

    def _fail(self, strict: bool, message: str, key: object = None) -> None:
        """Raise (``strict``) or warn once per ``key`` (default: the message itself)."""
        if strict:
            raise ProbeError(message)
        if key is None:
            key = message
            if self._file is not None:
                # one file reached by two paths (/lib and /usr/lib on merged-/usr systems:
                # the library directories, then /proc/PID/maps) is said once
                path, identity = self._file
                key = (identity, message.replace(path, "\0"))
        if key not in self._warned:
            self._warned.add(key)
            self.warn(message)

    def _float_note(self, spec: ProbeSpec, name: str, floating: tuple[str, ...]) -> None:
        """Keep, once per function and point of a file, that its floating-point values
        (``floating``: parameter names, or ``()`` for the return value) are not fetched:
        ``resolve`` says them together at its end (``_say_floats``)."""
        where = self._file[1] if self._file is not None else None
        key = ("float", where, name, spec.site)
        if key not in self._warned:
            self._warned.add(key)
            self._floats.append((spec.text, name, floating))

    def _say_floats(self) -> None:
        """One line for the floating-point values not fetched since the last: one probe's
        as it is (its parameters' names), several as their count and the first
        ``FLOAT_NOTE_NAMES`` (the trace's PDEF types mark every one)."""
        floats, self._floats = self._floats, []
        if len(floats) == 1:
            text, name, floating = floats[0]
            if not floating:
                self.warn(f"probe {text!r}: {name}'s floating-point return value is not "
                          "fetched (returned in xmm0 or st0, which uprobes cannot read): "
                          "shown as ?")
                return
            several = len(floating) > 1
            what = ("" if not any(item.endswith(" (struct)") for item in floating)
                    else " or struct")
            self.warn(f"probe {text!r}: {name}'s floating-point{what} parameter"
                      f"{'s' if several else ''} {', '.join(floating)} "
                      f"{'are' if several else 'is'} not fetched (passed in xmm registers or "
                      "on the stack, which uprobes do not read): shown as ?")
        elif floats:
            named = [f"{name}({', '.join(floating)})" if floating else f"{name}:return"
                     for _, name, floating in floats[:FLOAT_NOTE_NAMES]]
            more = len(floats) - len(named)
            what = ("" if not any(item.endswith(" (struct)") for _, _, floating in floats
                                  for item in floating) else " or struct")
            self.warn(f"{len(floats)} probes' floating-point{what} parameters or return "
                      "values are not fetched (passed in xmm registers or on the stack, "
                      f"which uprobes do not read): shown as ?: {', '.join(named)}"
                      f"{f' and {more} more' if more else ''} (the trace's PDEF types mark "
                      "each: float)")

    def _resolve_in(self, spec: ProbeSpec, path: str, strict: bool, *, quiet: bool = False
                    ) -> list[ResolvedProbe]:
        try:
            status = os.stat(self.access.get(path, path))
            self._file = (path, (status.st_dev, status.st_ino))
        except OSError:
            self._file = None
        try:
            return self._resolve_file(spec, path, strict, quiet=quiet)
        finally:
            self._file = None

    def _resolve_file(self, spec: ProbeSpec, path: str, strict: bool, *, quiet: bool
                      ) -> list[ResolvedProbe]:
        from formats.elf import ElfError, open_image

        if any(ch.isspace() for ch in path):
            # uprobe_events is split at white space: said here, before the output is
            # opened, as a mistyped function is (tracefs would refuse it mid-recording)
            self._fail(strict, f"probe {spec.text!r}: uprobes cannot name a path with white "
                       f"space: {path!r}")
            return []
        try:
            image = open_image(self.access.get(path, path))
        except ElfError as error:
            self._fail(strict, f"probe {spec.text!r}: {error}")
            return []
        for note in image.notes:  # a debug file passed over (CRC mismatch)
            self._fail(False, f"probe {spec.text!r}: {note}", key=note)
        if spec.address is not None:
            at = self._at_address(spec, path, image, strict)
            if at is None:
                return []
            probe = self._probe_at(spec, path, image, at, "", strict)
            return [probe] if probe is not None else []
        symbols = image.match(spec.function)
        if spec.is_glob or not symbols:
            # C++ functions by their demangled names too (as nm -C and ktrdump show them)
            matched = self._cxx_match(spec, path, image, symbols)
            if matched is None:  # (ambiguous: said)
                return []
            symbols = matched
        if spec.is_glob:
            # compiler-split cold paths (f.cold) are jumped into, never called
            symbols = [sym for sym in symbols if not sym.name.endswith(".cold")
                       and ".cold." not in sym.name]
        if not symbols:
            if quiet:
                return []
            what = "no function matches" if spec.is_glob else "no function named"
            stripped = "" if image.functions else (
                " (the file has no symbols: stripped? an address is MODULE:0xADDRESS)")
            if image.notes:  # said here too: a strict failure ends before any warning
                stripped += f" ({'; '.join(image.notes)})"
            note = f"{spec.type_note}; " if spec.type_note is not None else ""
            self._fail(strict, f"probe {spec.text!r}: {note}{what} {spec.function!r} in "
                       f"{path}{stripped}")
            return []
        self._refuse_past_cap(spec, path, image, symbols)
        seen: set[int] = set()
        out: list[ResolvedProbe] = []
        for symbol in symbols:
            if symbol.vaddr in seen:
                continue  # an alias of a function already taken
            seen.add(symbol.vaddr)
            targets: list[tuple[FunctionSymbol, str]] = [(symbol, "")]
            if symbol.ifunc:
                impls = image.ifunc_implementations(symbol)
                if not impls:
                    self._fail(False, f"probe {spec.text!r}: {symbol.name} in {path} is an "
                               "IFUNC whose implementations the symbols do not name; skipped")
                    continue
                targets = [(impl, symbol.name) for impl in impls if impl.vaddr not in seen]
                seen.update(impl.vaddr for impl, _ in targets)
            for target, alias in targets:
                probe = self._probe_at(spec, path, image, target, alias, strict)
                if probe is not None:
                    out.append(probe)
        if not out and strict:
            entry = [sym.name for sym in symbols
                     if spec.site == ProbeSite.RETURN and image.entry
                     and sym.vaddr == image.entry]
            why = (f" ({entry[0]} is its entry point, where a return probe would overwrite the "
                   "program's argc)") if entry else ""
            raise ProbeError(f"probe {spec.text!r}: nothing to probe in {path}{why}")
        return out

    def _cxx_match(self, spec: ProbeSpec, path: str, image: ElfImage,
                   raw: list[FunctionSymbol]) -> list[FunctionSymbol] | None:
        """``raw`` (the symbols ``spec`` names as the binary spells them) and the C++
        functions it names demangled (``c++filt``, as ``nm -C``): a glob's matches among
        the demangled names are added to ``raw``'s; a name matches a demangled name
        whole (``ns::f(int)``, with its TYPES first: ``ns::f(float)``), else without
        its parameter list (``ns::f``), where it must name one function: several
        (overloads) are one error, listing them (None returned)."""
        names = self._demangled_names(path, image)
        if not names:
            return raw
        if spec.is_glob:
            seen = {sym.vaddr for sym in raw}
            more = [sym for sym, name in names
                    if fnmatch.fnmatchcase(name, spec.function) and sym.vaddr not in seen]
            return raw + more
        for whole in (spec.cxx_name, spec.function):
            if whole is not None:
                found = [sym for sym, name in names if name == whole]
                if found:
                    return found
        if "(" in spec.function:
            return raw
        bare = [(sym, name) for sym, name in names
                if without_parameters(name) == spec.function]
        distinct = sorted({name for _, name in bare})
        if len(distinct) > 1:
            shown = ", ".join(distinct[:4]) + (f", \u2026 ({len(distinct)})"
                                               if len(distinct) > 4 else "")
            self._fail(True, f"probe {spec.text!r}: {spec.function!r} names "
                       f"{len(distinct)} functions in {path}: {shown} (give the "
                       f"parameters, as {spec.function + distinct[0][len(spec.function):]!r}"
                       ", or a glob)")
            return None
        return [sym for sym, _ in bare]

    def _demangled_names(self, path: str, image: ElfImage
                         ) -> list[tuple[FunctionSymbol, str]]:
        """The C++ functions of ``image`` with their demangled names (one ``c++filt`` run
        per file, kept for the recording)."""
        key: object = self._file[1] if self._file is not None else path
        found = self._cxx_names.get(key)
        if found is None:
            found = self._cxx_names[key] = cxx_functions(image)
        return found

    def _at_address(self, spec: ProbeSpec, path: str, image: ElfImage, strict: bool
                    ) -> FunctionSymbol | None:
        """The probe point of ``MODULE:0xADDR``: the function starting there, or a point
        named by the address (in a function: ``NAME+0xN``, checked to start an
        instruction; in a stripped file, checked from the start of the unwind entry
        (FDE) that covers it). Refused outside the file's executable PT_LOAD contents;
        taken as given, with a warning, where neither a symbol nor an FDE covers it."""
        from formats.elf import FunctionSymbol

        address = spec.address
        assert address is not None
        if not any(seg.executable and seg.vaddr <= address < seg.vaddr + seg.filesz
                   for seg in image.segments):
            self._fail(strict, f"probe {spec.text!r}: {address:#x} is not in an executable "
                       f"segment of {path}")
            return None
        found = image.symbolize(address)
        if found is None:
            # No symbol covers it (a stripped file): the compiler's unwind entry (FDE)
            # gives the start of its function, which the boundary check decodes from
            # (a uprobe inside an instruction corrupts the traced program).
            covering = _fde_range(self.access.get(path, path), address)
            if covering is None:
                self._fail(False, f"probe {spec.text!r}: no symbol or unwind entry (FDE) "
                           f"of {path} covers {address:#x}; taken as given, not checked "
                           "to start an instruction")
                return FunctionSymbol(f"{address:#x}", address, 0)
            start, end = covering
            into = address - start
            if into and not self._starts_instruction(
                    spec, strict, image, FunctionSymbol(f"{start:#x}", start, end - start),
                    into, f"{address:#x} (the function whose unwind entry starts at "
                          f"{start:#x}, +{into:#x})"):
                return None
            return FunctionSymbol(f"{address:#x}", address, 0)
        symbol, into = found
        if into == 0:
            return symbol
        if not self._starts_instruction(spec, strict, image, symbol, into,
                                        f"{address:#x} ({symbol.name}+{into:#x})"):
            return None
        return FunctionSymbol(f"{symbol.name}+{into:#x}", address, 0, False, symbol.binding)

    def _starts_instruction(self, spec: ProbeSpec, strict: bool, image: ElfImage,
                            function: FunctionSymbol, into: int, where: str) -> bool:
        """Whether ``into`` bytes into ``function`` starts an instruction (a uprobe inside
        one corrupts the traced program); said (``_fail``) when not, or not known."""
        boundary = image.is_instruction_boundary(function, into)
        if boundary is True:
            return True
        why = ("is inside an instruction" if boundary is False
               else "cannot be checked to start an instruction")
        self._fail(strict, f"probe {spec.text!r}: {where} {why}")
        return False

    def _refuse_past_cap(self, spec: ProbeSpec, path: str, image: ElfImage,
                         symbols: list[FunctionSymbol]) -> None:
        """Refuse a glob past ``max_probes`` as soon as its matches are known, before
        any probe is worked out (a libc-wide glob has thousands).

        Counted: the distinct addresses of non-IFUNC matches in the file's contents
        (each is one probe; an IFUNC adds its implementations), less the probes already
        placed in this file (one of them may be among these): a count never above the
        one ``resolve`` reaches, so nothing it would accept is refused here."""
        if spec.site == ProbeSite.OFFSET:
            return  # an offset past a function's end places nothing: no lower bound
        addresses = {sym.vaddr for sym in symbols
                     if not sym.ifunc and image.vaddr_to_offset(sym.vaddr) is not None}
        try:
            status = os.stat(self.access.get(path, path))
            here = sum(1 for probe in self.placed.values()
                       if probe.identity in (None, (status.st_dev, status.st_ino)))
        except OSError:
            here = len(self.placed)
        if self.total + len(addresses) - here > self.max_probes:
            raise ProbeError(
                f"more than {self.max_probes} probes ({spec.text!r} matches "
                f"{len(addresses)} functions in {os.path.basename(path)}; narrow the glob "
                "or raise --max-probes)")

    def _probe_at(self, spec: ProbeSpec, path: str, image: ElfImage, symbol: FunctionSymbol,
                  alias: str, strict: bool) -> ResolvedProbe | None:
        vaddr = symbol.vaddr
        if spec.site == ProbeSite.RETURN and image.entry and vaddr == image.entry:
            # The kernel starts a program (or ld.so) at its ELF entry with argc at the
            # top of the stack, where a called function has its return address: a
            # uretprobe there overwrites argc with its trampoline's address (main saw
            # argc=-8192). A glob passes it over, saying so.
            self._fail(strict and not spec.is_glob,
                       f"probe {spec.text!r}: {symbol.name} is the entry point of {path}, "
                       "which is not called and never returns: a return probe there would "
                       "overwrite the program's argc; "
                       + ("skipped" if spec.is_glob else "probe its entry instead"))
            return None
        if spec.site == ProbeSite.OFFSET:
            if symbol.size and spec.offset >= symbol.size:
                self._fail(strict, f"probe {spec.text!r}: offset {spec.offset:#x} is past the "
                           f"end of {symbol.name} ({symbol.size:#x} bytes)")
                return None
            boundary = image.is_instruction_boundary(symbol, spec.offset)
            if boundary is not True:
                why = ("is inside an instruction" if boundary is False
                       else "cannot be checked to start an instruction")
                self._fail(strict, f"probe {spec.text!r}: offset {spec.offset:#x} into "
                           f"{symbol.name} {why}")
                return None
            vaddr += spec.offset
        file_offset = image.vaddr_to_offset(vaddr)
        if file_offset is None:
            self._fail(strict, f"probe {spec.text!r}: {symbol.name} at {vaddr:#x} is not in "
                       f"a loadable segment of {path}")
            return None
        opened = self.access.get(path, path)
        default_types: tuple[ProbeArgType, ...] | None = None
        override: tuple[ProbeArgType, ...] | None = None
        void_return = False
        if image.machine == "EM_X86_64":  # x86-64, and x32 (ELF32): arguments in registers
            if image.elfclass == 64:
                default_types, note, floating = _dwarf_types(spec, opened, symbol)
                void_return = _returns_void(spec, opened, symbol)
                if note:
                    self._fail(False, f"probe {spec.text!r}: {note}")
                if floating is not None:
                    self._float_note(spec, symbol.name, floating)
        else:
            override = self._i386_types(spec, path, image, strict)
            if override is None:
                return None
        try:
            status = os.stat(opened)
            identity: tuple[int, int] | None = (status.st_dev, status.st_ino)
        except OSError:
            identity = None
        return ResolvedProbe(0, spec, path, image, symbol, file_offset, alias, self.string_cap,
                             file=self.access.get(path, ""), identity=identity,
                             dwarf_types=default_types, stack_types=override,
                             void_return=void_return)

    def _i386_types(self, spec: ProbeSpec, path: str, image: ElfImage, strict: bool
                    ) -> tuple[ProbeArgType, ...] | None:
        """The types of a probe of i386 code, whose cdecl passes arguments on the stack
        (fetched from ``%sp``: ``ResolvedProbe.fetchargs``), or None: refused (said).

        ``ptr`` is ``x32`` there; ``str`` is refused (the kernel reads a pointer on the
        stack as 8 bytes before dereferencing it), so is a 64-bit return value (in
        %edx:%eax; the probe reads %eax) and are arguments at an offset into a function
        (the stack pointer has moved). Untyped: six 32-bit stack words, the return value
        as u32 (DWARF is not read for i386). Code of other machines is refused."""
        what = _not_x86_64(path, image)
        if image.machine != "EM_386":
            self._fail(strict, f"probe {spec.text!r}: {what}: ktr probes x86-64 and i386 "
                       "code only")
            return None
        T = ProbeArgType
        why = ""
        if spec.types and T.FLOAT in spec.types:
            why = ("float is for x86-64's xmm registers; on the stack give its words "
                   "(u64 for a double, u32 for a float)")
        elif spec.types and T.STR in spec.types:
            why = ("a string cannot be fetched there (the kernel reads the pointer on the "
                   "stack as 8 bytes): give ptr")
        elif spec.site == ProbeSite.RETURN and spec.types and spec.types[0] in (
                T.I64, T.U64, T.X64):
            why = ("a 64-bit return value is in %edx:%eax and the probe reads %eax: give "
                   "i32, u32, x32 or ptr")
        elif spec.site == ProbeSite.OFFSET and spec.types:
            why = ("its arguments are on the stack, which has moved at an offset into the "
                   "function: probe its entry for them")
        if why:
            self._fail(strict, f"probe {spec.text!r}: {what}: {why}")
            return None
        if spec.site == ProbeSite.OFFSET:
            self._fail(False, f"probe {spec.text!r}: {what}: its arguments are on the stack, "
                       "which has moved at an offset into the function: its hits carry none")
            return ()
        if spec.types is None:
            return (T.U32,) if spec.site == ProbeSite.RETURN else (T.U32,) * len(
                ARGUMENT_REGISTERS)
        return tuple(T.X32 if kind == T.PTR else kind for kind in spec.types)


def _not_x86_64(path: str, image: ElfImage) -> str:
    """``PATH is a 32-bit program (ELF32, EM_386)``, for refusals and notes."""
    bits = "32-bit" if image.elfclass == 32 else "non-x86-64"
    kind = "library" if ".so" in os.path.basename(path) else "program"
    return f"{path} is a {bits} {kind} (ELF{image.elfclass}, {image.machine})"


def _fde_range(path: str, address: int) -> tuple[int, int] | None:
    """(start, end) of the unwind entry (FDE, ``.eh_frame`` or ``.debug_frame``) of
    ``path`` covering link-time ``address``, or None (none, or the file unreadable)."""
    from elftools.elf.elffile import ELFFile

    from formats.cfi import CfiTable

    try:
        with open(path, "rb") as handle:
            return CfiTable(ELFFile(handle)).function_range(address)
    except Exception:  # an unreadable or damaged file: no FDE known
        return None


def _dwarf_types(spec: ProbeSpec, path: str, symbol: FunctionSymbol
                 ) -> tuple[tuple[ProbeArgType, ...] | None, str, tuple[str, ...] | None]:
    """Types from the file's DWARF for an untyped entry or return probe of a function
    (as perf probe and uftrace take them), or None: keep the defaults; a note to say why
    the DWARF types are not used, or ""; and the floating-point values not fetched: the
    parameters' names, ``()`` for the return value, or None (none)."""
    if spec.types is not None or spec.address is not None or spec.site == ProbeSite.OFFSET:
        return None, "", None
    from formats.dwarf_args import signature

    found = signature(path, symbol.name, symbol.vaddr)
    if found is None:
        return None, "", None
    name = symbol.name
    if spec.site == ProbeSite.RETURN:
        if found.returns is None:
            return None, "", None
        return (_TYPES_BY_NAME[found.returns],), "", () if found.returns == "float" else None
    if found.parameters is None:
        note = (f"{name}'s DWARF types are not used ({found.why}): six raw registers, "
                "not all of them its arguments" if found.why else "")
        return None, note, None
    floats = tuple(dict.fromkeys(  # a struct's parts: its name once
        found.names[index] for index, kind in enumerate(found.parameters) if kind == "float"))
    # a struct or union not fetched (in xmm registers, or on the stack): "s (struct)"
    floats = tuple(f"{item} (struct)" if item in found.aggregates else item
                   for item in floats)
    return (tuple(_TYPES_BY_NAME[kind] for kind in found.parameters), "",
            floats if floats else None)


def _returns_void(spec: ProbeSpec, path: str, symbol: FunctionSymbol) -> bool:
    """Whether an untyped return probe's function returns nothing, as its DWARF says
    (as uftrace shows it: no return value; ltrace's ``<void>``)."""
    if spec.site != ProbeSite.RETURN or spec.types is not None or spec.address is not None:
        return False
    from formats.dwarf_args import signature

    found = signature(path, symbol.name, symbol.vaddr)
    return found is not None and found.void


# -- decoding raw tracepoint data -------------------------------------------------------------


def make_decoder(probe: ResolvedProbe, fields: dict[str, tuple[int, int, bool]],
                 order: ByteOrder = "little",
                 ) -> Callable[[bytes], tuple[int, int, tuple[int, ...], bytes]]:
    """A function from the raw sample data to ``(pc, value, args, strings)``.

    ``fields`` maps each field name of the event's ``format`` to (offset, size, data_loc);
    ``strings`` is PROBE's field in the trace's byte order ``order``.
    """
    cap = probe.string_cap
    word = probe_strings.word_layout(order).pack
    head_size = head_words(cap) * 8
    # where the event's own data starts (after the common and probe-ip fields): the kernel
    # fits the fixed fields and every string into EVENT_DATA_MAX bytes from there
    data_start = max(offset + size for name, (offset, size, _) in fields.items()
                     if name.startswith(("common_", "__probe_")))
    budget_end = data_start + EVENT_DATA_MAX
    if probe.site == ProbeSite.RETURN:
        pc_at = fields["__probe_ret_ip"][0]
        ret_at = fields["ret"][0]
        string_at = fields["s0"][0] if "s0" in fields else None
        head_at = fields["h0"][0] if "h0" in fields else -1
        fixed = struct.Struct(f"<{pc_at}xQ")
        ret = struct.Struct(f"<{ret_at}xQ")

        def decode_return(raw: bytes) -> tuple[int, int, tuple[int, ...], bytes]:
            (pc,) = fixed.unpack_from(raw)
            (value,) = ret.unpack_from(raw)
            strings = b"" if string_at is None else _strings(
                raw, ((string_at, head_at),), head_size, cap, budget_end, word)
            return pc, value, (), strings

        return decode_return
    count = len(probe.types)
    ip_at = fields["__probe_ip"][0]
    layout = struct.Struct(f"<{ip_at}xQ")
    # each argument at its own offset in the event's format (never assume adjacency),
    # then the captured return address and its slot (u32 for i386 code)
    wanted = [fields[f"a{i}"] for i in range(count)]
    if probe.captures_return:
        wanted += [fields[name] for name in RETURN_ADDRESS_FIELDS]
        count += len(RETURN_ADDRESS_FIELDS)
    args_layout = _at_offsets([offset for offset, _, _ in wanted],
                              [size for _, size, _ in wanted])
    string_fields = tuple(
        (fields[f"s{i}"][0], fields[f"h{i}"][0] if f"h{i}" in fields else -1)
        for i, kind in enumerate(probe.types) if kind == ProbeArgType.STR)

    def decode_entry(raw: bytes) -> tuple[int, int, tuple[int, ...], bytes]:
        (pc,) = layout.unpack_from(raw)
        args = args_layout.unpack_from(raw) if count else ()
        strings = (_strings(raw, string_fields, head_size, cap, budget_end, word)
                   if string_fields else b"")
        return pc, 0, args, strings

    return decode_entry


_U32 = struct.Struct("<I")


class _AtOffsets:
    """Unpacks unsigned values at given offsets (u64, or u32 where ``sizes`` says 4), in
    the order given."""

    def __init__(self, offsets: list[int], sizes: list[int] | None = None) -> None:
        codes = ["I" if size == 4 else "Q" for size in (sizes or [8] * len(offsets))]
        self._structs = [struct.Struct(f"<{offset}x{code}")
                         for offset, code in zip(offsets, codes, strict=True)]
        order = sorted(range(len(offsets)), key=offsets.__getitem__)
        ascending = [offsets[i] for i in order]
        self._single: struct.Struct | None = None
        if order == list(range(len(offsets))) and set(codes) <= {"Q"} and all(
                b - a == 8 for a, b in itertools.pairwise(ascending)):
            self._single = struct.Struct(f"<{offsets[0] if offsets else 0}x{len(offsets)}Q")

    def unpack_from(self, raw: bytes) -> tuple[int, ...]:
        if self._single is not None:
            return self._single.unpack_from(raw)
        return tuple(one.unpack_from(raw)[0] for one in self._structs)


def _at_offsets(offsets: list[int], sizes: list[int] | None = None) -> _AtOffsets:
    return _AtOffsets(offsets, sizes)


_FAULT_ENTRY = probe_strings.FAULT_ENTRY


def _strings(raw: bytes, positions: tuple[tuple[int, int], ...], head_size: int, cap: int,
             budget_end: int, word: Callable[[int], bytes]) -> bytes:
    """PROBE string entries from each (``sN`` data_loc, ``hN`` head) pair of the raw event.

    The entries are ``formats.probe_strings``' (SPEC.md, "PROBE strings"): ``word`` packs
    the length word (``probe_strings.word_layout``, generated from the schema), built
    here in line, not through ``probe_strings.encode``, as this runs per probe hit
    (``tests/test_probe_strings.py`` proves the bytes equal the schema's).

    The kernel's ``ustring`` gives the whole string (NUL included) when it is shorter than
    4096 bytes and fits the event; a string reaching ``budget_end`` was cut by the kernel
    (it NUL-terminates what fitted), and the strings after it got no room (length 0).
    When ``ustring`` gave nothing, the head words tell: no NUL in them, a string too long
    for the kernel (its first bytes, truncated); a NUL after a string that used up the
    room, a short string (complete); otherwise unreadable (copy_from_user zero-fills what
    it cannot read: a NULL or bad pointer reads as NUL at once).
    """
    parts = []
    exhausted = False  # an earlier string took the rest of the event's room
    for position, head_at in positions:
        (loc,) = _U32.unpack_from(raw, position)
        offset, length = loc & 0xFFFF, loc >> 16
        if length and offset + length <= len(raw):
            data = raw[offset : offset + length]
            truncated = not data.endswith(b"\0")  # cut by the kernel's own limit
            if not truncated:
                data = data[:-1]
            if offset + length >= budget_end:
                truncated = exhausted = True  # cut where the event's room ended
        else:
            head = raw[head_at : head_at + head_size] if head_at >= 0 else b""
            nul = head.find(b"\0")
            if not head or nul == 0 or (nul > 0 and not exhausted):
                parts.append(_FAULT_ENTRY)  # the kernel could not read it
                continue
            data, truncated = (head, True) if nul < 0 else (head[:nul], False)
        if len(data) > cap:
            data = data[:cap]
            truncated = True
        parts.append(word(len(data) | (PROBE_STRING_TRUNCATED if truncated else 0)) + data)
    return b"".join(parts)


# -- the hot path: perf sample -> PROBE record bytes ------------------------------------------

#: Offsets in a PERF_RECORD_SAMPLE with PERF_SAMPLE_TID|TIME|RAW: the 8-byte header, then
#: pid, tid (i32 each), time (u64), the raw size (u32), the raw tracepoint data.
SAMPLE_PID_AT = 8
SAMPLE_TIME_AT = 16
SAMPLE_RAW_AT = 28


class FastEncoder:
    """Turns one probe's perf samples into PROBE records with two struct calls.

    Only for probes without ``str`` arguments (strings take ``make_decoder`` and the codec).
    The output layout is derived from the codec's (itself derived from the construct
    schema): the record header's format, PROBE's fixed run, ``argc`` u64s, then the name.
    ``tests/test_probe_fast_path.py`` proves the bytes equal the codec's.
    """

    __slots__ = ("_head", "_in", "_name", "_offset", "_out", "_probe_id", "_return", "_site",
                 "argc")

    def __init__(self, probe: ResolvedProbe, fields: dict[str, tuple[int, int, bool]],
                 name: bytes, codec: Any) -> None:
        site = probe.site
        self._return = site == ProbeSite.RETURN
        names: list[str]
        if self._return:
            names = ["__probe_ret_ip", "ret"]
            self.argc = 0
        else:
            names = ["__probe_ip"] + [f"a{i}" for i in range(len(probe.types))]
            if probe.captures_return:
                names += RETURN_ADDRESS_FIELDS
            self.argc = len(names) - 1
        wanted = [fields[name] for name in names]
        absolute = [SAMPLE_RAW_AT + offset for offset, _, _ in wanted]
        if absolute != sorted(absolute) or len(set(absolute)) != len(absolute):
            raise ValueError("unexpected field order in the event format")
        parts = ["<8xiiQ"]
        position = 24
        for offset, (_, size, _) in zip(absolute, wanted, strict=True):
            if size not in (4, 8):
                raise ValueError("unexpected field size in the event format")
            parts.append(f"{offset - position}x{'I' if size == 4 else 'Q'}")
            position = offset + size
        self._in = struct.Struct("".join(parts))
        header = codec.header.format
        fixed = codec.layouts[RecordKind.PROBE].fixed.format
        self._out = struct.Struct(f"{header}{fixed[1:]}{self.argc}Q")
        self._head = codec.header.size
        self._name = name
        self._probe_id = probe.probe_id
        self._site = int(site)
        self._offset = probe.spec.offset if site == ProbeSite.OFFSET else 0

    def unpack(self, data: bytes, at: int) -> tuple[int, ...]:
        """(pid, tid, perf time, pc, value or args...) of the sample at ``data[at:]``."""
        return self._in.unpack_from(data, at)

    def encode(self, values: tuple[int, ...], timestamp_ns: int, comm: bytes) -> bytes:
        pid, tid, _time, pc = values[:4]
        name = self._name
        payload_size = self._out.size - self._head + len(name)
        if self._return:
            return self._out.pack(payload_size, RecordKind.PROBE, RECORD_VERSION, pid, tid,
                                  timestamp_ns, comm, self._probe_id, self._site, 0, len(name),
                                  pc, 0, values[4], 0) + name
        return self._out.pack(payload_size, RecordKind.PROBE, RECORD_VERSION, pid, tid,
                              timestamp_ns, comm,
                              self._probe_id, self._site, self.argc, len(name), pc,
                              self._offset, 0, 0, *values[4:]) + name
