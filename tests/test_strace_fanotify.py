"""fanotify_init and fanotify_mark decoded as strace decodes them.

Oracle: strace on the same C program (compiled here): fanotify_init's class
first, then its flags (``FAN_CLASS_NOTIF|FAN_CLOEXEC``, an unknown class
``0xc /* FAN_CLASS_??? */``), fanotify_mark's FAN_MARK_* flags, its 64-bit
event mask in strace's order (``FAN_MODIFY|...|FAN_ONDIR|FAN_EVENT_ON_CHILD``,
unknown bits in hex), and a dirfd of -1 as ``FAN_NOFD``; ktrdump printed the
flags and the mask in hex.
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
#define _GNU_SOURCE
#include <sys/fanotify.h>
#include <fcntl.h>
#include <unistd.h>
int main(void){
  int fa=fanotify_init(FAN_CLASS_NOTIF|FAN_CLOEXEC,O_RDONLY);
  int fb=fanotify_init(FAN_CLASS_CONTENT|FAN_NONBLOCK|FAN_UNLIMITED_QUEUE|FAN_REPORT_TID,
                       O_RDWR|O_LARGEFILE);
  fanotify_init(0xc,O_RDONLY);
  fanotify_init(FAN_REPORT_FID|FAN_REPORT_DIR_FID|FAN_REPORT_NAME,O_RDONLY);
  fanotify_mark(fa,FAN_MARK_ADD|FAN_MARK_MOUNT,FAN_OPEN|FAN_CLOSE_WRITE,AT_FDCWD,"/tmp");
  fanotify_mark(fa,FAN_MARK_ADD|FAN_MARK_ONLYDIR|FAN_MARK_DONT_FOLLOW,
                FAN_CLOSE|FAN_ONDIR|FAN_EVENT_ON_CHILD|FAN_MODIFY,AT_FDCWD,"/tmp");
  fanotify_mark(fa,FAN_MARK_REMOVE|FAN_MARK_FILESYSTEM,
                FAN_ACCESS|FAN_ATTRIB|FAN_CREATE|FAN_DELETE|FAN_MOVED_FROM|FAN_MOVED_TO
                |FAN_DELETE_SELF|FAN_MOVE_SELF,AT_FDCWD,"/tmp");
  fanotify_mark(fb,FAN_MARK_FLUSH,0,AT_FDCWD,0);
  fanotify_mark(fa,FAN_MARK_ADD,0x4000000000ULL|FAN_OPEN_EXEC|FAN_Q_OVERFLOW,-1,"/tmp");
  fanotify_mark(fa,0x80000000,FAN_OPEN_PERM|FAN_ACCESS_PERM|FAN_OPEN_EXEC_PERM,AT_FDCWD,"/tmp");
  return 0; }
"""


def _lines(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith("fanotify_"):
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


def test_fanotify_matches_strace(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "fanotify", PROGRAM)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    expected = _lines(oracle.stdout)
    assert len(expected) == 10, oracle.stdout
    trace = tmp_path / "fanotify.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _lines(shown.stdout) == expected
