"""ktrdump's call model: pairing records with calls, fd tables, argument rendering, siginfo."""

from __future__ import annotations

import ast
import json
import re
import struct
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formats
from formats import (
    Genio,
    Namei,
    Proc,
    ProcEvent,
    ProcFlag,
    Record,
    RecordKind,
    Struct,
    Syscall,
    Sysret,
)
from ktrdump import Options
from ktrdump._args import Style, compile_arguments, strace_hex_string, strace_string
from ktrdump._calls import CallTracker
from ktrdump._describe import JsonDescriber, TextDescriber
from ktrdump._fdtable import MAX_TABLES, FdTables
from ktrdump._siginfo import code_name, strace_siginfo

TS = 1_700_000_000_000_000_000
X86_64 = int(formats.Abi.X86_64)
I386 = int(formats.Abi.I386)
AT_FDCWD = (1 << 64) - 100


def _record(kind: int, payload: Any, pid: int = 100, tid: int | None = None,
            ts: int = TS) -> Record:
    return Record(int(kind), 1, pid, pid if tid is None else tid, ts, b"prog", payload)


def _call(nr: int, *args: int, pid: int = 100, tid: int | None = None,
          abi: int = X86_64) -> Record:
    return _record(RecordKind.SYSCALL, Syscall(nr, abi, 0, (*args, *(0,) * (6 - len(args)))),
                   pid, tid)


def _ret(nr: int, retval: int, error: int = 0, pid: int = 100, tid: int | None = None,
         flags: int = 0) -> Record:
    return _record(RecordKind.SYSRET, Sysret(nr, X86_64, flags, error, retval, 1_000), pid, tid)


def _namei(path: bytes, pid: int = 100, tid: int | None = None) -> Record:
    return _record(RecordKind.NAMEI, Namei(path), pid, tid)


def _proc(event: int, pid: int = 100, child: int = 0, flags: int = 0,
          detail: bytes = b"") -> Record:
    return _record(RecordKind.PROC, Proc(event, flags, child, 0, 0, detail), pid)


def _fds(first: int, second: int, argument: int = 0, pid: int = 100) -> Record:
    return _record(RecordKind.STRUCT, Struct(X86_64, argument, b"fds",
                                              struct.pack("<ii", first, second)), pid)


OPENAT, CLOSE, READ, WRITE, DUP, DUP2, DUP3, FCNTL = 257, 3, 0, 1, 32, 33, 292, 72
PIPE2, SOCKET, EXECVE, CLOSE_RANGE, CLONE, RENAMEAT = 293, 41, 59, 436, 56, 264


# ---------------------------------------------------------------------------
# strace's string quoting


def test_strace_string_matches_strace() -> None:
    # What strace 6.1 printed for write(1, <these 17 bytes>, 17) on this machine.
    data = b"\a\b\x017\x01a\xff\"\\\t\n\r\v\f\x7f\x009"
    assert strace_string(data) == r'"\7\10\0017\1a\377\"\\\t\n\r\v\f\177\09"'
    assert strace_string(b"hello world\n") == r'"hello world\n"'


def _strace_string_byte_by_byte(data: bytes) -> str:
    """strace's quoting rules, one byte at a time (the reference for the translated one)."""
    escapes = {ord('"'): '\\"', ord("\\"): "\\\\", ord("\f"): "\\f", ord("\n"): "\\n",
               ord("\r"): "\\r", ord("\t"): "\\t", ord("\v"): "\\v"}
    parts = []
    for index, code in enumerate(data):
        if code in escapes:
            parts.append(escapes[code])
        elif 0x20 <= code < 0x7F:
            parts.append(chr(code))
        elif index + 1 < len(data) and 0x30 <= data[index + 1] <= 0x37:
            parts.append(f"\\{code:03o}")  # a digit follows: all three octal digits
        else:
            parts.append(f"\\{code:o}")
    return '"' + "".join(parts) + '"'


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40) | st.lists(st.sampled_from(b"\x00\x01\x07\x08\x09\x0a\x1f0178"
                                                         b'9a"\\\x7f\x80\xff'),
                                         max_size=40).map(bytes))
def test_strace_string_equals_the_byte_by_byte_rules(data: bytes) -> None:
    assert strace_string(data) == _strace_string_byte_by_byte(data)


def test_strace_string_limit_and_ellipsis() -> None:
    text = b"a string longer than thirty two bytes"
    assert strace_string(text, 32) == '"a string longer than thirty two "...'
    assert strace_string(b"short", 32) == '"short"'
    assert strace_string(b"short", 32, more=True) == '"short"...'  # a capped GIO
    assert strace_string(b"", 32) == '""'


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=60))
def test_strace_string_round_trips(data: bytes) -> None:
    quoted = strace_string(data)
    # Python's own bytes-literal parser reads strace's escapes (octal, \t, \", ...).
    assert ast.literal_eval("b" + quoted) == data


