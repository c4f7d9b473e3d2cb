"""The trace descriptor: ktrace's ``ktr_desc``, a bounded queue and its writer thread.

One ``Descriptor`` per output. Producers (the threads that build records)
append encoded records with ``add_entry``; one writer thread takes the whole
queue at once and writes it as one batch, or as several when its records
exceed SPEC's batch cap (``formats.MAX_BATCH_BYTES``), so the file never holds
a batch a reader rejects. The semantics are ktrace's
(``ktraddentry``, ``ktrace_thread``, ``ktrwrite``, ``ktd_lookup``):

* The queue is bounded twice: by records (``maxentry``) and by the bytes of
  the records it holds (``maxbytes``), so that large records (``-s``) cannot
  fill memory before the record bound is reached. Every mark below applies to
  both counts, whichever is passed first.
* A record is dropped, and counted under ENOSPC, when the queue already holds
  more than ``maxentry`` records or ``maxbytes`` bytes (a record is never too
  large for an empty queue: memory stays within ``maxbytes`` plus one record).
* Past half of ``maxentry`` or of ``maxbytes`` (or while another producer
  waits) a producer wakes the writer and waits until it has emptied the queue. This holds the traced
  thread, so a fast tracee cannot outrun the disk. A wait longer than
  ``timeout_s`` turns the descriptor BLOCKING: from then on producers do not
  wait and overflow is dropped and counted, until the writer catches up and
  empties the queue.
* Otherwise the writer is woken at once past ``delayqcnt`` records or a
  quarter of ``maxbytes`` bytes (ktrace's delayed wakeup, in bytes too), or after
  ``wakedelay_ms`` (``intrwakdl_ms`` for a pipe or terminal) -- a deadline the
  sleeping writer waits until, not a timer per batch.
* Drop counts (ENOSPC from the queue, ENOMEM from ``log_error``) are taken with
  the queue and written as DROP records where the losses began: after the
  records that were queued before the first, with its time. A
  record longer than the batch cap (none is, with ``-s`` within its maximum)
  is left out and counted under ENOMEM.
* A write error stops the descriptor: queued records are discarded (counted),
  later ``add_entry`` calls return False (counted as refused), waiting
  producers are released and each owner's ``on_write_error`` is called once,
  from the writer thread (registered before the writer starts, so even a
  failure of the very first write, BEGIN's, reaches its owner; an owner that
  shares a descriptor which fails as it joins is called from its own thread).
* Opening an output that is the same file (same st_dev/st_ino: the same
  regular file, FIFO, pipe or terminal) as an open descriptor shares it: one
  header, one queue, one writer, one more reference. The last ``release``
  writes everything queued and every pending drop, stops the writer and closes
  the file (stdout is never closed).
* ``add_end`` queues a recording's END record past the bound (one record: an
  END is never dropped), to be written after every record queued before it.
* A recording's BEGIN record (``open_descriptor``'s ``begin``) is the first
  record the descriptor writes, and it is written at once, alone in its batch,
  not at the first delayed wakeup: a reader following the file sees that a
  recording has started (an appended one, too) as soon as the output is open.
  A recording that shares an open descriptor writes no BEGIN of its own.

Deviation from ktrace, on purpose: ktrace skips scheduling the writer's wakeup
while BLOCKING (the writer is known to be busy); here scheduling still happens,
which costs nothing when the writer is busy and means a record can never be
left waiting for a wakeup nobody will give.

Does not: build records (callers pass fully encoded records), decide which
processes to detach on a write error (the owner does, in its callback), or
guarantee anything about records added after the last release (refused).
"""

from __future__ import annotations

import atexit
import bisect
import contextlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, NamedTuple

import formats
from formats import DropError

from . import _output
from ._clock import TraceClock
from .errors import IncompatibleOutput, OutputError, UsageError

if TYPE_CHECKING:
    import zstandard

# ktd_flags
_WAIT: Final = 0x1  # a producer waits for the writer to empty the queue
_DONE: Final = 0x2  # no more records: last reference gone, or the output failed
_BLOCKING: Final = 0x4  # a producer's wait timed out; producers no longer wait

# What the slow path of add_entry did with a record.
_DROPPED: Final = 0
_QUEUED: Final = 1
_QUEUED_NOW_BLOCKING: Final = 2  # queued, and this producer's timeout turned BLOCKING on

_RECORDER_COMM: Final = b"ktr"  # the recorder's own records: DROP, BEGIN, END
_ZSTD_LEVEL: Final = 3


