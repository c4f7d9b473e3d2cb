"""BEGIN records: every recording starts with one, so a file ``ktr record -a`` appended
to is read recording by recording (cuts between recordings, ``-l``, Chrome's list).

Real recordings with the installed commands; the byte offsets the reader reports are
checked against the file's size at the moment the cut recording's recorder died.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import wait_until
from ktrdump_support import (
    END_ENTRY,
    encode_entries,
    file_header,
    output_lines,
    syscall_batch,
)

import formats
import ktrdump
from formats import RecordKind
from ktrdump._follow import FollowOptions, follow
from ktrdump._reader import NO_END_AT_END, NO_END_BEFORE_BEGIN
from ktrdump.cli import main

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
DEADLINE = 10.0

#: Every view that reads records, as ktrdump options (parquet: an optional extra).
VIEWS: list[list[str]] = [[], ["--json"], ["-t", "p"], ["--format", "strace"], ["--summary"],
                          ["--format", "chrome"], ["--format", "calls"]]


def no_probes(view: list[str], path: object) -> list[str]:
    """What ``--format calls`` says of a trace without probe records (nothing else does)."""
    return ([f"ktrdump: {path}: no function probe records in this trace (ktr record -P "
             "PROBE records them)"] if "calls" in view else [])


def record(*arguments: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.Popen[bytes]:
    return subprocess.Popen([KTR, "record", "-q", *arguments], stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(process: subprocess.Popen[bytes], stdin: bytes | None = None) -> int:
    process.communicate(stdin, timeout=DEADLINE)
    return process.returncode


def begins(path: Path) -> list[formats.Record]:
    with ktrdump.open(str(path)) as reader:
        return [r for r in reader if r.kind == RecordKind.BEGIN]


def options_of(begin: formats.Record) -> dict[str, object]:
    payload = begin.payload
    assert isinstance(payload, formats.Begin)
    options = json.loads(payload.options)
    assert isinstance(options, dict)
    return options


def dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    """ktrdump's exit status, output and stderr (run in this process: a second each
    otherwise, for a dozen views)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(arguments))
    return subprocess.CompletedProcess(["ktrdump", *arguments], status, out.getvalue(),
                                       err.getvalue())


