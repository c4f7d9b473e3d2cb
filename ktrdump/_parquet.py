"""``ktrdump --format parquet -o calls.parquet trace.ktr``: tables for DuckDB, pandas, Spark.

``-o NAME.parquet`` writes the calls table to ``NAME.parquet`` and each other
table beside it as ``NAME.TABLE.parquet``:

- ``NAME.parquet`` — one row per system call: ``call_id`` (the JSON ``call``
  id), ``pid``, ``tid``, ``comm``, ``syscall``, ``nr``, ``abi``, ``args``
  (the raw argument words, unsigned), ``args_decoded`` (strings, strace's
  rendering), ``retval``, ``errno`` (name, null on success), ``start_ns``
  and ``end_ns`` (epoch ns), ``start`` (a UTC timestamp), ``duration_ns``,
  ``unfinished``, ``paths`` (the NAMEI paths, in argument order, as UTF-8
  text: a byte that is not valid UTF-8 is U+FFFD), ``paths_bytes`` (the same
  paths, exact: binary, for ``open``), ``fd``
  (the call's first fd argument), ``fd_path`` (what that fd was, tracked
  through the trace as ``-y`` does; for a call that returns an fd, the
  returned fd's path), ``bytes`` (data moved: the GIO records' lengths, or
  the result of a read/write-like call when no data was recorded; null for
  calls that move none), ``comm_bytes`` and ``fd_path_bytes`` (below),
  ``detached`` (ktr let the thread go in the call: it went on untraced).
- Bytes: every text column from the trace's bytes (``comm``, ``paths``,
  ``fd_path``, ``detail``, the payload text fields of the tables below) is
  UTF-8 with each invalid byte U+FFFD, and has a binary ``KEY_bytes`` column
  with the exact bytes (a list for a list column), as JSON's ``KEY_hex``
  (``docs/json.md``, "Bytes"); added after the table's other columns.
  ``args_decoded`` is strace's rendering, which escapes bytes itself.
- ``NAME.signals.parquet`` — PSIG: ``pid tid comm ts_ns signal signo code
  action comm_bytes``.
- ``NAME.processes.parquet`` — PROC: ``pid tid comm ts_ns event child
  status signal core_dumped thread detail comm_bytes detail_bytes``.
- ``NAME.drops.parquet`` — DROP: ``ts_ns error count`` (written when the
  trace lost records).
- when the trace holds them: ``NAME.switches.parquet`` (CSW),
  ``NAME.counters.parquet`` (CNT), ``NAME.samples.parquet`` (SAMPLE),
  ``NAME.maps.parquet`` (MMAP): ``pid tid
  comm ts_ns`` and every field of the record's payload as a column (paths
  and names as text, other bytes as hex, addresses as uint64, ``names`` of
  counters as a list; an int64 column holds a value past 2**63 as its two's
  complement). The samples table adds what ``--json``'s ``frames`` says,
  unwound and named by the same code (``_profile.Stacks``: DWARF CFI, ELF
  symbols, the symbol and build-id caches): ``frames`` (list of strings, the
  frame labels, **innermost first**: the leaf, then its callers; a function's
  name, else ``module+0xSTART``, ``[kernel]`` for a sample taken in the
  kernel, ``[unknown]``), ``function`` (the leaf's function name, null when
  unnamed) and ``dso`` (the leaf's module, as --json's ``module``: the file's
  base name, null when unknown). "Top
  functions": ``SELECT frames[1] AS leaf, count(*) FROM 'NAME.samples.parquet'
  GROUP BY leaf ORDER BY 2 DESC`` (DuckDB lists count from 1).
- ``NAME.probes.parquet`` (PROBE) carries what ``--json`` says of each probe
  hit, decoded by the same code (``_probes.ProbeTable``, typed by the trace's
  probe definitions): ``pid tid comm ts_ns probe_id probe`` (``MODULE:FUNCTION:POINT``)
  ``module function point`` (``entry``, ``return``, ``offset``) ``pc offset``
  (offset probes; else null), ``args`` (list of strings, one per argument, typed
  as JSON's ``args``: integers in decimal, a ``str`` argument its text, null when
  unreadable or NULL; empty for a return), ``retval`` (return probes: the typed
  return value as text; null for the others), ``args_raw`` (the raw words,
  unsigned: a string's pointer; a return's one word is its raw return value, so a
  ``str`` return that is null tells NULL from an unreadable pointer), ``comm_bytes``,
  ``strings_damage`` (null, or where the record's strings field is damaged:
  ``damaged at byte N of M: ...``, the
  ``str`` values from there on null, as ``--json``'s ``strings_damage``).
  ``CAST(args[1] AS BIGINT)`` reads a number.

A number a column cannot hold (only a damaged trace has one: a duration
or timestamp past 2**63 in the calls table) is written as null; the row is
kept.

Streaming: rows are gathered as tuples and written as a row group
every ``ROW_GROUP`` rows (16 Ki), so memory stays flat whatever the trace's size;
files are created private (``_files``).

An export replaces the whole set: once every table is written, a table of the
same NAME that this export did not write (``NAME.drops.parquet`` from an earlier
trace that had drops, say) is removed, so a query never joins the new tables
with an old one. Only a file that is one of this view's table names, a regular
file (a symlink is never followed nor removed), the user's own, and a parquet
file whose columns begin as that table's do is removed; anything else there is
left, untouched. Stale tables are removed only after the new ones are complete,
so a failed run leaves them as they were. A run that fails (a full disk, an input
error, a table file that cannot be created, an interrupt) removes the files it
created, never one that was there before (that one is left as the run left it), and
reports the one error. A call still open at the end of the
input is written with ``unfinished`` true and no result.

Speed: ``args_decoded`` is memoised per syscall, keyed by everything the
rendering reads (argument words, paths, small GIO data, STRU records, the
result), so a loop of identical calls renders once (close's key holds only its
one argument word, the others being stale registers: ``_NARROW_KEYS``); the
columns made of nothing else (``retval``, ``errno``, ``unfinished``, ``fd``,
``bytes``, ``paths``, ``paths_bytes``, and the syscall's ``syscall nr abi
args``) are kept with it as the row's "shape". A syscall whose keys rarely
repeat stops being memoised (``_Memo``). The calls table is gathered by column
(``_CallsTable``): each row group converts each distinct shape, and each
distinct thread/command/fd path, to Arrow once and takes the rows' values from
them by index. Without a filter (``-p``, ``-t``, ``-u``, ``-e`` and the other
call filters, ``--min-duration``), on one trace read in order (not merged
inputs, nor a reordered perf trace, nor ``-l``), the command takes the fast
path: the reader's ``parsed_events`` hands the batches parsed by ``_rawparse``
(SYSCALL, SYSRET, NAMI, GIO and STRUCT as one unpacked tuple each, no
``Record``), and ``ParquetWriter.parsed_batch`` moves the call layer's state
for those records inline (a STRUCT of an open call is attached to it as
``CallTracker.add_exit_record`` attaches it), handing every other record (and
any case it does not take: an entry run holding other records, a RET that is
not its thread's open call, a syscall not yet planned, i386 ipc and
close_range: ``CallPlan.enter_in_layer``) to ``CallTracker.stream`` on the same
state, in order. At a CALL it applies close's fd effect
(``CallTracker.settle_entry``: the kernel frees the number at close's entry),
as the layer does; at a RET it applies an open-like call's fd effect itself in
the common case (an absolute path, no STRU records;
``_calls.OPENED_PATH_FLAGS``) and fcntl's and dup's
(``_calls.ARGUMENTS_ONLY_EFFECTS``) itself, and, when the memo holds the call's
shape, appends the row's columns itself (``_call_row``'s hit, with no
``Sysret`` made); any other call goes through ``_call_row`` and
``CallTracker.settle``. The list and exact-bytes columns of the calls table
(``args``, ``args_decoded``, ``paths``, ``paths_bytes``, ``comm_bytes``,
``fd_path_bytes``) are written without min/max statistics: no query prunes row
groups by them, and computing them compared every value. Filtered exports run
the general path (decoded records through ``CallTracker.stream``). The tables
are the same on either path and with or without the memo (tested:
``tests/test_parquet_fast.py``, ``test_ktrdump_parquet.py``).

pyarrow is an optional dependency (``pip install 'ktr[parquet]'``); without it
``ParquetUnavailable`` carries the one-line install hint.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Callable, Iterator
from typing import IO, Any

from formats import (
    Abi,
    ByteOrder,
    DropError,
    Genio,
    ProbeSite,
    ProcEvent,
    ProcFlag,
    Record,
    RecordKind,
    Struct,
    SyscallFlag,
    Sysret,
)
from formats.linux import RetKind, errno_name, signal_name

from ._args import Style, compile_arguments
from ._calls import (
    ARGUMENTS_ONLY_EFFECTS,
    FREES_FIRST_FD,
    MAX_OPEN_CALLS,
    MEMBER_KINDS,
    O_CLOEXEC,
    OPENED_PATH_FLAGS,
    UPDATED,
    Call,
    CallPlan,
    CallTracker,
)
from ._files import (
    FileIds,
    create_private_noting,
    output_file_failure,
    remove_created,
    remove_if_same,
)
from ._probes import ProbeTable, shown_raws
from ._profile import Stacks
from ._rawparse import ABI as _ABI
from ._rawparse import ARGS as _ARGS
from ._rawparse import COMM as _COMM
from ._rawparse import GIO_FIELDS as _GIO_ITEM_FIELDS
from ._rawparse import NR as _NR
from ._rawparse import PID as _PID
from ._rawparse import RET_FIELDS as _RET_ITEM_FIELDS
from ._rawparse import TID as _TID
from ._rawparse import TS as _TS
from ._rawparse import as_record
from ._reader import ParsedBatch
from ._text import text_bytes, valid_text
from .errors import KtrdumpError

#: Rows per row group (and per table kept in memory before it is written).
ROW_GROUP = 16_384

INSTALL_HINT = "the parquet format needs pyarrow: pip install 'ktr[parquet]'"

_SYSRET = int(RecordKind.SYSRET)
_PSIG = int(RecordKind.PSIG)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)
_SYSCALL = int(RecordKind.SYSCALL)
_NAMEI = int(RecordKind.NAMEI)
_GENIO = int(RecordKind.GENIO)
_STRUCT = int(RecordKind.STRUCT)
#: A parsed item of theirs is followed by its bytes (a STRUCT's: by its ``Struct``).
_DATA_KINDS = frozenset({_NAMEI, _GENIO, _STRUCT})
_UNFINISHED = 1
_DETACHED_UNFINISHED = int(SyscallFlag.DETACHED) | _UNFINISHED
_PLAN_KEY = "parquet"  # CallPlan.renderers: this view's per-syscall facts
_EXIT = int(ProcEvent.EXIT)
_STOP = int(ProcEvent.STOP)
_CHILD_EVENTS = frozenset({int(ProcEvent.FORK), int(ProcEvent.VFORK), int(ProcEvent.CLONE)})
_PROC_EVENTS = {int(e): e.name.lower() for e in ProcEvent}
_ABIS = {int(abi): abi.name.lower() for abi in Abi}

#: Other record kinds: table name by kind name (a kind this formats version lacks is skipped).
_GENERIC_TABLES = {"CSW": "switches", "CNT": "counters", "SAMPLE": "samples",
                   "PROBE": "probes", "MMAP": "maps"}
_SAMPLE = int(RecordKind.SAMPLE)
_MMAP = int(RecordKind.MMAP)
_MAPS_KINDS = frozenset({_MMAP, _PROC})
_PROBE = int(RecordKind.PROBE)
_PROBE_DEF = int(RecordKind.PROBE_DEF)


def _sample_columns(pa: Any) -> tuple[tuple[str, Any], ...]:
    """The samples table's symbolised columns, after the payload's (module docstring)."""
    return (("frames", pa.list_(pa.string())), ("function", pa.string()),
            ("dso", pa.string()))


#: Payload fields written as text (others' bytes as hex), as lists of strings, as uint64.
_TEXT_FIELDS = frozenset({"path", "name", "label", "comm", "function", "module", "detail"})
_TEXT_LIST_FIELDS = frozenset({"names"})
_ADDRESS_FIELDS = frozenset({"pc", "sp", "start", "end", "address", "addr", "ip"})
_U64 = (1 << 64) - 1


class ParquetUnavailable(KtrdumpError):
    """pyarrow is not installed."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParquetUnavailable() from None
    return pyarrow, pyarrow.parquet


