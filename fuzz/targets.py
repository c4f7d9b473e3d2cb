"""What the fuzzer runs each input through: the reading API and every ktrdump view.

Everything runs in-process (in the fuzzer's worker). The only exceptions a
target may raise are the documented ones (``ktrdump.errors.KtrdumpError`` and
its subclasses, from opening the trace); anything else is a finding.

Guarantees: each target reads the input to its end and discards the output.
Does not: limit memory or time (``run`` does, around the worker).
"""

from __future__ import annotations

import importlib.util
import io
from collections.abc import Callable

import ktrdump
from ktrdump import cli
from ktrdump.errors import KtrdumpError

#: The views, as ktrdump command lines (PATH is the input; twice for the merge;
#: OUT a file beside it, for the views that write files).
VIEWS: dict[str, list[str]] = {
    "text": ["PATH"],
    "text-options": ["-x", "-H", "-T", "--durations", "PATH"],
    "text-raw": ["-n", "-d", "-E", "-R", "PATH"],
    "json": ["--json", "PATH"],
    "json-fds": ["--json", "-y", "PATH"],
    "strace": ["--format", "strace", "PATH"],
    "strace-fds": ["--format", "strace", "-y", "PATH"],
    "summary": ["--summary", "PATH"],
    "chrome": ["--format", "chrome", "PATH"],
    "calls": ["--format", "calls", "PATH"],
    "folded": ["--format", "folded", "PATH"],
    "fds": ["-y", "PATH"],
    "merge": ["PATH", "PATH"],
    "salvage-json": ["--salvage", "--json", "PATH"],
    "salvage-strace": ["--salvage", "--format", "strace", "PATH"],
    "salvage-summary": ["--salvage", "--summary", "PATH"],
}

#: Views that need an optional dependency: (view, module, command line).
OPTIONAL_VIEWS = [("parquet", "pyarrow", ["--format", "parquet", "-o", "OUT", "PATH"])]

DOCUMENTED_ERRORS = (KtrdumpError,)


class _Sink(io.RawIOBase):
    """A binary stdout that keeps nothing."""

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        return len(memoryview(data))  # type: ignore[arg-type]


def api_events(path: str, data: bytes) -> None:
    with ktrdump.open(io.BytesIO(data)) as trace:
        for _ in trace.events():
            pass


def api_raw_events(path: str, data: bytes) -> None:
    with ktrdump.open(io.BytesIO(data)) as trace:
        for _ in trace.raw_events():
            pass


def api_salvage(path: str, data: bytes) -> None:
    """``--salvage``'s reader: unverified records and a damaged header read past."""
    with ktrdump._reader.open_trace(io.BytesIO(data), salvage=True) as trace:
        for _ in trace.events():
            pass


def _view(arguments: list[str], path: str) -> Callable[[str, bytes], None]:
    # Parsed once: argparse costs as much as a view of a small input.
    places = {"PATH": path, "OUT": f"{path}.out.parquet"}
    options = cli.parse_options([places.get(a, a) for a in arguments])

    def run_view(input_path: str, data: bytes) -> None:
        assert input_path == path, "targets are made for one input path"
        sink = io.BufferedWriter(_Sink())
        cli.run(options, sink, io.StringIO())
        sink.flush()
    return run_view


def make_targets(path: str) -> dict[str, Callable[[str, bytes], None]]:
    """Every target, for inputs written to ``path`` (the views read the file)."""
    views = dict(VIEWS)
    for name, module, arguments in OPTIONAL_VIEWS:
        if importlib.util.find_spec(module) is not None:
            views[name] = arguments
    return {
        "api.events": api_events,
        "api.raw_events": api_raw_events,
        "api.salvage": api_salvage,
        **{f"view.{name}": _view(arguments, path) for name, arguments in views.items()},
    }
