"""Fast record codec, derived from the construct schemas.

Parsing one record with construct costs ~10 us; a trace holds millions. So
each schema is translated into ``struct`` formats (``derive_layout``): the
fixed run of fields becomes one ``Struct``, and each variable part (bytes or
an array of integers sized by a fixed field) is sliced or unpacked after it.
Nothing here restates a layout by hand: the translations are generated into
``_layouts`` by ``tools/generate_layouts.py`` (so that neither the recorder
nor the reader imports construct at start-up), a test checks they equal
what ``layout_tables`` derives from the schemas now, and
``tests/test_format_equivalence.py`` proves the two agree byte for byte.
``record_chunks`` decodes the commonest kinds inline (SYSCALL with six
arguments, SYSRET, and the kinds of fixed fields then bytes counted by the
last of them: NAMI, GIO, ARG, ENV, PSIG, PROC, EMUL) with structs derived
the same way; a test proves them equal to the schemas' parse. Records of a
batch that follow one with the same raw command name share its stripped name
(one bytes object; equal values either way, tested).

Fields a later minor appended after a payload's variable parts are its
layout's ``extension`` (a layout of its own: fixed run, then tails); a payload
of an older minor ends before them, and they decode as None (absent).

Guarantees: ``decode_payload`` never raises anything but ``PayloadError`` and
ignores bytes past the fields it knows (a newer minor version may append
fields); ``encode_*`` produce exactly what the schema's ``build`` produces
(a payload whose extension fields are all None is encoded without them, as an
older minor wrote it).

Does not: frame records into batches or read files (see ``_container``).
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import struct
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from . import _layouts
from ._kinds import RecordKind
from ._records import PAYLOAD_TYPES, Payload, Record, Unknown
from ._schema import (
    COMM_LENGTH,
    RECORD_VERSION,
    ByteOrder,
    probe_string_schemas,
    schemas,
    struct_data_schemas,
)

if TYPE_CHECKING:
    import construct as cs


class PayloadError(ValueError):
    """A payload is shorter than its fields say; carries no offset (the caller adds it)."""


class SchemaShapeError(TypeError):
    """A schema uses a construct the fast path cannot derive (a programming error)."""


def _format_char(field: "cs.FormatField", order: ByteOrder) -> str:
    expected = "<" if order == "little" else ">"
    if field.fmtstr[0] != expected:
        raise SchemaShapeError(f"field {field.fmtstr!r} does not use {order} byte order")
    return str(field.fmtstr[1:])


class _Tail(NamedTuple):
    name: str
    count_field: str
    item: struct.Struct | None  # None: raw bytes; otherwise one array element


class Layout(NamedTuple):
    """A schema translated for ``struct``: one fixed run, then sized tails, then the
    fields a later minor appended (``extension``, absent from older payloads)."""

    fixed: struct.Struct
    fixed_names: tuple[str, ...]  # one per value ``fixed`` packs (padding has none)
    tails: tuple[_Tail, ...]
    extension: "Layout | None" = None

    @property
    def count_fields(self) -> frozenset[str]:
        return frozenset(t.count_field for t in self.tails)

    @property
    def model_fields(self) -> tuple[str, ...]:
        counts = self.count_fields
        return tuple(n for n in self.fixed_names if n not in counts) + tuple(
            t.name for t in self.tails
        ) + (self.extension.model_fields if self.extension is not None else ())


def derive_layout(schema: "cs.Struct", order: ByteOrder) -> Layout:
    """Translate a construct Struct of the shape ``_schema`` promises."""
    import construct as cs

    fmt = ["<" if order == "little" else ">"]
    names: list[str] = []
    tails: list[_Tail] = []
    extension: Layout | None = None
    for index, sub in enumerate(schema.subcons):
        name = sub.name
        inner = sub.subcon if isinstance(sub, cs.Renamed) else sub
        if tails and not isinstance(inner, (cs.Bytes, cs.Array)):
            # fields after the variable parts: appended by a later minor
            extension = derive_layout(cs.Struct(*schema.subcons[index:]), order)
            break
        if isinstance(inner, cs.Padded) and isinstance(inner.subcon, cs.Pass.__class__):
            fmt.append(f"{inner.length}x")
            continue
        if isinstance(inner, cs.Const) and isinstance(inner.subcon, cs.Bytes) and not tails:
            fmt.append(f"{inner.subcon.length}s")
        elif isinstance(inner, cs.FormatField) and not tails:
            fmt.append(_format_char(inner, order))
        elif isinstance(inner, cs.Bytes) and isinstance(inner.length, int) and not tails:
            fmt.append(f"{inner.length}s")
        elif isinstance(inner, cs.Bytes):
            tails.append(_Tail(name, _this_field(inner.length), None))
            continue
        elif isinstance(inner, cs.Array) and isinstance(inner.subcon, cs.FormatField):
            item = struct.Struct(fmt[0] + _format_char(inner.subcon, order))
            tails.append(_Tail(name, _this_field(inner.count), item))
            continue
        else:
            raise SchemaShapeError(f"cannot derive a fast layout for field {name!r}")
        if name is None:
            raise SchemaShapeError("unnamed value field")
        names.append(name)
    layout = Layout(struct.Struct("".join(fmt)), tuple(names), tuple(tails), extension)
    missing = layout.count_fields - set(names)
    if missing:
        raise SchemaShapeError(f"variable parts sized by unknown fields {sorted(missing)}")
    return layout


def _this_field(expression: Any) -> str:
    # construct's ``this.name`` renders as "this['name']".
    text = repr(expression)
    prefix, suffix = "this['", "']"
    if not (text.startswith(prefix) and text.endswith(suffix)):
        raise SchemaShapeError(f"variable part sized by {text}, not by a field")
    return text[len(prefix) : -len(suffix)]


def _derivable_schemas(order: ByteOrder) -> "dict[str, cs.Struct]":
    schema_set = schemas(order)
    named = {"preamble": schema_set.preamble, "header_fields": schema_set.header_fields,
             "header_checksum": schema_set.header_checksum,
             "batch_header": schema_set.batch_header, "record_header": schema_set.record_header}
    named.update((kind.name, schema) for kind, schema in schema_set.payloads.items())
    # PROBE.strings' entries: the length word before each string (the file's order)
    named[PROBE_STRINGS_LAYOUT] = probe_string_schemas(order).head
    if order == "little":  # STRUCT data is little-endian in either file (x86's layouts)
        named.update((STRUCT_DATA_PREFIX + name, item)
                     for name, item in struct_data_schemas().items.items())
    return named


#: ``layout_tables``' key of a STRUCT name's item (``_schema.struct_data_schemas``).
STRUCT_DATA_PREFIX = "STRUCT:"
#: ``layout_tables``' key of the fixed run (the length word) of a PROBE.strings entry
#: (``_schema.probe_string_schemas``).
PROBE_STRINGS_LAYOUT = "PROBE:strings"


def layout_tables() -> dict[str, dict[str, _layouts.LayoutData]]:
    """What ``_layouts.LAYOUTS`` must hold: every derivable schema, per byte order.

    Keys: ``preamble``, ``header_fields``, ``header_checksum``, ``batch_header``,
    ``record_header`` and each payload kind's name; a layout's ``extension`` is
    the key of its name and ``+`` (``END+``); ``PROBE:strings``, the length word
    of an entry of PROBE's ``strings``; little-endian only, ``STRUCT:NAME``
    for the item of a STRUCT name whose data is ktr's own layout (``fd_paths``'
    fd and path). (The header body, whose strings carry their
    own lengths, has no fixed layout: ``_container`` packs it, tested against
    its schema.)
    """
    orders: tuple[ByteOrder, ...] = ("little", "big")
    tables: dict[str, dict[str, _layouts.LayoutData]] = {}
    for order in orders:
        table = tables[order] = {}
        for name, schema in _derivable_schemas(order).items():
            layout: Layout | None = derive_layout(schema, order)
            while layout is not None:
                table[name] = _layout_data(layout)
                name, layout = name + "+", layout.extension
    return tables


def _layout_data(layout: Layout) -> _layouts.LayoutData:
    return (layout.fixed.format, layout.fixed_names,
            tuple((t.name, t.count_field, None if t.item is None else t.item.format)
                  for t in layout.tails))


def generated_layout(order: ByteOrder, name: str) -> Layout:
    """The layout ``layout_tables`` names ``name`` for ``order``, from ``_layouts``.

    A name ``_layouts`` lacks (it predates a schema change and must be
    regenerated; a test fails until it is) is derived from the schema instead,
    so that the package, and the generator, still import.
    """
    table = _layouts.LAYOUTS.get(order, {})
    data = table.get(name)
    if data is None:
        return derive_layout(_derivable_schemas(order)[name], order)
    fixed, names, tails = data
    return Layout(struct.Struct(fixed), names,
                  tuple(_Tail(tail, count, None if item is None else struct.Struct(item))
                        for tail, count, item in tails),
                  generated_layout(order, name + "+") if name + "+" in table else None)


PayloadDecoder = Callable[[bytes, int, int], Payload]
PayloadEncoder = Callable[[Payload], bytes]


def _decode_values(layout: Layout, kind: str, buf: bytes, start: int, end: int
                   ) -> tuple[list[Any], int]:
    """A payload's values (of ``layout.model_fields``) and where they end; the
    general, unhurried path (payloads with an extension: rare kinds)."""
    fixed = layout.fixed
    if end - start < fixed.size:
        raise PayloadError(f"{kind} payload shorter than {fixed.size} bytes")
    values = fixed.unpack_from(buf, start)
    counts = layout.count_fields
    out = [value for name, value in zip(layout.fixed_names, values, strict=True)
           if name not in counts]
    position = start + fixed.size
    for tail in layout.tails:
        count = values[layout.fixed_names.index(tail.count_field)]
        if tail.item is None:
            stop = position + count
            if stop > end:
                raise PayloadError(f"{kind} variable part overruns its record")
            out.append(buf[position:stop])
        else:
            stop = position + count * tail.item.size
            if stop > end:
                raise PayloadError(f"{kind} array overruns its record")
            out.append(struct.unpack_from(
                f"{tail.item.format[0]}{count}{tail.item.format[1:]}", buf, position))
        position = stop
    if layout.extension is not None:
        if position == end:  # an older minor's payload: its fields are absent
            out.extend([None] * len(layout.extension.model_fields))
        else:
            more, position = _decode_values(layout.extension, kind, buf, position, end)
            out.extend(more)
    return out, position


def _make_decoder(layout: Layout, model: type[Payload]) -> PayloadDecoder:
    fixed = layout.fixed
    fixed_size = fixed.size
    if tuple(model._fields) != layout.model_fields:
        raise SchemaShapeError(
            f"{model.__name__} fields {model._fields} != schema {layout.model_fields}"
        )
    # tuple.__new__ rather than the model's _make: the same tuple without a
    # Python-level call per record (the field count is checked above, once).
    new = tuple.__new__
    if layout.extension is not None:
        def decode_extended(buf: bytes, start: int, end: int) -> Payload:
            return new(model, _decode_values(layout, model.__name__, buf, start, end)[0])
        return decode_extended
    unpack_fixed = fixed.unpack_from
    if not layout.tails:
        def decode_fixed(buf: bytes, start: int, end: int) -> Payload:
            if end - start < fixed_size:
                raise PayloadError(f"{model.__name__} payload shorter than {fixed_size} bytes")
            return new(model, unpack_fixed(buf, start))
        return decode_fixed

    keep = [i for i, n in enumerate(layout.fixed_names) if n not in layout.count_fields]
    # Arrays are unpacked with a counted format ("<6q"): struct's own cache of
    # compiled formats is bounded, where a dict keyed by the count (which the
    # file chooses) would grow with every distinct count.
    tail_plan = [(layout.fixed_names.index(t.count_field),
                  None if t.item is None else (t.item.size, t.item.format[0], t.item.format[1:]))
                 for t in layout.tails]
    unpack_from = struct.unpack_from
    if len(tail_plan) == 1 and keep == list(range(len(keep))):
        # One variable part after the fixed fields, its count the last of them
        # (NAMI, GIO, USER, SYSCALL's args, ...): the general loop below, unrolled.
        ((count_index, only),) = tail_plan
        head = len(keep)
        if only is None:
            def decode_bytes_tail(buf: bytes, start: int, end: int) -> Payload:
                if end - start < fixed_size:
                    raise PayloadError(
                        f"{model.__name__} payload shorter than {fixed_size} bytes")
                values = unpack_fixed(buf, start)
                position = start + fixed_size
                stop = position + values[count_index]
                if stop > end:
                    raise PayloadError(f"{model.__name__} variable part overruns its record")
                return new(model, (*values[:head], buf[position:stop]))
            return decode_bytes_tail
        item_size, item_order, item_code = only

        def decode_array_tail(buf: bytes, start: int, end: int) -> Payload:
            if end - start < fixed_size:
                raise PayloadError(f"{model.__name__} payload shorter than {fixed_size} bytes")
            values = unpack_fixed(buf, start)
            position = start + fixed_size
            count = values[count_index]
            if position + count * item_size > end:
                raise PayloadError(f"{model.__name__} array overruns its record")
            return new(model, (*values[:head],
                               unpack_from(f"{item_order}{count}{item_code}", buf, position)))
        return decode_array_tail

    def decode_with_tails(buf: bytes, start: int, end: int) -> Payload:
        if end - start < fixed_size:
            raise PayloadError(f"{model.__name__} payload shorter than {fixed_size} bytes")
        values = fixed.unpack_from(buf, start)
        out: list[Any] = [values[i] for i in keep]
        position = start + fixed_size
        for count_index, item in tail_plan:
            count = values[count_index]
            if item is None:
                stop = position + count
                if stop > end:
                    raise PayloadError(f"{model.__name__} variable part overruns its record")
                out.append(buf[position:stop])
            else:
                item_size, order, code = item
                stop = position + count * item_size
                if stop > end:
                    raise PayloadError(f"{model.__name__} array overruns its record")
                out.append(unpack_from(f"{order}{count}{code}", buf, position))
            position = stop
        return new(model, out)

    return decode_with_tails


def _make_encoder(layout: Layout, model: type[Payload]) -> PayloadEncoder:
    encode_known = _encoder_of(layout, {n: i for i, n in enumerate(model._fields)})
    if layout.extension is None:
        return encode_known
    encode_more = _make_encoder(layout.extension, model)
    first = model._fields.index(layout.extension.model_fields[0])

    def encode_extended(payload: Payload) -> bytes:
        fields: tuple[Any, ...] = payload
        if all(value is None for value in fields[first:]):
            return encode_known(payload)  # as an older minor wrote it
        return encode_known(payload) + encode_more(payload)

    return encode_extended


def _encoder_of(layout: Layout, model_index: dict[str, int]) -> PayloadEncoder:
    """The fixed run and tails of ``layout`` (not its extension), from a payload's fields."""
    fixed = layout.fixed
    # For each packed fixed value: ("model", index) or ("count", index of its tail).
    plan: list[tuple[bool, int]] = []
    for name in layout.fixed_names:
        tail_name = next((t.name for t in layout.tails if t.count_field == name), None)
        if tail_name is None:
            plan.append((False, model_index[name]))
        else:
            plan.append((True, model_index[tail_name]))
    tails = [(model_index[t.name], t.item) for t in layout.tails]

    def encode(payload: Payload) -> bytes:
        fields: tuple[Any, ...] = payload
        values = [len(fields[i]) if is_count else fields[i] for is_count, i in plan]
        parts = [fixed.pack(*values)]
        for index, item in tails:
            value = fields[index]
            if item is None:
                parts.append(bytes(value))
            else:
                parts.append(struct.pack(f"{item.format[0]}{len(value)}{item.format[1:]}", *value))
        return b"".join(parts)

    return encode


