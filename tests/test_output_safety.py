"""Where ``ktr record -o`` may write: FreeBSD ktrace's rules, tried as attacks.

This machine has fs.protected_symlinks/regular/fifos = 0, so the kernel does not
protect a sticky /tmp: another user (uid 65534 here, switched to in a child)
plants symlinks, files and FIFOs, and root then runs ``ktr record -o`` there.
Each refusal must be one line naming the path and the reason, exit status 1,
with the victim left exactly as it was.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import formats
import ktr
import ktr.errors
import ktrdump

KTR = str(Path(sys.executable).parent / "ktr")
ATTACKER = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to plant as another user")


def ktr_record(*arguments: str, cwd: Path | None = None,
               timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([KTR, "record", "-q", *arguments, "--", "true"], capture_output=True,
                          timeout=timeout, cwd=cwd, check=False)


def as_attacker(action: Callable[[], None]) -> None:
    """Run ``action`` in a child with the attacker's uid and gid."""
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(ATTACKER, ATTACKER, ATTACKER)
            os.setresuid(ATTACKER, ATTACKER, ATTACKER)
            action()
        except BaseException:
            os._exit(1)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.fixture
def sticky() -> Iterator[Path]:
    """A world-writable sticky directory in /tmp (pytest's tmp_path is private to root)."""
    directory = Path(tempfile.mkdtemp(prefix="ktr-sticky-", dir="/tmp"))
    directory.chmod(0o1777)
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    """A root-owned file the attacker would like root to overwrite."""
    path = tmp_path / "victim"
    path.write_bytes(b"root's precious data\n")
    path.chmod(0o644)
    return path


def snapshot(path: Path) -> tuple[bytes, int, int, int]:
    status = path.lstat()
    return path.read_bytes(), status.st_mode, status.st_uid, status.st_mtime_ns


def assert_refused(done: subprocess.CompletedProcess[bytes], path: Path, reason: str) -> None:
    assert done.returncode == 1, done.stderr
    lines = done.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert str(path) in lines[0] or path.name in lines[0]
    assert reason in lines[0], lines[0]
    assert lines[0].startswith("ktr: refusing to ")


def test_symlink_to_a_root_file_is_refused(sticky: Path, victim: Path) -> None:
    link = sticky / "x.ktr"
    before = snapshot(victim)
    as_attacker(lambda: os.symlink(victim, link))
    done = ktr_record("-o", str(link))
    assert_refused(done, link, "symbolic link")
    assert snapshot(victim) == before
    done = ktr_record("-a", "-o", str(link))
    assert_refused(done, link, "symbolic link")
    assert snapshot(victim) == before


def test_dangling_symlink_creates_nothing(sticky: Path, tmp_path: Path) -> None:
    target = tmp_path / "chosen-by-attacker"
    link = sticky / "x.ktr"
    as_attacker(lambda: os.symlink(target, link))
    done = ktr_record("-o", str(link))
    assert_refused(done, link, "symbolic link")
    assert not target.exists()


def test_another_users_file_is_refused(sticky: Path) -> None:
    planted = sticky / "x.ktr"

    def plant() -> None:
        planted.write_bytes(b"the attacker reads this later\n")
        planted.chmod(0o666)

    as_attacker(plant)
    before = snapshot(planted)
    for extra in ((), ("-a",)):
        done = ktr_record(*extra, "-o", str(planted))
        assert_refused(done, planted, "owned by nobody (uid 65534), not by you")
        assert snapshot(planted) == before


def test_another_users_fifo_is_refused_without_blocking(sticky: Path) -> None:
    fifo = sticky / "x.ktr"
    as_attacker(lambda: os.mkfifo(fifo, 0o666))
    # Nobody reads the FIFO: opening it for writing would block forever.
    done = ktr_record("-o", str(fifo), timeout=10)
    assert_refused(done, fifo, "FIFO owned by nobody (uid 65534), neither you nor root")


def test_another_users_character_device_is_refused(sticky: Path) -> None:
    device = sticky / "x.ktr"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
    os.chown(device, ATTACKER, ATTACKER)
    done = ktr_record("-o", str(device))
    assert_refused(done, device, "character device owned by nobody")


def test_hard_link_to_a_root_file_is_refused(sticky: Path, victim: Path) -> None:
    # fs.protected_hardlinks stops the attacker here; a machine without it
    # would not. Root makes the link to stand for that attacker.
    link = sticky / "x.ktr"
    os.link(victim, link)
    before = snapshot(victim)
    done = ktr_record("-o", str(link))
    assert_refused(done, link, "2 hard links")
    assert snapshot(victim) == before


