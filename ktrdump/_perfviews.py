"""What the views show of the perf source's records: CSW (context switches)
and CNT (counter readings). Kept apart from the describers, summary and
chrome writers, which call in here.

- Text (kdump's look, extended): ``CSW   stop kernel cpu 1``,
  ``CSW   stop user preempted cpu 0``, ``CSW   resume kernel cpu 1``;
  ``CNT   task-clock=1200345 page-faults=87 final`` (``running=N%`` when the
  counters ran less than they were enabled, ``user-mode`` when kernel mode was
  not counted).
- JSON keys after the common ones: CSW ``event`` (``"out"``/``"in"``),
  ``preempted`` (bool; out only), ``cpu`` (int, -1 unknown), ``user`` (bool);
  CNT ``counters`` (object: name → cumulative value), ``final`` (bool),
  ``enabled_ns``, ``running_ns``, ``user_only`` (bool).
- ``SwitchTally``: per thread, switches out (voluntary / preempted) and the
  off-CPU time between each ``out`` and the next ``in``, with a line saying
  which of ktr's own ptrace stops the voluntary counts include (each is a real
  voluntary switch; which switch was a stop is not marked: a stop the trace
  holds no record of could not be told from a sleep); ``CounterTally``: each
  thread's last reading. The summary prints both as tables; chrome turns
  switches into "off-CPU" slices and readings into counter tracks.

``reorder_window``: the recorder writes perf records up to a drain interval
after ptrace records of the same moment; reading a file whose header says it
ran a perf source goes through the merge's reorder window, so every view
sees one time-ordered stream. ``follow_idle_ns``: how long a followed input
(``ktrdump -l``) must have been idle before the window lets go of everything
it holds, so that a quiet live trace is shown without waiting for records
that are not coming.

Does not: read files or know where records come from.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from formats import (
    DEFAULT_FACILITIES,
    PERF_ONLY_FACILITIES,
    SYSCALL_FACILITIES,
    Cnt,
    CntFlag,
    Csw,
    CswFlag,
    FileHeader,
    Record,
    split_nul_strings,
)

from ._merge import MergeOptions
from ._model import begin_options
from ._reader import TraceReader
from ._text import display_text

# -------------------------------------------------------------------- text


def _counters(payload: Cnt) -> dict[str, int]:
    """name -> value, read by field name (a payload with appended fields works too)."""
    names = split_nul_strings(payload.names)
    return {name.decode("utf-8", "replace"): value
            for name, value in zip(names, payload.values, strict=False)}


def csw_text(payload: Csw) -> str:
    words = ["stop" if payload.out else "resume", "user" if payload.user else "kernel"]
    if payload.out and payload.flags & CswFlag.PREEMPTED:
        words.append("preempted")
    if payload.cpu >= 0:
        words.append(f"cpu {payload.cpu}")
    return "CSW   " + " ".join(words)


def cnt_text(payload: Cnt, not_supported: Sequence[str] = ()) -> str:
    """``CNT   task-clock=123 cycles=<not supported> final``: ``not_supported``,
    the header's ``counters_not_supported``, as perf stat shows them."""
    parts = [f"{name}={value}" for name, value in _counters(payload).items()]
    parts += [f"{name}={_NOT_SUPPORTED}" for name in not_supported]
    if payload.running_ns < payload.enabled_ns and payload.enabled_ns:
        parts.append(f"running={100 * payload.running_ns // payload.enabled_ns}%")
    if payload.flags & CntFlag.USER_ONLY:
        parts.append("user-mode")
    if payload.flags & CntFlag.FINAL:
        parts.append("final")
    return "CNT   " + " ".join(parts)


def csw_json(payload: Csw) -> str:
    if payload.out:
        preempted = "true" if payload.flags & CswFlag.PREEMPTED else "false"
        event = f'"event":"out","preempted":{preempted}'
    else:
        event = '"event":"in"'
    user = "true" if payload.user else "false"
    return f'{event},"cpu":{payload.cpu},"user":{user}'


