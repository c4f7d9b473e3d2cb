"""ktrdump's describe stage: kdump-style text, JSON Lines keys, escaping."""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import formats
from formats import (
    Drop,
    Genio,
    Namei,
    Proc,
    ProcEvent,
    ProcFlag,
    Psig,
    Record,
    RecordKind,
    Syscall,
    Sysret,
    Unknown,
)
from ktrdump import Options
from ktrdump._describe import (
    JsonDescriber,
    TextDescriber,
    display_text,
    hexdump,
    text_of,
    visdump,
)

TS = 1_700_000_000_000_000_000


def _record(kind: int, payload: Any, pid: int = 4242, tid: int = 4242,
            comm: bytes = b"ls") -> Record:
    return Record(int(kind), 1, pid, tid, TS, comm, payload)


def _describe(describer: TextDescriber | JsonDescriber, records: list[Record]) -> str:
    return "".join(describer.describe(records) + describer.finish())


def _text(record: Record, **options: Any) -> str:
    return _describe(TextDescriber(Options(**options)), [record])


def _json(record: Record) -> dict[str, Any]:
    describer = JsonDescriber(Options(output_format="json"))
    lines = describer.describe([record]) + describer.finish()
    assert len(lines) == 1 and lines[0].endswith("\n") and lines[0].count("\n") == 1
    parsed: dict[str, Any] = json.loads(lines[0])
    return parsed


OPENAT = Syscall(257, int(formats.Abi.X86_64), 0, (0xFFFFFF9C, 0x7FFD1000, 0x80000))


def test_call_line_is_kdump_style() -> None:
    path = _record(RecordKind.NAMEI, Namei(b"/etc/ld.so.cache"))
    describer = TextDescriber(Options())
    assert _describe(describer, [_record(RecordKind.SYSCALL, OPENAT), path]) == (
        '  4242 ls       CALL  openat(AT_FDCWD,"/etc/ld.so.cache",O_RDONLY|O_CLOEXEC)\n'
        '  4242 ls       NAMI  "/etc/ld.so.cache"\n')
    # Without its NAMI record (not recorded), the path is the pointer.
    assert _text(_record(RecordKind.SYSCALL, OPENAT)) == (
        "  4242 ls       CALL  openat(AT_FDCWD,0x7ffd1000,O_RDONLY|O_CLOEXEC)\n")
    # -n: kdump's raw words, as many as the syscall takes.
    assert _text(_record(RecordKind.SYSCALL, OPENAT), raw=True) == (
        "  4242 ls       CALL  openat(0xffffff9c,0x7ffd1000,0x80000)\n")


def test_call_shows_the_arguments_the_syscall_takes() -> None:
    read = _record(RecordKind.SYSCALL, Syscall(0, 1, 0, (3, 0x1000, 64, 7, 8, 9)))
    assert _text(read).endswith("CALL  read(3,0x1000,64)\n")
    assert _text(read, raw=True).endswith("CALL  read(0x3,0x1000,0x40)\n")
    assert _text(read, raw=True, decimal=True).endswith("CALL  read(3,4096,64)\n")
    assert _text(read, decimal=True).endswith("CALL  read(3,4096,64)\n")
    assert _json(read)["args"] == [3, 0x1000, 64, 7, 8, 9]  # JSON keeps every register
    assert _json(read)["args_decoded"] == ["3", "0x1000", "64"]


def test_ret_lines() -> None:
    ok = Sysret(257, 1, 0, 0, 3, 10)
    failed = Sysret(257, 1, 0, 2, -2, 10)
    big = Sysret(9, 1, 0, 0, 0x7F0000001000, 10)
    negative = Sysret(8, 1, 0, 0, -1, 10)
    unfinished = Sysret(231, 1, int(formats.SyscallFlag.UNFINISHED), 0, 0, 0)
    assert _text(_record(RecordKind.SYSRET, ok)).endswith("RET   openat 3\n")
    assert _text(_record(RecordKind.SYSRET, failed)).endswith(
        "RET   openat -1 errno 2 ENOENT (No such file or directory)\n")
    assert _text(_record(RecordKind.SYSRET, failed), raw=True).endswith(
        "RET   openat -1 errno 2\n")
    assert _text(_record(RecordKind.SYSRET, big)).endswith("RET   mmap 0x7f0000001000\n")
    assert _text(_record(RecordKind.SYSRET, big), decimal=True).endswith(
        f"RET   mmap {0x7F0000001000}\n")
    assert _text(_record(RecordKind.SYSRET, negative)).endswith(
        "RET   lseek -1/0xffffffffffffffff\n")
    assert _text(_record(RecordKind.SYSRET, ok), raw=True).endswith("RET   openat 0x3\n")
    assert _text(_record(RecordKind.SYSRET, unfinished)).endswith("RET   exit_group unfinished\n")
    assert _text(_record(RecordKind.SYSRET, ok), durations=True).endswith(
        "RET   openat 3 <0.000000>\n")
    slow = Sysret(0, 1, 0, 0, 5, 1_234_567_000)
    assert _text(_record(RecordKind.SYSRET, slow), durations=True).endswith(
        "RET   read 5 <1.234567>\n")


