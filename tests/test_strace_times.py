"""Times in structures shown as strace shows them: the date comment of a time to
set, and tv_nsec as an unsigned number.

Oracle: strace on the same C programs (compiled here). utimensat's times are
followed by the date they mean, except the epoch itself ({0, 0}) and a
tv_nsec out of range, for which strace's sprinttime gives no date (ktrdump
printed ``/* 1970-01-01T00:00:00+0000 */`` after ``{tv_sec=0, tv_nsec=0}``,
what ``touch -d @0`` sets); a negative tv_nsec prints as strace's unsigned
number (ktrdump printed ``tv_nsec=-5``).
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

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is the oracle")

UTIMES = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
int main(void){
  int fd=open("utf", O_CREAT|O_WRONLY, 0600);
  struct timespec a[2]={{0,0},{5,0}}; utimensat(AT_FDCWD,"utf",a,0);
  struct timespec b[2]={{0,1},{0,0}}; utimensat(AT_FDCWD,"utf",b,0);
  struct timespec c[2]={{0,2000000000},{7,0}}; utimensat(AT_FDCWD,"utf",c,0);
  struct timespec d[2]={{-1,0},{0,UTIME_OMIT}}; futimens(fd,d);
  struct timespec e[2]={{3,-5},{0,UTIME_NOW}}; futimens(fd,e);
  unlink("utf"); return 0; }
"""

NEGATIVE = r"""
#include <time.h>
#include <sys/time.h>
#include <sys/select.h>
int main(void){ struct timespec t={0,-5}; nanosleep(&t,0); clock_nanosleep(CLOCK_MONOTONIC,0,&t,0);
 struct timeval tv={0,-7}; select(0,0,0,0,&tv);
 return 0; }
"""


def _lines(text: str, names: tuple[str, ...]) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith(names):
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


@pytest.mark.parametrize(("name", "source", "calls", "count"), [
    ("utimes", UTIMES, ("utimensat(",), 5),
    ("negative", NEGATIVE, ("clock_nanosleep(", "nanosleep("), 2),
])
def test_times_match_strace(tmp_path: Path, name: str, source: str, calls: tuple[str, ...],
                            count: int) -> None:
    program = build_program(tmp_path, name, source)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True, cwd=tmp_path)
    expected = _lines(oracle.stdout, calls)
    assert len(expected) == count, oracle.stdout
    trace = tmp_path / f"{name}.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60,
                   cwd=tmp_path)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _lines(shown.stdout, calls) == expected
