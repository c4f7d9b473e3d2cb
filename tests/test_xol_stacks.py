"""Stack samples taken while a probed instruction is single-stepped out of line (tperf T5).

An entry or offset probe's instruction (unless the kernel emulates it: push,
call, jmp, nop) runs as a copy in a 128-byte slot of the process's
``[uprobes]`` mapping, after the probe's handler made its PROBE record; a
sample taken meanwhile has its user pc in that slot, where no CFI is, and
unwound to ``[uprobes]`` and no further (333 of 381 samples for a hot entry
probe). ktrdump moves such a pc back to the probed code (the pc of the
thread's last probe hit plus the pc's offset into its slot) and unwinds from
there. The programs are gcc-built C: ``main -> loop -> tiny`` with ``tiny``
a small function called in a loop. The oracle is the same program recorded
without probes, whose samples in ``tiny`` unwind to ``main;loop``; the raw
records say which samples were taken in an XOL slot. Each recording takes
well under a second.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from c_support import build_program

import formats
import ktrdump
from formats import RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM_C = r"""
#include <stdlib.h>
__attribute__((noinline)) int tiny(int x) { __asm__ volatile(""); return x + 1; }
__attribute__((noinline)) long loop(long n) {
    long s = 0;
    for (long i = 0; i < n; i++) s += tiny(i);
    return s;
}
int main(int argc, char **argv) { return (int)loop(atol(argv[1])) & 1; }
"""

#: calls of ``tiny`` with the probe (each a trap and a single step: ~10 us) and without
#: it (each a few ns: ~100 ms of CPU)
PROBED_CALLS = 20000
ORACLE_CALLS = 50_000_000
#: samples taken in an XOL slot, of ~150-300 at 999 Hz (most of a probed call's time is
#: the kernel's); a loaded machine gives fewer, so the bound leaves room
MIN_XOL = 15

_KERNEL_FLAG = 1
_IP_BIT = 8  # perf_event x86 register number of ip


@pytest.fixture(scope="module", params=["leaf-O1", "frame-pointer"])
def case(request: pytest.FixtureRequest,
         tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """(program, probe): ``tiny``'s first instruction (``lea``: stepped) at -O1; at -O0
    with a frame pointer, the ``mov %rsp,%rbp`` after its ``push %rbp`` (which the kernel
    emulates: never in a slot), after which the CFA is ``rbp``'s."""
    directory = tmp_path_factory.mktemp("xol")
    if request.param == "leaf-O1":
        return build_program(directory, "prog", PROGRAM_C, "-O1", "-g"), "tiny"
    program = build_program(directory, "prog", PROGRAM_C, "-O0", "-g",
                            "-fno-omit-frame-pointer", "-fcf-protection=none")
    disassembly = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(program)],
                                 capture_output=True, text=True, check=True).stdout
    body = disassembly.split("<tiny>:\n", 1)[1].splitlines()
    assert "push" in body[0] and "mov" in body[1] and "%rsp,%rbp" in body[1], body[:3]
    return program, "tiny:+0x1"


def _record(tmp_path: Path, program: Path, calls: int, *probes: str) -> Path:
    out = tmp_path / f"trace-{len(probes)}.ktr"
    args = [arg for spec in probes for arg in ("-P", f"{program}:{spec}")]
    proc = subprocess.run([KTR, "record", "-q", "-t", "f", "-F", "999", *args, "-o", str(out),
                           "--", str(program), str(calls)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode in (0, 1), proc.stderr  # the program's status: the sum's parity
    return out


def _folded(trace: Path) -> Counter[str]:
    """The folded stacks, without a leaf ``[kernel]`` frame (the user side's stack)."""
    folded = subprocess.run([KTRDUMP, "--format", "folded", str(trace)],
                            capture_output=True, text=True, check=True).stdout
    stacks: Counter[str] = Counter()
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack.removesuffix(";[kernel]")] += int(count)
    return stacks


def _oracle(tmp_path: Path, program: Path) -> str:
    """The stack of ``tiny``'s samples recorded without probes: ``prog;…;main;loop;tiny``."""
    stacks = _folded(_record(tmp_path, program, ORACLE_CALLS))
    tiny = Counter({stack: count for stack, count in stacks.items()
                    if stack.endswith(";tiny")})
    stack, count = tiny.most_common(1)[0]
    # (at -O0 up to a third end at loop: at tiny's ret, after its pop, the CFI still
    # has rbp saved below the stack pointer, out of the stack copy: a gap of the
    # unwinder's, with or without probes)
    assert count >= 10 and count >= 0.5 * sum(tiny.values()), tiny
    assert stack.startswith("prog;_start;") and stack.endswith(";main;loop;tiny"), stack
    return stack


def _xol_samples(trace: Path) -> int:
    """Samples whose user pc is in an XOL slot (past the trampoline's slot 0)."""
    xol: dict[int, tuple[int, int]] = {}
    count = 0
    with ktrdump.open(str(trace)) as reader:
        for record in reader:
            payload: Any = record.payload
            if record.kind == RecordKind.MMAP and payload.path == b"[uprobes]":
                xol[record.pid] = (payload.start, payload.end)
            elif record.kind == RecordKind.SAMPLE and record.pid in xol:
                pc = payload.pc
                if payload.flags & _KERNEL_FLAG:
                    index = bin(payload.regs_mask & ((1 << _IP_BIT) - 1)).count("1")
                    pc = payload.regs[index]
                start, end = xol[record.pid]
                count += start + 128 <= pc < end
    return count


def _rewrite(source: Path, target: Path,
             change: Callable[[formats.Record], list[formats.Record]]) -> None:
    """``source``'s records through ``change`` (the records written instead) into
    ``target``."""
    with ktrdump.open(str(source)) as reader:
        header = reader.header
        records = list(reader)
    codec = formats.codec(header.byte_order)
    encoded = []
    for record in records:
        for changed in change(record):
            encoded.append(codec.encode_record(RecordKind(changed.kind), changed.pid,
                                               changed.tid, changed.timestamp_ns,
                                               changed.comm, changed.payload))
    out = io.BytesIO()
    out.write(formats.encode_file_header(header))
    out.write(formats.batch_framing(header.byte_order).encode(encoded, None))
    target.write_bytes(out.getvalue())


def test_samples_in_an_xol_slot_unwind_to_the_callers(tmp_path: Path,
                                                      case: tuple[Path, str]) -> None:
    """Every sample's stack is one the program has (the oracle's ``tiny`` stack or its
    callers'), none ends at ``[uprobes]``, and the samples in XOL slots are ``tiny``'s."""
    program, probe = case
    oracle = _oracle(tmp_path, program)
    trace = _record(tmp_path, program, PROBED_CALLS, probe)
    in_slots = _xol_samples(trace)
    assert in_slots >= MIN_XOL
    stacks = _folded(trace)
    assert not [stack for stack in stacks if "[uprobes]" in stack], stacks
    # no made-up caller: a stack through tiny or loop is the oracle's (or its loop
    # part), at most with outer frames missing (startup code's stacks are left alone)
    frames = oracle.split(";")[1:]
    for stack in stacks:
        inner = stack.split(";")[1:]
        if "tiny" in inner or "loop" in inner:
            assert inner in (frames[-len(inner):], frames[:-1][-len(inner):]), stacks
    assert stacks[oracle] >= in_slots, stacks
    json_lines = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True,
                                text=True, check=True).stdout
    assert '"module":"[uprobes]"' not in json_lines


