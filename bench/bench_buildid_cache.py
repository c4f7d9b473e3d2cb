"""The build-id cache's cost to a recording, beside perf's own build-id cache.

``ktr record -F`` checks, at each traced process's last exit stop, whether the
files it maps are still at their paths (one read of its maps, one stat per
file) and copies the changed ones on a thread of its own. What that costs:

1. Many libraries: Debian's python3 importing 25 extension modules (~55
   executable mappings), then burning 0.3 s of CPU, recorded with ``-F 999``
   with the cache (default) and with ``--no-build-id-cache``; beside it
   ``perf record -F 999 -g`` with and without (``-N``) perf's build-id cache.
2. Many processes: ``sh`` running ``env true`` 150 times, recorded with
   ``-i -F 999`` (150 exit checks), with and without the cache.
3. The exit check alone, in process: ``Sampler._keep_changed`` on a live
   python3 with those libraries loaded (microseconds per process exit).

Rounds alternate the variants; medians of wall time are printed. The machine
is shared (2 vCPUs, other jobs): figures are noisy.

    python bench/bench_buildid_cache.py [--rounds 5]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ktr import _sampling

KTR = str(Path(sys.executable).parent / "ktr")
MODULES = ["ssl", "sqlite3", "_decimal", "ctypes", "lzma", "bz2", "zlib", "hashlib", "_json",
           "_csv", "pyexpat", "curses", "readline", "_uuid", "_multiprocessing", "socket",
           "select", "mmap", "array", "unicodedata", "_asyncio", "_queue", "_posixshmem",
           "_elementtree", "_ctypes"]
IMPORTS = "import " + ", ".join(MODULES)
BURN = IMPORTS + "\nimport time\nt=time.process_time()\nwhile time.process_time()-t<0.3: pass\n"
LOOP = "i=0; while [ $i -lt 150 ]; do env true; i=$((i+1)); done"


def _wall(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, timeout=300)
    return time.perf_counter() - start


def _exit_check_us(reps: int) -> tuple[float, int]:
    child = subprocess.Popen(["python3", "-c", IMPORTS + "\nprint('ready', flush=True)"
                              "\nimport sys\nsys.stdin.read()"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        child.stdout.readline()  # imported: every library is mapped
        maps = sum(1 for m in _sampling._executable_maps(child.pid) if m.path.startswith(b"/"))
        with tempfile.TemporaryDirectory() as directory:
            sampler = _sampling.Sampler(_sampling.SamplingOptions(hz=99, keep_dir=directory))
            start = time.perf_counter()
            for _ in range(reps):
                sampler._keep_changed(child.pid)
            elapsed = time.perf_counter() - start
            sampler.close()
        return elapsed / reps * 1e6, maps
    finally:
        child.kill()
        child.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        env = {**os.environ, "HOME": directory, "KTR_CACHE_DIR": f"{directory}/ktr"}
        out = f"{directory}/t.ktr"
        variants: dict[str, list[str]] = {
            "python3, ktr -F 999 (cache)": [KTR, "record", "-q", "-F", "999", "-o", out, "--",
                                            "python3", "-c", BURN],
            "python3, ktr -F 999 --no-build-id-cache": [
                KTR, "record", "-q", "-F", "999", "--no-build-id-cache", "-o", out, "--",
                "python3", "-c", BURN],
            "150 x env true, ktr -i -F 999 (cache)": [
                KTR, "record", "-q", "-i", "-F", "999", "-o", out, "--", "sh", "-c", LOOP],
            "150 x env true, ktr -i -F 999 --no-build-id-cache": [
                KTR, "record", "-q", "-i", "-F", "999", "--no-build-id-cache", "-o", out,
                "--", "sh", "-c", LOOP],
        }
        if shutil.which("perf"):
            data = f"{directory}/perf.data"
            variants["python3, perf record -F 999 -g (cache)"] = [
                "perf", "record", "-q", "-F", "999", "-g", "-o", data, "--",
                "python3", "-c", BURN]
            variants["python3, perf record -F 999 -g -N"] = [
                "perf", "record", "-q", "-F", "999", "-g", "-N", "-o", data, "--",
                "python3", "-c", BURN]
        times: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(args.rounds):
            for name, command in variants.items():
                times[name].append(_wall(command, env))
        print(f"{'workload / recorder':<52} {'median wall s':>13} {'min':>7} {'max':>7}")
        for name, values in times.items():
            print(f"{name:<52} {statistics.median(values):13.3f} {min(values):7.3f} "
                  f"{max(values):7.3f}")
        kept = list(Path(f"{directory}/ktr").glob("build-id/*/*/elf"))
        print(f"files kept by ktr over all rounds: {len(kept)} (nothing changed: expected 0)")
    per_exit, maps = _exit_check_us(200)
    print(f"exit check of a python3 with {maps} executable file mappings: "
          f"{per_exit:.0f} us per process exit")
    print(f"load average now: {os.getloadavg()[0]:.1f} (2 vCPUs)")


if __name__ == "__main__":
    main()
