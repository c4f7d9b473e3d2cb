"""The big-endian probe seed: ``fuzz/seeds/probe_strings_big.ktr`` from ``probe_strings.ktr``.

``probe_strings.ktr`` is a real recording (``fuzz/seeds/README``) of PROBE_DEF and PROBE
records with ``str`` arguments and return values (whole, cut at ``-s``, unreadable,
NULL). ``ktr record`` writes the host's byte order only, so the big-endian seed is that
recording's records decoded and encoded again in big-endian order with the codec
(``formats.codec("big")``), the PROBE ``strings`` field through ``formats.probe_strings``
(its length words are in the file's byte order too), one batch, uncompressed.

``python -m fuzz.make_probe_seeds`` writes it; ``--check`` fails if the committed file
differs from what this builds. Deterministic: the records, their timestamps included, are
the little-endian seed's. Only the record kinds whose payloads have no byte-order
dependent bytes besides PROBE's ``strings`` are accepted (the rest would need their own
conversion: an error says which).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import formats
from formats import RecordKind, probe_strings

SEED_DIR = Path(__file__).resolve().parent / "seeds"
SOURCE = SEED_DIR / "probe_strings.ktr"
TARGET = SEED_DIR / "probe_strings_big.ktr"

#: Kinds whose decoded payloads encode the same in either order (no order-dependent blobs).
_PLAIN = {RecordKind.BEGIN, RecordKind.PROC, RecordKind.PROBE_DEF, RecordKind.END}


def build(source: bytes) -> bytes:
    header, size = formats.parse_file_header(source)
    if header.byte_order != "little":
        raise ValueError("the source seed is not little-endian")
    little, big = formats.codec("little"), formats.codec("big")
    framing = formats.batch_framing("little")
    records: list[bytes] = []
    position = size
    while position < len(source):
        batch = framing.parse_header(source[position:position + framing.size], position)
        stored = source[position + framing.size:position + framing.size + batch.stored_length]
        for record in little.iter_records(framing.payload(batch, stored, position)):
            payload = record.payload
            if isinstance(payload, formats.Probe):
                entries, damage = probe_strings.decode(payload.strings, "little")
                if damage is not None:
                    raise ValueError(f"PROBE strings {damage}")
                payload = payload._replace(strings=probe_strings.encode(entries, "big"))
            elif record.kind not in _PLAIN:
                raise ValueError(f"record kind {record.kind}: no big-endian conversion here")
            records.append(big.encode_record(RecordKind(record.kind), record.pid, record.tid,
                                             record.timestamp_ns, record.comm, payload))
        position += framing.size + batch.stored_length
    head = formats.encode_file_header(dataclasses.replace(header, byte_order="big"))
    return head + formats.batch_framing("big").encode(records, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.make_probe_seeds",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed seed differs from what this builds")
    arguments = parser.parse_args(argv)
    data = build(SOURCE.read_bytes())
    if arguments.check:
        if TARGET.read_bytes() != data:
            print(f"{TARGET}: differs from what fuzz/make_probe_seeds.py builds",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_bytes(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
