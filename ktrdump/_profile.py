"""Stack samples: unwound and named (``Stacks``), aggregated into folded stacks and tops.

``Stacks`` follows a trace's MMAP and PROC records (``observe``) and turns a
SAMPLE record into its frames (``frames``), innermost first: DWARF unwinding
(``_unwind``) then symbols (``_symbols``). ``Profile`` counts samples per
(command, stack) for ``ktrdump --format folded`` (``comm;outer;…;leaf COUNT``,
what flamegraph.pl, inferno and speedscope read; with ``-H``, per thread: the root
frame ``comm-PID/TID``, as ``stackcollapse-perf.pl --tid`` writes it) and per
function, self and total, for ``--summary``. ``profile_lines`` / ``folded_lines`` format them.

A sample taken in the kernel has a ``[kernel]`` leaf frame above the user
stack at the system call. Frames are named by function, else
``module+0xSTART`` where the module's unwind tables (``.eh_frame`` FDEs) say
a function starts at link-time address START (so one unnamed function is one
frame, as one named one is), else ``module+0xoffset`` (link-time address of
the pc), else ``[unknown]``. A function's name is shown through the
``demangle`` given to ``Stacks`` (ktrdump's run: its ``Demangler``, C++ names
as ``c++filt`` prints them unless ``--no-demangle``); without one, as the
binary spells it. A SAMPLE text line adds where in an unnamed
function: ``module+0xSTART+0xOFFSET``. A stack that ends at a return probe's
trampoline whose replaced return address the trace does not have (``_unwind``,
``_returns``) ends with a ``[uprobes]`` frame; so does a sample taken in a
probe's single-step slot that the trace does not tie to the probe it copies
(``_returns``; where it does, the frame is the probed code's).

Guarantees: memory is bounded by the distinct stacks and pcs of the trace,
not by the number of samples; nothing here raises on odd sample data.
Symbols and CFI (pyelftools) are imported at the first sample unwound, so a
view of a trace without samples never pays for them.
Does not: read files itself (``_symbols`` does), or write output.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from formats import Record, RecordKind

from ._bounded import Cache, Table
from ._maps import UPROBES_FRAME, AddressSpaces
from ._text import display_str, display_text, encode_basestring

if TYPE_CHECKING:
    from ._symbols import Frame, Modules
    from ._unwind import RowSource

_SAMPLE = int(RecordKind.SAMPLE)
_MMAP = int(RecordKind.MMAP)
_PROC = int(RecordKind.PROC)
KERNEL_FRAME = "[kernel]"


class Stacks:
    """Address spaces and modules of one trace: frames of its samples.

    Per process, CFI rows and frame names are cached by pc until an MMAP or
    PROC record of that process changes its maps (a fork or exec).
    """

    def __init__(self, cache_dir: str | None = None,
                 warn: Callable[[str], None] | None = None,
                 demangle: Callable[[str], str] | None = None) -> None:
        self.spaces = AddressSpaces()
        self._cache_dir = cache_dir
        self._warn = warn  # a module's file that cannot be used (None: on sys.stderr)
        # how a function's name is shown (ktrdump's run: its Demangler; None: raw)
        self._demangle = demangle
        self._modules: Modules | None = None
        self._rows: dict[int, RowSource] = Table(1 << 12)
        self._names: dict[int, dict[int, tuple[Frame, str]]] = Table(1 << 12)

    @property
    def modules(self) -> Modules:
        """The trace's modules (symbols, CFI), made at the first sample unwound."""
        return self._loaded()

    def _loaded(self) -> Modules:
        """The modules, and the unwinder with them, loaded at the first use.

        Symbols and CFI need pyelftools (~50 ms of imports), loaded here rather
        than at ktrdump's start: most traces have no samples, and mappings and
        process events are followed without it.
        """
        if self._modules is None:
            from ._symbols import Frame, Modules
            from ._unwind import RowSource, unwind

            self._frame = Frame
            self._row_source = RowSource
            self._unwind = unwind
            self._modules = Modules(self.spaces, cache_dir=self._cache_dir, warn=self._warn,
                                    demangle=self._demangle)
        return self._modules

    def observe(self, record: Record) -> None:
        self.spaces.observe(record)
        pid = record[2]
        self._rows.pop(pid, None)
        self._names.pop(pid, None)
        if record[0] == _PROC:
            payload: Any = record[6]
            child: int = payload[2]
            self._rows.pop(child, None)
            self._names.pop(child, None)

    def _source(self, pid: int) -> RowSource:
        source = self._rows.get(pid)
        if source is None:
            modules = self._loaded()
            source = self._rows[pid] = self._row_source(pid, self.spaces, modules)
        return source

    def pcs(self, record: Record) -> list[int]:
        self._loaded()
        return self._unwind(record[6], self._source(record[2]))

    def named(self, record: Record) -> list[tuple[Frame, str]]:
        """The sample's frames with their labels, innermost first."""
        payload: Any = record[6]
        pid = record[2]
        frame = self._loaded().frame
        pcs = self._unwind(payload, self._source(pid))
        names = self._names.get(pid)
        if names is None:
            names = self._names[pid] = Cache(1 << 14)
        out: list[tuple[Frame, str]] = []
        index = 0
        if payload[4] & 1:  # in the kernel: its pc names no user module
            out.append((self._frame(pcs[0], None, KERNEL_FRAME, pcs[0]), KERNEL_FRAME))
            index = 1
        for position in range(index, len(pcs)):
            pc = pcs[position]
            # The first user pc is where the thread was (a kernel sample's saved ip: the
            # next instruction to run after an interrupt, fault or trap, possibly a
            # function's first), never a return address: it is looked up as it is, as
            # the unwinder looks it up; the callers' pcs are return addresses (pc - 1).
            returned = position > index
            key = pc << 1 | returned
            found = names.get(key)
            if found is None:
                named = frame(pid, pc, returned)
                found = names[key] = (named, frame_label(named))
            out.append(found)
        return out

    def frames(self, record: Record) -> list[Frame]:
        """The sample's frames, innermost first."""
        return [frame for frame, _ in self.named(record)]

    def close(self) -> None:
        if self._modules is not None:
            self._modules.close()


