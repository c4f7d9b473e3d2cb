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

import json
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import tracer_of, wait_until
from strace_corpus import GCC, KTR, KTRDUMP, STRACE

import ktrdump
from formats import RecordKind, SyscallFlag

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

# As STOPPED, but the child outlives the SIGCONT by a step: its SIGCHLD (which a
# tracer sees, so it interrupts the sleep) lands in the restarted sleep.
STOPPED_THEN_CHILD_EXITS = STOPPED.replace(
    "kill(parent, SIGCONT);\n", "kill(parent, SIGCONT);\n        nanosleep(&step, 0);\n")

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


def _sleeping(pid: int) -> bool:
    """The thread is asleep in a call (state S), not stopped for its tracer (t)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rpartition(")")[2].split()[0] == "S"
    except (OSError, IndexError):
        return False


def _attach_until_resumed(command: list[str], pid: int) -> str:
    """Run a tracer on ``pid`` until the sleep is resumed under it, then SIGINT it.

    Resumed means asleep in restart_syscall again: the tracer has handled the call's
    entry stop (and so made its line or record). In the entry stop itself the call
    already reads as restart_syscall; a SIGINT then, before the tracer's look, gave
    strace nothing to print (once, under load)."""
    wait_until(lambda: _syscall_nr(pid) not in (None, NR_RESTART_SYSCALL),
               "the sleeper in its first sleep")
    tracer = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: tracer_of(pid) == tracer.pid
                   and _syscall_nr(pid) == NR_RESTART_SYSCALL and _sleeping(pid),
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


def _restart_lines_of_both(tmp_path: Path, name: str, source: str) -> list[list[str]]:
    """The restart_syscall lines of one program run under strace, then under ktr
    (the strace view, durations dropped)."""
    program = _build(tmp_path, name, source)
    log = tmp_path / "strace.out"
    subprocess.run([str(STRACE), "-o", str(log), str(program)], check=True, timeout=30)
    trace = tmp_path / f"{name}.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=30)
    ours = _restart_lines(subprocess.run(
        [str(KTRDUMP), "--format", "strace", str(trace)],
        check=True, capture_output=True, text=True).stdout)
    return [_restart_lines(log.read_text()), [re.sub(r" <\d+\.\d+>$", "", line) for line in ours]]


def test_a_known_interrupted_call_is_named_as_strace_names_it(tmp_path: Path) -> None:
    # Under load the SIGCONT can itself interrupt the restarted sleep: then
    # both tracers print a second restart_syscall naming the first one.
    # Each run is held to the form strace gives, whichever way it went.
    first = "restart_syscall(<... resuming interrupted clock_nanosleep ...>)"
    again = "restart_syscall(<... resuming interrupted restart_syscall ...>)"
    for lines in _restart_lines_of_both(tmp_path, "stopped", STOPPED):
        assert lines and lines[0].startswith(first + " = ")
        assert all(line.startswith(again + " = ") for line in lines[1:])
        assert lines[-1].endswith(") = 0")


def test_a_call_cut_by_detach_says_so_in_every_view(
        tmp_path: Path, sleepers: list[subprocess.Popen[str]]) -> None:
    """Recorded with calls alone (-t c: no PROC records, so no DETACH to look
    for): the RET itself says the call was cut by detaching (flag DETACHED), and
    the text, JSON and strace views each say so."""
    trace = tmp_path / "calls-only.ktr"
    _attach_until_resumed([str(KTR), "record", "-q", "-t", "c", "-o", str(trace),
                           "-p", str(sleepers[0].pid)], sleepers[0].pid)

    def view(*options: str) -> str:
        return subprocess.run([str(KTRDUMP), *options, str(trace)], check=True,
                              capture_output=True, text=True).stdout

    rets = [line for line in view().splitlines() if " RET " in line]
    assert rets[-1].endswith("RET   restart_syscall unfinished: detached, continues untraced")
    ret = [json.loads(line) for line in view("--json").splitlines()
           if '"type":"RET"' in line][-1]
    assert (ret["syscall"], ret["unfinished"], ret["detached"]) == ("restart_syscall", True,
                                                                    True)
    assert _restart_lines(view("--format", "strace")) == [
        "restart_syscall(<... resuming interrupted system call ...> <detached ...>"]
    # Parquet's calls table: a "detached" column, true for that call alone.
    subprocess.run([str(KTRDUMP), "--format", "parquet", "-o", str(tmp_path / "c.parquet"),
                    str(trace)], check=True, capture_output=True)
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "c.parquet", columns=["syscall", "unfinished",
                                                          "detached"]).to_pylist()
    assert [row for row in rows if row["detached"]] == [
        {"syscall": "restart_syscall", "unfinished": True, "detached": True}]
    with ktrdump.open(str(trace)) as reader:
        flags = [record.payload.flags for record in reader
                 if record.kind == RecordKind.SYSRET]
    assert flags[-1] == SyscallFlag.UNFINISHED | SyscallFlag.DETACHED
    assert all(not flag & SyscallFlag.DETACHED for flag in flags[:-1])


def test_following_a_live_recording_prints_the_detach_as_the_file_does(
        tmp_path: Path, sleepers: list[subprocess.Popen[str]]) -> None:
    """``ktrdump -l --format strace`` while the recording runs: the call cut by
    detaching ends ``<detached ...>`` there too (the records of the call reach the
    file in a batch before the DETACH's: --wake-delay 10 ms), the same lines as
    the finished file's."""
    trace = tmp_path / "live.ktr"
    pid = sleepers[0].pid
    wait_until(lambda: _syscall_nr(pid) not in (None, NR_RESTART_SYSCALL),
               "the sleeper in its first sleep")
    recorder = subprocess.Popen([str(KTR), "record", "-q", "--wake-delay", "10", "-o",
                                 str(trace), "-p", str(pid)], stderr=subprocess.PIPE)
    follower: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: tracer_of(pid) == recorder.pid
                   and _syscall_nr(pid) == NR_RESTART_SYSCALL,
                   "the sleep resumed by restart_syscall under ktr", timeout=20)
        follower = subprocess.Popen([str(KTRDUMP), "-l", "--format", "strace", str(trace)],
                                    stdout=subprocess.PIPE, text=True)
        # the call is in the file (written 10 ms after it), in a batch before the
        # DETACH's: the follower, polling every 25 ms, mostly reads it on its own
        wait_until(lambda: _has_restart_call(trace), "the call written")
    finally:
        recorder.send_signal(signal.SIGINT)
        recorder.communicate(timeout=20)
    assert follower is not None
    followed, _ = follower.communicate(timeout=20)
    assert follower.returncode == 0
    whole = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                           capture_output=True, text=True).stdout
    assert followed == whole
    assert _restart_lines(followed) == [
        "restart_syscall(<... resuming interrupted system call ...> <detached ...>"]


