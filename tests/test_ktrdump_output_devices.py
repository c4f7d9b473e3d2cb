"""``ktrdump -o`` takes a FIFO or character device of the user's or root's, as ``ktr record -o``.

``ktrdump -o /dev/null`` and ``-o`` a FIFO the user made were refused ("not a regular
file") while ``ktr record -o`` and ``strace -o`` write them. Now the one output ``-o``
names may be one (the FIFO's reader, a real ``cat``, gets the same bytes as standard
output); another user's FIFO, a symlink to /dev/null, and the several files of
``--format parquet`` stay refused in one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

KTRDUMP = [sys.executable, "-m", "ktrdump"]
TRACE = str(Path(__file__).parent / "vectors" / "calls.ktr")


def ktrdump(*arguments: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KTRDUMP, *arguments], capture_output=True, timeout=60)


def test_dev_null_is_written() -> None:
    done = ktrdump("-o", "/dev/null", TRACE)
    assert done.returncode == 0 and done.stderr == b""


def test_a_fifo_reader_gets_what_standard_output_gets(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    with subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE) as reader:
        done = ktrdump("--format", "strace", "-o", str(fifo), TRACE)
        received, _ = reader.communicate(timeout=60)
    assert done.returncode == 0 and done.stderr == b""
    expected = ktrdump("--format", "strace", TRACE).stdout
    assert received == expected and expected


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root")
def test_another_users_fifo_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o666)
    os.chown(fifo, 65534, 65534)
    done = ktrdump("-o", str(fifo), TRACE)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        f"ktrdump: {fifo}: cannot write: it is a FIFO of another user (uid 65534), "
        "neither you nor root"]


def test_a_symlink_to_dev_null_and_parquet_to_a_device_stay_refused(tmp_path: Path) -> None:
    link = tmp_path / "null"
    link.symlink_to("/dev/null")
    done = ktrdump("-o", str(link), TRACE)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [f"ktrdump: {link}: cannot write: it is a symlink"]
    pytest.importorskip("pyarrow")
    done = ktrdump("--format", "parquet", "-o", "/dev/null", TRACE)
    assert done.returncode == 1 and b"not a regular file" in done.stderr
