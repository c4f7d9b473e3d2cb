"""construct schemas: the single source of truth for every byte ktr writes.

Guarantees: ``schemas(order)`` returns the same schema objects for a given byte
order every time; every payload schema is a run of fixed-size fields followed
by zero or more variable parts, each sized by a field of the fixed run (never
greedy), so a later minor version can append fields after them.
``struct_data_schemas()`` gives the layouts of the STRUCT data ktr composes
itself (``fd_paths``, ``mmsg_extras``, ...), inside a STRUCT's ``data``; their
items have that same shape (``_struct_data`` reads and writes them).

Does not: do any I/O, or decide what a value means (see ``_kinds``). The fast
``struct`` forms every reader and writer uses are derived from these schemas
(``_codec.layout_tables``), kept generated in ``_layouts`` (a test checks the
two agree) and tested byte for byte against them. construct itself is
imported by the first ``schemas()`` call, not with this module: its import
(about 35 ms, with pdb, pickle and hashlib) is a sixth of a recording's start-up,
and neither the recorder nor the reader needs it.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    import construct as cs

from ._kinds import PROBE_STRING_FAULT, PROBE_STRING_TRUNCATED, RecordKind

ByteOrder = Literal["little", "big"]

FILE_MAGIC = b"\x89KTR\r\n\x1a\n"  # PNG-style: catches text-mode and 7-bit damage
BATCH_MAGIC = b"KTRB"
BYTE_ORDER_MARKS: dict[ByteOrder, bytes] = {"little": b"L", "big": b"B"}

FORMAT_MAJOR = 1
FORMAT_MINOR = 1  # 1: the file header ends with its CRC-32 (header_checksum)
RECORD_VERSION = 1  # ktr_header v1: nanosecond time and thread id
COMM_LENGTH = 16  # Linux TASK_COMM_LEN


class Schemas(NamedTuple):
    """All schemas for one byte order."""

    preamble: cs.Struct  # magic and byte-order mark: all read before the order is known
    header_fields: cs.Struct  # after the preamble: versions and the body's length
    header_body: cs.Struct
    header_checksum: cs.Struct  # the header's last bytes (minor >= 1)
    batch_header: cs.Struct
    record_header: cs.Struct
    payloads: dict[RecordKind, cs.Struct]


@functools.cache
def schemas(order: ByteOrder) -> Schemas:
    """The schemas for ``order`` ("little" or "big")."""
    import construct as cs

    big = order == "big"
    u8 = cs.Int8ub if big else cs.Int8ul
    u16 = cs.Int16ub if big else cs.Int16ul
    u32 = cs.Int32ub if big else cs.Int32ul
    u64 = cs.Int64ub if big else cs.Int64ul
    i32 = cs.Int32sb if big else cs.Int32sl
    i64 = cs.Int64sb if big else cs.Int64sl

    # The same bytes in either order (the mark says which follows).
    preamble = cs.Struct(
        "magic" / cs.Const(FILE_MAGIC),
        "byte_order" / cs.Bytes(1),
    )
    header_body = cs.Struct(
        "realtime_ns" / i64,
        "monotonic_ns" / i64,
        "ktr_version" / cs.PascalString(u16, "utf8"),
        "hostname" / cs.PascalString(u16, "utf8"),
        "kernel_release" / cs.PascalString(u16, "utf8"),
        "machine" / cs.PascalString(u16, "utf8"),
        "options" / cs.PascalString(u32, "utf8"),  # a JSON object
    )
    # Since minor 1 the body's last four bytes (counted in body_length) are
    # this: the CRC-32 of every header byte before them, from the magic on.
    # A later minor adds its fields before it, never after.
    header_checksum = cs.Struct(
        "header_crc" / u32,
    )
    # body_length lets a reader skip header fields a newer minor appended.
    header_fields = cs.Struct(
        cs.Padding(3),
        "major" / u16,
        "minor" / u16,
        "body_length" / u32,
    )

    batch_header = cs.Struct(
        "magic" / cs.Const(BATCH_MAGIC),
        "flags" / u16,
        cs.Padding(2),
        "record_count" / u32,
        "stored_length" / u32,
        "raw_length" / u32,
        "payload_crc" / u32,
        "header_crc" / u32,
    )

    record_header = cs.Struct(
        "length" / u32,
        "kind" / u16,
        "version" / u16,
        "pid" / i32,
        "tid" / i32,
        "timestamp_ns" / u64,
        "comm" / cs.Bytes(COMM_LENGTH),
    )

    payloads = {
        RecordKind.SYSCALL: cs.Struct(
            "nr" / i32,
            "abi" / u8,
            "flags" / u8,
            "argc" / u16,
            "args" / cs.Array(cs.this.argc, u64),
        ),
        RecordKind.SYSRET: cs.Struct(
            "nr" / i32,
            "abi" / u8,
            "flags" / u8,
            cs.Padding(2),
            "error" / i32,
            cs.Padding(4),
            "retval" / i64,
            "duration_ns" / u64,
        ),
        RecordKind.NAMEI: cs.Struct(
            "path_length" / u32,
            "path" / cs.Bytes(cs.this.path_length),
        ),
        RecordKind.GENIO: cs.Struct(
            "fd" / i32,
            "direction" / u8,
            "flags" / u8,
            cs.Padding(2),
            "transferred" / u64,
            "data_length" / u32,
            "data" / cs.Bytes(cs.this.data_length),
        ),
        RecordKind.PSIG: cs.Struct(
            "signo" / i32,
            "code" / i32,
            "action" / u64,
            "blocked" / u64,
            "siginfo_length" / u32,
            "siginfo" / cs.Bytes(cs.this.siginfo_length),
        ),
        RecordKind.CSW: cs.Struct(
            "out" / u8,
            "user" / u8,
            "flags" / u8,
            cs.Padding(1),
            "cpu" / i32,
        ),
        RecordKind.EMUL: cs.Struct(
            "name_length" / u32,
            "name" / cs.Bytes(cs.this.name_length),
        ),
        RecordKind.USER: cs.Struct(
            "label_length" / u16,
            cs.Padding(2),
            "data_length" / u32,
            "label" / cs.Bytes(cs.this.label_length),
            "data" / cs.Bytes(cs.this.data_length),
        ),
        RecordKind.EXEC_ARG: cs.Struct(
            "data_length" / u32,
            "data" / cs.Bytes(cs.this.data_length),
        ),
        RecordKind.EXEC_ENV: cs.Struct(
            "data_length" / u32,
            "data" / cs.Bytes(cs.this.data_length),
        ),
        RecordKind.PROC: cs.Struct(
            "event" / u8,
            "flags" / u8,
            cs.Padding(2),
            "child" / i32,
            "status" / i32,
            "signal" / i32,
            "detail_length" / u32,
            "detail" / cs.Bytes(cs.this.detail_length),
        ),
        RecordKind.PROBE: cs.Struct(
            "probe_id" / u32,
            "site" / u8,
            "argc" / u8,
            "name_length" / u16,
            "pc" / u64,
            "offset" / u64,
            "value" / u64,
            "strings_length" / u32,
            cs.Padding(4),
            "args" / cs.Array(cs.this.argc, u64),
            "name" / cs.Bytes(cs.this.name_length),
            "strings" / cs.Bytes(cs.this.strings_length),  # probe_string_schemas' data
        ),
        RecordKind.PROBE_DEF: cs.Struct(
            "probe_id" / u32,
            "site" / u8,
            "type_count" / u8,
            "flags" / u16,
            "file_offset" / u64,
            "function_vaddr" / u64,
            "function_size" / u64,
            "point_offset" / u64,
            "string_cap" / u32,
            "module_length" / u16,
            "build_id_length" / u16,
            "function_length" / u16,
            "alias_length" / u16,
            cs.Padding(4),
            "types" / cs.Bytes(cs.this.type_count),
            "module" / cs.Bytes(cs.this.module_length),
            "build_id" / cs.Bytes(cs.this.build_id_length),
            "function" / cs.Bytes(cs.this.function_length),
            "alias" / cs.Bytes(cs.this.alias_length),
        ),
        RecordKind.SAMPLE: cs.Struct(
            "pc" / u64,
            "period" / u64,
            "cpu" / u32,
            "abi" / u8,
            "flags" / u8,
            "reg_count" / u16,
            "regs_mask" / u64,
            "stack_size" / u32,
            "callchain_count" / u16,
            cs.Padding(2),
            "stack_length" / u32,
            cs.Padding(4),
            "regs" / cs.Array(cs.this.reg_count, u64),
            "callchain" / cs.Array(cs.this.callchain_count, u64),
            "stack" / cs.Bytes(cs.this.stack_length),
        ),
        RecordKind.MMAP: cs.Struct(
            "start" / u64,
            "end" / u64,
            "offset" / u64,
            "prot" / u32,
            "flags" / u32,
            "origin" / u8,
            "build_id_length" / u8,
            cs.Padding(2),
            "path_length" / u32,
            "image_length" / u32,
            cs.Padding(4),
            "build_id" / cs.Bytes(cs.this.build_id_length),
            "path" / cs.Bytes(cs.this.path_length),
            "image" / cs.Bytes(cs.this.image_length),
        ),
        RecordKind.STRUCT: cs.Struct(
            "abi" / u8,
            "argument" / u8,
            "name_length" / u16,
            "data_length" / u32,
            "name" / cs.Bytes(cs.this.name_length),
            "data" / cs.Bytes(cs.this.data_length),
        ),
        RecordKind.CNT: cs.Struct(
            "flags" / u8,
            cs.Padding(1),
            "count" / u16,
            "names_length" / u32,
            "enabled_ns" / u64,
            "running_ns" / u64,
            "values" / cs.Array(cs.this.count, u64),
            "names" / cs.Bytes(cs.this.names_length),
        ),
        RecordKind.DROP: cs.Struct(
            "error" / u32,
            # the CPU whose perf ring lost them, plus one; 0 unknown (padding, written
            # 0, before this field: an older DROP reads as unknown)
            "ring" / u32,
            "lost" / u64,
        ),
        RecordKind.END: cs.Struct(
            "status" / i32,
            "flags" / u32,
            "processes" / u32,
            "threads" / u32,
            "lost" / u32,
            "detached" / u32,
            "reason_length" / u32,
            "reason" / cs.Bytes(cs.this.reason_length),
            # appended (absent from ENDs written before): probes never placed
            "unplaced" / u32,
            "unplaced_length" / u32,
            "unplaced_probes" / cs.Bytes(cs.this.unplaced_length),
        ),
        RecordKind.BEGIN: cs.Struct(
            "recorder_pid" / i32,
            "flags" / u32,
            "realtime_ns" / u64,
            "monotonic_ns" / u64,
            "version_length" / u16,
            cs.Padding(2),
            "options_length" / u32,
            "version" / cs.Bytes(cs.this.version_length),
            "options" / cs.Bytes(cs.this.options_length),
        ),
    }
    return Schemas(preamble, header_fields, header_body, header_checksum, batch_header,
                   record_header, payloads)


class StructDataSchemas(NamedTuple):
    """The data of the STRUCT records whose layout is ktr's own (not a kernel structure's)."""

    data: dict[str, cs.Construct]  # by STRUCT name: the whole data
    items: dict[str, cs.Struct]  # by STRUCT name, for the repeated and fixed ones: one item


@functools.cache
def struct_data_schemas() -> StructDataSchemas:
    """The STRUCT names whose data ktr composes itself (SPEC.md, STRUCT's names).

    Little-endian whatever the file's byte order: STRUCT data is in the x86
    kernel's layout, and these sit beside kernel structures (and hold kernel
    values: fds, socklen_t). Every other STRUCT name is a kernel structure,
    whose layout is the kernel's (``ktrdump._structs``). A repeated layout is
    a run of whole items to the data's end (``Terminated``: bytes left over
    that are no whole item are damage), each a fixed run then one length-sized
    part, the shape ``_codec.derive_layout`` translates.
    """
    import construct as cs

    u32, i32 = cs.Int32ul, cs.Int32sl

    def repeated(item: cs.Struct) -> cs.Struct:
        return cs.Struct("items" / cs.GreedyRange(item), cs.Terminated)

    # fd_paths, open_fds: an fd and the path /proc/TID/fd/N names it by
    fd_path = cs.Struct(
        "fd" / i32,
        "path_length" / u32,
        "path" / cs.Bytes(cs.this.path_length),
    )
    # mmsg_extras (per message its msg_name's address, then its msg_control's
    # data), unsent_messages (per message its data): length-prefixed parts
    part = cs.Struct(
        "length" / u32,
        "data" / cs.Bytes(cs.this.length),
    )
    clone3_ids = cs.Struct(
        "which" / u32,  # bit 0: pidfd read, bit 1: parent_tid read
        "pidfd" / i32,
        "parent_tid" / i32,
    )
    count = cs.Struct("count" / u32)
    # a socklen_t at entry, then (calls that succeeded) at exit
    socklen = cs.Struct("before" / u32, "after" / cs.Optional(u32), cs.Terminated)
    path = cs.Struct("path" / cs.GreedyBytes)  # fd_path, cwd: readlink's bytes, no NUL
    items = {"fd_paths": fd_path, "open_fds": fd_path, "mmsg_extras": part,
             "unsent_messages": part, "clone3_ids": clone3_ids, "count": count}
    data: dict[str, cs.Construct] = {
        "fd_path": path, "cwd": path, "socklen": socklen,
        "clone3_ids": clone3_ids, "count": count,
        **{name: repeated(items[name])
           for name in ("fd_paths", "open_fds", "mmsg_extras", "unsent_messages")},
    }
    return StructDataSchemas(data, items)


class ProbeStringSchemas(NamedTuple):
    """PROBE's ``strings`` field: one entry per ``str`` value, in order (SPEC.md)."""

    data: cs.Struct  # the whole field: entries to its end
    item: cs.Struct  # one entry: the length word, then (unless unreadable) the bytes
    head: cs.Struct  # the entry's fixed run (the length word): its generated layout


