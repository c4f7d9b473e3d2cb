"""ktrdump's filters after the fact (-e trace=/status=, -z, -Z, -P, --since, --until,
--min-duration) in every view, and strace's timestamp options under --format strace.

The call sets are checked against strace itself: the same program is run
under ``strace -f -e ...`` and recorded with ``ktr record``, then the calls
``ktrdump --format strace`` prints with the same filter are compared by name,
in order.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from formats import Genio, Namei, RecordKind, Syscall, Sysret, linux
from ktrdump import Options
from ktrdump import open as open_trace
from ktrdump._select import Criteria, Selector, TimeBound, parse_duration, parse_time
from ktrdump.cli import main, parse_options
from ktrdump.errors import UsageError
from tests.ktrdump_support import START_NS, build_trace

KTR = Path(sys.executable).parent / "ktr"
STRACE = shutil.which("strace")
STRACE_LINE = re.compile(r"^(\d+) +(?:\d+\.\d{6} )?(.*)$")


def _names(text: str) -> list[str]:
    """The call names of strace-format lines (signals and exits left out)."""
    names = []
    for line in text.splitlines():
        match = STRACE_LINE.match(line)
        assert match, line
        body = match.group(2)
        if body.startswith(("+++", "---", "<...")):
            continue
        names.append(body.split("(", 1)[0])
    return names


@pytest.fixture(scope="module")
def workload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """A recording of ``cat DATA MISSING`` (one process; one call fails) and the command."""
    directory = tmp_path_factory.mktemp("filters")
    data = directory / "data.txt"
    data.write_text("some data\n" * 3)
    command = ["cat", str(data), str(directory / "missing")]
    trace = directory / "cat.ktr"
    result = subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", *command],
                            cwd=directory, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            timeout=60, check=False)
    assert trace.exists(), result.stderr
    return trace, data, command


def _strace_names(directory: Path, command: list[str], *options: str) -> list[str]:
    assert STRACE is not None
    out = directory / "strace.txt"
    subprocess.run([STRACE, "-f", "-o", str(out), *options, *command],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60,
                   check=False)
    return _names(out.read_text())


def _ours(trace: Path, capsys: pytest.CaptureFixture[str], *options: str) -> str:
    capsys.readouterr()
    assert main([*options, str(trace)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
@pytest.mark.parametrize("options", [
    ("-e", "trace=%file"),
    ("-e", "trace=!%file"),
    ("-e", "trace=read,close,%memory"),
    ("-e", "%desc"),
    ("-Z",),
    ("-z", "-e", "trace=%file"),
    ("-e", "status=failed"),
    # given twice, the last one counts, -z and -Z among them (they intersected: nothing)
    ("-e", "status=failed", "-e", "status=successful"),
    ("-e", "status=successful", "-e", "status=failed"),
    ("-Z", "-e", "status=successful"),
    ("-e", "status=successful", "-Z"),
])
def test_call_sets_match_strace(workload: tuple[Path, Path, list[str]], options: tuple[str, ...],
                                capsys: pytest.CaptureFixture[str]) -> None:
    trace, data, command = workload
    theirs = _strace_names(data.parent, command, *options)
    ours = _names(_ours(trace, capsys, "--format", "strace", *options))
    assert theirs, "strace printed no call: the filter selects nothing"
    assert ours == theirs


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_path_filter_matches_strace(workload: tuple[Path, Path, list[str]],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    trace, data, command = workload
    theirs = _strace_names(data.parent, command, "-P", str(data))
    ours = _names(_ours(trace, capsys, "--format", "strace", "-P", str(data)))
    # openat by path, then read/fstat/close through the fd it returned.
    assert "openat" in theirs and "read" in theirs and "close" in theirs
    # A call whose signature ktrdump lacks has no known fd argument (h11b's
    # signatures cover them): compare the calls it can know.
    assert ours == [name for name in theirs if linux.signature(1, name) is not None]


def test_filters_apply_in_every_view(workload: tuple[Path, Path, list[str]],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    trace, data, _command = workload
    text = _ours(trace, capsys, "-e", "trace=openat", "-Z")
    calls = [line for line in text.splitlines() if " CALL " in line]
    rets = [line for line in text.splitlines() if " RET " in line]
    assert len(calls) == len(rets) > 1
    assert all("openat(" in line for line in calls) and all("errno" in line for line in rets)
    missing = str(data.parent / "missing")
    text = _ours(trace, capsys, "-e", "trace=openat", "-Z", "-P", missing)
    calls = [line for line in text.splitlines() if " CALL " in line]
    assert len(calls) == 1 and "missing" in calls[0]
    # The call's NAMI and RET go with it; no other call's records do.
    assert re.search(r"NAMI +\"[^\"]*missing\"", text)
    assert re.search(r"RET +openat -1 errno 2 ENOENT", text)
    assert " RET   read" not in text and "GIO" not in text

    lines = [json.loads(line) for line in _ours(trace, capsys, "--json", "-P", str(data))
             .splitlines()]
    syscalls = {line["syscall"] for line in lines if line["type"] in ("CALL", "RET")}
    assert {"openat", "read", "close"} <= syscalls and "mmap" not in syscalls
    assert any(line["type"] == "GIO" and line["rw"] == "read" for line in lines)

    summary = _ours(trace, capsys, "--summary", "-Z")
    rows = {line.split()[-1]: line for line in summary.splitlines()[2:-2]}
    assert "openat" in rows and "read" not in rows
    assert all(len(line.split()) == 6 for line in rows.values())  # every row has errors

    chrome = json.loads(_ours(trace, capsys, "--format", "chrome", "-e", "trace=read"))
    named = {event["name"] for event in chrome["traceEvents"] if event.get("ph") == "X"}
    assert named == {"read"}


def test_min_duration_and_time_window(workload: tuple[Path, Path, list[str]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    trace, _data, _command = workload
    every = [json.loads(line) for line in _ours(trace, capsys, "--json").splitlines()]
    rets = [line for line in every if line["type"] == "RET" and not line.get("unfinished")]
    durations = sorted(line["duration_ns"] for line in rets)
    threshold = durations[len(durations) // 2]
    slow = [json.loads(line) for line in _ours(
        trace, capsys, "--json", "--min-duration", f"{threshold}ns").splitlines()]
    slow_rets = [line for line in slow if line["type"] == "RET"]
    assert slow_rets and all(line["duration_ns"] >= threshold for line in slow_rets)
    assert len(slow_rets) == sum(1 for d in durations if d >= threshold)
    # Every CALL shown has its RET (the pair shares one fate).
    assert sum(line["type"] == "CALL" for line in slow) == len(slow_rets)

    first = every[0]["ts"]
    middle = every[len(every) // 2]["ts"]
    relative_ns = middle - first
    window = [json.loads(line) for line in _ours(
        trace, capsys, "--json", "--since", f"+{relative_ns}ns").splitlines()]
    calls = [line for line in window if line["type"] == "CALL"]
    assert calls and all(line["ts"] >= middle for line in calls)
    absolute = [json.loads(line) for line in _ours(
        trace, capsys, "--json", "--until", f"{middle / 1e9:.9f}").splitlines()]
    assert all(line["ts"] < middle + 1000 for line in absolute if line["type"] == "CALL")
    assert len(absolute) + len(window) >= len(every) - 2


# -- the selector on hand-made records -----------------------------------------------


Entry = tuple[int, int, int, bytes, object]


def _call(tid: int, nr: int, args: tuple[int, ...] = (0,) * 6) -> Entry:
    return (int(RecordKind.SYSCALL), 100, tid, b"prog", Syscall(nr, 1, 0, args))


def _ret(tid: int, nr: int, error: int = 0, retval: int = 0,
         duration: int = 1000) -> tuple[int, int, int, bytes, object]:
    return (int(RecordKind.SYSRET), 100, tid, b"prog", Sysret(nr, 1, 0, error, retval, duration))


def namei(tid: int, path: bytes) -> tuple[int, int, int, bytes, object]:
    return (int(RecordKind.NAMEI), 100, tid, b"prog", Namei(path))


def genio(tid: int, fd: int, data: bytes) -> tuple[int, int, int, bytes, object]:
    return (int(RecordKind.GENIO), 100, tid, b"prog", Genio(fd, 0, 0, len(data), data))


OPENAT = 257
READ = 0
CLOSE = 3


def _records(entries: list[Entry]) -> list[Any]:
    data, _offsets = build_trace([entries])
    with open_trace(io.BytesIO(data)) as reader:
        return list(reader)


def _shown(selector: Selector, records: list[Any]) -> list[Any]:
    shown = selector.shown(selector.feed(records))
    return shown + selector.shown(selector.finish())


def test_a_call_holds_later_records_until_its_fate_is_known() -> None:
    records = _records([
        _call(1, OPENAT, (0xFFFFFF9C, 0x1000, 0, 0, 0, 0)),
        namei(1, b"/tmp/x"),
        _call(2, READ, (5, 0x2000, 10, 0, 0, 0)),  # another thread, in between
        _ret(2, READ, retval=10),
        _ret(1, OPENAT, error=2, retval=-1),
    ])
    selector = Selector(Criteria(status=frozenset({"failed"})))
    released = selector.feed(records[:4])
    assert released == []  # held behind the undecided openat
    released = selector.feed(records[4:])
    assert released == records
    shown = [record.kind for record in selector.shown(released)]
    assert shown == [RecordKind.SYSCALL, RecordKind.NAMEI, RecordKind.SYSRET]


def test_path_filter_follows_fds() -> None:
    records = _records([
        _call(1, OPENAT, (0xFFFFFF9C, 0x1000, 0, 0, 0, 0)),
        namei(1, b"/tmp/x"),
        _ret(1, OPENAT, retval=3),
        _call(1, READ, (3, 0x2000, 10, 0, 0, 0)),
        genio(1, 3, b"0123456789"),
        _ret(1, READ, retval=10),
        _call(1, READ, (4, 0x2000, 10, 0, 0, 0)),
        _ret(1, READ, retval=0),
        _call(1, CLOSE, (3, 0, 0, 0, 0, 0)),
        _ret(1, CLOSE),
        _call(1, READ, (3, 0x2000, 10, 0, 0, 0)),  # fd 3 closed: no longer /tmp/x
        _ret(1, READ, error=9, retval=-1),
    ])
    selector = Selector(Criteria(paths=(b"/tmp/x",)))
    shown = _shown(selector, records)
    calls = [(record.payload.nr, record.payload.args[0]) for record in shown
             if record.kind == RecordKind.SYSCALL]
    assert calls == [(OPENAT, 0xFFFFFF9C), (READ, 3), (CLOSE, 3)]
    assert sum(record.kind == RecordKind.GENIO for record in shown) == 1


def test_unfinished_calls_are_decided_at_the_end() -> None:
    records = _records([_call(1, READ, (0, 0x2000, 10, 0, 0, 0))])
    for status, expected in (({"unfinished"}, 1), ({"failed"}, 0), ({"successful"}, 0)):
        selector = Selector(Criteria(status=frozenset(status)))  # type: ignore[arg-type]
        assert selector.feed(records) == []
        assert len(selector.shown(selector.finish())) == expected


def test_command_line_values() -> None:
    assert parse_duration("1.5") == 1_500_000_000
    assert parse_duration("200ms") == 200_000_000
    assert parse_duration("10us") == 10_000
    assert parse_time("+2s") == TimeBound(2_000_000_000, relative=True)
    assert parse_time("1700000000.25") == TimeBound(1_700_000_000_250_000_000)
    for bad in ("fast", "-1s", "3 parsecs"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError, match=r"\+5"):
        parse_time("5")  # surely meant after the first record
    options = parse_options(["-e", "trace=%net,close", "-Z", "-P", "/etc/passwd", "x.ktr"])
    assert options.selection.status == frozenset({"failed"})
    assert options.selection.paths == (b"/etc/passwd",)
    assert options == Options(input="x.ktr", selection=options.selection)
    selection = parse_options(["-e", "trace=!%file", "x.ktr"]).selection.trace
    assert selection is not None
    openat = linux.syscall_number(1, "openat")
    assert openat is not None and not selection.selects(1, openat)
    assert selection.selects(1, 999)  # a number the tables do not know: not in %file


@pytest.mark.parametrize("argv, message", [
    (["-e", "trace=nosuchcall"], "unknown syscall 'nosuchcall'"),
    (["-e", "trace=%bogus"], "unknown syscall class %bogus"),
    (["-e", "signal=SIGNOPE"], "unknown signal 'SIGNOPE'"),
    (["-e", "verbose=all"], "-e verbose= is not supported (trace=, status= and signal= are)"),
    (["-e", "status=weird"], "unknown status 'weird'"),
    (["--since", "soon"], "is not a time"),
    (["--min-duration", "long"], "is not a duration"),
    # a negative value is not taken for an option ("expected one argument"): the
    # line says what is accepted
    (["--min-duration", "-1s"], "--min-duration: '-1s' is not a duration: give a number of 0 "
                                "or more"),
    (["--min-duration", "-5"], "--min-duration: '-5' is not a duration: give a number of 0"),
    (["--min-duration", "1x"], "'1x' is not a duration: give a number of 0 or more with an "
                               "optional unit ns, us, ms, s"),
    (["--since", "-1s"], "--since: '-1s' is not a time: give +DURATION"),
    (["--until", "-3"], "--until: '-3' is not a time: give +DURATION"),
    (["--since", "nan"], "--since: 'nan' is not a time"),
    # non-finite or past anything a trace holds (u64 ns since the epoch: 2554)
    (["--since", "1e500"], "--since: '1e500' is after any time a trace can hold"),
    (["--until", "inf"], "--until: 'inf' is not a time"),
    (["--since", "1e400s"], "--since: '1e400s' is not a time"),
    (["--since", "9999999999999999999"], "is after any time a trace can hold"),
    (["--since", "9999-01-01"], "'9999-01-01' is after any time a trace can hold"),
    (["--since", "1900-01-01T00:00"], "'1900-01-01T00:00' is before 1970"),
    (["--since", "+1e500"], "'1e500' is longer than any trace can span"),
    (["--until", "+inf"], "'inf' is not a duration"),
    (["--min-duration", "1e500"], "--min-duration: '1e500' is longer than any trace can span"),
    (["--min-duration", "1e400s"], "'1e400s' is longer than any trace can span"),
    (["--min-duration", "nan"], "--min-duration: 'nan' is not a duration"),
    (["--min-duration", "inf"], "--min-duration: 'inf' is not a duration"),
    (["--min-duration", "-inf"], "--min-duration: '-inf' is not a duration"),
    (["--min-duration", "18446744073.709551616"], "is longer than any trace can span"),
    (["--min-duration", "5124095577h"], "is longer than any trace can span"),
    (["-r"], "-r is strace's"),
])
def test_bad_filters_are_one_line(argv: list[str], message: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*argv, "x.ktr"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    with pytest.raises(UsageError):
        parse_options([*argv, "x.ktr"])


def test_the_longest_duration_and_latest_time_a_trace_holds_are_accepted() -> None:
    last = 2**64 - 1
    assert parse_duration("18446744073.709551615") == last
    assert parse_duration(f"{last}ns") == last
    assert parse_time(f"+{last}ns").ns == last
    assert parse_time("18446744073.709551615").ns == last
    assert parse_time("1970-01-01T00:00:00+00:00").ns == 0


def test_absurd_values_are_one_line_from_the_command_line(tmp_path: Path) -> None:
    """The installed ktrdump: one line, status 2, no traceback, for each."""
    for option, value in [("--since", "1e500"), ("--until", "+1e500"),
                          ("--min-duration", "1e400s"), ("--since", "nan")]:
        done = subprocess.run([str(Path(sys.executable).parent / "ktrdump"),
                               f"{option}={value}", str(tmp_path / "x.ktr")],
                              capture_output=True, text=True, timeout=20, check=False)
        assert done.returncode == 2, done
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(
            f"ktrdump: {option}: "), done.stderr


# -- strace's timestamp options --------------------------------------------------------


def test_strace_timestamp_options(workload: tuple[Path, Path, list[str]],
                                  capsys: pytest.CaptureFixture[str]) -> None:
    trace, _data, _command = workload
    default = _ours(trace, capsys, "--format", "strace").splitlines()
    assert re.match(r"^\d+ +\d+\.\d{6} \w+\(.*= .* <\d+\.\d{6}>$", default[1])
    shapes = {
        ("-t",): r"^\d+ +\d\d:\d\d:\d\d \w+\(",
        ("-tt",): r"^\d+ +\d\d:\d\d:\d\d\.\d{6} \w+\(",
        ("-ttt",): r"^\d+ +\d+\.\d{6} \w+\(",
        ("-r",): r"^\d+ +\d+\.\d{6} \w+\(",
        ("-tt", "-r"): r"^\d+ +\d\d:\d\d:\d\d\.\d{6} \(\+ +\d+\.\d{6}\) \w+\(",
        ("-T",): r"^\d+ +\w+\(.* <\d+\.\d{6}>$",
    }
    for options, shape in shapes.items():
        lines = _ours(trace, capsys, "--format", "strace", *options).splitlines()
        assert len(lines) == len(default), options
        assert re.match(shape, lines[1]), (options, lines[1])
        if "-T" not in options:
            assert not lines[1].endswith(">"), options
    # -r: the time since the previous line, first line 0.
    relative = _ours(trace, capsys, "--format", "strace", "-r").splitlines()
    assert re.match(r"^\d+ +0\.000000 ", relative[0])
    stamps = [int(line.split()[1].replace(".", "")) for line in default]
    deltas = [int(line.split()[1].replace(".", "")) for line in relative]
    # strace subtracts nanoseconds, then truncates to microseconds: within 1 us
    # of the difference of the truncated -ttt stamps.
    expected = [b - a for a, b in itertools.pairwise(stamps)]
    assert all(abs(got - want) <= 1 for got, want in zip(deltas[1:], expected, strict=True))
    # -tt: this machine's local time of the -ttt seconds.
    import time

    epoch = int(default[1].split()[1].split(".")[0])
    micro_line = _ours(trace, capsys, "--format", "strace", "-tt").splitlines()[1]
    assert micro_line.split()[1] == (time.strftime("%H:%M:%S", time.localtime(epoch)) + "."
                                     + default[1].split()[1].split(".")[1])


def test_kdump_letters_keep_their_meaning_outside_strace_format() -> None:
    options = parse_options(["-t", "t", "-T", "x.ktr"])
    assert options.kinds == frozenset({int(RecordKind.STRUCT)})  # kdump's -t TRSTR
    assert options.timestamps == ("absolute",)
    # -tt spelled so is strace's (a view of STRU lines alone would surprise): refused
    with pytest.raises(UsageError, match="strace's time of day"):
        parse_options(["-tt", "-T", "x.ktr"])
    assert parse_options(["--trace-points", "c", "--format", "strace", "x.ktr"]).kinds
    help_text = subprocess.run([sys.executable, "-m", "ktrdump", "--help"], capture_output=True,
                               text=True, check=True, env={**os.environ, "COLUMNS": "100"}).stdout
    assert "Letters kdump and strace both use" in help_text
    assert "-tt/-ttt" in help_text


def test_start_ns_is_the_origin_for_relative_bounds() -> None:
    records = _records([_call(1, READ), _ret(1, READ), _call(1, CLOSE), _ret(1, CLOSE)])
    # build_trace stamps records 1000 ns apart from START_NS.
    assert records[0].timestamp_ns == START_NS
    selector = Selector(Criteria(since=TimeBound(2000, relative=True)))
    shown = _shown(selector, records)
    assert [record.payload.nr for record in shown] == [CLOSE, CLOSE]


def test_a_call_held_too_long_is_decided_and_nothing_is_lost(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import ktrdump._select as select

    monkeypatch.setattr(select, "MAX_HELD", 5)
    entries = [_call(1, READ, (0, 0x2000, 10, 0, 0, 0))]  # never returns in this input
    for _ in range(10):
        entries += [_call(2, CLOSE, (3, 0, 0, 0, 0, 0)), _ret(2, CLOSE, error=9, retval=-1)]
    records = _records(entries)
    selector = Selector(Criteria(status=frozenset({"failed"})))
    released = selector.feed(records)
    shown = selector.shown(released)
    released += selector.finish()
    assert released == records  # every record comes out once, in order
    # The read was decided on its entry (shown) when too much was held behind it.
    assert shown[0].payload.nr == READ
    assert [record.payload.nr for record in shown[1:]] == [CLOSE] * 20


def test_filters_matching_nothing_say_so(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing printed with status 0 would look like a broken view: one line says why."""
    from tests.ktrdump_support import syscall_batch

    data, _ = build_trace([syscall_batch(6)])
    path = tmp_path / "t.ktr"
    path.write_bytes(data)
    for arguments in (["-p", "99999"], ["--json", "-e", "trace=mmap"],
                      ["--format", "strace", "--since", "+1h"]):
        assert main([*arguments, str(path)]) == 0
        out, err = capsys.readouterr()
        assert out == ""
        assert err == f"ktrdump: {path}: the filters matched no records\n", arguments
    assert main(["-p", "4242", str(path)]) == 0  # something matched: nothing said
    out, err = capsys.readouterr()
    assert out and err == ""


