"""The trace descriptor: ktrace's queue, wakeups, waits, drops, sharing and output file.

Each test uses small queue parameters so it runs well under a second. Nothing
synchronises by sleeping: tests await the writer through ``wait_written``,
blocking reads on a FIFO, or events; a short timed wait appears only where a
test asserts that something does *not* happen yet. Output is read back with
``formats`` and compared record by record.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import formats
from formats import DropError, RecordKind
from ktr._descriptor import (
    Descriptor,
    OutputOptions,
    QueueParameters,
    open_descriptor,
)
from ktr.errors import IncompatibleOutput, OutputError, UsageError

CODEC = formats.codec()
FRAMING = formats.batch_framing()
LONG_MS = 60_000.0  # a delay no test waits for


def make_header(hostname: str = "test-host", order: formats.ByteOrder = "little",
                major: int = formats.FORMAT_MAJOR) -> formats.FileHeader:
    return formats.FileHeader(
        hostname=hostname, kernel_release="6.0-test", machine="x86_64",
        realtime_ns=1, monotonic_ns=2, ktr_version="test", options={"t": "c"},
        byte_order=order, major=major,
    )


def syscall_record(sequence: int, tid: int = 100) -> bytes:
    return CODEC.encode_record(RecordKind.SYSCALL, 100, tid, 1000 + sequence, b"prog",
                               formats.Syscall(0, 1, 0, (sequence,)))


def big_record(sequence: int, size: int = 1000) -> bytes:
    """A USER record of about ``size`` bytes, to fill a small pipe quickly."""
    return CODEC.encode_record(RecordKind.USER, 100, 100, 1000 + sequence, b"prog",
                               formats.User(b"seq%d" % sequence, b"x" * size))


def parameters(**changes: float) -> QueueParameters:
    values: dict[str, float] = {"maxentry": 1000, "timeout_s": 5.0, "delayqcnt": 100,
                                "wakedelay_ms": LONG_MS, "intrwakdl_ms": LONG_MS,
                                "maxbytes": QueueParameters.maxbytes}
    values.update(changes)
    return QueueParameters(
        maxentry=int(values["maxentry"]), timeout_s=values["timeout_s"],
        delayqcnt=int(values["delayqcnt"]), wakedelay_ms=values["wakedelay_ms"],
        intrwakdl_ms=values["intrwakdl_ms"], maxbytes=int(values["maxbytes"]),
    )


def parse_trace(data: bytes) -> tuple[formats.FileHeader, list[formats.BatchHeader],
                                      list[formats.Record]]:
    """One header, then nothing but intact batches to the last byte."""
    header, position = formats.parse_file_header(data)
    return (header, *parse_batches(data, position))


def parse_batches(data: bytes, position: int = 0) -> tuple[list[formats.BatchHeader],
                                                            list[formats.Record]]:
    batches: list[formats.BatchHeader] = []
    records: list[formats.Record] = []
    while position < len(data):
        batch = FRAMING.parse_header(data[position:position + FRAMING.size], position)
        start = position + FRAMING.size
        end = start + batch.stored_length
        records.extend(FRAMING.decode(batch, data[start:end], position))
        batches.append(batch)
        position = end
    return batches, records


def read_trace(path: Path) -> tuple[formats.FileHeader, list[formats.BatchHeader],
                                    list[formats.Record]]:
    return parse_trace(path.read_bytes())


def sequences(records: list[formats.Record]) -> list[int]:
    numbers = []
    for record in records:
        if record.kind == RecordKind.SYSCALL:
            assert isinstance(record.payload, formats.Syscall)
            numbers.append(record.payload.args[0])
        elif record.kind == RecordKind.USER:
            assert isinstance(record.payload, formats.User)
            numbers.append(int(record.payload.label[3:]))
    return numbers


def drops_in(records: list[formats.Record]) -> dict[int, int]:
    totals: dict[int, int] = {}
    for record in records:
        if record.kind == RecordKind.DROP:
            assert isinstance(record.payload, formats.Drop)
            totals[record.payload.error] = (totals.get(record.payload.error, 0)
                                            + record.payload.lost)
    return totals


def read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        assert chunk, "the pipe closed early"
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_header(fd: int) -> formats.FileHeader:
    prefix = formats.parse_header_prefix(read_exact(fd, formats.HEADER_PREFIX_SIZE))
    return formats.parse_header_body(prefix, read_exact(fd, prefix.body_length))


def read_batch(fd: int) -> list[formats.Record]:
    batch = FRAMING.parse_header(read_exact(fd, FRAMING.size), 0)
    return FRAMING.decode(batch, read_exact(fd, batch.stored_length), 0)


def read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks)


class Fifo:
    """A FIFO output with its read end held by the test (ktrace into a pipe)."""

    def __init__(self, path: Path, pipe_size: int | None = None) -> None:
        self.path = path
        os.mkfifo(path, 0o600)
        # Open the read end first (non-blocking) so the writer's open does not block.
        self.reader = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        os.set_blocking(self.reader, True)
        if pipe_size is not None:
            fcntl.fcntl(self.reader, fcntl.F_SETPIPE_SZ, pipe_size)

    def close(self) -> None:
        if self.reader >= 0:
            os.close(self.reader)
            self.reader = -1


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Fifo]:
    pipe = Fifo(tmp_path / "trace.fifo", pipe_size=4096)
    yield pipe
    pipe.close()


class Reader(threading.Thread):
    """Drains a FIFO until EOF, in the background."""

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.data = b""

    def run(self) -> None:
        self.data = read_to_end(self.fd)


def open_file(path: Path, **options: object) -> Descriptor:
    params = options.pop("parameters", parameters())
    assert isinstance(params, QueueParameters)
    return open_descriptor(OutputOptions(str(path), parameters=params, **options),  # type: ignore[arg-type]
                           make_header())


# -- wakeups ---------------------------------------------------------------


def test_delayed_wakeup_writes_nothing_before_wakedelay(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    descriptor = open_file(path, parameters=parameters(wakedelay_ms=400))
    header_size = path.stat().st_size
    began = time.monotonic()
    for sequence in range(3):
        assert descriptor.add_entry(syscall_record(sequence))
    assert not descriptor.wait_written(1, timeout=0.2)
    assert path.stat().st_size == header_size
    assert descriptor.wait_written(3, timeout=5)
    assert time.monotonic() - began >= 0.4
    stats = descriptor.stats
    assert (stats.records_written, stats.batches_written) == (3, 1)
    descriptor.release()
    _, batches, records = read_trace(path)
    assert len(batches) == 1
    assert sequences(records) == [0, 1, 2]


def test_immediate_wakeup_past_delayqcnt(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    descriptor = open_file(path, parameters=parameters(delayqcnt=4))
    for sequence in range(4):
        descriptor.add_entry(syscall_record(sequence))
    assert not descriptor.wait_written(1, timeout=0.1)  # 4 is not past delayqcnt
    began = time.monotonic()
    descriptor.add_entry(syscall_record(4))
    assert descriptor.wait_written(5, timeout=5)
    assert time.monotonic() - began < 5  # the delayed wakeup would take 60 s
    descriptor.release()
    assert sequences(read_trace(path)[2]) == [0, 1, 2, 3, 4]


def test_interactive_output_uses_the_short_delay(tmp_path: Path) -> None:
    pipe = Fifo(tmp_path / "live.fifo")
    try:
        descriptor = open_descriptor(
            OutputOptions(str(pipe.path), parameters=parameters(intrwakdl_ms=50)),
            make_header())
        assert descriptor.interactive
        assert read_header(pipe.reader).hostname == "test-host"
        began = time.monotonic()
        descriptor.add_entry(syscall_record(7))
        records = read_batch(pipe.reader)  # blocks until the writer's wakeup
        elapsed = time.monotonic() - began
        assert sequences(records) == [7]
        assert 0.05 <= elapsed < 5  # intrwakdl, not the 60 s wakedelay
        descriptor.release()
        assert read_to_end(pipe.reader) == b""
    finally:
        pipe.close()


def test_regular_file_is_not_interactive(tmp_path: Path) -> None:
    descriptor = open_file(tmp_path / "out.ktr")
    assert not descriptor.interactive
    descriptor.release()


# -- producers waiting, BLOCKING, drops -------------------------------------


def test_producer_waits_past_half_full_until_the_writer_drains(fifo: Fifo) -> None:
    descriptor = open_descriptor(
        OutputOptions(str(fifo.path), parameters=parameters(maxentry=10, timeout_s=30)),
        make_header())
    read_header(fifo.reader)
    for sequence in range(5):  # up to half of maxentry: no waiting
        assert descriptor.add_entry(big_record(sequence))
    returned = threading.Event()
    results: list[bool] = []

    def produce() -> None:
        # The 6th record passes maxentry / 2: wake the writer and wait for it.
        results.append(descriptor.add_entry(big_record(5)))
        returned.set()

    producer = threading.Thread(target=produce)
    producer.start()
    # The writer took ~6 kB and is stuck in a 4 kB pipe nobody reads yet.
    assert not returned.wait(0.3)
    assert not descriptor.stats.blocking
    assert sequences(read_batch(fifo.reader)) == [0, 1, 2, 3, 4, 5]
    assert returned.wait(5)
    producer.join()
    assert results == [True]
    stats = descriptor.stats
    assert (stats.blocking, stats.timeouts, dict(stats.drops)[DropError.ENOSPC]) == (
        False, 0, 0)
    descriptor.release()


def test_a_quarter_of_the_byte_bound_wakes_the_writer_at_once(tmp_path: Path) -> None:
    # Two records of 10 kB pass a quarter of 64 kB: written although the delayed
    # wakeup is a minute away and the queue is far below delayqcnt records.
    descriptor = open_file(tmp_path / "out.ktr", parameters=parameters(maxbytes=1 << 16))
    assert descriptor.add_entry(big_record(0, 10_000))
    assert descriptor.add_entry(big_record(1, 10_000))
    assert descriptor.wait_written(2, timeout=5)
    descriptor.release()
    assert sequences(read_trace(tmp_path / "out.ktr")[2]) == [0, 1]


@pytest.mark.parametrize("bulk", [False, True], ids=["add_entry", "add_entries"])
def test_the_byte_bound_holds_producers_then_drops_and_says_so(fifo: Fifo, bulk: bool) -> None:
    # Records of 10 kB, a 64 kB byte bound, a record bound (1000) never reached.
    descriptor = open_descriptor(
        OutputOptions(str(fifo.path),
                      parameters=parameters(maxentry=1000, timeout_s=0.2, maxbytes=1 << 16)),
        make_header())
    read_header(fifo.reader)
    records = [big_record(sequence, 10_000) for sequence in range(60)]
    if bulk:
        accepted = descriptor.add_entries(records)
    else:
        outcomes = [descriptor.add_entry(record) for record in records]
        accepted = outcomes.count(True)
        assert outcomes == [True] * accepted + [False] * (60 - accepted)
    # The writer took the first records (woken past 16 kB) and is stuck on the full
    # pipe; past 32 kB a producer waited 0.2 s for it and turned BLOCKING; the queue
    # then filled past 64 kB (7 records), and the rest was dropped and counted.
    stats = descriptor.stats
    assert stats.blocking and stats.timeouts == 1
    assert 8 <= accepted <= 13  # 1 to 6 taken by the writer, 7 queued
    assert stats.drops[DropError.ENOSPC] == 60 - accepted

    reader = Reader(fifo.reader)
    reader.start()
    assert descriptor.wait_written(accepted, timeout=5)
    descriptor.release()
    reader.join(5)
    _, written = parse_batches(reader.data)
    assert sequences(written) == list(range(accepted))
    assert drops_in(written) == {int(DropError.ENOSPC): 60 - accepted}


def test_stalled_writer_turns_blocking_and_drops_are_written(fifo: Fifo) -> None:
    blocking_reports: list[str] = []
    descriptor = open_descriptor(
        OutputOptions(str(fifo.path),
                      parameters=parameters(maxentry=10, timeout_s=0.2)),
        make_header(),
        on_blocking=lambda: blocking_reports.append(threading.current_thread().name))
    read_header(fifo.reader)
    started_ns = time.time_ns()
    outcomes = [descriptor.add_entry(big_record(sequence)) for sequence in range(60)]
    losses_done_ns = time.time_ns()
    # The 6th waited 0.2 s for a writer stuck on the full pipe, then gave up;
    # later producers did not wait: the queue filled to maxentry + 1 and the
    # rest was dropped.
    assert outcomes[:17] == [True] * 17
    assert outcomes[17:] == [False] * 43
    assert blocking_reports == [threading.current_thread().name]  # reported once
    stats = descriptor.stats
    assert stats.blocking and stats.timeouts == 1
    assert stats.drops[DropError.ENOSPC] == outcomes.count(False)

    reader = Reader(fifo.reader)
    reader.start()  # the writer recovers
    assert descriptor.wait_written(17, timeout=5)
    stats = descriptor.stats
    assert not stats.blocking  # cleared once the writer emptied the queue
    assert stats.drops_written == outcomes.count(False)
    descriptor.release()
    reader.join(5)
    batches, records = parse_batches(reader.data)  # the header was read above
    assert sequences(records) == list(range(17))
    assert drops_in(records) == {int(DropError.ENOSPC): outcomes.count(False)}
    # The DROP stands where the losses began: after the 17 records queued before
    # the first (the queue they were lost from), with the time of the first loss.
    drop_positions = [i for i, r in enumerate(records) if r.kind == RecordKind.DROP]
    assert drop_positions == [17] and batches[0].record_count < 17
    drop = records[drop_positions[0]]
    assert (drop.pid, drop.tid, drop.comm) == (0, 0, b"ktr")
    assert started_ns <= drop.timestamp_ns <= losses_done_ns


def test_log_error_enomem_is_written_as_a_drop_record(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    descriptor = open_file(path)
    descriptor.log_error(DropError.ENOMEM)
    descriptor.log_error(DropError.ENOMEM)
    descriptor.add_entry(syscall_record(1))
    descriptor.release()
    _, batches, records = read_trace(path)
    assert [r.kind for r in records] == [RecordKind.DROP, RecordKind.SYSCALL]
    assert drops_in(records) == {int(DropError.ENOMEM): 2}
    assert len(batches) == 1


def test_timed_losses_are_each_a_drop_where_they_were_logged(tmp_path: Path) -> None:
    """``log_lost`` with the loss's time (a ring's LOST record): its own DROP, after the
    records queued before it, with that time; counted once, beside the queue's own."""
    path = tmp_path / "out.ktr"
    descriptor = open_file(path)
    descriptor.add_entry(syscall_record(1))
    descriptor.log_error(DropError.ENOMEM)
    descriptor.log_lost(DropError.ENOBUFS, 5, at_ns=1_111)
    descriptor.add_entry(syscall_record(2))
    descriptor.log_lost(DropError.ENOBUFS, 7, at_ns=2_222)
    descriptor.add_entry(syscall_record(3))
    descriptor.release()
    _, _, records = read_trace(path)
    shown = [(r.kind, r.payload.lost if isinstance(r.payload, formats.Drop) else None)
             for r in records]
    assert shown == [(RecordKind.SYSCALL, None), (RecordKind.DROP, 1), (RecordKind.DROP, 5),
                     (RecordKind.SYSCALL, None), (RecordKind.DROP, 7),
                     (RecordKind.SYSCALL, None)]
    assert [r.timestamp_ns for r in records if r.kind == RecordKind.DROP][1:] == [1_111, 2_222]
    stats = descriptor.stats
    assert dict(stats.drops)[DropError.ENOBUFS] == 12
    assert stats.drops_written == 13


