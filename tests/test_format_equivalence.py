"""The fast struct codec and the construct schemas agree byte for byte.

The schemas are the single source of truth; ``formats._codec`` derives struct
layouts from them for speed. These tests build and parse random values both
ways, for every record kind and both byte orders.
"""

from __future__ import annotations

import zlib
from typing import Any

import construct as cs
import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import formats
from formats import PAYLOAD_TYPES, RecordKind, codec, schemas

ORDERS: list[formats.ByteOrder] = ["little", "big"]


def _strategy_for(field: cs.Construct) -> st.SearchStrategy[Any]:
    inner = field.subcon if isinstance(field, cs.Renamed) else field
    if isinstance(inner, cs.FormatField):
        size = inner.sizeof()
        signed = inner.fmtstr[1].islower()
        bits = size * 8
        if signed:
            return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
        return st.integers(0, (1 << bits) - 1)
    if isinstance(inner, cs.Bytes):
        if isinstance(inner.length, int):
            return st.binary(min_size=inner.length, max_size=inner.length)
        return st.binary(max_size=64)
    if isinstance(inner, cs.Array):
        return st.lists(_strategy_for(inner.subcon), max_size=8).map(tuple)
    raise AssertionError(f"no strategy for {field}")


def _payload_strategy(kind: RecordKind, order: formats.ByteOrder) -> st.SearchStrategy[Any]:
    layout = codec(order).layouts[kind]
    schema = schemas(order).payloads[kind]
    by_name = {sub.name: sub for sub in schema.subcons if sub.name}
    model = PAYLOAD_TYPES[kind]
    fields = {name: _strategy_for(by_name[name]) for name in layout.model_fields}
    return st.fixed_dictionaries(fields).map(lambda values: model(**values))


def _layers(layout: Any) -> list[Any]:
    """A layout and the extensions a later minor appended to it."""
    layers = []
    while layout is not None:
        layers.append(layout)
        layout = layout.extension
    return layers


def _construct_values(kind: RecordKind, order: formats.ByteOrder, payload: Any) -> dict[str, Any]:
    layout = codec(order).layouts[kind]
    values = dict(payload._asdict())
    for tail in (tail for layer in _layers(layout) for tail in layer.tails):
        values[tail.count_field] = len(values[tail.name])
    return values


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", list(PAYLOAD_TYPES))
def test_payload_codec_matches_schema(kind: RecordKind, order: formats.ByteOrder) -> None:
    schema = schemas(order).payloads[kind]
    fast = codec(order)

    @settings(max_examples=60, deadline=None)
    @given(_payload_strategy(kind, order))
    def check(payload: Any) -> None:
        values = _construct_values(kind, order, payload)
        built = schema.build(values)
        encoded = fast.encode_payload(kind, payload)
        assert encoded == built
        decoded = fast.decode_payload(kind, built, 0, len(built))
        assert decoded == payload
        assert type(decoded) is type(payload)  # built without the model's _make
        parsed = schema.parse(built)
        for name in payload._fields:
            expected = parsed[name]
            if isinstance(expected, list):
                expected = tuple(expected)
            assert getattr(decoded, name) == expected

    check()


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=50, deadline=None)
@given(
    pid=st.integers(-(1 << 31), (1 << 31) - 1),
    tid=st.integers(-(1 << 31), (1 << 31) - 1),
    timestamp=st.integers(0, (1 << 64) - 1),
    comm=st.binary(max_size=16).map(lambda b: b.replace(b"\0", b"x")),
    body=st.binary(max_size=32),
)
def test_record_header_matches_schema(
    order: formats.ByteOrder, pid: int, tid: int, timestamp: int, comm: bytes, body: bytes
) -> None:
    fast = codec(order)
    record = fast.encode_raw_record(999, pid, tid, timestamp, comm, body)
    expected = schemas(order).record_header.build(
        {"length": len(body), "kind": 999, "version": formats.RECORD_VERSION, "pid": pid,
         "tid": tid, "timestamp_ns": timestamp, "comm": comm.ljust(16, b"\0")}
    )
    assert record == expected + body
    (parsed,) = fast.iter_records(record)
    assert (parsed.pid, parsed.tid, parsed.timestamp_ns, parsed.comm) == (
        pid, tid, timestamp, comm)
    assert parsed.payload == formats.Unknown(body)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("compress", [False, True])