# ---------------------------------------------------------------------------
# siginfo


def _siginfo(signo: int, code: int, *fields: tuple[int, str, int]) -> bytes:
    data = bytearray(128)
    struct.pack_into("<iii", data, 0, signo, 0, code)
    for offset, fmt, value in fields:
        struct.pack_into("<" + fmt, data, offset, value)
    return bytes(data)


def test_siginfo_as_strace_prints_it() -> None:
    assert strace_siginfo(10, 0, _siginfo(10, 0, (16, "i", 24700), (20, "I", 0))) == (
        "{si_signo=SIGUSR1, si_code=SI_USER, si_pid=24700, si_uid=0}")
    exited = _siginfo(17, 1, (16, "i", 24702), (20, "I", 0), (24, "i", 0))
    assert strace_siginfo(17, 1, exited) == (
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=24702, si_uid=0, si_status=0, "
        "si_utime=0, si_stime=0}")
    killed = _siginfo(17, 2, (16, "i", 24703), (24, "i", 9))
    assert "si_code=CLD_KILLED, si_pid=24703, si_uid=0, si_status=SIGKILL" in strace_siginfo(
        17, 2, killed)
    assert strace_siginfo(11, 1, _siginfo(11, 1)) == (
        "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=NULL}")
    assert strace_siginfo(11, 0x80, _siginfo(11, 0x80)) == (
        "{si_signo=SIGSEGV, si_code=SI_KERNEL, si_addr=NULL}")
    assert strace_siginfo(2, 0x80, _siginfo(2, 0x80)) == "{si_signo=SIGINT, si_code=SI_KERNEL}"
    queued = _siginfo(34, -1, (16, "i", 5), (20, "I", 1000), (24, "Q", 42))
    assert strace_siginfo(34, -1, queued).endswith(
        "si_code=SI_QUEUE, si_pid=5, si_uid=1000, si_int=42, si_ptr=0x2a}")
    timer = _siginfo(14, -2, (16, "I", 1), (20, "i", 0))
    assert strace_siginfo(14, -2, timer) == (
        "{si_signo=SIGALRM, si_code=SI_TIMER, si_timerid=0x1, si_overrun=0, si_int=0, "
        "si_ptr=NULL}")
    sigsys = _siginfo(31, 1, (16, "Q", 0x401000), (24, "i", 257), (28, "I", 0xC000003E))
    assert strace_siginfo(31, 1, sigsys) == (
        "{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_call_addr=0x401000, "
        "si_syscall=__NR_openat, si_arch=AUDIT_ARCH_X86_64}")


def test_siginfo_without_bytes_and_code_names() -> None:
    assert strace_siginfo(10, -6, b"") == "{si_signo=SIGUSR1, si_code=SI_TKILL}"
    assert strace_siginfo(10, 0, b"\x01\x02") == "{si_signo=SIGUSR1, si_code=SI_USER}"
    assert code_name(17, 3) == "CLD_DUMPED"
    assert code_name(17, 99) == "99"
    assert code_name(10, -42) == "-42"


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 64), st.integers(-(2**31), 2**31 - 1), st.binary(max_size=140))
def test_siginfo_never_raises(signo: int, code: int, data: bytes) -> None:
    text = strace_siginfo(signo, code, data)
    assert text.startswith("{si_signo=") and text.endswith("}")


# ---------------------------------------------------------------------------
# fd tables


def test_fd_tables_fork_exec_and_exit() -> None:
    tables = FdTables()
    tables.opened(1, 3, "/etc/passwd")
    tables.opened(1, 4, "/tmp/secret", cloexec=True)
    tables.forked(1, 2, share=False)
    tables.closed(2, 3)
    assert tables.describe(1, 3) == "/etc/passwd"  # the child's close is its own
    assert tables.describe(2, 3) is None
    tables.executed(2)
    assert tables.describe(2, 4) is None  # close-on-exec
    assert tables.describe(1, 4) == "/tmp/secret"
    tables.forked(1, 5, share=True)  # CLONE_FILES: one table
    tables.opened(5, 6, "/shared")
    assert tables.describe(1, 6) == "/shared"
    tables.executed(5)  # exec unshares
    tables.opened(5, 7, "/mine")
    assert tables.describe(1, 7) is None
    tables.exited(1)
    assert tables.describe(1, 3) is None and len(tables) == 2


def test_fd_tables_dup_cloexec_and_close_range() -> None:
    tables = FdTables()
    tables.opened(1, 3, "a", cloexec=True)
    tables.duplicated(1, 3, 10)
    tables.duplicated(1, 3, 3)  # dup2(fd, fd): nothing
    tables.duplicated(1, 99, 11)  # unknown source: the target becomes unknown
    assert tables.describe(1, 11) is None
    tables.executed(1)
    assert (tables.describe(1, 3), tables.describe(1, 10)) == (None, "a")
    for fd in (4, 5, 6):
        tables.opened(1, fd, f"f{fd}")
    tables.closed_range(1, 5, 100, cloexec_only=True, unshare=False)
    tables.closed_range(1, 0, 4, cloexec_only=False, unshare=False)
    tables.executed(1)
    assert [tables.describe(1, fd) for fd in (4, 5, 6, 10)] == [None, None, None, None]


