"""Function probes in ktrdump: the probe table, typed values, and entry/return pairing.

``ProbeTable`` learns each probe from its PROBE_DEF record (module, function, point, types)
and renders PROBE records with it: ``label`` (``MODULE:FUNCTION:POINT`` with the module's file
name), ``values`` (arguments typed as the definition says: integers as numbers, ``str`` as
text) and ``retval``. A PROBE whose definition is missing (a trace cut before it) still
renders, from the record's own name and raw values. The return address and slot an entry
probe carries after its typed values (PROBE_DEF RETURN_ADDRESS) are not values; the hits
of the recorder's own probes (HIDDEN) are not calls (``_returns`` takes them out of the
views' stream; ``CallStack`` and ``CallsDescriber`` skip any left, from undecoded batches).

``CallStack`` pairs entries with returns per thread, as ``uftrace replay`` does: a return
closes the innermost open call of the same function; calls still open at the end are
reported unfinished. A DROP record (records lost there: any thread's entries and returns
may be among them) abandons every open call, as unfinished: a return after it is never
paired with an entry before it (the gap could hide thousands of calls). It feeds
``--summary``'s probe table (calls, total and self time) and ``--format chrome``'s slices.

A probed function's name is shown through the ``demangle`` given to ``ProbeTable``
(and to ``CallStack``, ``CallsDescriber``, ``ProbeSummary``, which make one): ktrdump's
run passes its ``formats.demangle.Demangler`` (C++ names as ``c++filt`` prints them,
raw with ``--no-demangle``); without one, names are shown as the binary spells them.

Guarantees: never raises on a record ``formats`` decoded; memory is bounded by the open
calls per live thread (a return probe that never comes leaves its entry until the thread's
stack unwinds past it: an entry deeper than ``MAX_DEPTH`` drops the oldest).

Does not: read files or print (the views do).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from formats import (
    DROP_CAUSES,
    ByteOrder,
    DropError,
    ProbeArgType,
    ProbeDef,
    ProbeDefFlag,
    ProbeSite,
    Record,
    RecordKind,
    probe_strings,
    struct_data,
)
from formats.demangle import raw_name, without_parameters

from ._bounded import Table
from ._text import display_text, json_string, plural, quoted

MAX_DEPTH = 1024


class ProbeInfo(NamedTuple):
    probe_id: int
    module: str  # the file name
    function: str
    site: int
    point_offset: int
    types: tuple[int, ...]
    #: PROBE_DEF flags: RETURN_ADDRESS (entry PROBEs carry two values after the typed
    #: ones: not arguments, not shown here), HIDDEN (the recorder's own: not shown)
    flags: int = 0

    @property
    def void(self) -> bool:
        """A return probe of a function that returns nothing (PROBE_DEF VOID_RETURN)."""
        return self.site == ProbeSite.RETURN and bool(self.flags & ProbeDefFlag.VOID_RETURN)

    @property
    def point(self) -> str:
        if self.site == ProbeSite.RETURN:
            return "return"
        if self.site == ProbeSite.OFFSET:
            return "offset"
        return "entry"

    @property
    def label(self) -> str:
        tail = f"+{self.point_offset:#x}" if self.site == ProbeSite.OFFSET else self.point
        return f"{self.module}:{self.function}:{tail}"

    @property
    def function_key(self) -> str:
        return f"{self.module}:{self.function}"


def _info_from_def(payload: ProbeDef, demangle: Callable[[str], str]) -> ProbeInfo:
    module = os.path.basename(os.fsdecode(payload.module))
    # a C++ function as c++filt shows it (the run's Demangler; raw with --no-demangle)
    function = demangle(payload.function.decode("utf-8", "replace"))
    return ProbeInfo(payload.probe_id, module, function,
                     payload.site, payload.point_offset, tuple(payload.types), payload.flags)


def shown_raws(payload: Any, info: ProbeInfo) -> list[int]:
    """The raw values to show: the return value (none for a function that returns
    nothing: VOID_RETURN), or the arguments (without the return address and slot a
    RETURN_ADDRESS entry probe carries after them)."""
    if payload.site == ProbeSite.RETURN:
        return [] if info.flags & ProbeDefFlag.VOID_RETURN else [payload.value]
    if info.flags & ProbeDefFlag.RETURN_ADDRESS and payload.site == ProbeSite.ENTRY:
        return list(payload.args[:len(info.types)])
    return list(payload.args)


def _shown(name: str) -> str:
    """A probe's ``MODULE:FUNCTION`` for a text view: its file and symbol names come from
    the traced program, so control characters are escaped (as ``-t f`` shows labels)."""
    return display_text(name.encode("utf-8", "surrogateescape"))


def _called(key: str) -> str:
    """``_shown(key)`` before a call's own arguments: a demangled C++ name's parameter
    list is cut (``cpx:ns::W<long>::go(int)`` -> ``cpx:ns::W<long>::go``), as uftrace
    shows calls, so the line reads ``go(1703665839)``, not ``go(int)(1703665839)``; the
    whole name stays where it names the function alone (``} /* ... */``, tables)."""
    return _shown(without_parameters(key))


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: type -> (width in bits, signed) of the integer types narrower than the raw u64
_NARROW = {ProbeArgType.U32: (32, False), ProbeArgType.X32: (32, False),
           ProbeArgType.I32: (32, True), ProbeArgType.U16: (16, False),
           ProbeArgType.I16: (16, True), ProbeArgType.U8: (8, False), ProbeArgType.I8: (8, True)}


def _typed(kind: int, raw: int) -> int:
    if kind in (ProbeArgType.I64,):
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    narrow = _NARROW.get(kind)  # type: ignore[call-overload]
    if narrow is not None:
        # the bits above the type's width are undefined (the ABI): the type's own bits
        bits, signed = narrow
        raw &= (1 << bits) - 1
        return raw - (1 << bits) if signed and raw >> (bits - 1) else raw
    return raw


_HEX = frozenset({ProbeArgType.X64, ProbeArgType.X32, ProbeArgType.PTR})


class ProbeTable:
    """Probe definitions seen so far, and rendering of PROBE payloads with them.

    A PROBE's ``strings`` are read by ``formats.probe_strings.decode`` in the trace's
    byte order (``order``). Damaged ``strings`` (an entry cut short, a length past the
    end) give the ``str`` values of the whole entries before the damage; the ``str``
    values after it show their pointers, as unreadable ones do, and the damage is said:
    in ``text_values`` as ``/* strings damaged at byte N of M: ... */`` after the first
    value it took (or the last value), in ``last_damage`` for ``json_fields``' callers.
    So is a field whose count of entries is not the PROBE_DEF's count of ``str`` values
    (``_entries``). ``demangle`` shows a function's name (None: as the binary spells it).
    """

    def __init__(self, order: ByteOrder = "little",
                 demangle: Callable[[str], str] | None = None) -> None:
        self.order: ByteOrder = order
        self.demangle = demangle if demangle is not None else raw_name
        self.probes: dict[int, ProbeInfo] = {}
        self.returns: set[str] = set()  # MODULE:FUNCTION of the functions with return probes
        self.last_exact: dict[int, str] = {}  # the last ``json_fields``' invalid UTF-8 strs
        #: the last ``values``/``json_fields``' damage of ``strings`` (None: whole)
        self.last_damage: struct_data.Damage | None = None
        self._taken = 0  # the last ``_entries``' count

    def learn(self, payload: ProbeDef) -> ProbeInfo:
        info = _info_from_def(payload, self.demangle)
        self.probes[payload.probe_id] = info
        if info.site == ProbeSite.RETURN:
            self.returns.add(info.function_key)
        return info

    def info(self, payload: Any) -> ProbeInfo:
        info = self.probes.get(payload.probe_id)
        if info is not None:
            return info
        name = payload.name.decode("utf-8", "replace")
        module, _, function = name.rpartition(":")
        count = len(payload.args) if payload.site != ProbeSite.RETURN else 1
        return ProbeInfo(payload.probe_id, module, self.demangle(function or name), payload.site,
                         payload.offset, (int(ProbeArgType.U64),) * count)

    def values(self, payload: Any) -> list[tuple[int, int | bytes | None, bool]]:
        """(type, value, truncated) per argument, or the return value for return probes.

        A ``str`` whose memory could not be read is its pointer (an int); None only
        when even that is missing, and for a ``float`` (never fetched: shown as ``?``).
        """
        info = self.info(payload)
        raws = shown_raws(payload, info)
        strings = iter(self._entries(payload, info, len(raws)))
        out: list[tuple[int, int | bytes | None, bool]] = []
        for index, raw in enumerate(raws):
            kind = info.types[index] if index < len(info.types) else int(ProbeArgType.U64)
            if kind == ProbeArgType.STR:
                text, cut = next(strings, (None, False))
                out.append((kind, raw if text is None else text, cut))
            elif kind == ProbeArgType.FLOAT:
                out.append((kind, None, False))
            else:
                out.append((kind, _typed(kind, raw), False))
        return out

    def _entries(self, payload: Any, info: ProbeInfo, count: int
                 ) -> list[probe_strings.ProbeString]:
        """The whole entries of ``payload.strings`` for the first ``count`` of ``info``'s
        types (its damage in ``last_damage``).

        The recorder writes one entry per ``str`` value; with the probe's PROBE_DEF known,
        a field of fewer entries is damaged at its end (the ``str`` values without one
        show their pointers), and one of more at the first entry no ``str`` value takes
        (those entries are not shown). A probe without its PROBE_DEF has no ``str`` types
        to count (its values are raw)."""
        data = payload.strings
        expected = (sum(1 for kind in info.types[:count] if kind == ProbeArgType.STR)
                    if payload.probe_id in self.probes else -1)
        if not data and expected <= 0:
            self.last_damage = None
            self._taken = 0
            return []
        entries, damage = probe_strings.decode(data, self.order)
        if expected >= 0 and len(entries) > expected:
            # the first entry beyond the definition's: the damage starts there
            position = sum(probe_strings.WORD_SIZE + (0 if value is None else len(value))
                           for value, _ in entries[:expected])
            damage = struct_data.Damage(
                position, len(data), f"more entries than the definition's {expected} "
                f"str value{'' if expected == 1 else 's'}")
            del entries[expected:]
        elif damage is None and expected >= 0 and len(entries) < expected:
            damage = struct_data.Damage(
                len(data), len(data), f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}"
                f" for the definition's {expected} str values")
        self.last_damage = damage
        self._taken = len(entries)
        return entries

    def text_values(self, payload: Any) -> list[str]:
        """As uftrace and strace print them; an unreadable string as its pointer, NULL for 0.

        Damaged ``strings``: ``/* strings damaged at byte N of M: ... */`` follows the
        first ``str`` value the damage took (its pointer), or else the last value."""
        rendered = []
        values = self.values(payload)
        damage = self.last_damage
        for kind, value, cut in values:
            if isinstance(value, bytes):
                rendered.append(quoted(value) + ("..." if cut else ""))
            elif kind == ProbeArgType.FLOAT:
                rendered.append("?")  # in an xmm register: not fetched
            elif value is None:
                rendered.append("(unreadable)")
            elif kind == ProbeArgType.STR:
                rendered.append(f"{value:#x}" if value else "NULL")
            elif kind in _HEX:
                rendered.append("NULL" if kind == ProbeArgType.PTR and value == 0
                                else f"{value:#x}")
            else:
                rendered.append(str(value))
        if damage is not None:
            comment = f"/* strings {damage} */"
            strs = [i for i, (kind, _, _) in enumerate(values) if kind == ProbeArgType.STR]
            taken = self._taken
            at = strs[taken] if taken < len(strs) else len(rendered) - 1
            if at < 0:
                rendered.append(comment)
            else:
                rendered[at] += " " + comment
        return rendered

    def json_values(self, payload: Any) -> list[str]:
        return self.json_fields(payload)[0]

    def json_fields(self, payload: Any) -> tuple[list[str], list[str], list[str]]:
        """(values, addresses, truncated) as JSON texts, one per argument (the return value
        for return probes). A ``str`` value is its text, null when unreadable or NULL; its
        address is the pointer, its truncated flag true when the cap (or the kernel's limit)
        cut it. The other types' addresses and flags are null and false. The last two lists
        are empty when the probe has no ``str`` value. Damaged ``strings``: the ``str``
        values after the damage are null, the damage in ``last_damage``."""
        info = self.info(payload)
        raws = shown_raws(payload, info)
        strings = iter(self._entries(payload, info, len(raws)))
        rendered: list[str] = []
        # A str value that is not valid UTF-8 is U+FFFD-replaced in ``rendered``;
        # its exact bytes in hex, by argument index (``docs/json.md``, "Bytes").
        self.last_exact = {}
        addresses: list[str] = []
        truncated: list[str] = []
        any_string = False
        for index, raw in enumerate(raws):
            kind = info.types[index] if index < len(info.types) else int(ProbeArgType.U64)
            if kind == ProbeArgType.STR:
                any_string = True
                text, cut = next(strings, (None, False))
                rendered.append("null" if text is None else json_string(text))
                if text is not None and not _is_utf8(text):
                    self.last_exact[index] = text.hex()
                addresses.append(str(raw))
                truncated.append("true" if cut else "false")
            elif kind == ProbeArgType.FLOAT:
                rendered.append("null")  # in an xmm register: not fetched
                addresses.append("null")
                truncated.append("false")
            else:
                rendered.append(str(_typed(kind, raw)))
                addresses.append("null")
                truncated.append("false")
        if not any_string:
            return rendered, [], []
        return rendered, addresses, truncated


# -- pairing entries with returns -------------------------------------------------------------


def _returned(values: list[str]) -> str | None:
    """A return probe's value as text; None for a function that returns nothing."""
    return values[0] if values else None


class ProbeCall:
    """One probed function call: its entry, and its return once paired."""

    # Plain classes here, not dataclasses: generating a dataclass's methods
    # costs about a millisecond of every ktrdump start-up.
    __slots__ = ("args", "child_ns", "comm", "depth", "end_ns", "function", "pid", "retval",
                 "start_ns", "tid")

    def __init__(self, pid: int, tid: int, comm: bytes, function: str, start_ns: int,
                 depth: int, args: list[str], end_ns: int | None = None,
                 retval: str | None = None) -> None:
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.function = function  # MODULE:FUNCTION
        self.start_ns = start_ns
        self.depth = depth
        self.args = args
        self.end_ns = end_ns
        self.retval = retval
        self.child_ns = 0  # time spent in probed calls made from this one

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns


class CallStack:
    """Entry/return pairing per thread (see the module docstring)."""

    def __init__(self, order: ByteOrder = "little",
                 demangle: Callable[[str], str] | None = None) -> None:
        # ``order``: the trace's byte order; ``demangle``: names shown (None: raw)
        self.table = ProbeTable(order, demangle)
        self.stacks: dict[int, list[ProbeCall]] = {}

    def feed(self, record: Record) -> Iterator[tuple[str, ProbeCall]]:
        """Events for one record: ("enter", call), ("exit", call) for a paired return,
        ("orphan", call) for a return whose entry is not in the trace, ("point", call);
        at a DROP, ("abandon", call) for every open call, innermost first per thread."""
        kind = record.kind
        if kind == RecordKind.PROBE_DEF:
            self.table.learn(record.payload)  # type: ignore[arg-type]
            return
        if kind == RecordKind.DROP:
            stacks = self.stacks
            self.stacks = {}
            for stack in stacks.values():
                for call in reversed(stack):
                    yield "abandon", call
            return
        if kind != RecordKind.PROBE:
            return
        payload: Any = record.payload
        info = self.table.info(payload)
        if info.flags & ProbeDefFlag.HIDDEN:
            return  # the recorder's own entry probe (its return address): not a call
        stack = self.stacks.setdefault(record.tid, [])
        if payload.site == ProbeSite.ENTRY:
            call = ProbeCall(record.pid, record.tid, record.comm, info.function_key,
                             record.timestamp_ns, len(stack), self.table.text_values(payload))
            if info.function_key in self.table.returns:
                if len(stack) >= MAX_DEPTH:
                    del stack[0]
                stack.append(call)
            yield "enter", call
        elif payload.site == ProbeSite.RETURN:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index].function == info.function_key:
                    call = stack[index]
                    # calls above it returned without a return probe: they end here too
                    del stack[index:]
                    call.end_ns = record.timestamp_ns
                    call.retval = _returned(self.table.text_values(payload))
                    if stack:
                        stack[-1].child_ns += call.end_ns - call.start_ns
                    yield "exit", call
                    return
            # a return without its entry (entry before the recording, or not probed)
            call = ProbeCall(record.pid, record.tid, record.comm, info.function_key,
                             record.timestamp_ns, len(stack), [], record.timestamp_ns,
                             _returned(self.table.text_values(payload)))
            yield "orphan", call
        else:
            call = ProbeCall(record.pid, record.tid, record.comm, info.label,
                             record.timestamp_ns, len(stack), self.table.text_values(payload),
                             record.timestamp_ns)
            yield "point", call

    def unfinished(self) -> Iterator[ProbeCall]:
        for stack in self.stacks.values():
            yield from stack


