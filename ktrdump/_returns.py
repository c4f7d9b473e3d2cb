"""Return addresses hidden by return probes, given back to the stack samples.

A return probe (uretprobe) replaces a probed function's return address on the
stack with the kernel's trampoline (in the process's ``[uprobes]`` mapping)
until the function returns, so a stack sample taken meanwhile unwinds to the
trampoline and no further. ``ktr record`` captures, at each such function's
entry, the word at the stack pointer (the return address it was called with)
and the stack pointer (its slot): the extra values of the entry PROBEs whose
PROBE_DEF has RETURN_ADDRESS (``formats/SPEC.md``, "Return addresses").

``ReturnAddresses`` reads a trace's records in time order (the views' stream,
after the reorder window) and keeps, per thread, the outstanding slots: an
entry adds (slot, address) and ends the slots below it (frames gone); a return
PROBE ends the innermost slot holding the address it returned to (and the ones
below it); a sample's stack pointer ends the slots below it. Each SAMPLE of a
thread with outstanding slots is handed on with ``returns`` (slot -> the
addresses captured there, oldest first), which ``_unwind`` uses where a
return address read from that slot is the trampoline. The recorder's own
entry probes (PROBE_DEF HIDDEN) and their hits are taken out of the stream:
no view shows them.

Guarantees: never makes up a caller: a return address is replaced only when
the slot it was read from holds the trampoline and the trace captured that
slot's address; otherwise the unwind stops at the trampoline's frame. Memory
is bounded: ``MAX_SLOTS`` slots per thread, ``_bounded.Table`` threads.
A trace without RETURN_ADDRESS probes passes through unchanged (one check per
record of each batch).
Does not: unwind or read the ``[uprobes]`` mapping (``_unwind`` does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from formats import ProbeDefFlag, ProbeSite, ProcEvent, Record, RecordKind, Sample

from ._bounded import Table

_PROBE = int(RecordKind.PROBE)
_PROBE_DEF = int(RecordKind.PROBE_DEF)
_SAMPLE = int(RecordKind.SAMPLE)
_PROC = int(RecordKind.PROC)
_ENTRY = int(ProbeSite.ENTRY)
_RETURN = int(ProbeSite.RETURN)
_GONE = frozenset({int(ProcEvent.EXEC), int(ProcEvent.EXIT)})
_SP_BIT = 7  # perf_event's x86 register number of sp (and i386's esp)
#: Outstanding slots kept per thread (the kernel nests at most 64 return probes).
MAX_SLOTS = 1024
#: Addresses kept per slot: more than one only for a call made from a probed function
#: whose own return is pending, with no frame of its own (a tail call), which the
#: kernel chains: the newer one is then the trampoline's address itself.
MAX_PER_SLOT = 4


class ReturnsSample(Sample):
    """A SAMPLE with the return addresses its thread's return probes replaced:
    ``returns`` maps a stack slot to the addresses captured there, oldest first."""

    returns: Mapping[int, tuple[int, ...]]


class ReturnAddresses:
    """The per-thread outstanding return addresses of a trace (module docstring)."""

    def __init__(self) -> None:
        self._capturing: dict[int, int] = {}  # probe id -> its count of typed values
        self._hidden: set[int] = set()
        self._slots: Table[int, dict[int, list[int]]] = Table()  # tid -> slot -> addresses
        #: tid -> its slots as ``returns`` has them (made again after a change)
        self._frozen: Table[int, Mapping[int, tuple[int, ...]]] = Table()

    def feed(self, records: list[Record]) -> list[Record]:
        """``records`` (one batch, in time order) with samples given their ``returns``
        and the hidden probes' records left out."""
        if not self._capturing and not any(record[0] == _PROBE_DEF for record in records):
            return records
        out: list[Record] = []
        append = out.append
        for record in records:
            kind = record[0]
            if kind == _SAMPLE:
                slots = self._slots.get(record[3])
                if slots:
                    record = self._annotated(record, slots)
            elif kind == _PROBE:
                payload: Any = record[6]
                probe_id = payload.probe_id
                if payload.site == _RETURN:
                    self._returned(record[3], payload.pc)
                elif probe_id in self._capturing and payload.site == _ENTRY:
                    self._entered(record[3], payload.args, self._capturing[probe_id])
                if probe_id in self._hidden:
                    continue
            elif kind == _PROBE_DEF:
                definition: Any = record[6]
                flags = definition.flags
                if flags & ProbeDefFlag.RETURN_ADDRESS and definition.site == _ENTRY:
                    self._capturing[definition.probe_id] = len(definition.types)
                else:
                    self._capturing.pop(definition.probe_id, None)
                if flags & ProbeDefFlag.HIDDEN:
                    self._hidden.add(definition.probe_id)
                    continue
                self._hidden.discard(definition.probe_id)
            elif kind == _PROC and record[6][0] in _GONE:
                # an exec (the thread's stack is new) or an exit: its slots are gone
                self._forget(record[3])
            append(record)
        return out

    def stream(self, events: Iterator[Any]) -> Iterator[Any]:
        """``feed`` applied to each batch of a views' event stream (notices pass)."""
        for event in events:
            yield self.feed(event) if isinstance(event, list) else event

    def _forget(self, tid: int) -> None:
        if self._slots.pop(tid, None) is not None:
            self._frozen.pop(tid, None)

    def _entered(self, tid: int, args: tuple[int, ...], typed: int) -> None:
        if len(args) < typed + 2:
            return  # damaged: no capture
        address, slot = args[typed], args[typed + 1]
        slots = self._slots.get(tid)
        if slots is None:
            slots = self._slots[tid] = {}
        for gone in [s for s in slots if s < slot]:  # frames below the new one: returned
            del slots[gone]
        kept = slots.get(slot)
        if kept is None:
            if len(slots) >= MAX_SLOTS:
                del slots[max(slots)]  # the outermost: the least likely to be unwound to
            slots[slot] = [address]
        else:
            kept.append(address)
            if len(kept) > MAX_PER_SLOT:
                del kept[0]
        self._frozen.pop(tid, None)

    def _returned(self, tid: int, address: int) -> None:
        slots = self._slots.get(tid)
        if not slots:
            return
        holding = [slot for slot, addresses in slots.items() if address in addresses]
        if not holding:
            return
        innermost = min(holding)
        for gone in [s for s in slots if s <= innermost]:
            del slots[gone]
        self._frozen.pop(tid, None)

    def _annotated(self, record: Record, slots: dict[int, list[int]]) -> Record:
        tid = record[3]
        payload: Any = record[6]
        mask = payload.regs_mask
        if mask >> _SP_BIT & 1:
            index = bin(mask & ((1 << _SP_BIT) - 1)).count("1")
            if index < len(payload.regs):
                sp = payload.regs[index]
                gone = [s for s in slots if s < sp]  # below the stack pointer: returned
                if gone:
                    for slot in gone:
                        del slots[slot]
                    self._frozen.pop(tid, None)
                    if not slots:
                        return record
        frozen = self._frozen.get(tid)
        if frozen is None:
            frozen = self._frozen[tid] = {slot: tuple(addresses)
                                          for slot, addresses in slots.items()}
        sample = ReturnsSample._make(payload)
        sample.returns = frozen
        return record._replace(payload=sample)