def test_fd_tables_are_bounded() -> None:
    tables = FdTables()
    for pid in range(MAX_TABLES + 10):
        tables.opened(pid, 3, "x")
    assert len(tables) == MAX_TABLES
    assert tables.describe(0, 3) is None and tables.describe(MAX_TABLES + 9, 3) == "x"


def _tracked(records: list[Record]) -> CallTracker:
    tracker = CallTracker(track_fds=True)
    for record in records:
        kind = record.kind
        if kind == RecordKind.SYSCALL:
            tracker.enter(record)
        elif kind == RecordKind.SYSRET:
            tracker.settle(tracker.leave(record))
        elif kind == RecordKind.PROC:
            tracker.process_event(record)
        else:
            call = tracker.open.get(record.tid)
            if call is not None and tracker.is_entry_record(call, record):
                tracker.attach(call, record)
            else:
                tracker.add_exit_record(record)
    return tracker


def test_tracker_follows_fds_through_calls() -> None:
    tracker = _tracked([
        _call(OPENAT, AT_FDCWD, 0x1000, 0o2000000), _namei(b"/etc/passwd"), _ret(OPENAT, 3),
        _call(OPENAT, 3, 0x1000, 0), _namei(b"sub/file"), _ret(OPENAT, 4),  # relative to fd 3
        _call(PIPE2, 0x2000, 0), _fds(5, 6), _ret(PIPE2, 0),
        _call(SOCKET, 10, 2, 0), _ret(SOCKET, 7),
        _call(DUP3, 3, 8, 0o2000000), _ret(DUP3, 8),
        _call(FCNTL, 7, 1030, 20), _ret(FCNTL, 20),  # F_DUPFD_CLOEXEC
        _call(FCNTL, 5, 2, 1), _ret(FCNTL, 0),  # F_SETFD FD_CLOEXEC
        _call(CLOSE, 4), _ret(CLOSE, -9, 9),  # closed even when close fails
        _call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/missing"), _ret(OPENAT, -2, 2),
    ])
    describe = tracker.fds.describe
    assert describe(100, 3) == "/etc/passwd"
    assert describe(100, 4) is None
    assert (describe(100, 5), describe(100, 6)) == ("pipe:[1]", "pipe:[1]")
    assert (describe(100, 7), describe(100, 20)) == ("socket:[AF_INET6]", "socket:[AF_INET6]")
    assert describe(100, 8) == "/etc/passwd"
    tracker.fds.executed(100)
    assert [describe(100, fd) for fd in (3, 5, 6, 7, 8, 20)] == [
        None, None, "pipe:[1]", "socket:[AF_INET6]", None, None]


def test_tracker_joins_relative_paths_to_known_directory_fds() -> None:
    tracker = _tracked([
        _call(OPENAT, AT_FDCWD, 0x1000, 0o200000), _namei(b"/var/log/"), _ret(OPENAT, 3),
        _call(OPENAT, 3, 0x1000, 0), _namei(b"syslog"), _ret(OPENAT, 4),
        _call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"relative.txt"), _ret(OPENAT, 5),
    ])
    assert tracker.fds.describe(100, 4) == "/var/log/syslog"
    assert tracker.fds.describe(100, 5) == "relative.txt"  # the cwd is not guessed


def test_tracker_fork_thread_and_clone_files() -> None:
    clone_files = 0x400 | 0x11
    tracker = _tracked([
        _call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/a"), _ret(OPENAT, 3),
        _proc(ProcEvent.FORK, child=200),
        _call(CLONE, clone_files), _proc(ProcEvent.CLONE, child=300), _ret(CLONE, 300),
        _call(CLONE, 0x10F00), _proc(ProcEvent.CLONE, child=101, flags=ProcFlag.THREAD),
        _ret(CLONE, 101),
        _call(OPENAT, AT_FDCWD, 0x1000, 0, tid=101), _namei(b"/b", tid=101),
        _ret(OPENAT, 4, tid=101),
    ])
    describe = tracker.fds.describe
    assert (describe(200, 3), describe(200, 4)) == ("/a", None)  # forked before /b
    assert describe(300, 4) == "/b"  # CLONE_FILES: the same table
    assert describe(100, 4) == "/b"  # a thread opens for its process
    tracker.process_event(_proc(ProcEvent.EXIT, pid=100))
    assert describe(100, 3) is None


