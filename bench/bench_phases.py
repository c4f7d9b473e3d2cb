"""Where a ptrace stop's time goes, step by step: strace and ktr side by side.

    python bench/bench_phases.py [--workload dd|find] [--count 20000] [--rounds 2]
                                 [--regime fast|slow]

Each tracer runs ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (or
``bench_record.py``'s find) under ``perf record`` with the tracepoints of its
own system calls (wait4, ptrace, pread64). For every syscall stop it then
times, from the tracer's side:

- **before the resume**: from the wait that found the stop returning to the
  resume request (PTRACE_SYSCALL or PTRACE_CONT) being made: everything the
  tracer does while the thread is stopped. Of it, the GET_SYSCALL_INFO request
  and the memory reads (pread64 of /proc/PID/mem) are shown on their own; the
  rest is the tracer's user-mode work (Python, for ktr).
- **the resume**: the PTRACE_SYSCALL request itself. The kernel wakes the
  tracee in it; a wakeup on another CPU sends an inter-processor interrupt,
  which on a VM is a trip through the host.
- **to the next stop**: from the resume's return to the wait that finds the
  thread's next stop: the tracee's run to it (its wakeup, its user code, its
  next system call's entry) and the time the tracer takes to notice. ktr's
  work after the resume (the records) overlaps it.

Configurations: strace (blocking waits), ``ktr record``, ktr's control loop
alone (no record made), and the bare loops of ``bare_loop.py``, blocking and
spinning (the floors of CPython). ``--regime fast`` runs them beside a
SCHED_IDLE busy loop on every CPU, as ``bench_record.py`` does for its fast
regime; ``slow`` on the machine as it is.

What it does not say: tracepoints cost each traced system call something,
and strace makes more calls a stop than ktr (a WNOHANG wait after each
blocking one), so the totals are above ``bench_record.py``'s wall times; it
compares steps, never totals, and ``bench_record.py`` stays the judge of the
goals. Times come from perf's timestamps in microseconds (rounded by perf
script), so single steps under a microsecond or two read coarse; the means
over tens of thousands of stops do not.

Needs perf with syscall tracepoints (root). Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_record  # (a sibling script, found through the line above)

_EVENTS = ("syscalls:sys_exit_wait4", "syscalls:sys_enter_ptrace", "syscalls:sys_exit_ptrace",
           "syscalls:sys_enter_pread64", "syscalls:sys_exit_pread64")
_LINE = re.compile(r"^\s*(?P<comm>.+?)\s+(?P<tid>\d+)\s+\[(?P<cpu>\d+)\]\s+(?P<time>[\d.]+):\s+"
                   r"syscalls:(?P<event>\w+):\s*(?P<rest>.*)$")
_PTRACE_SYSCALL = 0x18
_PTRACE_CONT = 0x7
_PTRACE_GET_SYSCALL_INFO = 0x420E


class Phases(NamedTuple):
    """Mean microseconds a stop of each step, over ``stops`` stops."""

    stops: int
    before: float
    syscall_info: float
    memory_reads: float
    resume: float
    to_next_stop: float
    to_next_median: float

    @property
    def tracer_work(self) -> float:
        return self.before - self.syscall_info - self.memory_reads

    @property
    def total(self) -> float:
        return self.before + self.resume + self.to_next_stop


def phases(script: Iterator[str]) -> Phases:
    """The steps of every stop in ``perf script``'s lines, from the thread that resumes."""
    resumer: str | None = None
    events: list[tuple[str, float, str, str]] = []
    for line in script:
        match = _LINE.match(line)
        if match is None:
            continue
        tid, event, rest = match["tid"], match["event"], match["rest"]
        time_us = float(match["time"]) * 1e6
        if event == "sys_enter_ptrace" and _request(rest) in (_PTRACE_SYSCALL, _PTRACE_CONT):
            resumer = resumer or tid
        events.append((tid, time_us, event, rest))
    before: list[float] = []
    info: list[float] = []
    reads: list[float] = []
    resume: list[float] = []
    to_next: list[float] = []
    found: float | None = None  # the wait that found the stop being handled returned
    resumed: float | None = None  # its resume returned (None: not resumed yet)
    started: dict[str, float] = {}  # request -> when it entered
    info_now = reads_now = 0.0
    for tid, time_us, event, rest in events:
        if tid != resumer:
            continue
        if event == "sys_exit_wait4":
            if _return_value(rest) > 0:
                if resumed is not None:
                    to_next.append(time_us - resumed)
                found, resumed = time_us, None
                info_now = reads_now = 0.0
        elif event in ("sys_enter_ptrace", "sys_enter_pread64"):
            started[event] = time_us
            if event == "sys_enter_ptrace":
                started["request"] = float(_request(rest))
        elif event == "sys_exit_pread64" and found is not None:
            reads_now += time_us - started.get("sys_enter_pread64", time_us)
        elif event == "sys_exit_ptrace" and found is not None:
            entered = started.get("sys_enter_ptrace", time_us)
            request = int(started.get("request", -1))
            if request == _PTRACE_GET_SYSCALL_INFO:
                info_now += time_us - entered
            elif request in (_PTRACE_SYSCALL, _PTRACE_CONT):
                before.append(entered - found)
                info.append(info_now)
                reads.append(reads_now)
                resume.append(time_us - entered)
                found, resumed = None, time_us
    count = min(len(before), len(to_next))
    if not count:
        raise SystemExit("bench_phases: no stop found in perf's output (is perf allowed here?)")
    return Phases(count, statistics.fmean(before), statistics.fmean(info),
                  statistics.fmean(reads), statistics.fmean(resume),
                  statistics.fmean(to_next), statistics.median(to_next))


