"""formats.elf against binutils (readelf, nm, objdump) on gcc-built programs and the system libc."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    # names that start with __ already: __NAME_variant, not ____NAME_variant (tperf T2);
    # neither the resolver (__memcmpeq_ifunc) nor the locale variants nor the exported
    # __strcpy_small are implementations
    for name, variant in (("__memcpy_chk", "__memcpy_chk_sse2_unaligned"),
                          ("__memcmpeq", "__memcmpeq_sse2"), ("__rawmemchr", "__rawmemchr_sse2"),
                          ("__stpcpy", "__stpcpy_sse2"), ("strcasecmp", "__strcasecmp_sse2")):
        (ifunc,) = [s for s in image.lookup(name) if s.ifunc]
        impls = {s.name for s in image.ifunc_implementations(ifunc)}
        assert variant in impls, (name, impls)
        assert not any(n.endswith("_ifunc") or "_l_" in n or n.endswith("_small")
                       for n in impls), (name, impls)
    (strcpy,) = [s for s in image.lookup("strcpy") if s.ifunc]
    assert "__strcpy_small" not in {s.name for s in image.ifunc_implementations(strcpy)}
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


def _pyelftools_functions(source: str | BinaryIO) -> list[tuple[str, int, int, bool, str]]:
    """Function symbols as pyelftools' own symbol parser reads them (the reference), from
    a path or an open binary stream."""
    from elftools.elf.elffile import ELFFile
    from elftools.elf.sections import SymbolTableSection

    if isinstance(source, str):
        with open(source, "rb") as handle:
            return _pyelftools_functions(handle)
    out = []
    for section in ELFFile(source).iter_sections():
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


# -- damaged and hostile files: one ElfError or a bounded answer, never a traceback ---------

SEEDS = Path(__file__).resolve().parent.parent / "fuzz" / "seeds" / "elf"


def _patched(tmp_path: Path, seed: str, *patches: tuple[int, str, int]) -> str:
    """A copy of a seed with little-endian fields (offset, struct code, value) rewritten."""
    import struct

    data = bytearray((SEEDS / seed).read_bytes())
    for at, code, value in patches:
        struct.pack_into("<" + code, data, at, value)
    out = tmp_path / seed
    out.write_bytes(bytes(data))
    return str(out)


def _section_header_at(seed: str, name: str) -> tuple[int, int, int]:
    """(where the header is, sh_offset, sh_size) of a section of a 64-bit seed."""
    from elftools.elf.elffile import ELFFile

    with open(SEEDS / seed, "rb") as handle:
        elf = ELFFile(handle)
        for index, section in enumerate(elf.iter_sections()):
            if section.name == name:
                return (elf["e_shoff"] + index * elf["e_shentsize"], section["sh_offset"],
                        section["sh_size"])
    raise AssertionError(name)


def _peak_bytes(call: Any) -> int:
    import tracemalloc

    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_section_count_from_section_zero_is_bounded_by_the_file(tmp_path: Path) -> None:
    """e_shnum 0 means "section 0's sh_size holds the count": 2**64-1 there is one
    ElfError (the table cannot fit), and a count of 0 there means no sections (it read
    the whole file as headers before: ``read(count - 1)`` with count 0)."""
    shoff = _section_header_at("lib64.so", "")[0]
    huge = _patched(tmp_path, "lib64.so", (60, "H", 0), (shoff + 32, "Q", 2**64 - 1))
    with pytest.raises(ElfError, match="section headers"):
        ElfImage(huge)
    (tmp_path / "zero").mkdir()
    none = _patched(tmp_path / "zero", "lib64.so", (60, "H", 0))
    assert ElfImage(none, debug_root=str(tmp_path)).functions == ()


def test_huge_section_sizes_and_offsets_read_at_most_the_file(tmp_path: Path) -> None:
    """A symbol table or string table claiming 2**63 bytes (or starting past the end)
    reads what the file holds: no gigabyte allocation, no OverflowError from seek."""
    header, _, _ = _section_header_at("lib64.so", ".symtab")
    strtab, _, _ = _section_header_at("lib64.so", ".strtab")
    path = _patched(tmp_path, "lib64.so", (header + 32, "Q", 2**63), (strtab + 32, "Q", 2**63))
    peak = _peak_bytes(lambda: ElfImage(path))
    assert peak < 8 << 20
    whole = ElfImage(str(SEEDS / "lib64.so")).functions
    assert ElfImage(path).functions == whole and len(whole) == 5
    (tmp_path / "past").mkdir()
    past = _patched(tmp_path / "past", "lib64.so", (header + 24, "Q", 2**64 - 1))
    assert ElfImage(past, debug_root=str(tmp_path)).functions == whole  # from .dynsym


def test_build_id_note_sizes_are_bounded_by_the_note(tmp_path: Path) -> None:
    """A build-id note whose n_namesz says 4 GB: no build-id, and no 4 GB read (pyelftools
    read what the note claimed: a MemoryError under the fuzzer's address-space limit)."""
    from formats.elf import read_build_id

    _, offset, _ = _section_header_at("lib64.so", ".note.gnu.build-id")
    path = _patched(tmp_path, "lib64.so", (offset, "I", 0xFFFFFFFF))
    assert read_build_id(str(SEEDS / "lib64.so")) == "aa83ca479293971601ec8ec9660fe09f16566608"
    peak = _peak_bytes(lambda: read_build_id(path))
    assert peak < 8 << 20
    assert ElfImage(path).build_id is None


def test_symbol_names_sharing_one_unterminated_string_are_an_error() -> None:
    """Thousands of symbols each naming a different offset of one long string would decode
    it thousands of times (quadratic memory): past 16 bytes of names per byte of file it
    is one error instead."""
    import io

    from formats.elf import _function_symbols, _sections

    count = 8000
    strings = b"\0" + b"A" * count + b"\0"
    symbols = [(at, 0x12, 0, 1, 0x1000 + at, 4) for at in range(1, count + 1)]
    data = _elf_image(symbols, strings, wide=True, little=True)
    handle = io.BytesIO(data)
    with pytest.raises(ValueError, match="symbol names"):
        list(_function_symbols(handle, _sections(handle, True, True), True, True))


def test_a_debuglink_names_a_file_never_a_path(tmp_path: Path) -> None:
    """``.gnu_debuglink`` comes from the traced file: "../x.debug" or "/etc/x" must not
    choose what we open. The plain name still finds its debug file beside the image."""
    from formats.elf import _find_debug_file

    _, offset, _ = _section_header_at("lib64-stripped.so", ".gnu_debuglink")
    (tmp_path / "sub").mkdir()
    stripped = tmp_path / "sub" / "lib64-stripped.so"
    data = bytearray((SEEDS / "lib64-stripped.so").read_bytes())
    assert data[offset : offset + 12] == b"lib64.debug\0"
    data[offset : offset + 12] = b"../x.debug\0\0"
    stripped.write_bytes(bytes(data))
    shutil.copy(SEEDS / "lib64.debug", tmp_path / "x.debug")
    image = ElfImage(str(stripped), debug_root=str(tmp_path / "none"))
    assert image.debug_path is None
    assert _find_debug_file(str(stripped), None, str(tmp_path / "x.debug"),
                            str(tmp_path)) is None
    shutil.copy(SEEDS / "lib64.debug", tmp_path / "sub" / "lib64.debug")
    (tmp_path / "sub" / "lib64-stripped.so").write_bytes(
        (SEEDS / "lib64-stripped.so").read_bytes())
    found = ElfImage(str(stripped), debug_root=str(tmp_path / "none"))
    assert found.debug_path == str(tmp_path / "sub" / "lib64.debug")


def test_dwarf_type_cycle_and_compression_bomb_answer_none(tmp_path: Path) -> None:
    """A typedef whose DW_AT_type is itself (looped forever): its parameter's type is
    unknown, so are the parameters (None; the return type, a chain of its own, stays);
    a compressed .debug_info whose header claims 1 TB decompressed (inflated to that):
    None. Both quickly."""
    from elftools.elf.elffile import ELFFile

    from formats import dwarf_args

    source = SEEDS / "lib64.so"
    with open(source, "rb") as handle:
        elf = ELFFile(handle)
        info_offset = elf.get_section_by_name(".debug_info")["sh_offset"]
        for unit in elf.get_dwarf_info().iter_CUs():
            for die in unit.iter_DIEs():
                if die.tag == "DW_TAG_typedef" and die.attributes["DW_AT_name"].value == b"name_t":
                    attribute = die.attributes["DW_AT_type"]
                    assert attribute.form == "DW_FORM_ref4"
                    patch = (info_offset + attribute.offset, "I", die.offset - unit.cu_offset)
    dwarf_args.clear_cache()
    # enum colour's underlying type is unsigned int (gcc: no negative enumerator)
    assert dwarf_args.signature(str(source), "count", 0)[:2] == (("str", "str", "u32"), "i64")
    cyclic = _patched(tmp_path, "lib64.so", patch)
    script = ("import sys; from formats import dwarf_args; "
              "print(dwarf_args.signature(sys.argv[1], 'count', 0)[:2])")
    done = subprocess.run([sys.executable, "-c", script, cyclic], capture_output=True,
                          text=True, timeout=60, cwd=str(SEEDS.parent.parent.parent))
    assert done.stdout.strip() == "(None, 'i64')", done.stderr
    _, compressed, _ = _section_header_at("lib64z.so", ".debug_info")
    bomb = _patched(tmp_path, "lib64z.so", (compressed + 8, "Q", 1 << 40))
    assert dwarf_args.signature(str(SEEDS / "lib64z.so"), "add", 0)[:2] == (("i32", "u64"), "i32")
    assert _peak_bytes(lambda: dwarf_args.signature(bomb, "add", 0)) < 64 << 20
    assert dwarf_args.signature(bomb, "add", 0) is None


# -- the struct symbol reader equals pyelftools on generated tables (either class, order) --

def _elf_image(symbols: list[tuple[int, int, int, int, int, int]], strings: bytes, *,
               wide: bool, little: bool) -> bytes:
    """A minimal relocatable ELF: null, .symtab, .strtab, .shstrtab. Each symbol is
    (st_name, st_info, st_other, st_shndx, st_value, st_size); a null symbol comes first."""
    import struct

    order = "<" if little else ">"
    sym = struct.Struct(order + ("IBBHQQ" if wide else "IIIBBH"))
    table = bytearray(sym.size)
    for name, info, other, shndx, value, size in symbols:
        table += (sym.pack(name, info, other, shndx, value, size) if wide
                  else sym.pack(name, value & 0xFFFFFFFF, size & 0xFFFFFFFF, info, other, shndx))
    names = b"\0.symtab\0.strtab\0.shstrtab\0"
    ehsize, shentsize = (64, 64) if wide else (52, 40)
    strings_at = ehsize
    names_at = strings_at + len(strings)
    table_at = (names_at + len(names) + 7) // 8 * 8
    shoff = (table_at + len(table) + 7) // 8 * 8
    ident = b"\x7fELF" + bytes([2 if wide else 1, 1 if little else 2, 1]) + bytes(9)
    if wide:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", 1, 62, 1, 0, 0, shoff, 0,
                                     ehsize, 0, 0, shentsize, 4, 3)
        section = struct.Struct(order + "IIQQQQIIQQ")
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", 1, 3, 1, 0, 0, shoff, 0,
                                     ehsize, 0, 0, shentsize, 4, 3)
        section = struct.Struct(order + "IIIIIIIIII")
    headers = (section.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
               + section.pack(1, 2, 0, 0, table_at, len(table), 2, 1, 8, sym.size)
               + section.pack(9, 3, 0, 0, strings_at, len(strings), 0, 0, 1, 0)
               + section.pack(17, 3, 0, 0, names_at, len(names), 0, 0, 1, 0))
    out = bytearray(header) + strings + names
    out += bytes(table_at - len(out)) + table
    out += bytes(shoff - len(out)) + headers
    return bytes(out)


