"""A CALL whose RET never comes, its thread going on to another call (no DROP, no exit
in between), has a line in every view of the ``ktrdump`` command.

strace prints a call whose exit it never saw (``PTRACE_EVENT_EXIT``) as
``read(3,  <unfinished ...>) = ?`` (``<... read resumed> <unfinished ...>) = ?``
once its line was interrupted; ``close(3) = ?`` when the entry showed every
argument); the strace view does the same, where it printed nothing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import START_NS, encode_entries, file_header

import formats
from formats import Genio, RecordKind, Syscall, Sysret

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
READ, WRITE, CLOSE, GETPID = 0, 1, 3, 39


def _call(tid: int, nr: int, *args: int) -> tuple[int, int, int, bytes, Syscall]:
    return (RecordKind.SYSCALL, tid, tid, b"prog",
            Syscall(nr, int(formats.Abi.X86_64), 0, (*args, *(0,) * (6 - len(args)))))


def _ret(tid: int, nr: int, retval: int) -> tuple[int, int, int, bytes, Sysret]:
    return (RecordKind.SYSRET, tid, tid, b"prog",
            Sysret(nr, int(formats.Abi.X86_64), 0, 0, retval, 1_000))


#: Each thread's first call gets no RET (entries are 1 µs apart from START_NS).
ENTRIES = [
    _call(500, READ, 3, 0x1000, 64),  # its line still open when the next call comes
    _call(500, GETPID), _ret(500, GETPID, 500),
    _call(501, READ, 4, 0x1000, 64),  # its line interrupted by another thread's first
    _call(502, WRITE, 1, 0x2000, 1),
    (RecordKind.GENIO, 502, 502, b"prog", Genio(1, 1, 0, 1, b"x")), _ret(502, WRITE, 1),
    _call(501, GETPID), _ret(501, GETPID, 501),
    _call(503, CLOSE, 5),  # every argument shown at entry
    _call(503, GETPID), _ret(503, GETPID, 503),
    _call(504, READ, 6, 0x1000, 64),  # then a RET of another call, without its CALL
    _ret(504, GETPID, 504),
]


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    path = tmp_path / "unreturned.ktr"
    path.write_bytes(file_header() + formats.batch_framing().encode(encode_entries(ENTRIES)))
    return path


def _ktrdump(*args: str) -> str:
    result = subprocess.run([KTRDUMP, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout


def _at(index: int) -> str:
    micro = (START_NS + index * 1000) // 1000
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


EXPECTED_STRACE = [
    f"500   {_at(0)} read(3,  <unfinished ...>) = ?",
    f"500   {_at(1)} getpid()        = 500 <0.000001>",
    f"501   {_at(3)} read(4,  <unfinished ...>",
    f'502   {_at(4)} write(1, "x", 1) = 1 <0.000001>',
    f"501   {_at(7)} <... read resumed> <unfinished ...>) = ?",
    f"501   {_at(7)} getpid()        = 501 <0.000001>",
    f"503   {_at(9)} close(5)        = ?",
    f"503   {_at(10)} getpid()        = 503 <0.000001>",
    f"504   {_at(12)} read(6,  <unfinished ...>) = ?",
    f"504   {_at(13)} <... getpid resumed>) = 504 <0.000001>",
]


def test_the_strace_view_prints_every_call(trace: Path) -> None:
    assert _ktrdump("--format", "strace", str(trace)).splitlines() == EXPECTED_STRACE


def test_each_thread_file_of_strace_ff_has_its_unreturned_call(trace: Path,
                                                              tmp_path: Path) -> None:
    prefix = tmp_path / "out"
    assert _ktrdump("--format", "strace", "-ff", "-o", str(prefix), str(trace)) == ""

    def own(tid: int) -> list[str]:
        return (tmp_path / f"out.{tid}").read_text().splitlines()

    # A thread's own file: its call's line is never interrupted by another thread's.
    assert own(500)[0] == f"{_at(0)} read(3,  <unfinished ...>) = ?"
    assert own(501)[0] == f"{_at(3)} read(4,  <unfinished ...>) = ?"
    assert own(503)[0] == f"{_at(9)} close(5)              = ?"
    assert own(504)[0] == f"{_at(12)} read(6,  <unfinished ...>) = ?"
    for tid in (500, 501, 503):
        assert len(own(tid)) == 2 and " getpid() " in own(tid)[1]


def test_kdump_and_json_views_show_each_call(trace: Path) -> None:
    calls = [line.split() for line in _ktrdump(str(trace)).splitlines() if " CALL " in line]
    assert [(fields[0], fields[3].split("(")[0]) for fields in calls] == [
        ("500", "read"), ("500", "getpid"), ("501", "read"), ("502", "write"),
        ("501", "getpid"), ("503", "close"), ("503", "getpid"), ("504", "read")]
    objects = [json.loads(line) for line in _ktrdump("--format", "json", str(trace)).splitlines()]
    assert [(o["tid"], o["syscall"]) for o in objects if o["type"] == "CALL"] == [
        (500, "read"), (500, "getpid"), (501, "read"), (502, "write"), (501, "getpid"),
        (503, "close"), (503, "getpid"), (504, "read")]


@pytest.mark.parametrize("view", [[], ["--format", "strace"]], ids=["kdump", "strace"])
def test_the_summary_counts_them_as_never_returned(trace: Path, view: list[str]) -> None:
    out = _ktrdump("-c", *view, str(trace)).splitlines()
    assert out[-1] == "never returned, not counted above (as strace -c): read 3, close 1"


def test_strace_ff_closes_a_call_whose_return_was_dropped(tmp_path: Path) -> None:
    """The same line for a call open at a DROP (its RET most likely lost with it),
    which -ff lost too."""
    trace = tmp_path / "dropped.ktr"
    entries = [_call(500, READ, 3, 0x1000, 64),
               (RecordKind.DROP, 0, 0, b"ktr", formats.Drop(28, 0, 2)),
               _call(500, GETPID), _ret(500, GETPID, 500)]
    trace.write_bytes(file_header() + formats.batch_framing().encode(encode_entries(entries)))
    done = subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o", str(tmp_path / "out"),
                           str(trace)], capture_output=True, text=True, timeout=60)
    # nothing on standard output: the loss is said on standard error (and in the file)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", (
        f"ktrdump: 2 records lost (1 DROP: ENOSPC 2); the files {tmp_path / 'out'}.TID "
        "say where\n"))
    # The DROP came while the read was open (500's file begun): its line first, as a
    # call's line is written whole when it ends.
    assert (tmp_path / "out.500").read_text().splitlines()[:2] == [
        f"{_at(1)} --- ktr: 2 records lost (ENOSPC: queue full, the writer fell behind) ---",
        f"{_at(0)} read(3,  <unfinished ...>) = ?"]