def test_default_output_must_be_a_regular_file(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "ktr.out", 0o600)
    done = ktr_record(cwd=tmp_path, timeout=10)
    assert_refused(done, tmp_path / "ktr.out", "name it with -o")


def test_named_outputs_that_keep_working(tmp_path: Path) -> None:
    assert ktr_record("-o", "/dev/null").returncode == 0
    piped = subprocess.run(f"'{KTR}' record -q -o - -- true | cat > '{tmp_path}/piped'",
                           shell=True, capture_output=True, timeout=20, check=False)
    assert piped.returncode == 0, piped.stderr
    assert (tmp_path / "piped").read_bytes().startswith(formats.FILE_MAGIC)
    # A FIFO the user made, named with -o, and read by a reader of theirs.
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    done = ktr_record("-o", str(fifo))
    data, _ = reader.communicate(timeout=20)
    assert done.returncode == 0, done.stderr
    assert data.startswith(formats.FILE_MAGIC)


def test_new_file_is_created_0600_whatever_the_umask(tmp_path: Path) -> None:
    trace = tmp_path / "new.ktr"
    done = subprocess.run(f"umask 0; '{KTR}' record -q -o '{trace}' -- true", shell=True,
                          capture_output=True, timeout=20, check=False)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600


def test_own_trace_is_replaced_and_made_private(tmp_path: Path) -> None:
    trace = tmp_path / "own.ktr"
    trace.write_bytes(b"old secrets\n" * 100)
    trace.chmod(0o644)
    done = ktr_record("-o", str(trace))
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    assert b"old secrets" not in trace.read_bytes()


def test_append_makes_a_wider_trace_private_and_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "own.ktr"
    assert ktr_record("-o", str(trace)).returncode == 0
    trace.chmod(0o644)
    first = trace.read_bytes()
    done = ktr_record("-a", "-o", str(trace))
    assert done.returncode == 0, done.stderr
    assert done.stderr.decode().splitlines() == [
        f"ktr: {trace} was mode 0644, readable by others: made it 0600 before appending"]
    assert stat.S_IMODE(trace.stat().st_mode) == 0o600
    data = trace.read_bytes()
    assert data.startswith(first) and len(data) > len(first)
    with ktrdump.open(str(trace)) as reader:
        assert reader.header.hostname == os.uname().nodename
        list(reader)
        assert reader.skipped_batches == 0
    # Already private: nothing to say.
    done = ktr_record("-a", "-o", str(trace))
    assert done.returncode == 0 and done.stderr == b""


def test_append_onto_an_own_file_that_is_not_a_trace_is_refused(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_bytes(b"my notes\n")
    notes.chmod(0o644)
    before = snapshot(notes)
    done = ktr_record("-a", "-o", str(notes))
    assert done.returncode == 1
    assert done.stderr.decode().splitlines() == [
        f"ktr: cannot append to {notes}: not a ktr trace file (bad magic) at byte offset 0"]
    assert snapshot(notes) == before  # not even chmod'ed


def test_python_api_follows_the_same_rules(sticky: Path, victim: Path) -> None:
    link = sticky / "api.ktr"
    as_attacker(lambda: os.symlink(victim, link))
    before = snapshot(victim)
    program = textwrap.dedent(f"""
        import ktr
        import ktr.errors
        try:
            ktr.record(ktr.RecordOptions(output={str(link)!r}, command=("true",), quiet=True))
        except ktr.errors.UnsafeOutput as error:
            print(error)
        else:
            print("recorded")
    """)
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=20, check=True)
    assert done.stdout == (f"refusing to write trace to {link}: it is a symbolic link "
                           "(ktr never writes through one)\n")
    assert snapshot(victim) == before
    assert issubclass(ktr.errors.UnsafeOutput, ktr.errors.OutputError)


