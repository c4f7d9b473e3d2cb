"""Benchmark ``ktrdump --format parquet``: records per second and peak memory, beside JSON Lines.

    python bench/bench_parquet.py                  # 100 k and 1 M records
    python bench/bench_parquet.py --records 200000
    python bench/bench_parquet.py --records 1000000 --repeat 3 \
        --baseline-python /tmp/base/.venv/bin/python   # A/B with another install
    python bench/bench_parquet.py --records 1000000 --stages   # where the time goes
    python bench/bench_parquet.py --trace real.ktr --stages    # a recording of yours

The traces are ``bench_dump.py``'s (openat/NAMI/RET and read/GIO/RET mixes in
batches of 1000). Each size is converted by the real ``ktrdump`` command,
once to JSON Lines (the peer: the same call layer and decoding, written as
text to /dev/null) and once to Parquet (``-o`` into a temporary directory);
wall time, records/s and peak RSS are printed side by side. Then DuckDB runs
the README's question on the Parquet file and on the JSON Lines (read with
``read_json_auto``), to show what the columnar form buys. Goal (issue 12):
>= 200 k records/s, memory flat in the trace's size. Needs pyarrow and
duckdb (the ``test`` extra). A benchmark, not a test: it asserts nothing.

``--trace FILE`` measures a recording instead of the generated traces
(``ktr record -o big.ktr -- dd if=/dev/zero of=/dev/null bs=1 count=170000``
makes a million records of CALL/GIO/RET). ``--repeat N`` runs each
measurement N times, alternating the outputs (and the installs), and prints
medians. ``--baseline-python PY`` also runs the ktrdump installed with
interpreter PY on the same traces, run by run in turn with this one (both see
the same machine load), and prints the ratio of CPU records/s (new / base;
above 1 is faster): on a shared machine compare that ratio, not the absolute
figures. Each install runs once, untimed, before the measurements, allowed to
write its bytecode caches (an editable install under PYTHONDONTWRITEBYTECODE
would otherwise compile every module at every run). ``--stages`` prints, in
process, the CPU time per record of each stage of the general path every view
shares, cumulatively: checking and
decompressing the batches (``raw_events``), decoding their records
(``events``), pairing them into calls (``CallTracker.stream``), the parquet
sink's dispatch, building the rows (``_call_row``), and Arrow conversion plus
Parquet writing (the row groups' flush); then those of the fast path the
command takes when no filter is given (``_parquet``, "Speed"): the batches
checked and parsed (``parsed_events``), the calls paired by
``ParquetWriter.parsed_batch`` (with the rows of memoised calls, which it
writes inline at their RET), the other rows, Arrow and writing. CPU time on a machine shared with
other work still varies by tens of percent from run to run (caches, the other
hyper-thread); ``valgrind --tool=cachegrind`` instruction counts of the same
stages do not, and are what a small change should be judged by.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


def warm_up(trace: Path, extra: list[str], command: list[str]) -> None:
    """One untimed run that may write the bytecode caches (``__pycache__``) even under
    PYTHONDONTWRITEBYTECODE: an editable install (a worktree's) would otherwise
    compile every module at every run, while a pip-installed baseline has its
    caches, and the A/B would measure compiling (tens of ms a run)."""
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTHONDONTWRITEBYTECODE"}
    with open(os.devnull, "wb") as devnull:
        subprocess.run([*command, *extra, str(trace)], stdout=devnull, check=True,
                       env=environment)


def run(trace: Path, extra: list[str], command: list[str] | None = None,
        ) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one ktrdump run.

    CPU seconds are shown beside wall time because a loaded machine (several
    jobs on 2 CPUs) stretches wall time by whatever else runs.
    """
    with tempfile.NamedTemporaryFile("r") as report, open(os.devnull, "wb") as devnull:
        timed = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name,
                 *(command or _ktrdump()), *extra, str(trace)]
        subprocess.run(timed, stdout=devnull, check=True)
        wall, user, system, peak = report.read().split()[-4:]
    return float(wall), float(user) + float(system), int(peak)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def stages(trace: Path, output: Path, repeat: int) -> None:
    """CPU µs per record of the general path's stages, each figure including those above it."""
    import pyarrow.parquet  # noqa: F401  (imported before timing)

    from ktrdump import _parquet
    from ktrdump._calls import CallTracker
    from ktrdump._rawparse import batch_parser
    from ktrdump._reader import ParsedBatch, RawBatch, open_trace
    from ktrdump.cli import GC_THRESHOLD

    # The collector as ktrdump's main() sets it (the imports frozen, a large
    # young generation): the default collects every 700 allocations.
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])

    def checked() -> int:
        with open_trace(trace) as reader:
            return sum(event.record_count for event in reader.raw_events()
                       if isinstance(event, RawBatch))

    def decoded() -> int:
        with open_trace(trace) as reader:
            return sum(len(event) for event in reader.events() if isinstance(event, list))

    def paired() -> int:
        records = 0
        with open_trace(trace) as reader:
            # As the parquet view sets its layer up (fd paths, exit records kept).
            tracker = CallTracker(track_fds=True, keep_calls=True)
            for event in reader.events():
                if isinstance(event, list):
                    records += len(event)
                    for _ in tracker.stream(event, members=False):
                        pass
        return records

    def parsed() -> int:
        with open_trace(trace) as reader:
            return sum(event.record_count for event in
                       reader.parsed_events(batch_parser(reader.record_codec))
                       if isinstance(event, ParsedBatch))

    def export(rows: bool = True, flush: bool = True, fast: bool = False) -> int:
        row, flusher = _parquet.ParquetWriter._call_row, _parquet._Table.flush
        if not rows:
            _parquet.ParquetWriter._call_row = lambda self, call: None  # type: ignore
        if not flush:
            _parquet._Table.flush = lambda self: self._clear()  # type: ignore
        try:
            with open_trace(trace) as reader:
                events = (reader.parsed_events(batch_parser(reader.record_codec)) if fast
                          else reader.events())
                writer = _parquet.write_parquet(events, str(output))
        finally:
            _parquet.ParquetWriter._call_row = row  # type: ignore
            _parquet._Table.flush = flusher  # type: ignore
        return writer.records

    steps: list[tuple[str, Callable[[], int]]] = [
        ("batches (checks)", checked), ("+ records decoded", decoded),
        ("+ pairing (calls)", paired),
        ("+ parquet dispatch", lambda: export(rows=False, flush=False)),
        ("+ rows (_call_row)", lambda: export(flush=False)),
        ("+ Arrow and writing", export),
        ("fast: batches parsed", parsed),
        ("fast: + calls paired", lambda: export(rows=False, flush=False, fast=True)),
        ("fast: + rows", lambda: export(flush=False, fast=True)),
        ("fast: + Arrow, writing", lambda: export(fast=True))]
    figures: dict[str, list[float]] = {}
    for _ in range(repeat):
        for name, step in steps:
            started = _cpu()
            records = step()
            figures.setdefault(name, []).append((_cpu() - started) / max(records, 1) * 1e6)
    print(f"\nstages over {trace.name}, CPU µs per record (cumulative; median of {repeat}):")
    previous = 0.0
    for name, values in figures.items():
        if name == "fast: batches parsed":
            print("  the fast path (what the command runs without filters):")
            previous = 0.0
        median = statistics.median(values)
        print(f"  {name:<22} {median:6.2f}  (+{median - previous:.2f})")
        previous = median


