"""A counter the machine cannot count is left out, as perf stat does, not fatal.

This VM has no PMU: perf_event_open gives ENOENT for ``cycles`` and
``perf stat -e cycles,task-clock`` prints ``<not supported>`` for cycles
and counts task-clock. ``ktr record -C cycles,task-clock`` does the same:
one ``ktr: counter cycles: <not supported> (ENOENT); recording without it``
line, task-clock recorded, the trace's header listing cycles under
``counters_not_supported`` and ``ktrdump --summary`` printing
``<not supported>`` in its column. With no counter left (``-C cycles``
alone) the recording fails as before. perf stat is the oracle for which
counters are not supported here.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"
ASKED = ["cycles", "task-clock"]


def _perf_not_supported() -> set[str]:
    perf = shutil.which("perf")
    if perf is None:
        pytest.skip("perf is not installed")
    done = subprocess.run([perf, "stat", "-x,", "-e", ",".join(ASKED), "--", "/bin/true"],
                          capture_output=True, text=True, timeout=30)
    lines = [line.split(",") for line in done.stderr.splitlines() if line.count(",") >= 3]
    assert {fields[2] for fields in lines} == set(ASKED), done.stderr
    missing = {fields[2] for fields in lines if fields[0] == "<not supported>"}
    if "cycles" not in missing:
        pytest.skip("this machine counts cycles (a PMU): nothing is unsupported")
    return missing


def test_unsupported_counter_is_left_out_and_shown_as_perf_stat(tmp_path: Path) -> None:
    missing = _perf_not_supported()
    assert missing == {"cycles"}
    trace = tmp_path / "counted.ktr"
    done = subprocess.run([str(KTR), "record", "-C", ",".join(ASKED), "-o", str(trace),
                           "--", "/bin/true"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    notices = [line for line in done.stderr.splitlines() if "not supported" in line]
    assert len(notices) == 1, done.stderr
    assert re.fullmatch(r"ktr: counter cycles: <not supported> \((ENOENT|EOPNOTSUPP|ENODEV)\); "
                        r"recording without it", notices[0]), notices

    records = [json.loads(line) for line in subprocess.run(
        [str(KTRDUMP), "--json", str(trace)], check=True, capture_output=True,
        text=True).stdout.splitlines()]
    assert records[0]["type"] == "BEGIN"
    assert records[0]["options"]["counters_not_supported"] == ["cycles"]
    counts = [record for record in records if record["type"] == "CNT"]
    assert counts and all(list(record["counters"]) == ["task-clock"] for record in counts)
    # each reading says which asked-for counter has no value, as the text's
    # "cycles=<not supported>" does
    assert all(record["not_supported"] == ["cycles"] for record in counts)
    assert counts[-1]["final"] and counts[-1]["counters"]["task-clock"] > 0

    text = subprocess.run([str(KTRDUMP), str(trace)], check=True, capture_output=True,
                          text=True).stdout
    cnt_lines = [line for line in text.splitlines() if " CNT " in line]
    assert cnt_lines and all(re.search(r" CNT +task-clock=\d+ cycles=<not supported>", line)
                             for line in cnt_lines), cnt_lines

    summary = subprocess.run([str(KTRDUMP), "--summary", str(trace)], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    start = summary.index("counters per thread (CNT, last reading; * not final):")
    head, *rows = summary[start + 1:]
    assert head.split()[3:] == ASKED  # pid tid comm, then the counters in -C's order
    total = next(row for row in rows if row.split()[:1] == ["total"])
    assert re.fullmatch(r"\s+total\s+<not supported>\s+\d+\.\d{3} ms", total), total


def test_no_counter_left_fails_as_before(tmp_path: Path) -> None:
    _perf_not_supported()
    done = subprocess.run([str(KTR), "record", "-C", "cycles", "-o",
                           str(tmp_path / "none.ktr"), "--", "/bin/true"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and "cycles" in lines[0] and "ENOENT" in lines[0], done.stderr
    assert "Traceback" not in done.stderr


def test_each_appended_recording_says_its_own_unsupported_counters(tmp_path: Path) -> None:
    """``ktr record -a`` appends a recording: the file header stays the first one's,
    the BEGIN of each says what its recording could not count. ktrdump took the
    header's for all: a later ``-C cycles,...`` lost its ``<not supported>`` and an
    earlier one's was shown on a later recording that did not ask for cycles. Text
    (with and without -t C, which hides BEGIN), JSON and the summary, per recording."""
    missing = _perf_not_supported()
    assert "cycles" in missing
    trace = tmp_path / "appended.ktr"
    asked = [["-C", "task-clock"], ["-a", "-C", "cycles,task-clock"], ["-a", "-C", "task-clock"]]
    for arguments in asked:
        done = subprocess.run([str(KTR), "record", "-q", *arguments, "-o", str(trace), "--",
                               "/bin/true"], capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in subprocess.run(
        [str(KTRDUMP), "--json", str(trace)], check=True, capture_output=True,
        text=True).stdout.splitlines()]
    begins = [record for record in records if record["type"] == "BEGIN"]
    assert [begin["options"].get("counters_not_supported") for begin in begins] == [
        None, ["cycles"], None]
    counts = [record for record in records if record["type"] == "CNT" and record["final"]]
    assert [count.get("not_supported") for count in counts] == [None, ["cycles"], None]
    pids = [count["pid"] for count in counts]

    for filtered in ([], ["-t", "C"]):
        text = subprocess.run([str(KTRDUMP), *filtered, str(trace)], check=True,
                              capture_output=True, text=True).stdout
        finals = [line for line in text.splitlines() if " CNT " in line and "final" in line]
        assert [("cycles=<not supported>" in line) for line in finals] == [
            False, True, False], finals

    summary = subprocess.run([str(KTRDUMP), "--summary", str(trace)], check=True,
                             capture_output=True, text=True).stdout.splitlines()
    start = summary.index("counters per thread (CNT, last reading; * not final):")
    head, *rows = summary[start + 1:start + 6]
    assert head.split()[3:] == ["task-clock", "cycles"]  # the first recording's order first
    cells = {int(row.split()[0]): row.split(None, 3)[3] for row in rows[:3]}
    assert re.fullmatch(r"\d+\.\d{3} ms\s+-", cells[pids[0]]), cells
    assert re.fullmatch(r"\d+\.\d{3} ms\s+<not supported>", cells[pids[1]]), cells
    assert re.fullmatch(r"\d+\.\d{3} ms\s+-", cells[pids[2]]), cells
