"""Modules of a trace's mappings: their symbols and CFI, cached by build id.

``Modules.prepare(mapping)`` attaches to a ``_maps.Mapping`` the ``Module`` of
its file — symbols from ``formats.elf`` (``.symtab``, ``.dynsym``, debug files
by build id or ``.gnu_debuglink``) and CFI from ``formats.cfi`` — and the mapping's
load bias. Modules are shared by build id (or path when the trace has none),
so libc is read once however many processes map it. A file whose build id
differs from the trace's is not trusted: its debug file by build id is used if
present, else a copy kept by build id (``ktr record``'s build-id cache
beside the symbol cache, or perf's ``~/.debug/.build-id``), else the symbols
the disk cache keeps for that build id, otherwise
the module has neither symbols nor CFI (its frames print as
``module+0xoffset``). Without a build id in the trace, the path is used unless
the MMAP record says it no longer named the mapped file (``MmapFlag.DELETED``
or ``REPLACED``). Each module whose file is not used for such a reason gets
one line through ``warn`` (stderr by default) saying why. The vDSO comes
from the image bytes the trace holds (written to a private temporary file so
``formats.elf`` can read it).

Optionally on disk (``cache_dir``, ktrdump's ``--symbol-cache``): the symbols
and layout of each module with a build id are kept as JSON in
``DIR/symbols/<build-id>.json`` (created 0600 in a 0700 directory, written
atomically), so a later dump does not parse libc's symbol table again (about
a second with pyelftools). CFI needs no disk cache: it is indexed through
``.eh_frame_hdr`` in milliseconds and decoded per function on first use. A
cache entry is trusted only for the build id it is named by; a damaged one is
ignored and rewritten.

``Modules.frame(pid, pc)`` names one pc: ``Frame(pc, function, module,
offset, start)`` — ``offset`` is from the function's start when the function
is known, else the link-time address in the module, and the pc itself when no
mapping holds it; ``start``, for a pc with no symbol, is the start of the
``.eh_frame`` FDE that covers it (so a stripped function is one frame:
``module+0xSTART``). Names are cached per (module, address).

Guarantees: never raises for missing or unreadable files (they make unknown
frames); memory is bounded by the modules and distinct pcs of the trace.
Does not: unwind (``_unwind``) or keep per-process state (``_maps``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable
from typing import NamedTuple

from elftools.elf.elffile import ELFFile

from formats import MmapFlag
from formats.buildid_cache import search_paths
from formats.cfi import CfiTable
from formats.elf import DEBUG_ROOT, ElfError, ElfImage, open_image, read_build_id

from ._bounded import Cache
from ._maps import AddressSpaces, Mapping
from ._text import display_text


class Frame(NamedTuple):
    pc: int
    function: str | None
    module: str | None
    offset: int
    #: With no function name: the link-time start of the code's FDE (its function as
    #: the unwind tables know it), so one unnamed function is one frame.
    start: int | None = None

    def label(self) -> str:
        """How folded stacks and text name the frame."""
        if self.function is not None:
            return self.function
        if self.module is not None:
            return f"{self.module}+{(self.offset if self.start is None else self.start):#x}"
        return "[unknown]"


class Module:
    """One ELF image: its name, symbols (maybe none) and CFI (maybe none)."""

    __slots__ = ("_names", "cfi", "image", "name")

    def __init__(self, name: str, image: ElfImage | None, cfi: CfiTable | None) -> None:
        self.name = name
        self.image = image
        self.cfi = cfi
        self._names: dict[int, tuple[str | None, int, int | None]] = Cache(1 << 16)

    def symbolize(self, vaddr: int) -> tuple[str | None, int, int | None]:
        """(function, offset in it, None), or (None, vaddr, its FDE's start or None)."""
        found = self._names.get(vaddr)
        if found is None:
            hit = self.image.symbolize(vaddr) if self.image is not None else None
            if hit is not None:
                found = (hit[0].name, hit[1], None)
            else:
                found = (None, vaddr, self.cfi.function_start(vaddr) if self.cfi else None)
            self._names[vaddr] = found
        return found


_PATH_STALE = MmapFlag.DELETED | MmapFlag.REPLACED


def _warn_on_stderr(text: str) -> None:
    sys.stderr.write(f"ktrdump: {text}\n")


def _module_name(path: bytes) -> str:
    text = path.decode("utf-8", "backslashreplace")
    return text if text.startswith("[") else os.path.basename(text)


#: Modules by build id, shared by every ``Modules`` of the process (a dump of several
#: traces, a benchmark's second pass): symbols and decoded CFI are read once.
_SHARED: dict[bytes, Module] = {}


class Modules:
    """Every module a trace's mappings name, loaded on first use.

    ``warn`` gets one line (without the ``ktrdump:`` prefix) per module whose
    file could not be used, saying why: its frames then show as offsets.
    """

    def __init__(self, spaces: AddressSpaces, debug_root: str = DEBUG_ROOT,
                 cache_dir: str | None = None,
                 warn: Callable[[str], None] | None = None) -> None:
        self.spaces = spaces
        self.debug_root = debug_root
        self.cache_dir = cache_dir
        self.warn = warn if warn is not None else _warn_on_stderr
        self._modules: dict[tuple[bytes, bytes, bool], Module] = {}
        self._frames: dict[tuple[int, int], Frame] = Cache(1 << 16)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def prepare(self, mapping: Mapping) -> None:
        stale = bool(mapping.flags & _PATH_STALE)
        # A module is its build id; without one its path, and a stale path (deleted
        # or replaced when recorded) is another module than the file now there.
        key = (mapping.build_id, b"", False) if mapping.build_id else (
            b"", mapping.path, stale)
        module = self._modules.get(key)
        if module is None:
            module = _SHARED.get(mapping.build_id) if mapping.build_id else None
            if module is None:
                module = self._load(mapping)
                if mapping.build_id and module.image is not None:
                    _SHARED[mapping.build_id] = module
            self._modules[key] = module
        mapping.module = module
        mapping.bias = self._bias(module, mapping)

    def _load(self, mapping: Mapping) -> Module:
        name = _module_name(mapping.path)
        path, why = self._file_for(mapping)
        if path is None:
            # The symbols kept on disk for this build id still name its functions.
            image = self._cached(mapping.build_id)
            if image is None and why is not None:
                self.warn(f"{display_text(mapping.path)}: {why}; its frames are shown as "
                          f"offsets")
            return Module(name, image, None)
        image = self._cached(mapping.build_id)
        if image is None:
            try:
                image = open_image(path)
            except ElfError as error:
                self.warn(f"{display_text(mapping.path)}: cannot read its symbols ({error}); "
                          f"its frames are shown as offsets")
                return Module(name, None, None)
            for note in image.notes:  # a debug file passed over (CRC mismatch)
                self.warn(note)
            if mapping.build_id and image.build_id == mapping.build_id.hex():
                self._store(image)
        cfi: CfiTable | None = None
        try:
            with open(path, "rb") as handle:
                cfi = CfiTable(ELFFile(handle))
        except Exception:  # an unreadable or damaged file: no CFI, frame pointers only
            cfi = None
        if cfi is not None and not cfi.has_cfi:
            cfi = None
        return Module(name, image, cfi)

    def _cache_file(self, build_id: str) -> str | None:
        if self.cache_dir is None or not re.fullmatch(r"[0-9a-f]{2,80}", build_id):
            return None
        return os.path.join(self.cache_dir, "symbols", build_id + ".json")

    def _cached(self, build_id: bytes) -> ElfImage | None:
        path = self._cache_file(build_id.hex()) if build_id else None
        if path is None:
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                facts = json.load(handle)
            image = ElfImage.from_facts(facts)
        except (OSError, ValueError):
            return None
        return image if image.build_id == build_id.hex() else None

    def _store(self, image: ElfImage) -> None:
        path = self._cache_file(image.build_id or "")
        if path is None:
            return
        try:
            os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(image.facts(), handle, separators=(",", ":"))
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs time

    def _file_for(self, mapping: Mapping) -> tuple[str | None, str | None]:
        """(the file to read for a mapping, None) or (None, why there is none, or None when
        nothing needs saying): the path if it is the mapped file (same build id; with no
        build id in the trace, unless the trace says the path changed), else the debug
        file of the build id."""
        wanted = mapping.build_id.hex()
        if mapping.image:
            return self._image_file(mapping), None
        path = os.fsdecode(mapping.path)
        if not path.startswith("/"):
            return None, None
        if wanted:
            found = read_build_id(path)
            if found == wanted:
                return path, None
            debug = os.path.join(self.debug_root, ".build-id", wanted[:2], wanted[2:] + ".debug")
            if os.path.exists(debug):
                return debug, None
            kept = self._kept_file(wanted)
            if kept is not None:
                return kept, None
            why: str | None
            if not os.path.exists(path):
                # Said only when the trace knew it gone: a trace read on another
                # machine misses many files, as perf's reports quietly do.
                why = ("no such file (it was deleted while mapped)"
                       if mapping.flags & MmapFlag.DELETED else None)
            elif found is None:
                try:
                    with open(path, "rb"):
                        pass
                    why = ("the file has no build id; the recorded one is " + wanted
                           + " (the file was replaced)")
                except OSError as error:
                    why = f"cannot be read ({error.strerror})"
            else:
                why = "build id differs from the recorded one (the file was replaced)"
            return None, why
        if mapping.flags & MmapFlag.DELETED:
            return None, ("the file was deleted while mapped and the trace has no build id "
                          "to recognize it")
        if mapping.flags & MmapFlag.REPLACED:
            return None, ("another file was at this path when recorded and the trace has no "
                          "build id to recognize the mapped one")
        return (path, None) if os.path.exists(path) else (None, None)

    def _kept_file(self, build_id: str) -> str | None:
        """The copy of a build id's file that ``ktr record`` (in the build-id cache
        beside the symbol cache, or the default one) or perf (``~/.debug``) kept, if
        its build id is that one."""
        for candidate in search_paths(build_id, [self.cache_dir] if self.cache_dir else []):
            if os.path.isfile(candidate) and read_build_id(candidate) == build_id:
                return candidate
        return None

    def _image_file(self, mapping: Mapping) -> str | None:
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="ktrdump-vdso-")
        name = (mapping.build_id.hex() or f"{id(mapping.image):x}") + ".so"
        path = os.path.join(self._tmp.name, name)
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(mapping.image)
        return path

    @staticmethod
    def _bias(module: Module, mapping: Mapping) -> int:
        image = module.image
        if image is None:
            return mapping.start - mapping.offset
        vaddr = image.offset_to_vaddr(mapping.offset)
        if vaddr is None:
            for segment in image.segments:
                if segment.executable:
                    return mapping.start - mapping.offset - (segment.vaddr - segment.offset)
            return mapping.start - mapping.offset
        return mapping.start - vaddr

    def frame(self, pid: int, pc: int, return_address: bool = False) -> Frame:
        """Name ``pc`` of process ``pid`` (a return address is looked up at pc - 1)."""
        lookup = pc - 1 if return_address else pc
        mapping = self.spaces.find(pid, lookup)
        if mapping is None:
            return Frame(pc, None, None, pc)
        if mapping.module is False:
            self.prepare(mapping)
        module: Module = mapping.module
        vaddr = lookup - mapping.bias
        key = (id(module), vaddr)
        found = self._frames.get(key)
        if found is None:
            function, offset, start = module.symbolize(vaddr)
            if return_address and function is not None:
                offset += 1
            elif return_address:
                offset = vaddr + 1
            found = Frame(0, function, module.name, offset, start)
            self._frames[key] = found
        return found._replace(pc=pc)

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
