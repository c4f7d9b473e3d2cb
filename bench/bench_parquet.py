"""Benchmark ``ktrdump --format parquet``: records per second and peak memory, beside JSON Lines.

    python bench/bench_parquet.py                  # 100 k and 1 M records
    python bench/bench_parquet.py --records 200000

The traces are ``bench_dump.py``'s (openat/NAMI/RET and read/GIO/RET mixes in
batches of 1000). Each size is converted by the real ``ktrdump`` command,
once to JSON Lines (the peer: the same call layer and decoding, written as
text to /dev/null) and once to Parquet (``-o`` into a temporary directory);
wall time, records/s and peak RSS are printed side by side. Then DuckDB runs
the README's question on the Parquet file and on the JSON Lines (read with
``read_json_auto``), to show what the columnar form buys. Goal (issue 12):
>= 200 k records/s, memory flat in the trace's size. Needs pyarrow and
duckdb (the ``test`` extra). A benchmark, not a test: it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dump import generate, ktrdump_command

QUESTION = """
SELECT fd_path, count(*) AS calls, sum(bytes) AS bytes, round(sum(duration_ns) / 1e6, 3) AS ms
FROM {source}
WHERE syscall IN ('read', 'write', 'pread64', 'pwrite64', 'readv', 'writev')
  AND fd_path IS NOT NULL
GROUP BY fd_path ORDER BY bytes DESC LIMIT 10
"""


def _ktrdump() -> list[str]:
    return ktrdump_command(sys.executable)


def run(trace: Path, extra: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one ktrdump run.

    CPU seconds are shown beside wall time because a loaded machine (several
    jobs on 2 CPUs) stretches wall time by whatever else runs.
    """
    with tempfile.NamedTemporaryFile("r") as report, open(os.devnull, "wb") as devnull:
        command = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name,
                   *_ktrdump(), *extra, str(trace)]
        subprocess.run(command, stdout=devnull, check=True)
        wall, user, system, peak = report.read().split()[-4:]
    return float(wall), float(user) + float(system), int(peak)


def main() -> int:
    parser = argparse.ArgumentParser(description="ktrdump --format parquet speed and memory")
    parser.add_argument("--records", type=int, action="append",
                        help="trace sizes (default: 100000 and 1000000)")
    arguments = parser.parse_args()
    try:
        import pyarrow  # noqa: F401  (ktrdump's parquet view needs it)
    except ImportError:
        print("bench_parquet: pyarrow is not installed: pip install 'ktr[parquet]'",
              file=sys.stderr)
        return 1
    sizes = arguments.records or [100_000, 1_000_000]
    directory = Path(tempfile.mkdtemp(prefix="ktrdump-parquet-bench-"))
    try:
        print(f"{'output':<8} {'records':>9} {'wall s':>8} {'records/s':>11} {'CPU s':>7} "
              f"{'rec/CPU s':>10} {'peak RSS':>10}")
        for size in sizes:
            trace = directory / f"bench-{size}.ktr"
            generate(trace, size)
            for name, extra in (("json", ["--json"]),
                                ("parquet", ["--format", "parquet", "-o",
                                             str(directory / f"calls-{size}.parquet")])):
                elapsed, cpu, peak = run(trace, extra)
                print(f"{name:<8} {size:>9} {elapsed:>8.3f} {size / elapsed:>11,.0f} "
                      f"{cpu:>7.2f} {size / cpu:>10,.0f} {peak / 1024:>8.1f} MB")
        try:
            import duckdb
        except ImportError:
            print("duckdb is not installed: no query timings")
            return 0
        size = sizes[-1]
        target = directory / f"calls-{size}.parquet"
        jsonl = directory / f"bench-{size}.jsonl"
        with open(jsonl, "wb") as out:
            subprocess.run([*_ktrdump(), "--json", "-y", str(directory / f"bench-{size}.ktr")],
                           stdout=out, check=True)
        started = time.perf_counter()
        duckdb.sql(QUESTION.format(source=f"'{target}'")).fetchall()
        parquet_s = time.perf_counter() - started
        print(f"\nDuckDB, the README's question over {size} records: "
              f"parquet {parquet_s:.3f} s ({target.stat().st_size / 1e6:.1f} MB)", end="")
        started = time.perf_counter()
        duckdb.sql(f"SELECT fd_path, count(*) FROM read_json_auto('{jsonl}') "
                   "WHERE type = 'RET' GROUP BY fd_path").fetchall()
        print(f"; JSON Lines (a simpler count) {time.perf_counter() - started:.3f} s "
              f"({jsonl.stat().st_size / 1e6:.1f} MB)")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
