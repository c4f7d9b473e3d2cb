"""ktr: ktrace for Linux — the recorder.

Attaches to processes with ptrace (or starts one), turns what they do into
trace records and writes them through a bounded per-output queue and a writer
thread. ``ktrdump`` reads what it writes; ``formats`` defines the bytes.

Public API::

    ktr.utrace(label, data)                 # write a USER record if being recorded
    ktr.record(ktr.RecordOptions(...))      # one recording, as `ktr record` makes it
        -> RecordingReport(exit_status, result, stats, output_failure)
    ktr.parse_record_arguments(argv)        # `ktr record`'s command line -> RecordOptions
    ktr.errors                              # KtrError and its subclasses

``record`` must run on the main thread of a process with no other threads and
no other child processes (it reaps every child while it runs); ``ktr record``
is the safe way to record from a program that has either.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from ._options import RecordOptions, parse_record_arguments
from ._recorder import RecordingReport, record
from ._utrace import utrace

__all__ = [
    "RecordOptions", "RecordingReport", "__version__", "parse_record_arguments", "record",
    "utrace",
]