def _text(data: bytes) -> str:
    """A string column's text: UTF-8, each invalid byte U+FFFD (never an escape
    that valid text could also hold; its ``KEY_bytes`` column keeps the bytes)."""
    return data.decode("utf-8", "replace")


def _unescaped(text: str) -> str:
    """A file name decoded as ``os`` decodes them (an undecodable byte a lone surrogate,
    which Arrow refuses), as a string column's text: each such byte U+FFFD."""
    return text if text.isascii() else _text(text.encode("utf-8", "surrogateescape"))


def _parts(data: bytes) -> list[bytes]:
    """A list field's items (NUL-separated: CNT ``names``)."""
    return [part for part in data.split(b"\0") if part]


def _array(pa: Any, values: Any, type_: Any) -> Any:
    """``pa.array(values, type=type_)``; a number the column cannot hold becomes null.

    Only a damaged trace has such numbers in these tables (a duration or a
    timestamp past 2**63, a pid past 2**31): the row is kept, the impossible
    value is not.
    """
    try:
        return pa.array(values, type=type_)
    except (OverflowError, pa.ArrowInvalid):
        pass
    element = type_.value_type if pa.types.is_list(type_) else type_
    bits = element.bit_width
    if pa.types.is_unsigned_integer(element):
        low, high = 0, (1 << bits) - 1
    else:
        low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def fit(value: Any) -> Any:
        return value if not isinstance(value, int) or low <= value <= high else None
    if element is type_:
        return pa.array([fit(value) for value in values], type=type_)
    return pa.array([None if items is None else [fit(item) for item in items]
                     for items in values], type=type_)


