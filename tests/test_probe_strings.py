"""PROBE's ``strings`` field: the fast paths are the schema, byte for byte, in either order.

``formats.probe_strings`` builds and reads the field with the length word's
``struct`` layout generated from the construct schema
(``formats.probe_string_schemas``); the recorder's hot path (``ktr._probes``'
decoder of the kernel's event) packs its entries with that same layout. Here,
over random values and both byte orders, the encoders give what the schema
builds, and over random bytes (whole entries, damaged ones, noise) the decoder
accepts what the schema parses, with the same values, and says where the rest
is damaged. A real recording of a C program's ``str`` arguments decodes as
before (the pre-schema reader, restated here, is the oracle); damaged strings
through the real ``ktrdump`` command are shown with their byte offset in every
view that shows probes, never a traceback, and a big-endian trace's strings read
in its own order.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ktrdump_support import END_ENTRY, Entry, build_trace
from probe_support import build_program

import formats
from formats import (
    ByteOrder,
    Probe,
    ProbeArgType,
    ProbeDef,
    ProbeSite,
    RecordKind,
    probe_string_schemas,
    probe_strings,
)
from formats.elf import FunctionSymbol
from ktr._probes import EVENT_DATA_MAX, ResolvedProbe, make_decoder, parse_spec

BIN = Path(sys.executable).parent
KTR = [str(BIN / "ktr")]
KTRDUMP = str(BIN / "ktrdump")
ORDERS: tuple[ByteOrder, ...] = ("little", "big")

_VALUE = st.one_of(st.none(), st.binary(max_size=40))
_ENTRIES = st.lists(st.tuples(_VALUE, st.booleans()), max_size=6)


def _build(entries: Sequence[tuple[bytes | None, bool]], order: ByteOrder) -> bytes:
    """What the schema builds for ``entries``."""
    items: list[dict[str, Any]] = []
    for value, truncated in entries:
        if value is None:
            items.append({"word": formats.PROBE_STRING_FAULT, "data": None})
        else:
            flag = formats.PROBE_STRING_TRUNCATED if truncated else 0
            items.append({"word": len(value) | flag, "data": value})
    return bytes(probe_string_schemas(order).data.build({"items": items}))


def _parse(data: bytes, order: ByteOrder) -> list[tuple[bytes | None, bool]] | None:
    """What the schema parses from ``data`` (None: it refuses it)."""
    try:
        parsed = probe_string_schemas(order).data.parse(data)
    except Exception:
        return None
    return [(item.data, item.truncated) for item in parsed["items"]]


def _normal(entries: list[tuple[bytes | None, bool]]) -> list[tuple[bytes | None, bool]]:
    return [(value, value is not None and truncated) for value, truncated in entries]


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=100, deadline=None)
@given(entries=_ENTRIES)
def test_encoder_is_the_schema(order: ByteOrder, entries: list[tuple[bytes | None, bool]]
                               ) -> None:
    encoded = probe_strings.encode(entries, order)
    assert encoded == _build(entries, order)
    assert _parse(encoded, order) == _normal(entries)
    assert probe_strings.decode(encoded, order) == (_normal(entries), None)
    # the old public helpers are the same field
    assert formats.join_probe_strings([v for v, _ in entries], [t for _, t in entries],
                                      order) == encoded
    assert formats.split_probe_strings(encoded, order) == [v for v, _ in entries]


def _damaged_bytes(order: ByteOrder) -> st.SearchStrategy[bytes]:
    """Whole entries, then maybe a cut, an overlong length or noise: damage's shapes."""
    whole = _ENTRIES.map(lambda entries: probe_strings.encode(entries, order))
    return st.tuples(whole, st.one_of(
        st.just(b""), st.binary(min_size=1, max_size=3),
        st.builds(lambda n, tail: probe_strings.word_layout(order).pack(n) + tail,
                  st.integers(0, (1 << 32) - 1), st.binary(max_size=8)),
        _ENTRIES.map(lambda entries: probe_strings.encode(entries, order)[:-1]),
        st.binary(max_size=24))).map(lambda parts: parts[0] + parts[1])


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_decoder_accepts_what_the_schema_parses(order: ByteOrder, data: Any) -> None:
    field = data.draw(_damaged_bytes(order))
    entries, damage = probe_strings.decode(field, order)
    parsed = _parse(field, order)
    assert (damage is None) == (parsed is not None)
    if damage is None:
        assert entries == parsed
        return
    # the entries before the damage are the whole ones the schema reads up to it
    assert 0 <= damage.offset < len(field) and damage.length == len(field)
    assert _parse(field[:damage.offset], order) == entries
    assert f"damaged at byte {damage.offset} of {len(field)}: " in str(damage)