def test_batch_header_matches_schema(order: formats.ByteOrder, compress: bool) -> None:
    framing = formats.batch_framing(order)
    records = [
        codec(order).encode_record(RecordKind.NAMEI, 1, 1, 5, b"ls", formats.Namei(b"/etc"))
    ] * 3
    compressor = zstandard.ZstdCompressor() if compress else None
    batch = framing.encode(records, compressor)
    header = schemas(order).batch_header.parse(batch)
    stored = batch[framing.size:]
    assert header.record_count == 3
    assert header.stored_length == len(stored)
    assert header.raw_length == len(b"".join(records))
    assert header.payload_crc == zlib.crc32(stored)
    assert header.header_crc == zlib.crc32(batch[: framing.size - 4])
    assert header.flags == (formats.BATCH_FLAG_ZSTD if compress else 0)
    parsed = framing.parse_header(batch, 0)
    decoded = framing.decode(parsed, stored, 0)
    assert [r.payload for r in decoded] == [formats.Namei(b"/etc")] * 3


@pytest.mark.parametrize("order", ORDERS)
def test_file_header_round_trip(order: formats.ByteOrder) -> None:
    header = formats.FileHeader(
        hostname="host", kernel_release="6.18.0", machine="x86_64",
        realtime_ns=1_700_000_000_000_000_000, monotonic_ns=12345, ktr_version="0.1",
        options={"facilities": "cnisuepa", "pin_cpu": None}, byte_order=order,
    )
    data = formats.encode_file_header(header)
    assert data.startswith(formats.FILE_MAGIC)
    parsed, size = formats.parse_file_header(data + b"trailing")
    assert size == len(data)
    assert parsed == header


def test_newer_minor_header_fields_are_skipped() -> None:
    import zlib

    header = formats.FileHeader("h", "k", "m", 1, 2, "v")
    data = bytearray(formats.encode_file_header(header))[:-4]  # without its checksum
    # A newer minor adds header fields before the checksum: grow the body, bump
    # the minor, seal it again.
    data[14:16] = (formats.FORMAT_MINOR + 1).to_bytes(2, "little")
    body_length = int.from_bytes(data[16:20], "little")
    data[16:20] = (body_length + 5).to_bytes(4, "little")
    data += b"extra"
    data += zlib.crc32(data).to_bytes(4, "little")
    parsed, size = formats.parse_file_header(bytes(data))
    assert size == len(data)
    assert parsed.minor == formats.FORMAT_MINOR + 1
    assert parsed.hostname == "h"


def test_newer_major_is_refused() -> None:
    data = bytearray(formats.encode_file_header(formats.FileHeader("h", "k", "m", 1, 2, "v")))
    data[12:14] = (formats.FORMAT_MAJOR + 1).to_bytes(2, "little")
    with pytest.raises(formats.UnsupportedVersion) as caught:
        formats.parse_file_header(bytes(data))
    assert "byte offset 12" in str(caught.value)


def test_longer_payload_from_newer_minor_is_accepted() -> None:
    fast = codec()
    body = fast.encode_payload(RecordKind.SYSRET, formats.Sysret(1, 1, 0, 0, 5, 7)) + b"new!"
    assert fast.decode_payload(RecordKind.SYSRET, body, 0, len(body)) == formats.Sysret(
        1, 1, 0, 0, 5, 7)


