"""``ktrdump --format calls --min-duration D``: uftrace replay's ``-t``/``--time-filter``.

Only probed calls that lasted at least D are shown; a shorter call goes with
its callees (never longer than it). Before, the calls view ignored the
option and listed the 2 us calls too. Oracle: the C program's own call
counts and the sleep it makes inside ``slow``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import gcc

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = r"""
#include <time.h>
__attribute__((noipa)) int quick(int x) { return x + 1; }
__attribute__((noipa)) int slow(int x) {
  struct timespec pause = {0, 30000000};
  nanosleep(&pause, 0);
  return quick(quick(x));
}
int main(void) {
  int s = 0;
  for (int i = 0; i < 3; i++) s += quick(i);
  return slow(s) == 0;
}
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("mindur")
    (directory / "prog.c").write_text(PROGRAM)
    subprocess.run([gcc(), "-O1", "-o", str(directory / "prog"), str(directory / "prog.c")],
                   check=True)
    path = directory / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "f", "-o", str(path),
                    "-P", "prog:quick(i32)", "-P", "prog:quick:return(i32)",
                    "-P", "prog:slow(i32)", "-P", "prog:slow:return(i32)",
                    "--", str(directory / "prog")], check=True, timeout=60, cwd=directory)
    return path


def calls(trace: Path, *options: str) -> list[str]:
    done = subprocess.run([KTRDUMP, "--format", "calls", *options, str(trace)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [line.split("| ", 1)[1].strip() for line in done.stdout.splitlines()[1:]]


def test_short_calls_and_their_callees_are_left_out(trace: Path) -> None:
    every = calls(trace)
    assert sum(line.startswith("prog:quick(") for line in every) == 5  # 3 + 2 in slow
    assert "prog:slow(6) {" in every
    kept = calls(trace, "--min-duration", "10ms")
    assert kept == ["prog:slow(6) {", "} = 8; /* prog:slow */"]
    # The shown duration is at least the threshold (and the 30 ms sleep).
    done = subprocess.run([KTRDUMP, "--format", "calls", "--min-duration", "10ms", str(trace)],
                          capture_output=True, text=True, check=True).stdout
    (closing,) = [line for line in done.splitlines() if "/* prog:slow */" in line]
    value, unit = re.match(r"\s*([\d.]+) (us|ms|  s)", closing).groups()  # type: ignore[union-attr]
    assert float(value) * {"us": 1e-3, "ms": 1.0, "  s": 1e3}[unit] >= 30.0


def test_a_threshold_below_every_call_keeps_them_all(trace: Path) -> None:
    assert calls(trace, "--min-duration", "1ns") == calls(trace)


def test_folded_refuses_min_duration_in_one_line(trace: Path) -> None:
    done = subprocess.run([KTRDUMP, "--format", "folded", "--min-duration", "1ms", str(trace)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "--min-duration" in lines[0], lines


def test_the_summary_counts_only_calls_that_long(trace: Path) -> None:
    def rows(*options: str) -> dict[str, str]:
        text = subprocess.run([KTRDUMP, "--summary", *options, str(trace)],
                              capture_output=True, text=True, check=True).stdout
        table = text.split("function probes:")[1].splitlines()[3:]
        return {line.split()[-1]: line.split()[-2] for line in table if line.strip()}

    assert rows() == {"prog:slow": "1", "prog:quick": "5"}
    assert rows("--min-duration", "10ms") == {"prog:slow": "1"}


def test_chrome_and_parquet_keep_the_probed_calls_the_calls_view_keeps(
        trace: Path, tmp_path: Path) -> None:
    """Chrome's probe slices and parquet's probes table follow --min-duration as the
    calls view does (both showed every quick call's entry and return before)."""
    import json

    def slices(*options: str) -> list[tuple[str, str | None]]:
        done = subprocess.run([KTRDUMP, "--format", "chrome", *options, str(trace)],
                              capture_output=True, text=True, timeout=60, check=True)
        return [(event["ph"], event.get("name"))
                for event in json.loads(done.stdout)["traceEvents"]
                if event.get("cat") == "probe"]

    every = slices()
    assert every.count(("B", "prog:quick")) == 5 and every.count(("B", "prog:slow")) == 1
    assert slices("--min-duration", "10ms") == [("B", "prog:slow"), ("E", None)]
    assert slices("--min-duration", "1ns") == every

    pq = pytest.importorskip("pyarrow.parquet")

    def rows(*options: str) -> list[tuple[str, str]]:
        out = tmp_path / "calls.parquet"
        subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(out), *options,
                        str(trace)], capture_output=True, text=True, timeout=60, check=True)
        table = pq.read_table(str(tmp_path / "calls.probes.parquet")).to_pylist()
        return [(row["function"], row["point"]) for row in table]

    assert len(rows()) == 12
    assert rows("--min-duration", "10ms") == [("slow", "entry"), ("slow", "return")]
    assert rows("--min-duration", "1ns") == rows()


def test_the_probe_duration_filter_keeps_what_the_calls_view_keeps() -> None:
    """``ProbeDurationFilter`` on hand-made records: a long call with a short callee, an
    entry-only probe, an offset probe, a return whose entry is not there, a call open at
    a DROP and one open at the end. Other records keep their place in between."""
    from formats import Drop, Probe, ProbeDef, ProbeSite, Record, RecordKind, Syscall
    from ktrdump._probes import ProbeDurationFilter

    ms = 1_000_000

    def rec(kind: RecordKind, payload: object, ts: int, tid: int = 7) -> Record:
        return Record(int(kind), 1, 7, tid, ts, b"prog", payload)

    def pdef(probe_id: int, site: ProbeSite, function: bytes) -> Record:
        return rec(RecordKind.PROBE_DEF, ProbeDef(probe_id, int(site), 0, 0x1000, 0x1000, 8,
                                                  0, 0, b"", b"/p", b"", function, b""), 0)

    def hit(probe_id: int, site: ProbeSite, ts: int, tid: int = 7) -> Record:
        return rec(RecordKind.PROBE, Probe(probe_id, int(site), 0, 0, 0, (), b"", b""),
                   ts, tid)

    E, R, OFF = ProbeSite.ENTRY, ProbeSite.RETURN, ProbeSite.OFFSET
    defs = [pdef(1, E, b"slow"), pdef(2, R, b"slow"), pdef(3, E, b"quick"),
            pdef(4, R, b"quick"), pdef(5, E, b"entry_only"), pdef(6, OFF, b"slow")]
    call = rec(RecordKind.SYSCALL, Syscall(0, 0, 0, (0,) * 6), 5 * ms)
    stream = [*defs,
              hit(1, E, 1 * ms),  # slow: 1 ms .. 40 ms
              hit(3, E, 2 * ms), hit(4, R, 3 * ms),  # quick inside: 1 ms
              call, hit(5, E, 6 * ms), hit(6, OFF, 7 * ms),
              hit(2, R, 40 * ms),
              hit(4, R, 41 * ms),  # a return without its entry
              hit(1, E, 50 * ms, tid=8),  # open at the DROP
              rec(RecordKind.DROP, Drop(1, 0, 3), 60 * ms),
              hit(2, R, 90 * ms, tid=8),  # after the DROP: not paired with that entry
              hit(1, E, 95 * ms)]  # open at the end
    filtered = ProbeDurationFilter(10 * ms)
    out = filtered.feed(stream[:10]) + filtered.feed(stream[10:]) + filtered.finish()
    kept = [(r.kind, r.timestamp_ns // ms) for r in out]
    assert kept == [(RecordKind.PROBE_DEF, 0)] * 6 + [
        (RecordKind.PROBE, 1), (RecordKind.SYSCALL, 5), (RecordKind.PROBE, 40),
        (RecordKind.DROP, 60)]
    # with no threshold: every paired call, still none of the hits without a duration
    every = ProbeDurationFilter(0)
    out = every.feed(stream) + every.finish()
    assert [(r.kind, r.timestamp_ns // ms) for r in out] == [(RecordKind.PROBE_DEF, 0)] * 6 + [
        (RecordKind.PROBE, 1), (RecordKind.PROBE, 2), (RecordKind.PROBE, 3),
        (RecordKind.SYSCALL, 5), (RecordKind.PROBE, 40), (RecordKind.DROP, 60)]


def test_since_and_until_keep_the_calls_of_their_window(trace: Path) -> None:
    """``--since``/``--until`` apply to the calls view as to every other (it listed every
    call whatever the window). The window's edge is the middle of slow's 30 ms sleep:
    the 3 quick calls before slow are before it, the 2 inside slow after it. Oracle: the
    PROBE records' own times in the JSON view."""
    import json

    done = subprocess.run([KTRDUMP, "--json", "-t", "f", str(trace)],
                          capture_output=True, text=True, timeout=60, check=True)
    probes = [json.loads(line) for line in done.stdout.splitlines()]
    (entry,) = [p["ts"] for p in probes
                if p["type"] == "PROBE" and p["probe"] == "prog:slow:entry"]
    middle = f"{(entry + 15_000_000) / 1e9:.6f}"

    def quick_lines(*options: str) -> int:
        return sum(line.startswith("prog:quick(") for line in calls(trace, *options))

    assert quick_lines() == 5
    assert quick_lines("--until", middle) == 3
    assert quick_lines("--since", middle) == 2
    assert "prog:slow(6) {" in calls(trace, "--until", middle)
    # slow began before the window: only its return is in it
    assert "prog:slow(6) {" not in calls(trace, "--since", middle)


def test_a_call_cut_by_the_window_is_closed_as_uftrace_closes_it(trace: Path) -> None:
    """A call that began before ``--since`` and returns in the window is closed as any
    call, ``} = 8; /* prog:slow */`` with its whole duration, its callees one level in
    (``uftrace replay --time-range``); it said ``prog:slow() = 8; /* entry not in the
    trace */`` though the entry is in the trace. A call open at ``--until`` whose return
    is after it says so; it said ``no return in the trace``. Oracle: the PROBE records'
    own times in the JSON view (slow's return minus its entry)."""
    import json

    done = subprocess.run([KTRDUMP, "--json", "-t", "f", str(trace)],
                          capture_output=True, text=True, timeout=60, check=True)
    probes = [json.loads(line) for line in done.stdout.splitlines()]
    (entry,) = [p["ts"] for p in probes
                if p["type"] == "PROBE" and p["probe"] == "prog:slow:entry"]
    (ret,) = [p["ts"] for p in probes
              if p["type"] == "PROBE" and p["probe"] == "prog:slow:return"]
    middle = f"{(entry + 15_000_000) / 1e9:.6f}"

    since = calls(trace, "--since", middle)
    assert since == ["prog:quick(6) = 7;", "prog:quick(7) = 8;", "} = 8; /* prog:slow */"]
    text = subprocess.run([KTRDUMP, "--format", "calls", "--since", middle, str(trace)],
                          capture_output=True, text=True, check=True).stdout
    assert "|   prog:quick(6) = 7;" in text  # at its depth inside slow
    (closing,) = [line for line in text.splitlines() if "/* prog:slow */" in line]
    value = re.match(r"\s*([\d.]+) ms", closing).group(1)  # type: ignore[union-attr]
    assert value == f"{(ret - entry) / 1e6:7.3f}".strip()

    until = calls(trace, "--until", middle)
    assert until[-2:] == ["prog:slow(6) {", "} /* prog:slow: returns after --until */"]
    assert not any("no return in the trace" in line for line in until)
    # a window that holds none of slow's records: nothing of it is shown
    early = f"{(entry - 1) // 10**9}.{(entry - 1) % 10**9:09d}"
    assert not any("slow" in line for line in calls(trace, "--until", early))


def test_filters_that_leave_no_call_say_so(trace: Path) -> None:
    """The calls view says ``the filters matched no records`` when the filters leave no
    line, as every other view does (it printed its header alone, status 0, nothing on
    standard error); nothing is said when a call is shown."""
    for options in (["-p", "99999"], ["--since", "+1h"], ["--min-duration", "10s"]):
        done = subprocess.run([KTRDUMP, "--format", "calls", *options, str(trace)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, options
        assert done.stdout == "# DURATION     TID     FUNCTION\n", options
        assert done.stderr == f"ktrdump: {trace}: the filters matched no records\n", options
    done = subprocess.run([KTRDUMP, "--format", "calls", "--min-duration", "10ms", str(trace)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "prog:slow" in done.stdout and done.stderr == ""


def test_a_loss_before_the_window_closes_its_unseen_calls_unseen() -> None:
    """``CallsDescriber`` with a window (5 ms on) on hand-made records: a call begun before
    it closes in it with its whole duration; a DROP before the window ends the calls open
    then without a line each (their entries were never shown), its own line kept."""
    from formats import Drop, Probe, ProbeDef, ProbeSite, Record, RecordKind
    from ktrdump._probes import CallsDescriber

    ms = 1_000_000

    def rec(kind: RecordKind, payload: object, ts: int, tid: int = 7) -> Record:
        return Record(int(kind), 1, 7, tid, ts, b"prog", payload)

    def pdef(probe_id: int, site: ProbeSite, function: bytes) -> Record:
        return rec(RecordKind.PROBE_DEF, ProbeDef(probe_id, int(site), 0, 0x1000, 0x1000, 8,
                                                  0, 0, b"", b"/p", b"", function, b""), 0)

    def hit(probe_id: int, site: ProbeSite, ts: int, tid: int = 7) -> Record:
        return rec(RecordKind.PROBE, Probe(probe_id, int(site), 0, 0, 0, (), b"", b""),
                   ts, tid)

    E, R = ProbeSite.ENTRY, ProbeSite.RETURN
    defs = [pdef(1, E, b"slow"), pdef(2, R, b"slow")]

    def shown(stream: list[Record]) -> list[str]:
        since = 5 * ms
        calls = CallsDescriber(lambda record: record.timestamp_ns >= since
                               or record.kind == RecordKind.DROP,
                               window=lambda ns: -1 if ns < since else 0)
        lines = calls.describe(stream) + calls.finish()
        return [line.split("| ", 1)[1].rstrip("\n") for line in lines[1:]]

    assert shown([*defs, hit(1, E, 1 * ms), hit(2, R, 10 * ms)]) == ["} = 0; /* p:slow */"]
    drop = rec(RecordKind.DROP, Drop(12, 0, 3), 2 * ms)
    assert shown([*defs, hit(1, E, 1 * ms), drop, hit(1, E, 6 * ms), hit(2, R, 7 * ms)]) == [
        "/* 3 records lost (ENOMEM: a record could not be built) */", "p:slow() = 0;"]
