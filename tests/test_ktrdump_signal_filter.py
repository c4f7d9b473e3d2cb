"""``ktrdump -e signal=SET``: the signal deliveries shown, as strace's ``-e signal=``.

``strace -e signal=none`` (hide the ``--- SIGCHLD ... ---`` noise) was refused: "-e
signal= is not supported". One recording of a gcc-built program that catches SIGUSR1
and SIGUSR2 and reaps a child (SIGCHLD); strace runs the same program with each set,
and the signals ktrdump's strace view shows are the ones strace shows, in order. The
kdump and JSON views drop the same PSIG records; calls and process events stay.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

PROGRAM = r"""
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
static void caught(int signo) { (void)signo; }
int main(void) {
    signal(SIGUSR1, caught);
    signal(SIGUSR2, caught);
    raise(SIGUSR1);
    raise(SIGUSR2);
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, 0, 0);
    raise(SIGUSR1);
    return 0;
}
"""

SETS = ["none", "all", "!SIGCHLD", "usr1,12", "!chld,USR2"]
SIGNAL_LINE = re.compile(r"--- (SIG\w+) ")


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("signals"), "sig", PROGRAM, "-O1")


@pytest.fixture(scope="module")
def trace(program: Path) -> Path:
    out = program.with_suffix(".ktr")
    subprocess.run([*KTR, "record", "-q", "-o", str(out), "--", str(program)], check=True,
                   timeout=60)
    return out


def signals(text: str) -> list[str]:
    return SIGNAL_LINE.findall(text)


def ktrdump(*arguments: str) -> str:
    return subprocess.run([*KTRDUMP, *arguments], capture_output=True, text=True, check=True,
                          timeout=60).stdout


@pytest.mark.parametrize("chosen", SETS)
def test_the_strace_view_shows_the_signals_strace_shows(program: Path, trace: Path,
                                                        chosen: str) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    # strace -f: the child's lines too, as ktrdump shows every traced process
    oracle = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", "-e",
                             f"signal={chosen}", str(program)],
                            capture_output=True, text=True, check=True, timeout=60).stderr
    if chosen == "all":  # the oracle saw them all (the test is not vacuous)
        assert signals(oracle) == ["SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGUSR1"]
    shown = ktrdump("--format", "strace", "-e", f"signal={chosen}", str(trace))
    assert signals(shown) == signals(oracle)
    assert "exit_group(0)" in shown  # calls stay


def test_kdump_and_json_views_drop_the_same_signals(trace: Path) -> None:
    every = ktrdump(str(trace))
    text = ktrdump("-e", "signal=!SIGUSR1", str(trace))
    assert "PSIG  SIGUSR1" in every and "PSIG  SIGUSR1" not in text
    assert "PSIG  SIGUSR2" in text and "PSIG  SIGCHLD" in text
    assert text.count("PROC") == every.count("PROC")  # process events stay
    records = [json.loads(line) for line in
               ktrdump("--json", "-e", "signal=none", str(trace)).splitlines()]
    assert not [r for r in records if r["type"] == "PSIG"]
    assert [r for r in records if r["type"] == "CALL"]


def test_an_unknown_signal_is_one_line() -> None:
    done = subprocess.run([*KTRDUMP, "-e", "signal=SIGBOGUS", "nothing.ktr"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "ktrdump: -e signal: unknown signal 'SIGBOGUS' (names as SIGCHLD or CHLD, "
        "numbers 1 to 64, all, none)"]


@pytest.mark.parametrize("chosen", [("SIGUSR1", "SIGUSR2"), ("none", "all"),
                                    ("!SIGCHLD", "SIGCHLD")], ids=" then ".join)
def test_signal_sets_given_twice_the_last_counts_as_strace(program: Path, trace: Path,
                                                            chosen: tuple[str, str]) -> None:
    """``-e signal=A -e signal=B``: strace 6.1 shows B's signals (the last one counts);
    ktrdump intersected the sets (SIGUSR1 then SIGUSR2: no signal at all)."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed")
    twice = [item for name in chosen for item in ("-e", f"signal={name}")]
    oracle = subprocess.run(["strace", "-f", "-qq", "-e", "trace=none", *twice, str(program)],
                            capture_output=True, text=True, check=True, timeout=60).stderr
    assert signals(oracle)  # (not vacuous: the last set shows some)
    shown = ktrdump("--format", "strace", *twice, str(trace))
    assert signals(shown) == signals(oracle)


def test_status_letters_together_say_the_last_counts(trace: Path) -> None:
    """``-z -Z``: the last one counts, and one line says so, as strace 6.1 does."""
    done = subprocess.run([*KTRDUMP, "--format", "strace", "-z", "-Z", str(trace)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "ktrdump: only the last of -z and -Z takes effect (as strace's); "
        "-e status=successful,failed takes both"]
    failed = subprocess.run([*KTRDUMP, "--format", "strace", "-Z", str(trace)],
                            capture_output=True, text=True, timeout=60, check=True).stdout
    assert done.stdout == failed
