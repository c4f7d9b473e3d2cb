"""Offline stack unwinding of SAMPLE records: DWARF CFI on the copied user stack.

``unwind(sample, pid, spaces, modules)`` returns the sample's return-address
chain, innermost first (the first entry is the sampled pc). Each step finds
the mapping of the pc, the module's CFI row for it (``formats.cfi``), computes the
canonical frame address from the registers, and restores the return address
and callee-saved registers from the stack copy. Where a module has no CFI the
frame-pointer chain (``rbp``) is followed instead, and where the walk stops
early (the stack copy is exhausted, or neither rule applies) the kernel's
frame-pointer callchain recorded with the sample continues it from the last
pc both agree on.

x86_64 and i386 register sets are handled (the SAMPLE's ``abi`` says which).

A return address that is the kernel's uretprobe trampoline (in the process's
``[uprobes]`` mapping: a return probe replaced it) is replaced by the address
the trace captured for the stack slot it was read from (the sample's
``returns``, from ``_returns``), and the walk goes on from there; without one
the trampoline's frame is the last.

A user pc in an XOL slot of ``[uprobes]`` (a probed instruction single-stepped
out of line) for which the trace proves the probed code's pc (the sample's
``stepped``, from ``_returns``) is walked from that pc, with the registers
the kernel may have lent to the copy (x86-64's rip-relative scratch: rbx, rsi,
rdi) not known; the user frame is then that pc. Without it the walk ends
at the ``[uprobes]`` frame, as for any pc without CFI.

A kernel sample's user pc at a probe's address P or one past it (``trapped``)
does not say whether P's instruction was done: P + 1 is also the pc after the
breakpoint's trap, before the uprobe handler moves it back to P, and the
kernel emulating a ``push`` writes the stack before it moves the pc to P + 1.
The two states differ for the unwinder only where P's instruction is one byte
that changes the frame (P + 1 has a CFI row of its own). Where P + 1's row
saves a register P's row does not (a ``push``), the word it names holds that
register's current value if and only if the push was done (a return address
is not a stack address): the walk starts at P + 1 if so, else at P, and the
frame is that pc. Otherwise (unknown, or a row that saves nothing new:
``pop``, ``leave``) it starts at the sampled pc, as for any pc.

Guarantees: never raises on odd data (a garbage stack ends the walk); at most
``MAX_FRAMES`` frames; a return address is read only from the stack copy.
Does not: symbolize (``_symbols``); cache whole unwinds (they depend on the
stack's bytes) — only CFI rows per pc are cached, by the modules.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from formats import Abi
from formats.cfi import (
    EXPRESSION,
    OFFSET,
    REGISTER,
    UNDEFINED,
    VAL_EXPRESSION,
    VAL_OFFSET,
    evaluate,
)

from ._bounded import Cache
from ._maps import UPROBES_PATH, AddressSpaces

MAX_FRAMES = 256

# perf_event x86 register number -> DWARF register number, per ABI.
_X86_64_DWARF = {0: 0, 1: 3, 2: 2, 3: 1, 4: 4, 5: 5, 6: 6, 7: 7, 8: 16,
                 16: 8, 17: 9, 18: 10, 19: 11, 20: 12, 21: 13, 22: 14, 23: 15}
_I386_DWARF = {0: 0, 1: 3, 2: 1, 3: 2, 4: 6, 5: 7, 6: 5, 7: 4, 8: 8}


class _Arch:
    __slots__ = ("fp", "mask", "perf_to_dwarf", "ra", "registers", "sp", "unpack", "word")

    def __init__(self, perf_to_dwarf: dict[int, int], registers: int, sp: int, fp: int,
                 ra: int, word: int) -> None:
        self.perf_to_dwarf = perf_to_dwarf
        self.registers = registers
        self.sp = sp
        self.fp = fp
        self.ra = ra
        self.word = word
        self.unpack = struct.Struct("<Q" if word == 8 else "<I").unpack_from
        self.mask = (1 << (8 * word)) - 1


X86_64 = _Arch(_X86_64_DWARF, 17, sp=7, fp=6, ra=16, word=8)
I386 = _Arch(_I386_DWARF, 9, sp=4, fp=5, ra=8, word=4)
#: DWARF registers the kernel may hold a rip-relative copy's address in while it is
#: single-stepped out of line (arch/x86/kernel/uprobes.c: UPROBE_FIX_RIP_SI/DI/BX)
_XOL_SCRATCH = {id(X86_64): (3, 4, 5), id(I386): ()}


def arch_for(abi: int) -> _Arch | None:
    if abi == Abi.X86_64:
        return X86_64
    if abi == Abi.I386:
        return I386
    return None


_PLANS: dict[tuple[int, int], tuple[tuple[int, int], ...]] = {}


def _plan(arch: _Arch, regs_mask: int) -> tuple[tuple[int, int], ...]:
    """(index in ``regs``, DWARF register) pairs for a register mask, cached."""
    key = (arch.registers, regs_mask)
    plan = _PLANS.get(key)
    if plan is None:
        pairs = []
        index = 0
        for bit in range(64):
            if regs_mask >> bit & 1:
                dwarf = arch.perf_to_dwarf.get(bit)
                if dwarf is not None:
                    pairs.append((index, dwarf))
                index += 1
        plan = _PLANS[key] = tuple(pairs)
    return plan


def initial_registers(arch: _Arch, regs_mask: int, regs: tuple[int, ...]) -> list[int | None]:
    """The sample's registers in DWARF numbering (None where not recorded)."""
    out: list[int | None] = [None] * arch.registers
    mask = arch.mask
    count = len(regs)
    for index, dwarf in _plan(arch, regs_mask):
        if index < count:
            out[dwarf] = regs[index] & mask
    return out


