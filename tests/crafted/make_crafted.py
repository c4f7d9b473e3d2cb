"""Crafted hostile trace files for the bounded-reader tests (issue 7), deterministically.

    python tests/crafted/make_crafted.py      # rewrites the committed .ktr files here

Each file attacks one bound ktrdump keeps (``tests/test_crafted.py`` runs
every view on it in a subprocess and measures peak RSS and CPU time):

- ``zstd_bomb.ktr`` (33 KB): one zstd batch that expands to 1 GiB, 26.8 M
  empty records. Before the batch cap, ktrdump decoded it whole and died of
  MemoryError.
- ``struct_cache.ktr`` (~50 KB): zstd batches of SYSCALL records with every
  argument count from 1 to 6000. Before, the codec kept one compiled
  ``struct.Struct`` per count (hundreds of MB).
Built by the tests (deterministic, not committed):

- ``many_threads.ktr`` (~1 MB, raw batches within every cap): 13 000
  threads each entering a call that never returns, opening fds under -y
  paths; the per-thread tables must stay bounded.
- ``fds_forks.ktr`` (~1 MB): 20 000 fds opened, then as many forks as fit;
  each fork copies the fd table under -y.
- ``ratio_limit.ktr`` (~1 MB): zstd batches exactly at the compression ratio
  the SPEC allows (16), full of minimal records: the most records 1 MB can
  legally hold.

The 20 MB file of fake batch headers is built by ``fake_headers`` in the test
itself (too large to commit).

These files are framed by hand (``frame``), not by ``formats``' encoder, which
refuses to write what the reader rejects.
"""

from __future__ import annotations

import random
import struct
import sys
import zlib
from pathlib import Path

import zstandard

_HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(_HERE.parent.parent))

import formats  # noqa: E402
from formats import Genio, Namei, RecordKind, Syscall, Sysret  # noqa: E402

START_NS = 1_700_000_000_000_000_000
HEADER = formats.FileHeader(
    hostname="crafted", kernel_release="6.1.0-crafted", machine="x86_64",
    realtime_ns=START_NS, monotonic_ns=1, ktr_version="crafted", options={},
)
_BATCH = struct.Struct("<4sHxxIIIII")
_RECORD_HEADER = struct.Struct("<IHHiiQ16s")
UNKNOWN_KIND = 0x7E57


def frame(raw: bytes, count: int, stored: bytes | None = None) -> bytes:
    """One batch: raw payload, or ``stored`` as its zstd form; checksums correct."""
    flags = 0 if stored is None else formats.BATCH_FLAG_ZSTD
    body = raw if stored is None else stored
    head = struct.pack("<4sHxxIIII", formats.BATCH_MAGIC, flags, count, len(body), len(raw),
                       zlib.crc32(body))
    return head + struct.pack("<I", zlib.crc32(head)) + body


def frame_stream(raw_chunks: list[bytes], count: int, repeat: int) -> bytes:
    """A zstd batch whose payload is ``raw_chunks`` repeated ``repeat`` times, compressed
    without ever holding it whole."""
    compressor = zstandard.ZstdCompressor(level=19).compressobj()
    parts = []
    raw_length = 0
    crc_parts = []
    for _ in range(repeat):
        for chunk in raw_chunks:
            parts.append(compressor.compress(chunk))
            raw_length += len(chunk)
    parts.append(compressor.flush())
    stored = b"".join(parts)
    crc_parts.append(stored)
    head = struct.pack("<4sHxxIIII", formats.BATCH_MAGIC, formats.BATCH_FLAG_ZSTD, count,
                       len(stored), raw_length, zlib.crc32(stored))
    return head + struct.pack("<I", zlib.crc32(head)) + stored


def empty_record(tid: int = 1) -> bytes:
    return _RECORD_HEADER.pack(0, UNKNOWN_KIND, 1, tid, tid, START_NS, b"bomb")


def zstd_bomb() -> bytes:
    record = empty_record()
    per_chunk = (1 << 20) // len(record)
    chunk = record * per_chunk
    repeat = (1 << 30) // len(chunk)
    return formats.encode_file_header(HEADER) + frame_stream([chunk], per_chunk * repeat, repeat)


