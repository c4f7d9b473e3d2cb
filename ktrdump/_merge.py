"""Merge: several traces into one stream in timestamp order (``ktrdump FILE FILE ...``).

Input: one ``TraceReader`` (or any iterator of its events) per file. Output:
an iterator of events like ``TraceReader.events()``'s — batches
(``list[formats.Record]``) in non-decreasing ``timestamp_ns`` — interleaved
with notices: ``SourcedSkipped`` (a damaged region of one input, with its
name) and ``Late`` (records that arrived too late to be put in order).

How:

- Each input first goes through a reorder window. A file is in time order
  per producer, but records written in queue order may be slightly out of
  order across threads or recordings sharing a file, and batches may
  overlap. The window holds an input's records until a record at least
  ``window_ns`` later has been read from the same input (or the input ends),
  and sorts what it holds; so any disorder smaller than ``window_ns`` is
  repaired. The window also holds at most ``window_records`` records: past
  that, the oldest are let go early (this bounds memory whatever the record
  rate; at a rate that fills it, the effective window is shorter).
- A record earlier than one its input has already let go cannot be put in
  order any more: it is passed on at once (out of order) and counted, and a
  ``Late`` notice saying how many precedes it. Nothing is dropped and nothing
  is misordered silently: the merged stream is non-decreasing except for the
  records a ``Late`` notice announces.
- The inputs' ordered streams are then merged: a record is passed on when no
  other input can still produce an earlier one. Ties (equal timestamps) go in
  input order, and within one input in file order — the merge is stable.
- A damaged region's notice (``SourcedSkipped``) takes its place in time
  order, as a record would at the time of the newest record its input read
  before it (first, if none): after every record of that input read before
  it, and after the other inputs' records up to that time. So the in-band
  SKIP/CUT line of a merged view stands where the damage is, as a single
  input's does. ``Late`` notices come at once, before the records they
  announce.

A followed input (``_follow``) may yield ``Pause`` events between batches:
``Pause(0)`` (nothing more to read for now) has the records the merge has
let go passed on at once, as a batch, instead of waiting for a full one;
``Pause(idle_ns)`` (nothing came for that long: perf's ordered-events flush)
lets go of everything its window holds first. A record then read that is
earlier than those is ``Late`` (its notice says the input had been idle).
Meant for one input: another input's records are not waited for.

Guarantees: memory is bounded: per input, the reader's current batch plus
its window (at most ``window_records`` records plus one batch being sorted
in), plus one output batch; ``Merger.held`` and ``Merger.peak_held`` report
the records held (and, per input, the set of pids it has shown). With several
inputs, a BEGIN record comes out as an ``InputBegin`` (the same fields, plus
the pids its input showed before it, the children its fork, vfork and clone
records named included), so the call layer can tell which state a BEGIN ends.

Inputs recorded on other boots or in other pid namespaces (the headers'
``recorder`` identity differs, or is not known) can show the same pid for
different processes. The call layer keys its state by pid and tid alone, so
it cannot tell those apart; the merge notes them (``Merger.shared_pids``, for
a warning) and leaves a pid another such input has shown out of a BEGIN's
``input_pids``: that input's recording goes on, and its state (an open call,
``-y``'s names) is not ended by the other's BEGIN. Inputs of one boot and pid
namespace share a pid only for one process (at a time): it stays in.

Does not: read files itself (give it readers), drop duplicates, or change
records' fields (timestamps are never adjusted), or tell apart the
processes of a pid two inputs share.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush
from operator import itemgetter
from typing import NamedTuple

from formats import ProcEvent, Record, RecordKind

from ._reader import Pause, Skipped, TraceReader

_BEGIN = int(RecordKind.BEGIN)
_PROC = int(RecordKind.PROC)
#: PROC events naming a new process or thread (``child``)
_BIRTHS = frozenset({int(ProcEvent.FORK), int(ProcEvent.VFORK), int(ProcEvent.CLONE)})
#: Pids shared by inputs of other boots kept (named in the warning) at most.
MAX_SHARED_PIDS = 1000

#: Where an input's pids mean something: its recorder's (boot_id, pid_namespace).
Recorder = tuple[str, int]

#: Default reorder window: disorder smaller than this is repaired.
DEFAULT_WINDOW_NS = 10_000_000  # 10 ms
#: Default bound on the records one input's window holds.
DEFAULT_WINDOW_RECORDS = 100_000
#: Records per batch the merge yields (ktrace's default maxentry).
DEFAULT_BATCH_RECORDS = 1000


@dataclass(frozen=True)
class MergeOptions:
    window_ns: int = DEFAULT_WINDOW_NS
    window_records: int = DEFAULT_WINDOW_RECORDS
    batch_records: int = DEFAULT_BATCH_RECORDS

    def __post_init__(self) -> None:
        if self.window_ns < 0 or self.window_records < 0 or self.batch_records < 1:
            raise ValueError("merge window and batch sizes must be positive")


class SourcedSkipped(NamedTuple):
    """A damaged region of one input (``Skipped``) and the input's name."""

    source: str
    notice: Skipped

    def describe(self) -> str:
        return f"{self.source}: {self.notice.describe()}"