def _reference(data: bytes) -> list[tuple[str, int, int, bool, str]]:
    import io

    return _pyelftools_functions(io.BytesIO(data))


_NAMES = st.lists(st.binary(min_size=1, max_size=12).map(lambda b: b.replace(b"\0", b"_")),
                  min_size=1, max_size=8)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[bytes, bool, bool]:
    wide, little = draw(st.booleans()), draw(st.booleans())
    strings = b"\0" + b"\0".join(draw(_NAMES)) + b"\0"
    limit = (1 << 64) - 1 if wide else (1 << 32) - 1
    symbol = st.tuples(
        st.integers(0, len(strings) - 1),  # any offset: suffixes of names too
        st.integers(0, 255) | st.sampled_from([0x12, 0x22, 0x1A, 0x02]),
        st.integers(0, 255),
        st.sampled_from([0, 1, 2, 0xFFF1, 0xFFF2, 0xFF00, 0xFFFF]) | st.integers(0, 0xFFFF),
        st.integers(0, limit) | st.just(0),
        st.integers(0, limit))
    symbols = draw(st.lists(symbol, max_size=40))
    return _elf_image(symbols, strings, wide=wide, little=little), wide, little


@settings(max_examples=60, deadline=None)
@given(_tables())
def test_struct_symbol_reader_equals_pyelftools_on_generated_tables(
        case: tuple[bytes, bool, bool]) -> None:
    """Every st_info type and binding, special st_shndx values, zero values and sizes,
    names at any string-table offset, ELF32 and ELF64, little- and big-endian."""
    import io

    from formats.elf import _function_symbols, _sections

    data, wide, little = case
    handle = io.BytesIO(data)
    fast = [(s.name, s.vaddr, s.size, s.ifunc, s.binding) for s in _function_symbols(
        handle, _sections(handle, wide, little), wide, little)]
    assert fast == _reference(data)


