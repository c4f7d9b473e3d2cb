"""Function probes in ktrdump: the probe table, typed values, and entry/return pairing.

``ProbeTable`` learns each probe from its PROBE_DEF record (module, function, point, types)
and renders PROBE records with it: ``label`` (``MODULE:FUNCTION:POINT`` with the module's file
name), ``values`` (arguments typed as the definition says: integers as numbers, ``str`` as
text) and ``retval``. A PROBE whose definition is missing (a trace cut before it) still
renders, from the record's own name and raw values.

``CallStack`` pairs entries with returns per thread, as ``uftrace replay`` does: a return
closes the innermost open call of the same function; calls still open at the end are
reported unfinished. It feeds the calls view (``--format calls``), ``--summary``'s probe
table (calls, total and self time) and ``--format chrome``'s slices.

Guarantees: never raises on a record ``formats`` decoded; memory is bounded by the open
calls per live thread (a return probe that never comes leaves its entry until the thread's
stack unwinds past it: an entry deeper than ``MAX_DEPTH`` drops the oldest).

Does not: read files or print (the views do).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from formats import (
    PROBE_STRING_FAULT,
    PROBE_STRING_TRUNCATED,
    ProbeArgType,
    ProbeDef,
    ProbeSite,
    Record,
    RecordKind,
)

from ._text import display_text, json_string

MAX_DEPTH = 1024
_U32 = 0xFFFF_FFFF


@dataclass(frozen=True, slots=True)
class ProbeInfo:
    probe_id: int
    module: str  # the file name
    function: str
    site: int
    point_offset: int
    types: tuple[int, ...]

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


def _info_from_def(payload: ProbeDef) -> ProbeInfo:
    module = os.path.basename(os.fsdecode(payload.module))
    return ProbeInfo(payload.probe_id, module, payload.function.decode("utf-8", "replace"),
                     payload.site, payload.point_offset, tuple(payload.types))


def _strings(data: bytes) -> list[tuple[bytes | None, bool]]:
    out: list[tuple[bytes | None, bool]] = []
    position = 0
    while position + 4 <= len(data):
        word = int.from_bytes(data[position : position + 4], "little")
        position += 4
        if word == PROBE_STRING_FAULT:
            out.append((None, False))
            continue
        length = word & ~PROBE_STRING_TRUNCATED & _U32
        out.append((data[position : position + length], bool(word & PROBE_STRING_TRUNCATED)))
        position += length
    return out


def _typed(kind: int, raw: int) -> int:
    if kind in (ProbeArgType.I64,):
        return raw - (1 << 64) if raw >= 1 << 63 else raw
    if kind in (ProbeArgType.U32, ProbeArgType.X32):
        return raw & _U32
    if kind == ProbeArgType.I32:
        raw &= _U32
        return raw - (1 << 32) if raw >= 1 << 31 else raw
    return raw


_HEX = frozenset({ProbeArgType.X64, ProbeArgType.X32, ProbeArgType.PTR})


class ProbeTable:
    """Probe definitions seen so far, and rendering of PROBE payloads with them."""

    def __init__(self) -> None:
        self.probes: dict[int, ProbeInfo] = {}

    def learn(self, payload: ProbeDef) -> ProbeInfo:
        info = _info_from_def(payload)
        self.probes[payload.probe_id] = info
        return info

    def info(self, payload: Any) -> ProbeInfo:
        info = self.probes.get(payload.probe_id)
        if info is not None:
            return info
        name = payload.name.decode("utf-8", "replace")
        module, _, function = name.rpartition(":")
        count = len(payload.args) if payload.site != ProbeSite.RETURN else 1
        return ProbeInfo(payload.probe_id, module, function or name, payload.site,
                         payload.offset, (int(ProbeArgType.U64),) * count)

    def values(self, payload: Any) -> list[tuple[int, int | bytes | None, bool]]:
        """(type, value, truncated) per argument, or the return value for return probes."""
        info = self.info(payload)
        strings = iter(_strings(payload.strings))
        raws = [payload.value] if payload.site == ProbeSite.RETURN else list(payload.args)
        out: list[tuple[int, int | bytes | None, bool]] = []
        for index, raw in enumerate(raws):
            kind = info.types[index] if index < len(info.types) else int(ProbeArgType.U64)
            if kind == ProbeArgType.STR:
                text, cut = next(strings, (None, False))
                out.append((kind, text, cut))
            else:
                out.append((kind, _typed(kind, raw), False))
        return out

    def text_values(self, payload: Any) -> list[str]:
        rendered = []
        for kind, value, cut in self.values(payload):
            if isinstance(value, bytes):
                rendered.append(f'"{display_text(value)}"' + ("..." if cut else ""))
            elif value is None:
                rendered.append("(unreadable)")
            elif kind in _HEX:
                rendered.append("NULL" if kind == ProbeArgType.PTR and value == 0
                                else f"{value:#x}")
            else:
                rendered.append(str(value))
        return rendered

    def json_values(self, payload: Any) -> list[str]:
        rendered = []
        for _kind, value, _cut in self.values(payload):
            if isinstance(value, bytes):
                rendered.append(json_string(value))
            elif value is None:
                rendered.append("null")
            else:
                rendered.append(str(value))
        return rendered


# -- pairing entries with returns -------------------------------------------------------------


@dataclass(slots=True)
class ProbeCall:
    """One probed function call: its entry, and its return once paired."""

    pid: int
    tid: int
    comm: bytes
    function: str  # MODULE:FUNCTION
    start_ns: int
    depth: int
    args: list[str]
    end_ns: int | None = None
    retval: str | None = None
    child_ns: int = 0  # time spent in probed calls made from this one

    @property
    def duration_ns(self) -> int | None:
        return None if self.end_ns is None else self.end_ns - self.start_ns


@dataclass
class CallStack:
    """Entry/return pairing per thread (see the module docstring)."""

    table: ProbeTable = field(default_factory=ProbeTable)
    stacks: dict[int, list[ProbeCall]] = field(default_factory=dict)

    def feed(self, record: Record) -> Iterator[tuple[str, ProbeCall]]:
        """Events for one record: ("enter", call), ("exit", call), ("point", call)."""
        kind = record.kind
        if kind == RecordKind.PROBE_DEF:
            self.table.learn(record.payload)  # type: ignore[arg-type]
            return
        if kind != RecordKind.PROBE:
            return
        payload: Any = record.payload
        info = self.table.info(payload)
        stack = self.stacks.setdefault(record.tid, [])
        if payload.site == ProbeSite.ENTRY:
            call = ProbeCall(record.pid, record.tid, record.comm, info.function_key,
                             record.timestamp_ns, len(stack), self.table.text_values(payload))
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
                    call.retval = self.table.text_values(payload)[0]
                    if stack:
                        stack[-1].child_ns += call.end_ns - call.start_ns
                    yield "exit", call
                    return
            # a return without its entry (entry before the recording, or not probed)
            call = ProbeCall(record.pid, record.tid, record.comm, info.function_key,
                             record.timestamp_ns, len(stack), [], record.timestamp_ns,
                             self.table.text_values(payload)[0])
            yield "exit", call
        else:
            call = ProbeCall(record.pid, record.tid, record.comm, info.label,
                             record.timestamp_ns, len(stack), self.table.text_values(payload),
                             record.timestamp_ns)
            yield "point", call

    def unfinished(self) -> Iterator[ProbeCall]:
        for stack in self.stacks.values():
            yield from stack
