"""``ktrdump --until T`` with ``--format calls`` and ``--format parquet``: reading stops too.

Both views read the whole file after the window (the other views stopped once
nothing later could be shown, ``test_until_stops.py``). Now the parquet view stops
as they do, and the calls view once the records read are past T (out of the reorder
window: probe hits are perf records) and no probed call is open (a call open at T is
closed at its return, after T, as ``returns after --until``). Oracles: the same view
with stopping switched off (``cli._until_reached`` never true), whose output must be
identical (the calls lines, the parquet files byte for byte); the records read
(counted at the selector), a fraction of the trace's; the program's own call counts.
"""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from probe_support import gcc

from ktrdump import cli
from ktrdump._select import Selector

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

# outer(FIRST) (the window's end falls inside it), a pause longer than the reorder
# window (2 s: perf records are read through it, so a stop needs a record 2 s past
# T; the pause, a workload here, puts the second burst there), then outer(SECOND).
FIRST, SECOND = 1500, 4000
PROGRAM = r"""
#include <time.h>
__attribute__((noipa)) int quick(int x) { return x + 1; }
__attribute__((noipa)) int outer(int n) {
  int s = 0;
  for (int i = 0; i < n; i++) s += quick(i);
  return s;
}
int main(void) {
  struct timespec pause = {2, 100000000};
  int s = outer(FIRST);
  nanosleep(&pause, 0);
  s += outer(SECOND);
  return s == 0;
}
"""


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("until_probes")
    (directory / "prog.c").write_text(PROGRAM)
    subprocess.run([gcc(), "-O1", f"-DFIRST={FIRST}", f"-DSECOND={SECOND}", "-o",
                    str(directory / "prog"), str(directory / "prog.c")], check=True)
    path = directory / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "f", "-o", str(path),
                    "-P", "prog:quick(i32)", "-P", "prog:quick:return(i32)",
                    "-P", "prog:outer(i32)", "-P", "prog:outer:return(i32)",
                    "--", str(directory / "prog")], check=True, timeout=60, cwd=directory,
                   capture_output=True)
    return path


def probe_times(trace: Path) -> list[int]:
    done = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return [record["ts"] for record in records if record["type"] == "PROBE"]


def seconds(ns: int) -> str:
    """``ns`` as --until takes it, exactly (a float would be off by a few hundred ns)."""
    return f"{ns // 10**9}.{ns % 10**9:09d}"


def run(arguments: list[str], monkeypatch: pytest.MonkeyPatch, *,
        stop: bool) -> tuple[int, bytes, str, int]:
    """(status, output, errors, records read) of one in-process run."""
    fed = [0]
    feed = Selector.feed

    def counting(self: Selector, records: Any) -> list[Any]:
        batch = list(records)
        fed[0] += len(batch)
        return feed(self, batch)

    with monkeypatch.context() as patch:
        patch.setattr(Selector, "feed", counting)
        if not stop:
            never: Callable[..., Callable[[], bool]] = lambda *_: lambda: False
            patch.setattr(cli, "_until_reached", never, raising=False)
        out, err = io.BytesIO(), io.StringIO()
        status = cli.run(cli.parse_options(arguments), out, err)
    return status, out.getvalue(), err.getvalue(), fed[0]


