"""The fuzz loop: mutate seed traces and ELF files, run each input through its targets in a worker.

    python -m fuzz.run --smoke                     # CI: a short deterministic run
    python -m fuzz.run --seconds 3600 --seed 7     # a long run (one worker)
    python -m fuzz.run --inputs 50000 --findings /tmp/findings

Each trace input (a mutated seed: ``fuzz.mutate``) goes through the reading API
and every ktrdump view, each ELF input (every ``--elf-every``-th input: a mutated
``fuzz/seeds/elf`` file, ``fuzz.mutate_elf``) through the ELF symbol and DWARF
readers (``fuzz.targets``), in one worker process, which runs under
an address-space limit (RLIMIT_AS). A finding is an exception other than
ktrdump's documented ones, a target exceeding the per-target timeout (the
worker is killed and restarted), a MemoryError or a peak RSS over the limit
(measured per target through /proc/self/status VmHWM, reset before each
target), or the worker dying. Each distinct finding (kind, target, exception
type, innermost frame) is saved once to the findings directory: the input
(``.ktr`` or ``.elf``) and a report (``.txt``); ``stats.json`` there counts everything.

Guarantees: the inputs depend only on ``--seed`` and the seed files, so a
run is reproducible (``--inputs N --seed S`` replays the same N inputs); the
exit status is 1 if anything was found, else 0. Does not: minimise findings
or run more than one worker.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import random
import resource
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from . import mutate, mutate_elf

_ROOT = Path(__file__).resolve().parent.parent
SEED_DIRS = (_ROOT / "fuzz" / "seeds", _ROOT / "tests" / "vectors")
ELF_SEED_DIR = _ROOT / "fuzz" / "seeds" / "elf"
#: By default every 5th input is an ELF file (the smoke: 40 traces, 10 ELF files).
ELF_EVERY = 5
DEFAULT_FINDINGS = _ROOT / "fuzz" / "findings"
#: The issue's bounds on any input of at most 1 MB.
RSS_LIMIT_MB = 200
TARGET_TIMEOUT_S = 10.0
ADDRESS_SPACE_MB = 1024


@dataclass(frozen=True)
class Finding:
    kind: str  # crash, memory, timeout, died
    target: str
    signature: str  # what makes two findings the same
    detail: str


# -- the worker ------------------------------------------------------------------------

def _peak_rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass


def _signature(error: BaseException) -> str:
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/site-packages/" not in f.filename] or frames
    where = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
    return f"{type(error).__name__}@{where}"


def _worker(connection: multiprocessing.connection.Connection, address_space_mb: int,
            rss_limit_mb: int, directory: str) -> None:
    limit = address_space_mb << 20
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    from .targets import (  # after the limit: imports count
        DOCUMENTED_ERRORS,
        ELF_DEBUGLINK_NAME,
        ELF_DOCUMENTED_ERRORS,
        make_elf_targets,
        make_targets,
    )

    path = os.path.join(directory, f"input-{os.getpid()}.ktr")
    elf_directory = os.path.join(directory, f"elf-{os.getpid()}")
    os.makedirs(elf_directory, exist_ok=True)
    elf_path = os.path.join(elf_directory, "input.so")
    groups = {"ktr": (path, make_targets(path), DOCUMENTED_ERRORS),
              "elf": (elf_path, make_elf_targets(elf_path), ELF_DOCUMENTED_ERRORS)}
    while True:
        message = connection.recv()
        if message is None:
            return
        kind: str = message[0]
        data: bytes = message[1]
        input_path, targets, documented = groups[kind]
        with open(input_path, "wb") as file:
            file.write(data)
        if kind == "elf":
            with open(os.path.join(elf_directory, ELF_DEBUGLINK_NAME), "wb") as file:
                file.write(data)
        for name, target in targets.items():
            connection.send(("start", name))
            _reset_peak()
            result: tuple[str, str, str] | None = None
            try:
                target(input_path, data)
            except documented:
                pass
            except MemoryError as error:
                result = ("memory", _signature(error), traceback.format_exc())
            except Exception as error:
                result = ("crash", _signature(error), traceback.format_exc())
            peak = _peak_rss_mb()
            if result is None and peak > rss_limit_mb:
                result = ("memory", f"peak RSS {peak:.0f} MB", f"peak RSS {peak:.0f} MB")
            connection.send(("end", name, result))
        connection.send(("done",))


# -- the parent ------------------------------------------------------------------------

class Runner:
    def __init__(self, findings: Path, address_space_mb: int, rss_limit_mb: int,
                 timeout_s: float) -> None:
        self.findings_dir = findings
        self.address_space_mb = address_space_mb
        self.rss_limit_mb = rss_limit_mb
        self.timeout_s = timeout_s
        self.executions: Counter[str] = Counter()
        self.found: dict[str, Finding] = {}
        self.finding_counts: Counter[str] = Counter()
        self.inputs = 0
        self._temp = tempfile.TemporaryDirectory(prefix="ktr-fuzz-", dir=_shm())
        self._context = multiprocessing.get_context("fork")
        self._process: multiprocessing.process.BaseProcess | None = None
        self._connection: multiprocessing.connection.Connection | None = None

    def _start(self) -> multiprocessing.connection.Connection:
        if self._connection is None:
            parent, child = self._context.Pipe()
            self._process = self._context.Process(
                target=_worker,
                args=(child, self.address_space_mb, self.rss_limit_mb, self._temp.name),
                daemon=True)
            self._process.start()
            child.close()
            self._connection = parent
        return self._connection

    def _kill(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
        if self._connection is not None:
            self._connection.close()
        self._process = None
        self._connection = None

    def close(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(OSError):
                self._connection.send(None)
            if self._process is not None:
                self._process.join(5)
        self._kill()
        self._temp.cleanup()

    def run_one(self, data: bytes, input_kind: str = "ktr") -> list[Finding]:
        """Run one input (``input_kind``: "ktr" a trace, "elf" an ELF file) through its
        targets."""
        self.inputs += 1
        connection = self._start()
        connection.send((input_kind, data))
        current = "?"
        found: list[Finding] = []
        while True:
            try:
                ready = connection.poll(self.timeout_s)
                message = connection.recv() if ready else None
            except (EOFError, OSError):
                found.append(Finding("died", current, f"died@{current}",
                                     "the worker died (signal or address-space limit)"))
                self._kill()
                break
            if message is None:
                found.append(Finding("timeout", current, f"timeout@{current}",
                                     f"{current} ran longer than {self.timeout_s} s"))
                self._kill()
                break
            if message[0] == "start":
                current = message[1]
            elif message[0] == "end":
                self.executions[message[1]] += 1
                if message[2] is not None:
                    kind, signature, detail = message[2]
                    found.append(Finding(kind, message[1], signature, detail))
            else:
                break
        for finding in found:
            self._save(finding, data, input_kind)
        return found

    def _save(self, finding: Finding, data: bytes, kind: str = "ktr") -> None:
        key = f"{finding.kind}:{finding.target.split('.')[0]}:{finding.signature}"
        self.finding_counts[key] += 1
        if key in self.found and len(data) >= self._saved_size(key, kind):
            return
        self.found[key] = finding
        self.findings_dir.mkdir(parents=True, exist_ok=True)
        stem = hashlib.sha1(key.encode()).hexdigest()[:12]
        (self.findings_dir / f"{stem}.{kind}").write_bytes(data)
        (self.findings_dir / f"{stem}.txt").write_text(
            f"{finding.kind} in {finding.target}: {finding.signature}\n\n{finding.detail}\n")

    def _saved_size(self, key: str, kind: str = "ktr") -> int:
        stem = hashlib.sha1(key.encode()).hexdigest()[:12]
        try:
            return (self.findings_dir / f"{stem}.{kind}").stat().st_size
        except OSError:
            return 0

    def stats(self) -> dict[str, object]:
        return {
            "inputs": self.inputs,
            "executions": sum(self.executions.values()),
            "per_target": dict(self.executions),
            "findings": dict(self.finding_counts),
        }


def _shm() -> str | None:
    return "/dev/shm" if os.path.isdir("/dev/shm") else None


def load_seeds(directories: tuple[Path, ...] = SEED_DIRS) -> list[mutate.Trace]:
    seeds = []
    for directory in directories:
        for path in sorted(directory.glob("*.ktr")):
            try:
                trace = mutate.parse(path.read_bytes())
            except Exception:
                continue
            if trace.batches:
                seeds.append(trace)
    return seeds


def load_elf_seeds(directory: Path = ELF_SEED_DIR) -> list[bytes]:
    """The ELF seed files (small gcc-built libraries: ``fuzz/seeds/elf/README``)."""
    return [path.read_bytes() for path in sorted(directory.iterdir())
            if path.is_file() and path.read_bytes()[:4] == b"\x7fELF"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.run", description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--inputs", type=int, default=0, help="stop after this many inputs")
    parser.add_argument("--seconds", type=float, default=0, help="stop after this long")
    parser.add_argument("--smoke", action="store_true",
                        help="CI's short run: --inputs 40 --seed 0, fail on any finding")
    parser.add_argument("--findings", type=Path, default=DEFAULT_FINDINGS,
                        help=f"where findings and stats.json go (default {DEFAULT_FINDINGS})")
    parser.add_argument("--memory-mb", type=int, default=ADDRESS_SPACE_MB,
                        help="the worker's address-space limit")
    parser.add_argument("--rss-mb", type=int, default=RSS_LIMIT_MB,
                        help="peak RSS per target above which an input is a finding")
    parser.add_argument("--timeout", type=float, default=TARGET_TIMEOUT_S,
                        help="seconds one target may take on one input")
    parser.add_argument("--elf-every", type=int, default=ELF_EVERY, metavar="N",
                        help=f"every Nth input is an ELF file (default {ELF_EVERY}; 1: ELF "
                             "files only, 0: none)")
    arguments = parser.parse_args(argv)
    if arguments.smoke:
        arguments.inputs = arguments.inputs or 50
    if not arguments.inputs and not arguments.seconds:
        parser.error("give --inputs, --seconds or --smoke")
    seeds = load_seeds()
    elf_seeds = load_elf_seeds() if arguments.elf_every > 0 else []
    if not seeds or (arguments.elf_every > 0 and not elf_seeds):
        print("fuzz: no seed traces or ELF files found", file=sys.stderr)
        return 2
    rng = random.Random(arguments.seed)
    # a stream of its own, so trace inputs stay what they were for a seed
    elf_rng = random.Random(f"elf:{arguments.seed}")
    runner = Runner(arguments.findings, arguments.memory_mb, arguments.rss_mb, arguments.timeout)
    started = time.monotonic()
    last_report = started
    try:
        while True:
            if arguments.inputs and runner.inputs >= arguments.inputs:
                break
            if arguments.seconds and time.monotonic() - started >= arguments.seconds:
                break
            kind = "elf" if (arguments.elf_every > 0
                             and (runner.inputs + 1) % arguments.elf_every == 0) else "ktr"
            if kind == "elf":
                data = mutate_elf.mutate(elf_rng.choice(elf_seeds), elf_rng, elf_seeds)
            else:
                data = mutate.mutate(rng.choice(seeds), rng, seeds)
            for finding in runner.run_one(data, kind):
                print(f"fuzz: input {runner.inputs}: {finding.kind} in {finding.target}: "
                      f"{finding.signature}", file=sys.stderr)
            now = time.monotonic()
            if now - last_report >= 60:
                last_report = now
                _write_stats(runner, arguments, now - started)
    except KeyboardInterrupt:
        pass
    finally:
        runner.close()
    elapsed = time.monotonic() - started
    stats = _write_stats(runner, arguments, elapsed) if runner.found or not arguments.smoke \
        else runner.stats()
    print(f"fuzz: {stats['inputs']} inputs, {stats['executions']} executions in "
          f"{elapsed:.0f} s, {len(runner.found)} distinct findings"
          + (f" (in {arguments.findings})" if runner.found else ""))
    return 1 if runner.found else 0


def _write_stats(runner: Runner, arguments: argparse.Namespace, elapsed: float
                 ) -> dict[str, object]:
    stats = runner.stats() | {"seed": arguments.seed, "seconds": round(elapsed)}
    arguments.findings.mkdir(parents=True, exist_ok=True)
    (arguments.findings / "stats.json").write_text(json.dumps(stats, indent=1) + "\n")
    print(f"fuzz: {stats['inputs']} inputs, {stats['executions']} executions, "
          f"{len(runner.found)} distinct findings so far", file=sys.stderr, flush=True)
    return stats


if __name__ == "__main__":
    sys.exit(main())