#: What ``RowSource.resolve`` gives for a pc no mapping holds (None: a mapping without CFI).
NO_MAPPING = ("no mapping",)


class RowSource:
    """CFI rows of one process by runtime pc, cached per pc until its maps change."""

    __slots__ = ("cache", "modules", "pid", "spaces")

    def __init__(self, pid: int, spaces: AddressSpaces, modules: Any) -> None:
        self.pid = pid
        self.spaces = spaces
        self.modules = modules
        self.cache: dict[int, Any] = Cache(1 << 16)

    def resolve(self, pc: int) -> Any:
        mapping = self.spaces.find(self.pid, pc)
        row: Any = NO_MAPPING
        if mapping is not None:
            row = None
            if mapping.module is False:
                self.modules.prepare(mapping)
            module = mapping.module
            if module is not None and module.cfi is not None:
                row = module.cfi.row(pc - mapping.bias)
        self.cache[pc] = row
        return row


def unwind(sample: Any, source: RowSource, max_frames: int = MAX_FRAMES) -> list[int]:
    """The pcs of a SAMPLE's stack, innermost first (``source``: the sample's process)."""
    pc = sample[0]
    arch = arch_for(sample[3])
    if arch is None:
        return [pc, *sample[8][1:]][:max_frames] if sample[8] else [pc]
    regs = initial_registers(arch, sample[5], sample[7])
    returns = getattr(sample, "returns", None)
    stepped = getattr(sample, "stepped", None)
    if sample[4] & 1:  # sampled in the kernel: the user side starts at the saved ip
        user_pc = regs[arch.ra]
        if user_pc is None:
            return [pc]
        if stepped is not None and _trampoline(source, user_pc):
            user_pc = _stepped(arch, regs, stepped)
        trapped = getattr(sample, "trapped", None)
        if trapped is not None and user_pc in (trapped, trapped + 1):
            user_pc = regs[arch.ra] = _trapped(arch, regs, trapped, sample[9], source,
                                               user_pc)
        return [pc, *_walk(arch, regs, user_pc, sample[9], source, sample[8], max_frames - 1,
                           returns)]
    if stepped is not None and _trampoline(source, pc):
        pc = _stepped(arch, regs, stepped)
    return _walk(arch, regs, pc, sample[9], source, sample[8], max_frames, returns)