@pytest.mark.parametrize("order", ORDERS)
def test_fields_appended_after_the_variable_parts_are_absent_from_older_payloads(
        order: formats.ByteOrder) -> None:
    """END's probe fields came after its reason: an END written before them decodes
    with None (absent), is written back as it was, and one cut inside them is an error."""
    fast = codec(order)
    layout = fast.layouts[RecordKind.END]
    assert layout.extension is not None
    assert layout.extension.model_fields == ("unplaced", "unplaced_probes")
    older = formats.End(0, 1, 2, 3, 4, 5, b"why")
    body = fast.encode_payload(RecordKind.END, older)
    assert len(body) == layout.fixed.size + 3
    assert fast.decode_payload(RecordKind.END, body, 0, len(body)) == older
    newer = older._replace(unplaced=1, unplaced_probes=b"libnope:f\0")
    body = fast.encode_payload(RecordKind.END, newer)
    assert body == schemas(order).payloads[RecordKind.END].build(
        _construct_values(RecordKind.END, order, newer))
    assert fast.decode_payload(RecordKind.END, body, 0, len(body)) == newer
    for cut in (1, len(b"libnope:f\0") + 1, len(b"libnope:f\0") + 8 - 1):
        with pytest.raises(formats.PayloadError):
            fast.decode_payload(RecordKind.END, body, 0, len(body) - cut)


def test_short_payload_is_an_error() -> None:
    with pytest.raises(formats.PayloadError):
        codec().decode_payload(RecordKind.SYSRET, b"\0" * 4, 0, 4)


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", list(PAYLOAD_TYPES))
def test_every_decoder_refuses_a_payload_cut_short(kind: RecordKind,
                                                   order: formats.ByteOrder) -> None:
    # Each decoder (the fixed, one-variable-part and general ones) checks its bounds:
    # a payload one byte short of what its counts say, or of its fixed part, is an error.
    fast = codec(order)
    layout = fast.layouts[kind]
    values = {name: 0 for layer in _layers(layout) for name in layer.fixed_names}
    for tail in (tail for layer in _layers(layout) for tail in layer.tails):
        values[tail.count_field] = 1
        values[tail.name] = b"x" if tail.item is None else [0]
    body = schemas(order).payloads[kind].build(values)
    decoded = fast.decode_payload(kind, body, 0, len(body))
    assert type(decoded) is PAYLOAD_TYPES[kind]
    with pytest.raises(formats.PayloadError):
        fast.decode_payload(kind, body, 0, len(body) - 1)
    (record,) = fast.iter_records(fast.encode_raw_record(int(kind), 1, 2, 3, b"c", body))
    assert type(record) is formats.Record and record.payload == decoded


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=50, deadline=None)
@given(
    nr=st.integers(-(1 << 31), (1 << 31) - 1),
    args=st.lists(st.integers(0, (1 << 64) - 1), min_size=6, max_size=6),
    retval=st.integers(-(1 << 63), (1 << 63) - 1),
    error=st.integers(0, 4095),
    duration=st.integers(0, (1 << 64) - 1),
)
def test_whole_record_fast_paths_match_schema(
    order: formats.ByteOrder, nr: int, args: list[int], retval: int, error: int, duration: int
) -> None:
    fast = codec(order)
    call = formats.Syscall(nr, formats.Abi.X86_64, 0, tuple(args))
    assert fast.syscall_record(7, 8, 9, b"comm", nr, formats.Abi.X86_64, args) == (
        fast.encode_record(RecordKind.SYSCALL, 7, 8, 9, b"comm", call))
    ret = formats.Sysret(nr, formats.Abi.I386, 1, error, retval, duration)
    assert fast.sysret_record(7, 8, 9, b"comm", nr, formats.Abi.I386, 1, error, retval,
                              duration) == (
        fast.encode_record(RecordKind.SYSRET, 7, 8, 9, b"comm", ret))


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=50, deadline=None)
@given(
    path=st.binary(max_size=100),
    fd=st.integers(-(1 << 31), (1 << 31) - 1),
    direction=st.integers(0, 1),
    transferred=st.integers(0, (1 << 64) - 1),
    data=st.binary(max_size=100),
)
def test_namei_and_genio_fast_paths_match_schema(
    order: formats.ByteOrder, path: bytes, fd: int, direction: int, transferred: int,
    data: bytes,
) -> None:
    fast = codec(order)
    assert fast.namei_record(1, 2, 3, b"c", path) == fast.encode_record(
        RecordKind.NAMEI, 1, 2, 3, b"c", formats.Namei(path))
    assert fast.genio_record(1, 2, 3, b"c", fd, direction, 1, transferred, data) == (
        fast.encode_record(RecordKind.GENIO, 1, 2, 3, b"c",
                           formats.Genio(fd, direction, 1, transferred, data)))


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=50, deadline=None)
@given(
    abi=st.integers(0, 255),
    argument=st.integers(0, 255),
    name=st.binary(max_size=40),
    data=st.binary(max_size=300),
    comm=st.binary(max_size=20),
)
def test_struct_fast_path_matches_schema(
    order: formats.ByteOrder, abi: int, argument: int, name: bytes, data: bytes, comm: bytes,
) -> None:
    fast = codec(order)
    assert fast.struct_record(5, 6, 7, comm[:16], abi, argument, name, data) == (
        fast.encode_record(RecordKind.STRUCT, 5, 6, 7, comm,
                           formats.Struct(abi, argument, name, data)))