def test_a_swap_after_the_checks_cannot_redirect_the_trace(
        tmp_path: Path, victim: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checked inode is the one written: renaming the path away and planting
    a symlink between the checks and the open for writing changes nothing."""
    from ktr import _output
    from ktr._descriptor import OutputOptions, open_descriptor

    own = tmp_path / "own.ktr"
    own.write_bytes(b"an old trace of mine\n")
    moved = tmp_path / "moved.ktr"
    before = snapshot(victim)
    checked = _output._check_existing

    def check_then_swap(path: str, status: os.stat_result, append: bool, named: bool) -> None:
        checked(path, status, append, named)
        own.rename(moved)
        own.symlink_to(victim)

    monkeypatch.setattr(_output, "_check_existing", check_then_swap)
    header = formats.FileHeader("host", "6.0", "x86_64", 1, 2, "test")
    descriptor = open_descriptor(OutputOptions(str(own)), header)
    descriptor.release()
    assert snapshot(victim) == before
    assert moved.read_bytes().startswith(formats.FILE_MAGIC)
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600


def test_a_target_that_cannot_be_traced_leaves_the_output_untouched(tmp_path: Path) -> None:
    """``-p`` with a wrong pid fails before ``-o``'s file is replaced (it may be a trace)."""
    trace = tmp_path / "kept.ktr"
    made = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "true"],
                          capture_output=True, timeout=60, check=False)
    assert made.returncode == 0, made.stderr
    before = trace.read_bytes()
    pid_max = int(Path("/proc/sys/kernel/pid_max").read_text())
    missing = next(pid for pid in range(pid_max - 1, 1, -1) if not Path(f"/proc/{pid}").exists())
    failed = subprocess.run([KTR, "record", "-q", "-p", str(missing), "-o", str(trace)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert failed.returncode != 0
    assert failed.stderr == f"ktr: pid {missing}: no such process\n"
    assert trace.read_bytes() == before


def test_an_output_that_cannot_be_opened_lets_an_attached_target_go(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        failed = subprocess.run([KTR, "record", "-q", "-p", str(sleeper.pid), "-o",
                                 str(tmp_path / "missing" / "x.ktr")],
                                capture_output=True, text=True, timeout=60, check=False)
        assert failed.returncode != 0
        assert failed.stderr.count("\n") == 1 and "x.ktr" in failed.stderr
        status = Path(f"/proc/{sleeper.pid}/status").read_text()
        assert "TracerPid:\t0\n" in status
        assert sleeper.poll() is None  # running on, untraced
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("append", [True, False])
def test_a_second_recorder_cannot_write_a_trace_being_recorded(tmp_path: Path,
                                                             append: bool) -> None:
    """Two recorders on one file would write over each other's batches: the second is refused."""
    trace = tmp_path / "busy.ktr"
    first = subprocess.Popen([KTR, "record", "-q", "-o", str(trace), "--", "sh", "-c",
                              "echo ready; read line"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert first.stdout is not None and first.stdin is not None
        assert first.stdout.readline() == b"ready\n"  # the output is open by now
        before = trace.read_bytes()
        second = subprocess.run([KTR, "record", "-q", *(["-a"] if append else []), "-o",
                                 str(trace), "--", "true"],
                                capture_output=True, text=True, timeout=60, check=False)
        assert second.returncode == 1
        assert second.stderr == (f"ktr: refusing to write trace to {trace}: another ktr record "
                                 "is writing it\n")
        assert trace.read_bytes()[:len(before)] == before
        first.stdin.write(b"done\n")
        first.stdin.close()
        assert first.wait(timeout=30) == 0
    finally:
        first.kill()
        first.wait()
    dumped = subprocess.run([str(Path(KTR).parent / "ktrdump"), str(trace)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert dumped.returncode == 0, dumped.stderr  # the first recording whole, undamaged
    assert dumped.stdout.count(" BEGIN ") == 1 and dumped.stdout.count(" END ") == 1
    # Once it has ended, appending works again.
    again = subprocess.run([KTR, "record", "-q", "-a", "-o", str(trace), "--", "true"],
                           capture_output=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr


def test_dev_stdout_is_standard_output(tmp_path: Path) -> None:
    """``-o /dev/stdout`` is ``-o -`` (the descriptor, not a reopen through the symlink,
    which the rule refuses for any other name); the command's output goes to stderr."""
    done = subprocess.run([KTR, "record", "-q", "-o", "/dev/stdout", "--", "echo", "hi"],
                          capture_output=True, timeout=60)
    assert (done.returncode, done.stderr) == (0, b"hi\n")
    dumped = subprocess.run([str(Path(sys.executable).parent / "ktrdump"), "-"],
                            input=done.stdout, capture_output=True, timeout=30)
    assert dumped.returncode == 0 and b"command exit status 0" in dumped.stdout
    assert ktr.RecordOptions(output="/dev/stdout", command=("true",)).output == "-"
    link = tmp_path / "out"
    link.symlink_to("/dev/stdout")
    refused = ktr_record("-o", str(link))
    assert refused.returncode == 1 and b"symbolic link" in refused.stderr
