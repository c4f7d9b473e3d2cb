"""ktrdump's options: one frozen value built from the command line (or by a caller).

Guarantees: an ``Options`` is immutable and complete; every stage of the
pipeline (reader, tracker, filter, describe, output) takes what it needs from
it, and the defaults are kdump's (text, symbolic decoding on, no timestamps).
Does not: parse the command line (``cli``) or validate file names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from formats.buildid_cache import ktr_cache_dir

from ._select import NO_CRITERIA, Criteria

#: Output formats: the describers' (text, json, strace) and the Chrome Trace Event view.
OutputFormat = Literal["text", "json", "strace", "chrome", "calls", "folded", "parquet"]
#: One kind of timestamp; kdump prints the selected ones in this order.
TimestampMode = Literal["absolute", "elapsed", "relative"]
TIMESTAMP_ORDER: tuple[TimestampMode, ...] = ("absolute", "elapsed", "relative")
#: strace's time of day (-t), with microseconds (-tt), seconds since the epoch (-ttt).
StraceClock = Literal["none", "time", "micro", "epoch"]


@dataclass(frozen=True)
class StraceTimes:
    """``--format strace``'s time columns, as strace's -t/-tt/-ttt, -r and -T."""

    clock: StraceClock = "epoch"
    relative: bool = False  # -r: time since the previous line
    durations: bool = True  # -T: time spent in the call, after its result


#: What ``--format strace`` prints without strace timestamp options (strace -ttt -T's).
DEFAULT_STRACE_TIMES = StraceTimes()

DEFAULT_INPUT = "ktr.out"
#: kdump's screen width: data dumps wrap to fit in it.
DEFAULT_WIDTH = 80
#: strace's default -s: bytes of a string shown before "...".
STRACE_STRING_LIMIT = 32


@dataclass(frozen=True)
class Options:
    input: str = DEFAULT_INPUT  # a path, or "-" for standard input
    more_inputs: tuple[str, ...] = ()  # further traces, merged with ``input`` by timestamp
    follow: bool = False  # -l: keep reading as the file grows (like tail -f)
    summary: bool = False  # --summary (strace -c): a table per syscall instead of records
    sort_by: str = "time"  # -S with --summary
    columns: tuple[str, ...] | None = None  # -U with --summary (None: strace -c's)
    output_format: OutputFormat = "text"
    hex_dump: bool = False  # -x: I/O data as a hex + ASCII dump rather than escaped text
    # -T absolute, -E since the first record, -R since the previous record; any
    # combination, shown in TIMESTAMP_ORDER (kdump's order).
    timestamps: tuple[TimestampMode, ...] = ()
    thread_ids: bool = False  # -H: show the thread id after the pid
    pids: frozenset[int] = frozenset()  # -p: only these processes or threads (DROP always shown)
    kinds: frozenset[int] | None = None  # -t: only these record kinds (DROP always shown)
    user_labels: frozenset[bytes] | None = None  # -u: only USER records with these labels
    max_data: int | None = None  # -m: at most this many bytes of I/O data (strace: its -s)
    suppress_data: bool = False  # -s: no I/O data under GIO lines
    decimal: bool = False  # -d: numbers in decimal where kdump prints hex
    raw: bool = False  # -n: no symbolic decoding (flags, errno texts, paths in arguments)
    fd_paths: bool = False  # -y: show the path behind each fd, tracked from the trace
    durations: bool = False  # --durations: time spent in each call, on RET (strace -T)
    # --symbol-cache: where module symbols are kept on disk (None: --no-symbol-cache)
    symbol_cache: str | None = field(default_factory=lambda: default_symbol_cache())
    # C++ symbols as c++filt shows them (False: --no-demangle, as the binary spells them)
    demangle: bool = True
    width: int = DEFAULT_WIDTH
    # --salvage: show the records of a raw batch whose payload checksum fails that
    # frame and decode, marked UNVERIFIED in-band (formats/SPEC.md, "Damaged batches")
    salvage: bool = False
    call_args: bool = True  # chrome: args on call events (--no-call-args: none, for speedscope)
    output_path: str | None = None  # -o: a file instead of stdout (-ff: the files' prefix)
    per_thread: bool = False  # -ff: strace format, one file per thread
    selection: Criteria = NO_CRITERIA  # -e trace=/status=, -z, -Z, -P, --since, --until, ...
    strace_times: StraceTimes = DEFAULT_STRACE_TIMES  # --format strace: -t -tt -ttt -r -T
    strace_hex: int = 0  # --format strace: -x (1) / -xx (2), strings in hex as strace's

    @property
    def inputs(self) -> tuple[str, ...]:
        return (self.input, *self.more_inputs)


def default_symbol_cache() -> str:
    """Where ktrdump keeps module symbols unless told otherwise."""
    # $KTR_CACHE_DIR, $XDG_CACHE_HOME/ktr or ~/.cache/ktr, never another user's
    # (root with a user's $HOME): the directory ``ktr record`` keeps files in too.
    return ktr_cache_dir()