class _Table:
    """One output table: rows gathered as tuples, written a row group at a time."""

    def __init__(self, path: str, schema: Any, pa: Any, pq: Any, *, avoid: FileIds,
                 unique: frozenset[str] = frozenset(),
                 views: dict[str, str] | None = None,
                 unranged: frozenset[str] = frozenset()) -> None:
        self.path = path
        self._avoid = avoid
        self.schema = schema
        # Columns whose values rarely repeat (ids, timestamps, durations): written
        # without the dictionary encoding pyarrow tries first and then abandons
        # per page, which costs time and makes the file larger.
        self._dictionary: bool | list[str] = (
            [field.name for field in schema if field.name not in unique] if unique else True)
        # Columns written without statistics (min/max per row group and page): lists
        # and exact bytes, whose ranges no query prunes by; computing them costs a
        # comparison of every value.
        self._statistics: bool | list[str] = (
            [field.name for field in schema if field.name not in unranged] if unranged
            else True)
        # Columns that repeat another's values as a type of the same layout
        # (``start``: ``start_ns`` as a timestamp): that column's array, viewed.
        names = [field.name for field in schema]
        self._views = {names.index(name): names.index(source)
                       for name, source in (views or {}).items()}
        self.pending: list[tuple[Any, ...]] = []
        self.written = 0
        self._pa = pa
        self._pq = pq
        self._writer: Any = None
        self._file: IO[bytes] | None = None
        # The file this run created (st_dev, st_ino), removed if the run fails.
        self.created: tuple[int, int] | None = None

    @property
    def rows(self) -> int:
        return len(self.pending)

    def add(self, row: tuple[Any, ...]) -> None:
        pending = self.pending
        pending.append(row)
        if len(pending) >= ROW_GROUP:
            self.flush()

    def flush(self) -> None:
        rows = self.rows
        if not rows and self._writer is not None:
            return
        batch = self._pa.Table.from_arrays(self._arrays(), schema=self.schema)
        self._clear()
        self._write(batch, rows)

    def _arrays(self) -> list[Any]:
        """The pending rows as one Arrow array per column."""
        pa = self._pa
        pending = self.pending
        columns = list(zip(*pending, strict=True)) if pending else [()] * len(self.schema)
        views = self._views
        arrays: list[Any] = []
        for index, (values, field) in enumerate(zip(columns, self.schema, strict=True)):
            source = views.get(index)
            arrays.append(_array(pa, values, field.type) if source is None
                          else arrays[source].view(field.type))
        return arrays

    def _clear(self) -> None:
        self.pending.clear()

    def _write(self, batch: Any, rows: int) -> None:
        if self._writer is None:
            fd, created = create_private_noting(self.path, self._avoid)
            if created:
                status = os.fstat(fd)
                self.created = (status.st_dev, status.st_ino)
            self._file = os.fdopen(fd, "wb")
            self._writer = self._pq.ParquetWriter(self._file, self.schema, compression="zstd",
                                                  use_dictionary=self._dictionary,
                                                  write_statistics=self._statistics)
        self._writer.write_table(batch)
        self.written += rows

    def close(self) -> None:
        self.flush()
        if self._writer is not None:
            self._writer.close()
            # pyarrow does not close a file object it was given: closing it here
            # flushes the footer now, and a failing write is an error, not lost
            # at garbage collection.
            assert self._file is not None
            self._file.close()

    def abandon(self) -> None:
        """Close quietly after a failed run, and remove the file if this run created it
        (it is incomplete either way; a file that was there before is left)."""
        for closable in (self._writer, self._file):
            if closable is not None:
                with contextlib.suppress(Exception):
                    closable.close()
        self._writer = self._file = None
        self._clear()
        if self.created is not None:
            remove_created(self.path, self.created)
            self.created = None


#: A calls-table row's columns that come from its "shape" (``_CallsTable``), in order.
_SHAPE_COLUMNS = ("syscall", "nr", "abi", "args", "args_decoded", "retval", "errno",
                  "unfinished", "detached", "fd", "bytes", "paths", "paths_bytes")
#: Those that come from its "who": the thread, its name and the fd's path.
_WHO_COLUMNS = ("pid", "tid", "comm", "comm_bytes", "fd_path", "fd_path_bytes")
#: And those of its own (the view ``start`` besides).
_OWN_COLUMNS = ("call_id", "start_ns", "end_ns", "duration_ns")


class _CallsTable(_Table):
    """The calls table, gathered by column: a row is its own numbers (id, times), the
    index of its "shape" (the syscall and everything its memoised columns hold:
    ``_SHAPE_COLUMNS``) and the index of its "who" (``_WHO_COLUMNS``).

    A loop of identical calls repeats one shape and one who: each distinct one is
    converted to Arrow once per row group and the rows' columns are taken from
    them by index (in C), where converting every row's values cost more than
    building them. The values written are the same either way (tested).
    """

    def __init__(self, path: str, schema: Any, pa: Any, pq: Any, *, avoid: FileIds) -> None:
        super().__init__(path, schema, pa, pq, avoid=avoid,
                         unique=frozenset({"call_id", "start_ns", "end_ns", "start",
                                           "duration_ns"}),
                         unranged=frozenset({"args", "args_decoded", "paths", "paths_bytes",
                                             "comm_bytes", "fd_path_bytes"}))
        names = schema.names
        if set(names) != {*_SHAPE_COLUMNS, *_WHO_COLUMNS, *_OWN_COLUMNS, "start"}:
            raise ImportError("ktrdump._parquet: the calls table's columns and their sources "
                              "differ")
        self._names = names
        self.ids: list[int | None] = []
        self.starts: list[int | None] = []
        self.ends: list[int | None] = []
        self.durations: list[int | None] = []
        self.shape_rows: list[int] = []  # per row: its index in ``shapes``
        self.shapes: list[tuple[Any, ...]] = []
        # id() of a memoised shape -> its index (the shape is held in ``shapes``
        # until the flush, so the id cannot be reused meanwhile).
        self.shape_index: dict[int, int] = {}
        self.who_rows: list[int] = []
        self.whos: list[tuple[Any, ...]] = []
        self.who_index: dict[tuple[Any, ...], int] = {}

    @property
    def rows(self) -> int:
        return len(self.ids)

    def add(self, row: tuple[Any, ...]) -> None:
        raise TypeError("the calls table takes rows by column (ParquetWriter._call_row)")

    def _arrays(self) -> list[Any]:
        pa = self._pa
        # Array.take's kernel, called without importing pyarrow.compute (which
        # builds its Python wrappers from docstrings at import: about 40 ms a run).
        from pyarrow._compute import call_function as take
        types = {field.name: field.type for field in self.schema}
        columns: dict[str, Any] = {}
        for names, rows, distinct in ((_SHAPE_COLUMNS, self.shape_rows, self.shapes),
                                      (_WHO_COLUMNS, self.who_rows, self.whos)):
            indices = pa.array(rows, type=pa.int32())
            values = list(zip(*distinct, strict=True)) if distinct else [()] * len(names)
            for name, column in zip(names, values, strict=True):
                columns[name] = take("take", [_array(pa, column, types[name]), indices])
        for name, own in zip(_OWN_COLUMNS, (self.ids, self.starts, self.ends,
                                            self.durations), strict=True):
            columns[name] = _array(pa, own, types[name])
        columns["start"] = columns["start_ns"].view(types["start"])
        return [columns[name] for name in self._names]

    def _clear(self) -> None:
        for values in (self.ids, self.starts, self.ends, self.durations, self.shape_rows,
                       self.shapes, self.who_rows, self.whos):
            values.clear()
        self.shape_index.clear()
        self.who_index.clear()


class _GenericTable:
    """A table for a record kind whose columns are its payload's fields."""

    def __init__(self, path: str, pa: Any, pq: Any, avoid: FileIds,
                 extra: tuple[tuple[str, Any], ...] = ()) -> None:
        self.path = path
        self._avoid = avoid
        self._pa = pa
        self._pq = pq
        self._table: _Table | None = None
        self._fields: tuple[str, ...] = ()
        self._exact: tuple[str, ...] = ()  # the fields with a NAME_bytes column
        self._extra = extra  # (name, pyarrow type): columns after the payload's

    def add(self, record: Record, extra: tuple[Any, ...] = ()) -> None:
        payload: Any = record.payload
        if self._table is None:
            self._fields = tuple(getattr(payload, "_fields", ()))
            # Text fields from the trace's bytes: each has a NAME_bytes column (exact).
            self._exact = tuple(name for name in self._fields
                                if (name in _TEXT_FIELDS or name in _TEXT_LIST_FIELDS)
                                and isinstance(getattr(payload, name, None), bytes))
            self._table = _Table(self.path, self._schema(payload), self._pa, self._pq,
                                 avoid=self._avoid)
        values = [self._value(name, getattr(payload, name, None)) for name in self._fields]
        exact = [getattr(payload, name, None) for name in self._exact]
        self._table.add((record.pid, record.tid, _text(record.comm), record.timestamp_ns,
                         *values, *extra, record.comm,
                         *(_parts(value) if name in _TEXT_LIST_FIELDS
                           and isinstance(value, bytes) else value
                           for name, value in zip(self._exact, exact, strict=True))))

    def _schema(self, payload: Any) -> Any:
        pa = self._pa
        fields = [pa.field("pid", pa.int32()), pa.field("tid", pa.int32()),
                  pa.field("comm", pa.string()), pa.field("ts_ns", pa.int64())]
        for name in self._fields:
            fields.append(pa.field(name, self._type(name, getattr(payload, name, None))))
        fields.extend(pa.field(name, type_) for name, type_ in self._extra)
        fields.append(pa.field("comm_bytes", pa.binary()))
        fields.extend(pa.field(f"{name}_bytes", pa.list_(pa.binary()) if name in
                               _TEXT_LIST_FIELDS else pa.binary()) for name in self._exact)
        return pa.schema(fields)

    def _type(self, name: str, value: Any) -> Any:
        pa = self._pa
        if name in _TEXT_LIST_FIELDS:
            return pa.list_(pa.string())
        if isinstance(value, bool):
            return pa.bool_()
        if isinstance(value, int):
            return pa.uint64() if name in _ADDRESS_FIELDS else pa.int64()
        if isinstance(value, float):
            return pa.float64()
        if isinstance(value, tuple | list):
            if value and not isinstance(value[0], int):
                return pa.list_(pa.string())
            return pa.list_(pa.uint64())
        return pa.string()

    def _value(self, name: str, value: Any) -> Any:
        if isinstance(value, bytes):
            if name in _TEXT_LIST_FIELDS:
                return [_text(part) for part in _parts(value)]
            return _text(value) if name in _TEXT_FIELDS else value.hex()
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            if name in _ADDRESS_FIELDS:
                return value & _U64
            # int64 columns: a value past 2**63 is written as its two's complement.
            return value - (1 << 64) if value >= 1 << 63 else value
        if isinstance(value, tuple | list):
            return [item & _U64 if isinstance(item, int) and not isinstance(item, bool)
                    else self._value("", item) for item in value]
        if isinstance(value, dict):
            return json.dumps(value, default=str)
        return value if value is None or isinstance(value, float) else str(value)

    def close(self) -> None:
        if self._table is not None:
            self._table.close()

    def abandon(self) -> None:
        if self._table is not None:
            self._table.abandon()

    @property
    def written(self) -> int:
        return 0 if self._table is None else self._table.written


