"""``ktrdump --format parquet``: tables DuckDB reads, the README's query, row groups."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ktrdump_support import build_trace, syscall_batch
from tmpfs_support import small_tmpfs

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")


def _readme_query() -> str:
    text = (ROOT / "README.md").read_text()
    found = re.search(r"<!-- parquet-example -->\n```sql\n(.*?)```\n<!-- /parquet-example -->",
                      text, re.DOTALL)
    assert found, "the README's parquet example is missing"
    return found.group(1)


def test_the_readme_query_answers_on_a_real_recording(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    data.write_bytes(os.urandom(200_000))
    trace = tmp_path / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(trace), "--", "sh", "-c",
                    f"cat {data} > /dev/null"], check=True, timeout=60)
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", "calls.parquet", str(trace)],
                          capture_output=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    for name in ("calls.parquet", "calls.signals.parquet", "calls.processes.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    connection = duckdb.connect()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        rows = connection.sql(_readme_query()).fetchall()
    finally:
        os.chdir(cwd)
    by_path = {row[0]: row for row in rows}
    assert by_path[str(data)][2] == 200_000  # cat read the whole file
    assert by_path["/dev/null"][2] == 200_000  # and wrote it to /dev/null
    assert rows[0][2] >= rows[-1][2]
    processes = connection.sql(
        f"SELECT event, count(*) FROM '{tmp_path}/calls.processes.parquet' GROUP BY event"
    ).fetchall()
    assert {"exec", "exit"} <= {event for event, _ in processes}


def test_calls_match_the_json_lines(tmp_path: Path) -> None:
    target = tmp_path / "calls.parquet"
    subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                    str(VECTORS / "calls.ktr")], check=True, timeout=60)
    table = pq.read_table(target).drop_columns(["start"]).to_pylist()  # ns: no datetime
    lines = [json.loads(line) for line in subprocess.run(
        [KTRDUMP, "--json", str(VECTORS / "calls.ktr")], capture_output=True, check=True,
        timeout=60).stdout.splitlines()]
    calls = {line["call"]: line for line in lines if line["type"] == "CALL"}
    rets = {line["call"]: line for line in lines if line["type"] == "RET" and "call" in line}
    assert {row["call_id"] for row in table if row["call_id"]} == set(calls)
    for row in table:
        call = calls.get(row["call_id"])
        if call is None:
            continue
        assert row["syscall"] == call["syscall"] and row["tid"] == call["tid"]
        assert row["args"] == call["args"]
        assert row["start_ns"] == call["ts"]
        ret = rets.get(row["call_id"])
        if ret is not None and not ret.get("unfinished"):
            assert row["retval"] == ret["retval"] and row["errno"] == ret["errno"]
            assert row["duration_ns"] == ret["duration_ns"]
            assert row["end_ns"] == ret["ts"]
    read = next(row for row in table if row["syscall"] == "read")
    assert read["bytes"] == 80 and read["fd_path"] == "/etc/passwd"
    opened = next(row for row in table if row["syscall"] == "openat" and row["retval"] == 3)
    assert opened["paths"] == ["/etc/passwd"] and opened["fd_path"] == "/etc/passwd"


@pytest.mark.parametrize("filters", [["-p", "PID"], ["-e", "trace=openat,read"],
                                     ["-t", "p"], ["-e", "trace=%process", "-p", "PID"]])
def test_the_filters_choose_the_rows_as_they_choose_the_json_lines(
        tmp_path: Path, filters: list[str]) -> None:
    trace = tmp_path / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(trace), "--", "sh", "-c",
                    "cat /etc/hostname > /dev/null; ls / > /dev/null"], check=True, timeout=60)
    child = next(json.loads(line)["child"] for line in subprocess.run(
        [KTRDUMP, "--json", "-t", "p", str(trace)], capture_output=True, check=True,
        timeout=60).stdout.splitlines() if "child" in json.loads(line))
    filters = [str(child) if word == "PID" else word for word in filters]
    lines = [json.loads(line) for line in subprocess.run(
        [KTRDUMP, "--json", *filters, str(trace)], capture_output=True, check=True,
        timeout=60).stdout.splitlines()]
    subprocess.run([KTRDUMP, "--format", "parquet", *filters, "-o", str(tmp_path / "c.parquet"),
                    str(trace)], check=True, timeout=60)
    calls = pq.read_table(tmp_path / "c.parquet").drop_columns(["start"]).to_pylist()
    processes = pq.read_table(tmp_path / "c.processes.parquet").to_pylist()
    assert [row["call_id"] for row in calls] == [
        line["call"] for line in lines if line["type"] == "CALL"]
    assert [(row["tid"], row["event"]) for row in processes] == [
        (line["tid"], line["event"]) for line in lines if line["type"] == "PROC"]
    unfiltered = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True,
                                check=True, timeout=60).stdout.count(b"\n")
    assert len(lines) < unfiltered  # each case does filter something out


def test_streams_in_row_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ktrdump import _parquet
    from ktrdump import cli as dump_cli

    monkeypatch.setattr(_parquet, "ROW_GROUP", 100)
    data, _ = build_trace([syscall_batch(600) for _ in range(5)])
    trace = tmp_path / "t.ktr"
    trace.write_bytes(data)
    target = tmp_path / "calls.parquet"
    assert dump_cli.main(["--format", "parquet", "-o", str(target), str(trace)]) == 0
    metadata = pq.ParquetFile(target).metadata
    assert metadata.num_rows == 1000  # 3000 records, 2 calls per 6
    assert metadata.num_row_groups == 10


def test_start_is_start_ns_and_unique_columns_skip_the_dictionary(tmp_path: Path) -> None:
    """``start`` is built as a view of ``start_ns`` (nulls included); ids and times are
    written without dictionary encoding, the repeating columns with it."""
    from formats import RecordKind, Sysret
    from ktrdump import cli as dump_cli

    entries = [*syscall_batch(12),
               (RecordKind.SYSRET, 4242, 4242, b"ls", Sysret(39, 1, 0, 0, 7, 10))]  # no CALL
    data, _ = build_trace([entries])
    trace = tmp_path / "t.ktr"
    trace.write_bytes(data)
    target = tmp_path / "calls.parquet"
    assert dump_cli.main(["--format", "parquet", "-o", str(target), str(trace)]) == 0
    table = pq.read_table(target)
    assert table.num_rows == 5
    expected = pa.compute.cast(table["start_ns"], pa.timestamp("ns", tz="UTC"))
    assert table["start"].equals(expected)
    assert table["start"].type == pa.timestamp("ns", tz="UTC")
    metadata = pq.ParquetFile(target).metadata.row_group(0)
    encodings = {metadata.column(i).path_in_schema: metadata.column(i).encodings
                 for i in range(metadata.num_columns)}
    for unique in ("call_id", "start_ns", "end_ns", "start", "duration_ns"):
        assert "RLE_DICTIONARY" not in encodings[unique], unique
    for repeating in ("comm", "syscall", "errno"):
        assert "RLE_DICTIONARY" in encodings[repeating], repeating


def test_a_number_no_column_holds_becomes_null(tmp_path: Path) -> None:
    """A damaged RET's duration past 2**63 (found by the fuzzer): the row stays, null there."""
    from formats import RecordKind, Syscall, Sysret
    from ktrdump import cli as dump_cli

    entries = [*syscall_batch(6),
               (RecordKind.SYSCALL, 4242, 4242, b"ls", Syscall(39, 1, 0, (0,) * 6)),
               (RecordKind.SYSRET, 4242, 4242, b"ls", Sysret(39, 1, 0, 0, 4242, (1 << 64) - 5))]
    data, _ = build_trace([entries])
    trace = tmp_path / "t.ktr"
    trace.write_bytes(data)
    target = tmp_path / "calls.parquet"
    assert dump_cli.main(["--format", "parquet", "-o", str(target), str(trace)]) == 0
    rows = pq.read_table(target).to_pylist()
    assert [row["syscall"] for row in rows] == ["openat", "read", "getpid"]
    assert rows[2]["retval"] == 4242 and rows[2]["duration_ns"] is None
    assert rows[0]["duration_ns"] == 1200  # the other rows keep theirs