def test_calls_view_stops_reading_after_until(trace: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    times = probe_times(trace)
    assert len(times) == 2 * (FIRST + SECOND + 2)  # every call's entry and return
    # inside the first outer call: it is open at --until
    until = seconds(times[300])
    arguments = ["--format", "calls", "--until", until, str(trace)]
    stopped = run(arguments, monkeypatch, stop=True)
    whole = run(arguments, monkeypatch, stop=False)
    assert stopped[:3] == whole[:3]
    lines = stopped[1].decode().splitlines()
    assert lines[-1].endswith("} /* prog:outer: returns after --until */"), lines[-3:]
    assert sum("prog:quick(" in line for line in lines) == 150  # (entries and returns)
    assert whole[3] >= len(times)  # (the run that reads on reads it all)
    assert stopped[3] < len(times) * 0.4, (stopped[3], len(times))
    # No call open at --until (in the pause): the same lines. (Read to the end here: the
    # first record past --until, the second burst's, leaves the reorder window only
    # once one 2 s later is read.)
    arguments = ["--format", "calls", "--until", seconds(times[2 * FIRST + 1] + 1000),
                 str(trace)]
    stopped = run(arguments, monkeypatch, stop=True)
    whole = run(arguments, monkeypatch, stop=False)
    assert stopped[:3] == whole[:3]
    assert stopped[1].decode().splitlines()[-1].endswith(
        f"}} = {sum(range(1, FIRST + 1))}; /* prog:outer */")


def test_parquet_stops_reading_after_until(trace: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pyarrow")
    times = probe_times(trace)
    until = seconds(times[300])

    def export(name: str, stop: bool) -> tuple[dict[str, bytes], int]:
        directory = tmp_path / name
        directory.mkdir()
        status, _, errors, fed = run(["--format", "parquet", "-o", str(directory / "t.parquet"),
                                      "--until", until, str(trace)], monkeypatch, stop=stop)
        assert status == 0 and not errors, errors
        return {path.name: path.read_bytes() for path in directory.iterdir()}, fed

    stopped, stopped_fed = export("stopped", True)
    whole, whole_fed = export("whole", False)
    assert stopped == whole
    assert "t.probes.parquet" in stopped
    import pyarrow.parquet as pq

    rows = pq.read_table(tmp_path / "stopped" / "t.probes.parquet").to_pylist()
    assert len(rows) == 300  # the hits before --until, by their own time
    assert whole_fed >= len(times)
    assert stopped_fed < len(times) * 0.4, (stopped_fed, len(times))


LOOP = r"""
#include <time.h>
#include <unistd.h>
__attribute__((noipa)) int quick(int x) { return x + 1; }
int main(int argc, char **argv) {
  struct timespec pause = {0, 1000000};
  int s = 0;
  while (argc > 1 && access(argv[1], F_OK) != 0) { s = quick(s) & 0xffff; nanosleep(&pause, 0); }
  return s == -1;
}
"""


def test_calls_until_ends_a_followed_dump(tmp_path: Path) -> None:
    """``-l --format calls --until +0.2s`` returns while the recording goes on (it waited
    for the recording's end: the calls view read on past --until)."""
    (tmp_path / "loop.c").write_text(LOOP)
    subprocess.run([gcc(), "-O1", "-o", str(tmp_path / "loop"), str(tmp_path / "loop.c")],
                   check=True)
    stop_file = tmp_path / "stop"
    # Through a pipe (ktrdump -l reads standard input as it comes): the program loops
    # until the stop file exists, so a dump that returns before it is touched did not
    # wait for the recording's end.
    recording = subprocess.Popen(
        [KTR, "record", "-q", "-t", "f", "-o", "-", "-P", "loop:quick(i32)",
         "-P", "loop:quick:return(i32)", "--", str(tmp_path / "loop"), str(stop_file)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert recording.stdout is not None
    try:
        done = subprocess.run([KTRDUMP, "-l", "--format", "calls", "--until", "+0.2s", "-"],
                              stdin=recording.stdout, capture_output=True, text=True,
                              timeout=20)
        assert not stop_file.exists()
        assert done.returncode == 0, done.stderr
        # (the calls in the first 0.2 s: none if setting the probes up took longer)
        header, *lines = done.stdout.splitlines()
        assert header.startswith("# DURATION")
        assert all(re.search(r"\| loop:quick\(\d+\) = \d+;$", line) for line in lines), lines
    finally:
        recording.stdout.close()
        stop_file.touch()
        recording.wait(timeout=30)
