"""Structure-aware mutations of ktr traces, re-framed with correct checksums.

A trace is split into its file header and batches of records (``parse``);
mutations change record headers, payload fields (located through the codec's
layouts, so every record kind, present and future, is covered), payload
lengths and tails, record kinds, counts and order, batches and their
encoding; ``build`` frames the result again with correct CRC-32s (raw or
zstd), so the mutated records reach the decoders instead of being skipped as
damage. A few mutations damage the framing on purpose (checksums, counts,
truncation, fake batch headers) to exercise the resynchronisation.

Guarantees: deterministic for a given ``random.Random`` state; never raises
for any seed trace ``parse`` accepts. Does not: judge the result (``run``
does that by running the reader and the views).
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import zstandard

import formats

_ZSTD = zstandard.ZstdCompressor(level=1)


@dataclass
class Trace:
    """A trace split into parts a mutation can change."""

    order: formats.ByteOrder
    header: formats.FileHeader
    header_bytes: bytes
    batches: list[list[bytes]] = field(default_factory=list)  # encoded records per batch
    zstd: list[bool] = field(default_factory=list)  # per batch
    tail: bytes = b""  # raw bytes appended after the batches (damage)

    def copy(self) -> Trace:
        return Trace(self.order, self.header, self.header_bytes,
                     [list(b) for b in self.batches], list(self.zstd), self.tail)


def parse(data: bytes) -> Trace:
    """Split a well-formed trace (a seed) into header and records; damaged batches are
    left out."""
    header, size = formats.parse_file_header(data)
    framing = formats.batch_framing(header.byte_order)
    trace = Trace(header.byte_order, header, data[:size])
    length = struct.Struct(framing.codec.header.format[:2])
    record_header = framing.codec.header.size
    position = size
    while position + framing.size <= len(data):
        try:
            batch = framing.parse_header(data[position : position + framing.size], position)
            stored = data[position + framing.size : position + framing.size + batch.stored_length]
            raw = framing.payload(batch, stored, position)
        except formats.CorruptBatch:
            found = formats.find_batch(data, position + 1)
            if found < 0:
                break
            position = found
            continue
        records = []
        at = 0
        while at + record_header <= len(raw):
            stop = at + record_header + length.unpack_from(raw, at)[0]
            records.append(raw[at:stop])
            at = stop
        trace.batches.append(records)
        trace.zstd.append(bool(batch.flags & formats.BATCH_FLAG_ZSTD))
        position += framing.size + batch.stored_length
    return trace


def frame(order: formats.ByteOrder, records: list[bytes], zstd: bool,
          count: int | None = None) -> bytes:
    """One batch with correct checksums, whatever its size or ratio (no caps applied)."""
    prefix = "<" if order == "little" else ">"
    raw = b"".join(records)
    stored = _ZSTD.compress(raw) if zstd else raw
    head = struct.pack(prefix + "4sHxxIIII", formats.BATCH_MAGIC,
                       formats.BATCH_FLAG_ZSTD if zstd else 0,
                       len(records) if count is None else count & 0xFFFFFFFF,
                       len(stored), len(raw), zlib.crc32(stored))
    return head + struct.pack(prefix + "I", zlib.crc32(head)) + stored


def build(trace: Trace) -> bytes:
    parts = [trace.header_bytes]
    for records, zstd in zip(trace.batches, trace.zstd, strict=True):
        parts.append(frame(trace.order, records, zstd))
    parts.append(trace.tail)
    return b"".join(parts)


# -- field-level knowledge, derived from the codec -------------------------------------

@dataclass(frozen=True)
class _Field:
    offset: int
    code: str  # struct format code: b B h H i I l L q Q or s (with size)
    size: int


def _fields(fmt: str) -> list[_Field]:
    """Value fields of a ``struct`` format (byte order prefix first), with offsets."""
    prefix, body = fmt[0], fmt[1:]
    fields = []
    offset = 0
    number = ""
    for char in body:
        if char.isdigit():
            number += char
            continue
        repeat = int(number) if number else 1
        number = ""
        size = struct.calcsize(prefix + char)
        if char == "x":
            offset += repeat
        elif char == "s":
            fields.append(_Field(offset, "s", repeat))
            offset += repeat
        else:
            for _ in range(repeat):
                fields.append(_Field(offset, char, size))
                offset += size
    return fields


def _interesting(code: str, rng: random.Random) -> int:
    size = struct.calcsize("<" + code)
    bits = size * 8
    signed = code.islower()
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    choices = [low, high, 0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 64, 255, 256, 4096, 65535, 65536,
               (1 << 31) - 1, 1 << 31, (1 << 32) - 1, -1, -2, -4095, -4096, -100, -9, 9, 17,
               rng.randrange(low, high + 1), rng.randrange(0, 512), rng.randrange(0, 1 << 20)]
    value = rng.choice(choices)
    return min(max(value, low), high)


_HEADER_FIELDS: dict[str, list[_Field]] = {}
_PAYLOAD_FIELDS: dict[tuple[str, int], list[_Field]] = {}


def _header_fields(order: formats.ByteOrder) -> list[_Field]:
    found = _HEADER_FIELDS.get(order)
    if found is None:
        found = _HEADER_FIELDS[order] = _fields(formats.codec(order).header.format)
    return found


def _payload_fields(order: formats.ByteOrder, kind: int) -> list[_Field]:
    key = (order, kind)
    found = _PAYLOAD_FIELDS.get(key)
    if found is None:
        layout = formats.codec(order).layouts.get(formats.RecordKind(kind)) if kind in {
            int(k) for k in formats.RecordKind} else None
        found = _PAYLOAD_FIELDS[key] = [] if layout is None else _fields(layout.fixed.format)
    return found


def _prefix(order: formats.ByteOrder) -> str:
    return "<" if order == "little" else ">"


# -- record mutations ------------------------------------------------------------------

Record = bytes
RecordMutation = Callable[[Trace, Record, random.Random], list[Record]]


def _split(trace: Trace, record: Record) -> tuple[tuple[int, ...], bytes]:
    codec = formats.codec(trace.order)
    head = codec.header.unpack_from(record)
    return head, record[codec.header.size :]


def _join(trace: Trace, head: tuple[int, ...] | list[int] | list[int | bytes], body: bytes,
          fix_length: bool = True) -> Record:
    codec = formats.codec(trace.order)
    values = list(head)
    if fix_length:
        values[0] = len(body)
    return codec.header.pack(*values) + body


def mutate_header_field(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    head, body = _split(trace, record)
    fields = _header_fields(trace.order)
    index = rng.randrange(1, len(head))  # not the length (see mutate_length)
    values: list[int | bytes] = list(head)
    spec = fields[index]
    if spec.code == "s":
        values[index] = bytes(rng.randrange(256) for _ in range(rng.randrange(spec.size + 1)))
    else:
        values[index] = _interesting(spec.code, rng)
    return [_join(trace, values, body)]


def mutate_length(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    head, body = _split(trace, record)
    values = list(head)
    values[0] = _interesting("L", rng) if rng.random() < 0.3 else max(
        0, len(body) + rng.randint(-8, 8))
    return [_join(trace, values, body, fix_length=False)]


def mutate_kind(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    head, body = _split(trace, record)
    values = list(head)
    kinds = [int(k) for k in formats.RecordKind]
    values[1] = rng.choice(kinds) if rng.random() < 0.9 else rng.randrange(1 << 16)
    return [_join(trace, values, body)]


def mutate_payload_field(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    """Overwrite one fixed payload field (a count field too) with an interesting value."""
    head, body = _split(trace, record)
    fields = _payload_fields(trace.order, head[1])
    if not fields:
        return mutate_payload_bytes(trace, record, rng)
    spec = rng.choice(fields)
    data = bytearray(body)
    if spec.offset + spec.size > len(data):
        data.extend(bytes(spec.offset + spec.size - len(data)))
    if spec.code == "s":
        data[spec.offset : spec.offset + spec.size] = rng.randbytes(spec.size)
    else:
        struct.pack_into(_prefix(trace.order) + spec.code, data, spec.offset,
                         _interesting(spec.code, rng))
    return [_join(trace, head, bytes(data))]


def mutate_payload_consistent(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    """Decode, change one field or tail, encode again: a well-formed but odd record."""
    head, body = _split(trace, record)
    codec = formats.codec(trace.order)
    kind = head[1]
    if kind not in codec.encoders:
        return mutate_payload_bytes(trace, record, rng)
    try:
        payload = codec.decode_payload(kind, body, 0, len(body))
    except formats.PayloadError:
        return mutate_payload_bytes(trace, record, rng)
    values: list[object] = list(payload)
    index = rng.randrange(len(values))
    value = values[index]
    if isinstance(value, bytes):
        values[index] = rng.choice([
            b"", value[: rng.randrange(len(value) + 1)], value * rng.randint(2, 40),
            rng.randbytes(rng.randrange(300)), b"\0" * rng.randrange(64),
            b"/" * rng.randrange(4096), b"\xff" * rng.randrange(64),
            bytes(range(256)),
        ])
    elif isinstance(value, tuple):
        values[index] = tuple(
            _interesting("Q", rng) for _ in range(rng.choice([0, 1, 2, 5, 6, 7, 30, 300])))
    else:
        layout = codec.layouts[formats.RecordKind(kind)]
        names = layout.model_fields
        fixed = _fields(layout.fixed.format)
        position = [n for n in layout.fixed_names].index(names[index]) \
            if names[index] in layout.fixed_names else None
        code = fixed[position].code if position is not None and position < len(fixed) else "q"
        values[index] = _interesting(code, rng)
    try:
        rebuilt: formats.Payload = type(payload)._make(values)
        body = codec.encode_payload(formats.RecordKind(kind), rebuilt)
    except (struct.error, TypeError, ValueError, OverflowError):
        return [record]
    return [_join(trace, head, body)]


def mutate_payload_bytes(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    head, body = _split(trace, record)
    data = bytearray(body)
    choice = rng.randrange(4)
    if choice == 0 and data:
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
    elif choice == 1:
        at = rng.randrange(len(data) + 1)
        data[at:at] = rng.randbytes(rng.randint(1, 16))
    elif choice == 2 and data:
        at = rng.randrange(len(data))
        del data[at : at + rng.randint(1, 16)]
    else:
        data = data[: rng.randrange(len(data) + 1)]
    return [_join(trace, head, bytes(data))]


def duplicate(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    return [record] * rng.choice([2, 3, 10, 100])


def delete(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    return []


def new_thread(trace: Trace, record: Record, rng: random.Random) -> list[Record]:
    """The record again under many thread and process ids (tables keyed by them)."""
    head, body = _split(trace, record)
    out = []
    for _ in range(rng.choice([2, 20, 200])):
        values = list(head)
        values[3] = rng.randrange(1 << 31) if rng.random() < 0.5 else values[3]  # pid
        values[4] = rng.randrange(1 << 31) if rng.random() < 0.5 else values[4]  # tid
        out.append(_join(trace, values, body))
    return out


RECORD_MUTATIONS: list[tuple[RecordMutation, int]] = [
    (mutate_header_field, 6), (mutate_length, 1), (mutate_kind, 3),
    (mutate_payload_field, 10), (mutate_payload_consistent, 10),
    (mutate_payload_bytes, 5), (duplicate, 2), (delete, 2), (new_thread, 1),
]


# -- trace-level mutations -------------------------------------------------------------

def _pick_record(trace: Trace, rng: random.Random) -> tuple[int, int] | None:
    filled = [i for i, b in enumerate(trace.batches) if b]
    if not filled:
        return None
    batch = rng.choice(filled)
    return batch, rng.randrange(len(trace.batches[batch]))


def mutate_record(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    found = _pick_record(trace, rng)
    if found is None:
        return
    batch, index = found
    mutation = rng.choices([m for m, _ in RECORD_MUTATIONS],
                           [w for _, w in RECORD_MUTATIONS])[0]
    records = trace.batches[batch]
    mutated = mutation(trace, records[index], rng)
    if rng.random() < 0.5:
        # A batch of its own: if the mutation makes it undecodable, only it is
        # skipped and the records around it still reach the views.
        parts = [records[:index], mutated, records[index + 1 :]]
        kept = [part for part in parts if part]
        trace.batches[batch : batch + 1] = kept
        trace.zstd[batch : batch + 1] = [trace.zstd[batch]] * len(kept)
    else:
        records[index : index + 1] = mutated


def splice(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    """Records of another trace (same byte order) inserted somewhere."""
    donor = rng.choice(donors)
    if donor.order != trace.order or not donor.batches or not trace.batches:
        return
    source = rng.choice(donor.batches)
    if not source:
        return
    start = rng.randrange(len(source))
    taken = source[start : start + rng.randint(1, 30)]
    target = rng.choice(trace.batches)
    at = rng.randrange(len(target) + 1)
    target[at:at] = taken


def shuffle_records(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    if trace.batches:
        rng.shuffle(rng.choice(trace.batches))


def batch_shape(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    """Split, merge, drop, duplicate or re-encode batches."""
    if not trace.batches:
        return
    index = rng.randrange(len(trace.batches))
    choice = rng.randrange(5)
    if choice == 0 and len(trace.batches[index]) > 1:
        records = trace.batches[index]
        cut = rng.randrange(1, len(records))
        trace.batches[index : index + 1] = [records[:cut], records[cut:]]
        trace.zstd[index : index + 1] = [trace.zstd[index]] * 2
    elif choice == 1 and index + 1 < len(trace.batches):
        trace.batches[index : index + 2] = [trace.batches[index] + trace.batches[index + 1]]
        trace.zstd[index : index + 2] = [trace.zstd[index]]
    elif choice == 2:
        del trace.batches[index]
        del trace.zstd[index]
    elif choice == 3:
        trace.batches.insert(index, list(trace.batches[index]))
        trace.zstd.insert(index, trace.zstd[index])
    else:
        trace.zstd[index] = not trace.zstd[index]


def mutate_file_header(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    options: object = rng.choice([
        {}, {"facilities": rng.randbytes(8).hex()}, [1, 2], {"a": {"b": [None] * 5}},
        dict(trace.header.options) | {"io_bytes": _interesting("q", rng)},
        {"argv": ["x" * rng.randrange(1000)] * rng.randrange(5)},
    ])
    header = formats.FileHeader(
        hostname=rng.choice([trace.header.hostname, "", "h\u00e9\u00e9", "x" * 300]),
        kernel_release=trace.header.kernel_release, machine=rng.choice(
            [trace.header.machine, "i686", "aarch64", "", "\x00"]),
        realtime_ns=_interesting("q", rng), monotonic_ns=_interesting("q", rng),
        ktr_version=trace.header.ktr_version, options={},
        byte_order=trace.order, minor=rng.choice([0, 0, 1, 65535]),
    )
    data = bytearray(formats.encode_file_header(header))
    # From minor 1 the header ends with its CRC-32: taken off, put back over the result.
    sealed = header.minor >= 1
    checksum = 4 if sealed else 0
    if sealed:
        data = data[:-checksum]
    if not isinstance(options, dict) or rng.random() < 0.5:
        # Rewrite the options JSON in place of the empty object (length-prefixed u32).
        text = json.dumps(options).encode()
        data = data[:-6] + struct.pack(_prefix(trace.order) + "I", len(text)) + text
        struct.pack_into(_prefix(trace.order) + "I", data, formats.HEADER_PREFIX_SIZE - 4,
                         len(data) + checksum - formats.HEADER_PREFIX_SIZE)
    if sealed:
        crc = zlib.crc32(data)
        if rng.random() < 0.1:
            crc ^= 1 << rng.randrange(32)  # a damaged header: refused in one line
        data += struct.pack(_prefix(trace.order) + "I", crc)
    trace.header_bytes = bytes(data)


def damage(trace: Trace, rng: random.Random, donors: list[Trace]) -> None:
    """Framing damage: garbage, fake batch headers or a torn batch at the end."""
    choice = rng.randrange(3)
    if choice == 0:
        trace.tail += rng.randbytes(rng.randrange(200))
    elif choice == 1:
        claim = rng.choice([0, 1, 40, 4096, 1 << 20, formats.MAX_BATCH_BYTES + 1])
        prefix = _prefix(trace.order)
        fake = struct.pack(prefix + "4sHxxIIII", formats.BATCH_MAGIC, rng.choice([0, 1, 2]),
                           rng.randrange(5), claim, claim, rng.getrandbits(32))
        trace.tail += (fake + struct.pack(prefix + "I", zlib.crc32(fake))) * rng.randint(1, 50)
    elif trace.batches:
        whole = frame(trace.order, trace.batches[-1], trace.zstd[-1])
        trace.tail += whole[: rng.randrange(len(whole))]


TRACE_MUTATIONS: list[tuple[Callable[[Trace, random.Random, list[Trace]], None], int]] = [
    (mutate_record, 30), (splice, 4), (shuffle_records, 2), (batch_shape, 4),
    (mutate_file_header, 1), (damage, 2),
]


def mutate(seed: Trace, rng: random.Random, donors: list[Trace]) -> bytes:
    """A mutated copy of ``seed`` as file bytes (occasionally with raw byte damage)."""
    trace = seed.copy()
    functions = [m for m, _ in TRACE_MUTATIONS]
    weights = [w for _, w in TRACE_MUTATIONS]
    for _ in range(rng.choice([1, 1, 2, 3, 5, 8])):
        rng.choices(functions, weights)[0](trace, rng, donors)
    data = build(trace)
    if rng.random() < 0.03 and data:
        # Raw damage anywhere, checksums not fixed: the reader must skip, not crash.
        buffer = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        data = bytes(buffer)
    if rng.random() < 0.01:
        data = data[: rng.randrange(len(data) + 1)]
    return data
