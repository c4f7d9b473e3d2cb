"""ktrdump's progress line: on a terminal's stderr only, never in the data or a piped stderr."""

from __future__ import annotations

import io
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import build_trace, syscall_batch

from ktrdump import _progress
from ktrdump import cli as dump_cli

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")


@pytest.fixture()
def trace(tmp_path: Path) -> Path:
    data, _ = build_trace([syscall_batch(600) for _ in range(20)])
    path = tmp_path / "big.ktr"
    path.write_bytes(data)
    return path


def _terminal_run(arguments: list[str], monkeypatch: pytest.MonkeyPatch,
                  stdout: io.BytesIO) -> tuple[int, bytes]:
    monkeypatch.setattr(_progress, "DELAY_S", 0.0)
    monkeypatch.setattr(_progress, "INTERVAL_S", 0.0)
    controller, terminal = pty.openpty()
    stderr = open(terminal, "w", closefd=True)  # noqa: SIM115 - closed below
    try:
        status = dump_cli.run(dump_cli.parse_options(arguments), stdout, stderr)
        stderr.flush()
        drawn = b""
        while select.select([controller], [], [], 0.2)[0]:
            drawn += os.read(controller, 1 << 20)
    finally:
        stderr.close()
        os.close(controller)
    return status, drawn


@pytest.mark.parametrize("view", [["--summary"], ["--json"], ["--format", "chrome"]])
def test_progress_on_a_terminal_stderr(trace: Path, view: list[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = io.BytesIO()
    status, drawn = _terminal_run([*view, str(trace)], monkeypatch, stdout)
    assert status == 0
    assert b"ktrdump: " in drawn and b"% of " in drawn and b" records" in drawn
    assert drawn.endswith(b"\r\x1b[K")  # erased at the end
    assert b"ktrdump: " not in stdout.getvalue()  # the data is untouched
    piped = subprocess.run([KTRDUMP, *view, str(trace)], capture_output=True, check=True)
    assert piped.stdout == stdout.getvalue()


def test_no_progress_when_stderr_is_piped(trace: Path) -> None:
    done = subprocess.run([KTRDUMP, "--summary", str(trace)], capture_output=True, check=True,
                          env={**os.environ})
    assert done.stderr == b""
    assert b"ktrdump:" not in done.stdout


def test_no_progress_when_records_go_to_the_same_terminal(trace: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        stream = open(terminal, "w", closefd=False)  # noqa: SIM115
        progress = _progress.progress_for(stream, stream, writes_as_it_goes=True, live=False,
                                          position=lambda: 0, total_bytes=1)
        assert progress is None
        assert _progress.progress_for(stream, stream, writes_as_it_goes=False, live=False,
                                      position=lambda: 0, total_bytes=1) is not None
        assert _progress.progress_for(io.BytesIO(), stream, writes_as_it_goes=True, live=True,
                                      position=lambda: 0, total_bytes=1) is None
    finally:
        os.close(terminal)
        os.close(controller)


def test_progress_of_a_parquet_export(trace: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow")
    stdout = io.BytesIO()
    status, drawn = _terminal_run(["--format", "parquet", "-o", str(tmp_path / "c.parquet"),
                                   str(trace)], monkeypatch, stdout)
    assert status == 0 and stdout.getvalue() == b""
    assert b"% of " in drawn and drawn.endswith(b"\r\x1b[K")
