"""Run ktrdump's views in a child process and measure what each cost (peak RSS, CPU).

One child runs every view in turn, in-process (``ktrdump.cli.run``), under an
address-space limit (RLIMIT_AS), so a reader that tries to allocate without
bound dies quickly instead of thrashing the machine. Per view it reports the
peak RSS (/proc/self/status VmHWM, reset through /proc/self/clear_refs before
each view) and the CPU time (user + system, ``getrusage``) -- CPU time, not
wall time: what the input costs, whatever else runs on the machine.
``bench/bounds.py`` prints the same figures for the 1 MB crafted inputs.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

#: Every view ktrdump has, as arguments (PATH: the input; twice for the merge).
VIEWS: dict[str, list[str]] = {
    "text": ["PATH"],
    "json": ["--json", "PATH"],
    "strace": ["--format", "strace", "PATH"],
    "summary": ["--summary", "PATH"],
    "chrome": ["--format", "chrome", "PATH"],
    "fds": ["-y", "PATH"],
    "merge": ["PATH", "PATH"],
}

#: The issue's goal for any input of at most 1 MB.
RSS_LIMIT_BYTES = 200 << 20
CPU_LIMIT_S = 10.0
#: The child's address-space limit: far above the goal, far below the machine.
ADDRESS_SPACE = 1 << 30

_CHILD = r"""
import io, json, resource, sys
from ktrdump import cli
from ktrdump.errors import KtrdumpError

def peak():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0

path, views = sys.argv[1], json.loads(sys.argv[2])
results = {}
for name, arguments in views.items():
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = resource.getrusage(resource.RUSAGE_SELF)
    stderr = io.StringIO()
    options = cli.parse_options([path if a == "PATH" else a for a in arguments])
    with open("/dev/null", "wb") as sink:
        try:
            status = cli.run(options, sink, stderr)
        except KtrdumpError as error:
            status, _ = 1, stderr.write(f"ktrdump: {error}\n")
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    results[name] = [status, peak(), cpu, stderr.getvalue()[-2000:]]
print(json.dumps(results))
"""


@dataclass(frozen=True)
class Cost:
    status: int
    max_rss_bytes: int
    cpu_s: float
    stderr: str


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def measure_views(path: Path, views: dict[str, list[str]] | None = None,
                  timeout: float = 300.0) -> dict[str, Cost]:
    """Each view's cost on ``path``; raises if the child fails (a blow-up kills it)."""
    chosen = VIEWS if views is None else views
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), json.dumps(chosen)],
        capture_output=True, text=True, timeout=timeout, preexec_fn=_limit,
    )
    if result.returncode != 0:
        raise AssertionError(f"the measuring child failed ({result.returncode}): "
                             f"{result.stderr[-3000:]}")
    return {name: Cost(*values) for name, values in json.loads(result.stdout).items()}
