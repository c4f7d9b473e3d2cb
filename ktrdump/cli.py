"""The ``ktrdump`` command: decode -> track calls -> filter -> describe -> output.

Usage: ``ktrdump [options] [FILE...]`` (FILE defaults to ``ktr.out``; ``-``
reads standard input, a pipe included, until it ends; several FILEs are
merged by timestamp).

kdump's options keep kdump's letters and meaning (FreeBSD's; ``-u`` is
OpenBSD's): ``-d -E -f -H -m -n -p -R -s -T -t -u -x``; strace's ``-y`` and
``--durations`` (strace's ``-T``, whose letter kdump uses for timestamps)
add what strace shows; ``--format text|json|strace|chrome`` (``--json`` is
``--format json``) picks the output, ``--summary`` (strace's ``-c``, with
``-S`` and ``-U``) replaces it with a table per syscall; ``-l`` follows a
growing file (like ``tail -f``; Ctrl-C ends it).

Guarantees: ``main`` returns an exit status and never lets a traceback out for
a user or input problem: a bad command line is one line on stderr and status
2; an unreadable input or a file that is not a trace is one line on stderr
(``ktrdump: FILE: not a ktr trace file (bad magic) at byte offset 0``) and
status 1; each damaged or torn batch is one warning line on stderr naming its
byte offset and the batches skipped, the records around it are still printed,
and the status is 1. SIGPIPE gets its default action while ``main`` runs, so
``ktrdump | head`` ends quietly, as C tools do.

Does not: import the recorder (``ktr``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import itertools
import os
import re
import signal
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, Any, NoReturn, TypeVar, cast

# The reader's modules make only objects that live as long as the process:
# the collector, paused while they load, would walk them again and again for
# nothing (about a tenth of the import time). Their value and state classes
# are NamedTuples or slotted classes, options alone dataclasses: a dataclass
# compiles its generated methods at every start, about a millisecond each.
_collecting = gc.isenabled()
gc.disable()
try:
    import formats
    from formats import linux
    from formats.demangle import Demangler

    from . import __version__, _perfviews
    from ._calls import recorded_facilities
    from ._describe import damage_of, describer_for
    from ._files import (
        FileIds,
        file_ids,
        open_named_output,
        output_file_failure,
        per_thread_paths,
        refuse_inputs,
        refuse_unwritable,
    )
    from ._filter import CONTEXT_KINDS, record_filter
    from ._follow import FollowEnded, Follower, FollowOptions, PauseOptions, follow
    from ._merge import Late, Merger, merge
    from ._options import (
        DEFAULT_INPUT,
        DEFAULT_STRACE_TIMES,
        TIMESTAMP_ORDER,
        Options,
        StraceTimes,
        default_symbol_cache,
    )
    from ._output import Output
    from ._probes import CallsDescriber, ProbeSummary
    from ._profile import Profile, Stacks, folded_lines, profile_lines
    from ._progress import progress_for
    from ._reader import BatchParser, HeaderLost, RawBatch, Skipped, TraceReader, open_trace
    from ._returns import ReturnAddresses
    from ._select import (
        Criteria,
        Selector,
        Status,
        parse_duration,
        parse_signals,
        parse_status,
        parse_time,
    )
    from ._strace_files import per_thread_describer
    from ._summary import COLUMNS, SORT_KEYS, SummaryOptions, summarize
    from ._text import json_safe
    from .errors import InputError, KtrdumpError, OutputError, TraceFormatError, UsageError
finally:
    if _collecting:
        # Frozen: the first collections after the load would otherwise walk
        # them all once more (about 2 % of a start-up's instructions).
        gc.freeze()
        gc.enable()

PROGRAM = "ktrdump"

#: ``--format`` values, with what each writes (``--help``'s description lists them all).
FORMAT_HELP = {
    "text": "kdump's text, one line a record (the default)",
    "json": "JSON Lines, one object a record (--json; ts in integer nanoseconds)",
    "strace": "strace -f -ttt -T's lines, one a call (-ff: a file per thread)",
    "chrome": "Chrome Trace Event JSON, object form (Perfetto UI, catapult, speedscope)",
    "calls": "probed function calls per thread, nested, timed (as uftrace replay)",
    "folded": "sampled stacks folded for flame graphs (flamegraph.pl, inferno)",
    "parquet": "Parquet tables for DuckDB, pandas (-o NAME.parquet; needs pyarrow)",
}
#: ``--format`` values.
FORMATS = tuple(FORMAT_HELP)

_DESCRIPTION = (
    "Decode ktr trace files into one of these outputs (--format NAME):\n"
    + "".join(f"  {name:<8}  {text}\n" for name, text in FORMAT_HELP.items())
    + "\nor, with --summary (strace -c), tables of calls, errors and time per syscall\n"
      "(and of context switches, counters, samples and probes when recorded).\n")

__all__ = ["FORMATS", "PROGRAM", "dump", "main", "parse_options", "record_filter", "run"]

_EPILOG = """\
-y tracks fds through the trace itself, per process: open/openat/creat (the
kernel's path of the new fd, symlinks and the working directory resolved,
as strace -y; traces of recorders before it: the path as the call gave it),
AT_FDCWD as AT_FDCWD</dir> (the working directory the recorder saw at
execve, chdir and fchdir, inherited at fork, and at attach), socket,
accept, pipe, socketpair, eventfd, epoll_create, memfd_create and the other
fd-creating calls (socket:[INODE], pipe:[INODE], anon_inode:[eventfd], as
/proc names them: read by the recorder at the call's exit; older traces:
socket:[AF_INET], pipe:[N] the N-th pipe of the trace),
dup/dup2/dup3/F_DUPFD, close (at its entry, where the kernel frees the
number: another thread may get it while the close blocks), close_range (at
its return, the fds it found at its entry), exec (close-on-exec fds
dropped), fork (copied), exit. A call's first fd is named as it was at the
call's entry (close(3</etc/passwd>) too). Fds open before the recording (0,
1, 2, inherited) are named as the recorder listed them at the recording's
first execve; an attached process's as it listed them at the attach.

