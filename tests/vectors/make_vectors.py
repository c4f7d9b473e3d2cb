"""Write the golden trace files in this directory, deterministically.

    python tests/vectors/make_vectors.py                    # the .ktr files
    python tests/vectors/make_vectors.py --update-expected  # and, from ktrdump,
                                                            # the expected outputs

The traces are built with ``formats`` alone (fixed timestamps, pids and
command names; no recorder), so running this again gives identical bytes;
``tests/test_vectors.py`` checks that, and that ktrdump's output equals the
committed ``.txt`` / ``.jsonl`` (and ``.stderr`` / ``.status`` for the damaged
files). ``--update-expected`` rewrites the expected outputs from the current
ktrdump: review the diff before committing it.

Files:

- ``all_kinds.ktr``: every record kind (and an unknown one), raw batches; it starts
  with a BEGIN and ends with an END (a recording stopped early).
- ``all_kinds_zstd.ktr``: the same records, zstd batches.
- ``all_kinds_big.ktr``: the same records, big-endian.
- ``corrupt_middle.ktr``: three batches, the middle one's payload damaged.
- ``torn_tail.ktr``: three batches, the file cut inside the last one (so no END);
  the reader keeps that batch's records before the cut.
- ``damaged_header.ktr``: ``all_kinds.ktr`` with one bit of the header's
  ``realtime_ns`` flipped: refused by the header checksum (format 1.1).
- ``minor0.ktr``: ``all_kinds.ktr`` with a format 1.0 header (no checksum): read
  as ``all_kinds.ktr`` is.
- ``probes.ktr``: function probes (PDEF and PROBE records): nested entry/return pairs,
  typed arguments and strings (one unreadable), an offset probe, an IFUNC implementation,
  a syscall inside a probed call, a second thread, a call left open, entry probes that
  capture return addresses (RETURN_ADDRESS, one HIDDEN).
- ``calls.ktr``: a realistic recording for the decoders: openat/fstat/read/
  write/close with an error return, a STRUCT stat, pipe2 + fork + dup2 +
  execve, chdir and a relative open with the recorder's ``cwd`` and
  ``fd_path``, a recvmsg with its ``fd_paths``, an eventfd2's ``fd_path`` and a
  socketpair's ``fd_paths`` (the kernel's names), an execve's ``open_fds`` (for
  ``-y``), a socket and a connect with a sockaddr, a thread
  whose read interleaves with the main thread's write (strace's
  unfinished/resumed), signals with their siginfo, exits and a kill.
- ``appended.ktr``: a file ``ktr record -a`` appended to, four recordings: one
  complete, one cut short (BEGIN, records, no END), one that attached (pids; its
  process's ``cwd`` and ``open_fds`` at the attach, then a read of an fd from
  before it),
  whose BEGIN's options are damaged (not JSON), and a last one cut short at the
  end of the file.

Every trace has the text (``.txt``) and JSON Lines (``.jsonl``) outputs;
``VARIANTS`` lists the other outputs kept for a trace (file suffix and the
ktrdump options that make it).
"""

from __future__ import annotations

import argparse
import io
import struct
import sys
from pathlib import Path

import zstandard

import formats
from formats import (
    Begin,
    Cnt,
    Csw,
    Drop,
    Emul,
    End,
    ExecArg,
    ExecEnv,
    Genio,
    Mmap,
    Namei,
    Payload,
    Probe,
    ProbeDef,
    Proc,
    Psig,
    RecordKind,
    Sample,
    Struct,
    Syscall,
    Sysret,
    User,
    join_nul_strings,
)

HERE = Path(__file__).resolve().parent
START_NS = 1_700_000_000_123_456_789
ZSTD_LEVEL = 3
UNKNOWN_KIND = 99

HEADER = dict(
    hostname="vectors.example",
    kernel_release="6.1.0-vectors",
    machine="x86_64",
    realtime_ns=START_NS,
    monotonic_ns=4_000_000_000,
    ktr_version="0.1.0-vectors",
    options={"facilities": "cnisuepavfSmw", "io_cap": 64, "end_record": True},
)

LS = (4242, 4242, b"ls")
THREAD = (4242, 4245, b"ls")
CHILD = (4243, 4243, b"sh")
ODD_COMM = (4300, 4300, b"we\xffird\tname-15c")
RECORDER = (0, 0, b"ktr")

X86_64 = int(formats.Abi.X86_64)
I386 = int(formats.Abi.I386)
AT_FDCWD = (1 << 64) - 100
ELF_HEAD = bytes.fromhex("7f454c4602010100000000000000000003003e0001000000") + bytes(range(40))

#: ax..ip and r8..r15: the registers ``ktr record -F`` keeps for x86_64.
_USER_REGS_MASK = 0x1FF | (0xFF << 16)

Entry = tuple[int, tuple[int, int, bytes], "Payload | bytes"]


def _begin(pid: int, at_ns: int, options: dict[str, object] | bytes) -> Begin:
    """A BEGIN record as ``ktr record`` writes it (options: an object, or raw bytes)."""
    import json

    raw = options if isinstance(options, bytes) else json.dumps(options, sort_keys=True).encode()
    return Begin(pid, 0, at_ns, 4_000_000_000 + at_ns - START_NS, b"0.1.0-vectors", raw)