class Late(NamedTuple):
    """Records of one input that arrived later than the window allows; they follow, out of order."""

    source: str
    records: int
    window_ns: int
    #: When the records it let go last went at a ``Pause`` (a followed input idle
    #: this long), not by the window: how long the input had been idle.
    idle_ns: int = 0

    def describe(self) -> str:
        plural = "record" if self.records == 1 else "records"
        if self.idle_ns:
            return (f"{self.source}: {self.records} {plural} arrived after the input had "
                    f"been idle for {self.idle_ns / 1e6:g} ms and later records were shown; "
                    "shown out of timestamp order")
        return (f"{self.source}: {self.records} {plural} arrived more than "
                f"{self.window_ns / 1e6:g} ms late; shown out of timestamp order")


MergeEvent = list[Record] | SourcedSkipped | Late


_kind_of = itemgetter(0)
_pid_of = itemgetter(2)


def _timestamps(records: Sequence[Record]) -> list[int]:
    return [record.timestamp_ns for record in records]


class InputBegin(Record):
    """A BEGIN record of a merged input, with ``input_pids``: the pids of the records
    read from the same input before it (its earlier recordings', when it is an
    appended file, and the children they forked). A BEGIN starts a recording of its
    own input only: the call layer forgets the state of these pids, not the other
    inputs' (which go on): ``input_pids`` leaves out the pids that inputs of other
    boots or pid namespaces have shown by the time it is asked (when the BEGIN is
    taken, in time order: those inputs were read up to then, not only up to where
    this input's reading found the BEGIN)."""

    _own: frozenset[int] = frozenset()
    _merger: Merger | None = None
    _origin: _Input | None = None

    @property
    def input_pids(self) -> frozenset[int]:
        merger, source = self._merger, self._origin
        if merger is None or source is None:
            return self._own
        pids = set(self._own)
        for other in merger._foreign(source):
            pids -= other._pids  # another boot's process: its recording goes on
        self._own, self._merger, self._origin = frozenset(pids), None, None
        return self._own


class _Show:
    """An input's word that it has nothing more for now: what the merge holds ready goes
    out (a followed input's ``Pause``)."""


_SHOW = _Show()


class _Placed(NamedTuple):
    """A damaged region's notice with its place in time (``ts``: see the docstring)."""

    ts: int
    notice: SourcedSkipped


