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

Four rows measure the floor of CPython itself: ``bare_loop.py``, the
cheapest ptrace loop Python can run (wait4, GET_SYSCALL_INFO and its unpack,
PTRACE_SYSCALL a stop, and nothing else: no state, event or record), on dd,
find and pinned dd, and on dd once more polling ``waitpid`` as ktr's spinning
wait does (the floor of a spinning recorder; the others block). In the
"ktr s" column; where its ratio is over a goal, no recorder written in CPython
can meet that goal on this machine. ``bench_phases.py`` splits a stop's time
into its steps, for strace and ktr side by side.

Goals: ktr/strace <= 1.00 unpinned on all three, <= 1.50 pinned, in both
wakeup regimes.

Two wakeup regimes. On this kind of VM a cross-CPU wakeup (the tracee's stop
waking the tracer blocked on the other vCPU, and its resume waking the tracee)
costs little on some days and a lot on others: when the other vCPU is idle,
the guest halts it, and waking a halted vCPU goes through the host (an IPI
exit, the host scheduling the vCPU thread again). strace, which blocks in
wait4 at every stop, pays that twice a stop; ktr's adaptive spin mostly does
not. So the same build gives ratios that differ by 2-4x from one day to the
next. ``--regimes slow,fast`` (the default) measures both in one run:

- ``slow``: the machine as it is. On a quiet machine its idle vCPUs halt:
  the slow regime, wherever the host makes halted-vCPU wakeups expensive.
- ``fast``: one SCHED_IDLE busy loop per CPU (each pinned to its CPU) for the
  duration of that regime's rounds, killed after it on every way out (and by
  PR_SET_PDEATHSIG if this process is killed). A SCHED_IDLE task runs only
  when nothing else wants its CPU and is preempted at once by any normal
  task's wakeup, so it takes (almost) no time from the tracers and their
  tracees; but a vCPU that always has something runnable never halts, and
  every wakeup becomes a reschedule IPI to a running vCPU: the fast regime.

What the spinners do not emulate: a host that is itself busy (steal time,
vCPUs descheduled by the host, which can make either regime slower); the
host-side costs of the days when halting is cheap (halt-polling, posted
interrupts), which the spinners replace by "never halt" rather than
reproduce; and they are not free: a preempted spinner still leaves a
context switch per wakeup and a little cache and branch-predictor pollution
on its CPU, and with SMT the sibling hyperthread of a spinning vCPU runs
slower. They also add one to the load average per CPU while they run (the
figures printed for the fast regime include them). ``--busy-idle`` is
``--regimes fast``.

Rounds alternate strace and ktr (A B A B ...) and the figures are medians:
on a VM the cost of a cross-CPU wakeup changes over minutes, so only
figures of the same run compare. The ``paired`` column is the median of each
round's own ratio, which a drift between rounds moves less than the ratio of
the medians. Every configuration runs once untimed
first. Python's bytecode cache is on for the run (``PYTHONDONTWRITEBYTECODE``
is dropped, ``PYTHONPYCACHEPREFIX`` points into a temporary directory), as
in an installed ktr: otherwise every ``ktr`` start would recompile its
sources (~0.25 s here). The load average is printed before and after: a
loaded machine makes the ratios meaningless.

With ``--all``, also: a threaded Python program, the seccomp path
(``-e trace=openat`` against ``strace --seccomp-bpf``) and the recorder's
CPU while its tracee sleeps (once, after the regimes, without spinners).

    python bench/bench_record.py [--rounds 5] [--count 20000] [--regimes slow,fast]
                                 [--busy-idle] [--all]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

KTR = str(Path(sys.executable).parent / "ktr")
IMPORTS = "import json,email,http.client,sqlite3,asyncio"
REGIMES = ("slow", "fast")

