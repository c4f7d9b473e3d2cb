"""A classic-BPF seccomp filter that makes only selected syscalls stop.

``build_program`` compiles a selection (syscall numbers per ABI, as a
mapping; x32 numbers without the x32 bit) into a filter that returns
``SECCOMP_RET_TRACE`` for the selected numbers and ``SECCOMP_RET_ALLOW`` for
everything else — including unknown architectures,
numbers outside any table and x32 calls not selected. ``PreparedFilter`` holds
the program's bytes for the spawned child (``_trampoline``), which installs
it between its release and exec with two or three prctl calls.

Guarantees: the filter never denies, kills, errors or changes a syscall; with
a tracer using PTRACE_O_TRACESECCOMP the program's behaviour is unchanged.
``no_new_privs`` is set only when the recorder lacks CAP_SYS_ADMIN (the kernel
requires one of the two), because it would stop set-id programs from gaining
privileges.

Does not: work without a tracer. A RET_TRACE filter outlives its tracer and
is inherited by children; with no tracer, every selected syscall fails with
ENOSYS. So a filtered process must never be detached: it lives and dies with
the recording. Attach mode cannot install filters at all.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

from formats import Abi

from ._procfs import CAP_SYS_ADMIN, has_capability
from ._ptrace import AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT

# linux/filter.h, linux/bpf_common.h
BPF_LD_W_ABS = 0x20
BPF_JMP_JA = 0x05
BPF_JMP_JEQ_K = 0x15
BPF_JMP_JGT_K = 0x25
BPF_JMP_JGE_K = 0x35
BPF_RET_K = 0x06
BPF_MAXINSNS = 4096

# linux/seccomp.h
SECCOMP_RET_ALLOW = 0x7FFF_0000
SECCOMP_RET_TRACE = 0x7FF0_0000
SECCOMP_DATA_NR = 0
SECCOMP_DATA_ARCH = 4

Instruction = tuple[int, int, int, int]  # code, jt, jf, k
_pack_instruction = struct.Struct("<HBBI").pack


#: Syscall numbers that must stop, per ABI (x32 numbers without the x32 bit).
Selection = Mapping[Abi, frozenset[int]]


def _ranges(numbers: frozenset[int] | set[int]) -> list[tuple[int, int]]:
    valid = sorted(n for n in numbers if 0 <= n < X32_SYSCALL_BIT)
    ranges: list[tuple[int, int]] = []
    for number in valid:
        if ranges and ranges[-1][1] == number - 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


def _match_block(numbers: frozenset[int] | set[int], offset: int) -> list[Instruction]:
    """Compare the loaded number against each range; RET_TRACE on a match.

    Every jump is local (at most two instructions), so the block has no
    length limit from BPF's 8-bit jump offsets.
    """
    block: list[Instruction] = []
    for low, high in _ranges(numbers):
        if low == high:
            block.append((BPF_JMP_JEQ_K, 0, 1, low + offset))
        else:
            block.append((BPF_JMP_JGE_K, 0, 2, low + offset))
            block.append((BPF_JMP_JGT_K, 1, 0, high + offset))
        block.append((BPF_RET_K, 0, 0, SECCOMP_RET_TRACE))
    block.append((BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    return block


def build_program(selection: Selection) -> list[Instruction]:
    """The filter program for ``selection``, as (code, jt, jf, k) tuples."""
    block_64 = _match_block(selection.get(Abi.X86_64, frozenset()), 0)
    block_x32 = _match_block(selection.get(Abi.X32, frozenset()), X32_SYSCALL_BIT)
    block_32 = _match_block(selection.get(Abi.I386, frozenset()), 0)
    program: list[Instruction] = [
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_ARCH),
        (BPF_JMP_JEQ_K, 0, 1, AUDIT_ARCH_X86_64),
        (BPF_JMP_JA, 0, 0, 3),  # to the x86_64 section
        (BPF_JMP_JEQ_K, 0, 1, AUDIT_ARCH_I386),
        (BPF_JMP_JA, 0, 0, 4 + len(block_64) + len(block_x32)),  # to i386
        (BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),  # another architecture
        # x86_64 section: numbers with the x32 bit belong to x32 (or nothing:
        # -1 and other out-of-table numbers fall through to ALLOW there)
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
        (BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT),
        (BPF_JMP_JA, 0, 0, len(block_64)),
        *block_64,
        *block_x32,
        (BPF_LD_W_ABS, 0, 0, SECCOMP_DATA_NR),
        *block_32,
    ]
    if len(program) > BPF_MAXINSNS:
        raise ValueError(f"seccomp filter too long ({len(program)} instructions)")
    return program


def encode_program(program: list[Instruction]) -> bytes:
    """``struct sock_filter[]`` bytes."""
    return b"".join(_pack_instruction(*instruction) for instruction in program)


def run_program(program: list[Instruction], arch: int, nr: int) -> int:
    """Evaluate ``program`` on (arch, nr) like the kernel would (for tests and checks)."""
    data = {SECCOMP_DATA_NR: nr & 0xFFFF_FFFF, SECCOMP_DATA_ARCH: arch}
    accumulator = 0
    pc = 0
    while True:
        code, jt, jf, k = program[pc]
        pc += 1
        if code == BPF_LD_W_ABS:
            accumulator = data[k]
        elif code == BPF_JMP_JA:
            pc += k
        elif code == BPF_JMP_JEQ_K:
            pc += jt if accumulator == k else jf
        elif code == BPF_JMP_JGT_K:
            pc += jt if accumulator > k else jf
        elif code == BPF_JMP_JGE_K:
            pc += jt if accumulator >= k else jf
        elif code == BPF_RET_K:
            return k
        else:
            raise ValueError(f"unexpected BPF instruction {code:#x}")


class PreparedFilter:
    """A filter ready to be sent to the spawned child (``_trampoline`` installs it
    between its release and exec, with prctl calls alone)."""

    def __init__(self, selection: Selection) -> None:
        self.program = build_program(selection)
        self.encoded = encode_program(self.program)  # struct sock_filter[]
        self.no_new_privs = not has_capability(CAP_SYS_ADMIN)