def test_unknown_syscall_number_and_i386_names() -> None:
    assert "CALL  syscall_4000(0x1)" in _text(
        _record(RecordKind.SYSCALL, Syscall(4000, 1, 0, (1,))))
    assert "CALL  open()" in _text(_record(RecordKind.SYSCALL, Syscall(5, 2, 0, ())))
    # i386: 32-bit words, ints sign-extended.
    i386_open = Syscall(5, 2, 0, (0x8049000, 0o2000000, 0, 0, 0, 0))
    assert _text(_record(RecordKind.SYSCALL, i386_open)).endswith(
        "CALL  open(0x8049000,O_RDONLY|O_CLOEXEC)\n")
    i386_mmap2 = Syscall(192, 2, 0, (0, 4096, 3, 0x22, 0xFFFFFFFF, 0))
    assert _text(_record(RecordKind.SYSCALL, i386_mmap2)).endswith(
        "CALL  mmap2(0x0,4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS,-1,0)\n")


def test_namei_escapes_control_bytes_and_invalid_utf8() -> None:
    line = _text(_record(RecordKind.NAMEI, Namei(b"/tmp/caf\xc3\xa9\xff\n\\x")))
    assert line == '  4242 ls       NAMI  "/tmp/café\\xff\\n\\\\x"\n'


def test_gio_data_is_quoted_broken_at_newlines_and_wrapped() -> None:
    record = _record(RecordKind.GENIO, Genio(1, 1, 0, 12, b"hello world\n"))
    assert _text(record) == (
        "  4242 ls       GIO   fd 1 wrote 12 bytes\n"
        '       "hello world\n'
        '       "\n')
    long = _record(RecordKind.GENIO, Genio(0, 0, 0, 100, b"a" * 100))
    lines = _text(long).splitlines()
    assert lines[0].endswith("GIO   fd 0 read 100 bytes")
    assert lines[1] == '       "' + "a" * 70 + "\\"
    assert lines[2] == " " * 8 + "a" * 30 + '"'
    assert all(len(line) <= 80 for line in lines)


def test_gio_truncation_is_stated() -> None:
    record = _record(RecordKind.GENIO,
                     Genio(1, 1, int(formats.GenioFlag.TRUNCATED), 4096, b"abc"))
    assert _text(record).splitlines()[-1] == "       (truncated: 3 of 4096 bytes shown)"
    assert _json(record)["truncated"] is True
    cut = _text(_record(RecordKind.GENIO, Genio(1, 1, 0, 5, b"abcde")), max_data=2)
    assert cut.splitlines()[1:] == ['       "ab"', "       (truncated: 2 of 5 bytes shown)"]


def test_visdump_escapes() -> None:
    assert visdump(b"a\tb\\c\x00\xff\"", 80) == '       "a\\tb\\\\c\\x00\\xff""\n'
    assert visdump(b"", 80) == '       ""\n'
    # A wrap never splits an escape sequence.
    wrapped = visdump(b"a" * 68 + b"\xff\xff", 80).splitlines()
    assert wrapped[0].endswith("\\xff\\") or wrapped[0].endswith("a\\")
    assert "".join(line.rstrip("\\").strip(' "') for line in wrapped) == "a" * 68 + "\\xff" * 2


def test_hexdump_layout() -> None:
    assert hexdump(b"hello\nworld") == (
        "       0x0000 6865 6c6c 6f0a 776f 726c 64"
        + " " * 12 + "  |hello.world|\n")
    assert len(hexdump(bytes(40)).splitlines()) == 3
    record = _record(RecordKind.GENIO, Genio(1, 1, 0, 2, b"hi"))
    assert _text(record, hex_dump=True).splitlines()[1].startswith("       0x0000 6869")


