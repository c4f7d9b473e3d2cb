"""The perf source's cost, side by side with ``perf`` on the same workloads, in one run.

Workloads (C, compiled here):

- pipe ping-pong: two threads pass one byte back and forth N times (two
  context switches per round trip per thread). Untraced; ``ktr record -t w``
  (switch records only: no syscall stops); ``perf record -e dummy
  --switch-events`` (the peer recording the same records).
  Goal: ``ktr record -t w`` <= 1.3 x untraced.
- CPU-bound loop (~0.5 s): untraced; ``ktr record -C
  task-clock,page-faults,context-switches --interval 10``; ``perf stat
  -I 10`` with the same events.
  Goal: counters at 10 ms cost <= 2 % (1.02 x untraced).

Times are the workload's own (it measures its main loop and its CPU time
and prints them), so start-up of the tools is left out; its CPU time shows
what tracing adds to it even when other jobs load the machine. Prints the
median of the rounds (rounds alternate the configurations) and the
ratios. Not a test: nothing here asserts. On a shared machine (other jobs
running) the figures are noisy: run it again and compare.

    python bench/bench_perf.py [--rounds 5] [--trips 20000] [--loops 300000000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

KTR = str(Path(sys.executable).parent / "ktr")

PING_PONG = r"""
#include <pthread.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
static double now(void) {
    struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + ts.tv_nsec / 1e9;
}
static int to_b[2], to_a[2];
static long trips;
static void *b(void *arg) {
    char c;
    (void)arg;
    for (long i = 0; i < trips; i++) { read(to_b[0], &c, 1); write(to_a[1], &c, 1); }
    return 0;
}
int main(int argc, char **argv) {
    trips = atol(argv[1]);
    pipe(to_b); pipe(to_a);
    double start = now();
    pthread_t t;
    pthread_create(&t, 0, b, 0);
    char c = 'x';
    for (long i = 0; i < trips; i++) { write(to_b[1], &c, 1); read(to_a[0], &c, 1); }
    pthread_join(t, 0);
    double elapsed = now() - start;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "elapsed %.9f cpu %.6f\n", elapsed, ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
            + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    return 0;
}
"""

CPU_BOUND = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
int main(int argc, char **argv) {
    struct timespec a, b;
    struct rusage ru;
    long n = atol(argv[1]);
    clock_gettime(CLOCK_MONOTONIC, &a);
    volatile unsigned long x = 0;
    for (long i = 0; i < n; i++) x += i * 2654435761u;
    clock_gettime(CLOCK_MONOTONIC, &b);
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "elapsed %.9f cpu %.6f\n",
            (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
            ru.ru_utime.tv_sec + ru.ru_stime.tv_sec
            + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    return 0;
}
"""


def build(directory: Path, name: str, source: str) -> str:
    path = directory / name
    (directory / f"{name}.c").write_text(source)
    subprocess.run(["gcc", "-O2", "-pthread", "-o", str(path), str(directory / f"{name}.c")],
                   check=True)
    return str(path)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str]) -> tuple[float, float, float]:
    """The workload's own elapsed time and CPU time (it prints both), so the
    tools' start-up and shutdown are not counted: the cost to the traced
    program is. Its CPU time (user + system, every thread) is what tracing
    adds to it, whatever else runs on the machine. Third: the tool's own CPU
    time (every process of the command but the workload's, start-up included:
    for ktr -t w mostly the reader turning ring records into CSW records)."""
    before = _children_cpu()
    result = subprocess.run(command, check=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    total = _children_cpu() - before
    for line in result.stderr.splitlines():
        if line.startswith("elapsed "):
            words = line.split()
            return float(words[1]), float(words[3]), max(0.0, total - float(words[3]))
    raise RuntimeError(f"no elapsed time from {command[0]}: {result.stderr[-300:]}")


def run(configurations: dict[str, list[str]], rounds: int
        ) -> dict[str, tuple[float, float, float]]:
    times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in configurations}
    for _ in range(rounds):
        for name, command in configurations.items():
            times[name].append(timed(command))
    return {name: (statistics.median(t[0] for t in values),
                   statistics.median(t[1] for t in values),
                   statistics.median(t[2] for t in values))
            for name, values in times.items()}


def report(title: str, medians: dict[str, tuple[float, float, float]], goal: str) -> None:
    wall_base, cpu_base, _ = medians["untraced"]
    print(f"\n{title}")
    print(f"  {'':<40} {'wall':>9}      {'ratio':>6}   {'cpu':>9}      {'ratio':>6}"
          f"   {'tool cpu':>9}")
    for name, (wall, cpu, tool) in medians.items():
        print(f"  {name:<40} {wall * 1000:9.1f} ms   {wall / wall_base:6.3f}   "
              f"{cpu * 1000:9.1f} ms   {cpu / cpu_base:6.3f}   {tool * 1000:9.1f} ms")
    print(f"  goal: {goal}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--trips", type=int, default=20000)
    parser.add_argument("--loops", type=int, default=300_000_000)
    arguments = parser.parse_args(argv)
    perf = shutil.which("perf")
    with tempfile.TemporaryDirectory(prefix="ktr-bench-perf-") as name:
        directory = Path(name)
        ping = build(directory, "pingpong", PING_PONG)
        cpu = build(directory, "cpubound", CPU_BOUND)
        out = str(directory / "out.ktr")
        perf_out = str(directory / "perf.data")

        workload = [ping, str(arguments.trips)]
        configurations = {
            "untraced": workload,
            "ktr record -t w": [KTR, "record", "-q", "-t", "w", "-o", out, "--", *workload],
            # the same tracer with no perf events: what being ktr's tracee costs alone
            "ktr record -t p (no perf source)": [KTR, "record", "-q", "-t", "p", "-o", out,
                                                 "--", *workload],
        }
        if perf:
            configurations["perf record -e dummy --switch-events"] = [
                perf, "record", "-q", "-e", "dummy", "--switch-events", "-o", perf_out, "--",
                *workload]
        medians = run(configurations, arguments.rounds)
        report(f"pipe ping-pong, {arguments.trips} round trips (2 threads)", medians,
               "ktr record -t w <= 1.3 x untraced")
        events = "task-clock,page-faults,context-switches"
        workload = [cpu, str(arguments.loops)]
        configurations = {
            "untraced": workload,
            "ktr record -C ... --interval 10": [
                KTR, "record", "-q", "-C", events, "--interval", "10", "-o", out, "--",
                *workload],
        }
        if perf:
            configurations["perf stat -I 10"] = [
                perf, "stat", "-I", "10", "-e", events, "-o", perf_out, "--",
                *workload]
        medians = run(configurations, arguments.rounds)
        report("CPU-bound loop, 3 counters read every 10 ms", medians,
               "ktr record -C at 10 ms <= 1.02 x untraced")
    print("\n(the machine may be shared: ratios move with load; compare runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
