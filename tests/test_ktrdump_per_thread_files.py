"""``ktrdump --format strace -ff -o PREFIX``: where records lost (DROP) are said, and
that a per-thread file reopened (more threads than ``MAX_OPEN_FILES``) gets the
same safety checks as its first open."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import START_NS, Entry, encode_entries, file_header

import formats
from formats import Proc, ProcEvent, RecordKind, Syscall, Sysret
from ktrdump import _strace_files
from ktrdump._strace_files import _ThreadFiles
from ktrdump.errors import OutputError

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
GETPID = 39


def _call(tid: int) -> list[Entry]:
    return [(RecordKind.SYSCALL, tid, tid, b"t", Syscall(GETPID, 1, 0, (0,) * 6)),
            (RecordKind.SYSRET, tid, tid, b"t", Sysret(GETPID, 1, 0, 0, tid, 1000))]


def _drop(lost: int, error: int = 28) -> Entry:
    return (RecordKind.DROP, 0, 0, b"ktr", formats.Drop(error, 0, lost))


def _clone(parent: int, child: int) -> Entry:
    return (RecordKind.PROC, parent, parent, b"t",
            Proc(int(ProcEvent.CLONE), 1, child, 0, 0, b""))


def _at(index: int) -> str:
    micro = (START_NS + index * 1000) // 1000
    return f"{micro // 1_000_000}.{micro % 1_000_000:06d}"


def _write(path: Path, entries: list[Entry]) -> Path:
    path.write_bytes(file_header() + formats.batch_framing().encode(encode_entries(entries)))
    return path


def _ff(tmp_path: Path, trace: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-ttt", "-o",
                           str(tmp_path / "out"), str(trace)], capture_output=True, text=True,
                          timeout=20)


def _lines(tmp_path: Path, tid: int) -> list[str]:
    return (tmp_path / f"out.{tid}").read_text().splitlines()


def test_every_drop_reaches_a_file_of_each_thread_it_may_concern(tmp_path: Path) -> None:
    """A DROP names no thread (pid 0, tid 0): its records may be any thread's, so it is
    written into the file of every thread seen so far, and a thread first seen after
    it (whose first records may be among those lost) has its file begin with what
    was lost before it; not a thread the trace saw born after the DROP."""
    entries = [_drop(3),             # 0: before any thread
               *_call(500),          # 1, 2
               _drop(4, 12),         # 3: 500's file is open
               *_call(501),          # 4, 5: first seen after both DROPs
               _clone(500, 502),     # 6: 502 born after every DROP
               *_call(502),          # 7, 8
               _drop(1),             # 9: every file so far
               *_call(503)]          # 10, 11: after the three
    done = _ff(tmp_path, _write(tmp_path / "t.ktr", entries))
    assert done.returncode == 0 and done.stdout == ""
    lost_500 = [line for line in _lines(tmp_path, 500) if "--- ktr:" in line]
    assert lost_500 == [
        f"{_at(0)} --- ktr: 3 records lost before this thread's first line (ENOSPC: queue "
        "full, the writer fell behind) ---",
        f"{_at(3)} --- ktr: 4 records lost (ENOMEM: a record could not be built) ---",
        f"{_at(9)} --- ktr: 1 record lost (ENOSPC: queue full, the writer fell behind) ---"]
    assert _lines(tmp_path, 501)[0] == (
        f"{_at(3)} --- ktr: 7 records lost before this thread's first line "
        "(2 DROPs: ENOSPC 3, ENOMEM 4) ---")
    assert [line for line in _lines(tmp_path, 501) if "--- ktr:" in line][1:] == [
        f"{_at(9)} --- ktr: 1 record lost (ENOSPC: queue full, the writer fell behind) ---"]
    # born (clone) after the first two DROPs: only the third concerns it
    assert [line for line in _lines(tmp_path, 502) if "--- ktr:" in line] == [
        f"{_at(9)} --- ktr: 1 record lost (ENOSPC: queue full, the writer fell behind) ---"]
    assert _lines(tmp_path, 503)[0] == (
        f"{_at(9)} --- ktr: 8 records lost before this thread's first line "
        "(3 DROPs: ENOSPC 4, ENOMEM 4) ---")
    # standard output holds nothing: the total is said on standard error
    assert done.stderr == ("ktrdump: 8 records lost (3 DROPs: ENOSPC 4, ENOMEM 4); "
                           f"the files {tmp_path / 'out'}.TID say where\n")


def test_a_drop_no_thread_file_holds_is_said_on_stderr(tmp_path: Path) -> None:
    """No thread's line in the whole trace (a -t w recording, or everything lost):
    no file is written, and standard error says what was lost."""
    done = _ff(tmp_path, _write(tmp_path / "t.ktr", [_drop(5), _drop(2, 105)]))
    assert done.returncode == 0 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "ktrdump: 7 records lost (2 DROPs: ENOSPC 5, ENOBUFS 2); in no thread's file "
        "(they came before every thread shown)"]
    assert list(tmp_path.glob("out.*")) == []


def test_drops_before_every_thread_shown_are_said_on_stderr(tmp_path: Path) -> None:
    """A DROP before any thread's line, whose threads were all born after it (their
    births in the trace), is in no file: standard error says how much of the total."""
    entries = [_drop(2),           # 0: no file, and 502 is born after it
               _clone(500, 502),   # 1: no line of its own in the strace view
               *_call(502),        # 2, 3
               _drop(1, 105)]      # 4: into 502's file
    done = _ff(tmp_path, _write(tmp_path / "t.ktr", entries))
    assert done.returncode == 0 and done.stdout == ""
    assert [line for line in _lines(tmp_path, 502) if "--- ktr:" in line] == [
        f"{_at(4)} --- ktr: 1 record lost (ENOBUFS: a kernel perf ring was full) ---"]
    assert done.stderr.splitlines() == [
        "ktrdump: 3 records lost (2 DROPs: ENOSPC 2, ENOBUFS 1); 2 of them (1 DROP) in no "
        "thread's file (they came before every thread shown), the others in the files "
        f"{tmp_path / 'out'}.TID"]
    assert sorted(path.name for path in tmp_path.glob("out.*")) == ["out.502"]


def test_a_trace_without_drops_says_nothing_on_stderr(tmp_path: Path) -> None:
    done = _ff(tmp_path, _write(tmp_path / "t.ktr", [*_call(500), *_call(501)]))
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


# -- reopening a file (more threads than MAX_OPEN_FILES) ---------------------------


@pytest.fixture
def one_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """One file open at a time: every other thread's write closes and reopens."""
    monkeypatch.setattr(_strace_files, "MAX_OPEN_FILES", 1)