def test_psig_proc_drop_and_unknown_text() -> None:
    psig = _record(RecordKind.PSIG, Psig(10, 0, 0x401136, 0x2000, b""))
    assert _text(psig).endswith(
        "PSIG  SIGUSR1 caught handler=0x401136 mask=0x2000 code=SI_USER\n")
    assert _text(psig, raw=True).endswith(
        "PSIG  SIGUSR1 caught handler=0x401136 mask=0x2000 code=0\n")
    exit_signaled = Proc(ProcEvent.EXIT, ProcFlag.SIGNALED | ProcFlag.CORE_DUMPED, 0, 0, 11, b"")
    assert _text(_record(RecordKind.PROC, exit_signaled)).endswith(
        "PROC  exit signal SIGSEGV (core dumped)\n")
    assert _text(_record(RecordKind.PROC, Proc(ProcEvent.FORK, 0, 99, 0, 0, b""))).endswith(
        "PROC  fork child 99\n")
    drop = _record(RecordKind.DROP, Drop(28, 0, 17), pid=0, tid=0, comm=b"ktr")
    assert _text(drop) == ("     0 ktr      DROP  ENOSPC 17 records lost (queue full, the "
                           "writer fell behind)\n")
    assert _text(_record(77, Unknown(b"abc"))).endswith("UNKNOWN(77) 3 bytes\n")


def test_prefix_options() -> None:
    record = _record(RecordKind.NAMEI, Namei(b"/"), tid=4250)
    assert _text(record, thread_ids=True) == '  4242   4250 ls       NAMI  "/"\n'
    assert _text(record, timestamps=("absolute",)) == (
        '  4242 ls       1700000000.000000000 NAMI  "/"\n')
    describer = TextDescriber(Options(timestamps=("relative",)))
    later = record._replace(timestamp_ns=TS + 1_500)
    lines = describer.describe([record, later])
    assert [line.split()[2] for line in lines] == ["0.000000000", "0.000001500"]
    # Combined, in kdump's order: absolute, elapsed, relative.
    describer = TextDescriber(Options(timestamps=("absolute", "elapsed", "relative")))
    last = record._replace(timestamp_ns=TS + 4_000)
    lines = describer.describe([record, later, last])
    assert [line.split()[2:5] for line in lines] == [
        ["1700000000.000000000", "0.000000000", "0.000000000"],
        ["1700000000.000001500", "0.000001500", "0.000001500"],
        ["1700000000.000004000", "0.000004000", "0.000002500"],
    ]


COMMON_KEYS = ["type", "pid", "tid", "comm", "ts"]


@pytest.mark.parametrize(
    ("record", "keys"),
    [
        # "call": the call's id (the ordinal of its CALL record), on each record of a call
        (_record(RecordKind.SYSCALL, OPENAT), ["call", "syscall", "nr", "args", "args_decoded"]),
        (_record(RecordKind.SYSRET, Sysret(257, 1, 0, 2, -2, 5)),
         ["syscall", "nr", "retval", "errno", "duration_ns"]),
        (_record(RecordKind.NAMEI, Namei(b"/")), ["path"]),
        (_record(RecordKind.GENIO, Genio(1, 1, 0, 3, b"abc")),
         ["fd", "rw", "len", "data", "truncated"]),
        (_record(RecordKind.PSIG, Psig(10, 0, 0, 0, b"")),
         ["signal", "signo", "code", "action", "blocked"]),
        (_record(RecordKind.DROP, Drop(12, 0, 3)), ["error", "count", "cpu", "cause"]),
        (_record(RecordKind.PROC, Proc(ProcEvent.CLONE, ProcFlag.THREAD, 5, 0, 0, b"")),
         ["event", "child", "thread"]),
        (_record(RecordKind.PROC, Proc(ProcEvent.EXEC, 0, 0, 0, 0, b"/bin/ls")),
         ["event", "path"]),
        (_record(RecordKind.PROC, Proc(ProcEvent.EXIT, 0, 0, 1, 0, b"")),
         ["event", "status", "signal", "core_dumped"]),
    ],
)
def test_json_keys_are_the_stable_interface(record: Record, keys: list[str]) -> None:
    # "call" (the call id, docs/json.md) is in ``keys`` where the record has one:
    # a lone RET has no CALL, so no call id.
    assert list(_json(record)) == COMMON_KEYS + keys


