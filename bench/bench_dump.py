"""Benchmark ktrdump: records per second and peak memory, text, JSON Lines and strace.

    python bench/bench_dump.py                 # 100 k and 1 M records
    python bench/bench_dump.py --records 200000 --profile text

Generates traces with ``formats`` alone (a realistic mix: openat CALL / NAMI /
RET, read CALL / GIO with 12-64 bytes of data / RET, in batches of 1000 like
the recorder's default maxentry), then runs the real ``ktrdump`` command in a
subprocess with its output going to /dev/null, and reports wall time,
records/s and peak RSS (from ``/usr/bin/time -f %M`` when available,
otherwise ``getrusage(RUSAGE_CHILDREN)``). Startup (interpreter and imports)
is measured on an empty trace and shown separately. Memory should not grow
with the file: compare the sizes.

Every output decodes calls (paths from NAMI, flags by name, a renderer
compiled per syscall); ``text -y`` adds fd tracking, ``strace`` pairs each
call into one line. Goals on the 2-core reference machine: text >= 300 k
records/s, JSON >= 200 k records/s, memory flat in file size (``-y`` and
strace are shown for information). This is a benchmark, not a test: it
prints figures and asserts nothing.
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
import tempfile
import time
from pathlib import Path

import zstandard

import formats
from formats import Genio, Namei, RecordKind, Syscall, Sysret

#: The outputs measured and the ktrdump options that select them.
FORMATS: dict[str, list[str]] = {
    "text": [],
    "json": ["--json"],
    "text-y": ["-y"],
    "strace": ["--format", "strace"],
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


def _ktrdump() -> list[str]:
    script = Path(sys.executable).parent / "ktrdump"
    return [str(script)] if script.exists() else [sys.executable, "-m", "ktrdump"]


def run(trace: Path, extra: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one ktrdump run with output to /dev/null."""
    command = [*_ktrdump(), *extra, str(trace)]
    time_tool = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time")
                                         else None)
    with tempfile.NamedTemporaryFile("r") as report, open(os.devnull, "wb") as devnull:
        if time_tool:
            command = [time_tool, "-f", "%M", "-o", report.name, *command]
        started = time.perf_counter()
        subprocess.run(command, stdout=devnull, check=True)
        elapsed = time.perf_counter() - started
        if time_tool:
            peak_kib = int(report.read().split()[-1])
        else:
            peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, peak_kib


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
        print(f"\n{'format':<8} {'records':>9} {'wall s':>8} {'records/s':>11} "
              f"{'net rec/s':>11} {'peak RSS':>10}")
        for name in arguments.formats:
            extra = FORMATS[name]
            startup = min(run(empty, extra)[0] for _ in range(3))
            print(f"{name:<8} {0:>9} {startup:>8.3f} {'(startup)':>11} {'':>11} "
                  f"{run(empty, extra)[1] / 1024:>8.1f} MB")
            for size, path in traces.items():
                elapsed, peak = min(run(path, extra) for _ in range(arguments.repeat))
                net = size / max(elapsed - startup, 1e-9)
                print(f"{name:<8} {size:>9} {elapsed:>8.3f} {size / elapsed:>11,.0f} "
                      f"{net:>11,.0f} {peak / 1024:>8.1f} MB")
    finally:
        if arguments.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
