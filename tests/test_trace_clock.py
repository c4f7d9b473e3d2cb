"""One trace clock per recording: every source stamps its records with the one
``TraceClock`` the recorder made, and the file says which offset that is.

Real recordings: a C program compiled here, traced with syscalls, context
switches, stack samples and a function probe at once (ptrace, two perf sources
and the uprobe source), in this process (``ktr.record``) so that the clocks made
can be counted.
"""

from __future__ import annotations

import bisect
import json
import os
import subprocess
from pathlib import Path

import pytest
from probe_support import gcc

import formats
import ktr
import ktrdump
from formats import RecordKind
from ktr import _clock

PROGRAM = r"""
#include <unistd.h>
__attribute__((noipa)) long bump(long x) { return x + 1; }
int main(void) {
    long s = 0;
    for (int i = 0; i < 200; i++) { s += getppid(); s = bump(s); }
    for (volatile long i = 0; i < 20000000; i++) {}
    return s == 0;
}
"""


def _build(tmp_path: Path) -> Path:
    source = tmp_path / "clocked.c"
    source.write_text(PROGRAM)
    program = tmp_path / "clocked"
    subprocess.run([gcc(), "-O1", "-o", str(program), str(source)], check=True)
    return program


def _record(tmp_path: Path, arguments: list[str], program: Path,
            monkeypatch: pytest.MonkeyPatch) -> tuple[list[_clock.TraceClock], Path]:
    made: list[_clock.TraceClock] = []
    original = _clock.TraceClock.__init__

    def counted(self: _clock.TraceClock) -> None:
        original(self)
        made.append(self)

    monkeypatch.setattr(_clock.TraceClock, "__init__", counted)
    trace = tmp_path / "clocked.ktr"
    options = ktr.parse_record_arguments(
        ["-q", *arguments, "-o", str(trace), "--", str(program)])
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 1)
        report = ktr.record(options)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert report.exit_status == 0
    return made, trace


def _records(trace: Path) -> tuple[formats.FileHeader, list[formats.Record]]:
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
        assert reader.skipped_batches == 0
        return reader.header, records


def test_every_source_stamps_with_the_one_clock(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    program = _build(tmp_path)
    made, trace = _record(tmp_path, ["-t", "cnw", "-F", "997", "-P", "clocked:bump"],
                          program, monkeypatch)
    # ptrace control, perf switches, the sampler, the probes, the descriptor: one clock
    assert len(made) == 1, made
    clock = made[0]
    header, records = _records(trace)
    kinds = {record.kind for record in records}
    assert {RecordKind.SYSCALL, RecordKind.CSW, RecordKind.SAMPLE, RecordKind.PROBE,
            RecordKind.PROBE_DEF, RecordKind.BEGIN, RecordKind.END} <= kinds, kinds
    # The file says the offset every timestamp carries.
    assert header.realtime_ns - header.monotonic_ns == clock.offset_ns
    assert json.loads(json.dumps(dict(header.options)))["clock"] == "monotonic+offset"
    begin = records[0].payload
    assert isinstance(begin, formats.Begin)
    assert begin.realtime_ns - begin.monotonic_ns == clock.offset_ns
    assert json.loads(begin.options)["clock"] == "monotonic+offset"
    # Nothing, the probe definitions included, is stamped before the clock's start.
    assert min(record.timestamp_ns for record in records) >= clock.start_realtime_ns


def test_a_syscall_stop_falls_between_the_switches_it_caused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ptrace stop switches the tracee out (the kernel stamps it, perf's clock) and
    the recorder stamps the stop after the tracee is off its CPU (the ptrace request
    that reads the stop waits for that); the tracee runs again, switched in, only
    after the recorder resumed it. So on one clock, every getppid CALL and RET lies
    after a switch-out and before the next switch-in of its thread."""
    program = _build(tmp_path)
    made, trace = _record(tmp_path, ["-t", "cw"], program, monkeypatch)
    assert len(made) == 1
    _, records = _records(trace)
    getppid = 110
    calls = [r for r in records if r.kind in (RecordKind.SYSCALL, RecordKind.SYSRET)
             and r.payload.nr == getppid]
    assert len(calls) == 400
    tid = calls[0].tid
    switches = sorted((r.timestamp_ns, r.payload.out) for r in records
                      if r.kind == RecordKind.CSW and r.tid == tid)
    times = [t for t, _ in switches]

    for call in calls:
        at = bisect.bisect_left(times, call.timestamp_ns)
        assert 0 < at < len(switches), call
        before, after = switches[at - 1], switches[at]
        assert before[1] == 1 and after[1] == 0, (call, before, after)
