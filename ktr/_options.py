"""``ktr record``'s command line, parsed into one frozen options object.

Guarantees: ``parse_record_arguments`` either returns a complete, validated
``RecordOptions`` or raises ``UsageError`` with a one-line message; nothing is
started, opened or attached here.

Does not: decide how the options are carried out (``_recorder`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import formats
from formats import DEFAULT_FACILITIES, Abi, FacilityError, RecordKind, kinds_for_facilities, linux

from ._control import DEFAULT_SPIN_US
from ._descriptor import (
    DELAY_MS_RANGE,
    DELAYQCNT_RANGE,
    MAXENTRY_RANGE,
    TIMEOUT_S_RANGE,
    QueueParameters,
)
from ._perfsource import DEFAULT_INTERVAL_MS, PerfOptions, check_counter_names
from .errors import OutputError, UsageError, errno_text

# The trace-set parser lives in formats, shared with ktrdump -e.
SyscallSelection = linux.SyscallSelection
ALL_SYSCALLS = linux.ALL_SYSCALLS

#: The I/O bytes kept per syscall unless -s says otherwise (the record notes the true size).
DEFAULT_IO_BYTES = 4096
#: --spin-us's range: spinning longer than a scheduler tick or two buys nothing.
SPIN_US_RANGE = (0, 1_000_000)
#: -p/-g: the kernel's PID_MAX_LIMIT bounds every pid and process group id.
PID_RANGE = (1, 4_194_304)
#: The most -s allows: half SPEC's batch cap, so the largest GENIO record (its
#: header and fixed fields included) always fits in a batch a reader accepts.
MAX_IO_BYTES = formats.MAX_BATCH_BYTES // 2
#: Facilities that need syscall stops at all.
SYSCALL_FACILITIES = frozenset("cniuav")


class _DefaultOutput(str):
    """The default output name, told apart from ``-o ktr.out`` by identity.

    Only an output the user named may be a FIFO or a device (FreeBSD ktrace's
    rule); keeping ``RecordOptions.output`` a plain ``str`` keeps the API simple.
    """

    __slots__ = ()


#: ``ktr.out`` in the current directory; it must be (or become) a regular file.
DEFAULT_OUTPUT: str = _DefaultOutput("ktr.out")


@dataclass(frozen=True)
class RecordOptions:
    output: str = DEFAULT_OUTPUT
    append: bool = False
    facilities: str = DEFAULT_FACILITIES
    kinds: frozenset[RecordKind] = field(
        default_factory=lambda: kinds_for_facilities(DEFAULT_FACILITIES))
    follow_children: bool = False  # -i
    descendants: bool = False  # -d
    io_bytes: int = DEFAULT_IO_BYTES  # -s
    compress: bool = False  # -z
    syscalls: SyscallSelection = ALL_SYSCALLS  # -e trace=
    quiet: bool = False  # -q
    queue: QueueParameters = field(default_factory=QueueParameters)
    spin_us: int = DEFAULT_SPIN_US
    pin_cpu: int | None = None
    seccomp: bool = True  # use the seccomp filter when it applies
    pids: tuple[int, ...] = ()
    process_group: int | None = None
    command: tuple[str, ...] = ()
    counters: tuple[str, ...] = ()  # -C: perf counter names, read per thread
    interval_ms: float = DEFAULT_INTERVAL_MS  # --interval
    list_counters: bool = False  # --list-counters: print the names and exit

    @property
    def perf(self) -> PerfOptions:
        """What the perf source records (context switches, counters)."""
        return PerfOptions(switches=RecordKind.CSW in self.kinds, counters=self.counters,
                           interval_ms=self.interval_ms)

    @property
    def kinds_recorded(self) -> frozenset[RecordKind]:
        """Record kinds this recording can write (CNT with -C)."""
        return self.kinds | {RecordKind.CNT} if self.counters else self.kinds

    def __post_init__(self) -> None:
        # The command line checks these at parse time; the same for API callers.
        if not SPIN_US_RANGE[0] <= self.spin_us <= SPIN_US_RANGE[1]:
            raise UsageError(f"spin_us must be from {_range(SPIN_US_RANGE)}, "
                             f"not {self.spin_us!r}")

    @property
    def output_named(self) -> bool:
        """False when ``output`` is the default ``ktr.out`` nobody named."""
        return self.output is not DEFAULT_OUTPUT

    @property
    def wants_syscall_stops(self) -> bool:
        return bool(SYSCALL_FACILITIES & set(self.facilities.replace("+", DEFAULT_FACILITIES)))

    def header_options(self) -> dict[str, object]:
        """What the file header records about this recording."""
        return {
            "facilities": self.facilities,
            "follow_children": self.follow_children,
            "descendants": self.descendants,
            "io_bytes": self.io_bytes,
            "compress": self.compress,
            "syscalls": self.syscalls.expression,
            "queue": {
                "maxentry": self.queue.maxentry,
                "timeout_s": self.queue.timeout_s,
                "delayqcnt": self.queue.delayqcnt,
                "wakedelay_ms": self.queue.wakedelay_ms,
                "intrwakdl_ms": self.queue.intrwakdl_ms,
            },
            "spin_us": self.spin_us,
            "pin_cpu": self.pin_cpu,
            "pids": list(self.pids[:HEADER_PIDS]),
            **({"pids_truncated": len(self.pids)} if len(self.pids) > HEADER_PIDS else {}),
            "process_group": self.process_group,
            **_header_command(self.command),
            "counters": list(self.counters),
            "interval_ms": self.interval_ms,
        }


#: The most of the command line the file header keeps (JSON bytes). SPEC caps the
#: whole header body at 1 MiB; the full argv is in the EXEC_ARG records anyway.
HEADER_COMMAND_BYTES = 64 * 1024
#: The most -p pids the header lists (the PROC records name every traced process).
HEADER_PIDS = 4096


def _header_command(command: Sequence[str]) -> dict[str, object]:
    """``command`` for the header: whole, or cut to HEADER_COMMAND_BYTES and marked."""
    kept: list[str] = []
    size = 0
    for argument in command:
        size += len(json.dumps(argument)) + 2
        if size > HEADER_COMMAND_BYTES:
            return {"command": kept, "command_truncated": {
                "arguments": len(command), "kept": len(kept)}}
        kept.append(argument)
    return {"command": kept}


class _Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"ktr record: {message} (see ktr record --help)")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse drops write errors; --help > /dev/full must not say "done".
        if not message:
            return
        stream: Any = sys.stdout if file is None else file
        if stream is None:
            raise OutputError("cannot write to standard output: it is closed", "-")
        try:
            stream.write(message)
            stream.flush()
        except OSError as error:
            number = error.errno if error.errno is not None else 0
            raise OutputError(f"cannot write to standard output: {errno_text(number)}", "-",
                              number) from None


RECORD_DESCRIPTION = """\
Record what processes do into a ktr trace file (ktrace for Linux).

