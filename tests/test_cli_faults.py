"""Faults around both commands are one line and a meaningful status, never a traceback.

A full disk (/dev/full), a closed stdin, stdout or stderr, as a shell makes
them (``>&-``): the installed commands run in a subprocess, as a user runs them.
"""

from __future__ import annotations

import fcntl
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from control_support import wait_until
from tmpfs_support import small_tmpfs

import formats

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
VECTORS = Path(__file__).parent / "vectors"
TRACE = str(VECTORS / "calls.ktr")
FULL = "cannot write to standard output: ENOSPC (No space left on device)"


def shell(command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, shell=True, capture_output=True, text=True, timeout=30,
                          cwd=cwd, check=False)


def assert_one_line(done: subprocess.CompletedProcess[str], line: str,
                    status: int = 1) -> None:
    assert done.returncode == status, done.stderr
    assert done.stderr.splitlines() == [line]


@pytest.mark.parametrize("view", [
    [], ["--json"], ["--format", "strace"], ["--summary"], ["--format", "chrome"],
    ["-y", "--durations", "-T"], ["-l"],
], ids=lambda view: " ".join(view) or "text")
def test_ktrdump_on_a_full_disk(view: list[str]) -> None:
    done = shell(f"'{KTRDUMP}' {' '.join(view)} '{TRACE}' > /dev/full")
    assert_one_line(done, f"ktrdump: {FULL}")


def test_ktrdump_merge_on_a_full_disk() -> None:
    other = VECTORS / "all_kinds.ktr"
    done = shell(f"'{KTRDUMP}' '{TRACE}' '{other}' > /dev/full")
    assert_one_line(done, f"ktrdump: {FULL}")


@pytest.mark.parametrize("option", ["--help", "--version"])
def test_ktrdump_help_on_a_full_disk_or_closed_stdout(option: str) -> None:
    assert_one_line(shell(f"'{KTRDUMP}' {option} > /dev/full"), f"ktrdump: {FULL}")
    assert_one_line(shell(f"'{KTRDUMP}' {option} >&-"),
                    "ktrdump: cannot write to standard output: it is closed")


def test_ktrdump_with_closed_stdout() -> None:
    done = shell(f"'{KTRDUMP}' '{TRACE}' >&-")
    assert_one_line(done, "ktrdump: cannot write to standard output: it is closed")