def test_appended_recordings_each_start_with_their_own_begin(tmp_path: Path) -> None:
    trace = tmp_path / "two.ktr"
    first = record("-o", str(trace), "--", "true")
    assert finished(first) == 0
    second = record("-a", "-o", str(trace), "--", "sh", "-c", "exit 3")
    assert finished(second) == 3
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
        assert reader.notices == []
        header = reader.header
    assert header.options["begin_record"] is True and header.options["command"] == ["true"]
    kinds = [r.kind for r in records]
    assert kinds[0] == RecordKind.BEGIN and kinds[-1] == RecordKind.END
    starts = [i for i, kind in enumerate(kinds) if kind == RecordKind.BEGIN]
    ends = [i for i, kind in enumerate(kinds) if kind == RecordKind.END]
    assert len(starts) == 2 and len(ends) == 2
    assert starts[0] < ends[0] < starts[1] < ends[1]  # one recording after the other
    one, two = (records[i] for i in starts)
    assert (one.pid, one.tid, one.comm) == (0, 0, b"ktr")
    assert one.payload.recorder_pid == first.pid  # type: ignore[union-attr]
    assert two.payload.recorder_pid == second.pid  # type: ignore[union-attr]
    assert options_of(one)["command"] == ["true"]
    assert options_of(two)["command"] == ["sh", "-c", "exit 3"]
    assert one.payload.realtime_ns == header.realtime_ns  # type: ignore[union-attr]
    assert one.payload.version == header.ktr_version.encode()  # type: ignore[union-attr]
    assert header.realtime_ns < two.payload.realtime_ns <= two.timestamp_ns  # type: ignore[union-attr]
    assert [records[i].payload.status for i in ends] == [0, 3]  # type: ignore[union-attr]

    for view in VIEWS:
        shown = dump(*view, str(trace))
        said = "".join(line + "\n" for line in no_probes(view, trace))
        assert (shown.returncode, shown.stderr) == (0, said), view
    assert "cut short" not in dump("--summary", str(trace)).stdout
    text = dump("-t", "p", str(trace)).stdout.splitlines()
    assert [line.split(None, 3)[2] for line in text if " BEGIN " in line] == ["BEGIN", "BEGIN"]
    assert f'(recorder pid {second.pid}); command "sh" "-c" "exit 3"' in text[[
        i for i, line in enumerate(text) if " BEGIN " in line][1]]
    lines = [json.loads(line) for line in dump("--json", str(trace)).stdout.splitlines()]
    shown_begins = [line for line in lines if line["type"] == "BEGIN"]
    assert [b["recorder_pid"] for b in shown_begins] == [first.pid, second.pid]
    assert [b["options"]["command"] for b in shown_begins] == [["true"], ["sh", "-c", "exit 3"]]
    chrome = json.loads(dump("--format", "chrome", str(trace)).stdout)
    recordings = chrome["otherData"]["recordings"]
    assert [(r["recorder_pid"], r["command"]) for r in recordings] == [
        (first.pid, ["true"]), (second.pid, ["sh", "-c", "exit 3"])]
    # The filter hides the instant events, not the list.
    chrome = json.loads(dump("--format", "chrome", "-t", "c", str(trace)).stdout)
    assert len(chrome["otherData"]["recordings"]) == 2
    assert not [e for e in chrome["traceEvents"] if e.get("name") == "recording started"]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_a_recording_killed_before_an_append_is_reported_cut_short_in_every_view(
        tmp_path: Path) -> None:
    trace = tmp_path / "killed.ktr"
    killed = record("-o", str(trace), "--", "sh", "-c", "echo $$; exec sleep 100")
    try:
        assert killed.stdout is not None
        ready, _, _ = select.select([killed.stdout], [], [], DEADLINE)
        assert ready, "the command never started"
        command_pid = int(killed.stdout.readline())
        # The BEGIN is written as the recording starts, not with the first batch (5 s).
        wait_until(lambda: len(begins(trace)) == 1, "the BEGIN record")
    finally:
        killed.kill()
        killed.wait()
    wait_until(lambda: not _alive(command_pid), "the traced command to die")
    size = trace.stat().st_size  # where the next recording will begin
    (begin,) = begins(trace)
    assert options_of(begin)["command"] == ["sh", "-c", "echo $$; exec sleep 100"]
    assert begin.payload.recorder_pid == killed.pid  # type: ignore[union-attr]

    appended = record("-a", "-o", str(trace), "--", "true")
    assert finished(appended) == 0
    expected = (f"ktrdump: {trace}: no END record before the recording that begins at byte "
                f"offset {size}: the recording before it was cut short (ktr record was "
                "killed, or its output failed) and records it had not written are missing")
    views = list(VIEWS)
    if importlib.util.find_spec("pyarrow") is not None:  # the optional extra
        views.append(["--format", "parquet", "-o", str(tmp_path / "tables")])
    for view in views:
        shown = dump(*view, str(trace))
        assert shown.returncode == 1, view
        assert shown.stderr.splitlines() == [expected, *no_probes(view, trace)], view
    with ktrdump.open(str(trace)) as reader:
        events = list(reader.events())
        notices = reader.notices
    assert notices == [ktrdump.CutShort(size, 0, 0, NO_END_BEFORE_BEGIN)]
    # The notice comes where the cut is: after the first recording's records.
    position = events.index(notices[0])
    assert events[position + 1][0].kind == RecordKind.BEGIN  # type: ignore[index]
    with ktrdump.open(str(trace)) as reader:
        raw = [e for e in reader.raw_events() if isinstance(e, ktrdump.Skipped)]
    assert raw == notices  # the summary's undecoded path sees it too
    summary = dump("--summary", str(trace)).stdout.splitlines()
    assert summary[-1] == "recordings cut short (no END record, records missing): 1"
    chrome = json.loads(dump("--format", "chrome", str(trace)).stdout)
    (cut,) = [e for e in chrome["traceEvents"] if e.get("name", "").startswith("recording cut")]
    assert cut["args"]["offset"] == size
    assert [r["command"] for r in chrome["otherData"]["recordings"]] == [
        ["sh", "-c", "echo $$; exec sleep 100"], ["true"]]


def _lines(process: subprocess.Popen[bytes]) -> Iterator[str]:
    return output_lines(process, DEADLINE)