def test_usage_and_missing_pyarrow(tmp_path: Path) -> None:
    done = subprocess.run([KTRDUMP, "--format", "parquet", str(VECTORS / "calls.ktr")],
                          capture_output=True, timeout=60)
    assert done.returncode == 2 and b"-o" in done.stderr
    # Without pyarrow: one line with the install hint, status 1.
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "pyarrow").mkdir()
    (blocker / "pyarrow" / "__init__.py").write_text("raise ImportError('no pyarrow')\n")
    done = subprocess.run([sys.executable, "-m", "ktrdump", "--format", "parquet", "-o",
                           str(tmp_path / "c.parquet"), str(VECTORS / "calls.ktr")],
                          capture_output=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(blocker)})
    assert done.returncode == 1
    assert done.stderr == b"ktrdump: the parquet format needs pyarrow: " \
                          b"pip install 'ktr[parquet]'\n"


def test_every_record_kind_has_a_table(tmp_path: Path) -> None:
    target = tmp_path / "ak.parquet"
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                           str(VECTORS / "all_kinds.ktr")], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    tables = {path.name.removeprefix("ak").removesuffix("parquet").strip(".") or "calls"
              for path in tmp_path.glob("ak*.parquet")}
    assert tables == {"calls", "signals", "processes", "drops", "switches", "counters",
                      "samples", "probes", "maps"}
    connection = duckdb.connect()
    names = connection.sql(f"SELECT names FROM '{tmp_path}/ak.counters.parquet' LIMIT 1")
    assert names.fetchall()[0][0][0] == "task-clock"
    drops = connection.sql(f"SELECT error, count FROM '{tmp_path}/ak.drops.parquet'").fetchall()
    assert ("ENOSPC", 17) in drops
    paths = connection.sql(f"SELECT path FROM '{tmp_path}/ak.maps.parquet'").fetchall()
    assert ("/nonexistent/lib/libc.so.6",) in paths
    # Every text column from the trace's bytes has its exact bytes beside it.
    for table, column in (("maps", "path"), ("maps", "comm"), ("processes", "comm"),
                          ("signals", "comm"), ("probes", "comm"), ("counters", "names")):
        rows = connection.sql(f"SELECT {column}, {column}_bytes FROM "
                              f"'{tmp_path}/ak.{table}.parquet'").fetchall()
        assert rows, (table, column)
        for text, exact in rows:
            if isinstance(text, list):
                assert text == [bytes(item).decode("utf-8", "replace") for item in exact]
            else:
                assert text == bytes(exact).decode("utf-8", "replace"), (table, column)