class _Input:
    """One input: its events, then its reorder window; yields ordered chunks."""

    def __init__(self, index: int, name: str, events: Iterator[list[Record] | Skipped | Pause],
                 options: MergeOptions, merger: Merger, recorder: Recorder | None = None,
                 ) -> None:
        self.index = index
        self.name = name
        self.recorder = recorder
        self._events = events
        self._options = options
        self._merger = merger
        # The window: a heap of (timestamp, arrival order, record), so putting a
        # record in and taking the earliest out cost log(window) whatever the
        # disorder (re-sorting the window per batch cost window x batches).
        # A notice rides in it too, keyed at the newest time read before it.
        self._heap: list[tuple[int, int, Record | SourcedSkipped]] = []
        self._arrivals = 0
        self._notices = 0  # notices in the heap
        self._released_until: int | None = None  # latest timestamp let go
        # (_released_until, idle_ns) of the last release a Pause made (everything held)
        self._paused: tuple[int | None, int] = (None, 0)
        self._max_seen: int | None = None
        self.late = 0  # records that came too late, in total
        self._pids: set[int] = set()  # pids of the records read so far (InputBegin)
        # One input alone (a reorder window): its BEGIN ends everything, untagged.
        self.tag_begins = True

    def chunks(self) -> Iterator[tuple[list[Record], list[int]] | _Placed | Late | _Show]:
        """Ordered runs of records (with their timestamps) and this input's notices;
        ``_SHOW`` where a followed input paused (see ``Pause``)."""
        options = self._options
        for event in self._events:
            if isinstance(event, Pause):
                if event.idle_ns:
                    # Idle that long: nothing earlier than what is held is still to
                    # come (perf's ordered-events flush); all of it goes.
                    yield from self._release(final=True)
                    self._paused = (self._released_until, event.idle_ns)
                yield _SHOW
                continue
            if isinstance(event, Skipped):
                newest = -1 if self._max_seen is None else self._max_seen
                heappush(self._heap, (newest, self._arrivals, SourcedSkipped(self.name, event)))
                self._arrivals += 1
                self._notices += 1
                continue
            if not event:
                continue
            late = self._take(event)
            if late:
                self.late += len(late)
                # A notice read before them goes before them (and what precedes it).
                yield from self._release(final=False, notices=True)
                floor, idle_ns = self._paused
                yield Late(self.name, len(late), options.window_ns,
                           idle_ns if floor == self._released_until else 0)
                yield late, _timestamps(late)
            yield from self._release(final=False)
        yield from self._release(final=True)

    def _take(self, batch: list[Record]) -> list[Record]:
        """Put a batch into the window; return its records that are too late for it."""
        self._merger._count(len(batch))
        late: list[Record] = []
        floor = self._released_until
        heap = self._heap
        arrival = self._arrivals
        push = heappush
        newest = self._max_seen
        if self.tag_begins:
            kinds = list(map(_kind_of, batch))
            if _BEGIN in kinds:
                begins = [i for i, kind in enumerate(kinds) if kind == _BEGIN]
                batch = self._tag_begins(batch, begins)
            else:
                self._shown(batch, _PROC in kinds)
        for record in batch:
            ts = record.timestamp_ns
            if floor is not None and ts < floor:
                late.append(record)
                continue
            push(heap, (ts, arrival, record))
            arrival += 1
            if newest is None or ts > newest:
                newest = ts
        self._arrivals = arrival
        self._max_seen = newest
        return late

    def _shown(self, records: list[Record], procs: bool | None = None) -> None:
        """The pids of ``records`` (and of the children their PROC records name) are
        this input's; those another input of another boot has shown are noted.
        ``procs``: whether ``records`` hold a PROC record, if known."""
        fresh = set(map(_pid_of, records))
        if procs if procs is not None else _PROC in map(_kind_of, records):
            fresh.update(getattr(record[6], "child", 0) for record in records
                         if record[0] == _PROC and getattr(record[6], "event", 0) in _BIRTHS)
        fresh -= self._pids
        fresh.discard(0)  # the recorder's own records (BEGIN, DROP, END)
        if not fresh:
            return
        self._pids |= fresh
        for other in self._merger._foreign(self):
            for pid in fresh & other._pids:
                self._merger._share(pid, other.name, self.name)

    def _tag_begins(self, batch: list[Record], begins: list[int]) -> list[Record]:
        """``batch`` with its BEGIN records as ``InputBegin`` (rare: one per recording)."""
        batch = list(batch)
        start = 0
        for index in begins:
            self._shown(batch[start:index])
            begin = InputBegin._make(batch[index])
            begin._own = frozenset(self._pids)
            begin._merger, begin._origin = self._merger, self
            batch[index] = begin
            start = index
        self._shown(batch[start:])
        return batch

    def _release(self, final: bool, notices: bool = False,
                 ) -> Iterator[tuple[list[Record], list[int]] | _Placed]:
        """What may leave the window: records a window older than the newest, or too
        many (``notices``: up to the last notice held, too); runs of records, and the
        notices between them in their places."""
        heap = self._heap
        if not heap:
            return
        records: list[Record] = []
        stamps: list[int] = []
        pop = heappop
        threshold = 0
        excess = 0
        if not final:
            threshold = (-1 if self._max_seen is None
                         else self._max_seen - self._options.window_ns)
            excess = len(heap) - self._options.window_records
        while heap and (final or excess > 0 or heap[0][0] <= threshold
                        or (notices and self._notices)):
            ts, _, item = pop(heap)
            if isinstance(item, SourcedSkipped):
                self._notices -= 1
                if records:
                    self._released_until = stamps[-1]
                    yield records, stamps
                    records, stamps = [], []
                yield _Placed(ts, item)
                continue
            records.append(item)
            stamps.append(ts)
            excess -= 1
        if records:
            self._released_until = stamps[-1]
            yield records, stamps