class _ProbesTable:
    """PROBE records as ``--json`` has them (module docstring): one implementation of the
    typing, ``ProbeTable.json_fields``, whose JSON texts become the columns' values."""

    def __init__(self, path: str, pa: Any, pq: Any, avoid: FileIds,
                 probes: ProbeTable) -> None:
        self.probes = probes
        self.table = _Table(path, pa.schema([
            pa.field("pid", pa.int32()), pa.field("tid", pa.int32()),
            pa.field("comm", pa.string()), pa.field("ts_ns", pa.int64()),
            pa.field("probe_id", pa.int64()), pa.field("probe", pa.string()),
            pa.field("module", pa.string()), pa.field("function", pa.string()),
            pa.field("point", pa.string()), pa.field("pc", pa.uint64()),
            pa.field("offset", pa.int64()), pa.field("args", pa.list_(pa.string())),
            pa.field("retval", pa.string()), pa.field("args_raw", pa.list_(pa.uint64())),
            pa.field("comm_bytes", pa.binary()),  # the exact bytes, as every table's
            pa.field("strings_damage", pa.string()),  # null: the strings field is whole
        ]), pa, pq, avoid=avoid)
        self.path = path

    def add(self, record: Record) -> None:
        payload: Any = record.payload
        probes = self.probes
        info = probes.info(payload)
        values = [_json_value(text) for text in probes.json_fields(payload)[0]]
        damage = probes.last_damage
        returned = payload.site == ProbeSite.RETURN
        self.table.add((
            record.pid, record.tid, _text(record.comm), record.timestamp_ns,
            payload.probe_id, _unescaped(info.label), _unescaped(info.module),
            info.function, info.point,
            payload.pc & _U64, payload.offset if payload.site == ProbeSite.OFFSET else None,
            [] if returned else values, values[0] if returned and values else None,
            [word & _U64 for word in shown_raws(payload, info)], record.comm,
            None if damage is None else str(damage)))

    def close(self) -> None:
        self.table.close()

    def abandon(self) -> None:
        self.table.abandon()

    @property
    def written(self) -> int:
        return self.table.written


def _json_value(text: str) -> str | None:
    """A JSON value text (a number, a string, null) as a text column's value."""
    if text == "null":
        return None
    if text.startswith('"'):
        value: str = json.loads(text)
        return value
    return text


def _base(path: str) -> str:
    """NAME of ``-o NAME.parquet``: the other tables are NAME.TABLE.parquet."""
    return path[:-len(".parquet")] if path.endswith(".parquet") else path


def table_paths(path: str) -> list[str]:
    """Every file an export to ``path`` may write: the calls table, then the others."""
    base = _base(path)
    names = ["signals", "processes", "drops", *_GENERIC_TABLES.values()]
    return [path, *(f"{base}.{name}.parquet" for name in names)]


#: The columns each optional table begins with: what marks a file of that name as
#: one of ours (``remove_stale``).
_LEADING_COLUMNS = {"drops": ("ts_ns", "error", "count"),
                    **{name: ("pid", "tid", "comm", "ts_ns")
                       for name in _GENERIC_TABLES.values()}}


def _is_our_table(path: str, table: str, pq: Any) -> tuple[int, int] | None:
    """``path``'s identity if it is a table of ours (see the module docstring), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
            return None
        try:
            names = tuple(pq.read_schema(stream).names)
        except Exception:  # not parquet, or damaged: not one of ours to remove
            return None
    leading = _LEADING_COLUMNS[table]
    return (info.st_dev, info.st_ino) if names[:len(leading)] == leading else None


def remove_stale(path: str, written: list[str]) -> list[str]:
    """Remove the tables of ``path``'s set that this export did not write; the removed paths."""
    _, pq = _pyarrow()
    base = _base(path)
    kept = set(written)
    removed = []
    for table in _LEADING_COLUMNS:
        stale = f"{base}.{table}.parquet"
        if stale in kept:
            continue
        identity = _is_our_table(stale, table, pq)
        if identity is not None and remove_if_same(stale, identity):
            removed.append(stale)
    return removed


