"""``ktrdump --salvage``: a damaged batch whose records were shown is not said to be skipped.

With --salvage, the records of an uncompressed batch whose payload checksum fails
are shown, UNVERIFIED (``_reader.Unverified``), and the batch is then still reported
as damaged (exit status 1). That second line said "skipped 1 batch (N bytes)", as if
its records were gone, right after the line saying they were all shown. Oracle: the
records between the UNVERIFIED and SKIP notices of ``--json`` (the records shown)
and the batch's own record count, which its intact header gives.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ktrdump._reader import Skipped

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


def test_a_batch_shown_unverified_is_not_said_skipped(tmp_path: Path) -> None:
    trace = tmp_path / "ls.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "ls", "/"], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)
    data = bytearray(trace.read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the payload of the recording's big batch
    damaged = tmp_path / "flip.ktr"
    damaged.write_bytes(bytes(data))
    done = subprocess.run([KTRDUMP, "--json", "--salvage", str(damaged)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 1  # still damaged
    records = [json.loads(line) for line in done.stdout.splitlines()]
    types = [record["type"] for record in records]
    first, skip = types.index("UNVERIFIED"), types.index("SKIP")
    shown = skip - first - 1
    unverified = records[first]
    assert shown == unverified["kept"] == unverified["records"]  # every record was shown
    notices = done.stderr.splitlines()
    line = next(line for line in notices if "UNVERIFIED" in line and "of its" in line)
    assert f"all {shown} of its records are shown, UNVERIFIED (--salvage)" in line
    assert "skipped 1 batch" not in done.stderr and "none was skipped" in line
    assert records[skip]["message"] == line.split(": ", 2)[2]


def test_a_partly_shown_batch_says_the_rest_was_skipped() -> None:
    notice = Skipped(100, 1, 5000, "batch payload checksum mismatch", records=40, shown=25,
                     shown_to=3128)  # (the shown records end there: the rest is lost)
    assert notice.describe() == (
        "batch payload checksum mismatch at byte offset 100 (1 batch, 5000 bytes): 25 of "
        "its 40 records are shown, UNVERIFIED (--salvage); the rest was skipped (1972 bytes "
        "lost)")
    assert notice.lost == 1972
    several = notice._replace(batches=3)
    assert "25 of the first one's 40 records are shown" in several.describe()
    assert "skipped 3 batches" in notice._replace(shown=0, batches=3).describe()
