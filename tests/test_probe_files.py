"""Which file's symbols a probe uses: a copied build-id picks nothing but its own file,
a separate debug file is taken only when its CRC32 is the debuglink's, a library seen at
two paths (merged /usr) is one file; i386 programs' arguments come from their stack, not
from x86-64 registers; code of other machines is not probed.

Real processes (gcc-built in the test), real tracefs and uprobes; binutils (objcopy,
strip, readelf) make the debug files and say the build-ids.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import BUILDS, PROGRAM, build_program, gcc

from formats.elf import clear_cache, open_image, read_build_id

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uprobes need root")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (binutils) is not installed")
    return path


def record(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "trace.ktr"
    proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), *args], capture_output=True,
                          text=True, timeout=60)
    return proc, out


def records_of(trace: Path) -> list[dict[str, object]]:
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True).stdout
    return [json.loads(line) for line in text.splitlines()]


def hits(trace: Path, field: str = "args") -> list[object]:
    return [r[field] for r in records_of(trace) if r["type"] == "PROBE"]


ADD3_HITS = [[i, -1, 100] for i in range(5)] + [[i, 2, 3] for i in range(3)]


def test_a_program_carrying_libcs_build_id_gets_its_own_symbols(tmp_path: Path) -> None:
    """A build-id is the file's own claim: a program linked with libc's build-id is
    probed by its own symbols even after libc's were read (the cache answered libc's
    image for it, so its function was "not found")."""
    libc_id = read_build_id(LIBC)
    assert libc_id is not None
    source = tmp_path / "prog.c"
    source.write_text(PROGRAM)
    prog = tmp_path / "prog"
    subprocess.run([gcc(), *BUILDS["pie"], f"-Wl,--build-id=0x{libc_id}", "-o", str(prog),
                    str(source), "-ldl", "-pthread"], check=True)
    assert read_build_id(str(prog)) == libc_id
    clear_cache()
    libc = open_image(LIBC)
    assert open_image(LIBC) is libc  # still shared for the file itself
    own = open_image(str(prog))
    assert own is not libc and own.lookup("add3") and not own.lookup("malloc")
    # libc's spec first: its image is read before the program's
    proc, out = record(tmp_path, "-t", "f", "-P", "libc:getpid",
                       "-P", f"{prog}:add3(i64,i32,i64)", "--", str(prog), "basic")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert hits(out) == ADD3_HITS


def _split_debug(tmp_path: Path, prog: Path, debug_from: Path) -> Path:
    """``prog`` stripped of every symbol, with a debuglink to ``prog.debug`` made from
    ``debug_from`` (the same build, or another)."""
    objcopy, strip = _tool("objcopy"), _tool("strip")
    debug = tmp_path / "prog.debug"
    subprocess.run([objcopy, "--only-keep-debug", str(prog), str(debug)], check=True)
    subprocess.run([strip, "--strip-all", str(prog)], check=True)
    subprocess.run([objcopy, f"--add-gnu-debuglink={debug}", str(prog)], check=True)
    if debug_from != prog:  # the link's CRC is the right file's; another build's there now
        subprocess.run([objcopy, "--only-keep-debug", str(debug_from), str(debug)],
                       check=True)
    return debug


def test_a_debug_file_of_another_build_is_ignored_with_a_note(tmp_path: Path) -> None:
    """As gdb: the file a debuglink names is used only if its CRC32 is the one the
    debuglink gives. The right one names the stripped program's functions; one of another
    build (other addresses: its symbols would put the probes elsewhere) is passed over,
    with one line saying so, and the function is then unknown."""
    good = tmp_path / "good"
    good.mkdir()
    prog = build_program(good)
    _split_debug(good, prog, prog)
    clear_cache()
    assert open_image(str(prog)).notes == ()
    proc, out = record(good, "-t", "f", "-P", f"{prog}:add3(i64,i32,i64)", "--", str(prog),
                       "basic")
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert hits(out) == ADD3_HITS

    bad = tmp_path / "bad"
    bad.mkdir()
    prog = build_program(bad)
    other = build_program(bad, "fp", name="other")  # -O0: add3 elsewhere
    debug = _split_debug(bad, prog, other)
    clear_cache()
    image = open_image(str(prog))
    assert image.debug_path is None and not image.lookup("add3")
    (note,) = image.notes
    assert note.startswith(f"{debug}: debug file ignored: its CRC32 is ")
    proc, out = record(bad, "-t", "f", "-P", f"{prog}:add3(i64,i32,i64)", "--", str(prog),
                       "basic")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == (f"ktr: probe '{prog}:add3(i64,i32,i64)': no function named "
                           f"'add3' in {prog} (the file has no symbols: stripped? an address "
                           f"is MODULE:0xADDRESS) ({note})\n")


def test_an_ifunc_warning_is_said_once_for_a_library_seen_at_two_paths(
        tmp_path: Path) -> None:
    """On a merged-/usr system libc is found as /lib/... (the library directories, before
    the program runs) and mapped as /usr/lib/... (its maps): one file, one warning."""
    real = os.path.realpath(LIBC)
    if real == LIBC:
        pytest.skip("not a merged-/usr system")
    proc, _ = record(tmp_path, "-t", "f", "-P", "libc:time*", "--", "/bin/true")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    ifunc = [line for line in lines if "'time' " in line or ": time in " in line]
    assert len(ifunc) == 1, proc.stderr
    assert ifunc[0].startswith("ktr: probe 'libc:time*': time in /")
    assert ifunc[0].endswith("libc.so.6 is an IFUNC whose implementations the symbols do "
                             "not name; skipped")
    assert lines == ifunc, proc.stderr


I386_PROGRAM = """
const char text[] = "Z";
__attribute__((noinline)) int add3(int a, int b, int c) { __asm__ volatile(""); return a + b + c; }
__attribute__((noinline)) long long mix(int a, long long b, const char *p) {
    __asm__ volatile("");
    return a + b + p[0];
}
static void sys_exit(int code) { __asm__ volatile("int $0x80" :: "a"(1), "b"(code)); }
void _start(void) {
    int r = 0;
    for (int i = 0; i < 3; i++) r += add3(i, 20, 300);
    long long m = mix(-5, 0x123456789LL, text);
    sys_exit(r == 963 && m == 0x123456789LL - 5 + 'Z' ? 0 : 1);
}
"""


def _nm(path: Path, name: str) -> int:
    listing = subprocess.run([_tool("nm"), str(path)], capture_output=True, text=True,
                             check=True).stdout
    return next(int(line.split()[0], 16) for line in listing.splitlines()
                if line.split()[-1] == name)


def test_a_32_bit_programs_arguments_come_from_its_stack(tmp_path: Path) -> None:
    """i386 cdecl passes arguments on the stack, not in %di, %si...: they are fetched
    from their slots above the return address (4 bytes, 8 for 64-bit types), the return
    value is %eax. Oracle: the values the program passes (it checks its own results) and
    nm's address of the string it passes. What cannot be fetched is refused in one line:
    strings (the kernel reads the stacked pointer as 8 bytes), 64-bit return values."""
    from c_support import build_i386

    from formats import dwarf_args

    prog = build_i386(tmp_path, I386_PROGRAM, "add32")
    assert subprocess.run([str(prog)]).returncode == 0  # its own check of the results
    # its DWARF says three ints, but the x86-64 register rules are not i386's
    with_dwarf = tmp_path / "add32g"
    subprocess.run([gcc(), "-m32", "-g", "-static", "-nostdlib", "-ffreestanding", "-fno-pic",
                    "-O1", "-o", str(with_dwarf), str(tmp_path / "add32.c")], check=True)
    dwarf_args.clear_cache()
    assert dwarf_args.signature(str(with_dwarf), "add3", 0) is None
    proc, out = record(tmp_path, "-t", "f", "-P", f"{prog}:add3(i32,i32,i32)",
                       "-P", f"{prog}:add3:return", "-P", f"{prog}:mix(i32,i64,ptr)",
                       "-P", f"{prog}:mix:return(u32)", "--", str(prog))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    fired = [(r["probe"].split(":", 1)[1], r["args"], r.get("retval"))  # type: ignore[union-attr]
             for r in records_of(out) if r["type"] == "PROBE"]
    expected: list[tuple[object, object, object]] = []
    for i in range(3):
        expected += [("add3:entry", [i, 20, 300], None), ("add3:return", [], 320 + i)]
    expected += [("mix:entry", [-5, 0x123456789, _nm(prog, "text")], None),
                 ("mix:return", [], (0x123456789 - 5 + ord("Z")) & 0xFFFFFFFF)]
    assert fired == expected
    # untyped: six 32-bit stack words, the first three add3's
    proc, out = record(tmp_path, "-t", "f", "-P", f"{prog}:add3", "--", str(prog))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    words = hits(out)
    assert [w[:3] for w in words] == [[i, 20, 300] for i in range(3)]  # type: ignore[index]
    assert all(len(w) == 6 and max(w) < 1 << 32 for w in words)  # type: ignore[arg-type]
    for spec, why in ((f"{prog}:mix(i32,i64,str)", "a string cannot be fetched there"),
                      (f"{prog}:mix:return(i64)", "a 64-bit return value is in %edx:%eax"),
                      (f"{prog}:mix(float,i64,ptr)", "float is for x86-64's xmm registers")):
        proc, out = record(tmp_path, "-t", "f", "-P", spec, "--", str(prog))
        assert proc.returncode == 1
        assert proc.stderr.startswith(f"ktr: probe {spec!r}: {prog} is a 32-bit program "
                                      "(ELF32, EM_386): " + why), proc.stderr
        assert proc.stderr.count("\n") == 1


def test_code_of_another_machine_is_refused() -> None:
    """A big-endian s390x library (the fuzz seed): no uprobe goes into code ktr's
    int3 would break, in one line."""
    seed = Path(__file__).resolve().parent.parent / "fuzz" / "seeds" / "elf" / "lib64be.so"
    proc = subprocess.run([*KTR, "record", "-q", "-o", "/dev/null", "-t", "f",
                           "-P", f"{seed}:be_add", "--", "/bin/true"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr == (f"ktr: probe '{seed}:be_add': {seed} is a non-x86-64 library "
                           "(ELF64, EM_S390): ktr probes x86-64 and i386 code only\n")