def struct_cache(top: int = 6000) -> bytes:
    codec = formats.codec()
    out = [formats.encode_file_header(HEADER)]
    compressor = zstandard.ZstdCompressor(level=19)
    run: list[bytes] = []
    for argc in range(1, top + 1):
        run.append(codec.encode_record(RecordKind.SYSCALL, 1, 1, START_NS + argc, b"cache",
                                       Syscall(0, 1, 0, (0,) * argc)))
        if len(run) == 500:
            raw = b"".join(run)
            out.append(frame(raw, len(run), compressor.compress(raw)))
            run = []
    if run:
        raw = b"".join(run)
        out.append(frame(raw, len(run), compressor.compress(raw)))
    return b"".join(out)


def many_threads(size: int = 1_000_000) -> bytes:
    """Raw batches: every record a new tid, each opening an fd and leaving a call open."""
    codec = formats.codec()
    out = [formats.encode_file_header(HEADER)]
    total = len(out[0])
    run: list[bytes] = []
    tid = 100
    while total < size - 4096:
        ts = START_NS + tid
        path = b"/tmp/%d" % tid
        records = [
            codec.encode_record(RecordKind.SYSCALL, tid, tid, ts, b"t%d" % tid,
                                Syscall(257, 1, 0, ((1 << 64) - 100, 0, 0, 0, 0, 0))),
            codec.encode_record(RecordKind.NAMEI, tid, tid, ts, b"t%d" % tid, Namei(path)),
            codec.encode_record(RecordKind.SYSRET, tid, tid, ts + 1, b"t%d" % tid,
                                Sysret(257, 1, 0, 0, 3 + tid % 1000, 1)),
            codec.encode_record(RecordKind.SYSCALL, tid, tid, ts + 2, b"t%d" % tid,
                                Syscall(0, 1, 0, (3 + tid % 1000, 0, 4096, 0, 0, 0))),
        ]
        run.extend(records)
        total += sum(map(len, records))
        tid += 1
        if len(run) >= 400:
            batch = frame(b"".join(run), len(run))
            out.append(batch)
            total += 28
            run = []
    if run:
        out.append(frame(b"".join(run), len(run)))
    return b"".join(out)


def ratio_limit(size: int = 1_000_000, record: bytes | None = None) -> bytes:
    """zstd batches at exactly the ratio the SPEC allows, holding ``record`` (default:
    a minimal one) again and again."""
    out = [formats.encode_file_header(HEADER)]
    total = len(out[0])
    record = record or empty_record()
    compress = zstandard.ZstdCompressor(level=3).compress
    count = (1 << 20) // len(record)
    while True:
        raw = record * count
        stored = compress(raw)
        if len(raw) <= formats.MAX_COMPRESSION_RATIO * len(stored):
            break
        count = formats.MAX_COMPRESSION_RATIO * len(stored) // len(record)
    per_group = 0
    at = 0
    while at < len(record):
        at += _RECORD_HEADER.size + _RECORD_HEADER.unpack_from(record, at)[0]
        per_group += 1
    batch = frame(raw, count * per_group, stored)
    while total + len(batch) <= size:
        out.append(batch)
        total += len(batch)
    return b"".join(out)


