"""fanotify_init and fanotify_mark decoded as strace decodes them.

Oracle: strace on the same C program (compiled here): fanotify_init's class
first, then its flags (``FAN_CLASS_NOTIF|FAN_CLOEXEC``, an unknown class
``0xc /* FAN_CLASS_??? */``), fanotify_mark's FAN_MARK_* flags, its 64-bit
event mask in strace's order (``FAN_MODIFY|...|FAN_ONDIR|FAN_EVENT_ON_CHILD``,
unknown bits in hex), and a dirfd of -1 as ``FAN_NOFD``; ktrdump printed the
flags and the mask in hex.
"""

from __future__ import annotations

from pathlib import Path

from strace_support import both_views, call_lines

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


def test_fanotify_matches_strace(tmp_path: Path) -> None:
    theirs, ours = both_views(tmp_path, "fanotify", PROGRAM)
    expected = call_lines(theirs, "fanotify_")
    assert len(expected) == 10, theirs
    assert call_lines(ours, "fanotify_") == expected
