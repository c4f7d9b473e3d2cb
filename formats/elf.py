"""ELF image facts for probes and symbolization: build-id, PT_LOAD segments, function symbols.

Pure: imports neither ``ktr`` nor ``ktrdump``; reads files with pyelftools.

Public surface::

    open_image(path) -> ElfImage          cached by file identity + build-id (never build-id alone)
    image = ElfImage(path)                 uncached
    image.build_id                         lowercase hex or None
    image.is_pie / image.elf_type          "EXEC" (fixed addresses) or "DYN" (PIE, shared object)
    image.segments                         tuple[LoadSegment] (PT_LOAD program headers)
    image.functions                        tuple[FunctionSymbol] sorted by address, deduplicated
    image.debug_path                       the separate debug file the symbols came from, or None
    image.vaddr_to_offset(vaddr)           file offset through PT_LOAD, or None
    image.offset_to_vaddr(offset)          link-time vaddr through PT_LOAD, or None
    image.symbolize(vaddr)                 (FunctionSymbol, offset into it) or None
    image.symbolize_offset(file_offset)    the same for a file offset (what /proc/PID/maps gives)
    image.lookup(name) / image.match(glob) functions by name
    image.read_code(vaddr, size)           bytes of the file at that vaddr ('' past filesz)
    image.facts() / ElfImage.from_facts()  layout and symbols as JSON-safe data (a disk cache)
    symbols_fingerprint(path)              size + SHA-256 of what the facts come from (its key)
    open_regular(path)                     a regular file opened for reading; anything else
                                           (a FIFO, a device) refused unopened (OSError)
    image.is_instruction_boundary(sym, n)  True / False / None (cannot tell)
    insn_length(code, pos) -> int | None   a minimal x86-64 instruction-length decoder

Symbols come from ``.symtab`` and ``.dynsym`` of the file and ``.symtab`` of its separate debug
file, found by build-id (``/usr/lib/debug/.build-id/xx/yyyy.debug``) or ``.gnu_debuglink``
(next to the file, in ``.debug/``, or under ``/usr/lib/debug``); one found by debuglink is
used only if its CRC32 is the debuglink's, one found by build-id only if it carries that
build-id (as gdb checks), else passed over with a line in ``image.notes``. In debug files
``.dynsym`` is SHT_NOBITS and is skipped. Function symbols are STT_FUNC and STT_GNU_IFUNC
(pyelftools names the latter ``STT_LOOS``); an IFUNC symbol's address is its resolver, so
``ifunc_implementations`` offers the implementations that the symbol table names
(``__NAME_variant``, or ``NAME_variant`` for a NAME that starts with ``__``).

Instruction boundaries: x86-64 has variable-length instructions and no disassembler is a run-time
dependency, so ``is_instruction_boundary`` decodes lengths linearly from the function's first
byte with a small decoder (legacy, REX, VEX, EVEX encodings; x87; the 0F, 0F38 and 0F3A maps).
It answers True only when the sweep lands exactly on the offset, False when an instruction
spans it, and None when it meets a byte it does not know (the caller refuses then). A linear
sweep is sound for compiler output on x86-64, which keeps jump tables out of ``.text``; data
embedded in a function before the offset would make it answer None or False, never a wrong True
at an unknown position — the sweep only accepts positions it reached by decoding.

Every file is opened with ``open_regular``: a path a trace names may be a FIFO or a device,
which is refused without being opened (no open that blocks, or acts).

Not guaranteed: DWARF is not read (no line numbers, no inlined functions); symbols of other
architectures are parsed but instruction boundaries are only checked for x86-64.
"""

from __future__ import annotations

import bisect
import errno
import fnmatch
import os
import re
import stat
import struct
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from struct import error as struct_error
from typing import Any, BinaryIO, NamedTuple

from elftools.common.exceptions import DWARFError, ELFError
from elftools.construct.core import ConstructError
from elftools.elf.elffile import ELFFile

__all__ = [
    "DEBUG_ROOT",
    "ElfError",
    "ElfImage",
    "Fingerprint",
    "FunctionSymbol",
    "LoadSegment",
    "build_id_of_image",
    "clear_cache",
    "insn_length",
    "open_image",
    "open_regular",
    "read_build_id",
    "symbols_fingerprint",
]

DEBUG_ROOT = "/usr/lib/debug"

_PF_X = 0x1

#: What reading a damaged file may raise, in pyelftools (its own errors and those of the
#: construct copy it bundles, and the builtins its parsers let escape on bad sizes) and in
#: the struct reader here; each becomes one ElfError.
_PARSE_ERRORS = (ELFError, DWARFError, ConstructError, ValueError, KeyError, IndexError,
                 TypeError, AttributeError, AssertionError, ArithmeticError, struct_error)
#: Symbol names decoded per file, in bytes of the file (see ``_function_symbols``).
_NAME_BUDGET_PER_BYTE = 16


