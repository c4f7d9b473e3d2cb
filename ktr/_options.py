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
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import formats
from formats import (
    DEFAULT_FACILITIES,
    FACILITY_HELP,
    Abi,
    FacilityError,
    RecordKind,
    kinds_for_facilities,
    linux,
)

from ._control import DEFAULT_SPIN_US
from ._descriptor import (
    DELAY_MS_RANGE,
    DELAYQCNT_RANGE,
    MAXBYTES_RANGE,
    MAXENTRY_RANGE,
    QUEUE_HALF_BYTES,
    TIMEOUT_S_RANGE,
    QueueParameters,
)
from .errors import OutputError, UsageError, errno_text

if TYPE_CHECKING:
    # Imported when a recording uses them: together a tenth of the start-up.
    from ._perfsource import PerfOptions
    from ._probes import ProbeSpec

DEFAULT_INTERVAL_MS = 100.0  # --interval: counters read every 100 ms
DEFAULT_MAX_PROBES = 1000  # --max-probes

# The trace-set parser lives in formats, shared with ktrdump -e.
SyscallSelection = linux.SyscallSelection
ALL_SYSCALLS = linux.ALL_SYSCALLS

#: The I/O bytes kept per syscall unless -s says otherwise (the record notes the true size).
DEFAULT_IO_BYTES = 4096
#: Why --pin (pin_cpu) is refused where it cannot apply: it makes ptrace stops cheap by
#: putting the recorder and its tracees on one CPU; a recording without ptrace has no
#: stops, and pinning the program for nothing would only change what is measured.
PIN_WITHOUT_PTRACE = ("it makes ptrace stops cheap, and -t w, -t S or -t wS (at any -F) "
                      "record without ptrace (nothing is stopped); to run the program on one "
                      "CPU, start it under taskset")

#: Why --spin-us is refused there too: it is how long the ptrace loop polls for a stop
#: before it blocks; without ptrace nothing stops and there is no such loop.
SPIN_WITHOUT_PTRACE = ("it is how long ktr polls for ptrace stops, and -t w, -t S or -t wS "
                       "(at any -F) record without ptrace (nothing is stopped)")

#: --spin-us's range: spinning longer than a scheduler tick or two buys nothing.
SPIN_US_RANGE = (0, 1_000_000)
#: --interval (ms between counter readings) and --max-probes (uprobes are
#: machine-wide state: a glob must not place an unbounded number of them).
INTERVAL_MS_RANGE = (1, 3_600_000)
MAX_PROBES_RANGE = (1, 100_000)
#: -p/-g: the kernel's PID_MAX_LIMIT bounds every pid and process group id.
PID_RANGE = (1, 4_194_304)
#: The most -s allows: half SPEC's batch cap, so the largest GENIO record (its
#: header and fixed fields included) always fits in a batch a reader accepts.
MAX_IO_BYTES = formats.MAX_BATCH_BYTES // 2
#: Samples per second with -t S and no -F (perf's habit of avoiding lockstep with timers).
DEFAULT_SAMPLE_HZ = 99
DEFAULT_STACK_BYTES = 8192
MAX_STACK_BYTES = 65528  # the kernel's limit for a sample's user-stack copy
MAX_SAMPLE_HZ = 100_000  # kernel.perf_event_max_sample_rate's default
#: Facilities that need syscall stops at all.
SYSCALL_FACILITIES = formats.SYSCALL_FACILITIES


#: Syscall facilities that need stops at some syscalls only (``facility_syscalls``).
_NARROW_FACILITIES = "niuav"
_SELECTION_ABIS = (Abi.X86_64, Abi.I386)
_EXEC_CALLS = frozenset({"execve", "execveat"})
#: Record kinds any selected call may make: with one of them every selected call stops.
_EVERY_CALL_KINDS = frozenset({RecordKind.SYSCALL, RecordKind.SYSRET, RecordKind.STRUCT})


