"""Stack samples name the code of the file a process really maps, never a file put at its path.

A C program (compiled here) starts, says it is running on a pipe, and waits
until told, once the recording has begun, before it burns 0.2 s of CPU in ``hot_a``. Before
``ktr record -p`` attaches, the test deletes its executable, or replaces it
with a decoy program whose function ``decoy_big`` covers ``hot_a``'s
addresses. The oracle is the original program's own symbol table (a copy kept
aside): the samples must fall in ``hot_a`` — named, or as ``module+0xN``
offsets inside ``hot_a``'s range with one line on stderr saying why — and
never be named after the decoy's functions. A stripped program's unnamed code
is grouped by the function starts of its unwind tables, checked against the
unstripped build's symbols.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from control_support import Tee
from elftools.dwarf.callframe import FDE
from elftools.elf.elffile import ELFFile

import formats
import ktrdump
from formats import MmapFlag, RecordKind
from formats.elf import read_build_id
from ktr import _procfs, _sampling

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

#: Runs ``hot_a`` for 0.2 s of its own CPU time once told to on its standard input (when
#: the recorder has attached), after saying "running".
TARGET_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static volatile unsigned long sink;
static long cpu_ns(void) {
    struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) void hot_a(long ns) {
    long t0 = cpu_ns();
    while (cpu_ns() - t0 < ns) for (int k = 0; k < 20000; k++) sink += k;
}
int main(void) {
    puts("running"); fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    hot_a(200000000L);
    return 0;
}
"""

#: What is put at the path: its one big function covers the target's code addresses.
DECOY_C = r"""
volatile unsigned long decoy_sink;
__attribute__((noinline)) void decoy_big(long n) {
    for (long i = 0; i < n; i++) decoy_sink += i * 3;
    __asm__ volatile(".fill 8192,1,0x90");
}
int main(int argc, char **argv) { decoy_big(argc); return 0; }
"""

STRIPPED_C = r"""
#include <time.h>
static volatile unsigned long sink;
static long cpu_ns(void) {
    struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) void hot_a(long ns) {
    long t0 = cpu_ns();
    while (cpu_ns() - t0 < ns) for (int k = 0; k < 20000; k++) sink += k * 7;
}
__attribute__((noinline)) void hot_b(long ns) {
    long t0 = cpu_ns();
    while (cpu_ns() - t0 < ns) for (int k = 0; k < 20000; k++) sink ^= k;
}
int main(void) {
    for (int i = 0; i < 10; i++) { hot_a(20000000L); hot_b(10000000L); }
    return 0;
}
"""


def _compile(directory: Path, source: str, name: str, *extra: str) -> Path:
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.skip("no C compiler")
    path = directory / f"{name}.c"
    path.write_text(source)
    output = directory / name
    subprocess.run([compiler, "-O2", "-fomit-frame-pointer", "-o", str(output), str(path),
                    *extra], check=True, capture_output=True, timeout=60)
    return output


def _functions(program: Path) -> dict[str, tuple[int, int]]:
    """Function name -> [start, end) link-time addresses, from the program's symbol table."""
    with program.open("rb") as handle:
        symtab = ELFFile(handle).get_section_by_name(".symtab")
        assert symtab is not None
        return {s.name: (s["st_value"], s["st_value"] + s["st_size"])
                for s in symtab.iter_symbols()  # type: ignore[attr-defined]
                if s["st_info"]["type"] == "STT_FUNC" and s["st_value"]}


def _fde_ranges(program: Path) -> list[tuple[int, int]]:
    """[start, end) of every FDE of the program's .eh_frame."""
    with program.open("rb") as handle:
        entries = ELFFile(handle).get_dwarf_info().EH_CFI_entries()
        return [(entry.header["initial_location"],
                 entry.header["initial_location"] + entry.header["address_range"])
                for entry in entries if isinstance(entry, FDE)]


