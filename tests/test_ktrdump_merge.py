"""Merging traces by timestamp: order, stability, the reorder window, late records, memory."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ktrdump_support import START_NS, build_trace, file_header, syscall_batch

import formats
import ktrdump
from formats import Abi, Record, RecordKind, Syscall
from ktrdump._merge import Late, MergeOptions, Merger, SourcedSkipped, merge
from ktrdump._reader import Pause

X86_64 = int(Abi.X86_64)


def rec(ts: int, pid: int = 1, nr: int = 0) -> Record:
    """A record identified by (pid, nr): pid names the input, nr its position in it."""
    return Record(int(RecordKind.SYSCALL), 1, pid, pid, ts, b"p", Syscall(nr, X86_64, 0, ()))


def source(pid: int, batches: Sequence[Sequence[int]]) -> list[list[Record]]:
    """An input whose batches hold records with these timestamps, numbered in file order."""
    out = []
    number = 0
    for batch in batches:
        records = []
        for ts in batch:
            records.append(rec(ts, pid, number))
            number += 1
        out.append(records)
    return out


def run(inputs: Sequence[tuple[str, Sequence[list[Record] | ktrdump.Skipped]]],
        options: MergeOptions | None = None) -> tuple[list[Record], list[object], Merger]:
    merger = Merger(inputs, options)
    records: list[Record] = []
    notices: list[object] = []
    for event in merger:
        if isinstance(event, list):
            records.extend(event)
        else:
            notices.append(event)
    return records, notices, merger


def ids(records: Sequence[Record]) -> list[tuple[int, int, int]]:
    return [(r.timestamp_ns, r.pid, r.payload.nr) for r in records]  # type: ignore[union-attr]


def test_two_inputs_merge_in_time_order() -> None:
    a = source(1, [[10, 30, 50], [70, 90]])
    b = source(2, [[20, 40], [60, 80, 100]])
    records, notices, merger = run([("a", a), ("b", b)])
    assert [r.timestamp_ns for r in records] == list(range(10, 101, 10))
    assert notices == []
    assert merger.records == 10 and merger.held == 0


def test_ties_go_in_input_order_then_file_order() -> None:
    a = source(1, [[5, 5, 7]])
    b = source(2, [[5, 6, 7, 7]])
    c = source(3, [[5]])
    records, _, _ = run([("a", a), ("b", b), ("c", c)])
    assert ids(records) == [(5, 1, 0), (5, 1, 1), (5, 2, 0), (5, 3, 0), (6, 2, 1), (7, 1, 2),
                            (7, 2, 2), (7, 2, 3)]


def test_disorder_within_the_window_is_repaired() -> None:
    # Batches overlap and records inside one batch are out of order, by less than the window.
    a = source(1, [[100, 90, 120, 110], [105, 130, 125], [140]])
    records, notices, merger = run([("a", a)], MergeOptions(window_ns=50))
    assert [r.timestamp_ns for r in records] == sorted([100, 90, 120, 110, 105, 130, 125, 140])
    assert notices == [] and merger.late == 0


def test_records_later_than_the_window_are_announced_not_hidden() -> None:
    a = source(1, [[1000, 2000, 3000], [4000, 5000], [1500, 6000]])
    records, notices, merger = run([("a.ktr", a)], MergeOptions(window_ns=100))
    assert notices == [Late("a.ktr", 1, 100)]
    assert "1 record arrived more than 0.0001 ms late" in notices[0].describe()  # type: ignore
    assert merger.late == 1
    stamps = [r.timestamp_ns for r in records]
    assert sorted(stamps) == sorted([1000, 2000, 3000, 4000, 5000, 1500, 6000])  # none lost
    # Non-decreasing except for the announced record.
    late_at = stamps.index(1500)
    rest = stamps[:late_at] + stamps[late_at + 1:]
    assert rest == sorted(rest)


def test_late_records_come_right_after_their_notice() -> None:
    a = source(1, [[1000, 2000], [500]])
    b = source(2, [[1500, 2500]])
    merger = Merger([("a", a), ("b", b)], MergeOptions(window_ns=0))
    events = list(merger)
    late_index = next(i for i, e in enumerate(events) if isinstance(e, Late))
    following = events[late_index + 1]
    assert isinstance(following, list) and following[0].timestamp_ns == 500


def test_notices_pass_through_with_their_input_name() -> None:
    skipped = ktrdump.Skipped(4096, 1, 100, "batch payload checksum mismatch")
    a: list[list[Record] | ktrdump.Skipped] = [*source(1, [[10, 20]]), skipped,
                                               *source(1, [[30]])]
    b = source(2, [[15, 25]])
    merger = Merger([("a.ktr", a), ("b.ktr", b)], MergeOptions(window_ns=0))
    events = list(merger)
    notice_at = events.index(SourcedSkipped("a.ktr", skipped))
    before = [r.timestamp_ns for e in events[:notice_at] if isinstance(e, list) for r in e]
    after = [r.timestamp_ns for e in events[notice_at + 1:] if isinstance(e, list) for r in e]
    assert before + after == [10, 15, 20, 25, 30]
    assert SourcedSkipped("a.ktr", skipped).describe().startswith("a.ktr: batch payload")


def test_single_and_empty_inputs() -> None:
    a = source(1, [[1, 2], [3]])
    records, _, _ = run([("a", a), ("empty", []), ("empty batches", [[], []])])
    assert [r.timestamp_ns for r in records] == [1, 2, 3]
    assert run([])[0] == []


def test_a_followed_input_s_pauses_show_what_is_ready_and_idle_lets_the_window_go() -> None:
    """``Pause(0)``: what the window let go is passed on before more is read (not kept
    for a full batch); ``Pause(idle_ns)``: all the window holds goes too; a record then
    read that is earlier is ``Late``, its notice saying the input had been idle."""
    shown: list[int] = []
    at_each_read: list[list[int]] = []

    def followed() -> Iterator[list[Record] | Pause]:
        yield [rec(100), rec(50)]
        yield Pause(0)
        at_each_read.append(list(shown))
        yield [rec(2000)]
        yield Pause(0)
        at_each_read.append(list(shown))
        yield Pause(7_000_000)
        at_each_read.append(list(shown))
        yield [rec(1500)]

    notices: list[object] = []
    for event in Merger([("f", followed())], MergeOptions(window_ns=1000)):
        if isinstance(event, list):
            shown.extend(record.timestamp_ns for record in event)
        else:
            notices.append(event)
    assert at_each_read == [[], [50, 100], [50, 100, 2000]]
    assert shown == [50, 100, 2000, 1500]
    assert notices == [Late("f", 1, 1000, 7_000_000)]
    assert "idle for 7 ms" in notices[0].describe()  # type: ignore[attr-defined]


def test_output_batches_have_the_configured_size() -> None:
    a = source(1, [list(range(0, 5000, 2))])
    b = source(2, [list(range(1, 5000, 2))])
    merger = Merger([("a", a), ("b", b)], MergeOptions(window_ns=0, batch_records=100))
    sizes = [len(e) for e in merger if isinstance(e, list)]
    assert sum(sizes) == 5000
    assert all(100 <= size <= 200 for size in sizes[:-1])


def _lazy_input(pid: int, batches: int, batch_size: int, step: int,
                seen: list[int]) -> Iterator[list[Record]]:
    """A large input made batch by batch (never all in memory), counting batches made."""
    number = 0
    for index in range(batches):
        seen[0] += 1
        yield [rec((index * batch_size + i) * step + pid, pid, number + i)
               for i in range(batch_size)]
        number += batch_size


def test_memory_is_one_batch_per_input_plus_the_window() -> None:
    inputs, batches, batch_size, step = 3, 200, 1000, 1000
    window_ns = 10_000  # ten records' worth
    made = [0]
    merger = Merger([(f"in{i}", _lazy_input(i, batches, batch_size, step, made))
                     for i in range(inputs)], MergeOptions(window_ns=window_ns))
    total = 0
    previous = -1
    for event in merger:
        assert isinstance(event, list)
        if total == 0:  # the merge reads an input's next batch only when it needs it
            assert made[0] <= 2 * inputs
        for record in event:
            assert record.timestamp_ns >= previous
            previous = record.timestamp_ns
        total += len(event)
    assert total == inputs * batches * batch_size
    window_records = window_ns // step + 1
    assert merger.peak_held <= inputs * (batch_size + window_records + 1)
    assert merger.held == 0


def test_the_record_bound_caps_a_wide_window() -> None:
    made = [0]
    merger = Merger([(f"in{i}", _lazy_input(i, 50, 1000, 1000, made)) for i in range(2)],
                    MergeOptions(window_ns=10**12, window_records=500))
    assert sum(len(e) for e in merger if isinstance(e, list)) == 100_000
    assert merger.peak_held <= 2 * (1000 + 500)


def test_merge_of_trace_files(tmp_path: Path) -> None:
    first, _ = build_trace([syscall_batch(6), syscall_batch(6)])
    paths = [tmp_path / "a.ktr", tmp_path / "b.ktr"]
    paths[0].write_bytes(first)
    # The second file: same layout, timestamps shifted by half a record.
    codec = formats.codec()
    framing = formats.batch_framing()
    body = b"".join(framing.encode([
        codec.encode_record(RecordKind.SYSCALL, 7, 7, 1_700_000_000_000_000_000 + 500 + i * 1000,
                            b"b", Syscall(i, X86_64, 0, (0,) * 6))
        for i in range(6)]) for _ in range(1))
    paths[1].write_bytes(file_header() + body)
    readers = [ktrdump.open(path) for path in paths]
    try:
        records = [r for e in merge(readers) if isinstance(e, list) for r in e]
    finally:
        for reader in readers:
            reader.close()
    assert len(records) == 18
    stamps = [r.timestamp_ns for r in records]
    assert stamps == sorted(stamps)
    assert [r.pid for r in records[:4]] == [4242, 7, 4242, 7]


def test_options_are_checked() -> None:
    with pytest.raises(ValueError):
        MergeOptions(batch_records=0)
    with pytest.raises(ValueError):
        MergeOptions(window_ns=-1)


def test_reader_events_of_damaged_files_merge(tmp_path: Path) -> None:
    data, offsets = build_trace([syscall_batch(6), syscall_batch(6), syscall_batch(6)])
    damaged = bytearray(data)
    damaged[offsets[1] + 40] ^= 0xFF
    with ktrdump.open(io.BytesIO(bytes(damaged))) as trace:
        events = list(Merger([("damaged.ktr", trace.events())]))
    notices = [e for e in events if not isinstance(e, list)]
    assert len(notices) == 1 and isinstance(notices[0], SourcedSkipped)
    assert notices[0].notice.offset == offsets[1]
    assert sum(len(e) for e in events if isinstance(e, list)) == 12


# ---------------------------------------------------------------------------
# Property: a stable merge, whatever the batches, when disorder stays within the window.

WINDOW = 1000


@st.composite
def _inputs(draw: st.DrawFn) -> list[list[list[int]]]:
    inputs = []
    for _ in range(draw(st.integers(1, 4))):
        stamps = sorted(draw(st.lists(st.integers(0, 20_000), max_size=60)))
        # Disorder smaller than the window: jitter each timestamp within it.
        jittered = [ts + draw(st.integers(0, WINDOW - 1)) for ts in stamps]
        cuts = sorted(draw(st.lists(st.integers(0, len(jittered)), max_size=6)))
        batches = [jittered[a:b] for a, b in zip([0, *cuts], [*cuts, len(jittered)],
                                                  strict=True)]
        inputs.append(batches)
    return inputs


@settings(max_examples=200, deadline=None)
@given(_inputs(), st.integers(1, 50))
def test_merge_is_a_stable_sort(inputs: list[list[list[int]]], batch_records: int) -> None:
    sources = [(f"in{pid}", source(pid, batches)) for pid, batches in enumerate(inputs)]
    records, notices, merger = run(sources, MergeOptions(window_ns=WINDOW,
                                                         batch_records=batch_records))
    everything = [r for _, batches in sources for batch in batches for r in batch]
    expected = sorted(everything, key=lambda r: (r.timestamp_ns, r.pid,
                                                 r.payload.nr))  # type: ignore[union-attr]
    assert notices == []
    assert ids(records) == ids(expected)
    assert merger.held == 0


def test_merged_events_feed_the_summary_and_chrome_stages() -> None:
    import json

    from ktrdump._chrome import write_chrome
    from ktrdump._summary import summarize

    skipped = ktrdump.Skipped(4096, 2, 100, "batch payload checksum mismatch")
    a: list[list[Record] | ktrdump.Skipped] = [*source(1, [[1000, 2000]]), skipped,
                                               *source(1, [[500, 3000]])]
    b = source(2, [[1500, 2500]])

    seen: list[object] = []
    summary = summarize(Merger([("a", a), ("b", b)], MergeOptions(window_ns=0)),
                        on_notice=seen.append)
    assert summary.skipped_batches == 2
    assert [type(n).__name__ for n in seen] == ["SourcedSkipped", "Late"]
    assert sum(row.calls for row in summary.rows()) == 6

    out = io.StringIO()
    write_chrome(Merger([("a", a), ("b", b)], MergeOptions(window_ns=0)), out)
    names = [e["name"] for e in json.loads(out.getvalue())["traceEvents"]
             if e.get("s") == "g"]
    assert names == ["skipped 2 damaged batches", "1 record out of order"]


def _damaged_pair(tmp_path: Path) -> tuple[Path, Path, int]:
    """Two traces of one thread each (4242, 4343); the first's middle batch damaged.
    Returns their paths and the damaged batch's offset."""
    data, offsets = build_trace([syscall_batch(6), syscall_batch(6), syscall_batch(6)])
    damaged = bytearray(data)
    damaged[offsets[1] + 40] ^= 0x01
    first = tmp_path / "a.ktr"
    first.write_bytes(damaged)
    second = tmp_path / "b.ktr"
    second.write_bytes(build_trace([syscall_batch(6, pid=4343)])[0])
    return first, second, offsets[1]


