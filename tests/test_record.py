"""``ktr record`` end to end: the installed command on real processes, read back.

Each test runs the console script in a subprocess (as a user would), then
reads the trace with ``ktrdump.open`` and checks the records.
"""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from control_support import tracer_of, wait_until

import formats
import ktrdump
from formats import RecordKind, linux

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
PYTHON = sys.executable
NR_GETPPID = linux.syscall_number(formats.Abi.X86_64, "getppid")


def ktr(*arguments: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([KTR, *arguments], capture_output=True, timeout=20,
                          **kwargs)  # type: ignore[call-overload, no-any-return]


def records_of(path: Path) -> list[formats.Record]:
    with ktrdump.open(str(path)) as reader:
        records = list(reader)
        assert reader.skipped_batches == 0
    return records


def of_kind(records: list[formats.Record], kind: RecordKind) -> list[formats.Record]:
    return [record for record in records if record.kind == kind]


def calls(records: list[formats.Record], name: str) -> list[formats.Record]:
    return [r for r in of_kind(records, RecordKind.SYSCALL)
            if linux.syscall_name(r.payload.abi, r.payload.nr) == name]  # type: ignore[union-attr]


def proc_events(records: list[formats.Record], event: formats.ProcEvent) -> list[formats.Proc]:
    found = []
    for record in of_kind(records, RecordKind.PROC):
        payload = record.payload
        assert isinstance(payload, formats.Proc)
        if payload.event == event:
            found.append(payload)
    return found


def python_program(source: str) -> list[str]:
    return [PYTHON, "-c", textwrap.dedent(source)]


def test_ls_records_paths_calls_and_lifecycle(tmp_path: Path) -> None:
    trace = tmp_path / "ls.ktr"
    (tmp_path / "marker-file").write_text("x")
    done = ktr("record", "-q", "-o", str(trace), "--", "ls", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert b"marker-file" in done.stdout
    assert done.stderr == b""
    assert trace.stat().st_mode & 0o777 == 0o600
    records = records_of(trace)
    syscalls = of_kind(records, RecordKind.SYSCALL)
    first = syscalls[0].payload
    assert isinstance(first, formats.Syscall)
    assert linux.syscall_name(first.abi, first.nr) == "execve"
    arguments = of_kind(records, RecordKind.EXEC_ARG)[0].payload
    assert isinstance(arguments, formats.ExecArg)
    assert arguments.strings() == [b"ls", str(tmp_path).encode()]
    paths = [r.payload.path for r in of_kind(records, RecordKind.NAMEI)]  # type: ignore[union-attr]
    assert str(tmp_path).encode() in paths
    assert calls(records, "getdents64")
    # The BEGIN first (the recorder's, written as the output opens), then the tracee's.
    assert [r.kind for r in records[:2]] == [RecordKind.BEGIN, RecordKind.EMUL]
    (exit_event,) = proc_events(records, formats.ProcEvent.EXIT)
    assert exit_event.status == 0
    # Every call that returned has its RET, in order, on the same thread.
    assert len(of_kind(records, RecordKind.SYSRET)) == len(syscalls)


def test_cat_records_the_exact_io_data(tmp_path: Path) -> None:
    content = bytes(range(256)) * 20 + b"tail\n"
    source = tmp_path / "data.bin"
    source.write_bytes(content)
    trace = tmp_path / "cat.ktr"
    done = ktr("record", "-q", "-s", "100000", "-o", str(trace), "--", "cat", str(source))
    assert done.returncode == 0
    assert done.stdout == content
    records = records_of(trace)
    assert str(source).encode() in [
        r.payload.path for r in of_kind(records, RecordKind.NAMEI)]  # type: ignore[union-attr]
    genio = [r.payload for r in of_kind(records, RecordKind.GENIO)]
    read = b"".join(g.data for g in genio  # type: ignore[union-attr]
                    if g.direction == formats.IoDirection.READ and g.fd != 0)  # type: ignore[union-attr]
    written = b"".join(g.data for g in genio  # type: ignore[union-attr]
                       if g.direction == formats.IoDirection.WRITE and g.fd == 1)  # type: ignore[union-attr]
    assert written == content
    assert content in read


def test_io_cap_marks_truncated_data(tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_bytes(b"0123456789" * 10)
    trace = tmp_path / "cat.ktr"
    done = ktr("record", "-q", "-s", "16", "-o", str(trace), "--", "cat", str(source))
    assert done.returncode == 0
    writes = [r.payload for r in of_kind(records_of(trace), RecordKind.GENIO)
              if r.payload.fd == 1]  # type: ignore[union-attr]
    assert writes[0].data == b"0123456789012345"  # type: ignore[union-attr]
    assert writes[0].transferred == 100  # type: ignore[union-attr]
    assert writes[0].flags & formats.GenioFlag.TRUNCATED  # type: ignore[union-attr]


def test_shell_pipeline_with_follow_records_the_process_tree(tmp_path: Path) -> None:
    trace = tmp_path / "sh.ktr"
    done = ktr("record", "-q", "-i", "-o", str(trace), "--",
               "sh", "-c", "/bin/echo hello | /usr/bin/tr a-z A-Z")
    assert done.returncode == 0
    assert done.stdout == b"HELLO\n"
    records = records_of(trace)
    # PROC exec names the program that runs (symbolic links resolved).
    execs = {p.detail for p in proc_events(records, formats.ProcEvent.EXEC)}
    assert {os.path.realpath("/bin/echo").encode(), os.path.realpath("/usr/bin/tr").encode()} <= (
        execs)
    children = {p.child for p in proc_events(records, formats.ProcEvent.FORK)}
    children |= {p.child for p in proc_events(records, formats.ProcEvent.CLONE)
                 if not p.flags & formats.ProcFlag.THREAD}
    children |= {p.child for p in proc_events(records, formats.ProcEvent.VFORK)}
    assert len(children) == 2
    exited = {r.pid for r in of_kind(records, RecordKind.PROC)
              if r.payload.event == formats.ProcEvent.EXIT}  # type: ignore[union-attr]
    assert children <= exited
    pids = {r.pid for r in records if r.pid}
    assert children <= pids


def test_without_follow_children_are_not_recorded(tmp_path: Path) -> None:
    trace = tmp_path / "sh.ktr"
    done = ktr("record", "-q", "-o", str(trace), "--", "sh", "-c", "/bin/true; exit 4")
    assert done.returncode == 4
    records = records_of(trace)
    assert {r.pid for r in records if r.pid} == {records[1].pid}  # [0]: the BEGIN


def test_every_thread_is_recorded_with_exact_counts(tmp_path: Path) -> None:
    trace = tmp_path / "threads.ktr"
    program = python_program("""
        import os, threading
        def work():
            for _ in range(25):
                os.getppid()
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    done = ktr("record", "-q", "-o", str(trace), "--", *program)
    assert done.returncode == 0, done.stderr
    records = records_of(trace)
    per_thread = Counter(r.tid for r in of_kind(records, RecordKind.SYSCALL)
                         if r.payload.nr == NR_GETPPID)  # type: ignore[union-attr]
    assert sorted(per_thread.values()) == [25, 25, 25, 25]
    assert all(tid != records[1].pid for tid in per_thread)  # [0]: the BEGIN
    thread_clones = [p for p in proc_events(records, formats.ProcEvent.CLONE)
                     if p.flags & formats.ProcFlag.THREAD]
    assert {p.child for p in thread_clones} == set(per_thread)


def test_caught_signal_is_recorded_and_still_delivered(tmp_path: Path) -> None:
    trace = tmp_path / "signal.ktr"
    program = python_program("""
        import os, signal
        signal.signal(signal.SIGUSR1, lambda *a: print("handled", flush=True))
        os.kill(os.getpid(), signal.SIGUSR1)
    """)
    done = ktr("record", "-q", "-o", str(trace), "--", *program)
    assert done.returncode == 0
    assert done.stdout == b"handled\n"
    (psig,) = [r.payload for r in of_kind(records_of(trace), RecordKind.PSIG)]
    assert isinstance(psig, formats.Psig)
    assert psig.signo == signal.SIGUSR1
    assert psig.action not in (0, 1)  # caught, not default or ignored
    assert len(psig.siginfo) == 128


STOPS_ITSELF = r"""
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
int main(void) {
    printf("%d\n", (int)getpid());
    fflush(stdout);
    raise(SIGSTOP);
    getppid();
    return 0;
}
"""


def _signal_lines(text: str, pid: int) -> list[str]:
    """strace's ``---`` lines of ``text`` (pid and time columns dropped, sender masked)."""
    lines = []
    for line in text.splitlines():
        event = line.split(" --- ", 1)
        if len(event) == 2:
            lines.append(re.sub(r"si_pid=\d+", "si_pid=PID", "--- " + event[1]).replace(
                str(pid), "PID"))
    return lines


def _stopped_in_trace(trace: Path) -> bool:
    """Whether the (growing) trace holds a group-stop yet."""
    if not trace.exists() or trace.stat().st_size == 0:
        return False
    with ktrdump.open(str(trace)) as reader:
        return any(record.kind == RecordKind.PROC
                   and record.payload.event == formats.ProcEvent.STOP  # type: ignore[union-attr]
                   for record in reader)


def test_a_group_stop_is_shown_as_strace_shows_it(tmp_path: Path) -> None:
    """A program that stops itself (job control) and is continued: the same
    ``--- SIGSTOP``, ``--- stopped by SIGSTOP ---``, ``--- SIGCONT`` lines as strace's.
    Each tracer's own report of the stop is awaited before the SIGCONT."""
    source = tmp_path / "stops.c"
    source.write_text(STOPS_ITSELF)
    program = tmp_path / "stops"
    subprocess.run(["gcc", "-O1", "-o", str(program), str(source)], check=True)
    strace_log, trace = tmp_path / "strace.txt", tmp_path / "t.ktr"
    runs: list[tuple[list[str], Callable[[], bool]]] = [
        (["strace", "-f", "-o", str(strace_log), str(program)],
         lambda: strace_log.exists() and "stopped by SIGSTOP" in strace_log.read_text()),
        ([KTR, "record", "-q", "--wake-delay", "1", "-o", str(trace), "--", str(program)],
         lambda: _stopped_in_trace(trace)),
    ]
    pids = []
    for command, stopped in runs:
        running = subprocess.Popen(command, stdout=subprocess.PIPE)
        assert running.stdout is not None
        pids.append(int(running.stdout.readline()))
        wait_until(stopped, f"{command[0]} to report the stop")
        os.kill(pids[-1], signal.SIGCONT)
        assert running.wait(timeout=20) == 0
        running.stdout.close()
    dump = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                          text=True, check=True)
    ours = _signal_lines(dump.stdout, pids[1])
    assert ours == _signal_lines(strace_log.read_text(), pids[0])
    assert "--- stopped by SIGSTOP ---" in ours


@pytest.mark.parametrize(
    ("script", "status"),
    [("exit 7", 7), ("kill -TERM $$", 128 + signal.SIGTERM), ("true", 0)],
)
def test_exit_status_is_the_commands(tmp_path: Path, script: str, status: int) -> None:
    trace = tmp_path / "t.ktr"
    done = ktr("record", "-q", "-o", str(trace), "--", "sh", "-c", script)
    # A command killed by signal N: ktr dies of N too (strace's way; the END has 128+N).
    assert done.returncode == (-(status - 128) if status > 128 else status)
    last = records_of(trace)[-1]
    assert last.kind == RecordKind.END
    assert last.payload == formats.End(status, 0, 1, 1, 0, 0, b"", 0, b"")
    dump = subprocess.run([KTRDUMP, str(trace)], capture_output=True)
    assert (dump.returncode, dump.stderr) == (0, b"")
    assert dump.stdout.endswith(
        f"END   recording ended; command exit status {status}; 1 process, 1 thread\n".encode())


def test_missing_command_is_one_line(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    done = ktr("record", "-q", "-o", str(trace), "--", "no-such-command-ktr")
    assert done.returncode == 127
    assert done.stderr == b"ktr: no-such-command-ktr: command not found\n"
    assert b"Traceback" not in done.stderr
    # The END says it as the other ENDs say how the recording went ("recording ended;
    # ...", "recording stopped: REASON; ..."), in each view.
    dump = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True, check=True)
    assert dump.stdout.splitlines()[-1].endswith(
        "END   recording ended: no-such-command-ktr: command not found; "
        "command exit status 127; 1 process, 1 thread")
    dump = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True)
    end = json.loads(dump.stdout.splitlines()[-1])
    assert (end["type"], end["status"], end["stopped_early"], end["reason"]) == (
        "END", 127, False, "no-such-command-ktr: command not found")
    dump = subprocess.run([KTRDUMP, "--format", "chrome", str(trace)], capture_output=True,
                          text=True, check=True)
    names = [event.get("name") for event in json.loads(dump.stdout)["traceEvents"]]
    assert "recording ended: no-such-command-ktr: command not found" in names


def test_utrace_becomes_a_user_record(tmp_path: Path) -> None:
    trace = tmp_path / "user.ktr"
    program = python_program("""
        import ktr
        ktr.utrace("phase", b"start")
        print("ok")
    """)
    untraced = subprocess.run(program, capture_output=True, check=True)
    assert untraced.stdout == b"ok\n"  # ENOSYS without a tracer, nothing else
    done = ktr("record", "-q", "-o", str(trace), "--", *program)
    assert done.returncode == 0
    users = [r.payload for r in of_kind(records_of(trace), RecordKind.USER)]
    assert users == [formats.User(b"phase", b"start")]


def test_seccomp_path_records_exactly_the_selected_syscalls(tmp_path: Path) -> None:
    source = tmp_path / "data.txt"
    source.write_text("hello\n")
    trace = tmp_path / "seccomp.ktr"
    done = ktr("record", "-q", "-e", "trace=openat", "-o", str(trace), "--", "cat", str(source))
    assert done.returncode == 0
    assert done.stdout == b"hello\n"
    with ktrdump.open(str(trace)) as reader:
        assert reader.header.options["seccomp_filter"] is True
        records = list(reader)
    names = {linux.syscall_name(r.payload.abi, r.payload.nr)  # type: ignore[union-attr]
             for r in records if r.kind in (RecordKind.SYSCALL, RecordKind.SYSRET)}
    assert names == {"openat"}
    assert len(calls(records, "openat")) >= 2  # the loader's, and cat's own
    assert str(source).encode() in [
        r.payload.path for r in of_kind(records, RecordKind.NAMEI)]  # type: ignore[union-attr]
    assert len(of_kind(records, RecordKind.SYSRET)) == len(calls(records, "openat"))


def test_syscall_class_selection(tmp_path: Path) -> None:
    trace = tmp_path / "class.ktr"
    done = ktr("record", "-q", "-e", "trace=%process", "-o", str(trace), "--",
               "sh", "-c", "exit 0")
    assert done.returncode == 0
    names = {linux.syscall_name(r.payload.abi, r.payload.nr)  # type: ignore[union-attr]
             for r in of_kind(records_of(trace), RecordKind.SYSCALL)}
    assert "execve" in names
    assert names <= linux.syscall_class_members(formats.Abi.X86_64, "%process")


def test_attach_and_detach_on_sigint_leaves_the_target_running(tmp_path: Path) -> None:
    target = subprocess.Popen(python_program("""
        import os, time, threading
        def spin():
            while True:
                os.getppid(); time.sleep(0.001)
        threading.Thread(target=spin, daemon=True).start()
        spin()
    """))
    try:
        # The trace comes through a pipe, so the test can wait for a traced
        # call before it interrupts the recorder.
        recorder = subprocess.Popen([KTR, "record", "-q", "-p", str(target.pid), "-o", "-"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recorder.stdout is not None
        records: list[formats.Record] = []
        interrupted = False
        with ktrdump.open(recorder.stdout) as reader:
            for record in reader:
                records.append(record)
                if not interrupted and calls([record], "getppid"):
                    recorder.send_signal(signal.SIGINT)
                    interrupted = True
            assert reader.skipped_batches == 0
        assert interrupted
        assert recorder.stderr is not None
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=10) == 0, stderr
        assert b"Traceback" not in stderr
        assert tracer_of(target.pid) == 0
        assert target.poll() is None
        state = Path(f"/proc/{target.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        assert state in ("S", "R")
        attached = {r.tid for r in of_kind(records, RecordKind.PROC)
                    if r.payload.event == formats.ProcEvent.ATTACH}  # type: ignore[union-attr]
        detached = {r.tid for r in of_kind(records, RecordKind.PROC)
                    if r.payload.event == formats.ProcEvent.DETACH}  # type: ignore[union-attr]
        assert len(attached) == 2
        assert attached == detached
        assert calls(records, "getppid")
        assert records[-1].kind == RecordKind.END
        assert records[-1].payload == formats.End(-1, formats.EndFlag.STOPPED_EARLY, 1, 2, 0, 1,
                                                  b"interrupted by SIGINT", 0, b"")
    finally:
        target.kill()
        target.wait()


def test_killing_the_recorder_kills_the_command_and_keeps_the_trace(tmp_path: Path) -> None:
    trace = tmp_path / "killed.ktr"
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "--wake-delay", "20", "--delay-count", "5", "-o", str(trace),
         "--", "sh", "-c", "while :; do /bin/true; done"])
    try:
        wait_until(lambda: trace.exists() and trace.stat().st_size > 4096, "batches written")
        children = [int(p) for p in os.listdir("/proc") if p.isdigit()
                    and tracer_of(int(p)) == recorder.pid]
        assert children
    finally:
        recorder.kill()
        recorder.wait()
    wait_until(lambda: all(not Path(f"/proc/{pid}").exists()
                           or Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
                           == "Z" for pid in children),
               "the traced command to die")
    dump = subprocess.run([KTRDUMP, str(trace)], capture_output=True)
    assert dump.returncode == 1  # the recording was cut short: records are missing
    # No END record (the in-band CUT line that says so names "END" in its text).
    tags = [line.split()[2] for line in dump.stdout.splitlines() if len(line.split()) > 2]
    assert b"CALL" in tags and b"END" not in tags and tags[-1] == b"CUT"
    size = trace.stat().st_size
    assert dump.stderr.decode().splitlines()[-1] == (
        f"ktrdump: {trace}: no END record at byte offset {size} (end of input): the recording "
        "is still being written, or it was cut short (ktr record was killed, or its output "
        "failed) and records it had not written are missing")


def _live_recording(script: str) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """``ktr record -o - -- sh -c SCRIPT | ktrdump -``: (recorder, dump), stdin and stdout piped."""
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "-o", "-", "--", "sh", "-c", script],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert recorder.stdout is not None and recorder.stdin is not None
    dump = subprocess.Popen([KTRDUMP, "-"], stdin=recorder.stdout, stdout=subprocess.PIPE)
    recorder.stdout.close()
    assert dump.stdout is not None
    return recorder, dump


def _read_until(dump: subprocess.Popen[bytes], seen: bytes, wanted: bytes, what: str) -> bytes:
    """``seen`` and what ktrdump prints next, until it holds ``wanted`` (10 s at most)."""
    assert dump.stdout is not None
    deadline = time.monotonic() + 10
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"{what} never came"
        if select.select([dump.stdout], [], [], left)[0]:
            chunk = os.read(dump.stdout.fileno(), 65536)
            assert chunk, "ktrdump ended early"
            seen += chunk
    return seen


def test_live_pipe_into_ktrdump_shows_records_while_the_program_runs(tmp_path: Path) -> None:
    marker = tmp_path / "marker-path"
    recorder, dump = _live_recording(f"cat {marker} 2>/dev/null; read x; exit 0")
    assert recorder.stdin is not None
    try:
        _read_until(dump, b"", str(marker).encode(), "live records")
        assert recorder.poll() is None  # the program is still waiting on read
    finally:
        recorder.stdin.close()
        recorder.wait(timeout=10)
        dump.wait(timeout=10)
    assert recorder.returncode == 0
    assert dump.returncode == 0


def test_records_held_by_the_loop_reach_a_live_pipe_while_the_program_blocks(
        tmp_path: Path) -> None:
    # The program opens a file, then blocks reading stdin, three times. The
    # loop hands its records to the queue in bulk, so each open's NAMI is
    # usually still held when the wait begins: the waker must break the wait
    # to flush it. (The loop's periodic flush can hand one over by chance;
    # all three by chance is rare.) The paths are built by the shell, so the
    # command line (ARG records) does not hold them.
    directory = tmp_path / "held"
    directory.mkdir()
    markers = [directory / f"marker-{index}" for index in range(3)]
    for marker in markers:
        marker.write_text("")
    recorder, dump = _live_recording(f"d={directory}; " + "".join(
        f': < "$d/{marker.name}"; read x; ' for marker in markers) + "exit 0")
    assert recorder.stdin is not None
    try:
        seen = b""
        for marker in markers:
            seen = _read_until(dump, seen, f'"{marker}"'.encode(),
                               f"the held records of {marker.name}")
            assert recorder.poll() is None  # the program is still waiting on read
            recorder.stdin.write(b"next\n")
            recorder.stdin.flush()
    finally:
        recorder.stdin.close()
        recorder.wait(timeout=10)
        dump.wait(timeout=10)
    assert recorder.returncode == 0


def test_no_such_process(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid is free now (reuse within this test is unlikely)
    done = ktr("record", "-p", str(gone.pid), "-o", str(tmp_path / "t.ktr"))
    assert done.returncode != 0
    assert done.stderr.count(b"\n") == 1
    assert b"no such process" in done.stderr.lower()


def test_permission_denied_for_an_already_traced_process(tmp_path: Path) -> None:
    traced = subprocess.Popen(["strace", "-o", "/dev/null", "sleep", "30"],
                              stderr=subprocess.DEVNULL)
    try:
        def sleeper() -> int:
            # strace also traces short-lived probe children: wait for the sleep itself.
            for entry in os.listdir("/proc"):
                if not entry.isdigit() or tracer_of(int(entry)) != traced.pid:
                    continue
                try:
                    if Path(f"/proc/{entry}/comm").read_text().strip() == "sleep":
                        return int(entry)
                except OSError:
                    continue
            return 0
        wait_until(lambda: sleeper() != 0, "strace to attach")
        done = ktr("record", "-p", str(sleeper()), "-o", str(tmp_path / "t.ktr"))
        assert done.returncode != 0
        assert done.stderr.count(b"\n") == 1
        assert b"permission denied" in done.stderr.lower() or b"EPERM" in done.stderr
        assert b"Traceback" not in done.stderr
    finally:
        traced.kill()
        traced.wait()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["-t", "cz", "--", "true"], b"unknown trace facility"),
        (["--", ], b"nothing to trace"),
        (["-e", "trace=nosuchcall", "--", "true"], b"unknown syscall"),
        (["-e", "trace=%bogus", "--", "true"], b"unknown syscall class"),
        (["-p", "abc"], b"not a process id"),
        (["-o", "/nonexistent-dir/x.ktr", "--", "true"], b"/nonexistent-dir/x.ktr"),
    ],
)
def test_user_errors_are_one_line(arguments: list[str], message: bytes) -> None:
    done = ktr("record", *arguments)
    assert done.returncode != 0
    assert done.stderr.count(b"\n") == 1, done.stderr
    assert message in done.stderr
    assert b"Traceback" not in done.stderr


