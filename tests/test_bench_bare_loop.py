"""``bench/bare_loop.py``, the CPython floor ``bench_record.py`` prints: it must trace
every syscall of its command (two stops each) and hand back the command's exit
status, or its figure would be a floor of something else. Root (ptrace)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="ptrace of a child needs root here")

BARE_LOOP = Path(__file__).resolve().parent.parent / "bench" / "bare_loop.py"
CALLS = 3000

PROGRAM = f"""
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {{
    for (int i = 0; i < {CALLS}; i++) syscall(SYS_getppid);
    return 7;
}}
"""


@pytest.mark.parametrize("where", ["free", "pinned", "spin"])
def test_every_syscall_stops_twice_and_the_status_comes_back(tmp_path: Path,
                                                              where: str) -> None:
    program = build_program(tmp_path, "calls", PROGRAM, "-O1")
    baseline = build_program(tmp_path, "none", PROGRAM.replace(str(CALLS), "0"), "-O1")
    runs = [subprocess.run([sys.executable, str(BARE_LOOP), where, str(path)],
                           capture_output=True, text=True, timeout=30)
            for path in (program, baseline)]
    assert [run.returncode for run in runs] == [7, 7]
    stops = [int(re.search(r"(\d+) syscall stops", run.stderr).group(1))  # type: ignore[union-attr]
             for run in runs]
    # the same start-up and exit in both: the difference is the loop's calls alone
    assert stops[0] - stops[1] == 2 * CALLS


def test_phases_are_read_from_perf_script_lines() -> None:
    """bench_phases' parser: the steps of two stops of a made-up perf script, timed
    by hand (found at 10, info 11-12, resume 14-20, next stop 27...)."""
    sys.path.insert(0, str(BARE_LOOP.parent))
    import bench_phases

    def line(time_us: float, event: str, rest: str) -> str:
        return f"  python3  700 [001] {time_us / 1e6:.6f}: syscalls:{event}: {rest}\n"

    ptrace = "sys_enter_ptrace"
    script = [
        line(10, "sys_exit_wait4", "0x2bd"),
        line(11, ptrace, "request: 0x0000420e, pid: 0x000002bd, addr: 0x58, data: 0x1"),
        line(12, "sys_exit_ptrace", "0x50"),
        line(12, "sys_enter_pread64", "fd: 0x3, buf: 0x1, count: 0x1, pos: 0x1"),
        line(13, "sys_exit_pread64", "0x1"),
        line(14, ptrace, "request: 0x00000018, pid: 0x000002bd, addr: 0x0, data: 0x0"),
        line(20, "sys_exit_ptrace", "0x0"),
        line(22, "sys_exit_wait4", "0x0"),
        line(27, "sys_exit_wait4", "0x2bd"),
        line(28, ptrace, "request: 0x0000420e, pid: 0x000002bd, addr: 0x58, data: 0x1"),
        line(30, "sys_exit_ptrace", "0x50"),
        line(31, ptrace, "request: 0x00000018, pid: 0x000002bd, addr: 0x0, data: 0x0"),
        line(35, "sys_exit_ptrace", "0x0"),
        line(45, "sys_exit_wait4", "0x2bd"),
    ]
    result = bench_phases.phases(iter(script))
    assert result.stops == 2
    assert result.before == pytest.approx((4 + 4) / 2)
    assert result.syscall_info == pytest.approx((1 + 2) / 2)
    assert result.memory_reads == pytest.approx(1 / 2)
    assert result.resume == pytest.approx((6 + 4) / 2)
    assert result.to_next_stop == pytest.approx((7 + 10) / 2)