def test_a_reopened_file_given_a_hard_link_is_refused(tmp_path: Path, one_open: None) -> None:
    files = _ThreadFiles(str(tmp_path / "out"), frozenset())
    try:
        files.write(1, "one\n")
        files.write(2, "two\n")  # closes out.1
        os.link(tmp_path / "out.1", tmp_path / "notes.txt")
        with pytest.raises(OutputError, match=r"out\.1: cannot write: it has 2 hard links"):
            files.write(1, "more\n")
    finally:
        files.close()
    assert (tmp_path / "notes.txt").read_text() == "one\n"


def test_a_reopened_file_replaced_by_a_symlink_is_refused(tmp_path: Path,
                                                          one_open: None) -> None:
    victim = tmp_path / "victim"
    victim.write_text("keep\n")
    files = _ThreadFiles(str(tmp_path / "out"), frozenset())
    try:
        files.write(1, "one\n")
        files.write(2, "two\n")
        os.unlink(tmp_path / "out.1")
        os.symlink(victim, tmp_path / "out.1")
        with pytest.raises(OutputError, match=r"out\.1: cannot write: it is a symlink"):
            files.write(1, "more\n")
    finally:
        files.close()
    assert victim.read_text() == "keep\n"


def test_a_reopened_file_replaced_by_another_is_refused(tmp_path: Path,
                                                        one_open: None) -> None:
    """Another file put under the name between opens (renamed over it): never appended
    to, whoever made it."""
    files = _ThreadFiles(str(tmp_path / "out"), frozenset())
    try:
        files.write(1, "one\n")
        files.write(2, "two\n")
        other = tmp_path / "other"
        other.write_text("someone else's\n")
        os.chmod(other, 0o600)
        os.rename(other, tmp_path / "out.1")
        with pytest.raises(OutputError, match=r"out\.1: cannot write: it was replaced"):
            files.write(1, "more\n")
    finally:
        files.close()
    assert (tmp_path / "out.1").read_text() == "someone else's\n"


def test_a_reopened_file_is_appended_to(tmp_path: Path, one_open: None) -> None:
    files = _ThreadFiles(str(tmp_path / "out"), frozenset())
    try:
        for tid in (1, 2, 1, 3, 2, 1):
            files.write(tid, f"{tid}\n")
    finally:
        files.close()
    assert [(tmp_path / f"out.{tid}").read_text() for tid in (1, 2, 3)] == [
        "1\n1\n1\n", "2\n2\n", "3\n"]
    assert all((tmp_path / f"out.{tid}").stat().st_mode & 0o777 == 0o600 for tid in (1, 2, 3))


