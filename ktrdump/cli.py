"""The ``ktrdump`` command: decode -> filter -> describe -> output.

Usage: ``ktrdump [options] [FILE]`` (FILE defaults to ``ktr.out``; ``-`` reads
standard input, a pipe included, until it ends).

Guarantees: ``main`` returns an exit status and never lets a traceback out for
a user or input problem: a bad command line is one line on stderr and status
2; an unreadable input or a file that is not a trace is one line on stderr
(``ktrdump: FILE: not a ktr trace file (bad magic) at byte offset 0``) and
status 1; each damaged or torn batch is one warning line on stderr naming its
byte offset and the batches skipped, the records around it are still printed,
and the status is 1. SIGPIPE gets its default action while ``main`` runs, so
``ktrdump | head`` ends quietly, as C tools do.

Does not: import the recorder (``ktr``), or follow a growing file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any, NoReturn

import formats
from formats import Record, RecordKind

from . import __version__
from ._describe import describer_for
from ._options import DEFAULT_INPUT, Options
from ._output import Output
from ._reader import Skipped, open_trace
from .errors import KtrdumpError, UsageError

PROGRAM = "ktrdump"


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see ktrdump --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Decode a ktr trace file into kdump-style text or JSON Lines.",
    )
    parser.add_argument("file", nargs="?", metavar="FILE",
                        help=f"trace file to read, - for standard input (default {DEFAULT_INPUT})")
    parser.add_argument("-f", dest="file_option", metavar="FILE",
                        help="trace file to read (kdump's spelling of FILE)")
    parser.add_argument("--json", action="store_true", help="print JSON Lines, one record a line")
    parser.add_argument("-x", dest="hex_dump", action="store_true",
                        help="print I/O data as a hex dump")
    parser.add_argument("-m", dest="max_data", type=_non_negative, metavar="MAXDATA",
                        help="show at most MAXDATA bytes of each I/O (text)")
    parser.add_argument("-p", dest="pids", type=int, action="append", metavar="PID",
                        help="show only records of process PID (repeatable)")
    parser.add_argument("-t", dest="facilities", metavar="TRSTR",
                        help="show only these trace points, as ktr record -t "
                             f"({''.join(formats.FACILITY_KINDS)}, + for the default set)")
    parser.add_argument("-H", dest="thread_ids", action="store_true",
                        help="show the thread id after the pid")
    times = parser.add_mutually_exclusive_group()
    times.add_argument("-T", dest="timestamps", action="store_const", const="absolute",
                       help="show absolute timestamps (seconds since the epoch)")
    times.add_argument("-R", dest="timestamps", action="store_const", const="relative",
                       help="show time since the previous record")
    times.add_argument("-E", dest="timestamps", action="store_const", const="elapsed",
                       help="show time since the first record")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def parse_options(argv: Sequence[str]) -> Options:
    arguments = _parser().parse_args(list(argv))
    if arguments.file is not None and arguments.file_option is not None:
        raise UsageError("give the trace file once, either as FILE or with -f")
    kinds = None
    if arguments.facilities is not None:
        try:
            kinds = frozenset(int(k) for k in formats.kinds_for_facilities(arguments.facilities))
        except formats.FacilityError as error:
            raise UsageError(str(error)) from None
    return Options(
        input=arguments.file or arguments.file_option or DEFAULT_INPUT,
        output_format="json" if arguments.json else "text",
        hex_dump=arguments.hex_dump,
        timestamps=arguments.timestamps or "none",
        thread_ids=arguments.thread_ids,
        pids=frozenset(arguments.pids or ()),
        kinds=kinds,
        max_data=arguments.max_data,
    )


def record_filter(options: Options) -> Callable[[Record], bool] | None:
    """The records ``-p``/``-t`` keep; None when every record is kept. DROP always is."""
    if not options.pids and options.kinds is None:
        return None
    pids = options.pids
    kinds = options.kinds
    drop = int(RecordKind.DROP)

    def keep(record: Record) -> bool:
        if record.kind == drop:
            return True
        if pids and record.pid not in pids:
            return False
        return kinds is None or record.kind in kinds

    return keep


def run(options: Options, stdout: IO[Any], stderr: IO[str]) -> int:
    """Dump the trace ``options`` names; returns the exit status."""
    status = 0
    with open_trace(options.input) as reader:
        describe = describer_for(options).describe
        output = Output(stdout)
        flush_each_batch = reader.live
        keep = record_filter(options)
        try:
            for event in reader.events():
                if isinstance(event, Skipped):
                    output.flush()  # the warning goes after the records preceding the damage
                    stderr.write(f"{PROGRAM}: {reader.name}: {event.describe()}\n")
                    stderr.flush()
                    status = 1
                    continue
                records = event if keep is None else [r for r in event if keep(r)]
                output.write(describe(records))
                if flush_each_batch:
                    output.flush()
        except KtrdumpError:
            output.flush()  # what was read before an I/O error is still shown
            raise
        output.flush()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    previous_sigpipe = _default_sigpipe()
    try:
        return _main(sys.argv[1:] if argv is None else argv)
    finally:
        _restore_sigpipe(previous_sigpipe)


def _main(argv: Sequence[str]) -> int:
    stdout = sys.stdout
    try:
        options = parse_options(argv)
        binary_stdout = getattr(stdout, "buffer", stdout)
        stdout.flush()
        return run(options, binary_stdout, sys.stderr)
    except SystemExit as exit_request:  # --help, --version
        return exit_request.code if isinstance(exit_request.code, int) else 0
    except UsageError as error:
        sys.stderr.write(f"{PROGRAM}: {error}\n")
        return 2
    except KtrdumpError as error:
        sys.stderr.write(f"{PROGRAM}: {error}\n")
        return 1
    except BrokenPipeError:
        # Only reached when SIGPIPE could not be reset (not the main thread):
        # the reader of our output has gone, which is not an error of ours.
        _silence_stdout()
        return 1
    except KeyboardInterrupt:
        return 130


def _default_sigpipe() -> Any:
    try:
        return signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    except (ValueError, OSError, AttributeError):  # not the main thread; no SIGPIPE
        return None


def _restore_sigpipe(previous: Any) -> None:
    if previous is None:
        return
    try:
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