def test_follow_goes_on_into_an_appended_recording_that_has_started(tmp_path: Path) -> None:
    trace = tmp_path / "followed.ktr"
    assert finished(record("-o", str(trace), "--", "true")) == 0
    # A wake delay of a minute: within the test, nothing but the BEGIN (written at
    # once) can reach the file before the recording ends.
    second = record("-a", "--wake-delay", "60000", "-o", str(trace), "--",
                    "sh", "-c", "read line; exit 0", stdin=subprocess.PIPE)
    follower = None
    try:
        wait_until(lambda: len(begins(trace)) == 2, "the appended recording's BEGIN")
        with ktrdump.open(str(trace)) as reader:
            kinds = [r.kind for r in reader]
        assert kinds[-2:] == [RecordKind.END, RecordKind.BEGIN]  # the BEGIN came alone
        follower = subprocess.Popen([KTRDUMP, "-l", "-t", "p", str(trace)], bufsize=0,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        lines = _lines(follower)
        shown = [next(lines) for _ in range(5)]  # BEGIN, exec, exit, END, BEGIN
        assert " END " in shown[3]
        assert " BEGIN " in shown[4] and f"(recorder pid {second.pid})" in shown[4]
        assert follower.poll() is None  # the first END did not end following
        assert finished(second, b"go\n") == 0
        rest = list(lines)
        assert " END " in rest[-1] and "exit status 0" in rest[-1]
        assert follower.wait(DEADLINE) == 0
        assert follower.stderr is not None and follower.stderr.read() == b""
    finally:
        for process in (second, follower):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


# -- the reader's rules, on crafted files ---------------------------------------------

def _begin(pid: int, options: bytes = b'{"command": ["x"]}') -> tuple[int, int, int, bytes,
                                                                      formats.Begin]:
    return (RecordKind.BEGIN, 0, 0, b"ktr", formats.Begin(pid, 0, 1, 2, b"v", options))


def _file(header: bytes, batches: list[list[object]]) -> tuple[bytes, list[int]]:
    framing = formats.batch_framing()
    data = bytearray(header)
    offsets = []
    for number, entries in enumerate(batches):
        offsets.append(len(data))
        data += framing.encode(encode_entries(entries, first_ns=10**18 + number * 10**6))  # type: ignore[arg-type]
    return bytes(data), offsets


def _notices(data: bytes, raw: bool = False) -> list[ktrdump.Skipped]:
    with ktrdump.open(io.BytesIO(data)) as reader:
        for _ in (reader.raw_events() if raw else reader.events()):
            pass
        return reader.notices


@pytest.mark.parametrize("raw", [False, True])
def test_the_cut_is_at_the_batch_of_the_next_begin(raw: bool) -> None:
    data, offsets = _file(file_header(end_record=True), [
        [_begin(1)], syscall_batch(4), [_begin(2)], syscall_batch(3), [END_ENTRY],
        [_begin(3)], [*syscall_batch(2), END_ENTRY]])
    assert _notices(data, raw) == [ktrdump.CutShort(offsets[2], 0, 0, NO_END_BEFORE_BEGIN)]


@pytest.mark.parametrize("raw", [False, True])
def test_a_begin_promises_an_end_whatever_the_header_says(raw: bool) -> None:
    # An older recorder made the file (no END promised); a newer one appended.
    data, offsets = _file(file_header(), [
        syscall_batch(3), [_begin(2)], syscall_batch(3), [_begin(3)], syscall_batch(2)])
    assert _notices(data, raw) == [
        ktrdump.CutShort(offsets[3], 0, 0, NO_END_BEFORE_BEGIN),
        ktrdump.CutShort(len(data), 0, 0, NO_END_AT_END)]


def test_files_without_begin_read_as_before() -> None:
    # Appended by recorders that wrote END only: the last record decides, as it did.
    data, _ = _file(file_header(end_record=True), [
        [*syscall_batch(3), END_ENTRY], [*syscall_batch(3), END_ENTRY]])
    assert _notices(data) == []
    assert _notices(data[:-1]) != []  # (a torn last batch: reported as before)


def test_a_first_begin_and_one_after_an_end_are_no_cut() -> None:
    data, _ = _file(file_header(end_record=True), [
        [_begin(1), *syscall_batch(3), END_ENTRY], [_begin(2)], [END_ENTRY]])
    assert _notices(data) == []
    # A recording killed right after its BEGIN was written is cut short too.
    data, offsets = _file(file_header(end_record=True), [[_begin(1)], [_begin(2)], [END_ENTRY]])
    assert _notices(data) == [ktrdump.CutShort(offsets[1], 0, 0, NO_END_BEFORE_BEGIN)]


@pytest.mark.parametrize("options", [b"", b"{", b"[1, 2]", b"\xff\xfe", b'{"command": 3}',
                                     b'{"command": ["a\\u0000\\ud800\\n\\u009b"]}',
                                     b"[" * 100_000 + b"]" * 100_000])
def test_damaged_begin_options_are_shown_never_raise(options: bytes, tmp_path: Path) -> None:
    data, _ = _file(file_header(end_record=True), [[_begin(7, options)], [END_ENTRY]])
    path = tmp_path / "damaged.ktr"
    path.write_bytes(data)
    for view in VIEWS:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([*view, str(path)])
        said = "".join(line + "\n" for line in no_probes(view, path))
        if "strace" in view:  # no calls, signals or exits: the view says so
            said = (f"ktrdump: {path}: no system calls, signals or exits in this trace (ktr "
                    "record -t c records calls, s signals, p exits)\n")
        assert (status, err.getvalue()) == (0, said), view
        assert "\x1b" not in out.getvalue() and "\x9b" not in out.getvalue()
        if view == ["--json"]:
            begin = json.loads(out.getvalue().splitlines()[0])
            assert begin["type"] == "BEGIN" and begin["recorder_pid"] == 7


def test_a_begin_payload_cut_short_damages_its_batch_with_its_offset() -> None:
    good = formats.codec("little").encode_record(
        RecordKind.BEGIN, 0, 0, 10**18, b"ktr", formats.Begin(1, 0, 1, 2, b"v", b"{}"))
    short = bytearray(good[:-4])  # the options run past the payload
    short[0:4] = (len(short) - 40).to_bytes(4, "little")
    framing = formats.batch_framing()
    header = file_header(end_record=True)
    data = header + framing.encode([bytes(short)]) + framing.encode(
        encode_entries([END_ENTRY]))
    notices = _notices(data)
    assert [(n.offset, n.batches) for n in notices] == [(len(header), 1)]
    assert "damaged record" in notices[0].reason


def test_follow_waits_for_the_rest_of_a_batch_begun_after_an_end(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ktrdump import _follow

    path = tmp_path / "torn.ktr"
    framing = formats.batch_framing()
    appended = framing.encode(encode_entries([_begin(2)]))
    head = file_header(end_record=True) + framing.encode(
        encode_entries([_begin(1), *syscall_batch(2), END_ENTRY]))
    path.write_bytes(head + appended[:10])  # the END, then part of the next batch
    waiting = threading.Event()  # the follower found no more bytes and waits for them
    looked = _follow._WaitingFile._gone

    def gone(self: _follow._WaitingFile) -> str | None:
        waiting.set()
        return looked(self)

    monkeypatch.setattr(_follow._WaitingFile, "_gone", gone)
    events: queue.Queue[object] = queue.Queue()
    follower = follow(path, FollowOptions(poll_interval=0.01))

    def run() -> None:
        for event in follower.events():
            events.put(event)
        events.put(None)

    thread = threading.Thread(target=run, daemon=True)
    with follower:
        thread.start()
        try:
            first = events.get(timeout=DEADLINE)
            assert isinstance(first, list) and first[-1].kind == RecordKind.END
            assert waiting.wait(DEADLINE), "following ended at the END, before the next batch"
            with open(path, "ab") as out:
                out.write(appended[10:])
            second = events.get(timeout=DEADLINE)
            assert isinstance(second, list) and second[0].kind == RecordKind.BEGIN
        finally:
            follower.stop()
            thread.join(DEADLINE)
    assert events.get(timeout=DEADLINE) is None


def test_the_begin_batch_is_written_at_once_and_alone(tmp_path: Path) -> None:
    """The descriptor writes the BEGIN when it opens, before the delayed wakeup."""
    from ktr._descriptor import OutputOptions, QueueParameters, open_descriptor

    path = tmp_path / "d.ktr"
    header = formats.FileHeader(hostname="h", kernel_release="k", machine="m",
                                realtime_ns=1, monotonic_ns=2, ktr_version="v", options={})
    begin = formats.Begin(os.getpid(), 0, 1, 2, b"v", b"{}")
    descriptor = open_descriptor(OutputOptions(
        str(path), parameters=QueueParameters(wakedelay_ms=3_600_000)), header, begin=begin)
    try:
        started = time.monotonic()
        assert descriptor.wait_written(1, timeout=DEADLINE)
        assert time.monotonic() - started < DEADLINE
        descriptor.add_entry(encode_entries(syscall_batch(1))[0])
        with ktrdump.open(str(path)) as reader:
            records = list(reader)
        assert [r.kind for r in records] == [RecordKind.BEGIN]  # the entry waits its hour
        assert records[0].payload == begin
    finally:
        descriptor.release()
    with ktrdump.open(str(path)) as reader:
        assert [r.kind for r in reader][:2] == [RecordKind.BEGIN, RecordKind.SYSCALL]



@pytest.mark.parametrize(("options", "shown"), [
    ({"command": ["make", "-j4"]}, 'command "make" "-j4"'),
    ({"command": ["printf", 'a"b\n\x1b[2J']}, 'command "printf" "a\\"b\\n\\x1b[2J"'),
    ({"command": [], "pids": [12], "process_group": None}, "attach pid 12"),
    ({"command": [], "pids": [12, 13], "process_group": 7}, "attach pids 12, 13, process group 7"),
    ({"command": [], "pids": [], "process_group": 7}, "attach process group 7"),
    ({"command": "make", "pids": ["12"]}, ""),  # another shape: nothing made up
])
def test_the_begin_line_names_what_the_recording_traced(options: dict[str, object],
                                                        shown: str) -> None:
    from ktrdump._text import recording_target

    assert recording_target(options) == shown


def test_a_call_left_open_by_a_cut_recording_is_not_paired_across_a_begin(
        tmp_path: Path) -> None:
    """The same thread id in the next recording (the process attached again, or a reused
    pid): its first RET is not the RET of the call the cut recording left open."""
    pid = 4242
    read_call = (RecordKind.SYSCALL, pid, pid, b"cat",
                 formats.Syscall(0, 1, 0, (3, 0x7FFD2000, 64, 0, 0, 0)))
    read_ret = (RecordKind.SYSRET, pid, pid, b"cat", formats.Sysret(0, 1, 0, 0, 12, 800))
    data, _ = _file(file_header(end_record=True), [
        [_begin(1)], [read_call], [_begin(2)], [read_ret, END_ENTRY]])
    path = tmp_path / "cut.ktr"
    path.write_bytes(data)
    calls = [item for item in ktrdump.calls(str(path)) if isinstance(item, ktrdump.Call)]
    assert [(call.ts != -1, call.ret is not None) for call in calls] == [(True, False),
                                                                         (False, True)]
    strace = dump("--format", "strace", str(path))
    assert "read(3, " in strace.stdout and "<unfinished ...>" in strace.stdout
    assert "<... read resumed>" in strace.stdout
    if importlib.util.find_spec("pyarrow") is None:
        return
    import pyarrow.parquet
    assert dump("--format", "parquet", "-o", str(tmp_path / "calls.parquet"),
                str(path)).returncode == 1  # (the cut recording is reported)
    rows = pyarrow.parquet.read_table(tmp_path / "calls.parquet",
                                      columns=["unfinished", "retval", "start_ns"]).to_pylist()
    assert [(row["unfinished"], row["retval"], row["start_ns"] is not None) for row in rows] == [
        (True, None, True), (False, 12, True)]


def test_fd_paths_are_not_carried_into_the_next_recording(tmp_path: Path) -> None:
    pid = 4242
    opened = syscall_batch(3, pid=pid)  # openat("/etc/ld.so.cache") = 3
    read_call = (RecordKind.SYSCALL, pid, pid, b"ls",
                 formats.Syscall(0, 1, 0, (3, 0x7FFD2000, 64, 0, 0, 0)))
    read_ret = (RecordKind.SYSRET, pid, pid, b"ls", formats.Sysret(0, 1, 0, 0, 0, 800))
    data, _ = _file(file_header(end_record=True), [
        [_begin(1), *opened, read_call, read_ret, END_ENTRY],
        [_begin(2), read_call, read_ret, END_ENTRY]])
    path = tmp_path / "two.ktr"
    path.write_bytes(data)
    reads = [line for line in dump("--format", "strace", "-y", str(path)).stdout.splitlines()
             if " read(" in line]
    assert len(reads) == 2
    assert "read(3</etc/ld.so.cache>, " in reads[0]
    assert "read(3, " in reads[1]  # another recording: fd 3 may be anything there