class ParquetWriter:
    """The call layer's sink that fills the tables (see the module docstring)."""

    def __init__(self, path: str, facilities: str | None = None,
                 keep: Callable[[Record], bool] | None = None, *, memoize: bool = True,
                 avoid: FileIds = frozenset(), stacks: Stacks | None = None,
                 byte_order: ByteOrder = "little",
                 demangle: Callable[[str], str] | None = None) -> None:
        pa, pq = _pyarrow()
        # The samples' frames, named as the JSON view names them (MMAP and PROC
        # records followed; symbols loaded at the first sample).
        self.stacks = stacks if stacks is not None else Stacks()
        self._pa = pa
        self._pq = pq
        base = _base(path)
        self.path = path
        self.base = base
        self._avoid = avoid  # the inputs: never an output
        self.tracker = CallTracker(track_fds=True, keep_calls=True, facilities=facilities)
        # The filters (-p, -t, -e …): a hidden call has no row, a hidden record none
        # either; the layer still sees them, for the fd tables.
        self.tracker.keep = keep
        self._style = Style(strace=True)
        self._memoize = memoize
        self._errnos: dict[int, str] = {}
        self.calls = _CallsTable(path, pa.schema([
            pa.field("call_id", pa.int64()), pa.field("pid", pa.int32()),
            pa.field("tid", pa.int32()), pa.field("comm", pa.string()),
            pa.field("syscall", pa.string()), pa.field("nr", pa.int32()),
            pa.field("abi", pa.string()), pa.field("args", pa.list_(pa.uint64())),
            pa.field("args_decoded", pa.list_(pa.string())), pa.field("retval", pa.int64()),
            pa.field("errno", pa.string()), pa.field("start_ns", pa.int64()),
            pa.field("end_ns", pa.int64()), pa.field("start", pa.timestamp("ns", tz="UTC")),
            pa.field("duration_ns", pa.int64()), pa.field("unfinished", pa.bool_()),
            pa.field("paths", pa.list_(pa.string())), pa.field("fd", pa.int32()),
            pa.field("fd_path", pa.string()), pa.field("bytes", pa.int64()),
            pa.field("paths_bytes", pa.list_(pa.binary())),
            pa.field("comm_bytes", pa.binary()), pa.field("fd_path_bytes", pa.binary()),
            pa.field("detached", pa.bool_()),
        ]), pa, pq, avoid=avoid)
        self.signals = _Table(f"{base}.signals.parquet", pa.schema([
            pa.field("pid", pa.int32()), pa.field("tid", pa.int32()),
            pa.field("comm", pa.string()), pa.field("ts_ns", pa.int64()),
            pa.field("signal", pa.string()), pa.field("signo", pa.int32()),
            pa.field("code", pa.int32()), pa.field("action", pa.uint64()),
            pa.field("comm_bytes", pa.binary()),
        ]), pa, pq, avoid=avoid)
        self.processes = _Table(f"{base}.processes.parquet", pa.schema([
            pa.field("pid", pa.int32()), pa.field("tid", pa.int32()),
            pa.field("comm", pa.string()), pa.field("ts_ns", pa.int64()),
            pa.field("event", pa.string()), pa.field("child", pa.int32()),
            pa.field("status", pa.int32()), pa.field("signal", pa.string()),
            pa.field("core_dumped", pa.bool_()), pa.field("thread", pa.bool_()),
            pa.field("detail", pa.string()),
            pa.field("comm_bytes", pa.binary()), pa.field("detail_bytes", pa.binary()),
        ]), pa, pq, avoid=avoid)
        self.drops = _Table(f"{base}.drops.parquet", pa.schema([
            pa.field("ts_ns", pa.int64()), pa.field("error", pa.string()),
            pa.field("count", pa.int64()),
        ]), pa, pq, avoid=avoid)
        self._generic: dict[int, _GenericTable | _ProbesTable] = {}
        # Probe definitions (PROBE_DEF), hidden by a filter or not: they type the
        # probes table's values as they type --json's.
        # the trace's byte order: PROBE strings; ``demangle``: the probes' function
        # names as shown (``stacks`` has its own for the frames; None: raw)
        self.probe_table = ProbeTable(byte_order, demangle)
        self._generic_names: dict[int, str] = {}
        for kind_name, table in _GENERIC_TABLES.items():
            kind = getattr(RecordKind, kind_name, None)
            if kind is not None:
                self._generic_names[int(kind)] = table
        self.records = 0

    def batch(self, records: list[Record]) -> None:
        """``self.tracker.feed(records, self)`` with the dispatch inline (the hot loop)."""
        self.records += len(records)
        self._general(records)

    def parsed_batch(self, count: int, items: list[Any]) -> None:
        """A batch as ``_rawparse`` parsed it: the fast path (module docstring, "Speed").

        The common records of calls (SYSCALL with six arguments, NAMI, GIO, SYSRET)
        move the call layer's state here, as ``CallTracker.stream`` would: the same
        ``Call`` objects in its ``open`` table, the same ids, fd tables and entry
        state, inline. Every other record, and these in any case this loop does not
        take (an entry run the layer holds, a RET that is not its thread's open call,
        a syscall the layer has not planned yet), goes through ``stream`` as a
        ``Record``: the layer's state is shared, so each record is handled once and
        in order, by one or the other.
        """
        self.records += count
        tracker = self.tracker
        if tracker.keep is not None:  # the filters are the general path's
            self._general(_records_of(items))
            return
        opened = tracker.open
        plans = tracker.plans
        fds = tracker.fds
        fd_tables = fds._tables
        charge = fds._charge
        opened_flags = OPENED_PATH_FLAGS
        arguments_only = ARGUMENTS_ONLY_EFFECTS
        frees_first_fd = FREES_FIRST_FD
        calls = self.calls
        call_who = self._who
        ids = calls.ids
        ids_append = ids.append
        starts_append = calls.starts.append
        ends_append = calls.ends.append
        durations_append = calls.durations.append
        shape_rows_append = calls.shape_rows.append
        shapes = calls.shapes
        shape_index = calls.shape_index
        who_rows_append = calls.who_rows.append
        who_index = calls.who_index
        call_row = self._call_row
        general = self._general
        new_call = object.__new__
        new_tuple = tuple.__new__
        held: list[Record] = []  # records for the general path, run before the next item
        last_comm = last_name = b""
        items_iter = iter(items)
        # The layer's entry run (``tracker._entering``), kept here while this loop
        # runs: read again after the layer's loop ran (``general``), written through.
        entering = tracker._entering
        spare: Call | None = None  # a call done with, for the next CALL
        for item in items_iter:
            if item is None:  # a Record follows: the layer's
                held.append(next(items_iter))
                continue
            kind = item[1]
            if held:
                general(held)
                held = []
                entering = tracker._entering
            if entering is not None:
                data = next(items_iter) if kind in _DATA_KINDS else None
                # An entry run: only its NAMI, of its thread, with nothing held yet
                # (the layer holds other sources' records that come inside a run).
                if (kind != _NAMEI or item[_TID] != entering.tid
                        or len(tracker._entry_records) != 1):
                    held.append(as_record(item, data))
                    continue
                entering.received += 1
                if entering.paths is None:
                    entering.paths = [data]  # type: ignore[list-item]
                else:
                    entering.paths.append(data)  # type: ignore[arg-type]
                if entering.received < entering.expected:
                    tracker._entry_records.append(as_record(item, data))
                else:  # the run is over, and held nothing else: stream passes nothing on
                    tracker._entering = entering = None
                    tracker._entry_records = []
                continue
            if kind == _SYSRET:
                tid = item[_TID]
                call = opened.get(tid)
                if (call is None or (plan := call.plan).nr != item[_NR]
                        or plan.abi != item[_ABI]):
                    held.append(as_record(item))
                    continue
                del opened[tid]
                effect = plan.effect
                plain = effect is None  # no effect left to apply
                if effect is not None and not call.settled:
                    flags_arg = opened_flags.get(effect)
                    if flags_arg is not None and not call.structs:
                        # An open-like call's effect (``_calls._opened_path``) inline, as
                        # ``CallTracker.settle`` applies it, in the common case: an
                        # absolute path, no STRU records (the recorder's fd_path). Any
                        # other case is left to ``_call_row`` and ``settle``.
                        if (item[_ITEM_FLAGS] & 1 or item[_ITEM_ERROR]
                                or item[_ITEM_RETVAL] < 0):
                            call.settled = plain = True  # no effect
                        else:
                            args = call.args
                            path = (call.path(plan.path_args[0]) if plan.path_args
                                    else None)
                            if (path is not None and path[:1] == b"/"
                                    and flags_arg < len(args)):
                                pid = call.pid
                                table = fd_tables.get(pid)
                                if table is None:
                                    table = fds.table(pid)
                                table.fds[item[_ITEM_RETVAL]] = (
                                    path.decode("utf-8", "surrogateescape"),
                                    bool(args[flags_arg] & O_CLOEXEC))
                                charge(1)
                                call.settled = plain = True
                    elif effect in arguments_only:
                        # ``CallTracker.settle``, inline (fcntl, dup: their effect reads
                        # the arguments and the result only). Before the row rather than
                        # after it: the row reads no fd table but a returned fd's entry,
                        # which ``_call_row`` reads after settling too.
                        call.settled = plain = True
                        if not item[_ITEM_FLAGS] & 1:  # returned: its effect
                            try:  # noqa: SIM105 (as settle's)
                                effect(fds, call, -1 if item[_ITEM_ERROR]
                                       else item[_ITEM_RETVAL])
                            except (IndexError, ValueError):  # arguments missing
                                pass
                cached = plan.renderers.get(_PLAN_KEY)
                if (plain and cached is not None and call.ts != -1
                        and call.argv is None and call.env_count is None):
                    memo = cached[_CACHED_MEMO]
                    io = call.io
                    if memo is not None and (io is None or (
                            len(io) == 1 and len(io[0][_GIO_DATA]) <= _MEMO_DATA)):
                        # ``_call_row``'s memo hit, inline: the key as it makes it
                        # (the RET's flags, error and retval by position in the item).
                        paths = call.paths
                        structs = call.structs
                        narrow = cached[_CACHED_NARROW]
                        args = call.args
                        shape = memo.texts.get((
                            args if narrow is None else args[:narrow],
                            None if not paths else paths[0] if len(paths) == 1
                            else tuple(paths),
                            io[0] if io else None, item[_ITEM_FLAGS_ERROR_RETVAL],
                            tuple(structs.items()) if structs else None))
                        if shape is not None:
                            memo.hits += 1
                            if narrow is None:
                                index = shape_index.get(id(shape))
                                if index is None:
                                    index = shape_index[id(shape)] = len(shapes)
                                    shapes.append(shape)
                            else:  # the row's own argument words (_NARROW_KEYS)
                                index = len(shapes)
                                shapes.append((*shape[:_SHAPE_ARGS], args,
                                               *shape[_SHAPE_ARGS + 1:]))
                            shape_rows_append(index)
                            fd_path = call.fd_path
                            if cached[_CACHED_RETURNS_FD]:
                                retval = shape[_SHAPE_RETVAL]
                                if retval is not None and retval >= 0:
                                    # settled above: FdTables.exact, inline
                                    table = fd_tables.get(call.pid)
                                    entry = (None if table is None
                                             else table.fds.get(retval))
                                    fd_path = None if entry is None else entry[0]
                            who = (call.pid, tid, call.comm, fd_path)
                            index = who_index.get(who)
                            if index is None:
                                call_who(who)
                                index = who_index[who]
                            who_rows_append(index)
                            ids_append(call.id or None)
                            starts_append(call.ts)
                            ends_append(item[_TS])
                            durations_append(item[_ITEM_DURATION])
                            if len(ids) >= ROW_GROUP:
                                calls.flush()
                            # Nothing refers to the call any more (out of the open
                            # table, its row written, no entry run: ``entering`` is
                            # None at a RET here): the next CALL reuses the object,
                            # every field of it set again.
                            spare = call
                            continue
                call.ret = new_tuple(Sysret, item[_RET_ITEM_FIELDS])
                call.ret_ts = item[_TS]
                call_row(call)
                if not call.settled and effect is not None:
                    tracker.settle(call)
            elif kind == _SYSCALL:
                found = plans.get((item[_ABI], item[_NR]))
                if found is None or found.enter_in_layer:  # ipc, close_range
                    held.append(as_record(item))
                    continue
                tid = item[_TID]
                previous = opened.get(tid)
                if previous is not None and previous.shown:  # its RET never came
                    previous.ret_ts = item[_TS]
                    call_row(previous)
                comm = item[_COMM]
                if comm != last_comm:
                    last_comm = comm
                    last_name = comm.rstrip(b"\0")
                args = item[_ARGS]
                tracker.calls_seen = call_id = tracker.calls_seen + 1
                # As CallTracker.stream makes it (a test keeps the two equal).
                if spare is None:
                    call = new_call(Call)
                else:
                    call = spare
                    spare = None
                call.id = call_id
                call.plan = found
                call.pid = pid = item[_PID]
                call.tid = tid
                call.comm = last_name
                call.ts = item[_TS]
                call.args = args
                call.paths = call.structs = call.argv = call.env_count = call.io = None
                call.ret = call.fd_path = call.records = None
                call.received = call.ret_ts = 0
                call.started = -1
                call.shown = True
                call.settled = False
                expected = 0
                for index in found.entry_args:
                    if index < 6 and args[index]:
                        expected += 1
                call.expected = expected
                fd_arg = found.first_fd_arg
                if fd_arg is not None and fd_arg < 6:
                    # FdTables.exact, inline (the process's table, then the fd's entry)
                    table = fd_tables.get(pid)
                    if table is not None:
                        word = args[fd_arg] & 0xFFFF_FFFF
                        fd = word - (1 << 32) if word & 0x8000_0000 else word
                        entry = table.fds.get(fd)
                        if entry is not None:
                            call.fd_path = entry[0]
                            entry_effect = found.entry_effect
                            if entry_effect is not None:  # close: at its CALL
                                if entry_effect in frees_first_fd:
                                    del table.fds[fd]  # FdTables.closed, inline
                                else:
                                    tracker.settle_entry(call)
                if previous is None and len(opened) >= MAX_OPEN_CALLS:
                    del opened[next(iter(opened))]
                opened[tid] = call
                if expected:
                    # It waits for its entry records, as stream makes it wait; its
                    # CALL is held as the item, made a Record only if the layer's
                    # own loop takes the run over (``_general``).
                    tracker._entering = entering = call
                    tracker._entry_records = [item]
            elif kind == _GENIO:
                data = next(items_iter)
                owner = opened.get(item[_TID])
                if owner is not None:
                    payload = new_tuple(Genio, (*item[_GIO_ITEM_FIELDS], data))
                    io = owner.io
                    if io is None:
                        owner.io = [payload]
                    else:
                        io.append(payload)
            elif kind == _STRUCT:
                struct = next(items_iter)  # its Struct
                owner = opened.get(item[_TID])
                if owner is None:  # an attached process's state: the layer's
                    held.append(as_record(item, struct))
                    continue
                # CallTracker.add_exit_record, inline: an exit STRU (stat, dirents).
                structs = owner.structs
                argument = struct[_STRUCT_ARGUMENT]
                if structs is None:
                    owner.structs = {argument: struct}
                else:
                    if argument in structs and (
                            owner.plan.struct_direction.get(argument) == "in"
                            or struct[_STRUCT_NAME] == b"unsent_messages"):
                        argument += UPDATED
                    structs[argument] = struct
            else:  # a NAMI outside an entry run: the layer does nothing with it
                next(items_iter)  # its path
        if held:
            general(held)

    def _general(self, records: list[Record]) -> None:
        """``records`` through the call layer's loop and this sink (the general path)."""
        _entry_as_records(self.tracker)
        keep = self.tracker.keep
        if keep is not None:  # mappings a filter hides still shape the samples kept
            for hidden in records:
                if hidden[0] in _MAPS_KINDS and not keep(hidden):
                    self.stacks.observe(hidden)
                elif hidden[0] == _PROBE_DEF and not keep(hidden):
                    self.probe_table.learn(hidden[6])  # type: ignore[arg-type]
        call_row = self._call_row
        on_record = self.record
        # members=False: the layer does not hand over CALLs and the records that
        # belong to calls (the row is written from the Call at its RET); the
        # check below stays for the end-of-input flush, which hands them over.
        for call, record in self.tracker.stream(records, members=False):
            if record is None:
                if call is not None:  # abandoned: no RET will come; an unfinished row
                    call_row(call)
                continue
            kind = record[0]
            if kind == _SYSRET and call is not None:
                call_row(call)
            elif kind == _SYSCALL or kind in MEMBER_KINDS:
                continue  # a call's own records: its row holds them
            else:
                on_record(call, record)

    # -- the sink --------------------------------------------------------------

    def call(self, call: Call, record: Record) -> None:
        pass  # written whole at its RET (or, unfinished, when abandoned or at the end)

    def abandoned(self, call: Call, ts: int) -> None:
        self._call_row(call)

    def record(self, call: Call | None, record: Record) -> None:
        kind = record[0]
        if kind == _SYSRET:
            assert call is not None
            self._call_row(call)
        elif kind == _PSIG:
            psig: Any = record.payload
            signo, code, action = psig.signo, psig.code, psig.action
            self.signals.add((record.pid, record.tid, _text(record.comm), record.timestamp_ns,
                              signal_name(signo) or f"signal_{signo}", signo, code,
                              action & (2**64 - 1), record.comm))
        elif kind == _PROC:
            self.stacks.observe(record)
            self._proc(record)
        elif kind == _DROP:
            drop: Any = record.payload
            try:
                reason = DropError(drop.error).name
            except ValueError:
                reason = errno_name(drop.error) or f"errno_{drop.error}"
            self.drops.add((record.timestamp_ns, reason, drop.lost))
        elif kind == _PROBE_DEF:
            self.probe_table.learn(record[6])  # type: ignore[arg-type]
        else:
            name = self._generic_names.get(kind)
            if name is not None:
                table = self._generic.get(kind)
                if table is None:
                    pa = self._pa
                    path = f"{self.base}.{name}.parquet"
                    table = self._generic[kind] = (
                        _ProbesTable(path, pa, self._pq, self._avoid, self.probe_table)
                        if kind == _PROBE else
                        _GenericTable(path, pa, self._pq, self._avoid,
                                      _sample_columns(pa) if kind == _SAMPLE else ()))
                if isinstance(table, _ProbesTable):
                    table.add(record)
                elif kind == _SAMPLE:
                    table.add(record, self._symbolised(record))
                else:
                    if kind == _MMAP:
                        self.stacks.observe(record)
                    table.add(record)

    def _symbolised(self, record: Record) -> tuple[list[str], str | None, str | None]:
        """A sample's ``frames`` (labels, innermost first), its leaf's ``function``
        and ``dso``, as ``--json``'s ``frames`` has them."""
        named = self.stacks.named(record)
        if not named:
            return [], None, None
        leaf = named[0][0]
        # module names are file names (``os.fsdecode``): lone surrogates for bad bytes
        return ([_unescaped(label) for _, label in named],
                None if leaf.function is None else _unescaped(leaf.function),
                None if leaf.module is None else _unescaped(leaf.module))

    # -- rows --------------------------------------------------------------------

    def _call_row(self, call: Call) -> None:
        plan = call.plan
        cached = plan.renderers.get(_PLAN_KEY)
        if cached is None:  # what is known per syscall, worked out once
            cached = plan.renderers[_PLAN_KEY] = (
                compile_arguments(plan, self._style, None), plan.name, plan.nr,
                _ABIS.get(plan.abi, str(plan.abi)), plan.first_fd_arg,
                plan.ret is RetKind.FD, bool(plan.io_args), _NARROW_KEYS.get(plan.name),
                _Memo() if self._memoize else None)
        render, name, nr, abi, fd_arg, returns_fd, moves_data, narrow, memo = cached
        ret: Any = call.ret  # a Sysret (or None), read by position below
        ts = call.ts
        args = call.args
        paths = call.paths
        io = call.io
        calls = self.calls
        key: tuple[Any, ...] | None = None
        shape = None
        if memo is not None and ts != -1 and not (
                call.argv is not None or call.env_count is not None
                or (io and (len(io) != 1 or len(io[0][_GIO_DATA]) > _MEMO_DATA))):
            # The key: everything the strace-style rendering of the arguments reads
            # (``_args`` without fd paths reads the argument words, the NAMI paths,
            # the GIO records, the STRU/ARG/ENV records and the result's flags,
            # errno and value; nothing else of the call), which is also all that the
            # row's shape (``_CallsTable``) is made of but the syscall, which the
            # memo is per: the memo keeps the shape. The STRU records are in it by
            # argument (getdents64's entry count repeats; a syscall whose structures
            # do not, stat's, soon stops being memoised: ``_Memo``). Calls with ARG
            # or ENV records, or more GIO data than ``_MEMO_DATA``, have none (their
            # text rarely repeats). Inline: a call of its own costs a tenth of a hit.
            structs = call.structs
            key = (args if narrow is None else args[:narrow],
                   None if not paths else paths[0] if len(paths) == 1 else tuple(paths),
                   io[0] if io else None,
                   None if ret is None else ret[_RET_FLAGS_ERROR_RETVAL],
                   tuple(structs.items()) if structs else None)
            shape = memo.texts.get(key)
        if shape is not None:
            memo.hits += 1  # type: ignore[union-attr]
            retval = shape[_SHAPE_RETVAL]
            if narrow is not None:  # the row's own argument words: a shape of its own
                calls.shape_rows.append(len(calls.shapes))
                calls.shapes.append((*shape[:_SHAPE_ARGS], args, *shape[_SHAPE_ARGS + 1:]))
                shape = None
        else:
            # Shapes hold tuples, not lists: a tuple of strings and numbers leaves
            # the garbage collector's books at its first pass, so the pending row
            # group is not traversed again and again by the older generations'
            # collections.
            decoded = () if ts == -1 else _rendered(render, call)
            retval = errno = None
            unfinished = True
            detached = False
            if ret is not None:
                # By position (``_RET_FIELDS``): one slice instead of four attribute
                # lookups, which a NamedTuple's fields cost on this Python (3.11).
                flags, error, result, _ = ret[_RET_FIELDS]
                # Let go in the call (ktr detached): it went on untraced, as JSON's
                # "detached".
                detached = flags & _DETACHED_UNFINISHED == _DETACHED_UNFINISHED
                if not flags & _UNFINISHED:
                    unfinished = False
                    retval = result
                    if error:
                        errno = self._errnos.get(error)
                        if errno is None:
                            errno = self._errnos[error] = errno_name(error) or f"errno_{error}"
            if fd_arg is not None and fd_arg < len(args):  # the word as a signed 32-bit int
                word = args[fd_arg] & 0xFFFF_FFFF
                fd = word - (1 << 32) if word & 0x8000_0000 else word
            else:
                fd = None
            moved = None
            if io:
                moved = (io[0][_GIO_TRANSFERRED] if len(io) == 1
                         else sum(gio.transferred for gio in io))
            elif moves_data and retval is not None and retval >= 0:
                moved = retval
            path_texts = (
                () if not paths
                # One path (the common case) without a comprehension, which is a
                # function object and a call of its own on this Python (3.11).
                else (paths[0].decode("utf-8", "replace"),) if len(paths) == 1
                else tuple([path.decode("utf-8", "replace") for path in paths]))
            path_bytes = tuple(paths) if paths else ()
            # In _SHAPE_COLUMNS' order.
            shape = (name, nr, abi, args, decoded, retval, errno, unfinished, detached, fd,
                     moved, path_texts, path_bytes)
            if key is None:  # not memoised: a shape of its own
                calls.shape_rows.append(len(calls.shapes))
                calls.shapes.append(shape)
                shape = None
            else:
                memo.add(key, shape, plan)  # type: ignore[union-attr]
        if shape is not None:  # memoised: one index per distinct shape in the row group
            shapes = calls.shape_index
            index = shapes.get(id(shape))
            if index is None:
                index = shapes[id(shape)] = len(calls.shapes)
                calls.shapes.append(shape)
            calls.shape_rows.append(index)
        end_ns = duration = None
        if ret is not None:
            end_ns = call.ret_ts
            duration = ret[_RET_DURATION]
        fd_path = call.fd_path  # FdTables.exact's form: text_bytes gives the bytes
        if returns_fd and retval is not None and retval >= 0:
            self.tracker.settle(call)  # the returned fd is in the table from now on
            fd_path = self.tracker.fds.exact(call.pid, retval)
        who = (call.pid, call.tid, call.comm, fd_path)
        index = calls.who_index.get(who)
        if index is None:
            self._who(who)
            index = calls.who_index[who]
        calls.who_rows.append(index)
        calls.ids.append(call.id or None)
        calls.starts.append(ts if ts != -1 else (end_ns - duration if end_ns is not None
                                                 and duration is not None else None))
        calls.ends.append(end_ns)
        calls.durations.append(duration)
        if len(calls.ids) >= ROW_GROUP:
            calls.flush()

    def _who(self, who: tuple[Any, ...]) -> None:
        """A new "who" (pid, tid, comm, fd path) of the calls table's row group."""
        calls = self.calls
        pid, tid, comm, fd_path = who
        calls.who_index[who] = len(calls.whos)
        calls.whos.append((pid, tid, _text(comm), comm,  # _WHO_COLUMNS
                           None if fd_path is None else valid_text(fd_path),
                           None if fd_path is None else text_bytes(fd_path)))

    def _proc(self, record: Record) -> None:
        proc: Any = record.payload
        event = proc.event
        child = status = signal = core = thread = None
        if event in _CHILD_EVENTS:
            child = proc.child
            thread = bool(proc.flags & ProcFlag.THREAD)
        elif event == _EXIT:
            status = proc.status
            if proc.flags & ProcFlag.SIGNALED:
                signal = signal_name(proc.signal) or f"signal_{proc.signal}"
            core = bool(proc.flags & ProcFlag.CORE_DUMPED)
        elif event == _STOP:
            signal = signal_name(proc.signal) or f"signal_{proc.signal}"
        self.processes.add((record.pid, record.tid, _text(record.comm), record.timestamp_ns,
                            _PROC_EVENTS.get(event) or f"event_{event}", child, status, signal,
                            core, thread, _text(proc.detail) if proc.detail else None,
                            record.comm, proc.detail or None))

    def finish(self) -> None:
        """Calls still open become unfinished rows; every table is flushed and closed."""
        _entry_as_records(self.tracker)
        self.tracker.flush(self)
        for call in list(self.tracker.open.values()):
            if call.shown:
                self._call_row(call)
        self.tracker.open.clear()
        self.calls.close()
        self.signals.close()
        self.processes.close()
        if self.drops.rows or self.drops.written:
            self.drops.close()
        for table in self._generic.values():
            table.close()
        self.stacks.close()

    def abandon(self) -> None:
        """After a failed write: every table closed quietly, nothing more written."""
        for table in (self.calls, self.signals, self.processes, self.drops):
            table.abandon()
        for generic in self._generic.values():
            generic.abandon()
        self.stacks.close()

    def files(self) -> list[str]:
        written = [self.path, self.signals.path, self.processes.path]
        if self.drops.written:
            written.append(self.drops.path)
        written.extend(table.path for table in self._generic.values())
        return written