def test_drops_pending_at_close_are_written_in_a_final_batch(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    descriptor = open_file(path)
    assert descriptor.add_entry(syscall_record(1))
    descriptor.log_error(DropError.ENOMEM)
    descriptor.release()
    _, _, records = read_trace(path)
    assert drops_in(records) == {int(DropError.ENOMEM): 1}
    assert sequences(records) == [1]
    assert descriptor.stats.drops_written == 1


def test_end_is_queued_past_a_full_queue_and_written_last(fifo: Fifo) -> None:
    descriptor = open_descriptor(
        OutputOptions(str(fifo.path), parameters=parameters(maxentry=10, timeout_s=0.2)),
        make_header())
    read_header(fifo.reader)
    outcomes = [descriptor.add_entry(big_record(sequence)) for sequence in range(40)]
    assert not outcomes[-1]  # the writer is stuck on the full pipe: the queue is full
    end = formats.End(0, 0, 1, 1, 0, 0, b"")
    assert descriptor.add_end(end)
    reader = Reader(fifo.reader)
    reader.start()
    descriptor.release()
    reader.join(5)
    assert not descriptor.add_end(end)  # released: nothing more is written
    _, records = parse_batches(reader.data)
    assert records[-1].kind == RecordKind.END and records[-1].payload == end
    assert (records[-1].pid, records[-1].comm) == (0, b"ktr")
    assert sequences(records) == list(range(outcomes.count(True)))


# -- write errors ----------------------------------------------------------


def test_write_error_stops_the_descriptor_and_calls_back_once(fifo: Fifo) -> None:
    failures: list[tuple[OutputError, str]] = []
    failed = threading.Event()

    def on_write_error(error: OutputError) -> None:
        failures.append((error, threading.current_thread().name))
        failed.set()

    descriptor = open_descriptor(
        OutputOptions(str(fifo.path), parameters=parameters(delayqcnt=0)),
        make_header(), on_write_error)
    read_header(fifo.reader)
    fifo.close()  # the reader goes away: the next write gets EPIPE
    assert descriptor.add_entry(syscall_record(1))  # past delayqcnt: written at once
    assert failed.wait(5)
    assert not descriptor.add_entry(syscall_record(2))
    stats = descriptor.stats
    assert stats.failure is failures[0][0]
    assert stats.records_discarded == 1
    assert stats.records_refused == 1  # record 2: offered after the failure
    assert stats.drops[DropError.ENOSPC] == 0  # refused, not an overflow
    descriptor.release()
    assert len(failures) == 1
    error, thread_name = failures[0]
    assert thread_name.startswith("ktr writer")
    assert error.errno == errno.EPIPE
    assert str(error) == f"cannot write trace to {fifo.path}: EPIPE (Broken pipe)"


def test_owner_may_release_from_the_error_callback(fifo: Fifo) -> None:
    released = threading.Event()
    holder: list[Descriptor] = []

    def on_write_error(error: OutputError) -> None:
        holder[0].release()  # ends the recording from the writer thread
        released.set()

    descriptor = open_descriptor(
        OutputOptions(str(fifo.path), parameters=parameters(delayqcnt=0)),
        make_header(), on_write_error)
    holder.append(descriptor)
    read_header(fifo.reader)
    fifo.close()
    descriptor.add_entry(syscall_record(1))
    assert released.wait(5)
    assert descriptor.wait_written(1, timeout=5) is False  # returns: the writer ended
    assert descriptor.stats.references == 0


def test_producer_waiting_is_released_by_a_write_error(fifo: Fifo) -> None:
    descriptor = open_descriptor(
        OutputOptions(str(fifo.path), parameters=parameters(maxentry=4, timeout_s=30)),
        make_header())
    read_header(fifo.reader)
    outcome: list[bool] = []
    producer = threading.Thread(
        target=lambda: outcome.extend(descriptor.add_entry(big_record(i)) for i in range(8)))
    producer.start()
    # Records 0-2 fit the 4 kB pipe; 3-5 do not: the writer is stuck and the
    # producer waits for it (for up to 30 s).
    producer.join(0.3)
    assert producer.is_alive()
    fifo.close()  # the stuck write now fails with EPIPE
    producer.join(5)
    assert not producer.is_alive()
    # Record 5 was queued when the output failed: discarded, so False.
    assert outcome == [True] * 5 + [False] * 3
    stats = descriptor.stats
    assert stats.failure is not None and stats.failure.errno == errno.EPIPE
    assert (stats.records_enqueued, stats.records_written, stats.records_discarded) == (
        6, 3, 3)
    assert stats.records_refused == 2  # records 6 and 7
    descriptor.release()


@pytest.mark.parametrize(("path", "message"), [
    ("/dev/full", "cannot write trace to /dev/full: ENOSPC (No space left on device)"),
    ("/nonexistent-dir/out.ktr",
     "cannot write trace to /nonexistent-dir/out.ktr: ENOENT (No such file or directory)"),
])
def test_open_errors_are_one_line(path: str, message: str) -> None:
    with pytest.raises(OutputError) as raised:
        open_descriptor(OutputOptions(path), make_header())
    assert str(raised.value) == message
    assert raised.value.path == path


def test_a_directory_is_not_an_output(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"^cannot write trace to .*: EISDIR"):
        open_descriptor(OutputOptions(str(tmp_path)), make_header())


# -- standard output, SIGPIPE ---------------------------------------------

# Runs in a child whose SIGPIPE action is the fatal default (as in a program
# embedding ktr that restored it); its stdout is a pipe the test holds.
STDOUT_CHILD = """
import signal, sys, threading
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
import formats
from ktr._descriptor import OutputOptions, QueueParameters, open_descriptor
from ktr.errors import OutputError

mode, count = sys.argv[1], int(sys.argv[2])
header = formats.FileHeader("child", "6.0", "x86_64", 1, 2, "test")
encode = formats.codec().encode_record
failed = threading.Event()
errors = []

def on_write_error(error):
    errors.append(str(error))
    failed.set()

sys.stdin.readline()  # the test is ready
try:
    descriptor = open_descriptor(
        OutputOptions("-", parameters=QueueParameters(delayqcnt=0)), header, on_write_error)
except OutputError as error:
    print("open:", error, file=sys.stderr)
    sys.exit(3)
print("interactive:", descriptor.interactive, file=sys.stderr, flush=True)
if mode == "reader-leaves":
    sys.stdin.readline()  # the test has read the header and closed its end
for sequence in range(count):
    descriptor.add_entry(encode(1, 7, 7, sequence, b"child",
                                formats.Syscall(0, 1, 0, (sequence,))))
if mode == "reader-leaves":
    failed.wait(5)
descriptor.release()
for line in errors:
    print("write:", line, file=sys.stderr)
"""


def start_stdout_child(mode: str, count: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", STDOUT_CHILD, mode, str(count)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_stdout_output_to_a_pipe() -> None:
    child = start_stdout_child("normal", 500)
    out, err = child.communicate(b"go\n", timeout=20)
    assert child.returncode == 0, err
    assert b"interactive: True" in err
    header, _, records = parse_trace(out)
    assert header.hostname == "child"
    assert sequences(records) == list(range(500))


def test_reader_leaving_is_a_write_error_even_with_default_sigpipe() -> None:
    child = start_stdout_child("reader-leaves", 5)
    assert child.stdin is not None and child.stdout is not None
    child.stdin.write(b"go\n")
    child.stdin.flush()
    read_header(child.stdout.fileno())
    child.stdout.close()
    _, err = child.communicate(b"go\n", timeout=20)
    assert child.returncode == 0, err  # not killed by SIGPIPE
    assert b"write: cannot write trace to standard output: EPIPE (Broken pipe)" in err


def test_reader_gone_before_the_header_is_an_open_error() -> None:
    child = start_stdout_child("normal", 1)
    assert child.stdout is not None
    child.stdout.close()
    _, err = child.communicate(b"go\n", timeout=20)
    assert child.returncode == 3, err
    assert err == b"open: cannot write trace to standard output: EPIPE (Broken pipe)\n"


# -- closing, sharing --------------------------------------------------------


def test_orderly_close_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    count = 20_000
    descriptor = open_file(path, parameters=parameters(maxentry=200, delayqcnt=20))
    assert all(descriptor.add_entry(syscall_record(i)) for i in range(count))
    descriptor.release()
    stats = descriptor.stats
    assert (stats.records_enqueued, stats.records_written, stats.references) == (
        count, count, 0)
    assert sum(stats.drops.values()) == 0
    _, batches, records = read_trace(path)
    assert sequences(records) == list(range(count))
    assert sum(b.record_count for b in batches) == count
    assert stats.bytes_written == path.stat().st_size - len(
        formats.encode_file_header(make_header()))
    assert not descriptor.add_entry(syscall_record(count))  # closed


def test_two_producers_share_one_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "shared.ktr"
    first = open_file(path, parameters=parameters(maxentry=50, delayqcnt=10))
    second = open_descriptor(OutputOptions(str(path)), make_header("other-host"))
    assert second is first
    assert first.stats.references == 2
    count = 3000

    def produce(descriptor: Descriptor, tid: int) -> None:
        for sequence in range(count):
            assert descriptor.add_entry(syscall_record(sequence, tid))

    threads = [threading.Thread(target=produce, args=(first, 1)),
               threading.Thread(target=produce, args=(second, 2))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first.release()
    assert second.stats.references == 1
    assert second.add_entry(syscall_record(count, 2))  # still open for the other one
    second.release()
    header, _, records = read_trace(path)  # exactly one header
    assert header.hostname == "test-host"
    for tid, expected in ((1, count), (2, count + 1)):
        assert sequences([r for r in records if r.tid == tid]) == list(range(expected))
    # Released for good: the same path now opens a new descriptor.
    third = open_file(path)
    assert third is not first
    third.release()


def test_different_files_get_different_descriptors(tmp_path: Path) -> None:
    first = open_file(tmp_path / "a.ktr")
    second = open_file(tmp_path / "b.ktr")
    assert first is not second
    first.release()
    second.release()


def test_release_too_often_is_a_programming_error(tmp_path: Path) -> None:
    descriptor = open_file(tmp_path / "a.ktr")
    descriptor.release()
    with pytest.raises(RuntimeError):
        descriptor.release()
    with pytest.raises(RuntimeError):
        descriptor.reference()


# -- the output file --------------------------------------------------------


def test_append_adds_batches_without_a_second_header(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    descriptor = open_file(path)
    for sequence in range(3):
        descriptor.add_entry(syscall_record(sequence))
    descriptor.release()
    appended = open_descriptor(OutputOptions(str(path), append=True),
                               make_header("second-run"))
    for sequence in range(3, 5):
        appended.add_entry(syscall_record(sequence))
    appended.release()
    header, batches, records = read_trace(path)
    assert header.hostname == "test-host"
    assert len(batches) == 2
    assert sequences(records) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("existing", ["missing", "empty"])
def test_append_to_nothing_starts_a_new_trace(tmp_path: Path, existing: str) -> None:
    path = tmp_path / "out.ktr"
    if existing == "empty":
        path.write_bytes(b"")
    descriptor = open_descriptor(OutputOptions(str(path), append=True), make_header())
    descriptor.add_entry(syscall_record(9))
    descriptor.release()
    header, _, records = read_trace(path)
    assert header.hostname == "test-host"
    assert sequences(records) == [9]


@pytest.mark.parametrize(("content", "reason"), [
    (b"hello, this is a text file\n", "not a ktr trace file"),
    (formats.encode_file_header(make_header(order="big")), "big-endian"),
    (formats.encode_file_header(make_header(major=formats.FORMAT_MAJOR + 1)),
     "not supported"),
])
def test_append_refuses_an_incompatible_file(tmp_path: Path, content: bytes,
                                             reason: str) -> None:
    path = tmp_path / "out.ktr"
    path.write_bytes(content)
    with pytest.raises(IncompatibleOutput) as raised:
        open_descriptor(OutputOptions(str(path), append=True), make_header())
    message = str(raised.value)
    assert message.startswith(f"cannot append to {path}: ")
    assert reason in message
    assert "\n" not in message
    assert path.read_bytes() == content  # untouched


def test_new_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    previous = os.umask(0)
    try:
        descriptor = open_file(path)
    finally:
        os.umask(previous)
    descriptor.release()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_truncated_file_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    path.write_bytes(b"old secrets" * 100)
    path.chmod(0o644)
    descriptor = open_file(path)
    descriptor.add_entry(syscall_record(1))
    descriptor.release()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sequences(read_trace(path)[2]) == [1]  # the old content is gone


def test_zstd_batches_are_readable(tmp_path: Path) -> None:
    path = tmp_path / "out.ktr"
    count = 2000
    descriptor = open_file(path, compress=True, parameters=parameters(delayqcnt=50))
    # Real records vary: a scrambled argument keeps the batches under SPEC's
    # compression-ratio cap (a batch compressing further is stored raw).
    scramble = 0x9E3779B97F4A7C15
    for sequence in range(count):
        descriptor.add_entry(CODEC.encode_record(
            RecordKind.SYSCALL, 100, 100, 1000 + sequence, b"prog",
            formats.Syscall(0, 1, 0, (sequence, (sequence * scramble) % (1 << 64)))))
    descriptor.log_error(DropError.ENOMEM)
    descriptor.release()
    _, batches, records = read_trace(path)
    assert batches and all(b.flags & formats.BATCH_FLAG_ZSTD for b in batches)
    assert sequences(records) == list(range(count))
    assert drops_in(records) == {int(DropError.ENOMEM): 1}
    assert path.stat().st_size < count * len(syscall_record(0))


def test_bad_parameters_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="maxentry"):
        QueueParameters(maxentry=0)
    with pytest.raises(UsageError, match="timeout_s"):
        QueueParameters(timeout_s=0)


def test_the_default_queue_shrinks_for_large_records() -> None:
    from ktr._descriptor import QUEUE_HALF_BYTES
    from ktr._options import parse_record_arguments

    assert QueueParameters.sized_for(4096) == (8000, 2000)  # the defaults, -s 4096
    maxentry, delayqcnt = QueueParameters.sized_for(32768)
    assert maxentry // 2 * 32768 <= QUEUE_HALF_BYTES < 8000 // 2 * 32768
    assert delayqcnt == maxentry // 4
    assert QueueParameters.sized_for(8 << 20) == (1000, 250)  # never under ktrace's bound

    def queue(*options: str) -> tuple[int, int]:
        parsed = parse_record_arguments([*options, "-o", "/dev/null", "--", "true"]).queue
        return parsed.maxentry, parsed.delayqcnt

    assert queue() == (8000, 2000)
    assert queue("-s", "65536") == QueueParameters.sized_for(65536)
    # What the user gives wins; a delay count left out stays below a quarter.
    assert queue("-s", "65536", "--queue-max", "5000", "--delay-count", "2000") == (5000, 2000)
    assert queue("--queue-max", "1000") == (1000, 250)
    assert queue("--queue-max", "1000", "--delay-count", "100") == (1000, 100)
