"""Stack sampling: what it costs the target, and how fast ktrdump unwinds, beside perf.

1. Target cost at 1 kHz: a C program doing a fixed amount of work (no
   syscalls) reports its own CPU time (getrusage) untraced, under
   ``ktr record -t S -F 1000`` and under ``perf record -F 1000 --call-graph
   dwarf,8192`` (the peer). Rounds alternate the three; medians are printed.
   Goal: ktr's sampling costs the target at most 3 % CPU.
2. Offline unwinding: a profile of Debian's ``/usr/bin/python3`` running a
   Python workload, recorded with ``-t S`` (8 KiB stacks), is unwound and
   symbolized by ktrdump in-process: a first pass (cold: symbol tables and CFI
   read), then warm passes (fresh per-trace state; modules cached by build id,
   as a second trace in the same process or the on-disk symbol cache gives).
   Per-step costs: unwinding alone, naming frames, aggregating. Side by side:
   ``perf script`` turning perf's own dwarf recording of the same workload into
   stacks (its C unwinder). Goal: >= 10 000 samples/s warm.

The machine is shared (2 vCPUs, other jobs): every figure is noisy; CPU time
(process_time) is printed next to wall time because it is less disturbed.

    python bench/bench_sampling.py [--rounds 3] [--hz 4000] [--seconds 1.5]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import formats
from ktrdump._profile import Profile, Stacks
from ktrdump._reader import open_trace
from ktrdump._unwind import unwind

KTR = str(Path(sys.executable).parent / "ktr")

WORK_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
volatile unsigned long sink;
__attribute__((noinline)) void leaf(long n) { for (long i = 0; i < n; i++) sink += i * 3; }
__attribute__((noinline)) void mid(long n) { leaf(n); sink++; }
int main(int argc, char **argv) {
    long reps = atol(argv[1]);
    for (long r = 0; r < reps; r++) mid(1000000);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "cpu %ld\n", (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000L
                                 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
    return 0;
}
"""

PYTHON_WORK = textwrap.dedent("""
    import json, re, sys, time
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)
    def churn(n):
        table = {}
        for i in range(n):
            table[str(i)] = [i, i * 2, {"k": i}]
        return len(json.dumps(table))
    def text(n):
        return len(re.findall(r"[aeiou]+", "the quick brown fox " * n))
    deadline = time.process_time() + float(sys.argv[1])
    while time.process_time() < deadline:
        fib(18); churn(3000); text(2000)
""")


def cpu_us(command: list[str]) -> int:
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    for line in done.stderr.splitlines():
        if line.startswith("cpu "):
            return int(line.split()[1])
    raise RuntimeError(f"no CPU figure from {command}: {done.stderr[-300:]}")


def target_cost(directory: Path, rounds: int, reps: int) -> None:
    source = directory / "work.c"
    source.write_text(WORK_C)
    program = directory / "work"
    subprocess.run(["gcc", "-O2", "-fomit-frame-pointer", "-o", str(program), str(source)],
                   check=True)
    trace = directory / "work.ktr"
    perf = shutil.which("perf")
    runs: dict[str, list[int]] = {"untraced": [], "ktr -F 1000": [], "perf -F 1000 dwarf": []}
    for _ in range(rounds):
        runs["untraced"].append(cpu_us([str(program), str(reps)]))
        runs["ktr -F 1000"].append(cpu_us([KTR, "record", "-q", "-t", "S", "-F", "1000", "-o",
                                           str(trace), "--", str(program), str(reps)]))
        if perf is not None:
            runs["perf -F 1000 dwarf"].append(cpu_us(
                [perf, "record", "-q", "-F", "1000", "--call-graph", "dwarf,8192", "-o",
                 str(directory / "work.data"), str(program), str(reps)]))
    base = statistics.median(runs["untraced"])
    low = min(runs["untraced"])
    print("1. target CPU time at 1 kHz (getrusage of the target itself; median and best "
          "of the rounds against the untraced run's)")
    for name, values in runs.items():
        if not values:
            print(f"   {name:22s} (not installed)")
            continue
        value = statistics.median(values)
        print(f"   {name:22s} median {value / 1e6:7.3f} s {100 * (value / base - 1):+7.2f} %"
              f"   best {min(values) / 1e6:7.3f} s {100 * (min(values) / low - 1):+7.2f} %"
              f"   (rounds: {', '.join(f'{v / 1e6:.3f}' for v in values)})")
    with open_trace(str(trace)) as reader:
        samples = sum(1 for event in reader.events() if isinstance(event, list)
                      for record in event if record.kind == formats.RecordKind.SAMPLE)
    print(f"   ktr's last recording: {samples} samples for "
          f"{runs['ktr -F 1000'][-1] / 1e6:.3f} s of target CPU")


