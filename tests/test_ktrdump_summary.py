"""ktrdump --summary (strace -c): counts, times, layout, sorting, drops; agreement with strace."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest
from ktrdump_support import HEADER, START_NS, Entry, build_trace, syscall_batch

import formats
import ktrdump
from formats import Abi, Drop, Namei, Proc, ProcEvent, RecordKind, Syscall, SyscallFlag, Sysret
from ktr._control import RunResult
from ktr._descriptor import DescriptorStats
from ktr._options import parse_record_arguments
from ktr._recorder import RecordingReport, summary_lines
from ktrdump._reader import RawBatch
from ktrdump._summary import SummaryOptions, SyscallSummary, summarize

VECTORS = Path(__file__).resolve().parent / "vectors"
KTR = Path(sys.executable).parent / "ktr"

X86_64 = int(Abi.X86_64)
I386 = int(Abi.I386)
ARGS = (0, 0, 0, 0, 0, 0)
# x86_64 numbers
READ, WRITE, OPENAT, EXIT_GROUP, GETPID = 0, 1, 257, 231, 39


def call(pid: int, nr: int, tid: int | None = None, abi: int = X86_64) -> Entry:
    return (RecordKind.SYSCALL, pid, pid if tid is None else tid, b"prog",
            Syscall(nr, abi, 0, ARGS))


def ret(pid: int, nr: int, duration: int, error: int = 0, tid: int | None = None,
        abi: int = X86_64, flags: int = 0) -> Entry:
    retval = -error if error else 0
    return (RecordKind.SYSRET, pid, pid if tid is None else tid, b"prog",
            Sysret(nr, abi, flags, error, retval, duration))


def drop(lost: int, error: int = int(formats.DropError.ENOSPC)) -> Entry:
    return (RecordKind.DROP, 0, 0, b"", Drop(error, 0, lost))


def summaries(data: bytes, options: SummaryOptions | None = None) -> tuple[
        SyscallSummary, SyscallSummary]:
    """The summary by the raw fast path and by decoded records (they must agree)."""
    with ktrdump.open(io.BytesIO(data)) as trace:
        raw = summarize(trace.raw_events(), options, order=trace.header.byte_order)
    with ktrdump.open(io.BytesIO(data)) as trace:
        decoded = summarize(trace.events(), options)
    assert raw.rows() == decoded.rows()
    assert raw.lines() == decoded.lines()
    assert raw.records == decoded.records
    return raw, decoded


BASIC = [
    call(10, OPENAT), (RecordKind.NAMEI, 10, 10, b"prog", Namei(b"/etc/passwd")),
    ret(10, OPENAT, 3_000),
    call(10, OPENAT), ret(10, OPENAT, 1_000, error=2),
    call(10, READ), ret(10, READ, 9_000_000),
    call(10, READ), ret(10, READ, 1_000_700),
    call(10, WRITE), ret(10, WRITE, 600),
    drop(7),
    call(10, EXIT_GROUP), ret(10, EXIT_GROUP, 42, flags=int(SyscallFlag.UNFINISHED)),
]


def test_counts_errors_and_times() -> None:
    data, _ = build_trace([BASIC])
    summary, _ = summaries(data)
    rows = {row.name: row for row in summary.rows()}
    assert set(rows) == {"read", "write", "openat", "exit_group"}
    assert (rows["openat"].calls, rows["openat"].errors, rows["openat"].total_ns) == (2, 1, 4_000)
    assert (rows["read"].calls, rows["read"].max_ns, rows["read"].min_ns) == (
        2, 9_000_000, 1_000_700)
    # An UNFINISHED return is a call without time and without error.
    assert (rows["exit_group"].calls, rows["exit_group"].returned,
            rows["exit_group"].total_ns, rows["exit_group"].errors) == (1, 0, 0, 0)
    assert summary.dropped == {28: 7}
    assert summary.records == len(BASIC)


def test_layout_matches_strace() -> None:
    data, _ = build_trace([BASIC])
    summary, _ = summaries(data)
    assert "".join(summary.lines()) == (
        "% time     seconds  usecs/call     calls    errors syscall\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        " 99.95    0.010001        5000         2           read\n"
        "  0.04    0.000004           2         2         1 openat\n"
        "  0.01    0.000001           0         1           write\n"
        "------ ----------- ----------- --------- --------- ----------------\n"
        "100.00    0.010005        2001         5         1 total\n"
        "never returned, not counted above (as strace -c): exit_group 1\n"
        "records dropped by the recorder: 7 (ENOSPC 7: queue full, the writer fell behind)\n"
    )


def test_drop_causes_are_the_recorder_s_words() -> None:
    """Each kind of drop says what happened, in the words of ``ktr record``'s end
    line for the same counts (ENOSPC is ktr's queue, not a full disk); the summary
    printed the bare codes."""
    counts = {formats.DropError.ENOMEM: 1, formats.DropError.ENOSPC: 17,
              formats.DropError.ENOBUFS: 250}
    data, _ = build_trace([[call(30, READ), ret(30, READ, 10),
                            *(drop(lost, int(error)) for error, lost in counts.items())]])
    summary, _ = summaries(data)
    (line,) = [line for line in summary.lines() if "dropped" in line]
    stats = DescriptorStats(100, 100, 0, 0, 1 << 20, 3, MappingProxyType(counts), 268,
                            False, 0, None, 0)
    ended = summary_lines(parse_record_arguments(["-o", "x.ktr", "--", "true"]),
                          RecordingReport(0, RunResult(0, None, None, 1, 1, 0, 0, 0), stats,
                                          None))
    recorder = re.search(r"268 dropped \((.*?)\)(;|$)", ended[-1])
    assert recorder is not None
    said = recorder.group(1).split("; ")  # "ENOSPC 17: queue full, the writer fell behind"
    said.sort(key=lambda part: formats.DropError[part.split()[0]])  # (by code, as ktrdump)
    assert line == f"records dropped by the recorder: 268 ({'; '.join(said)})\n"
    assert "ENOSPC 17: queue full, the writer fell behind" in line


def test_strace_columns_max_and_min() -> None:
    data, _ = build_trace([BASIC])
    options = SummaryOptions(columns=("time-percent", "total-time", "avg-time", "max-time",
                                      "min-time", "calls", "errors", "name"))
    summary, _ = summaries(data, options)
    lines = summary.lines()
    assert lines[0] == ("% time     seconds  usecs/call  longest shortest     calls    errors "
                        "syscall\n")
    assert lines[2] == (" 99.95    0.010001        5000 0.009000 0.001001         2           "
                        "read\n")
    assert lines[-3].startswith("100.00    0.010005        2001 0.009000 0.000001         5")


@pytest.mark.parametrize(("sort_by", "order"), [
    ("time", ["read", "openat", "write"]),
    ("calls", ["read", "openat", "write"]),
    ("errors", ["openat", "read", "write"]),
    ("name", ["openat", "read", "write"]),
    ("max-time", ["read", "openat", "write"]),
    ("nothing", ["read", "write", "openat"]),  # syscall number order
])
def test_sort_orders(sort_by: str, order: list[str]) -> None:
    data, _ = build_trace([BASIC])
    summary, _ = summaries(data, SummaryOptions(sort_by=sort_by))  # type: ignore[arg-type]
    names = [line.split()[-1] for line in summary.lines()[2:-4]]
    assert names == order


def test_unknown_sort_key_and_column_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown sort key"):
        SummaryOptions(sort_by="size")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown summary columns"):
        SummaryOptions(columns=("calls", "bogus"))  # type: ignore[arg-type]


def test_pairs_by_thread_and_counts_returns_without_calls() -> None:
    entries = [
        call(20, READ, tid=21), call(20, WRITE, tid=22),  # two threads in calls at once
        ret(20, WRITE, 100, tid=22), ret(20, READ, 200, tid=21),
        ret(20, GETPID, 50, tid=23),  # attached mid-call: no CALL record
        call(20, OPENAT, tid=24),  # no RET at all (the trace ends)
    ]
    data, _ = build_trace([entries])
    summary, _ = summaries(data)
    rows = {row.name: (row.calls, row.returned, row.total_ns) for row in summary.rows()}
    assert rows == {"read": (1, 1, 200), "write": (1, 1, 100), "getpid": (1, 1, 50),
                    "openat": (1, 0, 0)}


def test_several_abis_get_one_table_each() -> None:
    data, _ = build_trace([[call(5, READ), ret(5, READ, 10),
                            call(6, 3, abi=I386), ret(6, 3, 20, abi=I386)]])  # i386 read is 3
    summary, _ = summaries(data)
    text = "".join(summary.lines())
    # as strace -c: x86_64's table first and unheaded, then i386's, headed
    assert text.count("System call usage summary for") == 1
    assert text.index("   read\n") < text.index("System call usage summary for 32 bit mode:\n")
    assert [row.name for row in summary.rows()] == ["read", "read"]


def test_per_process_tables_and_pid_filter() -> None:
    data, _ = build_trace([
        [call(30, READ), ret(30, READ, 10), call(31, WRITE), ret(31, WRITE, 20), drop(2)],
        [(RecordKind.PROC, 31, 31, b"prog", Proc(int(ProcEvent.EXEC), 0, 0, 0, 0, b"/bin/x")),
         (RecordKind.SYSCALL, 31, 31, b"newname", Syscall(READ, X86_64, 0, ARGS)),
         (RecordKind.SYSRET, 31, 31, b"newname", Sysret(READ, X86_64, 0, 0, 1, 5))],
    ])
    summary, _ = summaries(data, SummaryOptions(per_process=True))
    text = "".join(summary.lines())
    assert text.index("Process 30 (prog):\n") < text.index("Process 31 (newname):\n")
    assert text.count("total\n") == 2
    assert text.endswith(
        "records dropped by the recorder: 2 (ENOSPC 2: queue full, the writer fell behind)\n")
    assert {(row.pid, row.name, row.calls) for row in summary.rows()} == {
        (30, "read", 1), (31, "write", 1), (31, "read", 1)}

    only, _ = summaries(data, SummaryOptions(pids=frozenset({31})))
    assert {(row.name, row.calls) for row in only.rows()} == {("write", 1), ("read", 1)}
    assert only.dropped_records == 2  # drops always count


def test_pid_filter_takes_a_thread_id_as_every_view_does() -> None:
    """``-p TID`` of a thread that is not its process's leader (kdump's meaning)."""
    def csw(tid: int, comm: bytes, out: int) -> Entry:
        return (RecordKind.CSW, 40, tid, comm, formats.Csw(out, 0, 0, 0))

    data, _ = build_trace([[
        call(40, READ), ret(40, READ, 10),
        call(40, GETPID, tid=41), ret(40, GETPID, 5, tid=41),
        call(40, GETPID, tid=41), ret(40, GETPID, 7, tid=41),
        csw(41, b"prog", 1), csw(41, b"prog", 0), csw(41, b"worker", 1), csw(40, b"prog", 1),
    ]])
    only, _ = summaries(data, SummaryOptions(pids=frozenset({41}), per_process=True))
    assert {(row.name, row.calls) for row in only.rows()} == {("getpid", 2)}
    switches = "".join(only.lines()).split("context switches per thread (CSW):\n")[1]
    rows = [line.split() for line in switches.splitlines()[1:] if line.strip()]
    # one row, the thread's: under the name it had last (a rename, an exec)
    assert [row[:4] for row in rows] == [["40", "41", "worker", "2"]]


def test_skipped_batches_are_reported() -> None:
    data, offsets = build_trace([BASIC, syscall_batch(6), syscall_batch(6)])
    damaged = bytearray(data)
    damaged[offsets[1] + 40] ^= 0xFF
    notices: list[object] = []
    with ktrdump.open(io.BytesIO(bytes(damaged))) as trace:
        summary = summarize(trace.raw_events(), on_notice=notices.append)
    assert notices == trace.notices and trace.notices[0].offset == offsets[1]
    assert summary.skipped_batches == 1
    assert summary.lines()[-1] == (
        f"damaged batch skipped: 1 ({offsets[2] - offsets[1]} bytes)\n")
    assert summary.records == len(BASIC) + 6


def test_malformed_payloads_are_reported_not_counted() -> None:
    codec = formats.codec()
    framing = formats.batch_framing()
    good = codec.encode_record(RecordKind.SYSCALL, 1, 1, 5, b"p", Syscall(READ, X86_64, 0, ARGS))
    short = codec.encode_raw_record(int(RecordKind.SYSRET), 1, 1, 6, b"p", b"\0" * 4)
    data = formats.encode_file_header(formats.FileHeader("h", "k", "m", 0, 0, "t"))
    data += framing.encode([good, short])
    with ktrdump.open(io.BytesIO(data)) as trace:
        summary = summarize(trace.raw_events())
    assert summary.malformed == 1
    assert [(row.name, row.calls, row.returned) for row in summary.rows()] == [("read", 1, 0)]
    assert summary.lines()[-1] == "malformed records not counted: 1\n"


@pytest.mark.parametrize("name", ["all_kinds", "all_kinds_zstd", "all_kinds_big",
                                  "corrupt_middle", "torn_tail"])
@pytest.mark.parametrize("per_process", [False, True])
def test_raw_and_decoded_paths_agree_on_the_vectors(name: str, per_process: bool) -> None:
    summaries((VECTORS / f"{name}.ktr").read_bytes(), SummaryOptions(per_process=per_process))


@pytest.mark.parametrize("name", ["all_kinds", "all_kinds_big", "corrupt_middle", "torn_tail"])
def test_raw_events_match_events(name: str) -> None:
    data = (VECTORS / f"{name}.ktr").read_bytes()
    with ktrdump.open(io.BytesIO(data)) as trace:
        decoded = list(trace.events())
        notices = trace.notices
    with ktrdump.open(io.BytesIO(data)) as trace:
        raw = list(trace.raw_events())
        assert trace.notices == notices
    assert len(raw) == len(decoded)
    for raw_event, event in zip(raw, decoded, strict=True):
        if isinstance(event, list):
            assert isinstance(raw_event, RawBatch)
            assert raw_event.record_count == len(event)
            records = trace.record_codec.iter_records(raw_event.data)
            assert list(records) == event
        else:
            assert raw_event == event


@pytest.mark.parametrize("name", ["all_kinds", "all_kinds_big", "probes", "perf",
                                  "corrupt_middle"])
def test_the_raw_walk_taps_the_records_decoding_gives(name: str) -> None:
    # --summary's probe and sample tables take their records from the summary's
    # own walk over raw batches: the same records, in order, as decoding the batches
    # (DROPs too: the probe table abandons the calls open at one).
    kinds = frozenset(int(kind) for kind in RecordKind) - {int(RecordKind.SYSCALL),
                                                           int(RecordKind.SYSRET)}
    data = (VECTORS / f"{name}.ktr").read_bytes()
    tapped: list[formats.Record] = []
    with ktrdump.open(io.BytesIO(data)) as trace:
        summarize(trace.raw_events(), order=trace.header.byte_order, tap=(kinds, tapped.extend))
    with ktrdump.open(io.BytesIO(data)) as trace:
        decoded = [record for event in trace.events() if isinstance(event, list)
                   for record in event if record.kind in kinds
                   and record.kind not in (RecordKind.CSW, RecordKind.CNT)]
    assert tapped == decoded
    assert any(record.kind not in (RecordKind.NAMEI, RecordKind.GENIO) for record in tapped)


def test_pending_calls_are_bounded_oldest_first() -> None:
    summary = SyscallSummary()
    summary.pending_limit = 2
    codec = formats.codec()
    framing = formats.batch_framing()
    records = [codec.encode_record(RecordKind.SYSCALL, 1, tid, tid, b"p",
                                   Syscall(READ, X86_64, 0, ARGS)) for tid in (1, 2, 3)]
    records.append(codec.encode_record(RecordKind.SYSRET, 1, 1, 9, b"p",
                                       Sysret(READ, X86_64, 0, 0, 0, 5)))
    data = formats.encode_file_header(formats.FileHeader("h", "k", "m", 0, 0, "t"))
    data += framing.encode(records)
    with ktrdump.open(io.BytesIO(data)) as trace:
        for event in trace.raw_events():
            assert isinstance(event, RawBatch)
            summary.add_raw(event)
    assert summary.pending_evicted == 1
    # thread 1's call was evicted: its RET is counted as a call of its own
    assert [(row.name, row.calls, row.returned) for row in summary.rows()] == [("read", 4, 1)]


def test_summary_write_to_text_and_binary_streams() -> None:
    data, _ = build_trace([BASIC])
    summary, _ = summaries(data)
    text, binary = io.StringIO(), io.BytesIO()
    summary.write(text)
    summary.write(binary)
    assert binary.getvalue().decode() == text.getvalue() == "".join(summary.lines())


# ---------------------------------------------------------------------------
# Agreement with strace -c -f on a real workload.

WORKLOAD = ["/bin/sh", "-c", "for i in 1 2 3; do /bin/true; done; cat /etc/hostname"]
#: Calls that never return: strace -c counts a call at its exit, so it never counts these;
#: ktr counts every CALL record it sees (as calls without time).
NEVER_RETURN = {"exit_group", "exit"}


def _strace_counts(path: Path) -> dict[str, tuple[int, int]]:
    counts = {}
    for line in path.read_text().splitlines()[2:]:
        fields = line.split()
        if not fields or fields[0].startswith("-") or fields[-1] == "total":
            continue
        calls = int(fields[3])
        errors = int(fields[4]) if len(fields) == 6 else 0
        counts[fields[-1]] = (calls, errors)
    return counts


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.skipif(not KTR.exists(), reason="the ktr console script is not installed")
def test_call_and_error_counts_agree_with_strace(tmp_path: Path) -> None:
    strace_out = tmp_path / "strace.txt"
    trace = tmp_path / "ktr.out"
    environment = {**os.environ, "LC_ALL": "C"}
    subprocess.run(["strace", "-c", "-f", "-o", str(strace_out), *WORKLOAD], check=True,
                   stdout=subprocess.DEVNULL, env=environment, timeout=60)
    subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", *WORKLOAD],
                   check=True, stdout=subprocess.DEVNULL, env=environment, timeout=60)
    expected = _strace_counts(strace_out)
    with ktrdump.open(trace) as reader:
        summary = summarize(reader.raw_events(), order=reader.header.byte_order)
    assert summary.skipped_batches == 0 and summary.dropped_records == 0
    ours = {row.name: (row.calls, row.errors) for row in summary.rows()}
    # Both see the initial execve (ktr starts tracing the child before it execs, as strace does).
    assert ours["execve"][0] == expected["execve"][0] == 5
    assert {name: ours[name] for name in ours if name not in NEVER_RETURN} == expected
    # ... and the calls that never return, one per process.
    processes = 1 + sum(ours.get(name, (0, 0))[0] for name in ("fork", "vfork", "clone",
                                                                "clone3"))
    assert ours["exit_group"] == (processes, 0)


@pytest.mark.parametrize("letters, wanted", [
    ("w", {"context switches"}), ("C", {"counters per thread"}), ("c", {"% time"}),
    ("S", {"Profile:"}), ("cw", {"% time", "context switches"}),
])
def test_facility_letters_choose_the_tables(letters: str, wanted: set[str]) -> None:
    tables = {"% time", "context switches", "counters per thread", "function probes",
              "Profile:"}
    vector = str(VECTORS / "all_kinds.ktr")

    def shown(*options: str) -> set[str]:
        out = subprocess.run([sys.executable, "-m", "ktrdump", "--summary", *options, vector],
                             capture_output=True, text=True, check=True, timeout=60).stdout
        return {table for table in tables if table in out}

    assert shown() == tables  # the vector has every kind
    assert shown("-t", letters) == wanted



@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
@pytest.mark.skipif(not KTR.exists(), reason="the ktr console script is not installed")
@pytest.mark.parametrize("columns", ["name,calls,errors", "calls,name"])
def test_chosen_columns_are_laid_out_as_strace_does(tmp_path: Path, columns: str) -> None:
    """-U with the name first pads it; a long name (sched_getaffinity) widens the column."""
    workload = ["/bin/sh", "-c", "/bin/true; nproc; cat /etc/hostname"]
    strace_out = tmp_path / "strace.txt"
    trace = tmp_path / "ktr.out"
    environment = {**os.environ, "LC_ALL": "C"}
    subprocess.run(["strace", "-c", "-f", "-U", columns, "-S", "name", "-o", str(strace_out),
                    *workload], check=True, stdout=subprocess.DEVNULL, env=environment,
                   timeout=60)
    subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--", *workload],
                   check=True, stdout=subprocess.DEVNULL, env=environment, timeout=60)
    ours = subprocess.run([sys.executable, "-m", "ktrdump", "--summary", "-U", columns,
                           "-S", "name", str(trace)],
                          capture_output=True, text=True, check=True, timeout=60).stdout
    theirs = [line.rstrip() for line in strace_out.read_text().splitlines()]
    # strace counts a call at its exit, so never the exit_group calls (nor their total)
    kept = [line for line in ours.splitlines() if "exit_group" not in line.split()]
    assert "sched_getaffinity" in strace_out.read_text()
    assert kept[:-1] == theirs[:-1]
    # the totals differ by the exit_group calls: the same columns, numbers right-aligned

    def edges(line: str) -> list[int]:
        return [cell.end() if cell.group().isdigit() else cell.start()
                for cell in re.finditer(r"\S+", line)]

    assert edges(kept[-1]) == edges(theirs[-1])
    assert kept[-1].split()[columns.split(",").index("name")] == "total"


def test_a_return_lost_in_a_drop_is_told_from_a_call_that_never_returned() -> None:
    """Calls open at a DROP that get no RET lost it with the dropped records: listed
    apart from the calls that never returned (exit_group), by both paths alike."""
    entries = [
        call(10, READ, tid=10), call(10, OPENAT, tid=11), call(10, GETPID, tid=12),
        drop(3),
        ret(10, OPENAT, 700, tid=11),  # open at the drop, but its RET came: returned
        call(10, WRITE, tid=10), ret(10, WRITE, 500, tid=10),  # tid 10's read: RET lost
        # tid 12's getpid: open at the drop and nothing of it since: RET lost
        call(10, EXIT_GROUP, tid=10),
        ret(10, EXIT_GROUP, 42, tid=10, flags=int(SyscallFlag.UNFINISHED)),
    ]
    data, _ = build_trace([entries])
    summary, _ = summaries(data)
    rows = {row.name: (row.calls, row.returned, row.lost) for row in summary.rows()}
    assert rows == {"read": (1, 0, 1), "write": (1, 1, 0), "getpid": (1, 0, 1),
                    "openat": (1, 1, 0), "exit_group": (1, 0, 0)}
    lines = summary.lines()
    assert "never returned, not counted above (as strace -c): exit_group 1\n" in lines
    assert "return lost (records dropped), not counted above: read 1, getpid 1\n" in lines


def test_switches_are_tallied_in_time_order_not_file_order(tmp_path: Path) -> None:
    """A recording writes one drain's perf rings one after another, so a thread that
    moved CPUs can have its switch out (CPU 1, earlier) written after its switch in
    (CPU 0, later), under its name before a rename. The summary pairs them, and
    names the thread, in time order, as the text view shows them."""
    codec = formats.codec("little")
    header = formats.FileHeader(**{**HEADER.__dict__, "options": {
        "facilities": "w", "perf_source": True}})

    def csw(ts: int, comm: bytes, out: int, cpu: int) -> bytes:
        return codec.encode_record(RecordKind.CSW, 7, 7, START_NS + ts, comm,
                                   formats.Csw(out, 0, 0, cpu))

    written = [csw(2_000_000, b"renamed", 0, 0), csw(3_000_000, b"renamed", 1, 0),
               csw(4_000_000, b"renamed", 0, 0),
               csw(1_000_000, b"before", 1, 1)]  # cpu 1's ring, drained after cpu 0's
    path = tmp_path / "t.ktr"
    path.write_bytes(formats.encode_file_header(header)
                     + formats.batch_framing("little").encode(written, None))
    text = subprocess.run([sys.executable, "-m", "ktrdump", "--summary", str(path)],
                          capture_output=True, text=True, check=True).stdout
    row = text.split("context switches per thread (CSW):\n")[1].splitlines()[1].split()
    # pid tid comm voluntary preempted switches off-cpu: both gaps, 1+1 ms
    assert row == ["7", "7", "renamed", "2", "0", "2", "0.002000"]


def test_a_switch_recording_without_switches_says_so(tmp_path: Path) -> None:
    """``ktr record -t w`` of a program that never left its CPU: the summary says no
    switch was recorded, not an empty system call table the user never asked for."""
    header = formats.FileHeader(**{**HEADER.__dict__, "options": {
        "facilities": "w", "perf_source": True}})
    path = tmp_path / "t.ktr"
    path.write_bytes(formats.encode_file_header(header))
    text = subprocess.run([sys.executable, "-m", "ktrdump", "--summary", str(path)],
                          capture_output=True, text=True, check=True).stdout
    assert text == "context switches per thread (CSW): none recorded\n"
