"""One recording, end to end: output, process control, records, report.

``record(options)`` opens the descriptor, starts or attaches to the targets,
runs the control loop with the record builder as its consumer, and reports.

Guarantees: whatever happens after the targets are under control — Ctrl-C,
SIGTERM, SIGHUP, the output failing, an error — every tracee is let go
(attached ones detached and running, the spawned tree killed or, when the
output failed, detached) before ``record`` returns; when the output failed,
a started command left running is waited for (it continues untraced; one
line says so), never left to init; the descriptor is always
released, so every record accepted is written unless the output failed. When
the control loop returned, an END record (how it ended: ``_end_payload``) is
the last record written; the file header promises it (``end_record``). A
BEGIN record (``_begin_payload``: this recording's pid, start and options) is
the first, written as soon as the output is open, before any target runs
under control (``begin_record``). SIGINT, SIGTERM and SIGHUP during
set-up (probes prepared, the command spawned or targets attached, the output
opened), until the recording's handlers are in, end it with BEGIN and an END
saying so and the shell's status for the signal (``_SetupSignals``). A
FIFO output no reader has open yet is waited for (one line on a terminal
says so); any of the three ends that wait at once, the first time: the
command is killed or the targets let go, nothing is written, one line, 128+N
(``_EndsReaderWait``). All
the user sees is one-line messages on stderr: a live status line on a
terminal no traced process uses (``_terminal``), notices for lost processes
and output failure, a final summary.

Recording context switches and stack samples alone
(``RecordOptions.records_without_ptrace``), of a started command or of attached
processes, runs no control loop: ``_perfattach`` starts or watches the targets
and nothing is ever stopped; the same BEGIN, END, notices, summary and exit
status (a started command's).

Does not: parse the command line (``_options``) or print tracebacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import TYPE_CHECKING, NamedTuple, NoReturn, TextIO

import formats
from formats import Abi, ProbeSite, RecordKind, linux

from . import __version__, _output, _procfs
from ._clock import CLOCK_NAME, TraceClock
from ._control import Control, ControlOptions, Release, RunResult
from ._descriptor import Descriptor, DescriptorStats, OutputOptions, open_descriptor
from ._options import RecordOptions
from ._sources import (
    MAX_DRAIN_INTERVAL_MS,
    PtraceSource,
    SideSource,
    SourceOutput,
    side_sources,
)
from ._terminal import status_line_allowed
from ._utrace import UTRACE_SYSCALL
from .errors import KtrError, OutputError, SetupInterrupted, SetupSignal, errno_text

if TYPE_CHECKING:
    from ._probe_source import ProbeSession

STATUS_INTERVAL_S = 0.5

#: The calls that may change what a program may read (ktr._builder's _protects),
#: per ABI (x32's are x86_64's numbers).
_PROTECTION_CALLS = {
    abi: frozenset(number for name in ("mmap", "mmap2", "mprotect", "pkey_mprotect", "mremap",
                                       "munmap")
                   if (number := linux.syscall_number(abi, name)) is not None)
    for abi in (Abi.X86_64, Abi.I386)
}


class RecordingReport(NamedTuple):
    """What ``record`` did; the command line prints it and exits with ``exit_status``."""

    exit_status: int
    result: RunResult
    stats: DescriptorStats
    output_failure: OutputError | None
    #: the failure was said already (the line saying a started command goes on
    #: untraced names it): the summary does not say it again
    failure_told: bool = False
    #: with ``record(defer_teardown=True)``: what is left to undo after the trace is
    #: complete (probe events to close, tracefs groups to remove); the caller runs it
    #: after its summary
    teardown: Teardown | None = None
    #: with ``record(defer_teardown=True)``: SIGTERM, SIGHUP or SIGINT that came while the
    #: recording closed (not the one that stopped it, again), kept until the trace was
    #: complete; the caller says the summary, then dies of it (0: none came)
    late_signal: int = 0
    #: processes whose memory could not be read for want of descriptors (or memory),
    #: and the first errno (the control loop's ``_memory.OpenShortages``): their read
    #: data is missing
    memory_unread: tuple[int, int] = (0, 0)


def _file_header(options: RecordOptions, control: ControlOptions, clock: TraceClock,
                 counters_not_supported: list[str] | None = None) -> formats.FileHeader:
    uname = os.uname()
    recorded = options.header_options()
    if counters_not_supported:
        # asked for with -C, not countable here: views print perf stat's <not supported>
        recorded["counters_not_supported"] = counters_not_supported
    recorded["seccomp_filter"] = control.seccomp is not None
    # Every timestamp is CLOCK_MONOTONIC + (realtime_ns - monotonic_ns) below: one
    # clock, measured once, for every source (perf records are converted to it).
    recorded["clock"] = CLOCK_NAME
    # Records from perf rings (switches, counters, samples and maps, probe hits) reach
    # the file up to a drain interval late, and a drain takes the CPUs' rings one after
    # the other: readers reorder within a window.
    recorded["perf_source"] = (options.perf_wanted or options.sample_hz is not None
                               or bool(options.probes))
    if recorded["perf_source"]:
        # How late, at most: a follower lets go of what it holds once the file has
        # been idle for this and the queue's flush interval (ktrdump -l).
        recorded["drain_interval_ms"] = MAX_DRAIN_INTERVAL_MS
    recorded["end_record"] = True  # an END record ends the recording: readers see a cut
    recorded["begin_record"] = True  # a BEGIN starts it: readers see where an append begins
    # Where the BEGIN's recorder pid means something: a follower judges whether the
    # recorder still runs only from the same pid namespace of the same boot.
    recorded["recorder"] = _procfs.recorder_identity()
    return formats.FileHeader(
        hostname=uname.nodename,
        kernel_release=uname.release,
        machine=uname.machine,
        realtime_ns=clock.start_realtime_ns,
        monotonic_ns=clock.start_monotonic_ns,
        ktr_version=__version__,
        options=recorded,
        byte_order="little" if sys.byteorder == "little" else "big",
    )


def _begin_payload(header: formats.FileHeader) -> formats.Begin:
    """The BEGIN record: this recording, as the file header describes it (an appended
    recording's own header is not written, so its BEGIN is where its options are)."""
    return formats.Begin(
        os.getpid(), 0, header.realtime_ns, header.monotonic_ns,
        header.ktr_version.encode("utf-8"),
        json.dumps(dict(header.options), sort_keys=True).encode("utf-8"))


def _probe_session() -> type[ProbeSession]:
    # Imported only when probes are asked for: it brings pyelftools and tracefs.
    from ._probe_source import ProbeSession

    return ProbeSession


def _control_options(options: RecordOptions) -> ControlOptions:
    seccomp = None
    wants_stops = options.wants_syscall_stops
    # A probe naming a module not found at start is placed at the mmap that maps it (a
    # dlopen): that stop is needed even when no syscall is recorded (-t f) or mmap is not
    # selected; the seccomp filter makes it the only extra stop.
    mmap_stops = bool(options.command and options.seccomp
                      and any(spec.module is not None for spec in options.probes))
    if options.command and options.seccomp and (wants_stops or mmap_stops):
        numbers = (options.syscalls.numbers if wants_stops
                   else {Abi.X86_64: frozenset(), Abi.I386: frozenset()})
        if numbers is None:
            # -t n, i, u, a, v without c: only the calls they make records of stop
            numbers = options.facility_syscalls
        if numbers is None and any(spec.site == ProbeSite.RETURN for spec in options.probes):
            from ._probe_source import URETPROBE_SYSCALL

            # Return probes make the uretprobe syscall on every return: a filter that stops
            # at every syscall but that one spares two ptrace stops per return.
            numbers = {
                abi: frozenset(linux.syscall_names(abi)) - (
                    {URETPROBE_SYSCALL} if abi == Abi.X86_64 else set())
                for abi in (Abi.X86_64, Abi.I386)
            }
        if numbers is not None:
            seccomp = dict(numbers)
            if mmap_stops:
                from ._probe_source import MMAP_SYSCALL

                seccomp[Abi.X86_64] = seccomp.get(Abi.X86_64, frozenset()) | {MMAP_SYSCALL}
            if RecordKind.USER in options.kinds:
                # ktr.utrace must stop even when no other syscall is selected.
                for abi in (Abi.X86_64, Abi.I386):
                    seccomp[abi] = seccomp.get(abi, frozenset()) | {UTRACE_SYSCALL}
            if wants_stops or RecordKind.USER in options.kinds:
                # The calls that change what the program may read stop too (not
                # recorded unless selected): what ktr reads of its memory must not
                # be what it may not read (TraceeMemory's rule).
                for abi in (Abi.X86_64, Abi.I386):
                    seccomp[abi] = seccomp.get(abi, frozenset()) | _PROTECTION_CALLS[abi]
    return ControlOptions(
        follow_children=options.follow_children,
        attach_descendants=options.descendants,
        seccomp=seccomp,
        trace_syscalls=wants_stops or seccomp is not None,
        spin_us=options.spin_us,
        pin_cpu=options.pin_cpu,
    )


class _StatusLine:
    """The live one-line status on a terminal (a daemon thread)."""

    def __init__(self, stream: _BestEffortText, describe: Callable[[], str]) -> None:
        self._stream = stream
        self._describe = describe
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ktr-status", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(STATUS_INTERVAL_S):
            self._stream.write(f"\rktr: {self._describe()}\x1b[K")
            self._stream.flush()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _status_text(stats: DescriptorStats, processes: int) -> str:
    dropped = sum(stats.drops.values())
    # Records as made (queued), live; bytes as written: a file's writer batches
    # every few seconds, and a count of written records would look stuck meanwhile.
    return (f"{stats.records_enqueued} records recorded, {_size(stats.bytes_written)} "
            f"written, {dropped} dropped, {_counted(processes, 'process', 'processes')} traced")


def nothing_recorded(signo: int) -> str:
    """What ``ktr`` says of SIGINT, SIGTERM or SIGHUP before anything was made."""
    return f"interrupted by {signal.Signals(signo).name} before recording began; nothing recorded"


#: What ``ktr`` says of a Ctrl-C before anything was made (no target, no output).
NOTHING_RECORDED = nothing_recorded(signal.SIGINT)


class _StopBeforeSetUp:
    """SIGTERM's and SIGHUP's handler from before ``record``'s first line (``ktr.cli``
    puts it in before calling it, over ``ktr.__main__``'s start-up handler: no moment at
    their default action between) until set-up's handlers replace it: it raises
    ``SetupSignal``, which ``record`` reports as it does Ctrl-C's KeyboardInterrupt,
    nothing made yet (the default action killed ``ktr`` there with no word). Set-up's
    handlers restore the default in its place (``_replaced``)."""

    ktr_start_up = True  # (``ktr.cli`` puts the default back after ``record``, as for its own)

    def __call__(self, signo: int, frame: FrameType | None) -> None:
        raise SetupSignal(signo)


_STOP_BEFORE_SET_UP = _StopBeforeSetUp()


def stop_signals_before_set_up() -> None:
    """SIGTERM and SIGHUP raise ``SetupSignal`` until set-up's handlers are in; only over
    the default action or ``ktr.__main__``'s start-up handler (a caller's handler, or a
    signal ignored, is left as it is)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for signo in (signal.SIGTERM, signal.SIGHUP):
        current = signal.getsignal(signo)
        if current == signal.SIG_DFL or getattr(current, "ktr_start_up", False):
            signal.signal(signo, _STOP_BEFORE_SET_UP)


def _replaced(previous: object) -> object:
    """The handler to restore in place of ``previous``: the default for the one of
    ``stop_signals_before_set_up`` (set-up is over when it would be restored)."""
    return signal.SIG_DFL if previous is _STOP_BEFORE_SET_UP else previous

#: How a stop by SIGINT, SIGTERM or SIGHUP begins its reason (the END's and the summary's).
INTERRUPTED_BY = "interrupted by "


def stop_signal(stop_reason: str | None) -> int:
    """The signal (SIGINT, SIGTERM, SIGHUP) that stopped the recording, from the stop
    reason ``_Signals`` gave (``interrupted by SIGTERM``); 0 if none did."""
    if not stop_reason or not stop_reason.startswith(INTERRUPTED_BY):
        return 0
    name = stop_reason[len(INTERRUPTED_BY):].split(" ", 1)[0]
    return int(signal.Signals[name]) if name in signal.Signals.__members__ else 0


class _EndsReaderWait:
    """Signal handlers that end the output's wait for a FIFO's first reader.

    The open of a FIFO no one reads yet blocks until a reader comes; a handler
    that only notes its signal would leave it blocked (PEP 475 retries the
    open), the signal swallowed. ``wait_for_reader`` (an ``_output.ReaderWait``)
    is that open's context: a signal that comes during the wait (``pending``,
    set by the handler, which calls ``_end_reader_wait``) or came before it
    ends it at once, and the open is undone: ``SetupInterrupted``, one line,
    128+N; the signal is taken (``pending`` is None again). A signal after the
    wait is the handler's as before.
    """

    pending: int | None = None
    _unblock: Callable[[], None] | None = None

    def _end_reader_wait(self) -> None:
        if self._unblock is not None:
            self._unblock()

    @contextlib.contextmanager
    def wait_for_reader(self, path: str, unblock: Callable[[], None]) -> Iterator[None]:
        # (In this order: a handler that runs between the two lines finds the unblock.)
        self._unblock = unblock
        try:
            if self.pending is not None:
                unblock()
            yield
        finally:
            self._unblock = None
        signo, self.pending = self.pending, None
        if signo is not None:
            raise SetupInterrupted(f"interrupted by {signal.Signals(signo).name} while waiting "
                                   f"for a reader on {path}; nothing recorded", signo)


def _announcing(wait: _output.ReaderWait, options: RecordOptions,
                notices: _BestEffortText) -> _output.ReaderWait:
    """``wait``, said once on a terminal (not under -q) when it begins: a FIFO with no
    reader holds the recording (and a started command) until one comes. (Not when
    it ends as it begins: a signal came before it.)"""
    if options.quiet or not notices.isatty():
        return wait

    @contextlib.contextmanager
    def announced(path: str, unblock: Callable[[], None]) -> Iterator[None]:
        ended: list[bool] = []

        def unblock_noted() -> None:
            ended.append(True)
            unblock()

        with wait(path, unblock_noted):
            if not ended:
                notices.write(f"ktr: waiting for a reader on {path}\u2026\n")
                notices.flush()
            yield

    return announced


def _not_waiting(signo: int) -> _output.ReaderWait:
    """For the output of a recording interrupted before it began: a FIFO no one reads
    is not waited for (its BEGIN and END would reach no one)."""
    @contextlib.contextmanager
    def refuse(path: str, unblock: Callable[[], None]) -> Iterator[None]:
        raise SetupInterrupted(f"interrupted by {signal.Signals(signo).name} before "
                               f"recording began; nothing recorded (no reader on {path})",
                               signo)
        yield  # (a generator: the context manager's)

    return refuse


class _Signals(_EndsReaderWait):
    """Install the recorder's handlers for SIGINT/SIGTERM/SIGHUP; restore them after.

    ``pending``: the first signal (SIGINT handed to the command aside), which a wait
    for the output's reader, begun after it, does not begin (``_EndsReaderWait``)."""

    def __init__(self, request_stop: Callable[[str], None], spawned: bool,
                 restore: dict[int, object] | None = None) -> None:
        self._request_stop = request_stop
        self._spawned = spawned
        self._saved: dict[int, object] = {}
        # the handlers from before set-up's (_SetupSignals.hand_over), restored at the end
        self._restore = restore or {}
        self._interrupts = 0

    def _handle(self, signo: int, frame: FrameType | None) -> None:
        if self.pending is None:
            self.pending = signo
        self._end_reader_wait()
        name = signal.Signals(signo).name
        self._request_stop(f"{INTERRUPTED_BY}{name}")

    def _handle_command_interrupt(self, signo: int, frame: FrameType | None) -> None:
        # The terminal's ^C reaches the command too (same process group): the
        # first is the command's to act on, and what it does is recorded. A
        # second, while the command still runs (it ignores ^C, or is slow to
        # end), stops the recording as SIGTERM does: the command is killed.
        # While the output waits for a reader, the command, held before its
        # exec, has not begun: the first ends the wait.
        if self._unblock is not None:
            self.pending = signo
            self._end_reader_wait()
            return
        self._interrupts += 1
        if self._interrupts >= 2:
            self._request_stop(f"{INTERRUPTED_BY}SIGINT twice")

    def __enter__(self) -> _Signals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signo in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            if signo == signal.SIGINT and self._spawned:
                self._saved[signo] = signal.signal(signo, self._handle_command_interrupt)
            else:
                self._saved[signo] = _replaced(signal.signal(signo, self._handle))
        self._saved.update(self._restore)
        return self

    def __exit__(self, *exc: object) -> None:
        for signo, handler in self._saved.items():
            signal.signal(signo, handler)  # type: ignore[arg-type]