def test_tracker_entry_expectations() -> None:
    tracker = CallTracker()
    renameat = tracker.enter(_call(RENAMEAT, AT_FDCWD, 0x1000, AT_FDCWD, 0x2000))
    assert renameat.expected == 2
    utimensat = tracker.enter(_call(280, 3, 0, 0, 0))  # NULL path, NULL times
    assert utimensat.expected == 0 and utimensat.entry_complete
    no_names = CallTracker(facilities="ci").enter(_call(OPENAT, AT_FDCWD, 0x1000, 0))
    assert no_names.expected == 0  # the recording has no NAMI records
    execve = CallTracker(facilities="cna").enter(_call(EXECVE, 0x1, 0x2, 0x3))
    assert execve.expected == 2  # its path and its ARG, not ENV


def test_ret_without_call_and_exec_by_another_thread() -> None:
    tracker = CallTracker(track_fds=True)
    orphan = tracker.leave(_ret(READ, 5))
    assert orphan.plan.name == "read" and orphan.ts == -1 and orphan.args == ()
    tracker.enter(_call(EXECVE, 0x1, 0x2, 0x3, tid=101))
    call = tracker.leave(_ret(EXECVE, 0))  # comes back as the leader
    assert call.tid == 101 and call.args[0] == 0x1


# ---------------------------------------------------------------------------
# argument rendering


def _render(records: list[Record], style: Style) -> list[str]:
    tracker = _tracked(records[:-1])
    call = tracker.enter(records[-1]) if records[-1].kind == RecordKind.SYSCALL else None
    assert call is not None
    render = compile_arguments(call.plan, style, tracker.fds)
    return render(call)


def test_arguments_by_kind() -> None:
    text = Style()
    strace = Style(strace=True)
    mmap = _call(9, 0, 4096, 3, 0x22, 0xFFFFFFFF, 0x26000)
    assert _render([mmap], text) == [
        "0x0", "4096", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "155648"]
    assert _render([mmap], strace) == [
        "NULL", "4096", "PROT_READ|PROT_WRITE", "MAP_PRIVATE|MAP_ANONYMOUS", "-1", "0x26000"]
    creat_mode = _call(OPENAT, AT_FDCWD, 0x1000, 0o1101, 0o644)
    assert _render([creat_mode], text)[2:] == ["O_WRONLY|O_CREAT|O_TRUNC", "0644"]
    assert len(_render([_call(OPENAT, AT_FDCWD, 0x1000, 0, 0o644)], text)) == 3  # no mode
    kill = _call(62, 0xFFFFFFFF, 9)
    assert _render([kill], text) == ["-1", "SIGKILL"]
    setuid = _call(105, 0xFFFFFFFF)
    assert _render([setuid], text) == ["-1"]
    lseek = _call(8, 3, (1 << 64) - 10, 2)
    assert _render([lseek], text) == ["3", "-10", "SEEK_END"]


def test_i386_arguments_are_32_bit_words() -> None:
    pread = _call(180, 3, 0x8000, 100, 0x10, 0x1, abi=I386)  # offset 0x100000010
    assert _render([pread], Style(strace=True)) == ["3", "0x8000", "100", "4294967312"]
    assert _render([pread], Style()) == ["3", "0x8000", "100", "16", "1"]
    lseek = _call(19, 3, 0xFFFFFFF6, 1, abi=I386)
    assert _render([lseek], Style()) == ["3", "-10", "SEEK_CUR"]


def test_fcntl_argument_follows_its_command() -> None:
    assert _render([_call(FCNTL, 3, 2, 1)], Style()) == ["3", "F_SETFD", "FD_CLOEXEC"]
    assert _render([_call(FCNTL, 3, 4, 0o4000)], Style()) == ["3", "F_SETFL", "O_RDONLY|O_NONBLOCK"]


def test_raw_arguments() -> None:
    openat = _call(OPENAT, AT_FDCWD, 0x1000, 0)
    assert _render([openat], Style(raw=True)) == ["0xffffffffffffff9c", "0x1000", "0x0", "0x0"]
    assert _render([openat], Style(raw=True, decimal=True)) == ["-100", "4096", "0", "0"]
    unknown = _call(999, 1, 2)
    assert _render([unknown], Style()) == ["0x1", "0x2", "0x0", "0x0", "0x0", "0x0"]


# ---------------------------------------------------------------------------
# describers: the call entry held back, filters, JSON keys


def _lines(describer: Any, *batches: list[Record]) -> list[str]:
    out: list[str] = []
    for batch in batches:
        out += describer.describe(batch)
    out += describer.finish()
    return "".join(out).splitlines()