@pytest.mark.parametrize("vector", ["all_kinds.ktr", "calls.ktr", "corrupt_middle.ktr"])
def test_the_inline_loop_writes_what_the_call_layers_dispatch_writes(
        tmp_path: Path, vector: str) -> None:
    """``ParquetWriter.batch`` (the hot loop) against ``tracker.feed(records, writer)``."""
    import ktrdump
    from ktrdump._parquet import ParquetWriter

    outputs = {}
    for way in ("inline", "dispatch"):
        writer = ParquetWriter(str(tmp_path / way / "x.parquet"))
        (tmp_path / way).mkdir()
        with ktrdump.open(VECTORS / vector) as reader:
            for event in reader.events():
                if isinstance(event, list):
                    if way == "inline":
                        writer.batch(event)
                    else:
                        writer.tracker.feed(event, writer)
        writer.finish()
        outputs[way] = {Path(p).name: pq.read_table(p) for p in writer.files()}
    assert outputs["inline"].keys() == outputs["dispatch"].keys()
    for name, table in outputs["inline"].items():
        assert table.equals(outputs["dispatch"][name]), name


def test_a_full_disk_is_one_line(tmp_path: Path) -> None:
    """Parquet files go to a path (not stdout): a 64 KiB tmpfs fills up mid-export."""
    with small_tmpfs(tmp_path / "small", free_pages=None) as small:
        data, _ = build_trace([syscall_batch(1000) for _ in range(60)])
        trace = tmp_path / "big.ktr"
        trace.write_bytes(data)
        done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(small / "x.parquet"),
                               str(trace)], capture_output=True, text=True, timeout=60)
        left = sorted(os.listdir(small))  # the partial tables this run created: removed
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"ktrdump: cannot write to {small / 'x.parquet'}: No space left on device",
    ], done.stderr
    assert left == []


def test_a_table_that_cannot_be_created_midway_removes_only_what_the_run_created(
        tmp_path: Path) -> None:
    """The calls table is written, then the processes table cannot be created: the
    calls file this run made goes; a signals file that was there before stays."""
    trace = VECTORS / "all_kinds.ktr"
    (tmp_path / "x.processes.parquet").mkdir()
    (tmp_path / "x.signals.parquet").write_bytes(b"mine")
    (tmp_path / "x.signals.parquet").chmod(0o600)
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(tmp_path / "x.parquet"),
                           str(trace)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"ktrdump: {tmp_path / 'x.processes.parquet'}: cannot write: Is a directory"]
    assert sorted(os.listdir(tmp_path)) == ["x.processes.parquet", "x.signals.parquet"]