#: this many tracefs events or more make a teardown said (at 75-100 ms each: a wait
#: noticed); probes of one file and layout share an event (``_probe_source``)
TEARDOWN_SAID_FROM = 8


class Teardown:
    """The side sources of a finished recording, closed on ``run``: the probes' perf
    events (the last close of each tracefs event's waits RCU grace periods, 75-100 ms,
    one event after the other under the kernel's event_mutex) and the tracefs group.

    SIGINT, SIGTERM and SIGHUP are ignored while it runs: the trace is complete, and
    dying then would leave the group behind (for the next run to clean). If ``run`` is
    never called, the groups' atexit hooks still remove them.
    """

    def __init__(self, sources: list[SideSource], notices: _BestEffortText, quiet: bool) -> None:
        self._sources = sources
        self._notices = notices
        self._quiet = quiet

    def run(self) -> None:
        sources, self._sources = self._sources, []
        if not sources:
            return
        probes = sum(getattr(source, "teardown_size", lambda: 0)() for source in sources)
        waits = sum(getattr(source, "teardown_waits", lambda: 0)() for source in sources)
        stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {signo: signal.signal(signo, signal.SIG_IGN) for signo in stops}
        try:
            if waits >= TEARDOWN_SAID_FROM and not self._quiet:
                self._notices.write(f"ktr: removing {probes} probes\u2026\n")
                self._notices.flush()
            _test_hold("teardown")
            for source in sources:
                with contextlib.suppress(Exception):
                    source.close()
        finally:
            for signo, handler in previous.items():
                signal.signal(signo, handler)