def test_json_values() -> None:
    call = _json(_record(RecordKind.SYSCALL, OPENAT))
    assert call == {"type": "CALL", "pid": 4242, "tid": 4242, "comm": "ls", "ts": TS,
                    "call": 1, "syscall": "openat", "nr": 257,
                    "args": [0xFFFFFF9C, 0x7FFD1000, 0x80000],
                    "args_decoded": ["AT_FDCWD", "0x7ffd1000", "O_RDONLY|O_CLOEXEC"]}
    ret = _json(_record(RecordKind.SYSRET, Sysret(257, 1, 0, 2, -2, 5)))
    assert (ret["retval"], ret["errno"], ret["duration_ns"]) == (-2, "ENOENT", 5)
    assert _json(_record(RecordKind.SYSRET, Sysret(0, 1, 0, 0, 3, 5)))["errno"] is None
    gio = _json(_record(RecordKind.GENIO, Genio(1, 0, 0, 3, b"\x00ab")))
    assert (gio["rw"], gio["len"], gio["data"], gio["truncated"]) == ("read", 3, "006162", False)
    psig = _json(_record(RecordKind.PSIG, Psig(10, 0, 1, 0, b"")))
    assert (psig["signal"], psig["signo"], psig["action"]) == ("SIGUSR1", 10, 1)
    drop = _json(_record(RecordKind.DROP, Drop(28, 0, 17)))
    assert (drop["error"], drop["count"]) == ("ENOSPC", 17)
    unknown = _json(_record(99, Unknown(b"\x01")))
    assert (unknown["type"], unknown["kind"], unknown["len"], unknown["data"]) == (
        "UNKNOWN", 99, 1, "01")


def test_text_of_is_reversible_escaping() -> None:
    assert text_of(b"plain") == "plain"
    assert text_of(b"caf\xc3\xa9") == "café"
    assert text_of(b"\xff\\") == "\\xff\\\\"
    assert display_text(b"a\nb\x7f\xc2\x85") == "a\\nb\\x7f\\u0085"


def _exact(record: dict[str, object], key: str) -> bytes:
    """A byte-carrying key's exact bytes (docs/json.md, "Bytes"): ``KEY_hex`` when the
    bytes are not valid UTF-8 (then ``KEY`` is their text with U+FFFD), else ``KEY``."""
    exact = record.get(f"{key}_hex")
    text = record[key]
    assert isinstance(text, str)
    if exact is None:
        return text.encode("utf-8")
    assert isinstance(exact, str)
    data = bytes.fromhex(exact)
    assert text == data.decode("utf-8", "replace")
    return data


def _unescape(text: str) -> bytes:
    """The inverse of ``text_of``, to prove it loses nothing."""
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\" and text[index + 1] == "\\":
            out += b"\\"
            index += 2
        elif char == "\\" and text[index + 1] == "x":
            out.append(int(text[index + 2 : index + 4], 16))
            index += 4
        else:
            out += char.encode("utf-8")
            index += 1
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=40))
def test_text_of_round_trips(data: bytes) -> None:
    assert _unescape(text_of(data)) == data


@settings(max_examples=200, deadline=None)
@given(comm=st.binary(max_size=16), path=st.binary(max_size=40), data=st.binary(max_size=40),
       label=st.binary(max_size=8))
def test_json_is_valid_for_any_bytes(comm: bytes, path: bytes, data: bytes, label: bytes) -> None:
    comm = comm.rstrip(b"\0")
    records = [
        _record(RecordKind.NAMEI, Namei(path), comm=comm),
        _record(RecordKind.GENIO, Genio(1, 1, 0, len(data), data), comm=comm),
        _record(RecordKind.USER, formats.User(label, data), comm=comm),
        _record(RecordKind.EXEC_ARG, formats.ExecArg(path + b"\0" + data), comm=comm),
        _record(RecordKind.PROC, Proc(ProcEvent.LOST, 0, 0, 0, 0, path), comm=comm),
    ]
    describer = JsonDescriber(Options(output_format="json"))
    lines = describer.describe(records) + describer.finish()
    parsed = [json.loads(line) for line in lines]
    assert all(line.count("\n") == 1 for line in lines)
    assert _exact(parsed[0], "path") == path
    assert _exact(parsed[0], "comm") == comm
    assert bytes.fromhex(parsed[1]["data"]) == data
    assert _exact(parsed[2], "label") == label
    argv = parsed[3]
    exact = argv.get("argv_hex") or [None] * len(argv["argv"])
    assert [bytes.fromhex(x) if x is not None else text.encode("utf-8")
            for text, x in zip(argv["argv"], exact, strict=True)] == formats.split_nul_strings(
        path + b"\0" + data)
    assert all(line.isascii() or line.encode("utf-8") for line in lines)  # no lone surrogate
    text = TextDescriber(Options()).describe(records[:1])
    assert text[0].count("\n") == 1  # a path never breaks the one-line record