def _calls() -> list[Entry]:
    s = RecordKind
    return [
        (s.BEGIN, RECORDER, _begin(4200, START_NS, {
            "command": ["ls", "-l", "/tmp/caf\u00e9"], "facilities": "cnisuepavfSmw",
            "begin_record": True, "end_record": True})),
        (s.EMUL, LS, Emul(b"linux-x86_64")),
        (s.PROC, LS, Proc(formats.ProcEvent.EXEC, 0, 0, 0, 0, b"/usr/bin/ls")),
        (s.EXEC_ARG, LS, ExecArg(join_nul_strings([b"ls", b"-l", b"/tmp/caf\xc3\xa9"]))),
        (s.EXEC_ENV, LS, ExecEnv(join_nul_strings([b"PATH=/usr/bin:/bin", b"LANG=C.UTF-8"]))),
        (s.SYSCALL, LS, Syscall(257, X86_64, 0, (AT_FDCWD, 0x7FFD1000, 0x80000, 0, 0, 0))),
        (s.NAMEI, LS, Namei(b"/etc/ld.so.cache")),
        (s.SYSRET, LS, Sysret(257, X86_64, 0, 0, 3, 2_500)),
        (s.SYSCALL, LS, Syscall(257, X86_64, 0, (AT_FDCWD, 0x7FFD1040, 0x80000, 0, 0, 0))),
        (s.NAMEI, LS, Namei(b"/nonexistent/lib.so")),
        (s.SYSRET, LS, Sysret(257, X86_64, 0, 2, -2, 1_800)),
        (s.SYSCALL, LS, Syscall(0, X86_64, 0, (3, 0x7FFD2000, 832, 0, 0, 0))),
        (s.GENIO, LS, Genio(3, formats.IoDirection.READ, formats.GenioFlag.TRUNCATED, 832,
                            ELF_HEAD)),
        (s.SYSRET, LS, Sysret(0, X86_64, 0, 0, 832, 4_100)),
        (s.SYSCALL, LS, Syscall(9, X86_64, 0, (0, 0x1000, 3, 0x22, (1 << 64) - 1, 0))),
        (s.SYSRET, LS, Sysret(9, X86_64, 0, 0, 0x7F1234560000, 3_000)),
        (s.NAMEI, LS, Namei(b"/tmp/caf\xe9 \\ \"quoted\"\nline")),
    ]


def _io_and_signals() -> list[Entry]:
    s = RecordKind
    long_line = b"The quick brown fox jumps over the lazy dog; " * 3
    return [
        (s.SYSCALL, LS, Syscall(1, X86_64, 0, (1, 0x7FFD3000, 17, 0, 0, 0))),
        (s.GENIO, LS, Genio(1, formats.IoDirection.WRITE, 0, 17, b"total 0\nfile.txt\n")),
        (s.SYSRET, LS, Sysret(1, X86_64, 0, 0, 17, 9_000)),
        (s.GENIO, LS, Genio(1, formats.IoDirection.WRITE, 0, len(long_line) + 6,
                            long_line + b"\tta\\b\n")),
        (s.GENIO, LS, Genio(0, formats.IoDirection.READ, 0, 0, b"")),
        (s.GENIO, LS, Genio(2, formats.IoDirection.WRITE, 0, 1, b"x")),
        (s.PSIG, LS, Psig(17, 1, 0, 0, b"")),
        (s.PSIG, LS, Psig(10, 0, 0x401136, 0x2000, bytes(128))),
        (s.PSIG, LS, Psig(13, 0, 1, 0, b"")),
        (s.PSIG, LS, Psig(2, 128, (1 << 64) - 1, 0x1, b"")),
        (s.PSIG, LS, Psig(99, 0, 0, 0, b"")),
        (s.CSW, LS, Csw(1, 1, formats.CswFlag.PREEMPTED, 1)),
        (s.CSW, LS, Csw(0, 1, 0, 0)),
        (s.CSW, THREAD, Csw(1, 0, 0, 0)),
        (s.CSW, THREAD, Csw(0, 0, 0, -1)),
        (s.CNT, LS, Cnt(0, 10_000_000, 10_000_000, (9_876_543, 87, 2),
                        b"task-clock\0page-faults\0context-switches\0")),
        (s.CNT, THREAD, Cnt(formats.CntFlag.FINAL | formats.CntFlag.USER_ONLY, 20_000_000,
                            10_000_000, (1_234_567, 3), b"task-clock\0page-faults\0")),
        (s.USER, LS, User(b"app", b"hello\x00")),
        (s.SYSCALL, THREAD, Syscall(202, X86_64, 0, (0x7F0000001000, 128, 0, 0, 0, 0))),
        (s.SYSRET, THREAD, Sysret(202, X86_64, 0, 512, -512, 10_000)),
        (s.SYSCALL, LS, Syscall(999, X86_64, 0, (1, 2, 3, 4, 5, 6))),
        (s.SYSRET, LS, Sysret(999, X86_64, 0, 38, -38, 700)),
        (s.SYSCALL, CHILD, Syscall(5, I386, 0, (0x8049000, 0, 0, 0, 0, 0))),
        (s.SYSRET, CHILD, Sysret(5, I386, 0, 0, 4, 900)),
        (s.SYSCALL, CHILD, Syscall(231, X86_64, 0, (0, 0, 0, 0, 0, 0))),
        (s.SYSRET, CHILD, Sysret(231, X86_64, formats.SyscallFlag.UNFINISHED, 0, 0, 0)),
        (s.SYSRET, LS, Sysret(8, X86_64, 0, 0, -1, 100)),
        (s.SYSRET, LS, Sysret(3, X86_64, 0, 9999, -9999, 100)),
    ]


