"""Start-up of ``ktr record`` and ``ktrdump`` beside strace's and perf's, in one run.

Rows (medians over ``--rounds``, each configuration once untimed first):

- ``true``: the whole of ``ktr record -q -o F -- true`` against
  ``strace -f -o /dev/null true`` and ``perf record -q -o F -- true``; the
  interpreter alone (``python -I -S -c pass``, ``python -c pass``) is the floor
  of any Python command.
- attach: from starting ``ktr record -p PID`` (``strace -p``, ``perf record
  -p``) to the moment its target is traced, what a process does in between is
  not in the trace. Traced means ``TracerPid`` set in ``/proc/PID/status``
  (ptrace: ktr, strace) or a perf_event fd open in the tracer (perf record);
  both are polled every 0.2 ms, so the figures are that much late at most.
  The tracer is then stopped with SIGINT.
- dump: ``ktrdump`` on the trace of ``true`` (text to /dev/null) against
  ``perf script`` on perf's.

``--base DIR``: also time the ktr of another source tree (``git archive REV |
tar -x -C DIR``), run with the same interpreter and ``PYTHONPATH=DIR``, so a
change's before and after are side by side in the same run; this tree is
run the same way. Rounds alternate the tools (A B C A B C ...): on a VM with
steal only figures of the same run compare. Bytecode is cached (a temporary
``PYTHONPYCACHEPREFIX``; ``PYTHONDONTWRITEBYTECODE`` dropped), as in an
installed ktr: with it set, every start recompiles the sources (~0.2 s).

``--instructions``: instead, user-mode instructions of ``ktr record -q -- true``
and of ``ktrdump`` on its trace (valgrind's callgrind, the command alone, not
its child), which steal and load do not move (this machine kind has no PMU
for ``perf stat``); with ``--base``, both trees.

    python bench/bench_startup.py [--rounds 15] [--base DIR] [--instructions]

Not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
_POLL_S = 0.0002


def _ktr() -> list[str]:
    """ktr's console script as pip writes it (the tree comes from PYTHONPATH)."""
    return [sys.executable, "-c", "import sys; from ktr.__main__ import run; sys.exit(run())"]


def _ktrdump() -> list[str]:
    return [sys.executable, "-c",
            "import sys; from ktrdump.__main__ import main; sys.exit(main())"]


def _environment(directory: Path, tree: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = str(directory / "pycache")
    environment["PYTHONPATH"] = str(tree)
    # (run from there: ``-c`` puts the working directory first on sys.path)
    (directory / "pycache").mkdir(exist_ok=True)
    return environment


def _whole(argv: Sequence[str], environment: Mapping[str, str]) -> float:
    began = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=environment, cwd=environment["PYTHONPYCACHEPREFIX"])
    return time.perf_counter() - began


def _ptraced(pid: int) -> Callable[[int], bool]:
    def check(tracer: int) -> bool:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("TracerPid:"):
                    return int(line.split()[1]) != 0
        return False
    return check


def _perf_open(tracer: int) -> bool:
    directory = f"/proc/{tracer}/fd"
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return False
    for name in names:
        try:
            if os.readlink(f"{directory}/{name}") == "anon_inode:[perf_event]":
                return True
        except OSError:
            continue
    return False


def _attach(argv: Sequence[str], environment: Mapping[str, str],
            traced: Callable[[int], bool]) -> float:
    """Seconds from starting the tracer until ``traced(tracer_pid)``; the tracer is
    then stopped with SIGINT and waited for."""
    began = time.perf_counter()
    tracer = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=environment, cwd=environment["PYTHONPYCACHEPREFIX"])
    try:
        while not traced(tracer.pid):
            if tracer.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited {tracer.returncode} before attaching")
            time.sleep(_POLL_S)
        return time.perf_counter() - began
    finally:
        tracer.send_signal(signal.SIGINT)
        try:
            tracer.wait(timeout=30)
        except subprocess.TimeoutExpired:
            tracer.kill()
            tracer.wait()


def _rounds(runs: Mapping[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    for run in runs.values():
        run()  # untimed: caches (bytecode, page cache) as after an install
    times: dict[str, list[float]] = {label: [] for label in runs}
    for _ in range(rounds):
        for label, run in runs.items():
            times[label].append(run())
    return times


def _table(title: str, times: Mapping[str, list[float]]) -> None:
    print(f"\n{title}")
    for label, values in times.items():
        print(f"  {label:34s} {statistics.median(values) * 1000:8.1f} ms"
              f"   (min {min(values) * 1000:7.1f})")


def _instructions(argv: Sequence[str], environment: Mapping[str, str],
                  directory: Path) -> int:
    out = directory / "callgrind.out"
    done = subprocess.run(["valgrind", "--tool=callgrind", "--trace-children=no",
                           f"--callgrind-out-file={out}", *argv],
                          capture_output=True, text=True, env=environment,
                          cwd=environment["PYTHONPYCACHEPREFIX"])
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1])
    raise RuntimeError(f"callgrind gave no count:\n{done.stderr}")


