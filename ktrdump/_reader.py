"""Decode: iterate the records of a ktr trace from a file, a pipe or any binary stream.

Public reading API (re-exported as ``ktrdump.open``)::

    with ktrdump.open("ktr.out") as trace:      # or a binary stream, or "-" for stdin
        print(trace.header.hostname)            # formats.FileHeader
        for record in trace:                    # formats.Record, in file order
            ...
        trace.notices                           # [Skipped(...)] damaged regions passed over
        trace.skipped_batches                   # how many batches they held

``open`` reads and checks the file header at once: a missing file, an empty
file, a file that is not a ktr trace, an unknown major version or a damaged
header raise ``ktrdump.errors.InputError`` (``TraceFormatError`` for the
format problems, which keeps the byte offset). ``TraceReader.events()`` is the
lower-level form: it yields, in file order, one ``list[Record]`` per intact
batch (several for a batch of more than ``DECODE_CHUNK`` records) and one
``Skipped`` per damaged region, so a caller can report damage
where it happened. ``raw_events()`` and ``parsed_events(parse)`` yield the
same batches and notices, a batch's records undecoded (``RawBatch``) or as a
consumer's own parser made them (``ParsedBatch``: the parquet view's fast
path; a batch the parser refuses is decoded as ``events()`` decodes it).

Guarantees:

- Damage never raises: a batch that is not intact (bad magic, checksum,
  framing, compression, record count) becomes a ``Skipped`` notice naming its
  byte offset, and reading resumes at the next occurrence of
  ``formats.BATCH_MAGIC`` that begins an intact batch, searching from one byte
  after the damaged batch's start (``formats/SPEC.md``, "Damaged batches").
  ``Skipped.batches`` is one plus the number of batch headers with a valid
  header checksum passed over during that search. Input that ends inside a
  batch (a torn tail) is one ``Skipped`` for one batch.
- A torn tail of a raw (uncompressed) batch keeps what it still holds: its
  records that lie wholly before the cut and decode (``formats``'
  ``BatchFraming.salvage``: in order, each of header version 1 and a known
  kind) are yielded, then the ``Skipped`` notice with ``kept`` (how many),
  ``damage_at`` (the file offset of the first byte not kept) and ``missing``
  (bytes the batch needed beyond the input's end). No checksum covers those
  records (their batch's payload checksum needs the missing bytes): they are
  what a writer killed mid-write had written, trusted as far as they are well
  formed. A zstd batch cut short keeps nothing. So does a raw batch whose
  payload checksum fails, unless the search finds the next intact batch
  starting inside it (it was cut short and other batches follow: ``ktr
  record -a`` after a killed recorder); then it keeps its records before
  that batch, the same way. Its claimed payload is held (at most 16 MiB)
  while the search is inside it, for that.
- ``salvage`` (``ktrdump --salvage``) only: a raw batch whose payload checksum
  fails yields its records that frame and decode (as a torn tail's), after an
  ``Unverified`` notice naming them and their bytes, then its ``Skipped``;
  and a damaged file header (``CorruptHeader``) is not an error, from a file,
  a pipe or a followed file alike (the header's bytes are still buffered,
  nothing is read again): reading starts at the first batch whose header
  checksum holds in either byte order, ``header`` has every field empty
  (none of the damaged header is believed), and a ``HeaderLost`` notice
  comes first. Never without ``salvage``. A compressed (zstd) batch whose
  payload is damaged has no records to salvage (its payload does not
  decompress, or its checksum vouches for nothing): the first such batch's
  ``Skipped`` reason says so.
- Records of an intact batch are yielded exactly as ``formats`` decodes them;
  a damaged batch yields none (its records cannot be trusted), but for a torn
  tail (above).
- Memory is bounded by the largest batch plus one read chunk (1 MiB), twice
  the largest batch while resynchronising inside a damaged raw one (above): a
  sliding buffer, never the whole file. A batch is at most 16 MiB stored and
  decompressed (``formats.MAX_BATCH_BYTES``; zstd output is cut at the
  batch's length, whatever the frame claims), and a batch of more than
  ``DECODE_CHUNK`` records is checked whole, then decoded and yielded in lists
  of ``DECODE_CHUNK`` records, so its records never exist as objects at once.
- Time is linear in the input: a zstd batch decodes to at most 16 times its
  stored size, and resynchronising past damage checks each candidate
  header's payload checksum from prefix checksums (``_PrefixCrcs``) instead
  of reading its payload again, so crafted overlapping headers cost no more
  than their bytes.
- The end of input is checked: when the header says the recorder ends each
  recording with an END record (``"end_record": true`` in its options) and the
  last record read is not one, a ``CutShort`` notice (a ``Skipped`` of no
  batch) says the recording is still being written or was cut short.
- So is each recording of an appended file (``ktr record -a``): a batch that
  starts with a BEGIN record (a recording starts there) while the recording
  before it promised an END (the header's ``"end_record"``, or its own BEGIN)
  and the last record read before it is not an END, is preceded by a
  ``CutShort`` notice at that batch's offset: the recording before was cut
  short there (``formats/SPEC.md``, BEGIN). Only a batch's first record is
  looked at for BEGIN (the recorder writes it first, in a batch of its own),
  so this costs one look per batch. A damaged batch that held the END makes
  the recording look cut short, as at the end of input.
- Streams are read as they arrive: a read returns whatever the stream has (at
  least one byte, or end of input), so records of a live pipe come out batch
  by batch. End of input ends the iteration. A stream with a ``pauses``
  method (``_follow``'s, when the views reorder) is asked at each batch
  boundary, before reading on, for ``Pause`` events to yield there.
- The only exceptions iteration raises are ``InputError`` (an I/O error while
  reading); ``open`` raises ``InputError`` or ``TraceFormatError``.

Does not: follow a growing file by itself (a torn tail is reported, not
waited for; ``_follow`` gives it a stream that waits), name or format
anything (see ``_model`` and ``_describe``), or seek.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, BinaryIO, NamedTuple, TypeVar

import formats
from formats import BATCH_MAGIC, HEADER_PREFIX_SIZE, BatchHeader, FileHeader, Record

from .errors import InputError, TraceFormatError

#: Bytes asked for per read; also the most a single read adds to the buffer.
CHUNK_SIZE = 1 << 20
#: A batch of more records than this is decoded lazily, this many per list.
DECODE_CHUNK = 4096
#: Bytes kept before the position when the buffer slides (prefix checksums
#: of a resynchronisation are taken at points this far apart).
_CRC_STEP = 4096

STDIN_NAME = "<stdin>"


class Skipped(NamedTuple):
    """A damaged region the reader passed over (a notice, not an error)."""

    offset: int  # file offset of the first damaged batch
    batches: int  # batches lost (at least 1)
    bytes: int  # bytes passed over, from ``offset`` to where reading resumed
    reason: str  # what was wrong with the batch at ``offset``
    # A torn tail whose whole records were kept (``kept`` > 0): they were yielded
    # just before this notice; the damage starts at file offset ``damage_at``,
    # and the batch needed ``missing`` bytes more than the input holds.
    kept: int = 0
    records: int = 0  # the records the damaged batch's header counts
    damage_at: int = 0
    missing: int = 0
    # --salvage: records of the damaged batch at ``offset`` already shown, UNVERIFIED,
    # before this notice (an ``Unverified`` notice named them): not lost, not verified.
    # They end at file offset ``shown_to``.
    shown: int = 0
    shown_to: int = 0

    @property
    def lost(self) -> int:
        """Bytes of trace lost: those passed over, or for a torn tail whose records
        were kept, those from the damage on plus those missing from the input; for a
        batch whose records were shown UNVERIFIED (--salvage), those passed over after
        them (its header and they are not lost: SPEC, "Damaged batches")."""
        if self.kept:
            return self.offset + self.bytes - self.damage_at + self.missing
        if self.shown:
            return max(0, self.offset + self.bytes - self.shown_to)
        return self.bytes

    def describe(self) -> str:
        """One line: what, where, and how much was skipped."""
        if self.kept:
            lost = self.lost
            return (f"{self.reason} at byte offset {self.offset}; kept its first {self.kept} "
                    f"of {self.records} record{'' if self.records == 1 else 's'}; the damage "
                    "starts at byte offset "
                    f"{self.damage_at}: lost {lost} bytes ({self.missing} of them missing "
                    "from the input)")
        plural = "batch" if self.batches == 1 else "batches"
        if self.shown:
            return self._describe_shown(plural)
        held = (f"; its header, whose checksum holds, counts {self.records} record"
                f"{'' if self.records == 1 else 's'}" if self.records else "")
        return (
            f"{self.reason} at byte offset {self.offset}; "
            f"skipped {self.batches} {plural} ({self.bytes} bytes){held}"
        )


    def _describe_shown(self, plural: str) -> str:
        """The damage after an ``Unverified`` notice: its records were shown (just
        before), so the line says that, and what was skipped, if anything."""
        head = f"{self.reason} at byte offset {self.offset} ({self.batches} {plural}, " \
               f"{self.bytes} bytes)"
        whose = "its" if self.batches == 1 else "the first one's"
        lost = self.lost
        if self.batches == 1 and self.shown >= self.records and not lost:
            return (f"{head}: all {self.records} of its records are shown, UNVERIFIED "
                    "(--salvage); none was skipped")
        return (f"{head}: {self.shown} of {whose} {self.records} "
                f"record{'' if self.records == 1 else 's'} are shown, UNVERIFIED "
                f"(--salvage); the rest was skipped ({lost} bytes lost)")


class Unverified(Skipped):
    """Records shown though no checksum vouches for them (``--salvage``; a notice).

    They come from the raw batch at ``offset`` whose payload checksum fails:
    the ``kept`` records (of the ``records`` its header counts) that frame and
    decode consistently, in file order, from byte offset ``damage_at`` to
    ``damage_at + missing`` (here: the unverified range, not a loss). They
    follow this notice; the batch is still reported ``Skipped`` after them
    (the damage is somewhere in it, perhaps inside one of them), with ``shown``
    set: its line says they were shown, not that they were skipped. ``batches``
    and ``bytes`` are 0: nothing is passed over here.
    """

    @property
    def lost(self) -> int:
        return 0

    def describe(self) -> str:
        return (f"UNVERIFIED: {self.kept} of the {self.records} "
                f"record{'' if self.records == 1 else 's'} of the damaged batch at "
                f"byte offset {self.offset} ({self.reason}), byte offsets {self.damage_at} to "
                f"{self.damage_at + self.missing}, are shown though no checksum vouches for "
                "them (--salvage): any value in them may be damaged")


class HeaderLost(Skipped):
    """--salvage: the file header is damaged; the batches after it are read (a notice).

    ``bytes``: where the first batch read starts (the header's bytes, passed
    over). The header's fields (command line, options, host, kernel, start
    time) are unknown: the reader's ``header`` has them empty. A recording's
    BEGIN record, in its own checksummed batch, still says its options.
    """

    def describe(self) -> str:
        return (f"{self.reason}; --salvage reads the batches from byte offset {self.bytes} "
                "on: the header's command line, options, host, kernel and start time are "
                "unknown (a BEGIN record, if intact, still gives the options)")


#: ``CutShort.reason``: the input ended inside a recording.
NO_END_AT_END = "no END record"
#: ``CutShort.reason``: another recording (a BEGIN) started inside one.
NO_END_BEFORE_BEGIN = "no END record before the next recording's BEGIN"
#: ``CutShort.reason``: a followed input ended because its recorder no longer runs.
NO_END_RECORDER_GONE = "no END record, and its recorder is gone"


class CutShort(Skipped):
    """A recording without the END record ``ktr record`` writes last (a notice).

    At the end of input (``reason`` ``NO_END_AT_END``): the recording is still
    being written, or it was cut short (the recorder was killed, the copy is
    partial). Before a BEGIN (``NO_END_BEFORE_BEGIN``, an appended file): the
    recording before it was cut short. Either way records it had not written
    are missing. Following a file (``NO_END_RECORDER_GONE``): the input ended
    because the recorder the BEGIN names no longer runs, so the recording was
    cut short. ``batches`` and ``bytes`` are 0; ``offset`` is where the input
    ended, or where the batch holding the next recording's BEGIN starts.
    """

    def describe(self) -> str:
        cut = ("cut short (ktr record was killed, or its output failed) and records it had "
               "not written are missing")
        if self.reason == NO_END_BEFORE_BEGIN:
            return (f"no END record before the recording that begins at byte offset "
                    f"{self.offset}: the recording before it was {cut}")
        if self.reason == NO_END_RECORDER_GONE:
            # Following found the recorder dead: it will write nothing more.
            return (f"no END record at byte offset {self.offset} (end of input), and the "
                    f"recorder is gone (no longer running): the recording was {cut}")
        return (f"no END record at byte offset {self.offset} (end of input): the recording "
                f"is still being written, or it was {cut}")


#: What the reader reads from: any stream whose ``read`` returns bytes.
BinaryStream = BinaryIO | io.RawIOBase | io.BufferedIOBase


class Pause(NamedTuple):
    """Yielded between batches, from a followed input only (a stream with ``pauses``):
    nothing more can be read at once (``idle_ns`` 0: what is held may be shown now), or
    nothing came for ``idle_ns`` (what is held may be let go: ``_merge``)."""

    idle_ns: int


class RawBatch(NamedTuple):
    """An intact batch whose records are not decoded (``TraceReader.raw_events``)."""

    offset: int  # file offset of the batch
    data: bytes  # its records back to back, decompressed: header, payload, header, ...
    record_count: int  # how many records ``data`` holds


class ParsedBatch(NamedTuple):
    """An intact batch as a consumer's own parser made it (``TraceReader.parsed_events``)."""

    offset: int  # file offset of the batch
    data: bytes  # its records back to back, decompressed
    record_count: int  # how many records ``data`` holds
    parsed: Any  # what the parser made of ``data``


