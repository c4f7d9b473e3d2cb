"""User-mode instructions per ptrace stop: ``ktr record`` against strace, load-independent.

This machine kind has no hardware PMU (``perf stat -e instructions`` is
"not supported"), and wall or CPU time moves with whatever else runs. The
instruction count of the tracer's own code does not: valgrind's callgrind
counts every user-mode instruction the tracer executes (the tracee runs
natively: valgrind does not follow it, ``--trace-children=no``).

Each tracer runs twice on ``dd bs=1`` (two syscalls, four stops per byte),
with ``--small`` and ``--large`` bytes; the difference of the two totals
over the difference in stops is the per-stop cost, start-up cancelled out.
With ``--workload find``, on issue 13's other workload instead: ``find`` of
``*.py`` in /usr/share/doc, then in /usr/lib/python3 and /usr/share/doc (sizes
1 and 2); the stops between them counted by bare_loop.py.
Every configuration runs once first, unmeasured, so that byte-compiling
changed sources never falls into a measured pair. Rows:

- ``strace -f -o /dev/null``,
- ``ktr record --pin=0`` (the whole recorder: loop, builder, descriptor and writer),
- the bare control loop (``Control`` with a consumer that does nothing),
- the CPython floor (``bare_loop.py``: three ptrace/wait calls and an unpack a
  stop, nothing else).

Kernel-mode work (the ptrace, wait4 and pread system calls and the context
switches) is not counted; it is about the same for both tracers (same
number of system calls per stop, see bench_stops.py).

With ``--steps``, the per-step split of issue 13's profile, each step's
instructions per stop by the same difference of two runs:

- the bare loop, and within it the three ctypes crossings a stop (wait4,
  PTRACE_GET_SYSCALL_INFO, PTRACE_SYSCALL) and the syscall info's unpack, by
  callgrind's ``--toggle-collect`` of ``PyCFuncPtr_call`` and
  ``Struct_unpack_from`` (what runs inside those C functions; needs an
  interpreter with symbols, else "n/a");
- the recorder with its finishers replaced by ``id`` (``prepare`` alone: the
  plan, the read of the read()/write() buffer), then with its records kept in a
  list never queued (the record build), then whole (the queue), each step the
  difference from the one before (main thread only, ``--separate-threads``);
  ``struct.pack``'s share of the record build by ``--toggle-collect=s_pack``;
- the writer and waker threads of the whole recorder.

Differences of runs of different programs: the steps add up to the whole
recorder's figure to within the run-to-run noise (about 0.3 %), not exactly.

With ``--dump``, the reader instead: instructions per record of ``ktrdump
--json`` and ``ktrdump --format parquet`` (when pyarrow is installed) on two
``bench_dump.py`` traces of ``--small-records`` and ``--large-records``
records, start-up cancelled out the same way (issue 12's figures).

    python bench/bench_instructions.py [--small 1000] [--large 3000] [--steps]
    python bench/bench_instructions.py --workload find [--steps]
    python bench/bench_instructions.py --dump [--small-records 10000 --large-records 30000]

Not a test: nothing here asserts. Needs valgrind; takes about a minute.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

_LOOP = """
import sys
from ktr._control import Control, ControlOptions
control = Control(ControlOptions(pin_cpu=0))
control.spawn(sys.argv[1:])
control.run(lambda event: None)
"""


# The recorder with parts of its builder stubbed (--steps): argv[1] is the stub, the rest
# ktr record's arguments. "prepare": the finishers do nothing (id); "build": the records
# are made but kept in a list that is never queued; "whole": nothing stubbed.
_STUBBED = """
import sys
from ktr import _builder, _sources
stub = sys.argv[1]
class Stubbed(_builder.RecordBuilder):
    def __init__(self, options, sink, *rest):
        if stub == "build":
            self.kept = []
            sink = self.kept.append
        super().__init__(options, sink, *rest)
        if stub == "prepare":
            self._entry_free_bound = self._exit_free_bound = self._exit_plain_io_bound = id
            self._entry_free = self._exit_free = self._exit_plain_io = id
