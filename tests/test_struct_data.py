"""The STRUCT data whose layout is ktr's own: the fast paths are the schemas, byte for byte.

``formats.struct_data`` builds and reads ``fd_paths``, ``open_fds``,
``mmsg_extras``, ``unsent_messages``, ``clone3_ids``, ``count`` and ``socklen``
with ``struct`` layouts generated from the construct schemas
(``formats.struct_data_schemas``). Here, over random values, the encoders
give what the schemas build, and over random bytes (whole items, damaged
ones, noise) the decoders accept what the schemas parse, with the same
values, and say where the rest is damaged. Damaged data through the real
``ktrdump`` command is shown with that byte offset, never a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import construct as cs
from hypothesis import given, settings
from hypothesis import strategies as st
from ktrdump_support import END_ENTRY, Entry, build_trace

import formats
from formats import RecordKind, Struct, Syscall, Sysret, struct_data, struct_data_schemas

KTRDUMP = Path(sys.executable).parent / "ktrdump"

_I32 = st.integers(-(1 << 31), (1 << 31) - 1)
_U32 = st.integers(0, (1 << 32) - 1)
_FD_PATHS = st.lists(st.tuples(_I32, st.binary(max_size=40)), max_size=6)
_PARTS = st.lists(st.binary(max_size=40), max_size=8)


def _schema(name: str) -> cs.Construct:
    return struct_data_schemas().data[name]


@settings(max_examples=200, deadline=None)
@given(_FD_PATHS)
def test_fd_paths_encoder_is_the_schema(items: list[tuple[int, bytes]]) -> None:
    encoded = struct_data.encode_fd_paths(items)
    for name in ("fd_paths", "open_fds"):
        built = _schema(name).build(
            {"items": [{"fd": fd, "path_length": len(path), "path": path} for fd, path in items]})
        assert encoded == built
        parsed = _schema(name).parse(encoded)
        assert [(item.fd, item.path) for item in parsed["items"]] == items
    assert struct_data.decode_fd_paths(encoded) == (items, None)


@settings(max_examples=200, deadline=None)
@given(_PARTS)
def test_parts_encoder_is_the_schema(parts: list[bytes]) -> None:
    encoded = struct_data.encode_parts(parts)
    assert encoded == b"".join(struct_data.encode_part(part) for part in parts)
    for name in ("mmsg_extras", "unsent_messages"):
        built = _schema(name).build(
            {"items": [{"length": len(part), "data": part} for part in parts]})
        assert encoded == built
    assert struct_data.decode_parts(encoded) == (parts, None)


@settings(max_examples=100, deadline=None)
@given(_U32, _I32, _I32, _U32)
def test_fixed_encoders_are_the_schema(which: int, pidfd: int, parent_tid: int,
                                       count: int) -> None:
    encoded = struct_data.encode_clone3_ids(which, pidfd, parent_tid)
    assert encoded == _schema("clone3_ids").build(
        {"which": which, "pidfd": pidfd, "parent_tid": parent_tid})
    assert struct_data.decode_clone3_ids(encoded) == ((which, pidfd, parent_tid), None)
    assert struct_data.encode_count(count) == _schema("count").build({"count": count})
    assert struct_data.decode_count(struct_data.encode_count(count)) == (count, None)
    for values in ({"before": count, "after": which}, {"before": count, "after": None}):
        built = _schema("socklen").build(values)
        assert struct_data.decode_socklen(built) == ((values["before"], values["after"]), None)


def _parse(name: str, data: bytes) -> Any:
    try:
        return _schema(name).parse(data)
    except cs.ConstructError:
        return None


def _damaged_bytes(items: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Whole items, then maybe a cut, an overlong length or noise: the shapes damage takes."""
    return st.one_of(
        st.binary(max_size=48),
        st.tuples(items, st.binary(max_size=12)).map(lambda pair: pair[0] + pair[1]),
        st.tuples(items, st.integers(0, 64)).map(lambda pair: pair[0][:len(pair[0]) - pair[1]]),
    )


_ENCODED_FD_PATHS = _FD_PATHS.map(struct_data.encode_fd_paths)
_ENCODED_PARTS = _PARTS.map(struct_data.encode_parts)


@settings(max_examples=200, deadline=None)
@given(_damaged_bytes(_ENCODED_FD_PATHS))
def test_fd_paths_decoder_accepts_what_the_schema_parses(data: bytes) -> None:
    items, damage = struct_data.decode_fd_paths(data)
    parsed = _parse("fd_paths", data)
    assert (damage is None) == (parsed is not None)
    if damage is None:
        assert [(item.fd, item.path) for item in parsed["items"]] == items
        return
    # the items before the damage are the whole ones the schema reads up to it
    assert 0 <= damage.offset < len(data) and damage.length == len(data)
    before = _parse("fd_paths", data[:damage.offset])
    assert before is not None
    assert [(item.fd, item.path) for item in before["items"]] == items
    assert f"at byte {damage.offset} of {len(data)}" in str(damage)


