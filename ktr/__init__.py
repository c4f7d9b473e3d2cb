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

The names above are imported on first use: ``import ktr`` for ``ktr.utrace``
in a traced program does not load the recorder (about 90 ms), and ``ktr.cli``
can load it with the collector paused. This file imports nothing itself (not
even ``typing``): the ``ktr`` command's Ctrl-C handling (``ktr.__main__``)
can only be installed once it has run.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

TYPE_CHECKING = False  # (typing's constant, which mypy knows by name)
if TYPE_CHECKING:
    from typing import Any

    from ._options import RecordOptions, parse_record_arguments
    from ._recorder import RecordingReport, record
    from ._utrace import utrace

_LAZY = {"RecordOptions": "._options", "parse_record_arguments": "._options",
         "RecordingReport": "._recorder", "record": "._recorder", "utrace": "._utrace"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ktr' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value

__all__ = [
    "RecordOptions", "RecordingReport", "__version__", "parse_record_arguments", "record",
    "utrace",
]
