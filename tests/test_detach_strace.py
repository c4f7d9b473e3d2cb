"""A sleep resumed by restart_syscall and a call cut by detaching, as strace prints them.

Attaching (``ktr record -p``) to a program sleeping in nanosleep interrupts
the sleep; the kernel resumes it with restart_syscall. Stopping the
recording interrupts that call again to detach; the thread resumes it
untraced. strace (6.1 here) is the oracle, run on the same kind of program:

- ``strace -p``, then SIGINT::

      restart_syscall(<... resuming interrupted read ...> <detached ...>

  ktr prints the same line, but names the interrupted call ``system call``
  (what strace's decoder prints when it does not know it, as neither does
  ktr when it attached during the sleep); strace's ``read`` there is its
  unset previous-call slot (syscall number 0), not the program's call.
- Traced from the start, stopped by SIGSTOP and continued: strace knows the
  call, so does ktr: ``restart_syscall(<... resuming interrupted
  clock_nanosleep ...>) = 0``.

Before, ktr printed ``restart_syscall()`` and ``= ? ERESTART_RESTARTBLOCK``
for the call cut by detaching (the recorder wrote it as a return).
"""

from __future__ import annotations

import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import tracer_of, wait_until
from strace_corpus import GCC, KTR, KTRDUMP, STRACE

pytestmark = pytest.mark.skipif(STRACE is None or GCC is None,
                                reason="strace or gcc is not installed")

SLEEPER = r"""
#include <stdio.h>
#include <time.h>
int main(void) {
    struct timespec pause = {60, 0};
    puts("ready");
    fflush(stdout);
    nanosleep(&pause, 0);
    return 0;
}
"""

#: Stopped by a child's SIGSTOP during its sleep, continued by SIGCONT.
STOPPED = r"""
#include <signal.h>
#include <time.h>
#include <unistd.h>
int main(void) {
    struct timespec pause = {0, 300000000}, step = {0, 50000000};
    pid_t parent = getpid();
    if (fork() == 0) {
        nanosleep(&step, 0);
        kill(parent, SIGSTOP);
        nanosleep(&step, 0);
        kill(parent, SIGCONT);
        _exit(0);
    }
    nanosleep(&pause, 0);
    return 0;
}
"""

NR_RESTART_SYSCALL = 219
_LINE = re.compile(r"^(?:\d+ +)?(?:\d+\.\d+ )?(restart_syscall\(.*)$")


def _build(tmp_path: Path, name: str, source: str) -> Path:
    (tmp_path / f"{name}.c").write_text(source)
    subprocess.run([str(GCC), "-o", str(tmp_path / name), str(tmp_path / f"{name}.c")],
                   check=True)
    return tmp_path / name


def _syscall_nr(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/syscall") as file:
            word = file.read().split()[0]
    except (OSError, IndexError):
        return None
    return int(word) if word.lstrip("-").isdigit() else None


@pytest.fixture
def sleepers(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    program = _build(tmp_path, "sleeper", SLEEPER)
    started: list[subprocess.Popen[str]] = []
    for _ in range(2):
        process = subprocess.Popen([str(program)], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        started.append(process)
    yield started
    for process in started:
        process.kill()
        process.wait()


def _attach_until_resumed(command: list[str], pid: int) -> str:
    """Run a tracer on ``pid`` until the sleep is resumed under it, then SIGINT it."""
    wait_until(lambda: _syscall_nr(pid) not in (None, NR_RESTART_SYSCALL),
               "the sleeper in its first sleep")
    tracer = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: tracer_of(pid) == tracer.pid
                   and _syscall_nr(pid) == NR_RESTART_SYSCALL,
                   "the sleep resumed by restart_syscall under the tracer", timeout=20)
    finally:
        tracer.send_signal(signal.SIGINT)
        _, errors = tracer.communicate(timeout=20)
    assert tracer_of(pid) == 0, errors
    return errors


def _restart_lines(text: str) -> list[str]:
    return [match[1] for line in text.splitlines() if (match := _LINE.match(line))]


def test_attached_sleep_and_detach_print_as_strace(
        tmp_path: Path, sleepers: list[subprocess.Popen[str]]) -> None:
    trace = tmp_path / "attached.ktr"
    _attach_until_resumed([str(KTR), "record", "-q", "-o", str(trace),
                           "-p", str(sleepers[0].pid)], sleepers[0].pid)
    log = tmp_path / "strace.out"
    _attach_until_resumed([str(STRACE), "-o", str(log), "-p", str(sleepers[1].pid)],
                          sleepers[1].pid)
    theirs = _restart_lines(log.read_text())
    ours = _restart_lines(subprocess.run(
        [str(KTRDUMP), "--format", "strace", str(trace)],
        check=True, capture_output=True, text=True).stdout)
    assert len(theirs) == 1, log.read_text()
    resuming = re.compile(r"<\.\.\. resuming interrupted (.+?) \.\.\.>")
    assert resuming.search(theirs[0]) is not None
    assert ours == [resuming.sub("<... resuming interrupted system call ...>", theirs[0])]
    assert ours[0].endswith("...> <detached ...>")
    # both sleepers sleep on, untraced
    for process in sleepers:
        assert process.poll() is None and tracer_of(process.pid) == 0
        assert _syscall_nr(process.pid) == NR_RESTART_SYSCALL


def test_a_known_interrupted_call_is_named_as_strace_names_it(tmp_path: Path) -> None:
    program = _build(tmp_path, "stopped", STOPPED)
    log = tmp_path / "strace.out"
    subprocess.run([str(STRACE), "-o", str(log), str(program)], check=True, timeout=30)
    trace = tmp_path / "stopped.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=30)
    ours = _restart_lines(subprocess.run(
        [str(KTRDUMP), "--format", "strace", str(trace)],
        check=True, capture_output=True, text=True).stdout)
    theirs = _restart_lines(log.read_text())
    # Under load the SIGCONT can itself interrupt the restarted sleep: then
    # both tracers print a second restart_syscall naming the first one.
    # Each run is held to the form strace gives, whichever way it went.
    first = "restart_syscall(<... resuming interrupted clock_nanosleep ...>)"
    again = "restart_syscall(<... resuming interrupted restart_syscall ...>)"
    for lines in (theirs, [re.sub(r" <\d+\.\d+>$", "", line) for line in ours]):
        assert lines and lines[0].startswith(first + " = ")
        assert all(line.startswith(again + " = ") for line in lines[1:])
        assert lines[-1].endswith(") = 0")