def _memo_trace() -> list[Any]:
    """Calls that share argument words but differ in what their text shows."""
    from formats import Genio, Namei, RecordKind, Syscall, Sysret

    pid, comm = 4242, b"cat"
    read = Syscall(0, 1, 0, (3, 0x7FFD2000, 64, 0, 0, 0))
    entries: list[Any] = []
    for index, (data, retval, error, flags) in enumerate([
            (b"hello\n", 6, 0, 0), (b"hello\n", 6, 0, 0),  # a repeat: a hit
            (b"world\n", 6, 0, 0),  # the same words, other data
            (b"x" * 300, 300, 0, 0), (b"x" * 300, 300, 0, 0),  # too long for a key
            (b"", 0, 0, 0), (None, -1, 4, 0),  # end of file; EINTR, no data
            (None, 0, 0, 1),  # unfinished
            (None, 0, 0, 0), (None, 5, 0, 0)]):  # no data recorded: the result decides
        entries.append((RecordKind.SYSCALL, pid, pid, comm, read))
        if data is not None:
            entries.append((RecordKind.GENIO, pid, pid, comm, Genio(3, 0, 0, len(data), data)))
        entries.append((RecordKind.SYSRET, pid, pid, comm,
                        Sysret(0, 1, flags, error, retval, 100 + index)))
    for path in (b"/etc/passwd", b"/etc/passwd", b"/etc/group"):  # same words, other paths
        entries += [
            (RecordKind.SYSCALL, pid, pid, comm,
             Syscall(257, 1, 0, ((1 << 64) - 100, 0x7FFD1000, 0x80000, 0, 0, 0))),
            (RecordKind.NAMEI, pid, pid, comm, Namei(path)),
            (RecordKind.SYSRET, pid, pid, comm, Sysret(257, 1, 0, 0, 3, 1200)),
            # The same read after each open (one memo key): its fd_path, start and
            # duration are the call's own, not the memo's.
            (RecordKind.SYSCALL, pid, pid, comm, read),
            (RecordKind.GENIO, pid, pid, comm, Genio(3, 0, 0, 6, b"hello\n")),
            (RecordKind.SYSRET, pid, pid, comm, Sysret(0, 1, 0, 0, 6, 7 + len(path)))]
    return entries


def _written(path: Path, trace: Path, memoize: bool) -> dict[str, Any]:
    import ktrdump
    from ktrdump._parquet import ParquetWriter

    path.mkdir()
    writer = ParquetWriter(str(path / "x.parquet"), memoize=memoize)
    with ktrdump.open(trace) as reader:
        for event in reader.events():
            if isinstance(event, list):
                writer.batch(event)
    writer.finish()
    return {Path(p).name: pq.read_table(p) for p in writer.files()}


@pytest.mark.parametrize("trial", [64, 1])
def test_memoised_argument_text_is_what_rendering_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trial: int) -> None:
    """The memo of rendered arguments changes no byte of any table: on calls that
    share argument words but differ in data, result or paths, on the vectors and on
    a real recording (trial 1: the memo judged and dropped at once, mid-run)."""
    from ktrdump import _parquet

    monkeypatch.setattr(_parquet, "_MEMO_TRIAL", trial)
    data, _ = build_trace([_memo_trace()])
    made = tmp_path / "made.ktr"
    made.write_bytes(data)
    real = tmp_path / "real.ktr"
    source = tmp_path / "source.txt"
    source.write_bytes(b"".join(b"line %d\n" % (i % 7) for i in range(400)))
    subprocess.run([KTR, "record", "-q", "-o", str(real), "--", "dd", f"if={source}",
                    "of=/dev/null", "bs=8"], check=True, timeout=60, capture_output=True)
    for trace in (made, real, VECTORS / "all_kinds.ktr", VECTORS / "calls.ktr"):
        plain = _written(tmp_path / f"{trace.stem}-plain", trace, memoize=False)
        memoised = _written(tmp_path / f"{trace.stem}-memo", trace, memoize=True)
        assert plain.keys() == memoised.keys()
        for name, table in plain.items():
            assert table.equals(memoised[name]), (trace.name, name)
    texts = [row["args_decoded"] for row in pq.read_table(
        tmp_path / "made-memo" / "x.parquet").to_pylist()]
    assert texts[0] == texts[1] == ["3", '"hello\\n"', "64"]
    assert texts[2] == ["3", '"world\\n"', "64"]
    assert texts[5][1] == '""' and texts[6][1] == "0x7ffd2000"
    assert texts[8][1] == '""' and texts[9][1] == "0x7ffd2000"
    reads = [row for row in pq.read_table(tmp_path / "made-memo" / "x.parquet").to_pylist()
             if row["syscall"] == "read"][-3:]
    assert [row["fd_path"] for row in reads] == ["/etc/passwd", "/etc/passwd", "/etc/group"]
    assert [row["duration_ns"] for row in reads] == [18, 18, 17]
    assert len({row["start_ns"] for row in reads}) == 3
    assert all(row["args_decoded"] == texts[0] and row["bytes"] == 6 for row in reads)
    assert texts[-6][1] == texts[-4][1] == '"/etc/passwd"' and texts[-2][1] == '"/etc/group"'