def _lifecycle() -> list[Entry]:
    s = RecordKind
    e = formats.ProcEvent
    f = formats.ProcFlag
    return [
        (s.PROC, LS, Proc(e.FORK, 0, 4243, 0, 0, b"")),
        (s.PROC, LS, Proc(e.VFORK, 0, 4246, 0, 0, b"")),
        (s.PROC, LS, Proc(e.CLONE, f.THREAD, 4245, 0, 0, b"")),
        (s.PROC, LS, Proc(e.CLONE, 0, 4247, 0, 0, b"")),
        (s.PROC, CHILD, Proc(e.EXIT, 0, 0, 3, 0, b"")),
        (s.PROC, ODD_COMM, Proc(e.EXIT, f.SIGNALED | f.CORE_DUMPED, 0, 0, 11, b"")),
        (s.PROC, ODD_COMM, Proc(e.EXIT, f.SIGNALED, 0, 0, 9, b"")),
        (s.PROC, LS, Proc(e.ATTACH, 0, 0, 0, 0, b"")),
        (s.PROC, LS, Proc(e.DETACH, 0, 0, 0, 0, b"")),
        (s.PROC, LS, Proc(e.LOST, 0, 0, 0, 0, b"ptrace: No such process")),
        (s.PROC, THREAD, Proc(e.STOP, 0, 0, 0, 20, b"")),
        (s.PROC, LS, Proc(42, 0, 1, 2, 0, b"from the future")),
        (s.PROBE_DEF, RECORDER, _probe_def(3, formats.ProbeSite.ENTRY, b"main",
                                           [T.I32, T.STR])),
        (s.PROBE_DEF, RECORDER, _probe_def(5, formats.ProbeSite.RETURN, b"main", [T.PTR])),
        (s.PROBE_DEF, RECORDER, _probe_def(4, formats.ProbeSite.OFFSET, b"main", [], 0x10)),
        (s.PROBE, LS, Probe(3, formats.ProbeSite.ENTRY, 0x401136, 0, 0, (16, 0x7FFD4000),
                            b"ls:main", formats.join_probe_strings([b"-l\xff"], [True]))),
        (s.PROBE, LS, Probe(5, formats.ProbeSite.RETURN, 0x4011A0, 0, 0x5555_0000_1000, (),
                            b"ls:main")),
        (s.PROBE, LS, Probe(4, formats.ProbeSite.OFFSET, 0x401146, 0x10, 0, (), b"ls:main")),
        (s.PROBE, LS, Probe(9, formats.ProbeSite.ENTRY, 0x401136, 0, 0, (1, 2), b"ls:undefined")),
        (s.MMAP, LS, Mmap(0x7F0000000000, 0x7F0000022000, 0x1000, 5, 0x2, 0,
                          bytes.fromhex("1a2b3c4d5e6f"), b"/nonexistent/lib/libc.so.6", b"")),
        (s.MMAP, LS, Mmap(0x400000, 0x401000, 0, 1, 0x2, 1, b"", b"/usr/bin/ls", b"")),
        (s.MMAP, LS, Mmap(0x500000, 0x501000, 0, 5, 0x2 | formats.MmapFlag.DELETED, 1,
                          bytes.fromhex("99887766"), b"/tmp/gone", b"")),
        (s.MMAP, LS, Mmap(0x7FFF0000, 0x7FFF2000, 0, 5, 0x2, 0, bytes(range(20)), b"[vdso]",
                          ELF_HEAD)),
        (s.SAMPLE, LS, Sample(0x401136, 1_000_000, 1, X86_64, 0, _USER_REGS_MASK, 64,
                              tuple(range(0x10, 0x10 + 17)), (0x401200, 0x7F0000002000),
                              bytes(range(64)))),
        (s.SAMPLE, THREAD, Sample(0xFFFFFFFF81000000, 250_000, 0, 0,
                                  formats.SampleFlag.KERNEL, 0, 8192, (), (), b"")),
        (s.DROP, RECORDER, Drop(formats.DropError.ENOSPC, 0, 17)),
        (s.DROP, RECORDER, Drop(formats.DropError.ENOMEM, 0, 1)),
        (s.DROP, RECORDER, Drop(formats.DropError.ENOBUFS, 0, 250)),
        (UNKNOWN_KIND, LS, bytes(range(12))),
        # with the probes never placed (appended after ``reason``); the other vectors'
        # ENDs end at ``reason``, as recorders wrote them before
        (s.END, RECORDER, End(-1, formats.EndFlag.STOPPED_EARLY, 3, 5, 1, 2,
                              b"interrupted by SIGINT", 2,
                              formats.join_nul_strings([b"libnope:f", b"prog:nothing*"]))),
    ]


T = formats.ProbeArgType


def _probe_def(probe_id: int, site: int, function: bytes, types: list[formats.ProbeArgType],
               offset: int = 0, module: bytes = b"/usr/bin/ls", alias: bytes = b"",
               vaddr: int = 0x401136, flags: int = 0) -> ProbeDef:
    return ProbeDef(probe_id, site, flags, vaddr % 0x100000 + offset, vaddr, 0x80, offset, 64,
                    bytes(types), module, b"0123456789abcdef0123456789abcdef01234567",
                    function, alias)


# ---------------------------------------------------------------------------
# probes.ktr: function probes of a small program, with a syscall inside a probed call

PROG = (6000, 6000, b"prog")
PROG_THREAD = (6000, 6001, b"prog")


