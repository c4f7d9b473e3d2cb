"""Merged inputs (``ktrdump a.ktr b.ktr``) and the call layer's state: a BEGIN of one
input (an appended recording) ends what that input's earlier recording left (open
calls, fd tables, -y names), and nothing of the other inputs'."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import END_ENTRY, HEADER, Entry, encode_entries, file_header

import formats
from formats import Namei, Proc, ProcEvent, RecordKind, Syscall, Sysret

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
T0 = 10**18
OPENAT, READ = 257, 0
O_RDONLY = 0


def _begin(pid: int) -> Entry:
    return (RecordKind.BEGIN, 0, 0, b"ktr",
            formats.Begin(pid, 0, 1, 2, b"v", b'{"command": ["x"]}'))


def _open(pid: int, path: bytes, fd: int) -> list[Entry]:
    return [(RecordKind.SYSCALL, pid, pid, b"p",
             Syscall(OPENAT, 1, 0, ((1 << 64) - 100, 0x7FFD1000, O_RDONLY, 0, 0, 0))),
            (RecordKind.NAMEI, pid, pid, b"p", Namei(path)),
            (RecordKind.SYSRET, pid, pid, b"p", Sysret(OPENAT, 1, 0, 0, fd, 1000))]


def _read_call(pid: int, fd: int) -> Entry:
    return (RecordKind.SYSCALL, pid, pid, b"p", Syscall(READ, 1, 0, (fd, 0x2000, 64, 0, 0, 0)))


def _read_ret(pid: int) -> Entry:
    return (RecordKind.SYSRET, pid, pid, b"p", Sysret(READ, 1, 0, 0, 0, 800))


def _fork(parent: int, child: int) -> Entry:
    return (RecordKind.PROC, parent, parent, b"p", Proc(int(ProcEvent.FORK), 0, child, 0, 0, b""))


def _trace(path: Path, batches: list[tuple[int, list[Entry]]]) -> Path:
    """A file of ``(start_ns, entries)`` batches, records 1 us apart within a batch."""
    framing = formats.batch_framing()
    data = bytearray(file_header(end_record=True))
    for start, entries in batches:
        data += framing.encode(encode_entries(entries, first_ns=start))
    path.write_bytes(bytes(data))
    return path


def _run(*arguments: str) -> tuple[list[str], str]:
    """The strace view's read lines (-y), and standard error."""
    done = subprocess.run([KTRDUMP, "--format", "strace", "-y", *arguments],
                          capture_output=True, text=True, timeout=20)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if " read(" in line or "resumed>" in line]
    return lines, done.stderr


def _strace(*arguments: str) -> list[str]:
    lines, stderr = _run(*arguments)
    assert stderr == ""
    return lines


def _other(tmp_path: Path, pid: int = 300) -> Path:
    """A second input, recorded at the same time, that interleaves with the first."""
    return _trace(tmp_path / "other.ktr", [
        (T0 + 500_000, [_begin(pid), *_open(pid, b"/other", 5)]),
        (T0 + 2_500_000, [_read_call(pid, 5), _read_ret(pid), END_ENTRY])])


def test_a_child_forked_in_an_earlier_recording_keeps_no_fd_names(tmp_path: Path) -> None:
    """An appended file: the first recording's process 100 opened fd 3 and forked 200
    (which showed no record of its own); the second recording's process 200 (pid
    reuse, or the same child attached) reads fd 3: -y knows nothing of it there."""
    appended = _trace(tmp_path / "appended.ktr", [
        (T0, [_begin(100), *_open(100, b"/first/recording", 3), _fork(100, 200), END_ENTRY]),
        (T0 + 2_000_000, [_begin(200), _read_call(200, 3), _read_ret(200), END_ENTRY])])
    alone = _strace(str(appended))
    assert len(alone) == 1 and " read(3, " in alone[0]
    merged = _strace(str(appended), str(_other(tmp_path)))
    assert [line.split()[0] for line in merged] == ["200", "300"]
    assert " read(3, " in merged[0]  # not 3</first/recording>: another recording's
    assert " read(5</other>, " in merged[1]


def test_a_begin_leaves_another_input_with_the_same_pid_alone(tmp_path: Path) -> None:
    """Two inputs with pid 100 (other boots, or pid reuse): the BEGIN of the first's
    appended recording ends the first's pid 100, not the second's, whose call open
    across it returns whole and whose fd keeps its name."""
    appended = _trace(tmp_path / "appended.ktr", [
        (T0, [_begin(100), *_open(100, b"/first/recording", 3), END_ENTRY]),
        (T0 + 2_000_000, [_begin(100), END_ENTRY])])
    other = _trace(tmp_path / "other.ktr", [
        (T0 + 1_000_000, [_begin(100), *_open(100, b"/other", 4), _read_call(100, 4)]),
        (T0 + 3_000_000, [_read_ret(100), _read_call(100, 4), _read_ret(100), END_ENTRY])])
    alone = _strace(str(other))
    merged, stderr = _run(str(appended), str(other))
    assert merged == alone
    assert len(merged) == 2 and all(" read(4</other>, " in line and " = 0" in line
                                     for line in merged)
    # Their pid 100s are not told apart otherwise (fds, open calls): said once.
    assert stderr == (f"ktrdump: {appended} and {other} both show pid 100, not known to be "
                      "one boot's and pid namespace's: the views do not tell their processes "
                      "apart (calls, -y names, per-thread files); dump the inputs one at a "
                      "time\n")


def _recorded_on(boot: str, namespace: int) -> bytes:
    options = {**HEADER.options, "end_record": True,
               "recorder": {"boot_id": boot, "pid_namespace": namespace}}
    return formats.encode_file_header(dataclasses.replace(HEADER, options=options))


@pytest.mark.parametrize("same", [True, False])
def test_inputs_of_one_boot_share_a_pid_without_a_warning(tmp_path: Path, same: bool) -> None:
    """Recordings of one boot and pid namespace (a ptrace and a perf recording of one
    process, say) show one process under a pid: no warning. Another boot: one."""
    framing = formats.batch_framing()
    paths = []
    for name, boot, start in (("a", "boot-1", T0), ("b", "boot-1" if same else "boot-2",
                                                    T0 + 500_000)):
        path = tmp_path / f"{name}.ktr"
        path.write_bytes(_recorded_on(boot, 4026531836) + framing.encode(encode_entries(
            [_begin(100), *_open(100, name.encode(), 3), END_ENTRY], first_ns=start)))
        paths.append(str(path))
    _, stderr = _run(*paths)
    assert ("both show pid 100" in stderr) is not same
