"""The file header and the batch framing.

Guarantees: ``encode_*`` and ``parse_*`` are exact inverses; every parse error
is a ``FormatError`` naming the byte offset it was found at (callers pass the
offset of the buffer they hand in); a file header of minor 1 or later is
accepted only if its CRC-32 (its last four bytes) holds, so one flipped bit
anywhere in it (a time, a byte of the options) is refused, not believed (a
minor-0 header has no checksum and is read unchecked); a batch is accepted
only if its header checksum, payload checksum, lengths and record count all
agree, so one damaged batch never yields wrong records -- except through
``salvage``, which a reader calls only for a raw batch cut short by the end of
its input (a killed writer): the whole records before the cut that decode
are returned although no checksum covers them; nothing here writes what it would refuse
(a batch over ``MAX_BATCH_BYTES`` or past ``MAX_COMPRESSION_RATIO``, a header
body over ``MAX_HEADER_BODY``), and decompression never produces more than the
batch header's length plus one byte, whatever the zstd frame claims.

Does not: read streams, wait for data or skip damaged regions; that is the
reader's job (``ktrdump``), using ``find_batch`` here to resynchronise.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ._codec import Codec, PayloadError, codec, generated_layout
from ._kinds import RecordKind
from ._records import Record
from ._schema import (
    BATCH_MAGIC,
    BYTE_ORDER_MARKS,
    FILE_MAGIC,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    RECORD_VERSION,
    ByteOrder,
)
from .errors import CorruptBatch, CorruptHeader, NotATraceFile, UnsupportedVersion

if TYPE_CHECKING:
    # Imported by the first compressed batch read (and by the writer that
    # compresses): with the platform module it brings, a few ms of start-up.
    import zstandard

_PREAMBLE = generated_layout("little", "preamble").fixed  # the same bytes in either order
_PREAMBLE_SIZE = _PREAMBLE.size
_MAJOR_OFFSET = _PREAMBLE_SIZE + 3  # after the padding
_HEADER_FIELDS = {order: generated_layout(order, "header_fields").fixed
                  for order in BYTE_ORDER_MARKS}
_HEADER_CHECKSUM = {order: generated_layout(order, "header_checksum").fixed
                    for order in BYTE_ORDER_MARKS}
#: The first minor whose header ends with its checksum.
HEADER_CHECKSUM_MINOR = 1
#: Bytes before the header body: magic, byte order, padding, major, minor, body length.
HEADER_PREFIX_SIZE = _PREAMBLE_SIZE + _HEADER_FIELDS["little"].size
#: The header body, packed by hand (its strings carry their own lengths, so
#: it has no fixed layout to derive); ``tests/test_format_equivalence.py``
#: proves these agree with the schema's ``header_body`` byte for byte, both ways:
#: two 64-bit times, then strings, each after its length.
_STRUCT_ORDER: dict[ByteOrder, str] = {"little": "<", "big": ">"}
_BODY_TIMES = {order: struct.Struct(f"{mark}qq") for order, mark in _STRUCT_ORDER.items()}
_BODY_STRINGS = ("ktr_version", "hostname", "kernel_release", "machine", "options")
_BODY_LENGTHS = {order: tuple(struct.Struct(mark + width) for width in "HHHHI")
                 for order, mark in _STRUCT_ORDER.items()}


def _pack_header_body(order: ByteOrder, realtime_ns: int, monotonic_ns: int,
                      strings: Sequence[str]) -> bytes:
    parts = [_BODY_TIMES[order].pack(realtime_ns, monotonic_ns)]
    for name, text, length in zip(_BODY_STRINGS, strings, _BODY_LENGTHS[order], strict=True):
        data = text.encode("utf-8")
        if len(data) >= 1 << (8 * length.size):
            raise ValueError(f"header {name} of {len(data)} bytes does not fit its length field")
        parts += (length.pack(len(data)), data)
    return b"".join(parts)


def _unpack_header_body(order: ByteOrder, body: bytes) -> tuple[int, int, list[str]]:
    """Times and strings; bytes after them (a newer minor's fields) are ignored.

    Raises ValueError (UnicodeDecodeError among them) on a body that ends early
    or holds a string that is not UTF-8.
    """
    realtime_ns, monotonic_ns, strings, _ = _read_header_body(order, body)
    return realtime_ns, monotonic_ns, strings


def _read_header_body(order: ByteOrder, body: bytes) -> tuple[int, int, list[str], int]:
    """``_unpack_header_body``'s, and how many bytes of ``body`` the fields take."""
    times = _BODY_TIMES[order]
    if len(body) < times.size:
        raise ValueError("header body ends inside its times")
    realtime_ns, monotonic_ns = times.unpack_from(body)
    position = times.size
    strings: list[str] = []
    for length in _BODY_LENGTHS[order]:
        if position + length.size > len(body):
            raise ValueError("header body ends inside a string length")
        (size,) = length.unpack_from(body, position)
        position += length.size
        if position + size > len(body):
            raise ValueError("header body ends inside a string")
        strings.append(body[position:position + size].decode("utf-8"))
        position += size
    return realtime_ns, monotonic_ns, strings, position


#: Bounds that keep a damaged or crafted length field from asking for gigabytes
#: (SPEC.md states them; the writer never exceeds them).
MAX_HEADER_BODY = 1 << 20
#: The most bytes one batch holds, stored and decompressed (16 MiB).
MAX_BATCH_BYTES = 1 << 24
#: A zstd batch decompresses to at most this many times its stored size: it
#: bounds what a reader decodes per byte of input (a zstd bomb), whatever the file.
MAX_COMPRESSION_RATIO = 16

BATCH_FLAG_ZSTD = 0x0001
_KNOWN_KINDS = frozenset(int(kind) for kind in RecordKind)
KNOWN_BATCH_FLAGS = BATCH_FLAG_ZSTD


@dataclass(frozen=True)
class FileHeader:
    """What a trace file says about itself."""

    hostname: str
    kernel_release: str
    machine: str
    realtime_ns: int
    monotonic_ns: int
    ktr_version: str
    options: Mapping[str, Any] = field(default_factory=dict)
    byte_order: ByteOrder = "little"
    major: int = FORMAT_MAJOR
    minor: int = FORMAT_MINOR


def encode_file_header(header: FileHeader) -> bytes:
    order = header.byte_order
    body_bytes = _pack_header_body(
        order, header.realtime_ns, header.monotonic_ns,
        (header.ktr_version, header.hostname, header.kernel_release, header.machine,
         json.dumps(dict(header.options), sort_keys=True)))
    if len(body_bytes) > MAX_HEADER_BODY:
        # A reader would reject the whole file: the caller must keep its options smaller.
        raise ValueError(f"file header body of {len(body_bytes)} bytes is over SPEC's limit "
                         f"of {MAX_HEADER_BODY}")
    checksum = _HEADER_CHECKSUM[order]
    sealed = header.minor >= HEADER_CHECKSUM_MINOR  # an older minor is written as it was
    body_length = len(body_bytes) + (checksum.size if sealed else 0)
    fields = _HEADER_FIELDS[order].pack(header.major, header.minor, body_length)
    data = _PREAMBLE.pack(FILE_MAGIC, BYTE_ORDER_MARKS[order]) + fields + body_bytes
    return data + checksum.pack(zlib.crc32(data)) if sealed else data


class HeaderPrefix(NamedTuple):
    byte_order: ByteOrder
    major: int
    minor: int
    body_length: int
    crc: int  # CRC-32 of these bytes: the header checksum goes on from it over the body


#: Whole-file compressors' magic numbers: a trace compressed after the fact is said to
#: be one (ktr record -z compresses batches inside the file, never the file).
_COMPRESSED_MAGICS = (
    (b"\x1f\x8b", ": gzip-compressed, gunzip it first"),
    (b"\x28\xb5\x2f\xfd", ": zstd-compressed, unzstd it first"),
    (b"\xfd7zXZ\x00", ": xz-compressed, unxz it first"),
    (b"BZh", ": bzip2-compressed, bunzip2 it first"),
)


def parse_header_prefix(prefix: bytes) -> HeaderPrefix:
    """Check magic, byte order and major version from the first bytes of a file."""
    if len(prefix) == 0:
        raise NotATraceFile("empty file, not a ktr trace", 0)
    magic = prefix[: len(FILE_MAGIC)]
    if magic != FILE_MAGIC[: len(magic)]:
        packed = next((hint for mark, hint in _COMPRESSED_MAGICS if prefix.startswith(mark)), "")
        raise NotATraceFile(f"not a ktr trace file (bad magic{packed})", 0)
    if len(prefix) < HEADER_PREFIX_SIZE:
        raise NotATraceFile("file too short to be a ktr trace", len(prefix))
    mark = prefix[len(FILE_MAGIC) : len(FILE_MAGIC) + 1]
    order = next((o for o, m in BYTE_ORDER_MARKS.items() if m == mark), None)
    if order is None:
        raise CorruptHeader(f"unknown byte-order mark {mark!r}", len(FILE_MAGIC))
    major, minor, body_length = _HEADER_FIELDS[order].unpack_from(prefix, _PREAMBLE_SIZE)
    if major != FORMAT_MAJOR:
        raise UnsupportedVersion(
            f"trace format {major}.{minor} is not supported by this reader "
            f"(it reads {FORMAT_MAJOR}.x)",
            _MAJOR_OFFSET, major, minor,
        )
    if body_length > MAX_HEADER_BODY:
        raise CorruptHeader(f"header length {body_length} is implausible",
                            HEADER_PREFIX_SIZE - 4)
    return HeaderPrefix(order, major, minor, body_length,
                        zlib.crc32(prefix[:HEADER_PREFIX_SIZE]))


def parse_header_body(prefix: HeaderPrefix, body: bytes) -> FileHeader:
    """Check the header checksum (minor 1 on) and decode the header body; fields a
    newer minor added are ignored."""
    if len(body) < prefix.body_length:
        # Name the length field: damaged upwards, it claims bytes the file never had.
        raise CorruptHeader(
            f"file ends inside its header (its length field, bytes {HEADER_PREFIX_SIZE - 4} "
            f"to {HEADER_PREFIX_SIZE - 1}, says the header is "
            f"{HEADER_PREFIX_SIZE + prefix.body_length} bytes: damaged, or the file was cut "
            "short)", HEADER_PREFIX_SIZE + len(body))
    body = body[: prefix.body_length]
    if prefix.minor >= HEADER_CHECKSUM_MINOR:
        checksum = _HEADER_CHECKSUM[prefix.byte_order]
        at = len(body) - checksum.size  # the checksum's offset in the body
        if at < 0:
            raise CorruptHeader(f"header length {prefix.body_length} is too short for its "
                                "checksum", HEADER_PREFIX_SIZE - 4)
        (stored,) = checksum.unpack_from(body, at)
        if zlib.crc32(body[:at], prefix.crc) != stored:
            raise CorruptHeader(
                f"damaged file header (checksum mismatch over bytes 0 to "
                f"{HEADER_PREFIX_SIZE + at - 1})", HEADER_PREFIX_SIZE + at)
        body = body[:at]
    try:
        realtime_ns, monotonic_ns, strings, used = _read_header_body(prefix.byte_order, body)
        ktr_version, hostname, kernel_release, machine, options_text = strings
        options = json.loads(options_text) if options_text else {}
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError, JSONDecodeError;
        # RecursionError: options nested deeper than json can follow (a crafted header)
        raise CorruptHeader(f"damaged file header ({type(error).__name__})",
                            HEADER_PREFIX_SIZE) from None
    if prefix.minor < HEADER_CHECKSUM_MINOR and used != len(body):
        # Minor 0 has no checksum and nothing after ``options``; a later minor's
        # header ends with its checksum. A minor 0 with bytes there is a later
        # header whose minor was damaged: read unchecked, any flip in it would pass.
        raise CorruptHeader(
            f"damaged file header (minor version 0, which has no checksum, but "
            f"{len(body) - used} bytes follow its fields, as a later minor's checksum "
            "does)", _MAJOR_OFFSET + 2)
    if not isinstance(options, dict):
        raise CorruptHeader("damaged file header (options are not an object)",
                            HEADER_PREFIX_SIZE)
    return FileHeader(
        hostname=hostname,
        kernel_release=kernel_release,
        machine=machine,
        realtime_ns=realtime_ns,
        monotonic_ns=monotonic_ns,
        ktr_version=ktr_version,
        options=options,
        byte_order=prefix.byte_order,
        major=prefix.major,
        minor=prefix.minor,
    )


def parse_file_header(data: bytes) -> tuple[FileHeader, int]:
    """Parse a file header at the start of ``data``; returns it and its size."""
    prefix = parse_header_prefix(data[:HEADER_PREFIX_SIZE])
    end = HEADER_PREFIX_SIZE + prefix.body_length
    return parse_header_body(prefix, data[HEADER_PREFIX_SIZE:end]), end


class BatchHeader(NamedTuple):
    flags: int
    record_count: int
    stored_length: int
    raw_length: int
    payload_crc: int


class BatchFraming:
    """Batch header packing for one byte order, derived from the schema."""

    def __init__(self, order: ByteOrder) -> None:
        layout = generated_layout(order, "batch_header")
        self.struct = layout.fixed
        self.size = layout.fixed.size
        # The header checksum covers every header byte before it.
        self._checked = struct.Struct(layout.fixed.format[:-1])
        self.codec: Codec = codec(order)
        # The record header starts with the payload length: all a framing check needs.
        self._record_length = struct.Struct(self.codec.header.format[:2])

    def encode(
        self, records: Sequence[bytes], compressor: "zstandard.ZstdCompressor | None" = None
    ) -> bytes:
        """Frame ``records`` (each one encoded record) as one batch."""
        return self._encode_raw(b"".join(records), len(records), compressor)

    def _encode_raw(self, raw: bytes, count: int,
                    compressor: "zstandard.ZstdCompressor | None") -> bytes:
        """``encode`` of the ``count`` records joined in ``raw``."""
        if len(raw) > MAX_BATCH_BYTES:
            raise ValueError(f"a batch holds at most {MAX_BATCH_BYTES} bytes (encode_batches "
                             "splits)")
        stored = compressor.compress(raw) if compressor is not None else raw
        flags = BATCH_FLAG_ZSTD if compressor is not None else 0
        if flags and len(raw) > len(stored) * MAX_COMPRESSION_RATIO:
            # Too compressible for a reader to accept (SPEC): stored raw instead.
            stored = raw
            flags = 0
        checked = self._checked.pack(
            BATCH_MAGIC, flags, count, len(stored), len(raw), zlib.crc32(stored)
        )
        return checked + self._checked_crc(checked) + stored

    def _checked_crc(self, checked: bytes) -> bytes:
        return struct.pack(self.struct.format[0] + "I", zlib.crc32(checked))

    def header_checksum_valid(self, data: bytes) -> bool:
        """Whether ``data`` starts with a batch header whose own checksum holds."""
        if len(data) < self.size:
            return False
        header_crc: int = self.struct.unpack_from(data)[-1]
        return zlib.crc32(data[: self.size - 4]) == header_crc

    def parse_header(self, data: bytes, offset: int) -> BatchHeader:
        """Validate a batch header found at file ``offset``."""
        if len(data) < self.size:
            raise CorruptBatch("batch header runs past the end of the input", offset)
        magic, flags, count, stored, raw, payload_crc, header_crc = self.struct.unpack_from(data)
        if magic != BATCH_MAGIC:
            if data.startswith(FILE_MAGIC):
                # (`cat a.ktr b.ktr`: the batches after it are still read)
                raise CorruptBatch("a second file header, not a batch (trace files "
                                   "concatenated? give them as FILEs of their own: "
                                   "ktrdump A B merges them)", offset)
            raise CorruptBatch("no batch starts here (bad batch magic)", offset)
        if zlib.crc32(data[: self.size - 4]) != header_crc:
            raise CorruptBatch("batch header checksum mismatch", offset)
        if flags & ~KNOWN_BATCH_FLAGS:
            raise CorruptBatch(f"batch uses unknown encoding flags {flags:#x}", offset)
        if stored > MAX_BATCH_BYTES or raw > MAX_BATCH_BYTES:
            raise CorruptBatch(f"batch length is over the {MAX_BATCH_BYTES}-byte cap", offset)
        if flags & BATCH_FLAG_ZSTD and raw > stored * MAX_COMPRESSION_RATIO:
            raise CorruptBatch(
                f"batch claims a compression ratio over {MAX_COMPRESSION_RATIO}", offset)
        if not flags & BATCH_FLAG_ZSTD and stored != raw:
            raise CorruptBatch("raw batch with differing stored and raw lengths", offset)
        return BatchHeader(flags, count, stored, raw, payload_crc)

    def payload(self, header: BatchHeader, stored: bytes, offset: int) -> bytes:
        """Check a batch's stored bytes and return its raw (decompressed) payload."""
        if len(stored) != header.stored_length:
            raise CorruptBatch("batch payload is shorter than its header says", offset)
        if zlib.crc32(stored) != header.payload_crc:
            raise CorruptBatch("batch payload checksum mismatch", offset)
        raw = stored
        if header.flags & BATCH_FLAG_ZSTD:
            raw = _decompress(stored, header.raw_length, offset)
        if len(raw) != header.raw_length:
            raise CorruptBatch("batch decompresses to the wrong length", offset)
        return raw

    def check_records(self, header: BatchHeader, raw: bytes, offset: int) -> int:
        """Check that ``raw`` holds exactly the records the header says, without decoding
        them (for readers that need only some kinds); returns the count."""
        unpack_length = self._record_length.unpack_from
        header_size = self.codec.header.size
        end = len(raw)
        position = 0
        count = 0
        while position < end:
            if end - position < header_size:
                raise CorruptBatch(
                    f"damaged record in batch (record header at {position} runs past the batch)",
                    offset)
            stop = position + header_size + unpack_length(raw, position)[0]
            if stop > end:
                raise CorruptBatch(
                    f"damaged record in batch (record at {position} runs past the batch)", offset)
            position = stop
            count += 1
        self._check_count(header, count, offset)
        return count

    def salvage(self, header: BatchHeader, present: bytes) -> tuple[list[Record], int]:
        """The records a batch cut short by the end of its input still holds whole.

        ``present``: the stored bytes the input has (fewer than ``stored_length``).
        Only for a raw batch (a cut zstd frame is not decoded) whose header
        checksum held (``parse_header``), so its flags, lengths and count are
        the writer's. The payload checksum cannot be checked: the records are
        taken in order while each lies wholly within ``present``, has record
        header version 1 and a known kind, and decodes; the first that does
        not ends them (the damage starts there). Returns the records (at most
        ``record_count``) and how many bytes of ``present`` they fill.
        """
        if header.flags & BATCH_FLAG_ZSTD:
            return [], 0
        present = present[: header.stored_length]
        codec = self.codec
        header_size = codec.header.size
        unpack_header = codec.header.unpack_from
        end = len(present)
        records: list[Record] = []
        position = 0
        while len(records) < header.record_count and end - position >= header_size:
            length, kind, version = unpack_header(present, position)[:3]
            stop = position + header_size + length
            if stop > end or version != RECORD_VERSION or kind not in _KNOWN_KINDS:
                break
            try:
                decoded = codec.iter_records(present[position:stop])
            except PayloadError:
                break
            records.extend(decoded)
            position = stop
        return records, position

    def decode(self, header: BatchHeader, stored: bytes, offset: int) -> list[Record]:
        """Check, decompress and split a batch's payload into records."""
        raw = self.payload(header, stored, offset)
        try:
            records = list(self.codec.iter_records(raw))
        except PayloadError as error:
            raise CorruptBatch(f"damaged record in batch ({error})", offset) from None
        self._check_count(header, len(records), offset)
        return records

    def encode_batches(
        self, records: Sequence[bytes], compressor: "zstandard.ZstdCompressor | None" = None,
        max_bytes: int = MAX_BATCH_BYTES,
    ) -> tuple[list[bytes], int]:
        """Frame ``records`` as as few batches as the cap allows, in order.

        Each batch's records total at most ``max_bytes`` (so its raw and
        stored lengths are within SPEC's cap). A record longer than
        ``max_bytes`` cannot be framed and is left out; the second value
        counts those, so the caller can report them as lost.
        """
        raw = b"".join(records)
        if len(raw) <= max_bytes:
            # the usual queue: one batch, without a Python step per record (and
            # joined once: summing the lengths cost more than the join)
            return ([self._encode_raw(raw, len(records), compressor)] if records else []), 0
        batches: list[bytes] = []
        refused = 0
        run: list[bytes] = []
        size = 0
        for record in records:
            length = len(record)
            if length > max_bytes:
                refused += 1
                continue
            if size + length > max_bytes:
                batches.append(self.encode(run, compressor))
                run = []
                size = 0
            run.append(record)
            size += length
        if run:
            batches.append(self.encode(run, compressor))
        return batches, refused

    @staticmethod
    def _check_count(header: BatchHeader, count: int, offset: int) -> None:
        if count != header.record_count:
            raise CorruptBatch(
                f"batch holds {count} records, its header says {header.record_count}", offset)


_FRAMINGS: dict[str, BatchFraming] = {}


def batch_framing(order: ByteOrder = "little") -> BatchFraming:
    found = _FRAMINGS.get(order)
    if found is None:
        found = _FRAMINGS[order] = BatchFraming(order)
    return found


def _decompress(stored: bytes, raw_length: int, offset: int) -> bytes:
    """Decompress one zstd frame, never producing more than ``raw_length`` + 1 bytes.

    The frame's own content size is not trusted: output is read through a
    bounded stream, so a frame that expands further costs no more than the cap.
    """
    import zstandard

    try:
        reader = zstandard.ZstdDecompressor().stream_reader(stored)
        raw = reader.read(raw_length) if raw_length else b""
        if len(raw) == raw_length and reader.read(1):
            raise CorruptBatch("batch decompresses to more than its header says", offset)
    except zstandard.ZstdError:
        raise CorruptBatch("batch does not decompress", offset) from None
    return raw


def find_batch(data: bytes, start: int) -> int:
    """Index of the next possible batch start at or after ``start`` (-1 if none)."""
    return data.find(BATCH_MAGIC, start)