def _has_restart_call(trace: Path) -> bool:
    with ktrdump.open(str(trace)) as reader:
        return any(record.kind == RecordKind.SYSCALL and record.payload.nr == NR_RESTART_SYSCALL
                   for record in reader)


@pytest.mark.parametrize(("flags", "then", "ending"), [
    (SyscallFlag.UNFINISHED | SyscallFlag.DETACHED, "detach", " <detached ...>"),
    (SyscallFlag.UNFINISHED, "detach", " <detached ...>"),  # a file from before the flag
    (SyscallFlag.UNFINISHED, "exit", ") = ?"),
], ids=["flagged", "before-the-flag", "exit"])
def test_a_detached_call_ending_a_batch_reads_the_same_live_and_from_the_file(
        tmp_path: Path, flags: int, then: str, ending: str) -> None:
    """The RET that ends one batch, the thread's DETACH (or EXIT) in the next: a
    live input (a pipe, ``-l``) reads the RET's DETACHED flag, or, in a file
    from before it, holds such a RET until the next batch shows what followed;
    file, pipe and follow print the same lines."""
    from ktrdump_support import END_ENTRY, build_trace

    from formats import Proc, ProcEvent, Syscall, Sysret

    pid = 4242
    event = ProcEvent.DETACH if then == "detach" else ProcEvent.EXIT
    data, _ = build_trace([
        [(RecordKind.SYSCALL, pid, pid, b"sleep", Syscall(NR_RESTART_SYSCALL, 1, 0, ())),
         (RecordKind.SYSRET, pid, pid, b"sleep", Sysret(NR_RESTART_SYSCALL, 1, flags, 0, 0,
                                                        500))],
        [(RecordKind.PROC, pid, pid, b"sleep", Proc(event, 0, 0, 0, 0, b"")),
         END_ENTRY],
    ])
    trace = tmp_path / "split.ktr"
    trace.write_bytes(data)
    views = [
        subprocess.run([str(KTRDUMP), "--format", "strace", *source], input=stdin,
                       check=True, capture_output=True).stdout.decode()
        for source, stdin in ((["-l", str(trace)], None), ([str(trace)], None),
                              (["-"], data))]
    assert views[0] == views[1] == views[2]
    assert _restart_lines(views[0]) == [
        f"restart_syscall(<... resuming interrupted system call ...>{ending}"]


def test_a_restart_interrupted_in_turn_is_named_as_strace_names_it(tmp_path: Path) -> None:
    """The sleep is interrupted by the SIGSTOP, its restart_syscall by the SIGCHLD:
    strace names the second restart's call restart_syscall (ktr named the first
    call again)."""
    first = "restart_syscall(<... resuming interrupted clock_nanosleep ...>) = "
    again = "restart_syscall(<... resuming interrupted restart_syscall ...>) = "
    for lines in _restart_lines_of_both(tmp_path, "child_exits", STOPPED_THEN_CHILD_EXITS):
        assert len(lines) >= 2, lines
        assert lines[0].startswith(first + "? ERESTART_RESTARTBLOCK"), lines
        assert all(line.startswith(again) for line in lines[1:]), lines
        assert lines[-1] == again + "0", lines