Either start a command (-- CMD ARGS...) or attach to running processes
(-p PID[,PID...] or -g PGID). A started command is killed if the recorder
dies; attached processes are detached and left running on Ctrl-C, SIGTERM,
SIGHUP, or when the output fails.

Facilities (-t): c calls and returns (with the structures their arguments
point to), n paths (namei), i I/O data, s signals, u user records,
e emulation (ABI), a exec arguments, v exec environment, p process
lifecycle, t structures alone, + the default set (cnisuepa).
"""

RECORD_EPILOG = """\
seccomp fast path: when a command is started and -e trace= (or -t) does not
need every syscall, a seccomp-bpf filter makes only the selected syscalls stop
(like strace --seccomp-bpf). A filtered program is never detached: it lives
and dies with the recording. Attaching (-p, -g) cannot use the filter.

--pin puts the recorder and its tracees on one CPU: each ptrace stop is then a
few microseconds instead of tens, but the program sees the changed affinity
mask and its threads run one at a time. The choice is recorded in the file.
"""


def _ranged(kind: type[int] | type[float], low: float, high: float) -> Any:
    """An argparse type: a finite ``kind`` from ``low`` to ``high``, else a one-line error."""

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            value = None
        # "not low <= value" also refuses NaN (and inf is above any high).
        if value is None or not low <= value <= high:
            noun = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"must be {noun} from {_range((low, high))}, "
                                             f"not {text!r}")
        return value

    return parse


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _range(bounds: tuple[float, float]) -> str:
    return f"{_number(bounds[0])} to {_number(bounds[1])}"


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="ktr record", description=RECORD_DESCRIPTION, epilog=RECORD_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-o", dest="output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help="trace file (default ktr.out; - writes to stdout); created "
                             "0600; never a symlink, another user's file, or (unless named "
                             "here) a FIFO or device")
    parser.add_argument("-a", dest="append", action="store_true",
                        help="append to the trace file (your own ktr trace) instead of "
                             "replacing it")
    parser.add_argument("-t", dest="facilities", default=None, metavar="TRSTR",
                        help=f"facilities to record (default {DEFAULT_FACILITIES})")
    parser.add_argument("-i", dest="follow_children", action="store_true",
                        help="also trace children created after the start")
    parser.add_argument("-d", dest="descendants", action="store_true",
                        help="also attach to the existing descendants of -p/-g targets")
    parser.add_argument("-s", dest="io_bytes", type=int, default=DEFAULT_IO_BYTES,
                        metavar="BYTES",
                        help=f"I/O bytes kept per syscall (default {DEFAULT_IO_BYTES}, "
                             f"at most {MAX_IO_BYTES})")
    parser.add_argument("-z", dest="compress", action="store_true",
                        help="zstd-compress batches")
    parser.add_argument("-e", dest="expression", action="append", default=[],
                        metavar="trace=SET",
                        help="syscalls to record: names and strace classes "
                             "(%%file %%process %%network %%signal %%ipc %%desc %%memory), "
                             "comma-separated; a leading ! inverts")
    parser.add_argument("-q", dest="quiet", action="store_true",
                        help="no status line and no summary")
    parser.add_argument("-p", dest="pids", action="append", default=[], metavar="PID[,PID...]",
                        help="attach to these processes (all their threads)")
    parser.add_argument("-g", dest="process_group", type=_ranged(int, *PID_RANGE),
                        metavar="PGID", help="attach to every process of this process group")
    queue = parser.add_argument_group("queue (ktrace's descriptor parameters)")
    defaults = QueueParameters()
    queue.add_argument("--queue-max", type=_ranged(int, *MAXENTRY_RANGE),
                       default=defaults.maxentry, metavar="N",
                       help="records queued before new ones are dropped (maxentry; default "
                            f"{defaults.maxentry}; {_range(MAXENTRY_RANGE)})")
    queue.add_argument("--timeout", type=_ranged(float, *TIMEOUT_S_RANGE),
                       default=defaults.timeout_s, metavar="S",
                       help="longest wait for the writer before dropping instead (default "
                            f"{defaults.timeout_s:g}; {_range(TIMEOUT_S_RANGE)})")
    queue.add_argument("--delay-count", type=_ranged(int, *DELAYQCNT_RANGE),
                       default=defaults.delayqcnt, metavar="N",
                       help="queue length that wakes the writer at once (default "
                            f"{defaults.delayqcnt}; {_range(DELAYQCNT_RANGE)})")
    queue.add_argument("--wake-delay", type=_ranged(float, *DELAY_MS_RANGE),
                       default=defaults.wakedelay_ms, metavar="MS",
                       help=f"delayed writer wakeup (default {defaults.wakedelay_ms:g}; "
                            f"{_range(DELAY_MS_RANGE)})")
    queue.add_argument("--interactive-delay", type=_ranged(float, *DELAY_MS_RANGE),
                       default=defaults.intrwakdl_ms, metavar="MS",
                       help="delayed writer wakeup when the output is a pipe or terminal "
                            f"(default {defaults.intrwakdl_ms:g}; {_range(DELAY_MS_RANGE)})")
    control = parser.add_argument_group("process control")
    control.add_argument("--spin-us", type=_ranged(int, *SPIN_US_RANGE),
                         default=DEFAULT_SPIN_US, metavar="US",
                         help=f"poll for stops this long before blocking (default "
                              f"{DEFAULT_SPIN_US}; 0 always blocks; {_range(SPIN_US_RANGE)})")
    control.add_argument("--pin", nargs="?", const=-1, type=int, default=None, metavar="CPU",
                         help="run the recorder and its tracees on one CPU "
                              "(default: the lowest CPU ktr may use)")
    control.add_argument("--no-seccomp", dest="seccomp", action="store_false",
                         help="never use the seccomp filter")
    counting = parser.add_argument_group("counters (perf_event, per thread)")
    counting.add_argument("-C", dest="counters", action="append", default=[],
                          metavar="EVENTS",
                          help="count these events per thread (perf's names, comma-separated: "
                               "task-clock,page-faults,context-switches,...); without -t, "
                               "only counters and process lifecycle are recorded")
    counting.add_argument("--interval", dest="interval_ms", type=float,
                          default=DEFAULT_INTERVAL_MS, metavar="MS",
                          help=f"read the counters every MS ms (default {DEFAULT_INTERVAL_MS:g})"
                               "; a last reading is taken at each thread's exit")
    counting.add_argument("--list-counters", action="store_true",
                          help="print the counter names this machine has and exit")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- CMD [ARGS...]: the command to start and trace")
    return parser


def parse_syscall_expression(expression: str) -> SyscallSelection:
    """``trace=SET``: names and %classes, comma-separated; ``!`` inverts; ``all``.

    The syntax is ``formats.linux.parse_trace_set``'s (ktrdump -e reads the same).
    """
    if expression.startswith(("signal=", "read=", "write=", "abbrev=", "verbose=", "raw=")):
        raise UsageError(f"ktr record: -e {expression.split('=')[0]}= is not supported "
                         "(only trace=)")
    try:
        return linux.parse_trace_set(expression, (Abi.X86_64, Abi.I386))
    except linux.TraceSetError as error:
        raise UsageError(f"ktr record: {error}") from None


def parse_record_arguments(argv: Sequence[str]) -> RecordOptions:
    parser = _build_parser()
    arguments = parser.parse_args(list(argv))
    command = list(arguments.command)
    if command and command[0] == "--":
        command = command[1:]
    counters = tuple(name.strip() for text in arguments.counters for name in text.split(",")
                     if name.strip())
    if arguments.list_counters:
        return RecordOptions(list_counters=True)
    if arguments.counters and not counters:
        raise UsageError("ktr record: -C needs counter names (see --list-counters)")
    if len(set(counters)) != len(counters):
        raise UsageError("ktr record: -C: a counter is named twice")
    if counters:
        check_counter_names(counters)
    if not 1 <= arguments.interval_ms <= 3_600_000:
        raise UsageError("ktr record: --interval must be between 1 and 3600000 ms")
    if arguments.facilities is None:
        # -C alone counts, like cputrack: lifecycle records, no syscall stops
        arguments.facilities = "p" if counters else DEFAULT_FACILITIES
    try:
        kinds = kinds_for_facilities(arguments.facilities)
    except FacilityError as error:
        raise UsageError(f"ktr record: -t: {error}") from None
    pids: list[int] = []
    for text in arguments.pids:
        for part in text.split(","):
            try:
                pid = int(part)
            except ValueError:
                raise UsageError(f"ktr record: -p: {part!r} is not a process id") from None
            if not PID_RANGE[0] <= pid <= PID_RANGE[1]:
                raise UsageError(f"ktr record: -p: {pid} is not a process id "
                                 f"({_range(PID_RANGE)})")
            pids.append(pid)
    targets = sum(bool(t) for t in (pids, arguments.process_group is not None, command))
    if targets == 0:
        raise UsageError("ktr record: nothing to trace: give -p PID, -g PGID or -- CMD")
    if targets > 1:
        raise UsageError("ktr record: give only one of -p, -g and -- CMD")
    if arguments.descendants and command:
        raise UsageError("ktr record: -d applies to -p/-g targets (use -i with a command)")
    if arguments.io_bytes < 0:
        raise UsageError("ktr record: -s must be 0 or more")
    if arguments.io_bytes > MAX_IO_BYTES:
        raise UsageError(f"ktr record: -s {arguments.io_bytes} is over the maximum, "
                         f"{MAX_IO_BYTES} (8 MiB: half the trace format's batch cap)")
    selection = ALL_SYSCALLS
    for expression in arguments.expression:
        if selection is not ALL_SYSCALLS:
            raise UsageError("ktr record: give -e trace= once")
        selection = parse_syscall_expression(expression)
    pin_cpu = arguments.pin
    if pin_cpu == -1:
        pin_cpu = min(os.sched_getaffinity(0))
    if pin_cpu is not None and pin_cpu not in os.sched_getaffinity(0):
        raise UsageError(f"ktr record: --pin: CPU {pin_cpu} is not available to ktr")
    return RecordOptions(
        output=arguments.output,
        append=arguments.append,
        facilities=arguments.facilities,
        kinds=kinds,
        follow_children=arguments.follow_children,
        descendants=arguments.descendants,
        io_bytes=arguments.io_bytes,
        compress=arguments.compress,
        syscalls=selection,
        quiet=arguments.quiet,
        queue=_queue_parameters(arguments),
        spin_us=0 if pin_cpu is not None else arguments.spin_us,
        pin_cpu=pin_cpu,
        seccomp=arguments.seccomp,
        pids=tuple(pids),
        process_group=arguments.process_group,
        command=tuple(command),
        counters=counters,
        interval_ms=arguments.interval_ms,
    )


def _queue_parameters(arguments: argparse.Namespace) -> QueueParameters:
    try:
        return QueueParameters(
            maxentry=arguments.queue_max, timeout_s=arguments.timeout,
            delayqcnt=arguments.delay_count, wakedelay_ms=arguments.wake_delay,
            intrwakdl_ms=arguments.interactive_delay,
        )
    except UsageError as error:
        raise UsageError(f"ktr record: {error}") from None
