"""ktrdump --format chrome: valid JSON, X events nest per thread, names, instants, drops."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ktrdump_support import START_NS, Entry, build_trace

import formats
import ktrdump
from formats import (
    Abi,
    Drop,
    Namei,
    Proc,
    ProcEvent,
    ProcFlag,
    Psig,
    Record,
    RecordKind,
    Syscall,
    SyscallFlag,
    Sysret,
    User,
)
from ktrdump._chrome import ChromeOptions, ChromeTrace, write_chrome

VECTORS = Path(__file__).resolve().parent / "vectors"
KTR = Path(sys.executable).parent / "ktr"
X86_64 = int(Abi.X86_64)
ARGS = (0xFFFFFF9C, 0x1000, 0, 0, 0, 0)


def record(kind: RecordKind, pid: int, tid: int, ts: int, payload: Any,
           comm: bytes = b"prog") -> Record:
    return Record(int(kind), 1, pid, tid, START_NS + ts, comm, payload)


def chrome(events: list[list[Record] | ktrdump.Skipped],
           options: ChromeOptions | None = None) -> tuple[str, list[dict[str, Any]]]:
    out = io.BytesIO()
    write_chrome(events, out, options)
    text = out.getvalue().decode()
    document = json.loads(text)
    check_document(document)
    return text, document["traceEvents"]


#: The metadata event names catapult's importer knows (any other is flagged unrecognized).
CATAPULT_METADATA = {"process_name", "process_labels", "process_sort_index",
                     "process_uptime_seconds", "thread_name", "thread_sort_index", "num_cpus",
                     "trace_buffer_overflowed"}


def check_document(document: Any) -> None:
    """The Trace Event Format's object form, as catapult and Perfetto validate it."""
    assert isinstance(document, dict) and isinstance(document["traceEvents"], list)
    assert document["displayTimeUnit"] in ("ms", "ns")
    assert isinstance(document["otherData"], dict) and "origin_ns" in document["otherData"]
    for event in document["traceEvents"]:
        assert event["ph"] in ("X", "i", "M", "B", "E", "b", "e", "C"), event
        assert isinstance(event["pid"], int) and isinstance(event["tid"], int)
        assert isinstance(event["ts"], int | float)
        if event["ph"] != "E":  # an E event closes its thread's innermost B: no name needed
            assert isinstance(event["name"], str) and event["name"]
        if event["ph"] == "M":
            assert event["name"] in CATAPULT_METADATA, event
            assert isinstance(event["args"]["name"], str)
        elif event["ph"] == "i":
            assert event["s"] in ("g", "p", "t")
        elif event["ph"] in ("b", "e"):  # async: catapult pairs them by cat and id
            assert "id" in event and event["cat"]
        elif event["ph"] == "C":
            assert all(isinstance(v, int | float) for v in event["args"].values())
        elif event["ph"] == "X":
            assert isinstance(event["dur"], int | float) and event["dur"] >= 0


def check_tracks(events: list[dict[str, Any]]) -> None:
    """Every event has ph and ts; per thread, X events never overlap and ts never decreases."""
    last_ts: dict[tuple[int, int], float] = defaultdict(lambda: float("-inf"))
    last_end: dict[tuple[int, int], float] = defaultdict(lambda: float("-inf"))
    for event in events:
        assert "ph" in event and "ts" in event, event
        if event["ph"] == "M" or event.get("s") == "g":
            continue
        track = (event["pid"], event["tid"])
        assert event["ts"] >= last_ts[track], event
        last_ts[track] = event["ts"]
        if event["ph"] == "X":
            assert event["dur"] >= 0
            # Disjoint (1 ns of slack for the decimal rounding of ts + dur).
            assert event["ts"] >= last_end[track] - 0.001, event
            last_end[track] = event["ts"] + event["dur"]