class Merger:
    """The merge of several inputs; iterate it for ``MergeEvent``s (see the module docstring)."""

    def __init__(
        self,
        inputs: Sequence[tuple[str, Iterable[list[Record] | Skipped | Pause]]],
        options: MergeOptions | None = None,
        recorders: Sequence[Recorder | None] | None = None,
    ) -> None:
        """``recorders``: per input, where its pids mean something (``recorder_of``);
        None (or not given): not known, so not the same as any other input's."""
        self.options = options or MergeOptions()
        known = list(recorders or ())
        known += [None] * (len(inputs) - len(known))
        self._inputs = [_Input(i, name, iter(events), self.options, self, known[i])
                        for i, (name, events) in enumerate(inputs)]
        if len(self._inputs) == 1:
            self._inputs[0].tag_begins = False
        #: pid -> the first two inputs of other boots (or pid namespaces) showing it
        self.shared_pids: dict[int, tuple[str, str]] = {}
        self.shared_count = 0  # pids so shared, all of them (``shared_pids`` keeps the first)
        self.held = 0  # records read from the inputs and not yet passed on
        self.peak_held = 0
        self.records = 0  # records passed on

    @property
    def late(self) -> int:
        return sum(source.late for source in self._inputs)

    def _foreign(self, source: _Input) -> list[_Input]:
        """The other inputs whose pids may be other processes than ``source``'s."""
        return [other for other in self._inputs if other is not source and (
            source.recorder is None or other.recorder != source.recorder)]

    def _share(self, pid: int, first: str, second: str) -> None:
        if pid in self.shared_pids:
            return
        self.shared_count += 1
        if len(self.shared_pids) < MAX_SHARED_PIDS:
            self.shared_pids[pid] = (first, second)

    def shared_pids_text(self) -> str | None:
        """One line for standard error when inputs of other boots or pid namespaces (or
        not known to be the same) show the same pid; None otherwise."""
        if not self.shared_pids:
            return None
        pid, (first, second) = next(iter(self.shared_pids.items()))
        more = self.shared_count - 1
        also = f" (and {more} other pid{'' if more == 1 else 's'})" if more else ""
        return (f"{first} and {second} both show pid {pid}{also}, not known to be one "
                "boot's and pid namespace's: the views do not tell their processes apart "
                "(calls, -y names, per-thread files); dump the inputs one at a time")

    def _count(self, records: int) -> None:
        self.held += records
        if self.held > self.peak_held:
            self.peak_held = self.held

    def __iter__(self) -> Iterator[MergeEvent]:
        batch_records = self.options.batch_records
        out: list[Record] = []
        notices: list[SourcedSkipped | Late] = []
        streams = [source.chunks() for source in self._inputs]
        # Per input: its current ordered chunk and the chunk's timestamps.
        chunks: list[list[Record]] = [[] for _ in streams]
        stamps: list[list[int]] = [[] for _ in streams]
        late_chunk = [False] * len(streams)
        placed: list[SourcedSkipped | None] = [None] * len(streams)  # a notice's turn
        showing: list[int] = []  # inputs that paused: what is ready goes out first
        # (next timestamp, input index, position in its chunk) of every input not ended:
        # the smallest is the record to pass on next (ties: input order).
        heads: list[tuple[int, int, int]] = []

        def advance(index: int) -> None:
            """Load input ``index``'s next chunk (collecting notices) and queue its head."""
            for item in streams[index]:
                if isinstance(item, _Show):  # no head queued: read on once ``out`` is out
                    showing.append(index)
                    return
                if isinstance(item, _Placed):  # queued at its time, as a record is
                    placed[index] = item.notice
                    chunks[index], stamps[index] = [], [item.ts]
                    heappush(heads, (item.ts, index, 0))
                    return
                if isinstance(item, Late):
                    notices.append(item)
                    late_chunk[index] = True
                else:
                    chunks[index], stamps[index] = item
                    heappush(heads, (stamps[index][0], index, 0))
                    return

        for index in range(len(streams)):
            advance(index)
        pop, push = heappop, heappush
        while True:
            if notices:
                if out:  # the records read before a notice go first
                    self.records += len(out)
                    yield out
                    out = []
                yield from notices
                notices.clear()
            if showing:
                if out:
                    self.records += len(out)
                    yield out
                    out = []
                advance(showing.pop())
                continue
            if not heads:
                break
            _, best, start = pop(heads)
            notice = placed[best]
            if notice is not None:  # its turn: the records before it go first
                placed[best] = None
                if out:
                    self.records += len(out)
                    yield out
                    out = []
                yield notice
                advance(best)
                continue
            chunk = chunks[best]
            if late_chunk[best]:  # announced out-of-order records: all at once
                late_chunk[best] = False
                stop = len(chunk)
            elif not heads:
                stop = len(chunk)
            else:
                # Every record before the next-earliest input's next one may go.
                limit_ts, limit_index, _ = heads[0]
                if best < limit_index:
                    stop = bisect_right(stamps[best], limit_ts, start)
                else:
                    stop = bisect_left(stamps[best], limit_ts, start + 1)
            out.extend(chunk[start:stop])
            self.held -= stop - start
            if stop >= len(chunk):
                advance(best)
            else:
                push(heads, (stamps[best][stop], best, stop))
            if len(out) >= batch_records:
                self.records += len(out)
                yield out
                out = []
        if out:
            self.records += len(out)
            yield out


def merge(readers: Sequence[TraceReader], options: MergeOptions | None = None) -> Merger:
    """Merge open readers (each read through ``events()``); iterate the result."""
    return Merger([(reader.name, reader.events()) for reader in readers], options,
                  [recorder_of(reader.header) for reader in readers])


def recorder_of(header: object) -> Recorder | None:
    """A file header's recorder identity, (boot_id, pid_namespace); None when it does
    not say both (an older recorder, a damaged header read past)."""
    options = getattr(header, "options", None)
    recorder = options.get("recorder") if isinstance(options, Mapping) else None
    if not isinstance(recorder, Mapping):
        return None
    boot, namespace = recorder.get("boot_id"), recorder.get("pid_namespace")
    if isinstance(boot, str) and isinstance(namespace, int) and not isinstance(namespace, bool):
        return boot, namespace
    return None
