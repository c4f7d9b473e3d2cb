"""Options that would do nothing say so in one line instead of being silently ignored.

``-S``/``-U`` shape the summary (strace: "-U/--summary-columns must be given with
-c", "-S has no effect without -c"); ``--no-call-args`` is the chrome view's; a
second ``-f FILE`` used to replace the first (only the last trace was read).
Each used to print the records with status 0, the option unheeded.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("scope")
    first, second = directory / "a.ktr", directory / "b.ktr"
    for path, command in ((first, ["true"]), (second, ["false"])):
        subprocess.run([KTR, "record", "-q", "-o", str(path), "--", *command], timeout=60)
    return first, second


def dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, *arguments], capture_output=True, text=True, timeout=60)


def refused(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, lines
    assert all(word in lines[0] for word in words), lines[0]


@pytest.mark.parametrize("option", [["-S", "calls"], ["-U", "name,calls"]])
@pytest.mark.parametrize("view", [[], ["--format", "strace"]])
def test_summary_shapes_need_the_summary(traces: tuple[Path, Path], option: list[str],
                                         view: list[str]) -> None:
    refused(dump(*view, *option, str(traces[0])), option[0], "--summary")
    done = dump("-c", *option, str(traces[0]))
    assert done.returncode == 0, done.stderr
    assert "calls" in done.stdout


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_strace_refuses_U_without_c_too() -> None:
    done = subprocess.run(["strace", "-U", "calls", "true"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode != 0 and "-c" in done.stderr


def test_no_call_args_needs_the_chrome_view(traces: tuple[Path, Path]) -> None:
    refused(dump("--no-call-args", str(traces[0])), "--no-call-args", "--format chrome")
    refused(dump("--json", "--no-call-args", str(traces[0])), "--no-call-args")
    done = dump("--format", "chrome", "--no-call-args", str(traces[0]))
    assert done.returncode == 0, done.stderr


def test_f_twice_is_refused_not_half_read(traces: tuple[Path, Path]) -> None:
    first, second = traces
    refused(dump("-f", str(first), "-f", str(second)), "-f", "FILE")
    merged = dump(str(first), str(second))  # what the user can give instead
    assert merged.returncode == 0, merged.stderr
    assert '"true"' in merged.stdout and '"false"' in merged.stdout
    assert dump("-f", str(first)).stdout == dump(str(first)).stdout


def test_p_takes_a_comma_separated_list_as_ktr_record_p_does(tmp_path: Path) -> None:
    """``ktr record -p 1,2`` and ``strace -p 1,2`` take a list; ktrdump's -p said
    "not a whole number: '1,2'"."""
    path = tmp_path / "i.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-o", str(path), "--", "sh", "-c",
                    "/bin/true; /bin/true; /bin/true"], check=True, timeout=60)
    listed = dump("-t", "p", str(path)).stdout
    pids = sorted({int(line.split()[0]) for line in listed.splitlines()} - {0})
    assert len(pids) == 4, listed  # the shell and its three children
    one, two = str(pids[1]), str(pids[2])
    separate = dump("-t", "p", "-p", one, "-p", two, str(path))
    joined = dump("-t", "p", "-p", f"{one},{two}", str(path))
    assert joined.returncode == 0, joined.stderr
    assert joined.stdout == separate.stdout
    assert {int(line.split()[0]) for line in joined.stdout.splitlines()} == {pids[1], pids[2]}
    refused(dump("-p", f"{one},", str(path)), "-p", "'' is not a process id")
