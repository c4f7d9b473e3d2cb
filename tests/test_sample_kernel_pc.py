"""The user pc of a stack sample taken in the kernel is named as it is (tperf finding T4).

A sample taken while the thread is in the kernel (a trap, fault or interrupt) carries
the user registers saved at the kernel entry: their ip is the next instruction the
thread runs, not a return address. Named at ``pc - 1`` like the callers' return
addresses, a pc at a function's first instruction was named after the bytes before
it: the previous function (``cpu_ns`` here), or no function (``prog+0x1166``).

The samples come from a function probed at its entry: the kernel handles the probe's
breakpoint with the thread's ip at the function's first instruction (``push %rbp``,
emulated: no out-of-line step), which is where most of the program's CPU time goes.
The oracle is the program's symbol table (pyelftools): the address the kernel saved
is ``tiny``'s own, so the frame is ``tiny`` at offset 0, as perf report names it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from c_support import build_program
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

#: ``cpu_ns`` lies just before ``tiny`` in the file: the byte before ``tiny`` is its.
PROGRAM_C = r"""
#include <time.h>
__attribute__((noinline)) long cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) int tiny(int x) { return x + 1; }
int main(void) {
  long end = cpu_ns() + 60 * 1000000L, s = 0;
  while (cpu_ns() < end)
    for (int k = 0; k < 100; k++) s += tiny(k);
  return s == -1;
}
"""


def _symbols(path: Path) -> dict[str, int]:
    with path.open("rb") as handle:
        table = ELFFile(handle).get_section_by_name(".symtab")
        assert isinstance(table, SymbolTableSection)
        return {sym.name: sym["st_value"] for sym in table.iter_symbols()
                if sym["st_info"]["type"] == "STT_FUNC" and sym["st_value"]}


def test_a_kernel_samples_user_pc_at_a_function_start_names_that_function(
        tmp_path: Path) -> None:
    # -O0: tiny starts with push %rbp, which the kernel emulates at the breakpoint
    program = build_program(tmp_path, "prog", PROGRAM_C, "-O0", "-g")
    symbols = _symbols(program)
    assert symbols["cpu_ns"] < symbols["tiny"]
    out = tmp_path / "t.ktr"
    proc = subprocess.run([KTR, "record", "-q", "-t", "fS", "-F", "999", "-P",
                           f"{program}:tiny", "-o", str(out), "--", str(program)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    dump = subprocess.run([KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                          timeout=60, check=True)
    samples = [record for record in map(json.loads, dump.stdout.splitlines())
               if record["type"] == "SAMPLE"]
    # the load bias, from any frame named main (its pc minus its offset is main's start)
    bias = next(frame["pc"] - frame["offset"] - symbols["main"]
                for sample in samples for frame in sample["frames"]
                if frame["function"] == "main")
    at_start = [sample["frames"][1] for sample in samples
                if sample["kernel"] and len(sample["frames"]) > 1
                and sample["frames"][1]["pc"] - bias == symbols["tiny"]]
    assert at_start, "no sample was taken at tiny's breakpoint"
    named = {(frame["function"], frame["offset"]) for frame in at_start}
    assert named == {("tiny", 0)}, named
    # and so in the folded stacks: no kernel time of cpu_ns's own (it enters the kernel
    # only through clock_gettime)
    folded = subprocess.run([KTRDUMP, "--format", "folded", str(out)], capture_output=True,
                            text=True, timeout=60, check=True).stdout
    assert ";tiny;[kernel] " in folded
    assert ";cpu_ns;[kernel] " not in folded, folded
