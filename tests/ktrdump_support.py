"""Build small trace files for the ktrdump tests, with ``formats`` alone."""

from __future__ import annotations

import io
import select
import struct
import subprocess
import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import zstandard

import formats
from formats import Genio, Namei, RecordKind, Syscall, Sysret

START_NS = 1_700_000_000_000_000_000

HEADER = formats.FileHeader(
    hostname="test-host",
    kernel_release="6.1.0-test",
    machine="x86_64",
    realtime_ns=START_NS,
    monotonic_ns=1_000,
    ktr_version="test",
    options={"facilities": "+"},
)

#: (kind, pid, tid, comm, payload) — payload bytes for a raw (unknown-kind) body.
Entry = tuple[int, int, int, bytes, Any]


def file_header(order: formats.ByteOrder = "little", major: int = formats.FORMAT_MAJOR,
                end_record: bool = False) -> bytes:
    """``end_record``: the header promises an END record last, as ``ktr record``'s does."""
    options = {**HEADER.options, **({"end_record": True} if end_record else {})}
    header = formats.FileHeader(**{**HEADER.__dict__, "byte_order": order, "major": major,
                                   "options": options})
    return formats.encode_file_header(header)


#: The END record ``ktr record`` writes last (a command that exited 0).
END_ENTRY: Entry = (RecordKind.END, 0, 0, b"ktr", formats.End(0, 0, 1, 1, 0, 0, b""))


def encode_entries(entries: Sequence[Entry], order: formats.ByteOrder = "little",
                   first_ns: int = START_NS) -> list[bytes]:
    codec = formats.codec(order)
    encoded = []
    for index, (kind, pid, tid, comm, payload) in enumerate(entries):
        ts = first_ns + index * 1000
        if isinstance(payload, bytes):
            encoded.append(codec.encode_raw_record(kind, pid, tid, ts, comm, payload))
        else:
            encoded.append(codec.encode_record(RecordKind(kind), pid, tid, ts, comm, payload))
    return encoded


def build_trace(
    batches: Sequence[Sequence[Entry]],
    order: formats.ByteOrder = "little",
    compress: bool = False,
) -> tuple[bytes, list[int]]:
    """A whole trace file; returns its bytes and the offset of each batch."""
    out = io.BytesIO()
    out.write(file_header(order))
    framing = formats.batch_framing(order)
    compressor = zstandard.ZstdCompressor(level=1) if compress else None
    offsets = []
    for number, batch in enumerate(batches):
        offsets.append(out.tell())
        out.write(framing.encode(encode_entries(batch, order, START_NS + number * 10**9),
                                 compressor))
    return out.getvalue(), offsets


def syscall_batch(count: int, pid: int = 4242, comm: bytes = b"ls") -> list[Entry]:
    """A realistic mix: openat/NAMI/RET, then read with a little GENIO data."""
    entries: list[Entry] = []
    while len(entries) < count:
        entries.extend([
            (RecordKind.SYSCALL, pid, pid, comm,
             Syscall(257, 1, 0, ((1 << 64) - 100, 0x7FFD1000, 0x80000, 0, 0, 0))),
            (RecordKind.NAMEI, pid, pid, comm, Namei(b"/etc/ld.so.cache")),
            (RecordKind.SYSRET, pid, pid, comm, Sysret(257, 1, 0, 0, 3, 1200)),
            (RecordKind.SYSCALL, pid, pid, comm, Syscall(0, 1, 0, (3, 0x7FFD2000, 64, 0, 0, 0))),
            (RecordKind.GENIO, pid, pid, comm, Genio(3, 0, 0, 12, b"hello world\n")),
            (RecordKind.SYSRET, pid, pid, comm, Sysret(0, 1, 0, 0, 12, 800)),
        ])
    return entries[:count]


def batch_header_with_flags(order: formats.ByteOrder, flags: int, payload: bytes,
                            count: int) -> bytes:
    """A batch header with a valid checksum but arbitrary flags (a newer minor's batch)."""
    framing = formats.batch_framing(order)
    checked = framing.struct.pack(formats.BATCH_MAGIC, flags, count, len(payload), len(payload),
                                  zlib.crc32(payload), 0)[: framing.size - 4]
    prefix = "<" if order == "little" else ">"
    return checked + struct.pack(prefix + "I", zlib.crc32(checked)) + payload


def output_lines(process: subprocess.Popen[bytes], deadline_s: float) -> Iterator[str]:
    """The process's output lines, each awaited at most ``deadline_s`` (unbuffered:
    select is exact)."""
    assert process.stdout is not None
    while True:
        ready, _, _ = select.select([process.stdout], [], [], deadline_s)
        assert ready, "no output before the deadline"
        line = process.stdout.readline()
        if not line:
            return
        yield line.decode().rstrip("\n")