#: Outputs ``--outputs`` can measure, and the ktrdump options that select them
#: (the parquet file's path is added per trace).
OUTPUTS: dict[str, list[str]] = {
    "text": [], "text-y": ["-y"], "json": ["--json"], "strace": ["--format", "strace"],
    "parquet": ["--format", "parquet", "-o"],
}


def _records_in(trace: Path) -> int:
    from ktrdump._reader import RawBatch, open_trace

    with open_trace(trace) as reader:
        return sum(event.record_count for event in reader.raw_events()
                   if isinstance(event, RawBatch))


def main() -> int:
    parser = argparse.ArgumentParser(description="ktrdump --format parquet speed and memory")
    parser.add_argument("--records", type=int, action="append",
                        help="trace sizes (default: 100000 and 1000000)")
    parser.add_argument("--trace", type=Path, action="append",
                        help="measure this recording (instead of generated traces)")
    parser.add_argument("--outputs", default="json,parquet",
                        help=f"comma-separated, of {', '.join(OUTPUTS)} (default json,parquet)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per measurement, alternated; medians printed")
    parser.add_argument("--baseline-python", metavar="PY",
                        help="also run the ktrdump installed with this interpreter, in turn")
    parser.add_argument("--stages", action="store_true",
                        help="also print the CPU time of each stage, in process")
    arguments = parser.parse_args()
    outputs = arguments.outputs.split(",")
    unknown = [name for name in outputs if name not in OUTPUTS]
    if unknown:
        parser.error(f"unknown output {unknown[0]!r}")
    try:
        import pyarrow  # noqa: F401  (ktrdump's parquet view needs it)
    except ImportError:
        print("bench_parquet: pyarrow is not installed: pip install 'ktr[parquet]'",
              file=sys.stderr)
        return 1
    directory = Path(tempfile.mkdtemp(prefix="ktrdump-parquet-bench-"))
    try:
        traces: list[tuple[Path, int]] = []
        for trace in arguments.trace or []:
            traces.append((trace, _records_in(trace)))
        if not traces:
            for size in arguments.records or [100_000, 1_000_000]:
                trace = directory / f"bench-{size}.ktr"
                generate(trace, size)
                traces.append((trace, size))
        installs = {"": _ktrdump()}
        if arguments.baseline_python:
            installs["base "] = ktrdump_command(arguments.baseline_python)
        print(f"{'output':<13} {'records':>9} {'wall s':>8} {'records/s':>11} {'CPU s':>7} "
              f"{'rec/CPU s':>10} {'peak RSS':>10}")
        for command in installs.values():  # the smallest trace: caches written
            smallest = min(traces, key=lambda entry: entry[1])[0]
            for name in outputs:
                extra = OUTPUTS[name]
                if name == "parquet":
                    extra = [*extra, str(directory / "calls.parquet")]
                warm_up(smallest, extra, command)
        for trace, size in traces:
            results: dict[str, list[tuple[float, float, int]]] = {}
            for _ in range(arguments.repeat):
                for name in outputs:
                    extra = OUTPUTS[name]
                    if name == "parquet":
                        extra = [*extra, str(directory / "calls.parquet")]
                    for label, command in installs.items():
                        results.setdefault(label + name, []).append(
                            run(trace, extra, command))
            for name, runs in results.items():
                elapsed = statistics.median(r[0] for r in runs)
                cpu = statistics.median(r[1] for r in runs)
                peak = max(r[2] for r in runs)
                print(f"{name:<13} {size:>9} {elapsed:>8.3f} {size / elapsed:>11,.0f} "
                      f"{cpu:>7.2f} {size / cpu:>10,.0f} {peak / 1024:>8.1f} MB")
            if arguments.baseline_python:
                for name in outputs:
                    new = statistics.median(r[1] for r in results[name])
                    base = statistics.median(r[1] for r in results["base " + name])
                    print(f"{name}: new/base CPU records/s {base / new:.2f}")
            if arguments.stages:
                stages(trace, directory / "stages.parquet", arguments.repeat)
        if "parquet" not in outputs or "json" not in outputs:
            return 0
        try:
            import duckdb
        except ImportError:
            print("duckdb is not installed: no query timings")
            return 0
        trace, size = traces[-1]
        target = directory / "calls.parquet"
        jsonl = directory / "calls.jsonl"
        with open(jsonl, "wb") as out:
            subprocess.run([*_ktrdump(), "--json", "-y", str(trace)], stdout=out, check=True)
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