@pytest.mark.parametrize("name", ["lib32be.so", "lib64be.so"])
def test_big_endian_seeds_read_as_readelf_and_pyelftools_read_them(name: str) -> None:
    """The fuzz harness's big-endian seeds (built with struct: gcc here makes no
    big-endian file) are what ``fuzz.make_be_seeds`` builds, and valid: readelf reads
    them without a warning and names the same functions and build-id; pyelftools' own
    symbol parser agrees with the struct reader; the IFUNC's implementation is found."""
    from fuzz import make_be_seeds

    path = SEEDS / name
    assert make_be_seeds.main(["--check"]) == 0
    assert path.read_bytes()[:6] == b"\x7fELF" + bytes([2 if "64" in name else 1, 2])
    image = ElfImage(str(path))
    functions = [(s.name, s.vaddr, s.size, s.ifunc, s.binding) for s in image.functions]
    assert functions == make_be_seeds.expected_functions()
    assert sorted(set(_pyelftools_functions(str(path)))) == sorted(functions)
    assert not image.little_endian and image.elfclass == (64 if "64" in name else 32)
    assert [s.name for s in image.ifunc_implementations(image.lookup("be_pick")[0])] == [
        "__be_pick_fast"]
    assert image.vaddr_to_offset(image.lookup("be_add")[0].vaddr) == 0x210
    shown = subprocess.run([_tool("readelf"), "-W", "-s", "-n", "-h", str(path)],
                           capture_output=True, text=True, check=True)
    assert shown.stderr == "" and "big endian" in shown.stdout
    assert f"Build ID: {image.build_id}" in shown.stdout
    named = {line.split()[-1] for line in shown.stdout.splitlines()
             if re.search(r"\b(FUNC|IFUNC)\b", line) and " UND " not in line}
    assert named == {f[0] for f in functions}


def test_a_debug_file_must_carry_the_build_id_its_path_names(tmp_path: Path) -> None:
    """``/usr/lib/debug/.build-id/xx/yyyy.debug`` is taken only if that file's build-id
    is xxyyyy (gdb checks so): another file put there is passed over with a note."""
    stripped = tmp_path / "lib64-stripped.so"
    shutil.copy(SEEDS / "lib64-stripped.so", stripped)  # (its debuglink finds nothing here)
    build_id = ElfImage(str(stripped)).build_id
    assert build_id is not None
    root = tmp_path / "debug"
    slot = root / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    slot.parent.mkdir(parents=True)
    shutil.copy(SEEDS / "lib64be.so", slot)  # another build-id
    image = ElfImage(str(stripped), debug_root=str(root))
    assert image.debug_path is None
    assert image.notes == (f"{slot}: debug file ignored: its build-id is "
                           f"b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3, not {build_id}",)
    shutil.copy(SEEDS / "lib64.debug", slot)
    image = ElfImage(str(stripped), debug_root=str(root))
    assert image.debug_path == str(slot) and image.notes == ()
    assert image.lookup("count")