# -- a real recording that dropped records ------------------------------------------

#: 200 processes, then "done" into fd {fd} (through /proc: dash redirects only fds
#: 0-9): the test reads the trace only after that, so the recorder's writer is stuck
#: on a full pipe and its queue drops records.
WORKLOAD = ("i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; "
            "echo done > /proc/self/fd/{fd}")


def test_a_recording_that_dropped_records_says_them_all(tmp_path: Path) -> None:
    """ktr record whose writer was stuck (its output pipe full, not read until the
    workload ended) drops records: every thread file begun before a DROP holds its
    line, every thread first shown after one begins with what was lost before it
    (unless the trace shows it born after the last DROP), and standard error's total
    is the DROPs' sum."""
    import select

    import ktrdump

    done_read, done_write = os.pipe()
    try:
        recorder = subprocess.Popen(
            [str(Path(sys.executable).parent / "ktr"), "record", "-q", "-i", "--queue-max", "1000",
             "--timeout", "0.001", "-o", "-", "--", "sh", "-c", WORKLOAD.format(fd=done_write)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(done_write,))
        os.close(done_write)
        ready, _, _ = select.select([done_read], [], [], 30)
        assert ready and os.read(done_read, 16) == b"done\n"
    finally:
        os.close(done_read)
    assert recorder.stdout is not None
    trace = tmp_path / "t.ktr"
    trace.write_bytes(recorder.stdout.read())
    assert recorder.wait(timeout=30) == 0
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
    drops = [r for r in records if r.kind == RecordKind.DROP]
    assert drops, "the recorder dropped nothing: the test did not test"
    last_drop = max(r.timestamp_ns for r in drops)
    born_after = {r.payload.child for r in records  # type: ignore[union-attr]
                  if r.kind == RecordKind.PROC and r.timestamp_ns > last_drop
                  and r.payload.event in (ProcEvent.FORK, ProcEvent.VFORK,  # type: ignore
                                          ProcEvent.CLONE)}
    done = _ff(tmp_path, trace)
    assert done.returncode == 0 and done.stdout == ""
    lost = sum(r.payload.lost for r in drops)  # type: ignore[union-attr]
    assert done.stderr.startswith(f"ktrdump: {lost} records lost ("), done.stderr
    assert done.stderr.endswith(f"; the files {tmp_path / 'out'}.TID say where\n")
    files = {int(path.name.split(".")[1]): path.read_text().splitlines()
             for path in tmp_path.glob("out.*")}
    assert len(files) > 1
    stamp = {f"{r.timestamp_ns // 10**9}.{r.timestamp_ns // 1000 % 10**6:06d}" for r in drops}
    for tid, lines in files.items():
        first_ns = float(lines[0].split()[0])
        said = [line for line in lines if "--- ktr:" in line]
        if "before this thread's first line" in lines[0]:
            continue  # first shown after DROPs: what was lost before it is said first
        if first_ns * 1e9 < drops[0].timestamp_ns - 1e3:
            # begun before the first DROP: each DROP's own line
            assert {line.split()[0] for line in said} == stamp, tid
        else:
            assert tid in born_after, tid  # no line for it: born after the last DROP


@pytest.mark.parametrize("hazard", ["symlink", "directory", "another user's"])
def test_an_unwritable_thread_file_is_refused_before_any_is_written(tmp_path: Path,
                                                                   hazard: str) -> None:
    # Each thread's file is opened when its thread appears: a symlink named PREFIX.TID
    # for a later thread was refused after the earlier threads' files were rewritten.
    if hazard == "another user's" and os.geteuid() != 0:
        pytest.skip("chown to another user needs root")
    trace = _write(tmp_path / "t.ktr", [*_call(1), _clone(1, 2), *_call(2), *_call(1)])
    earlier = tmp_path / "out.1"
    earlier.write_text("the earlier run's\n")
    later = tmp_path / "out.2"
    victim = tmp_path / "victim"
    victim.write_text("kept\n")
    if hazard == "symlink":
        later.symlink_to(victim)
        reason = "it is a symlink"
    elif hazard == "directory":
        later.mkdir()
        reason = "not a regular file"
    else:
        later.write_text("theirs\n")
        os.chown(later, 65534, 65534)
        reason = "it belongs to another user (uid 65534)"
    done = _ff(tmp_path, trace)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [f"ktrdump: {later}: cannot write: {reason}"]
    assert earlier.read_text() == "the earlier run's\n"  # nothing written
    assert victim.read_text() == "kept\n"
