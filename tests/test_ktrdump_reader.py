"""ktrdump's reader: records in order, damaged batches skipped and counted, bounded reads."""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path

import pytest
from ktrdump_support import (
    END_ENTRY,
    START_NS,
    batch_header_with_flags,
    build_trace,
    encode_entries,
    file_header,
    syscall_batch,
)

import formats
import ktrdump
from ktrdump import _reader
from ktrdump.errors import InputError, TraceFormatError


def _records(data: bytes) -> tuple[list[formats.Record], list[ktrdump.Skipped]]:
    with ktrdump.open(io.BytesIO(data)) as trace:
        records = list(trace)
        return records, trace.notices


BATCHES = [syscall_batch(6), syscall_batch(5, pid=7, comm=b"sh"), syscall_batch(4)]


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("compress", [False, True])
def test_reads_every_record_in_order(order: formats.ByteOrder, compress: bool) -> None:
    data, _ = build_trace(BATCHES, order, compress)
    records, notices = _records(data)
    expected = [e for batch in BATCHES for e in batch]
    assert [(r.kind, r.pid, r.comm, r.payload) for r in records] == [
        (int(kind), pid, comm, payload) for kind, pid, _tid, comm, payload in expected]
    assert notices == []
    # Each batch's timestamps start a second after the previous batch's.
    assert [r.timestamp_ns - START_NS for r in records[:2]] == [0, 1000]
    assert records[6].timestamp_ns - START_NS == 10**9


def test_open_exposes_the_header_and_counts(tmp_path: Path) -> None:
    data, _ = build_trace(BATCHES)
    path = tmp_path / "t.ktr"
    path.write_bytes(data)
    with ktrdump.open(path) as trace:
        assert trace.header.hostname == "test-host"
        assert trace.header.major == formats.FORMAT_MAJOR
        assert sum(1 for _ in trace) == 15
        assert trace.skipped_batches == 0
        assert trace.offset == len(data)


def test_events_yield_one_list_per_batch() -> None:
    data, _ = build_trace(BATCHES)
    with ktrdump.open(io.BytesIO(data)) as trace:
        sizes = [len(event) for event in trace.events() if isinstance(event, list)]
    assert sizes == [6, 5, 4]


def test_corrupt_middle_batch_is_skipped_and_reading_resumes() -> None:
    data, offsets = build_trace(BATCHES)
    damaged = bytearray(data)
    damaged[offsets[1] + 28 + 10] ^= 0xFF
    records, notices = _records(bytes(damaged))
    assert len(records) == 6 + 4
    assert notices == [ktrdump.Skipped(offsets[1], 1, offsets[2] - offsets[1],
                                       "batch payload checksum mismatch", records=5)]
    assert "at byte offset" in notices[0].describe()


def test_damaged_batch_header_is_skipped() -> None:
    data, offsets = build_trace(BATCHES)
    damaged = bytearray(data)
    damaged[offsets[1] + 9] ^= 0x01  # record_count: the header checksum fails
    records, notices = _records(bytes(damaged))
    assert len(records) == 10
    assert [(n.offset, n.batches, n.bytes) for n in notices] == [
        (offsets[1], 1, offsets[2] - offsets[1])]


def test_two_damaged_batches_in_a_row_count_two() -> None:
    batches = [*BATCHES, syscall_batch(3)]
    data, offsets = build_trace(batches)
    damaged = bytearray(data)
    damaged[offsets[1] + 40] ^= 0xFF
    damaged[offsets[2] + 40] ^= 0xFF  # its header still checks: passed over, counted
    records, notices = _records(bytes(damaged))
    assert len(records) == 6 + 3
    assert [(n.offset, n.batches, n.bytes) for n in notices] == [
        (offsets[1], 2, offsets[3] - offsets[1])]


def test_batch_with_unknown_flags_is_skipped_and_counted() -> None:
    data, offsets = build_trace(BATCHES)
    raw = b"".join(encode_entries(syscall_batch(2)))
    newer = batch_header_with_flags("little", 0x8000, raw, 2)
    spliced = data[: offsets[1]] + newer + data[offsets[1]:]
    records, notices = _records(spliced)
    assert len(records) == 15
    assert [(n.offset, n.batches, n.bytes) for n in notices] == [(offsets[1], 1, len(newer))]
    assert "unknown encoding flags" in notices[0].reason


def test_headers_with_valid_checksums_passed_over_are_counted() -> None:
    data, offsets = build_trace(BATCHES)
    raw = b"".join(encode_entries(syscall_batch(2)))
    newer = batch_header_with_flags("little", 0x8000, raw, 2)
    garbage = b"\0" * 7
    # Damage batch 1's header, then two unreadable (newer-flag) batches follow.
    damaged = bytearray(data[: offsets[1]])
    damaged[offsets[0]] ^= 0xFF
    spliced = bytes(damaged) + garbage + newer + newer + data[offsets[1]:]
    records, notices = _records(spliced)
    assert len(records) == 5 + 4
    assert [(n.offset, n.batches) for n in notices] == [(offsets[0], 3)]
    assert notices[0].bytes == offsets[1] - offsets[0] + len(garbage) + 2 * len(newer)