def test_call_line_waits_for_its_path_across_batches() -> None:
    describer = TextDescriber(Options())
    first = describer.describe([_call(OPENAT, AT_FDCWD, 0x1000, 0)])
    assert first == []  # held: its NAMI is in the next batch
    rest = describer.describe([_namei(b"/x"), _ret(OPENAT, 3)]) + describer.finish()
    assert [line.split(None, 2)[2] for line in "".join(rest).splitlines()] == [
        'CALL  openat(AT_FDCWD,"/x",O_RDONLY)', 'NAMI  "/x"', "RET   openat 3"]
    live = TextDescriber(Options())
    live.defer_entries = False  # a live input: never wait for the next batch
    assert "0x1000" in "".join(live.describe([_call(OPENAT, AT_FDCWD, 0x1000, 0)]))


def test_other_records_end_an_entry() -> None:
    records = [_call(OPENAT, AT_FDCWD, 0x1000, 0), _call(READ, 3, 0x2000, 10, tid=101),
               _namei(b"/late")]
    lines = _lines(TextDescriber(Options()), records)
    assert lines[0].endswith("CALL  openat(AT_FDCWD,0x1000,O_RDONLY)")
    assert lines[1].endswith("CALL  read(3,0x2000,10)")


def test_filters_hide_records_but_keep_decoding() -> None:
    records = [_call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/etc/hosts"), _ret(OPENAT, 3),
               _call(READ, 3, 0x2000, 10), _ret(READ, 10),
               _call(READ, 0, 0x2000, 10, pid=7), _ret(READ, 1, pid=7)]
    calls_only = _lines(TextDescriber(Options(kinds=frozenset({1, 2}), fd_paths=True)), records)
    assert [line.split(None, 2)[2] for line in calls_only] == [
        'CALL  openat(AT_FDCWD,"/etc/hosts",O_RDONLY)', "RET   openat 3</etc/hosts>",
        "CALL  read(3</etc/hosts>,0x2000,10)", "RET   read 10/0xa",
        "CALL  read(0,0x2000,10)", "RET   read 1"]
    only_7 = _lines(TextDescriber(Options(pids=frozenset({7}))), records)
    assert len(only_7) == 2 and all(line.startswith("     7 ") for line in only_7)
    by_thread = _lines(TextDescriber(Options(pids=frozenset({101}))),
                       [_call(READ, 0, 1, 1, tid=101), _call(READ, 0, 1, 1, tid=102)])
    assert len(by_thread) == 1  # -p matches a thread id too (FreeBSD's kdump)


def test_json_decoded_keys() -> None:
    records = [_call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/etc/hosts"), _ret(OPENAT, 3),
               _call(READ, 3, 0x2000, 10),
               _record(RecordKind.GENIO, Genio(3, 0, 0, 2, b"ok")), _ret(READ, 2),
               _call(5, 3, 0x3000),
               _record(RecordKind.STRUCT, Struct(X86_64, 1, b"stat", bytes(144))), _ret(5, 0)]
    import json

    plain = [json.loads(line) for line in _lines(JsonDescriber(Options()), records)]
    assert plain[0]["args_decoded"] == ["AT_FDCWD", '"/etc/hosts"', "O_RDONLY"]
    assert "fd_path" not in plain[2]
    stru = plain[-2]
    assert list(stru)[5:] == ["call", "struct", "argument", "data", "fields"]
    assert stru["call"] == 3  # the fstat it belongs to
    assert (stru["struct"], stru["argument"], stru["fields"]["st_size"]) == ("stat", 1, 0)
    tracked = [json.loads(line) for line in _lines(JsonDescriber(Options(fd_paths=True)),
                                                   records)]
    assert tracked[2]["fd_path"] == "/etc/hosts"  # RET of openat: the new fd
    assert tracked[3]["fd_path"] == "/etc/hosts"  # CALL read: its fd
    assert tracked[4]["fd_path"] == "/etc/hosts"  # GIO
    assert tracked[5]["fd_path"] == "/etc/hosts"  # RET read: the call's fd
    assert tracked[3]["args_decoded"][0] == "3</etc/hosts>"


# ---------------------------------------------------------------------------
# strace describer


def _body(line: str) -> str:
    """A strace line without its thread id and time."""
    return re.sub(r"^\d+ +\d+\.\d{6} ", "", line)


def _strace(records: list[Record], **options: Any) -> list[str]:
    from ktrdump._strace import StraceDescriber

    return _lines(StraceDescriber(Options(output_format="strace", **options)), records)


