"""Stack samples inside functions probed at their return (tester finding F9).

A return probe (uretprobe) replaces the probed function's return address on
the stack with the kernel's trampoline (the ``[uprobes]`` mapping) until the
function returns: a sample taken meanwhile unwinds to the trampoline and no
further. ``ktr record`` captures the replaced address at the function's entry
(SPEC.md, "Return addresses"), and ktrdump gives it back to the samples. The
programs are gcc-built C (``-O2 -fomit-frame-pointer``: the unwinding is
DWARF CFI's), ``main -> outer -> func`` with ``func`` burning ~60 ms of CPU;
the oracle is the same program recorded without probes, whose samples in
``func`` unwind to ``main``. Each recording takes well under a second.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from c_support import build_i386, build_program

import formats
import ktrdump
from formats import ProbeDefFlag, ProbeSite, RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

#: ``func(depth)`` calls itself ``depth`` times, then burns ``BURN_MS`` of its thread's
#: CPU (its own clock, so the sample count does not depend on the load).
PROGRAM_C = r"""
#include <stdlib.h>
#include <time.h>
#define BURN_MS 150
static volatile unsigned long sink;
static long cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) long func(long depth) {
    if (depth > 0) {
        long r = func(depth - 1);
        sink++;  /* not a tail call: each level keeps its frame */
        return r + 1;
    }
    long end = cpu_ns() + BURN_MS * 1000000L;
    while (cpu_ns() < end)
        for (int k = 0; k < 200000; k++) sink += k;
    return 0;
}
__attribute__((noinline)) long outer(long depth) { long r = func(depth); sink++; return r; }
int main(int argc, char **argv) {
    return (int)outer(argc > 1 ? atol(argv[1]) : 0) == -1;
}
"""

#: of ~150 at 999 Hz over 150 ms of CPU; a loaded machine gave under half of them
#: (26 of 60 once), so the bound leaves room.
MIN_SAMPLES = 30


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("uretprobe"), "prog", PROGRAM_C,
                         "-O2", "-g", "-fomit-frame-pointer")


def _record(tmp_path: Path, program: Path, depth: int, *probes: str) -> Path:
    out = tmp_path / f"trace-{len(probes)}-{depth}.ktr"
    args = [arg for spec in probes for arg in ("-P", f"{program}:{spec}")]
    proc = subprocess.run([KTR, "record", "-q", "-F", "999", *args, "-o", str(out), "--",
                           str(program), str(depth)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    return out


def _func_stacks(trace: Path, *options: str) -> Counter[str]:
    """The folded stacks of the samples taken in ``func`` (leaf ``func``), from
    ``comm`` on: ``prog;_start;...;main;outer;func``."""
    folded = subprocess.run([KTRDUMP, "--format", "folded", *options, str(trace)],
                            capture_output=True, text=True, check=True).stdout
    stacks: Counter[str] = Counter()
    for line in folded.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack.endswith(";func"):
            stacks[stack] += int(count)
    return stacks


def _oracle(tmp_path: Path, program: Path, depth: int) -> str:
    """The stack of ``func``'s samples recorded without probes: one stack, to ``main``."""
    stacks = _func_stacks(_record(tmp_path, program, depth))
    stack, count = stacks.most_common(1)[0]
    assert count >= MIN_SAMPLES and count >= 0.9 * sum(stacks.values()), stacks
    assert stack.endswith(";main;outer" + ";func" * (depth + 1)), stack
    return stack


@pytest.mark.parametrize("depth", [0, 3], ids=["call", "recursive"])
@pytest.mark.parametrize("probes", [("func", "func:return"), ("func:return",)],
                         ids=["entry-and-return", "return-only"])
def test_samples_under_a_return_probe_unwind_to_main(tmp_path: Path, program: Path,
                                                     depth: int, probes: tuple[str, ...]
                                                     ) -> None:
    """Every level of ``func`` probed at its return (and entry): the samples in the
    innermost one unwind through each level and ``outer`` to ``main``, as without
    probes (before the fix: ``prog;[uprobes];func``, the callers lost)."""
    expected = _oracle(tmp_path, program, depth)
    trace = _record(tmp_path, program, depth, *probes)
    stacks = _func_stacks(trace)
    assert stacks[expected] >= MIN_SAMPLES, stacks
    assert stacks[expected] >= 0.9 * sum(stacks.values()), stacks
    # every view of samples has them: the text lines and the profile's totals
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          check=True).stdout
    in_func = [line for line in text.splitlines() if " SAMPLE  cpu " in line
               and line.split(" <- ")[0].split()[-1].startswith("func")]
    assert len(in_func) >= MIN_SAMPLES
    assert sum(" <- outer+" in line and " <- main+" in line for line in in_func) >= 0.9 * len(
        in_func)
    summary = subprocess.run([KTRDUMP, "--summary", str(trace)], capture_output=True,
                             text=True, check=True).stdout
    totals = {line.split()[-1]: int(line.split()[3]) for line in
              summary.split("Top functions by total samples:")[1].splitlines()[2:] if line}
    # a sample may land in main itself (before or after outer), never in func without
    # outer as its caller
    assert totals["main"] >= totals["outer"] >= totals["func"] * 0.9, totals
    # the probes' own records are as before: only the typed values, no hidden entries
    probed = [line for line in text.splitlines() if " PROBE  " in line]
    entries = [line for line in probed if ":func:entry(" in line]
    assert len(entries) == (depth + 1 if "func" in probes else 0)
    assert all(line.split(":func:entry(")[1].startswith(f"{depth - index})")
               for index, line in enumerate(entries))
    assert len([line for line in probed if ":func:return = " in line]) == depth + 1