def _request(rest: str) -> int:
    match = re.search(r"request: (0x[0-9a-f]+)", rest)
    return int(match[1], 16) if match else -1


def _return_value(rest: str) -> int:
    value = int(rest.split()[-1], 16)
    return value - (1 << 64) if value >= 1 << 63 else value


def measure(argv: Sequence[str], directory: str) -> Phases:
    data = str(Path(directory) / "perf.data")
    record = ["perf", "record", "-q", "-o", data]
    for event in _EVENTS:
        record += ["-e", event]
    subprocess.run([*record, "--", *argv], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with subprocess.Popen(["perf", "script", "-i", data], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as script:
        assert script.stdout is not None
        result = phases(iter(script.stdout))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workload", choices=("dd", "find"), default="dd")
    parser.add_argument("--count", type=int, default=20000, help="dd bytes (2 syscalls each)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--regime", choices=("fast", "slow"), default="fast")
    options = parser.parse_args()
    workload = (bench_record.dd(options.count) if options.workload == "dd"
                else bench_record.find())
    with tempfile.TemporaryDirectory(prefix="bench_phases.") as directory:
        output = str(Path(directory) / "trace.ktr")
        configurations = {
            "strace -f -o /dev/null": bench_record.strace(workload),
            "ktr record": bench_record.ktr(workload, output),
            "ktr control loop alone": bench_record.control_alone(workload, False),
            "bare loop, blocking": bench_record.bare_loop(workload, False),
            "bare loop, spinning": bench_record.bare_spinning_loop(workload, False),
        }
        spinners = (bench_record.idle_spinners(range(bench_record.os.cpu_count() or 1))
                    if options.regime == "fast" else contextlib.nullcontext([]))
        print(f"{bench_record.load()} (before); regime {options.regime}; "
              f"{' '.join(workload)}")
        results: dict[str, list[Phases]] = {label: [] for label in configurations}
        with spinners:
            for _ in range(options.rounds):
                for label, argv in configurations.items():
                    results[label].append(measure(argv, directory))
    print(f"\nmean microseconds a stop ({options.rounds} rounds, each a run of its own; "
          "tracepoints on)")
    print(f"{'tracer':<26} {'stops':>6} {'before resume':>13} {'of it: info':>11} "
          f"{'reads':>6} {'own work':>8} {'resume':>7} {'to next stop':>12} "
          f"{'(median)':>8} {'total':>6}")
    for label, runs in results.items():
        for run in runs:
            print(f"{label:<26} {run.stops:>6} {run.before:>13.2f} {run.syscall_info:>11.2f} "
                  f"{run.memory_reads:>6.2f} {run.tracer_work:>8.2f} {run.resume:>7.2f} "
                  f"{run.to_next_stop:>12.2f} {run.to_next_median:>8.1f} {run.total:>6.2f}")
    print(f"\n{bench_record.load()} (after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