def _count_instructions(trees: Mapping[str, Path], directory: Path) -> None:
    """One warm-up run each (bytecode compiled), then one counted run."""
    trace = directory / "t.ktr"
    print("\nuser-mode instructions (callgrind; the command alone)")
    for label, tree in trees.items():
        environment = _environment(directory, tree)
        record = [*_ktr(), "record", "-q", "-o", str(trace), "--", "true"]
        dump = [*_ktrdump(), str(trace)]
        _whole(record, environment)
        _whole(dump, environment)
        for what, argv in ((f"{label} record -- true", record),
                           (f"{label}: ktrdump of it", dump)):
            print(f"  {what:34s} {_instructions(argv, environment, directory) / 1e6:8.1f} M")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--base", type=Path, help="another source tree of ktr, timed beside")
    parser.add_argument("--instructions", action="store_true",
                        help="count instructions with callgrind instead of timing")
    arguments = parser.parse_args(argv)
    trees = {"ktr": HERE}
    if arguments.base is not None:
        trees = {"ktr (base)": arguments.base.resolve(), "ktr (this tree)": HERE}
    if arguments.instructions:
        with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
            _count_instructions(trees, Path(name))
        return
    have_perf = shutil.which("perf") is not None
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as name:
        directory = Path(name)
        trace, perf_data = directory / "t.ktr", directory / "perf.data"
        plain = _environment(directory, HERE)
        environments = {label: _environment(directory, tree) for label, tree in trees.items()}
        whole: dict[str, Callable[[], float]] = {
            "python -I -S -c pass": lambda: _whole([sys.executable, "-I", "-S", "-c", "pass"],
                                                    plain),
            "python -c pass": lambda: _whole([sys.executable, "-c", "pass"], plain),
        }
        for label, environment in environments.items():
            whole[f"{label} record -- true"] = functools.partial(
                _whole, [*_ktr(), "record", "-q", "-o", str(trace), "--", "true"], environment)
        whole["strace -f -o /dev/null true"] = lambda: _whole(
            ["strace", "-f", "-o", "/dev/null", "true"], plain)
        if have_perf:
            whole["perf record -q -- true"] = lambda: _whole(
                ["perf", "record", "-q", "-o", str(perf_data), "--", "true"], plain)
        _table("start-up and shut-down, `true` (whole command)", _rounds(whole, arguments.rounds))

        target = subprocess.Popen(["sleep", "1000"])
        try:
            traced = _ptraced(target.pid)
            pid = str(target.pid)
            attach: dict[str, Callable[[], float]] = {}
            for label, environment in environments.items():
                attach[f"{label} record -p"] = functools.partial(
                    _attach, [*_ktr(), "record", "-q", "-o", str(trace), "-p", pid],
                    environment, traced)
            attach["strace -p"] = lambda: _attach(
                ["strace", "-o", "/dev/null", "-p", pid], plain, traced)
            if have_perf:
                attach["perf record -p"] = lambda: _attach(
                    ["perf", "record", "-q", "-o", str(perf_data), "-p", pid], plain,
                    _perf_open)
            _table("time to attach (-p PID: start to traced)",
                   _rounds(attach, arguments.rounds))
        finally:
            target.kill()
            target.wait()

        subprocess.run([*_ktr(), "record", "-q", "-o", str(trace), "--", "true"],
                       check=True, env=plain, cwd=directory)
        dump: dict[str, Callable[[], float]] = {}
        for label, environment in environments.items():
            name = label.replace("ktr", "ktrdump", 1)
            dump[f"{name}, {len(trace.read_bytes())} B trace"] = functools.partial(
                _whole, [*_ktrdump(), str(trace)], environment)
        if have_perf:
            subprocess.run(["perf", "record", "-q", "-o", str(perf_data), "--", "true"],
                           check=True, env=plain, stderr=subprocess.DEVNULL, cwd=directory)
            dump["perf script (perf record of true)"] = lambda: _whole(
                ["perf", "script", "-i", str(perf_data)], plain)
        _table("dump of a trace of `true`", _rounds(dump, arguments.rounds))
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
