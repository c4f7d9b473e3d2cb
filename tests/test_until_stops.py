"""``ktrdump --until T``: reading stops once nothing later can fall in the window.

It used to decode the whole file after the window (seconds on a large trace to
print a few lines), and ``-l --until`` waited for the recording's end. Now it
stops once the records read are past T (those of a trace with perf records
come out of the reorder window, so no later one can be earlier) and every call
begun before T has returned (such a call is shown whole). Oracles: the same
view with stopping switched off (``Selector.past_until`` always false), whose
output must be identical; the records read (counted at the selector), a small
fraction of the trace's; a live recording still running when ``-l`` returns.
"""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from ktrdump import cli
from ktrdump._select import Selector

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


DD = "dd if=/dev/zero of=/dev/null bs=1 count={} 2>/dev/null"


def record(path: Path, *arguments: str) -> Path:
    subprocess.run([KTR, "record", "-q", "-o", str(path), *arguments], check=True,
                   timeout=60, capture_output=True)
    return path


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("until")
    # ptrace records alone (file order is time order): dd, 16000 records (not
    # under a shell: its wait4, begun before --until, is shown whole, so read to
    # its end); and with context switches (perf records: written up to a drain
    # late, read through the 2 s reorder window, so a stop needs a record 2 s
    # past --until: the sleep, a workload here, puts one after the first burst)
    return {"ptrace": record(directory / "p.ktr", "--", *DD.format(4000).split()[:5]),
            "perf": record(directory / "w.ktr", "-i", "-t", "+w", "--", "sh", "-c",
                           f"{DD.format(400)}; sleep 2.1; {DD.format(2000)}")}


@functools.cache
def times_of(trace: Path) -> tuple[int, ...]:
    """Every record's time, as --json gives them (in the order shown)."""
    done = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60)
    return tuple(json.loads(line)["ts"] for line in done.stdout.splitlines())


def dump(arguments: list[str], monkeypatch: pytest.MonkeyPatch, *,
         stop: bool) -> tuple[int, bytes, str, int]:
    """(status, output, errors, records read, records in the file) of one in-process run."""
    fed = [0]
    feed = Selector.feed

    def counting(self: Selector, records: Any) -> list[Any]:
        batch = list(records)
        fed[0] += len(batch)
        return feed(self, batch)

    with monkeypatch.context() as patch:
        patch.setattr(Selector, "feed", counting)
        if not stop:
            patch.setattr(Selector, "past_until", lambda self: False, raising=False)
        out, err = io.BytesIO(), io.StringIO()
        status = cli.run(cli.parse_options(arguments), out, err)
    return status, out.getvalue(), err.getvalue(), fed[0]


@pytest.mark.parametrize("kind", ["ptrace", "perf"])
@pytest.mark.parametrize("view", [[], ["--json"], ["--format", "strace", "-y", "-T"],
                                  ["--format", "chrome"], ["-c"], ["-t", "cw"]])
def test_until_stops_reading(traces: dict[str, Path], kind: str, view: list[str],
                             monkeypatch: pytest.MonkeyPatch) -> None:
    trace = traces[kind]
    times = times_of(trace)
    # an absolute --until: the time of the 300th record
    arguments = [*view, "--until", f"{times[299] / 1e9:.9f}", str(trace)]
    stopped = dump(arguments, monkeypatch, stop=True)
    whole = dump(arguments, monkeypatch, stop=False)
    assert stopped[:3] == whole[:3]
    assert stopped[0] == 0 and stopped[1]
    everything = len(times)
    assert whole[3] >= everything * 0.9  # (the run that reads on reads it all)
    if kind == "ptrace":
        assert stopped[3] < everything / 4, (stopped[3], everything)
    else:  # (the second burst is read only as far as its first batch)
        assert stopped[3] < everything * 0.6, (stopped[3], everything)


def test_until_ends_a_followed_dump(tmp_path: Path) -> None:
    """``-l --until +0.1s`` returns while the recording goes on (it used to wait for its end)."""
    stop_file = tmp_path / "stop"
    ready = tmp_path / "ready"
    os.mkfifo(ready)
    trace = tmp_path / "live.ktr"
    recording = subprocess.Popen(
        [KTR, "record", "-q", "-o", str(trace), "--", "sh", "-c",
         f'echo > "{ready}"; while [ ! -e "{stop_file}" ]; do :; done'])
    try:
        # the traced shell runs, so the trace file exists (opening the FIFO waits for it;
        # a recorder that failed is seen by its exit, not waited for forever)
        opened = threading.Thread(target=ready.read_text)
        opened.start()
        opened.join(30)
        if opened.is_alive():
            ready.write_text("")  # (lets the reader go)
            pytest.fail(f"the traced shell did not start (ktr record: {recording.poll()})")
        done = subprocess.run([KTRDUMP, "-l", "--until", "+0.1s", str(trace)],
                              capture_output=True, text=True, timeout=30)
        assert recording.poll() is None  # still recording: ktrdump did not wait for its end
        assert done.returncode == 0, done.stderr
        assert "execve" in done.stdout
    finally:
        stop_file.touch()
        recording.wait(timeout=30)
