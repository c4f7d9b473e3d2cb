"""A notice about the input (damage, a recording cut short) comes after the records read
before it, also when a result filter holds a call back until its RET.

``-e status=unfinished``, ``-z``, ``-Z`` and ``--min-duration`` decide a call at its
RET, so its lines wait; notices did not: on a trace cut short while a call was
blocked (what ``-e status=unfinished`` is for: what was each thread doing when
the recorder died), the "recording cut short" line came first and the blocked
call after it, time going back, the notice stamped with an older time than
without the filter. Crafted traces (formats alone): the records' order in the
file is the oracle.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import START_NS, Entry, encode_entries, file_header

import formats
from formats import RecordKind, Syscall, Sysret

KTRDUMP = Path(sys.executable).parent / "ktrdump"

WAIT4: Entry = (RecordKind.SYSCALL, 10, 10, b"sh",
                Syscall(61, 1, 0, ((1 << 64) - 1, 0, 0, 0, 0, 0)))
GETPID: list[Entry] = [(RecordKind.SYSCALL, 11, 11, b"cat", Syscall(39, 1, 0, (0,) * 6)),
                       (RecordKind.SYSRET, 11, 11, b"cat", Sysret(39, 1, 0, 0, 11, 500))]
WAIT4_RET: Entry = (RecordKind.SYSRET, 10, 10, b"sh", Sysret(61, 1, 0, 0, 11, 5_000_000))


def trace(path: Path, batches: list[list[Entry]], *, damage: int | None = None) -> Path:
    """``batches`` in a file whose header promises an END record; ``damage``: the index
    of a batch whose payload gets one byte flipped."""
    framing = formats.batch_framing("little")
    data = bytearray(file_header(end_record=True))
    for number, batch in enumerate(batches):
        encoded = framing.encode(encode_entries(batch, first_ns=START_NS + number * 10**9), None)
        if number == damage:
            encoded = encoded[:-1] + bytes([encoded[-1] ^ 0xFF])
        data += encoded
    path.write_bytes(bytes(data))
    return path


def strace_lines(path: Path, *options: str) -> list[str]:
    done = subprocess.run([KTRDUMP, "--format", "strace", *options, str(path)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr  # damaged or cut short: status 1
    return [line.split(None, 2)[2] if line[:1].isdigit() else line
            for line in done.stdout.splitlines()]


@pytest.mark.parametrize("options", [["-e", "status=unfinished"],
                                     ["-e", "status=failed,unfinished"], []])
def test_a_call_open_when_the_recording_was_cut_comes_before_the_notice(
        tmp_path: Path, options: list[str]) -> None:
    path = trace(tmp_path / "cut.ktr", [[WAIT4, *GETPID]])
    lines = strace_lines(path, *options)
    cut = [n for n, line in enumerate(lines) if "recording cut short" in line]
    wait4 = [n for n, line in enumerate(lines) if line.startswith("wait4(")]
    assert len(cut) == 1 and len(wait4) == 1, lines
    assert wait4[0] < cut[0], lines
    # The notice keeps the time it has without the filter (the last record's).
    stamps = subprocess.run([KTRDUMP, "--format", "strace", *options, str(path)],
                            capture_output=True, text=True, timeout=60).stdout
    plain = subprocess.run([KTRDUMP, "--format", "strace", str(path)], capture_output=True,
                           text=True, timeout=60).stdout
    assert [line for line in stamps.splitlines() if "cut short" in line] == \
        [line for line in plain.splitlines() if "cut short" in line]


def test_damage_read_while_a_call_is_held_is_told_between_its_halves(tmp_path: Path) -> None:
    path = trace(tmp_path / "mid.ktr", [[WAIT4], GETPID, [WAIT4_RET, GETPID[0]]], damage=1)
    lines = strace_lines(path, "--min-duration", "1ms")
    skipped = [n for n, line in enumerate(lines) if "checksum mismatch" in line]
    started = [n for n, line in enumerate(lines) if line.startswith("wait4(")]
    resumed = [n for n, line in enumerate(lines) if line.startswith("<... wait4 resumed>")]
    assert len(skipped) == 1 and len(started) == 1 and len(resumed) == 1, lines
    assert started[0] < skipped[0] < resumed[0], lines
