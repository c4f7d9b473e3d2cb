"""Modules of a trace's mappings: their symbols and CFI, cached by build id.

``Modules.prepare(mapping)`` attaches to a ``_maps.Mapping`` the ``Module`` of
its file — symbols from ``formats.elf`` (``.symtab``, ``.dynsym``, debug files
by build id or ``.gnu_debuglink``) and CFI from ``formats.cfi`` — and the mapping's
load bias. Modules are shared by build id and path (path alone when the trace
has no build id), so libc is read once however many processes map it, and a
file of another content under the same build id at another path is read on
its own. A file whose build id
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
``DIR/symbols/<build-id>.json``, so a later dump does not parse libc's symbol
table again (about a second with pyelftools). CFI needs no disk cache: it is
indexed through ``.eh_frame_hdr`` in milliseconds and decoded per function on
first use. An entry holds the build id and the fingerprint of the file it was
read from (``formats.elf.symbols_fingerprint``: its size and the SHA-256 of
its headers, symbol and string tables, notes and debuglink; and of the debug
file that gave symbols, if one did): with the file at hand, it is used only
when both still match, so a file of other content under the same build id (a
copy edited, a collision) never gets another file's symbols; a stale,
mismatched, damaged or older entry (keyed by build id alone) is ignored and
rewritten. Without the file (deleted, another machine) the entry of the
trace's build id is all there is, and is used: so entries are made only from
files (and debug files) that no other user could have made or changed (the
file and every directory above it the user's or root's, written by no one else
but under a sticky bit), as a build id is only a note anyone can copy. ``DIR`` must be the effective
user's and written by it alone, ``DIR/symbols`` private (created 0700); both
are opened without following symlinks, entries are read only if they are the
user's regular files and written 0600 to a fresh name (``O_EXCL |
O_NOFOLLOW``), then renamed into place; a directory refused is said once
through ``warn`` and the cache is not used.

``Modules.frame(pid, pc)`` names one pc: ``Frame(pc, function, module,
offset, start)`` — ``offset`` is from the function's start when the function
is known, else the link-time address in the module, and the pc itself when no
mapping holds it; ``start``, for a pc with no symbol, is the start of the
``.eh_frame`` FDE that covers it (so a stripped function is one frame:
``module+0xSTART``). Names are cached per (module, address). A function's
name is shown through the ``demangle`` given to ``Modules`` (``ktrdump``'s
run passes its ``formats.demangle.Demangler``: a C++ name as ``c++filt``
prints it, raw with ``--no-demangle``); without one, names are shown as the
binary spells them (``formats.demangle.raw_name``). A ``Module`` (shared by
every ``Modules`` of the process) keeps raw names only: the shown ones are
cached per ``Modules``, so one run's demangling never shows in another's.

Guarantees: never raises for missing or unreadable files (they make unknown
frames); memory is bounded by the modules and distinct pcs of the trace.
Does not: unwind (``_unwind``) or keep per-process state (``_maps``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable
from typing import NamedTuple

from elftools.elf.elffile import ELFFile

from formats import MmapFlag
from formats.buildid_cache import search_paths
from formats.cfi import CfiTable
from formats.demangle import raw_name
from formats.elf import (
    DEBUG_ROOT,
    ElfError,
    ElfImage,
    Fingerprint,
    open_image,
    open_regular,
    read_build_id,
    symbols_fingerprint,
)

from ._bounded import Cache
from ._maps import UPROBES_FRAME, UPROBES_PATH, AddressSpaces, Mapping
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
    """One ELF image: its name, symbols (maybe none) and CFI (maybe none).

    Shared by the ``Modules`` of the process (``_SHARED``): what it caches does not
    depend on a run's options (names as the binary spells them).
    """

    __slots__ = ("_names", "cfi", "image", "name")

    def __init__(self, name: str, image: ElfImage | None, cfi: CfiTable | None) -> None:
        self.name = name
        self.image = image
        self.cfi = cfi
        self._names: dict[int, tuple[str | None, int, int | None]] = Cache(1 << 16)

    def symbolize(self, vaddr: int) -> tuple[str | None, int, int | None]:
        """(function, offset in it, None), or (None, vaddr, its FDE's start or None);
        the function's name as the binary spells it (``Modules.frame`` shows it)."""
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
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_SYMBOLS = "symbols"
#: A cache entry's ``version``: 2 keys it by build id and the file's fingerprint (1,
#: the bare facts, was keyed by build id alone: ignored, rewritten).
_ENTRY_VERSION = 2
#: Larger entries are not read (libc's is about 1 MiB).
_MAX_ENTRY = 256 << 20


def _warn_on_stderr(text: str) -> None:
    sys.stderr.write(f"ktrdump: {text}\n")


def _untrusted(path: str) -> str | None:
    """Why the file at ``path`` (symlinks resolved) may hold what another user chose, or
    None: it and every directory above it must belong to the effective user or root,
    and no other may write them (a directory others write, /tmp, only with its sticky
    bit: no one can then rename or remove what is ours in it). A build id is only a
    note a file carries: anyone can give a file of their own any build id, and its
    symbols would name the frames."""
    me = os.geteuid()
    current = os.path.realpath(path)
    is_file = True
    while True:
        try:
            status = os.stat(current)
        except OSError as error:
            return f"{current}: {error.strerror or error}"
        if status.st_uid not in (me, 0):
            return f"{current} belongs to another user (uid {status.st_uid})"
        if status.st_mode & 0o022 and (is_file or not status.st_mode & stat.S_ISVTX):
            return f"{current} may be written by other users"
        parent = os.path.dirname(current)
        if parent == current:
            return None
        current, is_file = parent, False


def _module_name(path: bytes) -> str:
    text = path.decode("utf-8", "backslashreplace")
    return text if text.startswith("[") else os.path.basename(text)


#: Modules by (build id, path), shared by every ``Modules`` of the process (a dump of
#: several traces, a benchmark's second pass): symbols and decoded CFI are read once.
_SHARED: dict[tuple[bytes, bytes], Module] = {}


class Modules:
    """Every module a trace's mappings name, loaded on first use.

    ``warn`` gets one line (without the ``ktrdump:`` prefix) per module whose
    file could not be used, saying why: its frames then show as offsets.
    ``demangle`` shows a function's name (None: as the binary spells it).
    """

    def __init__(self, spaces: AddressSpaces, debug_root: str = DEBUG_ROOT,
                 cache_dir: str | None = None,
                 warn: Callable[[str], None] | None = None,
                 demangle: Callable[[str], str] | None = None) -> None:
        self.spaces = spaces
        self.demangle = demangle if demangle is not None else raw_name
        self.debug_root = debug_root
        self.cache_dir = cache_dir
        self.warn = warn if warn is not None else _warn_on_stderr
        self._modules: dict[tuple[bytes, bytes, bool], Module] = {}
        self._frames: dict[tuple[int, int, bool], Frame] = Cache(1 << 16)
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._cache_refused = False  # the cache directory is not private: said once

    def prepare(self, mapping: Mapping) -> None:
        stale = bool(mapping.flags & _PATH_STALE)
        # A module is its build id and path: two files of one build id (a copy with
        # other content) are two modules, each file checked on its own. Without a
        # build id, a stale path (deleted or replaced when recorded) is another
        # module than the file now there.
        key = (mapping.build_id, mapping.path, False if mapping.build_id else stale)
        module = self._modules.get(key)
        if module is None:
            shared = (mapping.build_id, mapping.path)
            module = _SHARED.get(shared) if mapping.build_id else None
            if module is None:
                module = self._load(mapping)
                if mapping.build_id and module.image is not None:
                    _SHARED[shared] = module
            self._modules[key] = module
        mapping.module = module
        mapping.bias = self._bias(module, mapping)

    def _load(self, mapping: Mapping) -> Module:
        name = _module_name(mapping.path)
        path, why = self._file_for(mapping)
        if path is None:
            # The symbols kept on disk for this build id still name its functions
            # (no file is at hand to check them against).
            image = self._cached(mapping.build_id, None)
            if image is None and why is not None:
                self.warn(f"{display_text(mapping.path)}: {why}; its frames are shown as "
                          f"offsets")
            return Module(name, image, None)
        fingerprint = (symbols_fingerprint(path)
                       if mapping.build_id and self.cache_dir is not None else None)
        image = self._cached(mapping.build_id, fingerprint) if fingerprint else None
        if image is None:
            try:
                image = open_image(path)
            except ElfError as error:
                self.warn(f"{display_text(mapping.path)}: cannot read its symbols ({error}); "
                          f"its frames are shown as offsets")
                return Module(name, None, None)
            for note in image.notes:  # a debug file passed over (CRC mismatch)
                self.warn(note)
            if (fingerprint is not None and not mapping.image
                    # (an image the trace holds, the vDSO's, is the trace's word alone:
                    # a crafted one carrying libc's build id must not name libc later)
                    and image.build_id == mapping.build_id.hex()
                    and image.identity == fingerprint.identity  # not changed while read
                    # Kept only from files no other user could have made: an entry
                    # serves later traces of that build id whose file is not at hand,
                    # and anyone can give a file of theirs any build id (libc's).
                    and _untrusted(path) is None
                    and (image.debug_path is None or _untrusted(image.debug_path) is None)):
                self._store(image, fingerprint)
        cfi: CfiTable | None = None
        try:
            with open_regular(path) as handle:
                cfi = CfiTable(ELFFile(handle))
        except Exception:  # an unreadable or damaged file: no CFI, frame pointers only
            cfi = None
        if cfi is not None and not cfi.has_cfi:
            cfi = None
        return Module(name, image, cfi)

    # -- the disk cache: DIR/symbols/<build-id>.json ------------------------------

    def _cache_dir_fd(self, create: bool) -> int | None:
        """A descriptor of ``DIR/symbols``, or None: it must be the effective user's and
        private (``DIR`` written by its owner alone), neither reached through a symlink;
        created 0700 when ``create``. One line through ``warn`` when refused."""
        if self.cache_dir is None or self._cache_refused:
            return None
        try:
            if create:
                os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
            top = os.open(self.cache_dir, _DIR_FLAGS)
        except FileNotFoundError as error:
            if create:  # a parent that cannot hold it (/proc/x): said, as other failures
                self._refuse(f"cannot be created ({error.strerror or error})")
            return None  # (not created yet: nothing cached, no word)
        except OSError as error:
            self._refuse(f"cannot be opened ({error.strerror or error})")
            return None
        try:
            status = os.fstat(top)
            if status.st_uid != os.geteuid() or status.st_mode & 0o022:
                self._refuse("is not a directory only you write to")
                return None
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(_SYMBOLS, 0o700, dir_fd=top)
            try:
                below = os.open(_SYMBOLS, _DIR_FLAGS, dir_fd=top)
            except FileNotFoundError:
                return None
            status = os.fstat(below)
            if status.st_uid != os.geteuid() or status.st_mode & 0o077:
                os.close(below)
                self._refuse(f"{_SYMBOLS}/ is not a private directory of yours")
                return None
            return below
        except OSError as error:
            self._refuse(f"{_SYMBOLS}/ cannot be used ({error.strerror or error})")
            return None
        finally:
            os.close(top)

    def _refuse(self, why: str) -> None:
        self._cache_refused = True
        self.warn(f"symbol cache {self.cache_dir} {why}: not used")

    @staticmethod
    def _entry_name(build_id: str) -> str | None:
        return build_id + ".json" if re.fullmatch(r"[0-9a-f]{2,80}", build_id) else None

    def _cached(self, build_id: bytes, fingerprint: Fingerprint | None) -> ElfImage | None:
        """The kept image of ``build_id``: when ``fingerprint`` is given (the file is at
        hand), only if the entry was made from a file with that fingerprint (and its
        debug file, if one gave symbols, is unchanged); else a stale or mismatched
        entry is ignored (and rewritten by ``_store``)."""
        name = self._entry_name(build_id.hex()) if build_id else None
        directory = self._cache_dir_fd(create=False) if name else None
        if directory is None or name is None:
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=directory)
        except OSError:
            return None
        finally:
            os.close(directory)
        try:
            with os.fdopen(fd, "rb") as handle:
                status = os.fstat(handle.fileno())
                if (not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid()
                        or status.st_size > _MAX_ENTRY):
                    return None
                entry = json.loads(handle.read())
            if (not isinstance(entry, dict) or entry.get("version") != _ENTRY_VERSION
                    or entry.get("build_id") != build_id.hex()):
                return None  # an older entry (keyed by build id alone), or not one
            if fingerprint is not None:
                if entry.get("source") != fingerprint.digest:
                    return None
                debug = entry.get("debug")
                if debug is not None:
                    found = symbols_fingerprint(str(entry["facts"].get("debug_path")))
                    if found is None or found.digest != debug:
                        return None
            image = ElfImage.from_facts(entry["facts"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None
        return image if image.build_id == build_id.hex() else None

    def _store(self, image: ElfImage, fingerprint: Fingerprint) -> None:
        """Keep ``image`` under its build id with the fingerprint of the file it was read
        from: written 0600 to a fresh name (never through a symlink), then renamed."""
        name = self._entry_name(image.build_id or "")
        debug = None
        if image.debug_path is not None:
            found = symbols_fingerprint(image.debug_path)
            if found is None:
                return
            debug = found.digest
        directory = self._cache_dir_fd(create=True) if name else None
        if directory is None or name is None:
            return
        entry = {"version": _ENTRY_VERSION, "build_id": image.build_id,
                 "source": fingerprint.digest, "debug": debug, "facts": image.facts()}
        temporary = f".{name}.{os.getpid()}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                         | os.O_CLOEXEC, 0o600, dir_fd=directory)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    json.dump(entry, handle, separators=(",", ":"))
                os.rename(temporary, name, src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary, dir_fd=directory)
                raise
        except OSError:
            pass  # a cache that cannot be written only costs time
        finally:
            os.close(directory)

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
                    with open_regular(path):
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
        its build id is that one and no other user could have put it there
        (``_untrusted``: one that could is passed over, said once)."""
        for candidate in search_paths(build_id, [self.cache_dir] if self.cache_dir else []):
            if not os.path.isfile(candidate):
                continue
            why = _untrusted(candidate)
            if why is not None:
                self.warn(f"{display_text(os.fsencode(candidate))}: not used: {why}")
                continue
            if read_build_id(candidate) == build_id:
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
            trampoline = self.spaces.find(pid, pc) if return_address else None
            if trampoline is not None and trampoline.path == UPROBES_PATH:
                # a return probe's trampoline (at its mapping's start) whose replaced
                # return address the trace does not have: the walk ended there
                return Frame(pc, None, UPROBES_FRAME, pc - trampoline.start)
            return Frame(pc, None, None, pc)
        if mapping.module is False:
            self.prepare(mapping)
        module: Module = mapping.module
        vaddr = lookup - mapping.bias
        # a return address's frame has its offset one past the looked-up byte: a pc
        # named as it is and the return address one above it share the lookup only
        key = (id(module), vaddr, return_address)
        found = self._frames.get(key)
        if found is None:
            function, offset, start = module.symbolize(vaddr)
            if function is not None:
                # shown here, not in the shared Module: this cache (of this Modules
                # alone) keeps the shown name, so each address asks once per run
                function = self.demangle(function)
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
