"""``ktrdump -l`` ends when the recorder of the recording it follows died without END.

Real recorders killed with SIGKILL (the cut is seen through ``/proc``), and crafted
files whose BEGIN names a live process that cannot be the recorder (started after
the BEGIN: a reused pid) or a host that is not this one (nothing can be known: the
follower keeps waiting, as before).
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from ktrdump_support import HEADER, encode_entries, output_lines, syscall_batch

import formats
import ktrdump
from formats import RecordKind
from ktrdump import _follow
from ktrdump._follow import FollowOptions, follow
from ktrdump._reader import NO_END_RECORDER_GONE

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
DEADLINE = 10.0
#: How long following may take to end once its recorder is gone (a poll interval is
#: 25 ms; generous for a loaded 2-CPU machine).
ENDS_WITHIN = 5.0


def _record(path: Path) -> subprocess.Popen[bytes]:
    # A wake delay of a minute: nothing but the BEGIN (written at once) reaches the file
    # before the recording ends or is killed; the command waits for a line on stdin.
    return subprocess.Popen([KTR, "record", "-q", "-t", "p", "--wake-delay", "60000",
                             "-o", str(path), "--", "sh", "-c", "read line; exit 0"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _follow_cli(path: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([KTRDUMP, "-l", "-t", "p", str(path)], bufsize=0,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _await_file(path: Path, recorder: subprocess.Popen[bytes]) -> None:
    """Until the recorder has created the file with its header (the follower needs it)."""
    deadline = time.monotonic() + DEADLINE
    while not (path.exists() and path.stat().st_size > 0):
        assert recorder.poll() is None, recorder.stderr.read() if recorder.stderr else ""
        assert time.monotonic() < deadline, "the recorder never created its file"
        time.sleep(0.005)


def _reap(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.kill()
        if process is not None:
            process.wait()


def test_following_ends_with_the_cut_short_notice_when_the_recorder_is_killed(
        tmp_path: Path) -> None:
    trace = tmp_path / "killed.ktr"
    recorder = _record(trace)
    follower = None
    try:
        _await_file(trace, recorder)
        follower = _follow_cli(trace)
        lines = output_lines(follower, DEADLINE)
        first = next(lines)
        assert " BEGIN " in first and f"(recorder pid {recorder.pid})" in first
        assert follower.poll() is None
        recorder.kill()
        recorder.wait()  # reaped: its pid is gone from /proc
        killed_at = time.monotonic()
        assert follower.wait(ENDS_WITHIN) == 1
        assert time.monotonic() - killed_at < ENDS_WITHIN
        assert follower.stderr is not None
        stderr = follower.stderr.read().decode()
        size = trace.stat().st_size
        # It found the recorder dead: it says so, not "still being written".
        assert stderr == (f"ktrdump: {trace}: no END record at byte offset {size} (end of "
                          "input), and the recorder is gone (no longer running): the "
                          "recording was cut short (ktr record was killed, or its output "
                          "failed) and records it had not written are missing\n")
        # The same status as reading the file without -l, which cannot tell whether
        # the recorder still runs.
        plain = subprocess.run([KTRDUMP, "-t", "p", str(trace)], capture_output=True,
                               timeout=DEADLINE)
        assert plain.returncode == 1 and plain.stderr.decode() == (
            f"ktrdump: {trace}: no END record at byte offset {size} (end of input): the "
            "recording is still being written, or it was cut short (ktr record was killed, "
            "or its output failed) and records it had not written are missing\n")
    finally:
        if recorder.stdin is not None:
            recorder.stdin.close()
        _reap(recorder, follower)


def test_a_killed_recorder_not_yet_reaped_counts_as_gone(tmp_path: Path) -> None:
    """A zombie (its parent has not waited for it) wrote its last byte too."""
    trace = tmp_path / "zombie.ktr"
    recorder = _record(trace)
    follower = None
    try:
        _await_file(trace, recorder)
        follower = _follow_cli(trace)
        assert " BEGIN " in next(output_lines(follower, DEADLINE))
        os.kill(recorder.pid, 9)  # not reaped until the end of the test
        assert follower.wait(ENDS_WITHIN) == 1
        assert follower.stderr is not None
        assert b"no END record at byte offset" in (stderr := follower.stderr.read())
        assert b"the recorder is gone" in stderr
        assert _state(recorder.pid) == "Z"  # it was a zombie all along
    finally:
        if recorder.stdin is not None:
            recorder.stdin.close()
        _reap(recorder, follower)


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        data = stat.read()
    return data[data.rfind(b")") + 2:].split()[0].decode()


def test_a_live_recorder_keeps_following_until_its_end(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trace = tmp_path / "live.ktr"
    recorder = _record(trace)
    looked = threading.Semaphore(0)
    gone = _follow._RecorderWatch.gone

    def counted(self: _follow._RecorderWatch) -> bool:
        answer = gone(self)
        looked.release()
        return answer

    monkeypatch.setattr(_follow._RecorderWatch, "gone", counted)
    try:
        _await_file(trace, recorder)
        events: queue.Queue[object] = queue.Queue()
        follower = follow(trace, FollowOptions(poll_interval=0.01))

        def run() -> None:
            for event in follower.events():
                events.put(event)
            events.put(None)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        first = events.get(timeout=DEADLINE)
        assert isinstance(first, list) and first[0].kind == RecordKind.BEGIN
        for _ in range(3):  # the live recorder was looked at, and is still there
            assert looked.acquire(timeout=DEADLINE)
        assert thread.is_alive()
        assert events.empty()
        assert recorder.communicate(b"go\n", timeout=DEADLINE)[1] == b""
        assert recorder.returncode == 0
        rest = []
        while (event := events.get(timeout=DEADLINE)) is not None:
            rest.append(event)
        thread.join(DEADLINE)
        records = [record for event in rest if isinstance(event, list) for record in event]
        assert records[-1].kind == RecordKind.END
        assert not [event for event in rest if isinstance(event, ktrdump.Skipped)]
        follower.close()
    finally:
        if recorder.stdin is not None and not recorder.stdin.closed:
            recorder.stdin.close()
        _reap(recorder)


# -- crafted BEGINs --------------------------------------------------------------------

def _crafted(path: Path, hostname: str, recorder_pid: int, monotonic_ns: int,
             recorder: dict[str, object] | None = None) -> None:
    header = formats.FileHeader(**{**HEADER.__dict__, "hostname": hostname,
                                   "options": {"end_record": True, "begin_record": True}})
    options = b"{}" if recorder is None else json.dumps({"recorder": recorder}).encode()
    begin = formats.Begin(recorder_pid, 0, HEADER.realtime_ns, monotonic_ns, b"test", options)
    framing = formats.batch_framing()
    path.write_bytes(
        formats.encode_file_header(header)
        + framing.encode(encode_entries([(RecordKind.BEGIN, 0, 0, b"ktr", begin)]))
        + framing.encode(encode_entries(syscall_batch(3), first_ns=HEADER.realtime_ns + 10)))


def _start_ns(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as stat:
        data = stat.read()
    ticks = int(data[data.rfind(b")") + 2:].split()[19])
    return ticks * (1_000_000_000 // os.sysconf("SC_CLK_TCK"))


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a recorder."""
    process = subprocess.Popen(["sleep", "60"])
    yield process
    process.kill()
    process.wait()


