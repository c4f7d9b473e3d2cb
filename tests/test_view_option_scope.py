"""View options are honoured in every view where they mean something, refused where not.

``-m N`` cut the text, strace and chrome views' I/O data but not ``--json``'s (a
jq user cutting data sizes got everything); ``-y`` named fds in the text, json
and strace views but not in chrome's ``arguments``. The text view's layout
options (``-H``, ``-E``, ``-R``, ``--durations``, ``-d``, ``-s``) did nothing in
views with fixed fields, silently, status 0. Oracles: the file the traced
``cat`` read (its bytes, its length) and strace -y's own spelling of the fd.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"

CONTENT = bytes(range(256)) * 3 + b"tail of the file\n"


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("viewscope")
    data = directory / "data.bin"
    data.write_bytes(CONTENT)
    trace = directory / "cat.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "cat", str(data)],
                   check=True, timeout=60, stdout=subprocess.DEVNULL)
    return trace, data


def dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, *arguments], capture_output=True, text=True, timeout=60)


def file_reads(lines: str) -> list[dict[str, object]]:
    """The GIO records of cat's read of the data file (fd 3)."""
    records = [json.loads(line) for line in lines.splitlines()]
    return [r for r in records if r["type"] == "GIO" and r["rw"] == "read" and r["fd"] == 3]


def test_json_max_data_cuts_gio_data(traced: tuple[Path, Path]) -> None:
    trace, _data = traced
    whole = dump("--json", str(trace))
    assert whole.returncode == 0, whole.stderr
    [read] = [r for r in file_reads(whole.stdout) if r["len"] == len(CONTENT)]
    assert read["len"] == len(CONTENT) and bytes.fromhex(str(read["data"])) == CONTENT
    assert read["truncated"] is False
    for limit in (0, 5, len(CONTENT) - 1):
        done = dump("--json", "-m", str(limit), str(trace))
        assert done.returncode == 0, done.stderr
        [cut] = [r for r in file_reads(done.stdout) if r["len"] == len(CONTENT)]
        assert cut["len"] == len(CONTENT)  # what the call moved, still
        assert bytes.fromhex(str(cut["data"])) == CONTENT[:limit]
        assert cut["truncated"] is True
    done = dump("--json", "-m", str(len(CONTENT)), str(trace))
    [kept] = [r for r in file_reads(done.stdout) if r["len"] == len(CONTENT)]
    assert bytes.fromhex(str(kept["data"])) == CONTENT and kept["truncated"] is False


@pytest.mark.skipif(shutil.which("strace") is None, reason="needs strace")
def test_chrome_names_fds_with_y(traced: tuple[Path, Path], tmp_path: Path) -> None:
    trace, data = traced
    # strace -y's spelling of the data file's fd in cat's read, the oracle
    done = subprocess.run(["strace", "-y", "-e", "trace=read", "-o", str(tmp_path / "s"),
                           "cat", str(data)], check=True, timeout=60,
                          stdout=subprocess.DEVNULL)
    assert done.returncode == 0
    named = re.findall(r"^read\((\d+<[^>]*>),", (tmp_path / "s").read_text(), re.MULTILINE)
    expected = next(fd for fd in named if fd.endswith(f"<{data}>"))
    chrome = dump("--format", "chrome", "-y", str(trace))
    assert chrome.returncode == 0, chrome.stderr
    events = json.loads(chrome.stdout)["traceEvents"]
    reads = [e["args"]["arguments"] for e in events
             if e.get("cat") == "syscall" and e["name"] == "read"]
    assert any(arguments["fd"] == expected for arguments in reads), reads
    plain = json.loads(dump("--format", "chrome", str(trace)).stdout)["traceEvents"]
    assert all("<" not in e["args"]["arguments"]["fd"] for e in plain
               if e.get("cat") == "syscall" and e["name"] == "read")


@pytest.mark.parametrize(("option", "view"), [
    ("-H", "json"), ("-H", "chrome"), ("-H", "strace"),
    ("-E", "json"), ("-R", "chrome"), ("-R", "strace"),
    ("--durations", "json"), ("--durations", "chrome"),
    ("-d", "chrome"), ("-d", "strace"),
    ("-s", "json"), ("-s", "chrome"),
])
def test_layout_options_that_do_nothing_are_refused(traced: tuple[Path, Path], option: str,
                                                    view: str) -> None:
    trace, _data = traced
    done = dump(option, "--format", view, str(trace))
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ktrdump: {option} does nothing with "
                                                   f"--format {view}: "), lines


@pytest.mark.parametrize(("option", "view"), [
    ("-H", "text"), ("-E", "text"), ("--durations", "text"), ("-d", "json"), ("-s", "text"),
    ("--durations", "strace"), ("-T", "json"), ("-y", "chrome"), ("-m", "json"),
])
def test_options_that_apply_are_accepted(traced: tuple[Path, Path], option: str,
                                         view: str) -> None:
    trace, _data = traced
    done = dump(option, *(["4"] if option == "-m" else []), "--format", view, str(trace))
    assert done.returncode == 0, done.stderr
    assert done.stdout and not done.stderr
