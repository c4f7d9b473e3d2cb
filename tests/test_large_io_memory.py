"""The recorder's memory stays bounded when each record is large (``-s 8M``).

The oracle is the kernel's own peak-RSS account of the recorder process
(``getrusage(RUSAGE_CHILDREN).ru_maxrss`` read in a small parent process that
runs only ``ktr record``), not anything the recorder reports about itself.
The trace must still be complete: every byte dd moved is in a GENIO record,
nothing dropped.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import formats
import ktrdump
from formats import RecordKind

KTR = str(Path(sys.executable).parent / "ktr")
BLOCK = 8 << 20
BLOCKS = 6  # 2 x 48 MiB of GENIO data (before the fix, held at once: 210 MB peak)
PEAK_RSS_BOUND = 150 << 20

# Runs ktr record as its only child, then prints the child's exit status and the
# largest resident set of its children (ktr and dd, which ktr waited for), in bytes.
_PARENT = """
import json, resource, subprocess, sys
status = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode
print(json.dumps([status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]))
"""


def test_dd_with_8_mib_blocks_under_s_8m_stays_small_and_complete(tmp_path: Path) -> None:
    out = tmp_path / "big.ktr"
    done = subprocess.run(
        [sys.executable, "-c", _PARENT, KTR, "record", "-q", "-s", str(BLOCK), "-o", str(out),
         "--", "dd", "if=/dev/zero", "of=/dev/null", f"bs={BLOCK}", f"count={BLOCKS}"],
        capture_output=True, text=True, timeout=60, check=True)
    status, peak_rss = json.loads(done.stdout)
    assert status == 0
    assert peak_rss < PEAK_RSS_BOUND, f"peak RSS {peak_rss >> 20} MiB"

    full_blocks = 0
    with ktrdump.open(str(out)) as reader:
        for record in reader:
            assert record.kind != RecordKind.DROP
            if record.kind == RecordKind.GENIO:
                genio = record.payload
                assert isinstance(genio, formats.Genio)
                assert genio.transferred == len(genio.data)  # nothing cut: -s is BLOCK
                full_blocks += genio.transferred == BLOCK
        assert reader.skipped_batches == 0
    # each of dd's reads and writes, with all its bytes
    assert full_blocks == 2 * BLOCKS


def test_the_strace_view_of_many_8_mib_records_stays_small(tmp_path: Path) -> None:
    # The strace view holds the last LOOK_AHEAD (4096) records of a file between
    # batches: 4096 records of 8 MiB each were all held, memory grew with the trace
    # (2 x 12 blocks: 260 MB peak). Now the held data is bounded in bytes too.
    out = tmp_path / "big.ktr"
    blocks = 12
    subprocess.run([KTR, "record", "-q", "-s", str(BLOCK), "-o", str(out), "--", "dd",
                    "if=/dev/zero", "of=/dev/null", f"bs={BLOCK}", f"count={blocks}"],
                   capture_output=True, timeout=60, check=True)
    ktrdump_command = str(Path(sys.executable).parent / "ktrdump")
    done = subprocess.run([sys.executable, "-c", _PARENT, ktrdump_command, "--format",
                           "strace", str(out)], capture_output=True, text=True, timeout=60,
                          check=True)
    status, peak_rss = json.loads(done.stdout)
    assert status == 0
    assert peak_rss < PEAK_RSS_BOUND, f"peak RSS {peak_rss >> 20} MiB"
    # and the lines are complete: each read and write of a block, data cut at 32 bytes
    lines = subprocess.run([ktrdump_command, "--format", "strace", "-e", "trace=read,write",
                            str(out)], capture_output=True, text=True, timeout=60,
                           check=True).stdout
    assert lines.count(f'"..., {BLOCK}) = {BLOCK}') == 2 * blocks


def test_the_kdump_view_of_a_2_mib_record_stays_small(tmp_path: Path) -> None:
    # kdump's view wraps a record's escaped data at token boundaries; it listed every
    # token of the record at once (2 MiB of zeros: 2 Mi strings and ints, 271 MB peak;
    # 8 MiB: 1 GB).
    block = 2 << 20
    out = tmp_path / "big.ktr"
    subprocess.run([KTR, "record", "-q", "-s", str(block), "-o", str(out), "--", "dd",
                    "if=/dev/zero", "of=/dev/null", f"bs={block}", "count=1"],
                   capture_output=True, timeout=60, check=True)
    ktrdump_command = str(Path(sys.executable).parent / "ktrdump")
    done = subprocess.run([sys.executable, "-c", _PARENT, ktrdump_command, str(out)],
                          capture_output=True, text=True, timeout=60, check=True)
    status, peak_rss = json.loads(done.stdout)
    assert status == 0
    assert peak_rss < 200 << 20, f"peak RSS {peak_rss >> 20} MiB"


# The same, the command's standard output on the parent's standard error.
_PARENT_TO = """
import json, resource, subprocess, sys
status = subprocess.run(sys.argv[1:], stdout=sys.stderr, stderr=subprocess.DEVNULL).returncode
print(json.dumps([status, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024]))
"""


def _large_records_trace(path: Path, size: int) -> None:
    """A crafted trace: small GENIO records around one of ``size`` bytes (text lines
    of every length, backslashes, newlines, binary), a truncated one and a USER record
    of an eighth of it, each in a batch of its own."""
    import random

    from ktrdump_support import build_trace

    rng = random.Random(12)
    mixed = bytes(rng.choice(b"ab\t\\\a\x00\xff ") for _ in range(4096))
    makers = [lambda: rng.randbytes(rng.randrange(1, 3000)),
              lambda: b"x\\y " * rng.randrange(1, 90) + b"\n",
              lambda: b"\n" * rng.randrange(1, 4),
              lambda: mixed[: rng.randrange(200)]]
    parts = []
    total = 0
    while total < size:
        parts.append(rng.choice(makers)())
        total += len(parts[-1])
    data = b"".join(parts)[:size]
    small = formats.Genio(1, 1, 0, 12, b"hello\\world\n")
    batches = [
        [(RecordKind.GENIO, 42, 42, b"cat", small)],
        [(RecordKind.GENIO, 42, 42, b"cat", formats.Genio(1, 1, 0, size, data))],
        [(RecordKind.GENIO, 42, 42, b"cat", formats.Genio(3, 0, int(formats.GenioFlag.TRUNCATED),
                                                           size, data[: size // 8]))],
        [(RecordKind.USER, 42, 42, b"cat", formats.User(b"label", data[-size // 8 :]))],
        [(RecordKind.GENIO, 42, 42, b"cat", small)],
    ]
    path.write_bytes(build_trace(batches)[0])


def test_the_kdump_view_of_a_large_record_is_written_as_it_is_made(tmp_path: Path) -> None:
    """The text view's dump of a large record (escaped: 4 characters a byte of binary
    data; -x: 4.7) was one string, then encoded: 108 MB peak for one 8 MiB record here,
    150 with -x. It is now written a piece at a time as it is made: the peak grows by a
    small multiple of the record (the record itself, its batch), and the text is the
    same, byte for byte, as the whole string's (``TextDescriber`` outside ``dump``,
    where it does not stream, is the oracle; the tests of ``visdump`` and ``hexdump``
    pin that one)."""
    from ktrdump._describe import describer_for
    from ktrdump.cli import parse_options

    size = 4 << 20  # (8 MiB: the same, twice the time)
    big, tiny = tmp_path / "big.ktr", tmp_path / "tiny.ktr"
    _large_records_trace(big, size)
    _large_records_trace(tiny, 4096)
    ktrdump_command = str(Path(sys.executable).parent / "ktrdump")

    def peak(view: list[str], trace: Path) -> int:
        """``ktrdump VIEW TRACE``'s peak RSS (its output in ``shown``)."""
        with open(tmp_path / "shown", "wb") as shown:
            done = subprocess.run([sys.executable, "-c", _PARENT_TO, ktrdump_command, *view,
                                   str(trace)], stdout=subprocess.PIPE, stderr=shown,
                                  text=True, timeout=60, check=True)
        status, peak_rss = json.loads(done.stdout)
        assert status == 0
        return int(peak_rss)

    least = peak([], tiny)
    for view in ([], ["-x"]):
        # (before: 41 MB more for the text view, 62 MB for -x; now about 12)
        grown = peak(view, big) - least
        assert grown < 5 * size, f"{view}: {grown >> 20} MiB more"
        shown = (tmp_path / "shown").read_bytes()
        describer = describer_for(parse_options([*view, str(big)]))
        with ktrdump.open(str(big)) as reader:
            lines = [str(line) for batch in reader.events() if isinstance(batch, list)
                     for line in describer.describe(batch)]
        lines += map(str, describer.finish())
        assert shown == "".join(lines).encode(), view
        assert shown.count(b" GIO ") == 4 and b"(truncated: " in shown