def test_the_generated_layout_is_the_schemas() -> None:
    from formats._codec import PROBE_STRINGS_LAYOUT, derive_layout

    for order in ORDERS:
        derived = derive_layout(probe_string_schemas(order).head, order)
        used = formats.generated_layout(order, PROBE_STRINGS_LAYOUT)
        assert probe_strings.word_layout(order).format == used.fixed.format
        assert (used.fixed.format, used.fixed_names) == (derived.fixed.format, ("word",))
    assert probe_strings.FAULT_ENTRY == b"\xff" * 4


# ---------------------------------------------------------------- the recorder's hot path

class _Image:
    build_id = None
    debug_path = None


def _raw_event(strings: list[bytes | None], fields_at: int) -> tuple[bytes, dict[str, Any]]:
    """A uprobe event of ``f(str, i32, str, ...)`` as the kernel lays it out: the common
    fields and ip, one u64 per argument, a data_loc (u32: length << 16 | offset) per ``str``,
    then the strings' bytes with their NUL (an unreadable one: length 0)."""
    count = len(strings)
    fields: dict[str, Any] = {"common_type": (0, 2, False), "__probe_ip": (8, 8, False)}
    fields.update({f"a{i}": (16 + 8 * i, 8, False) for i in range(count)})
    locs_at = 16 + 8 * count
    fields.update({f"s{i}": (locs_at + 4 * i, 4, True) for i in range(count)})
    data_at = locs_at + 4 * count
    body = b""
    locs = []
    for value in strings:
        if value is None:
            locs.append(0)
            continue
        locs.append((len(value) + 1) << 16 | (data_at + len(body)))
        body += value + b"\0"
    raw = (bytes(8) + struct.pack("<Q", 0x401000) + struct.pack(f"<{count}Q", *range(count))
           + struct.pack(f"<{count}I", *locs) + body)
    assert fields_at == 0
    return raw, fields


_C_STRING = st.one_of(st.none(), st.binary(max_size=60).map(lambda b: b.replace(b"\0", b"a")))


@pytest.mark.parametrize("order", ORDERS)
@settings(max_examples=100, deadline=None)
@given(strings=st.lists(_C_STRING, min_size=1, max_size=4), cap=st.integers(1, 80))
def test_the_recorders_entries_are_the_schemas(order: ByteOrder, strings: list[bytes | None],
                                               cap: int) -> None:
    spec = parse_spec(f"p:f({','.join(['str'] * len(strings))})")
    probe = ResolvedProbe(7, spec, "/t/prog", _Image(), FunctionSymbol("f", 0x1000, 64),  # type: ignore[arg-type]
                          0x1000, string_cap=cap)
    raw, fields = _raw_event(strings, 0)
    assert len(raw) < EVENT_DATA_MAX
    _, _, args, field = make_decoder(probe, fields, order)(raw)
    assert args == tuple(range(len(strings)))
    expected = [(None, False) if value is None else (value[:cap], len(value) > cap)
                for value in strings]
    assert field == _build(expected, order)


# ---------------------------------------------------------------- a real recording

def _old_split(data: bytes) -> list[tuple[bytes | None, bool]]:
    """ktrdump's reader before the schema (little-endian, stopped at a cut): the oracle."""
    out: list[tuple[bytes | None, bool]] = []
    position = 0
    while position + 4 <= len(data):
        word = int.from_bytes(data[position:position + 4], "little")
        position += 4
        if word == 0xFFFF_FFFF:
            out.append((None, False))
            continue
        length = word & 0x7FFF_FFFF
        out.append((data[position:position + length], bool(word & 0x8000_0000)))
        position += length
    return out