_sources.RecordBuilder = Stubbed
from ktr import cli
sys.exit(cli.main(sys.argv[2:]))
"""


def dd(count: int) -> list[str]:
    return ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", f"count={count}", "status=none"]


#: ``--workload find``: the run of size n finds in the first n of these trees (the
#: warm-up run, of size 10, in the first); issue 13's find is both.
FIND_TREES = ("/usr/share/doc", "/usr/lib/python3")


def find(count: int) -> list[str]:
    trees = FIND_TREES[:count] if count <= len(FIND_TREES) else FIND_TREES[:1]
    return ["find", *reversed(trees), "-name", "*.py"]


#: The workload (--workload): argv of a run of size n; dd unless main says otherwise.
workload: Callable[[int], list[str]] = dd


def stops_apart(small: int, large: int, environment: dict[str, str]) -> int:
    """Syscall stops the ``large`` run makes more than the ``small`` one: dd's four
    a byte; find's counted by bench/bare_loop.py (which prints them)."""
    if workload is dd:
        return 4 * (large - small)
    counts = []
    for size in (small, large):
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve().parent / "bare_loop.py"), "free",
             *workload(size)],
            capture_output=True, text=True, env=environment, check=True)
        match = re.search(r"bare loop: (\d+) syscall stops", done.stderr)
        if match is None:
            raise RuntimeError(f"no stop count from bare_loop.py: {done.stderr[-500:]}")
        counts.append(int(match.group(1)))
    return counts[1] - counts[0]


def instructions(argv: Sequence[str], environment: dict[str, str]) -> int:
    """Instructions (callgrind's Ir) the process ``argv`` executed in user mode."""
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
         "--trace-children=no", *argv],
        capture_output=True, text=True, env=environment, check=True)
    match = re.search(r"Collected : (\d+)", done.stderr)
    if match is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(match.group(1))


def thread_instructions(argv: Sequence[str], environment: dict[str, str],
                        *options: str) -> list[int]:
    """Instructions of each thread of ``argv`` (callgrind --separate-threads), in
    thread creation order; with ``options`` (a --toggle-collect), only those counted."""
    with tempfile.TemporaryDirectory(prefix="bench-instructions-threads-") as directory:
        out = os.path.join(directory, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
             "--separate-threads=yes", "--trace-children=no", *options, *argv],
            capture_output=True, text=True, env=environment, check=True)
        counts: list[int] = []
        for path in sorted(Path(directory).glob("callgrind.out-*")):
            match = re.search(r"^(?:summary|totals): (\d+)", path.read_text(), re.MULTILINE)
            counts.append(int(match.group(1)) if match else 0)
        return counts


def per_step(small: int, large: int, environment: dict[str, str]) -> None:
    """Issue 13's per-step profile of ``ktr record --pin=0`` (see the module docstring)."""
    stops = stops_apart(small, large, environment)
    scratch = tempfile.mkdtemp(prefix="bench-instructions-steps-")
    names = itertools.count()

    def recorder(stub: str) -> Callable[[int], list[str]]:
        return lambda n: [sys.executable, "-c", _STUBBED, stub, "record", "-q", "--pin=0",
                          "-o", os.path.join(scratch, f"out{next(names)}.ktr"), "--", *workload(n)]

    def loop(n: int) -> list[str]:
        return [sys.executable, "-c", _LOOP, *workload(n)]

    def step(command: Callable[[int], list[str]], *options: str) -> list[float]:
        thread_instructions(command(10), environment, *options)  # warm: byte-compile
        fewer = thread_instructions(command(small), environment, *options)
        more = thread_instructions(command(large), environment, *options)
        return [(b - a) / stops for a, b in zip(fewer, more, strict=False)]

    print(f"per-step user-mode instructions per stop (callgrind Ir), ktr record --pin=0, "
          f"{' '.join(workload(small))} vs {' '.join(workload(large))}: {stops} stops apart")
    try:
        bare = step(loop)[0]
        crossings = step(loop, "--toggle-collect=PyCFuncPtr_call")[0]
        unpack = step(loop, "--toggle-collect=Struct_unpack_from")[0]
        prepared = step(recorder("prepare"))[0]
        built = step(recorder("build"))[0]
        whole = step(recorder("whole"))
        packing = sum(step(recorder("whole"), "--toggle-collect=s_pack"))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def shown(value: float) -> str:
        return f"{value:10,.0f}" if value else f"{'n/a':>10}"

    rows = [
        ("bare control loop (Control, no-op consumer)", bare),
        ("  ctypes crossings (wait4, GET_SYSCALL_INFO, SYSCALL)", crossings),
        ("  syscall info struct.unpack_from", unpack),
        ("  the rest: interpreter, event tuple, clock", bare - crossings - unpack),
        ("builder prepare, while stopped", prepared - bare),
        ("record build, after the resume", built - prepared),
        ("  of which struct.pack", packing),
        ("queue (held records to the descriptor)", whole[0] - built),
        ("writer thread", whole[1] if len(whole) > 1 else 0.0),
        ("other threads (waker)", sum(whole[2:])),
        ("ktr record --pin=0, all threads", sum(whole)),
    ]
    for label, value in rows:
        print(f"  {label:<56} {shown(value)}")