#: A batch parser (``parsed_events``): a batch's raw records -> (record count, result);
#: raises ``ValueError`` (or ``struct.error``) for anything it does not take.
BatchParser = Callable[[bytes], tuple[int, Any]]

#: What ``TraceReader.events`` yields: the records of one intact batch, or a notice.
Event = list[Record] | Skipped
#: What ``TraceReader.raw_events`` yields.
RawEvent = RawBatch | Skipped

_Batch = TypeVar("_Batch", list[Record], RawBatch)


class TraceReader:
    """A trace being read: its header, then its records (see the module docstring)."""

    def __init__(self, stream: BinaryStream, name: str, *, owns_stream: bool = False,
                 salvage: bool = False) -> None:
        self.name = name
        # --salvage: a raw batch whose payload checksum fails shows the records that
        # frame and decode, after an ``Unverified`` notice (formats/SPEC.md).
        self.salvage = salvage
        self._said_compressed = False  # --salvage: a compressed batch's damage, said once
        # (records shown, records counted, where they end) of the last --salvage batch
        # shown unverified
        self._unverified_shown = (0, 0, 0)
        self.notices: list[Skipped] = []
        self._stream = stream
        self._owns_stream = owns_stream
        read1 = getattr(stream, "read1", None)
        self._read = read1 if callable(read1) else stream.read
        self._buffer = b""
        self._position = 0  # index into _buffer of the next unread byte
        self._base = 0  # file offset of _buffer[0]
        self._at_end = False
        self._keep_behind = 0
        self._batch_offset = 0  # file offset of the batch whose records were yielded last
        self._header_notice: Skipped | None = None
        #: --salvage read past a damaged file header: ``header``'s fields are unknown
        #: (empty, ``realtime_ns`` 0), not the recording's.
        self.header_lost = False
        try:
            try:
                self.header, self.header_size = self._read_header()
            except TraceFormatError as error:
                if not salvage or not isinstance(error.format_error, formats.CorruptHeader):
                    raise
                self.header, self.header_size = self._salvage_header(error)
        except BaseException:
            self.close()
            raise
        self._framing = formats.batch_framing(self.header.byte_order)
        self.record_codec = self._framing.codec  # for consumers of ``raw_events``

    # -- public -------------------------------------------------------------

    @property
    def skipped_batches(self) -> int:
        """Batches lost to damage so far (the sum over ``notices``)."""
        return sum(notice.batches for notice in self.notices)

    @property
    def buffered(self) -> int:
        """Bytes read from the input but not yet looked at (past ``offset``)."""
        return self._available()

    @property
    def offset(self) -> int:
        """File offset of the next byte the reader will look at."""
        return self._base + self._position

    def __iter__(self) -> Iterator[Record]:
        for event in self.events():
            if not isinstance(event, Skipped):
                yield from event

    def events(self) -> Iterator[Event]:
        """Yield each intact batch's records and each ``Skipped`` notice, in file order.

        The last event is a ``CutShort`` notice when the input ended and its last
        record is not the END its header promises (``"end_record"``; not when
        following was stopped, or ended because the file was truncated or replaced).
        """
        return self._ended(self._batches(self._decode, _salvaged_records))

    def raw_events(self) -> Iterator[RawEvent]:
        """Yield each intact batch as a ``RawBatch`` (records not decoded) and each notice.

        The same batches and the same notices as ``events``, in the same
        order, for consumers that look at a few record kinds only and decode
        those themselves (``_summary``). The framing is verified as for
        ``events`` (checksums, lengths, record count, every record's length
        within the batch); payloads are not decoded, so a payload that is
        malformed despite a valid batch checksum (a writer bug, not damage)
        is not detected here: a consumer decoding a payload checks its bounds.
        """
        return self._ended(self._batches(self._decode_raw, _salvaged_raw))

    def parsed_events(self, parse: BatchParser) -> Iterator[ParsedBatch | list[Record] | Skipped]:
        """As ``events``, with each intact batch that ``parse`` takes as a ``ParsedBatch``.

        The same batches and notices as ``events``, in the same order: a batch
        whose framing and checksums hold is given to ``parse``; one it does not
        take (it raised, or counted other than the batch header says) is
        decoded as ``events`` decodes it, which yields its records as lists, or
        finds the same damage ``events`` finds and reports it the same way; so
        is a batch of more than ``DECODE_CHUNK`` records (memory: its records
        never exist as objects at once, as with ``events``). So
        a parser must refuse every batch ``events`` would find damaged (a
        payload its fields overrun): it may refuse more, never less.
        """
        def decode(batch: BatchHeader, stored: bytes, offset: int) -> Iterable[Any]:
            if batch.record_count > DECODE_CHUNK:
                # decoded lazily, in chunks, as events() does: a parser's items for
                # the whole of a large batch would exist at once
                return self._decode(batch, stored, offset)
            raw = self._framing.payload(batch, stored, offset)
            try:
                count, parsed = parse(raw)
            except (ValueError, struct.error):
                count = -1
            if count == batch.record_count:
                return (ParsedBatch(offset, raw, count, parsed),)
            return self._decode(batch, stored, offset)

        events: Iterator[Any] = self._ended(self._batches(decode, _salvaged_records))
        return events

    @property
    def live(self) -> bool:
        """Whether the input is a pipe, socket or terminal, or a followed file (``_follow``)."""
        if getattr(self._stream, "following", False):
            return True
        try:
            return not stat.S_ISREG(os.fstat(self._stream.fileno()).st_mode)
        except (AttributeError, OSError, ValueError):
            return False

    def fileno(self) -> int | None:
        """The input's descriptor, or None for a stream without one (``io.BytesIO``)."""
        try:
            return self._stream.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def close(self) -> None:
        if self._owns_stream:
            self._stream.close()

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- the batch loop -----------------------------------------------------

    def _ended(self, events: Iterator[_Batch | Skipped]) -> Iterator[_Batch | Skipped]:
        """``events``, with ``CutShort`` before a BEGIN that comes inside a recording
        promising an END, and at the end if the last recording has no END."""
        byte_order = self.header.byte_order
        # Whether the recording being read promises an END (a BEGIN makes it so). It has
        # records after its last END when the last record read is not one: looked at
        # only at a BEGIN and at the end (for a raw batch that walks its records).
        promised = self.header.options.get("end_record") is True
        begin_kind = _begin_kind(byte_order)
        last: list[Record] | RawBatch | None = None
        for event in events:
            if type(event) is list:
                if not event:
                    yield event
                    continue
                begins = event[0][0] == _BEGIN
                offset = self._batch_offset
            elif type(event) is RawBatch or type(event) is ParsedBatch:
                begins = event.data[4:6] == begin_kind
                offset = event.offset
            else:
                yield event
                continue
            if begins:
                if promised and last is not None and not ends_recording(last, byte_order):
                    yield self._notice(CutShort(offset, 0, 0, NO_END_BEFORE_BEGIN))
                promised = True
            last = event
            yield event
        if getattr(self._stream, "ended", None):
            return  # a followed file truncated or replaced: the follower says so
        if not promised:
            return  # written by a recorder that does not end with END
        if last is None or not ends_recording(last, byte_order):
            gone = getattr(self._stream, "recorder_gone", False) is True
            yield self._notice(CutShort(self.offset, 0, 0,
                                        NO_END_RECORDER_GONE if gone else NO_END_AT_END))

    def _batches(self, decode: Callable[[BatchHeader, bytes, int], Iterable[_Batch]],
                 salvaged: Callable[[list[Record], bytes, int], Iterable[_Batch]],
                 ) -> Iterator[_Batch | Skipped]:
        """Yield ``decode``'s results for each intact batch, and each ``Skipped`` notice.

        ``decode`` checks the whole batch before it returns (raising
        ``CorruptBatch``) and returns what to yield for it; ``salvaged`` gives
        what to yield for the records kept from a torn tail (their bytes, and
        the batch's offset).
        """
        framing = self._framing
        header_size = framing.size
        if self._header_notice is not None:
            yield self._notice(self._header_notice)
            self._header_notice = None
        # A followed input that reorders (``_follow``): at each batch boundary it may
        # say, with ``Pause`` events, that the input has nothing more for now.
        pauses = getattr(self._stream, "pauses", None)
        while True:
            if pauses is not None:
                yield from pauses(self._available())
            if not self._fill(header_size):
                left = self._available()
                if left == 0:
                    return
                yield self._skip_to_end(self.offset, 1, "input ends inside a batch header")
                return
            offset = self.offset
            start = self._position
            try:
                batch = framing.parse_header(self._buffer[start : start + header_size], offset)
            except formats.CorruptBatch as error:
                yield from self._resynchronise(offset, error.message, decode)
                continue
            total = header_size + batch.stored_length
            if not self._fill(total):
                yield from self._torn_tail(batch, offset, salvaged)
                return
            start = self._position
            stored = self._buffer[start + header_size : start + total]
            try:
                decoded = decode(batch, stored, offset)
            except formats.CorruptBatch as error:
                # A raw batch whose payload checksum fails may have been cut short and
                # followed by another recording's batches (ktr record -a after a killed
                # recorder): kept until the search shows whether one starts inside it.
                cut = (_Cut(batch, stored) if not batch.flags & formats.BATCH_FLAG_ZSTD
                       and zlib.crc32(stored) != batch.payload_crc else None)
                del stored
                reason = error.message
                if (self.salvage and batch.flags & formats.BATCH_FLAG_ZSTD
                        and not self._said_compressed):
                    # Asked to salvage, given nothing: say why, once.
                    self._said_compressed = True
                    reason += (" (compressed: --salvage cannot recover the records of a "
                               "damaged compressed batch)")
                yield from self._resynchronise(offset, reason, decode, salvaged, cut,
                                               held=batch.record_count)
                continue
            del stored
            self._position = start + total
            self._batch_offset = offset
            yield from decoded

    def _decode(self, batch: BatchHeader, stored: bytes, offset: int) -> Iterable[list[Record]]:
        """Check a whole batch, then give its records: one list, or lazily decoded
        lists of at most ``DECODE_CHUNK`` records for a large batch."""
        framing = self._framing
        if batch.record_count <= DECODE_CHUNK:
            return (framing.decode(batch, stored, offset),)
        raw = framing.payload(batch, stored, offset)
        framing.check_records(batch, raw, offset)
        chunks = framing.codec.record_chunks
        try:
            # A first pass that keeps nothing: a payload that does not decode
            # must make the whole batch damaged before any of it is yielded.
            for _ in chunks(raw, DECODE_CHUNK):
                pass
        except formats.PayloadError as error:
            raise formats.CorruptBatch(f"damaged record in batch ({error})", offset) from None
        return chunks(raw, DECODE_CHUNK)

    def _decode_raw(self, batch: BatchHeader, stored: bytes, offset: int) -> tuple[RawBatch]:
        """``BatchFraming.decode``'s checks, without decoding the records."""
        framing = self._framing
        raw = framing.payload(batch, stored, offset)
        return (RawBatch(offset, raw, framing.check_records(batch, raw, offset)),)

    def _torn_tail(self, batch: BatchHeader, offset: int,
                   salvaged: Callable[[list[Record], bytes, int], Iterable[_Batch]],
                   ) -> Iterator[_Batch | Skipped]:
        """The input ended inside the batch at ``offset`` (its header intact): keep the
        whole records before the cut (``BatchFraming.salvage``), then say what was lost."""
        reason = "input ends inside a batch (torn tail)"
        header_size = self._framing.size
        payload_start = self._position + header_size
        present = self._buffer[payload_start:]
        records, used = self._framing.salvage(batch, present)
        if not records:
            yield self._skip_to_end(offset, 1, reason)
            return
        kept = len(records)
        self._position = payload_start + used
        self._batch_offset = offset
        yield from salvaged(records, present[:used], offset)
        del records, present
        damage_at = self.offset
        missing = batch.stored_length - (len(self._buffer) - payload_start)
        self._position = len(self._buffer)
        yield self._notice(Skipped(offset, 1, self.offset - offset, reason, kept=kept,
                                   records=batch.record_count, damage_at=damage_at,
                                   missing=missing))

    # -- the file header ----------------------------------------------------

    def _read_header(self) -> tuple[FileHeader, int]:
        try:
            self._fill(HEADER_PREFIX_SIZE)
            prefix = formats.parse_header_prefix(self._take(HEADER_PREFIX_SIZE))
            self._fill(prefix.body_length)
            header = formats.parse_header_body(prefix, self._take(prefix.body_length))
        except formats.FormatError as error:
            raise TraceFormatError(self.name, error) from None
        return header, HEADER_PREFIX_SIZE + prefix.body_length

    def _salvage_header(self, error: TraceFormatError) -> tuple[FileHeader, int]:
        """--salvage, the file header damaged: read on from the first batch header whose
        checksum holds in either byte order (that checksum vouches for the order).
        Nothing of the damaged header is used: its fields are unknown (empty), and a
        ``HeaderLost`` notice says so before the first batch."""
        # Every byte from the header's fixed prefix on is still in the buffer (the
        # header's reads only slid it past the prefix), so a pipe or a followed
        # file is read on from there as a file is: nothing needs reading again.
        at = HEADER_PREFIX_SIZE
        if not self._base <= at <= self._base + len(self._buffer):
            raise error from None  # the prefix itself is incomplete: nothing after it
        self._position = at - self._base
        while self._find_magic():
            for order in ("little", "big"):
                framing = formats.batch_framing(order)
                if self._fill(framing.size) and framing.header_checksum_valid(
                        self._buffer[self._position : self._position + framing.size]):
                    at = self.offset
                    header = FileHeader(hostname="", kernel_release="", machine="",
                                        realtime_ns=0, monotonic_ns=0, ktr_version="",
                                        options={}, byte_order=order,
                                        major=formats.FORMAT_MAJOR, minor=0)
                    self._header_notice = HeaderLost(0, 0, at, str(error.format_error))
                    self.header_lost = True
                    return header, at
            self._position += 1
        raise error from None

    # -- damaged batches ----------------------------------------------------

    def _resynchronise(
        self, offset: int, reason: str,
        decode: Callable[[BatchHeader, bytes, int], Iterable[_Batch]],
        salvaged: Callable[[list[Record], bytes, int], Iterable[_Batch]] | None = None,
        cut: _Cut | None = None, held: int = 0,
    ) -> Iterator[_Batch | Skipped]:
        """Skip from the damaged batch at ``offset`` to the next intact one.

        ``held``: the records the damaged batch's header counts, when its header
        checksum holds (said in the notice).

        Linear in the bytes passed over, whatever they hold: a candidate's
        payload checksum comes from prefix checksums (``_PrefixCrcs``), not
        from its bytes; only a candidate whose checksums both hold is decoded,
        and if it still fails (something its writer did, not damage), the
        search goes on after it, so no byte is decoded twice.
        """
        self._position = offset + 1 - self._base
        prefixes = _PrefixCrcs()
        self._keep_behind = _CRC_STEP
        try:
            yield from self._search(offset, reason, decode, prefixes, salvaged, cut, held)
        finally:
            self._keep_behind = 0

    def _search(
        self, offset: int, reason: str,
        decode: Callable[[BatchHeader, bytes, int], Iterable[_Batch]], prefixes: _PrefixCrcs,
        salvaged: Callable[[list[Record], bytes, int], Iterable[_Batch]] | None,
        cut: _Cut | None, held: int = 0,
    ) -> Iterator[_Batch | Skipped]:
        framing = self._framing
        damaged = cut  # the raw batch whose payload checksum fails, for --salvage
        header_size = framing.size
        batches = 1
        claimed_end = offset + header_size + (cut.batch.stored_length if cut else 0)
        while self._find_magic():
            candidate = self.offset
            if cut is not None and candidate >= claimed_end:
                cut = None  # past the damaged batch: it was not cut short by another
            if not self._fill(header_size):
                break
            start = self._position
            head = self._buffer[start : start + header_size]
            try:
                batch = framing.parse_header(head, candidate)
            except formats.CorruptBatch:
                if self._header_checksum_valid(head):
                    batches += 1
                self._position += 1
                continue
            batches += 1  # counted as passed over unless it proves intact
            total = header_size + batch.stored_length
            if not self._fill(total):
                # Claims more than the input holds: a torn tail, or a fake.
                self._position += 1
                continue
            start = self._position
            payload_at = self._base + start + header_size
            crc = prefixes.slice_crc(self._buffer, self._base, payload_at,
                                     payload_at + batch.stored_length)
            if crc != batch.payload_crc:
                self._position += 1
                continue
            try:
                decoded = decode(batch, self._buffer[start + header_size : start + total],
                                 candidate)
            except formats.CorruptBatch:
                self._position = start + total
                continue
            batches -= 1
            self._position = start + total
            self._keep_behind = 0
            notice = Skipped(offset, batches, candidate - offset, reason, records=held)
            payload_at = offset + header_size
            if cut is not None and salvaged is not None and candidate >= payload_at:
                # The next intact batch starts inside the damaged one: that one was
                # cut short there, and keeps its whole records before the cut.
                records, used = framing.salvage(cut.batch, cut.stored[:candidate - payload_at])
                if records:
                    self._batch_offset = offset
                    yield from salvaged(records, cut.stored[:used], offset)
                    notice = notice._replace(kept=len(records), records=cut.batch.record_count,
                                             damage_at=payload_at + used,
                                             missing=claimed_end - candidate)
                    damaged = None
                del records
            elif damaged is not None and salvaged is not None and self.salvage:
                yield from self._unverified(damaged, offset, salvaged)
                notice = self._shown_unverified(notice)
            cut = damaged = None
            yield self._notice(notice)
            self._batch_offset = candidate
            yield from decoded
            return
        shown = None
        if damaged is not None and salvaged is not None and self.salvage:
            yield from self._unverified(damaged, offset, salvaged)
            shown = self._shown_unverified
        yield self._skip_to_end(offset, batches, reason, held, shown)

    def _unverified(self, damaged: _Cut, offset: int,
                    salvaged: Callable[[list[Record], bytes, int], Iterable[_Batch]],
                    ) -> Iterator[_Batch | Skipped]:
        """--salvage: the records of a raw batch whose payload checksum fails that frame
        and decode consistently, after an ``Unverified`` notice naming their bytes."""
        self._unverified_shown = (0, 0, 0)
        records, used = self._framing.salvage(damaged.batch, damaged.stored)
        if not records:
            return
        self._unverified_shown = (len(records), damaged.batch.record_count,
                                  offset + self._framing.size + used)
        batch_offset = self._batch_offset
        self._batch_offset = offset
        yield self._notice(Unverified(offset, 0, 0, "batch payload checksum mismatch",
                                      kept=len(records), records=damaged.batch.record_count,
                                      damage_at=offset + self._framing.size, missing=used))
        yield from salvaged(records, damaged.stored[:used], offset)
        self._batch_offset = batch_offset

    def _shown_unverified(self, notice: Skipped) -> Skipped:
        """``notice`` (the damaged batch's) saying the records ``_unverified`` just showed."""
        shown, records, shown_to = self._unverified_shown
        return (notice._replace(shown=shown, records=records, shown_to=shown_to) if shown
                else notice)

    def _header_checksum_valid(self, head: bytes) -> bool:
        # Counts batches passed over even when parse_header rejects them for
        # another reason (unknown flags, implausible lengths): SPEC counts
        # every header whose checksum holds.
        return self._framing.header_checksum_valid(head)

    def _skip_to_end(self, offset: int, batches: int, reason: str, held: int = 0,
                     shown: Callable[[Skipped], Skipped] | None = None) -> Skipped:
        while self._fill(self._available() + 1):
            self._position = len(self._buffer)
        self._position = len(self._buffer)
        notice = Skipped(offset, batches, self.offset - offset, reason, records=held)
        return self._notice(notice if shown is None else shown(notice))

    def _notice(self, notice: Skipped) -> Skipped:
        self.notices.append(notice)
        return notice

    # -- the sliding buffer -------------------------------------------------

    def _available(self) -> int:
        return len(self._buffer) - self._position

    def _take(self, size: int) -> bytes:
        start = self._position
        data = self._buffer[start : start + size]
        self._position = start + len(data)
        return data

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available from the position; False if the input ends first."""
        have = self._available()
        if have >= need:
            return True
        if self._at_end:
            return False
        # While resynchronising, keep a little before the position: prefix
        # checksums resume from a point at most _CRC_STEP bytes back.
        keep_from = max(0, self._position - self._keep_behind)
        parts = [self._buffer[keep_from:]]
        self._base += keep_from
        self._position -= keep_from
        have = len(parts[0]) - self._position
        while have < need:
            chunk = self._read_chunk(max(need - have, CHUNK_SIZE))
            if not chunk:
                self._at_end = True
                break
            parts.append(chunk)
            have += len(chunk)
        self._buffer = b"".join(parts)
        return have >= need

    def _find_magic(self) -> bool:
        """Move to the next ``BATCH_MAGIC`` at or after the position; False at end of input."""
        keep = len(BATCH_MAGIC) - 1
        while True:
            found = formats.find_batch(self._buffer, self._position)
            if found >= 0:
                self._position = found
                return True
            # The magic may straddle the next read: keep its possible start.
            self._position = max(self._position, len(self._buffer) - keep)
            if not self._fill(self._available() + 1):
                self._position = len(self._buffer)
                return False

    def _read_chunk(self, size: int) -> bytes:
        try:
            chunk = self._read(size)
        except OSError as error:
            raise InputError(self.name, error.strerror or str(error)) from None
        if chunk is None:  # a non-blocking raw stream with nothing ready
            raise InputError(self.name, "input stream is non-blocking; ktrdump reads blocking")
        return bytes(chunk)


class _Cut(NamedTuple):
    """A raw batch whose payload checksum failed: perhaps cut short, then followed."""

    batch: BatchHeader
    stored: bytes  # the bytes its header claims (another batch's among them, if cut)


class _PrefixCrcs:
    """CRC-32 of the input from an origin, remembered every ``_CRC_STEP`` bytes.

    The checksum of any slice then costs at most two steps of bytes plus a
    shift (``formats.slice_crc32``); the points are computed once as the
    slices asked for reach further, so the total work is linear in the input.
    """

    def __init__(self) -> None:
        self._origin = -1  # file offset of point 0 (-1: none yet)
        self._points: list[int] = []  # crc32(input[origin : origin + i * _CRC_STEP])

    def slice_crc(self, buffer: bytes, base: int, start: int, stop: int) -> int:
        """CRC-32 of input[start:stop] (file offsets; ``buffer`` holds the input
        from file offset ``base`` on, including ``_CRC_STEP`` bytes before ``start``)."""
        if self._origin < 0 or self._frontier() < base or start < self._origin:
            # The points are behind the buffer: begin again at this slice.
            self._origin = start
            self._points = [0]
        view = memoryview(buffer)
        at_start = self._prefix(view, base, start)
        at_stop = self._prefix(view, base, stop)
        return formats.slice_crc32(at_start, at_stop, stop - start)

    def _frontier(self) -> int:
        return self._origin + (len(self._points) - 1) * _CRC_STEP

    def _prefix(self, view: memoryview, base: int, position: int) -> int:
        points = self._points
        index = (position - self._origin) // _CRC_STEP
        while len(points) <= index:
            frontier = self._frontier() - base
            points.append(zlib.crc32(view[frontier : frontier + _CRC_STEP], points[-1]))
        point = self._origin + index * _CRC_STEP - base
        return zlib.crc32(view[point : position - base], points[index])


def _salvaged_records(records: list[Record], data: bytes, offset: int
                      ) -> Iterator[list[Record]]:
    """A torn tail's kept records, as ``events`` yields a batch's (``DECODE_CHUNK`` a list)."""
    for start in range(0, len(records), DECODE_CHUNK):
        yield records[start:start + DECODE_CHUNK]


def _salvaged_raw(records: list[Record], data: bytes, offset: int) -> tuple[RawBatch]:
    """A torn tail's kept records, as ``raw_events`` yields a batch."""
    return (RawBatch(offset, data, len(records)),)