def test_a_real_recording_decodes_as_before(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    trace = tmp_path / "strings.ktr"
    done = subprocess.run([*KTR, "record", "-q", "-t", "p", "-s", "4", "-o", str(trace),
                           "-P", "prog:slen(str)", "-P", "prog:pair(str,i32,str)",
                           "-P", "prog:name_of:return(str)", "--", str(prog), "basic"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    from ktrdump._reader import TraceReader

    with TraceReader(open(trace, "rb"), str(trace), owns_stream=True) as reader:
        assert reader.header.byte_order == "little"
        fields: list[bytes] = [record.payload.strings  # type: ignore[union-attr,misc]
                               for record in reader if record.kind == RecordKind.PROBE]
    decoded = []
    for field in fields:
        entries, damage = probe_strings.decode(field)
        assert damage is None and entries == _old_split(field) == _parse(field, "little")
        decoded.append(entries)
    # the program's strings, cut at -s 4 (slen, pair's two, name_of's returns)
    assert decoded == [[(b"hell", True)], [(b"prob", True)], [(b"zero", False)],
                       [(b"one", False)], [(b"pq", False), (b"xyz", False)]]
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True, timeout=60,
                          check=True).stdout
    assert 'prog:pair:entry("pq", -7, "xyz")' in text and "damaged" not in text
    assert 'prog:slen:entry("hell"...)' in text


# ---------------------------------------------------------------- damaged strings, through ktrdump

_PID = 4300
_COMM = b"demo"


def _pdef(probe_id: int, site: ProbeSite, types: list[ProbeArgType], function: bytes) -> Entry:
    return (RecordKind.PROBE_DEF, _PID, _PID, _COMM,
            ProbeDef(probe_id, int(site), 0, 0x1000, 0x1000, 0x40, 0, 256, bytes(types),
                     b"/t/prog", b"", function, b""))


def _hit(probe_id: int, site: ProbeSite, args: tuple[int, ...], strings: bytes,
         value: int = 0) -> Entry:
    return (RecordKind.PROBE, _PID, _PID, _COMM,
            Probe(probe_id, int(site), 0x401000, 0, value, args, b"prog:f", strings))


STR, I32 = ProbeArgType.STR, ProbeArgType.I32


def _damaged_trace(order: ByteOrder) -> tuple[bytes, list[tuple[str, int, int]]]:
    """Entries and returns of f(str, i32, str) and g -> str with damaged strings; and per
    damaged hit (its label, the byte of the damage, the field's length)."""
    good = probe_strings.encode([(b"pq", False)], order)
    cut = good + probe_strings.encode([(b"xyz", False)], order)[:-2]  # a length past the end
    short = good + b"\x01\x00"  # 2 bytes: no whole length word
    ret = probe_strings.word_layout(order).pack(9) + b"abc"
    entries: list[Entry] = [
        _pdef(1, ProbeSite.ENTRY, [STR, I32, STR], b"f"),
        _pdef(2, ProbeSite.RETURN, [STR], b"g"),
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000), cut),
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000), short),
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000),
             probe_strings.encode([(b"pq", False), (b"xyz", True)], order)),
        _hit(2, ProbeSite.RETURN, (), ret, value=0x3000),
        END_ENTRY,
    ]
    trace, _ = build_trace([entries], order)
    return trace, [("f", 6, len(cut)), ("f", 6, len(short)), ("g", 0, len(ret))]