def test_generated_layouts_are_what_the_schemas_derive() -> None:
    """``formats/_layouts.py`` is current: regenerate it with tools/generate_layouts.py."""
    from formats import _layouts
    from formats._codec import layout_tables

    assert layout_tables() == _layouts.LAYOUTS


_texts = st.text(max_size=40)


@settings(max_examples=200)
@given(order=st.sampled_from(ORDERS), realtime=st.integers(-(2**63), 2**63 - 1),
       monotonic=st.integers(-(2**63), 2**63 - 1), version=_texts, hostname=_texts,
       release=_texts, machine=_texts,
       options=st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8),
                               max_size=4))
def test_file_header_packed_by_hand_matches_the_schema(
    order: formats.ByteOrder, realtime: int, monotonic: int, version: str, hostname: str,
    release: str, machine: str, options: dict[str, Any],
) -> None:
    import json
    import zlib

    from formats._schema import BYTE_ORDER_MARKS

    header = formats.FileHeader(hostname, release, machine, realtime, monotonic, version,
                                options, byte_order=order)
    schema_set = schemas(order)
    body = schema_set.header_body.build({
        "realtime_ns": realtime, "monotonic_ns": monotonic, "ktr_version": version,
        "hostname": hostname, "kernel_release": release, "machine": machine,
        "options": json.dumps(options, sort_keys=True)})
    checksum_size = schema_set.header_checksum.sizeof()
    sealed = (schema_set.preamble.build({"byte_order": BYTE_ORDER_MARKS[order]})
              + schema_set.header_fields.build({"major": formats.FORMAT_MAJOR,
                                                "minor": formats.FORMAT_MINOR,
                                                "body_length": len(body) + checksum_size})
              + body)
    expected = sealed + schema_set.header_checksum.build({"header_crc": zlib.crc32(sealed)})
    assert formats.encode_file_header(header) == expected
    assert formats.parse_file_header(expected + b"more") == (header, len(expected))


@settings(max_examples=300)
@given(order=st.sampled_from(ORDERS), body=st.binary(max_size=80))
def test_header_body_parsed_by_hand_accepts_what_the_schema_accepts(
    order: formats.ByteOrder, body: bytes,
) -> None:
    """Any bytes: the same strings and times, or a refusal from both."""
    from formats._container import _unpack_header_body

    try:
        parsed = schemas(order).header_body.parse(body)
    except (cs.ConstructError, UnicodeDecodeError):
        with pytest.raises(ValueError):
            _unpack_header_body(order, body)
        return
    assert _unpack_header_body(order, body) == (
        parsed.realtime_ns, parsed.monotonic_ns,
        [parsed.ktr_version, parsed.hostname, parsed.kernel_release, parsed.machine,
         parsed.options])