SYSCALL_ARGUMENTS = 6  # Linux passes six argument registers


class Codec(NamedTuple):
    """Every fast encoder and decoder for one byte order."""

    order: ByteOrder
    header: struct.Struct
    layouts: dict[RecordKind, Layout]
    decoders: dict[int, PayloadDecoder]
    encoders: dict[int, PayloadEncoder]
    # Whole records in one pack() for the two kinds a tracer writes most:
    # the record header's layout followed by the payload's (derived, not restated).
    syscall_struct: struct.Struct
    sysret_struct: struct.Struct
    namei_struct: struct.Struct  # header + NAMEI fixed part; the path follows
    genio_struct: struct.Struct  # header + GENIO fixed part; the data follows
    struct_struct: struct.Struct  # header + STRUCT fixed part; name and data follow
    # A SYSCALL payload with exactly six arguments (nearly every one) in one unpack,
    # and where its argument count is among the values (the fixed fields before it
    # are the payload's first ones): ``record_chunks``' fast path.
    syscall_payload_struct: struct.Struct
    syscall_count_index: int
    # Kinds of the shape fixed fields + bytes counted by the last of them:
    # (unpack_from of the fixed fields, their size, the payload model, how many
    # fixed fields come before the count).
    bytes_tails: Mapping[
        int, tuple[Callable[[bytes, int], tuple[Any, ...]], int, type[Payload], int]]

    def syscall_record(
        self, pid: int, tid: int, timestamp_ns: int, comm: bytes, nr: int, abi: int,
        args: Sequence[int],
    ) -> bytes:
        """A SYSCALL record with exactly six arguments (the Linux case)."""
        packer = self.syscall_struct
        return packer.pack(
            packer.size - self.header.size, RecordKind.SYSCALL, RECORD_VERSION, pid, tid,
            timestamp_ns, comm, nr, abi, 0, SYSCALL_ARGUMENTS, *args,
        )

    def sysret_record(
        self, pid: int, tid: int, timestamp_ns: int, comm: bytes, nr: int, abi: int,
        flags: int, error: int, retval: int, duration_ns: int,
    ) -> bytes:
        packer = self.sysret_struct
        return packer.pack(
            packer.size - self.header.size, RecordKind.SYSRET, RECORD_VERSION, pid, tid,
            timestamp_ns, comm, nr, abi, flags, error, retval, duration_ns,
        )

    def namei_record(
        self, pid: int, tid: int, timestamp_ns: int, comm: bytes, path: bytes
    ) -> bytes:
        packer = self.namei_struct
        return packer.pack(
            packer.size - self.header.size + len(path), RecordKind.NAMEI, RECORD_VERSION, pid,
            tid, timestamp_ns, comm, len(path),
        ) + path

    def genio_record(
        self, pid: int, tid: int, timestamp_ns: int, comm: bytes, fd: int, direction: int,
        flags: int, transferred: int, data: bytes,
    ) -> bytes:
        packer = self.genio_struct
        return packer.pack(
            packer.size - self.header.size + len(data), RecordKind.GENIO, RECORD_VERSION, pid,
            tid, timestamp_ns, comm, fd, direction, flags, transferred, len(data),
        ) + data

    def struct_record(
        self, pid: int, tid: int, timestamp_ns: int, comm: bytes, abi: int, argument: int,
        name: bytes, data: bytes,
    ) -> bytes:
        """A STRUCT record (the tracer's third most frequent: stat, dirents, ...)."""
        packer = self.struct_struct
        return packer.pack(
            packer.size - self.header.size + len(name) + len(data), RecordKind.STRUCT,
            RECORD_VERSION, pid, tid, timestamp_ns, comm, abi, argument, len(name), len(data),
        ) + name + data

    def encode_payload(self, kind: RecordKind, payload: Payload) -> bytes:
        return self.encoders[kind](payload)

    def encode_record(
        self, kind: RecordKind, pid: int, tid: int, timestamp_ns: int, comm: bytes,
        payload: Payload,
    ) -> bytes:
        """One record (header and payload) as bytes."""
        body = self.encoders[kind](payload)
        return self.header.pack(
            len(body), kind, RECORD_VERSION, pid, tid, timestamp_ns, comm[:COMM_LENGTH]
        ) + body

    def encode_raw_record(
        self, kind: int, pid: int, tid: int, timestamp_ns: int, comm: bytes, body: bytes,
    ) -> bytes:
        """A record whose payload bytes are already built."""
        return self.header.pack(
            len(body), kind, RECORD_VERSION, pid, tid, timestamp_ns, comm[:COMM_LENGTH]
        ) + body

    def decode_payload(self, kind: int, buf: bytes, start: int, end: int) -> Payload:
        decoder = self.decoders.get(kind)
        if decoder is None:
            return Unknown(buf[start:end])
        return decoder(buf, start, end)

    def iter_records(self, raw: bytes) -> Sequence[Record]:
        """Split a batch's raw bytes into records.

        Raises PayloadError (carrying no offset) on framing that does not add up;
        the caller turns it into a CorruptBatch with the batch's offset.
        """
        records: list[Record] = []
        for chunk in self.record_chunks(raw, 0):
            records = chunk
        return records

    def record_chunks(self, raw: bytes, chunk_records: int) -> Iterator[list[Record]]:
        """Decode a batch's raw bytes lazily, ``chunk_records`` records per list
        (0: one list of them all), so a large batch never exists as objects at once.

        Raises PayloadError as ``iter_records`` does, when the generator reaches
        the damage (the lists before it have been yielded by then).
        """
        header = self.header
        header_size = header.size
        unpack_header = header.unpack_from
        decoders = self.decoders
        new_tuple = tuple.__new__  # Record's own __new__ is a Python-level call per record
        # SYSCALL with six arguments, inline (a third of a trace's records): what its
        # decoder gives, without the call, the counted format and the second unpack.
        syscall_kind = int(RecordKind.SYSCALL)
        syscall_model = PAYLOAD_TYPES[RecordKind.SYSCALL]
        unpack_syscall = self.syscall_payload_struct.unpack_from
        syscall_size = self.syscall_payload_struct.size
        count_index = self.syscall_count_index
        if count_index != 3:  # nr, abi, flags: the payload below is built from them
            raise SchemaShapeError("SYSCALL's argument count is not its fourth field")
        six = SYSCALL_ARGUMENTS
        # SYSRET (another third), inline likewise: one unpack of its fixed fields.
        sysret_kind = int(RecordKind.SYSRET)
        sysret_model = PAYLOAD_TYPES[RecordKind.SYSRET]
        sysret_layout = self.layouts[RecordKind.SYSRET]
        if sysret_layout.tails:
            raise SchemaShapeError("SYSRET has a variable part")
        unpack_sysret = sysret_layout.fixed.unpack_from
        sysret_size = sysret_layout.fixed.size
        # Kinds whose one variable part is bytes counted by their last fixed field
        # (NAMI, GIO, ARG, ENV, PSIG, PROC, EMUL): inline likewise, by a table.
        bytes_tails = self.bytes_tails
        records: list[Record] = []
        append = records.append
        position = 0
        end = len(raw)
        # Compared, not subtracted: every int past 256 that arithmetic makes is
        # an object, made and freed per record.
        last_header = end - header_size
        # 0: one list of them all (the list never reaches 0 records after an append).
        chunk = chunk_records
        # Consecutive records mostly share their command name: the previous one's
        # stripped name is reused when the raw bytes are equal (one comparison
        # instead of a strip and a new object; the value is the same).
        last_comm = b""
        last_name = b""
        while position < end:
            if position > last_header:
                raise PayloadError(f"record header at {position} runs past the batch")
            length, kind, version, pid, tid, timestamp, comm = unpack_header(raw, position)
            start = position + header_size
            stop = start + length
            if stop > end:
                raise PayloadError(f"record at {position} runs past the batch")
            if kind == sysret_kind and length >= sysret_size:
                payload = new_tuple(sysret_model, unpack_sysret(raw, start))
            elif kind == syscall_kind and length >= syscall_size:
                values = unpack_syscall(raw, start)
                if values[3] == six:
                    # One tuple built (nr, abi, flags, the arguments' slice): fewer
                    # objects than slicing and concatenating (measured).
                    payload = new_tuple(syscall_model,
                                        (values[0], values[1], values[2], values[4:]))
                else:
                    payload = decoders[kind](raw, start, stop)
            else:
                tail = bytes_tails.get(kind)
                if tail is not None and length >= tail[1]:
                    unpack_fixed, fixed_size, model, head = tail
                    values = unpack_fixed(raw, start)
                    data_start = start + fixed_size
                    data_stop = data_start + values[-1]
                    if data_stop <= stop:
                        data = raw[data_start:data_stop]
                        # The fixed fields but the count, then the bytes: one tuple
                        # for the commonest shapes (NAMI, GIO), else concatenated.
                        if head == 0:
                            payload = new_tuple(model, (data,))
                        elif head == 4:
                            payload = new_tuple(
                                model, (values[0], values[1], values[2], values[3], data))
                        else:
                            payload = new_tuple(model, values[:-1] + (data,))  # noqa: RUF005
                    else:
                        payload = decoders[kind](raw, start, stop)  # raises PayloadError
                else:
                    decoder = decoders.get(kind)
                    payload = (Unknown(raw[start:stop]) if decoder is None
                               else decoder(raw, start, stop))
            if comm != last_comm:
                last_comm = comm
                last_name = comm.rstrip(b"\0")
            append(new_tuple(Record, (kind, version, pid, tid, timestamp, last_name, payload)))
            position = stop
            if len(records) == chunk:
                yield records
                records = []
                append = records.append
        if records or not chunk_records:
            yield records


