"""``ktrdump -l`` on a finished trace whose header or batch length was damaged upwards.

The header (or batch) then claims bytes the file will never have. Following must end
as the recording did (its END read, or its recorder gone), with the same damage
report, status and ``--salvage`` output as reading the file without ``-l``.
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from ktrdump_support import END_ENTRY, encode_entries, file_header, syscall_batch

import formats
import ktrdump
from ktrdump import _follow
from ktrdump._follow import FollowOptions, follow
from ktrdump._reader import RawBatch

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
#: Following ends within one poll interval (25 ms) of knowing; generous for a loaded machine.
ENDS_WITHIN = 10.0
#: The header's ``body_length`` field (SPEC: the prefix's last four bytes).
LENGTH_AT = formats.HEADER_PREFIX_SIZE - 4


def _run(*args: str) -> tuple[int, str, str]:
    """``ktrdump ARGS``: status, stdout, stderr; a follower that waits for ever fails."""
    process = subprocess.Popen([KTRDUMP, *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        out, err = process.communicate(timeout=ENDS_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        pytest.fail(f"ktrdump {' '.join(args)} was still waiting after {ENDS_WITHIN} s")
    return process.returncode, out.decode(), err.decode()


#: How a follower that found the recorder gone words the end, and how a plain read does.
_FOLLOWED_CUT = ("(end of input), and the recorder is gone (no longer running): the "
                 "recording was cut short")
_PLAIN_CUT = ("(end of input): the recording is still being written, or it was cut short")


def _same_with_and_without_follow(trace: Path, *options: str) -> tuple[int, str, str]:
    """The same status and output, but for the cut-short line's cause: only a
    follower knows the recorder is gone."""
    plain = _run(*options, str(trace))
    status, out, err = _run("-l", *options, str(trace))
    assert (status, out.replace(_FOLLOWED_CUT, _PLAIN_CUT),
            err.replace(_FOLLOWED_CUT, _PLAIN_CUT)) == plain
    return plain


def _header_length_up(data: bytes, by: int) -> bytes:
    (length,) = struct.unpack_from("<I", data, LENGTH_AT)
    damaged = bytearray(data)
    struct.pack_into("<I", damaged, LENGTH_AT, length + by)
    return bytes(damaged)


def _crafted(with_end: bool = True) -> bytes:
    """A finished recording without a BEGIN (its recorder cannot be watched): only its
    END says it is over."""
    framing = formats.batch_framing()
    end = framing.encode(encode_entries([END_ENTRY], first_ns=2 * 10**18))
    return (file_header(end_record=True) + framing.encode(encode_entries(syscall_batch(3)))
            + (end if with_end else b""))


def test_a_finished_file_whose_header_length_grew_is_reported_not_waited_for(
        tmp_path: Path) -> None:
    trace = tmp_path / "header.ktr"
    trace.write_bytes(_header_length_up(_crafted(), 5000))
    size = trace.stat().st_size
    status, out, err = _same_with_and_without_follow(trace)
    assert status == 1 and out == ""
    claimed = len(file_header(end_record=True)) + 5000  # the header, grown
    assert err == (f"ktrdump: {trace}: file ends inside its header (its length field, bytes "
                   f"{LENGTH_AT} to {LENGTH_AT + 3}, says the header is {claimed} bytes: "
                   f"damaged, or the file was cut short) at byte offset {size} "
                   "(ktrdump --salvage reads the batches after it)\n")
    status, out, err = _same_with_and_without_follow(trace, "--salvage")
    assert "--salvage reads the batches from byte offset" in err
    assert out.splitlines()[-1].split()[2] == "END"


def test_a_header_that_grew_is_waited_for_while_the_recording_has_no_end(
        tmp_path: Path) -> None:
    """Not over yet (no END, no recorder known): the header's bytes may still come."""
    trace = tmp_path / "unfinished.ktr"
    trace.write_bytes(_header_length_up(_crafted(with_end=False), 5000))
    with follow(trace, FollowOptions(poll_interval=0.01)) as follower:
        stream = follower.stream
        assert isinstance(stream, _follow._WaitingFile)
        assert not stream._recording_over()
        end = formats.batch_framing().encode(encode_entries([END_ENTRY],
                                                            first_ns=2 * 10**18))
        with open(trace, "ab") as out:
            out.write(end)
        assert stream._recording_over()
        errors: list[BaseException] = []

        def run() -> None:
            try:
                list(follower.events())
            except BaseException as error:  # handed to the test
                errors.append(error)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(ENDS_WITHIN)
        if thread.is_alive():
            follower.stop()
            thread.join(ENDS_WITHIN)
            pytest.fail("following waited for header bytes after the END")
        assert len(errors) == 1 and isinstance(errors[0], ktrdump.TraceFormatError)
        assert "file ends inside its header" in str(errors[0])


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real recording (BEGIN naming its recorder, which has exited; END last)."""
    path = tmp_path_factory.mktemp("real") / "true.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(path), "--", "true"], check=True,
                   timeout=60)
    return path.read_bytes()


def _last_batch_offset(data: bytes) -> int:
    with ktrdump.open(io.BytesIO(data)) as reader:
        offsets = [event.offset for event in reader.raw_events()
                   if isinstance(event, RawBatch)]
    return offsets[-1]


def test_a_real_recording_whose_header_length_grew(tmp_path: Path,
                                                    recording: bytes) -> None:
    trace = tmp_path / "header.ktr"
    trace.write_bytes(_header_length_up(recording, 4 * len(recording)))
    status, _, err = _same_with_and_without_follow(trace)
    assert status == 1 and "file ends inside its header" in err
    status, out, _ = _same_with_and_without_follow(trace, "--salvage")
    assert out.splitlines()[-1].split()[2] == "END"


@pytest.mark.parametrize("header_checksum", ["damaged", "recomputed"])
def test_a_real_recording_whose_last_batch_length_grew(
        tmp_path: Path, recording: bytes, header_checksum: str) -> None:
    """The END's batch claims more than the file holds: following cannot know the END
    is there, so the recorder (gone) says the recording is over; reported as without -l."""
    at = _last_batch_offset(recording)
    framing = formats.batch_framing()
    damaged = bytearray(recording)
    fields = list(framing.struct.unpack_from(damaged, at))
    fields[3] += 4 * len(recording)  # stored_length
    if header_checksum == "recomputed":  # a claim no checksum contradicts: a torn tail
        fields[4] = fields[3] if not fields[1] & formats.BATCH_FLAG_ZSTD else fields[4]
        head = framing.struct.pack(*fields)
        fields[-1] = zlib.crc32(head[:framing.size - 4])
    framing.struct.pack_into(damaged, at, *fields)
    trace = tmp_path / "batch.ktr"
    trace.write_bytes(bytes(damaged))
    status, _, err = _same_with_and_without_follow(trace)
    assert status == 1
    assert f"at byte offset {at}" in err  # the damaged batch, as without -l
    assert _same_with_and_without_follow(trace, "--salvage")[0] == 1


def test_a_header_that_grew_in_a_recording_whose_recorder_is_gone(tmp_path: Path) -> None:
    """No END (the recorder was killed), but the BEGIN names a recorder of this pid
    namespace and boot that is gone: following ends as for an intact header."""
    gone = subprocess.Popen(["true"])
    gone.wait()  # reaped: its pid names no process (nor, this soon, a reused one)
    recorder = {"pid_namespace": _follow._pid_namespace(), "boot_id": _follow._boot_id()}
    begin = formats.Begin(gone.pid, 0, 1, time.monotonic_ns(), b"test",
                          json.dumps({"recorder": recorder}).encode())
    framing = formats.batch_framing()
    data = (file_header(end_record=True)
            + framing.encode(encode_entries([(formats.RecordKind.BEGIN, 0, 0, b"ktr", begin)]))
            + framing.encode(encode_entries(syscall_batch(3), first_ns=2 * 10**18)))
    trace = tmp_path / "killed.ktr"
    trace.write_bytes(_header_length_up(data, 5000))
    status, _, err = _same_with_and_without_follow(trace)
    assert status == 1 and "file ends inside its header" in err
    status, out, err = _same_with_and_without_follow(trace, "--salvage")
    assert " BEGIN " in out and "no END record" in err