@pytest.mark.parametrize("view", [[], ["--json"], ["--format", "strace"]], ids=str)
def test_merged_inputs_say_damage_in_band(tmp_path: Path, view: list[str]) -> None:
    """Several inputs merged: the damage of one is said in-band as for a single input,
    naming the file."""
    import json
    import subprocess
    import sys

    first, second, offset = _damaged_pair(tmp_path)
    ktrdump_bin = str(Path(sys.executable).parent / "ktrdump")
    done = subprocess.run([ktrdump_bin, *view, str(first), str(second)], capture_output=True,
                          text=True, timeout=20)
    assert done.returncode == 1
    if view == ["--json"]:
        lines = [json.loads(line) for line in done.stdout.splitlines()]
        skips = [at for at, line in enumerate(lines) if line["type"] == "SKIP"]
        assert [(lines[at]["offset"], lines[at]["file"]) for at in skips] == [
            (offset, str(first))]
        # In its place in time: after the first batch's records, before the third's.
        mine = [(at, line["ts"]) for at, line in enumerate(lines) if line["pid"] == 4242]
        assert all(at < skips[0] for at, ts in mine if ts < START_NS + 10**9)
        assert all(at > skips[0] for at, ts in mine if ts >= START_NS + 2 * 10**9)
        assert lines[skips[0]]["ts"] == max(ts for _, ts in mine if ts < START_NS + 10**9)
    else:
        marker = "--- ktr:" if view else " SKIP "
        lines = [line for line in done.stdout.splitlines() if marker in line]
        assert len(lines) == 1 and str(first) in lines[0] and f"offset {offset}" in lines[0]