def _field_slice(model: Any, first: str, last: str) -> slice:
    """The slice of ``model``'s fields from ``first`` to ``last``, by name (a field
    appended to a kind later moves none of them)."""
    fields = model._fields
    return slice(fields.index(first), fields.index(last) + 1)


#: Sysret's (flags, error, retval) and (flags, error, retval, duration_ns).
_RET_FLAGS_ERROR_RETVAL = _field_slice(Sysret, "flags", "retval")
_RET_FIELDS = _field_slice(Sysret, "flags", "duration_ns")
_RET_DURATION = Sysret._fields.index("duration_ns")
if Sysret._fields[_RET_FIELDS.start:_RET_FIELDS.stop] != ("flags", "error", "retval",
                                                          "duration_ns"):
    raise ImportError("formats.Sysret's fields moved: ktrdump._parquet reads them by position")
#: A SYSRET item's (``_rawparse``) flags, error, retval and duration, by position.
_ITEM_FLAGS = _RET_ITEM_FIELDS.start + Sysret._fields.index("flags")
_ITEM_ERROR = _RET_ITEM_FIELDS.start + Sysret._fields.index("error")
_ITEM_RETVAL = _RET_ITEM_FIELDS.start + Sysret._fields.index("retval")
_ITEM_DURATION = _RET_ITEM_FIELDS.start + _RET_DURATION
_ITEM_FLAGS_ERROR_RETVAL = slice(_ITEM_FLAGS, _ITEM_RETVAL + 1)
#: The positions in ``_call_row``'s per-syscall facts (``CallPlan.renderers``).
_CACHED_RETURNS_FD = 5
_CACHED_NARROW = 7
_CACHED_MEMO = 8  # the last: ``_Memo.add`` drops it
#: Syscalls whose memo key holds only their first N argument words: the words
#: their rendering reads (the generic renderer's one part per argument of the
#: signature), the others being whatever the registers held (close's differ
#: from call to call, so a full key never repeats). A hit's shape takes the
#: row's own words for the ``args`` column.
_NARROW_KEYS = {"close": 1}
_STRUCT_ARGUMENT = Struct._fields.index("argument")
_STRUCT_NAME = Struct._fields.index("name")
_GIO_DATA = Genio._fields.index("data")
_GIO_TRANSFERRED = Genio._fields.index("transferred")
_SHAPE_RETVAL = _SHAPE_COLUMNS.index("retval")
_SHAPE_ARGS = _SHAPE_COLUMNS.index("args")