SCENARIO: list[list[Record] | ktrdump.Skipped] = [
    [
        record(RecordKind.SYSCALL, 10, 10, 0, Syscall(257, X86_64, 0, ARGS)),
        record(RecordKind.NAMEI, 10, 10, 0, Namei(b"/etc/\xffpasswd\n")),
        record(RecordKind.SYSCALL, 10, 11, 100, Syscall(0, X86_64, 0, (3, 0, 64, 0, 0, 0))),
        record(RecordKind.SYSRET, 10, 10, 1_500, Sysret(257, X86_64, 0, 2, -2, 1_400)),
        record(RecordKind.PSIG, 10, 10, 2_000, Psig(10, 0, 1, 0, b"")),
        record(RecordKind.SYSRET, 10, 11, 2_100, Sysret(0, X86_64, 0, 0, 64, 1_900)),
        record(RecordKind.DROP, 0, 0, 2_200, Drop(int(formats.DropError.ENOSPC), 0, 12)),
        # execve: the exec and the new name happen while the call is open.
        record(RecordKind.SYSCALL, 10, 10, 3_000, Syscall(59, X86_64, 0, ARGS)),
        record(RecordKind.PROC, 10, 10, 3_500,
               Proc(int(ProcEvent.EXEC), 0, 0, 0, 0, b"/usr/bin/new")),
        record(RecordKind.SYSRET, 10, 10, 3_600, Sysret(59, X86_64, 0, 0, 0, 600), b"new"),
    ],
    ktrdump.Skipped(4096, 2, 512, "batch payload checksum mismatch"),
    [
        # The clock stepped back: this call starts before the previous one ended.
        record(RecordKind.SYSCALL, 10, 10, 3_550, Syscall(39, X86_64, 0, ARGS), b"new"),
        record(RecordKind.SYSRET, 10, 10, 3_700, Sysret(39, X86_64, 0, 0, 10, 50), b"new"),
        # A RET whose CALL is not in the trace (attached mid-call).
        record(RecordKind.SYSRET, 10, 11, 4_000, Sysret(1, X86_64, 0, 0, 5, 300)),
        record(RecordKind.USER, 10, 11, 4_100, User(b"mark", b"xyz")),
        # exit_group never returns: its RET is UNFINISHED.
        record(RecordKind.SYSCALL, 10, 11, 5_000, Syscall(231, X86_64, 0, ARGS)),
        record(RecordKind.SYSRET, 10, 11, 5_200,
               Sysret(231, X86_64, int(SyscallFlag.UNFINISHED), 0, 0, 200)),
        record(RecordKind.PROC, 10, 11, 5_200,
               Proc(int(ProcEvent.EXIT), int(ProcFlag.SIGNALED), 0, 0, 9, b"")),
        # A call with no RET at all: it ends with the trace.
        record(RecordKind.SYSCALL, 10, 10, 6_000, Syscall(0, X86_64, 0, ARGS), b"new"),
        record(RecordKind.PSIG, 10, 10, 6_500, Psig(2, 0, 0, 0, b""), b"new"),
        record(RecordKind.CSW, 10, 10, 7_000, formats.Csw(1, 0, 0, 0), b"new"),
    ],
]


def test_scenario_events() -> None:
    text, events = chrome(SCENARIO)
    assert text.startswith('{"traceEvents":[\n')
    body = text.split("\n")[1:text.split("\n").index("],")]
    assert all(line.count("{") >= 1 for line in body)  # one event a line
    check_tracks(events)
    calls = [(e["tid"], e["name"], e["ts"], e["dur"]) for e in events if e["ph"] == "X"]
    assert calls == [
        (10, "openat", 0.0, 1.5),
        (11, "read", 0.1, 2.0),
        (10, "execve", 3.0, 0.6),
        (10, "getpid", 3.6, 0.1),  # clamped to where execve ended
        (11, "write", 3.7, 0.3),  # duration_ns before its RET
        (11, "exit_group", 5.0, 0.2),
        (10, "read", 6.0, 1.0),  # open at the end: ends with the trace
    ]
    by_name = {e["name"]: e for e in events if e["ph"] == "X"}
    assert by_name["openat"]["args"] == {
        "raw": ["0xffffff9c", "0x1000", "0x0", "0x0"], "retval": -2, "errno": "ENOENT",
        "call": 1,
        "duration_ns": 1400, "path": ["/etc/\ufffdpasswd\n"],
        "path_hex": [b"/etc/\xffpasswd\n".hex()],
        "arguments": ["AT_FDCWD", '"/etc/\\377passwd\\n"', "O_RDONLY"]}
    assert by_name["exit_group"]["args"]["unfinished"] is True
    assert by_name["read"]["args"]["unfinished"] is True
    assert "retval" not in by_name["exit_group"]["args"]

    instants = [(e["s"], e["name"], e.get("tid")) for e in events if e["ph"] == "i"]
    assert instants == [
        ("t", "SIGUSR1", 10),
        ("g", "dropped 12 records (ENOSPC: queue full, the writer fell behind)", 0),
        ("t", "exec", 10),
        ("g", "skipped 2 damaged batches", 0),
        ("t", "utrace mark", 11),
        ("t", "exit", 11),
        ("t", "SIGINT", 10),
    ]
    exit_event = next(e for e in events if e["ph"] == "i" and e["name"] == "exit")
    assert exit_event["args"] == {"status": 0, "signal": "SIGKILL"}
    exec_event = next(e for e in events if e["ph"] == "i" and e["name"] == "exec")
    assert exec_event["args"] == {"path": "/usr/bin/new"}
    skipped = next(e for e in events if e["name"].startswith("skipped"))
    assert skipped["args"]["offset"] == 4096


