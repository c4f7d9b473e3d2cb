"""ktrdump on hostile 1 MB inputs: peak RSS and CPU time of every view (issue 7's goal).

    python bench/bounds.py [SIZE]

Builds the crafted inputs of ``tests/crafted/make_crafted.py`` at SIZE bytes
(default 1 000 000), plus the committed regression files, and runs every view
on each in a child under an address-space limit (``tests/bounded_support``).
The goal: peak RSS < 200 MB and CPU time < 10 s for any input of at most 1 MB.
CPU time is reported (not wall time): the machine may be shared. Also times
reading past 20 MB of fake batch headers (linear resynchronisation).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "crafted"))

import make_crafted  # noqa: E402
from bounded_support import CPU_LIMIT_S, RSS_LIMIT_BYTES, VIEWS, measure_views  # noqa: E402


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    with tempfile.TemporaryDirectory() as directory:
        inputs = [ROOT / "tests" / "crafted" / name for name in make_crafted.FILES]
        for name, make in make_crafted.GENERATED.items():
            path = Path(directory) / name
            path.write_bytes(make(size))
            inputs.append(path)
        print(f"{'input':<18} {'bytes':>9}  " + "  ".join(f"{v:>13}" for v in VIEWS))
        worst_rss = worst_cpu = 0.0
        for path in inputs:
            costs = measure_views(path)
            cells = []
            for view in VIEWS:
                cost = costs[view]
                worst_rss = max(worst_rss, cost.max_rss_bytes)
                worst_cpu = max(worst_cpu, cost.cpu_s)
                cells.append(f"{cost.max_rss_bytes / 2**20:5.0f}MB {cost.cpu_s:5.2f}s")
            print(f"{path.name:<18} {path.stat().st_size:>9}  " + "  ".join(cells))
        print(f"worst: {worst_rss / 2**20:.0f} MB (goal < {RSS_LIMIT_BYTES >> 20}), "
              f"{worst_cpu:.2f} s CPU (goal < {CPU_LIMIT_S:.0f})")
        fake = Path(directory) / "fake_headers.ktr"
        fake.write_bytes(make_crafted.fake_headers(20_000_000))
        code = ("import resource, ktrdump\n"
                f"with ktrdump.open({str(fake)!r}) as t: n = sum(1 for _ in t)\n"
                "u = resource.getrusage(resource.RUSAGE_SELF)\n"
                "print(n, round(u.ru_utime + u.ru_stime, 2), u.ru_maxrss // 1024)\n")
        count, cpu, rss = subprocess.run([sys.executable, "-c", code], capture_output=True,
                                         text=True, check=True).stdout.split()
        print(f"20 MB of fake batch headers every 4 KiB: {cpu} s CPU, {rss} MB peak RSS, "
              f"{count} record read after them")


if __name__ == "__main__":
    main()
