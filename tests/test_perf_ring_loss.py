"""Kernel ring losses (PERF_RECORD_LOST) as DROP records: which CPU's ring, and when.

A C program (compiled here) runs two threads that ping-pong a byte over two
pipes (two context switches per round trip each), each thread moving to the
other CPU every few hundred rounds (``sched_setaffinity``), so records of one
thread are lost in one CPU's ring while it goes on in the other's. ktr records
it without ptrace (``-t w``) through rings of 4 pages (the tests' hook
``KTR_TEST_RING_PAGES``), and is stopped (SIGSTOP) from the program's first
quarter to its third: both rings overflow meanwhile, whatever the machine's
load. Oracles: each thread's ``getrusage(RUSAGE_THREAD)`` (two switch
records per switch: those recorded plus those the DROPs say were lost must add
up), and the kernel's own CPU field of the records around each DROP.
"""

from __future__ import annotations

import bisect
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

import formats
import ktrdump
from formats import DropError, RecordKind
from ktr._perf import RING_PAGES_TEST_ENV

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PINGPONG = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ROUNDS 8000
static int there[2], back[2];
static long tids[2], switches[2];

static void hop(long round, int who) {
    if (who == 0 && round == ROUNDS / 4) { puts("quarter"); fflush(stdout); }
    if (who == 0 && round == 3 * ROUNDS / 4) { puts("three quarters"); fflush(stdout); }
    if (round % 500) return;
    cpu_set_t set; CPU_ZERO(&set);
    CPU_SET((int)((round / 500 + who) % 2), &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void finish(int who) {
    struct rusage usage;
    getrusage(RUSAGE_THREAD, &usage);
    tids[who] = syscall(SYS_gettid);
    switches[who] = usage.ru_nvcsw + usage.ru_nivcsw;
}

static void *echo(void *arg) {
    char c;
    for (long i = 0; i < ROUNDS; i++) {
        hop(i, 1);
        if (read(there[0], &c, 1) != 1 || write(back[1], &c, 1) != 1) exit(2);
    }
    finish(1);
    return arg;
}

int main(void) {
    if (pipe(there) || pipe(back)) return 1;
    pthread_t other;
    if (pthread_create(&other, NULL, echo, NULL)) return 1;
    char c = 'x';
    for (long i = 0; i < ROUNDS; i++) {
        hop(i, 0);
        if (write(there[1], &c, 1) != 1 || read(back[0], &c, 1) != 1) return 2;
    }
    finish(0);
    pthread_join(other, NULL);
    printf("%ld %ld\n%ld %ld\n", tids[0], switches[0], tids[1], switches[1]);
    return 0;
}
"""


@pytest.fixture(scope="module")
def pingpong(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs two CPUs to move between")
    return build_program(tmp_path_factory.mktemp("pingpong"), "pingpong", PINGPONG,
                         "-O2", "-pthread")


def _cpu(record: formats.Record) -> int:
    payload = record.payload
    assert isinstance(payload, (formats.Csw, formats.Sample))
    return payload.cpu


@pytest.mark.parametrize("facility", [
    ["-t", "w"], ["-t", "S", "-F", "20000", "--stack-bytes", "256"]],
    ids=["switches", "samples"])
def test_a_lost_stretch_names_its_cpus_ring_and_stands_where_its_gap_began(
        tmp_path: Path, pingpong: Path, facility: list[str]) -> None:
    """Each DROP names the CPU whose ring lost records, and stands 1 ns after the last
    record that ring kept (the kernel's CPU field of that switch or sample): where the
    gap began, not where the ring could write again (its LOST's time, after a thread
    that moved to the other CPU went on there). With switches, the counts add up."""
    trace = tmp_path / "lossy.ktr"
    recorder = subprocess.Popen([KTR, "record", *facility, "-o", str(trace), "--",
                                 str(pingpong)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env={**os.environ, RING_PAGES_TEST_ENV: "4"})
    try:
        assert recorder.stdout is not None and recorder.stderr is not None
        assert recorder.stdout.readline() == "quarter\n"
        recorder.send_signal(signal.SIGSTOP)  # its reader stops draining the rings
        try:
            assert recorder.stdout.readline() == "three quarters\n"
        finally:
            recorder.send_signal(signal.SIGCONT)
        output = recorder.stdout.read()
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=60) == 0, stderr
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()
    counted = {int(tid): int(n) for tid, n in (line.split() for line in output.splitlines())}
    kept = RecordKind.CSW if "w" in facility else RecordKind.SAMPLE
    with ktrdump.open(str(trace)) as reader:
        records = sorted((r for r in reader if r.kind in (kept, RecordKind.DROP)),
                         key=lambda r: r.timestamp_ns)
    drops = [r for r in records if r.kind == RecordKind.DROP]
    assert drops, "a 4-page ring was never overrun"
    cpus = sorted(os.sched_getaffinity(0))
    rings: dict[int, list[int]] = {cpu: [] for cpu in cpus}  # cpu -> its records' times
    for record in records:
        if record.kind == kept:
            rings[_cpu(record)].append(record.timestamp_ns)
    lost = 0
    for drop in drops:
        payload = drop.payload
        assert isinstance(payload, formats.Drop)
        assert payload.error == DropError.ENOBUFS
        assert payload.cpu in cpus, payload
        lost += payload.lost
        ring = rings[payload.cpu]
        where = bisect.bisect_left(ring, drop.timestamp_ns)
        if where:
            assert ring[where - 1] == drop.timestamp_ns - 1
        assert where < len(ring), "the ring wrote again (its LOST) after the gap"
    assert {d.payload.cpu for d in drops} == set(cpus)  # type: ignore[union-attr]
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    assert f"lost by cpu {drops[0].payload.cpu}'s perf ring" in text  # type: ignore[union-attr]
    if kept != RecordKind.CSW:
        return
    # Every switch of the two threads is a switch-out and a switch-in record: those
    # recorded and those lost add up to what getrusage counted (the few other records
    # lost — the threads' COMM, FORK, EXIT — and switches after getrusage: a margin).
    switches = sum(1 for r in records if r.kind == kept and r.tid in counted)
    expected = 2 * sum(counted.values())
    assert expected - 40 <= switches + lost <= expected + 40, (switches, lost, expected)
    assert lost > expected // 4  # half the rounds ran while ktr was stopped