def test_per_thread_files_say_damage_in_band(tmp_path: Path) -> None:
    """-ff: the damage line goes into every thread's file so far (as a DROP's), and
    nothing to standard output; merged inputs name the file."""
    import subprocess
    import sys

    first, second, offset = _damaged_pair(tmp_path)
    ktrdump_bin = str(Path(sys.executable).parent / "ktrdump")
    prefix = tmp_path / "out"
    done = subprocess.run([ktrdump_bin, "--format", "strace", "-ff", "-o", str(prefix),
                           str(first), str(second)], capture_output=True, text=True,
                          timeout=20)
    assert (done.returncode, done.stdout) == (1, "")
    for tid in (4242, 4343):
        lost = [line for line in (tmp_path / f"out.{tid}").read_text().splitlines()
                if "--- ktr:" in line]
        assert len(lost) == 1 and f"{first}: " in lost[0] and f"offset {offset}" in lost[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.one_of(st.none(), st.lists(st.integers(0, 60), min_size=1,
                                                       max_size=4)), max_size=6),
                min_size=1, max_size=3),
       st.sampled_from([0, 5, 1000]))
def test_damage_notices_keep_their_place(inputs: list[list[list[int] | None]],
                                         window_ns: int) -> None:
    """A damaged region's notice comes after every record its input read before it and,
    when that input's records are in time order, before those read after it; every
    record and notice comes out once; without Late records the records stay in
    time order (a notice never reorders them)."""
    sources: list[tuple[str, list[list[Record] | ktrdump.Skipped]]] = []
    for pid, events in enumerate(inputs, start=1):
        batches: list[list[Record] | ktrdump.Skipped] = []
        number = 0
        for index, event in enumerate(events):
            if event is None:
                batches.append(ktrdump.Skipped(index, 1, 1, "damaged"))
                continue
            batches.append([rec(ts, pid, number + n) for n, ts in enumerate(event)])
            number += len(event)
        sources.append((f"in{pid}", batches))
    merged: list[object] = []
    for event in Merger(sources, MergeOptions(window_ns=window_ns)):
        merged.extend(event if isinstance(event, list) else [event])
    for pid, (name, batches) in enumerate(sources, start=1):
        read = [item for batch in batches
                for item in ([batch] if isinstance(batch, ktrdump.Skipped) else batch)]
        shown = [item for item in merged if (isinstance(item, SourcedSkipped)
                                             and item.source == name) or (
            isinstance(item, Record) and item.pid == pid)]
        assert sorted(map(id, shown)) == sorted(
            id(item) for item in merged if item in shown) and len(shown) == len(read)
        position = {id(item.notice if isinstance(item, SourcedSkipped) else item): at
                    for at, item in enumerate(shown)}
        stamps = [r.timestamp_ns for r in read if isinstance(r, Record)]
        in_order = stamps == sorted(stamps)
        for at, item in enumerate(read):
            if not isinstance(item, ktrdump.Skipped):
                continue
            before = [r for r in read[:at] if isinstance(r, Record)]
            after = [r for r in read[at + 1:] if isinstance(r, Record)]
            assert all(position[id(r)] < position[id(item)] for r in before)
            if in_order:
                assert all(position[id(r)] > position[id(item)] for r in after)
    records = [item for item in merged if isinstance(item, Record)]
    if not any(isinstance(item, Late) for item in merged):
        assert [r.timestamp_ns for r in records] == sorted(r.timestamp_ns for r in records)


def _begin(ts: int, recorder: int) -> Record:
    return Record(int(RecordKind.BEGIN), 1, recorder, recorder, ts, b"ktr",
                  formats.Begin(recorder, 0, ts, ts, b"test", b"{}"))


def test_a_begin_carries_the_pids_its_own_input_showed_before_it() -> None:
    """The call layer resets at a BEGIN only what its input showed (an appended file's
    earlier recording), not the other inputs' (recordings going on at the same time)."""
    a = [[_begin(10, 100), rec(20, 1), rec(30, 2)], [_begin(60, 101), rec(70, 3)]]
    b = [[_begin(25, 200), rec(40, 5)]]
    records, _, _ = run([("a", a), ("b", b)])
    begins = [(r.timestamp_ns, getattr(r, "input_pids", None)) for r in records
              if r.kind == int(RecordKind.BEGIN)]
    assert begins == [(10, frozenset()), (25, frozenset()), (60, frozenset({100, 1, 2}))]
    assert [r for r in records if r.kind == int(RecordKind.BEGIN)][2] == a[1][0]
    alone, _, _ = run([("a", a)])  # one input: every BEGIN ends everything (untagged)
    assert not any(hasattr(r, "input_pids") for r in alone)