# -- the views --------------------------------------------------------------------------------


def _duration(ns: int) -> str:
    """uftrace's duration column: value and unit, 10 characters wide."""
    if ns < 1_000_000:
        return f"{ns / 1000:7.3f} us"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:7.3f} ms"
    return f"{ns / 1_000_000_000:7.3f}  s"


class CallsDescriber:
    """``ktrdump --format calls``: probed calls per thread, nested, as ``uftrace replay``.

    One line per call: a leaf (its return follows its entry with nothing probed between on
    its thread) as ``func(args) = retval;`` with its duration; otherwise ``func(args) {`` and,
    at its return, ``} = retval; /* func */`` with the duration. Functions probed at entry
    only are ``func(args);`` lines without a duration; offset probes are
    ``func+0xOFF(args);``. A thread's leaf is held until its next probe event, so lines
    of different threads may come out of time order (each thread's are in order).
    A DROP (records lost) is a ``/* N records lost (REASON) */`` line, after every open
    call has been closed as ``} /* func: return lost */``: a return after the loss is
    never paired with an entry before it.
    Records other than PROBE/PDEF/DROP are ignored, and so are the PROBE records
    ``keep`` (the ``-p``/``-t`` filter, ``record_filter``) does not keep.

    ``--since``/``--until`` (``window``: where a time lies, -1 before the window, 0 in it,
    1 after it; ``track``: the ``-p``/``-t`` filter without the window) follow
    ``uftrace replay --time-range``: the entries before the window are still paired, so a
    call that began before ``--since`` and returns in the window is closed as any call is,
    ``} = retval; /* func */`` with its whole duration, at its depth (its entry line is
    not shown). A call open at ``--until`` whose return is after it is closed as
    ``} /* func: returns after --until */`` (without a duration), where ``uftrace`` lists it
    among the functions remaining at the end: the return is in the trace, outside the
    window, not missing.

    ``min_duration_ns`` (``--min-duration``, uftrace replay's ``-t``/``--time-filter``):
    only calls that lasted at least that long are shown. A call's duration is known at
    its return, so a thread's lines are held while it has a call open and shown when
    its outermost call returns; a call shorter than the threshold goes with its lines
    (its callees, never longer than it, go too), and so do lines with no duration
    (entry-only and offset probes, calls whose return is not in the trace), as
    ``--min-duration`` drops unfinished syscalls. DROP lines are kept. Past
    ``MAX_HELD_LINES`` held lines on a thread, its open calls are shown on what their
    entries said (memory stays bounded when ``main`` never returns).
    """

    defer_entries = False

    def __init__(self, keep: Callable[[Record], bool] | None = None,
                 min_duration_ns: int | None = None, order: ByteOrder = "little",
                 demangle: Callable[[str], str] | None = None,
                 window: Callable[[int], int] | None = None,
                 track: Callable[[Record], bool] | None = None) -> None:
        self.keep = keep
        self._window = window  # --since/--until: -1 before, 0 in, 1 after
        self._track = track  # the records ``keep`` keeps but for the window
        # ``order``: the trace's byte order; ``demangle``: names shown (None: raw)
        self.table = ProbeTable(order, demangle)
        # tid -> (function, start, serial of the call)
        self._stacks: dict[int, list[tuple[str, int, int]]] = Table()
        # tid -> a possible leaf: its entry, text, depth and serial
        self._held: dict[int, tuple[Record, str, int, int]] = Table()
        self._returns: set[str] = set()
        self._header = True
        self.probes_seen = 0  # PROBE records in the input, kept or not: none says why
        self.lines_shown = 0  # lines of calls and DROPs (the header not counted)
        self._minimum = min_duration_ns
        self._serial = 0
        # With a minimum: each thread's lines held while a call is open, with the serial
        # of the call they belong to (_NO_CALL: no duration, _ALWAYS: a DROP line).
        self._lines: dict[int, list[tuple[str, int]]] = Table()
        self._hidden: set[int] = set()  # calls shorter than the minimum
        self._forced: set[int] = set()  # open calls shown because too much was held

    @property
    def calls_open(self) -> bool:
        """Whether a probed call is open: a line (its return's, a leaf's) is still to come
        from a later PROBE (``--until``'s reading stops only once none is)."""
        return bool(self._held) or any(self._stacks.values())

    def _prefix(self, record: Record, duration: str) -> str:
        return f"{duration:>10} [{record.tid:6d}] | "

    def _put(self, out: list[str], tid: int, serial: int, line: str) -> None:
        if self._minimum is None:
            out.append(line)
            return
        lines = self._lines.get(tid)
        if lines is None:
            lines = self._lines[tid] = []
        lines.append((line, serial))
        if len(lines) > MAX_HELD_LINES:
            self._forced.update(serial for *_, serial in self._stacks.get(tid, ()))
            self._release(out, tid)

    def _release(self, out: list[str], tid: int) -> None:
        """A thread's held lines whose calls are decided, in order (with a minimum)."""
        lines = self._lines.pop(tid, None)
        if not lines:
            return
        hidden, forced = self._hidden, self._forced
        out.extend(line for line, serial in lines
                   if serial == _ALWAYS or serial in forced
                   or (serial >= 0 and serial not in hidden))
        if not self._stacks.get(tid):  # every call of these lines has ended: forget them
            for _, serial in lines:
                hidden.discard(serial)
                forced.discard(serial)

    def _ended(self, serial: int, duration_ns: int | None) -> None:
        """A call's return (or its loss: no duration) decides whether it is shown."""
        minimum = self._minimum
        if minimum is not None and serial not in self._forced and (
                duration_ns is None or duration_ns < minimum):
            self._hidden.add(serial)

    def describe(self, records: list[Record]) -> list[str]:
        out: list[str] = []
        if self._header:
            out.append("# DURATION     TID     FUNCTION\n")
            self._header = False
        start = len(out)
        for record in records:
            kind = record.kind
            if kind == RecordKind.PROBE_DEF:
                info = self.table.learn(record.payload)  # type: ignore[arg-type]
                if info.site == ProbeSite.RETURN:
                    self._returns.add(info.function_key)
                continue
            if kind == RecordKind.DROP:
                self._drop(record, out)
                continue
            if kind != RecordKind.PROBE:
                continue
            self.probes_seen += 1
            if self.keep is not None and not self.keep(record):
                window = self._window
                if window is not None and (self._track is None or self._track(record)):
                    side = window(record.timestamp_ns)
                    if side:  # hidden by the window alone: its calls still pair
                        self._outside(record, side < 0, out)
                        if self._minimum is not None and not self._stacks.get(record.tid):
                            self._release(out, record.tid)
                continue
            self._probe(record, out)
            if self._minimum is not None and not self._stacks.get(record.tid):
                self._release(out, record.tid)
        self.lines_shown += len(out) - start
        return out

    def _drop(self, record: Record, out: list[str]) -> None:
        """Records lost here: the open calls' returns may be among them."""
        if self._window is not None and self._window(record.timestamp_ns) < 0:
            # before --since: the open calls are the window's unseen ones, never shown
            self._stacks.clear()
        else:
            self._close_open(out, "return lost")
        payload: Any = record.payload
        try:
            reason = DropError(payload.error).name
        except ValueError:
            reason = f"errno {payload.error}"
        if (cause := DROP_CAUSES.get(payload.error)) is not None:
            reason += f": {cause}"
        out.append(f"{'':>10} [{record.tid:6d}] | /* {plural(payload.lost, 'record')} lost "
                   f"({reason}) */\n")

    def _outside(self, record: Record, before: bool, out: list[str]) -> None:
        """A PROBE before (``before``) or after the --since/--until window: no line of
        its own. An entry before the window opens its call unseen; a return before it
        closes one unseen; a return after it closes a call shown open."""
        payload: Any = record.payload
        info = self.table.info(payload)
        if info.flags & ProbeDefFlag.HIDDEN:
            return
        tid = record.tid
        key = info.function_key
        stack = self._stacks.get(tid)
        if before and payload.site == ProbeSite.ENTRY and key in self._returns:
            if stack is None:
                stack = self._stacks[tid] = []
            self._serial += 1
            if len(stack) >= MAX_DEPTH:
                del stack[0]
            stack.append((key, record.timestamp_ns, self._serial))
            return
        if payload.site != ProbeSite.RETURN or not stack:
            return
        index = next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] == key), None)
        if index is None:
            return
        if not before:  # (before the window: no line of these calls was shown)
            for *_, inner in stack[index + 1:]:
                self._ended(inner, None)  # (returns lost: never paired now)
            serial = stack[index][2]
            self._ended(serial, None)
            self._flush_held(tid, out)
            self._put(out, tid, serial, f"{'':>10} [{tid:6d}] | {'  ' * index}}} /* "
                      f"{_shown(key)}: returns after --until */\n")
        del stack[index:]

    def _flush_held(self, tid: int, out: list[str]) -> None:
        held = self._held.pop(tid, None)
        if held is None:
            return
        record, text, depth, serial = held
        self._put(out, tid, serial, f"{self._prefix(record, '')}{'  ' * depth}{text} {{\n")

    def _probe(self, record: Record, out: list[str]) -> None:
        payload: Any = record.payload
        info = self.table.info(payload)
        if info.flags & ProbeDefFlag.HIDDEN:
            return  # the recorder's own entry probe (its return address): not a call
        tid = record.tid
        stack = self._stacks.get(tid)
        if stack is None:  # (not setdefault: the table's bound applies to ``[]=`` only)
            stack = self._stacks[tid] = []
        key = info.function_key
        if payload.site == ProbeSite.ENTRY:
            self._flush_held(tid, out)
            text = f"{_called(key)}({', '.join(self.table.text_values(payload))})"
            if key not in self._returns:
                self._put(out, tid, _NO_CALL,
                          f"{self._prefix(record, '')}{'  ' * len(stack)}{text};\n")
                return
            self._serial += 1
            self._held[tid] = (record, text, len(stack), self._serial)
            if len(stack) >= MAX_DEPTH:
                del stack[0]
            stack.append((key, record.timestamp_ns, self._serial))
            return
        if payload.site == ProbeSite.RETURN:
            returned = _returned(self.table.text_values(payload))
            retval = "" if returned is None else f" = {returned}"  # (void: none)
            index = next((i for i in range(len(stack) - 1, -1, -1) if stack[i][0] == key), None)
            if index is None:
                self._flush_held(tid, out)
                self._put(out, tid, _NO_CALL, f"{self._prefix(record, '')}{'  ' * len(stack)}"
                          f"{_called(key)}(){retval}; /* entry not in the trace */\n")
                return
            _, start, serial = stack[index]
            elapsed = record.timestamp_ns - start
            duration = _duration(elapsed)
            for *_, inner in stack[index + 1:]:
                self._ended(inner, None)  # (returns lost: never paired now)
            self._ended(serial, elapsed)
            held = self._held.get(tid)
            if held is not None and index == len(stack) - 1 and held[2] == index:
                del self._held[tid]
                self._put(out, tid, serial, f"{self._prefix(record, duration)}{'  ' * index}"
                          f"{held[1]}{retval};\n")
            else:
                self._flush_held(tid, out)
                self._put(out, tid, serial, f"{self._prefix(record, duration)}{'  ' * index}"
                          f"}}{retval}; /* {_shown(key)} */\n")
            del stack[index:]
            return
        self._flush_held(tid, out)
        self._put(out, tid, _NO_CALL,
                  f"{self._prefix(record, '')}{'  ' * len(stack)}{_called(key)}+{payload.offset:#x}"
                  f"({', '.join(self.table.text_values(payload))});\n")

    def finish(self) -> list[str]:
        out: list[str] = []
        self._close_open(out, "no return in the trace")
        self.lines_shown += len(out)
        return out

    def _close_open(self, out: list[str], why: str) -> None:
        """Every call still open, closed innermost first with ``why``; none is left open."""
        for tid in list(self._held):
            self._flush_held(tid, out)
        for tid, stack in self._stacks.items():
            for depth in range(len(stack) - 1, -1, -1):
                function, _, serial = stack[depth]
                self._ended(serial, None)
                self._put(out, tid, serial, f"{'':>10} [{tid:6d}] | {'  ' * depth}}} /* "
                          f"{_shown(function)}: {why} */\n")
            stack.clear()
        for tid in list(self._lines):
            self._release(out, tid)


