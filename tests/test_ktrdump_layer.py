"""The call layer: one pairing for every view, ``ktrdump.calls()``, and the record order
formats/SPEC.md states for the records of one call (checked on a real recording).
"""

from __future__ import annotations

import collections
import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest

import formats
import ktrdump
from formats import Record, RecordKind
from formats.linux import ArgKind, signature
from ktrdump import Options
from ktrdump._chrome import ChromeOptions, write_chrome
from ktrdump._describe import describer_for
from ktrdump._summary import summarize

VECTORS = Path(__file__).parent / "vectors"
KTR = Path(sys.executable).parent / "ktr"

# -- payloads are read by field name -----------------------------------------------------

#: Kinds left out of the test (none: every kind's views read payloads by field name).
_ELSEWHERE: frozenset[int] = frozenset()
_GROWN: dict[type, Any] = {}


def _grown(payload: Any) -> Any:
    """``payload`` as if its kind had gained a field at the end (SPEC: minor versions may)."""
    kind = type(payload)
    grown: Any = _GROWN.get(kind)
    if grown is None:
        fields = [(name, Any) for name in kind._fields] + [("appended_later", int)]
        grown = _GROWN[kind] = NamedTuple(f"{kind.__name__}Grown", fields)
        for name, value in vars(kind).items():  # the kind's methods (Cnt.counters ...)
            if not name.startswith("_") and name not in kind._fields:
                setattr(grown, name, value)
    return grown(*payload, 7)


def _records(path: Path) -> list[list[Record]]:
    with ktrdump.open(path) as trace:
        return [event for event in trace.events() if isinstance(event, list)]


def _views(batches: list[list[Record]]) -> dict[str, str]:
    out = {}
    for name, options in {
        "text": Options(), "text-y": Options(fd_paths=True), "json": Options(output_format="json"),
        "json-y": Options(output_format="json", fd_paths=True),
        "strace": Options(output_format="strace"),
        "strace-y": Options(output_format="strace", fd_paths=True),
        "text-d": Options(decimal=True, timestamps=("absolute", "elapsed", "relative")),
    }.items():
        describer = describer_for(options)
        lines = [line for batch in batches for line in describer.describe(batch)]
        lines += describer.finish()
        out[name] = "".join(lines)
    out["summary"] = "".join(summarize(iter(batches)).lines())
    stream = io.StringIO()
    write_chrome(iter(batches), stream, ChromeOptions(origin_ns=0))
    out["chrome"] = stream.getvalue()
    out["calls"] = repr([(c.id, c.name, c.paths, c.error, len(c.records or ()))
                         if isinstance(c, ktrdump.Call) else c.kind
                         for c in ktrdump.calls(batches)])
    return out


@pytest.mark.parametrize("vector", ["calls.ktr", "all_kinds.ktr"])
def test_appending_a_field_to_a_kind_breaks_no_view(vector: str) -> None:
    batches = _records(VECTORS / vector)
    grown = [[record._replace(payload=_grown(record.payload))
              if record.kind not in _ELSEWHERE and not isinstance(record.payload, formats.Unknown)
              else record for record in batch] for batch in batches]
    kinds = {record.kind for batch in grown for record in batch
             if type(record.payload).__name__.endswith("Grown")}
    assert {int(RecordKind.SYSCALL), int(RecordKind.SYSRET), int(RecordKind.NAMEI)} <= kinds
    before = _views(batches)
    after = _views(grown)
    for view, text in before.items():
        assert after[view] == text, view
    assert before["calls"].count("(") > 5


# -- one pairing for every view ------------------------------------------------------------


def _calls_vector() -> list[list[Record]]:
    return _records(VECTORS / "calls.ktr")


def test_every_view_pairs_calls_the_same_way() -> None:
    batches = _calls_vector()
    calls = [item for item in ktrdump.calls(batches) if isinstance(item, ktrdump.Call)]
    # The call layer's pairs ...
    pairs = collections.Counter((c.name, c.ret is not None and c.ts != -1) for c in calls)
    # ... are the text view's CALL/RET lines and the summary's counts.
    describer = describer_for(Options(output_format="json"))
    text = "".join(line for batch in batches for line in describer.describe(batch))
    text += "".join(describer.finish())
    json_calls = collections.Counter(json.loads(line)["syscall"] for line in text.splitlines()
                                     if json.loads(line)["type"] == "CALL")
    assert json_calls == collections.Counter(
        c.name for c in calls if c.ts != -1)
    summary = summarize(iter(batches))
    assert {row.name: row.calls for row in summary.rows()} == dict(
        collections.Counter(c.name for c in calls))
    assert sum(pairs.values()) == len(calls)
    # ids: the ordinal of each CALL record, 0 for a RET whose CALL is missing
    ids = [c.id for c in calls if c.ts != -1]
    assert sorted(ids) == list(range(1, len(ids) + 1))
    assert all(c.id == 0 for c in calls if c.ts == -1)


