"""Cost of the bare control loop per ptrace stop, against strace.

Workload: ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (2 syscalls per byte,
so about 4·N syscall stops). Prints, for each configuration, the wall time,
the recorder's CPU time and the cost per stop; then the recorder's CPU while
the tracee sleeps (``sleep S`` traced) for each spin budget; then a cProfile
breakdown of the loop's Python work per stop (consumer does nothing).

    /work/venv/bin/python bench/bench_stops.py [--count 50000] [--sleep 2] [--repeat 3] [--full]

Rounds alternate the configurations: on a VM the cost of a cross-CPU wakeup
changes over minutes (vCPU placement on the host), so compare medians of the
same run, never figures from different runs.

Not a test: figures depend on the machine; nothing here asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import os
import pstats
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence

from ktr._control import DEFAULT_SPIN_US, Control, ControlOptions
from ktr._events import Event

SPIN_BUDGETS = (0, 20, 50, 100, 200, 500)


def workload(count: int) -> list[str]:
    return ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}", "status=none"]


def cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: Sequence[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True)
    return time.perf_counter() - start


def time_loop(argv: Sequence[str], options: ControlOptions) -> tuple[float, float, int]:
    """(wall s, recorder CPU s, stops) of the bare loop on ``argv``."""
    stops = 0

    def consumer(event: Event) -> None:
        nonlocal stops
        stops += 1

    control = Control(options)
    cpu = cpu_self()
    start = time.perf_counter()
    control.spawn(argv)
    control.run(consumer)
    return time.perf_counter() - start, cpu_self() - cpu, stops


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50000, help="dd byte count")
    parser.add_argument("--sleep", type=float, default=2.0, help="traced sleep, seconds")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds; configurations alternate within a round")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--full", action="store_true",
                        help="also time the whole `ktr record` (output to a temporary file)")
    args = parser.parse_args(arguments)
    argv = workload(args.count)
    print(f"workload: {' '.join(argv)}  (CPUs: {os.cpu_count()}, {args.repeat} rounds)")

    # Every round measures every configuration once, so that a change in the
    # machine's behaviour during the run (VM vCPU placement) hits all alike.
    strace = shutil.which("strace")
    taskset = shutil.which("taskset")
    commands: list[tuple[str, Callable[[], tuple[float, float, int]]]] = [
        ("untraced", lambda: (time_command(argv), 0.0, 0)),
    ]
    if strace:
        commands.append(("strace -f -o /dev/null", lambda: (
            time_command([strace, "-f", "-o", "/dev/null", *argv]), 0.0, 0)))
        if taskset:
            commands.append(("taskset -c 0 strace -f", lambda: (time_command(
                [taskset, "-c", "0", strace, "-f", "-o", "/dev/null", *argv]), 0.0, 0)))
    for spin in SPIN_BUDGETS:
        commands.append((f"loop spin_us={spin}",
                         functools.partial(time_loop, argv, ControlOptions(spin_us=spin))))
    commands.append(("loop pin_cpu=0", lambda: time_loop(argv, ControlOptions(pin_cpu=0))))
    scratch = tempfile.mkdtemp(prefix="bench-stops-")
    if args.full:
        # the whole recorder (records built and written), for the goal
        output = os.path.join(scratch, "bench.ktr")
        record = [sys.executable, "-m", "ktr", "record", "-q", "-o", output]
        commands.append(("ktr record (default)", lambda: (
            time_command([*record, "--", *argv]), 0.0, 0)))
        commands.append(("ktr record --pin", lambda: (
            time_command([*record, "--pin", "--", *argv]), 0.0, 0)))
    runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name, _ in commands}
    try:
        for _ in range(args.repeat):
            for name, measure in commands:
                runs[name].append(measure())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"{'configuration':26} {'min s':>7} {'median s':>9} {'max s':>7} "
          f"{'rec CPU s':>9} {'µs/stop':>8}")
    medians: dict[str, float] = {}
    for name, results in runs.items():
        walls = sorted(wall for wall, _, _ in results)
        median = statistics.median(walls)
        medians[name] = median
        line = f"{name:26} {walls[0]:7.2f} {median:9.2f} {walls[-1]:7.2f}"
        stops = results[0][2]
        if stops:
            cpu = statistics.median(cpu for _, cpu, _ in results)
            line += f" {cpu:9.2f} {median / stops * 1e6:8.1f}   ({stops} stops)"
        print(line)

    print(f"\nrecorder CPU while the tracee sleeps (sleep {args.sleep:g} traced):")
    for spin in SPIN_BUDGETS:
        wall, cpu, _ = time_loop(["sleep", str(args.sleep)], ControlOptions(spin_us=spin))
        print(f"  spin_us={spin:<4} wall {wall:5.2f} s  recorder CPU {cpu * 1000:7.1f} ms"
              f"  ({cpu / wall * 100:5.2f} %)")

    if "strace -f -o /dev/null" in medians:
        goal = medians["strace -f -o /dev/null"] * 0.5
        print(f"\ngoal: full recording <= 0.5 x strace = {goal:.2f} s (medians)")
        for name in (f"loop spin_us={DEFAULT_SPIN_US}", "loop pin_cpu=0",
                     "ktr record (default)", "ktr record --pin"):
            if name in medians:
                print(f"  {name:24} {medians[name]:6.2f} s  -> {goal - medians[name]:+6.2f} s "
                      "left")

    if not args.no_profile:
        profile_loop(argv)
    return 0


def profile_loop(argv: Sequence[str]) -> None:
    """Python time per stop, by function (cProfile inflates every call a little)."""
    stops = 0

    def consumer(event: Event) -> None:
        nonlocal stops
        stops += 1

    control = Control(ControlOptions(spin_us=50))
    control.spawn(argv)
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    control.run(consumer)
    profiler.disable()
    wall = time.perf_counter() - start
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("tottime").print_stats(14)
    print(f"\ncProfile of the loop (spin_us=50): {stops} stops, {wall:.2f} s under the "
          f"profiler, {wall / stops * 1e6:.1f} µs/stop")
    print("top functions by own time (µs per stop = tottime / stops):")
    raw = stats.stats  # type: ignore[attr-defined]
    rows = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:14]
    for (filename, line, function), (_, calls, tottime, _, _) in rows:
        where = f"{os.path.basename(filename)}:{line}({function})"
        print(f"  {tottime / stops * 1e6:6.2f} µs  {calls:>8} calls  {where}")


if __name__ == "__main__":
    sys.exit(main())