def _facility_needs(letters: frozenset[str], abi: Abi, name: str) -> bool:
    """Whether syscall ``name`` makes a record of one of these facilities (n, i, a, v):
    a path argument (NAMI), I/O data (GIO; i386 socketcall's send and receive), the
    exec strings (ARG, ENV). u's utrace syscall is the recorder's to add; with s,
    rt_sigaction too (the handler a caught signal's PSIG names)."""
    if letters & set("av") and name in _EXEC_CALLS:
        return True
    if not letters & set("ni"):
        return False
    if "i" in letters and name == "socketcall":
        return True
    signature = linux.signature(abi, name)
    if signature is None:
        return False
    return bool(("n" in letters and signature.path_args)
                or ("i" in letters and signature.io_args))


#: ``-e NAME=...``: a qualifier (no syscall name holds ``=``; a /regex starts with /).
_QUALIFIER = re.compile(r"([a-z][a-z_-]*)=")

#: ``--pin`` without a CPU (argparse hands ``const`` over as it is, not through ``type``).
_PIN_LOWEST = object()


class _DefaultOutput(str):
    """The default output name, told apart from ``-o ktr.out`` by its type.

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
    sample_hz: int | None = None  # -F: stack samples per second of CPU time
    stack_bytes: int = DEFAULT_STACK_BYTES  # --stack-bytes
    #: with -F: keep mapped files deleted or replaced in the build-id cache at this
    #: directory (--build-id-cache; "" the default place; None: --no-build-id-cache)
    build_id_cache: str | None = ""
    counters: tuple[str, ...] = ()  # -C: perf counter names, read per thread
    interval_ms: float = DEFAULT_INTERVAL_MS  # --interval
    list_counters: bool = False  # --list-counters: print the names and exit
    probes: tuple[ProbeSpec, ...] = ()  # -P
    max_probes: int = DEFAULT_MAX_PROBES  # --max-probes
    list_probes: tuple[str, ...] = ()  # --list-probes MODULE [GLOB]

    @property
    def perf_wanted(self) -> bool:
        """Whether the perf source runs (``perf.active``, without importing it)."""
        return RecordKind.CSW in self.kinds or bool(self.counters)

    @property
    def perf(self) -> PerfOptions:
        """What the perf source records (context switches, counters)."""
        from ._perfsource import PerfOptions

        return PerfOptions(switches=RecordKind.CSW in self.kinds, counters=self.counters,
                           interval_ms=self.interval_ms,
                           inherited=self.records_without_ptrace,
                           children=self.follow_children)

    @property
    def records_without_ptrace(self) -> bool:
        """Recording context switches and stack samples alone (-t w, -t S), of a
        started command or of attached processes (-p, -g): the perf sources
        follow the targets by inheritance, nothing stops them (``_perfattach``)."""
        return ((bool(self.command) or bool(self.pids) or self.process_group is not None)
                and self.kinds_recorded <= {RecordKind.CSW, RecordKind.SAMPLE, RecordKind.MMAP}
                and (RecordKind.CSW in self.kinds or self.sample_hz is not None)
                and not self.counters and not self.probes)

    @property
    def kinds_recorded(self) -> frozenset[RecordKind]:
        """Record kinds this recording can write (CNT with -C)."""
        return self.kinds | {RecordKind.CNT} if self.counters else self.kinds

    def __post_init__(self) -> None:
        if self.output == "/dev/stdout":
            # standard output itself, as -o - (the symlink rule refuses the name)
            object.__setattr__(self, "output", "-")
        # The one place of the range checks: the command line's options become these
        # fields and get the same messages (named by the option; the field's comment
        # above names it too).
        if not self.output:
            raise UsageError("ktr record: -o: the file name is empty (give -o FILE, or -o - "
                             "for standard output)")
        if self.io_bytes < 0:
            raise UsageError("ktr record: -s must be 0 or more")
        if self.io_bytes > MAX_IO_BYTES:
            raise UsageError(f"ktr record: -s {self.io_bytes} is over the maximum, "
                             f"{MAX_IO_BYTES} (8 MiB: half the trace format's batch cap)")
        if self.sample_hz is not None and not 1 <= self.sample_hz <= MAX_SAMPLE_HZ:
            raise UsageError(f"ktr record: -F must be between 1 and {MAX_SAMPLE_HZ}")
        for pid in (*self.pids, *(() if self.process_group is None else (self.process_group,))):
            if not PID_RANGE[0] <= pid <= PID_RANGE[1]:
                raise UsageError(f"ktr record: -p: {pid} is not a process id "
                                 f"({_range(PID_RANGE)})")
        for name, value, bounds in (("--spin-us", self.spin_us, SPIN_US_RANGE),
                                    ("--interval", self.interval_ms, INTERVAL_MS_RANGE),
                                    ("--max-probes", self.max_probes, MAX_PROBES_RANGE)):
            if not bounds[0] <= value <= bounds[1]:  # (also refuses NaN)
                raise UsageError(f"ktr record: {name} must be from {_range(bounds)}, "
                                 f"not {value!r}")
        if self.pin_cpu is not None and self.records_without_ptrace:
            raise UsageError(f"ktr record: --pin: {PIN_WITHOUT_PTRACE}")
        if self.spin_us != DEFAULT_SPIN_US and self.records_without_ptrace:
            raise UsageError(f"ktr record: --spin-us: {SPIN_WITHOUT_PTRACE}")
        if not 0 <= self.stack_bytes <= MAX_STACK_BYTES:
            raise UsageError(f"ktr record: --stack-bytes must be between 0 and "
                             f"{MAX_STACK_BYTES}")
        if self.stack_bytes % 8:  # (the command line rounds it up)
            raise UsageError(f"ktr record: --stack-bytes must be a multiple of 8, "
                             f"not {self.stack_bytes!r}")

    @property
    def output_named(self) -> bool:
        """False when ``output`` is the default ``ktr.out`` nobody named."""
        return not isinstance(self.output, _DefaultOutput)

    @property
    def wants_syscall_stops(self) -> bool:
        return bool(SYSCALL_FACILITIES & set(self.facilities.replace("+", DEFAULT_FACILITIES)))

    @property
    def facility_syscalls(self) -> dict[Abi, frozenset[int]] | None:
        """The syscalls the facilities themselves need stops at (None: every one).

        u alone needs only ktr.utrace's syscall (added by the recorder), a and v only
        execve and execveat (their arguments are read at the call's entry), n the
        calls with a path argument, i those that move I/O data: without -e, stopping
        at every other syscall made such a recording as slow as -t c (each call two
        stops) for nothing. c records every selected call.
        """
        letters = SYSCALL_FACILITIES & set(self.facilities.replace("+", DEFAULT_FACILITIES))
        if letters - set(_NARROW_FACILITIES) or self.kinds & _EVERY_CALL_KINDS:
            return None  # (t: any call's structures, as c's)
        signals = RecordKind.PSIG in self.kinds
        return {abi: frozenset(nr for nr, name in linux.syscall_names(abi).items()
                               if _facility_needs(letters, abi, name)
                               or (signals and name == "rt_sigaction"))
                for abi in _SELECTION_ABIS}

    def header_options(self) -> dict[str, object]:
        """What the file header records about this recording: strict JSON, a string from
        bytes that are not UTF-8 (an argument, a probe spec: ``surrogateescape`` here)
        as U+FFFD text with a ``KEY_hex`` sibling (SPEC, ``formats.json_safe``), never
        a lone surrogate."""
        options = formats.json_safe(self._header_options())
        assert isinstance(options, dict)
        return options

    def _header_options(self) -> dict[str, object]:
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
            "sample_hz": self.sample_hz,
            "stack_bytes": self.stack_bytes,
            "probes": [spec.text[:4096] for spec in self.probes[:HEADER_PIDS]],
            "max_probes": self.max_probes,
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


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """argparse's layout, with the width found without importing shutil.

    argparse makes a formatter for every ``add_argument``, and its own width
    lookup imports shutil (and with it bz2 and lzma): milliseconds of every
    start-up. The width is shutil.get_terminal_size's: ``$COLUMNS``, else the
    terminal of standard output, else 80; less 2, as argparse takes it.
    """

    def __init__(self, prog: str) -> None:
        try:
            columns = int(os.environ["COLUMNS"])
        except (KeyError, ValueError):
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
            except (AttributeError, ValueError, OSError):
                columns = 0
        super().__init__(prog, width=(columns or 80) - 2)


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
dies; it gets Ctrl-C itself, and a second Ctrl-C while it runs on stops the
recording (the command is killed, as on SIGTERM). Attached processes are
detached and left running on Ctrl-C, SIGTERM, SIGHUP, or when the output
fails.

Facilities (-t), ktrace's letters:
"""

RECORD_DESCRIPTION += "".join(
    f"  {letter}  {text}\n" for letter, text in FACILITY_HELP.items())
RECORD_DESCRIPTION += f"  +  the default set ({DEFAULT_FACILITIES})\n"
RECORD_DESCRIPTION += (
    "Without c, n, i, u, a, v or t the traced program gets no syscall stops at all\n"
    "(-t w, -t pw, -C alone).\n"
    "Under ptrace, w counts ktr's own stops: each stop (a recorded syscall's entry\n"
    "and exit; a signal, fork, clone, exec or exit) is a real voluntary switch out\n"
    "and in of the thread, as getrusage's ru_nvcsw counts it; ktrdump --summary\n"
    "says so under its switch table. -t w alone (below) adds none.\n"
    "w and S alone (-t w, -t S, -t wS) use no ptrace, for a started command (as\n"
    "perf record -- CMD) or attached processes (as perf record -p): perf events\n"
    "inherited by new threads (and children with -i) follow the program, nothing\n"
    "stops it (no EINTR from a blocked epoll_wait, no switch of ktr's own), and\n"
    "the recording ends when every watched process has exited. A started command\n"
    "is held before its exec while its events are opened; its exit status is\n"
    "kept, but not those of attached processes or of its children, and there are\n"
    "no PROC records; it is killed on Ctrl-C twice, SIGTERM or SIGHUP, but not if\n"
    "ktr itself is killed (SIGKILL). Otherwise attaching stops each thread for a\n"
    "moment (ptrace, as strace -p): a blocked epoll_wait, sigtimedwait or semop\n"
    "returns EINTR.\n")

RECORD_EPILOG = """\
seccomp fast path: when a command is started and -e trace= (or -t) does not
need every syscall, a seccomp-bpf filter makes only the selected syscalls stop
(like strace --seccomp-bpf), and those that change what the program may read
(mmap, mprotect, mremap, munmap: not recorded unless selected; ktr never
records memory the program may not read). A filtered program is never detached: it lives
and dies with the recording. Attaching (-p, -g) cannot use the filter.

--pin puts the recorder and its tracees on one CPU: each ptrace stop is then a
few microseconds instead of tens, but the program sees the changed affinity
mask and its threads run one at a time. The choice is recorded in the file.
Recordings without ptrace (-t w, -t S, -t wS, at any -F) stop nothing: --pin
and --spin-us are refused there (taskset pins a program). -F without -t adds
samples to the default facilities, whose syscalls are recorded under ptrace:
--pin applies.

exit status: the started command's (if signal N killed it, ktr dies of N too
once the trace is complete, as strace does, leaving no core of its own; 127 if
it was not found, 126 if it could not be executed, as shells, with a trace of
the failed execve); 1 if the trace could not be written to the end (a full
disk, a reader of -o - that went away: records were lost), even when the
command succeeded, or on any other error; 2 for a bad option; 0 after
recording attached processes.

output failure (a full disk, the reader of -o - gone): tracing stops at once.
A started command is not killed: it is detached and continues untraced, one
line says so, and ktr waits for it to end (it stays ktr's child, never left to
init), then exits 1; SIGTERM, SIGHUP and SIGINT to ktr meanwhile are passed on
to it (SIGINT only when the terminal did not give it to the command already),
so Ctrl-C still ends both. Attached processes are detached and keep running.
A command under the seccomp filter (above) cannot run untraced: it is killed,
and the line says so (--no-seccomp keeps it running).
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


def record_usage() -> str:
    """``ktr record``'s usage line, every option in it (argparse's, from the parser)."""
    return _build_parser().format_usage()


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="ktr record", description=RECORD_DESCRIPTION, epilog=RECORD_EPILOG,
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("-o", dest="output", default=DEFAULT_OUTPUT, metavar="FILE",
                        help="trace file (default %(default)s; - or /dev/stdout writes to "
                             "stdout); created "
                             "0600; never a symlink, another user's file, or (unless named "
                             "here) a FIFO or device")
    parser.add_argument("-a", dest="append", action="store_true",
                        help="append to the trace file (your own ktr trace) instead of "
                             "replacing it")
    parser.add_argument("-t", dest="facilities", default=None, metavar="TRSTR",
                        help=f"facilities to record, letters listed above (default "
                             f"{DEFAULT_FACILITIES})")
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
                             "/REGEX, numbers, ?ITEM (no error if it names nothing), "
                             "comma-separated; a leading ! inverts (default: all); "
                             "given more than once, the last counts (as strace's)")
    parser.add_argument("-q", dest="quiet", action="store_true",
                        help="quiet: no status line, no summary, and nothing said when "
                             "Ctrl-C, SIGTERM or SIGHUP stops the recording (as strace -q "
                             "of detaching); errors, records dropped, lost or not written, "
                             "and targets skipped are still said")
    parser.add_argument("-p", dest="pids", action="append", default=[], metavar="PID[,PID...]",
                        help="attach to these processes (all their threads; a thread "
                             "id means its whole process, unlike strace -p TID)")
    parser.add_argument("-g", dest="process_group", type=_ranged(int, *PID_RANGE),
                        metavar="PGID", help="attach to every process of this process group")
    queue = parser.add_argument_group("queue (ktrace's descriptor parameters)")
    defaults = QueueParameters()
    queue.add_argument("--queue-max", type=_ranged(int, *MAXENTRY_RANGE),
                       metavar="N",
                       help="records queued before new ones are dropped (maxentry; default "
                            f"{defaults.maxentry}, down to 1000 when -s is large, so that "
                            f"half the queue holds at most {QUEUE_HALF_BYTES >> 20} MiB; "
                            f"{_range(MAXENTRY_RANGE)})")
    queue.add_argument("--queue-bytes", type=_ranged(int, *MAXBYTES_RANGE),
                       default=defaults.maxbytes, metavar="BYTES",
                       help="record bytes queued before new records are dropped; half of it "
                            "makes the traced threads wait for the writer, a quarter wakes it "
                            f"(default {defaults.maxbytes}; {_range(MAXBYTES_RANGE)})")
    queue.add_argument("--timeout", type=_ranged(float, *TIMEOUT_S_RANGE),
                       default=defaults.timeout_s, metavar="S",
                       help="longest wait for the writer before dropping instead (default "
                            f"{defaults.timeout_s:g}; {_range(TIMEOUT_S_RANGE)})")
    queue.add_argument("--delay-count", type=_ranged(int, *DELAYQCNT_RANGE),
                       metavar="N",
                       help="queue length that wakes the writer at once (default a quarter "
                            f"of --queue-max, {defaults.delayqcnt} with the default; "
                            f"{_range(DELAYQCNT_RANGE)})")
    queue.add_argument("--flush-interval", "--wake-delay", dest="wake_delay",
                       type=_ranged(float, *DELAY_MS_RANGE),
                       default=defaults.wakedelay_ms, metavar="MS",
                       help="longest a record waits before a file gets it: what a "
                            "SIGKILLed ktr loses (ktrace's delayed writer wakeup; default "
                            f"{defaults.wakedelay_ms:g}; busy recordings write full batches "
                            f"sooner; {_range(DELAY_MS_RANGE)})")
    queue.add_argument("--interactive-delay", type=_ranged(float, *DELAY_MS_RANGE),
                       default=defaults.intrwakdl_ms, metavar="MS",
                       help="delayed writer wakeup when the output is a pipe or terminal "
                            f"(default {defaults.intrwakdl_ms:g}; {_range(DELAY_MS_RANGE)})")
    sampling = parser.add_argument_group("stack sampling")
    sampling.add_argument("-F", dest="sample_hz", type=int, metavar="HZ",
                          help="sample each traced thread's stack HZ times per second of its "
                               "CPU time (SAMPLE and MMAP records; ktrdump unwinds them; "
                               f"-t S alone: {DEFAULT_SAMPLE_HZ} Hz); without -t, syscalls "
                               "are recorded too, under ptrace: -t S -F HZ for samples "
                               "alone, without ptrace")
    sampling.add_argument("--stack-bytes", type=int, default=DEFAULT_STACK_BYTES, metavar="N",
                          help="bytes of user stack copied per sample (default "
                               f"{DEFAULT_STACK_BYTES}, at most {MAX_STACK_BYTES})")
    sampling.add_argument("--build-id-cache", metavar="DIR", default="",
                          help="keep a copy of each mapped file that is deleted or replaced "
                               "while recorded in DIR/build-id, where ktrdump finds it by "
                               "build id (default: ktrdump's symbol cache directory, "
                               "$KTR_CACHE_DIR, $XDG_CACHE_HOME/ktr or ~/.cache/ktr)")
    sampling.add_argument("--no-build-id-cache", action="store_true",
                          help="keep no copies of deleted or replaced mapped files")
    control = parser.add_argument_group("process control")
    control.add_argument("--spin-us", type=_ranged(int, *SPIN_US_RANGE),
                         default=None, metavar="US",
                         help=f"poll for ptrace stops this long before blocking; refused "
                              f"with -t w, -t S, -t wS: they use no ptrace, at any -F (default "
                              f"{DEFAULT_SPIN_US}; 0 always blocks; {_range(SPIN_US_RANGE)})")
    control.add_argument("--pin", nargs="?", const=_PIN_LOWEST, type=int, default=None,
                         metavar="CPU",
                         help="run the recorder and its tracees on one CPU, making "
                              "ptrace stops cheap (default: not pinned; --pin alone: the "
                              "lowest CPU ktr may use; refused with -t w, -t S, -t wS: "
                              "they use no ptrace, at any -F)")
    control.add_argument("--no-seccomp", dest="seccomp", action="store_false",
                         help="never use the seccomp filter")
    counting = parser.add_argument_group("counters (perf_event, per thread)")
    counting.add_argument("-C", dest="counters", action="append", default=[],
                          metavar="EVENTS",
                          help="count these events per thread (perf's names, comma-separated: "
                               "task-clock,page-faults,context-switches,...); without -t, "
                               "only counters and process lifecycle are recorded")
    counting.add_argument("--interval", dest="interval_ms",
                          type=_ranged(float, *INTERVAL_MS_RANGE),
                          default=DEFAULT_INTERVAL_MS, metavar="MS",
                          help=f"read the counters every MS ms (default {DEFAULT_INTERVAL_MS:g}"
                               f"; {_range(INTERVAL_MS_RANGE)}); a last reading is taken at "
                               "each thread's exit")
    counting.add_argument("--list-counters", action="store_true",
                          help="print the counter names this machine has and exit")
    probes = parser.add_argument_group("function probes (uprobes; root)")
    probes.add_argument("-P", dest="probes", action="append", default=[], metavar="PROBE",
                        help="probe [MODULE:]FUNCTION[:POINT][(TYPES)]: POINT is entry "
                        "(default), return or +OFFSET (into the function); TYPES i64 u64 x64 "
                        "i32 u32 x32 i16 u16 i8 u8 ptr str float (not fetched); FUNCTION may "
                        "be a glob, or an address 0xADDR as nm shows it (stripped files); "
                        "a C++ function by its name as the binary spells it or as nm -C "
                        "shows it, ns::f(int) (ns::f if it names one function) "
                        "(repeatable)")
    probes.add_argument("--max-probes", type=_ranged(int, *MAX_PROBES_RANGE),
                        default=DEFAULT_MAX_PROBES, metavar="N",
                        help=f"most probes a recording places (default {DEFAULT_MAX_PROBES}; "
                             f"{_range(MAX_PROBES_RANGE)})")
    probes.add_argument("--list-probes", nargs="+", metavar="MODULE [GLOB]", default=None,
                        help="list the functions MODULE can be probed at (with -p PID, "
                        "MODULE is matched against that process's mappings) and exit; "
                        "a C++ function is also shown as c++filt shows it")
    from . import __version__  # (ktr's package is loaded before its modules)

    parser.add_argument("--version", action="version", version=f"ktr {__version__}",
                        help="print ktr's version and exit (as ktr --version)")
    parser.add_argument("command", nargs=argparse.REMAINDER,
                        help="-- CMD [ARGS...]: the command to start and trace")
    return parser


#: Those ktrdump filters a recording by (its -e).
_KTRDUMP_QUALIFIERS = frozenset({"signal", "signals", "s", "status"})


def parse_syscall_expression(expression: str) -> SyscallSelection:
    """``trace=SET``: names and %classes, comma-separated; ``!`` inverts; ``all``.

    The syntax is ``formats.linux.parse_trace_set``'s (ktrdump -e reads the same).
    """
    qualifier = _QUALIFIER.match(expression)
    if qualifier is not None:
        # strace's other qualifiers (signal=, status=, quiet=, ...) and its t= for trace=
        name = qualifier.group(1)
        if name == "t":
            expression = "trace=" + expression[qualifier.end():]
        elif name != "trace":
            after = (f"; ktrdump -e {name}= filters a recording"
                     if name in _KTRDUMP_QUALIFIERS else "")
            raise UsageError(f"ktr record: -e {name}= is not supported (only trace={after})")
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
        from ._perfsource import check_counter_names

        check_counter_names(counters)
    if arguments.facilities is None:
        # -C alone counts, like cputrack: lifecycle records, no syscall stops
        arguments.facilities = "p" if counters else DEFAULT_FACILITIES
    if not arguments.facilities:
        # (-t "$EMPTY" in a script): a recording of nothing but its BEGIN and END
        raise UsageError("ktr record: -t: no facility letters (+ is the default set, "
                         f"{DEFAULT_FACILITIES})")
    try:
        kinds = kinds_for_facilities(arguments.facilities)
    except FacilityError as error:
        raise UsageError(f"ktr record: -t: {error}") from None
    if RecordKind.CNT in kinds and not counters:
        raise UsageError("ktr record: -t C records counter readings: name the counters "
                         "with -C (see --list-counters)")
    pids: list[int] = []
    for text in arguments.pids:
        for part in text.split(","):
            try:
                pid = int(part)
            except ValueError:
                raise UsageError(f"ktr record: -p: {part!r} is not a process id "
                                 f"({_range(PID_RANGE)})") from None
            pids.append(pid)
    probe_specs: tuple[ProbeSpec, ...] = ()
    if arguments.probes:
        from ._probes import parse_spec

        probe_specs = tuple(parse_spec(text) for text in arguments.probes)
    if arguments.list_probes is not None:
        if len(arguments.list_probes) > 2:
            raise UsageError("ktr record: --list-probes MODULE [GLOB]")
        return RecordOptions(pids=tuple(pids), list_probes=tuple(arguments.list_probes))
    if probe_specs:
        kinds = kinds | {RecordKind.PROBE, RecordKind.PROBE_DEF}
    targets = sum(bool(t) for t in (pids, arguments.process_group is not None, command))
    if targets == 0:
        raise UsageError("ktr record: nothing to trace: give -p PID, -g PGID or -- CMD")
    if targets > 1:
        raise UsageError("ktr record: give only one of -p, -g and -- CMD")
    if arguments.descendants and command:
        raise UsageError("ktr record: -d applies to -p/-g targets (use -i with a command)")
    sample_hz = arguments.sample_hz
    facilities = arguments.facilities
    if sample_hz is not None:
        kinds = kinds | {RecordKind.SAMPLE, RecordKind.MMAP}
        facilities += "".join(letter for letter in "Sm" if letter not in facilities)
    elif RecordKind.SAMPLE in kinds:
        sample_hz = DEFAULT_SAMPLE_HZ
        kinds = kinds | {RecordKind.MMAP}
        facilities += "" if "m" in facilities else "m"
    selection = ALL_SYSCALLS
    for expression in arguments.expression:
        # as strace: each -e trace= is parsed (a bad one is refused), the last one counts
        selection = parse_syscall_expression(expression)
    pin_cpu = arguments.pin
    if pin_cpu is _PIN_LOWEST:  # (--pin alone; --pin=-1 is a CPU number, refused below)
        pin_cpu = min(os.sched_getaffinity(0))
    if pin_cpu is not None and pin_cpu not in os.sched_getaffinity(0):
        raise UsageError(f"ktr record: --pin: CPU {pin_cpu} is not available to ktr")
    options = RecordOptions(
        output=arguments.output,
        append=arguments.append,
        facilities=facilities,
        kinds=kinds,
        follow_children=arguments.follow_children,
        descendants=arguments.descendants,
        io_bytes=arguments.io_bytes,
        compress=arguments.compress,
        syscalls=selection,
        quiet=arguments.quiet,
        queue=_queue_parameters(arguments),
        spin_us=(0 if pin_cpu is not None else DEFAULT_SPIN_US if arguments.spin_us is None
                 else arguments.spin_us),
        pin_cpu=pin_cpu,
        seccomp=arguments.seccomp,
        pids=tuple(pids),
        process_group=arguments.process_group,
        command=tuple(command),
        counters=counters,
        interval_ms=arguments.interval_ms,
        sample_hz=sample_hz,
        stack_bytes=(arguments.stack_bytes if arguments.stack_bytes < 0
                     else (arguments.stack_bytes + 7) & ~7),
        build_id_cache=None if arguments.no_build_id_cache else arguments.build_id_cache,
        probes=probe_specs,
        max_probes=arguments.max_probes,
    )
    if arguments.spin_us is not None and options.records_without_ptrace:
        # (__post_init__ refuses a value other than the default; this, the option given)
        raise UsageError(f"ktr record: --spin-us: {SPIN_WITHOUT_PTRACE}")
    return options


def _queue_parameters(arguments: argparse.Namespace) -> QueueParameters:
    maxentry, delayqcnt = QueueParameters.sized_for(max(arguments.io_bytes, DEFAULT_IO_BYTES))
    if arguments.queue_max is not None:
        maxentry = arguments.queue_max
        delayqcnt = min(delayqcnt, maxentry // 4)
    if arguments.delay_count is not None:
        delayqcnt = arguments.delay_count
    try:
        return QueueParameters(
            maxentry=maxentry, timeout_s=arguments.timeout,
            delayqcnt=delayqcnt, wakedelay_ms=arguments.wake_delay,
            intrwakdl_ms=arguments.interactive_delay, maxbytes=arguments.queue_bytes,
        )
    except UsageError as error:
        raise UsageError(f"ktr record: {error}") from None
