"""Options JSON nested deeper than ``json`` can follow is damage, said in one line: no traceback.

A trace's file header and each BEGIN record carry the recording's options as JSON
text. A crafted file can nest it a hundred thousand levels deep (600 KB): ``json.loads``
then raises RecursionError, which is no ValueError, and ``ktrdump`` (every view, ``-l``)
and ``ktr record -a`` ended in a traceback. The header is built here byte by byte from
SPEC.md (with its right checksum), not with the encoder, which cannot write such JSON.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from ktrdump_support import HEADER, encode_entries, syscall_batch

import formats
from formats import RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
DEPTH = 100_000
DEEP = b'{"a":' * DEPTH + b"1" + b"}" * DEPTH


def _header(options: bytes, hostname: str = "test-host") -> bytes:
    """A little-endian format 1.1 file header (SPEC.md, "File header") with these options."""
    body = struct.pack("<qq", HEADER.realtime_ns, HEADER.monotonic_ns)
    for text in (HEADER.ktr_version, hostname, "6.1", "x86_64"):
        body += struct.pack("<H", len(text)) + text.encode()
    body += struct.pack("<I", len(options)) + options
    prefix = b"\x89KTR\r\n\x1a\n" + b"L" + bytes(3) + struct.pack("<HHI", 1, 1, len(body) + 4)
    return prefix + body + struct.pack("<I", zlib.crc32(prefix + body))


def _batches() -> bytes:
    return formats.batch_framing().encode(encode_entries(syscall_batch(3)))


def test_the_header_builder_is_read_back() -> None:
    # the builder itself: a header of ordinary options reads back field for field
    parsed, _size = formats.parse_file_header(_header(b'{"facilities": "+"}'))
    assert (parsed.hostname, parsed.kernel_release, parsed.machine, parsed.options) == (
        "test-host", "6.1", "x86_64", {"facilities": "+"})
    assert (parsed.realtime_ns, parsed.major, parsed.minor) == (HEADER.realtime_ns, 1, 1)


@pytest.mark.parametrize("view", [[], ["--format", "json"], ["--summary"], ["-l"]])
def test_ktrdump_says_a_deep_header_is_damaged(tmp_path: Path, view: list[str]) -> None:
    trace = tmp_path / "deep.ktr"
    trace.write_bytes(_header(DEEP) + _batches())
    done = subprocess.run([KTRDUMP, *view, str(trace)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert done.stderr == (f"ktrdump: {trace}: damaged file header (RecursionError) at byte "
                           "offset 20 (ktrdump --salvage reads the batches after it)\n")


def test_ktr_record_refuses_to_append_to_it(tmp_path: Path) -> None:
    trace = tmp_path / "deep.ktr"
    original = _header(DEEP) + _batches()
    trace.write_bytes(original)
    trace.chmod(0o600)
    done = subprocess.run([KTR, "record", "-a", "-o", str(trace), "--", "true"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stderr == (f"ktr: cannot append to {trace}: damaged file header "
                           "(RecursionError) at byte offset 20\n")
    assert trace.read_bytes() == original


def test_a_deep_begin_is_followed_to_its_end(tmp_path: Path) -> None:
    # -l reads a BEGIN's options to judge whether its recorder still runs: one
    # nested too deep is as none (the dead recorder is then judged by host and pid)
    gone = subprocess.Popen(["true"])
    gone.wait()
    begin = formats.Begin(gone.pid, 0, HEADER.realtime_ns, 5, b"test", DEEP)
    trace = tmp_path / "begin.ktr"
    options = b'{"end_record": true, "begin_record": true}'
    trace.write_bytes(_header(options, os.uname().nodename) + formats.batch_framing().encode(
        encode_entries([(RecordKind.BEGIN, 0, 0, b"ktr", begin)])) + _batches())
    done = subprocess.run([KTRDUMP, "-l", str(trace)], capture_output=True, text=True,
                          timeout=30, stdin=subprocess.DEVNULL)
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"ktrdump: {trace}: no END record at byte offset"), \
        done.stderr
    assert done.stderr.count("\n") == 1
    assert "options unreadable" in done.stdout.splitlines()[0]
    assert sum(" ls " in line for line in done.stdout.splitlines()) >= 3