def _stepped(arch: _Arch, regs: list[int | None], pc: int) -> int:
    """``pc`` (the probed code's, for a pc in an XOL slot), set in ``regs``, whose
    registers the kernel may have lent to the copy are made unknown."""
    for regno in _XOL_SCRATCH[id(arch)]:
        regs[regno] = None
    regs[arch.ra] = pc
    return pc


def _trampoline(source: RowSource, address: int) -> bool:
    """Whether ``address`` is in the process's ``[uprobes]`` mapping."""
    mapping = source.spaces.find(source.pid, address)
    return mapping is not None and mapping.path == UPROBES_PATH


def _restored(source: RowSource, ra: int, captured: tuple[int, ...] | None) -> int:
    """``ra``, or the return address a return probe replaced with the trampoline ``ra``:
    the latest address captured for its slot that is not the trampoline itself."""
    if captured is None or not _trampoline(source, ra):
        return ra
    for address in reversed(captured):
        if not _trampoline(source, address):
            return address
    return ra


def _trapped(arch: _Arch, regs: list[int | None], site: int, stack: bytes,
             source: RowSource, pc: int) -> int:
    """``site + 1`` where the probe's 1-byte push at ``site`` is done, ``site`` where it
    is not, else ``pc`` (module docstring)."""
    after = site + 1
    before_row = source.resolve(site)
    after_row = source.resolve(after)
    if (before_row is None or after_row is None or before_row is NO_MAPPING
            or after_row is NO_MAPPING or before_row == after_row):
        return pc
    cfa_reg, cfa_off, cfa_expr, rules, _ = after_row
    sp = regs[arch.sp]
    if cfa_expr is not None or cfa_reg != arch.sp or sp is None:
        return pc
    cfa = sp + cfa_off
    saved = [(regno, arg) for regno, kind, arg in rules
             if kind == OFFSET and regno != arch.ra and (regno, kind, arg) not in before_row[3]]
    if not saved:
        return pc
    for regno, arg in saved:
        offset = cfa + arg - sp
        current = regs[regno] if regno < len(regs) else None
        if current is None or not 0 <= offset <= len(stack) - arch.word:
            return pc  # not known: as for any pc
        if int(arch.unpack(stack, offset)[0]) != current:
            return site  # the push is not done
    return after


_MISSING = object()