#: A busy loop that dies with its parent (PR_SET_PDEATHSIG, SIGKILL), even
#: when the parent is killed before it could kill the loop; argv[1] is the
#: parent's pid (a parent already gone before the prctl is not noticed by it).
_SPINNER = """
import ctypes, os, sys
ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)
if os.getppid() != int(sys.argv[1]):
    sys.exit(0)
while True:
    pass
"""


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


def bare_loop(workload: list[str], pinned: bool) -> list[str]:
    """The cheapest CPython ptrace loop (``bare_loop.py``): three calls a stop, nothing
    else. What no Python recorder can beat."""
    script = str(Path(__file__).resolve().parent / "bare_loop.py")
    return [sys.executable, script, "pinned" if pinned else "free", *workload]


def bare_spinning_loop(workload: list[str], pinned: bool) -> list[str]:
    """``bare_loop.py spin``: the bare loop polling ``waitpid`` as ktr's spinning wait
    does. The floor of a spinning recorder, where ``bare_loop`` is a blocking one's."""
    assert not pinned  # (a pinned loop never spins: the tracee could not run)
    script = str(Path(__file__).resolve().parent / "bare_loop.py")
    return [sys.executable, script, "spin", *workload]


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


@contextlib.contextmanager
def idle_spinners(cpus: Sequence[int]) -> Iterator[list[int]]:
    """One SCHED_IDLE busy loop pinned to each of ``cpus`` while the block runs
    (the fast wakeup regime: see the module docstring); their pids.

    Each is made SCHED_IDLE and pinned before the block starts, and killed and
    reaped when it ends, however it ends (an exception, Ctrl-C; SIGTERM is
    turned into SystemExit by ``main``). If this process is killed outright,
    PR_SET_PDEATHSIG kills them."""
    spinners: list[subprocess.Popen[bytes]] = []
    try:
        for cpu in cpus:
            spinner = subprocess.Popen(
                [sys.executable, "-S", "-c", _SPINNER, str(os.getpid())],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            spinners.append(spinner)
            os.sched_setscheduler(spinner.pid, os.SCHED_IDLE, os.sched_param(0))
            os.sched_setaffinity(spinner.pid, {cpu})
        yield [spinner.pid for spinner in spinners]
    finally:
        for spinner in spinners:
            with contextlib.suppress(ProcessLookupError):
                spinner.kill()
        for spinner in spinners:
            spinner.wait()


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


class Row(NamedTuple):
    """One workload's medians in one regime; ``paired``: the median of each round's
    own ktr/strace (the two runs of a round are next to each other in time, so a
    machine that drifts between rounds moves both)."""

    name: str
    strace_s: float
    ktr_s: float
    goal: float | None
    paired: float

    @property
    def ratio(self) -> float:
        return self.ktr_s / self.strace_s


def compare(rounds: int, count: int, output: str, environment: Mapping[str, str]
            ) -> list[Row]:
    """The issue-13 table: strace and ktr side by side, medians, ratios."""
    rows = [
        (f"dd bs=1 count={count}", dd(count), False, 1.0),
        ("find /usr/lib/python3 /usr/share/doc", find(), False, 1.0),
        ("python3 -c 'import json,email,...'", imports(), False, 1.0),
        (f"dd bs=1 count={count}, pinned", dd(count), True, 1.5),
        ("true (start-up and exit only)", ["true"], False, None),
    ]
    floors = [
        (f"dd bs=1 count={count}, control loop alone", dd(count), False, control_alone),
        (f"dd bs=1 count={count}, pinned, loop alone", dd(count), True, control_alone),
        (f"dd bs=1 count={count}, bare loop", dd(count), False, bare_loop),
        (f"dd bs=1 count={count}, bare spinning loop", dd(count), False, bare_spinning_loop),
        ("find, bare loop", find(), False, bare_loop),
        (f"dd bs=1 count={count}, pinned, bare loop", dd(count), True, bare_loop),
    ]
    runs: dict[str, list[str]] = {}
    for name, workload, pinned, _ in rows:
        # A B A B: strace, then ktr, for each workload in turn
        runs[f"{name} | strace"] = strace(workload, pinned)
        runs[f"{name} | ktr"] = (ktr(workload, output, "--pin=0") if pinned
                                 else ktr(workload, output))
    for name, workload, pinned, floor in floors:
        runs[f"{name} | strace"] = strace(workload, pinned)
        runs[f"{name} | ktr"] = floor(workload, pinned)
    rows += [(name, workload, pinned, None) for name, workload, pinned, _ in floors]
    times = run_rounds(runs, rounds, environment)
    results = [Row(name, statistics.median(times[f"{name} | strace"]),
                   statistics.median(times[f"{name} | ktr"]), goal,
                   statistics.median(ours / peer for ours, peer in zip(
                       times[f"{name} | ktr"], times[f"{name} | strace"], strict=True)))
               for name, _, _, goal in rows]
    print(f"\n{'workload':<40} {'strace s':>9} {'ktr s':>9} {'ktr/strace':>11} "
          f"{'paired':>7} {'goal':>7}")
    for row in results:
        print(f"{row.name:<40} {row.strace_s:>9.3f} {row.ktr_s:>9.3f} {row.ratio:>11.2f} "
              f"{row.paired:>7.2f} {shown_goal(row.goal):>7}")
    print(f"\nruns ({rounds} rounds, medians above):")
    for label, values in times.items():
        print(f"  {label:<52} " + " ".join(f"{value:.3f}" for value in values))
    return results


def shown_goal(goal: float | None) -> str:
    return "-" if goal is None else f"<= {goal}"


def print_side_by_side(results: Mapping[str, list[Row]]) -> None:
    """Every regime's strace s, ktr s and ratio on one line per workload."""
    regimes = list(results)
    header = f"{'workload':<40}"
    for regime in regimes:
        header += f" | {regime + ': strace s':>15} {'ktr s':>7} {'ratio':>6}"
    print(f"\n== both regimes side by side (medians)\n{header} | goal")
    first = results[regimes[0]]
    for index, row in enumerate(first):
        line = f"{row.name:<40}"
        for regime in regimes:
            other = results[regime][index]
            line += f" | {other.strace_s:>15.3f} {other.ktr_s:>7.3f} {other.ratio:>6.2f}"
        print(f"{line} | {shown_goal(row.goal)}")


def parse_regimes(text: str) -> list[str]:
    regimes = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [regime for regime in regimes if regime not in REGIMES]
    if unknown or not regimes:
        raise argparse.ArgumentTypeError(
            f"regimes are a comma-separated list of {', '.join(REGIMES)}; got {text!r}")
    return regimes


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


def _terminate(signo: int, frame: object) -> None:
    raise SystemExit(128 + signo)


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
    parser.add_argument("--regimes", type=parse_regimes, default=list(REGIMES),
                        help="wakeup regimes to measure, in order: slow (the machine as "
                             "it is), fast (a SCHED_IDLE busy loop on every CPU)")
    parser.add_argument("--busy-idle", action="store_true",
                        help="the fast regime only (--regimes fast)")
    options = parser.parse_args(arguments)
    if options.busy_idle:
        options.regimes = ["fast"]
    # SIGTERM unwinds like Ctrl-C, so that the spinners are killed on the way out
    signal.signal(signal.SIGTERM, _terminate)
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
        results: dict[str, list[Row]] = {}
        cpus = sorted(os.sched_getaffinity(0))
        for regime in options.regimes:
            print(f"\n=== {regime} regime" + (
                f": a SCHED_IDLE busy loop on each of CPUs {cpus}" if regime == "fast"
                else ": the machine as it is"))
            spinners: contextlib.AbstractContextManager[list[int]] = (
                idle_spinners(cpus) if regime == "fast" else contextlib.nullcontext([]))
            with spinners:
                print(f"{load()} (at the start of the regime)")
                results[regime] = compare(options.rounds, options.count, output, environment)
                print(f"{load()} (at its end)")
        if len(results) > 1:
            print_side_by_side(results)
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
