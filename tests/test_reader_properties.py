"""Whatever the bytes, the reader and the ktrdump command end in records or a
clean error: a ``FormatError``/``KtrdumpError`` is fine, anything else (a
traceback) fails the test.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ktrdump_support import build_trace, syscall_batch

import formats
import ktrdump
from ktrdump._reader import RawBatch
from ktrdump.cli import main
from ktrdump.errors import KtrdumpError

VALID, OFFSETS = build_trace([syscall_batch(5), syscall_batch(4, pid=9, comm=b"\xffodd"),
                              syscall_batch(3)])
VALID_ZSTD, _ = build_trace([syscall_batch(5), syscall_batch(4)], compress=True)
TOTAL_RECORDS = 12

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read(data: bytes) -> tuple[int, int]:
    """Records read and batches skipped; only clean errors may escape."""
    try:
        with ktrdump.open(io.BytesIO(data)) as trace:
            count = sum(1 for _ in trace)
            notices = trace.notices
    except (formats.FormatError, KtrdumpError) as error:
        assert "\n" not in str(error)
        return -1, 0
    for notice in notices:
        assert notice.batches >= 1
        assert 0 <= notice.offset < len(data)
        assert 0 < notice.bytes <= len(data) - notice.offset
    return count, sum(n.batches for n in notices)


def _run_cli(data: bytes, tmp_path: Path, json: bool) -> tuple[int, str]:
    path = tmp_path / "p.ktr"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main([*(["--json"] if json else []), str(path)])
    assert "Traceback" not in err.getvalue()
    assert all(line.startswith("ktrdump: ") for line in err.getvalue().splitlines())
    return status, out.getvalue()


@SETTINGS
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    assert _read(data)[0] <= 0 or data.startswith(formats.FILE_MAGIC)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_after_a_valid_header(data: bytes) -> None:
    count, skipped = _read(VALID[: OFFSETS[0]] + data)
    assert count >= 0
    if data and count == 0:
        assert skipped >= 1


def _record_ends(data: bytes, offsets: list[int]) -> list[int]:
    """The file offset where each record of ``data``'s raw batches ends (SPEC's framing:
    a 28-byte batch header, then records of a 40-byte header and ``length`` more)."""
    ends = []
    for start, stop in zip(offsets, [*offsets[1:], len(data)], strict=True):
        position = start + 28
        while position < stop:
            position += 40 + int.from_bytes(data[position:position + 4], "little")
            ends.append(position)
    return ends


@SETTINGS
@given(st.integers(0, len(VALID)))
def test_truncation_keeps_the_whole_batches_and_the_whole_records_of_the_torn_one(
        cut: int) -> None:
    count, skipped = _read(VALID[:cut])
    if cut < OFFSETS[0]:
        assert count == -1 or (cut == OFFSETS[0] and count == 0)
        return
    whole = [offset for offset in [*OFFSETS[1:], len(VALID)] if offset <= cut]
    in_whole_batches = [0, 5, 9, 12][len(whole)]
    # A cut batch keeps the records that end before the cut (its header is whole).
    torn = max(offset for offset in OFFSETS if offset <= cut)
    kept = (sum(1 for end in _record_ends(VALID, OFFSETS) if torn < end <= cut)
            if torn + 28 <= cut < len(VALID) else 0)
    assert count == in_whole_batches + kept
    assert skipped == (0 if cut in (*OFFSETS, len(VALID)) else 1)


def test_a_torn_tail_says_where_the_damage_starts_and_what_was_lost() -> None:
    ends = _record_ends(VALID, OFFSETS)
    third = ends[5 + 4 + 1]  # the last batch's second record ends here
    cut = third + 7  # 7 bytes of its third record are in the input
    with ktrdump.open(io.BytesIO(VALID[:cut])) as trace:
        records = list(trace)
        [notice] = trace.notices
    assert len(records) == 5 + 4 + 2
    assert (notice.offset, notice.batches, notice.kept, notice.records) == (OFFSETS[2], 1, 2, 3)
    assert notice.damage_at == third
    assert notice.missing == len(VALID) - cut
    assert notice.describe() == (
        f"input ends inside a batch (torn tail) at byte offset {OFFSETS[2]}; kept its first 2 "
        f"of 3 records; the damage starts at byte offset {third}: lost {len(VALID) - third} "
        f"bytes ({len(VALID) - cut} of them missing from the input)")


def test_a_torn_compressed_batch_keeps_nothing() -> None:
    offsets = build_trace([syscall_batch(5), syscall_batch(4)], compress=True)[1]
    count, skipped = _read(VALID_ZSTD[:-1])
    assert (count, skipped) == (5, 1)
    assert offsets[1] < len(VALID_ZSTD)


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(1, 255)),
                min_size=1, max_size=4, unique_by=lambda flip: flip[0]))
def test_byte_flips_lose_at_most_the_damaged_batches(flips: list[tuple[int, int]]) -> None:
    damaged = bytearray(VALID)
    for position, mask in flips:
        damaged[position] ^= mask
    count, skipped = _read(bytes(damaged))
    if any(position < OFFSETS[0] for position, _ in flips):
        return  # a damaged file header may be refused: that is a clean error
    assert 0 <= count <= TOTAL_RECORDS
    hit = {sum(1 for offset in OFFSETS if offset <= position) - 1 for position, _ in flips}
    sizes = [5, 4, 3]
    assert count >= TOTAL_RECORDS - sum(sizes[index] for index in hit)
    assert skipped >= 1


@SETTINGS
@given(st.integers(0, len(VALID_ZSTD) - 1), st.integers(1, 255))
def test_byte_flips_in_compressed_batches(position: int, mask: int) -> None:
    damaged = bytearray(VALID_ZSTD)
    damaged[position] ^= mask
    count, _ = _read(bytes(damaged))
    assert count <= 9


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_cli_never_prints_a_traceback(tmp_path: Path, data: st.DataObject) -> None:
    mode = data.draw(st.sampled_from(["bytes", "truncate", "flip"]))
    if mode == "bytes":
        content = data.draw(st.binary(max_size=200))
    elif mode == "truncate":
        content = VALID[: data.draw(st.integers(0, len(VALID)))]
    else:
        damaged = bytearray(VALID)
        damaged[data.draw(st.integers(0, len(VALID) - 1))] ^= data.draw(st.integers(1, 255))
        content = bytes(damaged)
    json = data.draw(st.booleans())
    status, out = _run_cli(content, tmp_path, json)
    assert status in (0, 1)
    if status == 0:
        assert content == VALID or mode != "flip" or out


# -- the file header's checksum ----------------------------------------------------

_TEXT = st.text(max_size=12)
_HEADERS = st.builds(
    formats.FileHeader, hostname=_TEXT, kernel_release=_TEXT, machine=_TEXT,
    realtime_ns=st.integers(-(1 << 63), (1 << 63) - 1),
    monotonic_ns=st.integers(-(1 << 63), (1 << 63) - 1), ktr_version=_TEXT,
    options=st.dictionaries(_TEXT, st.integers() | _TEXT | st.none(), max_size=3),
    byte_order=st.sampled_from(["little", "big"]))


@SETTINGS
@given(_HEADERS, st.data())
def test_any_single_bit_flip_in_a_header_is_refused(header: formats.FileHeader,
                                                    data: st.DataObject) -> None:
    """A header with one bit flipped anywhere is refused with a ``FormatError`` whose
    offset lies in the header -- except a minor version flipped to 0 (no checksum to
    check), which changes nothing else."""
    encoded = formats.encode_file_header(header)
    assert formats.parse_file_header(encoded) == (header, len(encoded))
    position = data.draw(st.integers(0, len(encoded) - 1))
    damaged = bytearray(encoded)
    damaged[position] ^= 1 << data.draw(st.integers(0, 7))
    try:
        parsed, _ = formats.parse_file_header(bytes(damaged))
    except formats.FormatError as error:
        assert 0 <= error.offset <= len(encoded)
        assert "\n" not in str(error)
        return
    assert parsed.minor == 0 and parsed == dataclasses.replace(header, minor=0)


@SETTINGS
@given(_HEADERS)
def test_a_minor_0_header_is_read_without_a_checksum(header: formats.FileHeader) -> None:
    old = dataclasses.replace(header, minor=0)
    encoded = formats.encode_file_header(old)
    assert len(encoded) == len(formats.encode_file_header(header)) - 4
    assert formats.parse_file_header(encoded + b"batches") == (old, len(encoded))


# -- resynchronisation: the fast scan equals SPEC's rule, read naively ------------------

def _reference(data: bytes) -> tuple[list[bytes], list[tuple[int, int, int]]]:
    """SPEC's "Damaged batches", the slow obvious way: the raw records of every intact
    batch and (offset, batches, bytes) of every skipped region."""
    framing = formats.batch_framing()
    _, position = formats.parse_file_header(data)

    def intact(at: int) -> bytes | None:
        try:
            header = framing.parse_header(data[at:at + framing.size], at)
            stored = data[at + framing.size:at + framing.size + header.stored_length]
            raw = framing.payload(header, stored, at)
            framing.check_records(header, raw, at)
            framing.decode(header, stored, at)
        except formats.CorruptBatch:
            return None
        return raw

    def both_checksums(at: int) -> int | None:
        """The end of a candidate whose header and payload checksums hold."""
        try:
            header = framing.parse_header(data[at:at + framing.size], at)
        except formats.CorruptBatch:
            return None
        end = at + framing.size + header.stored_length
        if end > len(data):
            return None
        import zlib
        return end if zlib.crc32(data[at + framing.size:end]) == header.payload_crc else None

    raws: list[bytes] = []
    notices: list[tuple[int, int, int]] = []
    while position < len(data):
        try:  # a batch cut by the end of the input (a torn tail) ends the reading
            header = framing.parse_header(data[position:position + framing.size], position)
            if position + framing.size + header.stored_length > len(data):
                kept = _kept_of_torn_tail(header, data[position + framing.size:])
                if kept:
                    raws.append(kept)
                notices.append((position, 1, len(data) - position))
                break
        except formats.CorruptBatch:
            if len(data) - position < framing.size:
                notices.append((position, 1, len(data) - position))
                break
        raw = intact(position)
        if raw is not None:
            raws.append(raw)
            header = framing.parse_header(data[position:position + framing.size], position)
            position += framing.size + header.stored_length
            continue
        start, batches, search = position, 1, position + 1
        cut = _cut_batch(data, start)
        while True:
            found = data.find(formats.BATCH_MAGIC, search)
            if found < 0:
                notices.append((start, batches, len(data) - start))
                return raws, notices
            if intact(found) is not None:
                # SPEC: an intact batch inside a raw batch whose payload checksum
                # failed means that one was cut short there: its whole records stay.
                if cut is not None and start + framing.size <= found < cut[1]:
                    kept = _kept_of_torn_tail(cut[0], data[start + framing.size:found])
                    if kept:
                        raws.append(kept)
                notices.append((start, batches, found - start))
                position = found
                break
            if framing.header_checksum_valid(data[found:found + framing.size]):
                batches += 1
            end = both_checksums(found)
            search = end if end is not None else found + 1
    return raws, notices


def _cut_batch(data: bytes, at: int) -> tuple[formats.BatchHeader, int] | None:
    """A raw batch at ``at`` whose header holds, whose claimed payload is in ``data``
    and whose payload checksum fails (perhaps cut short): its header and claimed end."""
    import zlib
    framing = formats.batch_framing()
    try:
        header = framing.parse_header(data[at:at + framing.size], at)
    except formats.CorruptBatch:
        return None
    end = at + framing.size + header.stored_length
    if header.flags & 1 or end > len(data):
        return None
    if zlib.crc32(data[at + framing.size:end]) == header.payload_crc:
        return None
    return header, end


def _kept_of_torn_tail(header: formats.BatchHeader, present: bytes) -> bytes:
    """SPEC: a raw batch cut short keeps its records wholly in the input, in order,
    while each has version 1, a known kind and a payload that decodes."""
    if header.flags & 1:
        return b""
    codec = formats.codec("little")
    position, count = 0, 0
    while count < header.record_count and len(present) - position >= 40:
        stop = position + 40 + int.from_bytes(present[position:position + 4], "little")
        kind = int.from_bytes(present[position + 4:position + 6], "little")
        version = int.from_bytes(present[position + 6:position + 8], "little")
        if stop > len(present) or version != 1 or kind not in set(formats.RecordKind):
            break
        try:
            codec.decode_payload(kind, present, position + 40, stop)
        except formats.PayloadError:
            break
        position, count = stop, count + 1
    return present[:position]


def test_a_batch_cut_short_and_followed_by_another_keeps_its_records_before_the_cut() -> None:
    """ktr record -a after a killed recorder: the cut batch, then the appended one."""
    ends = _record_ends(VALID, OFFSETS)
    cut = ends[5 + 1] + 9  # the second batch's first two records whole, 9 bytes of the third
    data = VALID[:cut] + VALID[OFFSETS[2]:]
    with ktrdump.open(io.BytesIO(data)) as trace:
        records = list(trace)
        [notice] = trace.notices
    assert len(records) == 5 + 2 + 3
    assert (notice.offset, notice.batches, notice.bytes) == (OFFSETS[1], 1, cut - OFFSETS[1])
    assert (notice.kept, notice.records, notice.damage_at) == (2, 4, ends[5 + 1])
    assert notice.missing == OFFSETS[2] - cut  # the batch's bytes never written
    assert notice.reason == "batch payload checksum mismatch"


def test_a_flipped_bit_keeps_nothing_of_its_batch() -> None:
    """The checksum cannot say where a flip is: the batch is lost whole, as before."""
    damaged = bytearray(VALID)
    damaged[OFFSETS[1] + 28 + 50] ^= 0x01
    with ktrdump.open(io.BytesIO(bytes(damaged))) as trace:
        assert sum(1 for _ in trace) == 5 + 3
        [notice] = trace.notices
    assert notice.kept == 0 and notice.offset == OFFSETS[1]


def _fake_header(claim: int, count: int, flags: int, crc: int) -> bytes:
    import struct
    import zlib
    head = struct.pack("<4sHxxIIII", formats.BATCH_MAGIC, flags, count, claim, claim, crc)
    return head + struct.pack("<I", zlib.crc32(head))


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 400), st.integers(0, 3),
                          st.integers(0, 1), st.binary(max_size=40)), max_size=6),
       st.integers(0, 2))
def test_resynchronisation_equals_the_specification(
        inserts: list[tuple[int, int, int, int, bytes]], flips: int) -> None:
    batches = [syscall_batch(3), syscall_batch(2, pid=9), syscall_batch(4), syscall_batch(1)]
    data, offsets = build_trace(batches)
    pieces = bytearray(data)
    # Insert fake checksum-valid headers (claims of any length) and garbage
    # between batches, from the last offset backwards so offsets stay right.
    for index, claim, count, flags, garbage in sorted(inserts, key=lambda i: -i[0]):
        at = offsets[index]
        pieces[at:at] = garbage + _fake_header(claim, count, flags, 0xDEAD) + garbage
    for n in range(flips):  # and damage the first real batch's payload
        pieces[offsets[0] + 30 + n] ^= 0x5A
    mutated = bytes(pieces)
    expected_raws, expected_notices = _reference(mutated)
    with ktrdump.open(io.BytesIO(mutated)) as trace:
        raws = [event.data for event in trace.raw_events() if isinstance(event, RawBatch)]
        notices = [(n.offset, n.batches, n.bytes) for n in trace.notices]
    assert raws == expected_raws
    assert notices == expected_notices


def _events(data: bytes, salvage: bool) -> list[object]:
    with ktrdump.open(io.BytesIO(data)) as trace:
        trace.salvage = salvage
        return list(trace.events())


ORIGINAL = [event for event in _events(VALID, False) if isinstance(event, list)]


@SETTINGS
@given(st.lists(st.tuples(st.integers(OFFSETS[1] + 28, OFFSETS[2] - 1), st.integers(1, 255)),
                min_size=1, max_size=4, unique_by=lambda flip: flip[0]))
def test_salvage_marks_what_it_keeps_and_keeps_the_rest_exact(
        flips: list[tuple[int, int]]) -> None:
    """--salvage: records of a raw batch whose payload checksum fails come only after an
    Unverified notice naming them, at most as many as its header counts, then the batch
    is still reported skipped; the intact batches are exact; without --salvage nothing
    of it is shown."""
    from ktrdump._reader import Skipped, Unverified

    damaged = bytearray(VALID)
    for position, mask in flips:
        damaged[position] ^= mask
    plain = _events(bytes(damaged), False)
    assert [e for e in plain if isinstance(e, list)] == [ORIGINAL[0], ORIGINAL[2]]
    events = _events(bytes(damaged), True)
    assert events[0] == ORIGINAL[0] and events[-1] == ORIGINAL[2]
    middle = events[1:-1]
    assert isinstance(middle[-1], Skipped) and not isinstance(middle[-1], Unverified)
    assert middle[-1].offset == OFFSETS[1] and middle[-1].records == 4
    if len(middle) == 1:
        return  # nothing framed and decoded: nothing shown
    notice, records = middle[0], middle[1]
    assert isinstance(notice, Unverified) and isinstance(records, list) and len(middle) == 3
    assert notice.kept == len(records) <= 4 and notice.lost == 0
    assert notice.damage_at == OFFSETS[1] + 28
    assert notice.damage_at + notice.missing <= OFFSETS[2]
    # The records wholly before the first damaged byte are the writer's, exactly.
    first = min(position for position, _ in flips)
    ends = _record_ends(VALID, OFFSETS)
    before = sum(1 for end in ends if OFFSETS[1] < end <= first)
    assert records[:before] == ORIGINAL[1][:before]


class _Pipe:
    """A stream that cannot seek and gives at most ``chunk`` bytes a read (a pipe)."""

    def __init__(self, data: bytes, chunk: int) -> None:
        self._data = data
        self._chunk = chunk

    def read(self, size: int = -1) -> bytes:
        taken = self._data[:min(size if size > 0 else self._chunk, self._chunk)]
        self._data = self._data[len(taken):]
        return taken


@SETTINGS
@given(st.integers(0, OFFSETS[0] - 1), st.integers(0, 7), st.sampled_from([None, 1, 7, 4096]))
def test_salvage_reads_the_batches_after_a_damaged_header(position: int, bit: int,
                                                          chunk: int | None) -> None:
    """Any bit flipped in the file header: refused by default; --salvage reads every
    intact batch after it, in the byte order their own checksums vouch for, and says
    first that the header's fields are unknown (none of them is used). From a pipe
    (``chunk``: no seek, reads of a few bytes) exactly as from a file."""
    from ktrdump._reader import HeaderLost

    damaged = bytearray(VALID)
    damaged[position] ^= 1 << bit
    try:
        with ktrdump.open(io.BytesIO(bytes(damaged))):
            pass
    except KtrdumpError:
        pass
    else:
        # Not even one that makes the minor 0 (no checksum: SPEC reads a genuine
        # minor-0 header unchecked, but it has no bytes after its options).
        raise AssertionError("a damaged header was read as intact")
    try:
        stream = (io.BytesIO(bytes(damaged)) if chunk is None
                  else _Pipe(bytes(damaged), chunk))
        reader = ktrdump._reader.open_trace(stream, salvage=True)  # type: ignore[arg-type]
    except KtrdumpError as error:  # not a trace (magic), or an unknown major version
        assert not isinstance(error.format_error, formats.CorruptHeader)  # type: ignore[attr-defined]
        return
    with reader:
        events = list(reader.events())
    assert isinstance(events[0], HeaderLost) and events[0].bytes == OFFSETS[0]
    assert reader.header.hostname == "" and reader.header.options == {}
    assert [event for event in events[1:] if isinstance(event, list)] == ORIGINAL