def test_strace_hex_strings_are_each_views_own() -> None:
    """-x/-xx are the options of the strace view made with them: views made in turn
    in one process (the -xx one last), then used, each quote as their own options
    say: strings, paths, and -y's fd paths alike; a chrome view made before them
    keeps strace's plain quoting."""
    from ktrdump._chrome import ChromeTrace
    from ktrdump._strace import StraceDescriber

    records = [_call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/v\x01"), _ret(OPENAT, 3),
               _call(WRITE, 3, 0x2000, 3), _record(RecordKind.GENIO, Genio(3, 1, 0, 3, b"ok\n")),
               _ret(WRITE, 3)]
    chrome = ChromeTrace()
    views = {level: StraceDescriber(Options(output_format="strace", fd_paths=True,
                                            strace_hex=level)) for level in (0, 1, 2)}
    shown = {level: [_body(line) for line in _lines(view, records)]
             for level, view in views.items()}
    path = r"\x2f\x76\x01"
    assert shown[0] == ['openat(AT_FDCWD, "/v\\1", O_RDONLY) = 3</v\\1> <0.000001>',
                        'write(3</v\\1>, "ok\\n", 3) = 3 <0.000001>']
    assert shown[1] == [f'openat(AT_FDCWD, "{path}", O_RDONLY) = 3<{path}> <0.000001>',
                        f'write(3<{path}>, "ok\\n", 3) = 3 <0.000001>']
    assert shown[2] == [f'openat(AT_FDCWD, "{path}", O_RDONLY) = 3<{path}> <0.000001>',
                        f'write(3<{path}>, "\\x6f\\x6b\\x0a", 3) = 3 <0.000001>']
    events = json.loads("".join(chrome.begin() + chrome.batch(records) + chrome.end()))
    calls = [event for event in events["traceEvents"] if event["ph"] == "X"]
    assert calls[0]["args"]["arguments"][1] == '"/v\\1"'
    assert calls[1]["args"]["arguments"]["buf"] == '"ok\\n"'


def test_strace_lines_and_alignment() -> None:
    lines = _strace([_call(CLOSE, 3), _ret(CLOSE, 0),
                     _call(OPENAT, AT_FDCWD, 0x1000, 0o2000000), _namei(b"/etc/passwd"),
                     _ret(OPENAT, -2, 2)])
    assert lines[0] == "100   1700000000.000000 close(3)        = 0 <0.000001>"
    assert lines[0].index("=") == 40
    assert lines[1] == ('100   1700000000.000000 '
                        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)'
                        " = -1 ENOENT (No such file or directory) <0.000001>")


def test_strace_unfinished_and_resumed() -> None:
    lines = _strace([
        _call(READ, 3, 0x1000, 10, tid=101),
        _call(WRITE, 4, 0x2000, 1),
        _record(RecordKind.GENIO, Genio(4, 1, 0, 1, b"x")),
        _ret(WRITE, 1),
        _record(RecordKind.GENIO, Genio(3, 0, 0, 1, b"x"), tid=101),
        _ret(READ, 1, tid=101),
    ])
    assert lines == [
        "101   1700000000.000000 read(3,  <unfinished ...>",
        '100   1700000000.000000 write(4, "x", 1) = 1 <0.000001>',
        '101   1700000000.000000 <... read resumed>"x", 10) = 1 <0.000001>',
    ]


def test_strace_signals_exits_and_losses() -> None:
    siginfo = _siginfo(10, 0, (16, "i", 100), (20, "I", 0))
    lines = _strace([
        _call(61, 200, 0, 0, 0),  # wait4, interrupted by the signal line
        _record(RecordKind.PSIG, formats.Psig(10, 0, 0x401000, 0, siginfo)),
        _ret(61, -512, 512),
        _call(231, 1), _ret(231, 0, flags=1), _proc(ProcEvent.EXIT),
        _record(RecordKind.PROC, Proc(ProcEvent.EXIT, ProcFlag.SIGNALED, 0, 0, 9, b""), 300),
        _record(RecordKind.DROP, formats.Drop(28, 0, 3), 0),
    ])
    assert [_body(line) for line in lines] == [
        "wait4(200,  <unfinished ...>",  # the status is filled at exit, as strace shows
        "--- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=100, si_uid=0} ---",
        "<... wait4 resumed>NULL, 0, NULL) = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"
        " <0.000001>",
        "exit_group(1)   = ?",
        "+++ exited with 0 +++",
        "+++ killed by SIGKILL +++",
        "--- ktr: 3 records lost (ENOSPC: queue full, the writer fell behind) ---",
    ]


