"""Arrays of structures cut at strace's -s, as strace cuts them.

Oracle: strace on the same C program (compiled here): poll of 40 fds shows
its first 32 pollfds then ``...`` (strace's array limit is its string limit,
-s, 32 by default), and its result the first 32 fds it set revents in, then
``...``; with -s 3, three of each. ktrdump printed every element.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = r"""
#include <poll.h>
int main(void) {
    struct pollfd fds[40];
    for (int i = 0; i < 40; i++) {
        fds[i].fd = 100 + i;  /* not open: POLLNVAL */
        fds[i].events = POLLIN;
    }
    poll(fds, 40, 0);
    poll(fds, 32, 0);  /* exactly the limit: no "..." */
    poll(fds, 2, 0);
    return 0;
}
"""


def _polls(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith("poll("):
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


@pytest.mark.parametrize("limit", [None, "3"])
def test_poll_arrays_cut_as_strace(tmp_path: Path, limit: str | None) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "polls", PROGRAM)
    size = [] if limit is None else ["-s", limit]
    oracle = subprocess.run(["strace", *size, "-o", "/dev/stdout", program],
                            capture_output=True, text=True, timeout=60, check=True)
    expected = _polls(oracle.stdout)
    assert len(expected) == 3 and "...]" in expected[0], oracle.stdout
    trace = tmp_path / "polls.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", *size, trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _polls(shown.stdout) == expected