#: Serials of lines that belong to no call: no duration (hidden under a minimum), and
#: lines always shown.
_NO_CALL = -1
_ALWAYS = -2
#: Held lines per thread, under --min-duration, before its open calls are shown anyway.
MAX_HELD_LINES = 65536


class FunctionStats:
    __slots__ = ("calls", "returned", "self_ns", "total_ns")

    def __init__(self) -> None:
        self.calls = 0
        self.returned = 0
        self.total_ns = 0
        self.self_ns = 0


class ProbeSummary:
    """``--summary``'s table of probed functions: calls, total and self time.

    Total time runs from each entry to its return; self time is the total minus the time
    spent in probed calls made from it (uftrace report's columns). Calls without a return
    in the trace (or functions probed at entry only, or open at a DROP) count as calls
    without time.
    """

    def __init__(self, pids: frozenset[int] = frozenset(),
                 min_duration_ns: int | None = None, order: ByteOrder = "little",
                 demangle: Callable[[str], str] | None = None) -> None:
        self.stack = CallStack(order, demangle)  # ``demangle``: names shown (None: raw)
        self.functions: dict[str, FunctionStats] = {}
        self.pids = pids  # only these processes' or threads' calls (empty: all)
        # --min-duration: only calls that returned after at least this long are counted
        # (as the calls view shows them); their self time is as measured
        self.minimum = min_duration_ns

    def add_records(self, records: Iterable[Record]) -> None:
        pids = self.pids
        for record in records:
            kind = record.kind
            if (kind != RecordKind.PROBE and kind != RecordKind.PROBE_DEF
                    and kind != RecordKind.DROP):  # a DROP abandons the open calls
                continue
            if (pids and kind == RecordKind.PROBE and record.pid not in pids
                    and record.tid not in pids):
                continue
            minimum = self.minimum
            for event, call in self.stack.feed(record):
                if minimum is not None and (event != "exit"
                                            or (call.duration_ns or 0) < minimum):
                    continue
                stats = self.functions.setdefault(call.function, FunctionStats())
                if event in ("enter", "orphan", "point"):
                    stats.calls += 1
                elif event == "exit":
                    duration = call.duration_ns or 0
                    if minimum is not None:
                        stats.calls += 1  # (counted at its return: its time decides)
                    stats.returned += 1
                    stats.total_ns += duration
                    stats.self_ns += duration - call.child_ns

    def lines(self) -> list[str]:
        if not self.functions:
            return []
        out = ["", "function probes:",
               f"{'Total time':>12}  {'Self time':>12}  {'Calls':>10}  Function",
               f"{'=' * 12}  {'=' * 12}  {'=' * 10}  {'=' * 30}"]
        rows = sorted(self.functions.items(), key=lambda item: (-item[1].total_ns, item[0]))
        for name, stats in rows:
            total = _duration(stats.total_ns) if stats.returned else "-"
            own = _duration(stats.self_ns) if stats.returned else "-"
            out.append(f"{total:>12}  {own:>12}  {stats.calls:>10}  {_shown(name)}")
        return [line + "\n" for line in out]