_END = int(formats.RecordKind.END)
_BEGIN = int(formats.RecordKind.BEGIN)


def _begin_kind(byte_order: formats.ByteOrder) -> bytes:
    """BEGIN's kind as the record header's ``kind`` field holds it (bytes 4-5)."""
    return _BEGIN.to_bytes(2, byte_order)


def _record_head(byte_order: formats.ByteOrder) -> struct.Struct:
    """A record header's first fields, ``length`` and ``kind`` (SPEC's record header)."""
    return struct.Struct("<IH" if byte_order == "little" else ">IH")


def ends_recording(batch: list[Record] | RawBatch, byte_order: formats.ByteOrder) -> bool:
    """Whether an intact batch's last record is an END (the recording ended there)."""
    if type(batch) is list:
        return bool(batch) and batch[-1][0] == _END
    records = batch.data  # type: ignore[union-attr]
    head = _record_head(byte_order)
    header_size = formats.codec(byte_order).header.size
    position, kind = 0, None
    while position + header_size <= len(records):  # the framing checked every length
        length, kind = head.unpack_from(records, position)
        position += header_size + length
    return kind == _END


def recording_begin(batch: list[Record] | RawBatch,
                    codec: formats.Codec) -> formats.Begin | None:
    """The BEGIN an intact batch starts with (the recorder writes it first), or None.

    A raw batch's first payload is decoded here only when it is a BEGIN; a
    damaged one is not reported (the raw path does not decode payloads).
    """
    if type(batch) is list:
        payload = batch[0].payload if batch and batch[0][0] == _BEGIN else None
        return payload if isinstance(payload, formats.Begin) else None
    data = batch.data  # type: ignore[union-attr]
    header_size = codec.header.size
    if len(data) < header_size:
        return None
    length, kind = _record_head(codec.order).unpack_from(data)
    if kind != _BEGIN or header_size + length > len(data):
        return None
    try:
        payload = codec.decode_payload(kind, data, header_size, header_size + length)
    except formats.PayloadError:
        return None
    return payload if isinstance(payload, formats.Begin) else None


def open_trace(source: str | os.PathLike[str] | BinaryStream, *,
               salvage: bool = False) -> TraceReader:
    """Open a trace: a path, ``"-"`` for standard input, or a binary stream.

    Reads and checks the file header before returning. Raises ``InputError``
    (missing file, permission, I/O error) or ``TraceFormatError`` (not a trace,
    empty, unknown major version, damaged header), each one line naming the
    input.
    """
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if path == "-":
            return TraceReader(sys.stdin.buffer, STDIN_NAME, salvage=salvage)
        try:
            stream: BinaryIO = open(path, "rb", buffering=0)  # noqa: SIM115 - the reader closes it
        except OSError as error:
            raise InputError(path, error.strerror or str(error)) from None
        return TraceReader(stream, path, owns_stream=True, salvage=salvage)
    name = getattr(source, "name", None)
    return TraceReader(source, name if isinstance(name, str) else "<stream>", salvage=salvage)