def record(options: RecordOptions, stderr: TextIO | None = None, *,
           defer_teardown: bool = False) -> RecordingReport:
    """Carry out one recording (see the module docstring).

    ``stderr``: where notices and the status line go (default ``sys.stderr``;
    nowhere when that is closed). A failing write there never stops a recording.
    ``defer_teardown``: a recording that returns leaves its probes' perf events open
    and tracefs group defined for the caller to remove with ``report.teardown.run()``
    (after saying its summary: the removal can take seconds); otherwise, and on every
    failure, they are removed before ``record`` returns.
    """
    # Nothing is made before set-up's handlers (no target touched, no output opened):
    # a Ctrl-C, SIGTERM or SIGHUP until then says so (``ktr: interrupted`` alone left it
    # unsaid; SIGTERM and SIGHUP killed ktr with no word).
    stop_signals_before_set_up()
    try:
        foreign = _procfs.foreign_procfs()
        if foreign is not None:  # every read of /proc/PID would be of another process
            raise KtrError(f"/proc is not this pid namespace's (it calls ktr {foreign}, not "
                           f"{os.getpid()}): tracees would be read as other processes; mount "
                           "this namespace's (unshare --mount-proc, or mount -t proc proc /proc)")
        notices = _BestEffortText(stderr if stderr is not None else sys.stderr)
        for line in thread_id_notices(options.pids):
            notices.write(line + "\n")
        options = _capped_sample_rate(options, notices)
        if options.output == "-":
            _check_stdout_open()
        control_options = _control_options(options)
        # The recording's one clock: every source and the descriptor stamp with it, so
        # records of different sources are on one timeline (_clock).
        clock = TraceClock()
        if not options.records_without_ptrace:
            _test_hold("sources")
            ptrace_source = PtraceSource(options, control_options, clock)
            control = ptrace_source.control
            # Side sources check and open what they can before any target exists: a
            # refused event ends the recording here, not half-configured later.
            others = side_sources(options, clock)  # (probes: their symbols, slow)
    except KeyboardInterrupt:
        raise SetupInterrupted(NOTHING_RECORDED) from None
    except SetupSignal as stopped:
        raise SetupInterrupted(nothing_recorded(stopped.signo), stopped.signo) from None
    if options.records_without_ptrace:
        return _record_without_ptrace(options, notices, clock,
                                      _file_header(options, control_options, clock))
    prepared: list[SideSource] = []
    # Set-up (probe symbols above all) can take a while before any target is
    # traced: Ctrl-C then still leaves the file the user asked for, saying so.
    with _SetupSignals() as setup:
        try:
            with _slow_setup_notice(options, notices):
                try:
                    for source in others:
                        source.prepare()
                        prepared.append(source)
                        ptrace_source.add_observer(source)
                        if options.probes and isinstance(source, _probe_session()):
                            source.use_control(lambda pid: [
                                t.tid for t in list(control.tracees.values()) if t.pid == pid])
                            ptrace_source.wrap_consumer(source.wrap)
                    setup.defer()
                except KeyboardInterrupt:
                    _interrupted_before_start(options, control_options, clock, signal.SIGINT)
                except SetupSignal as stopped:
                    _interrupted_before_start(options, control_options, clock, stopped.signo)
            _test_hold("prepared")
            signo = setup.take_pending()
            if signo is not None:  # (no target touched yet: none is)
                _interrupted_before_start(options, control_options, clock, signo)
            unsupported = [item for source in prepared
                           for item in getattr(source, "unsupported", ())]
            for name, error in unsupported:
                notices.write(f"ktr: counter {name}: <not supported> ({error}); "
                              "recording without it\n")
            header = _file_header(options, control_options, clock,
                                  [name for name, _ in unsupported])
            report = _record(options, notices, clock, header, ptrace_source, control,
                             prepared, setup)
            shortages = control.memory_shortages
            if shortages.pids:
                report = report._replace(memory_unread=(len(shortages.pids),
                                                        shortages.first_errno))
            setup.acted_on = stop_signal(report.result.stop_reason)
            late = setup.pending
            if defer_teardown and late is not None and late != setup.acted_on:
                # (the caller prints the summary of the complete trace, then dies of it:
                # killed here at ``__exit__``, ktr said nothing, not even what it dropped)
                setup.take_pending()
                report = report._replace(late_signal=late, exit_status=128 + late)
            # (a signal kept while the recording closed kills ktr at ``__exit__``: the
            # group goes first, here)
            if defer_teardown and setup.pending in (None, setup.acted_on):
                report = report._replace(teardown=Teardown(prepared, notices, options.quiet))
                prepared = []
            return report
        finally:
            for source in prepared:
                source.close()


