"""The started command's child: the exec helper waits, the command gets exactly what it had.

The child execs a static exec helper from a memfd (``ktr._trampoline``) so that
the command's own execve does not tear down a Python interpreter; the forked
Python child, which does the same itself, remains the fallback. Both must give
the command the same argv, environment, fds, comm, exit statuses and seccomp
filter. Oracles: the same C program run directly (its view of argv, environ and
its fds), ``/proc`` (what waits), the shells' 126/127.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from control_support import NR_OPENAT, record, tracer_of, wait_until

from formats import Abi
from ktr import _trampoline
from ktr._control import Control, ControlOptions
from ktr._events import Lifecycle, SyscallEntry
from ktr.errors import TargetError

KTR = Path(sys.executable).parent / "ktr"

#: argv, environ and the open fds (from /proc/self/fd) as the program sees them
SHOW = r"""
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
extern char **environ;
int main(int argc, char **argv) {
    for (int i = 0; i < argc; i++) printf("arg %s\n", argv[i]);
    for (char **e = environ; *e; e++) printf("env %s\n", *e);
    DIR *d = opendir("/proc/self/fd");
    int own = dirfd(d);
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL)
        if (entry->d_name[0] != '.' && atoi(entry->d_name) != own)
            printf("fd %s\n", entry->d_name);
    return 0;
}
"""


@pytest.fixture(params=["helper", "python"])
def child_kind(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: the exec helper, and the Python child (helper unavailable)."""
    if request.param == "python":
        # (the fork copies the patched module: the child keeps waiting as Python)
        monkeypatch.setattr(_trampoline, "_exec_helper", lambda *arguments: None)
    return str(request.param)


def test_the_child_waits_as_the_exec_helper_with_the_recorders_comm() -> None:
    child = _trampoline.start()
    try:
        assert child.wait_ready()
        assert os.readlink(f"/proc/{child.pid}/exe").startswith("/memfd:ktr")
        with open(f"/proc/{child.pid}/comm") as theirs, open("/proc/self/comm") as ours:
            assert theirs.read() == ours.read()
        with open(f"/proc/{child.pid}/status") as status:
            size_kb = next(int(line.split()[1]) for line in status if line.startswith("VmSize"))
        assert size_kb < 1024  # (a forked interpreter: tens of MB)
    finally:
        child.dispose()


@pytest.mark.parametrize(("argv", "status"), [
    (["true"], 0),
    (["sh", "-c", "exit 3"], 3),
    (["ktr-no-such-command-anywhere"], 127),
    (["/etc/hostname"], 126),  # found, not executable
])
def test_exit_statuses(child_kind: str, argv: list[str], status: int) -> None:
    recording = record(argv)
    assert recording.result is not None
    assert recording.result.exit_status == status
    assert (recording.result.spawn_error is None) == (status < 126)
    first = recording.events[0]
    assert isinstance(first, SyscallEntry) and first.nr == 59  # the command's execve
    assert len(recording.lifecycle(Lifecycle.EXEC)) == (1 if status < 126 else 0)
    if status >= 126:  # the failed execves only: what the exec helper does next is ktr's
        assert {event.nr for event in (*recording.entries(), *recording.exits())} == {59}


def test_the_seccomp_filter_is_installed(child_kind: str) -> None:
    """Only openat stops: no execve, no read, at least the loader's openat."""
    options = ControlOptions(seccomp={Abi.X86_64: frozenset({NR_OPENAT}),
                                      Abi.I386: frozenset()})
    recording = record(["cat", "/etc/hostname"], options)
    assert recording.result is not None and recording.result.exit_status == 0
    numbers = {entry.nr for entry in recording.entries()}
    assert numbers == {NR_OPENAT}


def test_argv_environment_and_fds_are_the_commands_own(tmp_path: Path, child_kind: str) -> None:
    """As the program sees them run directly: argv, every environment variable in order
    (one of 100 KB: the instructions do not fit a pipe's buffer), an inherited fd."""
    show = build_program(tmp_path, "show", SHOW)
    environment = {"LC_ALL": "C.UTF-8", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                   "KTR_BIG": "x" * 100_000, "KTR_EMPTY": "", "KTR_EQ": "a=b"}
    argv = [str(show), "", "two words", "é"]
    extra_read, extra_write = os.pipe()
    os.set_inheritable(extra_read, True)
    try:
        direct = subprocess.run(argv, env=environment, pass_fds=(extra_read,),
                                capture_output=True, timeout=30)
        code = ("import os, sys, ktr\n"
                "ktr.record(ktr.RecordOptions(output=sys.argv[1], quiet=True, "
                "command=tuple(sys.argv[2:])))\n")
        if child_kind == "python":
            code = ("from ktr import _trampoline\n"
                    "_trampoline._exec_helper = lambda *a: None\n" + code)
        traced = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t.ktr"), *argv],
                                env=environment, pass_fds=(extra_read,), capture_output=True,
                                timeout=60)
    finally:
        os.close(extra_read)
        os.close(extra_write)
    assert direct.returncode == traced.returncode == 0, traced.stderr
    assert f"fd {extra_read}\n".encode() in direct.stdout
    assert traced.stdout == direct.stdout