def fds_forks(size: int = 1_000_000) -> bytes:
    """zstd batches (within the ratio): one process opens thousands of fds, then forks
    thousands of times; each fork copies its fd table under -y (fds x forks entries)."""
    codec = formats.codec()
    out = [formats.encode_file_header(HEADER)]
    compress = zstandard.ZstdCompressor(level=19).compress
    opens = []
    for fd in range(3, 20003):
        opens += [
            codec.encode_record(RecordKind.SYSCALL, 5, 5, START_NS + fd, b"parent",
                                Syscall(2, 1, 0, (0x1000, 0, 0, 0, 0, 0))),
            codec.encode_record(RecordKind.NAMEI, 5, 5, START_NS + fd, b"parent",
                                Namei(b"/f")),
            codec.encode_record(RecordKind.SYSRET, 5, 5, START_NS + fd, b"parent",
                                Sysret(2, 1, 0, 0, fd, 1)),
        ]
    total = len(out[0])
    budget = size // 2

    filler = random.Random(7)

    def add(records: list[bytes]) -> bool:
        nonlocal total
        for start in range(0, len(records), 3000):
            part = records[start : start + 3000]
            raw = b"".join(part)
            stored = compress(raw)
            while len(raw) > formats.MAX_COMPRESSION_RATIO * len(stored):
                # Too compressible for the cap: an incompressible record makes the
                # batch legal while keeping almost all of its records.
                need = (len(raw) - formats.MAX_COMPRESSION_RATIO * len(stored)) // (
                    formats.MAX_COMPRESSION_RATIO - 1) + 64
                part = [*part, _RECORD_HEADER.pack(need, UNKNOWN_KIND, 1, 5, 5, START_NS,
                                                   b"pad") + filler.randbytes(need)]
                raw = b"".join(part)
                stored = compress(raw)
            batch = frame(raw, len(part), stored)
            if total + len(batch) > size:
                return False
            out.append(batch)
            total += len(batch)
        return True

    add(opens[: 3 * (budget // 60)])
    child = 1000
    while True:
        forks = [codec.encode_record(RecordKind.PROC, 5, 5, START_NS + 10**9 + n, b"parent",
                                     formats.Proc(1, 0, child + n, 0, 0, b""))
                 for n in range(3000)]
        child += 3000
        if not add(forks):
            break
    return b"".join(out)


def ratio_calls(size: int = 1_000_000) -> bytes:
    """As ``ratio_limit``, with calls that cost the most to show: openat with its
    path, a failed read and a write with data, again and again."""
    codec = formats.codec()
    calls = b"".join([
        codec.encode_record(RecordKind.SYSCALL, 7, 8, START_NS, b"calls",
                            Syscall(257, 1, 0, ((1 << 64) - 100, 0x1000, 0o2101102, 0o644, 0, 0))),
        codec.encode_record(RecordKind.NAMEI, 7, 8, START_NS, b"calls", Namei(b"/etc/passwd")),
        codec.encode_record(RecordKind.SYSRET, 7, 8, START_NS + 5, b"calls",
                            Sysret(257, 1, 0, 0, 3, 5)),
        codec.encode_record(RecordKind.SYSCALL, 7, 8, START_NS + 6, b"calls",
                            Syscall(0, 1, 0, (3, 0x2000, 4096, 0, 0, 0))),
        codec.encode_record(RecordKind.SYSRET, 7, 8, START_NS + 7, b"calls",
                            Sysret(0, 1, 0, 11, -11, 1)),
        codec.encode_record(RecordKind.SYSCALL, 7, 8, START_NS + 8, b"calls",
                            Syscall(1, 1, 0, (1, 0x3000, 64, 0, 0, 0))),
        codec.encode_record(RecordKind.GENIO, 7, 8, START_NS + 8, b"calls",
                            Genio(1, 1, 0, 64, bytes(range(32, 96)))),
        codec.encode_record(RecordKind.SYSRET, 7, 8, START_NS + 9, b"calls",
                            Sysret(1, 1, 0, 0, 64, 1)),
    ])
    return ratio_limit(size, calls)


def genio_large(size: int = 1_000_000) -> bytes:
    """Raw batches of GENIO records carrying as much data as the file allows."""
    codec = formats.codec()
    data = bytes(range(256)) * ((size - 4096) // 256)
    record = codec.encode_record(RecordKind.GENIO, 7, 7, START_NS, b"io",
                                 Genio(1, 1, 0, len(data), data))
    return formats.encode_file_header(HEADER) + frame(record, 1)


def fake_headers(size: int, spacing: int = 4096, claim: int = 4 << 20) -> bytes:
    """``size`` bytes of damage holding a valid-looking batch header every ``spacing``
    bytes, each claiming ``claim`` bytes of payload whose checksum is wrong, then one
    intact batch. Reading past them used to cost headers x claim."""
    codec = formats.codec()
    tail_record = codec.encode_record(RecordKind.SYSCALL, 9, 9, START_NS, b"last",
                                      Syscall(60, 1, 0, (0,) * 6))
    head = formats.encode_file_header(HEADER)
    damaged_start = frame(b"x" * 100, 1)[:-100] + b"y" * 100  # payload crc wrong
    body = bytearray(size)
    position = 0
    while position + 28 < size:
        fake = struct.pack("<4sHxxIIII", formats.BATCH_MAGIC, 0, 1, claim, claim, 0xDEADBEEF)
        fake += struct.pack("<I", zlib.crc32(fake))
        body[position : position + 28] = fake
        position += spacing
    return head + damaged_start + bytes(body) + frame(tail_record, 1)


#: The committed files (the 1 MB ones are cheap to build, so tests build them).
FILES = {
    "zstd_bomb.ktr": zstd_bomb,
    "struct_cache.ktr": struct_cache,
}
#: Built by the tests into a temporary directory.
GENERATED = {
    "many_threads.ktr": many_threads,
    "ratio_limit.ktr": ratio_limit,
    "ratio_calls.ktr": ratio_calls,
    "genio_large.ktr": genio_large,
    "fds_forks.ktr": fds_forks,
}


def main() -> None:
    for name, make in FILES.items():
        data = make()
        (_HERE / name).write_bytes(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
