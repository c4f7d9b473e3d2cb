"""Two trace files concatenated (``cat a.ktr b.ktr > c.ktr``): the notice says what is there.

The second file's header used to be reported as damage, "no batch starts here
(bad batch magic)", as a run of random bytes would be. It is a file header: the
notice says so at its byte offset (the first file's size), and how to read the
two traces (as FILEs of their own, which ktrdump merges); the batches after it
are still read (both recordings shown, status 1 as for any skipped bytes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"


def test_a_second_file_header_is_named_as_one(tmp_path: Path) -> None:
    first, second = tmp_path / "a.ktr", tmp_path / "b.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(first), "--", "true"], check=True, timeout=60)
    subprocess.run([KTR, "record", "-q", "-z", "-o", str(second), "--", "echo", "hi"],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    joined = tmp_path / "c.ktr"
    joined.write_bytes(first.read_bytes() + second.read_bytes())
    done = subprocess.run([KTRDUMP, "-t", "p", str(joined)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "second file header" in lines[0] and "concatenated" in lines[0]
    assert f"at byte offset {first.stat().st_size}" in lines[0]
    assert "bad batch magic" not in lines[0]
    assert done.stdout.count(" BEGIN ") == 2 and done.stdout.count(" END ") == 2
    assert 'exec "/usr/bin/true"' in done.stdout and 'exec "/usr/bin/echo"' in done.stdout
