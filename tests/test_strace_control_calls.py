"""seccomp, mlock2, mlockall, bpf and landlock_create_ruleset decoded as strace decodes them.

Oracle: strace on the same C program (compiled here): the operation, command
and flag arguments by name (``seccomp(SECCOMP_SET_MODE_FILTER,
SECCOMP_FILTER_FLAG_TSYNC|SECCOMP_FILTER_FLAG_LOG, NULL)``, ``bpf(BPF_PROG_LOAD,
NULL, 0)``, ``mlock2(NULL, 0, MLOCK_ONFAULT)``, ``mlockall(MCL_FUTURE|MCL_ONFAULT)``,
``landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)``), where
ktrdump printed numbers. Calls with NULL structures: their contents are not
decoded by this test (bpf's attr, seccomp's filter program).
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
#define _GNU_SOURCE
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/seccomp.h>
int main(void) {
    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, 0);
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
            SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_LOG, 0);
    syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, 0);
    syscall(SYS_mlock2, 0, 0, 1 /* MLOCK_ONFAULT */);
    syscall(SYS_mlockall, 4 /* MCL_ONFAULT alone: EINVAL */);
    syscall(SYS_mlockall, 2 | 4);
    syscall(SYS_munlockall);
    syscall(SYS_bpf, 0, 0, 0);
    syscall(SYS_bpf, 5, 0, 0);
    syscall(SYS_bpf, 20, 0, 0);
    syscall(SYS_landlock_create_ruleset, 0, 0, 1);
    return 0;
}
"""

CALLS = ("seccomp", "mlock2", "mlockall", "munlockall", "bpf", "landlock_create_ruleset")


def _lines(text: str) -> list[str]:
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        line = re.sub(r" <\d+\.\d+>$", "", line)
        if line.startswith(tuple(f"{name}(" for name in CALLS)):
            found.append(re.sub(r"\)\s+= ", ") = ", line))
    return found


def test_control_calls_match_strace(tmp_path: Path) -> None:
    if shutil.which("strace") is None:
        pytest.skip("strace is the oracle")
    program = build_program(tmp_path, "control", PROGRAM)
    oracle = subprocess.run(["strace", "-o", "/dev/stdout", program], capture_output=True,
                            text=True, timeout=60, check=True)
    expected = _lines(oracle.stdout)
    assert len(expected) == 11, oracle.stdout
    assert "bpf(BPF_PROG_LOAD, NULL, 0) = -1 EFAULT (Bad address)" in expected \
        or any(line.startswith("bpf(BPF_PROG_LOAD, NULL, 0)") for line in expected)
    trace = tmp_path / "control.ktr"
    subprocess.run([KTR, "record", "-q", "-o", trace, "--", program], check=True, timeout=60)
    shown = subprocess.run([KTRDUMP, "--format", "strace", trace], capture_output=True,
                           text=True, timeout=60, check=True)
    assert _lines(shown.stdout) == expected
