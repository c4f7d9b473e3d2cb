"""kdump's layout options in ``--summary``, ``--format calls``, ``folded`` and ``parquet``.

``-H``, ``-E``, ``-R``, ``-d`` (and ``-T``, ``--durations``, ``-s``) were silently
ignored by these views, status 0. Now ``-H`` is honoured where a user would look for
threads — ``--summary`` gives one syscall table per thread (as ``perf trace -s``),
``--format folded`` roots each stack at ``comm-PID/TID`` (as ``stackcollapse-perf.pl
--tid``) — and the rest are refused in one line, as in the json, chrome and strace
views. Oracles: the C program's own per-thread call counts, and the SAMPLE records'
pid and tid as ``--json`` gives them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from probe_support import gcc

BIN = Path(sys.executable).parent
KTR = BIN / "ktr"
KTRDUMP = BIN / "ktrdump"

# The worker makes WORKER getppid calls, the main thread MAIN after joining it.
WORKER, MAIN = 7, 3
PROGRAM = r"""
#include <pthread.h>
#include <unistd.h>
static void *worker(void *arg) {
  for (int i = 0; i < WORKER; i++) getppid();
  volatile unsigned long s = 0;
  for (unsigned long i = 0; i < 60000000UL; i++) s += i;
  return 0;
}
int main(void) {
  pthread_t t;
  pthread_create(&t, 0, worker, 0);
  volatile unsigned long s = 0;
  for (unsigned long i = 0; i < 60000000UL; i++) s += i;
  pthread_join(t, 0);
  for (int i = 0; i < MAIN; i++) getppid();
  return 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("layout")
    (directory / "thr.c").write_text(PROGRAM)
    subprocess.run([gcc(), "-O1", "-pthread", f"-DWORKER={WORKER}", f"-DMAIN={MAIN}", "-o",
                    str(directory / "thr"), str(directory / "thr.c")], check=True)
    return directory / "thr"


def record(program: Path, *options: str) -> Path:
    trace = program.parent / f"t{len(list(program.parent.glob('*.ktr')))}.ktr"
    subprocess.run([KTR, "record", "-q", *options, "-o", str(trace), "--", str(program)],
                   check=True, timeout=60, capture_output=True)
    return trace


def dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, *arguments], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def syscalls(program: Path) -> Path:
    return record(program)


@pytest.fixture(scope="module")
def samples(program: Path) -> Path:
    return record(program, "-t", "S", "-F", "499")


def threads_of(trace: Path) -> tuple[int, int, int]:
    """(pid, the main thread's tid, the worker's tid) from the trace's own records."""
    records = [json.loads(line) for line in dump("--json", str(trace)).stdout.splitlines()]
    calls = [r for r in records if r["type"] == "CALL" and r["syscall"] == "getppid"]
    tids = list(dict.fromkeys(r["tid"] for r in calls))
    assert len(tids) == 2, tids
    worker, main = tids  # (the worker's calls come first: main joins it)
    return calls[0]["pid"], main, worker


def test_summary_h_gives_a_table_per_thread(syscalls: Path) -> None:
    pid, main, worker = threads_of(syscalls)
    done = dump("-c", "-H", "-U", "calls,name", "-e", "trace=getppid", str(syscalls))
    assert done.returncode == 0 and not done.stderr, done.stderr
    tables = {}
    for block in done.stdout.split("\n\n"):
        heading, *rows = block.strip().splitlines()
        counts = {line.split()[1]: int(line.split()[0]) for line in rows
                  if re.match(r"\s*\d+ \w+$", line)}
        tables[heading] = counts
    assert tables == {
        f"Thread {worker} of process {pid} (thr):": {"getppid": WORKER, "total": WORKER},
        f"Thread {main} of process {pid} (thr):": {"getppid": MAIN, "total": MAIN},
    }
    # The worker's table is what -p TID alone counts (the whole table, every syscall).
    every = dump("-c", "-H", str(syscalls)).stdout
    alone = dump("-c", "-p", str(worker), str(syscalls)).stdout
    assert alone.startswith(f"Thread {worker} of process {pid} (thr):\n")
    assert alone in every
    assert every.count(" of process ") == 2


def test_folded_h_roots_each_stack_at_its_thread(samples: Path) -> None:
    records = [json.loads(line) for line in dump("--json", str(samples)).stdout.splitlines()]
    expected = Counter(f"thr-{r['pid']}/{r['tid']}" for r in records if r["type"] == "SAMPLE")
    assert len(expected) == 2, expected  # both threads were sampled (each spins)
    done = dump("--format", "folded", "-H", str(samples))
    assert done.returncode == 0 and not done.stderr, done.stderr
    roots: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        stack, count = line.rsplit(" ", 1)
        roots[stack.split(";", 1)[0]] += int(count)
    assert roots == expected
    # without -H, the command alone (as before)
    plain = dump("--format", "folded", str(samples)).stdout.splitlines()
    assert {line.split(";", 1)[0].rsplit(" ", 1)[0] for line in plain} == {"thr"}


@pytest.mark.parametrize(("option", "view"), [
    ("-E", ["-c"]), ("-R", ["-c"]), ("-T", ["-c"]), ("-d", ["-c"]), ("--durations", ["-c"]),
    ("-s", ["-c"]),
    ("-H", ["--format", "calls"]), ("-E", ["--format", "calls"]), ("-R", ["--format", "calls"]),
    ("-d", ["--format", "calls"]), ("-T", ["--format", "calls"]),
    ("-E", ["--format", "folded"]), ("-R", ["--format", "folded"]),
    ("-d", ["--format", "folded"]), ("-s", ["--format", "folded"]),
    ("-H", ["--format", "parquet"]), ("-E", ["--format", "parquet"]),
    ("-R", ["--format", "parquet"]), ("-d", ["--format", "parquet"]),
    ("--durations", ["--format", "parquet"]),
])
def test_layout_options_that_do_nothing_are_refused(syscalls: Path, tmp_path: Path,
                                                    option: str, view: list[str]) -> None:
    output = ["-o", str(tmp_path / "t.parquet")] if "parquet" in view else []
    done = dump(option, *view, *output, str(syscalls))
    assert done.returncode == 2, done.stderr
    assert done.stdout == "" and not list(tmp_path.iterdir())
    shown = "--summary" if view == ["-c"] else " ".join(view)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"ktrdump: {option} does nothing with "
                                                   f"{shown}: "), lines


def test_options_that_apply_there_are_accepted(syscalls: Path, tmp_path: Path) -> None:
    """-T with parquet (its times are absolute, as -T asks), -H with -p in the summary."""
    done = dump("-T", "--format", "parquet", "-o", str(tmp_path / "t.parquet"), str(syscalls))
    assert done.returncode == 0, done.stderr
    pid, _main, _worker = threads_of(syscalls)
    done = dump("-c", "-H", "-p", str(pid), "-e", "trace=getppid", str(syscalls))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" of process ") == 2  # -p PID: its threads, one table each
