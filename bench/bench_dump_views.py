"""Benchmark ktrdump's other views: summary, Chrome JSON, merge; follow latency.

    python bench/bench_dump_views.py                  # 100 k and 1 M records
    python bench/bench_dump_views.py --records 200000 --profile summary

Traces come from ``bench_dump.generate`` (openat CALL / NAMI / RET, read CALL
/ GIO / RET, batches of 1000). Each measurement runs in a fresh Python
process, which reports the stage's own time (opening the trace to the last
byte written; interpreter start-up and imports excluded) and its peak RSS
(``ru_maxrss``). Output goes to /dev/null.

- ``summary``: ``_summary.summarize`` over ``raw_events()`` (the fast path)
- ``summary-decoded``: the same over decoded records (for comparison)
- ``chrome``: ``_chrome.write_chrome`` over ``events()``
- ``merge``: ``_merge.merge`` of two traces of half the size each, whose
  timestamps interleave record by record (the merge's worst case), iterated
- follow latency: a follower in this process, a batch appended every 20 ms;
  time from the write to the batch coming out, median and maximum.

Goals on the 2-core reference machine: summary >= 1 M records/s, chrome >=
200 k records/s, follow latency <= 100 ms, memory flat in file size (compare
the two sizes). A benchmark, not a test: it prints figures, asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_dump import BATCH_RECORDS, generate

VIEWS = ("summary", "summary-decoded", "chrome", "merge")


def run_view(view: str, paths: list[str]) -> dict[str, float]:
    """One measurement, in this process; returns records, seconds, peak RSS (KiB)."""
    import resource

    import ktrdump
    from ktrdump._chrome import ChromeOptions, write_chrome
    from ktrdump._merge import merge
    from ktrdump._summary import summarize

    started = time.perf_counter()
    records = 0
    with open(os.devnull, "w") as devnull:
        if view in ("summary", "summary-decoded"):
            with ktrdump.open(paths[0]) as reader:
                events = reader.raw_events() if view == "summary" else reader.events()
                summary = summarize(events, order=reader.header.byte_order)
                summary.write(devnull)
                records = summary.records
        elif view == "chrome":
            with ktrdump.open(paths[0]) as reader, open(os.devnull, "wb") as sink:
                write_chrome(reader.events(), sink,
                             ChromeOptions(origin_ns=reader.header.realtime_ns))
        elif view == "merge":
            readers = [ktrdump.open(path) for path in paths]
            try:
                for event in merge(readers):
                    if isinstance(event, list):
                        records += len(event)
            finally:
                for reader in readers:
                    reader.close()
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if view == "chrome":
        records = _count(paths[0])  # after the timed part
    return {"records": records, "seconds": elapsed, "peak_kib": peak}


def _count(path: str) -> int:
    """Records in a trace, from the batch headers' counts (not timed)."""
    import ktrdump

    with ktrdump.open(path) as reader:
        return sum(event.record_count for event in reader.raw_events()
                   if not isinstance(event, ktrdump.Skipped))


def measure(view: str, paths: list[Path]) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, __file__, "--child", view, *map(str, paths)],
        check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def shifted(source: Path, target: Path, shift_ns: int) -> None:
    """A copy of ``source`` with every timestamp moved by ``shift_ns`` (for merging)."""
    import formats
    import ktrdump

    codec = formats.codec()
    framing = formats.batch_framing()
    with ktrdump.open(source) as reader, open(target, "wb") as out:
        out.write(formats.encode_file_header(reader.header))
        for event in reader.events():
            if isinstance(event, list):
                out.write(framing.encode([
                    codec.encode_record(formats.RecordKind(r.kind), r.pid + 1000, r.tid + 1000,
                                        r.timestamp_ns + shift_ns, r.comm, r.payload)
                    for r in event]))


def follow_latency(directory: Path, samples: int = 30) -> tuple[float, float]:
    """Median and maximum seconds from appending a batch to the follower yielding it."""
    import ktrdump
    from ktrdump._follow import follow

    small = directory / "small.ktr"
    generate(small, BATCH_RECORDS)  # the file header and one batch
    data = small.read_bytes()
    with ktrdump.open(small) as reader:
        header_size = reader.header_size
    batch = data[header_size:]
    path = directory / "follow.ktr"
    path.write_bytes(data[:header_size])
    arrived: list[float] = []
    ready = threading.Event()
    follower = follow(path)

    def consume() -> None:
        ready.set()
        for event in follower.events():
            if isinstance(event, list):
                arrived.append(time.perf_counter())

    thread = threading.Thread(target=consume)
    thread.start()
    ready.wait()
    latencies = []
    with open(path, "ab") as out:
        for _ in range(samples):
            time.sleep(0.02)
            count = len(arrived)
            written = time.perf_counter()
            out.write(batch)
            out.flush()
            while len(arrived) == count:
                time.sleep(0.0005)
            latencies.append(arrived[-1] - written)
    follower.stop()
    thread.join()
    follower.close()
    return statistics.median(latencies), max(latencies)


def profile(view: str, paths: list[Path]) -> None:
    profiler = cProfile.Profile()
    profiler.runcall(run_view, view, [str(p) for p in paths])
    pstats.Stats(profiler).sort_stats("tottime").print_stats(12)


def main() -> int:
    parser = argparse.ArgumentParser(description="ktrdump summary / chrome / merge speed")
    parser.add_argument("--records", type=int, action="append",
                        help="trace sizes (default: 100000 and 1000000)")
    parser.add_argument("--profile", choices=VIEWS, help="profile one in-process run instead")
    parser.add_argument("--keep", type=Path, help="directory to keep the traces in")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        view, *paths = arguments.child
        print(json.dumps(run_view(view, paths)))
        return 0
    sizes = arguments.records or [100_000, 1_000_000]
    directory = arguments.keep or Path(tempfile.mkdtemp(prefix="ktrdump-views-"))
    directory.mkdir(parents=True, exist_ok=True)
    try:
        traces: dict[int, Path] = {}
        halves: dict[int, list[Path]] = {}
        for size in sizes:
            path = directory / f"bench-{size}.ktr"
            if not path.exists():
                generate(path, size)
            traces[size] = path
            half = directory / f"bench-{size // 2}.ktr"
            if not half.exists():
                generate(half, size // 2)
            other = directory / f"bench-{size // 2}-shifted.ktr"
            if not other.exists():
                shifted(half, other, 500)  # interleaves record by record
            halves[size] = [half, other]
        if arguments.profile:
            size = sizes[-1]
            profile(arguments.profile,
                    halves[size] if arguments.profile == "merge" else [traces[size]])
            return 0
        print(f"{'view':<16} {'records':>9} {'seconds':>8} {'records/s':>11} {'peak RSS':>10}")
        for view in VIEWS:
            for size in sizes:
                paths = halves[size] if view == "merge" else [traces[size]]
                figures = measure(view, paths)
                rate = figures["records"] / max(figures["seconds"], 1e-9)
                print(f"{view:<16} {int(figures['records']):>9} {figures['seconds']:>8.3f} "
                      f"{rate:>11,.0f} {figures['peak_kib'] / 1024:>7.1f} MB")
        median, worst = follow_latency(directory)
        print(f"\nfollow latency (append -> batch out, poll 25 ms): median {median * 1000:.1f} ms, "
              f"max {worst * 1000:.1f} ms")
    finally:
        if arguments.keep is None:
            shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
