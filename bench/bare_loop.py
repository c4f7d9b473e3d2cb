"""The cheapest ptrace loop CPython can run: what no Python tracer can beat.

    python bench/bare_loop.py pinned|free|spin CMD [ARG...]

Runs CMD under ptrace and, at every syscall stop, does what any tracer must and
nothing else: ``wait4``, ``PTRACE_GET_SYSCALL_INFO`` with its unpack, and
``PTRACE_SYSCALL`` (the three calls of ktr's hot path, through the same
adapter, ``ktr._ptrace``, and its no-frame entry points). No state per thread,
no event, no record, no clock. ``pinned`` puts the loop and CMD on CPU 0 (as
``ktr record --pin=0`` and ``taskset -c 0 strace`` do). ``spin`` polls
``waitpid(WNOHANG)`` until a stop is there instead of blocking in ``wait4``
(ktr's spinning wait without its budget): the floor of a spinning recorder,
where ``free`` is the floor of a blocking one.

``bench_record.py`` times it beside strace and ``ktr record`` on the same
workloads: where this loop alone is over a goal of issue 13, nothing a CPython
recorder adds can meet that goal.

Does not: follow forks (CMD's children run untraced: the issue-13 workloads
fork none), deliver anything but the stops' own signals, or read tracee memory.
"""

from __future__ import annotations

import os
import signal
import sys

from ktr import _ptrace as pt

#: TRACESYSGOOD (syscall stops as SIGTRAP|0x80) and EXITKILL
_OPTIONS = 0x1 | 0x100000
_SYSCALL_STOP = ((signal.SIGTRAP | 0x80) << 8) | 0x7F
_PTRACE_TRACEME = 0
_WALL = 0x40000000  # __WALL: threads too, as the blocking wait4 of ktr._ptrace


def bare_loop(argv: list[str], spin: bool = False) -> int:
    """Trace ``argv`` with the bare loop (``spin``: polling, never blocking); its exit
    status; the stops it made on stderr."""
    child = os.fork()
    if child == 0:  # pragma: no cover - the tracee
        try:
            pt.request(_PTRACE_TRACEME, 0)
            os.kill(os.getpid(), signal.SIGSTOP)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.waitpid(child, os.WUNTRACED)
    pt.setoptions(child, _OPTIONS)
    pt.syscall(child)
    wait4, wait_any, wait_status = pt.wait4, pt.WAIT4_ANY, pt.wait_status
    info, size, into = pt.syscall_info_unchecked, pt.SYSCALL_INFO_SIZE, pt.syscall_info_into
    operation, buffer = pt.syscall_info_op, pt.syscall_info_buffer
    unpack_exit, unpack_entry = pt.unpack_exit_info, pt.unpack_entry_info
    resume, get_info, step = pt.resume_unchecked, pt.PTRACE_GET_SYSCALL_INFO, pt.PTRACE_SYSCALL
    exit_op = pt.SYSCALL_INFO_EXIT
    waitpid, nohang = os.waitpid, os.WNOHANG | _WALL
    stops = 0
    while True:
        if spin:
            tid, status = waitpid(-1, nohang)
            while not tid:
                tid, status = waitpid(-1, nohang)
        else:
            tid = wait4(*wait_any)
            if tid == -1:
                pt.wait_failed()
                continue
            status = wait_status[0]
        if status == _SYSCALL_STOP:
            stops += 1
            info(get_info, tid, size, into)
            if operation[0] == exit_op:
                unpack_exit(buffer)
            else:
                unpack_entry(buffer)
            resume(step, tid, 0, 0)
        elif os.WIFSTOPPED(status):
            # the exec's SIGTRAP is ptrace's own; any other signal goes on
            stopped_by = os.WSTOPSIG(status)
            pt.syscall(tid, 0 if stopped_by == signal.SIGTRAP else stopped_by)
        elif tid == child:
            print(f"bare loop: {stops} syscall stops", file=sys.stderr)
            return os.waitstatus_to_exitcode(status)


def main() -> int:
    if len(sys.argv) < 3 or sys.argv[1] not in ("pinned", "free", "spin"):
        print("usage: bare_loop.py pinned|free|spin CMD [ARG...]", file=sys.stderr)
        return 2
    if sys.argv[1] == "pinned":
        os.sched_setaffinity(0, {0})
    return bare_loop(sys.argv[2:], spin=sys.argv[1] == "spin")


if __name__ == "__main__":
    sys.exit(main())