@pytest.mark.parametrize("view", [
    ["--summary"], ["--summary", "-t", "c"], ["--summary", "-e", "trace=all"],
    ["--format", "chrome"], ["--format", "chrome", "-e", "trace=all"],
    ["--format", "folded"], ["--format", "parquet", "-o", "{dir}/pq"],
    ["--format", "parquet", "-e", "trace=all", "-o", "{dir}/pq"],
    ["--format", "strace", "-ff", "-o", "{dir}/ff"],
    ["--format", "strace", "-ff", "-e", "trace=all", "-o", "{dir}/ff"],
], ids=" ".join)
def test_every_view_says_when_the_filters_matched_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], view: list[str]) -> None:
    """The views that print no line per record (tables, documents, files) say it too,
    in the same words; and nothing when a record matched."""
    from tests.ktrdump_support import syscall_batch

    data, _ = build_trace([syscall_batch(6)])
    path = tmp_path / "t.ktr"
    path.write_bytes(data)
    arguments = [argument.format(dir=tmp_path) for argument in view]
    assert main([*arguments, "-p", "99999", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"ktrdump: {path}: the filters matched no records\n" in err.splitlines(True)
    assert main([*arguments, "-p", "4242", str(path)]) == 0
    assert "matched no records" not in capsys.readouterr().err


def test_an_empty_time_window_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--since", "+2s", "--until", "+1s", "x.ktr"]) == 2
    assert capsys.readouterr().err == (
        "ktrdump: --since +2s is after --until +1s: no time can be in both\n")
    assert main(["--since", "1700000002", "--until", "1700000001", "x.ktr"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
