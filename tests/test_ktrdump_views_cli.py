"""The ktrdump command line for --summary, --format chrome, several inputs and -l."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ktrdump_support import START_NS, build_trace, encode_entries, file_header, syscall_batch

import formats
from ktrdump.cli import main

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
VECTORS = Path(__file__).parent / "vectors"


def write_trace(path: Path, batches: int, pid: int = 4242, first_ns: int = START_NS) -> None:
    """``batches`` batches of six records each, 1 µs apart, starting at ``first_ns``."""
    framing = formats.batch_framing()
    path.write_bytes(file_header() + b"".join(
        framing.encode(encode_entries(syscall_batch(6, pid=pid), first_ns=first_ns + n * 10_000))
        for n in range(batches)))


def test_summary_counts_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.ktr"
    write_trace(trace, 3)
    assert main(["--summary", str(trace)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["%", "time", "seconds", "usecs/call", "calls", "errors", "syscall"]
    rows = {line.split()[-1]: line.split() for line in out[2:] if line[:1] != "-"}
    assert rows["openat"][3] == "3" and rows["read"][3] == "3"
    assert rows["total"][3] == "6"


def test_summary_sort_and_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = tmp_path / "t.ktr"
    write_trace(trace, 2)
    assert main(["-c", "-S", "name", "-U", "name,calls", str(trace)]) == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines()
             if line and line[0] != "-"]
    assert [row[0] for row in lines[1:3]] == ["openat", "read"]
    assert main(["-c", "-U", "bogus", str(trace)]) == 2
    assert "unknown summary columns bogus" in capsys.readouterr().err


def test_summary_reports_damage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--summary", str(VECTORS / "corrupt_middle.ktr")]) == 1
    captured = capsys.readouterr()
    assert "byte offset" in captured.err
    assert "total" in captured.out


def test_chrome_output_is_json(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    write_trace(trace, 2)
    done = subprocess.run([KTRDUMP, "--format", "chrome", str(trace)], capture_output=True)
    assert done.returncode == 0, done.stderr
    events = json.loads(done.stdout)["traceEvents"]
    calls = [event for event in events if event.get("ph") == "X"]
    assert {event["name"] for event in calls} == {"openat", "read"}
    assert all(event["pid"] == 4242 for event in calls)


def test_several_files_are_merged_by_time(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    first, second = tmp_path / "a.ktr", tmp_path / "b.ktr"
    write_trace(first, 2, pid=100)
    write_trace(second, 2, pid=200, first_ns=START_NS + 500)
    assert main(["--json", str(first), str(second)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {record["pid"] for record in records} == {100, 200}
    stamps = [record["ts"] for record in records]
    assert stamps == sorted(stamps)
    assert len(records) == 24


def test_follow_shows_records_appended_later(tmp_path: Path) -> None:
    trace = tmp_path / "grow.ktr"
    data, _ = build_trace([syscall_batch(6)])
    trace.write_bytes(data)
    follower = subprocess.Popen([KTRDUMP, "-l", str(trace)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    assert follower.stdout is not None
    try:
        lines = [follower.stdout.readline() for _ in range(4)]  # CALL NAMI RET CALL
        assert b"openat" in lines[0]
        framing = formats.batch_framing()
        appended = framing.encode(encode_entries(syscall_batch(6, pid=777)))
        started = time.monotonic()
        with open(trace, "ab") as out:
            out.write(appended)
        deadline = started + 10
        seen = b""
        while b"  777 " not in seen:
            assert time.monotonic() < deadline
            seen += follower.stdout.readline()
    finally:
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=10)
    assert follower.returncode == 0
    assert b"Traceback" not in stderr


def test_follow_takes_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-l", "a.ktr", "b.ktr"]) == 2
    assert "-l follows one trace" in capsys.readouterr().err


def test_follow_of_a_pipe_ends_at_its_end(tmp_path: Path) -> None:
    data, _ = build_trace([syscall_batch(6)])
    done = subprocess.run([KTRDUMP, "-l", "-"], input=data, capture_output=True, timeout=10)
    assert done.returncode == 0
    assert done.stdout.count(b"\n") >= 6


def test_standard_input_only_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-", "-"]) == 2
    assert "only once" in capsys.readouterr().err


def test_chrome_of_a_followed_file_is_valid_json_after_ctrl_c(tmp_path: Path) -> None:
    trace = tmp_path / "grow.ktr"
    data, _ = build_trace([syscall_batch(6)])
    trace.write_bytes(data)
    follower = subprocess.Popen([KTRDUMP, "-l", "--format", "chrome", str(trace)],
                                stdout=subprocess.PIPE)
    assert follower.stdout is not None
    try:
        seen = b""
        while b'"openat"' not in seen:
            seen += os.read(follower.stdout.fileno(), 4096)
    finally:
        follower.send_signal(signal.SIGINT)
        rest, _ = follower.communicate(timeout=10)
    assert follower.returncode == 0
    events = json.loads(seen + rest)["traceEvents"]
    assert any(event.get("name") == "openat" for event in events)


@pytest.mark.parametrize("view, says", [
    ("folded", "no stack samples in this trace (ktr record -F HZ records them)"),
    ("calls", "no function probe records in this trace (ktr record -P PROBE records them)"),
])
def test_a_view_of_records_the_trace_lacks_says_so_on_stderr(view: str, says: str) -> None:
    """A syscall-only trace has no samples and no probes: one line says why the view
    is empty, status 0; a trace that has them gets no such line."""
    vectors = Path(__file__).parent / "vectors"
    ktrdump = str(Path(sys.executable).parent / "ktrdump")
    bare = vectors / "calls.ktr"
    done = subprocess.run([ktrdump, "--format", view, str(bare)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [f"ktrdump: {bare}: {says}"]
    full = vectors / "all_kinds.ktr"
    done = subprocess.run([ktrdump, "--format", view, str(full)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout
    assert says not in done.stderr


def test_the_strace_view_of_a_trace_without_calls_says_so(tmp_path: Path) -> None:
    """A -t w trace (context switches only) has nothing strace would print: one line
    says why, status 0, as --format calls and folded do; a trace with calls has none."""
    bin_dir = Path(sys.executable).parent
    trace = tmp_path / "w.ktr"
    subprocess.run([str(bin_dir / "ktr"), "record", "-q", "-t", "w", "-o", str(trace), "--",
                    "true"], check=True, capture_output=True, timeout=60)
    ktrdump = str(bin_dir / "ktrdump")
    done = subprocess.run([ktrdump, "--format", "strace", str(trace)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.splitlines() == [
        f"ktrdump: {trace}: no system calls, signals or exits in this trace "
        "(ktr record -t c records calls, s signals, p exits)"]
    calls = Path(__file__).parent / "vectors" / "calls.ktr"
    done = subprocess.run([ktrdump, "--format", "strace", str(calls)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0 and done.stdout and done.stderr == ""
