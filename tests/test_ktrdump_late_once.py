"""Records that arrive later than the merge's reorder window are said once per input,
with their exact total, at the end (one line per window that let some go made dozens
of lines on a busy trace)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from ktrdump_support import END_ENTRY, START_NS, encode_entries, file_header, syscall_batch

import formats

KTRDUMP = [sys.executable, "-m", "ktrdump"]
LATE_PER_BATCH = 6


def _trace(starts_s: list[int], pid: int) -> bytes:
    """A trace whose batches start at these seconds (in this order)."""
    out = io.BytesIO()
    out.write(file_header())
    framing = formats.batch_framing("little")
    for start in starts_s:
        out.write(framing.encode(encode_entries(syscall_batch(LATE_PER_BATCH, pid),
                                                first_ns=START_NS + start * 10**9)))
    out.write(framing.encode(encode_entries([END_ENTRY], first_ns=START_NS + 100 * 10**9)))
    return out.getvalue()


def test_late_records_said_once_per_input_with_their_total(tmp_path: Path) -> None:
    late = tmp_path / "late.ktr"
    # a batch lets the one 10 s before it go: 5 s, 15 s and 25 s come too late for theirs
    late.write_bytes(_trace([0, 10, 20, 5, 30, 40, 15, 50, 60, 25], 4242))
    other = tmp_path / "other.ktr"
    other.write_bytes(_trace([0, 5, 15, 25], 4343))
    for view in ([], ["--json"], ["--summary"], ["--format", "calls"],
                 ["--format", "chrome"]):
        done = subprocess.run([*KTRDUMP, *view, str(late), str(other)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, (view, done.stderr)
        lines = [line for line in done.stderr.splitlines() if "arrived" in line]
        assert lines == [f"ktrdump: {late}: {3 * LATE_PER_BATCH} records arrived more than "
                         "10 ms late; shown out of timestamp order"], (view, done.stderr)