@pytest.mark.parametrize("order", ORDERS)
def test_damaged_strings_are_reported_with_their_offset_in_every_view(
        tmp_path: Path, order: ByteOrder) -> None:
    trace, damaged = _damaged_trace(order)
    path = tmp_path / "damaged.ktr"
    path.write_bytes(trace)

    def dump(*options: str) -> str:
        done = subprocess.run([KTRDUMP, *options, str(path)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (options, done.stderr)
        return done.stdout

    # text: the whole strings before the damage, the damaged one's pointer, then where
    lines = [line for line in dump().splitlines() if "PROBE" in line]
    assert len(lines) == 4
    assert ('prog:f:entry("pq", 7, 0x2000 /* strings damaged at byte 6 of 11: string length 3 '
            'runs past the end (1 byte left) */)') in lines[0]
    assert ('prog:f:entry("pq", 7, 0x2000 /* strings damaged at byte 6 of 8: 2 bytes left, '
            'not a whole 4-byte length word */)') in lines[1]
    assert 'prog:f:entry("pq", 7, "xyz"...) pc' in lines[2] and "damaged" not in lines[2]
    assert ("prog:g:return = 0x3000 /* strings damaged at byte 0 of 7: string length 9 runs "
            "past the end (3 bytes left) */ pc") in lines[3]

    # JSON: the values before the damage, null after it, and strings_damage
    records = [json.loads(line) for line in dump("--json").splitlines()]
    probes = [r for r in records if r["type"] == "PROBE"]
    assert [r["args"] if r["point"] == "entry" else r["retval"] for r in probes] == [
        ["pq", 7, None], ["pq", 7, None], ["pq", 7, "xyz"], None]
    shown = [(r["probe"].split(":")[1], r["strings_damage"]["offset"],
              r["strings_damage"]["length"]) for r in probes if "strings_damage" in r]
    assert shown == damaged
    assert "strings_damage" not in probes[2] and probes[0]["args_address"][2] == 0x2000
    assert probes[1]["strings_damage"]["reason"] == "2 bytes left, not a whole 4-byte length word"
    if order == "big":
        return  # the byte order is the text's and JSON's; the other views share their decoder

    # chrome: the call's args as the text view's (the comment included)
    chrome = json.loads(dump("--format", "chrome"))
    events = chrome["traceEvents"] if isinstance(chrome, dict) else chrome
    args = [json.dumps(event.get("args")) for event in events if "prog:f" in str(event)]
    assert any("strings damaged at byte 6 of 11" in text for text in args), args

    # the calls view (uftrace replay's)
    calls = dump("--format", "calls")
    assert "/* strings damaged at byte 6 of 11: " in calls
    assert "/* strings damaged at byte 0 of 7: " in calls

    # parquet: the probes table's strings_damage column
    pq = pytest.importorskip("pyarrow.parquet")
    dump("--format", "parquet", "-o", str(tmp_path / "t.parquet"))
    rows = pq.read_table(tmp_path / "t.probes.parquet").to_pylist()
    assert [row["strings_damage"] is not None for row in rows] == [True, True, False, True]
    assert rows[0]["strings_damage"].startswith("damaged at byte 6 of 11: ")
    assert [row["args"] for row in rows[:3]] == [["pq", "7", None]] * 2 + [["pq", "7", "xyz"]]


def _miscounted_trace(order: ByteOrder) -> bytes:
    """Hits whose strings field is whole entries, but not as many as the str values."""
    one = probe_strings.encode([(b"pq", False)], order)  # 6 bytes
    three = probe_strings.encode([(b"pq", False), (None, False), (b"z", True)], order)
    entries: list[Entry] = [
        _pdef(1, ProbeSite.ENTRY, [STR, I32, STR], b"f"),
        _pdef(2, ProbeSite.RETURN, [STR], b"g"),
        _pdef(3, ProbeSite.ENTRY, [I32], b"h"),
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000), one),  # one of two
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000), three),  # three for two
        _hit(2, ProbeSite.RETURN, (), b"", value=0x3000),  # none for one
        _hit(3, ProbeSite.ENTRY, (5,), one),  # one for none
        _hit(1, ProbeSite.ENTRY, (0x1000, 7, 0x2000), one + one),  # whole: no damage
        END_ENTRY,
    ]
    return build_trace([entries], order)[0]