def unwinding(directory: Path, hz: int, seconds: float, passes: int) -> None:
    python = "/usr/bin/python3"
    script = directory / "work.py"
    script.write_text(PYTHON_WORK)
    trace = directory / "python.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "S", "-F", str(hz), "-o", str(trace), "--",
                    python, str(script), str(seconds)], check=True)
    with open_trace(str(trace)) as reader:
        records = [record for event in reader.events() if isinstance(event, list)
                   for record in event]
    samples = [r for r in records if r.kind == formats.RecordKind.SAMPLE]
    print(f"\n2. ktrdump: unwind + symbolize {len(samples)} samples of {python} "
          f"({hz} Hz, {seconds:g} s of CPU, 8 KiB stacks)")
    for attempt in range(passes):
        profile = Profile(Stacks(cache_dir=None))
        wall, cpu = time.perf_counter(), time.process_time()
        profile.add_records(records)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        label = "cold (tables read)" if attempt == 0 else "warm"
        print(f"   pass {attempt} {label:20s} {len(samples) / cpu:9.0f} samples/s CPU "
              f"({len(samples) / wall:9.0f} wall)")
    # Per step, warm: unwinding only; naming; the rest is aggregation.
    stacks = profile.stacks
    for record in records:
        if record.kind in (formats.RecordKind.MMAP, formats.RecordKind.PROC):
            stacks.observe(record)
    frames = 0
    cpu = time.process_time()
    for record in samples:
        frames += len(unwind(record.payload, stacks._source(record.pid)))
    unwind_cpu = time.process_time() - cpu
    cpu = time.process_time()
    for record in samples:
        stacks.named(record)
    named_cpu = time.process_time() - cpu
    per = 1e6 / len(samples)
    print(f"   per sample (warm, CPU): unwind {unwind_cpu * per:6.1f} us "
          f"({frames / len(samples):.1f} frames, {unwind_cpu * 1e6 / frames:.2f} us/frame); "
          f"unwind + name {named_cpu * per:6.1f} us")
    reached = sum(1 for record in samples
                  if any(label in ("_start", "start_thread") for _, label in stacks.named(record)))
    print(f"   samples unwound to _start / start_thread: {100 * reached / len(samples):.1f} %")
    perf = shutil.which("perf")
    if perf is None:
        print("   perf: not installed")
        return
    data = directory / "python.data"
    subprocess.run([perf, "record", "-q", "-F", str(hz), "--call-graph", "dwarf,8192", "-o",
                    str(data), python, str(script), str(seconds)], check=True,
                   capture_output=True)
    for attempt in range(2):
        wall = time.perf_counter()
        done = subprocess.run([perf, "script", "-i", str(data), "-F", "ip,sym"],
                              capture_output=True, text=True, check=True)
        wall = time.perf_counter() - wall
        count = sum(1 for block in done.stdout.split("\n\n") if block.strip())
        print(f"   perf script (run {attempt}) {count / wall:9.0f} samples/s wall "
              f"({count} samples; includes perf's start-up and symbol loading)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=400, help="work units of the C program")
    parser.add_argument("--hz", type=int, default=4000)
    parser.add_argument("--seconds", type=float, default=1.5)
    parser.add_argument("--passes", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sampling-") as name:
        directory = Path(name)
        target_cost(directory, arguments.rounds, arguments.reps)
        unwinding(directory, arguments.hz, arguments.seconds, arguments.passes)
    print("\n(shared 2-vCPU machine: expect tens of percent of noise between runs)")


if __name__ == "__main__":
    main()