def frame_label(frame: Frame) -> str:
    if frame.module == KERNEL_FRAME or (frame.module == UPROBES_FRAME and frame.function is None):
        return frame.module
    return frame.label()


class Profile:
    """Samples counted per stack and per function."""

    def __init__(self, stacks: Stacks | None = None, *, thread_ids: bool = False) -> None:
        self.stacks = stacks if stacks is not None else Stacks()
        # -H: the root frame is comm-PID/TID, as stackcollapse-perf.pl --tid writes it
        # (a flame graph per thread); else the command alone
        self.thread_ids = thread_ids
        self.folded: Counter[tuple[str, ...]] = Counter()
        self.self_counts: Counter[str] = Counter()
        self.total_counts: Counter[str] = Counter()
        self.samples = 0
        self.threads: set[int] = set()

    def add_records(self, records: Iterable[Record]) -> None:
        stacks = self.stacks
        for record in records:
            kind = record[0]
            if kind == _SAMPLE:
                self.add_labels(record, [label for _, label in stacks.named(record)])
            elif kind in (_MMAP, _PROC):
                stacks.observe(record)

    def add_sample(self, record: Record, frames: list[Frame]) -> None:
        self.add_labels(record, [frame_label(f) for f in frames])

    def add_labels(self, record: Record, labels: list[str]) -> None:
        comm = display_text(record[5]).replace(";", ":") or "?"
        if self.thread_ids:
            comm = f"{comm}-{record[2]}/{record[3]}"
        self.folded[(comm, *reversed(labels))] += 1
        self.samples += 1
        self.threads.add(record[3])
        if labels:
            self.self_counts[labels[0]] += 1
            for label in set(labels):
                self.total_counts[label] += 1


def folded_lines(profile: Profile) -> list[str]:
    """``comm;outer;…;leaf COUNT`` lines, sorted by stack."""
    return [f"{';'.join(_clean(p) for p in stack)} {count}\n"
            for stack, count in sorted(profile.folded.items())]


def _clean(label: str) -> str:
    # Folded stacks separate frames with ';' and end with ' COUNT'; a symbol's control
    # characters (the traced program's names) are escaped, as the comm's are.
    return display_str(label.replace(";", ":").replace("\n", " "))


def profile_lines(profile: Profile, top: int = 20) -> list[str]:
    """The top functions by self and by total samples, as two tables."""
    if not profile.samples:
        return []
    total = profile.samples
    threads = len(profile.threads)
    lines = [f"\nProfile: {total} sample{'' if total == 1 else 's'}, {threads} "
             f"thread{'' if threads == 1 else 's'}\n"]
    for title, counts, other in (("self", profile.self_counts, profile.total_counts),
                                 ("total", profile.total_counts, profile.self_counts)):
        lines.append(f"\nTop functions by {title} samples:\n")
        lines.append("  self%     self  total%    total function\n")
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
        for name, count in ranked:
            self_count = count if title == "self" else other.get(name, 0)
            total_count = count if title == "total" else other.get(name, 0)
            lines.append(f"{100 * self_count / total:7.2f} {self_count:8d} "
                         f"{100 * total_count / total:7.2f} {total_count:8d} "
                         f"{display_str(name)}\n")
    return lines


def sample_text(frames: list[Frame], cpu: int) -> str:
    """The text of a SAMPLE line after its tag: CPU and frames, innermost first."""
    names = []
    for frame in frames:
        if frame.function is not None:
            names.append(f"{frame.function}+{frame.offset:#x}" if frame.offset else frame.function)
        elif frame.module and frame.start is not None and frame.module != KERNEL_FRAME:
            # Unnamed code in a known function (by its FDE): that function, then where.
            names.append(f"{frame.module}+{frame.start:#x}+{frame.offset - frame.start:#x}")
        else:
            names.append(frame_label(frame) if frame.module else f"{frame.pc:#x}")
    # symbol and file names are the traced program's: control characters escaped
    return f"cpu {cpu} " + " <- ".join(display_str(name) for name in names)


def frames_json(frames: list[Frame]) -> str:
    """The SAMPLE JSON ``frames`` list."""
    parts = []
    for frame in frames:
        function = "null" if frame.function is None else encode_basestring(frame.function)
        module = "null" if frame.module is None else encode_basestring(frame.module)
        parts.append(f'{{"pc":{frame.pc},"function":{function},"module":{module},'
                     f'"offset":{frame.offset}}}')
    return "[" + ",".join(parts) + "]"


def chrome_sample(stacks: Stacks, record: Record) -> tuple[str, str]:
    """A SAMPLE as a Chrome instant event: its name (the leaf) and ``args``.

    ``args``: ``cpu``, ``period_ns`` and ``stack`` (frame labels, outermost
    first, as folded stacks write them).
    """
    payload: Any = record[6]
    labels = [label for _, label in stacks.named(record)]
    stack = ",".join(encode_basestring(label) for label in reversed(labels))
    return (f"sample {labels[0] if labels else '[unknown]'}",
            f'{{"cpu":{payload.cpu},"period_ns":{payload.period},"stack":[{stack}]}}')
