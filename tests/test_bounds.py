"""Issue 7: ktrdump's memory and time stay bounded on hostile input, and the recorder
never writes what its reader rejects.

The crafted files (``tests/crafted/``, made by ``make_crafted.py``) run through
every view in a child process under an address-space limit; peak RSS and CPU
time come from ``wait4`` (``bounded_support``). CPU time, not wall time, so the
figures do not depend on the machine's load.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from bounded_support import CPU_LIMIT_S, RSS_LIMIT_BYTES, measure_views

import formats
import ktrdump
from formats import RecordKind, Syscall

sys.path.insert(0, str(Path(__file__).parent / "crafted"))
import make_crafted

CRAFTED = Path(__file__).parent / "crafted"
BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")


def _assert_bounded(path: Path) -> dict[str, str]:
    """Every view's peak RSS and CPU time within the goal; returns each view's stderr."""
    costs = measure_views(path)
    for view, cost in costs.items():
        assert cost.max_rss_bytes < RSS_LIMIT_BYTES, (view, cost)
        assert cost.cpu_s < CPU_LIMIT_S, (view, cost)
        assert "Traceback" not in cost.stderr, cost.stderr
    return {view: cost.stderr for view, cost in costs.items()}


# -- committed regression files ------------------------------------------------------

def test_zstd_bomb_is_one_skipped_batch_in_every_view() -> None:
    # 90 KB expanding to 1 GiB (26.8 M records): died of MemoryError before.
    for view, stderr in _assert_bounded(CRAFTED / "zstd_bomb.ktr").items():
        assert "over the 16777216-byte cap at byte offset 83; skipped 1 batch" in stderr, view


def test_struct_cache_file_is_bounded_in_every_view() -> None:
    # Argument counts 1..6000 in zstd batches: hundreds of MB of cached structs before.
    for view, stderr in _assert_bounded(CRAFTED / "struct_cache.ktr").items():
        assert "compression ratio over 32" in stderr, view


# -- the largest legal inputs: every view within the goal ----------------------------
# bench/bounds.py measures them at 1 MB; the tests use 100 KB versions (same shape)
# to stay a few seconds long.

@pytest.mark.parametrize("name", sorted(make_crafted.GENERATED))
def test_largest_legal_inputs_stay_within_the_goal(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_bytes(make_crafted.GENERATED[name](100_000))
    _assert_bounded(path)


# -- the reader ------------------------------------------------------------------------

def test_array_decoding_keeps_no_per_count_state() -> None:
    # Every distinct argument count used to leave a compiled struct behind.
    codec = formats.codec()
    raws = [codec.encode_record(RecordKind.SYSCALL, 1, 1, 1, b"x",
                                Syscall(0, 1, 0, (0,) * argc)) for argc in range(1, 1500)]
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for raw in raws:
        codec.iter_records(raw)
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert after - before < 2 << 20


def test_decompression_stops_at_the_header_length() -> None:
    # A frame that expands past what its batch header says is damage, found
    # without decompressing it all (bounded output, whatever the frame claims).
    raw = make_crafted.empty_record() * 1000
    stored = make_crafted.zstandard.ZstdCompressor().compress(raw * 30)
    framing = formats.batch_framing()
    header = formats.BatchHeader(formats.BATCH_FLAG_ZSTD, 1000, len(stored), len(raw),
                                 make_crafted.zlib.crc32(stored))
    with pytest.raises(formats.CorruptBatch, match="more than its header says"):
        framing.payload(header, stored, 0)


def test_large_batch_is_decoded_in_chunks_and_damage_still_yields_nothing() -> None:
    from ktrdump._reader import DECODE_CHUNK
    codec = formats.codec()
    records = [codec.encode_record(RecordKind.SYSCALL, 1, 1, n, b"x", Syscall(0, 1, 0, (n,)))
               for n in range(3 * DECODE_CHUNK + 5)]
    good = make_crafted.frame(b"".join(records), len(records))
    # The same batch with its very last record's payload cut short: not decodable.
    bad_records = [*records[:-1], codec.encode_raw_record(RecordKind.SYSCALL, 1, 1, 0, b"x",
                                                          b"\x01")]
    bad = make_crafted.frame(b"".join(bad_records), len(bad_records))
    data = formats.encode_file_header(make_crafted.HEADER) + good + bad + good
    with ktrdump.open(io.BytesIO(data)) as trace:
        events = list(trace.events())
    lists = [e for e in events if isinstance(e, list)]
    assert max(len(e) for e in lists) == DECODE_CHUNK
    assert sum(len(e) for e in lists) == 2 * len(records)
    assert [type(e).__name__ for e in events].count("Skipped") == 1


def test_resynchronising_past_fake_headers_is_linear() -> None:
    # 20 MB of damage with a checksum-valid header every 4 KiB, each claiming
    # 4 MiB of payload: headers x claim = 20 GB of checksumming before.
    data = make_crafted.fake_headers(20_000_000)
    code = (
        "import io, sys, resource, ktrdump\n"
        "data = sys.stdin.buffer.read()\n"
        "with ktrdump.open(io.BytesIO(data)) as trace:\n"
        "    records = list(trace)\n"
        "    notices = trace.notices\n"
        "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print(len(records), notices[0].batches, usage.ru_utime + usage.ru_stime)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], input=data, capture_output=True,
                            timeout=60, check=True)
    count, batches, cpu = result.stdout.split()
    assert int(count) == 1  # the intact batch after the damage is read
    assert int(batches) == 20_000_000 // 4096 + 2  # every header passed over is counted
    assert float(cpu) < CPU_LIMIT_S, (cpu, time.monotonic() - started)


def test_slice_checksums_equal_zlib() -> None:
    import random
    import zlib
    rng = random.Random(3)
    data = rng.randbytes(50_000)
    for _ in range(200):
        origin, start, stop = sorted(rng.randrange(len(data) + 1) for _ in range(3))
        assert formats.slice_crc32(zlib.crc32(data[origin:start]), zlib.crc32(data[origin:stop]),
                                   stop - start) == zlib.crc32(data[start:stop])
    from formats._crc import _shift_python
    for _ in range(100):
        crc, length = rng.getrandbits(32), rng.randrange(1 << 34)
        assert _shift_python(crc, length) == formats.crc32_shift(crc, length)


# -- the writer ------------------------------------------------------------------------

def test_encode_batches_splits_at_the_cap_and_refuses_longer_records() -> None:
    framing = formats.batch_framing()
    records = [bytes([n]) * (100 + n) for n in range(50)]
    oversize = b"z" * 1001
    batches, refused = framing.encode_batches([*records[:10], oversize, *records[10:]],
                                              None, max_bytes=1000)
    assert refused == 1
    got = []
    next_record = 0
    for batch in batches:
        header = framing.parse_header(batch, 0)
        assert header.raw_length <= 1000
        raw = framing.payload(header, batch[framing.size:], 0)
        got.append(raw)
        next_record += header.record_count
        if next_record < len(records):  # full: the next record would not have fitted
            assert header.raw_length + len(records[next_record]) > 1000
    assert b"".join(got) == b"".join(records)


def test_too_compressible_batch_is_stored_raw() -> None:
    import zstandard
    framing = formats.batch_framing()
    records = [b"\0" * 100_000]
    data = framing.encode(records, zstandard.ZstdCompressor())
    header = framing.parse_header(data, 0)
    assert not header.flags & formats.BATCH_FLAG_ZSTD
    data = framing.encode([os.urandom(1000)], zstandard.ZstdCompressor())
    assert framing.parse_header(data, 0).flags & formats.BATCH_FLAG_ZSTD


def test_header_over_the_limit_is_never_encoded() -> None:
    header = formats.FileHeader("h", "r", "m", 1, 2, "v", {"x": "y" * formats.MAX_HEADER_BODY})
    with pytest.raises(ValueError, match="over SPEC's limit"):
        formats.encode_file_header(header)


def _batches_of(path: Path) -> list[formats.BatchHeader]:
    data = path.read_bytes()
    _, position = formats.parse_file_header(data)
    framing = formats.batch_framing()
    found = []
    while position < len(data):
        header = framing.parse_header(data[position:position + framing.size], position)
        found.append(header)
        position += framing.size + header.stored_length
    return found


WRITER = """
import os, sys
block = os.urandom(1 << 16) * ((8 << 20) >> 16)
for _ in range(int(sys.argv[1])):
    os.write(1, block)
