"""``ktrdump -l`` puts perf records in time order, as reading the file does.

Real recordings with perf rings (``-t w`` switches, ``-F`` samples): their
records reach the file a drain after the syscalls of the same moment, so the
file is not in time order (checked first: else a test would prove nothing).
The oracle is ``ktrdump FILE``, which reorders through a window: followed to its
END, the same file must give the same output, byte for byte, in every view that
follows. Live, a window would hold a quiet recording's last records until more
come; the follower lets them go once the file has been idle for the recorder's
drain and flush intervals (from the file header), so they are shown without the
recording ending, still in time order.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ktrdump_support import output_lines

import ktrdump

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
DEADLINE = 10.0

#: Syscalls, switches and samples: a shell that burns some CPU and runs children.
WORKLOAD = ("i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; "
            "for d in / /usr /etc; do ls $d >/dev/null; done")


def _file_order_is_not_time_order(trace: Path) -> bool:
    with ktrdump.open(trace) as reader:
        stamps = [record.timestamp_ns for record in reader]
    return stamps != sorted(stamps)


@pytest.fixture(scope="module")
def perf_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    trace = tmp_path_factory.mktemp("perf-order") / "perf.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "wc", "-F", "999", "-o", str(trace), "--",
                    "sh", "-c", WORKLOAD], check=True, timeout=60)
    assert _file_order_is_not_time_order(trace)
    return trace


@pytest.mark.parametrize("view", [[], ["--json"], ["--format", "strace"],
                                  ["--format", "chrome"], ["--summary"],
                                  ["--format", "folded"]],
                         ids=["text", "json", "strace", "chrome", "summary", "folded"])
def test_following_a_finished_perf_trace_shows_what_reading_it_shows(
        perf_trace: Path, view: list[str]) -> None:
    plain = subprocess.run([KTRDUMP, *view, str(perf_trace)], capture_output=True,
                           timeout=60)
    followed = subprocess.run([KTRDUMP, "-l", *view, str(perf_trace)], capture_output=True,
                              timeout=60)
    assert plain.returncode == followed.returncode == 0, followed.stderr
    assert plain.stdout  # (a view that showed nothing would compare nothing)
    assert followed.stdout == plain.stdout
    assert followed.stderr == plain.stderr


def _await_file(path: Path, recorder: subprocess.Popen[bytes]) -> None:
    """Until the recorder has created the file with its header (the follower needs it)."""
    deadline = time.monotonic() + DEADLINE
    while not (path.exists() and path.stat().st_size > 0):
        assert recorder.poll() is None, recorder.stderr.read() if recorder.stderr else ""
        assert time.monotonic() < deadline, "the recorder never created its file"
        time.sleep(0.005)


@pytest.mark.parametrize("through", ["file", "pipe"])
def test_a_quiet_live_recording_is_shown_in_time_order_without_ending(
        tmp_path: Path, through: str) -> None:
    """The traced shell blocks in ``read`` on a pipe this test holds: the follower
    shows that read's CALL (and everything before it, in time order) while the
    recording goes on; once it ends, what was shown live is the file's plain view.
    Followed as a file, or through a pipe (``ktr record -o - | tee FILE | ktrdump -l -``:
    the recorder's interactive flush interval then)."""
    trace = tmp_path / "live.ktr"
    # a short flush interval: the follower's idle time is the drain's and this
    command = [KTR, "record", "-q", "-t", "wc", "--flush-interval", "100",
               "--interactive-delay", "100", "-o", str(trace) if through == "file" else "-",
               "--", "sh", "-c", "ls / >/dev/null; read line; exit 0"]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        if through == "file":
            recorder = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            processes.append(recorder)
            _await_file(trace, recorder)
            follower = subprocess.Popen([KTRDUMP, "-l", "--json", str(trace)], bufsize=0,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            processes.append(follower)
        else:
            recorder = subprocess.Popen(command, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            processes.append(recorder)
            tee = subprocess.Popen(["tee", str(trace)], stdin=recorder.stdout,
                                   stdout=subprocess.PIPE)
            processes.append(tee)
            follower = subprocess.Popen([KTRDUMP, "-l", "--json", "-"], bufsize=0,
                                        stdin=tee.stdout, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
            processes.append(follower)
            assert recorder.stdout is not None and tee.stdout is not None
            recorder.stdout.close()  # theirs now
            tee.stdout.close()
        lines = output_lines(follower, DEADLINE)
        shown: list[str] = []
        for line in lines:
            shown.append(line)
            event = json.loads(line)
            if (event["type"] == "CALL" and event["syscall"] == "read"
                    and event["args"][0] == 0):
                break  # the shell's read of the pipe: nothing follows it until we write
        assert recorder.poll() is None  # shown while the recording goes on
        stamps = [json.loads(line)["ts"] for line in shown]
        assert stamps == sorted(stamps)
        assert any(json.loads(line)["type"] == "CSW" for line in shown)

        assert recorder.stdin is not None
        recorder.stdin.write(b"done\n")
        recorder.stdin.close()
        assert recorder.wait(DEADLINE) == 0
        shown.extend(lines)  # to the END: following ends there
        assert follower.wait(DEADLINE) == 0
        for process in processes:
            assert process.wait(DEADLINE) == 0
        assert _file_order_is_not_time_order(trace)
        plain = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True,
                               text=True, check=True, timeout=60)
        assert shown == plain.stdout.splitlines()
        assert follower.stderr is not None and follower.stderr.read() == b""
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait()