def test_structures_are_captured_and_signal_handlers_learnt(tmp_path: Path) -> None:
    trace = tmp_path / "structs.ktr"
    target = tmp_path / "sized"
    target.write_bytes(b"x" * 1234)
    program = python_program(f"""
        import os, signal
        signal.signal(signal.SIGUSR2, lambda *a: None)
        os.stat({str(target)!r})
        r, w = os.pipe()
        print(r, w)
        os.kill(os.getpid(), signal.SIGUSR2)
    """)
    done = ktr("record", "-q", "-o", str(trace), "--", *program)
    assert done.returncode == 0
    fds = [int(n) for n in done.stdout.split()]
    records = records_of(trace)
    structs = [r.payload for r in of_kind(records, RecordKind.STRUCT)]
    stats = [s for s in structs if s.name == b"stat"]  # type: ignore[union-attr]
    sizes = {int.from_bytes(s.data[48:56], "little") for s in stats}  # type: ignore[union-attr]
    assert 1234 in sizes  # st_size of struct stat on x86_64
    pairs = [s.data for s in structs if s.name == b"fds"]  # type: ignore[union-attr]
    assert (fds[0].to_bytes(4, "little") + fds[1].to_bytes(4, "little")) in pairs
    handlers = {int.from_bytes(s.data[:8], "little") for s in structs  # type: ignore[union-attr]
                if s.name == b"sigaction" and s.argument == 1}  # type: ignore[union-attr]
    (psig,) = [r.payload for r in of_kind(records, RecordKind.PSIG)]
    assert psig.action in handlers  # type: ignore[union-attr]


