"""A recorder whose /proc belongs to another pid namespace refuses to record.

``unshare -pf ktr record ...`` (no ``--mount-proc``) runs ktr as pid 1 of a new pid
namespace under the parent namespace's procfs: ``/proc/2`` there is the parent's pid
2 (``kthreadd``), not the tracee. Recording read every path, I/O buffer, comm and fd
of the wrong process (paths ``""``, comm ``kthreadd``), exit status 0. Now: one line,
status 1, no file. With the namespace's own procfs (``--mount-proc``) it records, and
the path the tracee opened is in the trace. Root (unshare).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="unshare -p needs root")

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]


def unshare(*options: str) -> list[str]:
    tool = shutil.which("unshare")
    if tool is None:
        pytest.skip("unshare is not installed")
    if subprocess.run([tool, "-pf", *options, "true"], capture_output=True).returncode:
        pytest.skip("cannot make a pid namespace here")
    return [tool, "-pf", *options]


@pytest.mark.parametrize("facilities", ["+", "w"])  # ptrace, and perf alone
def test_a_foreign_procfs_is_refused_in_one_line(tmp_path: Path, facilities: str) -> None:
    out = tmp_path / "t.ktr"
    done = subprocess.run([*unshare(), *KTR, "record", "-t", facilities, "-o", str(out),
                           "--", "cat", "/etc/hostname"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ktr: /proc is not this pid namespace's")
    assert "--mount-proc" in lines[0] and "Traceback" not in done.stderr
    assert not out.exists()


def test_the_namespaces_own_procfs_records_the_tracee(tmp_path: Path) -> None:
    out = tmp_path / "t.ktr"
    subprocess.run([*unshare("--mount-proc"), *KTR, "record", "-q", "-o", str(out), "--",
                    "cat", "/etc/hostname"], check=True, capture_output=True, timeout=60)
    text = subprocess.run([*KTRDUMP, "--format", "strace", "-e", "trace=openat", str(out)],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    assert 'openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = 3' in text
