"""``ktr record -s N`` then ``ktrdump --format strace`` cuts strings as ``strace -s N`` does.

ktr keeps N bytes of each I/O, but execve's argv whole; strace -s N cuts every
string (argv, written data) at N, paths excepted. Oracle: strace's own lines.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
COMMAND = ["/bin/echo", "helloworld", "abcdefgh"]


def _calls(text: str) -> dict[str, str]:
    """execve's and write's lines from strace text, without pid, time and pointers."""
    found = {}
    for line in text.splitlines():
        line = re.sub(r"^(\d+ +)?(\d+\.\d+ )?", "", line)
        line = re.sub(r"0x[0-9a-f]+", "PTR", re.sub(r" +<\d+\.\d+>$", "", line))
        name = line.split("(", 1)[0]
        if name in ("execve", "write"):
            found[name] = re.sub(r"\s+=", " =", line)
    return found


def test_the_strace_view_cuts_strings_at_the_recordings_s(tmp_path: Path) -> None:
    strace = subprocess.run(["strace", "-s", "5", "-e", "trace=execve,write", "-o",
                             str(tmp_path / "st"), *COMMAND], capture_output=True,
                            timeout=30)
    assert strace.returncode == 0
    trace = tmp_path / "t.ktr"
    done = subprocess.run([BIN / "ktr", "record", "-q", "-s", "5", "-o", str(trace),
                           "--", *COMMAND], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    view = subprocess.run([BIN / "ktrdump", "--format", "strace", str(trace)],
                          capture_output=True, text=True, timeout=30)
    assert view.returncode == 0, view.stderr
    expected = _calls((tmp_path / "st").read_text())
    assert expected["execve"].startswith('execve("/bin/echo", ["/bin/"..., "hello"..., ')
    assert _calls(view.stdout) == expected
    # -m still says how much, whatever the recording kept
    wide = subprocess.run([BIN / "ktrdump", "--format", "strace", "-m", "32", str(trace)],
                          capture_output=True, text=True, timeout=30)
    assert '["/bin/echo", "helloworld", "abcdefgh"]' in _calls(wide.stdout)["execve"]
