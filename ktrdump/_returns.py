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

Single steps out of line: an entry or offset probe's instruction is copied
into a slot of the process's ``[uprobes]`` mapping (the kernel's XOL area:
``UPROBE_XOL_SLOT_BYTES`` = 128-byte slots from the mapping's start, slot 0
the return trampoline, the copy at its slot's start) and run there, one
instruction, after the probe's handler made the PROBE record; a sample taken
meanwhile (the copy's pc, or the pc after it while the kernel handles the
step's trap) has its user pc in the slot, where no CFI is. The kernel then
moves the pc back by (slot - probed address). So a SAMPLE whose thread's last
entry/offset PROBE since it was last seen outside ``[uprobes]`` has pc P, and
whose user pc is ``k`` bytes into a slot (``k`` < 16, the longest x86
instruction), is handed on with ``stepped`` = P + ``k``: the pc the thread is
at in its code, which ``_unwind`` walks from. A thread's pending probe ends
when a sample shows it elsewhere, at its exec or exit, and at every DROP
(a lost probe hit could be the one being stepped). A SAMPLE whose user pc is
at, or one past, an address some entry/offset PROBE of its process had (until
its exec; ``MAX_SITES`` kept) is handed on with ``trapped`` = that address,
for ``_unwind`` to decide from the stack whether the probed instruction was
done.

Guarantees: never makes up a caller: a return address is replaced only when
the slot it was read from holds the trampoline and the trace captured that
slot's address; otherwise the unwind stops at the trampoline's frame. A
sample in an XOL slot is moved only to the address of the probe its thread
hit last (nothing else can put a thread into a slot but another uprobe's hit,
whose PROBE the trace would hold — unless another tool's probe, not this
recording's, is on the same process: then its samples are moved to this
recording's probe). Memory is bounded: ``MAX_SLOTS`` slots per thread,
``_bounded.Table`` threads.
A trace without probes passes through unchanged (one check per record of
each batch).
Does not: unwind (``_unwind`` does).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from formats import ProbeDefFlag, ProbeSite, ProcEvent, Record, RecordKind, Sample

from ._bounded import Table
from ._maps import UPROBES_PATH

_PROBE = int(RecordKind.PROBE)
_PROBE_DEF = int(RecordKind.PROBE_DEF)
_SAMPLE = int(RecordKind.SAMPLE)
_PROC = int(RecordKind.PROC)
_MMAP = int(RecordKind.MMAP)
_DROP = int(RecordKind.DROP)
_KERNEL = 1  # SampleFlag.KERNEL: the sample's pc is the kernel's; the user pc is regs' ip
_IP_BIT = 8  # perf_event's x86 register number of ip (and i386's eip)
#: The kernel's x86 XOL slot size (arch/x86/include/asm/uprobes.h UPROBE_XOL_SLOT_BYTES)
XOL_SLOT = 128
#: Probe addresses kept per process (``trapped``)
MAX_SITES = 4096
#: The longest x86 instruction (MAX_UINSN_BYTES): a copy's pc is less than this into its slot
MAX_INSN = 16
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


def _user_pc(payload: Any) -> int | None:
    """A SAMPLE's user pc: its pc, or in the kernel the saved ip (None: not recorded)."""
    if not payload.flags & _KERNEL:
        return int(payload.pc)
    mask = payload.regs_mask
    index = bin(mask & ((1 << _IP_BIT) - 1)).count("1")
    if not mask >> _IP_BIT & 1 or index >= len(payload.regs):
        return None
    return int(payload.regs[index])


class ReturnsSample(Sample):
    """A SAMPLE with the return addresses its thread's return probes replaced:
    ``returns`` maps a stack slot to the addresses captured there, oldest first;
    ``stepped``: for a user pc in an XOL slot, the pc in the probed code it stands
    for (module docstring), else None; ``trapped``: P where the user pc is P or P + 1
    and P is an entry/offset probe's address in the process (``_unwind`` decides
    whether P's instruction was done), else None."""

    returns: Mapping[int, tuple[int, ...]]
    stepped: int | None
    trapped: int | None


class ReturnAddresses:
    """The per-thread outstanding return addresses of a trace (module docstring)."""

    def __init__(self) -> None:
        self._capturing: dict[int, int] = {}  # probe id -> its count of typed values
        self._hidden: set[int] = set()
        self._slots: Table[int, dict[int, list[int]]] = Table()  # tid -> slot -> addresses
        #: tid -> its slots as ``returns`` has them (made again after a change)
        self._frozen: Table[int, Mapping[int, tuple[int, ...]]] = Table()
        self._defined = False  # a PROBE_DEF was seen: probe hits may be single-stepped
        self._probed: Table[int, int] = Table()  # tid -> pc of its last entry/offset hit
        self._xol: Table[int, tuple[int, int]] = Table()  # pid -> its [uprobes] mapping
        self._sites: Table[int, set[int]] = Table()  # pid -> pcs its entry/offset hits had

    def feed(self, records: list[Record]) -> list[Record]:
        """``records`` (one batch, in time order) with samples given their ``returns``
        and the hidden probes' records left out."""
        if not self._defined:
            if not any(record[0] == _PROBE_DEF for record in records):
                return records
            self._defined = True
        out: list[Record] = []
        append = out.append
        for record in records:
            kind = record[0]
            if kind == _SAMPLE:
                slots = self._slots.get(record[3])
                stepped = trapped = None
                if self._probed or self._sites:
                    pc = _user_pc(record[6])
                    if pc is not None:
                        stepped = self._stepped(record, pc)
                        sites = self._sites.get(record[2])
                        if sites:
                            if pc in sites:
                                trapped = pc
                            elif pc - 1 in sites:
                                trapped = pc - 1
                if slots or stepped is not None or trapped is not None:
                    record = self._annotated(record, slots, stepped, trapped)
            elif kind == _PROBE:
                payload: Any = record[6]
                probe_id = payload.probe_id
                if payload.site == _RETURN:
                    self._returned(record[3], payload.pc)
                else:
                    self._probed[record[3]] = payload.pc
                    sites = self._sites.get(record[2])
                    if sites is None:
                        sites = self._sites[record[2]] = set()
                    if len(sites) < MAX_SITES:
                        sites.add(payload.pc)
                if probe_id in self._capturing and payload.site == _ENTRY:
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
                self._probed.pop(record[3], None)
                if record[6][0] == ProcEvent.EXEC:
                    self._xol.pop(record[2], None)
                    self._sites.pop(record[2], None)
            elif kind == _MMAP:
                mapping: Any = record[6]
                if mapping.path == UPROBES_PATH:
                    self._xol[record[2]] = (mapping.start, mapping.end)
            elif kind == _DROP:
                # lost records may hide a thread's later probe hit: no step is known
                self._probed.clear()
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

    def _stepped(self, record: Record, pc: int) -> int | None:
        """The probed code's pc a sample (user pc ``pc``) in an XOL slot stands for
        (module docstring); a sample of the thread anywhere else ends its pending probe."""
        tid = record[3]
        probed = self._probed.get(tid)
        if probed is None:
            return None
        xol = self._xol.get(record[2])
        if xol is not None and xol[0] + XOL_SLOT <= pc < xol[1]:
            into = (pc - xol[0]) % XOL_SLOT
            if into < MAX_INSN:
                return probed + into
        # elsewhere (or past a copy's bytes, or the trampoline's slot): the step is over
        del self._probed[tid]
        return None

    def _annotated(self, record: Record, slots: dict[int, list[int]] | None,
                   stepped: int | None, trapped: int | None) -> Record:
        tid = record[3]
        payload: Any = record[6]
        mask = payload.regs_mask
        if not slots:
            sample = ReturnsSample._make(payload)
            sample.returns = {}
            sample.stepped = stepped
            sample.trapped = trapped
            return record._replace(payload=sample)
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
                        if stepped is None and trapped is None:
                            return record
                        return self._annotated(record, None, stepped, trapped)
        frozen = self._frozen.get(tid)
        if frozen is None:
            frozen = self._frozen[tid] = {slot: tuple(addresses)
                                          for slot, addresses in slots.items()}
        sample = ReturnsSample._make(payload)
        sample.returns = frozen
        sample.stepped = stepped
        sample.trapped = trapped
        return record._replace(payload=sample)