def test_the_json_view_of_a_large_record_is_written_as_it_is_made(tmp_path: Path) -> None:
    """The JSON view's line of a large GIO or USER record (its data in hex, twice its
    size) was made whole, then copied and encoded: 48 MB more than a tiny trace's peak
    for one 8 MiB record here (and two of 1 MiB). Its hex is now written a piece at a
    time, as the text view's dump: 24 MB more (the records, their batch). The lines are
    the same, byte for byte, as ``JsonDescriber``'s outside ``dump`` (where it does not
    stream), and their data is the records' (JSON parsed, hex decoded)."""
    from ktrdump._describe import describer_for
    from ktrdump.cli import parse_options

    size = 8 << 20
    big, tiny = tmp_path / "big.ktr", tmp_path / "tiny.ktr"
    _large_records_trace(big, size)
    _large_records_trace(tiny, 4096)
    ktrdump_command = str(Path(sys.executable).parent / "ktrdump")

    def peak(trace: Path) -> int:
        with open(tmp_path / "shown", "wb") as shown:
            done = subprocess.run([sys.executable, "-c", _PARENT_TO, ktrdump_command, "--json",
                                   str(trace)], stdout=subprocess.PIPE, stderr=shown,
                                  text=True, timeout=60, check=True)
        status, peak_rss = json.loads(done.stdout)
        assert status == 0
        return int(peak_rss)

    least = peak(tiny)
    grown = peak(big) - least
    assert grown < 4 * size, f"{grown >> 20} MiB more"  # (before: 46 MiB, now 23)
    shown = (tmp_path / "shown").read_bytes()
    describer = describer_for(parse_options(["--json", str(big)]))
    data: list[bytes] = []
    with ktrdump.open(str(big)) as reader:
        lines = []
        for batch in reader.events():
            if isinstance(batch, list):
                lines += map(str, describer.describe(batch))
                data += [record.payload.data for record in batch  # type: ignore[union-attr]
                         if record.kind in (RecordKind.GENIO, RecordKind.USER)]
    lines += map(str, describer.finish())
    assert shown == "".join(lines).encode()
    parsed = [json.loads(line) for line in shown.splitlines()]
    assert [bytes.fromhex(r["data"]) for r in parsed if r["type"] in ("GIO", "USER")] == data
    assert max(map(len, data)) == size