@pytest.mark.parametrize("order", ORDERS)
def test_strings_not_matching_the_definitions_str_values_are_damage(
        tmp_path: Path, order: ByteOrder) -> None:
    path = tmp_path / "miscounted.ktr"
    path.write_bytes(_miscounted_trace(order))

    def dump(*options: str) -> str:
        done = subprocess.run([KTRDUMP, *options, str(path)], capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0 and "Traceback" not in done.stderr, (options, done.stderr)
        return done.stdout

    lines = [line for line in dump().splitlines() if "PROBE" in line]
    assert len(lines) == 5
    assert ('prog:f:entry("pq", 7, 0x2000 /* strings damaged at byte 6 of 6: 1 entry for the '
            "definition's 2 str values */)") in lines[0]
    assert ('prog:f:entry("pq", 7, 0x2000 /* strings damaged at byte 10 of 15: more entries than '
            "the definition's 2 str values */)") in lines[1]
    assert ("prog:g:return = 0x3000 /* strings damaged at byte 0 of 0: 0 entries for the "
            "definition's 1 str values */ pc") in lines[2]
    assert ("prog:h:entry(5 /* strings damaged at byte 0 of 6: more entries than the "
            "definition's 0 str values */)") in lines[3]
    assert 'prog:f:entry("pq", 7, "pq")' in lines[4] and "damaged" not in lines[4]

    probes = [r for r in map(json.loads, dump("--json").splitlines()) if r["type"] == "PROBE"]
    assert [r.get("strings_damage", {}).get("offset") for r in probes] == [6, 10, 0, 0, None]
    assert [r["args"] if r["point"] == "entry" else r["retval"] for r in probes] == [
        ["pq", 7, None], ["pq", 7, None], None, [5], ["pq", 7, "pq"]]
    assert probes[1]["strings_damage"] == {
        "offset": 10, "length": 15,
        "reason": "more entries than the definition's 2 str values"}
    if order == "big":
        return
    pq = pytest.importorskip("pyarrow.parquet")
    dump("--format", "parquet", "-o", str(tmp_path / "t.parquet"))
    rows = pq.read_table(tmp_path / "t.probes.parquet").to_pylist()
    assert [row["strings_damage"] for row in rows] == [
        "damaged at byte 6 of 6: 1 entry for the definition's 2 str values",
        "damaged at byte 10 of 15: more entries than the definition's 2 str values",
        "damaged at byte 0 of 0: 0 entries for the definition's 1 str values",
        "damaged at byte 0 of 6: more entries than the definition's 0 str values", None]


def test_the_big_endian_probe_seed_is_current_and_reads_as_the_little_one() -> None:
    """The fuzz seeds with PROBE strings (fuzz/seeds/README): the big-endian one is what
    ``fuzz.make_probe_seeds`` builds from the little-endian recording, and ktrdump's text
    and JSON of both are the same."""
    from fuzz import make_probe_seeds

    assert make_probe_seeds.main(["--check"]) == 0
    for options in ([], ["--json"]):
        little, big = (subprocess.run([KTRDUMP, *options, str(path)], capture_output=True,
                                      timeout=60, check=True).stdout
                       for path in (make_probe_seeds.SOURCE, make_probe_seeds.TARGET))
        assert little == big and b'"xyz"' in little and b"damaged" not in little


def test_a_module_name_not_utf8_is_replaced_in_parquet(tmp_path: Path) -> None:
    """A fuzz finding: a PROBE_DEF whose module file name is not UTF-8 (its bytes kept
    exactly in text, ``os.fsdecode``'s surrogates) stopped ``--format parquet`` with a
    traceback (Arrow refuses lone surrogates); its string columns have U+FFFD."""
    pq = pytest.importorskip("pyarrow.parquet")
    entries: list[Entry] = [
        (RecordKind.PROBE_DEF, _PID, _PID, _COMM,
         ProbeDef(1, int(ProbeSite.ENTRY), 0, 0x1000, 0x1000, 0x40, 0, 256, bytes([STR]),
                  b"/t/pr\xff\xe0", b"", b"f", b"")),
        _hit(1, ProbeSite.ENTRY, (0x1000,), probe_strings.encode([(b"ab", False)])),
        END_ENTRY,
    ]
    path = tmp_path / "module.ktr"
    path.write_bytes(build_trace([entries])[0])
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(tmp_path / "t.parquet"),
                           str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    rows = pq.read_table(tmp_path / "t.probes.parquet").to_pylist()
    assert [(row["probe"], row["module"], row["args"]) for row in rows] == [
        ("pr\ufffd\ufffd:f:entry", "pr\ufffd\ufffd", ["ab"])]
    text = subprocess.run([KTRDUMP, str(path)], capture_output=True, timeout=60,
                          check=True).stdout
    assert b'PROBE  pr\\xff\\xe0:f:entry("ab")' in text