class ElfError(Exception):
    """The file is missing, unreadable or not a valid ELF image. Keeps ``path`` and ``errno``."""

    def __init__(self, message: str, path: str, errno: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.errno = errno


@dataclass(frozen=True, slots=True)
class LoadSegment:
    """One PT_LOAD program header."""

    vaddr: int
    memsz: int
    offset: int
    filesz: int
    flags: int  # PF_X=1, PF_W=2, PF_R=4

    @property
    def executable(self) -> bool:
        return bool(self.flags & _PF_X)


@dataclass(frozen=True, slots=True)
class FunctionSymbol:
    """A function symbol at its link-time address."""

    name: str
    vaddr: int
    size: int
    ifunc: bool = False
    binding: str = "GLOBAL"  # GLOBAL, LOCAL or WEAK

    @property
    def end(self) -> int:
        return self.vaddr + self.size


class ElfImage:
    """The facts of one ELF file (read once, at construction; the file is closed afterwards)."""

    def __init__(self, path: str, *, debug_root: str = DEBUG_ROOT) -> None:
        self.path = path
        self.debug_path: str | None = None
        #: what the reader passed over, one line each (a debug file whose CRC mismatched)
        self.notes: tuple[str, ...] = ()
        try:
            with open_regular(path) as handle:
                st = os.fstat(handle.fileno())
                self.identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
                try:
                    elf = ELFFile(handle)
                    self.machine: str = elf["e_machine"]
                    self.elf_type: str = str(elf["e_type"]).removeprefix("ET_")
                    self.elfclass: int = elf.elfclass
                    self.little_endian: bool = elf.little_endian
                    #: e_entry: where the kernel starts the program (0: none)
                    self.entry: int = int(elf["e_entry"])
                    self.build_id = _build_id(elf)
                    self.segments = _load_segments(elf)
                    self._code = _executable_bytes(handle, self.segments)
                    wide = elf.elfclass == 64
                    sections = _sections(handle, wide, elf.little_endian)
                    debuglink = _debuglink(handle, sections, elf.little_endian)
                    symbols = list(_function_symbols(handle, sections, wide,
                                                     elf.little_endian))
                    has_symtab = any(sec.name == ".symtab" for sec in sections)
                except (*_PARSE_ERRORS, OSError) as error:
                    if isinstance(error, OSError) and error.errno is not None:
                        raise ElfError(error.strerror or str(error), path, error.errno) from None
                    raise ElfError(f"not a valid ELF file ({error})", path) from None
        except OSError as error:
            raise ElfError(error.strerror or str(error), path, error.errno) from None
        if not has_symtab:
            notes: list[str] = []
            name, crc = debuglink if debuglink is not None else (None, None)
            debug = _find_debug_file(path, self.build_id, name, debug_root, crc=crc,
                                     notes=notes)
            self.notes = tuple(notes)
            if debug is not None:
                try:
                    with open_regular(debug) as handle:
                        elf = ELFFile(handle)
                        wide = elf.elfclass == 64
                        symbols.extend(_function_symbols(
                            handle, _sections(handle, wide, elf.little_endian), wide,
                            elf.little_endian))
                    self.debug_path = debug
                except (*_PARSE_ERRORS, OSError):
                    pass  # a damaged debug file: the file's own symbols still serve
        self.functions = _dedup(symbols)
        self._starts = [sym.vaddr for sym in self.functions]
        self._by_name: dict[str, list[FunctionSymbol]] = {}
        for sym in self.functions:
            self._by_name.setdefault(sym.name, []).append(sym)

    # -- cache entries ------------------------------------------------------------------------

    def facts(self) -> dict[str, Any]:
        """What ``from_facts`` needs to rebuild this image's layout and symbols (JSON-safe).

        Code bytes are not kept: a rebuilt image answers ``read_code`` with b''.
        """
        return {
            "path": self.path, "debug_path": self.debug_path, "machine": self.machine,
            "elf_type": self.elf_type, "elfclass": self.elfclass,
            "little_endian": self.little_endian, "build_id": self.build_id,
            "entry": self.entry,
            "segments": [[seg.vaddr, seg.memsz, seg.offset, seg.filesz, seg.flags]
                         for seg in self.segments],
            "functions": [[sym.name, sym.vaddr, sym.size, sym.ifunc, sym.binding]
                          for sym in self.functions],
        }

    @classmethod
    def from_facts(cls, facts: dict[str, Any]) -> ElfImage:
        """An image from ``facts()`` output (a symbol cache entry); raises ValueError if bad."""
        try:
            image = cls.__new__(cls)
            image.path = str(facts["path"])
            image.debug_path = facts["debug_path"]
            image.notes = ()
            image.identity = (0, 0, 0, 0)
            image.machine = str(facts["machine"])
            image.elf_type = str(facts["elf_type"])
            image.elfclass = int(facts["elfclass"])
            image.little_endian = bool(facts["little_endian"])
            image.entry = int(facts.get("entry", 0))  # entries made before it: unknown
            image.build_id = facts["build_id"]
            image.segments = tuple(LoadSegment(*map(int, seg)) for seg in facts["segments"])
            image._code = []
            image.functions = tuple(
                FunctionSymbol(str(name), int(vaddr), int(size), bool(ifunc), str(binding))
                for name, vaddr, size, ifunc, binding in facts["functions"])
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not an image cache entry ({error})") from None
        image._starts = [sym.vaddr for sym in image.functions]
        image._by_name = {}
        for sym in image.functions:
            image._by_name.setdefault(sym.name, []).append(sym)
        return image

    # -- layout -------------------------------------------------------------------------------

    @property
    def is_pie(self) -> bool:
        """True for position-independent images (PIE executables and shared objects)."""
        return self.elf_type == "DYN"

    @property
    def load_bias_base(self) -> int:
        """The lowest PT_LOAD vaddr rounded down to a page (what maps' first mapping starts at)."""
        if not self.segments:
            return 0
        return min(seg.vaddr - seg.offset % 4096 for seg in self.segments) & ~0xFFF

    def vaddr_to_offset(self, vaddr: int) -> int | None:
        """The file offset holding link-time address ``vaddr``, or None outside file contents."""
        for seg in self.segments:
            if seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
                return vaddr - seg.vaddr + seg.offset
        return None

    def offset_to_vaddr(self, offset: int) -> int | None:
        """The link-time address of file offset ``offset`` (PT_LOAD contents only), or None."""
        for seg in self.segments:
            if seg.offset <= offset < seg.offset + seg.filesz:
                return offset - seg.offset + seg.vaddr
        return None

    def read_code(self, vaddr: int, size: int) -> bytes:
        """Up to ``size`` bytes of an executable segment starting at ``vaddr`` (b'' outside)."""
        for seg, data in self._code:
            if seg.vaddr <= vaddr < seg.vaddr + len(data):
                start = vaddr - seg.vaddr
                return data[start : start + size]
        return b""

    # -- symbols ------------------------------------------------------------------------------

    def symbolize(self, vaddr: int) -> tuple[FunctionSymbol, int] | None:
        """The function containing link-time address ``vaddr`` and the offset into it.

        A symbol of size 0 matches only its own address. None outside every function.
        """
        index = bisect.bisect_right(self._starts, vaddr) - 1
        while index >= 0:
            sym = self.functions[index]
            if sym.vaddr <= vaddr < sym.end or vaddr == sym.vaddr:
                return sym, vaddr - sym.vaddr
            if sym.vaddr < vaddr and sym.size > 0 and sym.end <= vaddr:
                # nested/overlapping symbols are rare; look at the previous start only if
                # it shares this start address
                if index > 0 and self.functions[index - 1].vaddr == sym.vaddr:
                    index -= 1
                    continue
                return None
            index -= 1
        return None

    def symbolize_offset(self, file_offset: int) -> tuple[FunctionSymbol, int] | None:
        """``symbolize`` for a file offset (a pc minus its mapping's start plus map offset)."""
        vaddr = self.offset_to_vaddr(file_offset)
        return None if vaddr is None else self.symbolize(vaddr)

    def lookup(self, name: str) -> list[FunctionSymbol]:
        """Function symbols called exactly ``name`` (several when aliases differ in address)."""
        return list(self._by_name.get(name, ()))

    def match(self, pattern: str) -> list[FunctionSymbol]:
        """Function symbols whose name matches the shell glob ``pattern``, by address."""
        if not any(ch in pattern for ch in "*?["):
            return self.lookup(pattern)
        return [sym for sym in self.functions if fnmatch.fnmatchcase(sym.name, pattern)]

    def ifunc_implementations(self, sym: FunctionSymbol) -> list[FunctionSymbol]:
        """Candidate implementations of an IFUNC symbol named by the symbol table.

        glibc names them ``__NAME_variant`` (``__strlen_avx2``), or ``NAME_variant`` when
        NAME starts with ``__`` already (``__memcpy_chk_erms``, ``__rawmemchr_evex``).
        Not implementations: fortified ``_chk`` entry points of another name, the
        locale variants (``__strcasecmp_l_avx2`` of ``strcasecmp``), the resolver itself
        (``__memcmpeq_ifunc``, at the IFUNC's own address) and, where the table names
        local implementations (glibc's are), global functions that only share the
        prefix (the exported ``__strcpy_small`` of old inline string functions).
        Empty when the table names none.
        """
        prefix = f"{sym.name}_" if sym.name.startswith("__") else f"__{sym.name}_"
        locale = sym.name.endswith("_l")

        def variant(other: FunctionSymbol) -> bool:
            rest = other.name[len(prefix):]
            return (bool(rest) and "_chk" not in f"_{rest}"
                    and (locale or not (rest == "l" or rest.startswith("l_"))))

        found = [
            other
            for other in self.functions
            if other.name.startswith(prefix)
            and not other.ifunc
            and other.vaddr != sym.vaddr
            and other.size > 0
            and variant(other)
        ]
        if any(other.binding == "LOCAL" for other in found):
            found = [other for other in found if other.binding == "LOCAL"]
        unique: dict[int, FunctionSymbol] = {}
        for other in found:
            unique.setdefault(other.vaddr, other)
        return list(unique.values())

    # -- instructions -------------------------------------------------------------------------

    def instruction_boundaries(self, sym: FunctionSymbol) -> list[int] | None:
        """Offsets of the instructions of ``sym`` by linear decoding, or None if undecodable."""
        if self.machine != "EM_X86_64" or sym.size <= 0:
            return None
        code = self.read_code(sym.vaddr, sym.size)
        if len(code) < sym.size:
            return None
        offsets: list[int] = []
        position = 0
        while position < sym.size:
            offsets.append(position)
            length = insn_length(code, position)
            if length is None:
                return None
            position += length
        return offsets

    def is_instruction_boundary(self, sym: FunctionSymbol, offset: int) -> bool | None:
        """Whether ``offset`` into ``sym`` starts an instruction; None when it cannot tell."""
        if offset == 0:
            return True
        if offset < 0 or (sym.size and offset >= sym.size):
            return False
        if self.machine != "EM_X86_64":
            return None
        code = self.read_code(sym.vaddr, max(sym.size, offset + 15))
        position = 0
        while position < offset:
            length = insn_length(code, position)
            if length is None:
                return None
            position += length
        return position == offset


# -- cache ------------------------------------------------------------------------------------

_cache_lock = threading.Lock()
#: (build-id, st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns) -> image. A build-id is a
#: claim of the file's own bytes (any file can carry libc's): it never picks another
#: file's image, only the file itself does (ctime too: ``touch -d`` can set mtime back).
_images: dict[tuple[str | None, int, int, int, int, int], ElfImage] = {}


def open_image(path: str) -> ElfImage:
    """An ``ElfImage`` for ``path``, shared with earlier calls for the same file.

    Two paths to one file (a hard link, a symlink, ``/lib`` and ``/usr/lib`` on a
    merged-/usr system) parse once (libc's symbols take about a second with pyelftools).
    The key is the file's identity (device, inode, size, mtime, ctime) and its build-id:
    a copy with another file's build-id gets its own symbols. Raises ``ElfError``.
    """
    try:
        st = os.stat(path)
    except OSError as error:
        raise ElfError(error.strerror or str(error), path, error.errno) from None
    key = (_peek_build_id(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
           st.st_ctime_ns)
    with _cache_lock:
        image = _images.get(key)
    if image is not None:
        return image
    image = ElfImage(path)
    if image.identity != (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size):
        return image  # replaced while read: not cached under the identity seen before
    with _cache_lock:
        return _images.setdefault(key, image)


class Fingerprint(NamedTuple):
    """What an image's facts come from, to check a cache entry made from a file."""

    digest: str  # "SIZE:SHA256" of the bytes ``symbols_fingerprint`` names
    identity: tuple[int, int, int, int]  # (st_dev, st_ino, st_mtime_ns, st_size) when taken


def symbols_fingerprint(path: str) -> Fingerprint | None:
    """The file's size and the SHA-256 of every byte its ``ElfImage`` facts are read
    from: the ELF header, the program headers (segments), the section headers, and the
    symbol tables (``SHT_SYMTAB``, ``SHT_DYNSYM``) with their string tables, the notes
    (build-id) and ``.gnu_debuglink``. Two files with one fingerprint give one image
    (but for a separate debug file, fingerprinted on its own). A file of another
    content under the same build-id gets another fingerprint; reading costs the headers
    and symbol tables, not the whole file (at most its size in all: sections claiming
    more, overlapping, give None). None when it cannot be read as ELF.
    """
    import hashlib  # here: the recorder, which imports this module, never needs it

    digest = hashlib.sha256()
    try:
        with open_regular(path) as handle:
            st = os.fstat(handle.fileno())
            size = st.st_size
            head = handle.read(64)
            if head[:4] != b"\x7fELF" or len(head) < 52:
                return None
            wide, little = head[4] == 2, head[5] == 1
            order = "<" if little else ">"
            if wide:
                phoff, = struct.unpack_from(order + "Q", head, 32)
                phentsize, phnum = struct.unpack_from(order + "HH", head, 54)
            else:
                phoff, = struct.unpack_from(order + "I", head, 28)
                phentsize, phnum = struct.unpack_from(order + "HH", head, 42)
            digest.update(head)
            digest.update(_read_at(handle, phoff, phentsize * phnum, size))
            sections = _sections(handle, wide, little)
            wanted: set[int] = set()
            for index, section in enumerate(sections):
                digest.update(repr((section.name, section.kind, section.offset, section.size,
                                    section.link, section.entsize)).encode())
                if section.kind in (_SHT_SYMTAB, _SHT_DYNSYM):
                    wanted.update((index, section.link))
                elif section.kind == _SHT_NOTE or section.name == ".gnu_debuglink":
                    wanted.add(index)
            budget = size  # real sections do not overlap; hostile ones may all be the file
            for index in sorted(wanted):
                if index < len(sections):  # a link is a claim
                    data = _section_data(handle, sections[index])
                    budget -= len(data)
                    if budget < 0:
                        return None
                    digest.update(index.to_bytes(4, "little"))
                    digest.update(data)
    except (OSError, *_PARSE_ERRORS):
        return None
    return Fingerprint(f"{size}:{digest.hexdigest()}",
                       (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size))


def read_build_id(path: str) -> str | None:
    """The GNU build-id of the ELF file at ``path`` (lowercase hex), or None; never raises."""
    return _peek_build_id(path)


def build_id_of_file(handle: BinaryIO) -> str | None:
    """The GNU build-id of the ELF file open as ``handle`` (lowercase hex), or None; never
    raises. For a file reached by descriptor rather than by name (``/proc/PID/map_files``)."""
    try:
        return _build_id(ELFFile(handle))
    except (*_PARSE_ERRORS, OSError):
        return None


def build_id_of_image(data: bytes) -> str | None:
    """The GNU build-id of an ELF image held in memory (the vDSO), or None; never raises."""
    import io

    try:
        return _build_id(ELFFile(io.BytesIO(data)))
    except (*_PARSE_ERRORS, OSError):
        return None


def clear_cache() -> None:
    with _cache_lock:
        _images.clear()


# -- reading helpers --------------------------------------------------------------------------


def open_regular(path: str) -> BinaryIO:
    """``path`` (symlinks followed) opened for reading, only if it is a regular file.

    A path named by a trace (a mapping's file) or found beside one (a debug file) may
    be a FIFO, whose open blocks until a writer comes, or a device, whose open alone
    acts (a watchdog is armed, a tape rewinds): neither is ever an ELF file. The path
    is looked at through an ``O_PATH`` descriptor, which opens nothing, and only a
    regular file is then opened, through that descriptor (the same inode: nothing can
    be swapped in between). Raises ``OSError`` (EINVAL, "not a regular file") for
    anything else, at once.
    """
    pinned = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(pinned).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        fd = os.open(f"/proc/self/fd/{pinned}", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        os.close(pinned)
    return os.fdopen(fd, "rb")


def _peek_build_id(path: str) -> str | None:
    try:
        with open_regular(path) as handle:
            return _build_id(ELFFile(handle))
    except (*_PARSE_ERRORS, OSError):
        return None


def _build_id(elf: Any) -> str | None:
    """The NT_GNU_BUILD_ID note of a note section or else of a PT_NOTE segment.

    The notes are read here rather than by pyelftools, which reads whatever n_namesz and
    n_descsz claim (gigabytes, for a damaged header); here they are bounded by the note's
    section or segment, itself cut at the file's end.
    """
    stream: BinaryIO = elf.stream
    little = bool(elf.little_endian)
    file_size = _file_size(stream)
    try:
        sections = _sections(stream, elf.elfclass == 64, little)
    except (ValueError, struct_error):
        sections = []  # a damaged section table: the PT_NOTE segment may still say
    for section in sections:
        if section.kind == _SHT_NOTE:
            found = _build_id_note(_section_data(stream, section), little)
            if found is not None:
                return found
    for segment in elf.iter_segments():
        if segment["p_type"] == "PT_NOTE":
            found = _build_id_note(_read_at(stream, segment["p_offset"], segment["p_filesz"],
                                            file_size), little)
            if found is not None:
                return found
    return None


_NT_GNU_BUILD_ID = 3


def _build_id_note(notes: bytes, little: bool) -> str | None:
    header = struct.Struct("<III" if little else ">III")
    position = 0
    while position + header.size <= len(notes):
        name_size, desc_size, kind = header.unpack_from(notes, position)
        name_at = position + header.size
        desc_at = name_at + (name_size + 3) // 4 * 4  # both 4-byte aligned (gABI, GNU)
        if desc_at + desc_size > len(notes):
            return None  # a note past its section: damaged
        position = desc_at + (desc_size + 3) // 4 * 4
        name = notes[name_at : name_at + name_size].split(b"\0", 1)[0]
        if kind == _NT_GNU_BUILD_ID and name == b"GNU":
            return notes[desc_at : desc_at + desc_size].hex()
    return None


def _load_segments(elf: Any) -> tuple[LoadSegment, ...]:
    return tuple(
        LoadSegment(
            vaddr=seg["p_vaddr"],
            memsz=seg["p_memsz"],
            offset=seg["p_offset"],
            filesz=seg["p_filesz"],
            flags=seg["p_flags"],
        )
        for seg in elf.iter_segments()
        if seg["p_type"] == "PT_LOAD"
    )


def _executable_bytes(
    handle: Any, segments: Iterable[LoadSegment]
) -> list[tuple[LoadSegment, bytes]]:
    # p_filesz is only a claim: each read stops at the file's end, and the total at the
    # file's size (executable segments of a real file do not overlap; thousands of
    # overlapping ones would hold the file many times over).
    size = _file_size(handle)
    out = []
    total = 0
    for seg in segments:
        if seg.executable and seg.filesz:
            data = _read_at(handle, seg.offset, seg.filesz, size)
            total += len(data)
            if total > size:
                raise ValueError("executable PT_LOAD segments overlap")
            out.append((seg, data))
    return out


def _file_size(handle: BinaryIO) -> int:
    return handle.seek(0, os.SEEK_END)


def _read_at(handle: BinaryIO, offset: int, size: int, file_size: int) -> bytes:
    """``size`` bytes at ``offset``, cut at the file's end (headers' sizes are claims)."""
    if offset >= file_size or size <= 0:
        return b""
    handle.seek(offset)
    return handle.read(min(size, file_size - offset))


def _debuglink(handle: BinaryIO, sections: list[_Section], little: bool
               ) -> tuple[str, int | None] | None:
    """``.gnu_debuglink``'s file name and CRC32 (None when the section is cut before it)."""
    for section in sections:
        if section.name == ".gnu_debuglink":
            data = _section_data(handle, section)
            name = data.split(b"\0", 1)[0]
            text = name.decode("utf-8", "surrogateescape")
            # a debuglink names a file, never a path: "../../x" or "/etc/x" would make
            # the file being traced choose what we open
            if not text or "/" in text or text in (".", ".."):
                return None
            # the CRC follows the name's NUL, 4-byte aligned, in the file's byte order
            at = (len(name) + 1 + 3) // 4 * 4
            crc = (int.from_bytes(data[at : at + 4], "little" if little else "big")
                   if len(data) >= at + 4 else None)
            return text, crc
    return None


def _crc32_of(path: str) -> int | None:
    """The CRC32 gdb's debuglink check computes (zlib's) of the file, or None if unreadable."""
    crc = 0
    try:
        with open_regular(path) as handle:
            while chunk := handle.read(1 << 20):
                crc = zlib.crc32(chunk, crc)
    except OSError:
        return None
    return crc


def _find_debug_file(
    path: str, build_id: str | None, debuglink: str | None, debug_root: str, *,
    crc: int | None = None, notes: list[str] | None = None,
) -> str | None:
    """The separate debug file: by build-id, else by debuglink name (beside the file, in
    ``.debug/``, under ``debug_root``). A debuglink candidate whose CRC32 is not ``crc``
    (the debuglink's own), or a build-id path whose file has another build-id, is a debug
    file of another build: passed over, as gdb does, with a line in ``notes``. Without a
    CRC (a cut section) no debuglink candidate is taken."""
    candidates: list[tuple[str, bool]] = []  # (path, found through the debuglink)
    if build_id and re.fullmatch(r"[0-9a-f]{3,}", build_id):
        candidates.append(
            (os.path.join(debug_root, ".build-id", build_id[:2], build_id[2:] + ".debug"),
             False))
    if debuglink and "/" not in debuglink and debuglink not in (".", ".."):
        real = os.path.realpath(path)
        directory = os.path.dirname(real)
        candidates += [
            (os.path.join(directory, debuglink), True),
            (os.path.join(directory, ".debug", debuglink), True),
            (os.path.join(debug_root, directory.lstrip("/"), debuglink), True),
        ]
    for candidate, linked in candidates:
        if not os.path.isfile(candidate) or os.path.realpath(candidate) == os.path.realpath(
                path):
            continue
        if not linked:
            # a build-id path names the file: it must carry that build-id (gdb checks too)
            found = _peek_build_id(candidate)
            if found != build_id:
                if notes is not None:
                    notes.append(f"{candidate}: debug file ignored: its build-id is "
                                 f"{found or 'missing'}, not {build_id}")
                continue
        if linked:
            actual = _crc32_of(candidate)
            if crc is None or actual != crc:
                if notes is not None:
                    said = "unreadable" if actual is None else f"{actual:08x}"
                    wanted = "none (cut)" if crc is None else f"{crc:08x}"
                    notes.append(f"{candidate}: debug file ignored: its CRC32 is {said}, "
                                 f"{os.path.basename(path)}'s .gnu_debuglink says {wanted} "
                                 "(another build's)")
                continue
        return candidate
    return None


#: st_info type and binding values (the ELF gABI; GNU's IFUNC and UNIQUE are OS-specific;
#: binding names as pyelftools gives them, less the ``STB_`` prefix)
_STT_FUNC_VALUE = 2
_STT_GNU_IFUNC_VALUE = 10
_BINDINGS = {0: "LOCAL", 1: "GLOBAL", 2: "WEAK", 3: "NUM", 10: "LOOS", 12: "HIOS", 13: "LOPROC",
             15: "HIPROC"}


@dataclass(frozen=True, slots=True)
class _Section:
    """One section header, read raw."""

    name: str
    kind: int  # sh_type
    offset: int
    size: int
    link: int
    entsize: int


_SHT_SYMTAB, _SHT_NOTE, _SHT_NOBITS, _SHT_DYNSYM = 2, 7, 8, 11


def _sections(handle: BinaryIO, wide: bool, little: bool) -> list[_Section]:
    """The section headers of the ELF file open as ``handle``, names included.

    Read with ``struct`` in two reads: pyelftools builds an object per section (and
    parses hash tables on the way), which costs a tenth of a second on libc.
    """
    order = "<" if little else ">"
    header = struct.Struct(order + ("16x24xQ10xHHH" if wide else "16x16xI10xHHH"))
    entry = struct.Struct(order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
    file_size = _file_size(handle)
    handle.seek(0)
    shoff, entsize, count, names_index = header.unpack(handle.read(header.size))
    if not shoff or entsize != entry.size:
        return []
    first = _read_at(handle, shoff, entry.size, file_size)
    if len(first) < entry.size:
        raise ValueError(f"section headers at {shoff} past the end of the file "
                         f"({file_size} bytes)")
    if count == 0:  # more than 0xff00 sections: the count is section 0's sh_size
        count = entry.unpack(first)[5]
    if names_index == 0xFFFF:  # SHN_XINDEX: the index is section 0's sh_link
        names_index = entry.unpack(first)[6]
    if count == 0:
        return []
    # the count is a claim too (section 0's sh_size may say 2**64): the table must fit
    if shoff + count * entry.size > file_size:
        raise ValueError(f"{count} section headers at {shoff} run past the end of the "
                         f"file ({file_size} bytes)")
    raw = first + _read_at(handle, shoff + entry.size, entry.size * (count - 1), file_size)
    rows = [entry.unpack_from(raw, at) for at in range(0, len(raw) - entry.size + 1,
                                                         entry.size)]
    names = b""
    if names_index < len(rows) and rows[names_index][1] != _SHT_NOBITS:
        names = _read_at(handle, rows[names_index][4], rows[names_index][5], file_size)
    out = []
    for row in rows:
        name_at, kind, offset, size, link, sh_entsize = (row[0], row[1], row[4], row[5],
                                                         row[6], row[9])
        end = names.find(b"\0", name_at)
        name = names[name_at:end if end >= 0 else None].decode("latin-1")
        out.append(_Section(name, kind, offset, size, link, sh_entsize))
    return out


def _section_data(handle: BinaryIO, section: _Section) -> bytes:
    """The section's bytes, cut at the file's end (b'' for SHT_NOBITS)."""
    if section.kind == _SHT_NOBITS:
        return b""
    return _read_at(handle, section.offset, section.size, _file_size(handle))


def _function_symbols(handle: BinaryIO, sections: list[_Section], wide: bool,
                      little: bool) -> Iterable[FunctionSymbol]:
    """The defined function symbols of every symbol table (``.symtab``, ``.dynsym``).

    The tables are read raw and unpacked with ``struct`` (one call per table), not through
    pyelftools' per-symbol parser: libc's debug file holds ~50 000 symbols, which take
    seconds that way and milliseconds this way. ``tests/test_elf.py`` proves both agree.
    """
    # Elf64_Sym: name, info, other, shndx, value, size; Elf32_Sym: name, value, size, info,
    # other, shndx
    layout = struct.Struct(("<" if little else ">") + ("IBBHQQ" if wide else "IIIBBH"))
    # Bounds for a damaged or hostile file, each proportional to its size: the tables and
    # string tables read (each read once; real ones do not overlap, so together they fit
    # in the file), and the bytes of names decoded (names may share a string table's bytes
    # - the linker merges suffixes - but millions of symbols naming one long unterminated
    # string would otherwise decode it millions of times).
    file_size = _file_size(handle)
    table_budget = file_size
    name_budget = _NAME_BUDGET_PER_BYTE * file_size
    seen: set[tuple[int, int, int]] = set()
    string_tables: dict[int, bytes] = {}
    for section in sections:
        if section.kind not in (_SHT_SYMTAB, _SHT_DYNSYM):
            continue  # (a debug file's .dynsym is SHT_NOBITS: skipped here)
        if (section.entsize or layout.size) != layout.size or not section.size:
            continue
        if section.link >= len(sections):
            continue
        if (section.offset, section.size, section.link) in seen:
            continue
        seen.add((section.offset, section.size, section.link))
        strings = string_tables.get(section.link)
        if strings is None:
            strings = string_tables[section.link] = _section_data(handle,
                                                                  sections[section.link])
            table_budget -= len(strings)
        table = _section_data(handle, section)
        table = table[: len(table) - len(table) % layout.size]
        table_budget -= len(table)
        if table_budget < 0:
            raise ValueError("symbol tables overlap (together larger than the file)")
        names: dict[int, str] = {}
        for fields in layout.iter_unpack(table):
            if wide:
                name_at, info, _other, shndx, value, sym_size = fields
            else:
                name_at, value, sym_size, info, _other, shndx = fields
            kind = info & 0xF
            if kind != _STT_FUNC_VALUE and kind != _STT_GNU_IFUNC_VALUE:
                continue
            if shndx == 0 or value == 0 or not name_at:  # undefined, or no name
                continue
            name = names.get(name_at)
            if name is None:
                end = strings.find(b"\0", name_at)
                raw = strings[name_at:] if end < 0 else strings[name_at:end]
                name_budget -= len(raw)
                if name_budget < 0:
                    raise ValueError("symbol names overlap (far more name bytes than the "
                                     "file holds)")
                name = names[name_at] = raw.decode("utf-8", "replace")  # as pyelftools does
            if not name:
                continue
            yield FunctionSymbol(
                name=name,
                vaddr=value,
                size=sym_size,
                ifunc=kind == _STT_GNU_IFUNC_VALUE,
                binding=_BINDINGS.get(info >> 4, str(info >> 4)),
            )


def _dedup(symbols: list[FunctionSymbol]) -> tuple[FunctionSymbol, ...]:
    best: dict[tuple[str, int], FunctionSymbol] = {}
    for sym in symbols:
        key = (sym.name.split("@", 1)[0], sym.vaddr)
        old = best.get(key)
        if old is None and "@" not in sym.name:
            best[key] = sym  # the common case: nothing to merge (saves a copy per symbol)
        elif old is None or (old.size == 0 and sym.size) or "@" in old.name:
            best[key] = FunctionSymbol(key[0], sym.vaddr, sym.size or (old.size if old else 0),
                                       sym.ifunc or bool(old and old.ifunc), sym.binding)
    # globals before locals at one address, so symbolize() prefers the exported name
    rank = {"GLOBAL": 0, "WEAK": 1, "LOCAL": 2}
    return tuple(sorted(best.values(), key=lambda s: (s.vaddr, rank.get(s.binding, 3), s.name)))


# -- a minimal x86-64 instruction-length decoder ----------------------------------------------

_LEGACY_PREFIXES = frozenset(b"\x26\x2e\x36\x3e\x64\x65\x66\x67\xf0\xf2\xf3")


def _ranges(*spans: tuple[int, int]) -> frozenset[int]:
    return frozenset(b for lo, hi in spans for b in range(lo, hi + 1))


# one-byte map: opcodes with a ModRM byte
_MODRM_1 = _ranges(
    (0x00, 0x03), (0x08, 0x0B), (0x10, 0x13), (0x18, 0x1B), (0x20, 0x23), (0x28, 0x2B),
    (0x30, 0x33), (0x38, 0x3B), (0x63, 0x63), (0x69, 0x69), (0x6B, 0x6B), (0x80, 0x81),
    (0x83, 0x8F), (0xC0, 0xC1), (0xC6, 0xC7), (0xD0, 0xD3), (0xD8, 0xDF), (0xF6, 0xF7),
    (0xFE, 0xFF),
)
_IMM8_1 = _ranges(
    (0x04, 0x04), (0x0C, 0x0C), (0x14, 0x14), (0x1C, 0x1C), (0x24, 0x24), (0x2C, 0x2C),
    (0x34, 0x34), (0x3C, 0x3C), (0x6A, 0x6A), (0x6B, 0x6B), (0x70, 0x7F), (0x80, 0x80),
    (0x83, 0x83), (0xA8, 0xA8), (0xB0, 0xB7), (0xC0, 0xC1), (0xC6, 0xC6), (0xCD, 0xCD),
    (0xE0, 0xE7), (0xEB, 0xEB),
)
# operand-size immediates (4 bytes, 2 with 0x66)
_IMMZ_1 = _ranges(
    (0x05, 0x05), (0x0D, 0x0D), (0x15, 0x15), (0x1D, 0x1D), (0x25, 0x25), (0x2D, 0x2D),
    (0x35, 0x35), (0x3D, 0x3D), (0x68, 0x69), (0x81, 0x81), (0xA9, 0xA9), (0xC7, 0xC7),
)
_NO_OPERAND_1 = _ranges(
    (0x50, 0x5F), (0x6C, 0x6F), (0x90, 0x99), (0x9B, 0x9F), (0xA4, 0xA7), (0xAA, 0xAF),
    (0xC3, 0xC3), (0xC9, 0xC9), (0xCB, 0xCC), (0xCF, 0xCF), (0xD7, 0xD7), (0xEC, 0xEF),
    (0xF1, 0xF1), (0xF4, 0xF5), (0xF8, 0xFD),
)
_INVALID_64 = frozenset(
    b"\x06\x07\x0e\x16\x17\x1e\x1f\x27\x2f\x37\x3f\x60\x61\x82\x9a\xce\xd4\xd5\xd6\xea"
)

# two-byte map (0F xx)
_NO_MODRM_0F = _ranges(
    (0x05, 0x09), (0x0B, 0x0B), (0x0E, 0x0E), (0x30, 0x37), (0x77, 0x77), (0xA0, 0xA2),
    (0xA8, 0xAA), (0xC8, 0xCF),
)
_IMM8_0F = _ranges((0x70, 0x73), (0xA4, 0xA4), (0xAC, 0xAC), (0xBA, 0xBA), (0xC2, 0xC2),
                   (0xC4, 0xC6))
_REL32_0F = _ranges((0x80, 0x8F))
_INVALID_0F = _ranges((0x04, 0x04), (0x0A, 0x0A), (0x0C, 0x0C), (0x0F, 0x0F), (0x24, 0x27),
                      (0x36, 0x37), (0x39, 0x39), (0x3B, 0x3F))


def _modrm_length(code: bytes, pos: int, addr32: bool) -> int | None:
    """Bytes taken by the ModRM byte at ``pos`` and its SIB/displacement."""
    del addr32  # 32-bit addressing in 64-bit mode has the same ModRM/SIB layout
    if pos >= len(code):
        return None
    modrm = code[pos]
    mod, rm = modrm >> 6, modrm & 7
    length = 1
    if mod == 3:
        return length
    if rm == 4:
        if pos + 1 >= len(code):
            return None
        sib = code[pos + 1]
        length += 1
        if mod == 0 and (sib & 7) == 5:
            length += 4
    elif mod == 0 and rm == 5:
        length += 4  # rip-relative disp32
    if mod == 1:
        length += 1
    elif mod == 2:
        length += 4
    return length


def insn_length(code: bytes, pos: int = 0) -> int | None:
    """The length of the x86-64 instruction at ``code[pos]``, or None if not decodable here.

    Covers legacy prefixes, REX, the one-byte map, 0F / 0F38 / 0F3A, x87, VEX (C4/C5) and
    EVEX (62). 3DNow! and XOP are refused (None). Never reads past ``code``.
    """
    start = pos
    end = len(code)
    opsize16 = False
    addr32 = False
    rex_w = False
    while pos < end and code[pos] in _LEGACY_PREFIXES:
        if code[pos] == 0x66:
            opsize16 = True
        elif code[pos] == 0x67:
            addr32 = True
        pos += 1
        if pos - start > 14:
            return None
    if pos < end and 0x40 <= code[pos] <= 0x4F:
        rex_w = bool(code[pos] & 8)
        pos += 1
    if pos >= end:
        return None
    op = code[pos]
    pos += 1
    length: int | None
    if op == 0x0F:
        length = _length_0f(code, pos, opsize16, addr32)
        return None if length is None else _checked(pos + length - start, start, end)
    if op in (0xC4, 0xC5, 0x62):
        length = _length_vex(code, pos, op, addr32)
        return None if length is None else _checked(pos + length - start, start, end)
    if op in _INVALID_64 or 0x40 <= op <= 0x4F or op in _LEGACY_PREFIXES:
        return None
    size = 0
    if op in _MODRM_1:
        modrm = _modrm_length(code, pos, addr32)
        if modrm is None:
            return None
        size += modrm
        if op in (0xF6, 0xF7):
            reg = (code[pos] >> 3) & 7
            if reg in (0, 1):  # test r/m, imm
                size += 1 if op == 0xF6 else (2 if opsize16 and not rex_w else 4)
    if op in _IMM8_1:
        size += 1
    if op in _IMMZ_1:
        size += 2 if opsize16 and not rex_w else 4
    if 0xB8 <= op <= 0xBF:
        size += 8 if rex_w else (2 if opsize16 else 4)
    elif 0xA0 <= op <= 0xA3:
        size += 4 if addr32 else 8
    elif op in (0xE8, 0xE9):
        size += 4
    elif op in (0xC2, 0xCA):
        size += 2
    elif op == 0xC8:
        size += 3
    elif (
        op not in _MODRM_1
        and op not in _IMM8_1
        and op not in _IMMZ_1
        and op not in _NO_OPERAND_1
    ):
        return None
    return _checked(pos + size - start, start, end)


def _checked(length: int, start: int, end: int) -> int | None:
    if length > 15 or start + length > end:
        return None
    return length


def _length_0f(code: bytes, pos: int, opsize16: bool, addr32: bool) -> int | None:
    """Length after the 0F escape (``pos`` points at the second opcode byte)."""
    del opsize16
    if pos >= len(code):
        return None
    op = code[pos]
    pos += 1
    if op == 0x38:
        if pos >= len(code):
            return None
        modrm = _modrm_length(code, pos + 1, addr32)
        return None if modrm is None else 2 + modrm
    if op == 0x3A:
        if pos >= len(code):
            return None
        modrm = _modrm_length(code, pos + 1, addr32)
        return None if modrm is None else 2 + modrm + 1
    if op in _INVALID_0F:
        return None
    if op in _REL32_0F:
        return 1 + 4
    if op in _NO_MODRM_0F:
        return 1
    modrm = _modrm_length(code, pos, addr32)
    if modrm is None:
        return None
    return 1 + modrm + (1 if op in _IMM8_0F else 0)


def _length_vex(code: bytes, pos: int, escape: int, addr32: bool) -> int | None:
    """Length after a VEX/EVEX escape byte (``pos`` points at its first payload byte)."""
    if escape == 0xC5:
        payload, mapping = 1, 1
    elif escape == 0xC4:
        if pos >= len(code):
            return None
        payload, mapping = 2, code[pos] & 0x1F
    else:
        if pos >= len(code):
            return None
        payload, mapping = 3, code[pos] & 0x07
    op_pos = pos + payload
    if op_pos >= len(code):
        return None
    op = code[op_pos]
    if mapping == 1 and op == 0x77 and escape != 0x62:
        return payload + 1  # vzeroupper / vzeroall
    modrm = _modrm_length(code, op_pos + 1, addr32)
    if modrm is None:
        return None
    imm = 0
    if mapping == 3 or (mapping == 1 and op in _IMM8_0F):
        imm = 1
    elif mapping not in (1, 2, 3, 5, 6):
        return None
    return payload + 1 + modrm + imm