def test_an_interrupted_export_removes_the_tables_it_created(tmp_path: Path) -> None:
    """ktrdump reads a pipe whose writer stays: once the first row group is in
    x.parquet, SIGINT ends the run (status 130) and no partial table is left."""
    import signal
    import time

    from ktrdump._parquet import ROW_GROUP

    calls_per_batch = 3000  # syscall_batch: three records a call
    batches = ROW_GROUP // calls_per_batch + 2
    data, _ = build_trace([syscall_batch(3 * calls_per_batch) for _ in range(batches)])
    fifo = tmp_path / "live.ktr"
    os.mkfifo(fifo)
    output = tmp_path / "out" / "x.parquet"
    output.parent.mkdir()
    dumper = subprocess.Popen([KTRDUMP, "--format", "parquet", "-o", str(output), str(fifo)],
                              stderr=subprocess.PIPE, text=True)
    writer = os.open(fifo, os.O_WRONLY)  # the dumper opened the other end
    try:
        with os.fdopen(writer, "wb", closefd=False) as stream:
            stream.write(data)  # all of it read: the dumper waits for more
        deadline = time.monotonic() + 30
        while not (output.exists() and output.stat().st_size > 0):  # a row group written
            assert dumper.poll() is None, dumper.stderr.read() if dumper.stderr else ""
            assert time.monotonic() < deadline, "no row group was written"
            time.sleep(0.01)
        dumper.send_signal(signal.SIGINT)
        assert dumper.wait(timeout=30) == 130
    finally:
        os.close(writer)
        dumper.kill()
        dumper.wait()
    assert os.listdir(output.parent) == []


def test_an_export_replaces_the_whole_set_of_tables(tmp_path: Path) -> None:
    """all_kinds has drops, probes, samples …; calls.ktr has none of them: exporting it
    to the same name removes the old set's tables it does not write, and nothing else."""
    target = tmp_path / "x.parquet"
    first = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                            str(VECTORS / "all_kinds.ktr")], capture_output=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "x.drops.parquet").exists() and (tmp_path / "x.probes.parquet").exists()
    # Not ours to remove: a symlink to a table elsewhere (neither it nor its
    # target goes), a file of a table's name that is not parquet.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "x.maps.parquet").rename(elsewhere / "maps.parquet")
    (tmp_path / "x.maps.parquet").symlink_to(elsewhere / "maps.parquet")
    (tmp_path / "x.counters.parquet").write_bytes(b"my notes")
    second = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                             str(VECTORS / "calls.ktr")], capture_output=True, timeout=60)
    assert second.returncode == 0 and second.stderr == b"", second.stderr
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "elsewhere", "x.counters.parquet", "x.maps.parquet", "x.parquet",
        "x.processes.parquet", "x.signals.parquet"]
    assert (tmp_path / "x.maps.parquet").is_symlink()
    assert (elsewhere / "maps.parquet").exists()
    assert (tmp_path / "x.counters.parquet").read_bytes() == b"my notes"
    connection = duckdb.connect()
    assert connection.sql(f"SELECT count(*) FROM '{target}'").fetchall()[0][0] > 0


def test_a_failed_export_leaves_the_old_set(tmp_path: Path) -> None:
    """Stale tables go only once the new ones are whole: a failed run removes none."""
    target = tmp_path / "x.parquet"
    subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                    str(VECTORS / "all_kinds.ktr")], check=True, capture_output=True, timeout=60)
    (tmp_path / "x.processes.parquet").unlink()
    (tmp_path / "x.processes.parquet").mkdir()  # the new set cannot be written
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(target),
                           str(VECTORS / "calls.ktr")], capture_output=True, timeout=60)
    assert done.returncode == 1
    assert (tmp_path / "x.drops.parquet").exists() and (tmp_path / "x.probes.parquet").exists()
