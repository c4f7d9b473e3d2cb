"""Removing many probes takes a grace period per probe (tens of ms each): ktr does it
after the trace is complete and its summary said, says it, and is not stopped by
Ctrl-C or SIGTERM while at it (the group would be left behind)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from control_support import wait_until
from probe_support import build_program, groups_of

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
FUNCTIONS = ("add3", "slen", "outer", "tag", "name_of", "pair")


class _Hold:
    """The writing end of ktr's hold fifo, opened once ktr waits on it (ENXIO before):
    ktr's read then blocks until ``release``."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.fd: int | None = None

    def opened(self) -> bool:
        try:
            self.fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:
                return False
            raise
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _own(stderr: str) -> list[str]:
    """The lines of stderr but a note on another recorder's leftovers (machine-wide)."""
    return [line for line in stderr.splitlines()
            if not line.startswith("ktr: removed probes left in tracefs by a dead recorder")]


def test_trace_and_summary_complete_before_the_probes_are_removed(tmp_path: Path) -> None:
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "many.ktr"
    probes = [arg for name in FUNCTIONS
              for arg in ("-P", f"{prog}:{name}", "-P", f"{prog}:{name}:return")]
    held = _Hold(hold)
    with open(tmp_path / "stderr", "w+") as stderr:
        recorder = subprocess.Popen(
            [*KTR, "record", "-t", "f", "-o", str(out), *probes, "--", str(prog), "basic"],
            stderr=stderr, stdout=subprocess.DEVNULL,
            env={**os.environ, SETUP_HOLD_TEST_ENV: f"teardown={hold}"})
        try:
            wait_until(held.opened, "ktr at its teardown")
            # the trace is complete and said before any probe goes
            assert groups_of(recorder.pid) != []
            dumped = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True,
                                    text=True, timeout=60)
            assert dumped.returncode == 0, dumped.stderr
            records = [json.loads(line) for line in dumped.stdout.splitlines()]
            assert records[-1]["type"] == "END"
            said = (tmp_path / "stderr").read_text()
            assert f"to {out}" in said.splitlines()[0], said
            assert said.splitlines()[1] == f"ktr: removing {2 * len(FUNCTIONS)} probes\u2026"
            recorder.send_signal(signal.SIGINT)
            recorder.send_signal(signal.SIGTERM)
            held.release()
            assert recorder.wait(60) == 0
        finally:
            held.release()
            recorder.kill()
            recorder.wait()
        stderr.seek(0)
        lines = _own(stderr.read())
    assert len(lines) == 2, lines  # (no traceback, nothing more)
    assert groups_of(recorder.pid) == []


def test_quiet_teardown_says_nothing(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    out = tmp_path / "quiet.ktr"
    probes = [arg for name in FUNCTIONS
              for arg in ("-P", f"{prog}:{name}", "-P", f"{prog}:{name}:return")]
    done = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), *probes, "--",
                           str(prog), "basic"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and _own(done.stderr) == [], done.stderr
