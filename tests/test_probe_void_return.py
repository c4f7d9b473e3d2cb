"""A return probe of a function that returns nothing (DWARF: no DW_AT_type on it) shows
no return value in any view, as uftrace (``spin(1000);``) and ltrace (``= <void>``) do:
its rax is a leftover. Without DWARF the raw u64 is still shown (nothing says void)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import gcc

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

SOURCE = r"""
__attribute__((noinline)) void spin(long n) {
  volatile long x = 0; for (long i = 0; i < n; i++) x += i;
}
__attribute__((noinline)) long sum(long n) {
  long s = 0; for (long i = 0; i < n; i++) s += i; return s;
}
int main(void) { spin(1000); return (int)sum(10) - 45; }
"""


def _recorded(tmp_path: Path, debug: str) -> Path:
    source = tmp_path / "vd.c"
    source.write_text(SOURCE)
    program = tmp_path / f"vd{debug}"
    subprocess.run([gcc(), "-O1", debug, "-o", str(program), str(source)], check=True)
    trace = tmp_path / f"vd{debug}.ktr"
    probes = [arg for function in ("spin", "sum")
              for arg in ("-P", f"{program}:{function}", "-P", f"{program}:{function}:return")]
    done = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(trace), *probes, "--",
                           str(program)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return trace


def _dump(*args: str) -> str:
    done = subprocess.run([*KTRDUMP, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_void_function_returns_no_value_in_every_view(tmp_path: Path) -> None:
    trace = _recorded(tmp_path, "-g")
    name = trace.stem
    text = _dump(str(trace))
    assert f"PROBE  {name}:spin:return pc 0x" in text
    assert f"PROBE  {name}:sum:return = 45 pc 0x" in text
    assert f"{name}:spin:return " in text and "(void)" in text
    calls = _dump("--format", "calls", str(trace))
    assert f"| {name}:spin(1000);\n" in calls and f"| {name}:sum(10) = 45;\n" in calls
    records = [json.loads(line) for line in _dump("--json", str(trace)).splitlines()]
    returns = {r["probe"]: r for r in records if r["type"] == "PROBE" and r["point"] == "return"}
    assert "retval" not in returns[f"{name}:spin:return"]
    assert returns[f"{name}:sum:return"]["retval"] == 45
    chrome = json.loads(_dump("--format", "chrome", str(trace)))
    events = chrome["traceEvents"] if isinstance(chrome, dict) else chrome
    ends = [e["args"] for e in events if e.get("ph") == "E" and e.get("cat") == "probe"]
    assert ends == [{}, {"retval": "45"}]
    pq = pytest.importorskip("pyarrow.parquet")
    _dump("--format", "parquet", "-o", str(tmp_path / "vd"), str(trace))
    rows = pq.read_table(tmp_path / "vd.probes.parquet").to_pylist()
    shown = [(row["function"], row["retval"], row["args_raw"]) for row in rows
             if row["point"] == "return"]
    assert shown == [("spin", None, []), ("sum", "45", [45])]


def test_without_dwarf_the_raw_return_register_is_kept(tmp_path: Path) -> None:
    trace = _recorded(tmp_path, "-g0")
    calls = _dump("--format", "calls", str(trace))
    spin = [line for line in calls.splitlines() if f"{trace.stem}:spin(" in line]
    assert len(spin) == 1 and " = " in spin[0], calls  # (raw u64: nothing says void)
