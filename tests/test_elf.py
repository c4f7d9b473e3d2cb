"""formats.elf against binutils (readelf, nm, objdump) on gcc-built programs and the system libc."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from formats.elf import ElfError, ElfImage, clear_cache, insn_length, open_image

LIBC = "/lib/x86_64-linux-gnu/libc.so.6"

SOURCE = r"""
#include <stdio.h>
static int helper(int x) { return x * 3 + 1; }
int work(int a, long b) {
  int s = 0; for (int i = 0; i < a; i++) s += helper(i) + (int)b; return s;
}
int main(int argc, char **argv) { (void)argv; printf("%d\n", work(argc, 2)); return 0; }
"""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} (binutils) is not installed")
    return path


def _build(tmp_path: Path, name: str, *flags: str) -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    src = tmp_path / "prog.c"
    src.write_text(SOURCE)
    out = tmp_path / name
    subprocess.run([gcc, "-O1", *flags, "-o", str(out), str(src)], check=True)
    return out


def _nm_functions(path: Path, *extra: str) -> dict[str, int]:
    out = subprocess.run([_tool("nm"), *extra, str(path)], capture_output=True, text=True).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWiI":
            found[parts[2].split("@", 1)[0]] = int(parts[0], 16)
    return found


@pytest.mark.parametrize("flags", [["-no-pie", "-fno-pie"], ["-pie", "-fPIE"]])
def test_symbols_segments_and_offsets_match_binutils(tmp_path: Path, flags: list[str]) -> None:
    prog = _build(tmp_path, "prog", *flags, "-Wl,--build-id")
    image = ElfImage(str(prog))
    readelf = subprocess.run([_tool("readelf"), "-nlW", str(prog)], capture_output=True,
                             text=True).stdout
    build_id = re.search(r"Build ID: ([0-9a-f]+)", readelf)
    assert build_id is not None and image.build_id == build_id.group(1)
    loads = [line.split() for line in readelf.splitlines() if line.strip().startswith("LOAD")]
    assert [(int(f[1], 16), int(f[2], 16)) for f in loads] == [
        (seg.offset, seg.vaddr) for seg in image.segments
    ]
    assert image.is_pie == ("-pie" in flags)
    nm = _nm_functions(prog)
    for name in ("main", "work", "helper"):
        if name not in nm:
            continue  # inlined away by the compiler
        (sym,) = image.lookup(name)
        assert sym.vaddr == nm[name]
        offset = image.vaddr_to_offset(sym.vaddr)
        assert offset is not None and image.offset_to_vaddr(offset) == sym.vaddr
        with prog.open("rb") as stream:
            stream.seek(offset)
            assert stream.read(8) == image.read_code(sym.vaddr, 8)
        assert image.symbolize(sym.vaddr + 1) == (sym, 1)
        assert image.symbolize_offset(offset + 2) == (sym, 2)
    if "-no-pie" in flags:
        (work,) = image.lookup("work")
        assert image.vaddr_to_offset(work.vaddr) != work.vaddr  # non-PIE: offset ≠ vaddr


def test_stripped_binary_has_no_local_functions(tmp_path: Path) -> None:
    prog = _build(tmp_path, "stripped", "-s")
    image = ElfImage(str(prog))
    assert image.lookup("work") == [] and image.lookup("helper") == []


def test_libc_debug_file_by_build_id_and_ifunc() -> None:
    if not Path(LIBC).exists():
        pytest.skip("no x86-64 glibc here")
    clear_cache()
    image = open_image(LIBC)
    assert open_image(LIBC) is image  # cached
    assert image.build_id is not None
    debug = Path(f"/usr/lib/debug/.build-id/{image.build_id[:2]}/{image.build_id[2:]}.debug")
    if not debug.exists():
        pytest.skip("libc6-dbg is not installed")
    assert image.debug_path == str(debug)
    dynamic = _nm_functions(Path(LIBC), "-D")
    full = _nm_functions(debug)
    for name in ("malloc", "free", "open", "write"):
        assert [s.vaddr for s in image.lookup(name)] == [dynamic[name]]
    # a local symbol only the debug file names
    local = next(n for n in ("_int_malloc", "__libc_start_call_main") if n in full)
    assert image.lookup(local)[0].vaddr == full[local]
    (strlen,) = image.lookup("strlen")
    assert strlen.ifunc
    impls = {s.name for s in image.ifunc_implementations(strlen)}
    assert "__strlen_sse2" in impls and not any("chk" in n for n in impls)
    assert image.match("mallo?") == image.lookup("mallov") + image.lookup("malloc")


def test_instruction_boundaries_match_objdump() -> None:
    objdump = _tool("objdump")
    image = open_image(LIBC)
    out = subprocess.run([objdump, "-d", "--no-show-raw-insn", LIBC], capture_output=True,
                         text=True).stdout
    addresses = {int(m.group(1), 16) for m in re.finditer(r"^\s+([0-9a-f]+):\t", out, re.M)}
    checked = 0
    for sym in image.functions:
        if sym.size == 0:
            continue
        boundaries = image.instruction_boundaries(sym)
        assert boundaries is not None, sym.name
        assert all(sym.vaddr + b in addresses for b in boundaries), sym.name
        checked += 1
    assert checked > 1000
    (malloc,) = image.lookup("malloc")
    inside = [o for o in range(1, 40) if malloc.vaddr + o not in addresses]
    assert inside and all(image.is_instruction_boundary(malloc, o) is False for o in inside)


@pytest.mark.parametrize(
    ("code", "length"),
    [
        (b"\xf3\x0f\x1e\xfa", 4),  # endbr64
        (b"\x66\x0f\x1f\x44\x00\x00", 6),  # nopw 0(%rax,%rax,1)
        (b"\x48\xb8" + bytes(8), 10),  # movabs $imm64, %rax
        (b"\xe8\x00\x00\x00\x00", 5),  # call rel32
        (b"\xc5\xfd\x74\x0f", 4),  # vpcmpeqb (%rdi), %ymm0, %ymm1
        (b"\x62\xf1\x7d\x48\x74\x47\x01", 7),  # EVEX vpcmpeqb 0x40(%rdi), %zmm0, %k0
        (b"\xf7\x05\x00\x00\x00\x00\x01\x00\x00\x00", 10),  # testl $1, rip+0
        (b"\x0f\x05", 2),  # syscall
        (b"\x8f", None),  # truncated
    ],
)
def test_insn_length(code: bytes, length: int | None) -> None:
    assert insn_length(code) == length


def test_missing_file_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ElfError) as info:
        ElfImage(str(tmp_path / "nope"))
    assert info.value.errno == 2 and "nope" in str(info.value)
    text = tmp_path / "text"
    text.write_text("hello")
    with pytest.raises(ElfError):
        ElfImage(str(text))


def _pyelftools_functions(path: str) -> list[tuple[str, int, int, bool, str]]:
    """Function symbols as pyelftools' own symbol parser reads them (the reference)."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    out = []
    with open(path, "rb") as handle:
        for section in ELFFile(handle).iter_sections():
            if not isinstance(section, SymbolTableSection) or section["sh_type"] == "SHT_NOBITS":
                continue
            for sym in section.iter_symbols():
                kind = sym["st_info"]["type"]
                if kind not in ("STT_FUNC", "STT_LOOS", "STT_GNU_IFUNC"):
                    continue
                if sym["st_shndx"] == "SHN_UNDEF" or sym["st_value"] == 0 or not sym.name:
                    continue
                out.append((sym.name, sym["st_value"], sym["st_size"], kind != "STT_FUNC",
                            str(sym["st_info"]["bind"]).removeprefix("STB_")))
    return out


