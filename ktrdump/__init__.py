"""ktrdump: decode ktr trace files into kdump-style text and JSON Lines.

Never imports the recorder (``ktr``); reads only through ``formats``.

Public API::

    ktrdump.open(path_or_stream) -> TraceReader   # .header, iterate Records,
                                                  # .notices, .skipped_batches,
                                                  # .events() (batches and notices)
    ktrdump.Skipped                               # a damaged region passed over
    ktrdump.CutShort                              # (a Skipped) a recording has no END record
                                                  # (at the end, or before the next BEGIN)
    ktrdump.calls(path_or_reader, fd_paths=False) # the call layer: Call objects (a CALL
                                                  # with its records and RET) and the
                                                  # records of no call, in the order they end
    ktrdump.Call                                  # one system call (see ktrdump._calls.calls)
    ktrdump.Options, ktrdump.cli.main(argv) -> int
    ktrdump.errors: KtrdumpError, UsageError, InputError, TraceFormatError

See ``ktrdump._reader`` for what reading guarantees and ``ktrdump._describe``
for the text and JSON Lines formats.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

TYPE_CHECKING = False  # (typing's constant, which mypy knows by name)
if TYPE_CHECKING:
    from typing import Any

    from ._calls import Call, calls
    from ._options import Options
    from ._reader import CutShort, Skipped, TraceReader
    from ._reader import open_trace as open
    from .errors import InputError, KtrdumpError, TraceFormatError, UsageError

# Imported on first use, so that ``ktrdump.cli`` loads them with the collector
# paused, and so that importing the package imports nothing (not even the
# errors, which load ``formats``): the ``ktrdump`` command's Ctrl-C handling
# (``ktrdump.__main__``) can only be installed once this file has run.
_LAZY = {"Call": ("._calls", "Call"), "calls": ("._calls", "calls"),
         "CutShort": ("._reader", "CutShort"),
         "Options": ("._options", "Options"), "Skipped": ("._reader", "Skipped"),
         "TraceReader": ("._reader", "TraceReader"), "open": ("._reader", "open_trace"),
         "InputError": (".errors", "InputError"), "KtrdumpError": (".errors", "KtrdumpError"),
         "TraceFormatError": (".errors", "TraceFormatError"),
         "UsageError": (".errors", "UsageError"), "errors": (".errors", "")}


def __getattr__(name: str) -> Any:
    found = _LAZY.get(name)
    if found is None:
        raise AttributeError(f"module 'ktrdump' has no attribute {name!r}")
    import importlib

    module, attribute = found
    loaded = importlib.import_module(module, __name__)
    value = getattr(loaded, attribute) if attribute else loaded  # ("": the submodule)
    globals()[name] = value  # the next lookup is a plain attribute
    return value

__all__ = [
    "Call",
    "CutShort",
    "InputError",
    "KtrdumpError",
    "Options",
    "Skipped",
    "TraceFormatError",
    "TraceReader",
    "UsageError",
    "__version__",
    "calls",
    "open",
]