_VIS_UNESCAPES = {"\\": b"\\", "t": b"\t", "r": b"\r", "a": b"\a", "b": b"\b", "v": b"\v",
                  "f": b"\f"}


def _unvis(dump: str) -> bytes:
    """Read a ``visdump`` back into bytes, as a person reading kdump output would."""
    assert dump.startswith(' ' * 7 + '"') and dump.endswith('"\n')
    text = dump[8:-2]
    out = bytearray()
    index = 0
    while index < len(text):
        char = text[index]
        if char == "\\":
            code = text[index + 1]
            if code == "\n":  # a wrap: the line goes on after the indent
                assert text[index + 2 : index + 10] == " " * 8
                index += 10
            elif code == "x":
                out.append(int(text[index + 2 : index + 4], 16))
                index += 4
            else:
                out += _VIS_UNESCAPES[code]
                index += 2
        elif char == "\n":
            out += b"\n"
            rest = text[index + 1 :]
            if rest == " " * 7:  # the closing quote stands alone
                break
            assert rest.startswith(" " * 8)
            index += 9
        else:
            out += char.encode("ascii")
            index += 1
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from([30, 80, 132]))
def test_visdump_fits_the_width_and_loses_nothing(data: bytes, width: int) -> None:
    dump = visdump(data, width)
    assert all(len(line) <= width - 1 for line in dump.splitlines())
    assert _unvis(dump) == data


_REFERENCE_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b",
                      "\v": "\\v", "\f": "\\f"}
_REFERENCE_TOKENS = re.compile(r"\\x[0-9a-f]{2}|\\.|[^\\]")


def _reference_visdump(data: bytes, width: int) -> str:
    """visdump as it was before it went C-speed: a table per character, a greedy cut per token."""
    table = {code: _REFERENCE_ESCAPES.get(chr(code)) or f"\\x{code:02x}"
             for code in range(256) if not (0x20 <= code < 0x7F and code != ord("\\"))
             and code != ord("\n")}
    limit = width - 10

    def wrap(line: str) -> str:
        pieces, piece = [], ""
        for token in _REFERENCE_TOKENS.findall(line):
            if piece and len(piece) + len(token) > limit:
                pieces.append(piece)
                piece = ""
            piece += token
        pieces.append(piece)
        return ("\\\n" + " " * 8).join(pieces)

    lines = [wrap(line) for line in data.decode("latin-1").translate(table).split("\n")]
    if len(lines) > 1 and not lines[-1]:
        return ' ' * 7 + '"' + ("\n" + " " * 8).join(lines[:-1]) + "\n" + ' ' * 7 + '"\n'
    return ' ' * 7 + '"' + ("\n" + " " * 8).join(lines) + '"\n'


#: Bytes whose escapes differ, and plain ones, often enough to meet at every cut.
_TRICKY = st.binary().map(lambda data: data.translate(bytes(
    b"\\x\n'\a\b\v\f\t\r\x00\x01\x02 a\xff7"[code % 17] for code in range(256))))


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.binary(max_size=600), _TRICKY,
                 _TRICKY.filter(len).map(lambda data: data * (600 // len(data) + 1))),
       st.integers(min_value=4, max_value=150))
def test_visdump_is_the_per_token_greedy_cut(data: bytes, width: int) -> None:
    # visdump escapes and cuts at C speed, a slice at a time (small data: by a table):
    # the text is that of the plain per-character escape and per-token greedy cut
    # (widths under 14: an escape alone); the repeated data is past the small size
    assert visdump(data, width) == _reference_visdump(data, width)


def test_visdump_is_the_per_token_greedy_cut_across_slices() -> None:
    # pieces and lines that straddle the slices visdump escapes at a time
    from ktrdump._describe import _VIS_SLICE

    chooser = random.Random(7)
    choices = [b"a", b"\n", b"\\", b"\x00", b"\x7f", b"'", b"\a", b"\n\n", b"\t"]
    for size in (_VIS_SLICE - 1, _VIS_SLICE + 3, 2 * _VIS_SLICE + 5):
        data = b"".join(chooser.choice(choices) for _ in range(size))
        for width in (5, 12, 13, 80):
            assert visdump(data, width) == _reference_visdump(data, width), (size, width)
    for data in (bytes(_VIS_SLICE * 3), b"\xff" * (_VIS_SLICE + 1), b"x" * (_VIS_SLICE * 2 + 1),
                 b"\n" * (_VIS_SLICE + 7)):
        assert visdump(data, 80) == _reference_visdump(data, 80)
