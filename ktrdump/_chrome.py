r"""Chrome Trace Event JSON (``ktrdump --format chrome``): Perfetto UI, catapult, speedscope.

The output is the JSON *object* form of the Trace Event Format::

    {"traceEvents":[
    {...one event a line...},
    ...
    ],
    "displayTimeUnit":"ns",
    "otherData":{"origin_ns":..., "clock":"CLOCK_MONOTONIC", "hostname":..., ...}}

The object form is the one every viewer takes (vizviewer rejects the bare
array); trace-wide facts go in ``otherData``, the format's place for them
(catapult's Metadata button shows them), never in a metadata event of our own
(catapult knows only its own metadata names). It is streamed: the head is
written first, every event as soon as it is known, ``otherData`` last, so
memory does not grow with the trace.

Events:

- each system call: a complete event ``{"ph":"X","cat":"syscall",
  "name":"openat", "pid", "tid", "ts", "dur", "args": {...}}``. The name is
  the syscall's name alone (viewers group by name). ``args``:
  ``"arguments"`` the decoded arguments as strace prints them (with ``-y``,
  ``ChromeOptions.fd_paths``, fds named as strace -y names them), keyed by the
  manual page's argument names (``{"dirfd":"AT_FDCWD","pathname":
  "\"/etc/passwd\"","flags":"O_RDONLY|O_CLOEXEC"}``; a list when some
  argument is not shown, as strace hides open's mode without O_CREAT);
  ``"raw"`` the argument registers in hex (as many as the syscall takes);
  ``"call"`` the call's id (as in JSON Lines, ``docs/json.md``);
  ``"retval"``; ``"errno": "ENOENT"`` (failures only); ``"duration_ns"``;
  ``"path"`` (the NAMEI paths it looked up); ``"io"``: the data it moved,
  one ``{"fd", "direction": "read"|"write", "bytes": true length, "data":
  text, "truncated": bool}`` per GIO record, ``data`` capped at
  ``ChromeOptions.io_bytes`` (``-m``; default 256). ``ts`` is the CALL
  record's time, ``dur`` runs to the RET record's. A call that never
  returned (RET flagged UNFINISHED) ends at that record and has
  ``"unfinished": true`` (and ``"detached": true`` when ktr let the thread go in
  it); so does a call with no RET at all, ending at the
  thread's next CALL or exit, or at the end of the trace. A RET whose CALL is
  not in the trace (attached mid-call, CALL dropped) starts ``duration_ns``
  before it.
- ``ChromeOptions(call_args=False)`` (``--no-call-args``) writes X events
  without ``args``: speedscope keys a frame by name *and* arguments, so only
  then are its Left Heavy and Sandwich views one row per syscall.
- on one thread calls never nest, so X events on one track must not overlap:
  a call starting before the previous call on its thread ended (clock steps)
  is clamped to start where that one ended, and ``dur`` is never negative.
- signals (``"ph":"i","s":"t"``, name ``SIGINT``, args ``signo code
  action``), process events (``fork vfork clone exec exit attach detach
  lost``, with the PROC record's fields) and user records (``utrace LABEL``)
  are instant events on their thread's track. An instant event that happens
  while a call of its thread is open is written after that call's X event,
  so each thread's events come out in time order.
- drops, skipped (damaged) batches, recordings cut short (no END record:
  the reader's ``CutShort``), the start and end of each recording (BEGIN and
  END records) and, for merged inputs, records out of order are global
  instant events (``"s":"g"``, pid 0, tid 0): ``dropped 12
  records (ENOSPC: queue full, the writer fell behind)`` (args: lost, error,
  cause), ``skipped 2
  damaged batches`` (args: offset, bytes, reason, file), ``recording cut
  short (no END record)`` (the same args), ``file header damaged
  (--salvage): ...`` (the same args: ``bytes`` passed over),
  ``recording started`` (args: ``recorder_pid``, ``command``), ``recording
  ended``, ``3 records out of order``.
- function probes (PROBE records): a probed call is a slice — ``"ph":"B"`` at its entry
  (name ``MODULE:FUNCTION``, ``args.args`` its typed arguments as text), ``"ph":"E"`` at
  its return (``args.retval``) — so the syscalls it made nest inside it on its thread's
  track; functions probed at entry only, offset probes and returns whose entry is not in
  the trace are instant events. Calls still open at the end are closed there
  (``"unfinished":true``).
- context switches (CSW): each off-CPU interval of a thread, from its
  ``out`` to its ``in``, is an async slice pair (``"ph":"b"``/``"e"``,
  ``cat`` ``sched``, name ``off-CPU TID (sleeping|preempted)``); counter
  readings (CNT) are counter tracks (``"ph":"C"``, name ``COUNTER TID``,
  cumulative values). See ``_perfviews``.
- stack samples: an instant event per SAMPLE on its thread's track, named
  ``sample LEAF``, args ``cpu``, ``period_ns`` and ``stack`` (frame names,
  outermost first, as ``--format folded`` writes them; ``_profile``).
- names: metadata events ``process_name`` / ``thread_name`` (the only
  metadata names used) from the command name, written when a thread is first
  seen and again when its name changes (after exec); viewers show the last
  one. Every event, metadata included, has a ``ts`` (older speedscope
  versions require it).
- ``otherData``: ``origin_ns`` (the epoch time in ns that ``ts`` 0 stands
  for), ``origin`` when the caller gave none (``ChromeOptions.origin_ns``
  None: ktrdump for a file header read past with ``--salvage``, whose start
  time is unknown): ``"begin"`` (the first record is a BEGIN: its
  ``realtime_ns``, the recording's start, exactly) or ``"first_record"``
  (the first record's time: the recording's start is unknown), ``clock``
  (``"CLOCK_MONOTONIC"``: ``ts`` counts the trace clock, CLOCK_MONOTONIC plus
  the offset to CLOCK_REALTIME measured once at the start (SPEC), so ``ts`` is
  monotonic time since ``origin_ns``; a free-form key: the Trace Event Format
  gives ``otherData`` no meaning, Perfetto and catapult show it as metadata),
  what the caller passes in ``ChromeOptions.metadata``
  (ktrdump: the file header's host, kernel, ktr version, command: the first
  recording's), and ``recordings``: one object per BEGIN record read, in
  order (a file appended to with ``ktr record -a`` holds several):
  ``start_ns``, ``recorder_pid``, ``version``, ``command`` (null when the
  recording attached), ``options`` (its options object, null when damaged).
  Empty for traces written before BEGIN records existed. Every BEGIN counts,
  whatever filter hides its instant event. ``unplaced`` and ``unplaced_probes``:
  the probes asked for and never placed, summed over the END records (absent
  when no END says: written before END had these fields).

Bytes (command names, paths, I/O data, labels, details, reasons) are text
as in JSON Lines (``docs/json.md``, "Bytes"): UTF-8, each invalid byte
U+FFFD, and the event's args carry ``KEY_hex`` with the exact bytes when they
are not valid UTF-8 (``"path"`` a list: ``"path_hex"`` a list as long, null
for the valid ones; ``process_name``/``thread_name``: ``"name_hex"``;
``utrace`` events: ``"label"``/``"label_hex"``). ``"arguments"`` is strace's
rendering, whose octal escapes keep every byte.

Timestamps are microseconds (the format's unit) with three decimals, so
nanoseconds survive; they are relative to ``origin_ns`` — by default the
first record's time, or what the caller passes (the file header's
``realtime_ns``, the recording's start). Absolute epoch microseconds would
need 61 bits of mantissa to keep the nanoseconds, more than a JSON viewer's
double holds, so relative is the default; ``origin_ns=0`` gives absolute
times at the double's precision. Numbers beyond 2**53 (pointers in
``retval``) are written as hex strings for the same reason.

Guarantees: the output parses as JSON for any input (strings are escaped;
never a lone surrogate), also when the input stops with an
exception (the document is closed); per thread, X events never partially
overlap and come out in non-decreasing ``ts`` when the input is in time order
per thread. Does not: show NAMEI/GENIO/STRUCT/EMUL/ARG/ENV/MMAP
records as events of their own (the first six are part of their call's
``args``), read files, or sort its input (use ``_merge`` for several files).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring as _encode_basestring
from typing import IO, Any

from formats import (
    DROP_CAUSES,
    Begin,
    ByteOrder,
    DropError,
    EndFlag,
    Proc,
    ProcEvent,
    ProcFlag,
    Record,
    RecordKind,
    SyscallFlag,
)
from formats.linux import errno_name, signal_name, signature, syscall_name

from . import _perfviews
from ._args import CallArguments, Style, compile_arguments
from ._bounded import TABLE_LIMIT, Cache, Table
from ._calls import Call, CallTracker
from ._filter import CONTEXT_KINDS
from ._follow import FollowEnded
from ._merge import Late, SourcedSkipped
from ._model import begin_options, unplaced_probes
from ._output import Output
from ._probes import CallStack
from ._profile import Stacks, chrome_sample
from ._reader import CutShort, HeaderLost, Skipped, Unverified
from ._text import json_bytes, json_bytes_list, plural

#: An argument word as the raw list shows it: "0x1f" (a C-level formatter, no per-word frame).
_QUOTED_HEX = '"{:#x}"'.format

encode_string: Callable[[str], str] = _encode_basestring

_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_NAMEI = int(RecordKind.NAMEI)
_PSIG = int(RecordKind.PSIG)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)
_END = int(RecordKind.END)
_BEGIN = int(RecordKind.BEGIN)
_KIND = operator.itemgetter(0)
_USER = int(RecordKind.USER)
_PROBE = int(RecordKind.PROBE)
_PROBE_DEF = int(RecordKind.PROBE_DEF)
_CSW = int(RecordKind.CSW)
_CNT = int(RecordKind.CNT)
_SAMPLE = int(RecordKind.SAMPLE)
_MMAP = int(RecordKind.MMAP)
#: Kinds every filter lets through: losses, and what names probes and symbolizes samples.
_ALWAYS_KEPT = CONTEXT_KINDS | {_DROP}
#: Kinds ``record`` makes no event of (it only notes their time and thread).
_NO_EVENT = frozenset({_NAMEI, int(RecordKind.GENIO), int(RecordKind.STRUCT)})
_UNFINISHED = int(SyscallFlag.UNFINISHED)
_DETACHED = int(SyscallFlag.DETACHED)
_EXIT = int(ProcEvent.EXIT)
_EXEC = int(ProcEvent.EXEC)
_LOST = int(ProcEvent.LOST)
_STOP = int(ProcEvent.STOP)
_CLONE = int(ProcEvent.CLONE)
_CHILD_EVENTS = frozenset({int(ProcEvent.FORK), int(ProcEvent.VFORK), _CLONE})
_JSON_SAFE_INTEGER = 1 << 53

_PROC_EVENTS = {int(e): e.name.lower() for e in ProcEvent}

#: What may come between batches: the reader's, the merge's and the follower's notices.
Notice = Skipped | SourcedSkipped | Late | FollowEnded


#: I/O bytes shown per GIO record in a call's args unless the caller says otherwise.
DEFAULT_IO_BYTES = 256


@dataclass(frozen=True)
class ChromeOptions:
    origin_ns: int | None = None  # epoch ns that ts 0 stands for; None: the first record's time
    # The records shown (-p/-t/-u: ``record_filter``); None: all. Drops, and the
    # records that name or symbolize others, pass whatever it says.
    keep: Callable[[Record], bool] | None = None
    paths: bool = True  # attach NAMEI paths to their call's args
    symbol_cache: str | None = None  # where module symbols are cached (SAMPLE frames)
    call_args: bool = True  # X events carry args (False: speedscope groups by name alone)
    io_bytes: int = DEFAULT_IO_BYTES  # data shown per GIO record in a call's args
    raw: bool = False  # -n: no decoded arguments, raw words only
    fd_paths: bool = False  # -y: fd arguments named, as strace -y's (``fd<path>``)
    facilities: str | None = None  # the recording's -t (which entry records to expect)
    metadata: tuple[tuple[str, object], ...] = ()  # more otherData entries (JSON values)
    byte_order: ByteOrder = "little"  # the trace's (PROBE strings are read in it)
    # Where a module that cannot symbolize samples is said (None: stderr).
    warn: Callable[[str], None] | None = None
    # How function names (frames, probes) are shown: ktrdump's run passes its
    # Demangler's ``demangle`` (C++ as c++filt prints it); None: as the binary spells it.
    demangle: Callable[[str], str] | None = None


def _text(data: bytes) -> str:
    """Bytes as text for a name: UTF-8, each invalid byte U+FFFD (the event's args
    carry the exact bytes: ``json_bytes``'s ``KEY_hex``, as in JSON Lines)."""
    return data.decode("utf-8", "replace")


def _json_int(value: int) -> str:
    if -_JSON_SAFE_INTEGER < value < _JSON_SAFE_INTEGER:
        return str(value)
    return f'"{value:#x}"' if value >= 0 else f'"-{-value:#x}"'


class ChromeTrace:
    """Turns records into Trace Event lines; ``begin``, then ``batch``/``notice``, then ``end``.

    Each method returns the text to write (strings that, concatenated, are
    the JSON document); nothing is written here (``write_chrome`` writes).
    """

    def __init__(self, options: ChromeOptions | None = None) -> None:
        self.options = options or ChromeOptions()
        self._origin: int | None = self.options.origin_ns
        self._origin_from: str | None = None  # otherData's "origin" when not given
        self._first = True
        # The call layer pairs calls; per thread, the events deferred while its call is open.
        fd_paths = self.options.fd_paths and not self.options.raw
        self._layer = CallTracker(keep_calls=True, facilities=self.options.facilities,
                                  track_fds=fd_paths)
        self._layer.fds.strace_style()
        # strace's 32-byte strings; data is under "io"
        self._style = Style(strace=True, fd_paths=fd_paths)
        # Per (ABI, nr, entry only): the arguments' renderer and their names as JSON keys.
        self._renderers: dict[tuple[int, int, bool], tuple[CallArguments, tuple[str, ...]]] = (
            Cache())
        keep = self.options.keep
        if keep is not None:
            def shown(record: Record) -> bool:
                return record[0] in _ALWAYS_KEPT or keep(record)
            self._layer.keep = shown
        # Per thread, written at every call: plain dicts bounded inline as
        # ``_bounded.Table`` (the oldest-inserted goes past TABLE_LIMIT), without
        # a Python-level __setitem__ per call.
        self._open: dict[int, tuple[Call, list[str]]] = {}  # tid -> call in progress
        self._out: list[str] = []
        self._last_end: dict[int, int] = {}  # tid -> where its last X event ended (ns)
        self._thread_names: dict[int, bytes] = Table()
        self._process_names: dict[int, bytes] = Table()
        self._syscalls: dict[tuple[int, int], tuple[str, int | None]] = Cache()
        self._last_ns = 0
        self._probes = CallStack(self.options.byte_order, self.options.demangle)
        self._switches = _perfviews.SwitchTally()
        self._stacks: Stacks | None = None  # made at the first MMAP or SAMPLE
        self.events = 0  # events written so far
        self.recordings: list[str] = []  # otherData's: one JSON object per BEGIN read
        #: otherData's: probes never placed, of every END that says (None: none says)
        self.unplaced: tuple[int, list[str]] | None = None

    # -- the document --------------------------------------------------------

    def begin(self) -> list[str]:
        return ['{"traceEvents":[\n']

    def end(self) -> list[str]:
        """Close the calls still open (they end with the trace) and the array."""
        out: list[str] = []
        self._out = out
        self._layer.flush(self)
        for tid in list(self._open):
            self._close_open(tid, self._last_ns, out)
        for tid, stack in self._probes.stacks.items():
            for call in reversed(stack):
                self._emit(out, f'{{"ph":"E","cat":"probe","pid":{call.pid},"tid":{tid},'
                                f'"ts":{self._ts(self._last_ns)},"args":{{"unfinished":true}}}}')
        other = [f'"origin_ns":{self._origin if self._origin is not None else "null"}',
                 # SPEC: the trace clock is CLOCK_MONOTONIC plus an offset fixed at
                 # the start, so ``ts`` counts monotonic time (a step of the wall clock
                 # during the recording moves no event); only origin_ns is an epoch time.
                 '"clock":"CLOCK_MONOTONIC"']
        if self._origin_from is not None:
            other.append(f'"origin":"{self._origin_from}"')
        other.extend(f"{encode_string(key)}:{_json_value(value)}"
                     for key, value in self.options.metadata)
        other.append(f'"recordings":[{",".join(self.recordings)}]')
        if self.unplaced is not None:
            other.append(f'"unplaced":{self.unplaced[0]},'
                         f'"unplaced_probes":{json.dumps(self.unplaced[1])}')
        out.append(f'\n],\n"displayTimeUnit":"ns",\n"otherData":{{{",".join(other)}}}}}\n')
        return out

    # -- events ----------------------------------------------------------------

    def notice(self, notice: Skipped, source: str | None = None) -> list[str]:
        """A damaged region the reader skipped: one global instant event."""
        batches = "batch" if notice.batches == 1 else "batches"
        name = (f"skipped {notice.batches} damaged {batches}" if not isinstance(notice, CutShort)
                else "recording cut short (no END record)")
        if isinstance(notice, Unverified):
            name = (f"UNVERIFIED: {plural(notice.kept, 'record')} from a damaged batch "
                    "(--salvage)")
        elif isinstance(notice, HeaderLost):
            name = ("file header damaged (--salvage): host, command, options and start "
                    "time unknown")
        args = (f'{{"offset":{notice.offset},"bytes":{notice.bytes},'
                f'"reason":{encode_string(notice.reason)}')
        if notice.kept:  # a torn tail whose records before the damage were kept
            args += (f',"kept":{notice.kept},"records":{notice.records},'
                     f'"damage_at":{notice.damage_at},"lost_bytes":{notice.lost}')
        elif notice.shown:  # --salvage: its records were shown, UNVERIFIED
            args += (f',"shown":{notice.shown},"records":{notice.records},'
                     f'"lost_bytes":{notice.lost}')
        if source is not None:
            args += f',"file":{encode_string(source)}'
        out: list[str] = []
        self._emit(out, f'{{"ph":"i","s":"g","name":"{name}",'
                        f'"pid":0,"tid":0,"ts":{self._ts(self._notice_ns())},"args":{args}}}}}')
        return out

    def late(self, notice: Late) -> list[str]:
        """Records of a merged input that follow out of order: one global instant event."""
        out: list[str] = []
        late = plural(notice.records, "record")
        self._emit(out, f'{{"ph":"i","s":"g","name":"{late} out of order",'
                        f'"pid":0,"tid":0,"ts":{self._ts(self._notice_ns())},'
                        f'"args":{{"file":{encode_string(notice.source)},'
                        f'"window_ns":{notice.window_ns}}}}}')
        return out

    def batch(self, records: Iterable[Record]) -> list[str]:
        out: list[str] = []
        self._out = out
        batch = records if isinstance(records, list) else list(records)
        if batch and self._origin is None:
            # The recording's start is not known (no header's): a BEGIN record carries
            # it, else ts 0 is the first record's time; otherData's "origin" says which.
            first = batch[0]
            if first[0] == _BEGIN and isinstance(first.payload, Begin):
                self._origin, self._origin_from = first.payload.realtime_ns, "begin"
                if self._origin > first.timestamp_ns:  # never before ts 0
                    self._origin, self._origin_from = first.timestamp_ns, "first_record"
            else:
                self._origin, self._origin_from = first.timestamp_ns, "first_record"
        if _BEGIN in map(_KIND, batch):  # before filtering: otherData lists every recording
            self.recordings.extend(_recording(r) for r in batch if r[0] == _BEGIN)
        if _END in map(_KIND, batch):  # as BEGIN: every END counts
            for record in batch:
                unplaced = unplaced_probes(record.payload) if record[0] == _END else None
                if unplaced is not None:
                    count, specs = self.unplaced or (0, [])
                    self.unplaced = (count + unplaced[0], specs + unplaced[1])
        # ``self._layer.feed(batch, self)`` with its dispatch inline (the hot loop):
        # entry and exit records (NAMI, GIO, STRU) make no event of their own,
        # they only move the clock and name their thread, as ``record`` does.
        on_call = self.call
        on_record = self.record
        abandoned = self.abandoned
        names = self._thread_names
        for call, record in self._layer.stream(batch):
            if record is None:
                if call is not None:
                    abandoned(call, call.ret_ts)
                continue
            kind = record[0]
            if kind == _SYSCALL and call is not None:
                on_call(call, record)
            elif kind in _NO_EVENT:
                timestamp = record[4]
                if timestamp > self._last_ns:
                    self._last_ns = timestamp
                if names.get(record[3]) != record[5]:
                    self._name(record, out)
            else:
                on_record(call, record)
        return out

    # -- the call layer's sink (``_calls.CallSink``) ------------------------------

    def call(self, call: Call, record: Record) -> None:
        self._seen(record)
        opened = self._open
        opened[call.tid] = (call, [])
        if len(opened) > TABLE_LIMIT:
            del opened[next(iter(opened))]

    def record(self, call: Call | None, record: Record) -> None:
        kind = record.kind
        if kind == _DROP:
            self._seen_time(record.timestamp_ns)
            # the open probed calls' returns may be among the lost records: they end here
            for _event, opened in self._probes.feed(record):
                self._emit(self._out, f'{{"ph":"E","cat":"probe","pid":{opened.pid},'
                                      f'"tid":{opened.tid},"ts":{self._ts(record.timestamp_ns)},'
                                      '"args":{"unfinished":true}}')
            self._drop(record, self._out)
            return
        if kind == _END:  # the recorder's (pid 0): one global marker, no process of its own
            self._seen_time(record.timestamp_ns)
            self._end(record, self._out)
            return
        if kind == _BEGIN:  # as END
            self._seen_time(record.timestamp_ns)
            self._begin(record, self._out)
            return
        if kind == _PROBE_DEF:  # the recorder's (pid 0): names probes, no event of its own
            self._probes.table.learn(record.payload)  # type: ignore[arg-type]
            return
        self._seen(record)
        payload: Any = record.payload
        out = self._out
        if kind == _SYSRET:
            assert call is not None
            self._return(record, call, out)
        elif kind == _PSIG:
            self._instant(record, signal_name(payload.signo) or f"signal_{payload.signo}",
                          f'{{"signo":{payload.signo},"code":{payload.code},'
                          f'"action":{_json_int(payload.action)}}}', out)
        elif kind == _PROC:
            if self._stacks is not None:
                self._stacks.observe(record)
            self._proc(record, payload, out)
        elif kind in (_SAMPLE, _MMAP):
            if self._stacks is None:
                self._stacks = Stacks(self.options.symbol_cache, self.options.warn,
                                      self.options.demangle)
            if kind == _MMAP:
                self._stacks.observe(record)
            else:
                name, args = chrome_sample(self._stacks, record)
                self._instant(record, name, args, out)
        elif kind == _USER:
            self._instant(record, "utrace " + _text(payload.label),
                          f'{{"len":{len(payload.data)},{json_bytes("label", payload.label)}}}',
                          out)
        elif kind == _CSW:
            for event in _perfviews.chrome_switch_events(self._switches, record, self._ts):
                self._emit(out, event)
        elif kind == _CNT:
            for event in _perfviews.chrome_counter_events(record, self._ts):
                self._emit(out, event)
        elif kind == _PROBE:
            self._probe(record, out)

    def _probe(self, record: Record, out: list[str]) -> None:
        """A probed call: B at its entry, E at its return (slices that hold its syscalls)."""
        tid = record.tid
        before = len(self._probes.stacks.get(tid, ()))
        for event, call in self._probes.feed(record):
            name = encode_string(call.function)
            head = f'"pid":{record.pid},"tid":{tid},"ts":{self._ts(record.timestamp_ns)}'
            values = ",".join(encode_string(value) for value in call.args)
            if event == "enter" and call.function in self._probes.table.returns:
                self._emit(out, f'{{"ph":"B","cat":"probe","name":{name},{head},'
                                f'"args":{{"args":[{values}]}}}}')
            elif event == "exit":
                closed = before - len(self._probes.stacks.get(tid, ()))
                for _ in range(closed - 1):  # inner calls whose returns never came
                    self._emit(out, f'{{"ph":"E","cat":"probe",{head},'
                                    '"args":{"unfinished":true}}')
                retval = ("" if call.retval is None  # (a void function: none)
                          else f'"retval":{encode_string(call.retval)}')
                self._emit(out, f'{{"ph":"E","cat":"probe",{head},'
                                f'"args":{{{retval}}}}}')
            else:
                label = "return" if event == "orphan" else "probe"
                detail = (("" if call.retval is None else
                           f',"retval":{encode_string(call.retval)}') if event == "orphan"
                          else f',"args":[{values}]')
                self._instant(record, call.function, f'{{"point":"{label}"{detail}}}', out)

    def abandoned(self, call: Call, ts: int) -> None:
        """A call that will get no RET (its thread exited or made another call)."""
        if call.tid in self._open and self._open[call.tid][0] is call:
            self._close_open(call.tid, ts, self._out)

    def _seen_time(self, timestamp: int) -> None:
        if timestamp > self._last_ns:
            self._last_ns = timestamp

    def _seen(self, record: Record) -> None:
        timestamp = record.timestamp_ns
        if timestamp > self._last_ns:
            self._last_ns = timestamp
        if self._thread_names.get(record.tid) != record.comm:
            self._name(record, self._out)

    # -- helpers ---------------------------------------------------------------

    def _emit(self, out: list[str], event: str) -> None:
        if self._first:
            self._first = False
            out.append(event)
        else:
            out.append(",\n" + event)
        self.events += 1

    def _notice_ns(self) -> int:
        """When a notice happened: after the last record, never before the origin
        (a notice can precede every record, e.g. a merge's late input)."""
        return max(self._last_ns, self._origin or 0)

    def _ts(self, ns: int) -> str:
        relative = ns - (self._origin or 0)
        if relative < 0:
            return "-" + self._us(-relative)
        return self._us(relative)

    @staticmethod
    def _us(ns: int) -> str:
        return f"{ns // 1000}.{ns % 1000:03d}"

    def _name(self, record: Record, out: list[str]) -> None:
        tid, pid, comm = record.tid, record.pid, record.comm
        self._thread_names[tid] = comm
        name = json_bytes("name", comm)
        ts = self._ts(record.timestamp_ns)
        events = []
        if tid == pid or pid not in self._process_names:
            self._process_names[pid] = comm
            events.append(f'{{"ph":"M","name":"process_name","pid":{pid},"tid":{pid},'
                          f'"ts":{ts},"args":{{{name}}}}}')
        events.append(f'{{"ph":"M","name":"thread_name","pid":{pid},"tid":{tid},'
                      f'"ts":{ts},"args":{{{name}}}}}')
        opened = self._open.get(tid)
        for event in events:
            if opened is not None:
                opened[1].append(event)
            else:
                self._emit(out, event)

    def _syscall(self, abi: int, nr: int) -> tuple[str, int | None]:
        key = (abi, nr)
        found = self._syscalls.get(key)
        if found is None:
            name = syscall_name(abi, nr)
            known = signature(abi, name) if name is not None else None
            found = self._syscalls[key] = (
                name or f"syscall_{nr}", None if known is None else len(known.args))
        return found

    def _decoded(self, call: Call | None, entry_only: bool) -> str:
        """``"arguments":...`` (decoded, strace's way), ``"path"`` and ``"io"`` of ``call``."""
        if call is None:
            return ""
        plan = call.plan
        parts = [f'"call":{call.id}'] if call.id else []
        if not self.options.raw and plan.signature is not None and call.ts != -1:
            key = (plan.abi, plan.nr, entry_only)
            compiled = self._renderers.get(key)
            if compiled is None:
                stop = plan.first_output_arg if entry_only else None
                compiled = self._renderers[key] = (
                    compile_arguments(plan, self._style, self._layer.fds, stop),
                    tuple(f"{encode_string(arg.name)}:" for arg in plan.signature.args))
            render, keys = compiled
            try:
                shown = render(call)
            except (IndexError, ValueError):  # arguments missing from the record
                shown = []
            if len(shown) == len(keys):
                parts.append('"arguments":{' + ",".join(
                    map(str.__add__, keys, map(encode_string, shown))) + "}")
            elif shown:
                parts.append('"arguments":[' + ",".join(map(encode_string, shown)) + "]")
        if call.paths and self.options.paths:
            parts.append(json_bytes_list("path", list(call.paths)))
        if call.io:
            limit = self.options.io_bytes
            items = []
            for io in call.io:
                data = io.data[:limit]
                truncated = len(data) < io.transferred
                items.append(f'{{"fd":{io.fd},"direction":'
                             f'"{"write" if io.direction else "read"}",'
                             f'"bytes":{io.transferred},{json_bytes("data", data)},'
                             f'"truncated":{"true" if truncated else "false"}}}')
            parts.append('"io":[' + ",".join(items) + "]")
        return "," + ",".join(parts) if parts else ""

    def _complete(self, tid: int, call: Call, start_ns: int, end_ns: int, tail: str,
                  deferred: list[str], out: list[str]) -> None:
        """Write the X event of ``call`` (ending at ``end_ns``), then what it deferred."""
        plan = call.plan
        name, count = self._syscall(plan.abi, plan.nr)
        start = max(start_ns, self._last_end.get(tid, start_ns))
        end = max(end_ns, start)
        last_end = self._last_end
        last_end[tid] = end
        if len(last_end) > TABLE_LIMIT:
            del last_end[next(iter(last_end))]
        if self.options.call_args:
            shown = call.args if count is None else call.args[:count]
            raw = ",".join(map(_QUOTED_HEX, shown))
            decoded = self._decoded(call, entry_only='"unfinished"' in tail)
            args = f',"args":{{"raw":[{raw}]{tail}{decoded}}}'
        else:
            args = ""
        self._emit(out, f'{{"ph":"X","cat":"syscall","name":"{name}","pid":{call.pid},'
                        f'"tid":{tid},"ts":{self._ts(start)},"dur":{self._us(end - start)}'
                        f'{args}}}')
        for event in deferred:
            self._emit(out, event)

    def _close_open(self, tid: int, end_ns: int, out: list[str]) -> None:
        call, deferred = self._open.pop(tid)
        self._complete(tid, call, call.ts, end_ns, ',"unfinished":true', deferred, out)

    def _return(self, record: Record, call: Call, out: list[str]) -> None:
        tid = record.tid
        ret: Any = record.payload
        opened = self._open.pop(tid, None)
        if opened is not None and opened[0] is not call:  # not this RET's call
            self._open[tid] = opened
            self._close_open(tid, record.timestamp_ns, out)
            opened = None
        deferred = [] if opened is None else opened[1]
        # A RET whose CALL is not in the trace starts duration_ns before it.
        start = call.ts if call.ts != -1 else record.timestamp_ns - ret.duration_ns
        if ret.flags & _UNFINISHED:
            detached = ',"detached":true' if ret.flags & _DETACHED else ""
            tail = f',"unfinished":true{detached},"duration_ns":{ret.duration_ns}'
        else:
            tail = f',"retval":{_json_int(ret.retval)},"duration_ns":{ret.duration_ns}'
            if ret.error:
                tail += f',"errno":"{errno_name(ret.error) or f"errno_{ret.error}"}"'
        self._complete(tid, call, start, record.timestamp_ns, tail, deferred, out)

    def _instant(self, record: Record, name: str, args: str, out: list[str]) -> None:
        event = (f'{{"ph":"i","s":"t","name":{encode_string(name)},"pid":{record.pid},'
                 f'"tid":{record.tid},"ts":{self._ts(record.timestamp_ns)},"args":{args}}}')
        opened = self._open.get(record.tid)
        if opened is not None:
            opened[1].append(event)
        else:
            self._emit(out, event)

    def _proc(self, record: Record, proc: Proc, out: list[str]) -> None:
        event = proc.event
        name = _PROC_EVENTS.get(event) or f"event_{event}"
        fields = []
        if event in _CHILD_EVENTS:
            fields.append(f'"child":{proc.child}')
            if event == _CLONE:
                fields.append(f'"thread":{"true" if proc.flags & ProcFlag.THREAD else "false"}')
        elif event == _EXIT and proc.child:  # the old leader, superseded by a thread's execve
            fields.append(f'"superseded_by":{proc.child}')
        elif event == _EXIT:
            fields.append(f'"status":{proc.status}')
            if proc.flags & ProcFlag.SIGNALED:
                fields.append(f'"signal":"{signal_name(proc.signal) or f"signal_{proc.signal}"}"')
            if proc.flags & ProcFlag.CORE_DUMPED:
                fields.append('"core_dumped":true')
        elif event == _STOP:  # a group-stop: the signal that stopped the thread
            fields.append(f'"signal":"{signal_name(proc.signal) or f"signal_{proc.signal}"}"')
        elif event not in _PROC_EVENTS:  # a newer minor's event: every raw field
            fields.extend([f'"child":{proc.child}', f'"status":{proc.status}',
                           f'"signal":{proc.signal}', f'"flags":{proc.flags}'])
        if proc.detail:  # exec: the path; lost: why; attach/detach: detail
            key = {_EXEC: "path", _LOST: "reason"}.get(event, "detail")
            fields.append(json_bytes(key, proc.detail))
        self._instant(record, name, "{" + ",".join(fields) + "}", out)

    def _drop(self, record: Record, out: list[str]) -> None:
        payload: Any = record.payload
        try:
            reason = DropError(payload.error).name
        except ValueError:
            reason = errno_name(payload.error) or f"errno_{payload.error}"
        cause = DROP_CAUSES.get(payload.error)
        label = reason if cause is None else f"{reason}: {cause}"
        more = "" if cause is None else f',"cause":"{cause}"'
        lost = plural(payload.lost, "record")
        self._emit(out, f'{{"ph":"i","s":"g","name":"dropped {lost} ({label})",'
                        f'"pid":0,"tid":0,"ts":{self._ts(record.timestamp_ns)},'
                        f'"args":{{"lost":{payload.lost},"error":"{reason}"{more}}}}}')

    def _end(self, record: Record, out: list[str]) -> None:
        payload: Any = record.payload
        early = bool(payload.flags & EndFlag.STOPPED_EARLY)
        name = (f"recording stopped: {_text(payload.reason)}" if early
                else f"recording ended: {_text(payload.reason)}" if payload.reason  # not started
                else "recording ended")
        unplaced = unplaced_probes(payload)
        more = "" if unplaced is None else (f',"unplaced":{unplaced[0]},'
                                            f'"unplaced_probes":{json.dumps(unplaced[1])}')
        if early:
            more += "," + json_bytes("reason", payload.reason)
        self._emit(out, f'{{"ph":"i","s":"g","name":{encode_string(name)},'
                        f'"pid":0,"tid":0,"ts":{self._ts(record.timestamp_ns)},'
                        f'"args":{{"status":{payload.status},"processes":{payload.processes},'
                        f'"threads":{payload.threads}{more}}}}}')


    def _begin(self, record: Record, out: list[str]) -> None:
        payload: Any = record.payload
        options = begin_options(payload)
        command = None if options is None else _command(options)
        self._emit(out, f'{{"ph":"i","s":"g","name":"recording started",'
                        f'"pid":0,"tid":0,"ts":{self._ts(record.timestamp_ns)},'
                        f'"args":{{"recorder_pid":{payload.recorder_pid},'
                        f'"command":{json.dumps(command)}}}}}')


def _command(options: dict[str, object]) -> list[str] | None:
    """A recording's command line from its options, or None (it attached, or damage)."""
    command = options.get("command")
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        return command
    return None


def _recording(record: Record) -> str:
    """otherData's entry for one BEGIN record (ASCII JSON: its bytes may hold anything)."""
    payload: Any = record.payload
    options = begin_options(payload)
    command = None if options is None else _command(options)
    return (f'{{"start_ns":{payload.realtime_ns},"recorder_pid":{payload.recorder_pid},'
            f'{json_bytes("version", payload.version)},"command":{json.dumps(command)},'
            f'"options":{json.dumps(options, separators=(",", ":"))}}}')


def _json_value(value: object) -> str:
    """A metadata value as JSON (strings escaped, bytes as text, others via json)."""
    if isinstance(value, bytes):
        value = _text(value)
    return json.dumps(value, ensure_ascii=False, default=str)


def write_chrome(
    events: Iterable[list[Record] | Notice],
    stream: IO[Any],
    options: ChromeOptions | None = None,
    *,
    on_notice: Callable[[Notice], None] | None = None,
    flush_each_batch: bool = False,
) -> ChromeTrace:
    """Write ``events`` as Chrome JSON: ``reader.events()``, a ``Merger``'s, a ``Follower``'s.

    ``stream`` is binary (UTF-8 is written) or text. ``on_notice`` is called
    with each notice (to warn on stderr); the notice also becomes a global
    instant event. ``flush_each_batch`` flushes after every batch (a live or
    followed input). The closing bracket is written even when the iteration
    stops with an exception (KeyboardInterrupt, an I/O error), so what was
    written stays a JSON document; the exception propagates.
    """
    trace = ChromeTrace(options)
    output = Output(stream)
    output.write(trace.begin())
    try:
        for event in events:
            if isinstance(event, list):
                output.write(trace.batch(event))
                if flush_each_batch:
                    output.flush()
                continue
            if isinstance(event, Skipped):
                output.write(trace.notice(event))
            elif isinstance(event, SourcedSkipped):
                output.write(trace.notice(event.notice, event.source))
            elif isinstance(event, Late):
                output.write(trace.late(event))
            # FollowEnded (the followed file was cut or replaced): the caller's to report
            if on_notice is not None:
                output.flush()
                on_notice(event)
    finally:
        output.write(trace.end())
        output.flush()
    return trace