@functools.cache
def probe_string_schemas(order: ByteOrder) -> ProbeStringSchemas:
    """PROBE.strings for ``order``, the file's byte order (as every payload field).

    An entry is a u32 ``word``: ``PROBE_STRING_FAULT``, a string that could not be
    read, and nothing follows; otherwise bit 31 (``PROBE_STRING_TRUNCATED``) says
    the string was cut and bits 0-30 are the length of the bytes that follow (no
    NUL). Entries run to the field's end: bytes left over that are no whole entry
    are damage (``Terminated``), as in the repeated STRUCT data.
    """
    import construct as cs

    u32 = cs.Int32ub if order == "big" else cs.Int32ul
    head = cs.Struct("word" / u32)

    def readable(this: cs.Container) -> bool:
        return bool(this.word != PROBE_STRING_FAULT)

    item = cs.Struct(
        *head.subcons,
        "fault" / cs.Computed(lambda this: not readable(this)),
        "truncated" / cs.Computed(
            lambda this: readable(this) and bool(this.word & PROBE_STRING_TRUNCATED)),
        "length" / cs.Computed(
            lambda this: this.word & ~PROBE_STRING_TRUNCATED if readable(this) else 0),
        "data" / cs.If(readable, cs.Bytes(cs.this.length)),
    )
    data = cs.Struct("items" / cs.GreedyRange(item), cs.Terminated)
    return ProbeStringSchemas(data, item, head)
