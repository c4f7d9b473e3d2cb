"""Recorder sources: each turns one kernel interface into records for one descriptor.

A recording runs one *ptrace source* (the control loop and the record builder:
it owns the targets, runs on the main thread and ends the recording) and any
number of *side sources* beside it (the perf source, the stack sampler;
probes join the same way). A recording of switches and samples alone (of a
started command or attached processes) runs no ptrace source: ``_perfattach``
owns the targets then, and the
side sources watch running threads by inheritance (``watch_running``) instead
of being told of stopped ones. Side sources are ``ThreadObserver``s of the control loop:
it tells them about every recorded thread while the thread is stopped (came
under control, exits, exec'd, gone), libpctx's init_lwp/fini_lwp callbacks.

Lifecycle of a side source, as ``record`` drives it:
``prepare()`` before any target exists (a KtrError here means the recording
does not start); observer calls; ``start(output)`` once the descriptor is open
(records may be written from then on, from any thread); ``stop()`` after the
control loop returned and before the descriptor is released (last records
written); ``close()`` releases resources without writing (setup failed).

Does not: decide how records are encoded (each source does), or order records
of different sources (each record has its timestamp, all on the one
``TraceClock`` the recorder makes and hands to every source). Side sources' modules
are imported when a recording asks for them: a syscall recording does not
load the perf, sampling or probe code.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

from collections.abc import Callable
from typing import NamedTuple, Protocol

from formats import DropError

from ._builder import BuilderOptions, RecordBuilder
from ._clock import TraceClock
from ._control import Consumer, Control, ControlOptions, RunResult
from ._control._dispatch import FLUSH_EVERY
from ._events import ThreadObserver
from ._options import RecordOptions

#: The longest a side source leaves records in its perf rings before it drains them
#: (the perf source's interval; the sampler and the probes drain more often): the
#: file header says it (``"drain_interval_ms"``), for readers that reorder.
MAX_DRAIN_INTERVAL_MS = 200
#: Record bytes the ptrace source holds before it queues them (with a large
#: ``-s``): the queue's byte bound only counts records once they are queued.
HELD_BYTES = 4 << 20


class LogLost(Protocol):
    """Counts records a source lost before they reached the queue (``Descriptor.log_lost``):
    with ``at_ns``, the trace time of the loss, its DROP stands there among the records;
    ``cpu``: the CPU whose perf ring lost them."""

    def __call__(self, error: DropError, count: int, at_ns: int | None = None,
                 cpu: int | None = None) -> None: ...


class SourceOutput(NamedTuple):
    """Where a source's records go (the descriptor's producer side)."""

    sink: Callable[[bytes], bool]
    log_lost: LogLost
    notify: Callable[[str], None]
    sink_many: Callable[[list[bytes]], int] | None = None  # several at once, in order


class SideSource(ThreadObserver, Protocol):
    def prepare(self) -> None: ...

    def start(self, output: SourceOutput) -> None: ...

    def stop(self) -> None: ...

    def close(self) -> None: ...


def side_sources(options: RecordOptions, clock: TraceClock) -> list[SideSource]:
    """The sources beside ptrace that ``options`` ask for, each stamping its
    records with ``clock`` (the recording's one trace clock)."""
    sources: list[SideSource] = []
    # Each imported on demand: the perf adapter is a tenth of the start-up,
    # sampling and probes bring pyelftools.
    if options.perf_wanted:
        from ._perfsource import PerfSource

        sources.append(PerfSource(options.perf, clock))
    if options.sample_hz is not None:
        from formats.buildid_cache import ktr_cache_dir

        from ._sampling import Sampler, SamplingOptions

        keep_dir = (None if options.build_id_cache is None
                    else options.build_id_cache or ktr_cache_dir())
        sources.append(Sampler(SamplingOptions(
            options.sample_hz, options.stack_bytes, keep_dir=keep_dir,
            inherited=options.records_without_ptrace, children=options.follow_children),
            clock))
    if options.probes:
        from ._probe_source import ProbeSession

        sources.append(ProbeSession(options, clock))
    return sources


class PtraceSource:
    """The control loop and the record builder: syscalls, signals, lifecycle."""

    def __init__(self, options: RecordOptions, control_options: ControlOptions,
                 clock: TraceClock) -> None:
        self.options = options
        self.control = Control(control_options, clock)
        self._wrappers: list[Callable[[Consumer], Consumer]] = []

    def wrap_consumer(self, wrapper: Callable[[Consumer], Consumer]) -> None:
        """Put a source's view of every stop in front of the builder (probes: exec, mmap,
        and the uretprobe syscall, which is not recorded)."""
        self._wrappers.append(wrapper)

    def add_observer(self, observer: ThreadObserver) -> None:
        self.control.add_observer(observer)

    def run(self, output: SourceOutput, log_error: Callable[[DropError], None],
            bulk: bool = False) -> RunResult:
        """Trace until every tracee is gone or let go (main thread).

        With ``bulk`` (when no other source writes to the output), the
        builder's records are held in a list and queued together
        (``sink_many``) when the control loop flushes: every few dozen stops,
        20 to 40 ms into a blocking wait, and when it ends. One call of the
        queue per record cost the tracer more than building the record; the
        queue's semantics (bound, drops, waiting for the writer) apply to
        each record as before, a little later. Beside other sources, whose
        records ktrdump interleaves by time within a short window (samples
        must follow the EXEC that maps their image), each record is queued
        at once. The held records are flushed early when they pass
        ``HELD_BYTES``: a count of stops alone bounds nothing when each read
        may hold ``-s`` bytes. (Only then is each record counted: with ``-s``
        small enough that ``FLUSH_EVERY`` stops of capped I/O stay within
        ``HELD_BYTES``, the hot path appends to the list and nothing more.)
        """
        options = self.options
        sink_many = output.sink_many
        held: list[bytes] = []
        flush: Callable[[], None] | None = None
        sink: Callable[[bytes], object] = output.sink
        if bulk and sink_many is not None:
            held_bytes = 0

            def flush() -> None:
                nonlocal held_bytes
                held_bytes = 0
                if held:
                    sink_many(held)
                    held.clear()

            sink = held.append
            if options.io_bytes * FLUSH_EVERY > HELD_BYTES:
                hold = held.append

                def sink_counted(record: bytes) -> None:
                    nonlocal held_bytes
                    hold(record)
                    held_bytes += len(record)
                    if held_bytes > HELD_BYTES:
                        flush()

                sink = sink_counted
        builder = RecordBuilder(
            BuilderOptions(options.kinds, options.io_bytes, options.syscalls.selects),
            sink, log_error, output.notify,
        )
        consumer: Consumer = builder
        for wrapper in self._wrappers:
            consumer = wrapper(consumer)
        return self.control.run(consumer, flush)


__all__ = ["PtraceSource", "SideSource", "side_sources"]
