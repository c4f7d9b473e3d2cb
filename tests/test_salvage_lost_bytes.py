"""``ktrdump --salvage``: a damaged batch's SKIP counts as lost only what was not shown.

With --salvage, the records of a raw batch whose payload checksum fails that still
frame and decode are shown, UNVERIFIED, and the batch is then reported damaged (a
SKIP). Its ``lost_bytes`` counted the whole batch even when every record had been
shown (and the summary and strace's line said those bytes were lost); now it counts
the bytes after the records shown, as a torn tail's does (SPEC, "Damaged batches":
the bytes after the point where the records end). Oracle: the batch and record
layout of the undamaged file, walked here from SPEC's framing (28-byte batch
header, 40-byte record header whose first u32 is the payload length), not by the
reader.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

BATCH_HEADER = 28
RECORD_HEADER = 40


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    trace = tmp_path_factory.mktemp("salvage") / "ls.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "ls", "/"], check=True,
                   timeout=60, stdout=subprocess.DEVNULL)
    return trace.read_bytes()


def biggest_batch(data: bytes) -> tuple[int, int, list[int]]:
    """(offset, stored_length, offsets of its records) of the raw batch with the most
    records, found by its magic and header checksum (little-endian, as recorded here)."""
    best: tuple[int, int, list[int]] | None = None
    at = data.find(b"KTRB")
    while at != -1:
        head = data[at:at + BATCH_HEADER]
        flags, count, stored = struct.unpack_from("<H2xII", head, 4)
        crc, = struct.unpack_from("<I", head, 24)
        if len(head) == BATCH_HEADER and zlib.crc32(head[:24]) == crc and flags == 0:
            records, position = [], at + BATCH_HEADER
            for _ in range(count):
                records.append(position)
                position += RECORD_HEADER + struct.unpack_from("<I", data, position)[0]
            assert position == at + BATCH_HEADER + stored  # the records fill the payload
            if best is None or count > len(best[2]):
                best = (at, stored, records)
            at = data.find(b"KTRB", at + BATCH_HEADER + stored)
        else:
            at = data.find(b"KTRB", at + 1)
    assert best is not None
    return best


def salvage(tmp_path: Path, data: bytearray, *view: str) -> subprocess.CompletedProcess[str]:
    damaged = tmp_path / "damaged.ktr"
    damaged.write_bytes(bytes(data))
    return subprocess.run([KTRDUMP, "--salvage", *view, str(damaged)], capture_output=True,
                          text=True, timeout=60)


def skip_of(done: subprocess.CompletedProcess[str]) -> dict[str, object]:
    records: list[dict[str, object]] = [json.loads(line) for line in done.stdout.splitlines()]
    [skip] = [record for record in records if record["type"] == "SKIP"]
    return skip


def test_every_record_shown_loses_nothing(pristine: bytes, tmp_path: Path) -> None:
    offset, stored, records = biggest_batch(pristine)
    data = bytearray(pristine)
    data[records[len(records) // 2] + 30] ^= 0x01  # a byte of a record's comm: it decodes
    done = salvage(tmp_path, data, "--json")
    assert done.returncode == 1, done.stderr  # still damaged
    skip = skip_of(done)
    assert (skip["offset"], skip["bytes"]) == (offset, BATCH_HEADER + stored)
    assert skip["lost_bytes"] == 0  # every one of its records was shown
    assert "none was skipped" in str(skip["message"])
    summary = salvage(tmp_path, data, "-c").stdout
    assert (f"damaged batch skipped: 1 (0 bytes; {len(records)} records of them shown, "
            "UNVERIFIED (--salvage))") in summary
    strace = salvage(tmp_path, data, "--format", "strace").stdout
    assert (f"--- ktr: 0 bytes lost at byte offset {offset + BATCH_HEADER + stored} (shown "
            f"{len(records)} of {len(records)} records of the batch at byte offset "
            f"{offset}, UNVERIFIED: ") in strace


def test_the_rest_after_the_records_shown_is_lost(pristine: bytes, tmp_path: Path) -> None:
    offset, stored, records = biggest_batch(pristine)
    data = bytearray(pristine)
    bad = len(records) // 3
    struct.pack_into("<H", data, records[bad] + 4, 0xFFFF)  # no such kind: framing ends
    lost = offset + BATCH_HEADER + stored - records[bad]
    done = salvage(tmp_path, data, "--json")
    assert done.returncode == 1, done.stderr
    skip = skip_of(done)
    assert skip["lost_bytes"] == lost
    assert (f"{bad} of its {len(records)} records are shown, UNVERIFIED (--salvage); the "
            f"rest was skipped ({lost} bytes lost)") in str(skip["message"])
    summary = salvage(tmp_path, data, "-c").stdout
    assert f"damaged batch skipped: 1 ({lost} bytes; {bad} records of them shown" in summary
    strace = salvage(tmp_path, data, "--format", "strace").stdout
    assert f"--- ktr: {lost} bytes lost at byte offset {records[bad]} (shown {bad} of " in strace
