"""The ``ktr`` command: ``ktr record …`` (and ``--help``, ``--version``).

Guarantees: every error a user can cause ends in one line on stderr and a
non-zero exit status, never a traceback; ``ktr record -- CMD`` exits with the
command's exit status (128+signal if it was killed).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from . import __version__
from ._options import parse_record_arguments
from ._recorder import record, summary_lines
from .errors import KtrError, UsageError

USAGE = """\
usage: ktr record [-o FILE|-] [-a] [-t TRSTR] [-i] [-d] [-s BYTES] [-z] [-e trace=SET]
                  [-q] [--queue-max N] [--timeout S] [--wake-delay MS]
                  [--interactive-delay MS] [--spin-us US] [--pin[=CPU]]
                  (-p PID[,PID...] | -g PGID | -- CMD [ARGS...])
       ktr --version

Record what processes do into a trace file; read it with ktrdump.
`ktr record --help` describes every option.
"""


def _one_line(error: KtrError) -> str:
    text = " ".join(str(error).split("\n"))
    return text if text.startswith("ktr") else f"ktr: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        if not arguments or arguments[0] in ("-h", "--help", "help"):
            sys.stdout.write(USAGE)
            return 0 if arguments else 2
        if arguments[0] == "--version":
            sys.stdout.write(f"ktr {__version__}\n")
            return 0
        if arguments[0] != "record":
            raise UsageError(f"ktr: unknown command {arguments[0]!r} (try ktr record --help)")
        options = parse_record_arguments(arguments[1:])
        if options.list_probes:
            from ._probe_source import list_probes

            for line in list_probes(options.list_probes, options.pids[0] if options.pids
                                    else None):
                sys.stdout.write(line + "\n")
            return 0
        report = record(options)
        for line in summary_lines(options, report):
            sys.stderr.write(line + "\n")
        return report.exit_status
    except KtrError as error:
        sys.stderr.write(_one_line(error) + "\n")
        return error.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("ktr: interrupted\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