def per_record(small: int, large: int, environment: dict[str, str]) -> None:
    """``ktrdump``'s instructions per record, per view, on bench_dump's traces."""
    from bench_dump import generate

    scratch = Path(tempfile.mkdtemp(prefix="bench-instructions-dump-"))
    names = itertools.count()
    ktrdump = [sys.executable, "-m", "ktrdump"]
    views: list[tuple[str, Callable[[Path], list[str]]]] = [
        ("ktrdump --json", lambda trace: [*ktrdump, "--json", str(trace)])]
    if importlib.util.find_spec("pyarrow") is not None:
        # a new output each run: ktrdump never writes over a file
        views.append(("ktrdump --format parquet", lambda trace: [
            *ktrdump, "--format", "parquet", "-o",
            str(scratch / f"out{next(names)}.parquet"), str(trace)]))
    print(f"user-mode instructions per record (callgrind Ir), bench_dump traces of "
          f"{small} vs {large} records")
    try:
        traces = {}
        for count in (10, small, large):
            traces[count] = scratch / f"dump{count}.ktr"
            generate(traces[count], count)
        for label, command in views:
            instructions(command(traces[10]), environment)  # warm: byte-compile
            fewer = instructions(command(traces[small]), environment)
            more = instructions(command(traces[large]), environment)
            print(f"  {label:<38} {(more - fewer) / (large - small):10,.0f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main(arguments: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=1000, help="dd bytes, first run")
    parser.add_argument("--large", type=int, default=3000, help="dd bytes, second run")
    parser.add_argument("--dump", action="store_true",
                        help="ktrdump's instructions per record instead (issue 12)")
    parser.add_argument("--steps", action="store_true",
                        help="also the per-step split of ktr record's figure (issue 13)")
    parser.add_argument("--small-records", type=int, default=10_000)
    parser.add_argument("--large-records", type=int, default=30_000)
    parser.add_argument("--workload", choices=("dd", "find"), default="dd",
                        help="dd bs=1 (--small/--large bytes), or find *.py in /usr/share/doc "
                             "vs /usr/lib/python3 and /usr/share/doc (sizes 1 and 2)")
    options = parser.parse_args(arguments)
    global workload
    if options.workload == "find":
        workload = find
        if options.small == 1000 and options.large == 3000:  # (dd's defaults)
            options.small, options.large = 1, 2
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: bytecode cached
    if options.dump:
        if shutil.which("valgrind") is None:
            print("valgrind is not installed", file=sys.stderr)
            return 1
        per_record(options.small_records, options.large_records, environment)
        return 0
    for tool in ("valgrind", "strace", options.workload):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed", file=sys.stderr)
            return 1
    scratch = tempfile.mkdtemp(prefix="bench-instructions-")
    output = os.path.join(scratch, "out.ktr")
    ktr = [sys.executable, "-m", "ktr", "record", "-q", "--pin=0", "-o", output, "--"]
    rows: list[tuple[str, Callable[[int], list[str]]]] = [
        ("strace -f -o /dev/null", lambda n: ["strace", "-f", "-o", "/dev/null", *workload(n)]),
        ("ktr record --pin=0", lambda n: [*ktr, *workload(n)]),
        ("bare loop (Control, no-op consumer)",
         lambda n: [sys.executable, "-c", _LOOP, *workload(n)]),
        ("CPython floor (bench/bare_loop.py)",
         lambda n: [sys.executable, str(Path(__file__).resolve().parent / "bare_loop.py"),
                    "pinned", *workload(n)]),
    ]
    stops = stops_apart(options.small, options.large, environment)
    print(f"user-mode instructions per stop (callgrind Ir), {' '.join(workload(options.small))} "
          f"vs {' '.join(workload(options.large))}: {stops} stops apart")
    results: dict[str, float] = {}
    try:
        for label, command in rows:
            instructions(command(10), environment)  # warm: byte-compile outside the pair
            small = instructions(command(options.small), environment)
            large = instructions(command(options.large), environment)
            results[label] = (large - small) / stops
            print(f"  {label:<38} {results[label]:10,.0f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peer = results["strace -f -o /dev/null"]
    print(f"  ktr record / strace: {results['ktr record --pin=0'] / peer:.1f} x")
    if options.steps:
        per_step(options.small, options.large, environment)
    return 0


if __name__ == "__main__":
    sys.exit(main())
