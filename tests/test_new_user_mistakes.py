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


@pytest.mark.parametrize(("expression", "said"), [
    ("status=failed", "ktr record: -e status= is not supported (only trace=; ktrdump -e "
                      "status= filters a recording)\n"),
    ("signal=none", "ktr record: -e signal= is not supported (only trace=; ktrdump -e "
                    "signal= filters a recording)\n"),
])
def test_record_points_to_ktrdump_for_the_filters_it_has(tmp_path: Path, expression: str,
                                                         said: str) -> None:
    # strace's status= and signal= are ktrdump's filters after the fact: said so
    done = _run(KTR, "record", "-o", "t.ktr", "-e", expression, "--", "true", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (2, said)
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("tool", ["ktr", "ktrdump"])
def test_a_class_without_its_percent_is_named(tmp_path: Path, tool: str) -> None:
    # strace 6.1 still takes trace=file (deprecated); ktr names the class it means
    argv = ([KTR, "record", "-o", "t.ktr", "-e", "trace=file", "--", "true"] if tool == "ktr"
            else [KTRDUMP, "-e", "trace=file", str(TRACE)])
    done = _run(*argv, cwd=tmp_path)
    prefix = "ktr record" if tool == "ktr" else "ktrdump"
    assert (done.returncode, done.stderr) == (
        2, f"{prefix}: unknown syscall 'file' in -e trace=file (the class is %file)\n")


def test_options_before_record_are_said_to_go_after_it(tmp_path: Path) -> None:
    done = _run(KTR, "-o", "x.ktr", "record", "--", "true", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2, "ktr: -o: options go after record (ktr record -o FILE ... -- CMD; see ktr record "
           "--help)\n")
    assert os.listdir(tmp_path) == []
    done = _run(KTR, "-x", cwd=tmp_path)  # no record at all: an unknown command still
    assert (done.returncode, done.stderr) == (
        2, "ktr: unknown command '-x' (try ktr record --help)\n")


def test_record_answers_version_as_ktr_does() -> None:
    # README: "Both commands answer --version"; ktr record --version was refused
    whole = _run(KTR, "--version")
    done = _run(KTR, "record", "--version")
    assert (done.returncode, done.stdout, done.stderr) == (0, whole.stdout, "")
    assert whole.stdout.startswith("ktr ")


@pytest.mark.parametrize(("suffix", "said"), [
    ("gz", "gzip-compressed, gunzip it first"),
    ("xz", "xz-compressed, unxz it first"),
    ("bz2", "bzip2-compressed, bunzip2 it first"),
    ("zst", "zstd-compressed, unzstd it first"),
])
def test_a_trace_compressed_whole_is_said_to_be(tmp_path: Path, suffix: str, said: str) -> None:
    # A trace gzipped to be kept was only "not a ktr trace file (bad magic)".
    import bz2
    import gzip
    import lzma

    import zstandard
    compress = {"gz": gzip.compress, "xz": lzma.compress, "bz2": bz2.compress,
                "zst": zstandard.ZstdCompressor().compress}[suffix]
    packed = tmp_path / f"calls.ktr.{suffix}"
    packed.write_bytes(compress(TRACE.read_bytes()))
    done = _run(KTRDUMP, str(packed))
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", f"ktrdump: {packed}: not a ktr trace file (bad magic: {said}) at byte "
               "offset 0\n")


def test_empty_facilities_are_refused_not_a_recording_of_nothing(tmp_path: Path) -> None:
    # -t "$UNSET" recorded BEGIN and END alone, exit 0
    done = _run(KTR, "record", "-o", "t.ktr", "-t", "", "--", "true", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        2, "ktr record: -t: no facility letters (+ is the default set, cnisuepa)\n")
    assert os.listdir(tmp_path) == []
