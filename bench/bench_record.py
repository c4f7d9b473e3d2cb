"""``ktr record`` against strace on the same workloads, in one run.

Workloads: ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (two syscalls per
byte) and a threaded Python program (4 threads x M getppid calls). For each:
untraced; ``strace -f -o /dev/null``; ``ktr record`` with the default
facilities; ``ktr record -e trace=openat`` (the seccomp path) and
``strace --seccomp-bpf -e trace=openat`` with the same filter; both tracers
pinned to one CPU (``ktr record --pin`` / ``taskset -c 0 strace``). Then the
recorder's own CPU while its tracee sleeps. Prints times (median of the
rounds; rounds alternate the configurations, because on a VM the cost of a
cross-CPU wakeup changes over minutes) and the ratios the goals are stated in:

- default recording <= 0.5 x strace (unpinned)
- pinned recording <= 1.5 x pinned strace
- seccomp path <= 1.5 x untraced
- recorder CPU <= 10 % while the tracee sleeps

    python bench/bench_record.py [--count 50000] [--calls 20000] [--rounds 3]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

KTR = str(Path(sys.executable).parent / "ktr")


def dd(count: int) -> list[str]:
    return ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}", "status=none"]


def threaded(calls: int) -> list[str]:
    source = textwrap.dedent(f"""
        import os, threading
        def work():
            for _ in range({calls}):
                os.getppid()
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads: t.start()
        for t in threads: t.join()
    """)
    return [sys.executable, "-c", source]


def configurations(workload: list[str], output: str) -> dict[str, list[str]]:
    ktr = [KTR, "record", "-q", "-o", output]
    return {
        "untraced": workload,
        "strace": ["strace", "-f", "-o", "/dev/null", *workload],
        "ktr": [*ktr, "--", *workload],
        "strace seccomp": ["strace", "-f", "--seccomp-bpf", "-e", "trace=openat",
                           "-o", "/dev/null", *workload],
        "ktr seccomp": [*ktr, "-e", "trace=openat", "--", *workload],
        "strace pinned": ["taskset", "-c", "0", "strace", "-f", "-o", "/dev/null", *workload],
        "ktr pinned": [*ktr, "--pin=0", "--", *workload],
    }


def timed(argv: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def run_rounds(runs: dict[str, list[str]], rounds: int) -> tuple[dict[str, list[float]],
                                                                 dict[str, float]]:
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(rounds):
        for label, argv in runs.items():
            times[label].append(timed(argv))
    return times, {label: statistics.median(values) for label, values in times.items()}


def measure(name: str, workload: list[str], rounds: int, output: str) -> dict[str, float]:
    runs = configurations(workload, output)
    times, medians = run_rounds(runs, rounds)
    print(f"\n== {name}")
    print(f"{'configuration':<16} {'median s':>9}   runs")
    for label, values in times.items():
        shown = " ".join(f"{value:.2f}" for value in values)
        print(f"{label:<16} {medians[label]:>9.3f}   {shown}")
    records = 0
    if os.path.exists(output):
        records = os.path.getsize(output)
    print(f"(last ktr trace: {records / 1e6:.1f} MB)")
    ratio = medians["ktr"] / medians["strace"]
    pinned = medians["ktr pinned"] / medians["strace pinned"]
    print(f"ktr / strace                 {ratio:6.2f}   (goal <= 0.50)")
    print(f"ktr pinned / strace pinned   {pinned:6.2f}   (goal <= 1.50)")
    return medians


def measure_seccomp(workload: list[str], rounds: int, output: str) -> None:
    """The seccomp path on a workload long enough that start-up does not dominate."""
    everything = configurations(workload, output)
    runs = {label: everything[label] for label in ("untraced", "strace seccomp", "ktr seccomp")}
    times, medians = run_rounds(runs, rounds)
    print(f"\n== seccomp path: {' '.join(workload)} (only openat stops)")
    for label, values in times.items():
        shown = " ".join(f"{value:.2f}" for value in values)
        print(f"{label:<16} {medians[label]:>9.3f}   {shown}")
    print(f"ktr seccomp / untraced       {medians['ktr seccomp'] / medians['untraced']:6.2f}"
          "   (goal <= 1.50)")
    print(f"strace seccomp / untraced    "
          f"{medians['strace seccomp'] / medians['untraced']:6.2f}")


def recorder_cpu_while_sleeping(seconds: float, output: str) -> float:
    """Recorder CPU as a share of wall time while ``sleep`` is traced."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run([KTR, "record", "-q", "-o", output, "--", "sleep", str(seconds)], check=True)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return cpu / wall


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=50000, help="dd bytes (2 syscalls each)")
    parser.add_argument("--calls", type=int, default=20000, help="getppid calls per thread")
    parser.add_argument("--seccomp-count", type=int, default=6_000_000,
                        help="dd bytes for the seccomp comparison (untraced ~1.4 s)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sleep", type=float, default=2.0)
    options = parser.parse_args(arguments)
    if shutil.which("strace") is None:
        print("strace is not installed: nothing to compare with", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "bench.ktr")
        print(f"machine: {os.cpu_count()} CPUs, kernel {os.uname().release}")
        measure(" ".join(dd(options.count)), dd(options.count), options.rounds, output)
        measure(f"4 Python threads x {options.calls} getppid", threaded(options.calls),
                options.rounds, output)
        measure_seccomp(dd(options.seccomp_count), options.rounds, output)
        share = recorder_cpu_while_sleeping(options.sleep, output)
        print(f"\nrecorder CPU while its tracee sleeps: {share * 100:.2f} %   (goal <= 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
