"""``-e trace=`` reads strace's whole syntax: ``/REGEX``, ``?ITEM``, numbers, ``!!``.

Oracle: strace itself. A gcc-built program makes a known mix of calls; for
each set, the names of the calls ``strace -e trace=SET`` prints must be the
names ``ktr record -e trace=SET`` records and the names ``ktrdump -e
trace=SET`` shows of a full recording (in order); ``-e trace=`` given more than
once: the last one, as strace. A bad regex and an item that names nothing are
one line and exit status 2, as strace refuses them (an earlier ``-e trace=``
too).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"

PROGRAM = r"""
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
static void on_usr1(int s) { (void)s; }
int main(void) {
    signal(SIGUSR1, on_usr1);
    sigset_t set;
    sigemptyset(&set);
    sigprocmask(SIG_BLOCK, &set, 0);
    kill(getpid(), SIGUSR1);
    int fd = open("/dev/null", O_WRONLY);
    write(fd, "abc", 3);
    getppid();
    close(fd);
    return 0;
}
"""

SETS = ["/^(rt_)?sig", "/kill|^get", "?nosuchcall,write", "?%nosuchclass,close",
        "1", "!!write", "!/^[a-m]"]


def _names(strace_text: str) -> list[str]:
    """The syscall names of strace's lines, without signals and exits."""
    names = []
    for line in strace_text.splitlines():
        line = re.sub(r"^\d+\s+(\d+\.\d+\s+)?", "", line)
        match = re.match(r"([a-z_0-9]+)\(", line)
        if match:
            names.append(match.group(1))
    return names


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("strace") is None:
        pytest.skip("needs strace")
    return build_program(tmp_path_factory.mktemp("sets"), "mix", PROGRAM, "-O1")


@pytest.fixture(scope="module")
def full_trace(program: Path) -> Path:
    trace = program.parent / "full.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    return trace


@pytest.mark.parametrize("expression", SETS)
def test_sets_select_what_strace_selects(program: Path, full_trace: Path,
                                         expression: str) -> None:
    oracle = subprocess.run(["strace", "-qq", "-e", f"trace={expression}", "-o", "/dev/stdout",
                             program], capture_output=True, text=True, timeout=60, check=True)
    expected = _names(oracle.stdout)
    assert expected, oracle.stdout  # the set selects something here
    trace = program.parent / "selected.ktr"
    subprocess.run([KTR, "record", "-q", "-e", f"trace={expression}", "-o", trace, "--",
                    program], check=True, timeout=60)
    recorded = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    assert _names(recorded) == expected
    shown = subprocess.run([KTRDUMP, "--format", "strace", "-e", f"trace={expression}",
                            full_trace], capture_output=True, text=True, timeout=60,
                           check=True).stdout
    assert _names(shown) == expected


@pytest.mark.parametrize("expressions", [("write", "getppid"), ("!write", "close,write"),
                                         ("/kill", "?nosuchcall,close", "!/^[a-m]")])
def test_repeated_sets_select_what_strace_selects(program: Path, full_trace: Path,
                                                  expressions: tuple[str, ...]) -> None:
    # strace parses each -e trace= and keeps the last (no union)
    options = [word for expression in expressions for word in ("-e", f"trace={expression}")]
    oracle = subprocess.run(["strace", "-qq", *options, "-o", "/dev/stdout", program],
                            capture_output=True, text=True, timeout=60, check=True)
    expected = _names(oracle.stdout)
    assert expected, oracle.stdout
    trace = program.parent / "repeated.ktr"
    subprocess.run([KTR, "record", "-q", *options, "-o", trace, "--", program], check=True,
                   timeout=60)
    recorded = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                              text=True, timeout=60, check=True).stdout
    assert _names(recorded) == expected
    shown = subprocess.run([KTRDUMP, "--format", "strace", *options, full_trace],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert _names(shown) == expected


@pytest.mark.parametrize("expression", ["/[", "/zzzz", "zzzz", "%zzzz"])
def test_sets_strace_refuses_are_one_line(program: Path, full_trace: Path,
                                          expression: str) -> None:
    oracle = subprocess.run(["strace", "-e", f"trace={expression}", "true"],
                            capture_output=True, text=True, timeout=60)
    assert oracle.returncode != 0
    for command in ([KTR, "record", "-q", "-e", f"trace={expression}", "-o",
                     program.parent / "refused.ktr", "--", program],
                    [KTRDUMP, "-e", f"trace={expression}", full_trace],
                    # refused before a later good one, as strace refuses it
                    [KTRDUMP, "-e", f"trace={expression}", "-e", "trace=write", full_trace]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
        assert "Traceback" not in result.stderr
