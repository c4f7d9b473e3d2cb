"""Function probes: per-hit cost of ``ktr record -P`` against the untraced loop and ltrace.

One C program (compiled here with gcc) calls ``add3`` N times in a loop and prints the loop's
own time per iteration (CLOCK_MONOTONIC around the loop: start-up costs are not counted).
Configurations, in one run, rounds alternating:

- untraced;
- ``ktr record -t p -P prog:add3`` (an entry probe; ``-t p``: no syscall records, so
  what is measured is the probe);
- ``ktr record -t p -P prog:add3 -P prog:add3:return`` (entry + return);
- ``ktr record -P prog:add3 -P prog:add3:return`` with the default facilities (syscalls
  traced too: the uretprobe syscall is let through by the seccomp filter);
- ``ltrace -x add3`` (ltrace's breakpoint on the same function; fewer iterations: it is slow).

Two builds: ``-O1`` (add3 starts with ``movslq``: the kernel single-steps it) and
``-O0 -fno-omit-frame-pointer`` (starts with ``push %rbp``: emulated, cheaper). Per-hit cost
= (traced ns/iteration - untraced ns/iteration). Then the consumer: the emulated build at
its full rate, hits/s reached and the records and drops ktr reports (goal: 100 k hits/s
without drops). Last, the teardown: the time from ktr's summary line to its exit with 50
and 100 probes of one C program (50 functions of one signature, at entry and return).

The teardown waits grace periods for each tracefs event (the last close of its perf
events: ``synchronize_rcu_tasks_trace`` twice and ``synchronize_rcu``, under the kernel's
global event_mutex, so threads do not overlap them: 100 fds closed by 8 threads took the
4.0 s one thread took). Measured here (kernel 6.18, 2 vCPUs, shared; this function, from
the summary line to the exit): with an event per probe, 50 probes 4.2-4.3 s (about 85 ms
each) and 100 probes 8.6-9.9 s; with the probes of one file and layout sharing an event
(one ``p:`` line per probe under one name), 50 probes 56-136 ms (one event) and 100
probes 157-184 ms (two events: entry and return). ``ktr record -t f -P 'libc:str*' -P
'libc:mem*' -- ls /`` (190 untyped libc probes: one event): 21.1 s before, 135 ms after.

The machine this runs on is shared (8 helpers on 2 vCPUs when these figures were taken):
the figures are noisy; compare the columns of one run, not runs.

    python bench/bench_probes.py [--count 200000] [--ltrace-count 2000] [--rounds 3]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from probe_support import build_program

KTR = str(Path(sys.executable).parent / "ktr")
KTRDUMP = str(Path(sys.executable).parent / "ktrdump")


def per_iteration(argv: list[str]) -> tuple[float, str]:
    """Run; the program's own ns per loop iteration, and ktr's stderr."""
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise SystemExit(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()[:300]}")
    numbers = re.findall(r"^\d+ ([\d.]+)$", proc.stdout + proc.stderr, re.M)
    if not numbers:
        raise SystemExit(f"no timing from {argv}: {proc.stdout[:200]} {proc.stderr[:200]}")
    return float(numbers[-1]), proc.stderr


def configurations(prog: Path, trace: str, count: int, ltrace_count: int
                   ) -> dict[str, list[str]]:
    ktr = [KTR, "record", "-o", trace]
    runs = {
        "untraced": [str(prog), "spin", str(count)],
        "ktr entry (-t p)": [*ktr, "-t", "p", "-P", "prog:add3", "--", str(prog), "spin",
                             str(count)],
        "ktr entry+return (-t p)": [*ktr, "-t", "p", "-P", "prog:add3", "-P",
                                    "prog:add3:return", "--", str(prog), "spin", str(count)],
        "ktr entry+return, syscalls": [*ktr, "-P", "prog:add3", "-P", "prog:add3:return",
                                       "--", str(prog), "spin", str(count)],
    }
    ltrace = shutil.which("ltrace")
    if ltrace is not None:
        runs["ltrace -x add3"] = [ltrace, "-x", "add3", "-o", "/dev/null", str(prog), "spin",
                                  str(ltrace_count)]
    return runs


def measure(prog: Path, label: str, trace: str, count: int, ltrace_count: int,
            rounds: int) -> None:
    runs = configurations(prog, trace, count, ltrace_count)
    values: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, argv in runs.items():
            values[name].append(per_iteration(argv)[0])
    medians = {name: statistics.median(v) for name, v in values.items()}
    base = medians["untraced"]
    print(f"\n== {label}: ns per loop iteration (median of {rounds}); per-hit = minus untraced")
    print(f"{'configuration':<30} {'ns/iter':>10} {'per hit us':>11}   runs")
    for name, value in medians.items():
        hit = (value - base) / 1000
        shown = " ".join(f"{v:.0f}" for v in values[name])
        print(f"{name:<30} {value:>10.1f} {hit:>11.2f}   {shown}")
    if "ltrace -x add3" in medians:
        ltrace_hit = medians["ltrace -x add3"] - base
        for name in ("ktr entry (-t p)", "ktr entry+return (-t p)",
                     "ktr entry+return, syscalls"):
            ratio = ltrace_hit / max(medians[name] - base, 1e-9)
            print(f"ltrace / {name:<28} {ratio:6.1f}x cheaper  (goal >= 10x)")


def consumer(prog: Path, trace: str, count: int) -> None:
    argv = [KTR, "record", "-t", "p", "-o", trace, "-P", "prog:add3(i64,i32,i64)", "--",
            str(prog), "spin", str(count)]
    ns, stderr = per_iteration(argv)
    summary = next((line for line in stderr.splitlines() if "records" in line), stderr.strip())
    dumped = subprocess.run([KTRDUMP, "-t", "f", trace], capture_output=True, text=True)
    hits = sum(1 for line in dumped.stdout.splitlines() if " PROBE " in line)
    rate = 1e9 / ns if ns else 0.0
    print(f"\n== consumer: {count} entry hits with 3 typed arguments")
    print(f"hits/s reached by the program: {rate:,.0f}   PROBE records in the trace: {hits}"
          f" of {count}")
    print(f"ktr: {summary}")


#: 50 functions of one signature, each called once
TEARDOWN_PROGRAM = "\n".join(
    [f"__attribute__((noipa)) int td{i:02d}(int x) {{ return x * 3 - {i}; }}"
     for i in range(50)]
    + ["int main(void) {", "  int x = 1;"] + [f"  x = td{i:02d}(x) % 1000;" for i in range(50)]
    + ["  return 0;", "}", ""])


def teardown(directory: Path, trace: str, rounds: int) -> None:
    """Milliseconds from ktr's summary line (the trace complete) to its exit."""
    source = directory / "teardown.c"
    source.write_text(TEARDOWN_PROGRAM)
    prog = directory / "teardown"
    subprocess.run(["gcc", "-O1", "-o", str(prog), str(source)], check=True)
    runs = {
        "50 probes (entry)": ["-P", f"{prog}:td*"],
        "100 probes (entry + return)": ["-P", f"{prog}:td*", "-P", f"{prog}:td*:return"],
    }
    print("\n== teardown: ms from the summary line to ktr's exit (each run)")
    for name, probes in runs.items():
        values = []
        for _ in range(rounds):
            proc = subprocess.Popen([KTR, "record", "-t", "f", "-o", trace, *probes, "--",
                                     str(prog)], stderr=subprocess.PIPE, text=True)
            assert proc.stderr is not None
            summary = None
            for line in proc.stderr:
                if " records " in line and summary is None:
                    summary = time.monotonic()
            proc.wait()
            if proc.returncode != 0 or summary is None:
                raise SystemExit(f"ktr failed ({proc.returncode}) with {probes}")
            values.append((time.monotonic() - summary) * 1000)
        print(f"{name:<30} {statistics.median(values):>8.0f} ms   "
              + " ".join(f"{v:.0f}" for v in values))


def main(arguments: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--ltrace-count", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(arguments)
    with tempfile.TemporaryDirectory() as directory:
        trace = str(Path(directory) / "bench.ktr")
        single = build_program(Path(directory), "pie", "prog")
        measure(single, "-O1 (first instruction single-stepped)", trace, args.count,
                args.ltrace_count, args.rounds)
        emulated_dir = Path(directory) / "fp"
        emulated_dir.mkdir()
        emulated = build_program(emulated_dir, "fp", "prog")
        measure(emulated, "-O0 -fno-omit-frame-pointer (push %rbp: emulated)", trace,
                args.count, args.ltrace_count, args.rounds)
        consumer(emulated, trace, max(args.count, 300_000))
        teardown(Path(directory), trace, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
