"""What the fuzzer runs each input through: the reading API and every ktrdump view
(trace inputs), and the ELF readers (ELF inputs: ``formats.elf``, ``formats.dwarf_args``).

Everything runs in-process (in the fuzzer's worker). The only exceptions a
target may raise are the documented ones (``DOCUMENTED_ERRORS``: ktrdump's
``KtrdumpError`` from opening a trace; ``ELF_DOCUMENTED_ERRORS``: ``ElfError``);
anything else is a finding.

Guarantees: each target reads the input to its end and discards the output.
Does not: limit memory or time (``run`` does, around the worker).
"""

from __future__ import annotations

import importlib.util
import io
import os
from collections.abc import Callable

import ktrdump
from formats import dwarf_args
from formats.elf import ElfError, ElfImage, clear_cache, open_image, read_build_id
from ktrdump import cli
from ktrdump.errors import KtrdumpError

#: The views, as ktrdump command lines (PATH is the input; twice for the merge;
#: OUT a file beside it, for the views that write files).
VIEWS: dict[str, list[str]] = {
    "text": ["PATH"],
    "text-options": ["-x", "-H", "-T", "--durations", "PATH"],
    "text-raw": ["-n", "-d", "-E", "-R", "PATH"],
    "json": ["--json", "PATH"],
    "json-fds": ["--json", "-y", "PATH"],
    "strace": ["--format", "strace", "PATH"],
    "strace-fds": ["--format", "strace", "-y", "PATH"],
    "summary": ["--summary", "PATH"],
    "chrome": ["--format", "chrome", "PATH"],
    "calls": ["--format", "calls", "PATH"],
    "folded": ["--format", "folded", "PATH"],
    "fds": ["-y", "PATH"],
    "merge": ["PATH", "PATH"],
    "salvage-json": ["--salvage", "--json", "PATH"],
    "salvage-strace": ["--salvage", "--format", "strace", "PATH"],
    "salvage-summary": ["--salvage", "--summary", "PATH"],
}

#: Views that need an optional dependency: (view, module, command line).
OPTIONAL_VIEWS = [("parquet", "pyarrow", ["--format", "parquet", "-o", "OUT", "PATH"])]

DOCUMENTED_ERRORS: tuple[type[Exception], ...] = (KtrdumpError,)
ELF_DOCUMENTED_ERRORS: tuple[type[Exception], ...] = (ElfError,)
#: The name a stripped seed's .gnu_debuglink gives: each ELF input is written under it
#: too, beside the input, so the debug-file path reads mutated bytes as well.
ELF_DEBUGLINK_NAME = "lib64.debug"


class _Sink(io.RawIOBase):
    """A binary stdout that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def api_events(path: str, data: bytes) -> None:
    with ktrdump.open(io.BytesIO(data)) as trace:
        for _ in trace.events():
            pass


def api_raw_events(path: str, data: bytes) -> None:
    with ktrdump.open(io.BytesIO(data)) as trace:
        for _ in trace.raw_events():
            pass


def api_salvage(path: str, data: bytes) -> None:
    """``--salvage``'s reader: unverified records and a damaged header read past."""
    with ktrdump._reader.open_trace(io.BytesIO(data), salvage=True) as trace:
        for _ in trace.events():
            pass


def _view(arguments: list[str], path: str) -> Callable[[str, bytes], None]:
    # Parsed once: argparse costs as much as a view of a small input.
    places = {"PATH": path, "OUT": f"{path}.out.parquet"}
    options = cli.parse_options([places.get(a, a) for a in arguments])

    def run_view(input_path: str, data: bytes) -> None:
        assert input_path == path, "targets are made for one input path"
        sink = io.BufferedWriter(_Sink())
        cli.run(options, sink, io.StringIO())
        sink.flush()
    return run_view


def make_targets(path: str) -> dict[str, Callable[[str, bytes], None]]:
    """Every target, for inputs written to ``path`` (the views read the file)."""
    views = dict(VIEWS)
    for name, module, arguments in OPTIONAL_VIEWS:
        if importlib.util.find_spec(module) is not None:
            views[name] = arguments
    return {
        "api.events": api_events,
        "api.raw_events": api_raw_events,
        "api.salvage": api_salvage,
        **{f"view.{name}": _view(arguments, path) for name, arguments in views.items()},
    }


def _exercise(image: ElfImage) -> None:
    """What ktr and ktrdump ask of an image: lookups, symbolization, instruction checks."""
    for sym in image.functions[:64]:
        image.lookup(sym.name)
        image.symbolize(sym.vaddr + 1)
        image.symbolize_offset(sym.vaddr)
        image.is_instruction_boundary(sym, 4)
        image.instruction_boundaries(sym)
        if sym.ifunc:
            image.ifunc_implementations(sym)
    image.match("*a*")
    image.vaddr_to_offset(0x1000)
    image.read_code(0x1000, 64)
    ElfImage.from_facts(image.facts())


def elf_image(path: str, data: bytes) -> None:
    image = ElfImage(path, debug_root=os.path.dirname(path))
    _exercise(image)


def elf_open_image(path: str, data: bytes) -> None:
    clear_cache()  # one path rewritten per input: the cache would answer from the last one
    read_build_id(path)
    _exercise(open_image(path))


def elf_dwarf_args(path: str, data: bytes) -> None:
    # signature() answers None for any exception, a MemoryError included, which would hide
    # an unbounded allocation from the fuzzer: the index is built directly first.
    try:
        dwarf_args._index(path)
    except MemoryError:
        raise
    except Exception:  # what signature() turns into None: damaged DWARF is documented
        pass
    dwarf_args.clear_cache()  # cached by path, which every input shares
    for name in ("add", "count"):
        dwarf_args.signature(path, name, 0)
    try:
        image = ElfImage(path, debug_root=os.path.dirname(path))
    except ElfError:
        return
    for sym in image.functions[:32]:
        dwarf_args.signature(path, sym.name, sym.vaddr)


def make_elf_targets(path: str) -> dict[str, Callable[[str, bytes], None]]:
    """The ELF readers' targets, for ELF inputs written to ``path``."""
    return {"elf.image": elf_image, "elf.open_image": elf_open_image,
            "elf.dwarf_args": elf_dwarf_args}
