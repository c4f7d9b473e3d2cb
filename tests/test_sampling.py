"""Stack sampling end to end: ``ktr record -F`` on C programs with known profiles.

The programs (compiled here with ``-O2 -fomit-frame-pointer``) spend known
shares of their CPU time in known functions through known call chains; the
folded stacks ktrdump makes must attribute those shares within a few percent
with the right callers. ``perf record --call-graph dwarf`` on the same program
is the side-by-side oracle. Each program burns a fraction of a second of CPU.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

import formats
import ktrdump
from formats import RecordKind

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
PYTHON = sys.executable
HZ = "4000"
TOLERANCE = 0.06  # share points: ~1000 samples give a binomial sd of ~1.4 points

#: BURN(us): spin in the calling function until the thread has used ``us`` more
#: microseconds of CPU (its own CPU clock, so the shares are exact whatever the load).
BURN_H = r"""
#include <stdlib.h>
#include <time.h>
static volatile unsigned long burn_sink;
#define BURN(us) do { \
    struct timespec t0_, t_; \
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0_); \
    for (;;) { \
        for (int k_ = 0; k_ < 20000; k_++) burn_sink += k_; \
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t_); \
        if ((t_.tv_sec - t0_.tv_sec) * 1000000000L + (t_.tv_nsec - t0_.tv_nsec) \
            >= (long)(us) * 1000L) break; \
    } } while (0)
"""

PROFILE_C = BURN_H + r"""
volatile unsigned long sink;
__attribute__((noinline)) void leaf_a(long us) { BURN(us); }
__attribute__((noinline)) void leaf_b(long us) { BURN(us); }
__attribute__((noinline)) void mid_a(long us) { leaf_a(us); sink++; }
__attribute__((noinline)) void mid_b(long us) { leaf_b(us); sink++; }
__attribute__((noinline)) void outer(long us) { mid_a(3 * us); mid_b(us); sink++; }
int main(int argc, char **argv) {
    long reps = argc > 1 ? atol(argv[1]) : 100;
    for (long r = 0; r < reps; r++) outer(1000);  /* 4 ms of CPU a round */
    return 0;
}
"""

LIBRARY_C = BURN_H + r"""
volatile unsigned long lib_sink;
__attribute__((noinline)) void lib_leaf(long us) { BURN(us); }
__attribute__((noinline)) void lib_mid(long n) { lib_leaf(n); lib_sink++; }
void lib_outer(long n) { lib_mid(n); lib_sink++; }
"""

USES_LIBRARY_C = BURN_H + r"""
void lib_outer(long us);
__attribute__((noinline)) void own_leaf(long us) { BURN(us); }
int main(int argc, char **argv) {
    long reps = argc > 1 ? atol(argv[1]) : 100;
    for (long r = 0; r < reps; r++) { lib_outer(2000); own_leaf(1000); }
    return 0;
}
"""

FORKER_C = BURN_H + r"""
#include <unistd.h>
#include <sys/wait.h>
__attribute__((noinline)) void parent_work(long us) { BURN(us); }
__attribute__((noinline)) void child_work(long us) { BURN(us); }
int main(int argc, char **argv) {
    pid_t child = fork();
    if (child == 0) {
        child_work(100000);
        execl(argv[1], argv[1], "25", (char *)0);
        _exit(127);
    }
    parent_work(100000);
    int status;
    waitpid(child, &status, 0);
    return WEXITSTATUS(status);
}
"""

THREADS_C = BURN_H + r"""
#include <pthread.h>
__attribute__((noinline)) void thread_leaf(long us) { BURN(us); }
__attribute__((noinline)) void main_leaf(long us) { BURN(us); }
static void *run(void *arg) { thread_leaf(150000); return arg; }
int main(void) {
    pthread_t thread;
    pthread_create(&thread, 0, run, 0);
    main_leaf(150000);
    pthread_join(thread, 0);
    return 0;
}
"""

VDSO_C = r"""
#include <time.h>
volatile long sink;
__attribute__((noinline)) void read_clock(long n) {
    struct timespec ts;
    for (long i = 0; i < n; i++) { clock_gettime(CLOCK_MONOTONIC, &ts); sink += ts.tv_nsec; }
}
int main(void) { read_clock(3000000); return 0; }
"""


def _gcc() -> str:
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    return compiler


def compile_c(tmp_path: Path, source: str, name: str, *extra: str) -> Path:
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    output = tmp_path / name
    subprocess.run([_gcc(), "-O2", "-fomit-frame-pointer", "-g0", "-o", str(output), str(path),
                    *extra], check=True, capture_output=True, timeout=60)
    return output


def record(tmp_path: Path, *command: str, options: tuple[str, ...] = (),
           name: str = "profile.ktr") -> Path:
    trace = tmp_path / name
    done = subprocess.run([KTR, "record", "-q", "-F", HZ, *options, "-o", str(trace), "--",
                           *command], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return trace


def folded(trace: Path, *options: str) -> Counter[str]:
    done = subprocess.run([KTRDUMP, "--format", "folded", *options, str(trace)],
                          capture_output=True, text=True, timeout=60, check=True)
    stacks: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] += int(count)
    return stacks


def share(stacks: Counter[str], pattern: str) -> float:
    """The share of samples whose stack matches ``pattern`` (a regex on the folded line)."""
    total = sum(stacks.values())
    matched = sum(count for stack, count in stacks.items() if re.search(pattern, stack))
    return matched / total if total else 0.0


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The profile program and a recording of it (calls and samples), shared by tests."""
    directory = tmp_path_factory.mktemp("profile")
    program = compile_c(directory, PROFILE_C, "profile")
    return program, record(directory, str(program), "80")