def test_an_environment_given_replaces_the_recorders(
    tmp_path: Path, child_kind: str, capfd: pytest.CaptureFixture[str],
) -> None:
    """``Control.spawn(argv, environment)``: exactly those variables, in that order."""
    show = build_program(tmp_path, "show", SHOW)
    control = Control()
    control.spawn([str(show), "x"], {"B": "2", "A": "x=y", "EMPTY": ""})
    result = control.run(lambda event: None)
    assert result.exit_status == 0
    lines = capfd.readouterr().out.splitlines()
    assert [line for line in lines if not line.startswith("fd ")] == [
        f"arg {show}", "arg x", "env B=2", "env A=x=y", "env EMPTY="]


def test_with_the_trace_on_stdout_the_commands_stdout_is_stderr(tmp_path: Path) -> None:
    done = subprocess.run([KTR, "record", "-q", "-o", "-", "--", "echo", "to the side"],
                          capture_output=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr == b"to the side\n"
    assert b"to the side" not in done.stdout[:32]  # the trace's bytes


def test_an_unused_early_child_is_reaped(tmp_path: Path) -> None:
    """``ktr record -qp PID`` (not recognised as -p before parsing): the child forked
    early is killed and reaped before the loop (which reaps every child) starts; the
    attached process records normally."""
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        code = ("import sys, ktr.cli\n"
                "sys.argv = ['ktr', 'record', '-o', sys.argv[1], '-qp', sys.argv[2]]\n"
                "ktr.cli.run()\n")
        recorder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "t.ktr"),
                                     str(sleeper.pid)], stderr=subprocess.PIPE)
        # the recorder has attached when the sleeper's tracer is it
        wait_until(lambda: tracer_of(sleeper.pid) == recorder.pid, "the attach")
        children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(recorder.pid)],
                                  capture_output=True, text=True).stdout.split()
        assert children == []
        recorder.send_signal(2)
        assert recorder.wait(timeout=30) in (0, 130)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.parametrize("how", [["-p", "{pid}"], ["-p{pid}"], ["-g", "{pgid}"]])
def test_attaching_forks_no_early_child(tmp_path: Path, how: list[str]) -> None:
    """``ktr record -p PID`` / ``-g PGID``: no child is forked for a command there is
    none of (killing and reaping it delayed the attach). Oracle: strace of ktr, whose
    clones are all threads' (CLONE_THREAD)."""
    sleeper = subprocess.Popen(["sleep", "30"], start_new_session=True)
    log = tmp_path / "clones"
    try:
        arguments = [a.format(pid=sleeper.pid, pgid=sleeper.pid) for a in how]
        code = "import sys, ktr.cli\nsys.argv[0] = 'ktr'\nktr.cli.run()\n"
        recorder = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=clone,clone3,fork,vfork", "-o", str(log),
             sys.executable, "-c", code, "record", "-q", "-o", str(tmp_path / "t.ktr"),
             *arguments], stderr=subprocess.PIPE)
        wait_until(lambda: tracer_of(sleeper.pid) > 0, "the attach")
        sleeper.kill()
        assert recorder.wait(timeout=30) == 0, recorder.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    # (a call another thread's line cut in two: its flags are in its first half)
    clones = [line for line in log.read_text().splitlines()
              if ("clone" in line or "fork" in line) and "resumed>" not in line]
    assert clones, "strace saw none of ktr's threads"
    assert all("CLONE_THREAD" in line for line in clones), clones


def test_a_nul_byte_in_an_argument_is_refused_before_any_fork() -> None:
    """execve's strings end at a NUL: ``a\\0b`` would reach the command as ``a``."""
    with pytest.raises(TargetError, match="NUL byte") as raised:
        Control().spawn(["true", "a\0b"])
    assert raised.value.exit_status == 127
    with pytest.raises(TargetError, match="NUL byte"):
        Control().spawn(["true"], {"A": "x\0y"})