def _walk(arch: _Arch, regs: list[int | None], pc: int, stack: bytes, source: RowSource,
          callchain: tuple[int, ...], max_frames: int,
          returns: Mapping[int, tuple[int, ...]] | None = None) -> list[int]:
    """Unwind from ``pc`` with ``regs`` (DWARF numbering) over the stack copy.

    A register restored by an "at CFA + n" rule is not read at once: its slot
    holds ``-(offset + 1)``, the place of its value in the stack copy (register
    values are never negative), and is read only when something uses it — most
    restored callee-saved registers (rbx, r12-r15) never are.

    ``returns``: stack slot -> the return addresses captured there (``_restored``).
    """
    sp_reg, fp_reg, ra_reg, word = arch.sp, arch.fp, arch.ra, arch.word
    mask = arch.mask
    unpack = arch.unpack
    start = regs[sp_reg]
    if start is None:
        return [pc, *callchain[1:]][:max_frames] if callchain else [pc]
    base: int = start
    limit = len(stack) - word

    def read(address: int) -> int | None:
        offset = address - base
        if 0 <= offset <= limit:
            return int(unpack(stack, offset)[0])
        return None

    def materialize(values: list[int | None]) -> list[int | None]:
        return [int(unpack(stack, -v - 1)[0]) if v is not None and v < 0 else v
                for v in values]

    frames = [pc]
    cache_get = source.cache.get
    resolve = source.resolve
    complete = False
    lookup = pc
    count = 1
    while count < max_frames:
        row = cache_get(lookup, _MISSING)
        if row is _MISSING:
            row = resolve(lookup)
        new: list[int | None]
        if row is NO_MAPPING:
            if count > 1 and _trampoline(source, frames[-1]):
                # a return probe's trampoline whose replaced address is not known: the
                # walk ends at its frame (what lies above is not known either)
                complete = True
                break
            if count > 1:
                # A "return address" in no mapping: what lies above the outermost
                # frame (argc above an i386 _start), not a caller.
                frames.pop()
                complete = True
                break
            row = None  # the sampled pc itself (JIT code?): try frame pointers
        if row is not None:
            cfa_reg, cfa_off, cfa_expr, rules, fast = row
            if fast is not None:
                value = regs[cfa_reg]
                if value is None:
                    break
                if value < 0:
                    value = int(unpack(stack, -value - 1)[0])
                cfa = value + cfa_off
                new = regs.copy()
                new[sp_reg] = cfa
                offset0 = cfa - base
                for regno, off in fast:
                    offset = offset0 + off
                    new[regno] = -offset - 1 if 0 <= offset <= limit else None
                ra = new[ra_reg]
                if ra is not None:
                    at = -ra - 1
                    ra = int(unpack(stack, at)[0])
                    if returns is not None:
                        ra = _restored(source, ra, returns.get(base + at))
            else:
                regs = materialize(regs)
                if cfa_expr is None:
                    value = regs[cfa_reg] if cfa_reg < len(regs) else None
                    if value is None:
                        break
                    cfa = (value + cfa_off) & mask
                else:
                    cfa_value = evaluate(cfa_expr, regs, read, mask=mask)
                    if cfa_value is None:
                        break
                    cfa = cfa_value
                new = regs.copy()
                new[sp_reg] = cfa
                for regno, kind, arg in rules:
                    if regno >= len(new):
                        continue
                    if kind == OFFSET:
                        value = read(cfa + arg)
                        if regno == ra_reg and returns is not None and value is not None:
                            value = _restored(source, value, returns.get((cfa + arg) & mask))
                        new[regno] = value
                    elif kind == VAL_OFFSET:
                        new[regno] = (cfa + arg) & mask
                    elif kind == REGISTER:
                        new[regno] = regs[arg] if arg < len(regs) else None
                    elif kind == UNDEFINED:
                        new[regno] = None
                        if regno == ra_reg:
                            complete = True
                    elif kind == EXPRESSION:
                        address = evaluate(arg, regs, read, cfa, mask)
                        new[regno] = None if address is None else read(address)
                    elif kind == VAL_EXPRESSION:
                        new[regno] = evaluate(arg, regs, read, cfa, mask)
                if complete:
                    break
                ra = new[ra_reg]
        else:
            # No CFI for this pc: the frame-pointer convention, if rbp points into the copy.
            regs = materialize(regs)
            fp = regs[fp_reg]
            if fp is None:
                break
            saved_fp = read(fp)
            ra = read(fp + word)
            if ra is not None and returns is not None:
                ra = _restored(source, ra, returns.get(fp + word))
            sp = regs[sp_reg]
            if saved_fp is None or ra is None or (sp is not None and fp < sp):
                break
            new = regs.copy()
            new[fp_reg] = saved_fp
            new[sp_reg] = (fp + 2 * word) & mask
        if not ra:
            complete = ra == 0
            break
        if ra == pc and new[sp_reg] == regs[sp_reg]:
            break  # no progress: a loop in bad data
        new[ra_reg] = ra
        pc = ra
        lookup = ra - 1  # a return address: the call is the instruction before it
        frames.append(pc)
        count += 1
        regs = new
    if not complete and len(callchain) > 1 and len(frames) < max_frames:
        _splice(frames, callchain, max_frames)
    return frames


def _splice(frames: list[int], callchain: tuple[int, ...], max_frames: int) -> None:
    """Continue a walk that stopped early with the kernel's chain, past the last common pc."""
    last = frames[-1]
    try:
        at = callchain.index(last, 1 if len(frames) > 1 else 0)
    except ValueError:
        if len(frames) > 1:
            return
        at = 0
    frames.extend(callchain[at + 1 : at + 1 + max_frames - len(frames)])