def test_folded_stacks_attribute_known_shares_with_their_callers(
        profiled: tuple[Path, Path]) -> None:
    stacks = folded(profiled[1])
    assert sum(stacks.values()) > 300
    chain_a = r"^profile;(.*;)?main;outer;mid_a;leaf_a(;|$)"
    chain_b = r"^profile;(.*;)?main;outer;mid_b;leaf_b(;|$)"
    assert share(stacks, chain_a) == pytest.approx(0.75, abs=TOLERANCE)
    assert share(stacks, chain_b) == pytest.approx(0.25, abs=TOLERANCE)
    # DWARF unwinding through a program without frame pointers reaches main (and _start).
    assert share(stacks, r";main(;|$)") > 0.97
    assert share(stacks, r"^profile;_start;__libc_start_main") > 0.95


def test_a_shared_library_is_unwound_and_symbolized(tmp_path: Path) -> None:
    library = tmp_path / "libwork.so"
    source = tmp_path / "libwork.c"
    source.write_text(LIBRARY_C)
    subprocess.run([_gcc(), "-O2", "-fomit-frame-pointer", "-fPIC", "-shared", "-o",
                    str(library), str(source)], check=True, capture_output=True, timeout=60)
    program = compile_c(tmp_path, USES_LIBRARY_C, "useslib", f"-L{tmp_path}", "-lwork",
                        f"-Wl,-rpath,{tmp_path}")
    trace = record(tmp_path, str(program), "100", options=("-t", "S"))
    stacks = folded(trace)
    assert share(stacks, r";main;lib_outer;lib_mid;lib_leaf(;|$)") == pytest.approx(
        2 / 3, abs=TOLERANCE)
    assert share(stacks, r";main;own_leaf(;|$)") == pytest.approx(1 / 3, abs=TOLERANCE)
    # The JSON frames name the library as the module of its functions.
    done = subprocess.run([KTRDUMP, "--json", "-t", "S", str(trace)], capture_output=True,
                          text=True, check=True, timeout=60)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    # A loaded machine can overrun the sample ring: its losses are DROP lines.
    assert all("frames" in line or line.get("type") == "DROP" for line in lines), lines[:3]
    modules = {(frame["function"], frame["module"])
               for line in lines for frame in line.get("frames", ())}
    assert ("lib_leaf", "libwork.so") in modules
    assert ("own_leaf", "useslib") in modules