def _events_until_idle(path: Path, idle_polls: int, raw: bool = False) -> list[object]:
    """Follow ``path``; stop after ``idle_polls`` idle looks at the file (a bound on a
    follower that would otherwise wait for ever), or when following ends by itself."""
    follower = follow(path, FollowOptions(poll_interval=0.01))
    polls = 0
    looked = _follow._WaitingFile._gone

    def counting(self: _follow._WaitingFile) -> str | None:
        nonlocal polls
        polls += 1
        if polls >= idle_polls:
            follower.stop()
        return looked(self)

    original = _follow._WaitingFile._gone
    _follow._WaitingFile._gone = counting  # type: ignore[method-assign]
    try:
        with follower:
            return list(follower.raw_events() if raw else follower.events())
    finally:
        _follow._WaitingFile._gone = original  # type: ignore[method-assign]


def _cut_short(events: list[object]) -> list[ktrdump.CutShort]:
    return [event for event in events if isinstance(event, ktrdump.CutShort)]


@pytest.mark.parametrize("raw", [False, True], ids=["events", "raw_events"])
def test_a_pid_reused_after_the_begin_is_not_the_recorder(
        tmp_path: Path, unrelated: subprocess.Popen[bytes], raw: bool) -> None:
    trace = tmp_path / "reused.ktr"
    began = _start_ns(unrelated.pid) - 10**9  # it started a second after this "BEGIN"
    _crafted(trace, os.uname().nodename, unrelated.pid, began)
    events = _events_until_idle(trace, idle_polls=500, raw=raw)  # ends long before
    notices = _cut_short(events)
    assert [n.reason for n in notices] == [NO_END_RECORDER_GONE]
    assert notices[0].offset == trace.stat().st_size