def test_names_are_metadata_and_follow_exec() -> None:
    _, events = chrome(SCENARIO)
    names = [(e["name"], e["tid"], e["args"]["name"]) for e in events if e["ph"] == "M"]
    assert names == [
        ("process_name", 10, "prog"), ("thread_name", 10, "prog"),
        ("thread_name", 11, "prog"),
        ("process_name", 10, "new"), ("thread_name", 10, "new"),
    ]
    # The rename comes after the execve call's X event (the thread's events stay in order).
    order = [(e["ph"], e["name"]) for e in events]
    assert order.index(("X", "execve")) < order.index(("M", "process_name"), 3)


def test_origin_is_the_first_record_or_given() -> None:
    out = io.BytesIO()
    write_chrome(SCENARIO, out)
    assert json.loads(out.getvalue())["otherData"]["origin_ns"] == START_NS
    _, shifted = chrome(SCENARIO, ChromeOptions(origin_ns=START_NS - 1_000_000))
    assert next(e for e in shifted if e["ph"] == "X")["ts"] == 1000.0
    # Absolute microseconds with origin 0.
    _, absolute = chrome(SCENARIO, ChromeOptions(origin_ns=0))
    assert next(e for e in absolute if e["ph"] == "X")["ts"] == pytest.approx(START_NS / 1000)


def test_pid_filter_keeps_drops() -> None:
    _, events = chrome(SCENARIO, ChromeOptions(keep=lambda record: record[2] == 99))
    assert [e["name"] for e in events if e["ph"] != "M"] == [
        "dropped 12 records (ENOSPC: queue full, the writer fell behind)",
        "skipped 2 damaged batches"]


def test_large_numbers_stay_exact() -> None:
    big = 0x7FFF_FFFF_FFFF_F000
    _, events = chrome([[
        record(RecordKind.SYSCALL, 1, 1, 0, Syscall(9, X86_64, 0, ARGS)),
        record(RecordKind.SYSRET, 1, 1, 10, Sysret(9, X86_64, 0, 0, big, 10)),
    ]])
    assert next(e for e in events if e["ph"] == "X")["args"]["retval"] == hex(big)


def test_document_is_closed_when_the_input_fails() -> None:
    def failing() -> Iterator[list[Record] | ktrdump.Skipped]:
        first = SCENARIO[0]
        assert isinstance(first, list)
        yield first
        raise KeyboardInterrupt

    out = io.BytesIO()
    with pytest.raises(KeyboardInterrupt):
        write_chrome(failing(), out)
    events = json.loads(out.getvalue())["traceEvents"]
    check_tracks(events)
    assert sum(1 for e in events if e["ph"] == "X") == 3


def test_empty_trace_is_an_empty_list_of_events() -> None:
    text, events = chrome([])
    assert events == []
    assert json.loads(text)["otherData"]["origin_ns"] is None


@pytest.mark.parametrize("name", ["all_kinds", "all_kinds_zstd", "all_kinds_big",
                                  "corrupt_middle", "torn_tail"])
def test_vectors_convert(name: str) -> None:
    with ktrdump.open(VECTORS / f"{name}.ktr") as trace:
        events = list(trace.events())
    _, converted = chrome(events)
    check_tracks(converted)
    assert any(e["ph"] == "X" for e in converted)
    assert any(e["ph"] == "M" and e["name"] == "thread_name" for e in converted)


@pytest.mark.skipif(not KTR.exists(), reason="the ktr console script is not installed")
def test_a_real_recording(tmp_path: Path) -> None:
    trace = tmp_path / "ktr.out"
    subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", "/bin/sh", "-c",
                    "/bin/true; kill -USR1 $$ 2>/dev/null; exit 3"],
                   stdout=subprocess.DEVNULL, timeout=60)
    with ktrdump.open(trace) as reader:
        _, events = chrome(list(reader.events()),
                           ChromeOptions(origin_ns=reader.header.realtime_ns))
    check_tracks(events)
    instants = {e["name"] for e in events if e["ph"] == "i"}
    assert {"exec", "exit", "vfork"} <= instants or {"exec", "exit", "clone"} <= instants
    assert "SIGUSR1" in instants
    names = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert {"sh", "true"} <= names
    assert sum(1 for e in events if e["ph"] == "X" and e["name"] == "execve") == 2