#: Rendered argument lists kept per syscall (cleared when full: memory stays bounded).
_MEMO_LIMIT = 4096
#: A syscall's memo is judged every this many misses, and dropped for the rest of
#: the run when it has hit less often than missed (a miss costs its key).
_MEMO_TRIAL = 64
#: GIO data longer than this is not part of a memo key (hashing it would cost more
#: than rendering it): such a call is rendered every time.
_MEMO_DATA = 256


class _Memo:
    """One syscall's rendered argument lists by their key (see ``_call_row``), with its record."""

    __slots__ = ("hits", "misses", "texts")

    def __init__(self) -> None:
        # key -> the row's shape (_SHAPE_COLUMNS)
        self.texts: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        self.hits = 0
        self.misses = 0

    def add(self, key: tuple[Any, ...], decoded: tuple[Any, ...], plan: CallPlan) -> None:
        texts = self.texts
        if len(texts) >= _MEMO_LIMIT:
            texts.clear()
        texts[key] = decoded
        self.misses = misses = self.misses + 1
        if not misses % _MEMO_TRIAL and self.hits < misses:
            # This syscall's arguments rarely repeat here (pointers, paths): stop
            # paying for keys; its rows are rendered every time from now on.
            plan.renderers[_PLAN_KEY] = (*plan.renderers[_PLAN_KEY][:-1], None)


