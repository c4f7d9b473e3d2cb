"""A failed output (the reader of ``-o -`` gone, a full disk) ends tracing at once,
however early it fails, and a started command is neither killed nor orphaned:
ktr waits for it, untraced, and exits 1.

Real processes throughout: ``ktr.record`` in a child Python (many recordings in
one process, so that a race shows within seconds), the installed ``ktr`` for the
command line, a real pipe reader and a real full tmpfs.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import IO

import pytest
from control_support import tracer_of, wait_until
from tmpfs_support import small_tmpfs

import formats
import ktrdump
from formats import RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")

# A command that ends by itself as soon as no tracer holds it (shell builtins
# only: while it is traced, every pass is syscalls and records keep coming).
UNTIL_UNTRACED = ('while :; do while read -r key value; do '
                  '[ "$key" = TracerPid: ] && tracer=$value; done < /proc/$$/status; '
                  '[ "$tracer" = 0 ] && exit 0; done')

# 20 recordings into a pipe whose reader (``head -c 1``) goes as soon as it has
# one byte, mostly before the writer's first batch (BEGIN): each must stop
# tracing then, for the started command (which then ends by itself) and for an
# attached process (which would sleep a minute, traced) alike.
LOOP = textwrap.dedent("""
    import io, os, subprocess, sys, time
    import ktr

    mode, until_untraced, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
    for round in range(rounds):
        read, write = os.pipe()
        reader = subprocess.Popen(["head", "-c", "1"], stdin=read, stdout=subprocess.DEVNULL)
        os.close(read)
        os.dup2(write, 1)
        os.close(write)
        if mode == "command":
            options = ktr.RecordOptions(output="-", command=("sh", "-c", until_untraced))
        else:
            # Not our child (the loop must not reap it): started by a shell that leaves.
            started = subprocess.run(["sh", "-c", "sleep 60 >/dev/null 2>&1 & echo $!"],
                                     capture_output=True, check=True, text=True)
            pid = int(started.stdout)
            options = ktr.RecordOptions(output="-", pids=(pid,))
        began = time.monotonic()
        report = ktr.record(options, io.StringIO())
        took = time.monotonic() - began
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        reader.wait()
        if mode != "command":
            with open(f"/proc/{pid}/status") as status:
                tracer = [line.split()[1] for line in status if line.startswith("TracerPid:")]
            os.kill(pid, 9)
            assert tracer == ["0"], tracer
        print(report.exit_status, report.result.detached, report.output_failure,
              f"{took:.3f}", file=sys.stderr, flush=True)
""")


@pytest.mark.parametrize("mode", ["command", "attached"])
def test_a_reader_gone_before_the_first_batch_stops_tracing_every_time(mode: str) -> None:
    rounds = 20
    done = subprocess.run([sys.executable, "-c", LOOP, mode, UNTIL_UNTRACED, str(rounds)],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == rounds, lines
    for line in lines:
        status, detached, failure = line.split(" ", 2)
        assert (status, detached) == ("1", "1"), line
        assert "cannot write trace to standard output: EPIPE (Broken pipe)" in failure, line


def _status_field(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return line.split()[1]
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def _await_untraced_notice(recorder: subprocess.Popen[bytes]) -> list[str]:
    """The stderr lines up to the one saying the command goes on untraced. (A
    command left to init would keep stderr open: no EOF, so a deadline.)"""
    assert recorder.stderr is not None
    fd = recorder.stderr.fileno()
    text = b""
    deadline = time.monotonic() + 20
    while b"continues untraced" not in text:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(fd, 4096) if ready else b""
        if not chunk:
            raise AssertionError(f"no line saying the command goes on untraced: {text!r}")
        text += chunk
    lines = text.decode().splitlines()
    return lines[:next(i for i, line in enumerate(lines) if "continues untraced" in line) + 1]


def _check_waits_for_the_command(recorder: subprocess.Popen[bytes], pid_file: Path,
                                 cause: str) -> int:
    """After the failure: one line names the cause, the command runs on, untraced,
    still ktr's child (not init's), and ktr has not exited. The command's pid."""
    lines = _await_untraced_notice(recorder)
    assert lines[-1].startswith(f"ktr: tracing stopped: {cause}; "), lines
    assert sum(cause in line for line in lines) == 1, lines
    wait_until(pid_file.exists, "the command to start")  # it may be let go before it runs
    pid = int(pid_file.read_text())
    assert recorder.poll() is None, "ktr left its command behind"
    assert tracer_of(pid) == 0
    assert int(_status_field(pid, "PPid")) == recorder.pid
    return pid


def _finish(recorder: subprocess.Popen[bytes], pid: int, stdin: IO[bytes] | None,
            cause: str) -> str:
    """ktr exits 1 once its command has ended, having reaped it; the cause,
    said already, is not repeated. What it printed since."""
    if stdin is not None:
        stdin.write(b"x\n")
        stdin.close()
    assert recorder.wait(timeout=30) == 1
    assert not Path(f"/proc/{pid}").exists()  # reaped by ktr, not handed to init
    assert recorder.stderr is not None
    rest = recorder.stderr.read().decode()
    assert cause not in rest, rest
    return rest


def _end(recorder: subprocess.Popen[bytes], pid_file: Path) -> None:
    """Whatever happened: no recorder, no command left behind."""
    recorder.kill()
    recorder.wait()
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text()), signal.SIGKILL)