def test_forked_child_and_exec_are_profiled_with_i(tmp_path: Path) -> None:
    second = compile_c(tmp_path, PROFILE_C, "second")
    forker = compile_c(tmp_path, FORKER_C, "forker")
    stacks = folded(record(tmp_path, str(forker), str(second), options=("-i", "-t", "Sp")))
    assert share(stacks, r"^forker;.*;main;parent_work") > 0.05
    assert share(stacks, r"^forker;.*;main;child_work") > 0.05
    # After the exec: the new image, its command name and its own call chains.
    assert share(stacks, r"^second;.*;main;outer;mid_a;leaf_a") > 0.1
    assert share(stacks, r"^second;.*;main;outer;mid_b;leaf_b") > 0.03


def test_without_i_children_are_not_sampled(tmp_path: Path) -> None:
    second = compile_c(tmp_path, PROFILE_C, "second")
    forker = compile_c(tmp_path, FORKER_C, "forker")
    stacks = folded(record(tmp_path, str(forker), str(second), options=("-t", "S")))
    assert share(stacks, r"parent_work") > 0.5
    assert share(stacks, r"child_work|leaf_a|leaf_b") == 0


def test_threads_are_followed(tmp_path: Path) -> None:
    program = compile_c(tmp_path, THREADS_C, "threads", "-pthread")
    trace = record(tmp_path, str(program), options=("-t", "S"))
    stacks = folded(trace)
    assert share(stacks, r";main;main_leaf") == pytest.approx(0.5, abs=TOLERANCE)
    assert share(stacks, r";start_thread;(run;)?thread_leaf") == pytest.approx(0.5, abs=TOLERANCE)
    with ktrdump.open(str(trace)) as reader:
        tids = {r.tid for r in reader if r.kind == RecordKind.SAMPLE}
    assert len(tids) == 2


RENAMER_C = "#define _GNU_SOURCE\n" + BURN_H + r"""
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
static void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}
static void *worker(void *arg) {  /* named as its creator was at its creation */
    (void)arg;
    for (int i = 0; i < 4; i++) { pin(i % 2); BURN(2000); }
    return 0;
}
int main(void) {
    char name[16];
    for (int k = 0; k < RENAMES; k++) {  /* each name on the other CPU than the last */
        pin(k % 2);
        snprintf(name, sizeof name, "s%03d", k);
        prctl(PR_SET_NAME, name);
        BURN(3000);
    }
    pthread_t thread;
    pthread_create(&thread, 0, worker, 0);
    pthread_join(thread, 0);
    return 0;
}
"""


def test_samples_carry_the_name_at_their_time_across_cpu_rings(tmp_path: Path) -> None:
    """Renames (COMM records) alternate between the CPUs' rings, each followed by
    samples on the same CPU: every sample carries the name its thread had then,
    in the program's order, and the thread takes its creator's last name (the
    FORK record: -t S makes no syscall stops, so the recorder never saw a rename)."""
    if not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1")
    renames = 16
    program = compile_c(tmp_path, RENAMER_C, "renamer", "-pthread", f"-DRENAMES={renames}")
    trace = record(tmp_path, str(program), options=("-t", "S"))
    with ktrdump.open(str(trace)) as reader:
        samples = sorted((r.timestamp_ns, r.tid, r.comm, r.pid) for r in reader
                         if r.kind == RecordKind.SAMPLE)
    main = samples[0][3]
    names = [b"s%03d" % k for k in range(renames)]
    by_tid: dict[int, list[bytes]] = {}
    for _, tid, comm, _ in samples:
        by_tid.setdefault(tid, []).append(comm)
    assert len(by_tid) == 2
    order = [names.index(comm) for comm in by_tid.pop(main) if comm != b"renamer"]
    assert order == sorted(order)
    assert set(order) == set(range(renames))  # 3 ms of CPU at 4 kHz: samples under each name
    assert set(next(iter(by_tid.values()))) == {names[-1]}