# ---------------------------------------------------------------------------
# Property: whatever the interleaving, clock steps and lost records, tracks stay valid.

_calls = st.lists(
    st.tuples(st.integers(1, 3),  # thread
              st.sampled_from([0, 1, 59, 231, 1000]),  # syscall (1000: unknown)
              st.integers(-2_000, 5_000),  # gap since the previous record (negative: a step)
              st.integers(0, 4_000),  # duration
              st.sampled_from(["ok", "error", "unfinished", "no-ret", "no-call"])),
    max_size=40)


@settings(max_examples=150, deadline=None)
@given(_calls)
def test_tracks_never_overlap(calls: list[tuple[int, int, int, int, str]]) -> None:
    entries: list[Record] = []
    now = 0
    for tid, nr, gap, duration, fate in calls:
        now += gap
        if fate != "no-call":
            entries.append(record(RecordKind.SYSCALL, 1, tid, now, Syscall(nr, X86_64, 0, ARGS)))
        now += duration
        if fate == "no-ret":
            continue
        flags = int(SyscallFlag.UNFINISHED) if fate == "unfinished" else 0
        error = 5 if fate == "error" else 0
        entries.append(record(RecordKind.SYSRET, 1, tid, now,
                              Sysret(nr, X86_64, flags, error, -error, duration)))
    trace = ChromeTrace()
    text = "".join(trace.begin() + trace.batch(entries) + trace.end())
    events = json.loads(text)["traceEvents"]
    # Every CALL is one X event; a RET is one too when no CALL of its thread is open.
    call_records = sum(1 for *_, fate in calls if fate != "no-call")
    x_events = sum(1 for e in events if e["ph"] == "X")
    assert call_records <= x_events <= len(entries)
    last_end: dict[int, float] = defaultdict(lambda: float("-inf"))
    for event in events:
        if event["ph"] == "X":
            assert event["dur"] >= 0
            assert event["ts"] >= last_end[event["tid"]] - 0.001
            last_end[event["tid"]] = event["ts"] + event["dur"]


def _entries_for_build(count: int) -> list[Entry]:
    return [(RecordKind.SYSCALL, 1, 1, b"p", Syscall(0, X86_64, 0, ARGS))] * count


def test_reader_batches_stream_through() -> None:
    data, _ = build_trace([_entries_for_build(3), _entries_for_build(2)])
    with ktrdump.open(io.BytesIO(data)) as trace:
        converted = write_chrome(trace.events(), io.StringIO())
    # Consecutive CALLs on one thread: each closes the previous one (its RET never came).
    assert converted.events == 2 + 5  # two names, five calls


# ---------------------------------------------------------------------------
# Decoded arguments, I/O data, and what speedscope makes of the events.


def _speedscope_frame_keys(events: list[dict[str, Any]]) -> set[str]:
    """speedscope's frame key for a Chrome event: the name, plus the JSON of args if any."""
    keys = set()
    for event in events:
        if event["ph"] == "X":
            key = event["name"]
            if "args" in event:
                key += " " + json.dumps(event["args"])
            keys.add(key)
    return keys


IO_SCENARIO: list[list[Record] | ktrdump.Skipped] = [[
    record(RecordKind.SYSCALL, 7, 7, 0, Syscall(0, X86_64, 0, (3, 0x7000, 4096, 0, 0, 0))),
    record(RecordKind.GENIO, 7, 7, 10, formats.Genio(3, 0, 0, 300, b"a" * 300)),
    record(RecordKind.SYSRET, 7, 7, 20, Sysret(0, X86_64, 0, 0, 300, 20)),
    record(RecordKind.SYSCALL, 7, 7, 30, Syscall(1, X86_64, 0, (1, 0x7000, 5, 0, 0, 0))),
    record(RecordKind.GENIO, 7, 7, 40, formats.Genio(1, 1, 0, 5, b"hi\xff\n!")),
    record(RecordKind.SYSRET, 7, 7, 50, Sysret(1, X86_64, 0, 0, 5, 20)),
    record(RecordKind.SYSCALL, 7, 7, 60, Syscall(0, X86_64, 0, (3, 0x7000, 4096, 0, 0, 0))),
    record(RecordKind.SYSRET, 7, 7, 70, Sysret(0, X86_64, 0, 0, 0, 10)),
]]