def cnt_json(payload: Cnt, not_supported: Sequence[str] = ()) -> str:
    """A CNT's JSON keys; ``not_supported`` (the header's ``counters_not_supported``)
    as ``"not_supported":[names]`` beside the counted ones, when there are any."""
    counters = json.dumps(_counters(payload), separators=(",", ":"), ensure_ascii=False)
    final = "true" if payload.flags & CntFlag.FINAL else "false"
    user_only = "true" if payload.flags & CntFlag.USER_ONLY else "false"
    text = (f'"counters":{counters},"final":{final},"enabled_ns":{payload.enabled_ns},'
            f'"running_ns":{payload.running_ns},"user_only":{user_only}')
    if not_supported:
        text += ',"not_supported":' + json.dumps(list(not_supported), separators=(",", ":"),
                                                 ensure_ascii=False)
    return text


def counters_not_supported(header: FileHeader | None) -> list[str]:
    """The header's ``counters_not_supported`` (-C counters the machine could not count):
    the first recording's. An appended recording's own are in its BEGIN
    (``options_not_supported`` of ``_model.begin_options``)."""
    return options_not_supported(header.options) if header is not None else []


def options_not_supported(options: Mapping[str, object]) -> list[str]:
    """A recording's ``counters_not_supported``, from its options (header or BEGIN)."""
    missing = options.get("counters_not_supported")
    return [str(name) for name in missing] if isinstance(missing, list) else []


def options_counters(options: Mapping[str, object]) -> list[str]:
    """A recording's -C counters, in the order asked."""
    asked = options.get("counters")
    return [str(name) for name in asked] if isinstance(asked, list) else []


# ----------------------------------------------------------------- tallies


class ThreadSwitches:
    # Plain classes here, not dataclasses: generating a dataclass's methods
    # costs about a millisecond of every ktrdump start-up.
    __slots__ = ("comm", "last_cpu", "last_preempted", "off_cpu_ns", "out_since", "preempted",
                 "voluntary")

    def __init__(self, comm: bytes) -> None:
        self.comm = comm  # the latest name: a thread renamed or exec'd is shown as it ended
        self.voluntary = 0
        self.preempted = 0
        self.off_cpu_ns = 0
        self.out_since: int | None = None  # timestamp of an ``out`` not yet followed by ``in``
        self.last_preempted = False  # the last ``out`` was a preemption
        self.last_cpu = -1  # the CPU of the last ``out``


_PREEMPTED = int(CswFlag.PREEMPTED)


class SwitchTally:
    """Switch counts and off-CPU time per (pid, tid)."""

    def __init__(self) -> None:
        self.threads: dict[tuple[int, int], ThreadSwitches] = {}
        #: what the voluntary counts include of the recorder's own stops (``use_header``)
        self.note: str | None = None
        #: the recording asked for switches (``-t w``) and the view shows them: a
        #: summary with nothing else to show says that none were recorded
        self.requested = False

    def use_header(self, header: FileHeader | None) -> None:
        """Say, under the table, which of ktr's own ptrace stops the voluntary
        switches include (the recording's facilities, counters and probes tell),
        and whether switches were asked for at all."""
        self.note = ktr_stops_note(header)
        facilities = header.options.get("facilities") if header is not None else None
        self.requested = isinstance(facilities, str) and "w" in facilities

    def add(self, record: Record) -> tuple[int, int] | None:
        """Count one CSW; for an ``in``, return (off-CPU start, end) if its
        ``out`` was seen."""
        payload: Any = record.payload
        return self.count(record.pid, record.tid, record.comm, record.timestamp_ns,
                          payload.out, payload.flags, payload.cpu)

    def count(self, pid: int, tid: int, comm: bytes, timestamp_ns: int, out: int, flags: int,
              cpu: int) -> tuple[int, int] | None:
        """``add`` by the record's fields (the summary's raw path picks them out of a batch)."""
        key = (pid, tid)
        entry = self.threads.get(key)
        if entry is None:
            entry = self.threads[key] = ThreadSwitches(comm)
        else:
            entry.comm = comm
        if out:
            # A plain int mask: IntFlag's & builds an enum member per record.
            preempted = entry.last_preempted = bool(flags & _PREEMPTED)
            entry.last_cpu = cpu
            if preempted:
                entry.preempted += 1
            else:
                entry.voluntary += 1
            entry.out_since = timestamp_ns
            return None
        start = entry.out_since
        entry.out_since = None
        if start is None or timestamp_ns < start:
            return None
        entry.off_cpu_ns += timestamp_ns - start
        return start, timestamp_ns

    def lines(self) -> list[str]:
        """The summary table (empty without switches)."""
        if not self.threads:
            return []
        rows = [f"{'pid':>7} {'tid':>7} {'comm':<16} {'voluntary':>10} {'preempted':>10} "
                f"{'switches':>9} {'off-cpu (s)':>12}"]
        for (pid, tid), entry in sorted(self.threads.items()):
            total = entry.voluntary + entry.preempted
            comm = display_text(entry.comm)  # a program names itself: escaped, as kdump's view
            rows.append(f"{pid:>7} {tid:>7} {comm:<16} {entry.voluntary:>10} "
                        f"{entry.preempted:>10} {total:>9} {entry.off_cpu_ns / 1e9:>12.6f}")
        if self.note is not None:
            rows.append(self.note)
        return ["context switches per thread (CSW):", *rows]