def probes_trace() -> bytes:
    """probes.ktr: entry/return pairs nested two deep, a string, an offset probe, a thread."""
    s = RecordKind
    site = formats.ProbeSite
    flag = formats.ProbeDefFlag
    libc = b"/usr/lib/x86_64-linux-gnu/libc.so.6"
    entries: list[Entry] = [
        (s.PROBE_DEF, RECORDER, _probe_def(1, site.ENTRY, b"outer", [T.I32], module=b"/t/prog")),
        (s.PROBE_DEF, RECORDER, _probe_def(2, site.RETURN, b"outer", [T.I32], module=b"/t/prog")),
        (s.PROBE_DEF, RECORDER, _probe_def(3, site.ENTRY, b"add3", [T.I64, T.I32, T.X64],
                                           module=b"/t/prog", vaddr=0x401200)),
        (s.PROBE_DEF, RECORDER, _probe_def(4, site.RETURN, b"add3", [T.I64], module=b"/t/prog",
                                           vaddr=0x401200)),
        (s.PROBE_DEF, RECORDER, _probe_def(5, site.ENTRY, b"__strlen_avx2", [T.STR],
                                           module=libc, alias=b"strlen", vaddr=0x156200)),
        (s.PROBE_DEF, RECORDER, _probe_def(6, site.OFFSET, b"add3", [T.U32], 4,
                                           module=b"/t/prog", vaddr=0x401200)),
        (s.PROBE, PROG, Probe(1, site.ENTRY, 0x401136, 0, 0, (3,), b"prog:outer")),
        (s.PROBE, PROG, Probe(3, site.ENTRY, 0x401200, 0, 0, (0, (1 << 64) - 1, 0xFF),
                              b"prog:add3")),
        (s.PROBE, PROG, Probe(6, site.OFFSET, 0x401204, 4, 0, (7,), b"prog:add3")),
        (s.PROBE, PROG, Probe(4, site.RETURN, 0x401150, 0, (1 << 64) - 2, (), b"prog:add3")),
        (s.PROBE, PROG, Probe(5, site.ENTRY, 0x7F0000156200, 0, 0, (0x7FFD0000,),
                              b"libc.so.6:__strlen_avx2",
                              formats.join_probe_strings([b"hello"]))),
        (s.SYSCALL, PROG, Syscall(1, X86_64, 0, (1, 0x7FFD3000, 6, 0, 0, 0))),
        (s.SYSRET, PROG, Sysret(1, X86_64, 0, 0, 6, 2_000)),
        (s.PROBE, PROG_THREAD, Probe(3, site.ENTRY, 0x401200, 0, 0, (5, 6, 7), b"prog:add3")),
        (s.PROBE, PROG_THREAD, Probe(4, site.RETURN, 0x401150, 0, 18, (), b"prog:add3")),
        (s.PROBE, PROG, Probe(2, site.RETURN, 0x401190, 0, 42, (), b"prog:outer")),
        (s.PROBE, PROG, Probe(4, site.RETURN, 0x401150, 0, 1, (), b"prog:add3")),
        (s.PROBE, PROG, Probe(5, site.ENTRY, 0x7F0000156200, 0, 0, (0,),
                              b"libc.so.6:__strlen_avx2", b"\xff\xff\xff\xff")),
        (s.PROBE, PROG, Probe(1, site.ENTRY, 0x401136, 0, 0, (1,), b"prog:outer")),
        # narrow types keep their own bits (the ABI leaves the register's others undefined)
        (s.PROBE_DEF, RECORDER, _probe_def(7, site.ENTRY, b"take", [T.I8, T.U16, T.I16, T.U8],
                                           module=b"/t/prog", vaddr=0x401300)),
        (s.PROBE, PROG, Probe(7, site.ENTRY, 0x401300, 0, 0, (0x1FF, 0x12345, 0x18765, 0x1FE),
                              b"prog:take")),
        # floating point (xmm registers) is not fetched: 0 recorded, shown as ?; the
        # integers take the integer registers in order
        (s.PROBE_DEF, RECORDER, _probe_def(8, site.ENTRY, b"scale", [T.FLOAT, T.I32, T.FLOAT,
                                                                      T.I64],
                                           module=b"/t/prog", vaddr=0x401400)),
        (s.PROBE_DEF, RECORDER, _probe_def(9, site.RETURN, b"scale", [T.FLOAT],
                                           module=b"/t/prog", vaddr=0x401400)),
        (s.PROBE, PROG, Probe(8, site.ENTRY, 0x401400, 0, 0, (0, 7, 0, (1 << 64) - 9),
                              b"prog:scale")),
        (s.PROBE, PROG, Probe(9, site.RETURN, 0x401160, 0, 0, (), b"prog:scale")),
        # functions with return probes: an entry probe captures the return address and
        # its slot after its typed values (RETURN_ADDRESS: not shown); a function probed at
        # its return alone gets a HIDDEN entry probe of the recorder's own (not shown)
        (s.PROBE_DEF, RECORDER, _probe_def(10, site.ENTRY, b"work", [T.I32], module=b"/t/prog",
                                           vaddr=0x401500, flags=flag.RETURN_ADDRESS)),
        (s.PROBE_DEF, RECORDER, _probe_def(11, site.RETURN, b"work", [T.I32],
                                           module=b"/t/prog", vaddr=0x401500)),
        (s.PROBE_DEF, RECORDER, _probe_def(12, site.RETURN, b"spin", [T.I32],
                                           module=b"/t/prog", vaddr=0x401600)),
        (s.PROBE_DEF, RECORDER, _probe_def(13, site.ENTRY, b"spin", [], module=b"/t/prog",
                                           vaddr=0x401600,
                                           flags=flag.RETURN_ADDRESS | flag.HIDDEN)),
        (s.PROBE, PROG, Probe(10, site.ENTRY, 0x401500, 0, 0, (5, 0x401ABC, 0x7FFD1008),
                              b"prog:work")),
        (s.PROBE, PROG, Probe(13, site.ENTRY, 0x401600, 0, 0, (0x40152F, 0x7FFD0FE8),
                              b"prog:spin")),
        (s.PROBE, PROG, Probe(12, site.RETURN, 0x40152F, 0, 9, (), b"prog:spin")),
        (s.PROBE, PROG, Probe(11, site.RETURN, 0x401ABC, 0, 10, (), b"prog:work")),
        # a function that returns nothing (its DWARF: VOID_RETURN): its rax is a leftover,
        # recorded, not shown (types say u64: what older readers show)
        (s.PROBE_DEF, RECORDER, _probe_def(14, site.ENTRY, b"reset", [T.I32],
                                           module=b"/t/prog", vaddr=0x401700,
                                           flags=flag.RETURN_ADDRESS)),
        (s.PROBE_DEF, RECORDER, _probe_def(15, site.RETURN, b"reset", [T.U64],
                                           module=b"/t/prog", vaddr=0x401700,
                                           flags=flag.VOID_RETURN)),
        (s.PROBE, PROG, Probe(14, site.ENTRY, 0x401700, 0, 0, (4, 0x401AC4, 0x7FFD1008),
                              b"prog:reset")),
        (s.PROBE, PROG, Probe(15, site.RETURN, 0x401AC4, 0, 0x5EED, (), b"prog:reset")),
        (s.END, RECORDER, End(0, 0, 1, 2, 0, 0, b"", 1, b"libplug:plug_twice\0")),
    ]
    out = io.BytesIO()
    header = {**HEADER, "options": {"facilities": "cf", "probes": ["prog:outer"],
                                    "end_record": True}}
    out.write(formats.encode_file_header(formats.FileHeader(**header, byte_order="little")))
    out.write(formats.batch_framing("little").encode(_encode(entries, "little", 0)))
    return out.getvalue()


# ---------------------------------------------------------------------------
# calls.ktr: what a small C program's recording looks like

DEMO = (5000, 5000, b"demo")
DEMO_THREAD = (5000, 5002, b"demo")
CHILD_DEMO = (5001, 5001, b"demo")
CHILD_TRUE = (5001, 5001, b"true")
KILLED = (5003, 5003, b"demo")
ENOENT, ECONNREFUSED = 2, 111


def _siginfo(signo: int, code: int, *fields: tuple[int, str, int]) -> bytes:
    """A kernel x86_64 siginfo_t: signo, errno, code, then union fields at their offsets."""
    data = bytearray(128)
    struct.pack_into("<iii", data, 0, signo, 0, code)
    for offset, fmt, value in fields:
        struct.pack_into("<" + fmt, data, offset, value)
    return bytes(data)


def _stat(mode: int, size: int) -> bytes:
    """An x86_64 struct stat (144 bytes)."""
    return struct.pack("<QQQIIIiQqqqqqqqqq24x", 0x803, 1234567, 1, mode, 1000, 1000, 0, 0,
                       size, 4096, 8, 1_700_000_000, 0, 1_700_000_000, 0, 1_700_000_000, 0)


def _sockaddr_in(port: int, address: bytes) -> bytes:
    return struct.pack("<H", 2) + struct.pack(">H", port) + address + bytes(8)


def _call(who: tuple[int, int, bytes], nr: int, *args: int) -> Entry:
    padded = (*args, *(0,) * (6 - len(args)))
    return (RecordKind.SYSCALL, who, Syscall(nr, X86_64, 0, padded))