Filters after the fact (every view: text, json, strace, chrome, --summary;
combinable; a call's NAMI/STRU/ARG/ENV/GIO records and its RET go with it):
  -e trace=SET       calls by name or strace class (%file %net %process
                     %signal %ipc %desc %memory %creds ...), /REGEX,
                     number, ?ITEM (no error if it names nothing), as
                     strace's; a leading ! inverts the set; -e NAME is
                     -e trace=NAME; given more than once, the last
                     counts (as strace's)
  -e status=SET      successful, failed, unfinished (! inverts);
                     -z is status=successful, -Z is status=failed (strace's);
                     given more than once (-z, -Z too), the last counts
                     (as strace's: -e status=failed,successful takes both)
  -e signal=SET      signal deliveries shown (SIGCHLD or CHLD, numbers, all,
                     none; ! inverts), as strace's -e signal=none; given
                     more than once, the last counts (as strace's)
  -P PATH            calls that touched PATH: a path argument spelled so,
                     or an fd argument that referred to it at the call's
                     entry (fds tracked through the trace as -y does; a
                     relative PATH matches an fd's path by its last
                     components)
  --since/--until T  +1.5s after the first record, 1700000000.25 (seconds
                     since the epoch) or 2026-11-30T01:02:03 (local time)
  --min-duration D   calls that spent at least D in the kernel (1.5, 200ms);
                     with --format calls, chrome and parquet (its probes
                     table), probed calls that lasted at least D (uftrace
                     replay -t; not with --format folded)
Signals, process events and the other records that are not calls are kept
by -e trace/status, -P, -z, -Z, --min-duration (signals go by -e signal);
--since/--until apply to every record, a call
by its CALL's time (a call begun before --until is shown whole). Reading
stops once past --until and every call begun before it has returned (with
--format calls, every probed call): damage and DROP records later in the
file are not reported, and damage there does not set the exit status.
A filter on the result (-e status, -z, -Z, --min-duration) holds a call's
lines back until its RET.

Letters kdump and strace both use, with different meanings:
  letter  ktrdump (kdump)                  strace, and ktrdump --format strace
  -t      -t TRSTR: trace points to show   -t/-tt/-ttt: time of day, with
          (any format: --trace-points;     microseconds, seconds since epoch
          -tt/-ttt are refused: -t t)
  -T      absolute timestamps              -T: time spent in each call
          (strace's -T: --durations)
  -r      (kdump's -R: time since the      -r: time since the previous line
          previous record)
  -p      -p PID: show only PID's records  (strace: attach to PID)
  -c      --summary (strace's -c)          -c: the summary
  -f      -f FILE: the trace to read       -f: follow forks; nothing to ask
                                           (every process is shown): a -f
                                           naming no file is accepted
  -s      no I/O data                      -s N: string size (-m N)
  -x      hex + ASCII dump of I/O data     -x: non-ASCII strings in hex;
                                           -xx: all strings in hex
With --format strace, -t -tt -ttt -T -r -s N -x -xx take strace's meaning: without
any of the first five the lines carry -ttt's and -T's columns (strace -f
-ttt -T's layout); with them, exactly the columns they ask for (-t/-tt in
this machine's local time). -w (strace -c -w) goes with -c: the summary
counts wall-clock time anyway. Bundled as strace's getopt reads them:
-ttT is -tt -T, -s100 is -s 100, -xs 10 is -x -s 10.

Facilities (-t), ktrace's letters:
""" + "".join(f"  {letter}  {text}\n" for letter, text in formats.FACILITY_HELP.items()) + (
    f"  +  the default set ({formats.DEFAULT_FACILITIES})\n")


#: -o names of the standard streams (as strace and most tools take them)
STDERR_PATH = "/dev/stderr"
_STANDARD_STREAMS = {"-": "standard output", "/dev/stdout": "standard output",
                     STDERR_PATH: "standard error"}


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see ktrdump --help)")

    def _print_message(self, message: str, file: Any = None) -> None:
        # argparse drops write errors; --help > /dev/full must not say "done".
        if not message:
            return
        stream: Any = sys.stdout if file is None else file
        if stream is None:
            raise OutputError("cannot write to standard output: it is closed", errno.EBADF)
        try:
            stream.write(message)
            stream.flush()
        except OSError as error:
            raise _GuardedStdout.failure(error) from None


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROGRAM,
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", metavar="FILE",
                        help=f"trace file to read, - for standard input (default "
                             f"{DEFAULT_INPUT}); several are merged by timestamp")
    parser.add_argument("-f", dest="file_option", metavar="FILE", action=_StoreOnce,
                        help="trace file to read (kdump's spelling of FILE)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--format", dest="output_format", choices=FORMATS,
                        help="text (kdump's, the default), json (JSON Lines, one record a "
                             "line), strace (strace -f -ttt -T's, one line a call), chrome "
                             "(Chrome Trace Event JSON, object form, for Perfetto UI, "
                             "catapult, speedscope), calls (probed function calls per "
                             "thread, nested, with durations, as uftrace replay), folded (the "
                             "SAMPLE records' stacks, comm;outer;...;leaf COUNT, for "
                             "flamegraph.pl, inferno, speedscope), parquet "
                             "(tables for DuckDB, "
                             "pandas: -o NAME.parquet; needs pyarrow); default text")
    parser.add_argument("-o", dest="output_path", metavar="FILE",
                        help="write to FILE (created 0600; never through a symlink or "
                             "into a file with other hard links) instead of standard "
                             "output; - or /dev/stdout: standard output, /dev/stderr: "
                             "standard error; with -ff the prefix of the per-thread files "
                             "(default: standard output)")
    parser.add_argument("-ff", dest="per_thread", action="store_true",
                        help="strace format: one file per thread, -o PREFIX.TID, without "
                             "the thread column (strace -ff; lnav reads them with -tt -T)")
    output.add_argument("--json", dest="output_format", action="store_const", const="json",
                        help="--format json")
    parser.add_argument("--no-call-args", dest="call_args", action="store_false",
                        help="chrome format: no args on call events, so viewers that key "
                             "frames by name and arguments (speedscope) group calls by "
                             "syscall")
    parser.add_argument("-d", dest="decimal", action="store_true",
                        help="numbers in decimal instead of hex")
    parser.add_argument("-n", dest="raw", action="store_true",
                        help="no symbolic decoding: raw argument words, numbers for errno "
                             "and codes (syscall names stay)")
    parser.add_argument("-x", dest="hex_dump", action="store_true",
                        help="print I/O data as a hex + ASCII dump")
    parser.add_argument("-s", dest="suppress_data", action="store_true",
                        help="suppress the I/O data of GIO records")
    parser.add_argument("-m", dest="max_data", type=_non_negative, metavar="MAXDATA",
                        help="show at most MAXDATA bytes of each I/O (default: all that was "
                             "recorded; json: of GIO and USER data; strace format: of each "
                             "string, default 32)")
    parser.add_argument("-p", dest="pids", type=_pids, action="extend", metavar="PID[,PID...]",
                        help="show only records of process or thread PID (repeatable, or a "
                             "comma-separated list as ktr record -p and strace -p take)")
    parser.add_argument("-t", "--trace-points", dest="facilities", metavar="TRSTR",
                        help="show only these trace points, as ktr record -t (letters "
                             "listed below; default: all)")
    parser.add_argument("-u", dest="user_labels", action="append", metavar="LABEL",
                        help="show only USER records with this label (repeatable)")
    parser.add_argument("-H", dest="thread_ids", action="store_true",
                        help="show the thread id after the pid (--summary: one syscall "
                             "table per thread; --format folded: comm-PID/TID roots, as "
                             "stackcollapse-perf.pl --tid)")
    parser.add_argument("-T", dest="timestamps", action="append_const", const="absolute",
                        help="show absolute timestamps (seconds since the epoch)")
    parser.add_argument("-E", dest="timestamps", action="append_const", const="elapsed",
                        help="show the time since the first record")
    parser.add_argument("-R", dest="timestamps", action="append_const", const="relative",
                        help="show the time since the previous record")
    parser.add_argument("-y", dest="fd_paths", action="store_true",
                        help="show the path behind each fd, as 3</etc/passwd> (see below)")
    parser.add_argument("--durations", action="store_true",
                        help="show the time spent in each call on its RET line (strace -T)")
    parser.add_argument("-l", dest="follow", action="store_true",
                        help="follow: keep reading as the trace grows, like tail -f "
                             "(Ctrl-C ends it; a pipe ends at its end, a file once "
                             "an END record is read and nothing follows it: a "
                             "recording appended with ktr record -a that has started "
                             "by then is followed too; or, recorded on this machine, once "
                             "the ktr record process its BEGIN names has died without "
                             "END: then the cut-short notice, exit status 1); perf records "
                             "(-t w, -F, -P) are put in time order as without -l: each "
                             "record is shown once a later one came or the trace has had "
                             "nothing new for the recorder's drain and flush intervals "
                             "(about 1.3 s; 0.4 s from a pipe)")
    filters = parser.add_argument_group("filters after the fact (see below)")
    filters.add_argument("-e", dest="expressions", action="append", metavar="EXPR",
                         help="trace=SET (syscall names, %%classes, ! inverts), "
                              "status=SET (successful, failed, unfinished) or "
                              "signal=SET (signal deliveries shown: names, numbers, none)")
    # -z and -Z are -e status= in their place among the -e's: the last one counts
    filters.add_argument("-z", dest="expressions", action="append_const",
                         const="status=successful",
                         help="only calls that returned without an error (-e status=successful)")
    filters.add_argument("-Z", dest="expressions", action="append_const", const="status=failed",
                         help="only calls that failed (-e status=failed)")
    filters.add_argument("-P", dest="trace_paths", action="append", metavar="PATH",
                         help="only calls that touched PATH (repeatable)")
    filters.add_argument("--since", metavar="TIME",
                         help="only records from TIME on (+1.5s after the first record, "
                              "epoch seconds or ISO 8601)")
    filters.add_argument("--until", metavar="TIME",
                         help="only records before TIME (as --since)")
    filters.add_argument("--min-duration", metavar="DURATION",
                         help="only calls that spent at least DURATION in the kernel "
                              "(1.5 = 1.5s, 200ms, 10us)")
    parser.add_argument("--salvage", action="store_true",
                        help="from a damaged uncompressed batch, also show the records that "
                             "still frame and decode, marked UNVERIFIED (no checksum vouches "
                             "for them); read the batches after a damaged file header (also "
                             "from a pipe and with -l)")
    parser.add_argument("--strace-clock", choices=("time", "micro", "epoch"),
                        help=argparse.SUPPRESS)  # -t/-tt/-ttt under --format strace
    parser.add_argument("--strace-relative", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strace-durations", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--strace-hex", type=int, choices=(1, 2), default=0,
                        help=argparse.SUPPRESS)  # -x/-xx under --format strace
    summary = parser.add_argument_group("summary (strace -c)")
    summary.add_argument("--summary", "-c", dest="summary", action="store_true",
                         help="count calls, errors and time per syscall instead of "
                              "printing records; one table per process with -p. "
                              "Time is wall-clock time from entry to exit, as "
                              "strace -c -w counts it (strace -c alone counts "
                              "system CPU time)")
    summary.add_argument("-S", dest="sort_by", choices=SORT_KEYS, default=None,
                         metavar="SORTBY", help=f"sort the summary by {', '.join(SORT_KEYS)} "
                                                "(default time)")
    summary.add_argument("-U", dest="columns", metavar="COLUMNS",
                         help=f"summary columns, comma-separated: {', '.join(COLUMNS)} "
                              "(default: strace -c's)")
    symbols = parser.add_argument_group("stack samples")
    symbols.add_argument("--symbol-cache", metavar="DIR", default=None,
                         help="keep the symbols of modules (by build id) in DIR so that later "
                              "dumps need not parse them again (default: $KTR_CACHE_DIR, else "
                              "$XDG_CACHE_HOME/ktr or ~/.cache/ktr)")
    symbols.add_argument("--no-symbol-cache", action="store_true",
                         help="neither read nor write the symbol cache")
    symbols.add_argument("--no-demangle", dest="demangle", action="store_false",
                         help="show C++ function names (of stack frames and probes) as the "
                              "binary spells them (_ZN2ns3fooEi); by default they are shown "
                              "as c++filt shows them (ns::foo(int)), as perf report does")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _non_negative(text: str) -> int:
    # ArgumentTypeError: argparse prints its message (a ValueError shows the function's name)
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text!r}")
    return value


#: Linux's PID_MAX_LIMIT (include/linux/threads.h): no pid or tid is larger.
_PID_MAX_LIMIT = 4 * 1024 * 1024


def _pid(text: str) -> int:
    """-p: a process or thread id (0: the recorder's own records). Refused in
    ``ktr record -p``'s words (a UsageError: argparse does not reword it)."""
    try:
        value: int | None = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= _PID_MAX_LIMIT:
        shown = repr(text) if value is None else value
        raise UsageError(f"-p: {shown} is not a process id (0 to {_PID_MAX_LIMIT})")
    return value


#: strace's timestamp options, as ``--format strace`` reads them.
_STRACE_TIME_OPTIONS = {
    "-t": "--strace-clock=time", "-tt": "--strace-clock=micro", "-ttt": "--strace-clock=epoch",
    "-r": "--strace-relative", "-T": "--strace-durations",
}


class _StoreOnce(argparse._StoreAction):
    """``-f FILE``, refused when given again (kdump's getopt kept the last one, so the
    traces before it were silently not read)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        if getattr(namespace, self.dest, None) is not None:
            raise UsageError("-f names one trace; give several as FILE arguments to merge "
                             "them (ktrdump A B)")
        super().__call__(parser, namespace, values, option_string)


def _pids(text: str) -> list[int]:
    """-p: one id, or several separated by commas (ktr record -p 1,2; strace -p 1,2)."""
    return [_pid(part.strip()) for part in text.split(",")]


def _strace_format_requested(argv: Sequence[str]) -> bool:
    chosen = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--format" and index + 1 < len(argv):
            chosen = argv[index + 1]
        elif word.startswith("--format="):
            chosen = word.partition("=")[2]
        elif word == "--json":
            chosen = "json"
    return chosen == "strace"


#: Options whose value may start with "-" (a negative number, a mistake): argparse
#: would take "-1s" for an option and say only "expected one argument".
_SIGNED_VALUE_OPTIONS = ("--since", "--until", "--min-duration")
_LOOKS_SIGNED = re.compile(r"^-([0-9.]|(inf|infinity|nan)$)", re.IGNORECASE)


def _attach_signed_values(argv: list[str]) -> list[str]:
    """``--min-duration -1s`` as ``--min-duration=-1s``, so its own check explains it."""
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            out.append(word)
            out.extend(words)
            break
        if word in _SIGNED_VALUE_OPTIONS:
            value = next(words, None)
            if value is not None and _LOOKS_SIGNED.match(value):
                out.append(f"{word}={value}")
                continue
            out.append(word)
            if value is not None:
                out.append(value)
            continue
        out.append(word)
    return out


def _strace_times(argv: list[str]) -> list[str]:
    """With ``--format strace``, strace's -t -tt -ttt -r -T as the hidden options above."""
    if not _strace_format_requested(argv):
        options = argv[: argv.index("--") if "--" in argv else len(argv)]
        if "-r" in options:
            raise UsageError("-r is strace's time since the previous line: use it with "
                             "--format strace (kdump's is -R)")
        for word in ("-tt", "-ttt"):
            # kdump would read -tt as -t t (STRUCT records alone): with -T, a view
            # of STRU lines only, where an strace user asked for times.
            if word in options:
                raise UsageError(f"{word} is strace's time of day: use it with --format "
                                 "strace; kdump's timestamps are -T (absolute), -E "
                                 "(elapsed), -R (relative), and its -t takes trace point "
                                 "letters (write -t t for the STRUCT records alone)")
        return argv
    out = []
    for index, word in enumerate(argv):
        if word == "--":
            out.extend(argv[index:])
            break
        out.append(_STRACE_TIME_OPTIONS.get(word, word))
    return out


#: strace's letters that take no value, as ``--format strace`` reads them in a bundle.
_STRACE_FLAG_LETTERS = frozenset("tTrxfcwyzZ")
#: Options whose next word is a value, never a bundle of letters (``-P -ttT`` is a path).
_VALUE_OPTIONS = frozenset(("-o", "-p", "-e", "-P", "-S", "-U", "-u", "-m", "-f", "-s",
                            "--format", "--since", "--until", "--min-duration",
                            "--symbol-cache"))


def _strace_bundles(argv: list[str]) -> list[str]:
    """With ``--format strace``, strace's bundled letters as separate words.

    strace's getopt reads ``-ttT`` as -tt -T, ``-s100`` as -s 100, ``-xs 10``
    as -x -s 10, ``-Tx`` as -T -x; the translations below compare whole words,
    and argparse would read ``-ttT`` as kdump's ``-t tT`` and ``-Tx`` as kdump's
    -T and -x. A word is split only when every letter is strace's (``-s`` last,
    its value attached or next); runs of one letter stay one word, as the
    translations know them (-tt, -ttt, -xx, -ff, -yy), strace's extra letters
    capped as strace caps them (-xxx is -xx, -tttt is -ttt). Other words are
    left to argparse.
    """
    if not _strace_format_requested(argv):
        return argv
    out: list[str] = []
    words = iter(argv)
    for word in words:
        if word == "--":
            out.append(word)
            out.extend(words)
            break
        if word in _VALUE_OPTIONS:
            out.append(word)
            value = next(words, None)
            if value is not None:
                out.append(value)
            continue
        split = _split_bundle(word)
        out.extend(split if split is not None else [word])
    return out


def _split_bundle(word: str) -> list[str] | None:
    """``word``'s strace letters as words (None: not a bundle of strace's letters)."""
    if len(word) < 3 or word[0] != "-" or word[1] == "-":
        return None
    letters = word[1:]
    value = None
    if "s" in letters:
        at = letters.index("s")
        letters, value = letters[:at], letters[at + 1:]
        if value and not value.isdigit():
            return None
    if not set(letters) <= _STRACE_FLAG_LETTERS:
        return None
    runs: list[str] = []
    for letter in letters:
        if runs and runs[-1][-1] == letter:
            runs[-1] += letter
        else:
            runs.append(letter)
    caps = {"t": 3, "x": 2, "f": 2, "y": 2}
    out = [f"-{run[: caps.get(run[0], 1)]}" for run in runs]
    if value is not None:
        out.append("-s")
        if value:
            out.append(value)
    if out == [word]:
        return None
    return out


def _names_no_file(argv: Sequence[str], index: int) -> bool:
    """The word after ``argv[index]`` cannot be a trace file: there is none, or it is
    an option (``-`` alone is standard input, a file)."""
    following = argv[index + 1] if index + 1 < len(argv) else "--"
    return following == "--" or (following.startswith("-") and following != "-")


def _strace_letters(argv: list[str]) -> list[str]:
    """strace's letters whose ktrdump meaning differs, as an strace user means them.

    ``-f``: kdump's ``-f FILE`` names the trace; strace's ``-f`` (follow forks)
    takes no value. Both read ``-f FILE`` alike, so only a ``-f`` that names no
    file is strace's: under ``--format strace`` it asks for nothing (every
    process and thread of the trace is shown, as under strace -f) and is
    dropped; in kdump's formats it is one line saying what to do. ``-s N``
    under ``--format strace`` is strace's string size: ``-m N`` (kdump's ``-s``
    takes no value). ``-w`` (strace -c -w) asks for the summary's wall-clock
    time, which is the only time ``--summary`` counts: dropped (``-cw`` is ``-c``). ``-x``/``-xx``
    under ``--format strace`` are strace's strings in hex (kdump's ``-x`` is a
    hex dump of I/O data, which the strace format does not print). ``-yy``
    (strace's socket endpoints, which no trace holds) is ``-y``, with a note.
    """
    strace = _strace_format_requested(argv)
    end = argv.index("--") if "--" in argv else len(argv)
    out: list[str] = []
    skip = False
    for index, word in enumerate(argv[:end]):
        if skip:
            skip = False
            continue
        if word == "-f" and _names_no_file(argv[:end], index):
            if not strace:
                raise UsageError("-f FILE names the trace to read (kdump's -f); strace's -f "
                                 "(follow forks) is not needed: every process and thread "
                                 "is shown (drop -f, or use --format strace, which accepts "
                                 "it)")
            continue
        if strace and word == "-s" and index + 1 < end and argv[index + 1].isdigit():
            out += ["-m", argv[index + 1]]
            skip = True
            continue
        if word == "-w" and ("-c" in argv[:end] or "--summary" in argv[:end]):
            continue
        if word in ("-cw", "-wc"):  # strace -cw, as strace users spell it
            out.append("-c")
            continue
        if strace and word in ("-x", "-xx"):
            out.append(f"--strace-hex={len(word) - 1}")
            continue
        if word == SOCKET_DETAILS:  # -y's paths; _main says what -yy cannot add
            out.append("-y")
            continue
        out.append(word)
    return out + argv[end:]


#: strace's -yy (socket endpoints as TCP:[1.2.3.4:80->...]): taken as -y, and said so.
SOCKET_DETAILS = "-yy"
SOCKET_DETAILS_NOTE = ("ktrdump: -yy: the trace holds no socket endpoints (the recorder does not "
                       "read them); sockets are shown as -y shows them, socket:[INODE]")


#: strace 6.1's warning for -z and -Z together (the last one counts), in ktrdump's words.
BOTH_STATUS_LETTERS_NOTE = ("ktrdump: only the last of -z and -Z takes effect (as strace's); "
                            "-e status=successful,failed takes both")


def _both_status_letters(argv: Sequence[str]) -> bool:
    end = list(argv).index("--") if "--" in argv else len(argv)
    return "-z" in argv[:end] and "-Z" in argv[:end]


def _asks_socket_details(argv: Sequence[str]) -> bool:
    words = _strace_bundles(list(argv))  # -yyT too
    end = words.index("--") if "--" in words else len(words)
    return SOCKET_DETAILS in words[:end]


#: The text view's layout options that do nothing in another view, with why (as
#: -S/-U without --summary): (option, views, what the view does instead); the view
#: "summary" is --summary (-c), whatever --format says. -H is honoured by --summary
#: (one table per thread) and --format folded (comm-PID/TID roots); -T by the views
#: whose times are absolute (json, chrome, parquet: what it asks).
_LAYOUT_OPTIONS = (
    ("-H", ("json", "chrome"), "its records always carry the thread id (tid)"),
    ("-H", ("strace",), "its lines show the thread id, as strace -f's"),
    ("-H", ("calls",), "its lines show the thread id (TID), as uftrace replay's"),
    ("-H", ("parquet",), "its tables always have a tid column"),
    ("-E", ("json", "chrome"), "its records carry absolute times (ts)"),
    ("-R", ("json", "chrome"), "its records carry absolute times (ts)"),
    ("-E", ("parquet",), "its tables carry absolute times (ts_ns, start_ns)"),
    ("-R", ("parquet",), "its tables carry absolute times (ts_ns, start_ns)"),
    ("-E", ("strace",), "strace's times are -t, -tt, -ttt and -r"),
    ("-R", ("strace",), "strace's times are -t, -tt, -ttt and -r"),
    ("-E", ("summary",), "its tables total each syscall's calls and time"),
    ("-R", ("summary",), "its tables total each syscall's calls and time"),
    ("-T", ("summary",), "its tables total each syscall's calls and time"),
    ("-E", ("calls",), "its lines show each call's duration (--json has each hit's ts)"),
    ("-R", ("calls",), "its lines show each call's duration (--json has each hit's ts)"),
    ("-T", ("calls",), "its lines show each call's duration (--json has each hit's ts)"),
    ("-E", ("folded",), "its stacks are counted, not timed"),
    ("-R", ("folded",), "its stacks are counted, not timed"),
    ("-T", ("folded",), "its stacks are counted, not timed"),
    ("--durations", ("json",), "its RET records always carry duration_ns"),
    ("--durations", ("chrome",), "its calls are events with their duration (dur)"),
    ("--durations", ("summary",), "its tables total each syscall's time"),
    ("--durations", ("calls",), "its lines always show each call's duration"),
    ("--durations", ("parquet",), "its calls table always has duration_ns"),
    ("--durations", ("folded",), "its stacks are counted, not timed"),
    ("-d", ("chrome", "strace"), "arguments are shown as strace shows them"),
    ("-d", ("summary",), "its tables count in decimal and show no arguments"),
    ("-d", ("calls",), "each value is shown as its probe's type says (u64, i64: decimal)"),
    ("-d", ("folded",), "its lines are stacks and counts"),
    ("-d", ("parquet",), "its columns hold numbers (args_decoded is strace's text)"),
    ("-s", ("json", "chrome"), "-m 0 keeps no I/O data"),
    ("-s", ("summary", "calls", "folded"), "it shows no I/O data"),
    ("-s", ("parquet",), "args_decoded has strace's rendering of the data (32 bytes)"),
)


def _refuse_layout_options(arguments: argparse.Namespace) -> None:
    """A text-view option given with a view it does nothing in: one line, not ignored."""
    view = "summary" if arguments.summary else arguments.output_format or "text"
    shown = "--summary" if arguments.summary else f"--format {view}"
    timestamps = arguments.timestamps or ()
    given = {"-H": arguments.thread_ids, "-E": "elapsed" in timestamps,
             "-R": "relative" in timestamps, "-T": "absolute" in timestamps,
             "--durations": arguments.durations, "-d": arguments.decimal,
             "-s": arguments.suppress_data}
    for option, views, instead in _LAYOUT_OPTIONS:
        if given[option] and view in views:
            raise UsageError(f"{option} does nothing with {shown}: {instead}")


def _strace_times_option(arguments: argparse.Namespace) -> StraceTimes:
    if not (arguments.strace_clock or arguments.strace_relative or arguments.strace_durations):
        return DEFAULT_STRACE_TIMES
    return StraceTimes(clock=arguments.strace_clock or "none",
                       relative=arguments.strace_relative,
                       durations=arguments.strace_durations or arguments.durations)


def _criteria(arguments: argparse.Namespace) -> Criteria:
    trace = None
    status: frozenset[Status] | None = None
    signals: frozenset[int] | None = None
    for expression in arguments.expressions or ():
        qualifier, equals, value = expression.partition("=")
        if not equals:
            qualifier, value = "trace", expression  # strace: -e open means trace=open
        try:
            if qualifier in ("trace", "t"):
                # as strace: each is parsed (a bad one is refused), the last one counts
                trace = linux.parse_trace_set(f"trace={value}")
            elif qualifier in ("status",):
                status = parse_status(value)  # (the last one counts, as strace's)
            elif qualifier in ("signal", "signals", "s"):
                signals = parse_signals(value)  # (the last one counts, as strace's)
            else:
                raise UsageError(f"-e {qualifier}= is not supported (trace=, status= and "
                                 "signal= are)")
        except ValueError as error:
            raise UsageError(str(error)) from None
    since = _option_value("--since", parse_time, arguments.since)
    until = _option_value("--until", parse_time, arguments.until)
    minimum = _option_value("--min-duration", parse_duration, arguments.min_duration)
    if (since is not None and until is not None and since.relative == until.relative
            and since.ns > until.ns):
        # Both relative or both absolute: the window is empty whatever the trace holds.
        raise UsageError(f"--since {arguments.since} is after --until {arguments.until}: "
                         "no time can be in both")
    paths = tuple(os.fsencode(path) for path in arguments.trace_paths or ())
    return Criteria(trace=trace, status=status, paths=paths, since=since, until=until,
                    min_duration_ns=minimum, signals=signals)


_Value = TypeVar("_Value")


def _option_value(option: str, parse: Callable[[str], _Value], text: str | None
                  ) -> _Value | None:
    """``parse(text)`` (None when the option is absent); a ValueError as one line naming it."""
    if text is None:
        return None
    try:
        return parse(text)
    except ValueError as error:
        raise UsageError(f"{option}: {error}") from None


def _refuse_facilities_taken_for_files(argv: Sequence[str], files: Sequence[str]) -> None:
    """``--format strace -t w t.ktr``: strace's -t took no value, so ``w`` became a trace
    to read ("w: No such file or directory"); a kdump user meant the trace points."""
    if not _strace_format_requested(argv):
        return
    end = list(argv).index("--") if "--" in argv else len(argv)
    for index, word in enumerate(argv[:end - 1]):
        letters = argv[index + 1]
        if (word == "-t" and letters in files and letters
                and set(letters) <= set(formats.FACILITY_KINDS) | {"+"}
                and not os.path.lexists(letters)):
            raise UsageError(f"with --format strace, -t is strace's time of day, so "
                             f"{letters!r} was taken for a trace file (there is none): "
                             f"give the trace points as --trace-points {letters}")


def parse_options(argv: Sequence[str]) -> Options:
    arguments = _parser().parse_args(
        _strace_times(_strace_letters(_strace_bundles(_attach_signed_values(list(argv))))))
    files = list(arguments.files)
    _refuse_facilities_taken_for_files(argv, files)
    if arguments.file_option is not None:
        if files:
            raise UsageError("give the trace file once, either as FILE or with -f")
        files = [arguments.file_option]
    if not files:
        files = [DEFAULT_INPUT]
    if files.count("-") > 1:
        raise UsageError("standard input (-) can be read only once")
    if arguments.output_path in _STANDARD_STREAMS:
        # (the conventional names, taken as the streams themselves: never reopened
        # through their symlinks, which -o refuses for any other name)
        if arguments.per_thread or arguments.output_format == "parquet":
            raise UsageError(f"-o {arguments.output_path} "
                             f"({_STANDARD_STREAMS[arguments.output_path]}) cannot hold "
                             "files: give -o NAME")
        if arguments.output_path != STDERR_PATH:
            arguments.output_path = None  # -o -: standard output, as ktr record's
    if arguments.output_format == "parquet" and arguments.output_path is None:
        raise UsageError("--format parquet writes files: give -o NAME.parquet")
    if arguments.output_path == "":
        raise UsageError("-o: the file name is empty (give -o FILE, or -o - for standard "
                         "output)")
    if arguments.output_format == "parquet" and (arguments.summary or arguments.follow):
        raise UsageError("--format parquet does not go with --summary or -l")
    if arguments.summary and arguments.output_format not in (None, "text", "strace"):
        # The summary is strace -c's table whatever the format: a JSON or Chrome
        # request would silently get text.
        raise UsageError(f"--summary prints strace -c's table: it does not go with "
                         f"--format {arguments.output_format}")
    if arguments.per_thread and (arguments.output_path is None
                                 or arguments.output_format != "strace"):
        raise UsageError("-ff writes one file per thread: it needs --format strace and "
                         "-o PREFIX")
    if not arguments.summary and (arguments.sort_by is not None
                                  or arguments.columns is not None):
        # As strace's -S and -U: they shape the summary, and alone were silently ignored.
        option = "-S" if arguments.sort_by is not None else "-U"
        raise UsageError(f"{option} shapes the summary: give --summary (-c) too")
    if not arguments.call_args and arguments.output_format != "chrome":
        raise UsageError("--no-call-args leaves the call events' args out of --format "
                         "chrome: give --format chrome too")
    _refuse_layout_options(arguments)
    if arguments.output_format == "folded" and arguments.min_duration is not None:
        raise UsageError("--min-duration keeps calls by their duration: stack samples "
                         "(--format folded) have none")
    if arguments.follow and len(files) > 1:
        raise UsageError("-l follows one trace; give one FILE")
    columns = None
    if arguments.columns is not None:
        columns = tuple(part.strip() for part in arguments.columns.split(",") if part.strip())
        unknown = [column for column in columns if column not in COLUMNS]
        if unknown or not columns:
            raise UsageError(f"-U: unknown summary columns {', '.join(unknown) or '(none)'} "
                             f"(known: {', '.join(COLUMNS)})")
    kinds = None
    if arguments.facilities is not None:
        try:
            kinds = frozenset(int(k) for k in formats.kinds_for_facilities(arguments.facilities))
        except formats.FacilityError as error:
            raise UsageError(str(error)) from None
    labels = None
    if arguments.user_labels is not None:
        labels = frozenset(os.fsencode(label) for label in arguments.user_labels)
    selected = set(arguments.timestamps or ())
    return Options(
        input=files[0],
        more_inputs=tuple(files[1:]),
        follow=arguments.follow,
        summary=arguments.summary,
        sort_by=arguments.sort_by or "time",
        columns=columns,
        output_format=arguments.output_format or "text",
        hex_dump=arguments.hex_dump,
        timestamps=tuple(mode for mode in TIMESTAMP_ORDER if mode in selected),
        thread_ids=arguments.thread_ids,
        pids=frozenset(arguments.pids or ()),
        kinds=kinds,
        user_labels=labels,
        max_data=arguments.max_data,
        suppress_data=arguments.suppress_data,
        decimal=arguments.decimal,
        raw=arguments.raw,
        fd_paths=arguments.fd_paths,
        durations=arguments.durations,
        call_args=arguments.call_args,
        output_path=arguments.output_path,
        per_thread=arguments.per_thread,
        selection=_criteria(arguments),
        strace_times=_strace_times_option(arguments),
        strace_hex=arguments.strace_hex,
        salvage=arguments.salvage,
        symbol_cache=None if arguments.no_symbol_cache else (
            arguments.symbol_cache or default_symbol_cache()),
        demangle=arguments.demangle,
    )


class _Source:
    """What the views read: one trace, several merged, or one followed.

    ``events()`` yields batches (lists of records) and notices (the reader's
    ``Skipped``, the merge's ``SourcedSkipped``/``Late``, the follower's
    ``FollowEnded``); ``raw_events()`` the same with batches undecoded where
    the input allows (``--summary``'s fast path: one trace without perf records,
    whose file order is its time order).
    """

    def __init__(self, name: str, readers: Sequence[TraceReader] = (),
                 follower: Follower | None = None) -> None:
        self.name = name
        self._readers = readers
        self._follower = follower
        self._merger: Merger | None = None
        self.raw = False  # raw_events() gave undecoded batches

    @property
    def header(self) -> formats.FileHeader | None:
        if self._follower is not None:
            return self._follower.header
        return self._readers[0].header

    @property
    def readers(self) -> Sequence[TraceReader]:
        return self._readers

    @property
    def input_ids(self) -> FileIds:
        """The files being read: an output must never be one of them."""
        fds = [reader.fileno() for reader in self._readers]
        if self._follower is not None:
            fds.append(self._follower.stream.fileno())
        return file_ids(fd for fd in fds if fd is not None)

    @property
    def live(self) -> bool:
        return self._follower is not None or any(reader.live for reader in self._readers)

    @property
    def header_lost(self) -> bool:
        """Whether some input's file header was damaged and read past (--salvage)."""
        readers = list(self._readers)
        if self._follower is not None and self._follower.reader is not None:
            readers.append(self._follower.reader)
        return any(reader.header_lost for reader in readers)

    @property
    def origin_ns(self) -> int | None:
        """The earliest recording start among the inputs (time 0 of a Chrome trace);
        None when an input's start is unknown (its header was damaged: the Chrome
        writer then takes the first BEGIN's, or the first record's time)."""
        if self.header_lost:
            return None
        starts = [reader.header.realtime_ns for reader in self._readers]
        if self._follower is not None and self._follower.header is not None:
            starts.append(self._follower.header.realtime_ns)
        return min(starts) if starts else None

    def events(self) -> Iterator[Any]:
        """The decoded batches, in time order where the inputs have perf records,
        with the return addresses return probes replaced given back to the samples
        (``_returns``: before any filter, so every view's samples have them)."""
        return ReturnAddresses().stream(self._events())

    def _events(self) -> Iterator[Any]:
        if self._follower is not None:
            return self._followed(raw=False)
        window = _perfviews.reorder_window(self._readers)
        if len(self._readers) == 1 and window is None:
            return self._readers[0].events()
        self._merger = merge(self._readers, window)
        return iter(self._merger)

    def shared_pids_text(self) -> str | None:
        """The merge's warning that inputs of other boots share pids (``Merger``), if any."""
        return None if self._merger is None else self._merger.shared_pids_text()

    def parsed_events(self, parser: Callable[[formats.Codec], BatchParser],
                      ) -> Iterator[Any] | None:
        """``events()`` with the intact batches ``parser(codec)`` takes parsed by it
        (``TraceReader.parsed_events``); None unless the input is one trace read
        in order (merged, reordered or followed inputs have their own batches)."""
        if (self._follower is not None or len(self._readers) != 1
                or _perfviews.reorder_window(self._readers) is not None):
            return None
        reader = self._readers[0]
        return reader.parsed_events(parser(reader.record_codec))

    def raw_events(self) -> Iterator[Any]:
        """As ``events()``, with batches undecoded where the input allows; then
        ``raw`` is true and the records a view decodes have not been through
        ``ReturnAddresses`` (the view does that)."""
        if self._follower is not None:
            return self._followed(raw=True)
        if len(self._readers) == 1 and _perfviews.reorder_window(self._readers) is None:
            self.raw = True
            return self._readers[0].raw_events()
        # perf records are written up to a drain late, and one drain's rings one
        # after another: read as written, a thread's switches (and its name) would
        # be taken out of time order
        return self.events()

    def _followed(self, raw: bool) -> Iterator[Any]:
        """The followed trace's events, through the reorder window when it has perf
        records, as a file's (``_events``); ``raw``: undecoded batches if it has none
        (``raw`` is set before the first event), else decoded ones given their return
        addresses, as ``raw_events`` gives a file's. The window also lets go of what it
        holds once the input has been idle long enough (``follow_idle_ns``), so a
        quiet live trace is shown without waiting for its end; and when following
        stops (Ctrl-C), as at the end of input."""
        follower = self._follower
        assert follower is not None
        if not follower.open():
            return  # stopped before the header came
        window = _perfviews.reorder_window_of(follower.header)
        if window is None:
            self.raw = raw
            yield from follower.raw_events() if raw else follower.events()
            return
        ended: list[FollowEnded] = []
        idle_ns = _perfviews.follow_idle_ns(follower.header, follower.interactive)

        def batches() -> Iterator[Any]:
            pauses = PauseOptions(idle_ns, lambda: merger.held > 0)
            for event in follower.events(pauses):
                if isinstance(event, FollowEnded):
                    ended.append(event)  # after what the window holds
                else:
                    yield event

        merger = self._merger = Merger([(follower.name, batches())], window)
        # (events() gives every event its return addresses; raw_events() does not)
        yield from ReturnAddresses().stream(iter(merger)) if raw else merger
        yield from ended


def _open_source(options: Options, stack: contextlib.ExitStack) -> _Source:
    if options.follow:
        follower = stack.enter_context(follow(options.input,
                                              FollowOptions(salvage=options.salvage)))
        stack.enter_context(follower.stop_on_sigint())
        return _Source(follower.name, follower=follower)
    readers = [stack.enter_context(open_trace(path, salvage=options.salvage))
               for path in options.inputs]
    _refuse_repeated_inputs(readers)
    return _Source(readers[0].name, readers=readers)


def _refuse_repeated_inputs(readers: Sequence[TraceReader]) -> None:
    """One file given twice (``t.ktr ./t.ktr``, an overlapping glob) would show each of
    its records twice, merged with itself: refused in one line."""
    seen: dict[tuple[int, int], str] = {}
    for reader in readers:
        descriptor = reader.fileno()
        if descriptor is None:
            continue
        try:
            status = os.fstat(descriptor)
        except OSError:
            continue
        if not stat.S_ISREG(status.st_mode):
            continue
        first = seen.setdefault((status.st_dev, status.st_ino), reader.name)
        if first is not reader.name:
            same = "given twice" if first == reader.name else f"the same file as {first}"
            raise UsageError(f"{reader.name}: {same}: each trace is read once")


def _first_event_read(events: Iterator[Any]) -> Iterator[Any]:
    """``events``, having read far enough that a followed file's header is known."""
    first = next(events, None)
    return events if first is None else itertools.chain((first,), events)


def run(options: Options, stdout: IO[Any], stderr: IO[str]) -> int:
    """Dump the trace(s) ``options`` names; returns the exit status."""
    # This run's names (frames, probes) as c++filt shows them (raw with --no-demangle):
    # one c++filt process, started at the first C++ name shown (if any), passed down to
    # the views that show names, never kept past the run (one run's setting is its own).
    demangler = Demangler(enabled=options.demangle)
    try:
        return _run(options, stdout, stderr, demangler.demangle)
    except TraceFormatError as error:
        if options.salvage or not isinstance(error.format_error, formats.CorruptHeader):
            raise
        # The batches after a damaged header may be intact: say how to read them
        # (a followed file's header is read once following starts, so here).
        raise InputError(error.source, f"{error.message} (ktrdump --salvage reads the "
                                       "batches after it)") from None
    finally:
        demangler.close()


def _run(options: Options, stdout: IO[Any], stderr: IO[str],
         demangle: Callable[[str], str]) -> int:
    with contextlib.ExitStack() as stack:
        source = _open_source(options, stack)

        def shared_pids(error_type: type[BaseException] | None, *_: object) -> None:
            # Merged inputs of other boots that share pids: said once, after the
            # view's own lines (a run that failed says only why).
            text = source.shared_pids_text() if error_type is None else None
            if text is not None:
                _warner(stderr)(text)

        stack.push(shared_pids)
        inputs = source.input_ids
        if options.per_thread and options.output_path is not None:
            refuse_unwritable(per_thread_paths(options.output_path), inputs)
        elif options.output_format == "parquet" and options.output_path is not None:
            from ._parquet import table_paths  # no pyarrow: that is imported on use

            refuse_inputs(table_paths(options.output_path), inputs)
        if options.output_path == STDERR_PATH:
            stdout = cast(IO[Any], stack.enter_context(_GuardedFile(
                _standard_error_copy(), "standard error")))
        elif options.output_path is not None and not options.per_thread and (
                options.output_format != "parquet"):
            # -o FILE: the output goes to a private file instead of standard output.
            # Its write errors (a full disk) name the file, not standard output.
            stdout = cast(IO[Any], stack.enter_context(_GuardedFile(os.fdopen(
                open_named_output(options.output_path, inputs), "wb"),
                options.output_path)))
        # Views that print no line per record say so too when the filters kept nothing.
        matches = _Matches(record_filter(options), source) if _filtering(options) else None
        if options.summary and not options.selection.active:
            return _nothing_matched(matches, source, stderr,
                                    _summary(options, source, stdout, stderr, demangle,
                                             matches=matches))
        read = None
        if (options.output_format == "parquet" and matches is None
                and options.selection.min_duration_ns is None):
            # No filter: the parquet view's fast path reads the batches as its own
            # parser makes them (``_parquet``, "Speed").
            from ._rawparse import batch_parser

            read = source.parsed_events(batch_parser)
        if read is None:
            read = source.events()
        events = _with_progress(options, source, _first_event_read(read), stdout,
                                stderr, writes_as_it_goes=not (
                                    options.summary or options.per_thread
                                    or options.output_format == "parquet"))
        if (options.selection.min_duration_ns is not None and not options.summary
                and options.output_format in ("chrome", "parquet")):
            # probed calls, as --format calls keeps them (before the call filters: their
            # hidden marks are per batch, and this holds records across batches)
            events = _probe_durations(events, options.selection.min_duration_ns)
        selector = None
        if options.selection.active:
            selector = Selector(options.selection, facilities=recorded_facilities(source.header))
        calls = None
        if options.output_format == "calls" and not options.summary:
            # The selector's hidden records (--since/--until: PROBEs by their own time,
            # as the json and chrome views keep them) are left out too.
            # The window's hidden entries still pair (uftrace replay --time-range).
            calls = CallsDescriber(record_filter(options, selector.keep if selector else None),
                                   min_duration_ns=options.selection.min_duration_ns,
                                   order=_byte_order(source), demangle=demangle,
                                   window=selector.window_side if selector else None,
                                   track=record_filter(options))
        if selector is not None:
            events = _selected(events, selector, marked=not (
                options.summary or options.output_format == "chrome"),
                stop=_until_reached(selector, calls))
        if matches is not None and (options.summary or options.per_thread
                                    or options.output_format in ("chrome", "folded", "parquet")):
            if selector is not None and not (options.summary
                                             or options.output_format == "chrome"):
                # Marked batches (every record; the hidden ones named): and the verdict in.
                matches = _Matches(record_filter(options, selector.keep), source)
            events = matches.watch(events)
        if options.summary:
            return _nothing_matched(matches, source, stderr,
                                    _summary(options, source, stdout, stderr, demangle,
                                             events))
        if options.output_format == "chrome":
            return _nothing_matched(matches, source, stderr,
                                    _chrome(options, source, events, stdout, stderr, demangle))
        if options.output_format == "folded":
            return _nothing_matched(matches, source, stderr,
                                    _folded(options, source, events, stdout, stderr, demangle,
                                            selector))
        if options.output_format == "parquet":
            return _nothing_matched(matches, source, stderr, _parquet(
                options, source, events, stderr, selector, inputs, demangle))
        if calls is not None:
            status = dump(source, calls, Output(stdout), stderr, events)
            if not calls.probes_seen:
                # An empty table alone looks like a broken view (perf report says so too).
                _warner(stderr)(f"{source.name}: no function probe records in this trace "
                                "(ktr record -P PROBE records them)")
            elif not calls.lines_shown and _filtering(options):
                _say_nothing_matched(source, stderr)  # (as every other view says it)
            return status
        if options.per_thread:
            assert options.output_path is not None
            describer = per_thread_describer(options, options.output_path, source.header,
                                             selector, avoid=inputs)
        else:
            describer = describer_for(options, header=source.header, selector=selector,
                                      warn=_warner(stderr), demangle=demangle)
        output = Output(stdout)
        status = dump(source, describer, output, stderr, events)
        if options.per_thread:  # its lines go to files of their own, not to ``output``
            losses = describer.losses_summary()
            if losses is not None:  # standard output is empty: the total is said here
                _warner(stderr)(losses)
            return _nothing_matched(matches, source, stderr, status)
        if output.records_written == 0 and _filtering(options):
            # Nothing printed and status 0 would look like a broken view: say why.
            _say_nothing_matched(source, stderr)
        elif (output.records_written == 0 and options.output_format == "strace"
              and not options.per_thread):
            # As --format calls and folded say of theirs (a -t w trace, say).
            _warner(stderr)(f"{source.name}: no system calls, signals or exits in this "
                            "trace (ktr record -t c records calls, s signals, p exits)")
        return status


def _say_nothing_matched(source: _Source, stderr: IO[str]) -> None:
    """The one line every view says when the filters kept no record."""
    _warner(stderr)(f"{source.name}: the filters matched no records")


class _Matches:
    """Whether any record the views read passes ``keep`` (the filters): looked at
    until one does, so it costs nothing after the first match."""

    def __init__(self, keep: Callable[[formats.Record], bool] | None, source: _Source) -> None:
        self.found = keep is None
        self._keep = keep
        self._source = source  # its header (the byte order) is known once reading started

    def watch(self, events: Iterator[Any]) -> Iterator[Any]:
        """``events`` unchanged; a batch is looked at before it is passed on (a marked
        batch's verdicts are the selector's until the next is fed)."""
        keep = self._keep
        for event in events:
            if not self.found and keep is not None:
                if isinstance(event, list):
                    self.found = any(map(keep, event))
                elif isinstance(event, RawBatch):
                    self.found = self._raw_matches(event, keep)
            yield event

    def _raw_matches(self, batch: RawBatch, keep: Callable[[formats.Record], bool]) -> bool:
        header = self._source.header
        codec = formats.codec(header.byte_order if header is not None else "little")
        try:
            return any(any(map(keep, records)) for records in codec.record_chunks(batch.data, 4096))
        except formats.PayloadError:
            return False  # malformed: the summary reports it


def _nothing_matched(matches: _Matches | None, source: _Source, stderr: IO[str],
                     status: int) -> int:
    if matches is not None and not matches.found:
        _say_nothing_matched(source, stderr)
    return status


def _filtering(options: Options) -> bool:
    """Whether records may be hidden by the filters (-p, -t, -u, -e, --since, ...)."""
    return bool(options.pids or options.kinds is not None or options.user_labels is not None
                or options.selection.active)


def _with_progress(options: Options, source: _Source, events: Iterator[Any], stdout: IO[Any],
                   stderr: IO[str], *, writes_as_it_goes: bool) -> Iterator[Any]:
    """``events``, drawing progress on a terminal's stderr where that is safe (``_progress``)."""
    readers = source.readers
    sizes = [0 if path == "-" else _size_of(path) for path in options.inputs]
    progress = progress_for(stdout, stderr, writes_as_it_goes=writes_as_it_goes,
                            live=source.live or not readers,
                            position=lambda: sum(reader.offset for reader in readers),
                            total_bytes=sum(sizes) if all(sizes) else None)
    return events if progress is None else progress.wrap(events)


def _size_of(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _probe_durations(events: Iterator[Any], minimum_ns: int) -> Iterator[Any]:
    """``events`` with the probed calls shorter than ``minimum_ns`` left out
    (``ProbeDurationFilter``)."""
    from ._probes import ProbeDurationFilter

    durations = ProbeDurationFilter(minimum_ns)
    for event in events:
        if isinstance(event, list):
            released = durations.feed(event)
            if released:
                yield released
        else:
            yield event
    released = durations.finish()
    if released:
        yield released


def _until_reached(selector: Selector, calls: CallsDescriber | None) -> Callable[[], bool]:
    """When reading may stop (``_selected``'s ``stop``): once nothing read later can be
    shown. For the calls view, once past --until with no probed call open (a call open
    at --until is closed at its return, after it, as ``returns after --until``) and a
    PROBE seen (none read says the trace has none); syscalls begun before --until do
    not matter there. For the others, ``Selector.past_until``: every call begun before
    --until has returned (it is shown whole)."""
    if calls is None:
        return selector.past_until
    return lambda: (calls.probes_seen > 0 and not calls.calls_open
                    and selector.released_past_until())


def _selected(events: Iterator[Any], selector: Selector, *, marked: bool,
              stop: Callable[[], bool] | None = None) -> Iterator[Any]:
    """``events`` through the call filters: batches of the records released.

    ``stop``: reading ends once it says nothing later can be shown (``_until_reached``:
    past --until, and every call begun before it has returned), asked after each
    batch released has been taken, so what follows in the input (its damage, a missing
    END record, DROP records, which the selector keeps whatever their time) is neither
    read nor reported.

    ``marked``: every record is passed on and ``selector.hidden`` names the
    hidden ones of the batch just yielded (views that keep call state);
    otherwise only the shown records are. A notice (a damaged or cut-short
    input) comes after the records read before it: while the selector holds
    some of them (a call waiting for its RET), it waits until they are released.
    """
    released_total = 0  # records released so far
    pending: deque[tuple[int, Any]] = deque()  # (released_total it waits for, notice)

    def pieces(released: list[Any]) -> Iterator[Any]:
        nonlocal released_total
        end_total = released_total + len(released)
        start = 0
        while pending and pending[0][0] <= end_total:
            due, notice = pending.popleft()
            cut = max(due - released_total, start)
            if cut > start:
                yield released[start:cut] if marked else selector.shown(released[start:cut])
                start = cut
            yield notice
        rest = released[start:]
        if rest:
            yield rest if marked else selector.shown(rest)
        released_total = end_total

    for event in events:
        if isinstance(event, list):
            released = selector.feed(event)
            if released:
                yield from pieces(released)
            if stop is not None and stop():
                break
        elif pending or selector.held:
            pending.append((released_total + selector.held, event))
        else:
            yield event
    yield from pieces(selector.finish())
    for _due, notice in pending:  # (none: every record is released by finish)
        yield notice


class _Notices:
    """Report notices on stderr, one line each, and remember whether any means lost data.

    Late records (``Late``: shown, only out of order) come once per reorder window
    that let some go: a busy input made dozens of lines. Of a file they are said
    once per input and kind at ``finish``, with the exact total; of a live input
    (a pipe, a followed file: the end may never come) as they come.
    """

    def __init__(self, source: _Source, stderr: IO[str]) -> None:
        self.status = 0
        self._source = source
        self._stderr = stderr
        self._late: dict[tuple[str, int, bool], Late] = {}  # (input, window, idle): total

    def __call__(self, notice: Any) -> None:
        if isinstance(notice, Late) and not self._source.live:
            key = (notice.source, notice.window_ns, bool(notice.idle_ns))
            before = self._late.get(key)
            self._late[key] = notice if before is None else notice._replace(
                records=before.records + notice.records,
                idle_ns=max(before.idle_ns, notice.idle_ns))
            return
        if isinstance(notice, Skipped):
            text = f"{self._source.name}: {notice.describe()}"
        else:
            text = notice.describe()
        if not isinstance(notice, Late):  # late records are shown, only out of order
            self.status = 1
        self._write(text)

    def _write(self, text: str) -> None:
        self._stderr.write(f"{PROGRAM}: {text}\n")
        self._stderr.flush()

    def finish(self) -> int:
        """Say the late records' totals; the exit status."""
        late, self._late = self._late, {}
        for notice in late.values():
            self._write(notice.describe())
        return self.status


#: The records ``--summary``'s probe and sample tables read.
TAPPED_KINDS = frozenset(int(kind) for kind in (
    formats.RecordKind.PROBE, formats.RecordKind.PROBE_DEF, formats.RecordKind.SAMPLE,
    formats.RecordKind.MMAP, formats.RecordKind.PROC,
    formats.RecordKind.DROP))  # the probe table abandons the calls open at a loss


def _summary(options: Options, source: _Source, stdout: IO[Any], stderr: IO[str],
             demangle: Callable[[str], str], events: Iterator[Any] | None = None, *,
             matches: _Matches | None = None) -> int:
    report = _Notices(source, stderr)
    summary_options = SummaryOptions(
        sort_by=options.sort_by,  # type: ignore[arg-type]
        per_process=bool(options.pids) or options.thread_ids, pids=options.pids,
        per_thread=options.thread_ids,
        **({"columns": options.columns} if options.columns else {}),  # type: ignore[arg-type]
    )
    kinds = options.kinds
    if options.user_labels is not None:
        # -u shows USER records alone, which no table counts: the tables are empty, as
        # with -t u (they counted every record, while "the filters matched no records")
        user = frozenset({int(formats.RecordKind.USER)})
        kinds = user if kinds is None else kinds & user
    if events is None:
        # -t needs each record's kind: decoded batches instead of the raw fast path.
        events = _with_progress(options, source, _first_event_read(
            source.raw_events() if kinds is None else source.events()),
            stdout, stderr, writes_as_it_goes=False)
        if matches is not None:
            events = matches.watch(events)
    if kinds is not None:
        events = _of_kinds(events, kinds)
    header = source.header
    order = header.byte_order if header is not None else "little"
    probes = ProbeSummary(options.pids, options.selection.min_duration_ns, order, demangle)
    profile = Profile(Stacks(options.symbol_cache, _warner(stderr), demangle))
    pids = options.pids
    sample = int(formats.RecordKind.SAMPLE)
    returns = ReturnAddresses() if source.raw else None

    def take(records: list[formats.Record]) -> None:
        """The probe and sample tables' records, from the summary's one walk."""
        if returns is not None:  # undecoded batches: not given their return addresses yet
            records = returns.feed(records)
        probes.add_records(records)
        profile.add_records(records if not pids else [
            r for r in records if r[0] != sample or r[2] in pids or r[3] in pids])

    try:
        summary = summarize(events, summary_options, order=order, on_notice=report,
                            tap=(TAPPED_KINDS, take))
        summary.counters.use_header(header)
        summary.switches.use_header(header)
        if kinds is not None and int(formats.RecordKind.CSW) not in kinds:
            summary.switches.requested = False  # (-t without w: not asked of this view)
        output = Output(stdout)
        probe_lines = probes.lines()
        sample_lines = profile_lines(profile)
        lines = [*summary.lines(more_tables=bool(probe_lines or sample_lines)),
                 *probe_lines, *sample_lines]
        if lines and lines[0].startswith("\n"):
            lines[0] = lines[0][1:]  # the blank line separates tables, never starts the output
            if not lines[0]:
                del lines[0]
        output.write(lines)
        output.flush()
    finally:
        profile.stacks.close()
    return report.finish()


def _warner(stderr: IO[str]) -> Callable[[str], None]:
    """A warning of the symbolizer as one ``ktrdump:`` line on ``stderr``."""
    return lambda text: print(f"ktrdump: {text}", file=stderr)


def _of_kinds(events: Iterator[Any], kinds: frozenset[int]) -> Iterator[Any]:
    """``events`` with only the records of ``kinds`` (``-t``) in its batches, and those
    every table needs: DROPs (losses are always reported), maps (they symbolize the
    samples) and probe definitions (they name the probes)."""
    # (and BEGIN: which counters its recording could not count)
    shown = kinds | CONTEXT_KINDS | {int(formats.RecordKind.DROP), int(formats.RecordKind.BEGIN)}
    for event in events:
        yield [record for record in event if record[0] in shown] if isinstance(
            event, list) else event


def _folded(options: Options, source: _Source, events: Iterator[Any], stdout: IO[Any],
            stderr: IO[str], demangle: Callable[[str], str],
            selector: Selector | None = None) -> int:
    report = _Notices(source, stderr)
    profile = Profile(Stacks(options.symbol_cache, _warner(stderr), demangle),
                      thread_ids=options.thread_ids)
    # The selector's hidden records (--since/--until: SAMPLEs by their own time, as
    # the text, json, chrome and parquet views and the --summary profile keep them)
    # are left out too; the other records (MMAPs) still symbolize the kept samples.
    keep = record_filter(options, selector.keep if selector else None)
    sampled = False
    try:
        for event in events:
            if isinstance(event, list):
                sampled = sampled or any(r[0] == formats.RecordKind.SAMPLE for r in event)
                profile.add_records(
                    event if keep is None else
                    [r for r in event if r[0] != formats.RecordKind.SAMPLE or keep(r)])
            else:
                report(event)
        output = Output(stdout)
        output.write(folded_lines(profile))
        output.flush()
    finally:
        profile.stacks.close()
    if not sampled:
        # Nothing printed, status 0: say why (perf report on an empty file does).
        _warner(stderr)(f"{source.name}: no stack samples in this trace "
                        "(ktr record -F HZ records them)")
    return report.finish()


def _chrome(options: Options, source: _Source, events: Iterator[Any], stdout: IO[Any],
            stderr: IO[str], demangle: Callable[[str], str]) -> int:
    # Imported here: the other views do not pay for the Chrome writer's imports.
    from ._chrome import DEFAULT_IO_BYTES as DEFAULT_CHROME_IO_BYTES
    from ._chrome import ChromeOptions, write_chrome

    report = _Notices(source, stderr)
    chrome_options = ChromeOptions(
        origin_ns=source.origin_ns, keep=record_filter(options), call_args=options.call_args,
        raw=options.raw, fd_paths=options.fd_paths,
        facilities=recorded_facilities(source.header),
        metadata=_header_metadata(None if source.header_lost else source.header),
        byte_order=_byte_order(source),
        symbol_cache=options.symbol_cache,
        warn=_warner(stderr),
        demangle=demangle,
        io_bytes=DEFAULT_CHROME_IO_BYTES if options.max_data is None else options.max_data)
    write_chrome(events, stdout, chrome_options, on_notice=report,
                 flush_each_batch=source.live)
    return report.finish()


def _parquet(options: Options, source: _Source, events: Iterator[Any],
             stderr: IO[str], selector: Selector | None, inputs: FileIds,
             demangle: Callable[[str], str]) -> int:
    from ._parquet import write_parquet  # pyarrow is optional: imported only here

    assert options.output_path is not None
    report = _Notices(source, stderr)
    write_parquet(events, options.output_path, facilities=recorded_facilities(source.header),
                  on_notice=report,
                  keep=record_filter(options, selector.keep if selector is not None else None),
                  avoid=inputs, stacks=Stacks(options.symbol_cache, _warner(stderr), demangle),
                  byte_order=_byte_order(source), demangle=demangle)
    return report.finish()


def _byte_order(source: _Source) -> formats.ByteOrder:
    """The trace's byte order (the first input's: merged inputs share it)."""
    header = source.header
    return header.byte_order if header is not None else "little"


def _header_metadata(header: formats.FileHeader | None) -> tuple[tuple[str, object], ...]:
    """What a viewer's trace-wide metadata shows: where and how the trace was recorded;
    null for each when ``header`` is None (damaged and read past: not known)."""
    if header is None:
        return tuple((key, None) for key in (
            "hostname", "kernel_release", "machine", "ktr_version", "recording_start_ns",
            "command", "facilities"))
    # The command as JSON Lines has it: U+FFFD text, and command_hex when not UTF-8
    # (an older recorder's surrogates made so too).
    command = json_safe({key: header.options[key] for key in ("command", "command_hex")
                         if key in header.options})
    assert isinstance(command, dict)
    exact = command.get("command_hex")
    return (("hostname", header.hostname), ("kernel_release", header.kernel_release),
            ("machine", header.machine), ("ktr_version", header.ktr_version),
            ("recording_start_ns", header.realtime_ns),
            ("command", command.get("command")),
            *((("command_hex", exact),) if exact is not None else ()),
            ("facilities", header.options.get("facilities")))


def dump(reader: TraceReader | _Source, describer: Any, output: Output, stderr: IO[str],
         events: Iterable[Any] | None = None) -> int:
    """Feed every batch of ``reader`` through ``describer`` to ``output``; the exit status.

    ``describer``: anything with ``describe(records) -> list[str]`` and
    ``finish() -> list[str]`` (``_describe``, ``_strace``). Damaged batches
    are reported on ``stderr`` where they happen (status 1). A live input
    (a pipe, a followed file) is flushed batch by batch, and a call's line is
    not held back waiting for the next batch. ``events``: the reader's events
    if already started.
    """
    live = reader.live
    report = _Notices(reader if isinstance(reader, _Source) else _Source(reader.name, [reader]),
                      stderr)
    if live and hasattr(describer, "defer_entries"):
        describer.defer_entries = False
    if hasattr(describer, "stream_large"):
        # (the text view: an 8 MiB record's dump, 32 MiB of text and more, is written
        # a piece at a time as it is made, never held whole)
        describer.stream_large = True
    # Damage is said in-band too (a SKIP/CUT line or record where it happened), so
    # output read without stderr (``2>/dev/null | jq``) shows the gap.
    in_band = getattr(describer, "notice_lines", None)
    last_ns = reader.header.realtime_ns if reader.header is not None else 0
    # A damaged header read past (--salvage): its start time is unknown, so its line
    # waits for the first record's time (never 1970).
    lost_header: Any = None

    def say(notice: Any, ns: int) -> None:
        assert in_band is not None
        lines = in_band(notice, ns)  # held records' lines, then the damage's
        output.records_written += len(lines) - bool(lines and damage_of(notice)[1] is not None)
        output.write(lines)

    try:
        for event in reader.events() if events is None else events:
            if not isinstance(event, list):
                if in_band is not None:
                    if isinstance(damage_of(event)[1], HeaderLost):
                        lost_header = event
                    else:
                        say(event, last_ns)
                output.flush()  # the warning goes after the records preceding the damage
                report(event)
                continue
            if event:
                if lost_header is not None:
                    say(lost_header, event[0][4])
                    lost_header = None
                last_ns = event[-1][4]
            lines = describer.describe(event)
            output.records_written += len(lines)
            output.write(lines)
            if live:
                output.flush()
    except KtrdumpError:
        output.write(describer.finish())
        output.flush()  # what was read before an I/O error is still shown
        raise
    if lost_header is not None:  # no record read after it
        say(lost_header, last_ns)
    lines = describer.finish()
    output.records_written += len(lines)
    output.write(lines)
    output.flush()
    return report.finish()


#: Young-generation GC threshold while dumping: records are many short-lived
#: tuples without cycles, so collecting every 700 allocations (Python's
#: default) costs ~7% of a dump for nothing; memory stays the same.
GC_THRESHOLD = 100_000


def main(argv: Sequence[str] | None = None) -> int:
    closed = _occupy_closed_standard_fds()
    previous_sigpipe = _default_sigpipe()
    previous_gc = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD, *previous_gc[1:])
    stderr: IO[str] = sys.stderr if sys.stderr is not None and 2 not in closed else _discard()
    try:
        return _main(sys.argv[1:] if argv is None else argv, stderr, closed)
    finally:
        gc.set_threshold(*previous_gc)
        _restore_sigpipe(previous_sigpipe)


def _main(argv: Sequence[str], stderr: IO[str], closed: frozenset[int] = frozenset()) -> int:
    try:
        _catch_interrupts()
        options = parse_options(argv)
        if _asks_socket_details(argv):
            _report(stderr, SOCKET_DETAILS_NOTE)
        if _both_status_letters(argv):
            _report(stderr, BOTH_STATUS_LETTERS_NOTE)
        if 0 in closed and "-" in options.inputs:
            raise InputError("<stdin>", "standard input is closed")
        stdout: Any = sys.stdout
        if 1 in closed or stdout is None:
            if options.output_path is None:
                raise OutputError("cannot write to standard output: it is closed", errno.EBADF)
            stdout = _discard()  # -o FILE: the dump never goes to standard output
        if 2 in closed and options.output_path == STDERR_PATH:
            raise OutputError("cannot write to standard error: it is closed", errno.EBADF)
        if not hasattr(stdout, "buffer"):  # a caller's text stream (io.StringIO)
            return run(options, stdout, stderr)
        guarded = _GuardedStdout(stdout.buffer)
        guarded.flush_text(stdout)
        return run(options, cast(IO[bytes], guarded), stderr)
    except SystemExit as exit_request:  # --help, --version
        try:
            if sys.stdout is not None:
                sys.stdout.flush()
        except OSError as error:
            _silence_stdout()
            _report(stderr, f"{PROGRAM}: {_GuardedStdout.failure(error)}")
            return 1
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except UsageError as error:
        _report(stderr, f"{PROGRAM}: {error}")
        return 2
    except KtrdumpError as error:
        if isinstance(error, OutputError):
            _silence_stdout()  # what is left in its buffer must not fail again at exit
        _report(stderr, f"{PROGRAM}: {error}")
        return 1
    except BrokenPipeError:
        # Only reached when SIGPIPE could not be reset (not the main thread):
        # the reader of our output has gone, which is not an error of ours.
        _silence_stdout()
        return 1
    except OSError as error:  # standard error itself failing (2>/dev/full)
        _report(stderr, f"{PROGRAM}: cannot write to standard error: {error.strerror}")
        return 1
    except KeyboardInterrupt:
        return 130


def _catch_interrupts() -> None:
    """Ctrl-C is a ``KeyboardInterrupt`` from here on, which ``_main`` turns into status
    130: the quiet exit ``ktrdump.__main__`` installed for the start-up gives way.
    Any other handler (a caller's; SIG_IGN) is left as it is."""
    if getattr(signal.getsignal(signal.SIGINT), "ktrdump_start_up", False):
        signal.signal(signal.SIGINT, signal.default_int_handler)


class _GuardedStdout:
    """Binary standard output whose write errors are ``OutputError`` (one line).

    A vanished reader stays ``BrokenPipeError``, which SIGPIPE normally
    pre-empts: ``ktrdump | head`` ends quietly, as C tools do.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def _failed(self, error: OSError) -> OutputError:
        return self.failure(error)

    @staticmethod
    def failure(error: OSError) -> OutputError:
        number = error.errno if error.errno is not None else errno.EIO
        name = errno.errorcode.get(number, str(number))
        return OutputError(f"cannot write to standard output: {name} "
                           f"({os.strerror(number)})", number)

    def write(self, data: bytes) -> int:
        try:
            return self._stream.write(data)
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(error) from None

    def flush_text(self, text_stream: IO[str]) -> None:
        """Flush what was printed through the text layer before our bytes."""
        try:
            text_stream.flush()
        except BrokenPipeError:
            raise
        except OSError as error:
            raise self._failed(error) from None

    def isatty(self) -> bool:
        try:
            return self._stream.isatty()
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        return self._stream.fileno()


class _GuardedFile(_GuardedStdout):
    """The ``-o`` file: its write errors are ``OutputError`` naming it, closing included."""

    def __init__(self, stream: IO[bytes], path: str) -> None:
        super().__init__(stream)
        self._path = path

    def _failed(self, error: OSError) -> OutputError:
        return output_file_failure(self._path, error)

    def close(self) -> None:
        try:
            self._stream.close()  # flushes what is still buffered
        except OSError as error:
            raise self._failed(error) from None

    def __enter__(self) -> _GuardedFile:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
            return
        with contextlib.suppress(OutputError):  # the error under way is the one reported
            self.close()


def _standard_error_copy() -> IO[bytes]:
    """``-o /dev/stderr``: a binary stream on a copy of fd 2 (the same open file: its
    offset and O_APPEND are shared, as when the shell redirects)."""
    with contextlib.suppress(ValueError, AttributeError, OSError):
        sys.stderr.flush()  # (what was said before comes before)
    try:
        return os.fdopen(os.dup(2), "wb")
    except OSError as error:
        if error.errno == errno.EBADF:
            raise OutputError("cannot write to standard error: it is closed",
                              errno.EBADF) from None
        raise output_file_failure("standard error", error) from None


def _report(stderr: IO[str], line: str) -> None:
    """One line on stderr; a stderr that cannot be written loses it, nothing more."""
    with contextlib.suppress(OSError, ValueError):
        stderr.write(line + "\n")
        stderr.flush()


def _discard() -> IO[str]:
    return open(os.devnull, "w", encoding="utf-8")


def _occupy_closed_standard_fds() -> frozenset[int]:
    """Put /dev/null (close-on-exec) on closed fds 0-2; returns which were closed.

    Otherwise the next file opened would become "standard output" or
    "standard error" and receive what is meant for them.
    """
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        try:
            placeholder = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            break
        if placeholder != fd:
            os.dup2(placeholder, fd, inheritable=False)
            os.close(placeholder)
    return frozenset(closed)


def _default_sigpipe() -> Any:
    try:
        return signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    except (ValueError, OSError, AttributeError):  # not the main thread; no SIGPIPE
        return None


def _restore_sigpipe(previous: Any) -> None:
    if previous is None:
        return
    try:
        if sys.stdout is not None:
            sys.stdout.flush()  # while SIGPIPE still has its default action
    except (OSError, ValueError):
        _silence_stdout()
    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGPIPE, previous)


def _silence_stdout() -> None:
    # Python flushes stdout at exit; a closed pipe would print an error then.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