def _capped_sample_rate(options: RecordOptions, notices: _BestEffortText) -> RecordOptions:
    """``-F`` within kernel.perf_event_max_sample_rate, as perf record caps it: the
    kernel refuses a higher frequency (and lowers the limit itself when sampling
    interrupts take too long). One line says so."""
    if options.sample_hz is None:
        return options
    from ._perf import max_sample_rate

    limit = max_sample_rate()
    if limit is None or limit < 1 or options.sample_hz <= limit:
        return options
    notices.write(f"ktr: -F {options.sample_hz} is over kernel.perf_event_max_sample_rate "
                  f"({limit}): sampling at {limit} Hz (the limit can be raised with sysctl; "
                  "the kernel lowers it when its sampling interrupts take too long)\n")
    return dataclasses.replace(options, sample_hz=limit)


#: Set-up longer than this gets one line on a terminal's stderr (not under -q).
SLOW_SETUP_S = 0.5


@contextlib.contextmanager
def _slow_setup_notice(options: RecordOptions, notices: _BestEffortText
                       ) -> Iterator[None]:
    """Say once on a terminal that probes are being placed, if that takes a while."""
    if not options.probes or options.quiet or not notices.isatty():
        yield
        return
    count = len(options.probes)
    timer = threading.Timer(SLOW_SETUP_S, lambda: notices.write(
        f"ktr: placing {count} probe{'s' if count != 1 else ''}\u2026\n"))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