def _ret(who: tuple[int, int, bytes], nr: int, retval: int, duration: int = 1_000,
         error: int = 0) -> Entry:
    return (RecordKind.SYSRET, who, Sysret(nr, X86_64, 0, error, retval, duration))


def _demo_calls() -> list[Entry]:
    s = RecordKind
    e = formats.ProcEvent
    passwd = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    buf, statbuf = 0x7FFD4000, 0x7FFD5000
    return [
        (s.EMUL, DEMO, Emul(b"linux-x86_64")),
        (s.PROC, DEMO, Proc(e.EXEC, 0, 0, 0, 0, b"/usr/bin/demo")),
        (s.EXEC_ARG, DEMO, ExecArg(join_nul_strings([b"demo", b"/etc/passwd"]))),
        _call(DEMO, 257, AT_FDCWD, 0x7FFD1000, 0o2000000),  # openat O_RDONLY|O_CLOEXEC
        (s.NAMEI, DEMO, Namei(b"/etc/passwd")),
        _ret(DEMO, 257, 3, 2_500),
        _call(DEMO, 262, 3, 0x55550000, statbuf, 0x1000),  # newfstatat(3, "", AT_EMPTY_PATH)
        (s.NAMEI, DEMO, Namei(b"")),
        (s.STRUCT, DEMO, Struct(X86_64, 2, b"stat", _stat(0o100644, len(passwd)))),
        _ret(DEMO, 262, 0),
        _call(DEMO, 0, 3, buf, 4096),  # read
        (s.GENIO, DEMO, Genio(3, formats.IoDirection.READ, 0, len(passwd), passwd)),
        _ret(DEMO, 0, len(passwd), 4_000),
        _call(DEMO, 1, 1, buf, 33),  # write
        (s.GENIO, DEMO, Genio(1, formats.IoDirection.WRITE, 0, 33, passwd[:33])),
        _ret(DEMO, 1, 33),
        _call(DEMO, 3, 3),  # close
        _ret(DEMO, 3, 0),
        _call(DEMO, 257, AT_FDCWD, 0x7FFD1100, 0o101, 0o644),  # openat O_WRONLY|O_CREAT
        (s.NAMEI, DEMO, Namei(b"/nonexistent/out.txt")),
        _ret(DEMO, 257, -ENOENT, 1_800, ENOENT),
        _call(DEMO, 293, 0x7FFD6000, 0o2000000),  # pipe2(O_CLOEXEC)
        (s.STRUCT, DEMO, Struct(X86_64, 0, b"fds", struct.pack("<ii", 4, 5))),
        _ret(DEMO, 293, 0),
        _call(DEMO, 41, 2, 1 | 0o2000000, 0),  # socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC)
        _ret(DEMO, 41, 6),
        _call(DEMO, 42, 6, 0x7FFD7000, 16),  # connect
        (s.STRUCT, DEMO, Struct(X86_64, 1, b"sockaddr", _sockaddr_in(9, bytes([127, 0, 0, 1])))),
        _ret(DEMO, 42, -ECONNREFUSED, 90_000, ECONNREFUSED),
        _call(DEMO, 32, 4),  # dup(4)
        _ret(DEMO, 32, 7),
        _call(DEMO, 72, 7, 2, 1),  # fcntl(7, F_SETFD, FD_CLOEXEC)
        _ret(DEMO, 72, 0),
        _call(DEMO, 40, 5, 3, 0x7FFD7100, 8),  # sendfile: the offset before and after
        (s.STRUCT, DEMO, Struct(X86_64, 2, b"off", struct.pack("<q", 0))),
        (s.STRUCT, DEMO, Struct(X86_64, 2, b"off", struct.pack("<q", 8))),
        _ret(DEMO, 40, 8),
        # chdir, then a relative open: the recorder's "cwd" and "fd_path" (argument
        # 255: the call's result), what -y shows for AT_FDCWD and the new fd
        _call(DEMO, 80, 0x7FFD7200),  # chdir("/lib")
        (s.NAMEI, DEMO, Namei(b"/lib")),
        (s.STRUCT, DEMO, Struct(X86_64, 255, b"cwd", b"/usr/lib")),
        _ret(DEMO, 80, 0),
        _call(DEMO, 257, AT_FDCWD, 0x7FFD7300, 0),  # openat(AT_FDCWD, "os-release", O_RDONLY)
        (s.NAMEI, DEMO, Namei(b"os-release")),
        (s.STRUCT, DEMO, Struct(X86_64, 255, b"fd_path", b"/usr/lib/os-release")),
        _ret(DEMO, 257, 8),
        _call(DEMO, 3, 8),  # close
        _ret(DEMO, 3, 0),
        # recvmsg(MSG_CMSG_CLOEXEC) that received fd 9 in SCM_RIGHTS: its "fd_paths"
        _call(DEMO, 47, 6, 0x7FFD7400, 0x40000000),
        (s.STRUCT, DEMO, Struct(X86_64, 255, b"fd_paths",
                                struct.pack("<iI", 9, 11) + b"/etc/passwd")),
        _ret(DEMO, 47, 1),
        _call(DEMO, 3, 9),  # close
        _ret(DEMO, 3, 0),
        # fd-creating calls without a path: the kernel's names of the new fds
        # ("fd_path"; socketpair's two in "fd_paths" after its "fds")
        _call(DEMO, 290, 0, 0o2000000),  # eventfd2(0, EFD_CLOEXEC)
        (s.STRUCT, DEMO, Struct(X86_64, 255, b"fd_path", b"anon_inode:[eventfd]")),
        _ret(DEMO, 290, 10),
        _call(DEMO, 53, 1, 1, 0, 0x7FFD7500),  # socketpair(AF_UNIX, SOCK_STREAM, 0, sv)
        (s.STRUCT, DEMO, Struct(X86_64, 3, b"fds", struct.pack("<ii", 11, 12))),
        (s.STRUCT, DEMO, Struct(X86_64, 255, b"fd_paths",
                                struct.pack("<iI", 11, 13) + b"socket:[4242]"
                                + struct.pack("<iI", 12, 13) + b"socket:[4243]")),
        _ret(DEMO, 53, 0),
        _call(DEMO, 3, 12),  # close
        _ret(DEMO, 3, 0),
    ]