@pytest.mark.parametrize("probes", [("func", "func:return"), ("func:return",)],
                         ids=["entry-and-return", "return-only"])
def test_followed_samples_under_a_return_probe_keep_their_callers(
        tmp_path: Path, program: Path, probes: tuple[str, ...]) -> None:
    """``ktrdump -l`` gives the samples their return addresses as reading the file
    does: the entry probe that captured one reaches the file a drain after samples
    taken after it (another ring), so records taken in file order left most samples
    ending at ``[uprobes]``; followed to its END, the trace's stacks are the plain
    view's, to ``main``. (No recording without probes: the plain view is the oracle.)"""
    depth = 3
    trace = _record(tmp_path, program, depth, *probes)
    followed = _func_stacks(trace, "-l")
    assert followed == _func_stacks(trace)
    stack, count = followed.most_common(1)[0]
    assert stack.endswith(";main;outer" + ";func" * (depth + 1)), followed
    assert count >= 10 and count >= 0.9 * sum(followed.values()), followed
    for view in (["--summary"], []):  # the profile's totals; each sample's line
        assert subprocess.run([KTRDUMP, "-l", *view, str(trace)], capture_output=True,
                              check=True).stdout == subprocess.run(
            [KTRDUMP, *view, str(trace)], capture_output=True, check=True).stdout


def test_the_entry_captures_the_address_before_the_kernel_replaces_it(
        tmp_path: Path, program: Path) -> None:
    """The entry probe's fetchargs run before the uretprobe takes the return address
    (the kernel's handler_chain): each captured address is the caller's, the one its
    return probe says it returned to, and each level's slot is below its caller's."""
    depth = 3
    trace = _record(tmp_path, program, depth, "func:return")
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
    defs = {r.payload.probe_id: r.payload for r in records if r.kind == RecordKind.PROBE_DEF}
    hidden = [d for d in defs.values() if d.flags & ProbeDefFlag.HIDDEN]
    assert len(hidden) == 1 and hidden[0].site == ProbeSite.ENTRY
    assert hidden[0].flags & ProbeDefFlag.RETURN_ADDRESS and hidden[0].function == b"func"
    trampoline = next(r.payload for r in records if r.kind == RecordKind.MMAP
                      and r.payload.path == b"[uprobes]")
    hits = [r.payload for r in records if r.kind == RecordKind.PROBE]
    entries = [(h.args[-2], h.args[-1]) for h in hits if h.site == ProbeSite.ENTRY]
    returns = [h.pc for h in hits if h.site == ProbeSite.RETURN]
    assert len(entries) == len(returns) == depth + 1
    # innermost returns first: the captured addresses, most recent first
    assert returns == [address for address, _ in reversed(entries)]
    assert not any(trampoline.start <= address < trampoline.end for address, _ in entries)
    slots = [slot for _, slot in entries]
    assert slots == sorted(slots, reverse=True) and len(set(slots)) == len(slots)
    # the outermost level returns into outer, the others into func itself
    assert len(set(returns[:-1])) == 1 and returns[-1] != returns[0]


def _rewrite(source: Path, target: Path,
             change: Callable[[formats.Record], formats.Record | None]) -> None:
    """``source``'s records through ``change`` (None: left out) into ``target``."""
    with ktrdump.open(str(source)) as reader:
        header = reader.header
        records = list(reader)
    codec = formats.codec(header.byte_order)
    encoded = []
    for record in records:
        changed = change(record)
        if changed is not None:
            encoded.append(codec.encode_record(RecordKind(changed.kind), changed.pid,
                                               changed.tid, changed.timestamp_ns,
                                               changed.comm, changed.payload))
    out = io.BytesIO()
    out.write(formats.encode_file_header(header))
    out.write(formats.batch_framing(header.byte_order).encode(encoded, None))
    target.write_bytes(out.getvalue())