@pytest.mark.parametrize("cut", [1, 10, 27, 28, 29, 100])
def test_torn_tail_is_one_skipped_batch(cut: int) -> None:
    data, offsets = build_trace(BATCHES)
    torn = data[: offsets[2] + cut]
    records, notices = _records(torn)
    assert len(records) == 11
    assert [(n.offset, n.batches, n.bytes) for n in notices] == [(offsets[2], 1, cut)]
    assert "input ends inside a batch" in notices[0].reason


def test_trailing_garbage_is_reported() -> None:
    data, _ = build_trace(BATCHES)
    records, notices = _records(data + b"not a batch at all")
    assert len(records) == 15
    assert [(n.offset, n.batches, n.bytes) for n in notices] == [(len(data), 1, 18)]


def test_header_only_file_has_no_records() -> None:
    assert _records(file_header()) == ([], [])


@pytest.mark.parametrize(
    ("data", "kind", "text"),
    [
        (b"", formats.NotATraceFile, "empty file"),
        (b"hello, world\n" * 4, formats.NotATraceFile, "bad magic"),
        (formats.FILE_MAGIC[:5], formats.NotATraceFile, "too short"),
        (file_header(major=2), formats.UnsupportedVersion,
         f"2.{formats.FORMAT_MINOR} is not supported"),
        (file_header()[:-3], formats.CorruptHeader, "ends inside its header"),
        (bytes(byte ^ (0x10 if at == formats.HEADER_PREFIX_SIZE + 6 else 0)
               for at, byte in enumerate(file_header())),
         formats.CorruptHeader, "damaged file header (checksum mismatch over bytes 0 to"),
    ],
)
def test_bad_headers_raise_one_line_errors(data: bytes, kind: type, text: str) -> None:
    with pytest.raises(TraceFormatError) as caught:
        ktrdump.open(io.BytesIO(data))
    assert isinstance(caught.value.format_error, kind)
    message = str(caught.value)
    assert "\n" not in message
    assert text in message
    assert f"at byte offset {caught.value.offset}" in message


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="No such file or directory"):
        ktrdump.open(tmp_path / "absent.ktr")


def test_reads_a_pipe_written_in_small_pieces() -> None:
    data, _ = build_trace(BATCHES, compress=True)
    read_end, write_end = os.pipe()

    def writer() -> None:
        with os.fdopen(write_end, "wb", buffering=0) as out:
            for start in range(0, len(data), 7):
                out.write(data[start : start + 7])

    thread = threading.Thread(target=writer)
    thread.start()
    with os.fdopen(read_end, "rb") as stream, ktrdump.open(stream) as trace:
        assert trace.live
        count = sum(1 for _ in trace)
    thread.join()
    assert count == 15


class _CountingStream(io.RawIOBase):
    """A stream that records how many bytes the reader has asked for so far."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = self._data.readinto(buffer)
        self.consumed += count
        return count


def test_reading_is_bounded_by_a_batch_plus_a_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    chunk = 256
    monkeypatch.setattr(_reader, "CHUNK_SIZE", chunk)
    batches = [syscall_batch(3) for _ in range(40)]
    data, offsets = build_trace(batches)
    ends = [*offsets[1:], len(data)]
    largest = max(b - a for a, b in zip(offsets, ends, strict=True))
    stream = _CountingStream(data)
    with ktrdump.open(stream) as trace:
        for index, event in enumerate(trace.events()):
            assert isinstance(event, list)
            # Nothing read further ahead than the batch just yielded plus one chunk.
            assert stream.consumed - ends[index] <= chunk + largest
            assert len(trace._buffer) <= largest + chunk
    assert stream.consumed == len(data)


class _FailingStream(_CountingStream):
    """Gives ``good`` bytes, then fails like a disk with a bad sector."""

    def __init__(self, data: bytes, good: int) -> None:
        super().__init__(data[:good])
        self.good = good

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = super().readinto(buffer)
        if count == 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return count


def test_io_error_while_reading_is_an_input_error() -> None:
    data, offsets = build_trace(BATCHES)
    trace = ktrdump.open(_FailingStream(data, offsets[1] + 5))
    events = trace.events()
    assert len(next(events)) == 6  # the first batch is whole before the failure
    with pytest.raises(InputError, match="Input/output error"):
        next(events)


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("raw", [False, True])
def test_a_missing_end_record_is_a_notice_only_when_the_header_promises_one(
        order: formats.ByteOrder, raw: bool) -> None:
    framing = formats.batch_framing(order)
    body = framing.encode(encode_entries(syscall_batch(3), order))
    end = framing.encode(encode_entries([END_ENTRY], order))

    def notices(data: bytes) -> list[ktrdump.Skipped]:
        with ktrdump.open(io.BytesIO(data)) as reader:
            events = list(reader.raw_events() if raw else reader.events())
            assert reader.skipped_batches == 0
        return [e for e in events if isinstance(e, ktrdump.Skipped)]

    promised = file_header(order, end_record=True)
    assert notices(promised + body + end) == []
    assert notices(promised + end + body) == [ktrdump.CutShort(
        len(promised + end + body), 0, 0, "no END record")]
    assert len(notices(promised)) == 1  # not a single record: cut before the first batch
    assert notices(file_header(order) + body) == []  # an older recorder's: no END promised