"""


@pytest.mark.parametrize("compress", [False, True])
def test_heavy_io_at_the_largest_s_is_all_readable(tmp_path: Path, compress: bool) -> None:
    # 8 MiB writes recorded whole (-s at its maximum): the writer takes several
    # at once and must split them into batches within the 16 MiB cap.
    out = tmp_path / "io.ktr"
    writes = 5
    arguments = [KTR, "record", "-t", "ci", "-s", str(8 << 20), "-o", str(out)]
    if compress:
        arguments.append("-z")
    subprocess.run([*arguments, "--", sys.executable, "-c", WRITER, str(writes)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True, timeout=60)
    for header in _batches_of(out):
        assert header.raw_length <= formats.MAX_BATCH_BYTES
        assert header.stored_length <= formats.MAX_BATCH_BYTES
    with ktrdump.open(str(out)) as trace:
        genio = [r for r in trace if r.kind == RecordKind.GENIO]
        assert trace.skipped_batches == 0
    big = [r for r in genio if len(r.payload.data) == 8 << 20]  # type: ignore[union-attr]
    assert len(big) == writes


def test_s_over_its_maximum_is_one_line() -> None:
    result = subprocess.run([KTR, "record", "-s", "16777216", "--", "true"],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "-s 16777216 is over the maximum, 8388608" in result.stderr


def test_command_line_over_one_mebibyte_is_readable(tmp_path: Path) -> None:
    out = tmp_path / "argv.ktr"
    argv = ["/bin/true", *(["a" * 1000] * 1100)]  # 1.1 MB of arguments
    subprocess.run([KTR, "record", "-t", "ca", "-o", str(out), "--", *argv],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, timeout=20)
    with ktrdump.open(str(out)) as trace:
        options = trace.header.options
        records = list(trace)
    assert options["command_truncated"] == {"arguments": len(argv),
                                            "kept": len(options["command"])}
    assert options["command"] == argv[: len(options["command"])]
    exec_args = [r for r in records if r.kind == RecordKind.EXEC_ARG]
    assert formats.split_nul_strings(exec_args[0].payload.data) == [  # type: ignore[union-attr]
        a.encode() for a in argv]