def _record_attached(tmp_path: Path, program: Path, change: str, decoy: Path,
                     *options: str) -> Path:
    """Start ``program``; once it runs, ``change`` its file ("delete", "replace", or
    "bind": the decoy bind-mounted over it in the recorder's own mount namespace, so the
    process's maps still name the path, not "(deleted)"), then record it with ``ktr
    record -p`` (no ptrace: samples alone) until it exits, keeping no files unless
    ``options`` name a build-id cache; the program burns once the recording has begun
    (its BEGIN record read)."""
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    recorder = None
    try:
        assert target.stdout is not None and target.stdin is not None
        assert target.stdout.readline() == b"running\n"
        trace = tmp_path / f"{change}.ktr"
        command = [KTR, "record", "-q", "-F", "4000", "-t", "S", "-p", str(target.pid),
                   "-o", "-", *(options or ("--no-build-id-cache",))]
        if change == "bind":
            command = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                       'mount --bind "$0" "$1" && shift && exec "$@"', str(decoy),
                       str(program), *command]
        else:
            program.unlink()
        if change == "replace":
            shutil.copy(decoy, program)
        recorder = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    env=_ENV)
        assert recorder.stdout is not None and recorder.stderr is not None
        with trace.open("wb") as copy, ktrdump.open(Tee(recorder.stdout, copy)) as reader:
            stream = iter(reader)
            assert next(stream).kind == RecordKind.BEGIN
            target.stdin.write(b"go\n")
            target.stdin.flush()
            for _ in stream:  # to the END: the recording ends when the target does
                pass
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=30) == 0, stderr
        assert target.wait(timeout=30) == 0
    finally:
        for process in (target, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    return trace


def _program_maps(trace: Path, program: Path) -> list[formats.Mmap]:
    with ktrdump.open(str(trace)) as reader:
        return [r.payload for r in reader if r.kind == RecordKind.MMAP
                and isinstance(r.payload, formats.Mmap)
                and r.payload.path == str(program).encode()]


#: No build-id cache of the user's: $HOME (perf's ~/.debug) and the default ktr cache are
#: an empty directory of these tests alone.
_HOME = Path(os.environ.get("TMPDIR", "/tmp")) / f"ktr-mapped-files-home-{os.getpid()}"
_ENV = {**os.environ, "HOME": str(_HOME), "KTR_CACHE_DIR": str(_HOME / "cache")}
_ENV.pop("XDG_CACHE_HOME", None)


@pytest.fixture(autouse=True, scope="module")
def _empty_home() -> Iterator[None]:
    _HOME.mkdir(mode=0o700)
    try:
        yield
    finally:
        shutil.rmtree(_HOME)


def _folded(trace: Path, cache: Path, env: dict[str, str] | None = None
            ) -> tuple[Counter[str], str]:
    done = subprocess.run([KTRDUMP, "--format", "folded", "--symbol-cache", str(cache),
                           str(trace)], capture_output=True, text=True, timeout=60, check=True,
                          env=env or _ENV)
    stacks: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        stack, _, count = line.rpartition(" ")
        stacks[stack] += int(count)
    return stacks, done.stderr


def _offsets_in(stacks: Counter[str], module: str, low: int, high: int) -> float:
    """The share of samples with a ``module+0xN`` frame where low <= N < high."""
    pattern = re.compile(re.escape(module) + r"\+0x([0-9a-f]+)(?:;|$)")
    total = sum(stacks.values())
    inside = sum(count for stack, count in stacks.items()
                 if any(low <= int(m, 16) < high for m in pattern.findall(stack)))
    return inside / total


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A symbol cache of these tests alone (libc's symbols read once): none of them ever
    dumps a trace while the target's own file is at its path or kept, so it never holds
    the target's symbols (tests that name them use their own)."""
    return tmp_path_factory.mktemp("symbols")


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The target program (built once; each test copies it) and the decoy."""
    directory = tmp_path_factory.mktemp("mapped")
    return _compile(directory, TARGET_C, "target"), _compile(directory, DECOY_C, "decoy")


@pytest.mark.parametrize("change", ["replace", "delete"])
def test_a_changed_executable_never_names_the_samples(
        tmp_path: Path, programs: tuple[Path, Path], cache: Path, change: str) -> None:
    original, decoy = programs
    program = tmp_path / "cpu_del"
    shutil.copy(original, program)
    trace = _record_attached(tmp_path, program, change, decoy)
    if change == "delete":
        shutil.copy(decoy, program)  # a file put at the path after the recording
    # The recorder read the mapped file's build id, not the decoy's, and kept "(deleted)".
    maps = _program_maps(trace, program)
    assert maps
    assert {m.build_id.hex() for m in maps} == {read_build_id(str(original))}
    assert all(m.flags & MmapFlag.DELETED for m in maps)

    stacks, stderr = _folded(trace, cache)
    assert not any("decoy" in stack for stack in stacks), stacks.most_common(3)
    assert stderr.count("\n") == 1, stderr
    assert stderr == (f"ktrdump: {program}: build id differs from the recorded one (the file "
                      f"was replaced); its frames are shown as offsets\n")
    low, high = _functions(original)["hot_a"]
    assert _offsets_in(stacks, "cpu_del", low, high) > 0.6, stacks.most_common(5)
    # The user's view: no top function is the decoy's or a misnamed main.
    summary = subprocess.run([KTRDUMP, "--summary", "--symbol-cache", str(cache), str(trace)],
                             capture_output=True, text=True, timeout=60, check=True, env=_ENV)
    assert " main\n" not in summary.stdout and "decoy" not in summary.stdout
    assert re.search(r"^ +[0-9.]+ +[0-9]+ +[0-9.]+ +[0-9]+ cpu_del\+0x", summary.stdout, re.M)


def test_a_deleted_executable_without_build_id_is_not_matched_by_path(
        tmp_path: Path, cache: Path) -> None:
    directory = tmp_path / "build"
    directory.mkdir()
    original = _compile(directory, TARGET_C, "target", "-Wl,--build-id=none")
    decoy = _compile(directory, DECOY_C, "decoy", "-Wl,--build-id=none")
    program = tmp_path / "cpu_del"
    shutil.copy(original, program)
    trace = _record_attached(tmp_path, program, "delete", decoy)
    shutil.copy(decoy, program)
    maps = _program_maps(trace, program)
    assert maps and all(not m.build_id and m.flags & MmapFlag.DELETED for m in maps)
    stacks, stderr = _folded(trace, cache)
    assert not any("decoy" in stack for stack in stacks), stacks.most_common(3)
    assert stderr == (f"ktrdump: {program}: the file was deleted while mapped and the trace "
                      f"has no build id to recognize it; its frames are shown as offsets\n")
    low, high = _functions(original)["hot_a"]
    assert _offsets_in(stacks, "cpu_del", low, high) > 0.6, stacks.most_common(5)


def test_without_map_files_the_path_counts_only_if_it_is_the_mapped_inode(
        tmp_path: Path, programs: tuple[Path, Path]) -> None:
    """The fallback for a recorder that cannot read ``/proc/PID/map_files``: a range no
    mapping has makes that read fail, so the path is all there is."""
    original, decoy = programs
    sampler = _sampling.Sampler(_sampling.SamplingOptions(hz=100))
    status = os.stat(original)
    here = _procfs.MapsLine(0x1000, 0x2000, 0, 5, 2, status.st_dev, status.st_ino,
                               str(original).encode(), False)
    expected = bytes.fromhex(read_build_id(str(original)) or "")
    assert expected
    assert sampler._mapped_build_id(os.getpid(), here) == (expected, False)
    other = here._replace(path=str(decoy).encode())  # another inode at the path
    assert sampler._mapped_build_id(os.getpid(), other) == (b"", True)
    gone = here._replace(path=str(tmp_path / "nothing").encode(), deleted=True)
    assert sampler._mapped_build_id(os.getpid(), gone) == (b"", False)


def test_map_files_reach_a_replaced_file_and_the_cache_is_by_identity(
        tmp_path: Path, programs: tuple[Path, Path]) -> None:
    """Two files that had the same path in turn keep their own build ids."""
    original, decoy = programs
    program = tmp_path / "cpu_del"
    shutil.copy(original, program)
    # (stdin a pipe never written: the program waits on it until killed)
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert target.stdout is not None
        assert target.stdout.readline() == b"running\n"
        sampler = _sampling.Sampler(_sampling.SamplingOptions(hz=100))
        lines = [m for m in _procfs.mappings(target.pid)
                 if m.path == str(program).encode()]
        assert lines and not lines[0].deleted
        first = sampler._mapped_build_id(target.pid, lines[0])
        program.unlink()
        shutil.copy(decoy, program)
        lines = [m for m in _procfs.mappings(target.pid)
                 if m.path == str(program).encode()]
        assert lines and lines[0].deleted
        assert sampler._mapped_build_id(target.pid, lines[0]) == first
        assert first == (bytes.fromhex(read_build_id(str(original)) or ""), False)
        assert sampler._file_build_id(str(program), os.stat(program)) == bytes.fromhex(
            read_build_id(str(decoy)) or "")
    finally:
        target.kill()
        target.wait()


def test_a_stripped_program_has_one_frame_per_function(tmp_path: Path, cache: Path) -> None:
    built = _compile(tmp_path, STRIPPED_C, "cpu")
    stripped = tmp_path / "cpu.stripped"
    subprocess.run(["strip", "-o", str(stripped), str(built)], check=True, timeout=60)
    functions = _functions(built)
    trace = tmp_path / "stripped.ktr"
    done = subprocess.run([KTR, "record", "-q", "-F", "4000", "-o", str(trace), "--",
                           str(stripped)], capture_output=True, timeout=60, env=_ENV)
    assert done.returncode == 0, done.stderr
    stacks, stderr = _folded(trace, cache)
    assert stderr == ""
    labels: Counter[str] = Counter()
    for stack, count in stacks.items():
        for frame in stack.split(";")[1:]:
            if frame.startswith("cpu.stripped+"):
                labels[frame] += count
    starts = {start: name for name, (start, _end) in functions.items()}
    with built.open("rb") as handle:  # a sample in a PLT stub: the PLT's one FDE
        starts.update({s["sh_addr"]: s.name for s in ELFFile(handle).iter_sections()
                       if s.name.startswith(".plt")})
    # Every frame of the program is a function's start, as the unstripped build says;
    # but a pc no FDE covers (the C runtime's __do_global_dtors_aux at exit has none)
    # has no known start in a stripped file: it is shown at its own address.
    covered = _fde_ranges(stripped)
    addresses = [int(label.partition("+")[2], 16) for label in labels]
    assert labels and all(address in starts for address in addresses
                          if any(low <= address < high for low, high in covered)), labels
    named = {starts[address] for address in addresses if address in starts}
    assert {"main", "hot_a", "hot_b"} <= named
    total = sum(stacks.values())
    hot_a = f"cpu.stripped+{functions['hot_a'][0]:#x}"
    in_hot_a = sum(c for stack, c in stacks.items() if hot_a in stack.split(";"))
    assert in_hot_a / total == pytest.approx(2 / 3, abs=0.1)
    # The text view says where in the function each sample is.
    text = subprocess.run([KTRDUMP, "-t", "S", "--symbol-cache", str(cache), str(trace)],
                          capture_output=True, text=True, timeout=60, check=True,
                          env=_ENV).stdout
    assert re.search(re.escape(hot_a) + r"\+0x[0-9a-f]+ <- ", text)


#: Maps an anonymous file (memfd: the kernel names it "/memfd:ktr-code (deleted)")
#: executable while sampled, so the kernel's MMAP2 record carries the suffix.
MEMFD_C = r"""
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>
#include <time.h>
static volatile unsigned long sink;
int main(void) {
    int fd = memfd_create("ktr-code", 0);
    char page[4096] = {0};
    if (fd < 0 || write(fd, page, sizeof page) != sizeof page) return 1;
    if (mmap(0, sizeof page, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED) return 2;
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    do { for (int k = 0; k < 20000; k++) sink += k; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); }
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec < 20000000L);
    return 0;
}
"""


def test_the_kernels_deleted_suffix_becomes_the_deleted_flag(tmp_path: Path) -> None:
    program = _compile(tmp_path, MEMFD_C, "memfd")
    trace = tmp_path / "memfd.ktr"
    done = subprocess.run([KTR, "record", "-q", "-F", "1000", "-t", "S", "-o", str(trace), "--",
                           str(program)], capture_output=True, timeout=60, env=_ENV)
    assert done.returncode == 0, done.stderr
    with ktrdump.open(str(trace)) as reader:
        maps = [r.payload for r in reader if r.kind == RecordKind.MMAP
                and isinstance(r.payload, formats.Mmap)
                and r.payload.path.startswith(b"/memfd:")]
    assert [(m.path, m.origin, bool(m.flags & MmapFlag.DELETED)) for m in maps] == [
        (b"/memfd:ktr-code", formats.MmapOrigin.EVENT, True)]
    assert maps[0].flags & 0xFFFF == 0x2  # MAP_PRIVATE kept beside ktr's bit


# -- the build-id cache: the files a recording needs, kept ----------------------------------

#: Deletes its own file (and, given a path, renames that file to its own name: rm + cp),
#: then runs ``hot_a`` for 0.2 s of CPU time: its file changes while it is recorded.
SELF_CHANGING_C = r"""
#include <stdio.h>
#include <time.h>
#include <unistd.h>
static volatile unsigned long sink;
static long cpu_ns(void) {
    struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) void hot_a(long ns) {
    long t0 = cpu_ns();
    while (cpu_ns() - t0 < ns) for (int k = 0; k < 20000; k++) sink += k;
}
int main(int argc, char **argv) {
    if (unlink(argv[0])) return 2;
    if (argc > 1 && rename(argv[1], argv[0])) return 3;
    hot_a(200000000L);
    return 0;
}
"""


def _kept(cache_dir: Path, program: Path) -> Path:
    """The copy a build-id cache holds of ``program`` (by its build id)."""
    build_id = read_build_id(str(program))
    assert build_id
    return cache_dir / "build-id" / build_id[:2] / build_id[2:] / "elf"


def _assert_private(cache_dir: Path, kept: Path) -> None:
    assert kept.stat().st_mode & 0o777 == 0o600
    directory = kept.parent
    while directory != cache_dir:
        assert directory.stat().st_mode & 0o777 == 0o700, directory
        directory = directory.parent


def _hot_a_share(stacks: Counter[str]) -> float:
    return sum(c for stack, c in stacks.items() if "hot_a" in stack.split(";")) / sum(
        stacks.values())


@pytest.mark.parametrize("change", ["replace", "delete"])
def test_a_file_changed_while_recorded_is_kept_and_names_the_samples(
        tmp_path: Path, change: str) -> None:
    """The spawned program replaces (rm + cp) or deletes its own file while sampled: the
    recorder keeps the mapped file at the process's exit stop, and after the recording
    (the file gone, or the decoy at its path) ktrdump names ``hot_a`` from the copy."""
    original = _compile(tmp_path, SELF_CHANGING_C, "self")
    decoy = _compile(tmp_path, DECOY_C, "decoy")
    program = tmp_path / "changing"
    shutil.copy(original, program)
    extra = []
    if change == "replace":
        shutil.copy(decoy, tmp_path / "next")
        extra = [str(tmp_path / "next")]
    keep = tmp_path / "kept"
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-F", "4000", "-t", "S", "--build-id-cache",
                           str(keep), "-o", str(trace), "--", str(program), *extra],
                          capture_output=True, text=True, timeout=60, env=_ENV)
    assert done.returncode == 0, done.stderr
    kept = _kept(keep, original)
    assert f"ktr: kept 1 mapped file that was deleted or replaced in {keep}/build-id\n" in (
        done.stderr)
    assert kept.read_bytes() == original.read_bytes()
    _assert_private(keep, kept)
    assert program.exists() == (change == "replace")
    stacks, stderr = _folded(trace, keep)
    assert stderr == ""
    assert not any("decoy" in stack for stack in stacks), stacks.most_common(3)
    assert _hot_a_share(stacks) > 0.6, stacks.most_common(5)
    # Without the copy (and the symbols dumping it left) the same trace has offsets only:
    # the copy is what named them.
    shutil.rmtree(keep)
    stacks, stderr = _folded(trace, keep)
    assert _hot_a_share(stacks) == 0, stacks.most_common(3)


@pytest.mark.parametrize("change", ["replace", "delete", "bind"])
def test_an_attached_process_changed_before_is_kept_from_its_snapshot(
        tmp_path: Path, programs: tuple[Path, Path], change: str) -> None:
    """``ktr record -p``: the MMAP record of the snapshot is DELETED (REPLACED for the
    bind mount): kept then; the default cache ($KTR_CACHE_DIR) is the one ktrdump looks
    in, after the program's file is gone."""
    original, decoy = programs
    program = tmp_path / "cpu_del"
    shutil.copy(original, program)
    default = Path(_ENV["KTR_CACHE_DIR"])
    trace = _record_attached(tmp_path, program, change, decoy, "--build-id-cache", "")
    flag = MmapFlag.REPLACED if change == "bind" else MmapFlag.DELETED
    maps = _program_maps(trace, program)
    assert maps and all(m.flags & flag for m in maps)
    program.unlink(missing_ok=True)
    kept = _kept(default, original)
    try:
        assert kept.read_bytes() == original.read_bytes()
        _assert_private(default, kept)
        stacks, stderr = _folded(trace, tmp_path / "symbols")
        assert stderr == ""
        assert not any("decoy" in stack for stack in stacks), stacks.most_common(3)
        assert _hot_a_share(stacks) > 0.6, stacks.most_common(5)
    finally:
        shutil.rmtree(default / "build-id", ignore_errors=True)


def test_unchanged_files_are_not_kept_and_a_kept_file_is_stored_once(tmp_path: Path) -> None:
    built = _compile(tmp_path, STRIPPED_C, "cpu")
    keep = tmp_path / "kept"
    for _ in range(2):
        done = subprocess.run([KTR, "record", "-F", "1000", "-t", "S", "--build-id-cache",
                               str(keep), "-o", str(tmp_path / "t.ktr"), "--", str(built)],
                              capture_output=True, text=True, timeout=60, env=_ENV)
        assert done.returncode == 0, done.stderr
        assert "kept" not in done.stderr
    assert not (keep / "build-id").exists()
    # The same file, changed twice: stored the first time only (its inode unchanged after).
    stamps = []
    for run in range(2):
        program = tmp_path / f"changing{run}"
        shutil.copy(_compile(tmp_path, SELF_CHANGING_C, "self"), program)
        done = subprocess.run([KTR, "record", "-F", "1000", "-t", "S", "--build-id-cache",
                               str(keep), "-o", str(tmp_path / "t.ktr"), "--", str(program)],
                              capture_output=True, text=True, timeout=60, env=_ENV)
        assert done.returncode == 0, done.stderr
        assert ("kept 1 mapped file" in done.stderr) == (run == 0), done.stderr
        entries = list((keep / "build-id").glob("*/*/elf"))
        assert len(entries) == 1
        stamps.append(entries[0].stat().st_ino)
    assert stamps[0] == stamps[1]


def test_perfs_build_id_cache_names_the_frames(
        tmp_path: Path, programs: tuple[Path, Path]) -> None:
    """A file perf keeps (``perf buildid-cache -a``, into $HOME/.debug) is found too."""
    original, decoy = programs
    if shutil.which("perf") is None:
        pytest.skip("no perf")
    program = tmp_path / "cpu_del"
    shutil.copy(original, program)
    trace = _record_attached(tmp_path, program, "delete", decoy)  # nothing kept by ktr
    home = tmp_path / "home"
    home.mkdir()
    env = {**_ENV, "HOME": str(home)}
    stacks, _ = _folded(trace, tmp_path / "symbols", env)
    assert _hot_a_share(stacks) == 0
    subprocess.run(["perf", "buildid-cache", "-a", str(original)], check=True, env=env,
                   capture_output=True, timeout=60)
    stacks, stderr = _folded(trace, tmp_path / "symbols", env)
    assert stderr == ""
    assert _hot_a_share(stacks) > 0.6, stacks.most_common(5)


@pytest.mark.parametrize("change", ["replace", "delete"])
def test_an_attached_process_changed_after_the_attach_is_kept(
        tmp_path: Path, programs: tuple[Path, Path], change: str) -> None:
    """``ktr record -p`` (no ptrace): the program's file is still at its path when the
    recorder attaches (its snapshot's MMAP record is neither DELETED nor REPLACED) and is
    deleted or replaced by the decoy afterwards, before the program runs ``hot_a`` and
    exits: the file it mapped is kept all the same (held from the snapshot, checked at
    its EXIT record), and names the samples once its path no longer does."""
    original, decoy = programs
    program = tmp_path / "cpu_late"
    shutil.copy(original, program)
    keep = tmp_path / "kept"
    target = subprocess.Popen([str(program)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    recorder = None
    trace = tmp_path / "late.ktr"
    try:
        assert target.stdout is not None and target.stdin is not None
        assert target.stdout.readline() == b"running\n"
        recorder = subprocess.Popen(
            [KTR, "record", "-F", "4000", "-t", "S", "-p", str(target.pid), "-o", "-",
             "--build-id-cache", str(keep)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_ENV)
        assert recorder.stdout is not None and recorder.stderr is not None
        with trace.open("wb") as copy, ktrdump.open(Tee(recorder.stdout, copy)) as reader:
            stream = iter(reader)
            assert next(stream).kind == RecordKind.BEGIN  # the snapshot is taken by now
            program.unlink()
            if change == "replace":
                shutil.copy(decoy, program)
            target.stdin.write(b"go\n")
            target.stdin.flush()
            for _ in stream:
                pass
        stderr = recorder.stderr.read().decode()
        assert recorder.wait(timeout=30) == 0, stderr
        assert target.wait(timeout=30) == 0
    finally:
        for process in (target, recorder):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    maps = _program_maps(trace, program)
    assert maps and not any(m.flags & (MmapFlag.DELETED | MmapFlag.REPLACED) for m in maps)
    assert {m.origin for m in maps} == {formats.MmapOrigin.SNAPSHOT}
    assert f"ktr: kept 1 mapped file that was deleted or replaced in {keep}/build-id\n" in (
        stderr)
    kept = _kept(keep, original)
    assert kept.read_bytes() == original.read_bytes()
    _assert_private(keep, kept)
    stacks, stderr = _folded(trace, keep)
    assert not any("decoy" in stack for stack in stacks), stacks.most_common(3)
    assert _hot_a_share(stacks) > 0.6, stacks.most_common(5)
