"""A process let go while one of its threads is dying is let go, not ended.

The thread ends (``SYS_exit``, that thread alone) and is resumed from its exit stop;
the stop request comes then, so the release interrupts and detaches the main thread
while the dying thread's status is still to be reaped. Its reap must not end the
process: no process EXIT (which said "exit status 0" of a process that runs on),
and the process counts as detached (``RunResult.detached``, the END record's and the
final line's count), once. A chance failure of ``test_detach_thread_churn`` found it.
Root (ptrace attach).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from c_support import build_program

from ktr._control import Control, ControlOptions
from ktr._events import Event, Lifecycle, ProcessEvent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ptrace attach needs root here")

PROGRAM = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
static int go[2];
static void *leaver(void *unused) {
    char byte;
    (void)unused;
    read(go[0], &byte, 1);    /* told to end */
    syscall(SYS_exit, 0);     /* this thread alone */
    return NULL;
}
int main(void) {
    pthread_t thread;
    char line[8];
    pipe(go);
    pthread_create(&thread, NULL, leaver, NULL);
    printf("%d %d\n", (int)getpid(), go[1]);
    fflush(stdout);
    while (read(0, line, sizeof line) > 0) {}  /* runs on until its stdin closes */
    return 7;
}
"""


@pytest.mark.parametrize("pinned", [False, True])
def test_a_thread_reaped_after_the_others_were_detached_ends_no_process(
        tmp_path: Path, pinned: bool) -> None:
    program = build_program(tmp_path, "leaver", PROGRAM, "-O1", "-pthread")
    target = subprocess.Popen([program], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert target.stdout is not None and target.stdin is not None
        pid, write_end = map(int, target.stdout.readline().split())
        go = os.open(f"/proc/{pid}/fd/{write_end}", os.O_WRONLY)
        control = Control(ControlOptions(pin_cpu=0) if pinned else ControlOptions())
        control.attach([pid])
        lifecycle: list[tuple[Lifecycle, bool]] = []

        def consumer(event: Event) -> None:
            if not isinstance(event, ProcessEvent):
                return
            lifecycle.append((event.kind, event.thread))
            if event.kind is Lifecycle.ATTACH and len(lifecycle) == 2:
                os.write(go, b"x")  # both threads traced: the second may end
            elif event.kind is Lifecycle.EXIT and event.thread:
                control.request_stop("test")  # as it is resumed from its exit stop

        try:
            result = control.run(consumer)
        finally:
            os.close(go)
        assert lifecycle == [(Lifecycle.ATTACH, False), (Lifecycle.ATTACH, True),
                             (Lifecycle.EXIT, True), (Lifecycle.DETACH, False)]
        assert (result.detached, result.lost) == (1, 0)
        status = Path(f"/proc/{pid}/status").read_text()
        assert "\nTracerPid:\t0\n" in status  # untraced, and runs on:
        target.stdin.close()
        assert target.wait(timeout=10) == 7
    finally:
        target.kill()
        target.wait()
