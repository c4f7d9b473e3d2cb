"""``ktr record`` against strace on the same workloads, in one run.

The workloads of issue 13, each timed under ``strace -f -o /dev/null`` and
under ``ktr record -o FILE`` (default facilities):

- ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (two syscalls per byte),
- ``find /usr/lib/python3 /usr/share/doc -name '*.py'`` (newfstatat,
  getdents64, openat: NAMI and STRUCT records),
- ``python3 -c 'import json,email,http.client,sqlite3,asyncio'`` (start-up
  of a real program: exec, mmap, reads),
- dd again with both tracers on one CPU (``ktr record --pin=0`` against
  ``taskset -c 0 strace``),
- ``true``: start-up and shut-down alone (no goal of its own; it is part of
  every other figure, and most of the gap on the short workloads).

Two more rows measure the floor of the design: ``ktr._control.Control``
alone on the dd workload, unpinned and pinned, with a consumer that does
nothing (no record is built, queued or written). Its ktr/strace ratio is
what the recorder would reach if making and writing records cost nothing;
where it is over a goal, no work on records can meet that goal.

Goals: ktr/strace <= 1.00 unpinned on all three, <= 1.50 pinned.

Rounds alternate strace and ktr (A B A B ...) and the figures are medians:
on a VM the cost of a cross-CPU wakeup changes over minutes, so only
figures of the same run compare. Every configuration runs once untimed
first. Python's bytecode cache is on for the run (``PYTHONDONTWRITEBYTECODE``
is dropped, ``PYTHONPYCACHEPREFIX`` points into a temporary directory), as
in an installed ktr: otherwise every ``ktr`` start would recompile its
sources (~0.25 s here). The load average is printed before and after: a
loaded machine makes the ratios meaningless.

With ``--all``, also: a threaded Python program, the seccomp path
(``-e trace=openat`` against ``strace --seccomp-bpf``) and the recorder's
CPU while its tracee sleeps.

    python bench/bench_record.py [--rounds 5] [--count 20000] [--all]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

KTR = str(Path(sys.executable).parent / "ktr")
IMPORTS = "import json,email,http.client,sqlite3,asyncio"


def dd(count: int) -> list[str]:
    return ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}", "status=none"]


def find() -> list[str]:
    return ["find", "/usr/lib/python3", "/usr/share/doc", "-name", "*.py"]


def imports() -> list[str]:
    return ["python3", "-c", IMPORTS]


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


def strace(workload: list[str], pinned: bool = False) -> list[str]:
    prefix = ["taskset", "-c", "0"] if pinned else []
    return [*prefix, "strace", "-f", "-o", "/dev/null", *workload]


def ktr(workload: list[str], output: str, *options: str) -> list[str]:
    return [KTR, "record", "-q", "-o", output, *options, "--", *workload]


_CONTROL_ALONE = """
import sys
from ktr._control import Control, ControlOptions
pinned = sys.argv[1] == "pinned"
control = Control(ControlOptions(pin_cpu=0) if pinned else ControlOptions())
control.spawn(sys.argv[2:])
control.run(lambda event: None)
"""


def control_alone(workload: list[str], pinned: bool) -> list[str]:
    """The control loop with a consumer that does nothing: the design's floor."""
    return [sys.executable, "-c", _CONTROL_ALONE, "pinned" if pinned else "free", *workload]


def bench_environment(directory: str) -> dict[str, str]:
    """The environment every run gets: bytecode cached, as in an installed ktr."""
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = os.path.join(directory, "pycache")
    return environment