def test_without_the_captured_address_the_trampoline_ends_the_stack(
        tmp_path: Path, program: Path) -> None:
    """No address known for the slot (the trace began inside the call; a file of a
    recorder before RETURN_ADDRESS): the stack ends at a ``[uprobes]`` frame, never at a
    made-up caller; the entry's typed values read as ever."""
    trace = _record(tmp_path, program, 0, "func", "func:return")

    def no_entries(record: formats.Record) -> formats.Record | None:
        payload = record.payload
        if record.kind == RecordKind.PROBE and payload.site == ProbeSite.ENTRY:  # type: ignore[union-attr]
            return None
        return record

    def old_format(record: formats.Record) -> formats.Record | None:
        payload = record.payload
        if record.kind == RecordKind.PROBE_DEF:
            return record._replace(payload=payload._replace(flags=0))  # type: ignore[union-attr]
        if record.kind == RecordKind.PROBE and payload.site == ProbeSite.ENTRY:  # type: ignore[union-attr]
            return record._replace(payload=payload._replace(args=payload.args[:1]))  # type: ignore[union-attr]
        return record

    for name, change in (("started-inside", no_entries), ("old-format", old_format)):
        damaged = tmp_path / f"{name}.ktr"
        _rewrite(trace, damaged, change)
        stacks = _func_stacks(damaged)
        assert sum(stacks.values()) >= MIN_SAMPLES
        assert set(stacks) == {"prog;[uprobes];func"}, (name, stacks)
        text = subprocess.run([KTRDUMP, str(damaged)], capture_output=True, text=True,
                              check=True).stdout
        # a sample taken at func's first instruction, before the return probe replaced
        # the return address, rightly unwinds to outer: only stacks through the
        # trampoline must end there
        samples = [line for line in text.splitlines() if " SAMPLE  " in line]
        assert sum(line.endswith(" <- [uprobes]") for line in samples) >= MIN_SAMPLES
        assert not any("[uprobes]" in line and " <- outer" in line for line in samples)
        if name == "old-format":
            assert "prog:func:entry(0) pc " in text


def test_without_samples_nothing_is_captured(tmp_path: Path, program: Path) -> None:
    """Only stack samples need the return addresses: a recording without ``-F`` places
    the probes asked for, as before (no entry probe of its own, no extra values)."""
    out = tmp_path / "probes.ktr"
    proc = subprocess.run([KTR, "record", "-q", "-t", "f", "-P", f"{program}:func",
                           "-P", f"{program}:func:return", "-P", f"{program}:outer:return",
                           "-o", str(out), "--", str(program), "1"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    with ktrdump.open(str(out)) as reader:
        records = list(reader)
    defs = [r.payload for r in records if r.kind == RecordKind.PROBE_DEF]
    assert sorted((d.function, d.site, d.flags) for d in defs) == [
        (b"func", ProbeSite.ENTRY, 0), (b"func", ProbeSite.RETURN, 0),
        (b"outer", ProbeSite.RETURN, 0)]
    entries = [r.payload.args for r in records if r.kind == RecordKind.PROBE
               and r.payload.site == ProbeSite.ENTRY]
    assert entries == [(1,), (0,)]


I386_C = r"""
static volatile unsigned long sink;
__attribute__((noinline)) int func(int depth) {
    if (depth > 0) { int r = func(depth - 1); sink++; return r + 1; }
    for (unsigned long i = 0; i < 60000000UL; i++) sink += i;
    return 0;
}
__attribute__((noinline)) int outer(int depth) { int r = func(depth); sink++; return r; }
__attribute__((noinline)) int main32(void) { int r = outer(2); sink++; return r; }
static void sys_exit(int code) { __asm__ volatile("int $0x80" :: "a"(1), "b"(code)); }
void _start(void) { sys_exit(main32() == 2 ? 0 : 1); }
"""


def test_i386_code(tmp_path: Path) -> None:
    """i386 code (cdecl, 4-byte return addresses, its own trampoline address): the
    samples in the innermost of three levels of ``func`` probed at its return unwind
    to ``_start``, as without the probe."""
    program = build_i386(tmp_path, I386_C, "prog32")
    expected = "prog32;_start;main32;outer;func;func;func"
    without = _func_stacks(_record(tmp_path, program, 0))
    assert without[expected] >= MIN_SAMPLES, without
    stacks = _func_stacks(_record(tmp_path, program, 0, "func:return"))
    assert stacks[expected] >= MIN_SAMPLES and stacks[expected] >= 0.9 * sum(
        stacks.values()), stacks