def test_call_ids_do_not_depend_on_filters() -> None:
    batches = _calls_vector()
    every = {c.id: c.name for c in ktrdump.calls(batches) if isinstance(c, ktrdump.Call)}
    from formats.linux import parse_trace_set
    from ktrdump._select import Criteria, Selector

    selector = Selector(Criteria(trace=parse_trace_set("trace=read")))
    describer = describer_for(Options(output_format="json"), selector=selector)
    lines: list[str] = []
    for batch in batches:
        lines += describer.describe(selector.feed(batch))
    lines += describer.describe(selector.finish())
    shown = [json.loads(line) for line in lines]
    assert shown and all(line.get("syscall") in (None, "read") for line in shown)
    # Each shown call is the one with the same id in the unfiltered layer.
    layer = describer.tracker
    assert layer.calls_seen == max(every)


# -- SPEC: the records of one call, on a real recording ---------------------------------

C_PROGRAM = r"""
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc > 1) return 0;
    char buf[64];
    int fds[2];
    struct stat st;
    int fd = open("/etc/hostname", O_RDONLY);
    read(fd, buf, sizeof buf);
    fstat(fd, &st);
    close(fd);
    stat("/etc/passwd", &st);
    pipe(fds);
    write(fds[1], "hello", 5);
    read(fds[0], buf, sizeof buf);
    rename("/nonexistent/a", "/nonexistent/b");
    char *args[] = {argv[0], "again", NULL};
    execv(argv[0], args);
    return 1;
}
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("layer")
    source = directory / "prog.c"
    source.write_text(C_PROGRAM)
    program = directory / "prog"
    subprocess.run(["gcc", "-O0", "-o", str(program), str(source)], check=True, timeout=60)
    trace = directory / "prog.ktr"
    subprocess.run([str(KTR), "record", "-q", "-t", "+av", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    return trace


_LETTERS = {int(RecordKind.SYSCALL): "C", int(RecordKind.NAMEI): "N",
            int(RecordKind.EXEC_ARG): "A", int(RecordKind.EXEC_ENV): "E",
            int(RecordKind.GENIO): "G", int(RecordKind.SYSRET): "R"}


def _shape(call: ktrdump.Call) -> str:
    letters = []
    for record in call.records or ():
        if record.kind == RecordKind.STRUCT:
            argument = record.payload.argument  # type: ignore[union-attr]
            # (RESULT_ARGUMENT: about the result, at exit: an opened fd's path, the cwd)
            direction = None if argument >= len(call.plan.kinds) else (
                formats.linux.STRUCT_CAPTURES.get(call.plan.kinds[argument]))
            letters.append("I" if direction is not None and direction.direction == "in"
                           else "O")
        else:
            letters.append(_LETTERS.get(record.kind, "?"))
    return "".join(letters)


#: formats/SPEC.md, "Records of one call": the CALL; at entry the NAMI records of its
#: path arguments (argument order), the STRU records of the structures it reads, ARG
#: then ENV (execve); at exit the GIO records of its data and the STRU records of the
#: structures it filled; the RET last.
SPEC_ORDER = re.compile(r"^CN*I*A?E?G*O*R?$")


def test_records_of_one_call_come_in_the_spec_order(recorded: Path) -> None:
    calls = [item for item in ktrdump.calls(recorded) if isinstance(item, ktrdump.Call)]
    shapes: dict[str, set[str]] = {}
    for call in calls:
        shape = _shape(call)
        assert SPEC_ORDER.match(shape), (call.name, shape)
        if call.ts != -1:
            # NAMI: one per non-NULL path argument, in argument order.
            found = signature(call.plan.abi, call.name)
            if found is not None and call.returned:
                expected = [i for i in found.path_args
                            if i < len(call.args) and call.args[i]]
                assert shape.count("N") == len(expected), (call.name, shape)
        shapes.setdefault(call.name, set()).add(shape)
    # The program's own calls, each kind of record seen where SPEC puts it.
    assert "CNOR" in shapes["openat"]  # its fd's path as the kernel names it (fd_path)
    assert "CGR" in shapes["read"]
    assert "CGR" in shapes["write"]
    assert "CNOR" in shapes["newfstatat"]  # fstat: newfstatat(fd, "", ...)
    assert "CNNR" in shapes["rename"]
    assert any(shape.startswith("CNAE") for shape in shapes["execve"])
    # its fds, then their paths as the kernel names them (fd_paths)
    assert "COOR" in shapes["pipe2"] or "COOR" in shapes.get("pipe", set())
    # Other threads' records never come inside one call's entry run; and a call's
    # records are one thread's.
    for call in calls:
        assert {record.tid for record in call.records or ()} <= {call.tid} or call.name in (
            "execve", "execveat")


def test_spec_states_the_order() -> None:
    spec = (Path(formats.__file__).parent / "SPEC.md").read_text()
    assert "Records of one call" in spec


# -- the public API ------------------------------------------------------------------------


def test_calls_api_on_a_recording(recorded: Path) -> None:
    items = list(ktrdump.calls(recorded, fd_paths=True))
    calls = [item for item in items if isinstance(item, ktrdump.Call)]
    others = [item for item in items if not isinstance(item, ktrdump.Call)]
    assert others and all(isinstance(item, formats.Record) for item in others)
    assert not any(item.kind in (RecordKind.SYSCALL, RecordKind.SYSRET, RecordKind.NAMEI)
                   for item in others)
    opened = next(c for c in calls if c.name == "openat" and c.paths == [b"/etc/hostname"])
    assert opened.returned and opened.error == 0 and opened.duration_ns is not None
    read = next(c for c in calls if c.name == "read" and c.ts > opened.ts)
    assert read.fd_path == "/etc/hostname"
    assert read.io and read.io[0].transferred == len(read.io[0].data) > 0
    renamed = next(c for c in calls if c.name == "rename")
    assert renamed.error == 2 and renamed.path(0) == b"/nonexistent/a"
    assert renamed.path(1) == b"/nonexistent/b"
    execs = [c for c in calls if c.name == "execve"]
    assert len(execs) == 2 and execs[1].argv is not None and b"again" in execs[1].argv
    ids = [c.id for c in calls if c.ts != -1]
    assert len(ids) == len(set(ids))
    # The same thing as a path, an open reader or decoded batches.
    with ktrdump.open(recorded) as reader:
        again = [c.id for c in ktrdump.calls(reader) if isinstance(c, ktrdump.Call)]
    assert again == [c.id for c in calls]


def test_an_unfinished_call_ends_with_its_thread() -> None:
    from tests.ktrdump_support import build_trace

    entries: list[Any] = [
        (int(RecordKind.SYSCALL), 5, 5, b"p", formats.Syscall(0, 1, 0, (0, 1, 2, 0, 0, 0))),
        (int(RecordKind.SYSCALL), 5, 6, b"p", formats.Syscall(1, 1, 0, (1, 1, 2, 0, 0, 0))),
        (int(RecordKind.PROC), 5, 5, b"p", formats.Proc(int(formats.ProcEvent.EXIT), 0, 0, 0, 0,
                                                       b"")),
    ]
    data, _offsets = build_trace([entries])
    items = list(ktrdump.calls(io.BytesIO(data)))
    kinds: list[Callable[[Any], bool]] = [
        lambda i: isinstance(i, ktrdump.Call) and i.name == "read" and i.ret is None,
        lambda i: isinstance(i, formats.Record) and i.kind == RecordKind.PROC,
        lambda i: isinstance(i, ktrdump.Call) and i.name == "write" and i.ret is None,
    ]
    assert len(items) == 3 and all(check(item) for check, item in zip(kinds, items, strict=True))
    assert ArgKind.FD  # the tables are importable alongside (keeps the import used)


@pytest.mark.parametrize("track_fds", [False, True])
def test_the_inline_call_of_stream_is_what_call_builds(track_fds: bool) -> None:
    """``stream`` builds a known syscall's ``Call`` inline (no ``Call(...)``): every slot
    holds what ``Call.__init__`` and ``enter`` give, with and without entry records."""
    from formats import Syscall, Sysret
    from ktrdump._calls import Call, CallTracker

    def record(kind: RecordKind, ts: int, payload: Any) -> Record:
        return Record(int(kind), 1, 4242, 4243, ts, b"ls", payload)

    read = Syscall(0, 1, 0, (3, 0x7FFF0000, 8, 0, 0, 0))
    openat = Syscall(257, 1, 0, ((1 << 64) - 100, 0x5000, 0, 0, 0, 0))  # one path: one NAMI
    tracker = CallTracker(track_fds=track_fds)
    # The first call of each syscall goes through enter() (its plan is made there).
    first = []
    for syscall in (read, openat):
        tracker._entering = None
        tracker._entry_records = []
        first += list(tracker.stream([record(RecordKind.SYSCALL, 10, syscall),
                                      record(RecordKind.SYSRET, 11,
                                             Sysret(syscall.nr, 1, 0, 0, 0, 1))]))
    for syscall, expected in ((read, 0), (openat, 1)):
        tracker._entering = None
        tracker._entry_records = []
        events = list(tracker.stream([record(RecordKind.SYSCALL, 20, syscall)]))
        # The read before it never returned: stream yields it as abandoned first.
        shown = [call for call, item in events if item is not None]
        inline = shown[0] if shown else tracker._entering
        assert inline is not None and inline.expected == expected
        built = Call(tracker.plan(1, syscall.nr), 4242, 4243, b"ls", 20, syscall.args,
                     tracker.calls_seen)
        built.expected = expected
        if track_fds and built.plan.first_fd_arg is not None:
            built.fd_path = tracker.fds.describe(4242, -100 if syscall is openat else 3)
        assert {slot: getattr(inline, slot) for slot in Call.__slots__} == {
            slot: getattr(built, slot) for slot in Call.__slots__}
        assert inline.plan is built.plan