def test_decoded_arguments_and_capped_io_in_args() -> None:
    _, events = chrome(IO_SCENARIO, ChromeOptions(io_bytes=16))
    read, write, eof = (e for e in events if e["ph"] == "X")
    assert read["name"] == "read"
    assert read["args"]["arguments"]["fd"] == "3" and read["args"]["arguments"]["count"] == "4096"
    assert read["args"]["io"] == [{"fd": 3, "direction": "read", "bytes": 300,
                                   "data": "a" * 16, "truncated": True}]
    assert write["args"]["io"] == [{"fd": 1, "direction": "write", "bytes": 5,
                                    "data": "hi\ufffd\n!", "data_hex": b"hi\xff\n!".hex(),
                                    "truncated": False}]
    assert "io" not in eof["args"]
    # -n: raw words only.
    _, raw = chrome(IO_SCENARIO, ChromeOptions(raw=True))
    assert all("arguments" not in e["args"] for e in raw if e["ph"] == "X")


def test_speedscope_frames_are_one_per_syscall_without_call_args() -> None:
    _, events = chrome(IO_SCENARIO)
    assert len(_speedscope_frame_keys(events)) == 3  # name + args: a frame per distinct call
    _, events = chrome(IO_SCENARIO, ChromeOptions(call_args=False))
    assert _speedscope_frame_keys(events) == {"read", "write"}
    assert all(e["name"] in ("read", "write") for e in events if e["ph"] == "X")


def test_header_metadata_goes_to_other_data(tmp_path: Path) -> None:
    done = subprocess.run([str(Path(sys.executable).parent / "ktrdump"), "--format", "chrome",
                           str(VECTORS / "calls.ktr")], capture_output=True, check=True)
    document = json.loads(done.stdout)
    check_document(document)
    other = document["otherData"]
    assert other["hostname"] == "vectors.example" and other["facilities"] == "cnisuepav"
    assert all(e["ph"] != "M" or e["name"] in CATAPULT_METADATA
               for e in document["traceEvents"])


def test_a_notice_before_any_record_is_not_placed_before_the_origin() -> None:
    skipped = ktrdump.Skipped(0, 1, 512, "batch payload checksum mismatch")
    _, events = chrome([skipped], ChromeOptions(origin_ns=START_NS))
    (instant,) = [e for e in events if e.get("ph") == "i"]
    assert float(instant["ts"]) == 0.0


def test_the_facility_letters_choose_the_events() -> None:
    def kinds(*options: str) -> set[tuple[str, str | None]]:
        document = json.loads(subprocess.run(
            [sys.executable, "-m", "ktrdump", "--format", "chrome", *options,
             str(VECTORS / "all_kinds.ktr")], capture_output=True, check=True,
            timeout=60).stdout)
        return {(event["ph"], event.get("cat")) for event in document["traceEvents"]}

    everything = kinds()
    assert {("X", "syscall"), ("C", None), ("b", "sched")} <= everything
    lifecycle = kinds("-t", "p")  # process events only: no calls, counters, switches
    assert ("i", None) in lifecycle
    assert not {("X", "syscall"), ("C", None), ("b", "sched"), ("B", "probe")} & lifecycle
    calls = kinds("-t", "c")
    assert ("X", "syscall") in calls
    assert not {("C", None), ("b", "sched"), ("B", "probe")} & calls


def test_the_clock_label_is_the_clock_ts_counts(tmp_path: Path) -> None:
    """``ts`` + ``origin_ns``, less the recording's realtime - monotonic offset, is the
    CLOCK_MONOTONIC reading of the moment: a program's own reading just before its
    write(2) comes before that write's ts, and not long before."""
    bin_dir = Path(sys.executable).parent
    trace = tmp_path / "t.ktr"
    program = "import os, time; t = time.monotonic_ns(); os.write(1, b'%d' % t)"
    done = subprocess.run([bin_dir / "ktr", "record", "-q", "-o", str(trace), "--",
                           sys.executable, "-c", program], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    read_ns = int(done.stdout)
    shown = subprocess.run([bin_dir / "ktrdump", "--format", "chrome", str(trace)],
                           capture_output=True, text=True, timeout=60)
    document = json.loads(shown.stdout)
    assert document["otherData"]["clock"] == "CLOCK_MONOTONIC"
    begin = json.loads(subprocess.run([bin_dir / "ktrdump", "--json", str(trace)],
                                      capture_output=True, text=True,
                                      timeout=60).stdout.splitlines()[0])
    offset = begin["realtime_ns"] - begin["monotonic_ns"]
    (write,) = [e for e in document["traceEvents"] if e.get("name") == "write"
                and e["ph"] == "X"]
    write_ns = document["otherData"]["origin_ns"] + round(float(write["ts"]) * 1000) - offset
    assert read_ns <= write_ns + 1000 < read_ns + 10**9  # (ts is in whole microseconds)
