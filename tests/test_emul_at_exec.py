"""An EMUL record follows every successful exec, whatever else -t selects.

The builder owed a process its EMUL before its next record, and an exec's PROC
record did not pay it: ``-t e`` alone recorded nothing at all, and under ``-t ep``
an image that exec'd again (``sh -c 'exec true'``'s sh) never got one. ktrace's
exec writes the new image's emulation at once. Oracle: the execve calls strace
sees succeed, one EMUL each, named by the new image's comm.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
COMMAND = ["/bin/sh", "-c", "exec /bin/true"]


def _exec_images(tmp_path: Path) -> list[str]:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("no strace")
    log = tmp_path / "strace.log"
    subprocess.run([strace, "-f", "-qq", "-e", "trace=execve", "-o", str(log), *COMMAND],
                   check=True, capture_output=True)
    images = []
    for line in log.read_text().splitlines():
        match = re.search(r'execve\("([^"]+)".* = 0$', line)
        if match:
            images.append(Path(match.group(1)).name)
    return images


@pytest.mark.parametrize("facilities", ["e", "ep", "ea", "+"])
def test_every_exec_is_followed_by_its_emul(tmp_path: Path, facilities: str) -> None:
    images = _exec_images(tmp_path)
    assert images == ["sh", "true"]
    out = tmp_path / "e.ktr"
    subprocess.run([*KTR, "record", "-q", "-t", facilities, "-o", str(out), "--", *COMMAND],
                   check=True, capture_output=True)
    dump = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                          check=True)
    records = [json.loads(line) for line in dump.stdout.splitlines()]
    emuls = [r["comm"] for r in records if r["type"] == "EMUL"]
    if facilities in ("ea", "+"):
        # the first announces the child before its first execve's CALL (its comm is
        # ktr's, or the interpreter's under python -m ktr)
        emuls = emuls[1:]
    assert emuls == images
    if "p" in facilities or facilities == "+":
        # right after the exec's PROC record
        kinds = [(r["type"], r["comm"]) for r in records if r["type"] in ("PROC", "EMUL")]
        for image in images:
            at = kinds.index(("PROC", image))
            assert kinds[at + 1] == ("EMUL", image)
