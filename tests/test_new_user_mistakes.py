"""Mistakes a new user makes with ``ktr`` and ``ktrdump``: one line that says what
is wrong, the usual exit status, nothing written where it must not be."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
TRACE = Path(__file__).parent / "vectors" / "calls.ktr"


def _run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=cwd,
                          stdin=subprocess.DEVNULL)


def test_an_empty_output_name_is_named_as_such(tmp_path: Path) -> None:
    done = _run(KTR, "record", "-o", "", "--", "true", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2, "ktr record: -o: the file name is empty (give -o FILE, or -o - for standard "
           "output)\n")
    done = _run(KTRDUMP, "-o", "", str(TRACE))
    assert (done.returncode, done.stderr) == (
        2, "ktrdump: -o: the file name is empty (give -o FILE, or -o - for standard "
           "output)\n")


def test_a_binary_trace_is_not_written_to_a_terminal(tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run([KTR, "record", "-q", "-o", "-", "--", "true"], stdin=terminal,
                              stdout=terminal, stderr=subprocess.PIPE, text=True, timeout=60,
                              cwd=tmp_path)
        os.close(terminal)
        terminal = -1
        os.set_blocking(controller, False)
        try:
            shown = os.read(controller, 4096)
        except (BlockingIOError, OSError):  # nothing there (EIO: no writer left)
            shown = b""
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)
    assert done.returncode == 1
    assert done.stderr == ("ktr: refusing to write a binary trace to the terminal (-o -): pipe "
                           "it (ktr record -o - ... | ktrdump -) or give -o FILE\n")
    assert b"KTR" not in shown
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("second", ["same", "./same"])
def test_one_trace_given_twice_is_refused_not_shown_twice(tmp_path: Path, second: str) -> None:
    (tmp_path / "same").write_bytes(TRACE.read_bytes())
    done = _run(KTRDUMP, "same", second, cwd=tmp_path)
    what = "given twice" if second == "same" else "the same file as same"
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"ktrdump: {second}: {what}: each trace is read once\n"


@pytest.mark.parametrize("view", [["--json"], ["--format", "chrome"], ["--format", "calls"],
                                  ["--format", "folded"]])
def test_a_summary_in_another_format_is_refused_not_given_as_text(view: list[str]) -> None:
    done = _run(KTRDUMP, "--summary", *view, str(TRACE))
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (f"ktrdump: --summary prints strace -c's table: it does not go "
                           f"with --format {view[-1].removeprefix('--')}\n")


def test_a_summary_in_text_or_strace_format_is_still_the_table() -> None:
    for view in ([], ["--format", "strace"], ["--format", "text"]):
        done = _run(KTRDUMP, "--summary", *view, str(TRACE))
        assert done.returncode == 0 and done.stdout.startswith("% time"), done.stderr