def test_i386_program_is_recorded_with_its_own_abi(tmp_path: Path) -> None:
    from c_support import build_i386

    program = build_i386(tmp_path, """
        void _start(void) {
            static const char text[] = "hi\\n";
            __asm__ volatile("movl $4,%%eax; movl $1,%%ebx; movl %0,%%ecx; movl $3,%%edx;"
                             "int $0x80;" "movl $1,%%eax; movl $5,%%ebx; int $0x80"
                             :: "r"(text) : "eax", "ebx", "ecx", "edx");
        }
    """, name="hello32")
    trace = tmp_path / "i386.ktr"
    done = ktr("record", "-q", "-o", str(trace), "--", str(program))
    assert done.returncode == 5
    assert done.stdout == b"hi\n"
    records = records_of(trace)
    emulations = [r.payload.name for r in of_kind(records, RecordKind.EMUL)]  # type: ignore[union-attr]
    assert emulations == [b"linux-x86_64", b"linux-i386"]
    after_exec = [r.payload for r in of_kind(records, RecordKind.SYSCALL)][1:]
    assert [(c.abi, c.nr) for c in after_exec] == [  # type: ignore[union-attr]
        (formats.Abi.I386, 4), (formats.Abi.I386, 1)]
    (write,) = [r.payload for r in of_kind(records, RecordKind.GENIO)]
    assert write.data == b"hi\n"  # type: ignore[union-attr]
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, check=True).stdout
    assert b"EMUL  \"linux-i386\"" in text
    assert b"CALL  write(1," in text and b"CALL  exit(5)" in text