class ProbeDurationFilter:
    """``--min-duration`` for the views that show PROBE records one by one (chrome's
    slices, parquet's probes table), as ``--format calls`` applies it: a probed call's
    entry and return are kept when it lasted at least ``minimum_ns``; a shorter call goes
    (its callees, never longer than it, go too), and so do PROBE records with no duration
    (entry-only and offset probes, returns whose entry is not in the trace, calls whose
    return never came), as ``--min-duration`` drops unfinished syscalls.

    A duration is known at the return, so records are held, in order, while an earlier
    entry is undecided; other records wait with them (the order of the input is kept).
    Past ``MAX_HELD_LINES`` held records the oldest undecided call is kept on what its
    entry said (memory stays bounded when ``main`` never returns). PROBE_DEF and DROP
    records and every other kind are kept.
    """

    def __init__(self, minimum_ns: int) -> None:
        from collections import deque

        self.minimum = minimum_ns
        self.stack = CallStack()  # names raw: it pairs calls by them, shows none
        #: (record, its fate: [None] undecided, [True] kept, [False] left out)
        self._queue: deque[tuple[Record, list[bool | None]]] = deque()
        #: per thread, the open calls with their fates, as the CallStack holds them
        self._open: dict[int, list[tuple[ProbeCall, list[bool | None]]]] = {}

    def feed(self, records: Iterable[Record]) -> list[Record]:
        """The records now decided and kept, in input order."""
        queue = self._queue
        kept: list[bool | None] = [True]
        for record in records:
            kind = record.kind
            if kind != RecordKind.PROBE and kind != RecordKind.DROP:
                if kind == RecordKind.PROBE_DEF:
                    self.stack.table.learn(record.payload)  # type: ignore[arg-type]
                queue.append((record, kept))
                continue
            fate: list[bool | None] = [False]
            for event, call in self.stack.feed(record):
                if event == "enter" and call.function in self.stack.table.returns:
                    fate = [None]
                    self._open.setdefault(call.tid, []).append((call, fate))
                elif event == "exit":
                    fate = self._closed(call)
                    if fate[0] is None:
                        fate[0] = (call.end_ns or 0) - call.start_ns >= self.minimum
                elif event == "abandon":  # a DROP: its return may be among the lost
                    abandoned = self._closed(call)
                    if abandoned[0] is None:
                        abandoned[0] = False
            if kind == RecordKind.DROP:
                fate = kept
            queue.append((record, fate))
            self._settle(record.tid)
        return self._release()

    def finish(self) -> list[Record]:
        """The rest: calls still open at the end of the input are left out."""
        for stack in self._open.values():
            for _, fate in stack:
                if fate[0] is None:
                    fate[0] = False
        self._open.clear()
        return self._release()

    def _closed(self, call: ProbeCall) -> list[bool | None]:
        """The fate of ``call``, ended; the calls above it (returned without their return
        probe's hit) are left out."""
        stack = self._open.get(call.tid, [])
        for index in range(len(stack) - 1, -1, -1):
            if stack[index][0] is call:
                for _, above in stack[index + 1 :]:
                    if above[0] is None:
                        above[0] = False
                fate = stack[index][1]
                del stack[index:]
                return fate
        return [None]

    def _settle(self, tid: int) -> None:
        """Calls the CallStack let go of without an event (past MAX_DEPTH) are left out."""
        mine = self._open.get(tid)
        if not mine or len(mine) <= MAX_DEPTH:
            return
        live = {id(call) for call in self.stack.stacks.get(tid, ())}
        for call, fate in mine:
            if id(call) not in live and fate[0] is None:
                fate[0] = False
        mine[:] = [(call, fate) for call, fate in mine if id(call) in live]

    def _release(self) -> list[Record]:
        queue = self._queue
        out: list[Record] = []
        while queue:
            record, fate = queue[0]
            if fate[0] is None:
                if len(queue) <= MAX_HELD_LINES:
                    break
                fate[0] = True  # held too long: kept on what its entry said
            queue.popleft()
            if fate[0]:
                out.append(record)
        return out