@pytest.mark.parametrize("facilities", [[], ["-t", "w"]], ids=["ptrace", "without-ptrace"])
def test_a_command_outlives_a_gone_reader_and_ktr_waits_for_it(tmp_path: Path,
                                                               facilities: list[str]) -> None:
    pid_file = tmp_path / "pid"
    recorder = subprocess.Popen(
        [KTR, "record", "-q", *facilities, "-o", "-", "--", "sh", "-c",
         f"echo $$ > '{pid_file}.new'; mv '{pid_file}.new' '{pid_file}'; read x; exit 0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None
        recorder.stdout.read(1)  # head -c 1
        recorder.stdout.close()
        cause = "cannot write trace to standard output: EPIPE (Broken pipe)"
        pid = _check_waits_for_the_command(recorder, pid_file, cause)
        rest = _finish(recorder, pid, recorder.stdin, cause)
    finally:
        _end(recorder, pid_file)
    assert "tracing stopped" not in rest, rest


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_ktr_waiting_for_its_command_ends_both(tmp_path: Path,
                                                           signo: signal.Signals) -> None:
    pid_file = tmp_path / "pid"
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "-o", "-", "--", "sh", "-c",
         f"echo $$ > '{pid_file}.new'; mv '{pid_file}.new' '{pid_file}'; exec sleep 60"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None
        recorder.stdout.read(1)
        recorder.stdout.close()
        cause = "cannot write trace to standard output: EPIPE (Broken pipe)"
        pid = _check_waits_for_the_command(recorder, pid_file, cause)
        recorder.send_signal(signo)  # no terminal: passed on to the command
        _finish(recorder, pid, None, cause)
    finally:
        _end(recorder, pid_file)


def test_a_command_outlives_a_full_disk_and_ktr_waits_for_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with small_tmpfs(tmp_path / "small", free_pages=None) as small:
        trace = small / "t.ktr"
        # 300 reads of 4 KiB by a child (-i), their data recorded: far more than 64 KiB
        recorder = subprocess.Popen(
            [KTR, "record", "-q", "-i", "-o", str(trace), "--", "sh", "-c",
             f"echo $$ > '{pid_file}.new'; mv '{pid_file}.new' '{pid_file}'; "
             "dd if=/dev/zero of=/dev/null bs=4k count=300 2>/dev/null; read x; exit 0"],
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            cause = f"cannot write trace to {trace}: ENOSPC (No space left on device)"
            pid = _check_waits_for_the_command(recorder, pid_file, cause)
            _finish(recorder, pid, recorder.stdin, cause)
        finally:
            _end(recorder, pid_file)


def test_a_failed_begin_is_said_once_and_counted_apart_from_the_records(
        tmp_path: Path) -> None:
    """The output takes the file header and fails at the first record, BEGIN (a file
    size limit exactly the header's: EFBIG, every time). The cause is said once; the
    summary says BEGIN was lost and how many records besides it, no more than a
    whole recording of the same command holds."""
    trace = tmp_path / "t.ktr"
    command = [KTR, "record", "-o", str(trace), "--", "/bin/true"]
    whole = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
    with ktrdump.open(str(trace)) as reader:
        made = sum(1 for record in reader
                   if record.kind not in (RecordKind.BEGIN, RecordKind.END))
    header_size = formats.parse_file_header(trace.read_bytes())[1]
    assert "not written" not in whole.stderr
    limited = textwrap.dedent("""
        import os, resource, signal, sys
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit: EFBIG
        limit = int(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        os.execv(sys.argv[2], sys.argv[2:])
    """)
    done = subprocess.run([sys.executable, "-c", limited, str(header_size), *command],
                          capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 1, done.stderr
    assert trace.stat().st_size == header_size  # the header alone
    cause = f"cannot write trace to {trace}: EFBIG (File too large)"
    lines = done.stderr.splitlines()
    assert sum(cause in line for line in lines) == 1, lines
    assert lines[0].startswith(f"ktr: tracing stopped: {cause}; /bin/true (pid "), lines
    summary = lines[-1]
    assert summary.startswith(f"ktr: 0 records (0 B) to {trace}; 0 dropped; BEGIN and "), lines
    lost = int(summary.split("; ")[2].split()[2])
    assert 0 < lost <= made, (lost, made)
    assert summary.split("; ")[2] == (
        f"BEGIN and {lost} record{'s' if lost != 1 else ''} not written (the output failed)")


def test_a_command_under_the_seccomp_filter_is_said_killed_not_detached(tmp_path: Path) -> None:
    # README: a started command is not killed when the output fails, but one under the
    # seccomp filter (-e trace=write) cannot run untraced: it is killed, and that is said.
    pid_file = tmp_path / "pid"
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "-e", "trace=write", "-o", "-", "--", "sh", "-c",
         f"echo $$ > '{pid_file}.new'; mv '{pid_file}.new' '{pid_file}'; read x; exit 0"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert recorder.stdout is not None and recorder.stderr is not None
        recorder.stdout.read(1)  # head -c 1
        recorder.stdout.close()
        assert recorder.wait(timeout=30) == 1
        stderr = recorder.stderr.read().decode()
    finally:
        _end(recorder, pid_file)
    assert stderr.splitlines()[0] == (
        "ktr: tracing stopped: cannot write trace to standard output: EPIPE (Broken pipe); "
        "sh killed: a program under the seccomp filter cannot continue untraced "
        "(--no-seccomp lets it)"), stderr
    if pid_file.exists():
        assert not Path(f"/proc/{pid_file.read_text().strip()}").exists()