def _build_codec(order: ByteOrder) -> Codec:
    header_layout = generated_layout(order, "record_header")
    layouts = {kind: generated_layout(order, kind.name) for kind in PAYLOAD_TYPES}
    decoders: dict[int, PayloadDecoder] = {}
    encoders: dict[int, PayloadEncoder] = {}
    for kind, layout in layouts.items():
        model = PAYLOAD_TYPES[kind]
        decoders[int(kind)] = _make_decoder(layout, model)
        encoders[int(kind)] = _make_encoder(layout, model)
    header_format = header_layout.fixed.format
    syscall = layouts[RecordKind.SYSCALL]
    (args_tail,) = syscall.tails
    assert args_tail.item is not None
    syscall_struct = struct.Struct(
        header_format + syscall.fixed.format[1:] + args_tail.item.format[1:] * SYSCALL_ARGUMENTS
    )
    def whole(kind: RecordKind) -> struct.Struct:
        return struct.Struct(header_format + layouts[kind].fixed.format[1:])

    count_index = syscall.fixed_names.index(args_tail.count_field)
    if count_index != len(syscall.fixed_names) - 1:
        raise SchemaShapeError("SYSCALL's argument count is not its last fixed field")
    syscall_payload_struct = struct.Struct(
        syscall.fixed.format + args_tail.item.format[1:] * SYSCALL_ARGUMENTS)
    bytes_tails = {
        int(kind): (layout.fixed.unpack_from, layout.fixed.size, PAYLOAD_TYPES[kind],
                    len(layout.fixed_names) - 1)
        for kind, layout in layouts.items()
        if len(layout.tails) == 1 and layout.tails[0].item is None and layout.extension is None
        and layout.fixed_names[-1] == layout.tails[0].count_field
        and layout.tails[0].count_field not in layout.fixed_names[:-1]}
    return Codec(order, header_layout.fixed, layouts, decoders, encoders, syscall_struct,
                 whole(RecordKind.SYSRET), whole(RecordKind.NAMEI), whole(RecordKind.GENIO),
                 whole(RecordKind.STRUCT), syscall_payload_struct, count_index, bytes_tails)


_CODECS: dict[str, Codec] = {}


def codec(order: ByteOrder = "little") -> Codec:
    """The codec for ``order``, built on first use."""
    found = _CODECS.get(order)
    if found is None:
        found = _CODECS[order] = _build_codec(order)
    return found