def timed(argv: Sequence[str], environment: Mapping[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=environment)
    return time.perf_counter() - start


def run_rounds(runs: Mapping[str, list[str]], rounds: int, environment: Mapping[str, str]
               ) -> dict[str, list[float]]:
    """Every configuration once untimed, then ``rounds`` rounds in alternation."""
    for argv in runs.values():
        timed(argv, environment)
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(rounds):
        for label, argv in runs.items():
            times[label].append(timed(argv, environment))
    return times


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def compare(rounds: int, count: int, output: str, environment: Mapping[str, str]) -> None:
    """The issue-13 table: strace and ktr side by side, medians, ratios."""
    rows = [
        (f"dd bs=1 count={count}", dd(count), False, 1.0),
        ("find /usr/lib/python3 /usr/share/doc", find(), False, 1.0),
        ("python3 -c 'import json,email,...'", imports(), False, 1.0),
        (f"dd bs=1 count={count}, pinned", dd(count), True, 1.5),
        ("true (start-up and exit only)", ["true"], False, None),
    ]
    floors = [
        (f"dd bs=1 count={count}, control loop alone", dd(count), False, None),
        (f"dd bs=1 count={count}, pinned, loop alone", dd(count), True, None),
    ]
    runs: dict[str, list[str]] = {}
    for name, workload, pinned, _ in rows:
        # A B A B: strace, then ktr, for each workload in turn
        runs[f"{name} | strace"] = strace(workload, pinned)
        runs[f"{name} | ktr"] = (ktr(workload, output, "--pin=0") if pinned
                                 else ktr(workload, output))
    for name, workload, pinned, _ in floors:
        runs[f"{name} | strace"] = strace(workload, pinned)
        runs[f"{name} | ktr"] = control_alone(workload, pinned)
    rows += floors
    times = run_rounds(runs, rounds, environment)
    print(f"\n{'workload':<40} {'strace s':>9} {'ktr s':>9} {'ktr/strace':>11} {'goal':>7}")
    for name, _, _, goal in rows:
        peer = statistics.median(times[f"{name} | strace"])
        ours = statistics.median(times[f"{name} | ktr"])
        shown_goal = "-" if goal is None else f"<= {goal}"
        print(f"{name:<40} {peer:>9.3f} {ours:>9.3f} {ours / peer:>11.2f} {shown_goal:>7}")
    print(f"\nruns ({rounds} rounds, medians above):")
    for label, values in times.items():
        print(f"  {label:<52} " + " ".join(f"{value:.3f}" for value in values))


def measure_threaded(calls: int, rounds: int, output: str,
                     environment: Mapping[str, str]) -> None:
    workload = threaded(calls)
    runs = {"strace": strace(workload), "ktr": ktr(workload, output)}
    times = run_rounds(runs, rounds, environment)
    peer, ours = (statistics.median(times[label]) for label in ("strace", "ktr"))
    print(f"\n== 4 Python threads x {calls} getppid: strace {peer:.3f} s, ktr {ours:.3f} s, "
          f"ktr/strace {ours / peer:.2f}")


def measure_seccomp(count: int, rounds: int, output: str,
                    environment: Mapping[str, str]) -> None:
    """The seccomp path on a workload long enough that start-up does not dominate."""
    workload = dd(count)
    runs = {
        "untraced": workload,
        "strace seccomp": ["strace", "-f", "--seccomp-bpf", "-e", "trace=openat",
                           "-o", "/dev/null", *workload],
        "ktr seccomp": ktr(workload, output, "-e", "trace=openat"),
    }
    times = run_rounds(runs, rounds, environment)
    medians = {label: statistics.median(values) for label, values in times.items()}
    print(f"\n== seccomp path: {' '.join(workload)} (only openat stops)")
    for label, value in medians.items():
        print(f"{label:<16} {value:>9.3f} s")
    print(f"ktr seccomp / untraced       {medians['ktr seccomp'] / medians['untraced']:6.2f}"
          "   (goal <= 1.50)")
    print(f"strace seccomp / untraced    "
          f"{medians['strace seccomp'] / medians['untraced']:6.2f}")


def recorder_cpu_while_sleeping(seconds: float, output: str,
                                environment: Mapping[str, str]) -> float:
    """Recorder CPU as a share of wall time while ``sleep`` is traced."""
    before = os.times()
    start = time.perf_counter()
    subprocess.run(ktr(["sleep", str(seconds)], output), check=True, env=environment)
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system)
    return cpu / wall


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20000, help="dd bytes (2 syscalls each)")
    parser.add_argument("--all", action="store_true",
                        help="also threads, the seccomp path and the CPU while sleeping")
    parser.add_argument("--calls", type=int, default=20000, help="getppid calls per thread")
    parser.add_argument("--seccomp-count", type=int, default=6_000_000,
                        help="dd bytes for the seccomp comparison (untraced ~1.4 s)")
    parser.add_argument("--sleep", type=float, default=2.0)
    options = parser.parse_args(arguments)
    for tool in ("strace", "taskset", "python3", "find", "dd"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed: cannot run the comparison", file=sys.stderr)
            return 1
    with tempfile.TemporaryDirectory() as directory:
        output = os.path.join(directory, "bench.ktr")
        environment = bench_environment(directory)
        print(f"machine: kernel {os.uname().release}; {load()} (before)")
        # The interpreter's build moves every ktr figure (a distribution's optimised build
        # ran the same loops ~1.5x faster than a plain source build here).
        print(f"python: {sys.executable} {platform.python_version()} "
              f"({sysconfig.get_config_var('CONFIG_ARGS') or 'no configure arguments'})")
        compare(options.rounds, options.count, output, environment)
        if options.all:
            measure_threaded(options.calls, options.rounds, output, environment)
            measure_seccomp(options.seccomp_count, options.rounds, output, environment)
            share = recorder_cpu_while_sleeping(options.sleep, output, environment)
            print(f"\nrecorder CPU while its tracee sleeps: {share * 100:.2f} %"
                  "   (goal <= 10 %)")
        print(f"\n{load()} (after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