def test_a_live_process_started_before_the_begin_is_taken_as_the_recorder(
        tmp_path: Path, unrelated: subprocess.Popen[bytes]) -> None:
    trace = tmp_path / "alive.ktr"
    _crafted(trace, os.uname().nodename, unrelated.pid, time.monotonic_ns())
    events = _events_until_idle(trace, idle_polls=20)
    assert _cut_short(events) == []  # stopped by the bound, not ended
    assert sum(len(e) for e in events if isinstance(e, list)) == 4


@pytest.mark.parametrize("case", ["foreign host", "no pid", "reused pid, foreign host",
                                  "another boot"])
def test_following_waits_when_the_recorder_cannot_be_known(
        tmp_path: Path, unrelated: subprocess.Popen[bytes], case: str) -> None:
    trace = tmp_path / "unknown.ktr"
    nodename = os.uname().nodename
    dead_pid = unrelated.pid
    if case == "foreign host":
        unrelated.kill()
        unrelated.wait()  # the pid names no process, but on another machine
        _crafted(trace, nodename + "-elsewhere", dead_pid, time.monotonic_ns())
    elif case == "no pid":
        _crafted(trace, nodename, 0, time.monotonic_ns())
    elif case == "reused pid, foreign host":
        _crafted(trace, nodename + "-elsewhere", unrelated.pid,
                 _start_ns(unrelated.pid) - 10**9)
    else:  # monotonic time this boot has not reached: an earlier boot's recording
        unrelated.kill()
        unrelated.wait()
        _crafted(trace, nodename, dead_pid, time.monotonic_ns() + 10**15)
    events = _events_until_idle(trace, idle_polls=20)
    assert _cut_short(events) == []
    assert sum(len(e) for e in events if isinstance(e, list)) == 4


def _here() -> dict[str, object]:
    """This process's pid namespace and boot, as ``ktr record`` writes them."""
    with open("/proc/sys/kernel/random/boot_id") as boot:
        return {"pid_namespace": os.stat("/proc/self/ns/pid").st_ino,
                "boot_id": boot.read().strip()}


def test_a_recording_of_this_namespace_and_boot_is_judged_whatever_the_host_name(
        tmp_path: Path, unrelated: subprocess.Popen[bytes]) -> None:
    unrelated.kill()
    unrelated.wait()  # its pid names no process now
    trace = tmp_path / "here.ktr"
    _crafted(trace, os.uname().nodename + "-renamed", unrelated.pid, time.monotonic_ns(),
             _here())
    events = _events_until_idle(trace, idle_polls=500)  # ends long before
    assert [n.reason for n in _cut_short(events)] == [NO_END_RECORDER_GONE]


@pytest.mark.parametrize("other", ["pid_namespace", "boot_id"])
def test_a_recorder_of_another_container_with_the_same_host_name_is_not_judged(
        tmp_path: Path, unrelated: subprocess.Popen[bytes], other: str) -> None:
    """Its pid names no process here, which says nothing: following waits."""
    unrelated.kill()
    unrelated.wait()
    identity = _here()
    identity[other] = (int(str(identity[other])) + 1 if other == "pid_namespace"
                       else "00000000-0000-0000-0000-000000000000")
    trace = tmp_path / "elsewhere.ktr"
    _crafted(trace, os.uname().nodename, unrelated.pid, time.monotonic_ns(), identity)
    events = _events_until_idle(trace, idle_polls=20)
    assert _cut_short(events) == []  # stopped by the bound, not ended
    assert sum(len(e) for e in events if isinstance(e, list)) == 4


def test_ktr_record_names_its_pid_namespace_and_boot(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "true"], check=True,
                   timeout=60)
    with ktrdump.open(trace) as reader:
        assert reader.header.options["recorder"] == _here()
        begin = next(iter(reader)).payload
    assert isinstance(begin, formats.Begin)
    assert json.loads(begin.options)["recorder"] == _here()
