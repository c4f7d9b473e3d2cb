"""The recorder's terminal: the traced program's output is never overwritten by the status line.

A pseudo-terminal stands in for the user's terminal; every byte the program
writes must arrive on it intact, in order, with no status line drawn over it.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")


def _read_until(controller: int, wanted: bytes, seen: bytes, deadline: float) -> bytes:
    while wanted not in seen:
        assert time.monotonic() < deadline, seen
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_program_output_on_the_same_terminal_arrives_intact(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        # The program writes a partial line, waits longer than the status
        # interval, then ends the line: a status line would land in between.
        recorder = subprocess.Popen(
            [KTR, "record", "-o", str(tmp_path / "t.ktr"), "--", "sh", "-c",
             "printf 'line 1 '; sleep 1.2; printf 'line 2\\n'; printf 'tail\\n' >&2"],
            stdin=terminal, stdout=terminal, stderr=terminal, start_new_session=True)
        os.close(terminal)
        terminal = -1
        seen = _read_until(controller, b" dropped; ", b"", time.monotonic() + 20)
        assert recorder.wait(timeout=20) == 0
        seen = _read_until(controller, b"1 process, 1 thread\r\n", seen, time.monotonic() + 5)
        program, summary = seen.split(b"ktr: ", 1)
        assert program == b"line 1 line 2\r\ntail\r\n"
        assert b"\r" not in summary.rstrip(b"\r\n") and b"\x1b" not in seen
        assert summary.endswith(b"; 1 process, 1 thread\r\n")
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)


def test_status_line_when_the_traced_program_does_not_use_the_terminal(tmp_path: Path) -> None:
    target = subprocess.Popen(
        [sys.executable, "-c", "import time\nwhile True: time.sleep(0.05)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # no controlling terminal either
    controller, terminal = pty.openpty()
    try:
        recorder = subprocess.Popen(
            [KTR, "record", "-o", str(tmp_path / "t.ktr"), "-p", str(target.pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
        os.close(terminal)
        terminal = -1
        deadline = time.monotonic() + 20
        seen = _read_until(controller, b"1 process traced", b"", deadline)
        assert b"\rktr: " in seen
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(timeout=20) == 0
        seen = _read_until(controller, b"detached", seen, deadline)
        assert b"\r\x1b[K" in seen  # the live line is erased before the summary
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
        target.kill()
        target.wait()


def test_the_status_line_counts_records_as_they_are_made(tmp_path: Path) -> None:
    """Into a file the writer batches every second: the status line still shows the
    records made so far (600 and more syscalls here), not the one written."""
    import re
    import select

    target = subprocess.Popen(
        ["sh", "-c", "read x; i=0; while [ $i -lt 300 ]; do : > /dev/null; i=$((i+1)); "
         "done; read y"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    master, slave = pty.openpty()
    recorder = subprocess.Popen(
        [str(Path(sys.executable).parent / "ktr"), "record", "-o", str(tmp_path / "t.ktr"),
         "-p", str(target.pid)],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    assert target.stdin is not None
    try:
        text = ""
        deadline = time.monotonic() + 20
        started = False
        while True:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, f"no status line counting 600 records: {text!r}"
            text += os.read(master, 4096).decode(errors="replace")
            if not started and "recorded" in text:
                target.stdin.write(b"go\n")  # attached and reporting: make records
                target.stdin.flush()
                started = True
            counts = [int(n) for n in re.findall(r"(\d+) records recorded", text)]
            if counts and counts[-1] >= 600:
                break
        assert "1 process traced" in text
    finally:
        recorder.send_signal(signal.SIGTERM)
        recorder.wait(timeout=30)
        target.kill()
        target.wait()
        os.close(master)