def test_strace_closes_a_call_whose_return_was_dropped() -> None:
    """A call open at a DROP whose thread's next call follows: its RET was lost. Its
    line closes as strace closes a call whose exit it never saw (``<... NAME
    resumed> <unfinished ...>) = ?``), not left unfinished; a call that got its RET
    after the drop is untouched."""
    lines = _strace([
        _call(262, 3, 0x1000, 0x2000, 0),  # newfstatat: its RET is dropped
        _record(RecordKind.DROP, formats.Drop(28, 0, 2), 0),
        _call(CLOSE, 3), _ret(CLOSE, 0),
        _call(READ, 0, 0x1000, 1, tid=101),
        _record(RecordKind.DROP, formats.Drop(28, 0, 1), 0),
        _call(WRITE, 1, 0x2000, 1, tid=101),
        _record(RecordKind.GENIO, Genio(1, 1, 0, 1, b"x"), tid=101), _ret(WRITE, 1, tid=101),
        _call(WRITE, 1, 0x2000, 1, tid=101),
        _record(RecordKind.DROP, formats.Drop(28, 0, 1), 0),
        _record(RecordKind.GENIO, Genio(1, 1, 0, 1, b"y"), tid=101), _ret(WRITE, 1, tid=101),
    ])
    assert [_body(line) for line in lines] == [
        "newfstatat(3, 0x1000,  <unfinished ...>",
        "--- ktr: 2 records lost (ENOSPC: queue full, the writer fell behind) ---",
        "<... newfstatat resumed> <unfinished ...>) = ?",
        "close(3)        = 0 <0.000001>",
        "read(0,  <unfinished ...>",
        "--- ktr: 1 record lost (ENOSPC: queue full, the writer fell behind) ---",
        "<... read resumed> <unfinished ...>) = ?",
        'write(1, "x", 1) = 1 <0.000001>',
        "write(1, 0x2000, 1 <unfinished ...>",  # its data (GIO) comes after the DROP
        "--- ktr: 1 record lost (ENOSPC: queue full, the writer fell behind) ---",
        "<... write resumed>) = 1 <0.000001>",
    ]


def test_strace_buffers_from_gio_and_string_limit() -> None:
    data = b"0123456789" * 5
    records = [_call(READ, 3, 0x1000, 4096),
               _record(RecordKind.GENIO, Genio(3, 0, 0, 50, data)), _ret(READ, 50)]
    assert _body(_strace(records)[0]).startswith(
        'read(3, "01234567890123456789012345678901"..., 4096) = 50')
    assert '"01234567"...' in _strace(records, max_data=8)[0]
    eof = _strace([_call(READ, 3, 0x1000, 10), _ret(READ, 0)])[0]
    assert 'read(3, "", 10) = 0' in eof
    failed = _strace([_call(READ, 3, 0x1000, 10), _ret(READ, -11, 11)])[0]
    assert "read(3, 0x1000, 10) = -1 EAGAIN" in failed


EPOLL_WAIT, EPOLL_CTL, GETRANDOM = 232, 233, 318


def test_strace_hex_string_matches_strace() -> None:
    # What strace 6.1 printed for getrandom(buf, 8, GRND_NONBLOCK) on this machine.
    assert strace_hex_string(b"iy\xa1\xed\x11\xb7\xaa{") == r'"\x69\x79\xa1\xed\x11\xb7\xaa\x7b"'
    assert strace_hex_string(bytes(40), 32) == '"' + r"\x00" * 32 + '"...'
    assert strace_hex_string(b"", 32) == '""'


def test_strace_getrandom_epoll_and_fcntl_as_strace_prints_them() -> None:
    drawn = _record(RecordKind.STRUCT, Struct(X86_64, 0, b"bytes", b"\x65\x9e\n1"))
    event = _record(RecordKind.STRUCT, Struct(X86_64, 3, b"epoll_event",
                                              struct.pack("<IQ", 4, 0x1234)))
    records = [
        _call(GETRANDOM, 0x1000, 4, 0), drawn, _ret(GETRANDOM, 4),
        _call(GETRANDOM, 0x1000, 4, 0), _ret(GETRANDOM, -14, 14),
        _call(EPOLL_WAIT, 3, 0x2000, 4, 0), _ret(EPOLL_WAIT, 0),
        _call(EPOLL_WAIT, 3, 0, 4, 0), _ret(EPOLL_WAIT, 0),
        _call(EPOLL_WAIT, 3, 0x2000, 4, -1), _ret(EPOLL_WAIT, -4, 4),
        _call(EPOLL_CTL, 3, 1, 5, 0x3000), event, _ret(EPOLL_CTL, 0),  # EPOLL_CTL_ADD
        _call(EPOLL_CTL, 3, 2, 5, 0x3000), event, _ret(EPOLL_CTL, 0),  # EPOLL_CTL_DEL
        _call(OPENAT, AT_FDCWD, 0x1000, 0), _namei(b"/etc/passwd"), _ret(OPENAT, 6),
        _call(FCNTL, 6, 0, 10), _ret(FCNTL, 11),  # F_DUPFD
        _call(FCNTL, 6, 1030, 20), _ret(FCNTL, 20),  # F_DUPFD_CLOEXEC
        _call(FCNTL, 20, 1, 0), _ret(FCNTL, 1),  # F_GETFD: a number
    ]
    lines = _strace(records, fd_paths=True)
    assert [re.sub(r" +=", " =", _body(line)).rsplit(" <", 1)[0] for line in lines] == [
        r'getrandom("\x65\x9e\x0a\x31", 4, 0) = 4',
        "getrandom(0x1000, 4, 0) = -1 EFAULT (Bad address)",
        "epoll_wait(3, [], 4, 0) = 0",
        "epoll_wait(3, NULL, 4, 0) = 0",
        "epoll_wait(3, 0x2000, 4, -1) = -1 EINTR (Interrupted system call)",
        "epoll_ctl(3, EPOLL_CTL_ADD, 5, {events=EPOLLOUT, data={u32=4660, u64=4660}}) = 0",
        "epoll_ctl(3, EPOLL_CTL_DEL, 5, 0x3000) = 0",
        'openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 6</etc/passwd>',
        "fcntl(6</etc/passwd>, F_DUPFD, 10) = 11</etc/passwd>",
        "fcntl(6</etc/passwd>, F_DUPFD_CLOEXEC, 20) = 20</etc/passwd>",
        "fcntl(20</etc/passwd>, F_GETFD) = 0x1 (flags FD_CLOEXEC)",
    ]
    # The kdump view shares the arguments and the new fd's path.
    text = [line.split(None, 2)[2] for line in _lines(TextDescriber(Options(fd_paths=True)),
                                                      records)]
    assert "CALL  epoll_ctl(3,EPOLL_CTL_DEL,5,0x3000)" in text
    assert "CALL  epoll_ctl(3,EPOLL_CTL_ADD,5,{events=EPOLLOUT, data={u32=4660, u64=4660}})" in text
    fcntl_results = [line for line in text if line.startswith("RET   fcntl")]
    assert fcntl_results == ["RET   fcntl 11</etc/passwd>", "RET   fcntl 20</etc/passwd>",
                             "RET   fcntl 1"]
    import json

    tracked = [json.loads(line) for line in _lines(JsonDescriber(Options(fd_paths=True)),
                                                   records[-9:])]
    assert [line.get("fd_path") for line in tracked if line["type"] == "RET"] == [
        "/etc/passwd"] * 4