def _demo_processes() -> list[Entry]:
    s = RecordKind
    e = formats.ProcEvent
    f = formats.ProcFlag
    sigchld = 0x11
    return [
        _call(DEMO, 56, 0x1200000 | sigchld, 0, 0, 0x7F0000000A10, 0),  # clone: a fork
        (s.PROC, DEMO, Proc(e.CLONE, 0, 5001, 0, 0, b"")),
        _ret(DEMO, 56, 5001, 150_000),
        _call(CHILD_DEMO, 33, 5, 1),  # dup2(5, 1): stdout to the pipe's write end
        _ret(CHILD_DEMO, 33, 1),
        _call(DEMO, 61, 5001, 0x7FFD8000, 0, 0),  # wait4: the parent waits...
        _call(CHILD_DEMO, 59, 0x5555000, 0x7FFD9000, 0x7FFDA000),  # execve
        (s.NAMEI, CHILD_DEMO, Namei(b"/bin/true")),
        (s.EXEC_ARG, CHILD_DEMO, ExecArg(join_nul_strings([b"true", b"--version"]))),
        (s.EXEC_ENV, CHILD_DEMO, ExecEnv(join_nul_strings([b"PATH=/bin", b"HOME=/root"]))),
        (s.PROC, CHILD_TRUE, Proc(e.EXEC, 0, 0, 0, 0, b"/bin/true")),
        (s.EMUL, CHILD_TRUE, Emul(b"linux-x86_64")),
        # the fds open across it (argument 254): 2 is unknown to the trace until now
        (s.STRUCT, CHILD_TRUE, Struct(X86_64, 254, b"open_fds",
                                      struct.pack("<iI", 1, 8) + b"pipe:[9]"
                                      + struct.pack("<iI", 2, 10) + b"/dev/pts/0")),
        _ret(CHILD_TRUE, 59, 0, 300_000),
        _call(CHILD_TRUE, 1, 1, 0x7FFDB000, 5),
        (s.GENIO, CHILD_TRUE, Genio(1, formats.IoDirection.WRITE, 0, 5, b"true\n")),
        _ret(CHILD_TRUE, 1, 5),
        _call(CHILD_TRUE, 1, 4, 0x7FFDB000, 1),  # fd 4 was close-on-exec: gone
        _ret(CHILD_TRUE, 1, -9, 500, 9),
        _call(CHILD_TRUE, 231, 0),
        (s.SYSRET, CHILD_TRUE, Sysret(231, X86_64, formats.SyscallFlag.UNFINISHED, 0, 0, 0)),
        (s.PROC, CHILD_TRUE, Proc(e.EXIT, 0, 0, 0, 0, b"")),
        (s.PSIG, DEMO, Psig(17, 1, (1 << 64) - 1, 0, _siginfo(
            17, 1, (16, "i", 5001), (20, "I", 1000), (24, "i", 0), (32, "q", 1), (40, "q", 2)))),
        _ret(DEMO, 61, 5001, 400_000),
        _call(DEMO, 0, 4, 0x7FFD4000, 4096),  # read the pipe
        (s.GENIO, DEMO, Genio(4, formats.IoDirection.READ, 0, 5, b"true\n")),
        _ret(DEMO, 0, 5),
        # a thread, and calls that interleave
        _call(DEMO, 435, 0x7FFDC000, 88),  # clone3
        (s.PROC, DEMO, Proc(e.CLONE, f.THREAD, 5002, 0, 0, b"")),
        _ret(DEMO, 435, 5002, 60_000),
        _call(DEMO_THREAD, 0, 4, 0x7F0000100000, 1),  # the thread blocks in read...
        _call(DEMO, 230, 0, 0, 0x7FFDD000, 0),  # clock_nanosleep(CLOCK_REALTIME, 0, ...)
        (s.STRUCT, DEMO, Struct(X86_64, 2, b"timespec", struct.pack("<qq", 0, 20_000_000))),
        _ret(DEMO, 230, 0, 20_100_000),
        _call(DEMO, 1, 5, 0x7FFDE000, 1),  # ...until the main thread writes
        (s.GENIO, DEMO, Genio(5, formats.IoDirection.WRITE, 0, 1, b"x")),
        _ret(DEMO, 1, 1),
        (s.GENIO, DEMO_THREAD, Genio(4, formats.IoDirection.READ, 0, 1, b"x")),
        _ret(DEMO_THREAD, 0, 1, 20_300_000),
        _call(DEMO_THREAD, 60, 0),  # the thread exits
        (s.SYSRET, DEMO_THREAD, Sysret(60, X86_64, formats.SyscallFlag.UNFINISHED, 0, 0, 0)),
        (s.PROC, DEMO_THREAD, Proc(e.EXIT, 0, 0, 0, 0, b"")),
        # a signal to itself
        _call(DEMO, 62, 5000, 10),  # kill(5000, SIGUSR1)
        _ret(DEMO, 62, 0),
        (s.PSIG, DEMO, Psig(10, 0, 0x401136, 0x200, _siginfo(
            10, 0, (16, "i", 5000), (20, "I", 1000)))),
        _call(DEMO, 15),  # rt_sigreturn
        _ret(DEMO, 15, 0),
        _call(DEMO, 7, 0x7FFDF000, 1, 100),  # poll, interrupted
        _ret(DEMO, 7, -514, 1_000_000, 514),
        (s.PSIG, KILLED, Psig(11, 1, 0, 0, _siginfo(11, 1, (16, "Q", 0x10)))),
        (s.PROC, KILLED, Proc(e.EXIT, f.SIGNALED | f.CORE_DUMPED, 0, 0, 11, b"")),
        (s.USER, DEMO, User(b"demo", b"checkpoint 1")),
        (s.USER, DEMO, User(b"other", b"ignored")),
        _call(DEMO, 231, 0),
        (s.SYSRET, DEMO, Sysret(231, X86_64, formats.SyscallFlag.UNFINISHED, 0, 0, 0)),
        (s.PROC, DEMO, Proc(e.EXIT, 0, 0, 0, 0, b"")),
    ]


