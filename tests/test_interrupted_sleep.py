"""An interrupted sleep's remaining time, recorded and printed as strace prints it.

A C program compiled here sleeps 3 s in clock_nanosleep (relative and
TIMER_ABSTIME) and in the raw nanosleep call while a repeating SIGALRM with a
handler interrupts each sleep, first in the main thread and then in a second
thread. At the exit stop the kernel reports ERESTART_RESTARTBLOCK (relative
sleeps, the remainder written) or ERESTARTNOHAND (absolute, nothing written).
strace is the oracle: the same program under ``strace -f`` must print the same
calls as ``ktrdump --format strace``, the remaining nanoseconds aside.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from strace_corpus import GCC, KTR, KTRDUMP, STRACE, CallText, parse

# The timer repeats every 100 ms so a signal that lands before a sleep starts
# is followed by one that lands during it: no sleep synchronises the test.
_SOURCE = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static void on_alarm(int signo) { (void)signo; }

static void arm(long usec) {
    struct itimerval every = {{0, usec}, {0, usec}};
    setitimer(ITIMER_REAL, &every, NULL);
}

static void *sleeper(void *unused) {
    struct timespec request = {3, 0}, remain = {0, 0}, until;
    sigset_t alarm_only;
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alarm_only, NULL);
    arm(100000);
    clock_nanosleep(CLOCK_REALTIME, 0, &request, &remain);
    syscall(SYS_nanosleep, &request, &remain);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 3;
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, &remain);
    arm(0);
    return unused;
}

int main(void) {
    struct sigaction action;
    sigset_t alarm_only;
    pthread_t thread;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_alarm;  /* no SA_RESTART: the program sees EINTR */
    sigaction(SIGALRM, &action, NULL);
    sleeper(NULL);
    /* the process-wide timer's signal must go to the second thread */
    sigemptyset(&alarm_only);
    sigaddset(&alarm_only, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_only, NULL);
    pthread_create(&thread, NULL, sleeper, NULL);
    pthread_join(thread, NULL);
    return 0;
}
"""

_SLEEPS = frozenset({"nanosleep", "clock_nanosleep"})
_REMAIN = re.compile(r", \{tv_sec=(\d+), tv_nsec=(\d+)\}$")
_ADDRESS = re.compile(r"0x[0-9a-f]+")
_ABSOLUTE = re.compile(r"(TIMER_ABSTIME, )\{tv_sec=\d+, tv_nsec=\d+\}")


def _sleeps(text: str) -> list[list[CallText]]:
    """The sleeps of each thread, in thread order (the main thread first)."""
    threads = parse(text)
    return [[call for call in threads[tid] if call.name in _SLEEPS] for tid in sorted(threads)]


def _masked(call: CallText) -> tuple[str, str, str]:
    """The call without what differs between runs; asserts a remainder is plausible."""
    args = _ABSOLUTE.sub(r"\1{ABS}", call.args)
    remain = _REMAIN.search(args)
    if remain is not None:
        seconds, nanoseconds = int(remain.group(1)), int(remain.group(2))
        # 3 s asked; the 100 ms timer cut it short well before its end
        assert 0 <= nanoseconds < 1_000_000_000, call
        assert 1.0 < seconds + nanoseconds / 1e9 < 3.0, call
        args = args[:remain.start()] + ", {tv_sec=S, tv_nsec=N}"
    return call.name, _ADDRESS.sub("ADDR", args), call.result


@pytest.mark.skipif(STRACE is None or GCC is None, reason="needs strace and gcc")
def test_interrupted_sleeps_print_the_time_left_like_strace(tmp_path: Path) -> None:
    source = tmp_path / "sleeps.c"
    source.write_text(_SOURCE)
    program = tmp_path / "sleeps"
    subprocess.run([str(GCC), "-O1", "-pthread", "-o", str(program), str(source)],
                   check=True, timeout=60)
    reference = tmp_path / "sleeps.strace"
    subprocess.run([str(STRACE), "-f", "-ttt", "-T", "-o", str(reference), str(program)],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    trace = tmp_path / "sleeps.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)
    dumped = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)],
                            capture_output=True, text=True, check=True, timeout=60)
    theirs = _sleeps(reference.read_text())
    ours = _sleeps(dumped.stdout)
    assert len(theirs) == len(ours) == 2  # the main thread and the second one
    for their_calls, our_calls in zip(theirs, ours, strict=True):
        assert [call.name for call in our_calls] == [
            "clock_nanosleep", "nanosleep", "clock_nanosleep"]
        assert [_masked(call) for call in our_calls] == [_masked(call) for call in their_calls]
        # the relative sleeps show their remainder, the absolute one its address
        assert "tv_sec=S" in _masked(our_calls[0])[1]
        assert "tv_sec=S" in _masked(our_calls[1])[1]
        assert _masked(our_calls[2])[1].endswith(", ADDR")
        assert our_calls[0].result.startswith("? ERESTART_RESTARTBLOCK")
        assert our_calls[2].result.startswith("? ERESTARTNOHAND")

