r"""Chrome Trace Event JSON (``ktrdump --format chrome``): Perfetto UI, catapult, speedscope.

The output is the JSON *object* form of the Trace Event Format::

    {"traceEvents":[
    {...one event a line...},
    ...
    ],
    "displayTimeUnit":"ns",
    "otherData":{"origin_ns":..., "clock":"CLOCK_REALTIME", "hostname":..., ...}}

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
  ``"arguments"`` the decoded arguments as strace prints them, keyed by the
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
  ``"unfinished": true``; so does a call with no RET at all, ending at the
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
- drops, skipped (damaged) batches and, for merged inputs, records out of
  order are global instant events (``"s":"g"``, pid 0, tid 0):
  ``dropped 12 records (ENOSPC)``, ``skipped 2 damaged batches`` (args:
  offset, bytes, reason, file), ``3 records out of order``.
- names: metadata events ``process_name`` / ``thread_name`` (the only
  metadata names used) from the command name, written when a thread is first
  seen and again when its name changes (after exec); viewers show the last
  one. Every event, metadata included, has a ``ts`` (older speedscope
  versions require it).
- ``otherData``: ``origin_ns`` (the epoch time in ns that ``ts`` 0 stands
  for), ``clock``, and what the caller passes in ``ChromeOptions.metadata``
  (ktrdump: the file header's host, kernel, ktr version, command).

Timestamps are microseconds (the format's unit) with three decimals, so
nanoseconds survive; they are relative to ``origin_ns`` — by default the
first record's time, or what the caller passes (the file header's
``realtime_ns``, the recording's start). Absolute epoch microseconds would
need 61 bits of mantissa to keep the nanoseconds, more than a JSON viewer's
double holds, so relative is the default; ``origin_ns=0`` gives absolute
times at the double's precision. Numbers beyond 2**53 (pointers in
``retval``) are written as hex strings for the same reason.

Guarantees: the output parses as JSON for any input (strings are escaped;
bytes that are not UTF-8 become ``\xNN``), also when the input stops with an
exception (the document is closed); per thread, X events never partially
overlap and come out in non-decreasing ``ts`` when the input is in time order
per thread. Does not: show NAMEI/GENIO/STRUCT/EMUL/ARG/ENV records as events
of their own (they are part of their call's ``args``), read files, or sort
its input (use ``_merge`` for several files).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from json.encoder import encode_basestring as _encode_basestring
from typing import IO, Any, NamedTuple

from formats import (
    Drop,
    DropError,
    Proc,
    ProcEvent,
    ProcFlag,
    Psig,
    Record,
    RecordKind,
    Syscall,
    SyscallFlag,
    Sysret,
    User,
)
from formats.linux import errno_name, signal_name, signature, syscall_name

from ._args import CallArguments, Style, compile_arguments
from ._calls import Call, CallTracker
from ._follow import FollowEnded
from ._merge import Late, SourcedSkipped
from ._output import Output
from ._reader import Skipped

encode_string: Callable[[str], str] = _encode_basestring

_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_NAMEI = int(RecordKind.NAMEI)
_PSIG = int(RecordKind.PSIG)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)
_USER = int(RecordKind.USER)
_GENIO = int(RecordKind.GENIO)
_STRUCT = int(RecordKind.STRUCT)
_EXEC_ARG = int(RecordKind.EXEC_ARG)
_EXEC_ENV = int(RecordKind.EXEC_ENV)
_UNFINISHED = int(SyscallFlag.UNFINISHED)
_EXIT = int(ProcEvent.EXIT)
_EXEC = int(ProcEvent.EXEC)
_LOST = int(ProcEvent.LOST)
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
    pids: frozenset[int] = frozenset()  # only these processes; empty: all (drops always shown)
    paths: bool = True  # attach NAMEI paths to their call's args
    call_args: bool = True  # X events carry args (False: speedscope groups by name alone)
    io_bytes: int = DEFAULT_IO_BYTES  # data shown per GIO record in a call's args
    raw: bool = False  # -n: no decoded arguments, raw words only
    facilities: str | None = None  # the recording's -t (which entry records to expect)
    metadata: tuple[tuple[str, object], ...] = ()  # more otherData entries (JSON values)


class _OpenCall(NamedTuple):
    start_ns: int
    pid: int
    abi: int
    nr: int
    args: tuple[int, ...]
    call: Call | None  # the call layer's view of it (decoded arguments, paths, I/O)
    deferred: list[str]  # events of this thread that happened during the call


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


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
        self._first = True
        self._open: dict[int, _OpenCall] = {}  # tid -> call in progress
        self._last_end: dict[int, int] = {}  # tid -> where its last X event ended (ns)
        self._thread_names: dict[int, bytes] = {}
        self._process_names: dict[int, bytes] = {}
        self._syscalls: dict[tuple[int, int], tuple[str, int | None]] = {}
        self._tracker = CallTracker(keep_calls=True, facilities=self.options.facilities)
        self._style = Style(strace=True)  # strace's 32-byte strings; data is under "io"
        self._renderers: dict[tuple[int, int, bool], CallArguments] = {}
        self._last_ns = 0
        self.events = 0  # events written so far

    # -- the document --------------------------------------------------------

    def begin(self) -> list[str]:
        return ['{"traceEvents":[\n']

    def end(self) -> list[str]:
        """Close the calls still open (they end with the trace), the array and the object."""
        out: list[str] = []
        for tid in list(self._open):
            self._close_open(tid, self._last_ns, out)
        other = [f'"origin_ns":{self._origin if self._origin is not None else "null"}',
                 '"clock":"CLOCK_REALTIME"']
        other.extend(f"{encode_string(key)}:{_json_value(value)}"
                     for key, value in self.options.metadata)
        out.append(f'\n],\n"displayTimeUnit":"ns",\n"otherData":{{{",".join(other)}}}}}\n')
        return out

    # -- events ----------------------------------------------------------------

    def notice(self, notice: Skipped, source: str | None = None) -> list[str]:
        """A damaged region the reader skipped: one global instant event."""
        plural = "batch" if notice.batches == 1 else "batches"
        args = (f'{{"offset":{notice.offset},"bytes":{notice.bytes},'
                f'"reason":{encode_string(notice.reason)}')
        if source is not None:
            args += f',"file":{encode_string(source)}'
        out: list[str] = []
        self._emit(out, f'{{"ph":"i","s":"g","name":"skipped {notice.batches} damaged {plural}",'
                        f'"pid":0,"tid":0,"ts":{self._ts(self._last_ns)},"args":{args}}}}}')
        return out

    def late(self, notice: Late) -> list[str]:
        """Records of a merged input that follow out of order: one global instant event."""
        out: list[str] = []
        self._emit(out, f'{{"ph":"i","s":"g","name":"{notice.records} records out of order",'
                        f'"pid":0,"tid":0,"ts":{self._ts(self._last_ns)},'
                        f'"args":{{"file":{encode_string(notice.source)},'
                        f'"window_ns":{notice.window_ns}}}}}')
        return out

    def batch(self, records: Iterable[Record]) -> list[str]:
        out: list[str] = []
        pids = self.options.pids
        tracker = self._tracker
        for record in records:
            kind = record.kind
            timestamp = record.timestamp_ns
            if timestamp > self._last_ns:
                self._last_ns = timestamp
            if self._origin is None:
                self._origin = timestamp
            if kind == _DROP:
                self._drop(record, out)
                continue
            if pids and record.pid not in pids:
                continue
            tid = record.tid
            if self._thread_names.get(tid) != record.comm:
                self._name(record, out)
            payload = record.payload
            if kind == _SYSCALL and isinstance(payload, Syscall):
                if tid in self._open:  # its RET never came
                    self._close_open(tid, timestamp, out)
                call = tracker.enter(record)
                self._open[tid] = _OpenCall(timestamp, record.pid, payload.abi, payload.nr,
                                            payload.args, call, [])
            elif kind == _SYSRET and isinstance(payload, Sysret):
                self._return(record, payload, out)
            elif kind in (_NAMEI, _EXEC_ARG, _EXEC_ENV, _STRUCT):
                opened = tracker.open.get(tid)
                if opened is not None and tracker.is_entry_record(opened, record):
                    tracker.attach(opened, record)
                elif kind == _STRUCT:
                    tracker.add_exit_record(record)
            elif kind == _GENIO:
                tracker.add_exit_record(record)
            elif kind == _PSIG and isinstance(payload, Psig):
                self._instant(record, signal_name(payload.signo) or f"signal_{payload.signo}",
                              f'{{"signo":{payload.signo},"code":{payload.code},'
                              f'"action":{_json_int(payload.action)}}}', out)
            elif kind == _PROC and isinstance(payload, Proc):
                self._proc(record, payload, out)
                tracker.process_event(record)
            elif kind == _USER and isinstance(payload, User):
                self._instant(record, "utrace " + _text(payload.label),
                              f'{{"len":{len(payload.data)}}}', out)
        return out

    # -- helpers ---------------------------------------------------------------

    def _emit(self, out: list[str], event: str) -> None:
        if self._first:
            self._first = False
            out.append(event)
        else:
            out.append(",\n" + event)
        self.events += 1

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
        name = encode_string(_text(comm))
        ts = self._ts(record.timestamp_ns)
        events = []
        if tid == pid or pid not in self._process_names:
            self._process_names[pid] = comm
            events.append(f'{{"ph":"M","name":"process_name","pid":{pid},"tid":{pid},'
                          f'"ts":{ts},"args":{{"name":{name}}}}}')
        events.append(f'{{"ph":"M","name":"thread_name","pid":{pid},"tid":{tid},'
                      f'"ts":{ts},"args":{{"name":{name}}}}}')
        call = self._open.get(tid)
        for event in events:
            if call is not None:
                call.deferred.append(event)
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
            render = self._renderers.get(key)
            if render is None:
                stop = plan.first_output_arg if entry_only else None
                render = self._renderers[key] = compile_arguments(plan, self._style, None, stop)
            try:
                shown = render(call)
            except (IndexError, ValueError):  # arguments missing from the record
                shown = []
            names = [arg.name for arg in plan.signature.args]
            if len(shown) == len(names):
                parts.append('"arguments":{' + ",".join(
                    f"{encode_string(name)}:{encode_string(text)}"
                    for name, text in zip(names, shown, strict=True)) + "}")
            elif shown:
                parts.append('"arguments":[' + ",".join(map(encode_string, shown)) + "]")
        if call.paths and self.options.paths:
            parts.append('"path":[' + ",".join(encode_string(_text(path))
                                               for path in call.paths) + "]")
        if call.io:
            limit = self.options.io_bytes
            items = []
            for io in call.io:
                data = io.data[:limit]
                truncated = len(data) < io.transferred
                items.append(f'{{"fd":{io.fd},"direction":'
                             f'"{"write" if io.direction else "read"}",'
                             f'"bytes":{io.transferred},"data":{encode_string(_text(data))},'
                             f'"truncated":{"true" if truncated else "false"}}}')
            parts.append('"io":[' + ",".join(items) + "]")
        return "".join("," + part for part in parts)

    def _complete(self, tid: int, call: _OpenCall, end_ns: int, tail: str,
                  out: list[str], decoded: str = "") -> None:
        """Write the X event of ``call`` (ending at ``end_ns``), then what it deferred."""
        name, count = self._syscall(call.abi, call.nr)
        start = max(call.start_ns, self._last_end.get(tid, call.start_ns))
        end = max(end_ns, start)
        self._last_end[tid] = end
        if self.options.call_args:
            shown = call.args if count is None else call.args[:count]
            raw = ",".join(f'"{value:#x}"' for value in shown)
            args = f',"args":{{"raw":[{raw}]{tail}{decoded}}}'
        else:
            args = ""
        self._emit(out, f'{{"ph":"X","cat":"syscall","name":"{name}","pid":{call.pid},'
                        f'"tid":{tid},"ts":{self._ts(start)},"dur":{self._us(end - start)}'
                        f'{args}}}')
        for event in call.deferred:
            self._emit(out, event)

    def _close_open(self, tid: int, end_ns: int, out: list[str]) -> None:
        call = self._open.pop(tid)
        decoded = self._tracker.open.pop(tid, None)
        if decoded is not call.call:
            decoded = call.call
        self._complete(tid, call, end_ns, ',"unfinished":true', out,
                       self._decoded(decoded, entry_only=True))

    def _return(self, record: Record, ret: Sysret, out: list[str]) -> None:
        tid = record.tid
        call = self._open.get(tid)
        if call is not None and (call.nr != ret.nr or call.abi != ret.abi):
            self._close_open(tid, record.timestamp_ns, out)  # not this RET's call
            call = None
        decoded = self._tracker.leave(record)
        if call is None:  # the CALL is not in the trace
            call = _OpenCall(record.timestamp_ns - ret.duration_ns, record.pid, ret.abi,
                             ret.nr, (), decoded, [])
        else:
            del self._open[tid]
        if ret.flags & _UNFINISHED:
            tail = f',"unfinished":true,"duration_ns":{ret.duration_ns}'
        else:
            tail = f',"retval":{_json_int(ret.retval)},"duration_ns":{ret.duration_ns}'
            if ret.error:
                tail += f',"errno":"{errno_name(ret.error) or f"errno_{ret.error}"}"'
        text = self._decoded(decoded, entry_only=bool(ret.flags & _UNFINISHED))
        self._complete(tid, call, record.timestamp_ns, tail, out, text)

    def _instant(self, record: Record, name: str, args: str, out: list[str]) -> None:
        event = (f'{{"ph":"i","s":"t","name":{encode_string(name)},"pid":{record.pid},'
                 f'"tid":{record.tid},"ts":{self._ts(record.timestamp_ns)},"args":{args}}}')
        call = self._open.get(record.tid)
        if call is not None:
            call.deferred.append(event)
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
        elif event == _EXIT:
            fields.append(f'"status":{proc.status}')
            if proc.flags & ProcFlag.SIGNALED:
                fields.append(f'"signal":"{signal_name(proc.signal) or f"signal_{proc.signal}"}"')
            if proc.flags & ProcFlag.CORE_DUMPED:
                fields.append('"core_dumped":true')
        elif event not in _PROC_EVENTS:  # a newer minor's event: every raw field
            fields.extend([f'"child":{proc.child}', f'"status":{proc.status}',
                           f'"signal":{proc.signal}', f'"flags":{proc.flags}'])
        if proc.detail:  # exec: the path; lost: why; attach/detach: detail
            key = {_EXEC: "path", _LOST: "reason"}.get(event, "detail")
            fields.append(f'"{key}":{encode_string(_text(proc.detail))}')
        tid = record.tid
        if event == _EXIT and tid in self._open:  # the thread is gone mid-call
            self._close_open(tid, record.timestamp_ns, out)
        self._instant(record, name, "{" + ",".join(fields) + "}", out)

    def _drop(self, record: Record, out: list[str]) -> None:
        payload = record.payload
        if not isinstance(payload, Drop):
            return
        try:
            reason = DropError(payload.error).name
        except ValueError:
            reason = errno_name(payload.error) or f"errno_{payload.error}"
        self._emit(out, f'{{"ph":"i","s":"g","name":"dropped {payload.lost} records ({reason})",'
                        f'"pid":0,"tid":0,"ts":{self._ts(record.timestamp_ns)},'
                        f'"args":{{"lost":{payload.lost},"error":"{reason}"}}}}')


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
