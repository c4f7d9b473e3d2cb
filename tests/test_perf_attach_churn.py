"""Attaching without ptrace to a program that creates threads all the time.

A C program (compiled here) creates short-lived threads in a loop from before
``ktr record -t w -p PID`` attaches until told to stop; each thread blocks a
few times (voluntary switches), then reads its own ``getrusage(RUSAGE_THREAD)``
(the oracle) as the last thing it does and ends. Threads created while ktr
attaches — before their creator's events were opened, or after and inherited
while the attach still looks for threads it missed — must each carry one set
of switch events: every switch record is unique per (tid, time), a thread's
records alternate out/in, and no thread has more switch-outs than the kernel
counted for it (a thread opened twice has twice as many).
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
from c_support import build_program
from control_support import Tee

import formats
import ktrdump
from formats import RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")

CHURN = r"""
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX 20000
#define LIVE 4
static long tids[MAX], switches[MAX];

static void *work(void *arg) {
    long slot = (long)arg;
    struct timespec pause = {0, 50000};
    for (int i = 0; i < 8; i++) nanosleep(&pause, NULL);
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    tids[slot] = syscall(SYS_gettid);
    switches[slot] = usage.ru_nvcsw + usage.ru_nivcsw;
    return NULL;
}

int main(void) {
    pthread_t live[LIVE];
    long made = 0;
    puts("running"); fflush(stdout);
    struct pollfd in = {0, POLLIN, 0};
    while (made < MAX && poll(&in, 1, 0) == 0) {
        if (made >= LIVE) pthread_join(live[made % LIVE], NULL);
        if (pthread_create(&live[made % LIVE], NULL, work, (void *)made)) return 2;
        made++;
    }
    for (long i = made > LIVE ? made - LIVE : 0; i < made; i++)
        pthread_join(live[i % LIVE], NULL);
    for (long i = 0; i < made; i++) printf("%ld %ld\n", tids[i], switches[i]);
    return 0;
}
"""


@pytest.fixture(scope="module")
def churn(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("churn"), "churn", CHURN, "-O2", "-pthread")


def _record(program: Path, trace: Path, switches_to_see: int
            ) -> tuple[list[formats.Record], dict[int, int], str]:
    """Attach to ``program`` creating threads; once ``switches_to_see`` CSW records
    have come through, stop it. (records, tid -> the kernel's switch count, stderr)."""
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    recorder = None
    records: list[formats.Record] = []
    try:
        assert target.stdout is not None and target.stdin is not None
        assert target.stdout.readline() == b"running\n"
        recorder = subprocess.Popen([KTR, "record", "-t", "w", "-p", str(target.pid),
                                     "-o", "-"], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        told = False
        with trace.open("wb") as copy, ktrdump.open(Tee(recorder.stdout, copy)) as reader:
            seen = 0
            for record in reader:
                records.append(record)
                if record.kind == RecordKind.CSW:
                    seen += 1
                    if seen == switches_to_see and not told:
                        target.stdin.write(b"stop\n")
                        target.stdin.flush()
                        told = True
        assert told
        stderr = recorder.stderr.read().decode()
        assert recorder.wait(timeout=30) == 0, stderr
        output, _ = target.communicate(timeout=30)
        assert target.returncode == 0
    finally:
        for process in (target, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    counted = {int(tid): int(n) for tid, n in
               (line.split() for line in output.decode().splitlines())}
    return records, counted, stderr


@pytest.mark.parametrize("run", range(3))
def test_threads_created_while_attaching_have_one_set_of_switch_events(
        tmp_path: Path, churn: Path, run: int) -> None:
    records, counted, stderr = _record(churn, tmp_path / "churn.ktr", 3000)
    switches = [r for r in records if r.kind == RecordKind.CSW]
    by_tid: dict[int, list[formats.Record]] = defaultdict(list)
    for record in switches:
        by_tid[record.tid].append(record)
    keys = [(r.tid, r.timestamp_ns) for r in switches]
    assert len(keys) == len(set(keys)), "a switch recorded twice"
    doubled = []
    for tid, mine in by_tid.items():
        mine.sort(key=lambda r: r.timestamp_ns)
        directions = [r.payload.out for r in mine]  # type: ignore[union-attr]
        if any(a == b for a, b in itertools.pairwise(directions)):
            doubled.append(tid)
    assert not doubled, f"threads with two switches in a row the same way: {doubled[:5]}"
    outs = {tid: sum(1 for r in mine if r.payload.out)  # type: ignore[union-attr]
            for tid, mine in by_tid.items()}
    threads = [tid for tid in outs if tid in counted]
    assert len(threads) > 50, (len(threads), stderr)
    # getrusage is the thread's last call, but preemptions on its way out may follow it
    # on a loaded machine (a few); a thread opened twice has twice as many (8 more).
    more = {tid: (outs[tid], counted[tid]) for tid in threads if outs[tid] > counted[tid] + 3}
    assert not more, f"more switch-outs than getrusage counted: {list(more.items())[:5]}"
    # Threads created after the attach are seen from their creation: every switch.
    exact = sum(1 for tid in threads if outs[tid] - counted[tid] in (0, 1))
    assert exact >= 0.9 * len(threads), (exact, len(threads))
