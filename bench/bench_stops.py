"""Cost of the bare control loop per ptrace stop, against strace.

Workload: ``dd if=/dev/zero of=/dev/null bs=1 count=N`` (2 syscalls per byte,
so about 4·N syscall stops). Prints, for each configuration, the wall time,
the recorder's CPU time and the cost per stop; then the recorder's CPU while
the tracee sleeps (``sleep S`` traced) for each spin budget; then a cProfile
breakdown of the loop's Python work per stop (consumer does nothing).

    /work/venv/bin/python bench/bench_stops.py [--count 50000] [--sleep 2] [--repeat 1]

Not a test: figures depend on the machine; nothing here asserts.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

from ktr._control import Control, ControlOptions
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


def best(repeat: int, measure: Callable[[], float]) -> float:
    return min(measure() for _ in range(repeat))


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50000, help="dd byte count")
    parser.add_argument("--sleep", type=float, default=2.0, help="traced sleep, seconds")
    parser.add_argument("--repeat", type=int, default=1, help="best of N runs")
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args(arguments)
    argv = workload(args.count)
    print(f"workload: {' '.join(argv)}  (CPUs: {os.cpu_count()})")
    print(f"{'configuration':34} {'wall s':>8} {'rec CPU s':>10} {'µs/stop':>8}")

    untraced = best(args.repeat, lambda: time_command(argv))
    print(f"{'untraced':34} {untraced:8.2f}")
    strace = shutil.which("strace")
    strace_time = None
    if strace:
        strace_time = best(args.repeat, lambda: time_command(
            [strace, "-f", "-o", "/dev/null", *argv]))
        print(f"{'strace -f -o /dev/null':34} {strace_time:8.2f}")
        taskset = shutil.which("taskset")
        if taskset:
            pinned = best(args.repeat, lambda: time_command(
                [taskset, "-c", "0", strace, "-f", "-o", "/dev/null", *argv]))
            print(f"{'taskset -c 0 strace -f':34} {pinned:8.2f}")

    loop_times: dict[str, float] = {}
    configurations = [(f"loop spin_us={spin}", ControlOptions(spin_us=spin))
                      for spin in SPIN_BUDGETS]
    configurations.append(("loop pin_cpu=0", ControlOptions(pin_cpu=0)))
    for name, options in configurations:
        runs = [time_loop(argv, options) for _ in range(args.repeat)]
        wall, cpu, stops = min(runs)
        loop_times[name] = wall
        print(f"{name:34} {wall:8.2f} {cpu:10.2f} {wall / stops * 1e6:8.1f}"
              f"   ({stops} stops)")

    print(f"\nrecorder CPU while the tracee sleeps (sleep {args.sleep:g} traced):")
    for spin in SPIN_BUDGETS:
        wall, cpu, _ = time_loop(["sleep", str(args.sleep)], ControlOptions(spin_us=spin))
        print(f"  spin_us={spin:<4} wall {wall:5.2f} s  recorder CPU {cpu * 1000:7.1f} ms"
              f"  ({cpu / wall * 100:5.2f} %)")

    if strace_time is not None:
        fastest = min(loop_times.values())
        print(f"\ngoal (full recording <= 0.5 x strace): {strace_time * 0.5:.2f} s; "
              f"the bare loop's best is {fastest:.2f} s, leaving "
              f"{(strace_time * 0.5 - fastest):.2f} s for building records")

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
    for (filename, line, function), (_, calls, tottime, cumtime, _) in rows:
        where = f"{os.path.basename(filename)}:{line}({function})"
        print(f"  {tottime / stops * 1e6:6.2f} µs  {calls:>8} calls  {where}")


if __name__ == "__main__":
    sys.exit(main())
