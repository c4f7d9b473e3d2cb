"""The file header's CRC-32 (format 1.1): one flipped bit anywhere in the header of a
real recording is refused in one line with the checksum's byte offset, exit status 1,
in every view (and by ``ktr record -a``); a minor-0 header, which has none, is still
read. The properties over generated headers are in ``test_reader_properties``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from ktrdump_support import START_NS, build_trace, syscall_batch

import formats

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
REALTIME_OFFSET = formats.HEADER_PREFIX_SIZE + 6  # bit 52 of realtime_ns: 52 days

VIEWS = [[], ["--json"], ["--format", "strace"], ["--format", "chrome"],
         ["--format", "calls"], ["--format", "folded"], ["--summary"], ["-l"]]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("header") / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(out), "--", "true"], check=True, timeout=20)
    return out.read_bytes()


def _header_size(data: bytes) -> int:
    return formats.parse_file_header(data)[1]


def test_a_recording_has_a_sealed_header(recorded: bytes) -> None:
    size = _header_size(recorded)
    header, _ = formats.parse_file_header(recorded)
    assert header.minor == formats.FORMAT_MINOR >= 1
    assert zlib.crc32(recorded[:size - 4]) == int.from_bytes(recorded[size - 4:size], "little")


@pytest.mark.parametrize("view", VIEWS, ids=lambda view: " ".join(view) or "text")
def test_a_flipped_realtime_bit_is_refused_in_every_view(
        recorded: bytes, tmp_path: Path, view: list[str]) -> None:
    damaged = bytearray(recorded)
    damaged[REALTIME_OFFSET] ^= 0x10
    path = tmp_path / "hf.ktr"
    path.write_bytes(damaged)
    at = _header_size(recorded) - 4
    hint = " (ktrdump --salvage reads the batches after it)"
    done = subprocess.run([KTRDUMP, *view, str(path)], capture_output=True, text=True,
                          timeout=20)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (f"ktrdump: {path}: damaged file header (checksum mismatch over "
                           f"bytes 0 to {at - 1}) at byte offset {at}{hint}\n")
    # --salvage: every record of the recording, after the in-band notice (the real
    # recorder's trace: BEGIN, the calls, END).
    salvaged = subprocess.run([KTRDUMP, "--salvage", "--json", str(path)], capture_output=True,
                              text=True, timeout=20)
    if view == ["--json"]:
        intact = tmp_path / "intact.ktr"
        intact.write_bytes(recorded)
        whole = subprocess.run([KTRDUMP, "--json", str(intact)], capture_output=True,
                               text=True, timeout=20, check=True).stdout.splitlines()
        lines = salvaged.stdout.splitlines()
        assert salvaged.returncode == 1
        assert json.loads(lines[0])["type"] == "SKIP" and "unknown" in lines[0]
        assert lines[1:] == whole
        # Its time: the first record's (the header's start time is unknown), not 1970.
        assert json.loads(lines[0])["ts"] == json.loads(lines[1])["ts"]
        strace = subprocess.run([KTRDUMP, "--salvage", "--format", "strace", "-ttt",
                                 str(path)], capture_output=True, text=True, timeout=20)
        first = strace.stdout.splitlines()[0]
        ts = json.loads(lines[1])["ts"]
        assert first.split()[1] == f"{ts // 10**9}.{ts % 10**9 // 1000:06d}"
        assert "--- ktr: damaged file header" in first


def test_a_flip_in_the_options_json_is_refused(recorded: bytes, tmp_path: Path) -> None:
    damaged = bytearray(recorded)
    # "facilities" -> "gacilities": still a JSON object of the same length, which
    # only the checksum can tell from the one recorded
    damaged[recorded.index(b'"facilities"', 0, _header_size(recorded)) + 1] ^= 0x01
    path = tmp_path / "opt.ktr"
    path.write_bytes(damaged)
    done = subprocess.run([KTRDUMP, "--json", str(path)], capture_output=True, text=True,
                          timeout=20)
    assert done.returncode == 1
    assert "damaged file header (checksum mismatch" in done.stderr
    assert len(done.stderr.splitlines()) == 1


def test_append_refuses_a_damaged_header(recorded: bytes, tmp_path: Path) -> None:
    damaged = bytearray(recorded)
    damaged[REALTIME_OFFSET] ^= 0x10
    path = tmp_path / "hf.ktr"
    path.write_bytes(damaged)
    done = subprocess.run([KTR, "record", "-q", "-a", "-o", str(path), "--", "true"],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode != 0
    assert "checksum mismatch" in done.stderr and len(done.stderr.splitlines()) == 1
    assert path.read_bytes() == damaged  # nothing appended


def test_a_minor_0_header_without_checksum_is_still_read(recorded: bytes,
                                                          tmp_path: Path) -> None:
    header, size = formats.parse_file_header(recorded)
    old = formats.encode_file_header(formats.FileHeader(
        header.hostname, header.kernel_release, header.machine, header.realtime_ns,
        header.monotonic_ns, header.ktr_version, header.options, minor=0))
    assert len(old) == size - 4  # the same header, unsealed
    path = tmp_path / "old.ktr"
    path.write_bytes(old + recorded[size:])
    done = subprocess.run([KTRDUMP, str(path)], capture_output=True, text=True, timeout=20)
    expected = subprocess.run([KTRDUMP, "-"], input=recorded, capture_output=True,
                              timeout=20)
    assert done.returncode == expected.returncode == 0, done.stderr
    assert done.stdout == expected.stdout.decode()
    assert formats.parse_file_header(old)[0].minor == 0


@pytest.mark.parametrize("how", ["pipe", "-l", "-l pipe"])
def test_salvage_reads_past_a_damaged_header_from_a_pipe_and_following(
        recorded: bytes, tmp_path: Path, how: str) -> None:
    """``cat t.ktr | ktrdump --salvage -`` and ``ktrdump --salvage -l`` show what
    ``ktrdump --salvage t.ktr`` shows (a pipe cannot be read again: nothing needs to be)."""
    damaged = bytearray(recorded)
    damaged[REALTIME_OFFSET] ^= 0x10
    path = tmp_path / "hf.ktr"
    path.write_bytes(damaged)
    expected = subprocess.run([KTRDUMP, "--salvage", "--json", str(path)], capture_output=True,
                              text=True, timeout=20)
    assert expected.returncode == 1 and '"SKIP"' in expected.stdout.splitlines()[0]
    follow = ["-l"] if "-l" in how else []
    if "pipe" in how:
        command = [KTRDUMP, "--salvage", "--json", *follow, "-"]
        done = subprocess.run(command, input=bytes(damaged), capture_output=True, timeout=20)
    else:
        command = [KTRDUMP, "--salvage", "--json", *follow, str(path)]
        done = subprocess.run(command, capture_output=True, timeout=20)
    assert done.returncode == 1, done.stderr
    assert done.stdout.decode() == expected.stdout
    name = "<stdin>" if "pipe" in how else str(path)
    assert done.stderr.decode() == expected.stderr.replace(str(path), name)


def _chrome(path: Path, *flags: str) -> dict[str, object]:
    done = subprocess.run([KTRDUMP, *flags, "--format", "chrome", str(path)],
                          capture_output=True, text=True, timeout=20)
    document: dict[str, object] = json.loads(done.stdout)
    return document


def test_a_salvaged_header_keeps_the_chrome_time_origin(recorded: bytes,
                                                        tmp_path: Path) -> None:
    """The damaged header's start time is not believed: ts 0 is the BEGIN record's
    realtime_ns (the recording's start, which the header held too), so every ts is
    the intact file's; otherData says where the origin came from and has null for
    what only the header knew, never 1970."""
    intact = tmp_path / "t.ktr"
    intact.write_bytes(recorded)
    damaged = bytearray(recorded)
    damaged[REALTIME_OFFSET] ^= 0x10
    path = tmp_path / "hf.ktr"
    path.write_bytes(damaged)
    whole, salvaged = _chrome(intact), _chrome(path, "--salvage")
    header = formats.parse_file_header(recorded)[0]
    other = salvaged["otherData"]
    assert isinstance(other, dict)
    assert other["origin_ns"] == header.realtime_ns and other["origin"] == "begin"
    assert other["recording_start_ns"] is None and other["hostname"] is None
    events = salvaged["traceEvents"]
    assert isinstance(events, list)
    assert events[0]["name"].startswith("file header damaged (--salvage)")
    assert events[1:] == whole["traceEvents"]


def test_a_salvaged_header_without_begin_starts_at_the_first_record(tmp_path: Path) -> None:
    """No BEGIN (an older recorder's trace): ts 0 is the first record's time, and
    otherData says so ("first_record")."""
    data, _ = build_trace([syscall_batch(6), syscall_batch(6)])
    damaged = bytearray(data)
    damaged[REALTIME_OFFSET] ^= 0x10
    path = tmp_path / "old.ktr"
    path.write_bytes(damaged)
    other = _chrome(path, "--salvage")["otherData"]
    assert isinstance(other, dict)
    assert (other["origin_ns"], other["origin"]) == (START_NS, "first_record")


def test_a_minor_flipped_to_0_is_refused_not_read_unchecked(recorded: bytes,
                                                             tmp_path: Path) -> None:
    """One flipped bit turns minor 1 into 0, which SPEC reads without a checksum: the
    header's checksum is still there after its options, where a genuine 1.0 header
    has nothing, so it is refused as damaged (offset 14, the minor) and --salvage
    reads past it; a genuine 1.0 header is still read (the test above)."""
    damaged = bytearray(recorded)
    assert damaged[14] == formats.FORMAT_MINOR == 1
    damaged[14] = 0
    path = tmp_path / "m0.ktr"
    path.write_bytes(damaged)
    done = subprocess.run([KTRDUMP, str(path)], capture_output=True, text=True, timeout=20)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr == (
        f"ktrdump: {path}: damaged file header (minor version 0, which has no checksum, but "
        "4 bytes follow its fields, as a later minor's checksum does) at byte offset 14 "
        "(ktrdump --salvage reads the batches after it)\n")
    salvaged = subprocess.run([KTRDUMP, "--salvage", str(path)], capture_output=True,
                              text=True, timeout=20)
    assert salvaged.returncode == 1 and "END   recording ended" in salvaged.stdout