class _SetupSignals(_EndsReaderWait):
    """SIGTERM and SIGHUP outside the recording's own handlers (``_Signals``): from the
    start of set-up until they take over (``hand_over``), and from their end until the
    side sources are closed (``record``'s ``finally``: the tracefs group removed). The
    default action would kill ``ktr`` with no END in the file, a started command
    left held, or, while the recording closes, its tracefs group left behind (until
    the next ``ktr record -P``).

    While the side sources are prepared (nothing made yet but what ``record``'s
    ``finally`` closes) a signal ends set-up at once, as Ctrl-C does
    (``SetupSignal``). From ``defer`` on (a child spawned, targets attached, the
    output opened: an exception there could leave any of them half made), it is
    kept in ``pending``, and so is a Ctrl-C; the recording's first act, when its
    handlers are in, is to take it and end set-up cleanly (``_abandon_set_up``).
    One that comes while the recording closes is kept until the sources are
    closed, then delivered again with the handlers from before (``__exit__``:
    by default it kills ``ktr`` then, as it would have, with nothing left behind),
    unless it is the signal that stopped the recording, come again (``acted_on``):
    the recording ends as that first one made it end, with its summary. A
    signal ignored when ``ktr`` started (nohup) stays ignored; after the first, the
    handlers from before are back (a second one kills at once). The one place
    a kept signal must not wait is the output's open waiting for a FIFO's first
    reader: it ends that wait (``_EndsReaderWait``).
    """

    def __init__(self) -> None:
        self._saved: dict[int, object] = {}
        self._deferring = False
        self.pending: int | None = None
        # the signal that stopped the recording (0: none), set once it is over
        self.acted_on = 0
        self._main = threading.current_thread() is threading.main_thread()

    def __enter__(self) -> _SetupSignals:
        if self._main:
            for signo in (signal.SIGTERM, signal.SIGHUP):
                if signal.getsignal(signo) != signal.SIG_IGN:
                    self._saved[signo] = _replaced(signal.signal(signo, self._handle))
        return self

    def __exit__(self, *exc: object) -> None:
        self._restore()
        signo = self.take_pending()
        # came while the recording closed: its effect now, unless it is the signal that
        # stopped the recording, sent again (GNU timeout sends it to ktr and to its
        # process group; a second Ctrl-C): that request is already carried out
        if signo is not None and signo != self.acted_on:
            os.kill(os.getpid(), signo)

    def take_pending(self) -> int | None:
        """The signal kept since ``defer`` (None: none came); it is no longer kept."""
        signo, self.pending = self.pending, None
        return signo

    def _restore(self) -> None:
        for signo, handler in self._saved.items():
            signal.signal(signo, handler)  # type: ignore[arg-type]
        self._saved.clear()

    def _handle(self, signo: int, frame: FrameType | None) -> None:
        self._restore()
        if not self._deferring:
            raise SetupSignal(signo)
        if self.pending is None:
            self.pending = signo
        self._end_reader_wait()

    def defer(self) -> None:
        """From here a signal (Ctrl-C too, when it would raise) is kept for ``_record``."""
        self._deferring = True
        if self._main and signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            self._saved[signal.SIGINT] = signal.signal(signal.SIGINT, self._handle)

    def hand_over(self) -> dict[int, object]:
        """For ``_Signals``: the handlers to put back at its end, ours (a signal while
        the recording closes is kept, see the class); ours stay in place until it
        replaces them (a signal in between is still kept)."""
        return {signo: self._handle for signo in self._saved}


#: The tests' hook for each later step of set-up: "POINT=FIFO" makes ``_test_hold(POINT)``
#: read the FIFO the test holds, so a signal can be sent while set-up is known to be there
#: ("sources": before the side sources are made, no handler of set-up's in yet;
#: "prepared": the side sources ready; "targets": the command spawned or the targets
#: attached; "output": the output open, the recording's handlers not yet in; "closing":
#: the recording over, its handlers gone, the sources not yet stopped).
SETUP_HOLD_TEST_ENV = "KTR_TEST_SETUP_HOLD"


def _test_hold(point: str) -> None:
    hook = os.environ.get(SETUP_HOLD_TEST_ENV)
    if hook and hook.partition("=")[0] == point:
        from ._testhold import hold_on_fifo

        hold_on_fifo(hook.partition("=")[2])


def _end_before_start(descriptor: Descriptor, options: RecordOptions, signo: int) -> str:
    """The END of a recording interrupted before it began; returns the one line to say."""
    reason = f"interrupted by {signal.Signals(signo).name} before recording began"
    descriptor.add_end(formats.End(
        -1, int(formats.EndFlag.STOPPED_EARLY), 0, 0, 0, 0, reason.encode(), 0, b""))
    where = "standard output" if options.output == "-" else options.output
    return f"{reason}; {where} holds no events"


def _interrupted_before_start(options: RecordOptions, control_options: ControlOptions,
                              clock: TraceClock, signo: int) -> NoReturn:
    """SIGINT, SIGTERM or SIGHUP during set-up: the output gets BEGIN and an END saying
    nothing was recorded (no target was touched yet), then ``SetupInterrupted`` (whose
    exit status is the shell's for the signal, 128+N)."""
    header = _file_header(options, control_options, clock)
    descriptor = open_descriptor(_output_options(options, clock, _not_waiting(signo)), header,
                                 begin=_begin_payload(header))
    try:
        message = _end_before_start(descriptor, options, signo)
    finally:
        descriptor.release()
    raise SetupInterrupted(message, signo)


