"""``ktrdump --format strace -ff -tt -T -o PREFIX``: per-thread logs that lnav reads as strace's.

The oracle is lnav itself (its built-in ``strace_log`` format, run headless
with ``-n -c ';SELECT ...'``) and strace on the same workload: lnav must find
as many calls in ktr's files as in strace's own ``-ff -tt -T`` files.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
WORKLOAD = ["sh", "-c", "ls / > /dev/null; cat /etc/hostname > /dev/null"]
#: lnav 0.11's strace_log line (its format file, "std" regex), for counting lines it must match.
LNAV_STRACE = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{6} \w+\(.*\)\s+=\s+[-\w]+"
                         r"(?: \w+ \([^\)]+\))?(?: <\d+\.\d+>)?$")


def _lnav(home: Path, query: str, files: list[Path]) -> list[list[str]]:
    done = subprocess.run(["lnav", "-n", "-c", query, *map(str, files)], capture_output=True,
                          text=True, timeout=60, env={**os.environ, "HOME": str(home)},
                          check=True)
    return [line.split() for line in done.stdout.splitlines()[1:]]


@pytest.mark.skipif(shutil.which("lnav") is None, reason="lnav is not installed")
@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_lnav_reads_per_thread_files_as_strace_logs(tmp_path: Path) -> None:
    trace = tmp_path / "w.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(trace), "--", *WORKLOAD], check=True,
                   timeout=60)
    prefix = tmp_path / "ktr"
    done = subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-tt", "-T", "-o", str(prefix),
                           str(trace)], capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    ours = sorted(tmp_path.glob("ktr.*"))
    assert len(ours) == 3  # sh, ls, cat
    for path in ours:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        lines = path.read_text().splitlines()
        assert all(not line.split(" ", 1)[0].isdigit() or ":" in line.split(" ", 1)[0]
                   for line in lines)  # no thread column
        assert "<unfinished ...>" not in path.read_text()
    subprocess.run(["strace", "-ff", "-tt", "-T", "-o", str(tmp_path / "strace"), *WORKLOAD],
                   check=True, timeout=60)
    theirs = sorted(tmp_path.glob("strace.*"))
    assert len(theirs) == 3

    home = tmp_path / "home"
    home.mkdir()
    query = ";SELECT count(*) FROM strace_log WHERE syscall IS NOT NULL"
    ((our_calls,),) = _lnav(home, query, ours)
    ((their_calls,),) = _lnav(home, query, theirs)
    matching = sum(1 for path in ours for line in path.read_text().splitlines()
                   if LNAV_STRACE.match(line))
    assert int(our_calls) == matching > 100
    # The same workload: the same calls, give or take what the dynamic loader varies.
    assert abs(int(our_calls) - int(their_calls)) <= int(their_calls) // 10
    formats = _lnav(home, ";SELECT DISTINCT log_format FROM all_logs", ours)
    assert formats == [["strace_log"]]
    names = {row[0] for row in _lnav(home, ";SELECT DISTINCT syscall FROM strace_log "
                                           "WHERE syscall IS NOT NULL", ours)}
    assert {"execve", "openat", "read", "close", "mmap"} <= names


def test_per_thread_needs_a_prefix_and_the_strace_format(tmp_path: Path) -> None:
    for arguments in (["--format", "strace", "-ff"], ["-ff", "-o", str(tmp_path / "x")]):
        done = subprocess.run([KTRDUMP, *arguments, "nothing.ktr"], capture_output=True,
                              timeout=60)
        assert done.returncode == 2
        assert done.stderr.decode().count("\n") == 1 and b"-ff" in done.stderr


def test_output_file_is_private_and_never_a_symlink(tmp_path: Path) -> None:
    vectors = Path(__file__).resolve().parent / "vectors"
    target = tmp_path / "victim"
    target.write_text("keep")
    link = tmp_path / "link"
    link.symlink_to(target)
    done = subprocess.run([KTRDUMP, "-o", str(link), str(vectors / "calls.ktr")],
                          capture_output=True, timeout=60)
    assert done.returncode == 1 and b"symlink" in done.stderr
    assert target.read_text() == "keep"
    out = tmp_path / "out.txt"
    done = subprocess.run([KTRDUMP, "-o", str(out), str(vectors / "calls.ktr")],
                          capture_output=True, timeout=60)
    assert done.returncode == 0 and done.stdout == b""
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    expected = (vectors / "calls.txt").read_bytes()
    assert out.read_bytes() == expected


@pytest.mark.parametrize("view", [[], ["--format", "strace", "-ff"], ["--format", "parquet"],
                                  ["-l"]])
def test_an_input_is_never_an_output(tmp_path: Path, view: list[str]) -> None:
    """``-o`` naming the trace being read (or a hard link to it) is refused before any
    byte of it is touched: ktrdump must not destroy its input."""
    vectors = Path(__file__).resolve().parent / "vectors"
    trace = tmp_path / "t.ktr"
    shutil.copyfile(vectors / "calls.ktr", trace)
    original = trace.read_bytes()
    if "-ff" in view:
        output = tmp_path / "t.5000"  # the per-thread file of the trace's main thread
        os.link(trace, output)
    elif "--format" in view:
        pytest.importorskip("pyarrow")
        output = tmp_path / "t.processes.parquet"  # a table written beside NAME.parquet
        os.link(trace, output)
    else:
        output = trace
    target = tmp_path / "t" if "-ff" in view else (
        tmp_path / "t.parquet" if "--format" in view else output)
    before = sorted(tmp_path.iterdir())
    done = subprocess.run([KTRDUMP, *view, "-o", str(target), str(trace)],
                          capture_output=True, timeout=20)
    assert done.returncode == 1
    assert done.stderr.decode().splitlines()[-1] == (
        f"ktrdump: {output}: cannot write: it is a trace being read")
    assert trace.read_bytes() == original
    assert sorted(tmp_path.iterdir()) == before  # refused before any file was written


def test_dash_output_is_standard_output(tmp_path: Path) -> None:
    """``-o -`` is standard output (as for ktr record), not a file named ``-``."""
    vectors = Path(__file__).resolve().parent / "vectors"
    done = subprocess.run([KTRDUMP, "-o", "-", str(vectors / "calls.ktr")], cwd=tmp_path,
                          capture_output=True, timeout=20)
    assert done.returncode == 0 and not (tmp_path / "-").exists()
    assert done.stdout == (vectors / "calls.txt").read_bytes()
    refused = subprocess.run([KTRDUMP, "--format", "parquet", "-o", "-",
                              str(vectors / "calls.ktr")], capture_output=True, timeout=20)
    assert refused.returncode == 2 and refused.stderr.count(b"\n") == 1


@pytest.mark.parametrize("view", [[], ["--format", "strace"], ["--format", "json"],
                                  ["--format", "strace", "-ff"], ["--format", "parquet"],
                                  ["--format", "parquet", "table"]])
def test_a_file_with_other_hard_links_is_refused(tmp_path: Path, view: list[str]) -> None:
    """As ``ktr record -o``: emptying a file with two names would replace what the other
    name shows too (``ln notes.txt out.txt; ktrdump -o out.txt``). Refused in one line
    before any file of the view is written."""
    vectors = Path(__file__).resolve().parent / "vectors"
    other = tmp_path / "pub" / "notes.txt"
    other.parent.mkdir()
    other.write_text("important notes\n")
    if view[-1:] == ["table"]:
        pytest.importorskip("pyarrow")
        view = view[:-1]
        target, output = tmp_path / "out.parquet", tmp_path / "out.processes.parquet"
    elif "parquet" in view:
        pytest.importorskip("pyarrow")
        target = output = tmp_path / "out.parquet"
    elif "-ff" in view:
        target, output = tmp_path / "out", tmp_path / "out.5000"
    else:
        target = output = tmp_path / "out.txt"
    os.link(other, output)
    before = sorted(tmp_path.iterdir())
    done = subprocess.run([KTRDUMP, *view, "-o", str(target), str(vectors / "calls.ktr")],
                          capture_output=True, text=True, timeout=20)
    assert (done.returncode, done.stderr) == (1, (
        f"ktrdump: {output}: cannot write: it has 2 hard links (ktrdump writes only into "
        "a file with one)\n"))
    assert other.read_text() == "important notes\n"
    assert sorted(tmp_path.iterdir()) == before


def test_dev_stdout_and_dev_stderr_are_the_standard_streams(tmp_path: Path) -> None:
    """``-o /dev/stdout`` (strace users' habit) and ``-o /dev/stderr``: the streams
    themselves (a copy of the descriptor, not a reopen through the symlink); any other
    symlink is still refused."""
    vectors = Path(__file__).resolve().parent / "vectors"
    expected = (vectors / "calls.txt").read_bytes()
    to_stdout = subprocess.run([KTRDUMP, "-o", "/dev/stdout", str(vectors / "calls.ktr")],
                               capture_output=True, timeout=20)
    assert (to_stdout.returncode, to_stdout.stdout, to_stdout.stderr) == (0, expected, b"")
    to_stderr = subprocess.run([KTRDUMP, "-o", "/dev/stderr", str(vectors / "calls.ktr")],
                               capture_output=True, timeout=20)
    assert (to_stderr.returncode, to_stderr.stdout, to_stderr.stderr) == (0, b"", expected)
    # appended where the shell's >> left standard error, as its own writes are
    log = tmp_path / "log"
    log.write_bytes(b"before\n")
    with log.open("ab") as stream:
        done = subprocess.run([KTRDUMP, "-o", "/dev/stderr", str(vectors / "calls.ktr")],
                              stderr=stream, timeout=20)
    assert done.returncode == 0 and log.read_bytes() == b"before\n" + expected
    for name, files in (("/dev/stdout", ["--format", "parquet"]),
                        ("/dev/stderr", ["--format", "strace", "-ff"])):
        refused = subprocess.run([KTRDUMP, *files, "-o", name, str(vectors / "calls.ktr")],
                                 capture_output=True, text=True, timeout=20)
        assert refused.returncode == 2 and "cannot hold files" in refused.stderr
    closed = subprocess.run([KTRDUMP, "-o", "/dev/stderr", str(vectors / "calls.ktr")],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=20,
                            preexec_fn=lambda: os.close(2))
    assert closed.returncode == 1 and closed.stdout == b""
    link = tmp_path / "stdout"
    link.symlink_to("/dev/stdout")
    refused = subprocess.run([KTRDUMP, "-o", str(link), str(vectors / "calls.ktr")],
                             capture_output=True, text=True, timeout=20)
    assert refused.returncode == 1 and refused.stderr.endswith("it is a symlink\n")