@pytest.mark.parametrize("flags", [["-g", "-fPIE", "-pie"], ["-no-pie", "-fno-pie"], ["-m32"]])
def test_raw_symbol_tables_read_as_pyelftools_reads_them(tmp_path: Path,
                                                         flags: list[str]) -> None:
    """The struct-based symbol reader (fast) gives exactly pyelftools' symbols: a
    gcc-built program (64- and 32-bit), libc and its debug file (~50 000 symbols)."""
    from elftools.elf.elffile import ELFFile

    from formats.elf import _function_symbols, _sections

    try:
        prog = _build(tmp_path, "prog", *flags)
    except subprocess.CalledProcessError:
        pytest.skip(f"gcc cannot build with {flags} here (no multilib)")
    paths = [str(prog), LIBC]
    debug = ElfImage(LIBC).debug_path
    if debug is not None:
        paths.append(debug)
    for path in paths:
        with open(path, "rb") as handle:
            elf = ELFFile(handle)
            wide = elf.elfclass == 64
            fast = [(s.name, s.vaddr, s.size, s.ifunc, s.binding) for s in _function_symbols(
                handle, _sections(handle, wide, elf.little_endian), wide, elf.little_endian)]
        reference = _pyelftools_functions(path)
        assert reference, path
        assert fast == reference, path