def _record(options: RecordOptions, notices: _BestEffortText, clock: TraceClock,
            header: formats.FileHeader, ptrace_source: PtraceSource, control: Control,
            others: list[SideSource], setup: _SetupSignals) -> RecordingReport:
    output_options = _output_options(
        options, clock, _announcing(setup.wait_for_reader, options, notices))
    failures: list[OutputError] = []
    on_write_error, on_blocking = _output_callbacks(
        options, notices, failures, lambda reason: control.request_stop(reason, Release.DETACH))
    begin = _begin_payload(header)
    descriptor: Descriptor
    if options.command:
        # Fork before any thread exists (the descriptor starts its writer).
        spawned = _spawn(control, options)
        try:
            _test_hold("targets")
            descriptor = open_descriptor(output_options, header, on_write_error,
                                         on_blocking=on_blocking, begin=begin)
        except BaseException:
            _kill_spawned(spawned)
            raise
    else:
        # Targets first: a pid that cannot be traced must not cost the user the
        # file -o names (opening it replaces it). The attached threads wait,
        # stopped, while the output opens; if it cannot be, they are let go.
        try:
            if options.pids:
                control.attach(options.pids)
            if options.process_group is not None:
                control.attach_group(options.process_group)
            _test_hold("targets")
            descriptor = open_descriptor(output_options, header, on_write_error,
                                         on_blocking=on_blocking, begin=begin)
        except BaseException:
            control.let_go()  # (-g failing after -p attached: those go too)
            raise

    output = _source_output(descriptor, notices)
    traced = {t.pid for t in list(control.tracees.values())}
    if options.command:
        traced.add(spawned)
    status: _StatusLine | None = None
    started: list[SideSource] = []
    result: RunResult | None = None
    try:
        _test_hold("output")
        with _Signals(control.request_stop, spawned=bool(options.command),
                      restore=setup.hand_over()):
            signo = setup.take_pending()
            if signo is not None:  # a signal during set-up: nothing recorded yet
                _abandon_set_up(options, descriptor, control,
                                spawned if options.command else None, signo)
            status = _status_line(options, notices, descriptor, traced,
                                  lambda: len({t.pid for t in list(control.tracees.values())}))
            for source in others:
                source.start(output)
                started.append(source)
            # Everything alive now (modules, schemas, tables) lives as long as
            # the recording: out of the collector's way, the collections the
            # loop's short-lived events trigger no longer walk it.
            gc.freeze()
            try:
                result = ptrace_source.run(output, descriptor.log_error, bulk=not started)
            finally:
                gc.unfreeze()
    finally:
        _test_hold("closing")
        _close_recording(descriptor, clock, started, status, result, bool(options.probes))
    assert result is not None
    report = _report(options, result, descriptor, failures)
    if (options.command and report.output_failure is not None and result.exit_status is None
            and not result.spawn_error):
        _outlive_failed_output(spawned, options.command[0], report.output_failure, notices)
        report = report._replace(failure_told=True)
    return report


def _abandon_set_up(options: RecordOptions, descriptor: Descriptor, control: Control,
                    spawned: int | None, signo: int) -> NoReturn:
    """SIGINT, SIGTERM or SIGHUP came while the targets and the output were being set up
    (``_SetupSignals.pending``): the command, held before its exec, is killed, attached
    targets are let go (nothing of theirs was recorded), the output gets its END
    (released by the caller), then ``SetupInterrupted`` (128+N)."""
    try:
        if spawned is not None:
            _kill_spawned(spawned)
        else:
            control.let_go()
    finally:
        message = _end_before_start(descriptor, options, signo)
    raise SetupInterrupted(message, signo)


def _output_options(options: RecordOptions, clock: TraceClock,
                    wait_for_reader: _output.ReaderWait | None = None) -> OutputOptions:
    return OutputOptions(path=options.output, append=options.append,
                         compress=options.compress, parameters=options.queue,
                         named=options.output_named, clock=clock,
                         wait_for_reader=wait_for_reader)


def _source_output(descriptor: Descriptor, notices: _BestEffortText) -> SourceOutput:
    """What the sources write to: the descriptor, and notices as ``ktr:`` lines
    (the descriptor's own notice, if it has one, is the first)."""
    def notify(message: str) -> None:
        notices.write(f"ktr: {message}\n")

    if descriptor.notice is not None:
        notify(descriptor.notice)
    return SourceOutput(descriptor.add_entry, descriptor.log_lost, notify,
                        descriptor.add_entries)


def _status_line(options: RecordOptions, notices: _BestEffortText, descriptor: Descriptor,
                 traced: Iterable[int], processes: Callable[[], int]) -> _StatusLine | None:
    """The live status line, started; None where it could overwrite a traced
    program's own terminal I/O (``traced``), under -q, or off a terminal."""
    if options.quiet or not notices.isatty() or not status_line_allowed(notices, traced):
        return None
    status = _StatusLine(notices, lambda: _status_text(descriptor.stats, processes()))
    status.start()
    return status


def _report(options: RecordOptions, result: RunResult, descriptor: Descriptor,
            failures: list[OutputError]) -> RecordingReport:
    stats = descriptor.stats
    failure = failures[0] if failures else stats.failure
    return RecordingReport(_exit_status(options, result, failure), result, stats, failure)


def _output_callbacks(options: RecordOptions, notices: _BestEffortText,
                      failures: list[OutputError], stop: Callable[[str], None]
                      ) -> tuple[Callable[[OutputError], None], Callable[[], None]]:
    """The descriptor's write-error and blocking callbacks: a failed output stops
    the recording (the targets are let go, never killed for it); the first
    blocking wait is a notice."""
    blocked = threading.Event()

    def on_write_error(error: OutputError) -> None:
        failures.append(error)
        stop(str(error))

    def on_blocking() -> None:
        if not blocked.is_set():
            blocked.set()
            notices.write(f"ktr: the writer did not keep up for {options.queue.timeout_s:g} s; "
                         "records are now dropped when the queue is full\n")

    return on_write_error, on_blocking


def _outlive_failed_output(pid: int, name: str, failure: OutputError,
                           notices: _BestEffortText) -> None:
    """The output failed and the started command was detached, alive (an output
    failure must not kill it): say so, and wait until it ends. It is still our
    child, holding the caller's terminal or pipe: leaving it to init would hang a
    pipeline that waits for EOF, and take it out of the caller's reach.

    Meanwhile SIGTERM and SIGHUP are passed on to it, and SIGINT too unless the
    terminal gave it to the command already (it shares our foreground process
    group: ^C reaches both), so Ctrl-C ends both as it would without ktr.
    """
    def forward(signo: int, frame: FrameType | None) -> None:
        if signo == signal.SIGINT and _in_foreground_group_with_us(pid):
            return
        with contextlib.suppress(OSError):
            os.kill(pid, signo)

    saved: dict[int, object] = {}
    if threading.current_thread() is threading.main_thread():
        for passed_on in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            saved[passed_on] = signal.signal(passed_on, forward)
    # Said once the signals are passed on: a Ctrl-C prompted by this line must not
    # find Python's default handler (a KeyboardInterrupt, exit 130 instead of 1).
    notices.write(f"ktr: tracing stopped: {failure}; {name} (pid {pid}) continues "
                  "untraced; waiting for it to end\n")
    notices.flush()
    try:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # a handler's EINTR is retried (PEP 475)
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)  # type: ignore[arg-type]


