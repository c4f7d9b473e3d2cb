"""The parquet view's batch parser: a batch's records as flat tuples, for its fast path.

``batch_parser(codec)`` gives the parser ``TraceReader.parsed_events`` takes.
It walks a batch's raw records and gives, in record order, one item per record:

- the five kinds a call is made of in nearly every trace — SYSCALL with six
  arguments, SYSRET, NAMI, GIO and STRUCT — as the one tuple that unpacking
  the whole record (header and fixed payload fields) with one ``struct``
  gives, its fields in the schema's order (``length kind version pid tid
  timestamp_ns comm``, then the payload's; ``comm`` NUL-padded as stored); a
  NAMI's path and a GIO's data follow as an item of their own (bytes), a
  STRUCT's payload as the ``formats.Struct`` the codec decodes (its name and
  data cut from the record as the codec cuts them);
- every other record as the ``formats.Record`` the codec decodes, after a
  ``None`` that marks it (a consumer tells it by identity, which is cheaper
  than by type); so is one of the five whose length is not exactly its
  fields' (and its path's, data's or name's and data's): a later version's,
  or damage (the recorder writes them at their size).

The walk reads each record's kind from its byte and unpacks one of the five
whole at once, then checks its kind and length in the tuple; near the end of
a batch, where a whole-record unpack could run past it, a careful walk
(header first) takes the batch over.

The structs are the codec's (``formats._codec``: derived from the construct
schemas, never restated); field positions are looked up by name here, and a
schema whose fields moved makes this module refuse to load. ``as_record``
turns an item back into the ``Record`` the codec decodes (equal, tested
against the codec and construct's parse of random records).

Guarantees: the parser refuses (raises ``ValueError``) every batch the codec
would find damaged — a record header or payload that runs past the batch, a
payload shorter than its fields — and takes each record the codec takes with
the same values, so ``parsed_events`` gives the same batches and notices as
``events``.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from formats import ByteOrder, Codec, Genio, Namei, Record, RecordKind, Struct, Syscall, Sysret
from formats._codec import SYSCALL_ARGUMENTS, generated_layout

SYSCALL = int(RecordKind.SYSCALL)
SYSRET = int(RecordKind.SYSRET)
NAMEI = int(RecordKind.NAMEI)
GENIO = int(RecordKind.GENIO)
STRUCT = int(RecordKind.STRUCT)

#: The record header's fields, in order (every whole-record tuple starts with them).
HEADER_FIELDS = ("length", "kind", "version", "pid", "tid", "timestamp_ns", "comm")


def _fields(kind: RecordKind, order: ByteOrder = "little") -> tuple[str, ...]:
    return generated_layout(order, "record_header").fixed_names + generated_layout(
        order, kind.name).fixed_names


def _check_layouts() -> None:
    """The positions below are by name: refuse to load if the schemas moved them."""
    if generated_layout("little", "record_header").fixed_names != HEADER_FIELDS:
        raise ImportError("the record header's fields moved: ktrdump._rawparse reads them "
                          "by position")
    expected = {
        RecordKind.SYSCALL: (*HEADER_FIELDS, "nr", "abi", "flags", "argc"),
        RecordKind.SYSRET: (*HEADER_FIELDS, *Sysret._fields),
        RecordKind.NAMEI: (*HEADER_FIELDS, "path_length"),
        RecordKind.GENIO: (*HEADER_FIELDS, *Genio._fields[:-1], "data_length"),
        RecordKind.STRUCT: (*HEADER_FIELDS, "abi", "argument", "name_length", "data_length"),
    }
    for kind, names in expected.items():
        if _fields(kind) != names:
            raise ImportError(f"{kind.name}'s fields moved: ktrdump._rawparse reads them "
                              "by position")
    if (Syscall._fields != ("nr", "abi", "flags", "args") or Namei._fields != ("path",)
            or Struct._fields != ("abi", "argument", "name", "data")):
        raise ImportError("formats' payload models changed: ktrdump._rawparse builds them")


_check_layouts()

#: Positions in a whole-record tuple (``_check_layouts`` holds them to the schemas).
PID, TID, TS, COMM = 3, 4, 5, 6
NR, ABI = 7, 8
ARGC = 10  # SYSCALL's argument count; its six arguments follow
ARGS = slice(11, 11 + SYSCALL_ARGUMENTS)
RET_FIELDS = slice(7, 7 + len(Sysret._fields))  # a Sysret's fields, in order
GIO_FIELDS = slice(7, 7 + len(Genio._fields) - 1)  # a Genio's but its data
STRUCT_ABI, STRUCT_ARGUMENT = 7, 8  # a STRUCT's abi and argument (its name, data lengths follow)


def as_record(item: tuple[Any, ...], data: Any = None) -> Record:
    """The ``Record`` the codec decodes for a whole-record tuple (and the item after it:
    a path, data, or a STRUCT's ``Struct``)."""
    kind = item[1]
    payload: Any
    if kind == SYSCALL:
        payload = Syscall(item[NR], item[ABI], item[9], item[ARGS])
    elif kind == SYSRET:
        payload = Sysret(*item[RET_FIELDS])
    elif kind == NAMEI:
        assert data is not None
        payload = Namei(data)
    elif kind == STRUCT:
        assert type(data) is Struct
        payload = data
    else:
        assert kind == GENIO and data is not None
        payload = Genio._make((*item[GIO_FIELDS], data))
    return Record(kind, item[2], item[PID], item[TID], item[TS], item[COMM].rstrip(b"\0"),
                  payload)


def batch_parser(codec: Codec) -> Callable[[bytes], tuple[int, list[Any]]]:
    """The parser of ``codec``'s batches (see the module docstring)."""
    header = codec.header
    header_size = header.size
    # The header's first two fields (length, kind): all the walk needs to dispatch.
    head = struct.Struct(header.format[:3]).unpack_from
    if head(header.pack(7, 9, 1, 2, 3, 4, b"")) != (7, 9):
        raise ValueError("the record header does not start with its length and kind")
    unpack_header = header.unpack_from
    decode_payload = codec.decode_payload
    whole_syscall = codec.syscall_struct
    unpack_syscall = whole_syscall.unpack_from
    syscall_size = whole_syscall.size - header_size
    unpack_sysret = codec.sysret_struct.unpack_from
    sysret_size = codec.sysret_struct.size - header_size
    unpack_namei = codec.namei_struct.unpack_from
    namei_size = codec.namei_struct.size  # the path follows
    namei_fixed = namei_size - header_size
    unpack_genio = codec.genio_struct.unpack_from
    genio_size = codec.genio_struct.size  # the data follows
    genio_fixed = genio_size - header_size
    unpack_struct = codec.struct_struct.unpack_from
    struct_size = codec.struct_struct.size  # the name, then the data, follow
    struct_fixed = struct_size - header_size
    six = SYSCALL_ARGUMENTS
    new_tuple = tuple.__new__

    def other(raw: bytes, position: int, stop: int) -> Record:
        """A record of another shape, as the codec decodes it (raises PayloadError)."""
        _length, kind, version, pid, tid, ts, comm = unpack_header(raw, position)
        payload = decode_payload(kind, raw, position + header_size, stop)
        return new_tuple(Record, (kind, version, pid, tid, ts, comm.rstrip(b"\0"), payload))

    # Where the record kind's low byte is (the header's second field, a u16):
    # the walk dispatches on it without unpacking the header first.
    kind_at = struct.calcsize(header.format[:2])
    kind_at += 0 if header.format[0] in "<=" else 1  # big-endian: the low byte last
    sysret_whole = codec.sysret_struct.size
    syscall_whole = whole_syscall.size

    def careful(raw: bytes) -> tuple[int, list[Any]]:
        """The walk, each record's header unpacked before its payload (``parse``'s
        fallback near the batch's end, where a whole-record unpack could run past it)."""
        items: list[Any] = []
        append = items.append
        position = 0
        end = len(raw)
        last_header = end - header_size
        count = 0
        while position < end:
            if position > last_header:
                raise ValueError("a record header runs past the batch")
            length, kind = head(raw, position)
            stop = position + header_size + length
            if stop > end:
                raise ValueError("a record runs past the batch")
            if kind == SYSRET and length >= sysret_size:
                append(unpack_sysret(raw, position))
            elif (kind == SYSCALL and length >= syscall_size
                    and (item := unpack_syscall(raw, position))[ARGC] == six):
                append(item)
            elif kind == GENIO and length >= genio_fixed:
                item = unpack_genio(raw, position)
                data_stop = position + genio_size + item[-1]
                if data_stop > stop:
                    raise ValueError("GIO data overruns its record")
                append(item)
                append(raw[position + genio_size:data_stop])
            elif kind == NAMEI and length >= namei_fixed:
                item = unpack_namei(raw, position)
                data_stop = position + namei_size + item[-1]
                if data_stop > stop:
                    raise ValueError("NAMI path overruns its record")
                append(item)
                append(raw[position + namei_size:data_stop])
            elif kind == STRUCT and length >= struct_fixed:
                item = unpack_struct(raw, position)
                name_at = position + struct_size
                data_at = name_at + item[-2]
                data_stop = data_at + item[-1]
                if data_at > stop:  # as the codec checks them: the name, then the data
                    raise ValueError("STRU name overruns its record")
                if data_stop > stop:
                    raise ValueError("STRU data overruns its record")
                append(item)
                append(new_tuple(Struct, (item[STRUCT_ABI], item[STRUCT_ARGUMENT],
                                          raw[name_at:data_at], raw[data_at:data_stop])))
            else:
                append(None)  # the mark of a Record
                append(other(raw, position, stop))
            position = stop
            count += 1
        return count, items

    def parse(raw: bytes) -> tuple[int, list[Any]]:
        """``careful``'s walk and items, each common record unpacked whole at once
        (its kind read from its byte, then checked with its length in the tuple)."""
        try:
            items: list[Any] = []
            append = items.append
            position = 0
            end = len(raw)
            last_header = end - header_size
            datas = 0  # items that are not a record's first (a path, data, a mark)
            while position < end:
                # IndexError here, struct.error below: a header or a whole-record
                # unpack that would run past the batch's end (a short record there,
                # or damage): ``careful`` walks the batch instead, and finds it.
                kind = raw[position + kind_at]
                # SYSRET and SYSCALL: of exactly their fields' size (as the recorder
                # writes them), the record is the unpacked bytes, which were there;
                # a longer one (a later version's) is taken below, as a Record.
                if kind == SYSRET:
                    item = unpack_sysret(raw, position)
                    if item[0] == sysret_size and item[1] == SYSRET:
                        append(item)
                        position += sysret_whole
                        continue
                elif kind == SYSCALL:
                    item = unpack_syscall(raw, position)
                    if item[0] == syscall_size and item[1] == SYSCALL and item[ARGC] == six:
                        append(item)
                        position += syscall_whole
                        continue
                # GIO and NAMI: their fields, then exactly their data or path (as the
                # recorder writes them; an unsigned count cannot make a shorter
                # record match); any other length is taken below, as a Record.
                elif kind == GENIO:
                    item = unpack_genio(raw, position)
                    if item[0] == genio_fixed + item[-1] and item[1] == GENIO:
                        stop = position + genio_size + item[-1]
                        if stop > end:
                            raise ValueError("a record runs past the batch")
                        append(item)
                        append(raw[position + genio_size:stop])
                        datas += 1
                        position = stop
                        continue
                elif kind == NAMEI:
                    item = unpack_namei(raw, position)
                    if item[0] == namei_fixed + item[-1] and item[1] == NAMEI:
                        stop = position + namei_size + item[-1]
                        if stop > end:
                            raise ValueError("a record runs past the batch")
                        append(item)
                        append(raw[position + namei_size:stop])
                        datas += 1
                        position = stop
                        continue
                # STRUCT: its fields, then exactly its name and data; the ``Struct``
                # the codec decodes follows the tuple, as a NAMI's path does.
                elif kind == STRUCT:
                    item = unpack_struct(raw, position)
                    if item[0] == struct_fixed + item[-2] + item[-1] and item[1] == STRUCT:
                        name_at = position + struct_size
                        data_at = name_at + item[-2]
                        stop = data_at + item[-1]
                        if stop > end:
                            raise ValueError("a record runs past the batch")
                        append(item)
                        append(new_tuple(Struct, (item[STRUCT_ABI], item[STRUCT_ARGUMENT],
                                                  raw[name_at:data_at], raw[data_at:stop])))
                        datas += 1
                        position = stop
                        continue
                # Any other record, or one of those five shorter than its fields: as
                # ``careful`` takes it.
                if position > last_header:
                    raise ValueError("a record header runs past the batch")
                length, kind = head(raw, position)
                stop = position + header_size + length
                if stop > end:
                    raise ValueError("a record runs past the batch")
                append(None)  # the mark of a Record
                append(other(raw, position, stop))
                datas += 1
                position = stop
        except (struct.error, IndexError):
            return careful(raw)
        return len(items) - datas, items

    return parse


__all__ = ["as_record", "batch_parser"]