def ktr_stops_note(header: FileHeader | None) -> str | None:
    """The line saying which voluntary switches are ktr's own ptrace stops; None
    for a recording without ptrace (``-t w``, ``-t wS``: nothing stopped the
    targets) or a header that does not say what was recorded.

    Every ptrace stop takes the thread off its CPU, and the kernel counts that as
    a voluntary switch (``ru_nvcsw`` counts it too). Which switch was a stop is
    not marked: a stop the trace holds no record of (a syscall not selected, when
    the recorder stepped every syscall; stops before the thread's perf events were
    open) could not be told from a sleep."""
    if header is None:
        return None
    options = header.options
    facilities = options.get("facilities")
    if not isinstance(facilities, str):
        return None
    letters = set(facilities.replace("+", DEFAULT_FACILITIES))
    if letters & SYSCALL_FACILITIES:
        return ("voluntary includes ktr's own ptrace stops, one per recorded syscall entry "
                "and exit and per signal, fork, clone, exec and exit (ktr record -t w "
                "alone makes none)")
    if (letters - PERF_ONLY_FACILITIES or options.get("counters")
            or options.get("probes")):
        return ("voluntary includes ktr's own ptrace stops, one per signal, fork, clone, "
                "exec and exit (ktr record -t w alone makes none)")
    return None


