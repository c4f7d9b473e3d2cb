"""Benchmark ktrdump: records per second, CPU time, start-up and peak memory per view.

    python bench/bench_dump.py                 # 100 k and 1 M records, every view
    python bench/bench_dump.py --records 1000000 --repeat 3 \
        --baseline-python /tmp/base/.venv/bin/python   # side by side with another install
    python bench/bench_dump.py --records 200000 --profile json

Generates traces with ``formats`` alone (a realistic mix: openat CALL / NAMI /
RET, read CALL / GIO with 12-64 bytes of data / RET, in batches of 1000 like
the recorder's default maxentry), then runs the real ``ktrdump`` command in a
subprocess with its output going to /dev/null: text, JSON Lines, text ``-y``,
strace's format, ``--summary`` and ``--format chrome``. Each run reports its
wall time and its CPU time (user + system, from ``wait4``: much less
sensitive than wall time to other work on the machine) and peak RSS. Start-up
(interpreter and imports, per view) is measured on an empty trace; the
records/s figures are net of it (``net``, wall and CPU).

``--baseline-python PY`` runs the ktrdump installed with interpreter PY (its
``bin/ktrdump``) on the same traces, interleaved run by run with this one, so
both see the same machine load; both rows are printed, then the speed ratio
new/base (of net CPU records/s; above 1 is faster). A first unmeasured run of
each writes its bytecode caches, so start-up measures imports, not compiling.

Every output decodes calls (paths from NAMI, flags by name, a renderer
compiled per syscall); ``text -y`` adds fd tracking, ``strace`` pairs each
call into one line. Goals on the 2-core reference machine (1 M records):
text >= 300 k records/s, JSON >= 200 k records/s, summary >= 1 M records/s,
memory flat in file size (``-y``, strace and chrome are shown for
information). This is a benchmark, not a test: it prints figures and asserts
nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import zstandard

import formats
from formats import Genio, Namei, RecordKind, Syscall, Sysret

#: The outputs measured and the ktrdump options that select them.
FORMATS: dict[str, list[str]] = {
    "text": [],
    "json": ["--json"],
    "text-y": ["-y"],
    "strace": ["--format", "strace"],
    "summary": ["--summary"],
    "chrome": ["--format", "chrome"],
}
BATCH_RECORDS = 1000
START_NS = 1_700_000_000_000_000_000
PATHS = [b"/etc/ld.so.cache", b"/usr/lib/x86_64-linux-gnu/libc.so.6", b"/proc/self/maps",
         b"/home/user/project/src/main.c", b"/tmp/output.log"]
DATA = [b"hello world\n", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        bytes(range(48)), b"x" * 64]


def _mix(index: int) -> list[tuple[RecordKind, object]]:
    """Six records: an openat with its path, a read with its data."""
    path = PATHS[index % len(PATHS)]
    data = DATA[index % len(DATA)]
    fd = 3 + index % 5
    return [
        (RecordKind.SYSCALL, Syscall(257, 1, 0, ((1 << 64) - 100, 0x7FFD1000, 0x80000, 0, 0, 0))),
        (RecordKind.NAMEI, Namei(path)),
        (RecordKind.SYSRET, Sysret(257, 1, 0, 0 if index % 7 else 2, fd if index % 7 else -2,
                                   1500)),
        (RecordKind.SYSCALL, Syscall(0, 1, 0, (fd, 0x7FFD2000, 4096, 0, 0, 0))),
        (RecordKind.GENIO, Genio(fd, 0, 0, len(data), data)),
        (RecordKind.SYSRET, Sysret(0, 1, 0, 0, len(data), 900)),
    ]


def generate(path: Path, records: int, compress: bool = False) -> None:
    codec = formats.codec()
    framing = formats.batch_framing()
    compressor = zstandard.ZstdCompressor(level=3) if compress else None
    header = formats.FileHeader(hostname="bench", kernel_release="6.1", machine="x86_64",
                                realtime_ns=START_NS, monotonic_ns=0, ktr_version="bench")
    pids = [(4242, b"ls"), (4243, b"make"), (4244, b"cc1"), (4245, b"python3")]
    with open(path, "wb") as out:
        out.write(formats.encode_file_header(header))
        written = 0
        group = 0
        batch: list[bytes] = []
        while written < records:
            pid, comm = pids[group % len(pids)]
            for kind, payload in _mix(group):
                if written == records:
                    break
                batch.append(codec.encode_record(kind, pid, pid, START_NS + written * 1000,
                                                 comm, payload))  # type: ignore[arg-type]
                written += 1
                if len(batch) == BATCH_RECORDS:
                    out.write(framing.encode(batch, compressor))
                    batch = []
            group += 1
        if batch:
            out.write(framing.encode(batch, compressor))


def ktrdump_command(python: str) -> list[str]:
    """The ``ktrdump`` installed with interpreter ``python`` (its console script)."""
    script = Path(python).parent / "ktrdump"
    return [str(script)] if script.exists() else [python, "-m", "ktrdump"]


class Run(NamedTuple):
    wall: float  # seconds
    cpu: float  # user + system seconds of the ktrdump process
    peak_kib: int


def run(command: list[str], trace: Path, extra: list[str], *, warm_up: bool = False) -> Run:
    """One ktrdump run with its output to /dev/null: its times and peak RSS (``wait4``).

    ``warm_up``: a run that may write the bytecode caches (``__pycache__``)
    even under PYTHONDONTWRITEBYTECODE, so that start-up measures imports, not
    compiling: an editable install would otherwise compile every module at
    every run while a pip-installed baseline has its caches.
    """
    environment = dict(os.environ)
    if warm_up:
        environment.pop("PYTHONDONTWRITEBYTECODE", None)
    # cwd: the trace's directory, so ``python -m ktrdump`` never imports a
    # source tree from the current directory instead of the install measured.
    with open(os.devnull, "wb") as devnull:
        started = time.perf_counter()
        process = subprocess.Popen([*command, *extra, str(trace)], stdout=devnull,
                                   cwd=trace.parent, env=environment)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} {' '.join(extra)} failed: {process.returncode}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def best(runs: list[Run]) -> Run:
    return Run(min(r.wall for r in runs), min(r.cpu for r in runs), max(r.peak_kib for r in runs))


def profile(trace: Path, extra: list[str]) -> None:
    from ktrdump.cli import main

    profiler = cProfile.Profile()
    saved = sys.stdout
    sys.stdout = io.TextIOWrapper(open(os.devnull, "wb"))  # noqa: SIM115
    try:
        profiler.runcall(main, [*extra, str(trace)])
    finally:
        sys.stdout = saved
    pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


def _rate(records: int, seconds: float) -> str:
    """Records per second, or n/a when the run was not measurably longer than start-up."""
    return f"{records / seconds:,.0f}" if seconds > 0.01 else "n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description="ktrdump speed and memory")
    parser.add_argument("--records", type=int, action="append",
                        help="trace sizes (default: 100000 and 1000000)")
    parser.add_argument("--zstd", action="store_true", help="compress the batches")
    parser.add_argument("--repeat", type=int, default=1, help="runs per measurement (best kept)")
    parser.add_argument("--profile", choices=list(FORMATS),
                        help="profile one in-process run instead")
    parser.add_argument("--formats", nargs="+", choices=list(FORMATS), default=list(FORMATS),
                        help="outputs to measure (default: all)")
    parser.add_argument("--keep", type=Path, help="directory to keep the traces in")
    parser.add_argument("--baseline-python", metavar="PY",
                        help="also run the ktrdump installed with this interpreter, "
                             "interleaved (e.g. a venv of an older commit)")
    arguments = parser.parse_args()
    sizes = arguments.records or [100_000, 1_000_000]
    directory = arguments.keep or Path(tempfile.mkdtemp(prefix="ktrdump-bench-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        traces = {}
        for size in sizes:
            path = directory / f"bench-{size}{'-zstd' if arguments.zstd else ''}.ktr"
            if not path.exists():
                started = time.perf_counter()
                generate(path, size, arguments.zstd)
                print(f"generated {size} records, {path.stat().st_size / 1e6:.1f} MB "
                      f"in {time.perf_counter() - started:.1f} s")
            traces[size] = path
        if arguments.profile:
            profile(traces[sizes[0]], FORMATS[arguments.profile])
            return 0
        empty = directory / "empty.ktr"
        generate(empty, 0)
        commands = {"new": ktrdump_command(sys.executable)}
        if arguments.baseline_python:
            commands["base"] = ktrdump_command(arguments.baseline_python)
        load = os.getloadavg()[0]
        print(f"load average before: {load:.2f} on {os.cpu_count()} CPUs"
              + ("  (loaded: compare the CPU columns and base vs new, not absolutes)"
                 if load > 0.5 else ""))
        print(f"\n{'view':<8} {'records':>9} {'ktrdump':<7} {'wall s':>7} {'cpu s':>7} "
              f"{'net rec/s':>11} {'net cpu rec/s':>14} {'peak RSS':>10}")
        for name in arguments.formats:
            extra = FORMATS[name]
            for command in commands.values():
                run(command, empty, extra, warm_up=True)
            startups = {label: best([run(command, empty, extra) for _ in range(5)])
                        for label, command in commands.items()}
            for label, startup in startups.items():
                print(f"{name:<8} {'start-up':>9} {label:<7} {startup.wall:>7.3f} "
                      f"{startup.cpu:>7.3f} {'':>11} {'':>14} {startup.peak_kib / 1024:>7.1f} MB")
            for size, path in traces.items():
                runs: dict[str, list[Run]] = {label: [] for label in commands}
                for _ in range(arguments.repeat):  # interleaved: both see the same load
                    for label, command in commands.items():
                        runs[label].append(run(command, path, extra))
                rates = {}
                for label, measured in runs.items():
                    figures = best(measured)
                    net_wall = _rate(size, figures.wall - startups[label].wall)
                    net_cpu = _rate(size, figures.cpu - startups[label].cpu)
                    rates[label] = figures.cpu - startups[label].cpu
                    print(f"{name:<8} {size:>9} {label:<7} {figures.wall:>7.3f} "
                          f"{figures.cpu:>7.3f} {net_wall:>11} {net_cpu:>14} "
                          f"{figures.peak_kib / 1024:>7.1f} MB")
                if "base" in rates and min(rates.values()) > 0:
                    print(f"{name:<8} {size:>9} {'new/base':<7} {'':>7} {'':>7} {'':>11} "
                          f"{rates['base'] / rates['new']:>13.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
    finally:
        if arguments.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
