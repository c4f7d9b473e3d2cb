"""A command that cannot be executed: the shell's exit status, and a trace of the attempt.

Shells exit 127 when the command is not found and 126 when it is found but
cannot be executed (no permission, not a format the kernel runs). ``ktr``
gave 127 to all three, and left a trace only for ENOEXEC (the other two were
refused before forking). Now each is tried in the traced child: the file holds
BEGIN, the failed execve with its errno (as strace shows it) and END with the
status; the one-line message says why. Oracle: ``sh -c CMD``'s status.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


@pytest.mark.parametrize(("name", "errno_name", "message"), [
    ("missing", "ENOENT", "ktr: ./missing: no such file or directory"),
    ("not-executable", "EACCES", "ktr: ./not-executable: permission denied"),
    ("not-a-program", "ENOEXEC", "ktr: cannot execute ./not-a-program: Exec format error"),
])
def test_a_command_that_cannot_run(tmp_path: Path, name: str, errno_name: str,
                                   message: str) -> None:
    if name == "not-executable":
        (tmp_path / name).write_text("echo hi\n")
        (tmp_path / name).chmod(0o644)
    elif name == "not-a-program":
        (tmp_path / name).write_bytes(b"\x7fELF not really")
        (tmp_path / name).chmod(0o755)
    shell = subprocess.run(["sh", "-c", f"./{name}"], cwd=tmp_path, capture_output=True,
                           timeout=30)
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", f"./{name}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == shell.returncode
    assert done.returncode == (127 if errno_name == "ENOENT" else 126)
    assert done.stderr == message + "\n"
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                            text=True, timeout=30)
    assert dumped.returncode == 0, dumped.stderr  # BEGIN ... END: a complete recording
    (execve,) = [line for line in dumped.stdout.splitlines() if "execve(" in line]
    assert f'execve("./{name}", ["./{name}"]' in execve
    assert f"= -1 {errno_name} " in execve
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          timeout=30).stdout
    assert f"command exit status {done.returncode}" in text.splitlines()[-1]


def test_a_command_not_found_records_the_path_search(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "ktr-nowhere"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{tmp_path}/a:{tmp_path}/b"})
    assert (done.returncode, done.stderr) == (127, "ktr: ktr-nowhere: command not found\n")
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                            text=True, timeout=30).stdout
    assert [line.split("(", 1)[1].split(",")[0] for line in dumped.splitlines()
            if "execve(" in line] == [f'"{tmp_path}/a/ktr-nowhere"',
                                      f'"{tmp_path}/b/ktr-nowhere"']