#: Inclusive ranges of the queue tunables: outside them a value is a mistake
#: (an hour-long wait, a million queued records), not a wish.
MAXENTRY_RANGE: Final = (1, 1_000_000)
MAXBYTES_RANGE: Final = (1 << 16, 1 << 32)
DELAYQCNT_RANGE: Final = (0, 1_000_000)
TIMEOUT_S_RANGE: Final = (0.001, 3600)
DELAY_MS_RANGE: Final = (0.001, 3_600_000)
#: What the default queue may hold, in record bytes, before producers wait
#: (half the default ``maxbytes``).
QUEUE_HALF_BYTES: Final = 16 << 20


@dataclass(frozen=True)
class QueueParameters:
    """ktrace's tunables, with its names (ranges: the *_RANGE constants).

    The defaults are ktrace's, except the two that set how often the writer
    wakes: ktrace's ``maxentry`` 1000 and ``delayqcnt`` 100 are sized for a
    kernel thread, whose wakeup costs a few microseconds. Here each wakeup of
    the writer thread costs the tracer a few hundred microseconds of GIL
    handoffs, so the writer takes 2000 records at a time (and the bound
    grows with it, keeping ``delayqcnt`` below half of ``maxentry``, where
    producers would start waiting). ``--queue-max 1000 --delay-count 100``
    gives ktrace's.

    ``wakedelay_ms`` is how long a record may wait in memory before a file
    gets it: whatever is queued is lost if the recorder is SIGKILLed, so it
    is 1 s (ktrace: 5 s). A busy recording is not slowed by it: its queue
    reaches ``delayqcnt`` first and its batches stay full; a quiet one writes
    one batch a second (with ``-z``, about 5 % less compression than 5 s).

    ``maxbytes`` has no ktrace counterpart (a kernel queue of pointers costs
    little per entry; here each entry holds its data): the same bound in
    record bytes. Half of it makes producers wait, a quarter wakes the writer.
    """

    maxentry: int = 8000  # queue bound; past it a record is dropped (ENOSPC)
    timeout_s: float = 5.0  # longest a producer waits before the descriptor turns BLOCKING
    delayqcnt: int = 2000  # queue length that wakes the writer at once
    wakedelay_ms: float = 1000  # delayed wakeup otherwise (``--flush-interval``)
    intrwakdl_ms: float = 100  # the same when the output is interactive (pipe or tty)
    maxbytes: int = 2 * QUEUE_HALF_BYTES  # the bound in queued record bytes

    @staticmethod
    def sized_for(largest_record: int) -> tuple[int, int]:
        """Default (maxentry, delayqcnt) for records of up to ``largest_record`` bytes.

        With large records (``-s``) the defaults shrink so that half the
        queue, where producers start to wait, holds at most
        ``QUEUE_HALF_BYTES``; never below ktrace's maxentry of 1000 (past that
        floor ``maxbytes`` is what bounds the queue). ``delayqcnt`` is a
        quarter of ``maxentry``.
        """
        maxentry = 2 * QUEUE_HALF_BYTES // max(largest_record, 1)
        maxentry = max(1000, min(QueueParameters.maxentry, maxentry))
        return maxentry, maxentry // 4

    def __post_init__(self) -> None:
        for name, (low, high) in (("maxentry", MAXENTRY_RANGE), ("delayqcnt", DELAYQCNT_RANGE),
                                  ("maxbytes", MAXBYTES_RANGE),
                                  ("timeout_s", TIMEOUT_S_RANGE),
                                  ("wakedelay_ms", DELAY_MS_RANGE),
                                  ("intrwakdl_ms", DELAY_MS_RANGE)):
            value = getattr(self, name)
            # "not low <= value" also refuses NaN.
            if not (isinstance(value, int | float) and low <= value <= high):
                raise UsageError(f"{name} must be from {low} to {high}, not {value!r}")


@dataclass(frozen=True)
class OutputOptions:
    path: str  # "-" means stdout
    append: bool = False  # ktrace -a
    compress: bool = False  # zstd batches
    parameters: QueueParameters = QueueParameters()
    named: bool = True  # False: the default output name (then only a regular file will do)
    #: A queue taken at once is split into batches of at most this many record
    #: bytes (SPEC's cap; smaller only in tests).
    max_batch_bytes: int = formats.MAX_BATCH_BYTES
    #: The recording's trace clock: BEGIN, DROP and END are stamped with it (a
    #: descriptor opened without one measures its own).
    clock: TraceClock | None = None
    #: How the open of a FIFO that no reader has open yet waits for one
    #: (``_output.ReaderWait``: the recorder's signals can end the wait); None: it blocks.
    wait_for_reader: _output.ReaderWait | None = field(default=None, compare=False)


