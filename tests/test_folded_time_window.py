"""``ktrdump --format folded --since/--until``: the flame graph of a time window.

``--since``/``--until`` apply to every record (``ktrdump --help``): the text,
json, chrome and parquet views and the ``--summary`` profile keep the SAMPLEs
stamped in the window. The folded view used to count every sample whatever the
window (and, given a window after the last sample, printed every stack *and*
"the filters matched no records"). Oracle: the SAMPLE records' own timestamps,
read from ``--json``; the cut is the median sample's time, so both halves hold
samples whatever the machine's speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import gcc

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = r"""
__attribute__((noipa)) long spin(long n) {
  long s = 0;
  for (long i = 0; i < n; i++) s += i ^ (s >> 3);
  return s;
}
int main(void) { long s = 0; for (int i = 0; i < 40; i++) s += spin(2000000); return s == 42; }
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("foldwin")
    (directory / "spin.c").write_text(PROGRAM)
    subprocess.run([gcc(), "-O1", "-fno-omit-frame-pointer", "-o", str(directory / "spin"),
                    str(directory / "spin.c")], check=True)
    path = directory / "s.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "S", "-F", "997", "-o", str(path), "--",
                    str(directory / "spin")], check=True, timeout=60, cwd=directory)
    return path


def sample_times(trace: Path) -> list[int]:
    done = subprocess.run([KTRDUMP, "--json", "-t", "S", str(trace)], capture_output=True,
                          text=True, check=True, timeout=60)
    return sorted(json.loads(line)["ts"] for line in done.stdout.splitlines())


def folded(trace: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, "--format", "folded", *options, str(trace)],
                          capture_output=True, text=True, timeout=60)


def counted(done: subprocess.CompletedProcess[str]) -> int:
    assert done.returncode == 0, done.stderr
    return sum(int(line.rsplit(" ", 1)[1]) for line in done.stdout.splitlines())


def test_since_and_until_keep_the_samples_of_their_window(trace: Path) -> None:
    times = sample_times(trace)
    assert len(times) >= 10, times
    assert counted(folded(trace)) == len(times)
    cut = times[len(times) // 2]  # a sample's own time: --since keeps it, --until does not
    cut_text = f"{cut // 10**9}.{cut % 10**9:09d}"
    after = sum(ts >= cut for ts in times)
    assert counted(folded(trace, "--since", cut_text)) == after
    assert counted(folded(trace, "--until", cut_text)) == len(times) - after


def test_a_window_after_every_sample_prints_no_stack(trace: Path) -> None:
    # after the trace's last record of any kind, not the next whole second after the
    # last sample: the END (or an exit) can fall past that second, and a window that
    # holds a record is not one the filters matched nothing in
    done = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60)
    since = max(json.loads(line)["ts"] for line in done.stdout.splitlines()) + 1
    assert since > sample_times(trace)[-1]
    done = folded(trace, "--since", f"{since // 10**9}.{since % 10**9:09d}")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert "the filters matched no records" in done.stderr