@settings(max_examples=200, deadline=None)
@given(_damaged_bytes(_ENCODED_PARTS))
def test_parts_decoder_accepts_what_the_schema_parses(data: bytes) -> None:
    parts, damage = struct_data.decode_parts(data)
    parsed = _parse("mmsg_extras", data)
    assert (damage is None) == (parsed is not None)
    if damage is None:
        assert [item.data for item in parsed["items"]] == parts
        return
    assert 0 <= damage.offset < len(data)
    before = _parse("unsent_messages", data[:damage.offset])
    assert before is not None and [item.data for item in before["items"]] == parts


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=16))
def test_fixed_decoders_accept_what_the_schema_parses(data: bytes) -> None:
    ids, damage = struct_data.decode_clone3_ids(data)
    parsed = _parse("clone3_ids", data)
    assert (ids is None) == (parsed is None) == (damage is not None)
    if parsed is not None:
        assert ids == (parsed.which, parsed.pidfd, parsed.parent_tid)
    count, damage = struct_data.decode_count(data)
    parsed = _parse("count", data)
    assert (count is None) == (parsed is None) == (damage is not None)
    if parsed is not None:
        assert count == parsed.count
    socklen, damage = struct_data.decode_socklen(data)
    parsed = _parse("socklen", data)
    assert (damage is None) == (parsed is not None)
    if parsed is not None:
        assert socklen == (parsed.before, parsed.after)
    elif socklen is not None:  # what came before the damage
        assert damage is not None and damage.offset in (4, 8)


def test_a_path_is_its_bytes() -> None:
    for name in ("fd_path", "cwd"):
        assert _schema(name).build({"path": b"/etc/passwd"}) == b"/etc/passwd"
        assert _schema(name).parse(b"/x\xff").path == b"/x\xff"


def test_the_generated_layouts_are_the_only_ones_used() -> None:
    """The fast paths' formats are those the schemas derive (not restated by hand)."""
    from formats._codec import STRUCT_DATA_PREFIX, derive_layout

    for name, item in struct_data_schemas().items.items():
        derived = derive_layout(item, "little")
        used = formats.generated_layout("little", STRUCT_DATA_PREFIX + name)
        assert used.fixed.format == derived.fixed.format
        assert (used.fixed_names, [t[:2] for t in used.tails]) == (
            derived.fixed_names, [t[:2] for t in derived.tails])
    assert struct_data.FD_PATH_HEAD == 8


# ---------------------------------------------------------------- damaged data, through ktrdump

_PID = 4200
_COMM = b"demo"


def _call(nr: int, *args: int) -> Entry:
    return (RecordKind.SYSCALL, _PID, _PID, _COMM, Syscall(nr, 1, 0, args))


def _ret(nr: int, retval: int) -> Entry:
    return (RecordKind.SYSRET, _PID, _PID, _COMM, Sysret(nr, 1, 0, 0, retval, 1000))


def _struct(argument: int, name: bytes, data: bytes) -> Entry:
    return (RecordKind.STRUCT, _PID, _PID, _COMM, Struct(1, argument, name, data))


_GOOD = struct_data.encode_fd_paths([(9, b"/etc/passwd")])
#: (name, data, where it is damaged, the text ktrdump shows before the comment)
_DAMAGED: list[tuple[bytes, bytes, int, str]] = [
    (b"fd_paths", _GOOD + struct_data.encode_fd_paths([(10, b"/etc/hosts")])[:-3], 19,
     "[9</etc/passwd>]"),
    (b"fd_paths", _GOOD + bytes.fromhex("0a000000ff000000") + b"/etc", 19, "[9</etc/passwd>]"),
    (b"open_fds", _GOOD + b"\x01\x00", 19, "[9</etc/passwd>]"),
    (b"fd_paths", b"\x09\x00\x00", 0, '"\\x09\\x00\\x00"'),
    (b"mmsg_extras", struct_data.encode_parts([b"ab", b""]) + b"\x10\x00\x00\x00xy", 10,
     '[{name="ab", control=""}]'),
    (b"unsent_messages", struct_data.encode_parts([b"hello"]) + b"\x05\x00", 9, '["hello"]'),
    (b"clone3_ids", b"\x01\x00\x00\x00\x05\x00", 0, '"\\x01\\x00\\x00\\x00\\x05\\x00"'),
    (b"count", b"\x07", 0, '"\\x07"'),
    (b"socklen", b"\x10\x00\x00\x00\x02", 4, "[16]"),
]


def test_damaged_struct_data_is_reported_with_its_offset(tmp_path: Path) -> None:
    # each damaged STRUCT as the result capture (argument 255) of a recvmsg (47) on x86_64
    entries: list[Entry] = []
    for name, data, _, _ in _DAMAGED:
        entries += [_call(47, 3, 0x1000, 0), _struct(255, name, data), _ret(47, 0)]
    trace, _ = build_trace([[*entries, END_ENTRY]])
    path = tmp_path / "damaged.ktr"
    path.write_bytes(trace)
    text = subprocess.run([str(KTRDUMP), str(path)], capture_output=True, text=True, timeout=60)
    assert text.returncode == 0 and "Traceback" not in text.stderr, text.stderr
    lines = [line for line in text.stdout.splitlines() if "STRU" in line]
    assert len(lines) == len(_DAMAGED)
    for line, (name, data, offset, shown) in zip(lines, _DAMAGED, strict=True):
        expected = (f"struct {name.decode()} {shown} /* damaged at byte {offset} of "
                    f"{len(data)}: ")
        assert expected in line and line.endswith(" */"), line
    # JSON and strace -y read them without a traceback (what they cannot use, they leave out)
    for options in (["--json"], ["--format", "strace", "-y"]):
        done = subprocess.run([str(KTRDUMP), *options, str(path)], capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (options, done.stderr)
        if options == ["--json"]:
            hexes = {json.loads(line).get("data") for line in done.stdout.splitlines()}
            assert {data.hex() for _, data, _, _ in _DAMAGED} <= hexes