def test_ktrdump_to_a_file_with_closed_stdout(tmp_path: Path) -> None:
    # -o FILE does not use standard output: closed, the dump is the same as with it open
    assert shell(f"'{KTRDUMP}' -y -o open.txt '{TRACE}'", cwd=tmp_path).returncode == 0
    done = shell(f"'{KTRDUMP}' -y -o closed.txt '{TRACE}' >&-", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert (tmp_path / "closed.txt").read_bytes() == (tmp_path / "open.txt").read_bytes()
    done = shell(f"'{KTRDUMP}' --format strace -ff -o per '{TRACE}' >&-", cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == ""
    assert sorted(tmp_path.glob("per.*")) and all(p.stat().st_size for p in tmp_path.glob("per.*"))
    # -o - is standard output still
    assert_one_line(shell(f"'{KTRDUMP}' -o - '{TRACE}' >&-"),
                    "ktrdump: cannot write to standard output: it is closed")


def test_ktrdump_with_closed_stdin() -> None:
    done = shell(f"'{KTRDUMP}' - <&-")
    assert_one_line(done, "ktrdump: <stdin>: standard input is closed")
    done = shell(f"'{KTRDUMP}' -l - <&-")
    assert_one_line(done, "ktrdump: <stdin>: standard input is closed")
    # A file argument does not need stdin at all.
    done = shell(f"'{KTRDUMP}' '{TRACE}' <&-")
    assert done.returncode == 0 and done.stderr == "" and done.stdout


def test_ktrdump_with_closed_stderr() -> None:
    done = shell(f"'{KTRDUMP}' '{TRACE}' 2>&-")
    assert done.returncode == 0 and done.stdout
    # Nothing can be said, but the status still tells.
    assert shell(f"'{KTRDUMP}' '{TRACE}' 2>&- > /dev/full").returncode == 1
    assert shell(f"'{KTRDUMP}' absent.ktr 2>&-").returncode == 1
    assert shell(f"'{KTRDUMP}' '{TRACE}' 2>/dev/full > /dev/full").returncode == 1


def test_ktr_record_to_standard_output_closed_or_full(tmp_path: Path) -> None:
    done = shell(f"'{KTR}' record -q -o - -- true >&-")
    assert_one_line(done, "ktr: cannot write trace to standard output: it is closed")
    done = shell(f"'{KTR}' record -q -o - -- true > /dev/full")
    assert_one_line(done, "ktr: cannot write trace to standard output: "
                          "ENOSPC (No space left on device)")


@pytest.mark.parametrize("option", ["--help", "record --help", "--version",
                                    "record --list-counters"])
def test_ktr_help_on_a_full_disk_or_closed_stdout(option: str) -> None:
    assert_one_line(shell(f"'{KTR}' {option} > /dev/full"), f"ktr: {FULL}")
    assert_one_line(shell(f"'{KTR}' {option} >&-"),
                    "ktr: cannot write to standard output: it is closed")


@pytest.mark.parametrize("redirection", ["<&-", ">&-", "2>&-"])
def test_ktr_record_keeps_a_closed_fd_closed_for_the_command(tmp_path: Path,
                                                              redirection: str) -> None:
    fd = {"<&-": 0, ">&-": 1, "2>&-": 2}[redirection]
    trace = tmp_path / "t.ktr"
    # The command exits 7 if it finds the fd open: ktr's placeholder must not leak.
    done = shell(f"'{KTR}' record -q -o '{trace}' -- sh -c '[ -e /proc/self/fd/{fd} ] "
                 f"&& exit 7; exit 0' {redirection}")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert trace.read_bytes().startswith(formats.FILE_MAGIC)
    # And nothing meant for stderr went into the trace through a reused fd.
    check = shell(f"'{KTRDUMP}' '{trace}'")
    assert check.returncode == 0, check.stderr


def test_ktr_record_with_stderr_full_keeps_the_commands_status(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    done = shell(f"'{KTR}' record -o '{trace}' -- sh -c 'exit 3' 2>/dev/full")
    assert done.returncode == 3
    assert shell(f"'{KTR}' record -o '{trace}' -- true 2>/dev/full").returncode == 0


# -- numeric options: ranges checked at parse time ---------------------------


@pytest.mark.parametrize(("option", "value"), [
    ("--wake-delay", "1e308"), ("--wake-delay", "inf"), ("--wake-delay", "nan"),
    ("--wake-delay", "-1"), ("--wake-delay", "0"), ("--flush-interval", "0"),
    ("--flush-interval", "inf"), ("--interactive-delay", "inf"),
    ("--interactive-delay", "1e9"), ("--timeout", "1e308"), ("--timeout", "nan"),
    ("--timeout", "0"), ("--spin-us", "99999999999"), ("--spin-us", "-1"),
    ("--queue-max", "0"), ("--queue-max", "10000001"), ("--queue-max", "1e3"),
    ("--delay-count", "-1"), ("--delay-count", "1e308"), ("-g", "0"), ("-g", "99999999999"),
    ("--interval", "nan"), ("--interval", "inf"), ("--interval", "0.5"),
    ("--max-probes", "0"), ("--max-probes", "99999999999"),
    ("--timeout", "inf"), ("--timeout", "1e500"), ("--spin-us", "inf"),
    ("--interval", "1e500"), ("--max-probes", "nan"), ("--queue-bytes", "1e500"),
])
def test_out_of_range_numbers_are_one_line_usage_errors(option: str, value: str) -> None:
    done = subprocess.run([KTR, "record", option, value, "-o", "/dev/null", "--", "true"],
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    # (an option with two names is named by both: --flush-interval/--wake-delay)
    named, _, reason = lines[0].removeprefix("ktr record: argument ").partition(": ")
    assert option in named.split("/")
    assert reason.startswith("must be ")
    assert f"not {value!r}" in lines[0]


def test_out_of_range_pid_is_a_usage_error() -> None:
    done = subprocess.run([KTR, "record", "-p", "5000000", "-o", "/dev/null"],
                          capture_output=True, text=True, timeout=20, check=False)
    assert done.returncode == 2
    assert done.stderr == "ktr record: -p: 5000000 is not a process id (1 to 4194304)\n"


def test_ranges_are_documented_in_help() -> None:
    text = subprocess.run([KTR, "record", "--help"], capture_output=True, text=True,
                          timeout=20, check=True).stdout
    for documented in ("1 to 1000000)", "0.001 to 3600)", "0.001 to 3600000)",
                       "0 always blocks; 0 to 1000000)"):
        assert documented in " ".join(text.split()), documented


def test_the_python_api_checks_the_same_ranges() -> None:
    import ktr
    from ktr._descriptor import QueueParameters
    from ktr.errors import UsageError

    for bad in ({"wakedelay_ms": float("inf")}, {"timeout_s": 1e308},
                {"intrwakdl_ms": float("nan")}, {"maxentry": 0}, {"delayqcnt": 10**9}):
        with pytest.raises(UsageError):
            QueueParameters(**bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="--spin-us"):
        ktr.RecordOptions(spin_us=10**12, command=("true",))


@pytest.mark.parametrize(("arguments", "fields"), [
    (["-s", "-5"], {"io_bytes": -5}),
    (["-s", str(1 << 24)], {"io_bytes": 1 << 24}),
    (["-F", "0"], {"sample_hz": 0}),
    (["-F", "100001"], {"sample_hz": 100_001}),
    (["--stack-bytes", "-1"], {"stack_bytes": -1}),
    (["--stack-bytes", "65536"], {"stack_bytes": 65536}),
    (["-o", ""], {"output": ""}),
    (["-p", "5000000"], {"pids": (5_000_000,), "command": ()}),
])
def test_the_python_api_refuses_what_the_command_line_refuses(
        arguments: list[str], fields: dict[str, object]) -> None:
    """``ktr.RecordOptions(io_bytes=-5)`` recorded every I/O call with its data cut to
    nothing; ``ktr record -s -5`` is refused. One check (the dataclass's), one message."""
    import ktr
    from ktr.errors import UsageError

    command = () if "pids" in fields else ("--", "true")
    done = subprocess.run([KTR, "record", *arguments, *command], capture_output=True,
                          text=True, timeout=20, check=False)
    assert done.returncode == 2
    with pytest.raises(UsageError) as raised:
        ktr.RecordOptions(**{"command": ("true",), **fields})  # type: ignore[arg-type]
    assert done.stderr == f"{raised.value}\n"


# -- the recorder stays responsive to signals whatever the options ------------


def _asleep_in_nanosleep(pid: int) -> bool:
    try:
        syscall = Path(f"/proc/{pid}/syscall").read_text().split()
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return False
    # nanosleep (35) or clock_nanosleep (230), entered by sleep itself
    return comm == "sleep" and bool(syscall) and syscall[0] in ("35", "230")


def test_sigterm_ends_a_recording_spinning_the_longest(tmp_path: Path) -> None:
    """With --spin-us at its maximum (1 s), SIGTERM must not wait for the spin to end."""
    trace = tmp_path / "t.ktr"
    # The command says its pid and sleeps; once it is asleep in the kernel the
    # recorder spins on waitpid for its next stop, for a whole second.
    recorder = subprocess.Popen(
        [KTR, "record", "-q", "--spin-us", "1000000", "-o", str(trace), "--",
         "sh", "-c", "echo $$; exec sleep 30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert recorder.stdout is not None
    try:
        pid = int(recorder.stdout.readline())
        wait_until(lambda: _asleep_in_nanosleep(pid), "sleep to be asleep", timeout=10)
        started = time.monotonic()
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(timeout=20)
        elapsed = time.monotonic() - started
    finally:
        recorder.kill()
        recorder.wait()
    assert b"Traceback" not in (recorder.stderr.read() if recorder.stderr else b"")
    # Before the fix this took the rest of the spin (~1 s); now the stop
    # request is checked while spinning. Generous for a loaded machine.
    assert elapsed < 0.8, elapsed


def test_the_command_exits_quickly_yet_runs_exit_hooks_and_flushes(tmp_path: Path) -> None:
    """``ktr.cli.run`` skips the interpreter's teardown, not the exit handlers or
    buffered output; the status is the traced command's."""
    trace = tmp_path / "t.ktr"
    script = (
        "import atexit, sys, ktr.cli\n"
        "atexit.register(lambda: print('exit hook ran'))\n"
        "sys.stdout.write('buffered before the run ')\n"
        f"sys.argv = ['ktr', 'record', '-q', '-o', {str(trace)!r}, '--', 'sh', '-c', 'exit 5']\n"
        "ktr.cli.run()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 5, done.stderr
    assert done.stdout == "buffered before the run exit hook ran\n"
    assert done.stderr == ""
    assert trace.stat().st_size > 0


def test_records_lost_to_a_failed_output_are_counted_in_the_summary() -> None:
    # The reader takes the file header and goes: the first batch gets EPIPE.
    # The records queued then, and those made before tracing stopped, are
    # said to be lost (nothing is lost silently), with -q too.
    done = shell(f"'{KTR}' record -q -o - -- sh -c 'ls -R /usr/share/doc > /dev/null' "
                 "| head -c 64 > /dev/null")
    lines = done.stderr.splitlines()
    cause = "cannot write trace to standard output: EPIPE (Broken pipe)"
    assert [line for line in lines if cause in line] == [
        line for line in lines if line.startswith(f"ktr: tracing stopped: {cause}")], lines
    assert sum(cause in line for line in lines) == 1, lines  # said once
    summary = [line for line in lines if "not written (the output failed)" in line]
    assert len(summary) == 1, lines
    # "N records not written", or "BEGIN and N records" when the reader left before it
    lost = summary[0].split("; ")[2].split()
    unwritten = int(lost[2] if lost[0] == "BEGIN" else lost[0])
    assert unwritten > 0


def test_a_reader_gone_during_the_recording_is_a_failure_even_if_the_command_succeeds(
        tmp_path: Path) -> None:
    """``ktr record -o - -- CMD | head -c 100``: the records after the reader left
    are lost, so the status is 1, not the command's 0 (even when it has exited)."""
    pid_file = tmp_path / "pid"
    recorder = subprocess.Popen(
        # the writer waits a minute before writing what is queued: only the
        # writes at the end of the recording, the command gone, meet the pipe
        [KTR, "record", "-q", "--interactive-delay", "60000", "-o", "-", "--",
         "sh", "-c", f"echo $$ > '{pid_file}'; exec head -c 1 > /dev/null"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert recorder.stdin is not None and recorder.stdout is not None
    try:
        # A one-page pipe: the records of the command's whole run cannot all fit,
        # so the recorder is still writing them when the reader goes.
        fcntl.fcntl(recorder.stdout.fileno(), fcntl.F_SETPIPE_SZ, 4096)
        wait_until(lambda: pid_file.exists() and pid_file.read_text().endswith("\n"),
                   "the command to start")
        pid = int(pid_file.read_text())
        recorder.stdin.write(b"x")
        recorder.stdin.close()
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), "the command to be reaped")
        recorder.stdout.close()
        recorder.wait(timeout=30)
    finally:
        recorder.kill()
        recorder.wait()
    stderr = recorder.stderr.read().decode() if recorder.stderr else ""
    assert "ktr: tracing stopped: cannot write trace to standard output: EPIPE" in stderr
    assert recorder.returncode == 1, stderr


def test_a_full_disk_leaves_whole_batches_and_a_failure_status(tmp_path: Path) -> None:
    """The batch a full disk tore is cut off again: ktrdump finds a recording cut
    short after its last whole batch, not a damaged tail; the status is 1."""
    with small_tmpfs(tmp_path / "small", free_pages=None) as small:
        trace = small / "t.ktr"
        # 300 reads of 4 KiB, their data recorded: far more than 64 KiB
        done = subprocess.run(
            [KTR, "record", "-q", "-o", str(trace), "--", "dd", "if=/dev/zero",
             "of=/dev/null", "bs=4k", "count=300"],
            capture_output=True, text=True, timeout=60)
        size = trace.stat().st_size
        dumped = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                                timeout=60)
    assert f"ktr: tracing stopped: cannot write trace to {trace}: ENOSPC" in done.stderr
    assert done.returncode == 1, done.stderr
    assert "BEGIN" in dumped.stdout  # the whole batches before the failure are kept
    assert dumped.stderr.splitlines() == [
        f"ktrdump: {trace}: no END record at byte offset {size} (end of input): the "
        "recording is still being written, or it was cut short (ktr record was killed, or "
        "its output failed) and records it had not written are missing"], dumped.stderr
