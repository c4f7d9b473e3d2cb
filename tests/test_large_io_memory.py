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