def test_vdso_frames_are_symbolized_from_the_captured_image(tmp_path: Path) -> None:
    program = compile_c(tmp_path, VDSO_C, "vdso")
    trace = record(tmp_path, str(program), options=("-t", "S"))
    with ktrdump.open(str(trace)) as reader:
        records = list(reader)
    images = [r.payload for r in records if r.kind == RecordKind.MMAP
              and isinstance(r.payload, formats.Mmap) and r.payload.path == b"[vdso]"]
    assert images and images[0].image.startswith(b"\x7fELF") and images[0].build_id
    assert all(not m.image for m in images[1:])  # the image once per recording
    stacks = folded(trace)
    vdso = {stack for stack in stacks if "clock_gettime" in stack.rpartition(";")[2]}
    assert vdso, stacks.most_common(5)
    # Unwinding through the vDSO's own CFI reaches the caller.
    assert share(stacks, r";main;read_clock;(.*;)?[^;]*clock_gettime") > 0.3


def test_perf_record_dwarf_agrees(tmp_path: Path, profiled: tuple[Path, Path]) -> None:
    perf = shutil.which("perf")
    if perf is None:
        pytest.skip("perf is not installed")
    program, trace = profiled
    ours = folded(trace)
    data = tmp_path / "perf.data"
    done = subprocess.run([perf, "record", "-q", "-F", HZ, "--call-graph", "dwarf,8192", "-o",
                           str(data), str(program), "80"], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"perf record failed: {done.stderr.decode(errors='replace')[:200]}")
    script = subprocess.run([perf, "script", "-i", str(data), "-F", "comm,ip,sym"],
                            capture_output=True, text=True, timeout=60)
    theirs: Counter[str] = Counter()
    for block in script.stdout.split("\n\n"):
        lines = block.strip().splitlines()
        if len(lines) < 2:
            continue
        user = []
        for line in lines[1:]:
            words = line.split()
            # (kernel frames skipped; perf repeats an inlined frame's pc)
            if (len(words) >= 2 and not words[0].startswith("ffffffff")
                    and (not user or user[-1] != words[1])):
                user.append(words[1])
        theirs[";".join([lines[0].strip(), *reversed(user)])] += 1
    assert sum(theirs.values()) > 300
    for chain in (r";main;outer;mid_a;leaf_a(;|$)", r";main;outer;mid_b;leaf_b(;|$)"):
        assert share(ours, chain) == pytest.approx(share(theirs, chain), abs=TOLERANCE)
    # Both unwinders reach main from nearly every sample.
    assert share(ours, r";main(;|$)") >= share(theirs, r";main(;|$)") - 0.02


def test_json_sample_keys_and_text_lines(profiled: tuple[Path, Path]) -> None:
    trace = profiled[1]
    done = subprocess.run([KTRDUMP, "--json", "-t", "S", str(trace)], capture_output=True,
                          text=True, check=True, timeout=60)
    # A loaded machine can overrun the sample ring: its losses are DROP lines.
    samples = [sample for sample in map(json.loads, done.stdout.splitlines())
               if sample["type"] != "DROP"]
    assert samples
    for sample in samples:
        assert {"type", "pid", "tid", "comm", "ts", "cpu", "frames"} <= set(sample)
        assert sample["type"] == "SAMPLE"
        for frame in sample["frames"]:
            assert set(frame) == {"pc", "function", "module", "offset"}
    leaf = [s["frames"][0] for s in samples if s["frames"][0]["function"] == "leaf_a"]
    assert leaf and leaf[0]["module"] == "profile" and leaf[0]["offset"] < 0x100
    text = [line for line in subprocess.run(
        [KTRDUMP, "-t", "S", str(trace)], capture_output=True, text=True, check=True,
        timeout=60).stdout.splitlines() if "DROP  " not in line]
    assert len(text) == len(samples)
    assert any(re.search(r"SAMPLE  cpu \d+ leaf_a\+0x[0-9a-f]+ <- mid_a\+0x[0-9a-f]+ <- outer",
                         line) for line in text)


def test_samples_and_maps_come_out_in_time_order(profiled: tuple[Path, Path]) -> None:
    """Rings are drained CPU after CPU, up to a poll late: the header says so and
    ktrdump puts every record back in time order."""
    trace = profiled[1]
    with ktrdump.open(str(trace)) as reader:
        assert reader.header.options["perf_source"] is True
    done = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60)
    stamps = [record["ts"] for record in map(json.loads, done.stdout.splitlines())
              if record["type"] not in ("DROP", "END")]
    assert stamps == sorted(stamps)


