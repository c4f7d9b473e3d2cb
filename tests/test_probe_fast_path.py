"""The probe source's hand-written hot path gives the codec's bytes, record for record."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

import formats
from formats import ProbeSite, RecordKind
from formats.elf import FunctionSymbol
from ktr._probes import SAMPLE_RAW_AT, FastEncoder, ResolvedProbe, make_decoder, parse_spec

CODEC = formats.codec("little")


class _Image:
    build_id = None
    debug_path = None


def _probe(text: str) -> tuple[ResolvedProbe, dict[str, tuple[int, int, bool]]]:
    spec = parse_spec(text)
    probe = ResolvedProbe(7, spec, "/t/prog", _Image(), FunctionSymbol("f", 0x1000, 64),  # type: ignore[arg-type]
                          0x1000)
    if spec.site == ProbeSite.RETURN:
        fields = {"__probe_func": (8, 8, False), "__probe_ret_ip": (16, 8, False),
                  "ret": (24, 8, False)}
    else:
        fields = {"__probe_ip": (8, 8, False)}
        fields.update({f"a{i}": (16 + 8 * i, 8, False) for i in range(len(spec.arg_types))})
    return probe, fields


def _sample(pid: int, tid: int, time: int, words: list[int]) -> bytes:
    raw = struct.pack("<HBBi", 2326, 0, 0, pid) + struct.pack(f"<{len(words)}Q", *words)
    raw += b"\0" * 4
    body = struct.pack("<iiQI", pid, tid, time, len(raw)) + raw
    return struct.pack("<IHH", 9, 0, 8 + len(body)) + body


U64 = st.integers(0, 2**64 - 1)


@pytest.mark.parametrize("text", ["p:f", "p:f()", "p:f(i32,x64,ptr)", "p:f:return(i32)",
                                  "p:f:+0x4(u32)"])
@given(pid=st.integers(1, 2**31 - 1), tid=st.integers(1, 2**31 - 1),
       time=st.integers(0, 2**62), words=st.lists(U64, min_size=7, max_size=7),
       comm=st.binary(max_size=16), timestamp=st.integers(0, 2**63))
def test_fast_path_bytes_equal_the_codec(text: str, pid: int, tid: int, time: int,
                                         words: list[int], comm: bytes, timestamp: int) -> None:
    probe, fields = _probe(text)
    name = b"prog:f"
    encoder = FastEncoder(probe, fields, name, CODEC)
    count = 3 if probe.site == ProbeSite.RETURN else 1 + len(probe.types)
    data = b"pad" + _sample(pid, tid, time, words[:count])
    values = encoder.unpack(data, 3)
    assert values[:3] == (pid, tid, time)
    fast = encoder.encode(values, timestamp, comm)
    raw = data[3 + SAMPLE_RAW_AT:]
    pc, value, args, strings = make_decoder(probe, fields)(raw)
    payload = formats.Probe(probe.probe_id, int(probe.site), pc,
                            probe.spec.offset if probe.site == ProbeSite.OFFSET else 0,
                            value, args, name, strings)
    assert fast == CODEC.encode_record(RecordKind.PROBE, pid, tid, timestamp, comm, payload)