class CounterTally:
    """Each thread's last counter reading (a final one wins), with the counters its
    recording could not count (``begin``: appended recordings each have their own)."""

    def __init__(self) -> None:
        #: (pid, tid) -> comm, reading, its recording's not-supported counters (None:
        #: no BEGIN seen before it, the header's apply)
        self.readings: dict[tuple[int, int], tuple[str, Cnt, tuple[str, ...] | None]] = {}
        #: -C counters the recorder could not count (the header's
        #: ``counters_not_supported``), and the order they were asked in
        self.not_supported: list[str] = []
        self.requested: list[str] = []
        self._recording: tuple[str, ...] | None = None  # the current recording's (BEGIN)
        self._asked: list[str] = []  # -C names of the BEGINs seen, in order
        #: what a context-switches count includes of the recorder's own ptrace stops
        #: (``use_header``; -C always keeps ptrace), said under the table
        self.note: str | None = None

    def use_header(self, header: FileHeader | None) -> None:
        """Take the not-supported counters (and the -C order) from the trace's header:
        for readings before any BEGIN (a recording's BEGIN says its own); and which
        of ktr's own ptrace stops a context-switches count includes (as the CSW
        table's voluntary switches: each stop is one, which perf stat does not see)."""
        stops = ktr_stops_note(header)
        self.note = None if stops is None else stops.replace(
            "voluntary includes", f"{_CONTEXT_SWITCHES} includes", 1).replace(
            "(ktr record -t w alone makes none)", "(perf stat, which stops nothing, counts "
            "none of them)")
        if header is None:
            return
        self.not_supported = counters_not_supported(header)
        asked = options_counters(header.options)
        self.requested = asked + [name for name in self._asked if name not in asked]

    def begin(self, record: Record) -> None:
        """A BEGIN: the readings after it are its recording's."""
        options = begin_options(record.payload)  # type: ignore[arg-type]
        if options is None:
            return
        self._recording = tuple(options_not_supported(options))
        self._asked += [name for name in options_counters(options) if name not in self._asked]
        self.requested += [name for name in self._asked if name not in self.requested]

    def add(self, record: Record) -> None:
        payload: Any = record.payload
        key = (record.pid, record.tid)
        held = self.readings.get(key)
        if held is not None and held[1].flags & CntFlag.FINAL and not (
                payload.flags & CntFlag.FINAL):
            return
        self.readings[key] = (display_text(record.comm), payload, self._recording)

    def lines(self) -> list[str]:
        """A per-thread table like ``perf stat --per-thread`` (empty without CNT)."""
        if not self.readings:
            return []
        names: list[str] = []
        for _, payload, _missing in self.readings.values():
            for name in _counters(payload):
                if name not in names:
                    names.append(name)
        # each reading's recording: what it could not count (perf stat's way)
        unsupported = {key: self.not_supported if missing is None else missing
                       for key, (_, _, missing) in self.readings.items()}
        shown_missing = {name for missing in unsupported.values() for name in missing}
        missing = [name for name in self.not_supported if name not in names]
        missing += [name for name in sorted(shown_missing)
                    if name not in names and name not in missing]
        if shown_missing:
            # in the order asked, "<not supported>" for those
            names += missing
            order = {name: index for index, name in enumerate(self.requested)}
            names.sort(key=lambda name: order.get(name, len(order)))
        widths = [max(len(name), 14, len(_NOT_SUPPORTED) if name in shown_missing else 0)
                  for name in names]
        head = f"{'pid':>7} {'tid':>7} {'comm':<16} " + " ".join(
            f"{name:>{width}}" for name, width in zip(names, widths, strict=True))
        rows = ["counters per thread (CNT, last reading; * not final):", head]
        totals = dict.fromkeys(names, 0)
        for (pid, tid), (comm, payload, _missing) in sorted(self.readings.items()):
            values = _counters(payload)
            cells = []
            for name, width in zip(names, widths, strict=True):
                value = values.get(name)
                if value is None:
                    cell = _NOT_SUPPORTED if name in unsupported[pid, tid] else "-"
                    cells.append(f"{cell:>{width}}")
                    continue
                totals[name] += value
                cells.append(f"{_counter_value(name, value):>{width}}")
            mark = "" if payload.flags & CntFlag.FINAL else " *"
            rows.append(f"{pid:>7} {tid:>7} {comm:<16} " + " ".join(cells) + mark)
        rows.append(f"{'':>7} {'':>7} {'total':<16} " + " ".join(
            f"{_NOT_SUPPORTED if name in missing else _counter_value(name, totals[name]):>{width}}"
            for name, width in zip(names, widths, strict=True)))
        if self.note is not None and _CONTEXT_SWITCHES in names:
            rows.append(self.note)
        return rows


#: The perf software counter that each ptrace stop increments (``CounterTally.note``).
_CONTEXT_SWITCHES = "context-switches"


#: perf stat's cell for a counter the machine cannot count.
_NOT_SUPPORTED = "<not supported>"


def _counter_value(name: str, value: int) -> str:
    """Clocks in ms like perf stat (``task-clock`` 12.345 msec), counts as they are."""
    if name in ("task-clock", "cpu-clock"):
        return f"{value / 1e6:.3f} ms"
    return str(value)




# ------------------------------------------------------------------ chrome


def chrome_switch_events(tally: SwitchTally, record: Record,
                         ts: Callable[[int], str]) -> list[str]:
    """An off-CPU interval as an async slice pair (``"ph":"b"``/``"e"``,
    ``cat`` ``sched``) on its process, written when its ``in`` arrives; async
    slices may overlap the thread's syscall slices, which X events may not."""
    payload: Any = record.payload
    interval = tally.add(record)
    if interval is None:
        return []
    entry = tally.threads[(record.pid, record.tid)]
    start, end = interval
    how = "preempted" if entry.last_preempted else "sleeping"
    name = f"off-CPU {record.tid} ({how})"
    common = (f'"cat":"sched","name":"{name}","id":{record.tid},"pid":{record.pid},'
              f'"tid":{record.tid}')
    return [f'{{"ph":"b",{common},"ts":{ts(start)},"args":{{"cpu_out":{entry.last_cpu}}}}}',
            f'{{"ph":"e",{common},"ts":{ts(end)},"args":{{"cpu_in":{payload.cpu}}}}}']


