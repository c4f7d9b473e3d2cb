"""Probe hits lost in a kernel ring: where the DROP stands, and what pairing does at it.

A ring overrun hides any number of entries and returns. The DROP must stand where the
gap is (its PERF_RECORD_LOST's time, among the hits), and the call layer must abandon the
calls open there rather than pair an entry before the gap with a return after it. The
oracle is the C program's own: ``foo_add(i, 1)`` returns ``i + 1``, called for
i = 0, 1, ..., N-1 in order.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from probe_support import gcc, tracefs_root

from formats import Drop as DropPayload
from formats import DropError, ProbeArgType, ProbeDef, ProbeSite, Record, RecordKind
from formats import Probe as ProbePayload
from ktr._probe_source import RING_PAGES_TEST_ENV
from ktrdump._probes import CallsDescriber, CallStack, ProbeSummary

BIN = Path(sys.executable).parent
LIBFOO = "__attribute__((noipa)) int foo_add(int a, int b) { return a + b; }\n"
# Pinned to one CPU: a per-CPU ring's LOST record is written at that ring's next write,
# which, had the thread moved to another CPU meanwhile, would come after hits written to
# the other ring (see the limitation in ktr/_perf.py's parse_lost_at).
FAST = r"""
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
int foo_add(int, int);
int main(int argc, char **argv) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  if (sched_setaffinity(0, sizeof one, &one)) return 2;
  int n = atoi(argv[1]), s = 0;
  for (int i = 0; i < n; i++) s += foo_add(i, 1);
  return s == 0;
}
"""
CALLS = 10_000


def _build(directory: Path) -> Path:
    (directory / "foo.c").write_text(LIBFOO)
    (directory / "fast.c").write_text(FAST)
    subprocess.run([gcc(), "-O1", "-shared", "-fPIC", "-Wl,-soname,libfoo.so.1", "-o",
                    str(directory / "libfoo.so.1"), str(directory / "foo.c")], check=True)
    subprocess.run([gcc(), "-O1", "-o", str(directory / "fast"), str(directory / "fast.c"),
                    f"-L{directory}", "-l:libfoo.so.1", "-Wl,-rpath,$ORIGIN"], check=True)
    return directory / "fast"


def test_ring_losses_stand_in_the_gap_and_break_no_call(tmp_path: Path) -> None:
    fast = _build(tmp_path)
    trace = tmp_path / "p5.ktr"
    # a 2-page ring: the tight probed loop overruns it many times over
    env = {**os.environ, RING_PAGES_TEST_ENV: "2"}
    # A reader that keeps up with the ring now and then loses nothing: the
    # recording is made again then (at most three times).
    for _attempt in range(3):
        done = subprocess.run(
            [str(BIN / "ktr"), "record", "-q", "-t", "f", "-o", str(trace),
             "-P", "libfoo:foo_add(i32,i32)", "-P", "libfoo:foo_add:return(i32)",
             "--", str(fast), str(CALLS)],
            capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        with open(os.path.join(tracefs_root(), "uprobe_events")) as events:
            assert not [line for line in events if f"ktr_{os.getpid()}" in line]
        stated = re.search(r"(\d+) dropped \(ENOBUFS (\d+): ", done.stderr)
        if stated is not None:
            break
    assert stated is not None, done.stderr
    dumped = subprocess.run([str(BIN / "ktrdump"), "--json", str(trace)],
                            capture_output=True, text=True, check=True).stdout
    records = [json.loads(line) for line in dumped.splitlines()]
    hits = [r for r in records if r["type"] == "PROBE"]
    drops = [r for r in records if r["type"] == "DROP"]
    lost = sum(d["count"] for d in drops)
    assert lost > 0  # the small ring did its job: the test below sees gaps
    # every hit is either written or counted lost, once: in the file and in the summary
    assert len(hits) + lost == 2 * CALLS
    assert lost == int(stated.group(2))

    # Walk the hits in file order: entry i, return i+1, entry i+1, ... Wherever that
    # sequence breaks, hits are missing and a DROP must stand between the two hits,
    # stamped within the gap; a DROP anywhere else is out of place.
    def follows(before: dict[str, Any], after: dict[str, Any]) -> bool:
        if before["point"] == "entry":
            return after["point"] == "return" and after["retval"] == before["args"][0] + 1
        return after["point"] == "entry" and after["args"][0] == before["retval"]

    previous: dict[str, Any] | None = None
    between: list[dict[str, Any]] = []
    gaps = 0
    returns_lost = 0  # gaps that begin after an entry: its return lost
    for record in records:
        if record["type"] == "DROP":
            between.append(record)
        elif record["type"] == "PROBE":
            if previous is not None:
                broken = not follows(previous, record)
                gaps += broken
                returns_lost += broken and previous["point"] == "entry"
                assert bool(between) == broken, (previous, between, record)
                for drop in between:
                    assert previous["ts"] <= drop["ts"] <= record["ts"], (previous, drop, record)
            previous, between = record, []
    assert gaps > 0
    for drop in between:  # the hits lost at the end: after the last one written
        assert previous is not None and drop["ts"] >= previous["ts"]

    # the calls view pairs no entry with a return across a gap (the program's oracle)
    calls = subprocess.run([str(BIN / "ktrdump"), "--format", "calls", str(trace)],
                           capture_output=True, text=True, check=True).stdout
    paired = re.findall(r"foo_add\((-?\d+), 1\) = (-?\d+);", calls)
    assert paired
    wrong = [(a, r) for a, r in paired if int(r) != int(a) + 1]
    assert not wrong, wrong[:5]
    # (a gap may begin after a return and end before an entry: no call is cut)
    assert ("return lost" in calls) == (returns_lost > 0), returns_lost
    # --summary's probe table: a leaf's self time is its total (no call stacked on a stale
    # entry, whose return was lost)
    summary = subprocess.run([str(BIN / "ktrdump"), "--summary", str(trace)],
                             capture_output=True, text=True, check=True).stdout
    row = re.search(r"^ *(\S+ +\S+) +(\S+ +\S+) +(\d+) +libfoo.so.1:foo_add$", summary, re.M)
    assert row is not None, summary
    assert row.group(1) == row.group(2), row.group(0)
    # so do Chrome's slices: each B's matching E carries arg + 1, or is unfinished
    chrome = subprocess.run([str(BIN / "ktrdump"), "--format", "chrome", str(trace)],
                            capture_output=True, text=True, check=True).stdout
    document = json.loads(chrome)
    opened: list[int] = []
    for event in document["traceEvents"]:
        if event.get("cat") != "probe":
            continue
        if event["ph"] == "B":
            opened.append(int(event["args"]["args"][0]))
        elif event["ph"] == "E":
            entry_arg = opened.pop()
            if "retval" in event["args"]:
                assert int(event["args"]["retval"]) == entry_arg + 1
    assert not opened


TS = 1_700_000_000_000_000_000


def _probe(site: ProbeSite, ts: int, *, arg: int = 0, value: int = 0) -> Record:
    return Record(int(RecordKind.PROBE), 1, 100, 100, ts, b"fast",
                  ProbePayload(int(site) + 1, int(site), 0x1000, 0, value,
                               (arg, 1) if site == ProbeSite.ENTRY else (),
                               b"libfoo.so.1:foo_add"))


def _crafted() -> list[Record]:
    """foo_add(1, 1) entered, records lost, then the return of a much later call; then a
    whole call after the loss."""
    defs = [Record(int(RecordKind.PROBE_DEF), 1, 0, 0, TS, b"ktr",
                   ProbeDef(int(site) + 1, int(site), 0, 0x1000, 0x1000, 8, 0, 0, types,
                            b"/lib/libfoo.so.1", b"", b"foo_add", b""))
            for site, types in ((ProbeSite.ENTRY, bytes([ProbeArgType.I32] * 2)),
                                (ProbeSite.RETURN, bytes([ProbeArgType.I32])))]
    drop = Record(int(RecordKind.DROP), 1, 0, 0, TS + 2_000, b"ktr",
                  DropPayload(int(DropError.ENOBUFS), 0, 54_000))
    return [*defs, _probe(ProbeSite.ENTRY, TS + 1_000, arg=1), drop,
            _probe(ProbeSite.RETURN, TS + 3_000, value=27_001),
            _probe(ProbeSite.ENTRY, TS + 4_000, arg=27_001),
            _probe(ProbeSite.RETURN, TS + 5_000, value=27_002)]


def test_callstack_abandons_open_calls_at_a_drop() -> None:
    stack = CallStack()
    events = [(event, call.args, call.retval) for record in _crafted()
              for event, call in stack.feed(record)]
    assert events == [
        ("enter", ["1", "1"], None),
        ("abandon", ["1", "1"], None),
        ("orphan", [], "27001"),  # its entry is among the lost records
        ("enter", ["27001", "1"], None),
        ("exit", ["27001", "1"], "27002"),
    ]
    assert not list(stack.unfinished())

    summary = ProbeSummary()
    summary.add_records(_crafted())
    stats = summary.functions["libfoo.so.1:foo_add"]
    assert (stats.calls, stats.returned, stats.total_ns, stats.self_ns) == (3, 1, 1_000, 1_000)

    describer = CallsDescriber()
    text = "".join(describer.describe(_crafted()) + describer.finish())
    assert "foo_add(1, 1) {" in text
    assert "} /* libfoo.so.1:foo_add: return lost */" in text
    assert "/* 54000 records lost (ENOBUFS: a kernel perf ring was full) */" in text
    assert "foo_add(1, 1) = " not in text
    assert "libfoo.so.1:foo_add(27001, 1) = 27002;" in text