class DescriptorStats(NamedTuple):
    """A consistent snapshot of one descriptor's counters."""

    records_enqueued: int  # accepted by add_entry
    records_written: int  # of those, written to the output (DROP records not included)
    records_discarded: int  # accepted but thrown away because the output failed (not BEGIN)
    records_refused: int  # offered after the output failed (add_entry gave False)
    bytes_written: int  # batch bytes, header not included
    batches_written: int
    drops: Mapping[DropError, int]  # records lost, by reason (counted when lost)
    drops_written: int  # of those, reported in DROP records already written
    blocking: bool  # BLOCKING now: producers do not wait, overflow is dropped
    timeouts: int  # producer waits that ran out (each turned or kept BLOCKING on)
    failure: OutputError | None  # why the output stopped, if it did
    references: int
    begin_lost: bool = False  # the output failed before this descriptor's BEGIN was written


ErrorCallback = Callable[[OutputError], None]
BlockingCallback = Callable[[], None]


class Descriptor:
    """One output's queue and writer thread. Create with ``open_descriptor``."""

    __slots__ = (
        "_begin_lost",
        "_begin_pending",
        "_blocking_callbacks",
        "_clock",
        "_compression_errors",
        "_compressor",
        "_deadline",
        "_delay_bytes",
        "_delay_s",
        "_delayqcnt",
        "_drop_totals",
        "_drops_began",
        "_drops_written",
        "_error_callbacks",
        "_failure",
        "_flags",
        "_framing",
        "_half",
        "_half_bytes",
        "_identity",
        "_lock",
        "_max_batch_bytes",
        "_maxbytes",
        "_maxentry",
        "_output",
        "_pending_drops",
        "_placed_drops",
        "_queue",
        "_queued_bytes",
        "_quiet",
        "_quiet_bytes",
        "_references",
        "_registry",
        "_stats_batches",
        "_stats_bytes",
        "_stats_discarded",
        "_stats_refused",
        "_stats_taken",
        "_stats_timeouts",
        "_stats_written",
        "_sync_cv",
        "_thread",
        "_timeout_s",
        "_wake_now",
        "_writer_asleep",
        "_writer_cv",
        "_written_cv",
        "byte_order",
        "compress",
        "interactive",
        "major",
        "notice",
        "parameters",
        "path",
    )

    def __init__(self, output: _output.Output, options: OutputOptions,
                 header: formats.FileHeader, registry: _Registry,
                 begin: formats.Begin | None = None,
                 on_write_error: ErrorCallback | None = None,
                 on_blocking: BlockingCallback | None = None) -> None:
        parameters = options.parameters
        self.path = output.path
        self.interactive = output.interactive
        self.notice = output.notice  # one line for the user (-a made the file private)
        self.parameters = parameters
        self.compress = options.compress
        self.byte_order: formats.ByteOrder = header.byte_order
        self.major = header.major
        self._output = output
        self._identity = output.identity
        self._registry = registry
        self._framing = formats.batch_framing(header.byte_order)
        self._compressor: zstandard.ZstdCompressor | None = None
        # What compressing can raise besides OSError (nothing without -z).
        self._compression_errors: tuple[type[Exception], ...] = ()
        if options.compress:
            import zstandard  # only with -z: it is a few ms of every start-up

            self._compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
            self._compression_errors = (zstandard.ZstdError,)
        self._max_batch_bytes = min(options.max_batch_bytes, formats.MAX_BATCH_BYTES)
        # (a shared descriptor keeps its opener's: the clocks of recordings in one
        # process differ by the tens of ns between their offsets' measurements)
        self._clock = options.clock if options.clock is not None else TraceClock()

        self._maxentry = parameters.maxentry
        self._half = parameters.maxentry >> 1
        self._delayqcnt = parameters.delayqcnt
        self._maxbytes = parameters.maxbytes
        self._half_bytes = parameters.maxbytes >> 1
        self._delay_bytes = parameters.maxbytes >> 2
        self._delay_s = (parameters.intrwakdl_ms if output.interactive
                         else parameters.wakedelay_ms) / 1000.0
        self._timeout_s = parameters.timeout_s

        # Everything below is guarded by _lock (ktrace's ktrace_lock, per descriptor).
        self._lock = threading.Lock()
        self._writer_cv = threading.Condition(self._lock)  # ktd_cv: wakes the writer
        self._sync_cv = threading.Condition(self._lock)  # ktd_sync_cv: releases producers
        self._written_cv = threading.Condition(self._lock)  # for wait_written
        self._queue: list[bytes] = []
        self._queued_bytes = 0  # the sum of the queued records' lengths
        self._flags = 0
        self._references = 1
        self._pending_drops: dict[DropError, int] = {}  # ktd_error/ktd_errcnt, per kind
        # where the pending drops began: the queue's length then, and the time
        self._drops_began = (0, 0)
        # losses whose time the source knows: (queue position, time, reason, count)
        #: (queue position, trace time, reason, count, the CPU whose ring lost them)
        self._placed_drops: list[tuple[int, int, DropError, int, int | None]] = []
        self._drop_totals: dict[DropError, int] = {kind: 0 for kind in DropError}
        self._drops_written = 0
        self._deadline: float | None = None  # the pending delayed wakeup (ktd_wakch)
        self._writer_asleep = True  # see _writer_loop
        self._wake_now = False  # the sleeping writer has been told to take the queue
        # add_entry's fast path: a queue shorter than _quiet records that stays
        # within _quiet_bytes with the record takes it and nothing else needs
        # doing (no drop, no sync, no wakeup to schedule).
        self._quiet = 0
        self._quiet_bytes = 0
        self._failure: OutputError | None = None
        # Registered before the writer starts: its first write (BEGIN, at once)
        # can fail before the constructor returns (a reader that already left),
        # and a failure with no owner to tell would stop nobody's tracing.
        self._error_callbacks: list[ErrorCallback] = (
            [on_write_error] if on_write_error is not None else [])
        self._blocking_callbacks: list[BlockingCallback] = (
            [on_blocking] if on_blocking is not None else [])
        self._stats_taken = 0
        self._stats_written = 0
        self._stats_discarded = 0
        self._stats_refused = 0
        self._stats_bytes = 0
        self._stats_batches = 0
        self._stats_timeouts = 0
        # The BEGIN queued and not yet written; lost with the output: the summary
        # says so apart from the records (_stats_discarded leaves it out).
        self._begin_pending = begin is not None
        self._begin_lost = False
        if begin is not None:
            # Before any producer can queue: the first record. The writer, which
            # starts asleep, takes it at once (a follower waits on it, not on 5 s).
            record = formats.codec(self.byte_order).encode_record(
                formats.RecordKind.BEGIN, 0, 0, self._clock.now_ns(), _RECORDER_COMM, begin)
            self._queue.append(record)
            self._queued_bytes = len(record)
            self._wake_now = True

        self._thread = threading.Thread(target=self._run_writer, daemon=True,
                                        name=f"ktr writer {_output.describe_path(self.path)}")
        self._thread.start()

    # -- producers ------------------------------------------------------

    def add_entry(self, record: bytes) -> bool:
        """Queue one encoded record (``ktraddentry`` with KTA_WAITOK).

        May wait for the writer (see the module docstring). Returns False when
        the record was dropped: queue full (counted as ENOSPC), or the
        descriptor is done (released or failed).
        """
        with self._lock:
            queue = self._queue
            queued_bytes = self._queued_bytes + len(record)
            if len(queue) < self._quiet and queued_bytes <= self._quiet_bytes:
                queue.append(record)
                self._queued_bytes = queued_bytes
                return True
            outcome = self._add_slow(record)
        if outcome == _QUEUED_NOW_BLOCKING:
            for callback in tuple(self._blocking_callbacks):
                callback()
            return True
        return outcome == _QUEUED

    def add_entries(self, records: list[bytes]) -> int:
        """Queue several records, in order, with ``add_entry``'s semantics for
        each (a source draining a kernel ring in bulk); how many were queued.
        Those that fit below the quiet mark take the lock once together."""
        done = 0
        with self._lock:
            queue = self._queue
            room = self._quiet - len(queue)
            if room > 0:
                quiet = records if room >= len(records) else records[:room]
                # (the length of the records joined: half the instructions of
                # sum(map(len, ...)), whose Python-level iteration costs more
                # than copying a few kilobytes)
                total = self._queued_bytes + len(b"".join(quiet))
                if total <= self._quiet_bytes:  # the usual case: all of them
                    done = len(quiet)
                    self._queued_bytes = total
                else:  # those that stay within the byte mark
                    totals = list(itertools.accumulate(map(len, quiet),
                                                       initial=self._queued_bytes))
                    done = bisect.bisect_right(totals, self._quiet_bytes, lo=1) - 1
                    quiet = quiet[:done]
                    self._queued_bytes = totals[done]
                queue.extend(quiet)
        for record in records[done:]:
            done += self.add_entry(record)
        return done

    def add_end(self, end: formats.End, at_ns: int | None = None) -> bool:
        """Queue the END record of a recording that has made its last record,
        stamped ``at_ns`` (that recording's trace clock; default: the descriptor's).

        Past the queue's bound: the bound holds fast producers back, and a lost END
        would make a complete trace look cut short. False when the descriptor is
        done (released or failed): then no END can be written.
        """
        record = formats.codec(self.byte_order).encode_record(
            formats.RecordKind.END, 0, 0,
            self._clock.now_ns() if at_ns is None else at_ns, _RECORDER_COMM, end)
        with self._lock:
            if self._flags & _DONE:
                return False
            self._queue.append(record)
            self._queued_bytes += len(record)
            return True

    def _add_slow(self, record: bytes) -> int:
        flags = self._flags
        if flags & _DONE:
            if self._failure is not None:
                self._stats_refused += 1  # lost to the failure: the summary says so
            return _DROPPED
        queue = self._queue
        if len(queue) > self._maxentry or self._queued_bytes > self._maxbytes:
            self._count_drop(DropError.ENOSPC)
            return _DROPPED
        queue.append(record)
        qcount = len(queue)
        self._queued_bytes += len(record)
        qbytes = self._queued_bytes
        if not flags & _BLOCKING and (flags & _WAIT or qcount > self._half
                                      or qbytes > self._half_bytes):
            return self._sync()
        if qcount > self._delayqcnt or qbytes > self._delay_bytes:
            self._wake_writer()
        elif self._deadline is None:
            # ktrace's callout: the writer itself sleeps until this deadline.
            self._deadline = time.monotonic() + self._delay_s
            if self._writer_asleep and not self._wake_now:
                self._writer_cv.notify()  # it sleeps without a deadline; give it one
        self._set_quiet()
        return _QUEUED

    def _sync(self) -> int:
        """Wait until the writer has emptied the queue, at most ``timeout_s``."""
        give_up = time.monotonic() + self._timeout_s
        while True:
            self._flags |= _WAIT
            self._wake_writer()
            remaining = give_up - time.monotonic()
            released = remaining > 0 and self._sync_cv.wait(remaining)
            if self._flags & (_WAIT | _DONE) != _WAIT:
                break  # drained (WAIT cleared), or done
            if not released:
                # The writer is stuck (a full disk on NFS, a reader that stopped
                # reading): do not hold the traced program forever.
                self._stats_timeouts += 1
                newly = not self._flags & _BLOCKING
                self._flags |= _BLOCKING
                self._set_quiet()
                return _QUEUED_NOW_BLOCKING if newly else _QUEUED
        self._set_quiet()
        return _QUEUED if self._failure is None else _DROPPED

    def _wake_writer(self) -> None:
        """``ktd_wakeup``: cancel the delayed wakeup and wake the writer now."""
        self._deadline = None
        if self._writer_asleep and not self._wake_now:
            # A writer that is awake will look at the queue before it sleeps
            # again; notifying it would only cost a lock round trip per record.
            self._wake_now = True
            self._writer_cv.notify()
        self._set_quiet()

    def _set_quiet(self) -> None:
        flags = self._flags
        quiet_bytes = 0
        if flags & (_DONE | _WAIT):
            quiet = 0
        else:
            # Below this length (and within these bytes, the record counted)
            # a record needs neither a drop nor a sync.
            if flags & _BLOCKING:
                limit, limit_bytes = self._maxentry + 1, self._maxbytes
            else:
                limit, limit_bytes = self._half, self._half_bytes
            if not self._writer_asleep or self._wake_now:
                quiet, quiet_bytes = limit, limit_bytes
            elif self._deadline is not None:
                quiet = min(limit, self._delayqcnt)
                quiet_bytes = min(limit_bytes, self._delay_bytes)
            else:
                quiet = 0  # the next record arms the delayed wakeup
        self._quiet = quiet
        self._quiet_bytes = quiet_bytes

    def log_error(self, error: DropError) -> None:
        """Count a record that could not be built (``ktd_logerrl``)."""
        with self._lock:
            self._count_drop(DropError(error))

    def log_lost(self, error: DropError, count: int, at_ns: int | None = None,
                 cpu: int | None = None) -> None:
        """Count ``count`` records lost before they reached the queue (a
        source's own losses, e.g. a kernel ring's); written as DROP.

        With ``at_ns`` (the trace time of the loss, e.g. a PERF_RECORD_LOST's), the DROP
        is written on its own, after the records queued so far and stamped ``at_ns``: a
        reader sees it where the gap is, not merged into the queue's other losses; it
        names ``cpu``, the CPU whose ring lost them, when given."""
        if count > 0:
            with self._lock:
                if at_ns is None:
                    self._count_drop(DropError(error), count)
                else:
                    self._placed_drops.append((len(self._queue), at_ns, DropError(error), count,
                                               cpu))
                    self._drop_totals[DropError(error)] += count

    def _count_drop(self, error: DropError, count: int = 1) -> None:
        if not self._pending_drops:
            self._drops_began = (len(self._queue), self._clock.now_ns())
        self._pending_drops[error] = self._pending_drops.get(error, 0) + count
        self._drop_totals[error] += count

    # -- references -----------------------------------------------------

    def reference(self) -> None:
        """One more owner (``ktdref``)."""
        with self._lock:
            if self._references <= 0:
                raise RuntimeError(f"trace descriptor for {self.path} is already closed")
            self._references += 1

    def release(self) -> None:
        """Drop one reference (``ktdrel``); the last one flushes and closes.

        The last release waits until the writer has written every queued record
        and pending drop (or the output failed) and the file is closed. Called
        from the writer thread itself (from an ``on_write_error`` callback), it
        does not wait: the writer finishes on its own.
        """
        if self._registry.release(self) and threading.current_thread() is not self._thread:
            self._thread.join()

    def _drop_reference(self) -> bool:
        """Called by the registry with its lock held; True if this was the last."""
        with self._lock:
            if self._references <= 0:
                raise RuntimeError(f"trace descriptor for {self.path} released too often")
            self._references -= 1
            if self._references > 0:
                return False
            self._flags |= _DONE
            self._set_quiet()
            self._wake_writer()
            self._writer_cv.notify()  # a failed writer waits for this without wake_now
            self._sync_cv.notify_all()
            return True

    def _usable(self) -> bool:
        with self._lock:
            return not self._flags & _DONE

    def _add_callbacks(self, on_write_error: ErrorCallback | None,
                       on_blocking: BlockingCallback | None) -> None:
        """A sharing owner's callbacks. If the output failed meanwhile (after
        ``_usable`` said yes), ``on_write_error`` is called at once, here: the
        writer has already told the owners it knew of."""
        with self._lock:
            failure = self._failure
            if on_write_error is not None and failure is None:
                self._error_callbacks.append(on_write_error)
            if on_blocking is not None:
                self._blocking_callbacks.append(on_blocking)
        if failure is not None and on_write_error is not None:
            on_write_error(failure)

    # -- observers ------------------------------------------------------

    @property
    def stats(self) -> DescriptorStats:
        with self._lock:
            return DescriptorStats(
                records_enqueued=self._stats_taken + len(self._queue),
                records_written=self._stats_written,
                records_discarded=self._stats_discarded,
                records_refused=self._stats_refused,
                bytes_written=self._stats_bytes,
                batches_written=self._stats_batches,
                drops=MappingProxyType(dict(self._drop_totals)),
                drops_written=self._drops_written,
                blocking=bool(self._flags & _BLOCKING),
                timeouts=self._stats_timeouts,
                failure=self._failure,
                references=self._references,
                begin_lost=self._begin_lost,
            )

    def wait_written(self, records: int, timeout: float | None = None) -> bool:
        """Wait until ``records`` records in all have been written (or the output failed).

        Does not wake the writer: it observes the queue's own schedule. True if
        that many were written.
        """
        with self._written_cv:
            self._written_cv.wait_for(
                lambda: self._stats_written >= records or self._failure is not None
                or not self._thread.is_alive(),
                timeout,
            )
            return self._stats_written >= records

    # -- the writer thread ----------------------------------------------

    def _run_writer(self) -> None:
        """``ktrace_thread``: take the whole queue, write it, repeat; exit at zero refs."""
        _output.block_sigpipe_in_this_thread()
        try:
            self._writer_loop()
        except Exception as error:
            # A bug, not an output error; still, never leave producers waiting
            # or owners uninformed. The traceback goes to threading.excepthook.
            with self._lock:
                if self._failure is None:
                    self._fail(OutputError(
                        f"trace writer for {_output.describe_path(self.path)} stopped: "
                        f"{type(error).__name__}: {error}", self.path))
            raise
        finally:
            with self._lock:
                self._flags |= _DONE
                self._set_quiet()
                self._sync_cv.notify_all()
                self._written_cv.notify_all()
            if self._output.owns_fd:
                try:
                    os.close(self._output.fd)
                except OSError as error:
                    # NFS reports a failed write-back at close: data was lost.
                    with self._lock:
                        if self._failure is None:
                            self._failure = _output.output_error(self.path, error)

    def _writer_loop(self) -> None:
        lock = self._lock
        lock.acquire()
        try:
            # Start asleep: records queued before this thread first runs still
            # wait for their wakeup, exactly as if it had been waiting already.
            self._sleep()
            while True:
                if self._queue or self._pending_drops or self._placed_drops:
                    batch = self._queue
                    self._queue = []
                    self._queued_bytes = 0
                    drops = self._pending_drops
                    self._pending_drops = {}
                    drops_began = self._drops_began
                    placed = self._placed_drops
                    self._placed_drops = []
                    self._stats_taken += len(batch)
                    self._deadline = None
                    self._set_quiet()
                    lock.release()
                    try:
                        size, batches, refused, error = self._write_batch(batch, drops, drops_began,
                                                                          placed)
                    finally:
                        lock.acquire()
                    if error is None:
                        self._begin_pending = False  # (always in the first batch)
                        self._stats_written += len(batch) - refused
                        self._stats_bytes += size
                        self._stats_batches += batches
                        self._drops_written += (sum(drops.values())
                                                + sum(entry[3] for entry in placed))
                        for _ in range(refused):
                            # Too long for any batch a reader accepts: lost, and said so.
                            self._count_drop(DropError.ENOMEM)
                        self._written_cv.notify_all()
                        continue
                    lost = len(batch)
                    if self._begin_pending:  # the first batch failed: BEGIN was its first
                        self._begin_pending = False
                        self._begin_lost = True
                        lost -= 1
                    self._stats_discarded += lost
                    self._fail(error)
                    return
                if self._flags & _WAIT:
                    self._flags &= ~(_WAIT | _BLOCKING)
                    self._sync_cv.notify_all()
                if self._references <= 0:
                    return
                self._sleep()
        finally:
            lock.release()

    def _sleep(self) -> None:
        """Wait for a wakeup, or for the delayed wakeup's deadline."""
        self._writer_asleep = True
        self._set_quiet()
        while not (self._wake_now or self._flags & _DONE):
            deadline = self._deadline
            if deadline is None:
                self._writer_cv.wait()
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._writer_cv.wait(remaining)
        self._writer_asleep = False
        self._wake_now = False
        self._deadline = None
        self._set_quiet()

    def _write_batch(self, batch: list[bytes], drops: dict[DropError, int],
                     drops_began: tuple[int, int],
                     placed: list[tuple[int, int, DropError, int, int | None]],
                     ) -> tuple[int, int, int, OutputError | None]:
        """``ktrwrite``: the queue taken at once, as batches within SPEC's cap, with the
        DROP records where the losses began: after the records queued before the first
        one, stamped with its time; and each placed loss (``log_lost``'s ``at_ns``) as its
        own DROP after the records queued before it. Runs without the lock. Returns the
        bytes and batches written, the records too long for any batch (left out), and the
        error that stopped it."""
        size = 0
        try:
            if drops or placed:
                # (position, order, records): the records go in at their positions, the
                # placed ones in the order they were logged
                inserts = [(at, index, self._drop_records({error: count}, at_ns, cpu))
                           for index, (at, at_ns, error, count, cpu) in enumerate(placed)]
                if drops:
                    at, began_ns = drops_began
                    inserts.append((at, -1, self._drop_records(drops, began_ns)))
                merged: list[bytes] = []
                done = 0
                for at, _order, records in sorted(inserts, key=lambda item: item[:2]):
                    merged += batch[done:at]
                    merged += records
                    done = at
                merged += batch[done:]
                batch = merged
            framed, refused = self._framing.encode_batches(batch, self._compressor,
                                                           self._max_batch_bytes)
            fd = self._output.fd
            # Where the next batch starts, to cut a torn one off our own file: its
            # end, as only this writer appends to it (the flock), -a or not.
            whole_end = os.fstat(fd).st_size if self._output.own_regular_file else -1
            for data in framed:
                try:
                    _output.write_all(fd, data)
                except OSError:
                    if whole_end >= 0:
                        # Readers then see a recording cut short after a whole
                        # batch, not a damaged tail (shrinking works on a full disk).
                        with contextlib.suppress(OSError):
                            os.ftruncate(fd, whole_end)
                    raise
                size += len(data)
                if whole_end >= 0:
                    whole_end += len(data)
        except OSError as error:
            return size, 0, 0, _output.output_error(self.path, error)
        except self._compression_errors as error:
            return size, 0, 0, OutputError(
                f"cannot write trace to {_output.describe_path(self.path)}: "
                f"compression failed ({error})", self.path)
        return size, len(framed), refused, None

    def _drop_records(self, drops: Mapping[DropError, int], began_ns: int,
                      cpu: int | None = None) -> list[bytes]:
        encode = formats.codec(self.byte_order).encode_record
        return [
            encode(formats.RecordKind.DROP, 0, 0, began_ns, _RECORDER_COMM,
                   formats.Drop(int(kind), 0 if cpu is None else cpu + 1, count))
            for kind, count in sorted(drops.items())
        ]

    def _fail(self, error: OutputError) -> None:
        """Stop tracing into this output (ktrace's ``ktrderefall`` on write error).

        Called by the writer with the lock held; returns with it held.
        """
        self._failure = error
        self._stats_taken += len(self._queue)
        self._stats_discarded += len(self._queue)
        if self._begin_pending and self._queue:  # (a writer bug before its first batch)
            self._begin_pending = False
            self._begin_lost = True
            self._stats_discarded -= 1
        self._queue = []
        self._queued_bytes = 0
        self._flags = (self._flags | _DONE) & ~(_WAIT | _BLOCKING)
        self._set_quiet()
        self._sync_cv.notify_all()
        self._written_cv.notify_all()
        callbacks = tuple(self._error_callbacks)
        self._lock.release()
        try:
            for callback in callbacks:
                callback(error)
        finally:
            self._lock.acquire()
        # Keep the file open until the owners let go, as ktrace keeps ktd_fp.
        while self._references > 0:
            self._writer_cv.wait()


