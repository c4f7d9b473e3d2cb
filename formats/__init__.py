"""formats: the ktr trace format (schemas, codec, framing, vocabularies).

This package is pure: it imports neither ``ktr`` nor ``ktrdump`` and does no
I/O of its own. ``SPEC.md`` beside it is the byte-level specification; the
construct schemas in ``_schema`` are the single source of truth for it.

Public surface::

    FileHeader, encode_file_header, parse_file_header,
    parse_header_prefix, parse_header_body, HEADER_PREFIX_SIZE
    batch_framing(order) -> BatchFraming (.encode, .encode_batches, .parse_header,
                                          .decode, .size)
    MAX_BATCH_BYTES, MAX_COMPRESSION_RATIO, MAX_HEADER_BODY: SPEC's limits
    slice_crc32, crc32_shift: CRC-32 of a slice from prefix checksums
    codec(order) -> Codec (.encode_record, .encode_raw_record, .decode_payload,
                           .iter_records)
    generated_layout(order, name) -> Layout: a schema's struct layout, without construct
    schemas(order), derive_layout: the construct schemas and their translation
                                   (construct is imported on the first call)
    RecordKind, KIND_TAGS, FACILITY_KINDS, kinds_for_facilities, Abi, ...
    Record and one NamedTuple per payload kind (Syscall, Sysret, Namei, ...)
    errors: FormatError and its subclasses
    json_safe, text_bytes: the options object's strings from bytes (SPEC, "File header")
    probe_strings: PROBE's ``strings`` field: encode, decode (entries, Damage | None),
                   word_layout(order), from its schema (probe_string_schemas)
    struct_data: the STRUCT data whose layout is ktr's own (fd_paths, mmsg_extras, ...):
                 encode_* and decode_* (values, Damage | None), from their schemas
                 (struct_data_schemas)
"""

from __future__ import annotations

from . import _probe_strings as probe_strings
from . import _struct_data as struct_data
from ._codec import Codec, Layout, PayloadError, codec, derive_layout, generated_layout
from ._container import (
    BATCH_FLAG_ZSTD,
    HEADER_PREFIX_SIZE,
    MAX_BATCH_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_HEADER_BODY,
    BatchFraming,
    BatchHeader,
    FileHeader,
    HeaderPrefix,
    batch_framing,
    encode_file_header,
    find_batch,
    parse_file_header,
    parse_header_body,
    parse_header_prefix,
)
from ._crc import crc32_shift, slice_crc32
from ._kinds import (
    ABI_EMUL_NAMES,
    DEFAULT_FACILITIES,
    DROP_CAUSES,
    FACILITY_HELP,
    FACILITY_KINDS,
    KIND_TAGS,
    PERF_ONLY_FACILITIES,
    PERF_REG_X86_NAMES,
    PROBE_ARG_TYPE_NAMES,
    PROBE_STRING_FAULT,
    PROBE_STRING_TRUNCATED,
    SYSCALL_FACILITIES,
    Abi,
    CntFlag,
    CswFlag,
    DropError,
    EndFlag,
    FacilityError,
    GenioFlag,
    IoDirection,
    MmapFlag,
    MmapOrigin,
    ProbeArgType,
    ProbeDefFlag,
    ProbeSite,
    ProcEvent,
    ProcFlag,
    RecordKind,
    SampleFlag,
    SyscallFlag,
    kinds_for_facilities,
)
from ._options import json_safe, text_bytes
from ._records import (
    PAYLOAD_TYPES,
    Begin,
    Cnt,
    Csw,
    Drop,
    Emul,
    End,
    ExecArg,
    ExecEnv,
    Genio,
    Mmap,
    Namei,
    Payload,
    Probe,
    ProbeDef,
    Proc,
    Psig,
    Record,
    Sample,
    Struct,
    Syscall,
    Sysret,
    Unknown,
    User,
    join_nul_strings,
    join_probe_strings,
    split_nul_strings,
    split_probe_strings,
)
from ._schema import (
    BATCH_MAGIC,
    COMM_LENGTH,
    FILE_MAGIC,
    FORMAT_MAJOR,
    FORMAT_MINOR,
    RECORD_VERSION,
    ByteOrder,
    ProbeStringSchemas,
    Schemas,
    StructDataSchemas,
    probe_string_schemas,
    schemas,
    struct_data_schemas,
)
from .errors import (
    CorruptBatch,
    CorruptHeader,
    FormatError,
    NotATraceFile,
    TruncatedBatch,
    UnsupportedVersion,
)

__all__ = [
    "ABI_EMUL_NAMES", "BATCH_FLAG_ZSTD", "BATCH_MAGIC", "COMM_LENGTH", "DEFAULT_FACILITIES",
    "DROP_CAUSES", "FACILITY_HELP",
    "FACILITY_KINDS", "FILE_MAGIC", "FORMAT_MAJOR", "FORMAT_MINOR", "HEADER_PREFIX_SIZE",
    "KIND_TAGS", "MAX_BATCH_BYTES", "MAX_COMPRESSION_RATIO", "MAX_HEADER_BODY", "PAYLOAD_TYPES",
    "PERF_ONLY_FACILITIES", "PERF_REG_X86_NAMES",
    "PROBE_ARG_TYPE_NAMES", "PROBE_STRING_FAULT", "PROBE_STRING_TRUNCATED", "RECORD_VERSION",
    "SYSCALL_FACILITIES",
    "Abi", "BatchFraming", "BatchHeader", "Begin", "ByteOrder", "Cnt", "CntFlag", "Codec",
    "CorruptBatch",
    "CorruptHeader", "Csw", "CswFlag", "Drop", "DropError", "Emul", "End", "EndFlag",
    "ExecArg", "ExecEnv",
    "FacilityError", "FileHeader", "FormatError", "Genio", "GenioFlag", "HeaderPrefix",
    "IoDirection", "Layout", "Mmap", "MmapFlag", "MmapOrigin",
    "Namei", "NotATraceFile", "Payload", "PayloadError",
    "Probe", "ProbeArgType", "ProbeDef", "ProbeDefFlag", "ProbeSite", "ProbeStringSchemas",
    "Proc", "ProcEvent", "ProcFlag", "Psig", "Record", "RecordKind",
    "Sample", "SampleFlag",
    "Schemas", "Struct", "StructDataSchemas", "Syscall", "SyscallFlag", "Sysret",
    "TruncatedBatch", "Unknown",
    "UnsupportedVersion", "User",
    "batch_framing", "codec", "crc32_shift", "derive_layout", "encode_file_header", "find_batch",
    "generated_layout",
    "join_nul_strings", "join_probe_strings", "json_safe", "kinds_for_facilities",
    "parse_file_header",
    "parse_header_body",
    "parse_header_prefix", "probe_string_schemas", "probe_strings", "schemas", "slice_crc32",
    "split_nul_strings",
    "split_probe_strings", "struct_data", "struct_data_schemas", "text_bytes",
]