def _perf_records() -> list[tuple[int, Entry]]:
    """A program and its thread, with switches (-t wp) and counters (-C): (ts offset, entry)."""
    s = RecordKind
    e = formats.ProcEvent
    f = formats.ProcFlag
    pre = formats.CswFlag.PREEMPTED
    names = b"task-clock\0context-switches\0"
    ms = 1_000_000
    return [
        (0, (s.PROC, DEMO, Proc(e.CLONE, f.THREAD, 5002, 0, 0, b""))),
        (1 * ms, (s.CSW, DEMO, Csw(1, 0, 0, 0))),
        (2 * ms, (s.CSW, DEMO_THREAD, Csw(0, 0, 0, 0))),
        (5 * ms, (s.CSW, DEMO, Csw(0, 0, 0, 1))),
        (6 * ms, (s.CSW, DEMO_THREAD, Csw(1, 1, pre, 0))),
        (9 * ms, (s.CSW, DEMO_THREAD, Csw(0, 1, 0, 1))),
        (10 * ms, (s.CNT, DEMO, Cnt(0, 10 * ms, 10 * ms, (6 * ms, 1), names))),
        (10 * ms, (s.CNT, DEMO_THREAD, Cnt(0, 8 * ms, 8 * ms, (5 * ms, 1), names))),
        (12 * ms, (s.CSW, DEMO, Csw(1, 1, pre, 1))),
        (15 * ms, (s.CSW, DEMO, Csw(0, 1, 0, 0))),
        (16 * ms, (s.CNT, DEMO_THREAD, Cnt(formats.CntFlag.FINAL, 14 * ms, 14 * ms,
                                           (11 * ms, 2), names))),
        (16 * ms, (s.PROC, DEMO_THREAD, Proc(e.EXIT, f.THREAD, 0, 0, 0, b""))),
        (20 * ms, (s.CNT, DEMO, Cnt(formats.CntFlag.FINAL, 20 * ms, 20 * ms, (14 * ms, 2),
                                    names))),
        (20 * ms, (s.PROC, DEMO, Proc(e.EXIT, 0, 0, 0, 0, b""))),
    ]


def perf_trace() -> bytes:
    """perf.ktr: context switches and counter readings of a process and its thread."""
    out = io.BytesIO()
    header = {**HEADER, "options": {"facilities": "wp", "perf_source": True,
                                    "counters": ["task-clock", "context-switches"],
                                    "end_record": True}}
    out.write(formats.encode_file_header(formats.FileHeader(**header, byte_order="little")))
    codec = formats.codec("little")
    ending = (21_000_000, (RecordKind.END, RECORDER, End(0, 0, 1, 2, 0, 0, b"")))
    records = [codec.encode_record(RecordKind(kind), pid, tid, START_NS + offset, comm, payload)
               for offset, (kind, (pid, tid, comm), payload) in [*_perf_records(), ending]]
    out.write(formats.batch_framing("little").encode(records))
    return out.getvalue()


def calls_trace() -> bytes:
    """calls.ktr: two batches cut between a CALL and its NAMI (held across batches)."""
    out = io.BytesIO()
    header = {**HEADER, "options": {"facilities": "cnisuepav", "io_cap": 4096,
                                    "end_record": True}}
    out.write(formats.encode_file_header(formats.FileHeader(**header, byte_order="little")))
    framing = formats.batch_framing("little")
    first = _demo_calls()
    cut = 4  # after the first openat's CALL, before its NAMI
    # ended by a command killed by SIGKILL (status 137), its child left running
    ending: list[Entry] = [(RecordKind.END, RECORDER, End(137, 0, 3, 4, 0, 1, b""))]
    second = first[cut:] + _demo_processes() + ending
    out.write(framing.encode(_encode(first[:cut], "little", 0)))
    out.write(framing.encode(_encode(second, "little", cut)))
    return out.getvalue()


def appended_trace() -> bytes:
    """appended.ktr: four recordings in one file, the second and the last cut short."""
    s = RecordKind
    e = formats.ProcEvent
    out = io.BytesIO()
    options: dict[str, object] = {"facilities": "cnisuepa", "command": ["true"],
                                  "begin_record": True, "end_record": True}
    out.write(formats.encode_file_header(formats.FileHeader(
        **{**HEADER, "options": options}, byte_order="little")))
    framing = formats.batch_framing("little")
    first = (7000, 7000, b"true")
    second = (7100, 7100, b"sleep")
    third = (4242, 4242, b"ls")
    last = (7300, 7300, b"yes")
    recordings: list[list[Entry]] = [
        [(s.BEGIN, RECORDER, _begin(6990, START_NS, options)),
         (s.PROC, first, Proc(e.EXEC, 0, 0, 0, 0, b"/usr/bin/true")),
         (s.PROC, first, Proc(e.EXIT, 0, 0, 0, 0, b"")),
         (s.END, RECORDER, End(0, 0, 1, 1, 0, 0, b""))],
        # killed (SIGKILL): its last batch never written, so no END
        [(s.BEGIN, RECORDER, _begin(7090, START_NS + 5_000_000, {
            **options, "command": ["sleep", "100"]})),
         (s.PROC, second, Proc(e.EXEC, 0, 0, 0, 0, b"/usr/bin/sleep")),
         (s.SYSCALL, second, Syscall(230, X86_64, 0, (0, 0, 0x7FFD0000, 0, 0, 0)))],
        [(s.BEGIN, RECORDER, _begin(7190, START_NS + 9_000_000, b'{"pids": [4242], "com\xff')),
         (s.PROC, third, Proc(e.ATTACH, 0, 0, 0, 0, b"")),
         # its working directory and open fds at the attach (STRUCT records of no
         # call): what -y names AT_FDCWD and fds opened before the attach by
         (s.STRUCT, third, Struct(X86_64, 255, b"cwd", b"/home/u")),
         (s.STRUCT, third, Struct(X86_64, 254, b"open_fds",
                                  struct.pack("<iI", 0, 10) + b"/dev/pts/0"
                                  + struct.pack("<iI", 3, 17) + b"/home/u/notes.txt")),
         (s.SYSCALL, third, Syscall(0, X86_64, 0, (3, 0x7FFD1000, 16, 0, 0, 0))),
         (s.SYSRET, third, Sysret(0, X86_64, 0, 0, 0, 2_000)),
         # attached in a sleep (restart_syscall), let go in it: the RET says so
         (s.SYSCALL, third, Syscall(219, X86_64, 0, ())),
         (s.SYSRET, third, Sysret(219, X86_64, formats.SyscallFlag.UNFINISHED
                                  | formats.SyscallFlag.DETACHED, 0, 0, 1_000_250)),
         (s.PROC, third, Proc(e.DETACH, 0, 0, 0, 0, b"")),
         (s.END, RECORDER, End(-1, formats.EndFlag.STOPPED_EARLY, 1, 1, 0, 1,
                               b"interrupted by SIGINT"))],
        [(s.BEGIN, RECORDER, _begin(7290, START_NS + 14_000_000, {
            **options, "command": ["yes"]})),
         (s.PROC, last, Proc(e.EXEC, 0, 0, 0, 0, b"/usr/bin/yes"))],
    ]
    index = 0
    for recording in recordings:
        # As ktr record writes them: the BEGIN alone, at once; the rest later.
        out.write(framing.encode(_encode(recording[:1], "little", index)))
        out.write(framing.encode(_encode(recording[1:], "little", index + 1)))
        index += len(recording)
    return out.getvalue()