def test_a_string_too_long_for_its_length_field_is_refused() -> None:
    header = formats.FileHeader("h" * 65536, "k", "m", 1, 2, "v")
    with pytest.raises(ValueError, match="hostname"):
        formats.encode_file_header(header)
    with pytest.raises(cs.ConstructError):
        schemas("little").header_body.build({
            "realtime_ns": 1, "monotonic_ns": 2, "ktr_version": "v", "hostname": "h" * 65536,
            "kernel_release": "k", "machine": "m", "options": "{}"})


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", [RecordKind.SYSCALL, RecordKind.SYSRET, RecordKind.NAMEI,
                                  RecordKind.GENIO, RecordKind.PROC, RecordKind.PSIG,
                                  RecordKind.EXEC_ARG, RecordKind.EXEC_ENV, RecordKind.EMUL])
@settings(max_examples=60, deadline=None)
@given(data=st.data(), extra=st.binary(max_size=12), six=st.booleans())
def test_inline_record_decoding_is_the_schemas(order: formats.ByteOrder, kind: RecordKind,
                                               data: st.DataObject, extra: bytes,
                                               six: bool) -> None:
    """``record_chunks`` decodes SYSCALL (six arguments), SYSRET and the kinds of one
    counted bytes part inline, not through their decoders: each record it gives equals
    construct's parse of the same bytes, with bytes a newer minor version appends
    ignored, and a short payload is an error."""
    fast = codec(order)
    payload = data.draw(_payload_strategy(kind, order))
    if kind == RecordKind.SYSCALL and six:  # the fast path's case (the other counts: not)
        payload = payload._replace(args=data.draw(st.tuples(*[st.integers(0, (1 << 64) - 1)]
                                                              * 6)))
    schema = schemas(order).payloads[kind]
    body = schema.build(_construct_values(kind, order, payload))
    for tail in (b"", extra):
        (record,) = fast.iter_records(fast.encode_raw_record(int(kind), 7, 8, 9, b"c",
                                                             body + tail))
        assert type(record.payload) is PAYLOAD_TYPES[kind]
        assert record.payload == fast.decode_payload(kind, body, 0, len(body)) == payload
        parsed = schema.parse(body + tail)
        for name in PAYLOAD_TYPES[kind]._fields:
            expected = parsed[name]
            assert getattr(record.payload, name) == (
                tuple(expected) if isinstance(expected, list) else expected)
    if body:
        with pytest.raises(formats.PayloadError):
            fast.iter_records(fast.encode_raw_record(int(kind), 7, 8, 9, b"c", body[:-1]))


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=80, deadline=None)
@given(comms=st.lists(st.sampled_from([b"", b"dd", b"dd\0", b"dd\0x", b"d", b"a" * 16,
                                       b"\0" * 16, b"x\0" * 8]),
                      min_size=1, max_size=12),
       kinds=st.lists(st.sampled_from([RecordKind.SYSRET, RecordKind.NAMEI, 999]),
                      min_size=12, max_size=12),
       chunk=st.integers(0, 4))
def test_record_names_over_a_batch_are_the_schemas(order: formats.ByteOrder,
                                                   comms: list[bytes], kinds: list[int],
                                                   chunk: int) -> None:
    """``record_chunks`` reuses the previous record's stripped name when the raw name
    bytes repeat: over a batch whose names repeat and change (trailing and inner
    NULs, a full 16 bytes), every record's name is construct's parse of its own
    header, trailing NULs stripped, whatever the record kinds and chunk size."""
    fast = codec(order)
    header = schemas(order).record_header
    bodies = {RecordKind.SYSRET: fast.encode_payload(RecordKind.SYSRET,
                                                     formats.Sysret(0, 1, 0, 0, 3, 5)),
              RecordKind.NAMEI: fast.encode_payload(RecordKind.NAMEI, formats.Namei(b"/p")),
              999: b"raw"}
    encoded = [fast.encode_raw_record(int(kind), 7, 8, 9, comm, bodies[kind])
               for comm, kind in zip(comms, kinds, strict=False)]
    records = [record for part in fast.record_chunks(b"".join(encoded), chunk)
               for record in part]
    assert len(records) == len(encoded)
    for record, raw in zip(records, encoded, strict=True):
        assert record.comm == header.parse(raw).comm.rstrip(b"\0")