def test_summary_lists_top_functions(profiled: tuple[Path, Path]) -> None:
    trace = profiled[1]
    done = subprocess.run([KTRDUMP, "--summary", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60)
    out = done.stdout
    assert "% time" in out  # the syscall table is still there
    by_self = out.split("Top functions by self samples:")[1].split("Top functions by total")[0]
    rows = [line.split() for line in by_self.strip().splitlines()[1:]]
    # leaf_a and leaf_b lead (with [kernel]: BURN reads the thread's CPU clock by syscall).
    assert {"leaf_a", "leaf_b"} <= {row[-1] for row in rows[:3]}
    by_total = out.split("Top functions by total samples:")[1]
    leaf_a = next(line.split() for line in by_total.splitlines() if line.endswith(" leaf_a"))
    assert float(leaf_a[2]) == pytest.approx(75, abs=100 * TOLERANCE)
    main_row = next(line.split() for line in by_total.splitlines() if line.endswith(" main"))
    assert float(main_row[2]) > 90  # total% of main (the rest: the dynamic loader, exit)
    outer_row = next(line.split() for line in by_total.splitlines() if line.endswith(" outer"))
    assert float(outer_row[0]) < 1  # self% of a caller


def test_summary_of_samples_alone_has_no_empty_syscall_table(
        tmp_path: Path, profiled: tuple[Path, Path]) -> None:
    trace = record(tmp_path, str(profiled[0]), "20", options=("-t", "Sm"))
    out = subprocess.run([KTRDUMP, "--summary", str(trace)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    # No syscall table and no leading blank line (a loaded machine may add the
    # line counting ring losses before the profile).
    assert "% time" not in out and not out.startswith("\n"), out
    assert out.splitlines()[0].startswith(("Profile: ", "records dropped")), out
    assert "\nProfile: " in out or out.startswith("Profile: "), out


def test_summary_with_t_s_keeps_the_maps_that_name_the_functions(
        profiled: tuple[Path, Path]) -> None:
    out = subprocess.run([KTRDUMP, "--summary", "-t", "S", str(profiled[1])],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert "% time" not in out  # -t S: the profile alone
    by_self = out.split("Top functions by self samples:")[1].split("Top functions by total")[0]
    assert {"leaf_a", "leaf_b"} <= {line.split()[-1] for line in by_self.splitlines()[2:6]}


def test_ring_losses_become_drop_records(tmp_path: Path, profiled: tuple[Path, Path]) -> None:
    program = profiled[0]
    trace = tmp_path / "lossy.ktr"
    # A one-page ring cannot hold an 8 KiB stack sample: the kernel loses every one.
    script = textwrap.dedent(f"""
        import ktr, ktr._sampling as sampling
        original = sampling.SamplingOptions
        # side_sources imports it from ktr._sampling when sampling is asked for
        sampling.SamplingOptions = lambda *a, **k: original(*a, ring_pages=1, **k)
        options = ktr.parse_record_arguments(
            ["-q", "-t", "S", "-F", "{HZ}", "-o", {str(trace)!r}, "--", {str(program)!r}, "20"])
        report = ktr.record(options)
        print(sum(report.stats.drops.values()))
    """)
    done = subprocess.run([PYTHON, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0
    with ktrdump.open(str(trace)) as reader:
        drops = [r.payload for r in reader if r.kind == RecordKind.DROP]
    lost = sum(d.lost for d in drops if isinstance(d, formats.Drop)
               and d.error == formats.DropError.ENOBUFS)
    assert lost > 0
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True, timeout=60)
    assert "ENOBUFS" in text.stdout


def test_attach_samples_a_running_process(tmp_path: Path, profiled: tuple[Path, Path]) -> None:
    program = profiled[0]
    target = subprocess.Popen([str(program), "100000"])  # runs until killed
    try:
        trace = tmp_path / "attach.ktr"
        recorder = subprocess.Popen([KTR, "record", "-q", "-t", "S", "-F", HZ, "-o", str(trace),
                                     "-p", str(target.pid)], stderr=subprocess.PIPE)
        deadline_samples = 0
        import time

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and deadline_samples < 200:
            time.sleep(0.2)
            if trace.exists():
                deadline_samples = trace.stat().st_size // 8000
        recorder.send_signal(2)
        assert recorder.wait(timeout=20) == 0
    finally:
        target.kill()
        target.wait()
    with ktrdump.open(str(trace)) as reader:
        maps = [r.payload for r in reader if r.kind == RecordKind.MMAP]
    assert any(isinstance(m, formats.Mmap) and m.origin == formats.MmapOrigin.SNAPSHOT
               and m.path == str(program).encode() and m.build_id for m in maps)
    stacks = folded(trace)
    assert share(stacks, r";main;outer;mid_a;leaf_a") == pytest.approx(0.75, abs=0.1)


def test_chrome_includes_the_samples(profiled: tuple[Path, Path]) -> None:
    done = subprocess.run([KTRDUMP, "--format", "chrome", str(profiled[1])],
                          capture_output=True, text=True, check=True, timeout=60)
    events = json.loads(done.stdout)["traceEvents"]
    samples = [e for e in events if e.get("name", "").startswith("sample ")]
    assert len(samples) > 300
    leaf_a = [e for e in samples if "leaf_a" in e["args"]["stack"]]
    assert len(leaf_a) / len(samples) == pytest.approx(0.75, abs=TOLERANCE)
    named = [e for e in samples if e["name"] == "sample leaf_a"]
    assert named and named[0]["args"]["stack"][-4:] == ["main", "outer", "mid_a", "leaf_a"]
    assert all(e["ph"] == "i" and isinstance(e["args"]["cpu"], int) for e in samples)


I386_C = r"""
volatile unsigned long sink;
__attribute__((noinline)) void leaf32(long n) { for (long i = 0; i < n; i++) sink += i * 3; }
__attribute__((noinline)) void mid32(long n) { leaf32(n); sink++; }
__attribute__((noinline)) void outer32(long n) { for (int r = 0; r < 30; r++) mid32(n); sink++; }
void _start(void) {
    outer32(1000000);
    __asm__ volatile ("movl $1, %eax\n movl $0, %ebx\n int $0x80");
}
"""


def test_i386_program_is_unwound_with_its_register_set(tmp_path: Path) -> None:
    source = tmp_path / "p32.c"
    source.write_text(I386_C)
    program = tmp_path / "p32"
    built = subprocess.run([_gcc(), "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pic",
                            "-fno-stack-protector", "-fno-builtin", "-O2",
                            "-fomit-frame-pointer", "-o", str(program), str(source)],
                           capture_output=True, text=True, timeout=60)
    if built.returncode != 0:
        pytest.skip(f"gcc -m32 cannot link a freestanding program here: {built.stderr[:200]}")
    trace = record(tmp_path, str(program), options=("-t", "S"))
    with ktrdump.open(str(trace)) as reader:
        abis = {r.payload.abi for r in reader if isinstance(r.payload, formats.Sample)}
    assert abis == {formats.Abi.I386}
    stacks = folded(trace)
    # Every sample reaches _start, and nothing above it (argc is no return address).
    assert share(stacks, r"^p32;_start;outer32;mid32;leaf32(;|$)") > 0.9


def test_frame_pointers_serve_where_a_module_has_no_cfi(tmp_path: Path) -> None:
    source = tmp_path / "nocfi.c"
    source.write_text(PROFILE_C)
    program = tmp_path / "nocfi"
    subprocess.run([_gcc(), "-O2", "-fno-omit-frame-pointer", "-fno-asynchronous-unwind-tables",
                    "-fno-unwind-tables", "-o", str(program), str(source)], check=True,
                   capture_output=True, timeout=60)
    fdes = subprocess.run(["readelf", "--debug-dump=frames", str(program)], capture_output=True,
                          text=True, timeout=60).stdout
    assert "leaf_a" not in fdes and fdes.count("FDE") <= 3  # only the C runtime's
    stacks = folded(record(tmp_path, str(program), "40", options=("-t", "S")))
    assert share(stacks, r";main;outer;mid_a;leaf_a(;|$)") == pytest.approx(0.75, abs=0.1)
    assert share(stacks, r"^nocfi;_start;__libc_start_main") > 0.9