#: Other outputs kept for a trace: (suffix, ktrdump options).
VARIANTS: dict[str, list[tuple[str, list[str]]]] = {
    "calls.ktr": [
        (".strace", ["--format", "strace"]),
        (".y.txt", ["-y"]),
        (".y.jsonl", ["--json", "-y"]),
        (".y.strace", ["--format", "strace", "-y"]),
        (".n.txt", ["-n"]),
        (".nd.txt", ["-n", "-d"]),
        (".options.txt", ["-H", "-E", "-R", "--durations", "-s", "-d"]),
        (".x.txt", ["-x", "-m", "8"]),
        (".p.txt", ["-p", "5001"]),
        (".u.txt", ["-u", "demo"]),
        (".t.txt", ["-t", "n"]),
        (".m.strace", ["--format", "strace", "-m", "8"]),
        (".summary.txt", ["--summary"]),
        (".summary.p.txt", ["--summary", "-p", "5001", "-S", "calls"]),
        (".chrome.json", ["--format", "chrome"]),
    ],
    "probes.ktr": [
        (".calls.txt", ["--format", "calls"]),
        (".p.txt", ["-p", "6000"]),
        (".summary.txt", ["--summary"]),
        (".chrome.json", ["--format", "chrome"]),
    ],
    "perf.ktr": [
        (".summary.txt", ["--summary"]),
        (".chrome.json", ["--format", "chrome"]),
    ],
    "appended.ktr": [
        (".t.txt", ["-t", "p"]),
        (".strace", ["--format", "strace"]),
        (".y.strace", ["--format", "strace", "-y"]),
        (".summary.txt", ["--summary"]),
        (".chrome.json", ["--format", "chrome"]),
    ],
    "corrupt_middle.ktr": [
        (".summary.txt", ["--summary"]),
        (".chrome.json", ["--format", "chrome"]),
    ],
}


def _encode(entries: list[Entry], order: formats.ByteOrder, first_index: int) -> list[bytes]:
    codec = formats.codec(order)
    encoded = []
    for index, (kind, (pid, tid, comm), payload) in enumerate(entries, first_index):
        ts = START_NS + index * 1_000_250
        if order != "little" and isinstance(payload, formats.Probe) and payload.strings:
            # PROBE's strings are in the file's byte order too (built above little-endian)
            entries_of, damage = formats.probe_strings.decode(payload.strings)
            assert damage is None
            payload = payload._replace(strings=formats.probe_strings.encode(entries_of, order))
        if isinstance(payload, bytes):
            encoded.append(codec.encode_raw_record(kind, pid, tid, ts, comm, payload))
        else:
            encoded.append(codec.encode_record(RecordKind(kind), pid, tid, ts, comm, payload))
    return encoded


def trace(order: formats.ByteOrder = "little", compress: bool = False) -> tuple[bytes, list[int]]:
    """A trace of every kind in three batches; returns its bytes and each batch's offset."""
    out = io.BytesIO()
    out.write(formats.encode_file_header(formats.FileHeader(**HEADER, byte_order=order)))
    framing = formats.batch_framing(order)
    compressor = zstandard.ZstdCompressor(level=ZSTD_LEVEL) if compress else None
    offsets = []
    index = 0
    for group in (_calls(), _io_and_signals(), _lifecycle()):
        offsets.append(out.tell())
        out.write(framing.encode(_encode(group, order, index), compressor))
        index += len(group)
    return out.getvalue(), offsets


def vectors() -> dict[str, bytes]:
    plain, offsets = trace()
    damaged = bytearray(plain)
    # A payload byte of the middle batch: its checksum fails, its header holds.
    damaged[offsets[1] + formats.batch_framing().size + 50] ^= 0x40
    torn_at = offsets[2] + (len(plain) - offsets[2]) // 2
    header_size = formats.parse_file_header(plain)[1]
    damaged_header = bytearray(plain)
    damaged_header[formats.HEADER_PREFIX_SIZE + 6] ^= 0x10  # realtime_ns, 52 days
    minor0 = formats.encode_file_header(formats.FileHeader(**HEADER, minor=0))
    return {
        "all_kinds.ktr": plain,
        "all_kinds_zstd.ktr": trace(compress=True)[0],
        "all_kinds_big.ktr": trace(order="big")[0],
        "corrupt_middle.ktr": bytes(damaged),
        "torn_tail.ktr": plain[:torn_at],
        "damaged_header.ktr": bytes(damaged_header),
        "minor0.ktr": minor0 + plain[header_size:],
        "calls.ktr": calls_trace(),
        "probes.ktr": probes_trace(),
        "perf.ktr": perf_trace(),
        "appended.ktr": appended_trace(),
    }


def update_expected(names: list[str]) -> None:
    """Rewrite the expected outputs from the current ktrdump (review the diff!)."""
    import contextlib
    import os

    from ktrdump.cli import main

    os.chdir(HERE)
    for name in names:
        stem = name.removesuffix(".ktr")
        outputs = [(".txt", []), (".jsonl", ["--json"]), *VARIANTS.get(name, [])]
        for suffix, extra in outputs:
            # ktrdump writes bytes to stdout's buffer: give it one.
            stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
            stderr = io.StringIO()
            with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                status = main([*extra, name])
            stdout.flush()
            (HERE / (stem + suffix)).write_bytes(stdout.buffer.getvalue())  # type: ignore[attr-defined]
            if status or stderr.getvalue():
                (HERE / (stem + ".stderr")).write_text(stderr.getvalue())
                (HERE / (stem + ".status")).write_text(f"{status}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-expected", action="store_true",
                        help="also rewrite the expected outputs from the current ktrdump")
    arguments = parser.parse_args(argv)
    files = vectors()
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    if arguments.update_expected:
        update_expected(list(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