def chrome_counter_events(record: Record, ts: Callable[[int], str]) -> list[str]:
    """One counter track per (thread, counter): ``"ph":"C"``, cumulative values."""
    payload: Any = record.payload
    stamp = ts(record.timestamp_ns)
    return [f'{{"ph":"C","name":{json.dumps(f"{name} {record.tid}")},"pid":{record.pid},'
            f'"tid":{record.tid},"ts":{stamp},"args":{{"value":{value}}}}}'
            for name, value in _counters(payload).items()]




# ----------------------------------------------------------------- reading

#: How late a perf record can reach the file after ptrace records of the same
#: moment: the recorder drains its rings every 200 ms at the latest (see
#: ``ktr/_perfsource.py``); the reorder window leaves a wide margin.
PERF_LATENESS_NS = 2_000_000_000


#: The longest a record waits in a perf ring for a drain, for a header that does not
#: say (``"drain_interval_ms"``; older recorders did not): theirs.
DEFAULT_DRAIN_INTERVAL_MS = 200.0
#: The recorder's flush intervals (``--flush-interval``, ``--interactive-delay``), for
#: a header whose ``"queue"`` does not say them.
DEFAULT_FLUSH_MS = 1000.0
DEFAULT_INTERACTIVE_FLUSH_MS = 100.0
#: Added to those: a drain leaves the records of its last 5 ms to the next one, the
#: recorder holds ptrace records up to 40 ms before it queues them, and its threads
#: may be scheduled late on a loaded machine.
FOLLOW_IDLE_MARGIN_NS = 100_000_000
#: A bound on the idle time waited for, whatever a header says (a damaged one).
MAX_FOLLOW_IDLE_NS = 60_000_000_000


def follow_idle_ns(header: FileHeader | None, interactive: bool) -> int:
    """How long a followed trace must have had nothing new before what the reorder
    window holds may go: a perf record waits in its ring up to a drain interval
    (``"drain_interval_ms"``), then with every record in the recorder's queue up to
    its flush interval (the header's ``"queue"``: ``wakedelay_ms`` for a file,
    ``intrwakdl_ms`` when ``interactive``, the input being a pipe as the recorder's
    output then was), and a margin. Idle that long after a write, the file holds
    every record stamped before that write: none of those held can be overtaken."""
    options: Mapping[str, object] = (
        header.options if header is not None and isinstance(header.options, dict) else {})
    queue = options.get("queue")
    queue = queue if isinstance(queue, dict) else {}
    drain = _milliseconds(options.get("drain_interval_ms"), DEFAULT_DRAIN_INTERVAL_MS)
    flush = (_milliseconds(queue.get("intrwakdl_ms"), DEFAULT_INTERACTIVE_FLUSH_MS)
             if interactive else _milliseconds(queue.get("wakedelay_ms"), DEFAULT_FLUSH_MS))
    return min(int((drain + flush) * 1e6) + FOLLOW_IDLE_MARGIN_NS, MAX_FOLLOW_IDLE_NS)


def _milliseconds(value: object, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e9:
        return float(value)
    return default


def has_perf_records(header: FileHeader | None) -> bool:
    """Did the recording read perf rings (``-t w``, ``-C``, ``-F``, ``-P``)? From its header."""
    if header is None:
        return False
    options = header.options if isinstance(header.options, dict) else {}
    return options.get("perf_source") is True


def reorder_window(readers: Sequence[TraceReader]) -> MergeOptions | None:
    """A merge that puts perf records back in time order among the ptrace
    records (they are written up to a drain interval late), when any input
    has them; None otherwise (read as written)."""
    if not any(has_perf_records(reader.header) for reader in readers):
        return None
    return MergeOptions(window_ns=PERF_LATENESS_NS)


def reorder_window_of(header: FileHeader | None) -> MergeOptions | None:
    """``reorder_window`` for one input known by its header (a followed one)."""
    return MergeOptions(window_ns=PERF_LATENESS_NS) if has_perf_records(header) else None


__all__ = ["PERF_LATENESS_NS", "CounterTally", "SwitchTally", "ThreadSwitches",
           "chrome_counter_events", "chrome_switch_events", "cnt_json", "cnt_text", "csw_json",
           "csw_text", "follow_idle_ns", "has_perf_records", "reorder_window",
           "reorder_window_of"]