def _in_foreground_group_with_us(pid: int) -> bool:
    """``pid`` is in our process group, the foreground one of our terminal."""
    try:
        group = os.getpgid(pid)
    except OSError:
        return False
    if group != os.getpgrp():
        return False
    for fd in (0, 1, 2):
        with contextlib.suppress(OSError):
            if os.isatty(fd) and os.tcgetpgrp(fd) == group:
                return True
    return False


def _record_without_ptrace(options: RecordOptions, notices: _BestEffortText,
                           clock: TraceClock, header: formats.FileHeader) -> RecordingReport:
    """Record context switches and stack samples alone: the perf sources follow
    the started command or the attached targets by inheritance and nothing stops
    them (``_perfattach``); the recording ends when every target has exited or on
    a stop request."""
    from ._perfattach import PerfAttach, RunningWatcher

    sources = side_sources(options, clock)
    watchers: list[RunningWatcher] = []
    prepared: list[SideSource] = []
    attach: PerfAttach | None = None
    try:
        try:  # (a Ctrl-C before the recording's handlers: nothing made but what is closed)
            for source in sources:
                source.prepare()
                prepared.append(source)
                assert isinstance(source, RunningWatcher), source  # (the options chose them)
                watchers.append(source)
            attach = PerfAttach(watchers, options.follow_children, options.descendants)
            watching = attach
            spawned = None
            # Targets first, as with ptrace: a pid that cannot be watched must not cost
            # the user the file -o names. Nothing to let go if the output fails to open
            # but a started command, held before its exec: it is killed.
            if options.command:
                # (forks: before any thread exists; the descriptor starts its writer)
                spawned = watching.spawn(options.command,
                                         stdout_from_stderr=options.output == "-")
            else:
                attach.attach(options.pids, options.process_group)
        except KeyboardInterrupt:
            raise SetupInterrupted(NOTHING_RECORDED) from None
        except SetupSignal as stopped:
            raise SetupInterrupted(nothing_recorded(stopped.signo), stopped.signo) from None
        # The recording's handlers from the moment a target is held or watched: a
        # signal before the run (BEGIN may already be out) is a stop request the run
        # honours at once, not Python's KeyboardInterrupt (exit 130, no END).
        with _Signals(attach.request_stop, spawned=spawned is not None) as signals:
            failures: list[OutputError] = []
            on_write_error, on_blocking = _output_callbacks(
                options, notices, failures,
                lambda reason: watching.request_stop(reason, Release.DETACH))
            try:
                descriptor = open_descriptor(
                    _output_options(options, clock,
                                    _announcing(signals.wait_for_reader, options, notices)),
                    header, on_write_error, on_blocking=on_blocking,
                    begin=_begin_payload(header))
            except BaseException:
                if spawned is not None:
                    _kill_spawned(spawned)
                raise
            output = _source_output(descriptor, notices)
            _test_hold("output")
            status = _status_line(options, notices, descriptor, watching.pids_alive(),
                                  lambda: len(watching.pids_alive()))
            result: RunResult | None = None
            started: list[SideSource] = []
            try:
                for source in prepared:
                    source.start(output)
                    started.append(source)
                attach.release()  # the command execs, its events enabled by that
                result = attach.run()
            finally:
                # (no probes on this path: -P attaches with ptrace)
                _close_recording(descriptor, clock, started, status, result, probes=False)
        assert result is not None
        report = _report(options, result, descriptor, failures)
    finally:
        if attach is not None:
            attach.close()
        for source in prepared:
            source.close()
    if (spawned is not None and report.output_failure is not None
            and result.exit_status is None and not result.spawn_error):
        _outlive_failed_output(spawned, options.command[0], report.output_failure, notices)
        report = report._replace(failure_told=True)
    return report


def thread_id_notices(pids: Iterable[int]) -> list[str]:
    """One line per -p id that names a thread other than its process's first.

    ktr traces processes, as ktrace does: -p TID records every thread of
    TID's process (strace -p TID would trace that one thread). The line says
    so, and how to see that thread alone. An id that is gone is left to the
    attach, which reports it.
    """
    lines = []
    for pid in pids:
        tgid = _procfs.thread_group(pid)
        if tgid is not None and tgid != pid:
            lines.append(f"ktr: -p {pid} is a thread of process {tgid}: recording every "
                         f"thread of {tgid} (ktr traces whole processes; "
                         f"ktrdump -p {pid} shows that thread alone)")
    return lines