class _Registry:
    """``ktd_lookup``: the open descriptors, by the identity of their output.

    The one piece of process-wide state, as in ktrace (``ktdq``).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._descriptors: dict[tuple[int, int], Descriptor] = {}

    def open(self, options: OutputOptions, header: formats.FileHeader,
             on_write_error: ErrorCallback | None,
             on_blocking: BlockingCallback | None,
             begin: formats.Begin | None = None) -> Descriptor:
        fd, status, created = _output.open_fd(options.path, options.append, options.named,
                                             options.wait_for_reader)
        identity = (status.st_dev, status.st_ino)
        owns_fd = options.path != _output.STDOUT_PATH
        with self._lock:
            shared = self._descriptors.get(identity)
            if shared is not None and shared._usable():
                if owns_fd:
                    os.close(fd)
                if (shared.byte_order, shared.major) != (header.byte_order, header.major):
                    raise _incompatible_share(options.path, shared, header)
                shared.reference()
                shared._add_callbacks(on_write_error, on_blocking)
                return shared
            output = _output.prepare(fd, status, options.path, options.append, header,
                                     created=created)
            try:
                descriptor = Descriptor(output, options, header, self, begin,
                                        on_write_error, on_blocking)
            except BaseException:
                if output.owns_fd:
                    if created:
                        _output.discard_created(output.fd, status, options.path)
                    os.close(output.fd)
                raise
            self._descriptors[identity] = descriptor
            return descriptor

    def release(self, descriptor: Descriptor) -> bool:
        """Drop one reference; True if it was the last (the writer is finishing)."""
        with self._lock:
            last = descriptor._drop_reference()
            if last and self._descriptors.get(descriptor._identity) is descriptor:
                del self._descriptors[descriptor._identity]
            return last

    def close_all(self) -> None:
        """At interpreter exit: flush what owners forgot to release."""
        with self._lock:
            remaining = list(self._descriptors.values())
        for descriptor in remaining:
            while descriptor.stats.references > 0:
                descriptor.release()


def _incompatible_share(path: str, shared: Descriptor,
                        header: formats.FileHeader) -> OutputError:
    return IncompatibleOutput(
        f"cannot record into {_output.describe_path(path)}: another recording writes "
        f"{shared.byte_order}-endian format {shared.major}.x there, this one "
        f"{header.byte_order}-endian format {header.major}.x", path)


_REGISTRY = _Registry()
atexit.register(_REGISTRY.close_all)


def open_descriptor(options: OutputOptions, header: formats.FileHeader,
                    on_write_error: ErrorCallback | None = None,
                    *, on_blocking: BlockingCallback | None = None,
                    begin: formats.Begin | None = None) -> Descriptor:
    """Open (or share) the descriptor for ``options.path``; the caller owns one reference.

    A new output is created 0600 (or emptied, or checked for ``append``) and
    gets ``header``; an output an open descriptor already writes is shared,
    and then ``options``' compression and queue parameters are those of the
    first opener. ``on_write_error`` is called once, from the writer thread,
    if the output fails; ``on_blocking`` from a producer thread each time the
    descriptor turns BLOCKING. ``begin``: the recording's BEGIN record, written
    first and at once by a new descriptor (a shared one already wrote its
    opener's). Raises ``OutputError`` (one line) when the
    output cannot be opened or its header written, ``IncompatibleOutput`` when
    ``append`` meets a file that is not a trace this recording can extend.
    """
    return _REGISTRY.open(options, header, on_write_error, on_blocking, begin)


__all__ = [
    "Descriptor", "DescriptorStats", "OutputOptions", "QueueParameters", "open_descriptor",
]