def test_recording_from_python(tmp_path: Path) -> None:
    trace = tmp_path / "api.ktr"
    program = textwrap.dedent(f"""
        import ktr
        options = ktr.RecordOptions(output={str(trace)!r}, command=("sh", "-c", "exit 3"),
                                    quiet=True)
        report = ktr.record(options)
        print(report.exit_status, report.stats.records_written, report.result.processes)
    """)
    done = subprocess.run([PYTHON, "-c", program], capture_output=True, check=True)
    status, written, processes = (int(n) for n in done.stdout.split())
    assert (status, processes) == (3, 1)
    assert written == len(records_of(trace)) > 0


def _signal_pending(pid: int, signo: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    pending = 0
    for line in status.splitlines():
        if line.startswith(("SigPnd:", "ShdPnd:")):
            pending |= int(line.split()[1], 16)
    return bool(pending & (1 << (signo - 1)))


def test_a_second_interrupt_stops_a_command_that_ignores_the_first(tmp_path: Path) -> None:
    """The first ^C is the command's (under strace -o alike); one more stops the recording."""
    trace = tmp_path / "stubborn.ktr"
    recorder = subprocess.Popen(
        [KTR, "record", "-o", str(trace), "--", "sh", "-c",  # (not -q: it would not say why)
         "trap '' INT; echo ready; exec sleep 60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None
        assert recorder.stdout.readline() == b"ready\n"
        recorder.send_signal(signal.SIGINT)
        wait_until(lambda: not _signal_pending(recorder.pid, signal.SIGINT),
                   "the recorder to take the first SIGINT", timeout=5)
        assert recorder.poll() is None  # the command ignores it: the recording goes on
        for _ in range(5):  # (a second signal sent before the first was handled merges)
            recorder.send_signal(signal.SIGINT)
            try:
                recorder.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                continue
        _, stderr = recorder.communicate(timeout=10)
    finally:
        recorder.kill()
        recorder.wait()
    assert b"interrupted by SIGINT twice" in stderr
    records = records_of(trace)
    assert records[-1].kind == RecordKind.END
    end = records[-1].payload
    assert isinstance(end, formats.End)
    assert end.reason == b"interrupted by SIGINT twice"
    assert end.status == 128 + signal.SIGKILL  # the started command is killed (dt_proc's rule)
    assert recorder.returncode == -signal.SIGINT  # (the shell: 130, as for one ^C)


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_is_the_status_ktr_ends_with(tmp_path: Path, signo: int) -> None:
    """``kill -TERM <ktr>`` (or a closed terminal's SIGHUP): the command is killed, the END
    keeps its status (137), and ktr dies of the signal it was sent, as perf record does
    (the shell: 143 or 129, never 137, which reads as kill -9 or the OOM killer)."""
    trace = tmp_path / "stopped.ktr"
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "-o", str(trace), "--", "sh", "-c", "echo ready; exec sleep 60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None
        assert recorder.stdout.readline() == b"ready\n"  # (traced from its first call)
        recorder.send_signal(signo)
        _, stderr = recorder.communicate(timeout=30)
    finally:
        recorder.kill()
        recorder.wait()
    assert (recorder.returncode, stderr) == (-signo, b"")
    end = records_of(trace)[-1].payload
    assert isinstance(end, formats.End)
    assert (end.status, end.reason) == (
        128 + signal.SIGKILL, f"interrupted by {signal.Signals(signo).name}".encode())
    # ktr.cli.main (the Python API's command line) returns 128+N, dying of nothing
    program = ("import sys, ktr.cli\n"
               "sys.exit(ktr.cli.main(['record', '-q', '-o', sys.argv[1], '--', 'sh', '-c', "
               "'echo ready; exec sleep 60']))\n")
    recorder = subprocess.Popen([sys.executable, "-c", program, str(trace)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None
        assert recorder.stdout.readline() == b"ready\n"
        recorder.send_signal(signo)
        recorder.communicate(timeout=30)
    finally:
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == 128 + signo