@pytest.mark.parametrize("raw", [False, True])
def test_strace_never_leaves_a_line_open(raw: bool) -> None:
    lines = _strace([_call(READ, 3, 0x1000, 10)], raw=raw)
    assert lines[0].endswith("<unfinished ...>")


def test_one_makedev_for_arguments_and_structures() -> None:
    from ktrdump import _args, _structs

    assert not hasattr(_args, "makedev")  # one helper: _structs.makedev
    mknodat = 259
    for dev, text in ((0, "makedev(0, 0)"), ((1 << 8) | 3, "makedev(0x1, 0x3)")):
        rendered = _render([_call(mknodat, 0xFFFFFF9C, 0, 0o20644, dev)], Style(strace=True))
        assert rendered[-1] == text == _structs.makedev(dev)


def _member_free(events: list[tuple[Any, Any]]) -> list[tuple[int | None, Any]]:
    from ktrdump._calls import MEMBER_KINDS

    return [(None if call is None else call.id, record) for call, record in events
            if record is None or (record[0] != RecordKind.SYSCALL
                                  and record[0] not in MEMBER_KINDS)]


@pytest.mark.parametrize("vector", ["all_kinds.ktr", "calls.ktr", "corrupt_middle.ktr"])
def test_stream_without_members_is_stream_less_the_calls_records(vector: str) -> None:
    """``stream(members=False)`` (the parquet view's) yields exactly what the full stream
    yields once CALLs and the records that belong to calls are taken out, in order,
    and leaves the layer (fd tables, call ids) where the full stream leaves it."""
    from pathlib import Path

    import ktrdump

    vectors = Path(__file__).resolve().parent / "vectors"
    with ktrdump.open(vectors / vector) as reader:
        batches = [event for event in reader.events() if isinstance(event, list)]
    # A switch inside an entry run (held with it), the run completed by its NAMI;
    # then one ended early by another thread's call.
    other = int(getattr(RecordKind, "CSW", RecordKind.DROP))
    batches.append([_call(OPENAT, AT_FDCWD, 0x1000, 0), _record(other, None),
                    _namei(b"/etc/passwd"), _ret(OPENAT, 3), _call(CLOSE, 3), _ret(CLOSE, 0)])
    batches.append([_call(OPENAT, AT_FDCWD, 0x1000, 0), _record(other, None),
                    _call(READ, 3, 0x2000, 8, tid=101), _namei(b"/etc/passwd"),
                    _ret(OPENAT, 4), _ret(READ, 8, tid=101)])
    for keep in (None, lambda record: record[3] != 101):
        full, lean = CallTracker(track_fds=True), CallTracker(track_fds=True)
        full.keep = lean.keep = keep
        everything: list[tuple[Any, Any]] = []
        without: list[tuple[Any, Any]] = []
        for batch in batches:
            everything += [(c, r) for c, r in full.stream(batch)]
            without += [(c, r) for c, r in lean.stream(batch, members=False)]
        assert _member_free(everything) == [
            (None if call is None else call.id, record) for call, record in without]
        assert lean.calls_seen == full.calls_seen
        assert lean.fds.describe(100, 4) == full.fds.describe(100, 4)