def _entry_as_records(tracker: CallTracker) -> None:
    """The entry run's CALL as a ``Record`` if the fast path held it as its item."""
    held: list[Any] = tracker._entry_records
    if held and type(held[0]) is not Record:
        held[0] = as_record(held[0])


def _records_of(items: list[Any]) -> list[Record]:
    """A parsed batch's items (``_rawparse``) as the codec's records."""
    records: list[Record] = []
    items_iter = iter(items)
    for item in items_iter:
        if item is None:  # a Record follows
            records.append(next(items_iter))
        else:
            kind = item[1]
            records.append(as_record(item, next(items_iter) if kind in _DATA_KINDS
                                     else None))
    return records


def _rendered(render: Callable[[Call], list[str]], call: Call) -> tuple[str, ...]:
    try:
        return tuple(render(call))
    except (IndexError, ValueError):
        return ()


def write_parquet(events: Iterator[Any], path: str, *, facilities: str | None = None,
                  on_notice: Callable[[Any], None] | None = None,
                  keep: Callable[[Record], bool] | None = None,
                  avoid: FileIds = frozenset(), stacks: Stacks | None = None,
                  byte_order: ByteOrder = "little",
                  demangle: Callable[[str], str] | None = None) -> ParquetWriter:
    """Run ``events`` (batches and notices) into the tables at ``path``; returns the writer.

    ``keep``: the records the tables hold (``record_filter``); None: every one.
    ``stacks``: names the samples' frames (its symbol cache and warnings).
    ``byte_order``: the trace's (PROBE strings are read in it).
    ``demangle``: how probed functions' names are shown (None: as the binary spells
    them; give ``stacks`` the same for the frames).
    """
    writer = ParquetWriter(path, facilities, keep, avoid=avoid, stacks=stacks,
                           byte_order=byte_order, demangle=demangle)
    try:
        for event in events:
            if isinstance(event, list):
                writer.batch(event)
            elif type(event) is ParsedBatch:
                writer.parsed_batch(event.record_count, event.parsed)
            elif on_notice is not None:
                on_notice(event)
        writer.finish()
        remove_stale(path, writer.files())
    except OSError as error:  # a full disk, a write error: one line, no half-finished retry
        writer.abandon()
        raise output_file_failure(path, error) from None
    except BaseException:
        # Interrupted, the input failed, a table could not be created: files that
        # look whole but hold part of the trace would mislead a query. The
        # original exception is what is reported.
        writer.abandon()
        raise
    return writer


__all__ = ["INSTALL_HINT", "ROW_GROUP", "ParquetUnavailable", "ParquetWriter", "write_parquet"]
