"""Producer -> file throughput of the trace descriptor and its writer thread.

One producer thread calls ``Descriptor.add_entry`` as fast as it can with
64-byte records -- a SYSCALL record with two arguments (40-byte header +
8-byte fixed payload + 2 x 8-byte args), like ``dup2(3, 1)`` -- into a file in
/tmp, with default ``QueueParameters``, raw and zstd-compressed. The clock runs
from the first ``add_entry`` until the last ``release`` returns, so the final
flush is included. 100 000 distinct records (jittered timestamps, a few
pids and tids, pointer-like arguments) are cycled, so zstd does not see one
record repeated.

Goals on the 2-core development machine: >= 1 M records/s raw, >= 600 k/s zstd.
Prints its figures; asserts nothing.

    python bench/bench_writer.py [--records N] [--repeat K] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import os
import platform
import pstats
import random
import statistics
import tempfile
import time

import formats
from ktr._descriptor import OutputOptions, QueueParameters, open_descriptor

DUP2 = 33


def make_records(count: int) -> list[bytes]:
    """Distinct records: jittered timestamps, a few pids/tids, pointer-like arguments."""
    encode = formats.codec().encode_record
    rng = random.Random(1)
    timestamp = time.time_ns()
    records = []
    for i in range(count):
        timestamp += rng.randrange(200, 5000)
        pid = 4000 + rng.randrange(4)
        args = (rng.randrange(64), 0x7FFD_0000_0000 + rng.randrange(1 << 32))
        records.append(encode(formats.RecordKind.SYSCALL, pid, pid + rng.randrange(3),
                              timestamp, b"bench",
                              formats.Syscall(DUP2 + i % 3, int(formats.Abi.X86_64), 0, args)))
    return records


def make_header() -> formats.FileHeader:
    uname = platform.uname()
    return formats.FileHeader(
        hostname=uname.node, kernel_release=uname.release, machine=uname.machine,
        realtime_ns=time.time_ns(), monotonic_ns=time.monotonic_ns(),
        ktr_version="bench", options={"bench": True},
    )


def run_once(records: list[bytes], total: int, compress: bool,
             profile: cProfile.Profile | None = None) -> tuple[float, int, object]:
    fd, path = tempfile.mkstemp(prefix="ktr-bench-", suffix=".ktr", dir="/tmp")
    os.close(fd)
    try:
        descriptor = open_descriptor(
            OutputOptions(path, compress=compress, parameters=QueueParameters()),
            make_header())
        add = descriptor.add_entry
        cycle = len(records)
        rounds, rest = divmod(total, cycle)
        if profile is not None:
            profile.enable()
        began = time.perf_counter()
        for _ in range(rounds):
            for record in records:
                add(record)
        for record in records[:rest]:
            add(record)
        descriptor.release()
        elapsed = time.perf_counter() - began
        if profile is not None:
            profile.disable()
        stats = descriptor.stats
        assert stats.records_written == total, stats
        return elapsed, os.path.getsize(path), stats
    finally:
        os.unlink(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true",
                        help="profile one raw run (slows it down) and print the top entries")
    arguments = parser.parse_args()

    records = make_records(100_000)
    assert all(len(r) == 64 for r in records[:10])
    total = arguments.records
    print(f"{total} SYSCALL records of {len(records[0])} bytes, one producer thread, "
          f"default QueueParameters, file in /tmp, best and median of {arguments.repeat}")
    for compress, goal in ((False, 1_000_000), (True, 600_000)):
        rates = []
        size = 0
        stats: object = None
        for _ in range(arguments.repeat):
            elapsed, size, stats = run_once(records, total, compress)
            rates.append(total / elapsed)
        label = "zstd" if compress else "raw "
        best = max(rates)
        print(f"{label}: best {best / 1e6:.2f} M rec/s, median "
              f"{statistics.median(rates) / 1e6:.2f} M rec/s "
              f"(goal {goal / 1e6:.2f}: {'met' if best >= goal else 'NOT met'}); "
              f"file {size / 1e6:.1f} MB ({size / total:.1f} B/rec); "
              f"{stats.batches_written} batches, drops {dict(stats.drops)}")  # type: ignore[attr-defined]
    if arguments.profile:
        profile = cProfile.Profile()
        run_once(records, min(total, 500_000), False, profile)
        pstats.Stats(profile).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    main()