def test_without_the_probe_hit_the_stack_ends_at_uprobes(tmp_path: Path,
                                                          case: tuple[Path, str]) -> None:
    """The trace does not prove which probe's copy the slot holds (its PROBE records are
    gone, or a DROP came after them): the sample's frame is ``[uprobes]``, as before."""
    program, probe = case
    trace = _record(tmp_path, program, PROBED_CALLS, probe)
    in_slots = _xol_samples(trace)
    assert in_slots >= MIN_XOL

    def no_hits(record: formats.Record) -> list[formats.Record]:
        return [] if record.kind == RecordKind.PROBE else [record]

    drop = formats.Drop(error=formats.DropError.ENOSPC, ring=0, lost=1)

    def drops(record: formats.Record) -> list[formats.Record]:
        # a DROP 1 ns after each probe hit: lost records may hide a later hit, the one
        # being stepped
        if record.kind == RecordKind.PROBE:
            return [record, record._replace(kind=RecordKind.DROP, pid=0, tid=0, comm=b"ktr",
                                            timestamp_ns=record.timestamp_ns + 1,
                                            payload=drop)]
        return [record]

    for name, change in (("no-hits", no_hits), ("dropped", drops)):
        damaged = tmp_path / f"{name}.ktr"
        _rewrite(trace, damaged, change)
        stacks = _folded(damaged)
        # (with a frame pointer, the old rbp-chain fallback still walks on from the slot)
        leaves = sum(count for stack, count in stacks.items() if stack.endswith(";[uprobes]"))
        assert leaves == in_slots, (name, stacks)


def _symbol(program: Path, name: str) -> int:
    for line in subprocess.run(["nm", str(program)], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        fields = line.split()
        if fields[-1] == name:
            return int(fields[0], 16)
    raise AssertionError(name)


def test_a_sample_in_the_breakpoint_trap_unwinds_from_the_probe(tmp_path: Path) -> None:
    """tperf T4's remainder: at -O0 an entry probe's ``push %rbp`` is emulated, never in a
    slot. A sample taken in the kernel after the breakpoint trap, before the uprobe
    handler moved the pc back, has the user pc one past ``tiny``, where the CFI has the
    push done (it is not); one taken while the kernel emulates the push, after it wrote
    the stack and before it moved the pc on, has the pc at ``tiny`` with the push done.
    Both unwound to ``tiny`` and no further. The stack says which (the word the push
    saved is the current rbp, a return address is not): those samples have the
    oracle's callers; none has a made-up caller."""
    program = build_program(tmp_path, "prog", PROGRAM_C, "-O0", "-g",
                            "-fno-omit-frame-pointer", "-fcf-protection=none")
    tiny = _symbol(program, "tiny")
    oracle = _oracle(tmp_path, program)
    trace = _record(tmp_path, program, 10 * PROBED_CALLS, "tiny")
    at_trap = 0
    base = None
    with ktrdump.open(str(trace)) as reader:
        for record in reader:
            payload: Any = record.payload
            if record.kind == RecordKind.MMAP and payload.path == str(program).encode():
                # the text's mapping (PIE, gcc's layout: file offsets are link addresses)
                base = payload.start - payload.offset
            elif record.kind == RecordKind.SAMPLE and payload.flags & _KERNEL_FLAG:
                index = bin(payload.regs_mask & ((1 << _IP_BIT) - 1)).count("1")
                at_trap += base is not None and payload.regs[index] == base + tiny + 1
    assert at_trap >= 1  # samples at tiny + 1 in the kernel (those ended at tiny before)
    stacks = _folded(trace)
    assert "prog;tiny" not in stacks, stacks
    frames = oracle.split(";")[1:]
    for stack in stacks:
        inner = stack.split(";")[1:]
        if "tiny" in inner or "loop" in inner:
            assert inner in (frames[-len(inner):], frames[:-1][-len(inner):]), stacks