class _BestEffortText:
    """A text stream whose write errors are dropped: losing a notice must not
    stop a recording or change its exit status (``2>/dev/full``, ``2>&-``)."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is not None:
            try:
                return self._stream.write(text)
            except (OSError, ValueError):
                pass
        return len(text)

    def flush(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(OSError, ValueError):
                self._stream.flush()

    def fileno(self) -> int:
        if self._stream is None:
            raise ValueError("no stream")
        return self._stream.fileno()

    def isatty(self) -> bool:
        try:
            return self._stream is not None and self._stream.isatty()
        except (OSError, ValueError):
            return False


def _check_stdout_open() -> None:
    try:
        os.fstat(1)
    except OSError as error:
        raise OutputError("cannot write trace to standard output: it is closed",
                          "-", error.errno) from None


def _spawn(control: Control, options: RecordOptions) -> int:
    # With -o - the trace owns standard output: the command writes its output
    # to standard error instead, so the trace stream stays clean.
    return control.spawn(list(options.command), stdout_from_stderr=options.output == "-")


def _kill_spawned(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0x40000000)  # __WALL
    except OSError:
        pass


def _close_recording(descriptor: Descriptor, clock: TraceClock, started: list[SideSource],
                     status: _StatusLine | None, result: RunResult | None,
                     probes: bool) -> None:
    """End a recording, whatever happened: the side sources' last records, the
    status line gone, the END record (when the run returned) and the descriptor
    released, in that order, each step even when an earlier one failed."""
    try:
        for source in started:
            source.stop()  # last records, before the descriptor goes
    finally:
        if status is not None:
            status.stop()
        if result is not None:
            unplaced = [spec for source in started if probes
                        and isinstance(source, _probe_session())
                        for spec in source.unplaced]
            descriptor.add_end(_end_payload(result, unplaced), clock.now_ns())
        descriptor.release()


def _end_payload(result: RunResult, unplaced: list[str]) -> formats.End:
    """The END record: how the recording ended, as the summary line says, and the
    probes asked for that were never placed (specs, as given)."""
    reason = result.stop_reason or result.spawn_error or ""
    flags = formats.EndFlag.STOPPED_EARLY if result.stop_reason else formats.EndFlag.NONE
    if result.exits_unknown:
        flags |= formats.EndFlag.EXIT_STATUS_UNKNOWN
    return formats.End(
        -1 if result.exit_status is None else result.exit_status, int(flags),
        result.processes, result.threads, result.lost, result.detached,
        reason.encode("utf-8", "replace"), len(unplaced),
        formats.join_nul_strings([spec.encode("utf-8", "replace") for spec in unplaced]))


def _exit_status(options: RecordOptions, result: RunResult, failure: OutputError | None) -> int:
    # The trace could not be written (a full disk, a reader that went away): records
    # were lost, which must not pass for success whenever the command ended.
    if failure is not None:
        return 1
    if options.command:
        # Stopped by SIGTERM/SIGHUP/a second SIGINT: ktr ends as that signal says (128+N,
        # as perf record), not with the status of the SIGKILL it gave the command
        # (137 reads as an OOM kill); the END keeps the command's status.
        stopped_by = stop_signal(result.stop_reason)
        if stopped_by:
            return 128 + stopped_by
        if result.exit_status is not None:
            return result.exit_status
        return 127 if result.spawn_error else 1
    return 0


#: Pids named on the summary line of exits whose statuses are unknown (then "…").
_EXITS_NAMED = 8


def _exits_unknown_line(pids: tuple[int, ...]) -> str:
    """The exits seen without their statuses, said as such (never a status made up)."""
    named = ", ".join(str(pid) for pid in pids[:_EXITS_NAMED])
    if len(pids) > _EXITS_NAMED:
        named += f" and {len(pids) - _EXITS_NAMED} more"
    return (f"ktr: {_counted(len(pids), 'process', 'processes')} exited with exit status "
            f"unknown (pid {named}): recorded without ptrace, only a process's parent can "
            "wait for it")


def summary_lines(options: RecordOptions, report: RecordingReport) -> list[str]:
    """The lines printed when a recording ends (empty with -q, but for problems: a
    command not started, a failed output, records dropped, lost or not written)."""
    lines: list[str] = []
    result, stats = report.result, report.stats
    if report.late_signal and not options.quiet:  # (-q: the user sent it; END is there)
        lines.append(f"ktr: {signal.Signals(report.late_signal).name} came while the "
                     "recording closed; the trace was completed first")
    if result.spawn_error:
        lines.append(f"ktr: {result.spawn_error}")
    if report.output_failure is not None:
        if not report.failure_told:
            line = f"ktr: tracing stopped: {report.output_failure}"
            if result.killed:
                # (not detached as the output-failure rule says: seccomp's RET_TRACE
                # stops would fail the program's calls with ENOSYS once untraced)
                killed = (options.command[0] if options.command
                          else _counted(result.killed, "process", "processes"))
                line += (f"; {killed} killed: a program under the seccomp filter cannot "
                         "continue untraced (--no-seccomp lets it)")
            lines.append(line)
    elif result.stop_reason and not (options.quiet
                                     and result.stop_reason.startswith(INTERRUPTED_BY)):
        # (-q, as strace -q is silent about detaching: the user stopped it; the END says so)
        lines.append(f"ktr: recording stopped: {result.stop_reason}")
    for skipped in result.skipped:
        lines.append(f"ktr: {skipped}")
    unread, unread_errno = report.memory_unread
    if unread:
        lines.append(f"ktr: the memory of {_counted(unread, 'process', 'processes')} could not "
                     f"be read ({errno_text(unread_errno)}): the paths, I/O data, arguments "
                     "and structures of their calls are missing from the trace (shown empty)")
    dropped = sum(stats.drops.values())
    unwritten = stats.records_discarded + stats.records_refused
    if options.quiet and not dropped and not result.lost and not unwritten \
            and not stats.begin_lost and not unread:
        return lines
    if result.exits_unknown:  # (not a problem: said unless -q; the END has it anyway)
        lines.append(_exits_unknown_line(result.exits_unknown))
    where = "standard output" if options.output == "-" else options.output
    parts = [f"{stats.records_written} records ({_size(stats.bytes_written)}) to {where}",
             f"{dropped} dropped"]
    if dropped:
        reasons = "; ".join(f"{error.name} {count}: {formats.DROP_CAUSES[error]}"
                            for error, count in stats.drops.items() if count)
        parts[-1] += f" ({reasons})"
        ring_losses = stats.drops.get(formats.DropError.ENOBUFS, 0)
        if ring_losses:
            lines.append(f"ktr: {ring_losses} perf records lost (ENOBUFS): the kernel's ring "
                         "buffers filled faster than ktr drained them"
                         + (f"; -F {options.sample_hz} samples each thread that often, with "
                            f"{options.stack_bytes} bytes of stack each: a lower -F or "
                            "--stack-bytes loses fewer" if options.sample_hz else ""))
    if stats.begin_lost:
        # Nothing of the recording reached the output: its BEGIN was the first loss.
        lost = f"BEGIN and {_counted(unwritten, 'record', 'records')}" if unwritten else "BEGIN"
        parts.append(f"{lost} not written (the output failed)")
    elif unwritten:
        parts.append(f"{_counted(unwritten, 'record', 'records')} not written "
                     "(the output failed)")
    parts.append(f"{_counted(result.processes, 'process', 'processes')}, "
                 f"{_counted(result.threads, 'thread', 'threads')}")
    if result.lost:
        parts.append(f"{result.lost} lost")
    if result.detached:
        parts.append(f"{result.detached} detached")
    lines.append("ktr: " + "; ".join(parts))
    return lines


__all__ = ["RecordingReport", "record", "summary_lines"]
